"""The motion_blur task's configs (data files; resolved as ``spairkit::motion_blur/<file>``)."""
