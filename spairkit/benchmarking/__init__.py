"""Benchmark building blocks shared by ``spairkit bench`` and ``benchmarks/*.py``.

Timing (:mod:`.timing`), masks of an exact degraded fraction (:mod:`.masks`), the
Table 6 ladder as configs (:mod:`.ladder`), the quick operator and model benchmarks
(:mod:`.ops_quick`, :mod:`.model_quick`), peak memory of a fresh process
(:mod:`.peak_memory`) and the machine description (:mod:`.environment`). Importing
this package runs nothing.
"""
