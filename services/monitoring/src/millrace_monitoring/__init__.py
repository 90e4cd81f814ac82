"""Millrace monitoring: drift of live inputs against the training reference, live performance."""
