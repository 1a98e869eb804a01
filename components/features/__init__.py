"""One definition per modality and per target task, for the library and the pipeline alike.

`components.automl` (what `fit` learns from arrays) and `components.data` (what preprocessing learns
from a contract's columns) both need the same facts about a kind of column: how its statistics are
fitted, how its values are read, how a model's outputs are decided into answers. Each module here owns
those facts for one modality (`numerical`, `categorical`, `text`, `image`, `datetime`) or one target
task (`classification`, `multilabel`, `regression`), with numpy and pandas only, and `registry.py`
holds the one registry style: the pipeline's codecs register into `MODALITIES` and `TASKS` there.

This package imports neither `automl`, `data` nor `pipeline` (tests/test_architecture.py), and no
TensorFlow: reading a contract stays light.
"""
