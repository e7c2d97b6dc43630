// Module Codecs: placeholder until its first real file lands.
