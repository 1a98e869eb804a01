"""Audio: Braid's AudioClassifier against the classical MFCC model and a constant, on spoken digits
synthesised with espeak-ng in the same run.

Run by hand (not by tests); needs Debian's `espeak-ng` (GPL-3; only its program is run, its output is
not kept):
    python -m benchmarks.audio_bench [--trials 3] [--epochs 15] [--renditions 3] [--seed 0]
    python -m benchmarks.audio_bench --masking-only --masking-seeds 1 2   # more seeds of the masking check
Writes benchmarks/results/audio.json. The ten digits "zero".."nine" are spoken by `speakers`: an espeak-ng
accent (8 English ones) with a voice variant (its timbre: default, f2, m3, klatt), each at its own base
pitch; every speaker says every digit `--renditions` times at different speeds and pitches around its
own, with Gaussian noise mixed in. The clips go to a temporary directory, deleted at the end. A quarter
of the speakers (seeded) are held out for test, so no test clip comes from a voice the models trained on.

Compared on the same clips: `ak.AudioClassifier` (its default search: log mels inside the model, the CNN
first), the pipeline's classical model (the mean and std of 13 MFCCs, the RMS level and the spectral
centroid; gradient-boosted trees: `components.evaluation.classical`), and the most frequent training
class. Then the SpecAugment question: one fixed AudioBlock (CNN, 2 layers, 32 filters, no dropout)
trained with and without masking, same clips, seed and epochs, for each of `--masking-seeds` (the
model's seed; the clips and split stay those of `--seed`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "audio.json"
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
VARIANTS = ("", "f2", "m3", "klatt")
SPEEDS = (120, 150, 180, 210)
SAMPLE_RATE = 8000  # speech's information lies below 4 kHz; half the samples of 16 kHz for the network


def synthesise(folder: Path, renditions: int, seed: int) -> list[dict]:
    """Every speaker saying every digit `renditions` times: rows of path, digit, speaker, speed, pitch,
    noise; the WAV files (22,050 Hz mono, as espeak-ng writes them) under `folder`."""
    import soundfile

    rng = np.random.default_rng(seed)
    rows = []
    for accent, variant in itertools.product(ACCENTS, VARIANTS):
        speaker = f"{accent}+{variant}" if variant else accent
        base_pitch = int(rng.integers(25, 76))
        for digit, take in itertools.product(DIGITS, range(renditions)):
            speed = int(rng.choice(SPEEDS))
            pitch = int(np.clip(base_pitch + rng.integers(-10, 11), 0, 99))
            noise = float(rng.uniform(0.001, 0.02))
            path = folder / f"{speaker}-{digit}-{take}.wav"
            subprocess.run(
                ["espeak-ng", "-w", str(path), "-v", speaker, "-s", str(speed), "-p", str(pitch), digit],
                check=True, capture_output=True, timeout=30,
            )  # fmt: skip
            samples, rate = soundfile.read(path, dtype="float32")
            samples = samples + rng.normal(0.0, noise, samples.shape).astype("float32")
            soundfile.write(path, np.clip(samples, -1, 1), rate)
            rows.append(dict(path=str(path), digit=digit, speaker=speaker, speed=speed, pitch=pitch, noise=noise))
    return rows


def waveforms(rows: list[dict]) -> tuple[np.ndarray, float]:
    """The clips as the model reads them at SAMPLE_RATE, all cropped or padded to `max_seconds` (what
    `braid contract infer` would propose: the 95th percentile of the durations), and that length."""
    from components.features.audio import decode_audio, proposed_seconds, waveform

    clips = [decode_audio(row["path"]) for row in rows]
    seconds = proposed_seconds([clip.seconds for clip in clips])
    length = round(SAMPLE_RATE * seconds)
    return np.stack([waveform(clip, SAMPLE_RATE, length) for clip in clips]), seconds


def braid(train, y_train, test, trials: int, epochs: int, seed: int) -> tuple[np.ndarray, float, list]:
    import components as ak

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        clf = ak.AudioClassifier(
            sample_rate=SAMPLE_RATE, max_trials=trials, directory=folder, overwrite=True, seed=seed
        )
        clf.fit(train, y_train, epochs=epochs, batch_size=32, verbose=0)
        seconds = time.perf_counter() - start
        board = [
            {k: v for k, v in trial["hyperparameters"].items() if "audio" in k} | {"score": trial.get("score")}
            for trial in clf.leaderboard()
        ]
        return clf.predict(test).reshape(-1), seconds, board


def fixed_block(train, y_train, test, spec_augment: bool, epochs: int, seed: int) -> tuple[np.ndarray, float]:
    """One AudioBlock with every choice fixed but the masking (1 trial: the head's defaults)."""
    import components as ak

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        inputs = ak.AudioInput(sample_rate=SAMPLE_RATE)
        block = ak.AudioBlock(block_type="cnn", num_layers=2, filters=32, dropout=0.0, spec_augment=spec_augment)
        model = ak.AutoModel(
            inputs=inputs,
            outputs=ak.ClassificationHead()(block(inputs)),
            max_trials=1,
            directory=folder,
            overwrite=True,
            seed=seed,
        )
        model.fit(train, y_train, epochs=epochs, batch_size=32, verbose=0)
        return model.predict(test).reshape(-1), time.perf_counter() - start


def classical(train, y_train, test, seed: int) -> np.ndarray:
    from benchmarks.systems import classical_labels
    from components.features.audio import summary_features

    return classical_labels(summary_features(train, SAMPLE_RATE), y_train, summary_features(test, SAMPLE_RATE), seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--renditions", type=int, default=3, help="clips per speaker and digit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--masking-seeds", type=int, nargs="*", help="model seeds of the SpecAugment check")
    parser.add_argument("--masking-only", action="store_true", help="keep the file's other figures")
    args = parser.parse_args()
    masking_seeds = [args.seed] if args.masking_seeds is None else args.masking_seeds
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        rows = synthesise(Path(folder), args.renditions, args.seed)
        waves, seconds = waveforms(rows)
        synthesis_seconds = time.perf_counter() - start
    speakers = sorted({row["speaker"] for row in rows})
    held_out = set(np.random.default_rng(args.seed).permutation(speakers)[: len(speakers) // 4].tolist())
    is_test = np.array([row["speaker"] in held_out for row in rows])
    labels = np.array([row["digit"] for row in rows])
    train, y_train, test, y_test = waves[~is_test], labels[~is_test], waves[is_test], labels[is_test]
    values, counts = np.unique(y_train, return_counts=True)

    earlier = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    masking = dict(earlier.get("spec_augment", {})) if args.masking_only else {}
    index = {digit: i for i, digit in enumerate(DIGITS)}
    y_index, truth = np.array([index[d] for d in y_train]), np.array([index[d] for d in y_test])
    for model_seed in masking_seeds:
        for on in (False, True):
            predicted, took = fixed_block(train, y_index, test, on, args.epochs, model_seed)
            masking.setdefault(f"seed_{model_seed}", {})["with_masks" if on else "without_masks"] = {
                "accuracy": float(np.mean(predicted.astype(int) == truth)),
                "seconds": round(took, 1),
            }
            print("spec_augment", model_seed, on, masking[f"seed_{model_seed}"], flush=True)
    if args.masking_only:
        settings = {"epochs": args.epochs, "renditions": args.renditions, "seed": args.seed}
        earlier.update(spec_augment=masking, masking_settings=settings, masking_machine=_machine(load_before))
        RESULTS.write_text(json.dumps(earlier, indent=2) + "\n")
        return
    network, search_seconds, board = braid(train, y_train, test, args.trials, args.epochs, args.seed)
    accuracy = {
        "braid": float(np.mean(network == y_test)),
        "classical": float(np.mean(classical(train, y_train, test, args.seed) == y_test)),
        "constant": float(np.mean(y_test == values[counts.argmax()])),
    }
    print(json.dumps(accuracy), f"search {search_seconds:.0f} s", flush=True)
    result = {
        "clips": {"train": int((~is_test).sum()), "test": int(is_test.sum())},
        "speakers": {"train": len(speakers) - len(held_out), "test": sorted(held_out)},
        "sample_rate": SAMPLE_RATE,
        "max_seconds": seconds,
        "accuracy": accuracy,
        "braid_search_seconds": round(search_seconds, 1),
        "braid_trials": board,
        "spec_augment": masking,
        "synthesis_seconds": round(synthesis_seconds, 1),
        "settings": vars(args),
        "machine": _machine(load_before),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def _machine(load_before: tuple) -> dict:
    return {"cpus": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg()}


if __name__ == "__main__":
    main()
