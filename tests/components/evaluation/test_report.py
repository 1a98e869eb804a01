"""The run report: one self-contained HTML page that loads nothing, escapes what it shows, and opens in a browser."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

from components.errors import InputError, StorageError
from components.evaluation.report import RunReport, render_html, write_html
from tests.browser import chromium, loaded_images, needs_chromium

EVIL = "<script>alert('x')</script>"
HEADINGS = [
    "Contract",
    "Data",
    "Validation",
    "Drift",
    "Search",
    "Evaluation",
    "Contributions",
    "Decision",
    "How to score",
    "Environment",
    "Links",
]
LINKS = {
    "MLflow run": "http://127.0.0.1:5000/#/experiments/1/runs/abc",
    "Prefect flow run": "https://prefect.local/runs/1",
}


def _png(path: Path, title: str) -> str:
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().plot([0, 1, 2], [1, 0, 2])
    fig.suptitle(title)
    fig.savefig(path, format="png")
    return str(path)


def _report(tmp_path: Path, **overrides) -> RunReport:
    fields = dict(
        title="braid-demo run 3f2a",
        contract={
            "name": "demo",
            "description": "reviews with photos",
            "features": [
                {"name": EVIL, "modality": "text", "encoders": ["tfidf"]},
                {"name": "price", "modality": "numerical"},
            ],
            "targets": [{"name": "genre", "task": "classification"}],
        },
        data={"rows": {"train": 80, "validation": 10, "test": 10}, "quarantined_rows": 2, "source": "data/demo.csv"},
        validation_markdown="| expectation | result |\n|---|---|\n| not null | passed |",
        data_docs=str(tmp_path / "gx" / "index.html"),
        drift_markdown="No drift in **price**.",
        leaderboard=[
            {
                "trial_id": "t0",
                "status": "COMPLETED",
                "score": 0.8123,
                "metrics": {"genre/f1": 0.77},
                "pareto": True,
                "hyperparameters": {"learning_rate": 0.001, "text_block": "cnn"},
            },
            {"trial_id": "t1", "status": "FAILED", "score": None},
        ],
        leaderboard_objective="val_combined_score (higher is better)",
        metrics_markdown=f"| head | metric | model | baseline | classical |\n|---|---|---|---|---|\n"
        f"| {EVIL} | f1 | 0.77 | 0.33 | 0.70 |",
        contributions_markdown="| feature | drop |\n|---|---|\n| price | 0.05 |",
        decision_markdown="Promoted: **0.81** beats the champion's 0.79.",
        how_to_score=["braid score --model models:/demo/3 data.csv", "import components as ak"],
        environment={"python": "3.11.9", "tensorflow": "2.20.0", "device": "cpu"},
        plots={
            "search": [_png(tmp_path / "leaderboard.png", "leaderboard")],
            "evaluation": [_png(tmp_path / "confusion.png", "confusion"), str(tmp_path / "gone.png")],
        },
        links=LINKS,
    )
    return RunReport(**{**fields, **overrides})


class _Attributes(HTMLParser):
    """Every src and href in a page, and the tags seen."""

    def __init__(self) -> None:
        super().__init__()
        self.src, self.href, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            (self.src if name == "src" else self.href if name == "href" else []).append(value)


def _attributes(html: str) -> _Attributes:
    parser = _Attributes()
    parser.feed(html)
    return parser


def test_the_page_shows_every_section_escapes_names_and_embeds_its_images(tmp_path):
    report = _report(tmp_path)
    html = render_html(report)
    assert html.startswith("<!DOCTYPE html>")
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in html and heading in html.split("</nav>")[0], heading
    assert EVIL not in html and "&lt;script&gt;" in html, "a column name is shown as text, never run"
    assert "<table>" in html and "<th>expectation</th>" in html, "markdown tables become HTML tables"
    assert "<th>val_combined_score</th>" in html, "the leaderboard's column names its objective"
    assert "<strong>price</strong>" in html and "0.8123" in html and "genre/f1" in html and "★" in html
    assert "learning_rate = 0.001" in html and "braid score --model models:/demo/3 data.csv" in html
    assert f"plot missing: {tmp_path / 'gone.png'}" in html

    found = _attributes(html)
    assert "script" not in found.tags and "link" not in found.tags, "the page carries no script and no stylesheet link"
    assert len(found.src) == 2 and all(s.startswith("data:image/png;base64,") for s in found.src)
    external = [h for h in found.href if not h.startswith("#")]
    data_docs = (tmp_path / "gx" / "index.html").as_uri()
    assert sorted(external) == sorted([*LINKS.values(), data_docs]), "the only links out are the ones given"
    assert 'src="http' not in html


def test_markdown_cannot_inject_html_or_make_the_page_load_anything(tmp_path):
    text = (
        "raw <img src=http://evil.example/x.png> and ![pic](http://evil.example/y.png) "
        "[bad](javascript:alert(1)) [ok](https://example.org) <b onclick=x>bold</b>"
    )
    html = render_html(RunReport(title="t", decision_markdown=text))
    found = _attributes(html)
    assert found.src == [], "neither raw HTML nor a markdown image becomes an <img>"
    assert "javascript:" not in "".join(found.href) and "https://example.org" in found.href
    assert "&lt;img src=http://evil.example/x.png&gt;" in html and "&lt;b onclick=x&gt;" in html


def test_a_report_with_only_a_title_marks_every_section_not_available():
    html = render_html(RunReport(title="empty run"))
    assert html.count('<p class="na">not available</p>') == len(HEADINGS)
    assert "<img" not in html


def test_bad_reports_are_refused_with_the_field_named(tmp_path):
    with pytest.raises(InputError, match="title"):
        RunReport(title=" ")
    with pytest.raises(InputError, match=r"plots\['search'\]"):
        RunReport(title="t", plots={"search": "one.png"})
    with pytest.raises(InputError, match="'evil'.*javascript"):
        RunReport(title="t", links={"evil": "javascript:alert(1)"})
    with pytest.raises(InputError, match=r"leaderboard\[0\]"):
        RunReport(title="t", leaderboard=[{"score": 1.0}])
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="run report"):
        write_html(RunReport(title="t"), blocker / "report.html")


@needs_chromium
def test_the_page_opens_in_a_headless_browser_with_its_images_loaded(tmp_path):
    page = write_html(_report(tmp_path), tmp_path / "out" / "report.html")
    loaded, dom = loaded_images(page, tmp_path)
    assert loaded == 2, "both embedded plots decode in a browser"
    assert "braid-demo run 3f2a" in dom and "&lt;script&gt;alert" in dom

    shot = tmp_path / "shot.png"
    done = chromium("--window-size=1200,2400", f"--screenshot={shot}", page.as_uri(), profile=tmp_path / "profile")
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    pixels = imread(shot)
    assert pixels.shape[0] >= 1000 and np.std(pixels[..., :3]) > 0.05, "the screenshot shows a page, not a blank"
