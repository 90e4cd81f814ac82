"""Millrace web console: the platform on server-rendered pages."""
