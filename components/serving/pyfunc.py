"""The MLflow pyfunc over raw DataFrame rows: loads the exported model, the fitted state and serving.json
(the one place besides `components.tracking` that imports MLflow: a pyfunc must subclass its class)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, INVALID_PARAMETER_VALUE

from components.errors import BraidError, InputError
from components.serving import ERROR_COLUMN, SERVING_PARAMS, ServingConfig, predict_frame
from components.settings import Settings

logger = logging.getLogger(__name__)


class ServingError(MlflowException, BraidError):
    """A request Braid refuses, as MLflow's scoring server answers it: the HTTP status of `error_code` and a
    body whose `message` is exactly `message`, with no stack trace.

    The server rewrites an MlflowException's message to "Failed to predict data '<every row sent>'. Error:
    ..." before answering, which would bury Braid's sentence under the request's own rows; so the message
    set here is kept. A BraidError as well, so Braid's CLI and gate treat it as one when they call the pyfunc.
    """

    def __init__(self, message: str, error_code: int = INVALID_PARAMETER_VALUE) -> None:
        self._sentence = str(message)
        super().__init__(message, error_code=error_code)

    @property
    def message(self) -> str:
        return self._sentence

    @message.setter
    def message(self, value: str) -> None:
        pass  # see the class docstring: the scoring server's rewrite is dropped


class BraidPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow pyfunc: raw DataFrame in, every target's predictions out.

    Params (a request's `params`): `image_root`, a directory under the server's image root that the
    request's image paths are relative to (default: the server's root itself, `BRAID_IMAGE_ROOT`, else
    the contract's); `on_bad_rows`, "fail" (default: a request with a row that cannot be read is refused
    with HTTP 400 naming each such row and column) or "skip" (the other rows are scored; each bad row gets
    null predictions and its reason in `__error`). Messages to the client name image paths relative to
    the server's root, never the server's own directories.
    """

    def load_context(self, context: Any) -> None:
        from components.automl.export import load_model
        from components.data.state import PreprocessState

        self.model = load_model(context.artifacts["keras_model"])
        self.state = PreprocessState.from_json(Path(context.artifacts["state"]).read_text(encoding="utf-8"))
        self.config = ServingConfig.from_json(Path(context.artifacts["serving"]).read_text(encoding="utf-8"))
        self.blend = None  # models registered with the network alone have no classical models
        if "head_models" in context.artifacts:
            from components.evaluation.blend import load_blend

            self.blend = load_blend(context.artifacts["head_models"], context.artifacts["classical"])
        root = Settings().braid_image_root  # the serving machine's images, not the training machine's
        self.image_root = str(root) if root else None

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        params = {**SERVING_PARAMS, **(params or {})}
        server_root = self.image_root or self.config.image_root
        try:
            out = predict_frame(
                self.model,
                self.state,
                self.config,
                model_input,
                request_root(server_root, params["image_root"]),
                on_bad_rows=params["on_bad_rows"] or "fail",
                blend=self.blend,
            )
        except BraidError as exc:
            logger.warning("refused a request: %s", exc)
            raise ServingError(hide_root(str(exc), server_root)) from exc
        except Exception as exc:
            # A fault of Braid's, not of the rows: the trace goes to the server's log, not to the client.
            logger.exception("could not score a request")
            raise ServingError(
                f"Braid could not score the rows: an internal error ({type(exc).__name__}); "
                "the server's log has its trace",
                error_code=INTERNAL_ERROR,
            ) from exc
        if ERROR_COLUMN in out.columns:
            hidden = [hide_root(e, server_root) if e else None for e in out[ERROR_COLUMN]]
            out[ERROR_COLUMN] = pd.Series(hidden, index=out.index, dtype=object)  # None stays None, not NaN
        return out


def request_root(server_root: str | None, requested: str | None) -> str | None:
    """The image root one request may use: the server's own, or a directory inside it.

    A client chooses among the server's images, never the server's files: a `params.image_root` that is
    absolute outside the server's root, climbs out of it with "..", or follows a link out of it is
    refused, as is any `image_root` when the server has none.

    Raises:
        InputError: the requested root is not inside the server's image root.
    """
    if not requested:
        return server_root
    if not server_root:
        raise InputError(
            "params.image_root is not accepted: the server has no image root; start it with --image-root "
            "(or BRAID_IMAGE_ROOT) and send image paths relative to it, or send images as data URIs"
        )
    base = os.path.realpath(server_root)
    root = os.path.realpath(os.path.join(base, requested))
    if root != base and not root.startswith(base + os.sep):
        raise InputError(
            f"params.image_root {requested!r} leads outside the server's image root; send a directory "
            "inside it (relative to it), or no image_root"
        )
    return root


def hide_root(message: str, server_root: str | None) -> str:
    """`message` with the server's image root written as "<image root>": clients learn no server paths."""
    if not server_root:
        return message
    for form in {os.path.realpath(server_root), os.path.normpath(os.path.abspath(server_root))}:
        message = message.replace(form, "<image root>")
    return message


def scoring_app(model: Any, max_body_mb: float | None = None, allow_urls: bool | None = None) -> Any:
    """MLflow's scoring app over a loaded pyfunc, behind Braid's guards (`components.serving.limits`).

    Args:
        model: the loaded pyfunc (`mlflow.pyfunc.load_model`).
        max_body_mb: the largest request body accepted, in MB (default: `BRAID_SERVE_MAX_BODY_MB`, 16).
        allow_urls: whether image cells given as http(s) URLs are fetched (default:
            `BRAID_SERVE_ALLOW_URLS`, off: a client could otherwise make the server request any address).

    Returns:
        An ASGI app: POST raw rows to `/invocations`, GET `/ping`.
    """
    from mlflow.pyfunc import scoring_server

    from components.serving.limits import BodyLimit, ShortErrors

    settings = Settings()
    limit = max_body_mb if max_body_mb is not None else settings.braid_serve_max_body_mb
    app = BodyLimit(ShortErrors(scoring_server.init(model)), int(limit * 2**20))
    allowed = allow_urls if allow_urls is not None else settings.braid_serve_allow_urls
    return app if allowed else _RefusingUrls(app)


class _RefusingUrls:
    """ASGI wrapper: every request's image URLs are refused (`components.data.media.refusing_urls`)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        from components.data.media import refusing_urls

        with refusing_urls():  # a context variable: it follows the request into Starlette's thread pool
            await self.app(scope, receive, send)


def create_app() -> Any:
    """The app `braid serve` runs (`uvicorn --factory`, once per worker): the model of `BRAID_SERVE_MODEL_URI`."""
    import os

    from mlflow.pyfunc import scoring_server

    return scoring_app(scoring_server.load_model_with_mlflow_config(os.environ["BRAID_SERVE_MODEL_URI"]))
