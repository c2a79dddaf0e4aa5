"""Effects on the host: node containers, the emulated network (fabric), shaping backends."""
