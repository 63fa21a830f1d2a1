"""The plugin's configs (data files; installed as ``spairkit_haze.configs``)."""
