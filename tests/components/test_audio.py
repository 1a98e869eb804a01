"""Audio: decoding WAV and FLAC, one rate and length, the usability checks, the proposed contract
options, log-mel frames and the classical model's summary numbers."""

import base64
import io
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import soundfile
import tensorflow as tf

from components.data.contract import feature_spec, load_contract
from components.data.infer import infer_contract
from components.data.modalities import TransformContext, codec_for
from components.data.profile import profile_frame
from components.data.validation import validate
from components.errors import ContractError, DataError, DataValidationError
from components.evaluation.drift import compare
from components.features.audio import (
    AudioProblem,
    Clip,
    check_clip,
    clip_profile,
    decode_audio,
    frames_of,
    log_mel,
    mel_filterbank,
    proposed_rate,
    proposed_seconds,
    summary_features,
    waveform,
)
from tests.speech import speak


def _tone(hz: float, seconds: float, rate: int, channels: int = 1, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.repeat((level * np.sin(2 * np.pi * hz * t))[:, None], channels, axis=1).astype("float32")


def _encoded(samples: np.ndarray, rate: int, format: str) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=format)
    return buffer.getvalue()


def test_espeak_speech_decodes_from_a_file_and_from_its_bytes(tmp_path):
    path = speak(tmp_path / "three.wav", "three")
    from_file, from_bytes = decode_audio(str(path)), decode_audio(path.read_bytes())
    assert from_file.sample_rate == 22050 and from_file.channels == 1
    assert 0.3 < from_file.seconds < 2.0
    np.testing.assert_array_equal(from_file.samples, from_bytes.samples)
    check_clip(from_file)  # speech is not silence


def test_flac_stereo_is_mixed_to_mono_resampled_and_padded():
    left_right = np.concatenate([_tone(440, 0.5, 44100), np.zeros((22050, 1), "float32")], axis=1)
    clip = decode_audio(_encoded(left_right, 44100, "FLAC"))
    assert (clip.sample_rate, clip.channels) == (44100, 2)
    wave = waveform(clip, 16000, 16000)
    assert wave.shape == (16000,) and wave.dtype == np.float32
    assert np.abs(wave[:7000]).max() == pytest.approx(0.25, abs=0.01)  # the mean of the tone and silence
    assert not wave[8100:].any()  # half a second of sound, then padding


def test_a_long_clip_is_cropped_to_its_first_samples():
    clip = Clip(_tone(100, 3.0, 8000), 8000)
    np.testing.assert_allclose(waveform(clip, 8000, 4000), clip.samples[:4000, 0])


@pytest.mark.parametrize("data", [b"not audio at all", b"RIFF\x10\x00\x00\x00WAVEfmt ", b""])
def test_bytes_that_are_not_audio_say_so(data):
    with pytest.raises(AudioProblem, match="cannot decode as audio") as caught:
        decode_audio(data)
    assert caught.value.check == "audio_decodes"


@pytest.mark.parametrize(
    "clip, bounds, check",
    [
        (Clip(np.zeros((8000, 1), "float32"), 8000), {}, "audio_silent"),
        (Clip(_tone(300, 1.0, 8000, level=1e-4), 8000), {}, "audio_silent"),
        (Clip(_tone(300, 1.0, 8000), 8000), {"expect_rate": 16000}, "audio_sample_rate"),
        (Clip(_tone(300, 1.0, 8000, channels=2), 8000), {"max_channels": 1}, "audio_channels"),
        (Clip(_tone(300, 2.0, 8000), 8000), {"max_seconds": 1.5}, "audio_duration"),
    ],
)
def test_an_unusable_clip_names_the_broken_rule(clip, bounds, check):
    with pytest.raises(AudioProblem) as caught:
        check_clip(clip, **bounds)
    assert caught.value.check == check


def test_the_proposed_options_follow_the_data():
    assert proposed_seconds([0.8] * 19 + [12.0]) == 0.8  # one long clip does not pad the others
    assert proposed_seconds([1.23, 1.31]) == pytest.approx(1.4)
    assert proposed_seconds([]) == 0.5 and proposed_seconds([100.0]) == 30.0
    assert proposed_rate([8000, 8000, 22050]) == 8000
    assert proposed_rate([44100, 48000, 44100]) == 16000


def test_log_mel_puts_a_tone_in_its_band():
    rate = 16000
    waves = np.stack([_tone(300, 1.0, rate)[:, 0], _tone(3000, 1.0, rate)[:, 0]])
    bands = log_mel(waves, rate)
    assert bands.shape == (2, frames_of(rate, rate), 64) and bands.shape[1] == 98
    assert bands[0].mean(axis=0).argmax() < bands[1].mean(axis=0).argmax()
    filters = mel_filterbank(rate, 512)
    assert filters.shape == (257, 64) and (filters.sum(axis=0) > 0).all()  # no empty band


def test_summary_numbers_and_the_profile_tell_a_low_tone_from_a_high_one():
    rate = 16000
    low, high = _tone(300, 1.0, rate), _tone(3000, 1.0, rate)
    numbers = summary_features(np.stack([low[:, 0], high[:, 0]]), rate)
    assert numbers.shape == (2, 28) and np.isfinite(numbers).all()
    assert numbers[0, -1] == pytest.approx(300, rel=0.05) and numbers[1, -1] == pytest.approx(3000, rel=0.05)
    profile = clip_profile(Clip(low, rate))
    assert profile["seconds"] == 1.0 and profile["rms_dbfs"] == pytest.approx(-9.0, abs=0.1)
    then_silence = Clip(np.concatenate([low, np.zeros_like(low)]), rate)
    assert clip_profile(then_silence)["rms_dbfs"] == pytest.approx(-12.0, abs=0.1)
    cropped = clip_profile(then_silence, max_seconds=1.0)  # the level of what the model reads
    assert cropped["seconds"] == 2.0 and cropped["rms_dbfs"] == pytest.approx(-9.0, abs=0.1)


def test_the_codec_stores_what_the_model_reads_from_paths_bytes_and_data_uris(tmp_path):
    spec = feature_spec(name="clip", modality="audio", sample_rate=8000, max_seconds=0.5)
    codec = codec_for(spec)
    flac = _encoded(_tone(440, 1.0, 22050), 22050, "FLAC")
    speak(tmp_path / "one.wav", "one")
    data_uri = "data:audio/wav;base64," + base64.b64encode((tmp_path / "one.wav").read_bytes()).decode()
    values = pd.Series(["one.wav", flac, data_uri, None], dtype=object)
    ctx = TransformContext(image_root=tmp_path, row_ids=list("abcd"))
    expected = codec.transform(spec, {}, values, ctx)
    assert expected.shape == (4, 4000) and expected.dtype == np.float32
    np.testing.assert_array_equal(expected[0], expected[2])  # the same file, by path and as a data URI
    assert np.abs(expected[1]).max() == pytest.approx(0.5, abs=0.01) and not expected[3].any()
    assert ctx.issues["clip: empty audio cell (silence used)"] == 1
    stored = codec.encode(spec, {}, values, ctx)
    examples = [
        tf.train.Example(features=tf.train.Features(feature={"clip": codec.tf_feature(row)})).SerializeToString()
        for row in stored
    ]
    parsed = tf.io.parse_example(examples, {"clip": codec.parse_spec(spec, {})})
    np.testing.assert_array_equal(codec.decode_batch(spec, {}, parsed["clip"]).numpy(), expected)
    np.testing.assert_array_equal(codec.decode(spec, {}, parsed["clip"][1]).numpy(), expected[1])


def test_the_codec_names_the_row_of_bytes_that_are_not_audio(tmp_path):
    spec = feature_spec(name="clip", modality="audio")
    ctx = TransformContext(image_root=tmp_path, row_ids=["good", "bad", "gone"])
    values = pd.Series([_encoded(_tone(440, 0.2, 16000), 16000, "WAV"), b"\x00garbage", "missing.wav"])
    with pytest.raises(DataError, match=r"row 'bad', column 'clip': audio bytes: cannot decode as audio"):
        codec_for(spec).transform(spec, {}, values, ctx)
    collected = TransformContext(image_root=tmp_path, row_errors={})
    codec_for(spec).transform(spec, {}, values, collected)
    assert sorted(collected.row_errors) == [1, 2] and "names no file" in collected.row_errors[2].problem


def _contract(tmp_path, options: str = "", extra: str = "") -> object:
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: words\nsource:\n  path: data.csv\nid_column: id\nfeatures:\n  - name: clip\n"
        f"    modality: audio\n    {options}\ntargets:\n  - name: word\n    task: classification\n{extra}"
    )
    return load_contract(path)


def test_a_contract_checks_the_audio_options(tmp_path):
    with pytest.raises(ContractError, match=r"line 8, features\[0\]\.sample_rate"):
        _contract(tmp_path, "sample_rate: 10")
    feature = _contract(tmp_path, "max_seconds: 1.5\n    sample_rate: 8000").features[0]
    assert (feature.sample_rate, feature.max_seconds, feature.length) == (8000, 1.5, 12000)


def test_validation_quarantines_undecodable_silent_and_out_of_bounds_clips_by_row_id(tmp_path):
    speak(tmp_path / "yes.wav", "yes")
    soundfile.write(tmp_path / "quiet.wav", np.zeros(8000, "float32"), 8000)
    soundfile.write(tmp_path / "stereo.wav", _tone(300, 0.5, 22050, channels=2), 22050)
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    pd.DataFrame(
        {
            "id": ["r0", "r1", "r2", "r3", "r4"],
            "clip": ["yes.wav", "quiet.wav", "stereo.wav", "broken.wav", "../yes.wav"],
            "word": ["yes", "no", "yes", "no", "yes"],
        }
    ).to_csv(tmp_path / "data.csv", index=False)
    contract = _contract(tmp_path, "max_channels: 1", "on_bad_rows: quarantine\n")
    report = validate(contract, tmp_path / "out")
    assert report.success and report.n_quarantined == 4
    quarantine = pd.read_parquet(report.quarantine_path).set_index("id")
    assert dict(quarantine["check"]) == {
        "r1": "audio_silent",
        "r2": "audio_channels",
        "r3": "audio_decodes",
        "r4": "audio_path_inside_root",
    }
    assert "broken.wav" in quarantine.loc["r3", "reason"]
    with pytest.raises(DataValidationError, match=r"audio_silent failed for 1 row\(s\).*\(ids r1\)"):
        validate(_contract(tmp_path, "max_channels: 1"), tmp_path / "out2")


def test_infer_proposes_audio_with_its_rate_and_duration(tmp_path):
    frame = pd.DataFrame({"id": range(6), "word": ["yes", "no"] * 3})
    clips = []
    for i, word in enumerate(frame["word"]):
        clips.append(speak(tmp_path / f"{i}.wav", word, speed=120 + 20 * i).name)
    frame.assign(clip=clips).to_csv(tmp_path / "paths.csv", index=False)
    frame.assign(clip=[(tmp_path / c).read_bytes() for c in clips]).to_parquet(tmp_path / "bytes.parquet")
    seconds = [soundfile.info(tmp_path / c).duration for c in clips]
    for name in ("paths.csv", "bytes.parquet"):
        text = infer_contract(tmp_path / name, targets=["word"], contract_dir=tmp_path)
        assert "modality: audio" in text and "sample_rate: 16000" in text, text
        (tmp_path / "c.yaml").write_text(text)
        feature = load_contract(tmp_path / "c.yaml").feature("clip")
        assert max(seconds) - 0.1 < feature.max_seconds <= max(seconds) + 0.1


def test_drift_sees_louder_longer_and_brighter_clips():
    contract = SimpleNamespace(
        name="calls", features=[feature_spec(name="clip", modality="audio", max_seconds=2.0)], targets=[]
    )

    def rows(seed: int, seconds=(0.3, 0.8), gain_db: float = 0.0, hz=(200, 800)) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        cells = []
        for _ in range(200):
            level = 10 ** ((rng.uniform(-30, -15) + gain_db) / 20)
            cells.append(_encoded(_tone(rng.uniform(*hz), rng.uniform(*seconds), 8000, level=level), 8000, "WAV"))
        return pd.DataFrame({"clip": cells})

    reference = profile_frame(contract, rows(0))
    column = reference["columns"]["clip"]
    assert (column["sampled"], column["unreadable"], column["seconds"]["count"]) == (200, 0, 200)
    assert -40 < column["rms_dbfs"]["mean"] < -15 and 200 < column["centroid_hz"]["mean"] < 800

    def drifted(frame: pd.DataFrame) -> set[str]:
        return {c.statistic for c in compare(reference, profile_frame(contract, frame, reference=reference)).drifted}

    assert drifted(rows(1)) == set()
    assert drifted(rows(1, gain_db=12)) == {"rms_dbfs_psi"}
    assert drifted(rows(1, seconds=(1.0, 1.6))) == {"seconds_psi"}
    assert drifted(rows(1, hz=(1500, 3000))) == {"centroid_hz_psi"}
    broken = rows(1).assign(clip=lambda f: [b"not audio"] * 40 + list(f["clip"][40:]))
    assert drifted(broken) == {"unreadable_rate_increase"}
