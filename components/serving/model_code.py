"""MLflow models-from-code entry point of the served model: logged as the pyfunc's `python_model`,
so loading a Braid model never unpickles anything."""

import mlflow

from components.serving.pyfunc import BraidPyfunc

mlflow.models.set_model(BraidPyfunc())
