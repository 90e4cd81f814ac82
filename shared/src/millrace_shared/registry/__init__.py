"""The registry's REST API for its clients: ``models`` (shared with the registry) and ``client``."""
