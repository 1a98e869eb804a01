"""Media behind URLs through the whole pipeline: the demo's images served over HTTP on 127.0.0.1, one URL
gone, and a sound clip per row in a local S3-compatible server; `braid run`'s flow quarantines the row
whose image is gone naming its URL, trains on the rest, and the next night's run (a new process: a new
media store over the same Braid home) fetches no image and no clip again."""

import io

import numpy as np
import pandas as pd
import pytest
import soundfile
import yaml

from components.data.media import reset_store, store
from flows.training import training_pipeline

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_images_behind_urls_are_fetched_once_quarantined_by_row_and_cached_for_the_next_night(
    module_store, demo_contract_factory, http, s3
):
    root, env = module_store
    home = root / "home"
    env.setenv("BRAID_HOME", str(home))
    endpoint, client = s3
    env.setenv("BRAID_S3_ENDPOINT_URL", endpoint)
    path = demo_contract_factory(root, rows=60, image_size=8, refit=False)
    raw = yaml.safe_load(path.read_text())
    frame = pd.read_csv(raw["source"]["path"])
    images = root / "data" / "images"
    for name in frame["image"]:
        http.files[f"/{name}"] = (images / name).read_bytes()
    frame["image"] = [f"{http.url}/{name}" for name in frame["image"]]
    gone_id = frame["id"].iloc[7]
    frame.loc[7, "image"] = f"{http.url}/gone.png"
    for row in range(len(frame)):  # a quarter second of a tone whose pitch follows the row
        clip = io.BytesIO()
        tone = 0.3 * np.sin(2 * np.pi * (200 + 10 * row) * np.arange(2000) / 8000)
        soundfile.write(clip, tone.astype("float32"), 8000, format="WAV")
        client.put_object(Bucket="media", Key=f"clips/{row}.wav", Body=clip.getvalue())
    frame["clip"] = [f"s3://media/clips/{row}.wav" for row in range(len(frame))]
    frame.to_csv(raw["source"]["path"], index=False)
    raw["source"].pop("image_root")  # URLs need no image root
    raw["features"].append({"name": "clip", "modality": "audio", "sample_rate": 8000, "max_seconds": 0.25})
    raw["on_bad_rows"] = "quarantine"
    raw["training"] = {**raw.get("training", {}), "max_trials": 1, "epochs": 1}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))

    reset_store()  # the store of this run's Braid home
    try:
        first = training_pipeline(contract=str(path), home=str(home))
        clips = store().fetched - sum(http.bodies.values())
        assert clips == len(frame), (
            "each clip fetched from S3 once (the quarantined row's clip too: validation reads it)"
        )
        quarantine = pd.read_parquet(first["validation"]["quarantine_path"]).set_index("id")
        assert list(quarantine.index) == [gone_id] and quarantine.loc[gone_id, "check"] == "image_fetch"
        assert f"{http.url}/gone.png" in str(quarantine.loc[gone_id].to_dict())
        assert sum(first["prepared"]["rows"].values()) == len(frame) - 1 and first["prepared"]["quarantined"] == 1
        fetched = sum(http.bodies.values())
        assert fetched == len(frame) - 1, "each image fetched once over validation, preprocessing and evaluation"

        reset_store()  # the next night: a new process, the same home
        second = training_pipeline(contract=str(path), home=str(home))
        assert second["prepared"]["directory"] == first["prepared"]["directory"] and second["prepared"]["reused"]
        assert sum(http.bodies.values()) == fetched and store().fetched == 0, "nothing fetched again"
        assert store().revalidated == len(frame) - 1 + len(frame), "each image and clip revalidated once"
        assert sum(http.not_modified.values()) == len(frame) - 1, "each image revalidated once"
    finally:
        reset_store()
