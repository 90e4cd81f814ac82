"""The limit of the HTTP stack with the fastest runtime a user could pick: FastAPI + uvicorn
(uvloop, httptools) + orjson, one worker, the pipeline converted by skl2onnx and run by ONNX
Runtime with one intra-op thread (``onnx_convert.py``). ``/predict`` takes one JSON row,
``/predict_batch`` ``{"rows": [...]}``. No validation, no logging, no tracing.

Usage: python onnx_server.py MODEL.skops PORT FEATURE [FEATURE ...]
"""

from __future__ import annotations

import sys

import numpy as np
import orjson
from fastapi import FastAPI, Request, Response
from onnx_convert import session
from serve import serve


def build(model_path: str, features: list[str]) -> FastAPI:
    runtime = session(model_path, len(features))
    label = runtime.get_outputs()[0].name
    app = FastAPI()

    def run(rows: list[dict[str, float]]) -> list[object]:
        x = np.array([[row[name] for name in features] for row in rows], dtype=np.float32)
        labels: list[object] = runtime.run([label], {"x": x})[0].tolist()
        return labels

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        [answer] = run([orjson.loads(await request.body())])
        return Response(orjson.dumps({"prediction": answer}), media_type="application/json")

    @app.post("/predict_batch")
    async def predict_batch(request: Request) -> Response:
        answers = run(orjson.loads(await request.body())["rows"])
        return Response(orjson.dumps({"predictions": answers}), media_type="application/json")

    @app.get("/health")
    async def health() -> Response:
        return Response(b"{}", media_type="application/json")

    return app


def main() -> None:
    model_path, port, features = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    serve(build(model_path, features), port)


if __name__ == "__main__":
    main()
