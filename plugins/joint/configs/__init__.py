"""The joint task's configs (data files; resolved as ``spairkit::joint/<file>``)."""
