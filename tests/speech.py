"""Spoken words made at test time with espeak-ng (Debian's `espeak-ng`; CI installs it): no audio is
committed. Each clip is written as a 22,050 Hz mono WAV, with a little noise mixed in so no two clips
are the same."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile

VOICES = ("en", "en-us", "en-gb-scotland", "en-029")
SPEEDS = (130, 175)
PITCHES = (35, 65)


def speak(path: Path, word: str, voice: str = "en", speed: int = 160, pitch: int = 50, noise: float = 0.0,
          seed: int = 0) -> Path:  # fmt: skip
    """`word` spoken into the WAV file `path` (overwritten), with Gaussian noise of RMS `noise` added."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["espeak-ng", "-w", str(path), "-v", voice, "-s", str(speed), "-p", str(pitch), word],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    if noise:
        samples, rate = soundfile.read(path, dtype="float32")
        samples = samples + np.random.default_rng(seed).normal(0.0, noise, samples.shape).astype("float32")
        soundfile.write(path, np.clip(samples, -1, 1), rate)
    return path


def spoken_words(folder: Path, words: tuple[str, ...], per_word: int, seed: int = 0) -> pd.DataFrame:
    """`per_word` clips of each word under `folder` (voices × speeds × pitches, then noise levels), as
    rows: `id`, `clip` (the path relative to `folder`), `word`; in an order that mixes the words."""
    variants = list(itertools.product(VOICES, SPEEDS, PITCHES))
    rows = []
    for index in range(per_word):
        voice, speed, pitch = variants[index % len(variants)]
        for word in words:
            name = f"{word}-{index}.wav"
            speak(folder / name, word, voice, speed, pitch, noise=0.002 * (1 + index % 3), seed=seed + len(rows))
            rows.append({"id": f"{word}-{index}", "clip": name, "word": word})
    return pd.DataFrame(rows)
