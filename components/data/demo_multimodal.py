"""A deterministic five-modality, three-head demo set (`write_multimodal_demo_data`): machines on a test bench.

Each row has a photo (a drawn part), a technician's note, two numbers, a category, a half-second
sound clip and a vibration trace (a JSON array of 3-axis readings, 16 to 48 steps). The signal is spread
over the modalities so that fusion matters:

- `fault` (4 classes) = the sound's pitch (a high whine or a low hum) x the vibration's frequency
  (shaking fast or slow): sound alone or vibration alone reaches only about half accuracy;
- `wear` (regression) = age (a number), the vibration's amplitude, the number of clicks in the clip and the
  material (a category), plus a little noise;
- `flags` (multilabel over 4 labels) = round (the image's shape), urgent (a word in the note),
  heavy (the weight) and loud (the clip's level).
About 5% of `fault` labels are flipped at random, so no model scores perfectly.

Only numpy, Pillow and soundfile: no speech synthesiser, so it runs on a fresh machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile

from components.data.demo import draw_shape

FAULTS = {("hum", "slow"): "healthy", ("whine", "slow"): "bearing",
          ("hum", "fast"): "imbalance", ("whine", "fast"): "failing"}  # fmt: skip
MATERIALS = {"steel": 0.0, "aluminium": -0.5, "plastic": 0.8}
SAMPLE_RATE = 8000
CLIP_SECONDS = 0.5
NOTE_WORDS = ["checked", "pump", "unit", "motor", "fan", "on", "line", "two", "after", "shift", "noted", "ok", "seal"]


def _clip(pitch: str, clicks: int, loud: bool, rng: np.random.Generator) -> np.ndarray:
    """A tone (hum about 150-250 Hz, whine about 1-1.6 kHz) with `clicks` short bursts and a little noise."""
    t = np.arange(int(SAMPLE_RATE * CLIP_SECONDS)) / SAMPLE_RATE
    base = rng.uniform(150, 250) if pitch == "hum" else rng.uniform(1000, 1600)
    tone = np.sin(2 * np.pi * base * t) + 0.3 * np.sin(2 * np.pi * 2 * base * t + rng.uniform(0, np.pi))
    bursts = np.zeros_like(t)
    for start in np.linspace(0.03, CLIP_SECONDS - 0.05, clicks):
        where = (t >= start) & (t < start + 0.012)
        bursts[where] = rng.normal(0, 1.5, int(where.sum()))
    wave = tone + bursts + rng.normal(0, 0.1, t.size)
    level = rng.uniform(0.5, 0.7) if loud else rng.uniform(0.08, 0.16)
    return (level * wave / np.abs(wave).max()).astype("float32")


def _trace(fast: bool, amplitude: float, rng: np.random.Generator) -> list:
    """3-axis vibration readings: x and y oscillate (fast or slow) at `amplitude`, z is gravity; a few gaps."""
    steps = int(rng.integers(16, 49))
    t = np.arange(steps)
    omega = rng.uniform(1.6, 2.4) if fast else rng.uniform(0.2, 0.4)
    phase = rng.uniform(0, 2 * np.pi)
    xyz = np.stack(
        [
            amplitude * np.sin(omega * t + phase),
            amplitude * np.cos(omega * t + phase),
            9.81 + 0.05 * rng.normal(size=steps),
        ],
        axis=1,
    ) + rng.normal(0, 0.05, (steps, 3))
    series = xyz.round(3).tolist()
    if rng.random() < 0.1:  # a dropped reading, as real loggers have
        series[int(rng.integers(steps))][int(rng.integers(3))] = None
    return series


def _note(urgent: bool, rng: np.random.Generator) -> str:
    words = [str(w) for w in rng.choice(NOTE_WORDS, size=int(rng.integers(4, 9)))]
    if urgent:
        words.insert(int(rng.integers(0, len(words))), "urgent")
    return " ".join(words).capitalize() + "."


def write_multimodal_demo_data(out_dir: Path, n_rows: int = 300, seed: int = 0, image_size: int = 16) -> Path:
    """Write `out_dir/machines.csv` and `out_dir/media/*.png|*.wav`; the same arguments give the same bytes.

    Args:
        out_dir: where to write (created if needed).
        n_rows: number of rows (each with one image and one clip).
        seed: random seed.
        image_size: images are `image_size` x `image_size` RGB PNGs.

    Returns:
        The path of the CSV file. Its `photo` and `sound` columns are relative to `out_dir/media`; its
        `vibration` column holds JSON arrays of [x, y, z] readings.

    Example:
        >>> csv_path = write_multimodal_demo_data(Path(".braid/demo_multimodal"), n_rows=300)
    """
    out_dir = Path(out_dir)
    media = out_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    ids = [f"unit{i:05d}" for i in range(n_rows)]
    shapes = rng.choice(["round", "square"], n_rows)
    pitch = rng.choice(["hum", "whine"], n_rows)
    fast = rng.random(n_rows) < 0.5
    urgent = rng.random(n_rows) < 0.3
    loud = rng.random(n_rows) < 0.4
    clicks = rng.integers(1, 6, n_rows)
    amplitude = rng.uniform(0.2, 2.0, n_rows)
    age = np.round(rng.gamma(3.0, 2.0, n_rows), 1)
    weight = np.round(rng.normal(40, 12, n_rows).clip(5), 1)
    material = rng.choice(list(MATERIALS), n_rows, p=[0.5, 0.3, 0.2])

    fault = np.array([FAULTS[(p, "fast" if f else "slow")] for p, f in zip(pitch, fast)])
    flip = rng.random(n_rows) < 0.05
    fault[flip] = rng.choice(sorted(FAULTS.values()), int(flip.sum()))

    wear = 3 + 0.6 * (age - 6) / 3.5 + 0.7 * (amplitude - 1.1) / 0.5 + 0.4 * (clicks - 3) / 1.4
    wear = np.round(wear + np.array([MATERIALS[m] for m in material]) + rng.normal(0, 0.2, n_rows), 3)
    heavy_cut = np.quantile(weight, 0.7)
    flags = [
        "|".join(
            label
            for label, on in (
                ("round", shapes[i] == "round"),
                ("urgent", urgent[i]),
                ("heavy", weight[i] > heavy_cut),
                ("loud", loud[i]),
            )
            if on
        )  # fmt: skip
        for i in range(n_rows)
    ]

    notes, traces = [], []
    for i in range(n_rows):
        notes.append(_note(bool(urgent[i]), rng))
        traces.append(json.dumps(_trace(bool(fast[i]), float(amplitude[i]), rng), separators=(",", ":")))
        draw_shape(shapes[i], image_size, rng).save(media / f"{ids[i]}.png", compress_level=1)
        clip = _clip(pitch[i], int(clicks[i]), bool(loud[i]), rng)
        soundfile.write(media / f"{ids[i]}.wav", clip, SAMPLE_RATE, subtype="PCM_16")

    frame = pd.DataFrame({
        "id": ids,
        "photo": [f"{i}.png" for i in ids],
        "note": notes,
        "age_years": age,
        "weight_kg": weight,
        "material": material,
        "sound": [f"{i}.wav" for i in ids],
        "vibration": traces,
        "fault": fault,
        "wear": wear,
        "flags": flags,
    })  # fmt: skip
    csv_path = out_dir / "machines.csv"
    frame.to_csv(csv_path, index=False)
    return csv_path
