"""Deployment's core: loading, serving and logging, with the object store and sink as ports."""
