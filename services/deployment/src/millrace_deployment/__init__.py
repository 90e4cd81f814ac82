"""Millrace deployment: serves every production model, swapped atomically on promotion."""
