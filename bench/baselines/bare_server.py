"""The limit of the HTTP stack: FastAPI + uvicorn (uvloop, httptools), one worker; ``/predict``
turns the JSON row into a numpy array and calls ``predict``, ``/predict_batch`` does the same
for ``{"rows": [...]}``. No validation, no logging, no tracing.

Usage: python bare_server.py MODEL.skops PORT FEATURE [FEATURE ...]
"""

from __future__ import annotations

import sys

import numpy as np
import orjson
import skops.io as sio
from fastapi import FastAPI, Request, Response
from serve import serve


def build(model_path: str, features: list[str]) -> FastAPI:
    model = sio.load(model_path, trusted=sio.get_untrusted_types(file=model_path))
    app = FastAPI()

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        row = orjson.loads(await request.body())
        x = np.array([[row[name] for name in features]], dtype=np.float64)
        label = model.predict(x)[0]
        return Response(
            orjson.dumps({"prediction": label.item() if hasattr(label, "item") else label}),
            media_type="application/json",
        )

    @app.post("/predict_batch")
    async def predict_batch(request: Request) -> Response:
        rows = orjson.loads(await request.body())["rows"]
        x = np.array([[row[name] for name in features] for row in rows], dtype=np.float64)
        return Response(
            orjson.dumps({"predictions": model.predict(x).tolist()}),
            media_type="application/json",
        )

    @app.get("/health")
    async def health() -> Response:
        return Response(b"{}", media_type="application/json")

    return app


def main() -> None:
    model_path, port, features = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    serve(build(model_path, features), port)


if __name__ == "__main__":
    main()
