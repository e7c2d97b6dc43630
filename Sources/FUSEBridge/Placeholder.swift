// Module FUSEBridge: placeholder until its first real file lands.
