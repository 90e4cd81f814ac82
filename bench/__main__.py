"""``python -m bench [--quick] [--only 1,2,...]``: run the benchmarks, write the table."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from pathlib import Path
from types import FrameType

from millrace_infra.launcher import stop_attached

from . import envs, memory
from .context import FULL, QUICK, Context
from .results import CODE, Results, code_state, machine, now

ALL = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "s1", "s2", "s3"]
GROUPS = {
    "serving": {"1", "2", "3", "4", "6", "9"},
    "monitoring": {"5", "6", "9"},
    "drift": {"7"},
    "freshness": {"8", "9"},
    "scale": {"s1", "s2", "s3"},  # last: s2 grows the stack's topics to 6 partitions
}


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 round, small sizes (CI smoke)")
    parser.add_argument("--only", default=",".join(ALL), help="comma-separated benchmark numbers")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 5, quick 1)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--work", type=Path, help="work folder (default: a fresh temp dir)")
    parser.add_argument("--keep-work", action="store_true", help="keep logs and profiles")
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="do not create the baselines' envs; skip baselines whose env is missing "
        "(the default in --quick)",
    )
    parser.add_argument("--install", action="store_true", help="create the envs even in --quick")
    parser.add_argument("--no-profile", action="store_true", help="no py-spy profile of misses")
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="write latest.* even with uncommitted changes under services/, shared/, "
        "contracts/ (development only: the table is marked dirty)",
    )
    args = parser.parse_args(argv)

    only = {x.strip() for x in args.only.split(",") if x.strip()}
    unknown = only - set(ALL)
    if unknown:
        parser.error(f"unknown benchmark(s): {sorted(unknown)}")
    state = code_state(Path(__file__).resolve().parents[1])
    writes_latest = not args.quick and only == set(ALL)
    if writes_latest and state["dirty_code"] and not args.allow_dirty:
        parser.error(
            f"uncommitted changes under {', '.join(CODE)} ({', '.join(state['dirty_code'][:5])}"
            "): commit them so the table names the code it measured, or pass --allow-dirty"
        )
    sizes = QUICK if args.quick else FULL
    if args.rounds:
        sizes = replace(sizes, rounds=args.rounds)
    work = args.work or Path(tempfile.mkdtemp(prefix="millrace-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = Results(started_at=now(), quick=args.quick, rounds=sizes.rounds)
    results.environment = machine() | state
    install = args.install or not (args.quick or args.no_install)
    ctx = Context(
        work=work,
        sizes=sizes,
        quick=args.quick,
        results=results,
        skip_baselines=not install,
        profile=not args.no_profile,
        zipkin=bool(only & {"5", "6", "8"}),
    )
    signal.signal(signal.SIGTERM, _terminate)
    print(f"bench: work folder {work}", file=sys.stderr)
    started = time.monotonic()
    try:
        _prepare(ctx, install, only)
        for group, members in GROUPS.items():
            wanted = only & members
            # #9 alone rides along with the others; it starts a group only when asked alone.
            if not wanted or (wanted == {"9"} and only != {"9"}):
                continue
            _run_group(ctx, group, wanted)
        if "9" in only:
            memory.mark(results)
    except KeyboardInterrupt:
        results.skip("run", "interrupted")
    finally:
        ctx.close()
        stop_attached()
        results.facts["wall_seconds"] = round(time.monotonic() - started, 1)
        partial = "" if only == set(ALL) else "-".join(sorted(only))
        md, js = results.write(args.out, partial)
        print(results.markdown())
        print(f"bench: wrote {md} and {js}", file=sys.stderr)
        if not args.keep_work and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def _prepare(ctx: Context, install: bool, only: set[str]) -> None:
    needed = set()
    if only & {"1", "3"}:
        needed.add("mlflow")
    if "7" in only:
        needed.add("evidently")
    if not ctx.quick:
        needed.add("tools")
    versions = {}
    for name in sorted(needed):
        spec = envs.specs()[name]
        if install:
            print(f"bench: preparing bench/.envs/{name}", file=sys.stderr)
            try:
                envs.ensure(spec, ctx.logs / f"env-{name}.log")
            except Exception as error:  # the rest of the bench still runs
                ctx.results.skip(f"env {name}", str(error))
        versions[name] = spec.versions() if spec.ready() else "missing"
    if install and only & {"1", "2", "3"}:
        envs.ensure_wrk(ctx.logs / "apt-wrk.log")
    from .clients import has_wrk

    versions["wrk"] = "installed" if has_wrk() else "missing: peak rate measured with bench.loadgen"
    ctx.results.facts["baseline_envs"] = versions


def _run_group(ctx: Context, group: str, wanted: set[str]) -> None:
    print(f"bench: {group} ({', '.join(sorted(wanted))})", file=sys.stderr)
    started = time.monotonic()
    try:
        if group == "serving":
            from . import b_serving

            b_serving.run(ctx, wanted)
        elif group == "monitoring":
            from . import b_monitoring

            b_monitoring.run(ctx, wanted)
        elif group == "drift":
            from . import b_drift

            b_drift.run(ctx, wanted)
        elif group == "freshness":
            from . import b_freshness

            b_freshness.run(ctx, wanted)
        elif group == "scale":
            from . import b_scale

            b_scale.run(ctx, wanted)
    except KeyboardInterrupt:
        raise
    except Exception as error:
        trace = traceback.format_exc()
        (ctx.logs / f"error-{group}.txt").write_text(trace)
        print(trace, file=sys.stderr)
        ctx.results.skip(
            ",".join(sorted(wanted)), f"{group} failed: {type(error).__name__}: {error}"[:600]
        )
    finally:
        stop_attached()
        ctx.results.facts.setdefault("group_seconds", {})[group] = round(
            time.monotonic() - started, 1
        )


if __name__ == "__main__":
    sys.exit(main())
