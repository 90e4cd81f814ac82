"""Baseline programs; several run in the baselines' own environments, so they import nothing
from Millrace."""
