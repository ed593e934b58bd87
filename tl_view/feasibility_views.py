"""The Feasibility page's pure parts: reading the data in (every refusal becomes one message), the validation
report as tables, and the figures — usable images per class, the quick sweep, the label-budget curve with its
extrapolation, and the lectures' 2×2 grid with the recommended cell. No Streamlit here, so every piece is tested
on its own; the engine work is `tl_core.feasibility`.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from tl_core.errors import UserError
from tl_core.feasibility.demo_data import write_shapes_folder
from tl_core.feasibility.errors import UnusableDatasetError
from tl_core.feasibility.label_curve import LITTLE, PAYING_OFF, Extrapolation, LabelCurve
from tl_core.feasibility.recommend import Recommendation
from tl_core.feasibility.sweep import SettingScore, SweepReport, chosen_by
from tl_core.feasibility.upload_quota import UploadQuota
from tl_core.feasibility.uploads import extract_upload, resolve_server_folder
from tl_core.feasibility.validate import REASONS, ValidationReport, validate_folder
from tl_core.strategies import strategy_class
from tl_view import charts, fmt, theme

# ---------------------------------------------------------------------------------------------- data in


@dataclass(frozen=True)
class DataIn:
    """What reading one dataset gave: a usable report, or the one message that says what to do.

    An unusable folder keeps its report (which files were skipped and why) next to the message."""

    label: str  # what the user gave: the file name or the folder name
    folder: Path | None = None
    report: ValidationReport | None = None
    error: str = ""
    kind: str = ""  # UploadError.kind, "unusable", or "internal"

    @property
    def ok(self) -> bool:
        return not self.error and self.report is not None


def _validate(label: str, folder: Path) -> DataIn:
    try:
        return DataIn(label, folder, validate_folder(folder))
    except UnusableDatasetError as err:  # keeps its report: the page still lists what was skipped and why
        return DataIn(label, folder, err.report, str(err), err.kind)


def _guarded(label: str, read) -> DataIn:
    try:
        return read()
    except UserError as err:  # UploadError and the other DatasetErrors: a message that says what to do
        return DataIn(label, error=str(err), kind=getattr(err, "kind", "dataset"))
    except Exception as err:  # whatever else goes wrong with one user's data must not break the page
        return DataIn(label, error=f"The data could not be read ({type(err).__name__}: {err}). Check the files "
                                   "and try again.", kind="internal")


def read_upload(label: str, data: bytes, session_dir: str | os.PathLike, name: str = "dataset",
                quota: UploadQuota | None = None) -> DataIn:
    """Extract an uploaded zip into the session folder (safely, see `extract_upload`; within the owner's `quota`)
    and validate it."""
    return _guarded(label, lambda: _validate(label, extract_upload(data, session_dir, name=name, quota=quota)))


def read_server_folder(name: str, data_root: str | os.PathLike | None = None) -> DataIn:
    """A folder named under the data root (never outside it, see `resolve_server_folder`), validated."""
    return _guarded(name, lambda: _validate(name, resolve_server_folder(name, data_root)))


def read_example(folder: str | os.PathLike, num_classes: int = 4, per_class: int = 30) -> DataIn:
    """A generated example (shapes in random colours) written once into `folder`, validated like any upload."""
    folder = Path(folder)
    if not folder.is_dir():
        write_shapes_folder(folder, num_classes=num_classes, per_class=per_class)
    return _guarded("example: shapes", lambda: _validate("example: shapes", folder))


# ---------------------------------------------------------------------------------------------- tables


def class_rows(report: ValidationReport) -> list[dict]:
    """The classes that will train (the report's messages say why any other class folder will not)."""
    return [{"class": c, "usable images": n} for c, n in report.counts.items()]


def skipped_rows(report: ValidationReport, limit: int = 500) -> list[dict]:
    return [{"file": s.path, "reason": REASONS.get(s.reason, s.reason), "detail": s.detail}
            for s in report.skipped[:limit]]


def image_facts(report: ValidationReport) -> str:
    """'Widths 28–640 px (median 32) · heights … · modes RGB 118, L 2 · formats PNG 120'."""
    s = report.size_stats
    if not s:
        return ""
    parts = []
    for axis in ("width", "height"):
        low, mid, high = s[f"{axis}_min"], s[f"{axis}_median"], s[f"{axis}_max"]
        span = f"{low:.0f} px" if low == high else f"{low:.0f}–{high:.0f} px (median {mid:.0f})"
        parts.append(f"{axis}s {span}")
    parts.append("modes " + ", ".join(f"{k} {n}" for k, n in sorted(report.modes.items(), key=lambda kv: -kv[1])))
    parts.append("formats " + ", ".join(f"{k} {n}" for k, n in sorted(report.formats.items(), key=lambda kv: -kv[1])))
    text = " · ".join(parts)
    return text[0].upper() + text[1:]


def setting_rows(sweep: SweepReport) -> list[dict]:
    rows = []
    for s in (*sweep.probe, *sweep.finetune):
        rows.append({"setting": s.label, "stage": s.stage,
                     "target accuracy": _pm(s) if s.score.runs else "–",
                     "folds": s.score.runs, "failed": s.score.failed, "seconds": round(s.score.seconds, 1)})
    return rows


SELECTION_NOTE = ("Settings are ranked on each fold's validation split; the accuracies shown are on the folds' "
                  "test splits, which played no part in choosing the winner.")


def _pm(s: SettingScore) -> str:
    if not s.score.has_spread:
        return f"{s.score.target_acc_mean:.3f} (one fold)"
    return f"{s.score.target_acc_mean:.3f} ± {s.score.target_acc_sd:.3f}"


def verdict_text(e: Extrapolation) -> str:
    """Whether more labels pay off, as far as the band over folds allows."""
    if e.verdict == PAYING_OFF:
        return "more labels are still paying off"
    if e.verdict == LITTLE:
        return "more labels would add little"
    if e.gain_low != e.gain_low:
        return "undecided whether more labels pay off (one fold: no band to judge by)"
    return "undecided whether more labels pay off (the band spans both)"


def extrapolation_text(curve: LabelCurve | None) -> str:
    if curve is None:
        return ""
    e = curve.extrapolation
    if e.method == "none":
        return "Too few label budgets finished to extrapolate yet."
    band = ("" if e.gain_low != e.gain_low else
            f"; 95% band over folds {100 * e.gain_low:+.0f} to {100 * e.gain_high:+.0f} points")
    return (f"Fitted ({e.method}): {e.current_acc:.2f} at {e.current_labels:.0f} labels per class now; predicted "
            f"about {e.predicted_2x:.2f} with {2 * e.current_labels:.0f} and {e.predicted_4x:.2f} with "
            f"{4 * e.current_labels:.0f} — {verdict_text(e)} ({100 * e.gain_per_doubling:+.0f} points per "
            f"doubling{band}).")


# ---------------------------------------------------------------------------------------------- figures


def counts_figure(report: ValidationReport, *, height: int = 300) -> go.Figure:
    fig = go.Figure(go.Bar(x=list(report.counts), y=list(report.counts.values()), marker_color=theme.WITH_COLOR,
                           text=list(report.counts.values()), textposition="outside", showlegend=False,
                           hovertemplate="%{x}: %{y} usable images<extra></extra>"))
    charts.base_layout(fig, height, "fz-counts")
    fig.update_layout(title=dict(text="Usable images per class", x=0, font=dict(size=16)))
    fig.update_xaxes(type="category", title_text="class")
    top = max(report.counts.values(), default=1)
    fig.update_yaxes(title_text="images", range=[0, top * 1.18])
    return fig


def _setting_color(s: SettingScore) -> str:
    if not s.candidate.transfers:
        return theme.WITHOUT_COLOR
    return theme.WITH_COLOR if strategy_class(s.strategy).trains_backbone else theme.HEAD_COLOR


def sweep_figure(sweep: SweepReport, *, height: int | None = None) -> go.Figure:
    """Test accuracy ± sd over folds per setting, ranked by validation accuracy (the winner at the top): green a
    linear probe of transferred features, blue fine-tuning, orange random weights."""
    scored = sorted((s for s in (*sweep.probe, *sweep.finetune) if s.score.runs), key=chosen_by)
    fig = go.Figure()
    for name, pick in (("random weights (no transfer)", lambda s: not s.candidate.transfers),
                       ("linear probe of transferred features", lambda s: s.candidate.transfers and
                        not strategy_class(s.strategy).trains_backbone),
                       ("fine-tuned from transferred weights", lambda s: s.candidate.transfers and
                        strategy_class(s.strategy).trains_backbone)):
        rows = [s for s in scored if pick(s)]
        if not rows:
            continue
        fig.add_trace(go.Bar(
            y=[s.label for s in rows], x=[s.score.target_acc_mean for s in rows], orientation="h", name=name,
            marker_color=[_setting_color(s) for s in rows],
            error_x=dict(type="data", array=[s.score.target_acc_sd for s in rows], color="#374151", thickness=1.5),
            text=[f"{s.score.target_acc_mean:.2f} ± {s.score.target_acc_sd:.2f}" if s.score.has_spread else
                  f"{s.score.target_acc_mean:.2f} (one fold)" for s in rows],
            textposition="inside", insidetextanchor="start",
            customdata=[[s.score.runs, s.score.seconds] for s in rows],
            hovertemplate="%{y}<br>accuracy %{x:.3f}<br>%{customdata[0]} folds · %{customdata[1]:.0f} s"
                          "<extra></extra>"))
    charts.base_layout(fig, height or max(260, 90 + 46 * len(scored)), "fz-sweep")
    fig.update_layout(title=dict(text="Test accuracy per setting (mean ± sd over folds; ranked on validation)", x=0,
                                 font=dict(size=16)),
                      barmode="overlay")
    fig.update_xaxes(range=[0, 1.02], tickformat=".0%")  # no axis title: the legend sits there
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=[s.label for s in scored],
                     automargin=True)
    if not scored:
        fig.add_annotation(text="The first results appear as soon as a run finishes.", xref="paper", yref="paper",
                           x=0.5, y=0.5, showarrow=False, font=dict(size=15, color=theme.CHANCE_COLOR))
    return fig


def spaced_ticks(values, min_ratio: float = 1.25) -> list[float]:
    """Tick positions on a log axis, dropping any within `min_ratio` of the previous one kept (4.9 beside 5, or 35
    beside 40, would print over each other)."""
    kept: list[float] = []
    for value in sorted(values):
        if not kept or value >= kept[-1] * min_ratio:
            kept.append(value)
    return kept


def label_curve_figure(curve: LabelCurve, *, height: int = 400) -> go.Figure:
    """Accuracy against labels per class (log x) with and without transfer, and the transfer arm's fit carried
    on to 4× the labels with the 2× and 4× predictions marked."""
    fig = go.Figure()
    for arm, points, color, dash in (("with transfer", curve.transfer, theme.WITH_COLOR, "solid"),
                                     ("without transfer (scratch)", curve.scratch, theme.WITHOUT_COLOR, "dash")):
        rows = [p for p in points if p.labels_per_class and p.score.runs]
        fig.add_trace(go.Scatter(
            x=[p.labels_per_class for p in rows], y=[p.score.target_acc_mean for p in rows], name=arm,
            mode="lines+markers", line=dict(color=color, width=3, dash=dash), marker=dict(size=9),
            error_y=dict(type="data", array=[p.score.target_acc_sd for p in rows], thickness=1.5),
            hovertemplate=f"{arm}<br>%{{x:.0f}} labels per class<br>accuracy %{{y:.3f}}<extra></extra>"))
    ticks = {p.labels_per_class for p in (*curve.transfer, *curve.scratch) if p.labels_per_class and p.score.runs}
    e = curve.extrapolation
    if e.band_n:
        fig.add_trace(go.Scatter(x=[*e.band_n, *e.band_n[::-1]], y=[*e.band_high, *e.band_low[::-1]], fill="toself",
                                 mode="none", fillcolor="rgba(37, 99, 235, 0.15)", hoverinfo="skip",
                                 name="95% band (folds resampled)"))
    if e.method != "none" and math.isfinite(e.current_labels):
        ticks |= {2 * e.current_labels, 4 * e.current_labels}
        xs = [e.current_labels * 2 ** (i / 10) for i in range(21)]
        fig.add_trace(go.Scatter(x=xs, y=list(e.predict(xs)), mode="lines", name=f"extrapolated ({e.method})",
                                 line=dict(color=theme.WITH_COLOR, width=2, dash="dot"), hoverinfo="skip"))
        fig.add_trace(go.Scatter(
            x=[2 * e.current_labels, 4 * e.current_labels], y=[e.predicted_2x, e.predicted_4x], mode="markers+text",
            name="predicted", marker=dict(color="white", size=10, line=dict(color=theme.WITH_COLOR, width=2)),
            text=[f"2×: {e.predicted_2x:.2f}", f"4×: {e.predicted_4x:.2f}"], textposition="bottom center",
            showlegend=False, hovertemplate="predicted %{y:.3f} with %{x:.0f} labels per class<extra></extra>"))
    charts.base_layout(fig, height, "fz-curve")
    fig.update_layout(title=dict(text="How many labels? Accuracy against labels per class", x=0, font=dict(size=16)))
    ticks = spaced_ticks(ticks)
    fig.update_xaxes(type="log", title_text="labelled images per class (log scale)", tickvals=ticks or None,
                     ticktext=[f"{t:.0f}" for t in ticks] or None)  # the budgets, not log-axis clutter
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", title_text="held-out target accuracy")
    return fig


GRID_CELLS = {  # (size, similarity) -> what to do, in a few words
    ("small", "similar"): "Feature extraction:<br>freeze the network,<br>train a linear head",
    ("small", "different"): "Keep most layers frozen,<br>retrain the last ones;<br>collect more labels",
    ("large", "similar"): "Fine-tune the whole<br>network from the<br>transferred weights",
    ("large", "different"): "Fine-tune everything;<br>scratch becomes<br>an option",
}


def grid_figure(recommendation: Recommendation | None, *, height: int = 340) -> go.Figure:
    """The lectures' 2×2 grid (target data small/large × similar/different to the source), the measured cell
    filled; with similarity unknown both cells of the measured row are outlined."""
    fig = go.Figure()
    columns = {"similar": 0, "different": 1}
    rows = {"small": 1, "large": 0}  # small on top
    size = recommendation.size if recommendation else None
    similarity = recommendation.similarity if recommendation else None
    for (row, col), text in GRID_CELLS.items():
        x0, y0 = columns[col], rows[row]
        chosen = row == size and col == similarity
        maybe = row == size and similarity not in columns
        fig.add_shape(type="rect", x0=x0 + 0.03, x1=x0 + 0.97, y0=y0 + 0.04, y1=y0 + 0.96,
                      fillcolor="#dbeafe" if chosen else "#f9fafb",
                      line=dict(color=theme.WITH_COLOR if chosen or maybe else theme.GRID, width=3 if chosen else 2,
                                dash="dash" if maybe else "solid"))
        fig.add_annotation(x=x0 + 0.5, y=y0 + 0.5, text=(f"<b>{text}</b>" if chosen else text), showarrow=False,
                           font=dict(size=14, color="#111827" if chosen or maybe else "#6b7280"))
        if chosen:
            fig.add_annotation(x=x0 + 0.94, y=y0 + 0.9, text="your data", showarrow=False, xanchor="right",
                               font=dict(size=12, color=theme.WITH_COLOR))
    fig.update_layout(height=height, template="plotly_white", font=theme.FONT, margin=dict(l=10, r=10, t=10, b=10),
                      showlegend=False, dragmode=False, uirevision="fz-grid", hovermode=False)
    fig.update_xaxes(range=[0, 2], tickvals=[0.5, 1.5], ticktext=["similar to the source", "different from the source"],
                     side="top", showgrid=False, zeroline=False, fixedrange=True)
    fig.update_yaxes(range=[0, 2], tickvals=[0.5, 1.5], ticktext=["large<br>target", "small<br>target"],
                     showgrid=False, zeroline=False, fixedrange=True)
    return fig


def per_class_figure(setting: SettingScore) -> go.Figure:
    counts = [sum(row) for row in setting.score.confusion] or [0] * len(setting.score.classes)
    return charts.per_class_figure(setting.score.classes, setting.score.per_class_acc, counts, height=340,
                                   uirevision="fz-per-class", title="Per-class accuracy (best setting)")


def confusion_figure(setting: SettingScore) -> go.Figure:
    fig = charts.confusion_figure(setting.score.classes, setting.score.confusion, height=400,
                                  uirevision="fz-confusion", title="Confusion matrix (test images of all folds)")
    fig.data = fig.data[:1]  # the heatmap only: its clickable cell markers lead to images this page does not show
    return fig


# ---------------------------------------------------------------------------------------------- progress


def progress_text(stage: str, done: int, planned: int, positions: Sequence[int], running: int) -> str:
    """'Fine-tune stage · 5 of 9 runs ended · 1 training · 3 waiting (queue positions 2–4)'."""
    parts = [f"{stage.capitalize()} stage" if stage else "Starting", f"{done} of {planned} runs ended"]
    if running:
        parts.append(f"{running} training")
    if positions:
        low, high = min(positions), max(positions)
        where = f"position {low}" if low == high else f"positions {low}–{high}"
        parts.append(f"{len(positions)} waiting (queue {where})")
    return " · ".join(parts)


def took_text(wall_s: float, train_s: float) -> str:
    return f"{fmt.seconds(wall_s)} since the start ({fmt.seconds(train_s)} of training)"


def settings_text(folds: int, img_size: int, curve: bool) -> str:
    """What the check will run with, always in sight (the settings themselves sit in a popover)."""
    return (f"Will run with {folds} folds · {img_size}×{img_size} px · label-budget curve "
            f"{'on' if curve else 'off'}.")
