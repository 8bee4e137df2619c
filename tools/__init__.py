"""Developer tools for Groundwork (not part of the running app)."""
