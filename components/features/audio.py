"""Audio clips: decoding a cell's bytes, one sample rate and length, log-mel frames, summary numbers.

A clip is WAV, FLAC or OGG bytes, decoded by libsndfile (`soundfile`: no ffmpeg). Where the bytes come
from (a path under the contract's media root, a Parquet binary cell, a `data:audio/...;base64,` URI, a
URL) is `components.data.images.locate`'s business, as for images; this module starts at the bytes.

What a model reads is float32 `[length]`: the clip mixed to mono, resampled to the contract's
`sample_rate` (scipy's polyphase `resample_poly`), cropped to its first `max_seconds` or padded with
silence. The library's audio block computes log-mel frames from that inside the model
(`components.automl.blocks.audio`), with this module's mel filterbank, so an exported model takes the
raw waveform; `log_mel` is the same in numpy (the block's statistics, the classical model's MFCCs).
"""

from __future__ import annotations

import io
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

DEFAULT_SAMPLE_RATE = 16_000
MAX_SECONDS_CAP = 30.0  # a proposed max_seconds beyond this costs more memory than a draft should pick
MIN_SECONDS = 0.5
SILENT_DBFS = -60.0  # a clip whose RMS level is below this is silence (or a recording that failed)
FRAME_SECONDS, HOP_SECONDS = 0.025, 0.010  # the usual speech analysis window and step
N_MELS = 64
N_MFCC = 13
LOG_FLOOR = 1e-6  # log(power + floor): silence is a finite number, not -inf


class AudioProblem(ValueError):
    """A clip cannot be used; `check` names the rule it broke (`audio_decodes`, ...), the message says
    how (the caller names the row and column)."""

    def __init__(self, check: str, reason: str):
        super().__init__(reason)
        self.check, self.reason = check, reason


@dataclass(frozen=True)
class Clip:
    """Decoded audio: float32 samples `[frames, channels]` in [-1, 1] at `sample_rate` Hz."""

    samples: np.ndarray
    sample_rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def channels(self) -> int:
        return self.samples.shape[1]


def decode_audio(source: bytes | str) -> Clip:
    """A clip's bytes (or the path of its file) → `Clip`.

    Raises:
        AudioProblem: libsndfile cannot read it (not audio, truncated, a format it lacks), or it has
            no samples.
    """
    import soundfile

    try:
        samples, rate = soundfile.read(
            io.BytesIO(source) if isinstance(source, bytes) else source, dtype="float32", always_2d=True
        )
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError, EOFError) as exc:
        raise AudioProblem("audio_decodes", f"cannot decode as audio (WAV, FLAC or OGG): {exc}") from None
    if not len(samples):
        raise AudioProblem("audio_decodes", "holds no samples (a clip of 0 seconds)")
    return Clip(samples, int(rate))


def probe(source: bytes | str) -> tuple[int, float]:
    """(sample rate, seconds) of a clip from its header alone.

    Raises:
        AudioProblem: libsndfile cannot read the header.
    """
    import soundfile

    try:
        info = soundfile.info(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError, EOFError) as exc:
        raise AudioProblem("audio_decodes", f"cannot decode as audio (WAV, FLAC or OGG): {exc}") from None
    return int(info.samplerate), float(info.duration)


def looks_like_audio(data: bytes) -> bool:
    """Whether bytes start like a WAV, FLAC or OGG file (how `braid contract infer` tells them from images)."""
    return data[:4] in (b"RIFF", b"fLaC", b"OggS", b"RF64") and (data[:4] != b"RIFF" or data[8:12] == b"WAVE")


def clip_source(cell) -> bytes | str:
    """A clip cell's bytes (bytes, a `{"bytes": ...}` mapping, a base64 data URI) or its file's path, as
    `decode_audio` takes them; for the library and the classical model (the pipeline's codec reads cells
    through `components.data.images.locate`, which also keeps paths inside the media root).

    Raises:
        AudioProblem: a data URI that does not decode, or a cell of another type.
    """
    import base64
    import binascii

    if isinstance(cell, dict) and cell.get("bytes") is not None:
        cell = cell["bytes"]
    if isinstance(cell, (bytes, bytearray, memoryview)):
        return bytes(cell)
    if isinstance(cell, str) and cell.startswith("data:"):
        try:
            return base64.b64decode(cell.partition(",")[2], validate=True)
        except binascii.Error:
            raise AudioProblem("audio_decodes", "is a data URI whose base64 payload does not decode") from None
    if isinstance(cell, str):
        return cell
    raise AudioProblem("audio_decodes", f"is a {type(cell).__name__}; give a path, bytes or a data URI")


def waveform(clip: Clip, sample_rate: int, length: int) -> np.ndarray:
    """A clip as the model reads it: float32 `[length]`, mono, at `sample_rate`, cropped or padded with
    zeros (silence) at the end."""
    from scipy.signal import resample_poly

    mono = clip.samples.mean(axis=1, dtype="float64")
    if clip.sample_rate != sample_rate:
        step = math.gcd(clip.sample_rate, sample_rate)
        # only what `length` keeps is resampled: a long clip costs no more than a short one
        needed = min(len(mono), math.ceil(length * clip.sample_rate / sample_rate) + 64)
        mono = resample_poly(mono[:needed], sample_rate // step, clip.sample_rate // step)
    out = np.zeros(length, dtype="float32")
    kept = mono[:length]
    out[: len(kept)] = np.clip(kept, -1.0, 1.0)
    return out


def quantized(wave: np.ndarray) -> np.ndarray:
    """int16 samples of a [-1, 1] waveform: what the shards store (half the bytes of float32)."""
    return np.round(np.clip(wave, -1.0, 1.0) * 32767.0).astype("<i2")


def dequantized(samples: np.ndarray) -> np.ndarray:
    return (samples.astype("float32") / 32767.0).astype("float32")


def rms_dbfs(samples: np.ndarray) -> float:
    """The RMS level in dB below full scale (-inf for all zeros)."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype="float64")))) if samples.size else 0.0
    return 20.0 * math.log10(rms) if rms > 0 else float("-inf")


def check_clip(clip: Clip, expect_rate: int | None = None, max_channels: int | None = None,
               max_seconds: float | None = None) -> None:  # fmt: skip
    """Whether a decoded clip is usable: not silent, and within the contract's bounds.

    Args:
        expect_rate: the only sample rate allowed (None: any; it is resampled).
        max_channels: channels allowed at most (None: any; they are mixed to mono).
        max_seconds: the longest clip allowed (None: any; it is cropped).

    Raises:
        AudioProblem: which bound it breaks.
    """
    if expect_rate is not None and clip.sample_rate != expect_rate:
        raise AudioProblem(
            "audio_sample_rate", f"is sampled at {clip.sample_rate} Hz where {expect_rate} Hz is expected"
        )
    if max_channels is not None and clip.channels > max_channels:
        raise AudioProblem("audio_channels", f"has {clip.channels} channels, more than {max_channels}")
    if max_seconds is not None and clip.seconds > max_seconds:
        raise AudioProblem("audio_duration", f"lasts {clip.seconds:.2f} s, longer than {max_seconds:g} s")
    level = rms_dbfs(clip.samples)
    if level < SILENT_DBFS:
        shown = "all zeros" if level == float("-inf") else f"{level:.0f} dBFS"
        raise AudioProblem("audio_silent", f"is silent ({shown}, below {SILENT_DBFS:g} dBFS)")


def proposed_seconds(seconds: list[float], cap: float = MAX_SECONDS_CAP) -> float:
    """A `max_seconds` for clips of these durations: the 95th percentile rounded up to a tenth of a
    second, within [MIN_SECONDS, cap], so a few long clips do not pad every other one."""
    if not seconds:
        return MIN_SECONDS
    high = float(np.quantile(seconds, 0.95, method="inverted_cdf"))
    return float(np.clip(math.ceil(high * 10 - 1e-9) / 10, MIN_SECONDS, cap))


def proposed_rate(rates: list[int]) -> int:
    """A `sample_rate` for clips at these rates: the most common one, at most DEFAULT_SAMPLE_RATE (speech
    and most sounds a classifier tells apart lie below 8 kHz)."""
    if not rates:
        return DEFAULT_SAMPLE_RATE
    return min(Counter(rates).most_common(1)[0][0], DEFAULT_SAMPLE_RATE)


def frame_sizes(sample_rate: int) -> tuple[int, int, int]:
    """(frame length, hop, FFT length) in samples for `sample_rate`: 25 ms windows every 10 ms."""
    frame = max(16, round(FRAME_SECONDS * sample_rate))
    return frame, max(1, round(HOP_SECONDS * sample_rate)), 1 << (frame - 1).bit_length()


def frames_of(length: int, sample_rate: int) -> int:
    """How many frames a waveform of `length` samples gives (no padding at the end, as tf.signal.frame)."""
    frame, hop, _ = frame_sizes(sample_rate)
    return max(0, 1 + (length - frame) // hop) if length >= frame else 0


def mel_filterbank(sample_rate: int, fft_length: int, n_mels: int = N_MELS) -> np.ndarray:
    """float32 `[fft_length // 2 + 1, n_mels]`: triangular filters evenly spaced on the (HTK) mel scale
    from 0 Hz to the Nyquist frequency; power spectrum @ filterbank = mel band energies."""

    def mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    bins = np.linspace(0.0, sample_rate / 2, fft_length // 2 + 1)
    edges = hz(np.linspace(mel(0.0), mel(sample_rate / 2), n_mels + 2))
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins[:, None] - lower) / np.maximum(center - lower, 1e-9)
    falling = (upper - bins[:, None]) / np.maximum(upper - center, 1e-9)
    return np.maximum(0.0, np.minimum(rising, falling)).astype("float32")


def log_mel(waves: np.ndarray, sample_rate: int, n_mels: int = N_MELS) -> np.ndarray:
    """Waveforms `[N, length]` → float32 log mel energies `[N, frames, n_mels]`: Hann windows (periodic)
    of `frame_sizes`, |rFFT|², the mel filterbank, log(· + 1e-6). The audio block's `LogMel` layer
    computes the same with tf.signal inside the model."""
    frame, hop, fft_length = frame_sizes(sample_rate)
    waves = np.asarray(waves, dtype="float32")
    count = frames_of(waves.shape[1], sample_rate)
    if count == 0:
        return np.zeros((len(waves), 0, n_mels), dtype="float32")
    index = np.arange(frame)[None, :] + hop * np.arange(count)[:, None]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame) / frame)).astype("float32")
    power = np.abs(np.fft.rfft(waves[:, index] * window, n=fft_length)) ** 2
    return np.log(power @ mel_filterbank(sample_rate, fft_length, n_mels) + LOG_FLOOR).astype("float32")


def mel_stats(waves: np.ndarray, sample_rate: int, n_mels: int = N_MELS) -> dict:
    """Per mel band mean and std of the log mel energies of training waveforms `[N, length]`: what the
    audio block standardises with."""
    bands = log_mel(waves, sample_rate, n_mels).reshape(-1, n_mels).astype("float64")
    if not len(bands):
        return {"mean": [0.0] * n_mels, "std": [1.0] * n_mels}
    return {"mean": bands.mean(axis=0).tolist(), "std": np.maximum(bands.std(axis=0), 1e-3).tolist()}


def summary_features(waves: np.ndarray, sample_rate: int) -> np.ndarray:
    """What a classical model reads from waveforms `[N, length]`: float64 `[N, 2 * N_MFCC + 2]`, the mean
    and std over frames of each MFCC (the DCT of the log mel energies), then the RMS level (dBFS,
    floored at -100) and the spectral centroid (Hz)."""
    from scipy.fft import dct

    mfcc = dct(log_mel(waves, sample_rate).astype("float64"), type=2, norm="ortho", axis=-1)[..., :N_MFCC]
    if not mfcc.shape[1]:
        mfcc = np.zeros((len(waves), 1, N_MFCC))
    level = [[max(rms_dbfs(w), -100.0), spectral_centroid(w, sample_rate)] for w in np.asarray(waves)]
    return np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1), np.asarray(level).reshape(-1, 2)], axis=1)


def cell_summaries(cells, sample_rate: int, max_seconds: float) -> np.ndarray:
    """`summary_features` of a column's clip cells (paths, bytes, data URIs) at `sample_rate`, cropped
    or padded to `max_seconds`; NaN for a cell that is missing or cannot be read (the network's transform
    refuses it by row)."""
    length = round(sample_rate * max_seconds)
    out = np.full((len(cells), 2 * N_MFCC + 2), np.nan)
    for row, cell in enumerate(cells):
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            continue
        try:
            wave = waveform(decode_audio(clip_source(cell)), sample_rate, length)
        except AudioProblem:
            continue
        out[row] = summary_features(wave[None, :], sample_rate)[0]
    return out


def spectral_centroid(samples: np.ndarray, sample_rate: int) -> float:
    """The magnitude-weighted mean frequency of a mono clip, Hz (0 for silence): where its energy sits."""
    magnitude = np.abs(np.fft.rfft(np.asarray(samples, dtype="float64")))
    total = magnitude.sum()
    if not total:
        return 0.0
    return float((np.fft.rfftfreq(len(samples), 1.0 / sample_rate) * magnitude).sum() / total)


def clip_profile(clip: Clip, max_seconds: float | None = None) -> dict:
    """The numbers a data profile keeps per clip: duration (s), RMS level (dBFS, floored at -100) and
    spectral centroid (Hz); the level and centroid of the first `max_seconds` only when given (what the
    model reads: a ten-minute recording costs no more than a word)."""
    mono = clip.samples.mean(axis=1)
    if max_seconds is not None:
        mono = mono[: max(1, round(max_seconds * clip.sample_rate))]
    return {
        "seconds": clip.seconds,
        "rms_dbfs": max(rms_dbfs(mono), -100.0),
        "centroid_hz": spectral_centroid(mono, clip.sample_rate),
    }
