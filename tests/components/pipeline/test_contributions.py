"""The modality-contribution pass blanks a modality the way a caller leaves an input out: an audio clip
becomes silence for the network and missing numbers for the classical model, and nothing else changes."""

import io

import numpy as np
import pandas as pd
import soundfile

from components.data.contract import load_contract
from components.data.modalities import TransformContext, codec_for
from components.evaluation.classical import ClassicalColumns
from components.pipeline.contributions import blanked

CONTRACT = """\
name: calls
source:
  path: calls.csv
id_column: id
features:
  - name: clip
    modality: audio
    sample_rate: 8000
    max_seconds: 0.5
  - name: accel
    modality: timeseries
  - name: loudness
    modality: numerical
targets:
  - name: word
    task: classification
"""


def _wav(hz: float) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, 0.3 * np.sin(2 * np.pi * hz * np.arange(4000) / 8000), 8000, format="WAV")
    return buffer.getvalue()


def test_blanked_audio_is_silence_to_the_network_and_missing_to_the_classical_model(tmp_path):
    (tmp_path / "c.yaml").write_text(CONTRACT)
    contract = load_contract(tmp_path / "c.yaml")
    rows = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "clip": [_wav(300), _wav(600), _wav(900)],
            "accel": ["[1, 2, 3]", "[4, 5]", "[6]"],
            "loudness": [1.0, 2.0, 3.0],
            "word": ["yes", "no", "yes"],
        }
    )
    blank = blanked(contract, rows, "audio")
    assert blank["clip"].isna().all() and rows["clip"].notna().all()  # a copy: the holdout keeps its clips
    pd.testing.assert_frame_equal(blank.drop(columns="clip"), rows.drop(columns="clip"))

    spec, codec = contract.feature("clip"), codec_for(contract.feature("clip"))
    assert np.abs(codec.transform(spec, {}, rows["clip"], TransformContext()).max(axis=1)).min() > 0.2
    ctx = TransformContext(row_ids=list(blank["id"]), row_errors={})
    waves = codec.transform(spec, {}, blank["clip"], ctx)
    assert waves.shape == (3, 4000) and not waves.any()  # silence, as a served row without its clip
    assert ctx.row_errors == {}  # not a bad row: the rows are still scored
    # `blanked_on_purpose` mutes the issues whose text starts with the feature's name
    assert dict(ctx.issues) == {"clip: empty audio cell (silence used)": 3}

    classical = ClassicalColumns(audio=(("clip", spec.sample_rate, spec.max_seconds),), numbers=("loudness",))
    present, missing = classical.inputs(rows).numbers, classical.inputs(blank).numbers
    assert np.isfinite(present).all() and np.isnan(missing[:, 1:]).all()  # the numbers column, then the clip's
    np.testing.assert_array_equal(missing[:, 0], [1.0, 2.0, 3.0])
