"""Debian's `chromium`, headless (installed by .ci/run), for tests that check pages really render."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian's chromium (.ci/run installs it: apt-get install chromium)"
)


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    """Run chromium headless with a profile of its own, so parallel tests do not share one."""
    return subprocess.run(
        [
            shutil.which("chromium"),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def loaded_images(page: Path, scratch: Path) -> tuple[int, str]:
    """(images that decoded, the DOM) of `page` opened from disk. The product page carries no script,
    so the count comes from a copy of it with a probe appended."""
    probe = scratch / "probe.html"
    probe.write_text(
        page.read_text(encoding="utf-8").replace(
            "</body>",
            (
                "<script>document.body.dataset.loaded = [...document.images]"
                ".filter(i => i.complete && i.naturalWidth > 0).length;</script></body>"
            ),
        ),
        encoding="utf-8",
    )
    done = chromium("--virtual-time-budget=5000", "--dump-dom", probe.as_uri(), profile=scratch / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    marker = done.stdout.split('data-loaded="', 1)
    return (int(marker[1].split('"', 1)[0]) if len(marker) == 2 else 0), done.stdout
