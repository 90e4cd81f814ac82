"""Give memory freed by a large job back to the operating system.

A job that loads a 100,000-row dataset or fits a model allocates hundreds of MB; once it is
done, CPython frees the objects but the allocators keep the pages: glibc malloc keeps freed
chunks in its arenas (it only returns the top of the main heap on its own), and pyarrow's
memory pool (jemalloc or mimalloc) keeps its own. The service then stays at its peak RSS until
the next job. ``release_memory`` asks each of them to return what is free; it does not free
anything still referenced, so it is safe to call at any time, from any thread.

``settle_heap`` is for a long-lived heap that must answer with a steady latency (deployment
with its models loaded): CPython's full collection walks every tracked object, and with the
imported stack and a model that is ~300k objects, 150 ms and more of held GIL on this class of
machine, striking whenever enough new objects have survived. Frozen objects are left out of
every later collection, so only what requests allocate is walked.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import sys
from functools import cache
from typing import Any

logger = logging.getLogger("millrace.memory")


def release_memory() -> None:
    """Collect cyclic garbage, then return free pages of pyarrow's pool and of glibc malloc."""
    gc.collect()
    _release_arrow()
    trim = _malloc_trim()
    if trim is not None:
        # 0: keep no padding at the top of the heap; glibc >= 2.8 also releases whole free
        # pages inside every arena, not just the top of the main one.
        trim(0)


def settle_heap() -> None:
    """Collect everything, then freeze the survivors out of later collections.

    Call it after the heap's long-lived part changed (a model loaded or replaced). It first
    unfreezes what an earlier call froze, so that a replaced model's reference cycles are
    collected rather than kept forever. It costs one full collection, on the calling thread
    and holding the GIL: once per change instead of at random under load.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _release_arrow() -> None:
    # Only if the service already uses pyarrow: importing it here would cost ~50 MB itself.
    pa: Any = sys.modules.get("pyarrow")
    if pa is None:
        return
    try:
        pa.default_memory_pool().release_unused()
    except Exception:  # an older pyarrow or a pool without the call: nothing to release
        logger.debug("pyarrow could not release its unused memory", exc_info=True)


@cache
def _malloc_trim() -> Any | None:
    """glibc's ``malloc_trim``, or None elsewhere (macOS, musl, Windows)."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # musl has no malloc_trim
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim
