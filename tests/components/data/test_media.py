"""Images behind http(s) URLs (`components.data.media`), served by a real HTTP server on 127.0.0.1: the
cache with ETag revalidation, retries, timeouts, the concurrency bound, failures named by row and URL in
validation, and a served model that refuses URLs unless its server allows them."""

import io
import threading

import pandas as pd
import pytest
from PIL import Image

from components.data.media import MediaProblem, MediaStore, refusing_urls, reset_store
from components.data.validation import data_hash, validate
from tests.components.data.test_validation import contract_for, table


def _png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_second_run_revalidates_and_fetches_no_body(http, tmp_path):
    http.files["/a.png"] = _png(1)
    first = MediaStore(tmp_path / "media")
    assert first.fetch(f"{http.url}/a.png") == _png(1)
    nightly = MediaStore(tmp_path / "media")  # another process, the same Braid home
    assert nightly.fetch(f"{http.url}/a.png") == _png(1)
    assert (http.bodies["/a.png"], http.not_modified["/a.png"]) == (1, 1)
    assert (nightly.fetched, nightly.revalidated) == (0, 1)
    assert nightly.fetch(f"{http.url}/a.png") == _png(1) and http.not_modified["/a.png"] == 1, "asked once a run"
    http.files["/a.png"] = _png(2)  # the image changed on the server: its ETag too
    assert MediaStore(tmp_path / "media").fetch(f"{http.url}/a.png") == _png(2) and http.bodies["/a.png"] == 2


def test_failures_are_retried_then_named(http, tmp_path):
    http.files["/b.png"] = _png(3)
    store = MediaStore(tmp_path / "media", retries=2, timeout_s=0.5)
    assert store.fetch(f"{http.url}/flaky/2/b.png") == _png(3), "two 503s, then the image"
    with pytest.raises(MediaProblem, match=r"HTTP 503 .*\(2 tries\)"):
        MediaStore(tmp_path / "other", retries=1).fetch(f"{http.url}/flaky/5/b.png")
    with pytest.raises(MediaProblem, match="HTTP 404") as missing:
        store.fetch(f"{http.url}/nowhere.png")
    assert missing.value.url.endswith("/nowhere.png")
    with pytest.raises(MediaProblem, match=r"no answer within 0.5 s \(3 tries\)"):
        store.fetch(f"{http.url}/slow/b.png")
    with pytest.raises(MediaProblem, match="scheme Braid does not read yet"):
        store.fetch("gs://bucket/b.png")


def test_requests_in_flight_stay_under_the_bound(http, tmp_path):
    for i in range(12):
        http.files[f"/{i}.png"] = _png(i)
    http.delay = 0.1
    store = MediaStore(tmp_path / "media", concurrency=3)
    threads = [threading.Thread(target=store.fetch, args=(f"{http.url}/{i}.png",)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.fetched == 12 and 1 <= http.most_in_flight <= 3


def test_validation_names_the_row_and_url_that_failed_and_preprocessing_reads_the_cache(http, tmp_path):
    frame = table(tmp_path, n=12)
    for i in range(12):
        http.files[f"/{i}.png"] = _png(i * 20)
    frame["poster"] = [f"{http.url}/{i}.png" for i in range(12)]
    frame.loc[3, "poster"] = f"{http.url}/gone.png"
    contract = contract_for(tmp_path, frame, on_bad_rows="quarantine")
    reset_store(MediaStore(tmp_path / "home" / "media"))
    try:
        report = validate(contract, tmp_path / "out")
        quarantine = pd.read_parquet(report.quarantine_path).set_index("id")
        assert report.n_quarantined == 1 and quarantine.loc["r3", "check"] == "image_fetch"
        assert "HTTP 404" in quarantine.loc["r3", "reason"]
        assert f"{http.url}/gone.png" in str(quarantine.loc["r3"].to_dict())
        assert sum(http.bodies.values()) == 11
        # the preprocessing's own read of the same cells, in a new process: revalidated, no body again
        reset_store(MediaStore(tmp_path / "home" / "media"))
        from components.data.images import locate

        assert locate(f"{http.url}/5.png", None) == _png(100)
        assert sum(http.bodies.values()) == 11 and http.not_modified["/5.png"] == 1
        # the data hash follows what is behind the URLs: tonight's run sees a changed image
        before = data_hash(contract)
        assert sum(http.bodies.values()) == 11, "hashing revalidates: no body"
        http.files["/5.png"] = _png(7)
        reset_store(MediaStore(tmp_path / "home" / "media"))  # the next night's process
        assert data_hash(contract) != before and http.bodies["/5.png"] == 2
        assert locate(f"{http.url}/5.png", None) == _png(7) and http.bodies["/5.png"] == 2, "read from the cache"
    finally:
        reset_store()


def test_a_served_request_refuses_urls_unless_the_server_allows_them(http, tmp_path):
    http.files["/c.png"] = _png(5)
    store = MediaStore(tmp_path / "media")
    with refusing_urls():
        with pytest.raises(MediaProblem, match="does not fetch URLs.*--allow-urls"):
            store.fetch(f"{http.url}/c.png")
    assert http.bodies["/c.png"] == 0
    assert store.fetch(f"{http.url}/c.png") == _png(5), "outside a served request, URLs are fetched"


def test_s3_objects_are_fetched_once_and_revalidated_by_their_etag(tmp_path, s3):
    endpoint, client = s3
    client.put_object(Bucket="media", Key="photos/d.png", Body=_png(9))
    first = MediaStore(tmp_path / "media", s3_endpoint_url=endpoint)
    assert first.fetch("s3://media/photos/d.png") == _png(9) and first.fetched == 1
    nightly = MediaStore(tmp_path / "media", s3_endpoint_url=endpoint)
    assert nightly.fetch("s3://media/photos/d.png") == _png(9)
    assert (nightly.fetched, nightly.revalidated) == (0, 1), "the ETag matched: no body"
    client.put_object(Bucket="media", Key="photos/d.png", Body=_png(10))
    assert MediaStore(tmp_path / "media", s3_endpoint_url=endpoint).fetch("s3://media/photos/d.png") == _png(10)
    with pytest.raises(MediaProblem, match="no such object"):
        nightly.fetch("s3://media/photos/nowhere.png")
