"""``release_memory`` returns free pages to the OS and never frees what is still referenced."""

from __future__ import annotations

import gc
import os
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from millrace_shared import memory


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and glibc")
def test_freed_small_objects_go_back_to_the_os() -> None:
    if memory._malloc_trim() is None:
        pytest.skip("no glibc malloc_trim here")
    before = _rss_mb()
    # Objects over 512 bytes come from malloc; the last one, kept alive, pins the top of the
    # heap, so glibc keeps all the freed pages below it until malloc_trim (measured: ~200 MB).
    blocks = [bytes(1000) + bytes([i % 256]) for i in range(200_000)]
    keep = blocks[-1]
    peak = _rss_mb()
    del blocks
    memory.release_memory()
    after = _rss_mb()
    assert keep[-1] == (200_000 - 1) % 256  # still referenced: untouched
    assert peak - before > 150
    assert after - before < (peak - before) / 2


def test_releases_arrow_pool_when_pyarrow_is_loaded() -> None:
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"x": list(range(100_000))})
    del table
    memory.release_memory()  # does not raise; the pool may keep nothing afterwards
    assert pa.default_memory_pool().bytes_allocated() >= 0


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test session keeps the collector's usual reach


def test_settle_heap_freezes_survivors_out_of_later_collections(unfrozen: None) -> None:
    kept = [_Node() for _ in range(1000)]
    memory.settle_heap()
    assert gc.get_freeze_count() >= len(kept)
    gc.collect()
    assert gc.get_freeze_count() >= len(kept)  # a full collection leaves them frozen


def test_settle_heap_collects_cycles_an_earlier_settle_froze(unfrozen: None) -> None:
    gc.disable()  # no collection but ours in between
    try:
        node2 = _Node()
        probe = weakref.ref(node2)
        gc.freeze()  # frozen while alive, as a served model is by the last settle
        del node2
        gc.collect()
        assert probe() is not None  # frozen: a plain collection cannot free it
        memory.settle_heap()  # the next load or swap settles again
        assert probe() is None
    finally:
        gc.enable()
