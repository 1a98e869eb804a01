"""A deterministic multimodal, multi-task demo data set (`write_demo_data`).

The signal is spread over the modalities so that a model needs all of them:

- `kind` (4 classes) = shape drawn in the image (round / square) x a keyword in the text
  ("vintage" / "modern"): image alone or text alone can reach only about half accuracy;
- `score` (regression) = log price, weight, listing year and month (+ a little noise);
- `tags` (multilabel over 5 labels) = colour (bright / dark), words in the text (glass -> fragile,
  discount -> sale) and weight (heavy).
About 5% of `kind` labels are flipped at random, so no model scores perfectly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

KINDS = {("round", "vintage"): "antique", ("round", "modern"): "gadget",
         ("square", "vintage"): "heirloom", ("square", "modern"): "tool"}  # fmt: skip
COLORS = ["red", "green", "blue", "yellow", "black", "white", "purple", "orange", "teal", "pink"]
COLOR_WEIGHTS = [0.16, 0.15, 0.14, 0.12, 0.11, 0.1, 0.08, 0.07, 0.04, 0.03]
BRIGHT = {"yellow", "white", "orange", "pink"}
DARK = {"black", "blue", "purple"}
ADJECTIVES = ["lovely", "compact", "handy", "classic", "useful", "small", "large", "simple", "fine", "neat"]
NOUNS = ["piece", "item", "object", "thing", "article", "find", "product"]
FILLER = ["for", "the", "home", "office", "garden", "kitchen", "daily", "use", "with", "care", "gift", "set"]


def draw_shape(shape: str, size: int, rng: np.random.Generator) -> Image.Image:
    background = tuple(int(v) for v in rng.integers(170, 256, 3))
    fill = tuple(int(v) for v in rng.integers(0, 150, 3))
    img = Image.new("RGB", (size, size), background)
    radius = rng.uniform(0.22, 0.4) * size
    cx, cy = rng.uniform(radius, size - radius, 2)
    box = [cx - radius, cy - radius, cx + radius, cy + radius]
    draw = ImageDraw.Draw(img)
    if shape == "round":
        draw.ellipse(box, fill=fill)
    else:
        draw.rectangle(box, fill=fill)
    return img


def _description(keyword: str, glass: bool, discount: bool, rng: np.random.Generator) -> str:
    words = [str(rng.choice(ADJECTIVES)), keyword, str(rng.choice(NOUNS))]
    words += [str(w) for w in rng.choice(FILLER, size=int(rng.integers(2, 6)))]
    if glass:
        words.insert(int(rng.integers(1, len(words))), "glass")
    if discount:
        words.append("discount")
    return " ".join(words).capitalize() + "."


def write_demo_data(out_dir: Path, n_rows: int = 3000, seed: int = 0, image_size: int = 32) -> Path:
    """Write `out_dir/demo.csv` and `out_dir/images/*.png`; the same arguments give the same bytes.

    Args:
        out_dir: where to write (created if needed).
        n_rows: number of rows (and images).
        seed: random seed.
        image_size: images are `image_size` x `image_size` RGB PNGs.

    Returns:
        The path of the CSV file. Its `image` column is relative to `out_dir/images`.

    Example:
        >>> csv_path = write_demo_data(Path(".braid/demo"), n_rows=300)
    """
    out_dir = Path(out_dir)
    images = out_dir / "images"
    images.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    ids = [f"item{i:06d}" for i in range(n_rows)]
    shapes = rng.choice(["round", "square"], n_rows)
    keywords = rng.choice(["vintage", "modern"], n_rows)
    colors = rng.choice(COLORS, n_rows, p=COLOR_WEIGHTS)
    glass = rng.random(n_rows) < 0.25
    discount = rng.random(n_rows) < 0.2
    price = np.round(np.exp(rng.normal(3.5, 0.8, n_rows)), 2)
    weight = np.round(rng.gamma(4.0, 2.5, n_rows), 1)
    days = rng.integers(0, 6 * 365, n_rows)
    listed = pd.Timestamp("2018-01-01") + pd.to_timedelta(days, unit="D")

    kind = np.array([KINDS[(s, k)] for s, k in zip(shapes, keywords)])
    flip = rng.random(n_rows) < 0.05
    kind[flip] = rng.choice(sorted(KINDS.values()), int(flip.sum()))

    log_price = (np.log(price) - 3.5) / 0.8
    years = (listed.year.to_numpy() - 2020.5) / 1.7
    season = np.sin(2 * np.pi * (listed.month.to_numpy() - 1) / 12)
    score = 5 + 0.8 * log_price - 0.6 * (weight - 10) / 5 + 0.5 * years + 0.5 * season
    score = np.round(score + rng.normal(0, 0.25, n_rows), 3)

    heavy_cut = np.quantile(weight, 0.7)
    tags = []
    for i in range(n_rows):
        row = [label for label, on in (
            ("bright", colors[i] in BRIGHT), ("dark", colors[i] in DARK), ("fragile", glass[i]),
            ("heavy", weight[i] > heavy_cut), ("sale", discount[i]),
        ) if on]  # fmt: skip
        tags.append("|".join(row))

    descriptions = [_description(keywords[i], glass[i], discount[i], rng) for i in range(n_rows)]
    for i in range(n_rows):
        draw_shape(shapes[i], image_size, rng).save(images / f"{ids[i]}.png", compress_level=1)

    # Gaps like real data: a few missing prices, more missing weights (after the targets used them).
    price_out = price.astype(object)
    price_out[rng.random(n_rows) < 0.03] = None
    weight_out = weight.astype(object)
    weight_out[rng.random(n_rows) < 0.08] = None

    frame = pd.DataFrame({
        "id": ids,
        "image": [f"{i}.png" for i in ids],
        "description": descriptions,
        "price": price_out,
        "weight": weight_out,
        "color": colors,
        "listed_on": listed.strftime("%Y-%m-%d"),
        "kind": kind,
        "score": score,
        "tags": tags,
    })  # fmt: skip
    csv_path = out_dir / "demo.csv"
    frame.to_csv(csv_path, index=False)
    return csv_path
