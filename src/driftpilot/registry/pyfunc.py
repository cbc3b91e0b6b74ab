"""MLflow's ``python_function`` loader for the models driftpilot logs.

A model driftpilot logs keeps its native flavor (xgboost or sklearn, which driftpilot itself
loads) and gets a ``python_function`` flavor pointing here, so ``mlflow models serve`` and
``mlflow.pyfunc.load_model`` of a registered version take the same raw feature rows driftpilot
logs (strings for categorical features, booleans, numbers) and answer what driftpilot scores:
the positive class's probability for a binary model, the value for a regression model. The
feature schema and the task sit beside the model in ``driftpilot.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["SPEC_FILE", "DriftpilotPyfunc"]

SPEC_FILE = "driftpilot.json"


class DriftpilotPyfunc:
    """Scores raw feature rows with driftpilot's typing (:func:`model_frame`)."""

    def __init__(
        self, model: Any, features: dict[str, Any], task: str, levels: dict[str, list[str]]
    ) -> None:
        self.model, self.features, self.task, self.levels = model, features, task, levels

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import pandas as pd

        from driftpilot.retrain.frame import model_frame
        from driftpilot.retrain.trainers import score_model

        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        typed = model_frame(frame, self.features, self.levels or None)
        return score_model(self.model, typed, self.task, who="model")


def _load_pyfunc(path: str) -> DriftpilotPyfunc:
    from driftpilot.registry.client import load_model_dir
    from driftpilot.schema import FeatureType

    folder = Path(path)
    spec = json.loads((folder / SPEC_FILE).read_text(encoding="utf-8"))
    model, _ = load_model_dir(folder)
    features = {name: FeatureType(kind) for name, kind in spec["features"].items()}
    return DriftpilotPyfunc(model, features, spec["task"], spec.get("levels") or {})
