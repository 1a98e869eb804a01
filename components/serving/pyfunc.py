"""The MLflow pyfunc over raw DataFrame rows: loads the exported model, the fitted state and serving.json
(the one place besides `components.tracking` that imports MLflow: a pyfunc must subclass its class)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd

from components.serving import ServingConfig, predict_frame
from components.settings import Settings


class BraidPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow pyfunc: raw DataFrame in, every target's predictions out."""

    def load_context(self, context: Any) -> None:
        from components.automl.export import load_model
        from components.data.preprocess import PreprocessState

        self.model = load_model(context.artifacts["keras_model"])
        self.state = PreprocessState.from_json(Path(context.artifacts["state"]).read_text(encoding="utf-8"))
        self.config = ServingConfig.from_json(Path(context.artifacts["serving"]).read_text(encoding="utf-8"))
        self.blend = None  # models registered with the network alone have no classical models
        if "head_models" in context.artifacts:
            from components.serving.blend import load_blend

            self.blend = load_blend(context.artifacts["head_models"], context.artifacts["classical"])
        root = Settings().braid_image_root  # the serving machine's images, not the training machine's
        self.image_root = str(root) if root else None

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        image_root = (params or {}).get("image_root") or self.image_root
        return predict_frame(self.model, self.state, self.config, model_input, image_root, blend=self.blend)
