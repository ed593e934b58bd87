"""The Feasibility page: every hostile input becomes one specific message (and nothing is written outside the
session folder), a good generated zip gives its validation report, the figures draw what the engine measured,
and under AppTest the page answers bad folder names with an error and runs a (shortened) check end to end to its
recommendation and report downloads."""
import functools
import io
import json
import stat
import struct
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tl_core.feasibility import label_curve, sweep
from tl_core.feasibility.demo_data import shape_image, write_shapes_folder
from tl_core.feasibility.label_curve import CurvePoint, LabelCurve, extrapolate
from tl_core.feasibility.recommend import recommend
from tl_core.feasibility.results import Score
from tl_core.feasibility.sweep import FINETUNE, PROBE, Candidate, SettingScore, SweepReport
from tl_view import feasibility_views as fv
from tl_view import theme

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 180


# ---------------------------------------------------------------------------------------------- generated files


def png(seed: int = 0, shape: str = "circle", size: int = 16) -> bytes:
    buffer = io.BytesIO()
    shape_image(shape, size, np.random.default_rng(seed)).save(buffer, "PNG")
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width×height pixels: an image bomb announced in a few bytes."""
    data = bytearray(png(size=1))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def good(classes=("circle", "square"), per_class: int = 4) -> dict[str, bytes]:
    return {f"{c}/{i:02d}.png": png(i, c) for c in classes for i in range(per_class)}


def with_symlink() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in good().items():
            archive.writestr(name, data)
        link = zipfile.ZipInfo("circle/passwords.png")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return buffer.getvalue()


def encrypted() -> bytes:
    data = bytearray(make_zip({"circle/a.png": png()}))
    data[6] |= 0x1
    data[data.index(b"PK\x01\x02") + 8] |= 0x1
    return bytes(data)


HOSTILE = {
    "not a zip": (b"this is plain text", "not_zip", "not a zip archive"),
    "a png named .zip": (png(), "not_zip", "not a zip archive"),
    "parent directory": (make_zip({**good(), "../escaped.png": png()}), "unsafe_path", "'../escaped.png'"),
    "absolute path": (make_zip({**good(), "/tmp/escaped.png": png()}), "unsafe_path", "absolute path"),
    "symbolic link": (with_symlink(), "link", "symbolic link"),
    "zip bomb": (make_zip({**good(), "circle/zeros.bmp": bytes(5 << 20)}), "ratio", "zip bomb"),
    "empty archive": (make_zip({}), "empty", "archive is empty"),
    "only system files": (make_zip({"__MACOSX/circle/._a.png": b"x", ".DS_Store": b"x"}), "empty", "hidden or system"),
    "password": (encrypted(), "encrypted", "password"),
    "a single class": (make_zip(good(("circle",), 6)), "unusable", "at least two classes"),
    "one image in a class": (make_zip({**good(("circle",), 6), "square/00.png": png(1, "square")}), "unusable",
                             "'square' (1)"),
    "only corrupt images": (make_zip({"a/1.png": b"\x89PNG broken", "b/1.png": png()[:40]}), "unusable",
                            "at least two classes"),
}


# ---------------------------------------------------------------------------------------------- data in (pure)


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_hostile_archives_get_their_own_message_and_touch_nothing_else(tmp_path, case):
    data, kind, words = HOSTILE[case]
    session = tmp_path / "sandbox" / "session"
    session.mkdir(parents=True)
    result = fv.read_upload("upload.zip", data, session)
    assert not result.ok and result.kind == kind, (result.kind, result.error)
    assert words in result.error and "Traceback" not in result.error
    assert sorted(p.name for p in (tmp_path / "sandbox").iterdir()) == ["session"]  # nothing written outside
    if kind != "unusable":
        assert result.report is None and list(session.iterdir()) == []  # a refused archive leaves nothing behind
    else:
        assert result.report is not None  # the page still shows which files were skipped and why


def test_a_good_zip_with_bad_files_inside_gives_the_report(tmp_path):
    entries = {**good(("circle", "square", "ring"), 5), "circle/notes.txt": b"hello", "square/bomb.png":
               png_declaring(30_000, 30_000), "ring/broken.png": png()[:60], "tiny/00.png": png(9, "cross"),
               "square/copy.png": png(0, "circle"), "mydata.PNG": png(3)}
    upload = make_zip({f"mydata/{k}": v for k, v in entries.items()} | {"__MACOSX/mydata/._x": b"x"})
    result = fv.read_upload("photos.zip", upload, tmp_path / "session")
    assert result.ok and result.label == "photos.zip"
    report = result.report
    assert report.counts == {"circle": 4, "ring": 5, "square": 5}  # circle/00 is also in square: both left out
    reasons = {s.path: s.reason for s in report.skipped}
    assert reasons["circle/notes.txt"] == "not_an_image" and reasons["square/bomb.png"] == "too_large"
    assert reasons["ring/broken.png"] == "corrupt" and reasons["mydata.PNG"] == "outside_class"
    assert {r["reason"] for r in fv.skipped_rows(report)} >= {"not an image file", "too large"}
    assert report.duplicate_groups == [["circle/00.png", "square/copy.png"]]
    assert fv.class_rows(report)[0] == {"class": "circle", "usable images": 4}
    assert any("Class 'tiny' will not train" in m and "fewer than the 3 needed" in m for m in report.messages())
    assert fv.image_facts(report) == "Widths 16 px · heights 16 px · modes RGB 14 · formats PNG 14"


def test_server_folders_stay_under_the_data_root(tmp_path):
    root = tmp_path / "root"
    write_shapes_folder(root / "shapes", num_classes=2, per_class=5)
    (tmp_path / "secret").mkdir()
    (root / "escape").symlink_to(tmp_path / "secret")
    assert fv.read_server_folder("shapes", root).ok
    for name, words in (("../secret", "outside the data root"), ("/etc", "not a folder name"),
                        ("escape", "through a link"), ("nope", "There is no folder 'nope'")):
        result = fv.read_server_folder(name, root)
        assert not result.ok and words in result.error, (name, result.error)


def test_the_example_is_written_once_and_validated(tmp_path):
    first = fv.read_example(tmp_path / "example")
    assert first.ok and first.report.counts == {"circle": 30, "square": 30, "triangle": 30, "cross": 30}
    assert fv.read_example(tmp_path / "example").report.counts == first.report.counts


# ---------------------------------------------------------------------------------------------- figures (pure)


def setting(stage, candidate, strategy, accs, labels=20.0, freeze=4) -> SettingScore:
    mean, sd = float(np.mean(accs)), float(np.std(accs, ddof=1))
    score = Score(mean, sd, tuple(accs), len(accs), 0, (), 3.0, ("a", "b"), (mean, mean), ((5, 1), (1, 5)), labels,
                  val_accs=tuple(accs))
    return SettingScore(stage, candidate, strategy, freeze, 4, ("stem", "block 1", "block 2", "head"), score)


SOURCE, RANDOM = Candidate("small_cnn", "source", "synth-digits"), Candidate("small_cnn", "random")
SWEEP = SweepReport((setting(PROBE, SOURCE, "linear-probe", [0.84, 0.87, 0.90]),
                     setting(PROBE, RANDOM, "linear-probe", [0.55, 0.60, 0.65])),
                    (setting(FINETUNE, SOURCE, "fine-tune", [0.88, 0.91, 0.94], freeze=2),), 0, 27.0)


def curve() -> LabelCurve:
    def point(n, acc):
        return CurvePoint(n, n, Score(acc, 0.02, (acc - 0.02, acc + 0.02), 2, 0, (), 1.0, (), (), (), n))

    transfer = tuple(point(n, a) for n, a in ((1, 0.6), (2, 0.7), (5, 0.8), (10, 0.85)))
    scratch = tuple(point(n, a) for n, a in ((1, 0.3), (2, 0.35), (5, 0.5), (10, 0.65)))
    return LabelCurve(transfer, scratch, extrapolate([1, 2, 5, 10], [0.6, 0.7, 0.8, 0.85]),
                      extrapolate([1, 2, 5, 10], [0.3, 0.35, 0.5, 0.65]))


def test_sweep_bars_best_on_top_coloured_by_what_they_transfer():
    fig = fv.sweep_figure(SWEEP)
    names = {t.name: t for t in fig.data}
    assert names["random weights (no transfer)"].marker.color == (theme.WITHOUT_COLOR,)
    assert names["linear probe of transferred features"].marker.color == (theme.HEAD_COLOR,)
    finetune = names["fine-tuned from transferred weights"]
    assert finetune.x == (pytest.approx(0.91),) and finetune.error_x.array == (pytest.approx(0.03),)
    assert list(fig.layout.yaxis.categoryarray)[-1] == finetune.y[0]  # best at the top
    assert fv.setting_rows(SWEEP)[0]["target accuracy"] == "0.870 ± 0.030"
    assert len(fv.confusion_figure(SWEEP.best).data) == 1 and fv.per_class_figure(SWEEP.best).data[0].y == (0.91, 0.91)
    empty = fv.sweep_figure(SweepReport((), (), 4, 0.0))
    assert "as soon as a run finishes" in empty.layout.annotations[0].text


def test_label_curve_carries_the_fit_on_to_four_times_the_labels():
    c = curve()
    fig = fv.label_curve_figure(c)
    assert fig.layout.xaxis.type == "log"
    names = [t.name for t in fig.data]
    assert names[:2] == ["with transfer", "without transfer (scratch)"] and "extrapolated (power law)" in names
    assert list(fig.layout.xaxis.tickvals) == [1, 2, 5, 10, 20, 40]
    predicted = fig.data[-1]
    assert list(predicted.x) == [20, 40] and predicted.text[0] == f"2×: {c.extrapolation.predicted_2x:.2f}"
    text = fv.extrapolation_text(c)
    assert f"{c.extrapolation.predicted_2x:.2f} with 20" in text and "points per doubling" in text


def test_the_grid_fills_the_measured_cell():
    r = recommend(SWEEP, curve())
    assert r.cell == "small-similar"
    fig = fv.grid_figure(r)
    filled = [s for s in fig.layout.shapes if s.fillcolor == "#dbeafe"]
    assert len(filled) == 1 and filled[0].x0 < 1 and filled[0].y0 > 1  # left column, top row
    assert "your data" in [a.text for a in fig.layout.annotations]
    unknown = fv.grid_figure(recommend(SweepReport((setting(PROBE, SOURCE, "linear-probe", [0.8, 0.9]),), (), 0, 1.0)))
    assert sum(1 for s in unknown.layout.shapes if s.line.dash == "dash") == 2  # similarity unknown: the whole row
    assert fv.grid_figure(None).layout.shapes  # an empty grid before any result


def test_progress_and_time_in_words():
    assert fv.progress_text("probe", 2, 6, [3, 4, 5], 1) == \
        "Probe stage · 2 of 6 runs ended · 1 training · 3 waiting (queue positions 3–5)"
    assert fv.progress_text("fine-tune", 6, 6, [], 0) == "Fine-tune stage · 6 of 6 runs ended"
    assert fv.took_text(75, 40) == "1 min 15 s since the start (40 s of training)"


# ---------------------------------------------------------------------------------------------- the page


@pytest.fixture
def app_env(dashboard, tmp_path, monkeypatch):
    """The dashboard with a data root holding a usable folder of 3 classes and a folder of one class."""
    monkeypatch.setenv("TL_UPLOAD_ROOT", str(tmp_path / "root"))
    write_shapes_folder(tmp_path / "root" / "shapes", num_classes=3, per_class=8)
    write_shapes_folder(tmp_path / "root" / "one-class", num_classes=1, per_class=8)
    return tmp_path / "root"


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/feasibility.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def use_folder(at: AppTest, name: str) -> AppTest:
    at.segmented_control(key="fz-target-kind").set_value("A folder on the server").run()
    at.text_input(key="fz-target-folder").set_value(name).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_bad_folder_names_and_unusable_folders_get_an_error_and_nothing_trains(app_env):
    at = open_page()
    assert at.button(key="fz-run").disabled
    for name, words in (("../../etc", "outside the data root"), ("/etc/passwd", "not a folder name"),
                        ("missing", "There is no folder 'missing'"), ("one-class", "at least two classes")):
        use_folder(at, name)
        assert len(at.error) == 1 and words in at.error[0].value, (name, [e.value for e in at.error])
        assert at.button(key="fz-run").disabled
    assert "Files skipped" in [m.label for m in at.metric]  # the unusable folder still shows its report


@pytest.mark.slow
def test_a_good_folder_shows_the_report_then_a_shortened_check_reaches_a_recommendation(app_env, monkeypatch):
    at = use_folder(open_page(), "shapes")
    assert not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Classes that will train"] == "3" and metrics["Usable images"] == "24"
    assert json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["y"] == [8, 8, 8]

    # a shortened check: tiny epochs, two folds, the small digits set as task A, two label budgets
    monkeypatch.setattr(sweep, "SweepSettings", functools.partial(
        sweep.SweepSettings, probe_epochs=2, finetune_epochs=1, scratch_epochs=2, finetune_depths=1, batch_size=32,
        pretrain_epochs=1, device="cpu"))
    monkeypatch.setattr(sweep, "default_candidates", lambda *a, **k: [Candidate("small_cnn", "source", "digits"),
                                                                      Candidate("small_cnn", "random")])
    monkeypatch.setattr(label_curve, "DEFAULT_BUDGETS", (2, None))
    at.slider(key="fz-folds").set_value(2).run()
    at.button(key="fz-run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    from tl_ui import state

    key = at.session_state["fz_check"]
    deadline = time.time() + 300
    while time.time() < deadline and not state.runner().get(key).done:
        time.sleep(0.5)
    chain = state.runner().get(key)
    assert chain.done and not chain.error
    assert [s for s, _ in chain.stages] == ["probe", "fine-tune", "curve"] and len(chain.ids) == 4 + 2 + 4
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success and "feature extraction with small_cnn (digits weights)" in at.success[0].value.lower()
    titles = [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]
    assert any("per setting" in t for t in titles) and any("How many labels" in t for t in titles)
    assert any("Confusion matrix" in t for t in titles)
    downloads = at.get("download_button")
    assert len(downloads) == 2 and not any(d.proto.disabled for d in downloads)
    assert any("runs ended" in c.value or "Done" in c.value for c in at.caption)


def test_label_curve_draws_its_band_and_says_undecided_with_one_fold():
    n, acc = [1, 2, 5, 10] * 2, [0.6, 0.7, 0.8, 0.85, 0.58, 0.69, 0.81, 0.86]
    banded = extrapolate(n, acc, folds=[0] * 4 + [1] * 4)
    fig = fv.label_curve_figure(LabelCurve((), (), banded, banded))
    band = next(t for t in fig.data if t.name == "95% band (folds resampled)")
    assert len(band.x) == 2 * len(banded.band_n)
    assert "95% band over folds" in fv.extrapolation_text(LabelCurve((), (), banded, banded))
    single = extrapolate([1, 2, 5, 10], [0.6, 0.7, 0.8, 0.85], folds=[0] * 4)
    text = fv.extrapolation_text(LabelCurve((), (), single, single))
    assert "undecided" in text and "one fold" in text
    assert not any(t.name == "95% band (folds resampled)" for t in fv.label_curve_figure(
        LabelCurve((), (), single, single)).data)
