"""Image cells: where an image comes from, and whether it is usable — one algorithm for validation,
preprocessing and serving (Pillow only: no TensorFlow, so `braid validate` stays light).

A cell is encoded bytes (a Parquet binary column, or a `{"bytes": ...}` struct), a base64 data URI
(`data:image/png;base64,...`, how a JSON client such as a REST call to the served model sends bytes in a
string column), an `http(s)://` URL (`components.data.media`: cached, bounded, retried) or a path
relative to the image root. `os.path.normpath` removes "..": a path that then does not start with the root
escapes it, as does an absolute path; `os.path.realpath` then catches symlinks inside the root that
lead out of it.
"""

from __future__ import annotations

import base64
import binascii
import os
from io import BytesIO
from typing import Any

import pandas as pd
from PIL import Image, UnidentifiedImageError

from components.data.media import MediaProblem, is_url, store


class ImageProblem(Exception):
    """One cell's image is unusable: `check` names the rule it broke, `reason` says how."""

    def __init__(self, check: str, reason: str):
        super().__init__(reason)
        self.check, self.reason = check, reason


def normalized_root(root: Any) -> str | None:
    return os.path.normpath(os.path.abspath(root)) if root is not None else None


def locate(cell: Any, root: str | None) -> bytes | str | None:
    """Where one cell's image comes from: raw bytes, a checked path under `root`, or None (empty cell).

    Args:
        cell: the raw cell.
        root: the image root, normalised (`normalized_root`); None when the contract has none.

    Raises:
        ImageProblem: the path is absolute, leads outside the root, or names no file.
    """
    if isinstance(cell, dict):  # Parquet struct as written by e.g. Hugging Face datasets
        if not {"bytes", "path"} & set(cell):
            raise ImageProblem(
                "image_decodes",
                f"is a mapping with keys {sorted(map(str, cell))[:5]}; send a path, a data URI, or a mapping "
                "with 'bytes' or 'path'",
            )
        cell = cell.get("bytes") or cell.get("path")
    if cell is None or (not isinstance(cell, (str, bytes, bytearray, memoryview)) and pd.isna(cell)):
        return None
    if isinstance(cell, str) and cell.startswith("data:"):
        cell = _data_uri(cell)
    elif is_url(cell):
        try:
            cell = store().fetch(cell.strip())
        except MediaProblem as problem:
            raise ImageProblem("image_fetch", f"could not be fetched: {problem.reason}") from None
    if isinstance(cell, (bytes, bytearray, memoryview)):
        if len(cell) == 0:
            raise ImageProblem("image_decodes", "is empty (0 bytes)")
        return bytes(cell)
    if root is None:
        raise ImageProblem(
            "image_exists",
            "but the contract has no source.image_root; set it to the directory the paths are relative to",
        )
    value = str(cell).strip()
    if "\x00" in value:  # the OS refuses such a path (Python raises ValueError before asking it)
        raise ImageProblem("image_exists", "holds a NUL character, which no file name can")
    path = os.path.normpath(os.path.join(root, value))
    if (
        os.path.isabs(value)
        or not path.startswith(root + os.sep)
        or not os.path.realpath(path).startswith(os.path.realpath(root) + os.sep)
    ):
        raise ImageProblem(
            "image_path_inside_root",
            f"points outside the image root {root}; paths must stay "
            "inside it (no '..', absolute paths or links out of it)",
        )
    if not os.path.isfile(path):
        raise ImageProblem("image_exists", f"names no file: {path} does not exist (no such file under {root})")
    return path


def _data_uri(cell: str) -> bytes:
    header, _, payload = cell.partition(",")
    if not header.endswith(";base64"):
        raise ImageProblem(
            "image_decodes", f"is a data URI that is not base64 ({header[:40]}); send data:image/<type>;base64,<bytes>"
        )
    try:
        return base64.b64decode(payload, validate=True)
    except binascii.Error:
        raise ImageProblem("image_decodes", "is a data URI whose base64 payload does not decode") from None


def check_image(cell: Any, root: str | None, expect: Any) -> tuple[str, str] | None:
    """None if the cell's image is usable under the contract's `expect`, else (check, reason).

    Sizes are read from the header; with `expect.image_must_decode` the whole file is decoded (JPEG
    draft mode decodes at 1/8 scale: every byte is still read, so truncation shows).
    """
    try:
        source = locate(cell, root)
    except ImageProblem as problem:
        return problem.check, problem.reason
    if source is None:
        return None
    if isinstance(source, str) and os.path.getsize(source) == 0:
        return "image_decodes", "empty file (0 bytes)"
    try:
        with Image.open(BytesIO(source) if isinstance(source, bytes) else source) as image:
            width, height = image.size
            if width * height > (Image.MAX_IMAGE_PIXELS or float("inf")):
                return "image_decodes", f"{width}x{height} pixels: over Pillow's MAX_IMAGE_PIXELS (decompression bomb)"
            if expect.min_image_size and (width < expect.min_image_size[0] or height < expect.min_image_size[1]):
                return "image_size_between", f"{width}x{height} is smaller than {expect.min_image_size}"
            if expect.max_image_size and (width > expect.max_image_size[0] or height > expect.max_image_size[1]):
                return "image_size_between", f"{width}x{height} is larger than {expect.max_image_size}"
            if expect.image_must_decode:
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
                image.load()
    except Image.DecompressionBombError as exc:
        return "image_decodes", f"decompression bomb: {exc}"
    except UnidentifiedImageError:
        return "image_decodes", "not an image file Pillow can read"
    except (OSError, SyntaxError, ValueError) as exc:
        return "image_decodes", f"cannot decode: {exc}"
    return None
