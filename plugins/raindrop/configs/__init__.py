"""The raindrop task's configs (data files; resolved as ``spairkit::raindrop/<file>``)."""
