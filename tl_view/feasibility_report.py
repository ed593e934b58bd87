"""The one-page report: Markdown, or a self-contained HTML page with the charts.

The HTML inlines plotly.js once (about 4.5 MB), so the downloaded file opens offline. Its charts are the
Feasibility page's own (tl_view.feasibility_views), so the page and the report draw the same figures.

Both formats render one list of blocks (headings, paragraphs, tables, lists, details), so text from the data
(class folder and file names) is never parsed as markup: the HTML goes through Jinja2 with autoescaping, and the
Markdown escapes what Markdown would interpret.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import jinja2
import plotly.graph_objects as go
import plotly.io as pio

from tl_core.feasibility.label_curve import LabelCurve
from tl_core.feasibility.recommend import Recommendation
from tl_core.feasibility.results import Score
from tl_core.feasibility.sweep import SweepReport
from tl_core.feasibility.validate import REASONS, ValidationReport
from tl_view.feasibility_views import (SELECTION_NOTE, confusion_figure, counts_figure, extrapolation_text,
                                       label_curve_figure, per_class_figure, sweep_figure)


def _pm(score: Score) -> str:
    if not score.runs:
        return "–"
    if not score.has_spread:
        return f"{score.target_acc_mean:.3f} (one fold)"
    return f"{score.target_acc_mean:.3f} ± {score.target_acc_sd:.3f}"


def figures(validation: ValidationReport | None, sweep: SweepReport | None, curve: LabelCurve | None
            ) -> dict[str, go.Figure]:
    out: dict[str, go.Figure] = {}
    if validation is not None:
        out["counts"] = counts_figure(validation)
    if sweep is not None and sweep.best is not None:
        out["sweep"] = sweep_figure(sweep)
        out["per_class"] = per_class_figure(sweep.best)
        out["confusion"] = confusion_figure(sweep.best)
    if curve is not None and (curve.transfer or curve.scratch):
        out["label_curve"] = label_curve_figure(curve)
    return out


# ---------------------------------------------------------------- blocks


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    parts: tuple[tuple[str, bool], ...]  # (text, bold)
    headline: bool = False


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Bullets:
    entries: tuple[str, ...]


@dataclass(frozen=True)
class Details:
    summary: str
    blocks: list = field(default_factory=list)


def _p(*parts: str | tuple[str, bool]) -> Para:
    return Para(tuple(p if isinstance(p, tuple) else (p, False) for p in parts))


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    return Table(tuple(header), tuple(tuple(str(v) for v in row) for row in rows))


def _validation_blocks(v: ValidationReport) -> list:
    blocks: list = [Heading(2, "Data"), _p(f"{len(v.classes)} classes, {v.num_images} usable images "
                                           f"(smallest class: {v.images_per_class}).")]
    if v.size_stats:
        s = v.size_stats
        blocks.append(_p(f"Image sizes: width {s['width_min']:.0f}–{s['width_max']:.0f} (median "
                         f"{s['width_median']:.0f}), height {s['height_min']:.0f}–{s['height_max']:.0f} (median "
                         f"{s['height_median']:.0f}). Modes: {', '.join(f'{k} {n}' for k, n in v.modes.items())}. "
                         f"Formats: {', '.join(f'{k} {n}' for k, n in v.formats.items())}."))
    blocks.append(_table(["class", "usable images"], list(v.counts.items())))
    if v.messages():
        blocks.append(Bullets(tuple(v.messages())))
    if v.skipped:
        details = Details("Skipped files", [_table(["file", "reason", "detail"],
                                                   [(s.path, REASONS[s.reason], s.detail) for s in v.skipped[:200]])])
        if len(v.skipped) > 200:
            details.blocks.append(_p(f"… and {len(v.skipped) - 200} more."))
        blocks.append(details)
    return blocks


def _sweep_blocks(sweep: SweepReport) -> list:
    rows = [(s.label, _pm(s.score), s.score.runs, f"{s.score.seconds:.1f}") for s in (*sweep.probe, *sweep.finetune)]
    blocks: list = [Heading(2, "Quick sweep"), _p("Linear probes of each candidate, then fine-tuning of the best at "
                                                  "the most promising freeze depths; accuracy on held-out test "
                                                  f"images, mean ± sd over folds. {SELECTION_NOTE}"),
                    _table(["setting", "target accuracy", "folds", "seconds"], rows)]
    if sweep.pending:
        blocks.append(_p(f"{sweep.pending} planned runs have not finished yet."))
    failures = [f for s in (*sweep.probe, *sweep.finetune) for f in s.score.failures]
    if failures:
        blocks.append(_p(f"{len(failures)} runs did not finish: {'; '.join(sorted(set(failures))[:3])}"))
    best = sweep.best
    if best is not None and best.score.classes:
        blocks += [_p(f"Per-class accuracy of the best setting ({best.label}):"),
                   _table(["class", "accuracy"], [(c, "–" if a is None else f"{a:.2f}")
                                                  for c, a in zip(best.score.classes, best.score.per_class_acc)])]
    blocks.append(_p(f"Training time of the sweep: {sweep.seconds:.1f} s."))
    return blocks


def _curve_blocks(curve: LabelCurve) -> list:
    transfer, scratch = {p.budget: p for p in curve.transfer}, {p.budget: p for p in curve.scratch}
    rows = []
    for budget in sorted({*transfer, *scratch}, key=lambda b: math.inf if b is None else b):
        t, s = transfer.get(budget), scratch.get(budget)
        used = next((p.labels_per_class for p in (t, s) if p is not None and p.labels_per_class is not None), None)
        rows.append(("all" if budget is None else budget, "–" if used is None else f"{used:.1f}",
                     _pm(t.score) if t else "–", _pm(s.score) if s else "–"))
    blocks: list = [Heading(2, "How many labels?"), _table(["budget per class", "labels per class used",
                                                            curve.transfer_label, curve.scratch_label], rows)]
    e = curve.extrapolation
    if e.method != "none":
        blocks.append(_p(extrapolation_text(curve)))
    return blocks


def _recommendation_blocks(r: Recommendation) -> list:
    blocks: list = [Heading(2, "Recommendation"), Para(((r.headline, True),), headline=True),
                    _p("Grid cell: ", (f"{r.size} target × {r.similarity}", True), f" to the source. {r.advice}")]
    if r.evidence:
        blocks.append(Bullets(tuple(r.evidence)))
    if r.caveat:
        blocks.append(_p(("What this check could not try: ", True), r.caveat))
    return blocks


def _facts_blocks(facts: dict) -> list:
    """The dataset, the settings and every stage: ran, still running, or skipped and why."""
    return [Heading(2, "What was checked"),
            _p("Dataset: ", (str(facts["dataset"]), True), f" · {facts['folds']} folds · images resized to "
               f"{facts['img_size']}×{facts['img_size']} px."),
            Bullets(tuple(f"{stage}: {what}" for stage, what in facts["stages"]))]


def report_blocks(validation: ValidationReport | None = None, sweep: SweepReport | None = None,
                  curve: LabelCurve | None = None, recommendation: Recommendation | None = None,
                  title: str = "Feasibility check", facts: dict | None = None) -> list:
    blocks: list = [Heading(1, title), _p(f"Transfer Lab, {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}.")]
    if facts is not None:
        blocks += _facts_blocks(facts)
    if recommendation is not None:
        blocks += _recommendation_blocks(recommendation)
    if validation is not None:
        blocks += _validation_blocks(validation)
    if sweep is not None:
        blocks += _sweep_blocks(sweep)
    if curve is not None:
        blocks += _curve_blocks(curve)
    return blocks


# ---------------------------------------------------------------- Markdown


def md_text(text: str) -> str:
    """Text from the data as Markdown that renders literally: one line, no HTML, no emphasis markers."""
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", str(text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("*", "\\*")


def md_cell(text: str) -> str:
    return md_text(text).replace("|", "\\|").replace("`", "\\`")


def _md(block) -> list[str]:
    if isinstance(block, Heading):
        return ["#" * block.level + " " + md_text(block.text), ""]
    if isinstance(block, Para):
        text = "".join(f"**{md_text(t)}**" if bold else md_text(t) for t, bold in block.parts)
        return [text, ""]
    if isinstance(block, Table):
        return ["| " + " | ".join(map(md_cell, block.header)) + " |", "|" + "---|" * len(block.header),
                *("| " + " | ".join(map(md_cell, row)) + " |" for row in block.rows), ""]
    if isinstance(block, Bullets):
        return [*(f"- {md_text(i)}" for i in block.entries), ""]
    return [f"<details><summary>{md_text(block.summary)}</summary>", "",
            *(line for b in block.blocks for line in _md(b)), "</details>", ""]


def render_markdown(validation: ValidationReport | None = None, sweep: SweepReport | None = None,
                    curve: LabelCurve | None = None, recommendation: Recommendation | None = None,
                    title: str = "Feasibility check", facts: dict | None = None) -> str:
    """`facts`: {'dataset', 'folds', 'img_size', 'stages': [(stage, what happened)]} (see `check_facts`)."""
    blocks = report_blocks(validation, sweep, curve, recommendation, title, facts)
    return "\n".join(line for b in blocks for line in _md(b)).rstrip() + "\n"


# ---------------------------------------------------------------- HTML


_CSS = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
.headline{font-size:1.15em;background:#f3f5ff;padding:.8em;border-left:4px solid #636efa}"""

_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{{ title }}</title><style>{{ css }}</style></head>
<body>
{%- macro render(blocks) %}{% for b in blocks %}
{%- if b.kind == "heading" %}<h{{ b.level }}>{{ b.text }}</h{{ b.level }}>
{%- elif b.kind == "para" %}<p{% if b.headline %} class="headline"{% endif %}>
{%- for text, bold in b.parts %}{% if bold %}<b>{{ text }}</b>{% else %}{{ text }}{% endif %}{% endfor %}</p>
{%- elif b.kind == "table" %}<table><tr>{% for h in b.header %}<th>{{ h }}</th>{% endfor %}</tr>
{%- for row in b.rows %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>
{%- elif b.kind == "bullets" %}<ul>{% for i in b.entries %}<li>{{ i }}</li>{% endfor %}</ul>
{%- else %}<details><summary>{{ b.summary }}</summary>{{ render(b.blocks) }}</details>
{%- endif %}
{% endfor %}{% endmacro %}
{{ render(blocks) }}<h2>Charts</h2>{% for chart in charts %}{{ chart | safe }}{% endfor %}</body></html>"""

_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(_PAGE)


def _kind(block) -> dict:
    kind = {Heading: "heading", Para: "para", Table: "table", Bullets: "bullets", Details: "details"}[type(block)]
    data = {k: getattr(block, k) for k in block.__dataclass_fields__}
    if isinstance(block, Para):
        data.setdefault("headline", False)
    if isinstance(block, Details):
        data["blocks"] = [_kind(b) for b in block.blocks]
    return {"kind": kind, "level": 0, "headline": False, **data}


def render_html(validation: ValidationReport | None = None, sweep: SweepReport | None = None,
                curve: LabelCurve | None = None, recommendation: Recommendation | None = None,
                title: str = "Feasibility check", facts: dict | None = None) -> str:
    """One self-contained page: the report's blocks as HTML, then the charts (plotly.js inlined once).

    The charts are plotly's own output (data as JSON inside a script, which plotly escapes); everything else is
    escaped by the template."""
    blocks = [_kind(b) for b in report_blocks(validation, sweep, curve, recommendation, title, facts)]
    charts = [pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
              for i, fig in enumerate(figures(validation, sweep, curve).values())]
    return _TEMPLATE.render(title=title, css=_CSS, blocks=blocks, charts=charts)


def write_report(result, out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """feasibility.md and feasibility.html of a finished `FeasibilityResult`, written to `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md, page = out / "feasibility.md", out / "feasibility.html"
    report = (result.validation, result.sweep, result.curve, result.recommendation)
    md.write_text(render_markdown(*report))
    page.write_text(render_html(*report))
    return md, page


STAGES = (("probe", "Linear probes of every candidate"), ("fine-tune", "Fine-tuning of the most promising one"),
          ("curve", "Label-budget curve"))


def check_facts(dataset: str, folds: int, img_size: int, curve_on: bool, stages: Sequence[tuple[str, int]],
                done: bool, stopped: bool = False, error: str = "") -> dict:
    """What the report says about the check itself; `stages` are (stage, runs queued) as the chain ran them."""
    ran = dict(stages)
    lines = []
    for stage, title in STAGES:
        if stage in ran:
            what = f"ran ({ran[stage]} runs)"
        elif stage == "curve" and not curve_on:
            what = "skipped: switched off in the check's settings"
        elif not done:
            what = "not started yet (it follows the stage before)"
        elif stopped:
            what = "skipped: the check was stopped"
        elif error:
            what = f"skipped: {error}"
        else:
            what = "skipped: no transferring candidate finished the stage before"
        lines.append((title, what))
    return {"dataset": dataset, "folds": folds, "img_size": img_size, "stages": lines}
