"""The rain_streak task's configs (data files; resolved as ``spairkit::rain_streak/<file>``)."""
