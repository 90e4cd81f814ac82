"""Millrace model registry: numbered immutable versions, aliases, promotion policy, audit trail."""
