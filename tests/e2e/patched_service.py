"""A real Millrace service process with test-only behaviour patched in.

    python tests/e2e/patched_service.py millrace_SERVICE NAME=VALUE ...

What only a test wants (a fit slow enough to kill training in the middle of it, an injected
fault) never becomes a production setting. The test starts the service through this wrapper
instead of ``python -m millrace_SERVICE``: it applies the named patches in this process, then
runs the service's own ``main``, so all the rest is the real service.

A new fault is one function below, listed in ``PATCHES`` under the name tests pass, taking its
value as text. It replaces a module attribute the service looks up each time it works (a
function of its core, a client's method), never the code that assembles the service; component
tests patch the same attribute with ``monkeypatch`` to do the same in process.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def after_sleeping(seconds: float, call: Callable[P, R]) -> Callable[P, R]:
    @wraps(call)
    def late(*args: P.args, **kwargs: P.kwargs) -> R:
        time.sleep(seconds)
        return call(*args, **kwargs)

    return late


def slow_fit(seconds: str) -> None:
    """Every fit starts ``seconds`` late, so a test can kill training while a fit surely runs."""
    from millrace_training.core import candidate

    # The trainer imports the function from its module on every fit (core/fit.py).
    candidate.fit_candidate = after_sleeping(float(seconds), candidate.fit_candidate)


def held_fit(folder: str) -> None:
    """Every fit appends a line to ``<folder>/fits``, touches ``<folder>/entered``, then waits
    for ``<folder>/release`` to exist: a test counts the fits and picks the moment between
    the fit and its upload to take S3 away."""
    from millrace_training.core import candidate

    gate = Path(folder)
    real = candidate.fit_candidate

    def held(*args: Any, **kwargs: Any) -> Any:
        with (gate / "fits").open("a") as fits:
            fits.write("fit\n")
        (gate / "entered").touch()
        deadline = time.monotonic() + 600
        while not (gate / "release").exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the test never released the fit")
            time.sleep(0.05)
        return real(*args, **kwargs)

    candidate.fit_candidate = held  # the trainer imports it from there on every fit


def held_call(spec: str) -> None:
    """``module:Qualified.name@folder@needle``: a call of that function whose arguments mention
    ``needle`` touches ``<folder>/entered`` and then waits for ``<folder>/release``, so a test
    can kill the service at that very point (ingestion mid-validation, the registry between its
    claim and its publish, deployment between a load and its swap). Other calls (other tests'
    models, a start-up snapshot) pass straight through."""
    target, folder, needle = spec.split("@")
    module_name, _, qualname = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, name)
    gate = Path(folder)

    @wraps(original)
    def held(*args: Any, **kwargs: Any) -> Any:
        if needle in repr((args, kwargs)):
            (gate / "entered").touch()
            deadline = time.monotonic() + 600
            while not (gate / "release").exists():
                if time.monotonic() > deadline:
                    raise TimeoutError("the test never released the call")
                time.sleep(0.05)
        return original(*args, **kwargs)

    setattr(owner, name, held)


def landing_prefix(prefix: str) -> None:
    """The watcher sees only the landing keys under ``prefix``: a test's own dataset, not the
    files every other test of the session left in the shared landing bucket."""
    from millrace_watcher.core import listing

    everything = listing.MinioLister.list

    def under(self: listing.MinioLister, bucket: str) -> Any:
        return (o for o in everything(self, bucket) if o.key.startswith(prefix))

    listing.MinioLister.list = under  # type: ignore[method-assign]


PATCHES: dict[str, Callable[[str], None]] = {
    "slow_fit": slow_fit,
    "held_fit": held_fit,
    "held_call": held_call,
    "landing_prefix": landing_prefix,
}


def command(service: str, **patches: object) -> tuple[str, ...]:
    """What a test's process launcher runs to start ``service`` with ``patches`` applied.

    The module name stands on the command line, so the launcher recognises the process.
    """
    module = f"millrace_{service}"
    return (sys.executable, __file__, module, *(f"{k}={v}" for k, v in patches.items()))


def main(argv: list[str]) -> None:
    module, *patches = argv
    for patch in patches:
        name, _, value = patch.partition("=")
        PATCHES[name](value)
    importlib.import_module(f"{module}.__main__").main()


if __name__ == "__main__":
    main(sys.argv[1:])
