"""The dashboard's pure pieces — chart builders, the freeze strip, thumbnails, settings forms — without Streamlit."""
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import pytest

from tl_core.runs.schema import spec
from tl_view import charts, fmt, theme
from tl_view.forms import changed_settings, settings_fields
from tl_view.images import thumbnail_grid
from tl_view.strips import freeze_strip_html

HISTORY = [
    {"epoch": 1, "train_loss": 1.5, "train_acc": 0.5, "val_acc": 0.45, "target_acc": 0.4, "domain_confusion_acc": 0.9,
     "a_distance": 1.6},
    {"epoch": 2, "train_loss": 0.9, "train_acc": 0.7, "val_acc": 0.6, "target_acc": 0.55, "domain_confusion_acc": 0.8,
     "a_distance": 1.2},
]
SCRATCH = [{"epoch": 1, "train_loss": 2.2, "train_acc": 0.2, "val_acc": 0.2, "target_acc": 0.15}]


def traces(fig: go.Figure, name_part: str) -> list:
    return [t for t in fig.data if name_part in (t.name or "")]


def test_learning_curves_overlay_with_and_without_transfer():
    fig = charts.learning_curves([charts.with_transfer(HISTORY), charts.without_transfer(SCRATCH)], epochs=5)
    target = traces(fig, "with transfer · target")[0]
    assert list(target.x) == [1, 2] and list(target.y) == [0.4, 0.55]
    dashed = traces(fig, "without transfer · target")[0]
    assert dashed.line.dash == "dash" and dashed.line.color == theme.WITHOUT["target_acc"]
    assert target.line.color == theme.WITH["target_acc"] and target.line.dash == "solid"
    loss = traces(fig, "with transfer · loss")[0]
    assert list(loss.y) == [1.5, 0.9]
    # the x axis spans the configured epochs from the start, so a live chart does not rescale
    assert list(fig.layout.xaxis.range) == [0.7, 5.3]
    assert fig.layout.height == 380 and fig.layout.uirevision == "learning-curves"


def test_learning_curves_before_the_first_epoch_say_so():
    fig = charts.learning_curves([charts.with_transfer([])], epochs=3)
    assert any("first epoch" in a.text for a in fig.layout.annotations)


def test_curve_series_skips_missing_metric():
    curve = charts.Curve("x", [{"epoch": 1}, {"epoch": 2, "domain_head_acc": 0.7}, {"epoch": 3, "domain_head_acc": None}])
    assert curve.series("domain_head_acc") == ([2], [0.7])


def test_domain_confusion_chart_marks_chance():
    fig = charts.domain_confusion_chart([charts.with_transfer(HISTORY)], epochs=2)
    assert [s.y0 for s in fig.layout.shapes] == [0.5]
    assert list(fig.data[0].y) == [0.9, 0.8]
    assert fig.layout.yaxis.range[0] <= 0.45


def test_a_distance_chart_spans_zero_to_two():
    fig = charts.a_distance_chart([charts.with_transfer(HISTORY)])
    assert list(fig.layout.yaxis.range) == [-0.05, 2.05]


def test_target_accuracy_lines_up_with_the_confusion_curves_that_start_at_epoch_0():
    start = [{"epoch": 0, "domain_confusion_acc": 0.95}, *HISTORY]
    curves = [charts.with_transfer(start), charts.without_transfer(SCRATCH)]
    fig = charts.target_accuracy_chart(curves, epochs_like="domain_confusion_acc")
    confusion = charts.domain_confusion_chart(curves)
    assert list(fig.layout.xaxis.range) == list(confusion.layout.xaxis.range) == [-0.3, 2.3]
    assert [list(t.y) for t in fig.data] == [[0.4, 0.55], [0.15]]  # no target point at epoch 0: nothing measured it
    assert list(charts.target_accuracy_chart(curves).layout.xaxis.range) == [0.7, 2.3]


def test_embedding_figure_colours_by_class_and_marks_domains():
    rng = np.random.default_rng(0)
    panel = charts.MapPanel("With transfer · epoch 2", rng.normal(size=(6, 2)), rng.normal(size=(4, 2)),
                            np.array([0, 1, 2, 0, 1, 2]), np.array([2, 2, 1, 0]), np.arange(10, 16), np.arange(4))
    other = charts.MapPanel("Without transfer · epoch 2", rng.normal(size=(6, 2)), rng.normal(size=(4, 2)),
                            np.zeros(6, int), np.zeros(4, int))
    fig = charts.embedding_figure([panel, other], ["zero", "one", "two"])
    source, target = fig.data[0], fig.data[1]
    assert source.marker.symbol == theme.DOMAIN_SYMBOL["source"] and target.marker.symbol == theme.DOMAIN_SYMBOL["target"]
    assert list(source.marker.color[:3]) == [theme.class_color(0), theme.class_color(1), theme.class_color(2)]
    assert source.customdata[0] == ["source", 10, "zero"]  # domain, test index, class name: what a click needs
    assert [a.text for a in fig.layout.annotations][:2] == ["With transfer · epoch 2", "Without transfer · epoch 2"]
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend == ["zero", "one", "two", "source", "target"]
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis2.scaleanchor == "x2"


def test_embedding_frames_make_a_play_button_and_slider():
    xy = np.zeros((3, 2))
    lab = np.array([0, 1, 0])
    frames = [(str(e), [charts.MapPanel(f"epoch {e}", xy + e, xy - e, lab, lab)]) for e in (0, 1, 2)]
    fig = charts.embedding_figure(frames[-1][1], ["a", "b"], frames=frames)
    assert [f.name for f in fig.frames] == ["0", "1", "2"]
    assert list(fig.frames[1].data[0].x) == [1.0, 1.0, 1.0]
    assert fig.layout.sliders[0].active == 2 and len(fig.layout.sliders[0].steps) == 3
    assert fig.layout.updatemenus[0].buttons[0].label.endswith("Play")


def test_confusion_figure_cells_carry_what_a_click_needs():
    matrix = [[5, 2, 0], [0, 4, 1], [0, 0, 6]]
    fig = charts.confusion_figure(["a", "b", "c"], matrix)
    heat, cells = fig.data
    assert heat.z[0][1] == pytest.approx(2 / 7)  # colour: share of the true-class row
    assert [list(c) for c in cells.customdata] == [[0, 1, 2], [1, 2, 1]]  # only non-empty wrong cells
    assert list(cells.x) == ["b", "c"] and list(cells.y) == ["a", "b"]
    assert fig.layout.yaxis.autorange == "reversed"


def test_per_class_figure_handles_missing_classes():
    fig = charts.per_class_figure(["0", "1"], [0.5, None], [10, 0])
    assert list(fig.data[0].text) == ["50%", "–"]


def test_figure_html_is_standalone():
    html = charts.figure_html(charts.learning_curves([charts.with_transfer(HISTORY)]), "curves")
    assert "<html>" in html[:100] and "<title>curves</title>" in html
    assert "src=\"https://cdn.plot.ly" not in html and len(html) > 1_000_000  # plotly.js embedded: works offline


def test_freeze_strip_greys_frozen_groups_and_counts_parameters():
    html = freeze_strip_html([("stem", 464), ("block 1", 4700), ("head", 8300)], 1)
    assert html.count(theme.FROZEN_COLOR) == 1 and html.count(theme.TRAINABLE_COLOR) == 2
    assert "4.7k" in html and "1 of 3 groups frozen" in html and "464 of 13,464" in html
    probe = freeze_strip_html([("stem", 10), ("head", 10)], 0, trains_anything=False)
    assert probe.count(theme.FROZEN_COLOR) == 2


def test_thumbnail_grid_tiles_and_enlarges():
    images = [np.full((3, 4, 4), i * 40, dtype=np.uint8) for i in range(5)]
    grid = thumbnail_grid(images, columns=3, scale=2, gap=1)
    assert grid.shape == (2 * 8 + 1, 3 * 8 + 2, 3) and grid.dtype == np.uint8
    assert grid[0, 0, 0] == 0 and grid[0, 9, 0] == 40 and grid[9, 0, 0] == 120
    assert thumbnail_grid([]).shape == (8, 8, 3)


@dataclass
class _Settings:
    gamma: float = spec(10.0, "Steepness of the ramp.", label="gamma (ramp steepness)", low=0.1, high=100.0)
    hidden: int = spec(256, "Hidden units.", low=1, high=4096, unit="units")
    cache: bool = True
    teacher: str = spec("", "The run id of a teacher.")


def test_settings_fields_read_their_declarations():
    specs = {s.name: s for s in settings_fields(_Settings)}
    assert [specs[n].kind for n in ("gamma", "hidden", "cache", "teacher")] == ["float", "int", "bool", "str"]
    assert (specs["gamma"].label, specs["gamma"].help) == ("Gamma (ramp steepness)", "Steepness of the ramp.")
    assert (specs["hidden"].label, specs["hidden"].low, specs["hidden"].high) == ("Hidden (units)", 1, 4096)
    assert specs["cache"].help == "" and specs["cache"].low is None
    assert changed_settings(list(specs.values()), {"gamma": 10.0, "hidden": 64}) == {"hidden": 64}


def test_every_registered_strategy_renders_as_fields():
    from tl_core.strategies import strategy_class, strategy_names

    for name in strategy_names():
        cls = strategy_class(name)
        assert cls.summary, f"{name} has no one-sentence summary for the UI"
        for spec in settings_fields(cls.Settings):
            assert spec.kind in ("bool", "int", "float", "str")


def test_formatting():
    assert fmt.count(1234) == "1.2k" and fmt.count(11_176_512) == "11.2M" and fmt.count(12) == "12"
    assert fmt.seconds(12.4) == "12 s" and fmt.seconds(75) == "1 min 15 s" and fmt.seconds(None) == "–"
    assert fmt.pct(0.8312) == "83.1%" and fmt.pct(None) == "–"
    assert fmt.labels(None) == "all labels" and fmt.labels(10) == "10/class"


def test_every_strategy_settings_form_renders():
    """Each strategy's Settings as widgets (a float field with an int-looking step once crashed the page)."""
    from streamlit.testing.v1 import AppTest

    script = """
import streamlit as st
from tl_core.strategies import strategy_names
from tl_ui.widgets import settings_inputs
for name in strategy_names():
    st.write(name, settings_inputs(name, "t", teacher_rows=lambda: []))
"""
    at = AppTest.from_string(script, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input and all(n.min is not None and n.max is not None for n in at.number_input)


def _view(status="running", **changes):
    from tl_core.records.run_view import RunView
    from tl_core.runs.config import RunConfig
    from tl_core.runs.status import Status

    fields = dict(stage="train", step=10, total_steps=100, epoch=1, eta_seconds=2790.0)
    return RunView("r", RunConfig(epochs=5), Status(status), **{**fields, **changes})


def test_status_lines_say_where_a_run_is():
    from tl_view.views import status_line

    assert status_line(_view(status="queued", queue_position=2)) == (
        "Waiting — position 2 in the queue; it starts when a slot is free.", 0.0)
    text, done = status_line(_view(stage="pretrain", step=30, total_steps=120))
    assert text.startswith("Pretraining on the source") and done == 0.25
    # no ETA before the first epoch ends (the job's estimate then still counts the pretraining time)
    assert status_line(_view()) == ("Training — epoch 1 of 5", 0.1)
    text, _ = status_line(_view(history=[{"epoch": 1}], epoch=2, eta_seconds=75.0))
    assert text == "Training — epoch 2 of 5 · about 1 min 15 s left"
    assert status_line(_view(step=480, total_steps=480, epoch=4))[0] == "Starting to train on the target…"
    text, done = status_line(_view(status="finished", summary={"target_acc": 0.85, "seconds": 299}))
    assert text == "Finished in 4 min 59 s — target accuracy 85.0%" and done == 1.0
    text, _ = status_line(_view(status="diverged", summary={"reason": "The loss became nan at step 3.",
                                                           "hint": "Lower the learning rate."}))
    assert text == "Diverged — The loss became nan at step 3. Lower the learning rate."


def test_task_a_rows_start_before_the_first_epoch_and_the_note_says_what_a_s_own_statistics_give_back():
    from tl_view.views import forgetting_note, task_a_rows

    history = [{"epoch": 1, "source_acc": 0.8, "target_acc": 0.5}, {"epoch": 2, "source_acc": 0.7}]
    assert task_a_rows(history, {"source_acc_start": 0.97}) == [
        {"epoch": 0, "source_acc": 0.97}, {"epoch": 1, "source_acc": 0.8}, {"epoch": 2, "source_acc": 0.7}]
    assert task_a_rows([{"epoch": 1, "target_acc": 0.5}], {}) == []  # a run that does not measure forgetting
    assert forgetting_note({"source_acc_start": 0.97, "source_acc": 0.7}, "with transfer") == ""  # not at its end yet
    note = forgetting_note({"source_acc_start": 0.976, "source_acc": 0.784, "source_acc_own_bn": 0.831},
                           "with transfer")
    assert "97.6% before" in note and "78.4% after" in note and "83.1% with A's own BatchNorm" in note
