"""Media behind URLs: an image cell may be `http://...` or `https://...`; this module fetches it.

One `MediaStore` per process (`store()`), configured from the settings:
- **cache** under the Braid home (`media/`), keyed by URL: the body and the server's `ETag`. A cell seen
  before is revalidated with `If-None-Match` (the server answers 304 and sends no body) once per store
  (per process: the data hash asks, validation and preprocessing then read the cache) or, when the server
  gave no ETag, used as cached; so a nightly run over the same rows does not fetch the bytes twice.
- **bounded**: at most `BRAID_MEDIA_CONCURRENCY` requests at once over the whole process (the callers
  already run on the preprocessing's thread pool); each request has `BRAID_MEDIA_TIMEOUT_S`, and
  timeouts, connection errors and 5xx/429 answers are retried `BRAID_MEDIA_RETRIES` times with backoff.
- **named failures**: `MediaProblem(url, reason)`; the image code turns it into the same quarantine or
  error, naming row and URL, as a missing file.
- **served models** fetch URLs only when the server allows it (`braid serve --allow-urls`,
  `BRAID_SERVE_ALLOW_URLS=1`): otherwise a client could make the server request any address it can reach.
  The REST app marks each request with `refusing_urls()`; `braid score` and the pipeline fetch.

`s3://bucket/key` is read through fsspec's S3 driver (s3fs, the `s3` extra), the endpoint from
`BRAID_S3_ENDPOINT_URL` (a local S3-compatible server; unset: AWS) and credentials as boto finds them; the
object's ETag plays the HTTP ETag's part (a HEAD request, no body, when the cache holds it). Other schemes
(`gs://`) are refused with a message saying so.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from components.settings import Settings

SCHEMES = ("http://", "https://", "s3://")
_RETRY_STATUS = {429, 500, 502, 503, 504}
# Set for the work of one served request (contextvars follow it into Starlette's thread pool).
_REFUSING = contextvars.ContextVar("braid_refusing_urls", default=False)


@contextlib.contextmanager
def refusing_urls() -> Iterator[None]:
    """Within the block (this thread or task), every URL cell is refused rather than fetched."""
    token = _REFUSING.set(True)
    try:
        yield
    finally:
        _REFUSING.reset(token)


class MediaProblem(Exception):
    """A URL's bytes could not be had; `reason` says why (the caller adds the row)."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"{url}: {reason}")
        self.url, self.reason = url, reason


def is_url(cell: object) -> bool:
    """Whether a cell names media by URL (any scheme Braid knows of, read or not)."""
    return isinstance(cell, str) and cell.startswith((*SCHEMES, "gs://"))


class MediaStore:
    """Fetches media by URL through a cache on disk; thread-safe.

    Args:
        cache: the folder of cached bodies (`<sha256 of the URL>.bin`) and their ETags (`.json`).
        timeout_s: each request's timeout.
        retries: further tries after a timeout, a connection error, or a 429/5xx answer.
        concurrency: requests in flight at most, over every thread of the process.
    """

    def __init__(
        self,
        cache: Path,
        timeout_s: float = 10.0,
        retries: int = 2,
        concurrency: int = 8,
        s3_endpoint_url: str | None = None,
    ):
        self.cache, self.timeout_s, self.retries = Path(cache), timeout_s, retries
        self.s3_endpoint_url, self._s3 = s3_endpoint_url, None
        self._slots, self._concurrency = threading.BoundedSemaphore(concurrency), concurrency
        self._confirmed: set[str] = set()  # URLs fetched or revalidated by this store: not asked again
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=True)
        self.fetched = 0  # bodies downloaded (200 answers) since the store was made
        self.revalidated = 0  # cached bodies the server confirmed (304)

    def fetch(self, url: str) -> bytes:
        """The bytes at `url`, from the cache when the server says they have not changed.

        Raises:
            MediaProblem: the scheme is not read, URLs are not allowed here, or every try failed.
        """
        return self._versioned(url)[0]

    def _versioned(self, url: str) -> tuple[bytes, str]:
        """`fetch`, with the bytes' version: their ETag, else a hash of them (what the data hash counts)."""
        if _REFUSING.get():
            raise MediaProblem(
                url, "is a URL, and this server does not fetch URLs; send the image's bytes as a data URI, "
                "or start the server with --allow-urls"
            )  # fmt: skip
        if not url.startswith(SCHEMES):
            raise MediaProblem(url, "uses a scheme Braid does not read yet; use http(s)://, s3:// or the bytes")
        s3 = url.startswith("s3://")
        body, meta = self._cached(url)
        etag = meta.get("etag")
        if body is not None and (url in self._confirmed or (not s3 and not etag)):
            # asked already in this process (the data hash, then validation), or no ETag to ask about
            return body, _version(body, etag)
        ask = self._ask_s3 if s3 else self._ask_http
        answer = ask(url, etag if body is not None else None)
        self._confirmed.add(url)
        if answer is None:  # not modified
            self.revalidated += 1
            return body, _version(body, etag)
        content, etag = answer
        self.fetched += 1
        self._store(url, content, etag)
        return content, _version(content, etag)

    def _ask_http(self, url: str, cached_etag: str | None) -> tuple[bytes, str | None] | None:
        """None when the server confirms the cached copy's ETag (304), else the new body and its ETag."""
        response = self._get(url, {"If-None-Match": cached_etag} if cached_etag else {})
        if response.status_code == 304 and cached_etag:
            return None
        if response.status_code != 200:
            raise MediaProblem(url, f"HTTP {response.status_code} {response.reason_phrase}".rstrip())
        return response.content, response.headers.get("ETag")

    def _ask_s3(self, url: str, cached_etag: str | None) -> tuple[bytes, str | None] | None:
        """None when the object's ETag is the cached copy's (a HEAD, no body), else its bytes and ETag."""
        fs = self._s3_filesystem()
        try:
            with self._slots:
                etag = fs.info(url).get("ETag")
                if cached_etag and etag == cached_etag:
                    return None
                return fs.cat_file(url), etag
        except FileNotFoundError:
            raise MediaProblem(url, "no such object (or bucket)") from None
        except Exception as exc:  # botocore's and aiohttp's errors: one sentence, no trace
            raise MediaProblem(url, f"cannot read it ({type(exc).__name__}: {exc})") from None

    def _s3_filesystem(self):
        if self._s3 is None:
            try:
                import s3fs
            except ImportError:
                raise MediaProblem(
                    "s3://", "needs the S3 driver: pip install 'braid[s3]' (s3fs)"
                ) from None  # fmt: skip
            client = {"endpoint_url": self.s3_endpoint_url} if self.s3_endpoint_url else {}
            self._s3 = s3fs.S3FileSystem(
                client_kwargs=client,
                config_kwargs={
                    "connect_timeout": self.timeout_s,
                    "read_timeout": self.timeout_s,
                    "retries": {"max_attempts": self.retries + 1},
                },
                skip_instance_cache=True,
            )
        return self._s3

    def versions(self, urls: list[str]) -> list[str]:
        """Each URL's current version (its ETag, else a hash of its bytes; "unavailable: <why>" when it
        cannot be had), fetched or revalidated now, `concurrency` at a time: what the data hash counts."""
        from concurrent.futures import ThreadPoolExecutor

        def one(url: str) -> str:
            try:
                return self._versioned(url)[1]
            except MediaProblem as problem:
                return f"unavailable: {problem.reason}"

        with ThreadPoolExecutor(self._concurrency) as pool:
            return list(pool.map(one, urls))

    def _get(self, url: str, headers: dict[str, str]) -> httpx.Response:
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(2.0, 0.2 * 2**attempt))
            try:
                with self._slots:
                    response = self._client.get(url, headers=headers)
            except httpx.TimeoutException:
                problem = f"no answer within {self.timeout_s:g} s"
                continue
            except httpx.HTTPError as exc:
                problem = f"cannot connect ({type(exc).__name__}: {exc})"
                continue
            if response.status_code not in _RETRY_STATUS:
                return response
            problem = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
        raise MediaProblem(url, f"{problem} ({self.retries + 1} tries)")

    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return self.cache / f"{key}.bin", self.cache / f"{key}.json"

    def _cached(self, url: str) -> tuple[bytes | None, dict]:
        body, meta = self._paths(url)
        try:
            return body.read_bytes(), json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None, {}

    def _store(self, url: str, content: bytes, etag: str | None) -> None:
        body, meta = self._paths(url)
        self.cache.mkdir(parents=True, exist_ok=True)
        # written aside then renamed: a reader in another thread or process never sees half a file
        for path, data in ((body, content), (meta, json.dumps({"url": url, "etag": etag}).encode())):
            part = path.with_suffix(f".{threading.get_ident()}.part")
            part.write_bytes(data)
            part.replace(path)


def _version(body: bytes, etag: str | None) -> str:
    return etag or hashlib.sha256(body).hexdigest()[:16]


_STORE: MediaStore | None = None
_LOCK = threading.Lock()


def store() -> MediaStore:
    """The process's store, made from the settings on first use."""
    global _STORE
    with _LOCK:
        if _STORE is None:
            settings = Settings()
            _STORE = MediaStore(
                settings.braid_home / "media",
                timeout_s=settings.braid_media_timeout_s,
                retries=settings.braid_media_retries,
                concurrency=settings.braid_media_concurrency,
                s3_endpoint_url=settings.braid_s3_endpoint_url,
            )
        return _STORE


def reset_store(new: MediaStore | None = None) -> None:
    """Replace the process's store (None: made again from the settings on next use)."""
    global _STORE
    with _LOCK:
        _STORE = new
