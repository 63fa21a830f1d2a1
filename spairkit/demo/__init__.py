"""``spairkit demo``: train a small SPAIR on synthetic rain and report on held-out photos."""
from .pipeline import DemoResult, run_demo

__all__ = ['DemoResult', 'run_demo']
