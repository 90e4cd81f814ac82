"""In the MLflow env: turn the pickled pipeline into an MLflow model directory.

Usage: python mlflow_save.py PICKLE OUT_DIR FEATURE [FEATURE ...]
"""

from __future__ import annotations

import pickle
import shutil
import sys
from pathlib import Path

import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow.models import infer_signature


def main() -> None:
    source, out, features = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    model = pickle.loads(source.read_bytes())
    example = pd.DataFrame(np.zeros((2, len(features))), columns=features)
    signature = infer_signature(example, model.predict(example.to_numpy()))
    if out.exists():
        shutil.rmtree(out)
    mlflow.sklearn.save_model(model, str(out), signature=signature, serialization_format="pickle")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
