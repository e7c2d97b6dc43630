// Module ChunkEngine: placeholder until its first real file lands.
