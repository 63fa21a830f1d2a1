"""Glue between spairkit and MMEngine's Runner: safe loading, atomic saving, hooks."""
