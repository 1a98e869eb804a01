"""The benchmark sets as the shared README describes them: features by kind, targets per head, one split.

Every system in the harness (Braid, the classical baselines, AutoKeras, AutoGluon) gets the same
`BenchSet`: the same rows, the same 80/20 split (`numpy.random.default_rng(0).permutation`), the same
features (numbers already log1p-scaled, as the README's figures were measured) and targets.
`save` writes it as `features.parquet` + `arrays.npz` + `spec.json` for the peers' own virtualenvs.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
SHARED = Path("/work/shared/datasets")
WORK = Path(__file__).resolve().parent / ".work"
IMAGE_SIZE = 64
RATINGS = ("R", "PG-13", "PG", "G")


@dataclass(frozen=True)
class Head:
    name: str
    task: str  # "multilabel", "regression" or "classification"
    names: tuple[str, ...] = ()  # labels (multilabel) or classes (classification)


@dataclass(frozen=True)
class BenchSet:
    """One set, all rows; `train` and `test` index them.

    Args:
        frame: one row per example; columns `text` (the text columns joined), `text_columns`,
            `number_columns` (log1p-scaled, NaN = missing) and `category_columns` (strings).
        targets: per head: multi-hot `[N, L]` (multilabel), floats `[N]`, class indices `[N]`.
        images: `[N, 64, 64, 3]` uint8, or None.
    """

    name: str
    frame: pd.DataFrame
    text_columns: tuple[str, ...]
    number_columns: tuple[str, ...]
    category_columns: tuple[str, ...]
    heads: tuple[Head, ...]
    targets: dict[str, np.ndarray]
    train: np.ndarray
    test: np.ndarray
    images: np.ndarray | None = None

    def spec(self) -> dict:
        return {"name": self.name, "text_columns": list(self.text_columns), "number_columns": list(self.number_columns),
                "category_columns": list(self.category_columns), "image": self.images is not None,
                "heads": [{"name": h.name, "task": h.task, "names": list(h.names)} for h in self.heads],
                "rows": len(self.frame), "train_rows": len(self.train), "test_rows": len(self.test)}

    def save(self, folder: Path) -> Path:
        """Writes the set for a peer's script; returns the folder."""
        folder.mkdir(parents=True, exist_ok=True)
        self.frame.to_parquet(folder / "features.parquet", index=False)
        arrays = {f"y_{k}": v for k, v in self.targets.items()}
        if self.images is not None:
            arrays["images"] = self.images
        np.savez(folder / "arrays.npz", train=self.train, test=self.test, **arrays)
        (folder / "spec.json").write_text(json.dumps(self.spec(), indent=1))
        return folder


def split(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The README's split: the first 80% of `default_rng(seed).permutation(n)` is train."""
    order = np.random.default_rng(seed).permutation(n)
    cut = int(n * 0.8)
    return np.sort(order[:cut]), np.sort(order[cut:])


def signed_log1p(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    return np.sign(numbers) * np.log1p(numbers.abs())


def multi_hot(label_lists: list[list[str]]) -> tuple[np.ndarray, tuple[str, ...]]:
    names = tuple(sorted({label for labels in label_lists for label in labels}))
    index = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(label_lists), len(names)), dtype=np.int64)
    for row, labels in enumerate(label_lists):
        matrix[row, [index[label] for label in labels]] = 1
    return matrix, names


def datasets_root() -> Path:
    return DATASETS if DATASETS.is_dir() else SHARED


def movies() -> BenchSet:
    """movies_metadata.csv: overview + 5 log1p numbers → genres (multi-label), vote_average."""
    raw = pd.read_csv(datasets_root() / "movies" / "movies_metadata.csv", low_memory=False)
    genres = raw["genres"].map(lambda s: [d["name"] for d in ast.literal_eval(s)] if isinstance(s, str) else [])
    # "rows with overview and genres" as the README measured them: both present (2,978 rows), an
    # empty genre list ("[]", 68 rows) included as a row with no labels
    keep = raw["overview"].notna() & raw["genres"].notna()
    raw, genres = raw[keep].reset_index(drop=True), genres[keep].reset_index(drop=True)
    numbers = ("budget", "popularity", "revenue", "runtime", "vote_count")
    frame = pd.DataFrame({"text": raw["overview"].astype(str), "overview": raw["overview"].astype(str)})
    for column in numbers:
        frame[column] = signed_log1p(raw[column])
    labels, names = multi_hot(list(genres))
    targets = {"genres": labels, "vote_average": pd.to_numeric(raw["vote_average"], errors="coerce").to_numpy(float)}
    train, test = split(len(frame))
    return BenchSet("movies", frame, ("overview",), numbers, (), (Head("genres", "multilabel", names),
                    Head("vote_average", "regression")), targets, train, test)


def posters(image_size: int = IMAGE_SIZE) -> BenchSet:
    """posters.csv: poster + title + keywords + log1p numbers + categoricals → genres, imdb_score, content_rating."""
    folder = datasets_root() / "posters"
    raw = pd.read_csv(folder / "posters.csv")
    numbers = ("title_year", "duration", "budget", "gross", "aspect_ratio", "facenumber_in_poster", "num_voted_users",
               "num_critic_for_reviews", "num_user_for_reviews", "director_facebook_likes",
               "cast_total_facebook_likes", "movie_facebook_likes")
    categories = ("color", "language", "country", "director_name", "actor_1_name", "actor_2_name", "actor_3_name")
    texts = ("movie_title", "plot_keywords")
    frame = pd.DataFrame({c: raw[c].fillna("").astype(str).str.strip() for c in texts})
    frame.insert(0, "text", frame["movie_title"] + " " + frame["plot_keywords"])
    for column in numbers:
        frame[column] = signed_log1p(raw[column])
    for column in categories:
        frame[column] = raw[column].astype(object).where(raw[column].notna(), None)
    labels, names = multi_hot([s.split("|") if isinstance(s, str) and s else [] for s in raw["genres"]])
    classes = (*RATINGS, "other")
    rating = raw["content_rating"].map(lambda r: classes.index(r) if r in RATINGS else len(RATINGS))
    targets = {"genres": labels, "imdb_score": raw["imdb_score"].to_numpy(float),
               "content_rating": rating.to_numpy(np.int64)}
    train, test = split(len(frame))
    heads = (Head("genres", "multilabel", names), Head("imdb_score", "regression"),
             Head("content_rating", "classification", classes))
    return BenchSet("posters", frame, texts, numbers, categories, heads, targets, train, test,
                    images=poster_images(folder, raw["poster"].tolist(), image_size))


def poster_images(folder: Path, paths: list[str], size: int) -> np.ndarray:
    """Posters decoded and squashed to `size` x `size` RGB, cached under benchmarks/.work/."""
    cache = WORK / f"posters_{size}.npy"
    if cache.is_file():
        images = np.load(cache)
        if len(images) == len(paths):
            return images
    from PIL import Image

    images = np.zeros((len(paths), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(paths):
        with Image.open(folder / path) as image:
            images[i] = np.asarray(image.convert("RGB").resize((size, size), Image.BILINEAR))
    WORK.mkdir(parents=True, exist_ok=True)
    np.save(cache, images)
    return images


def synthetic(rows: int = 120, seed: int = 0, image_size: int = 8) -> BenchSet:
    """A tiny set with every modality and head kind, for the harness's smoke run."""
    rng = np.random.default_rng(seed)
    words = np.array(["space", "ship", "love", "kiss", "gun", "chase"])
    labels = rng.random((rows, 3)) < 0.4
    text = [" ".join(words[2 * np.flatnonzero(row)].tolist() + ["film"]) for row in labels]
    frame = pd.DataFrame({"text": text, "overview": text, "budget": rng.normal(size=rows),
                          "runtime": rng.normal(size=rows), "color": rng.choice(["a", "b"], size=rows)})
    score = 2.0 * frame["budget"].to_numpy() + rng.normal(scale=0.1, size=rows)
    kind = (frame["runtime"].to_numpy() > 0).astype(np.int64)
    images = rng.integers(0, 255, size=(rows, image_size, image_size, 3), dtype=np.uint8)
    train, test = split(rows, seed)
    heads = (Head("genres", "multilabel", ("action", "romance", "sci-fi")), Head("score", "regression"),
             Head("kind", "classification", ("short", "long")))
    return BenchSet("synthetic", frame, ("overview",), ("budget", "runtime"), ("color",), heads,
                    {"genres": labels.astype(np.int64), "score": score, "kind": kind}, train, test, images=images)


def digits() -> BenchSet:
    """scikit-learn's digits (1,797 real scanned 8x8 handwritten digits, shipped inside the package):
    image -> digit, the small real image set of the model-quality issue."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = np.round(data.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    train, test = split(len(images))
    frame = pd.DataFrame({"text": [""] * len(images)})
    return BenchSet("digits", frame, (), (), (), (Head("digit", "classification", tuple(map(str, range(10)))),),
                    {"digit": data.target.astype(np.int64)}, train, test, images=images)


def digits32() -> BenchSet:
    """digits upscaled to 32x32 RGB (bilinear), the shape a user's small colour images have: the case where
    `ImageClassifier(max_trials=2)` once scored 0.35 against logistic regression's 0.98."""
    import tensorflow as tf

    bench = digits()
    images = tf.image.resize(bench.images.astype("float32"), (32, 32)).numpy().round().clip(0, 255).astype(np.uint8)
    return BenchSet("digits32", bench.frame, (), (), (), bench.heads, bench.targets, bench.train, bench.test,
                    images=np.repeat(images, 3, axis=-1))


def mnist() -> BenchSet:
    """mnist_5k.csv.gz: 5,000 MNIST digits, 28x28 grey (784 pixel columns then the label, no header)."""
    raw = pd.read_csv(datasets_root() / "mnist" / "mnist_5k.csv.gz", header=None).to_numpy()
    images = raw[:, :784].reshape(-1, 28, 28, 1).astype(np.uint8)
    train, test = split(len(images))
    frame = pd.DataFrame({"text": [""] * len(images)})
    return BenchSet("mnist", frame, (), (), (), (Head("digit", "classification", tuple(map(str, range(10)))),),
                    {"digit": raw[:, 784].astype(np.int64)}, train, test, images=images)


def posters_image(image_size: int = IMAGE_SIZE) -> BenchSet:
    """The posters alone → content_rating (R / PG-13 / PG / G / other): photos where the image is the only signal."""
    full = posters(image_size)
    head = full.heads[2]
    return BenchSet("posters_image", full.frame[["text"]].assign(text=""), (), (), (), (head,),
                    {head.name: full.targets[head.name]}, full.train, full.test, images=full.images)


LOADERS = {"movies": movies, "posters": posters, "digits": digits, "digits32": digits32, "mnist": mnist,
           "posters_image": posters_image}
