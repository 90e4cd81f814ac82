"""Build tools for the contracts: JSON Schema export, the compatibility checker, golden samples.

A development package of the workspace, never installed by application teams: they install
``millrace-contracts`` (events, envelope, topics) alone.
"""
