"""The shadow task's configs (data files; resolved as ``spairkit::shadow/<file>``)."""
