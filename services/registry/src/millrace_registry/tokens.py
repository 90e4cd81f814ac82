"""``python -m millrace_registry.tokens ACTOR``: make an actor's token and the hash to configure.

Prints the token once (for the actor, as ``MILLRACE_REGISTRY_TOKEN``) and the line for the
registry's ``MILLRACE_REGISTRY_TOKENS`` (or ``_FILE``); the registry never sees the token.
"""

from __future__ import annotations

from millrace_shared.registry.tokens import main

if __name__ == "__main__":
    raise SystemExit(main())
