"""#1-#4 (and #9 for deployment): predictions through the deployment service's REST endpoint
against ``mlflow models serve`` and two bare FastAPI endpoints (scikit-learn's ``predict``, and
the pipeline converted by skl2onnx on ONNX Runtime), on the same fitted models. #2 and #4
compare Millrace with the faster of the two bare endpoints.

Every server is one process with one worker, pinned to the same CPU; the clients run on the
other. Rounds interleave the servers (their order rotates each round).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from millrace_infra.launcher import Process, pinned

from . import clients, profiler, rss_profile
from .clients import Target
from .context import Context
from .envs import available
from .harness import (
    BASELINES,
    RegistryStub,
    Servers,
    Stack,
    bare_server,
    client_cpus,
    deployment,
    get_json,
    mlflow_server,
    onnx_server,
    server_cpu,
    servers,
    stack_on_client_cpus,
    trivial_server,
)
from .models import (
    FEATURES,
    FittedModel,
    fit,
    request_rows,
    save_files,
    serving_frame,
    version_info,
)
from .results import compared
from .stats import at_most, median, worst

ROWS_IN_ROTATION = 256
BATCH_ROWS = 1000
CONNECTIONS = 16
BARE = {"bare": "bare FastAPI+sklearn", "onnx": "bare FastAPI+ONNX Runtime"}
"""The bare endpoints #2 and #4 pick the faster of (``baselines/``)."""


def post(port: int, path: str, body: str) -> Any:
    """POST a JSON body to a local server; its JSON answer."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _stats(port: int) -> dict[str, Any]:
    answer: dict[str, Any] = get_json(port, "/stats")
    return answer


def _stalls_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Deployment's event-loop stalls (its watchdog, ``/stats``) during one round."""
    count = after.get("loop_stalls", 0) - before.get("loop_stalls", 0)
    return {
        "count": count,
        "max_ms_since_start": after.get("loop_stall_max_ms"),
        "last": after.get("loop_stall_last") if count else None,
    }


def _busy_or_starved(stall: dict[str, Any]) -> str:
    if stall.get("cpu_ms", 0) >= 0.5 * stall["ms"]:
        return "busy: the frames are where the time went"
    return (
        "not computing: it waited in a blocking call (the frames say which) or other processes "
        "had the core (the frames are then only where it was left)"
    )


def stall_note(runs: list[dict[str, Any]], limit: float) -> str:
    """Why a p99 round missed: its stalls inside deployment, and the connections it took."""
    parts = []
    for r, run in enumerate(runs):
        if run["p99_ms"] <= limit:
            continue
        stalls = run.get("server_stalls") or {}
        last = stalls.get("last")
        inside = (
            f"deployment's event loop stalled {stalls['count']} time(s), the last for "
            f"{last['ms']:.0f} ms, in which the process had {last.get('cpu_ms', 0):.0f} ms of "
            f"CPU ({_busy_or_starved(last)}; {last['full_collection_ms']:.0f} ms of full "
            f"garbage collection), its loop thread in {last['where']}"
            if last
            else "deployment's event loop never stalled over its watchdog's threshold (so the "
            "delay was outside its loop: CPU taken by other processes, or the socket queues)"
        )
        parts.append(
            f"round {r}: p99 {run['p99_ms']:.0f} ms, max {run['max_ms']:.0f} ms; {inside}; the "
            f"client opened {run['connections_used']} connections (32 at the start: each request "
            "queued behind a held one opens another)"
        )
    return "Missed rounds: " + "; ".join(parts)


def _label(answer: Any) -> Any:
    """The predicted label from any of the three servers' answers."""
    if isinstance(answer, dict) and "predictions" in answer:  # MLflow
        return answer["predictions"][0]
    return answer["prediction"]


def _wait_models(port: int, count: int, within: float = 120) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if len(get_json(port, "/models", timeout=2)) >= count:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"deployment did not serve {count} models within {within}s")


def start_deployment(
    stack: Stack, registry_url: str, group: Servers, logs: Path, label: str
) -> Process:
    """A deployment replica as the serving rows run it (pinned to the servers' CPU, its
    replica id its label), added to ``group`` (``harness.servers``) so it is stopped."""
    return group.add(deployment(stack, registry_url, logs, label=label))


def wait_serving(proc: Process, models: int, within: float = 120) -> None:
    """Until the deployment is ready and serves ``models`` models."""
    proc.wait_ready(within=within)
    _wait_models(proc.port, models, within)


def _mlflow_model(env: Any, model: FittedModel, pickle_path: Path, out: Path, log: Path) -> Path:
    target = out / f"mlflow-{model.key}"
    with log.open("ab") as sink:
        subprocess.run(
            [
                str(env.python),
                str(BASELINES / "mlflow_save.py"),
                str(pickle_path),
                str(target),
                *FEATURES,
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return target


class Served:
    """One model on each server: targets, and the processes to measure."""

    def __init__(self) -> None:
        self.targets: dict[str, Target] = {}
        self.procs: dict[str, Process] = {}


def run(ctx: Context, which: set[str]) -> None:
    sizes, results = ctx.sizes, ctx.results
    stack = ctx.stack()
    work = ctx.work / "serving"
    work.mkdir(parents=True, exist_ok=True)
    frame = serving_frame(sizes.serving_train_rows, seed=7)
    models = [fit("hgb", frame), fit("logreg", frame)]
    results.facts["serving_models"] = {
        m.key: {
            "estimator": type(m.pipeline[-1]).__name__,
            "fit_seconds": m.fit_seconds,
            "training_rows": int(len(frame) * 0.8),
            "features": len(FEATURES),
            "artifact_bytes": len(m.skops_bytes),
        }
        for m in models
    }
    store = stack.store()
    bucket = stack.settings().bucket_models
    infos, files = [], {}
    for m in models:
        files[m.key] = save_files(m, work / "models")
        uri = f"s3://{bucket}/bench/{m.key}/model.skops"
        store.put_bytes(uri, m.skops_bytes)
        infos.append(version_info(m, uri, bucket=bucket))

    mlflow_env = available("mlflow")
    if mlflow_env is None:
        results.skip("1 (MLflow side)", "bench/.envs/mlflow is missing (quick mode skips it)")

    rows = request_rows(ROWS_IN_ROTATION, seed=11)
    millrace_bodies = [json.dumps(r, separators=(",", ":")) for r in rows]
    mlflow_bodies = [json.dumps({"dataframe_records": [r]}, separators=(",", ":")) for r in rows]

    # #9's profile: a fresh interpreter importing what the deployment imports, read once the
    # servers are up (it runs while they start; it exits by itself).
    probe = rss_profile.ImportProbe("deployment") if "9" in which else None
    with (
        stack_on_client_cpus(stack) as moved,
        RegistryStub(infos, stack.keys) as registry,
        servers(ctx.logs) as group,
    ):
        results.facts["serving_stack_cpus"] = {"moved": moved, "cpus": client_cpus()}
        dep = start_deployment(stack, registry.url, group, ctx.logs, "deployment-bench")
        dport = dep.port
        wait_serving(dep, len(models))
        served: dict[str, Served] = {}
        for m in models:
            s = served[m.key] = Served()
            s.targets["millrace"] = Target(
                "millrace", dport, f"/models/{m.name}/predict", millrace_bodies, {}
            )
            s.procs["millrace"] = dep
            proc, port = bare_server(files[m.key][0], FEATURES, ctx.logs, f"bare-{m.key}")
            group.add(proc)
            s.targets["bare"] = Target("bare", port, "/predict", millrace_bodies, {})
            s.procs["bare"] = proc
            proc, port = onnx_server(files[m.key][0], FEATURES, ctx.logs, f"onnx-{m.key}")
            group.add(proc)
            s.targets["onnx"] = Target("onnx", port, "/predict", millrace_bodies, {})
            s.procs["onnx"] = proc
            if mlflow_env is not None:
                model_dir = _mlflow_model(
                    mlflow_env, m, files[m.key][1], work, ctx.logs / "mlflow-save.log"
                )
                proc, port = mlflow_server(mlflow_env, model_dir, ctx.logs, f"mlflow-{m.key}")
                group.add(proc)
                s.targets["mlflow"] = Target("mlflow", port, "/invocations", mlflow_bodies, {})
                s.procs["mlflow"] = proc
        for m in models:
            s = served[m.key]
            for name, proc in s.procs.items():
                health = {"millrace": "/health/ready", "mlflow": "/ping"}.get(name, "/health")
                proc.wait_ready(health, within=180)

        # The same model answers the same: compare labels on a few rows.
        agreement: dict[str, Any] = {}
        for m in models:
            s = served[m.key]
            labels = {
                name: [_label(post(t.port, t.path, t.bodies[i])) for i in range(20)]
                for name, t in s.targets.items()
            }
            reference = labels["millrace"]
            agreement[m.key] = {name: got == reference for name, got in labels.items()}
        results.facts["same_predictions_on_20_rows"] = agreement

        idle = {
            f"{name}/{m.key}": served[m.key].procs[name].rss_mb()
            for m in models
            for name in served[m.key].procs
        }
        dep_profile = (
            rss_profile.profile(
                dep.pid, probe.result(), {"idle, two models": idle[f"millrace/{models[0].key}"]}
            )
            if probe is not None
            else None
        )
        for m in models if not ctx.quick else []:  # warm-up (quick: the checks above warm up)
            for target in served[m.key].targets.values():
                clients.peak(target, work, connections=CONNECTIONS, duration=1)

        inprocess = (
            _inprocess(models, files, work, 2 if ctx.quick else 10) if which & {"2", "4"} else {}
        )
        ctx.results.facts["baseline_inprocess_us_per_call"] = inprocess
        peaks = _peaks(ctx, models, served, work) if which & {"1", "2", "3", "9"} else {}
        if which & {"1", "2"}:
            _report_peaks(ctx, models, served, peaks, work, inprocess)
        if "6" in which:
            _tracing(ctx, stack, registry.url, group, models[0], served[models[0].key], work)
        if "3" in which:
            _latency(ctx, models, served, peaks, work)
        if "4" in which:
            _batch(ctx, models, served, work, inprocess)
        if "9" in which and peaks:
            under = max(r["rss_mb"] for m in models for r in peaks[m.key]["millrace"])
            ctx.results.facts.setdefault("rss_mb", {})["deployment"] = {
                "idle_two_models": idle[f"millrace/{models[0].key}"],
                "under_peak_load_max": under,
            }
            ctx.results.facts["rss_mb"].setdefault("profile", {})["deployment"] = dep_profile
            ctx.results.facts["rss_mb"]["baselines_idle"] = {
                k: v for k, v in idle.items() if not k.startswith("millrace")
            }
        if "client" not in ctx.results.facts and not ctx.quick:  # a fact, not a row
            _client_ceiling(ctx, work)


def _peaks(
    ctx: Context, models: list[FittedModel], served: dict[str, Served], work: Path
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    out: dict[str, dict[str, list[dict[str, Any]]]] = {
        m.key: {n: [] for n in served[m.key].targets} for m in models
    }
    for r in range(ctx.sizes.rounds):
        for m in models:
            names = list(served[m.key].targets)
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                proc, target = served[m.key].procs[name], served[m.key].targets[name]
                before = proc.cpu_seconds()
                result = clients.peak(
                    target, work, connections=CONNECTIONS, duration=ctx.sizes.peak_seconds
                )
                result["server_cpu_share"] = (proc.cpu_seconds() - before) / result["seconds"]
                result["rss_mb"] = proc.rss_mb()
                out[m.key][name].append(result)
    return out


def _rates(runs: list[dict[str, Any]]) -> list[float]:
    return [r["rate"] for r in runs]


def _faster(runs: dict[str, list[dict[str, Any]]]) -> str:
    """The bare endpoint with the higher median rate: the one #2 and #4 compare against."""
    return max((n for n in BARE if n in runs), key=lambda n: median(_rates(runs[n])))


def _inprocess(
    models: list[FittedModel], files: dict[str, tuple[Path, Path]], work: Path, repeats: int
) -> dict[str, dict[str, dict[str, float]]]:
    """Each bare endpoint's own code without HTTP (rows -> array -> predict / ``run``), µs per
    call for one row and for the batch, pinned like the servers: a slow baseline shows here."""
    rows_path = work / "inprocess-rows.json"
    rows_path.write_text(json.dumps({"features": FEATURES, "rows": request_rows(BATCH_ROWS, 23)}))
    command = pinned(
        [
            sys.executable,
            str(BASELINES / "inprocess_predict.py"),
            str(rows_path),
            str(repeats),
            *(str(files[m.key][0]) for m in models),
        ],
        [server_cpu()],
    )
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    answer = json.loads(done.stdout)
    return {
        m.key: {
            runtime: {kind: t[kind]["median"] * 1e6 for kind in ("single", "batch")}
            for runtime, t in answer[str(files[m.key][0])].items()
        }
        for m in models
    }


def _inprocess_note(costs: dict[str, dict[str, float]], kind: str) -> str:
    what = "one row" if kind == "single" else f"a {BATCH_ROWS}-row batch"
    parts = [f"{name} {c[kind]:,.1f} µs" for name, c in costs.items()]
    return f"in-process cost per call of {what} (no HTTP): " + ", ".join(parts)


def _report_peaks(
    ctx: Context,
    models: list[FittedModel],
    served: dict[str, Served],
    peaks: dict[str, Any],
    work: Path,
    inprocess: dict[str, Any],
) -> None:
    for m in models:
        p = peaks[m.key]
        mill = _rates(p["millrace"])
        details = dict(p)
        errors = sum(r["errors"] for runs in p.values() for r in runs)
        note = f"{errors} failed requests" if errors else ""
        if "mlflow" in p:
            ctx.results.add(
                compared(
                    bench=f"1/{m.key}",
                    what=f"single-row predictions/s, {type(m.pipeline[-1]).__name__}, {CONNECTIONS} conns",
                    baseline="mlflow models serve",
                    millrace=mill,
                    base=_rates(p["mlflow"]),
                    unit="req/s",
                    ratio_meaning="Millrace/MLflow",
                    goal="≥ 8x",
                    least=8,
                    notes=note,
                    details=details,
                )
            )
        fastest = _faster(p)
        others = ", ".join(f"{BARE[n]} {median(_rates(p[n])):.0f} req/s" for n in BARE if n in p)
        row = compared(
            bench=f"2/{m.key}",
            what=f"single-row predictions/s vs the HTTP stack, {type(m.pipeline[-1]).__name__}",
            baseline=f"{BARE[fastest]} (the faster bare endpoint)",
            millrace=mill,
            base=_rates(p[fastest]),
            unit="req/s",
            ratio_meaning=f"Millrace/{fastest}",
            goal="≥ 0.85x",
            least=0.85,
            notes=f"bare endpoints: {others}; "
            + _inprocess_note(inprocess.get(m.key, {}), "single"),
            details={n: p[n] for n in BARE if n in p},
        )
        if not row.met and not ctx.quick and ctx.profile:
            row.details["profile_millrace"] = _profile(
                served[m.key], "millrace", work, f"deployment-{m.key}"
            )
            row.details["profile_bare"] = _profile(
                served[m.key], fastest, work, f"{fastest}-{m.key}"
            )
            row.notes += ". " + profiler.note(
                row.details["profile_millrace"], row.details["profile_bare"]
            )
            reason = profiler.serving_reason(
                row.details["profile_millrace"], row.details["profile_bare"]
            )
            row.notes += f". {reason}" if reason else ""
        ctx.results.add(row)


def _profile(s: Served, name: str, work: Path, label: str) -> dict[str, Any] | None:
    out = work / f"profile-{label}.txt"
    out.unlink(missing_ok=True)
    spy = profiler.start(s.procs[name].pid, 8, out)
    if spy is None:
        return None
    time.sleep(0.5)
    clients.peak(s.targets[name], work, connections=CONNECTIONS, duration=9)
    return profiler.finish(spy, out)


def _latency(
    ctx: Context,
    models: list[FittedModel],
    served: dict[str, Served],
    peaks: dict[str, Any],
    work: Path,
) -> None:
    sizes = ctx.sizes
    for m in models:
        s = served[m.key]
        rates = {n: 0.5 * median(_rates(peaks[m.key][n])) for n in s.targets}
        opened: dict[str, list[dict[str, Any]]] = {n: [] for n in s.targets}
        singles: dict[str, list[dict[str, Any]]] = {n: [] for n in s.targets}
        for r in range(sizes.rounds):
            names = list(s.targets)
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                before = _stats(s.targets[name].port) if name == "millrace" else None
                run = clients.open_loop(
                    s.targets[name],
                    work,
                    rate=rates[name],
                    duration=sizes.open_seconds,
                    seed=100 + r,
                )
                if before is not None:
                    run["server_stalls"] = _stalls_between(before, _stats(s.targets[name].port))
                opened[name].append(run)
                singles[name].append(
                    clients.single(s.targets[name], work, count=sizes.single_count, warmup=50)
                )
        est = type(m.pipeline[-1]).__name__

        def med(runs: list[dict[str, Any]], key: str) -> float:
            return median([x[key] for x in runs])

        base = "mlflow" if "mlflow" in s.targets else _faster(peaks[m.key])
        base_name = "mlflow models serve" if base == "mlflow" else BARE[base]
        bare_note = "; ".join(
            f"{BARE[n]}: p50 {med(opened[n], 'p50_ms'):.2f} ms, p99 {med(opened[n], 'p99_ms'):.2f} ms "
            f"at {rates[n]:.0f} req/s, single-connection p50 {med(singles[n], 'p50_ms'):.3f} ms"
            for n in BARE
            if n in opened
        ) + (
            f". Millrace at {rates['millrace']:.0f} req/s"
            + (f", MLflow at {rates['mlflow']:.0f} req/s" if "mlflow" in rates else "")
            + f"; client lag p99 {max(x['lag_p99_ms'] for runs in opened.values() for x in runs):.2f} ms"
        )
        for variant, what, runs, field, goal, limit, notes, details in (
            ("p99", "p99 latency at half of each one's peak (open loop)", opened, "p99_ms",
             "≤ 10 ms", 10, bare_note, {"open_loop": opened}),
            ("p50", "p50 latency at half of each one's peak (open loop)", opened, "p50_ms",
             "report", None, "", {}),
            ("1-conn", "p50 latency, one connection, one request at a time", singles, "p50_ms",
             "≤ 1 ms (MLflow: 8.4 ms)", 1.0, "", {"single": singles}),
        ):  # fmt: skip
            ours = [x[field] for x in runs["millrace"]]
            if limit is not None:
                notes = f"worst round {worst(ours, higher_is_better=False):.3g} ms. {notes}".strip()
            if variant == "p99" and limit is not None and not at_most(ours, limit):
                notes += ". " + stall_note(runs["millrace"], limit)
            ctx.results.add(
                compared(
                    bench=f"3/{m.key} {variant}",
                    what=f"{what}, {est}",
                    baseline=base_name,
                    millrace=ours,
                    base=[x[field] for x in runs[base]],
                    unit="ms",
                    ratio_meaning=f"Millrace/{base}, lower is better",
                    goal=goal,
                    # The goal is an absolute latency, met only if every round meets it.
                    met=at_most(ours, limit) if limit is not None else None,
                    notes=notes,
                    details=details,
                )
            )


def _batch(
    ctx: Context,
    models: list[FittedModel],
    served: dict[str, Served],
    work: Path,
    inprocess: dict[str, Any],
) -> None:
    """#4: 1,000-row batches, one request at a time on one connection, against the same batch
    on each bare endpoint's ``/predict_batch``; batches/s = 1 / median request time."""
    rows = request_rows(BATCH_ROWS, seed=23)
    body = json.dumps({"rows": rows}, separators=(",", ":"))
    for m in models:
        s = served[m.key]
        targets = {
            "millrace": Target(
                "millrace-batch", s.targets["millrace"].port, s.targets["millrace"].path, [body], {}
            )
        }
        for name in BARE:
            if name in s.targets:
                targets[name] = Target(
                    f"{name}-batch", s.targets[name].port, "/predict_batch", [body], {}
                )
        # The same answers for the same batch (labels), before timing anything.
        labels = {
            n: [
                p["prediction"] if isinstance(p, dict) else p
                for p in post(t.port, t.path, body)["predictions"]
            ]
            for n, t in targets.items()
        }
        ctx.results.facts.setdefault("same_batch_predictions", {})[m.key] = {
            n: got == labels["millrace"] for n, got in labels.items()
        }
        runs: dict[str, list[dict[str, Any]]] = {n: [] for n in targets}
        for r in range(ctx.sizes.rounds):
            names = list(targets)
            for name in names[r % len(names) :] + names[: r % len(names)]:
                runs[name].append(
                    clients.single(targets[name], work, count=ctx.sizes.batch_requests, warmup=2)
                )
        rates = {n: [1000 / x["p50_ms"] for x in v] for n, v in runs.items()}
        fastest = max((n for n in BARE if n in rates), key=lambda n: median(rates[n]))
        others = ", ".join(
            f"{BARE[n]} {median(rates[n]):.1f} batches/s" for n in BARE if n in rates
        )
        row = compared(
            bench=f"4/{m.key}",
            what=f"{BATCH_ROWS}-row batches/s, one connection, {type(m.pipeline[-1]).__name__}",
            baseline=f"{BARE[fastest]} /predict_batch (the faster bare endpoint)",
            millrace=rates["millrace"],
            base=rates[fastest],
            unit="batches/s",
            ratio_meaning=f"Millrace/{fastest}",
            goal="≥ 0.5x",
            least=0.5,
            notes=f"bare endpoints: {others}; "
            + _inprocess_note(inprocess.get(m.key, {}), "batch"),
            details={"runs": runs, "batches_per_s": rates},
        )
        profile = None
        if ctx.profile and not ctx.quick and row.met is False:
            out = work / f"profile-batch-{m.key}.txt"
            spy = profiler.start(s.procs["millrace"].pid, 8, out)
            if spy is not None:
                time.sleep(0.5)
                clients.single(
                    targets["millrace"], work, count=max(60, ctx.sizes.batch_requests * 2), warmup=0
                )
                profile = profiler.finish(spy, out)
        if profile:
            row.notes += ". " + profiler.note(profile, None)
            reason = profiler.serving_reason(profile, None)
            row.notes += f". {reason}" if reason else ""
        row.details["profile_millrace"] = profile
        ctx.results.add(row)


def _client_ceiling(ctx: Context, work: Path) -> None:
    """The clients against a raw ASGI app: how fast they can go, and their own overhead."""
    proc, port = trivial_server(ctx.logs)
    try:
        proc.wait_ready("/", within=30)
        target = Target("trivial", port, "/", ['{"f00":1.0}'], {})
        peak = clients.peak(target, work, connections=CONNECTIONS, duration=ctx.sizes.peak_seconds)
        before = proc.cpu_seconds()
        opened = clients.open_loop(target, work, rate=2000, duration=ctx.sizes.open_seconds, seed=5)
        opened["server_cpu_share"] = (proc.cpu_seconds() - before) / max(
            ctx.sizes.open_seconds, 1e-9
        )
        single = clients.single(target, work, count=ctx.sizes.single_count, warmup=50)
        ctx.results.facts["client"] = {
            "note": "clients against a raw ASGI app (uvicorn+uvloop+httptools, pinned like the servers)",
            "peak": peak,
            "open_loop_2000_per_s": dict(opened),
            "single_connection": single,
        }
    finally:
        proc.stop()


def _tracing(
    ctx: Context,
    stack: Any,
    registry_url: str,
    group: Any,
    model: FittedModel,
    s: Served,
    work: Path,
) -> None:
    """#6 for deployment, on the predict route as shipped: a replica sampling 100% of its
    spans and exporting them to Zipkin (the stack's exporter), and the shipped default
    (sampling 100%, no exporter configured: the replica #1-#4 measure), each against a replica
    with tracing off (sample ratio 0, no exporter). Single rows at peak rate, and 1,000-row
    batches (which open a ``predict_batch`` span) one at a time."""
    if not stack.zipkin_endpoint:
        ctx.results.skip("6/deployment", "the stack runs no Zipkin (no span endpoint)")
        return
    replicas = {
        "on": group.add(
            deployment(
                stack,
                registry_url,
                ctx.logs,
                label="deployment-traced",
                zipkin=stack.zipkin_endpoint,
                sample_ratio=1.0,
            )
        ),
        "off": group.add(
            deployment(stack, registry_url, ctx.logs, label="deployment-untraced", sample_ratio=0.0)
        ),
    }
    millrace = s.targets["millrace"]
    targets = {"default": millrace}
    batch_body = json.dumps({"rows": request_rows(BATCH_ROWS, seed=23)}, separators=(",", ":"))
    batches = {}
    for key, proc in replicas.items():
        port = proc.port
        wait_serving(proc, 2)
        targets[key] = Target(f"millrace-{key}", port, millrace.path, millrace.bodies, {})
        batches[key] = Target(f"millrace-{key}-batch", port, millrace.path, [batch_body], {})
        clients.peak(targets[key], work, connections=CONNECTIONS, duration=1)
    rates: dict[str, list[float]] = {"on": [], "off": [], "default": []}
    batch_rates: dict[str, list[float]] = {"on": [], "off": []}
    for r in range(ctx.sizes.rounds):
        order = ["off", "on", "default"]
        for key in order[r % 3 :] + order[: r % 3]:
            rates[key].append(
                clients.peak(
                    targets[key], work, connections=CONNECTIONS, duration=ctx.sizes.peak_seconds
                )["rate"]
            )
        for key in ("off", "on") if r % 2 == 0 else ("on", "off"):
            done = clients.single(batches[key], work, count=ctx.sizes.batch_requests, warmup=2)
            batch_rates[key].append(1000 / done["p50_ms"])
    for proc in replicas.values():
        proc.stop()
    single_note = (
        "single rows open no server span: the predict route is excluded from FastAPI's "
        "telemetry on purpose (deployment's api.is_predict); per single row, tracing costs the "
        "sampler's context and the log publisher's publish_logs span and traced Kafka send, one "
        "per buffered batch of prediction logs. The traced per-request path is the batch row"
    )
    for bench, what, key, note in (
        (
            "6/deployment",
            "100% sampling + Zipkin export vs off",
            "on",
            single_note,
        ),
        (
            "6/deployment default",
            "shipped default (100% sampling, no exporter set) vs off",
            "default",
            single_note + "; the shipped-default replica is the one #1-#4 measure",
        ),
    ):
        ctx.results.add(
            compared(
                bench=bench,
                what=f"deployment peak single-row predictions/s ({model.key}), {what}",
                baseline="Millrace, tracing off",
                millrace=rates[key],
                base=rates["off"],
                unit="req/s",
                ratio_meaning="traced/off",
                goal="≥ 0.85x",
                least=0.85,
                notes=note,
                details=rates,
            )
        )
    ctx.results.add(
        compared(
            bench="6/deployment batch",
            what=f"deployment {BATCH_ROWS}-row batches/s ({model.key}), one connection, "
            "100% sampling + Zipkin export vs off",
            baseline="Millrace, tracing off",
            millrace=batch_rates["on"],
            base=batch_rates["off"],
            unit="batches/s",
            ratio_meaning="on/off",
            goal="≥ 0.85x",
            least=0.85,
            notes="each batch opens a predict_batch span (under the caller's trace context), "
            "plus publish_logs spans for its 1,000 prediction logs",
            details=batch_rates,
        )
    )
