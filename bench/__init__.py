"""Benchmarks: scripts that print tables, run from the repository's root as
``python -m bench.photos`` (``video``, ``audio``, ``plates`` ...), beside deface in
the same run. `bench.evaluate` holds the measures the tests share.
"""
