"""Errors the local stack raises; the CLI turns them into a message and a non-zero exit."""

from __future__ import annotations


class StackError(RuntimeError):
    """The stack could not be fetched, started or stopped as asked."""


class StackNotReady(StackError):
    """A component did not become ready in time, or died while starting.

    The message carries the tail of the component's log, because "timed out" alone never
    says why a JVM or a Go server gave up.
    """
