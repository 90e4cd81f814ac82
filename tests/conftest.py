"""Shared pytest setup: the local-stack fixture (`local_stack`) from millrace-infra."""

pytest_plugins = ["millrace_infra.pytest_plugin"]
