"""The run report a person reads: one self-contained HTML page (a model card) per pipeline run.

The page loads nothing: CSS is inline, plots are embedded as `data:` URIs, and there is no script,
so it opens from disk, from an MLflow artifact or from an e-mail attachment the same way. Links to
the MLflow run, the Prefect flow run or Great Expectations Data Docs stay links the reader may follow.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jinja2
import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

from components.errors import InputError, StorageError

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_LINK_SCHEMES = ("http", "https", "file", "mailto")
# plots under these keys are drawn inside their own section; any other key gets a section of its own
_PLOT_SECTIONS = ("search", "evaluation", "contributions")


@dataclass(frozen=True)
class RunReport:
    """Everything the run report shows, as plain values; every field but `title` may stay empty.

    Args:
        title: the page's heading (e.g. "braid-demo: run 3f2a…").
        contract: `name`, `description`, `features` ([{name, modality, ...}]), `targets` ([{name, task, ...}]).
        data: rows per split, quarantined rows, source path... (shown as a key/value table).
        validation_markdown: the data validation report, in Markdown.
        data_docs: path or URL of Great Expectations Data Docs' index.html (shown as a link).
        drift_markdown: the drift report, in Markdown.
        leaderboard: one dict per trial, in the order shown (best first): `trial_id`, `status`, `score`,
            optional `metrics` ({name: value}, one column each), `pareto` (bool), `hyperparameters` (dict);
            other scalar keys become columns too.
        leaderboard_objective: what `score` is (e.g. "val_combined_loss (lower is better)").
        metrics_markdown: per head, model vs trivial baseline vs classical baseline (a Markdown table).
        contributions_markdown: what each feature contributes, in Markdown.
        decision_markdown: the champion gate's decision and why, in Markdown.
        how_to_score: shell commands or Python snippets, one code block each.
        environment: Python, package versions, device.
        plots: section ("search", "evaluation", "contributions" or any other name) → PNG file paths.
        links: label → URL (MLflow run, Prefect flow run...); http(s), file URLs or local paths.
    """

    title: str
    contract: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    validation_markdown: str | None = None
    data_docs: str | None = None
    drift_markdown: str | None = None
    leaderboard: list[dict] = field(default_factory=list)
    leaderboard_objective: str = ""
    metrics_markdown: str | None = None
    contributions_markdown: str | None = None
    decision_markdown: str | None = None
    how_to_score: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    plots: dict[str, list[str]] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.title, str) or not self.title.strip():
            raise InputError(f"RunReport.title must be a non-empty string, got {self.title!r}")
        for section, paths in self.plots.items():
            if isinstance(paths, (str, Path)) or not all(isinstance(p, (str, Path)) for p in paths):
                raise InputError(f"RunReport.plots[{section!r}] must be a list of PNG paths, got {paths!r}")
        for i, row in enumerate(self.leaderboard):
            if not isinstance(row, dict) or "trial_id" not in row:
                raise InputError(f"RunReport.leaderboard[{i}] must be a dict with a 'trial_id', got {row!r}")
        for label, url in {**self.links, "data_docs": self.data_docs or ""}.items():
            _href(url, label)


def render_html(report: RunReport) -> str:
    """The report as one HTML5 page that loads nothing from anywhere: inline CSS, embedded PNGs, no script.

    Text is escaped (a column named `<script>` shows as text); Markdown fields are converted with
    tables, and raw HTML or images inside them are shown as text, never run or loaded. A plot whose
    file is missing or not a PNG becomes a visible "plot missing: <path>" note.

    Example:
        >>> html = render_html(RunReport(title="demo", metrics_markdown="| head | f1 |\\n|---|---|\\n| y | 0.9 |"))
    """
    plots = {section: [_embed(p) for p in paths] for section, paths in report.plots.items()}
    sections = [
        ("contract", "Contract"),
        ("data", "Data"),
        ("validation", "Validation"),
        ("drift", "Drift"),
        ("search", "Search"),
        ("evaluation", "Evaluation"),
        ("contributions", "Contributions"),
        ("decision", "Decision"),
        ("scoring", "How to score"),
        ("environment", "Environment"),
    ]
    extra = [(_anchor(name), name) for name in plots if name not in _PLOT_SECTIONS]
    lb = report.leaderboard
    metric_columns = list(dict.fromkeys(k for row in lb for k in (row.get("metrics") or {})))
    other_columns = list(
        dict.fromkeys(
            k
            for row in lb
            for k in row
            if k not in ("trial_id", "status", "score", "metrics", "pareto", "hyperparameters")
        )
    )
    return _TEMPLATE.render(
        r=report,
        md=_markdown,
        fmt=_format,
        plots=plots,
        sections=[*sections, *extra, ("links", "Links")],
        extra=extra,
        contract_cards=[
            _card("Features", "modality", report.contract.get("features")),
            _card("Targets", "task", report.contract.get("targets")),
        ],
        metric_columns=metric_columns,
        other_columns=other_columns,
        has_pareto=any("pareto" in row for row in lb),
        links={label: _href(url, label) for label, url in report.links.items() if url},
        data_docs=_href(report.data_docs, "data_docs") if report.data_docs else None,
    )


def write_html(report: RunReport, path: Path) -> Path:
    """Renders the report and writes it to `path` (parent folders are made); returns the path."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_html(report), encoding="utf-8")
    except OSError as err:
        raise StorageError(f"cannot write the run report to {path}: {err}; choose a writable path") from err
    return path


def _embed(path: str | Path) -> dict[str, str | None]:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return {"path": str(path), "uri": None}
    if not data.startswith(_PNG_SIGNATURE):
        return {"path": str(path), "uri": None}
    return {"path": str(path), "uri": "data:image/png;base64," + base64.b64encode(data).decode("ascii")}


def _href(url: str, label: str) -> str:
    """A link target the page may carry: an http(s)/file/mailto URL as is, a local path as a file:// URL."""
    if not url:
        return ""
    scheme = urlparse(url).scheme.lower()
    if scheme in _LINK_SCHEMES:
        return url
    if scheme and not re.fullmatch(r"[a-z]", scheme):  # one letter is a Windows drive, i.e. a path
        raise InputError(f"link {label!r} has scheme {scheme!r}; use an http(s) or file URL or a local path")
    return Path(url).absolute().as_uri()


def _card(heading: str, kind: str, items: list[dict] | None) -> tuple[str, str, list[tuple[Any, Any, dict]]]:
    """A contract table: name, modality (or task) and every other key of each feature (or target)."""
    rows = [
        (it.get("name"), it.get(kind), {k: v for k, v in it.items() if k not in ("name", kind)}) for it in items or []
    ]
    return heading, kind, rows


def _anchor(name: str) -> str:
    return "plots-" + (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "other")


def _format(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_format(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_format(v) for v in value)
    return str(value)


class _Inert(Treeprocessor):
    """Links keep only safe targets; images become text, so nothing in Markdown makes the page load."""

    def run(self, root):  # type: ignore[no-untyped-def]
        for element in root.iter():
            if element.tag == "a" and urlparse(element.get("href", "")).scheme.lower() not in ("", *_LINK_SCHEMES):
                del element.attrib["href"]
            elif element.tag == "img":
                element.text = f"[image not embedded: {element.get('src', '')}]"
                element.tag, element.attrib = "span", {}


class _SafeMarkdown(Extension):
    def extendMarkdown(self, md):  # type: ignore[no-untyped-def]
        # without these two, raw HTML (a column named "<script>") would pass through unescaped
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_Inert(md), "braid_inert", 5)  # after "inline" (20) has made links


def _markdown(text: str | None) -> Markup:
    return Markup(markdown.markdown(text or "", extensions=["tables", _SafeMarkdown()]))


_TEMPLATE = jinja2.Environment(
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
).from_string("""\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ r.title }}</title>
<style>
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;max-width:1040px;margin:0 auto;padding:0 1.2em 3em}
h1{margin:.8em 0 .2em}h2{border-bottom:2px solid #e3e6ea;padding-bottom:.2em;margin-top:1.8em}
nav{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #e3e6ea;font-size:.9em}
nav a{margin-right:1em;color:#0b5cad;text-decoration:none}a{color:#0b5cad}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{border:1px solid #d6dadf;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f5f7}tr:nth-child(even) td{background:#fafbfc}
pre{background:#f6f8fa;padding:.7em;overflow-x:auto;border-radius:4px}code{font-size:.9em}
img{max-width:100%;border:1px solid #e3e6ea;margin:.4em 0}figure{margin:.8em 0}figcaption{color:#666;font-size:.85em}
.na{color:#888;font-style:italic}.missing{color:#a00;background:#fff3f3;padding:.3em .6em}
</style></head><body>
<h1>{{ r.title }}</h1>
<nav>{% for id, name in sections %}<a href="#{{ id }}">{{ name }}</a>{% endfor %}</nav>
{% macro na(ok) %}{% if not ok %}<p class="na">not available</p>{% endif %}{% endmacro %}
{% macro kv(d) %}{% if d %}<table>{% for k, v in d.items() %}<tr><th>{{ k }}</th><td>{{ fmt(v) }}</td></tr>{% endfor %}</table>{% endif %}{% endmacro %}
{% macro figures(name) %}{% for p in plots.get(name, []) %}{% if p.uri %}<figure><img src="{{ p.uri }}" alt="{{ p.path }}">
<figcaption>{{ p.path }}</figcaption></figure>{% else %}<p class="missing">plot missing: {{ p.path }}</p>{% endif %}{% endfor %}{% endmacro %}
{% set c = r.contract %}
<section id="contract"><h2>Contract</h2>{{ na(c) }}
{% if c.get("name") %}<p><strong>{{ c["name"] }}</strong></p>{% endif %}{% if c.get("description") %}<p>{{ c["description"] }}</p>{% endif %}
{% for heading, kind, items in contract_cards if items %}<h3>{{ heading }}</h3><table><tr><th>name</th><th>{{ kind }}</th><th>details</th></tr>
{% for name, value, details in items %}<tr><td>{{ name }}</td><td>{{ value }}</td><td>{{ fmt(details) }}</td></tr>{% endfor %}</table>{% endfor %}</section>
<section id="data"><h2>Data</h2>{{ na(r.data) }}{{ kv(r.data) }}</section>
<section id="validation"><h2>Validation</h2>{{ na(r.validation_markdown or data_docs) }}{{ md(r.validation_markdown) }}
{% if data_docs %}<p><a href="{{ data_docs }}">Great Expectations Data Docs</a></p>{% endif %}</section>
<section id="drift"><h2>Drift</h2>{{ na(r.drift_markdown) }}{{ md(r.drift_markdown) }}</section>
<section id="search"><h2>Search</h2>{{ na(r.leaderboard or plots.get("search")) }}
{% if r.leaderboard %}{% if r.leaderboard_objective %}<p>Objective: <code>{{ r.leaderboard_objective }}</code></p>{% endif %}
<table><tr><th>trial</th><th>status</th><th>{{ r.leaderboard_objective.partition(" ")[0] or "score" }}</th>{% for m in other_columns + metric_columns %}<th>{{ m }}</th>{% endfor %}
{% if has_pareto %}<th>Pareto</th>{% endif %}<th>hyperparameters</th></tr>
{% for t in r.leaderboard %}<tr><td>{{ t["trial_id"] }}</td><td>{{ fmt(t.get("status")) }}</td><td>{{ fmt(t.get("score")) }}</td>
{% for m in other_columns %}<td>{{ fmt(t.get(m)) }}</td>{% endfor %}{% for m in metric_columns %}<td>{{ fmt((t.get("metrics") or {}).get(m)) }}</td>{% endfor %}
{% if has_pareto %}<td>{{ "★" if t.get("pareto") else "" }}</td>{% endif %}
<td>{% if t.get("hyperparameters") %}<details><summary>show {{ t["hyperparameters"] | length }}</summary>
{% for k, v in t["hyperparameters"].items() %}<code>{{ k }} = {{ fmt(v) }}</code><br>{% endfor %}</details>{% endif %}</td></tr>{% endfor %}
</table>{% endif %}{{ figures("search") }}</section>
<section id="evaluation"><h2>Evaluation</h2>{{ na(r.metrics_markdown or plots.get("evaluation")) }}{{ md(r.metrics_markdown) }}{{ figures("evaluation") }}</section>
<section id="contributions"><h2>Contributions</h2>{{ na(r.contributions_markdown or plots.get("contributions")) }}
{{ md(r.contributions_markdown) }}{{ figures("contributions") }}</section>
<section id="decision"><h2>Decision</h2>{{ na(r.decision_markdown) }}{{ md(r.decision_markdown) }}</section>
<section id="scoring"><h2>How to score</h2>{{ na(r.how_to_score) }}{% for s in r.how_to_score %}<pre><code>{{ s }}</code></pre>{% endfor %}</section>
<section id="environment"><h2>Environment</h2>{{ na(r.environment) }}{{ kv(r.environment) }}</section>
{% for id, name in extra %}<section id="{{ id }}"><h2>{{ name }}</h2>{{ na(plots[name]) }}{{ figures(name) }}</section>{% endfor %}
<section id="links"><h2>Links</h2>{{ na(links) }}<ul>{% for label, url in links.items() %}<li><a href="{{ url }}">{{ label }}</a></li>{% endfor %}</ul></section>
</body></html>
""")
