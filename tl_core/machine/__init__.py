"""Facts of the machine the engine runs on: where runs and data live, whether the internet is reachable, which
device trains."""
