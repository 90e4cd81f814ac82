"""Arrow's one-time set-up happens at start, not at the first flush with logs waiting."""

from __future__ import annotations

import subprocess
import sys


def test_warm_up_does_what_the_first_flush_would_have_done() -> None:
    # A fresh interpreter: this test process may have imported pandas long ago.
    probe = (
        "import sys; from millrace_monitoring.archive import warm_up_arrow; "
        "before = 'pandas' in sys.modules; warm_up_arrow(); "
        "import pyarrow as pa; "
        "has_pandas = __import__('importlib.util').util.find_spec('pandas') is not None; "
        "print(before, 'pandas' in sys.modules, has_pandas)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    before, after, installed = (word == "True" for word in out)
    assert not before  # the module itself does not import pandas
    assert after == installed  # the warm-up loaded what pyarrow's first array loads
