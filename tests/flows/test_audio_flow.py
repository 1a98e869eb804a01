"""An audio contract end to end: spoken words as WAV paths in a CSV train through `braid run`'s flow
(validation quarantines a silent clip), the classical MFCC model is scored beside the network, and the
served model scores raw rows whose clips are data URIs, as a REST client sends them."""

import base64

import mlflow
import numpy as np
import pytest
import soundfile

from components.layout import Layout
from flows.training import training_pipeline
from tests.speech import spoken_words

pytestmark = pytest.mark.e2e  # a whole training_pipeline run: minutes

CONTRACT = """\
name: words
source:
  path: {path}
  image_root: {media}
id_column: id
features:
  - name: clip
    modality: audio
    sample_rate: 8000
    max_seconds: 1.0
targets:
  - name: word
    task: classification
on_bad_rows: quarantine
training: {{max_trials: 1, epochs: 4, refit: false, ensemble_size: 1, require_beating_trivial: false}}
"""


def test_an_audio_contract_trains_and_serves_data_uris(module_store):
    root, env = module_store
    home = root / "home"
    env.setenv("BRAID_HOME", str(home))
    frame = spoken_words(root / "words", ("yes", "no"), per_word=12)
    soundfile.write(root / "words" / "quiet.wav", np.zeros(4000, "float32"), 8000)
    frame.loc[len(frame)] = {"id": "quiet", "clip": "quiet.wav", "word": "no"}
    frame.to_csv(root / "words" / "words.csv", index=False)
    path = root / "words.yaml"
    path.write_text(CONTRACT.format(path=root / "words" / "words.csv", media=root / "words"))

    result = training_pipeline(contract=str(path), home=str(home))

    assert result["prepared"]["quarantined"] == 1
    assert np.isfinite(result["trained"]["leaderboard"][0]["val/word_loss"])
    metrics = result["evaluated"]["metrics"]
    assert "test/word/accuracy" in metrics and "classical/word/accuracy" in str(metrics), sorted(metrics)
    mlflow.set_tracking_uri(Layout(home).mlflow_uri)
    model = mlflow.pyfunc.load_model(result["decision"]["model_uri"])
    rows = frame.head(4).drop(columns=["word"])
    rows["clip"] = [
        "data:audio/wav;base64," + base64.b64encode((root / "words" / clip).read_bytes()).decode()
        for clip in rows["clip"]
    ]
    out = model.predict(rows)
    assert len(out) == 4 and set(out["word"]) <= {"yes", "no"}
    assert np.allclose([sum(p) for p in out["word__proba"]], 1.0, atol=1e-4)
