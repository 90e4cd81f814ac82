"""Charts as inline SVG: Vega-Lite specs rendered on the server by vl-convert (Rust, no
browser, no JavaScript sent to the page, nothing fetched from a CDN).

Renders are cached by spec: a page shown again with the same data costs no render. The SVG
keeps its text as ``<text>`` elements, so a test can read a chart's title and axis labels.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import vl_convert as vlc

from .backends import Distribution, DriftPoint, PerformancePoint

logger = logging.getLogger("millrace.console.charts")

Spec = dict[str, Any]
SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"  # an identifier; never fetched
_CACHE_SIZE = 512


class SvgCache:
    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self._size = size
        self._items: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def render(self, spec: Spec) -> str:
        key = json.dumps(spec, sort_keys=True, default=str)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        svg: str = vlc.vegalite_to_svg(spec)
        with self._lock:
            self._items[key] = svg
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return svg


CACHE = SvgCache()


def render(spec: Spec) -> str:
    return CACHE.render(spec)


def warm_up() -> None:
    """The first render loads vl-convert's engine (seconds); done once at start-up."""
    render(metric_by_version("warm-up", "metric", [(1, 0.0)]))


def _base(title: str, width: int = 420, height: int = 160) -> Spec:
    return {"$schema": SCHEMA, "title": title, "width": width, "height": height}


def metric_by_version(model: str, metric: str, points: Sequence[tuple[int, float]]) -> Spec:
    return {
        **_base(f"{metric} by version of {model}"),
        "data": {"values": [{"version": v, metric: m} for v, m in points]},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "version", "type": "quantitative", "axis": {"tickMinStep": 1}},
            "y": {"field": metric, "type": "quantitative", "scale": {"zero": False}},
        },
    }


def distribution(dist: Distribution) -> Spec:
    """Reference vs current share per bin, side by side."""
    values = [
        {"bin": b, "share": share, "sample": sample, "order": i}
        for i, b in enumerate(dist.bins)
        for sample, share in (("reference", dist.reference[i]), ("current", dist.current[i]))
    ]
    return {
        **_base(f"{dist.feature}: reference vs current", width=360),
        "data": {"values": values},
        "mark": "bar",
        "encoding": {
            "x": {"field": "bin", "type": "nominal", "sort": {"field": "order"}, "title": None},
            "xOffset": {"field": "sample"},
            "y": {"field": "share", "type": "quantitative", "axis": {"format": "%"}},
            "color": {"field": "sample", "type": "nominal", "sort": ["reference", "current"]},
        },
    }


def drift_over_time(feature: str, points: Sequence[DriftPoint]) -> Spec:
    """PSI, KS statistic and p-value of one feature per checked window; drifted windows
    marked."""
    rows: list[dict[str, Any]] = []
    for point in points:
        for f in point.features:
            if f.feature != feature:
                continue
            at = point.last_at.isoformat()
            rows.append({"at": at, "score": "PSI", "value": f.psi, "drifted": f.drifted})
            if f.ks_statistic is not None:
                rows.append(
                    {"at": at, "score": "KS", "value": f.ks_statistic, "drifted": f.drifted}
                )
            rows.append({"at": at, "score": "p (BH)", "value": f.p_adjusted, "drifted": f.drifted})
    return {
        **_base(f"drift of {feature} over time"),
        "data": {"values": rows},
        "layer": [
            {
                "mark": {"type": "line", "point": True},
                "encoding": {
                    "x": {"field": "at", "type": "temporal", "title": "window end"},
                    "y": {"field": "value", "type": "quantitative"},
                    "color": {"field": "score", "type": "nominal"},
                },
            },
            {
                "transform": [{"filter": "datum.drifted"}],
                "mark": {"type": "rule", "color": "#d62728", "strokeDash": [4, 3]},
                "encoding": {"x": {"field": "at", "type": "temporal"}},
            },
        ],
    }


def performance_over_time(
    metric: str, floor: float | None, points: Sequence[PerformancePoint], drift_at: Sequence[str]
) -> Spec:
    """The live metric from labels, the floor drawn as a rule, drift events as red marks."""
    layers: list[Spec] = [
        {
            "data": {"values": [{"at": p.at.isoformat(), metric: p.value} for p in points]},
            "mark": {"type": "line", "point": True},
            "encoding": {
                "x": {"field": "at", "type": "temporal", "title": "time"},
                "y": {"field": metric, "type": "quantitative", "scale": {"zero": False}},
            },
        }
    ]
    if floor is not None:
        layers.append(
            {
                "data": {"values": [{"floor": floor}]},
                "mark": {"type": "rule", "color": "#ff7f0e", "strokeDash": [6, 4]},
                "encoding": {"y": {"field": "floor", "type": "quantitative"}},
            }
        )
    if drift_at:
        layers.append(
            {
                "data": {"values": [{"at": at, "event": "drift"} for at in drift_at]},
                "mark": {"type": "rule", "color": "#d62728"},
                "encoding": {"x": {"field": "at", "type": "temporal"}},
            }
        )
    floor_text = "" if floor is None else f" (floor {floor:g})"
    return {**_base(f"live {metric}{floor_text}"), "layer": layers}
