"""The one-page report: Markdown, or a self-contained HTML page with the charts.

The HTML inlines plotly.js once (about 4.5 MB), so the downloaded file opens offline. The figure builders are
public so the dashboard page draws exactly the charts the report holds.
"""
from __future__ import annotations

import datetime as dt
import html
import math
from typing import Sequence

import plotly.graph_objects as go
import plotly.io as pio

from tl_core.feasibility.label_curve import LabelCurve
from tl_core.feasibility.recommend import Recommendation
from tl_core.feasibility.results import Score
from tl_core.feasibility.sweep import SettingScore, SweepReport
from tl_core.feasibility.validate import REASONS, ValidationReport

_HEIGHT = 380


def _pm(score: Score) -> str:
    return "–" if not score.runs else f"{score.target_acc_mean:.3f} ± {score.target_acc_sd:.3f}"


# ---------------------------------------------------------------- figures


def counts_figure(validation: ValidationReport) -> go.Figure:
    fig = go.Figure(go.Bar(x=list(validation.counts), y=list(validation.counts.values()), name="usable images"))
    if validation.excluded_classes:
        fig.add_bar(x=list(validation.excluded_classes), y=[0] * len(validation.excluded_classes),
                    name="excluded (too small)")
    fig.update_layout(title="Usable images per class", xaxis_title="class", yaxis_title="images", height=_HEIGHT,
                      uirevision="counts")
    return fig


def sweep_figure(sweep: SweepReport) -> go.Figure:
    settings = [s for s in (*sweep.probe, *sweep.finetune) if s.score.runs]
    settings.sort(key=lambda s: s.score.target_acc_mean)
    fig = go.Figure()
    for stage, colour in (("probe", "#636efa"), ("fine-tune", "#ef553b")):
        rows = [s for s in settings if s.stage == stage]
        if rows:
            fig.add_bar(y=[s.label for s in rows], x=[s.score.target_acc_mean for s in rows], orientation="h",
                        error_x={"type": "data", "array": [s.score.target_acc_sd for s in rows]},
                        name="linear probe" if stage == "probe" else "fine-tune", marker_color=colour,
                        hovertemplate="%{y}<br>accuracy %{x:.3f}<extra></extra>")
    fig.update_layout(title="Quick sweep: target accuracy (mean ± sd over folds)", xaxis_title="target accuracy",
                      xaxis_range=[0, 1], height=max(_HEIGHT, 60 + 40 * len(settings)), uirevision="sweep",
                      margin={"l": 20})
    fig.update_yaxes(automargin=True)
    return fig


def label_curve_figure(curve: LabelCurve) -> go.Figure:
    fig = go.Figure()
    for arm, points, colour in ((curve.transfer_label, curve.transfer, "#636efa"),
                                (curve.scratch_label, curve.scratch, "#ef553b")):
        rows = [p for p in points if p.labels_per_class and p.score.runs]
        if rows:
            fig.add_scatter(x=[p.labels_per_class for p in rows], y=[p.score.target_acc_mean for p in rows],
                            error_y={"type": "data", "array": [p.score.target_acc_sd for p in rows]},
                            mode="lines+markers", name=arm, line_color=colour)
    e = curve.extrapolation
    if e.method != "none" and math.isfinite(e.current_labels):
        xs = [e.current_labels * 2 ** (i / 10) for i in range(0, 21)]
        fig.add_scatter(x=xs, y=list(e.predict(xs)), mode="lines", line={"dash": "dash", "color": "#636efa"},
                        name=f"extrapolated ({e.method})")
    fig.update_xaxes(type="log", title="labelled images per class")
    fig.update_layout(title="How many labels? Target accuracy against labels per class", yaxis_title="target accuracy",
                      yaxis_range=[0, 1], height=_HEIGHT, uirevision="curve")
    return fig


def confusion_figure(setting: SettingScore) -> go.Figure:
    classes = list(setting.score.classes)
    fig = go.Figure(go.Heatmap(z=[list(r) for r in setting.score.confusion], x=classes, y=classes,
                               colorscale="Blues", hovertemplate="true %{y}<br>predicted %{x}<br>%{z} images"
                                                                 "<extra></extra>"))
    fig.update_layout(title=f"Confusion matrix (test images of all folds): {setting.label}", xaxis_title="predicted",
                      yaxis_title="true", yaxis_autorange="reversed", height=_HEIGHT + 60, uirevision="confusion")
    return fig


def per_class_figure(setting: SettingScore) -> go.Figure:
    fig = go.Figure(go.Bar(x=list(setting.score.classes), y=[a if a is not None else 0 for a in
                                                              setting.score.per_class_acc]))
    fig.update_layout(title=f"Per-class accuracy: {setting.label}", yaxis_range=[0, 1], yaxis_title="accuracy",
                      height=_HEIGHT, uirevision="per-class")
    return fig


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


# ---------------------------------------------------------------- Markdown


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    def cell(v: object) -> str:
        return str(v).replace("|", "\\|")

    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(cell(v) for v in row) + " |" for row in rows), ""]


def _validation_md(v: ValidationReport) -> list[str]:
    lines = ["## Data", "", f"{len(v.classes)} classes, {v.num_images} usable images "
             f"(smallest class: {v.images_per_class})."]
    if v.size_stats:
        s = v.size_stats
        lines.append(f"Image sizes: width {s['width_min']:.0f}–{s['width_max']:.0f} (median {s['width_median']:.0f}), "
                     f"height {s['height_min']:.0f}–{s['height_max']:.0f} (median {s['height_median']:.0f}). "
                     f"Modes: {', '.join(f'{k} {n}' for k, n in v.modes.items())}. "
                     f"Formats: {', '.join(f'{k} {n}' for k, n in v.formats.items())}.")
    lines.append("")
    lines += _table(["class", "usable images"], list(v.counts.items()))
    for message in v.messages():
        lines.append(f"- {message}")
    if v.skipped:
        lines += ["", "<details><summary>Skipped files</summary>", ""]
        lines += _table(["file", "reason", "detail"], [(s.path, REASONS[s.reason], s.detail) for s in v.skipped[:200]])
        if len(v.skipped) > 200:
            lines.append(f"… and {len(v.skipped) - 200} more.")
        lines += ["</details>", ""]
    return lines + [""]


def _sweep_md(sweep: SweepReport) -> list[str]:
    rows = [(s.label, _pm(s.score), s.score.runs, f"{s.score.seconds:.1f}")
            for s in (*sweep.probe, *sweep.finetune)]
    lines = ["## Quick sweep", "", "Linear probes of each candidate, then fine-tuning of the best at the most "
             "promising freeze depths; accuracy on held-out test images, mean ± sd over folds.", ""]
    lines += _table(["setting", "target accuracy", "folds", "seconds"], rows)
    if sweep.pending:
        lines.append(f"{sweep.pending} planned runs have not finished yet.")
    failures = [f for s in (*sweep.probe, *sweep.finetune) for f in s.score.failures]
    if failures:
        lines.append(f"{len(failures)} runs did not finish: {'; '.join(sorted(set(failures))[:3])}")
    best = sweep.best
    if best is not None and best.score.classes:
        lines += ["", f"Per-class accuracy of the best setting ({best.label}):", ""]
        lines += _table(["class", "accuracy"], [(c, "–" if a is None else f"{a:.2f}")
                                                for c, a in zip(best.score.classes, best.score.per_class_acc)])
    lines.append(f"Training time of the sweep: {sweep.seconds:.1f} s.")
    return lines + [""]


def _curve_md(curve: LabelCurve) -> list[str]:
    lines = ["## How many labels?", ""]
    transfer, scratch = {p.budget: p for p in curve.transfer}, {p.budget: p for p in curve.scratch}
    rows = []
    for budget in sorted({*transfer, *scratch}, key=lambda b: math.inf if b is None else b):
        t, s = transfer.get(budget), scratch.get(budget)
        used = next((p.labels_per_class for p in (t, s) if p is not None and p.labels_per_class is not None), None)
        rows.append(("all" if budget is None else budget, "–" if used is None else f"{used:.1f}",
                     _pm(t.score) if t else "–", _pm(s.score) if s else "–"))
    lines += _table(["budget per class", "labels per class used", curve.transfer_label, curve.scratch_label], rows)
    e = curve.extrapolation
    if e.method != "none":
        lines.append(f"Extrapolation ({e.method}): {e.predicted_2x:.3f} predicted at {2 * e.current_labels:.0f} labels "
                     f"per class and {e.predicted_4x:.3f} at {4 * e.current_labels:.0f} (now {e.current_acc:.3f} at "
                     f"{e.current_labels:.0f}); more labels are "
                     f"{'still paying off' if e.still_paying_off else 'no longer paying off much'}.")
    return lines + [""]


def _recommendation_md(r: Recommendation) -> list[str]:
    return ["## Recommendation", "", f"**{r.headline}**", "", f"Grid cell: **{r.size} target × "
            f"{r.similarity}** to the source. {r.advice}", "", *(f"- {e}" for e in r.evidence), ""]


def render_markdown(validation: ValidationReport | None = None, sweep: SweepReport | None = None,
                    curve: LabelCurve | None = None, recommendation: Recommendation | None = None,
                    title: str = "Feasibility check") -> str:
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [f"# {title}", "", f"Transfer Lab, {stamp}.", ""]
    if recommendation is not None:
        lines += _recommendation_md(recommendation)
    if validation is not None:
        lines += _validation_md(validation)
    if sweep is not None:
        lines += _sweep_md(sweep)
    if curve is not None:
        lines += _curve_md(curve)
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- HTML


_CSS = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
.headline{font-size:1.15em;background:#f3f5ff;padding:.8em;border-left:4px solid #636efa}"""


def _md_table_to_html(lines: list[str]) -> str:
    rows = [line.strip("|").split(" | ") for line in lines if not line.startswith("|---")]
    head, body = rows[0], rows[1:]
    cells = "".join(f"<th>{html.escape(h.strip())}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(c.strip())}</td>" for c in r) + "</tr>" for r in body)
    return f"<table><tr>{cells}</tr>{trs}</table>"


def _markdown_to_html(text: str) -> str:
    """Just enough Markdown for this report (headings, bold lines, lists, tables, details)."""
    out, table, items = [], [], []

    def flush() -> None:
        if table:
            out.append(_md_table_to_html(table))
            table.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        if line.startswith("- "):
            items.append(line[2:])
            continue
        flush()
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith(("<details>", "</details>")):
            out.append(line.replace("<summary>", "<summary>").replace("</summary>", "</summary>"))
        elif line.startswith("**") and line.endswith("**"):
            out.append(f'<p class="headline">{html.escape(line.strip("*"))}</p>')
        elif line:
            escaped = html.escape(line)
            while "**" in escaped:
                escaped = escaped.replace("**", "<b>", 1).replace("**", "</b>", 1)
            out.append(f"<p>{escaped}</p>")
    flush()
    return "\n".join(out)


def render_html(validation: ValidationReport | None = None, sweep: SweepReport | None = None,
                curve: LabelCurve | None = None, recommendation: Recommendation | None = None,
                title: str = "Feasibility check") -> str:
    """One self-contained page: the Markdown report as HTML, then the charts (plotly.js inlined once)."""
    body = _markdown_to_html(render_markdown(validation, sweep, curve, recommendation, title))
    charts = []
    for i, fig in enumerate(figures(validation, sweep, curve).values()):
        charts.append(pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False}))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>{body}<h2>Charts</h2>{''.join(charts)}</body></html>")
