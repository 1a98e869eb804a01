"""The five-modality demo generator: deterministic, readable by its own contract, drafted alike by `braid
contract infer`, and each head's signal in more than one modality."""

from pathlib import Path

import numpy as np
import pandas as pd
import soundfile
import yaml
from typer.testing import CliRunner

from components.data.contract import load_contract
from components.data.demo_multimodal import write_multimodal_demo_data
from components.data.infer import infer_contract
from components.features.timeseries import parse_series
from components.layout import Layout

ROOT = Path(__file__).resolve().parents[3]
CONTRACT = ROOT / "data_contracts" / "demo_multimodal.yaml"


def test_same_arguments_give_the_same_files(tmp_path: Path):
    a = write_multimodal_demo_data(tmp_path / "a", n_rows=12, seed=3)
    b = write_multimodal_demo_data(tmp_path / "b", n_rows=12, seed=3)
    c = write_multimodal_demo_data(tmp_path / "c", n_rows=12, seed=4)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    for name in ("unit00007.png", "unit00007.wav"):
        assert (a.parent / "media" / name).read_bytes() == (b.parent / "media" / name).read_bytes()


def test_clips_and_series_are_what_the_contract_reads(tmp_path: Path):
    frame = pd.read_csv(write_multimodal_demo_data(tmp_path, n_rows=40))
    info = soundfile.info(tmp_path / "media" / frame["sound"][0])
    assert (info.samplerate, info.channels, info.frames) == (8000, 1, 4000)
    series = [parse_series(cell) for cell in frame["vibration"]]
    assert all(s.shape[1] == 3 and 16 <= len(s) <= 48 for s in series)
    assert any(np.isnan(s).any() for s in series)  # a few dropped readings, as real loggers have
    assert set(frame["fault"]) == {"bearing", "failing", "healthy", "imbalance"}
    assert set(frame["flags"].dropna().str.split("|").explode()) == {"round", "urgent", "heavy", "loud"}


def test_infer_drafts_the_bundled_contracts_features_and_heads(tmp_path: Path):
    csv_path = write_multimodal_demo_data(tmp_path, n_rows=60)
    draft = yaml.safe_load(
        infer_contract(
            csv_path, targets=["fault", "wear", "flags"], image_root=tmp_path / "media", contract_dir=tmp_path
        )
    )
    bundled = yaml.safe_load(CONTRACT.read_text())
    assert {f["name"]: f["modality"] for f in draft["features"]} == {
        f["name"]: f["modality"] for f in bundled["features"]
    }
    assert {t["name"]: t["task"] for t in draft["targets"]} == {t["name"]: t["task"] for t in bundled["targets"]}
    drafted = {f["name"]: f for f in draft["features"]}
    assert (drafted["sound"]["sample_rate"], drafted["sound"]["max_seconds"]) == (8000, 0.5)
    assert drafted["vibration"]["channels"] == 3 and 40 <= drafted["vibration"]["max_length"] <= 48


def test_fault_needs_both_the_sound_and_the_vibration(tmp_path: Path):
    frame = pd.read_csv(write_multimodal_demo_data(tmp_path, n_rows=200))
    peaks = []
    for name in frame["sound"]:
        wave, rate = soundfile.read(tmp_path / "media" / name)
        peaks.append(np.fft.rfftfreq(wave.size, 1 / rate)[np.abs(np.fft.rfft(wave)).argmax()])
    whine = np.array(peaks) > 700
    # The pitch alone splits the four faults into two pairs; the vibration picks within the pair.
    assert set(frame.loc[whine, "fault"].value_counts().index[:2]) == {"bearing", "failing"}
    assert set(frame.loc[~whine, "fault"].value_counts().index[:2]) == {"healthy", "imbalance"}
    amplitude = [np.nanstd(parse_series(cell)[:, 0]) for cell in frame["vibration"]]
    assert np.corrcoef(amplitude, frame["wear"])[0, 1] > 0.3


def test_the_contract_points_at_the_layout_directory_and_the_cli_writes_there(tmp_path: Path):
    from flows.cli import app

    contract = load_contract(CONTRACT)
    folder = Layout(ROOT / ".braid").multimodal_demo_data
    assert contract.source.path == folder / "machines.csv" and contract.source.image_root == folder / "media"
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo-data", "--contract", "multimodal", "--rows", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out / "machines.csv")) == 5 and len(list((out / "media").glob("*.wav"))) == 5
    refused = CliRunner().invoke(app, ["demo-data", "--contract", "nope"])
    assert refused.exit_code == 2 and "nope" in refused.output
