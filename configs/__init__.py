"""spairkit's packaged MMEngine configs (data files; refer to them as ``spairkit::<path>``)."""
