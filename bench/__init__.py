"""Millrace benchmarks: each one runs a baseline and Millrace interleaved in the same run.

``bench/run`` (or ``python -m bench``) runs them and writes ``bench/results/latest.{md,json}``.
Nothing here is imported by the platform: the bench is not a runtime dependency.
"""
