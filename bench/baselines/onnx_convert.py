"""The pipeline as a user converts it for ONNX Runtime: skl2onnx's stock conversion, float32
input, ``zipmap`` off, a session with one intra-op thread. Shared by the ONNX baselines.

The one change to skl2onnx's defaults is the one it needs to convert at all here: skl2onnx
1.20's tree converters pass a Python bool in an int attribute, which protobuf 7 refuses, so
bools become ints while converting.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import skops.io as sio


def load(model_path: str) -> Any:
    return sio.load(model_path, trusted=sio.get_untrusted_types(file=model_path))


def convert(model: Any, features: int) -> bytes:
    import onnx.helper
    import skl2onnx.common._container as container_module
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    make_node = onnx.helper.make_node

    def ints_not_bools(*args: Any, **kwargs: Any) -> Any:
        for key, value in kwargs.items():
            if isinstance(value, list):
                kwargs[key] = [int(v) if isinstance(v, bool | np.bool_) else v for v in value]
        return make_node(*args, **kwargs)

    container_module.make_node = ints_not_bools
    try:
        graph = convert_sklearn(
            model,
            initial_types=[("x", FloatTensorType([None, features]))],
            target_opset={"": 18, "ai.onnx.ml": 3},
            options={"zipmap": False},
        )
    finally:
        container_module.make_node = make_node
    data: bytes = graph.SerializeToString()
    return data


def session(model_path: str, features: int) -> Any:
    """An ONNX Runtime session of the skops model at ``model_path``: one thread each."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        convert(load(model_path), features), options, providers=["CPUExecutionProvider"]
    )
