#!/usr/bin/env bash
# Builds the peers' own virtualenvs under benchmarks/.work/ (git-ignored). Each peer pins what it
# needs and would fight Braid's TensorFlow/Keras in one environment: AutoKeras 3.0.0 breaks on
# Keras newer than 3.8. Usage: benchmarks/peers/make_venvs.sh [python3.11]
set -euo pipefail
PY=${1:-python3}
WORK="$(cd "$(dirname "$0")/.." && pwd)/.work"
mkdir -p "$WORK"
if [ ! -x "$WORK/venv-autokeras/bin/python" ]; then
  "$PY" -m venv "$WORK/venv-autokeras"
  "$WORK/venv-autokeras/bin/pip" install -q "autokeras==3.0.0" "tensorflow-cpu==2.18.*" "keras==3.8.*" pandas pyarrow
fi
if [ ! -x "$WORK/venv-autogluon/bin/python" ]; then
  "$PY" -m venv "$WORK/venv-autogluon"
  "$WORK/venv-autogluon/bin/pip" install -q "autogluon.tabular[lightgbm,catboost,xgboost]==1.6.*" pyarrow
fi
"$WORK/venv-autokeras/bin/python" -c "import autokeras, keras, tensorflow as tf; print('autokeras', autokeras.__version__, 'keras', keras.__version__, 'tf', tf.__version__)"
"$WORK/venv-autogluon/bin/python" -c "import autogluon.tabular as t; print('autogluon.tabular', t.__version__)"
