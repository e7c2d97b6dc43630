print("h5mount: not built yet")
