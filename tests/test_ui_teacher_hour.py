"""A teacher's first hour (issue 24): the page never shows settings, names, colours or words that belong to
something else than what it says. Runs are recorded, not trained, so each test takes a few seconds."""
import base64
import json
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tl_core.runs.baselines import baseline_for
from tl_core.runs.config import RunConfig
from tl_core.serving.owners import owner_id

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180
SECRET = "a-browser-secret-of-the-teacher-test-0123"
ME = owner_id(SECRET)
MAIN = RunConfig(source="digits", target="digits-m", weights="source", strategy="fine-tune", freeze=0, epochs=2,
                 seed=3, snapshot_size=0, role="main", experiment="pair:teach001")
TEACHER_ARM = RunConfig(source="digits", target="digits", weights="source", strategy="fine-tune", freeze=0, seed=2,
                        epochs=2, snapshot_size=0, name="teacher (transferred)", role="teacher",
                        experiment="lesson:distillation:abc123", arm="teacher")


@pytest.fixture
def app_env(runs_dir, monkeypatch):
    monkeypatch.setenv("TL_WARM_UMAP", "0")
    st.cache_resource.clear()
    st.cache_data.clear()
    yield runs_dir
    st.cache_resource.clear()
    st.cache_data.clear()


def record(runs_dir: Path, config: RunConfig, owner: str = ME, *, status: str = "finished",
           history: list[dict] | None = None, created: float | None = None) -> str:
    """A run as the store records it, without training: its summary and metrics rows."""
    from tl_core.records.store import RunStore
    from tl_core.runs.runner import prepare_run

    run = prepare_run(config, runs_dir, owner=owner)
    history = history if history is not None else [
        {"epoch": e, "target_acc": 0.5 + 0.1 * e, "val_acc": 0.5 + 0.1 * e, "train_acc": 0.6 + 0.1 * e,
         "train_loss": 1.0 / e} for e in range(1, config.epochs + 1)] if status == "finished" else []
    for row in history:
        run.append_metrics(row)
    summary = {**run.read_summary(), "status": status, "created": created or time.time()}
    if status == "finished":
        summary.update(target_acc=history[-1]["target_acc"] if history else 0.5, seconds=30.0)
    run.write_summary(summary)
    RunStore(runs_dir).upsert(run.run_id, run.read_config(), summary, owner=owner)
    return run.run_id


def record_pair(runs_dir: Path, main: RunConfig = MAIN, owner: str = ME, **kw) -> tuple[str, str]:
    first = record(runs_dir, main, owner, **kw)
    return first, record(runs_dir, baseline_for(main).replace(experiment=main.experiment), owner, **kw)


def experiment_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages/experiment.py"), default_timeout=TIMEOUT)
    at.session_state["owner_secret"] = SECRET
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def clean(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def figures(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def shared_settings(link: str) -> dict:
    text = link.split("cfg=", 1)[1].split("&", 1)[0]
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


# ------------------------------------------------------------------------------------------ 2 · the form's source

def test_a_new_tab_keeps_the_defaults_rather_than_a_lesson_arm_s_settings(app_env):
    record(app_env, TEACHER_ARM)
    at = clean(experiment_page())
    assert at.session_state["x_target"] == "digits-m" and at.session_state["x_seed"] == 0
    assert at.session_state["x_name"] == ""


def test_a_new_tab_keeps_the_defaults_rather_than_another_tab_s_run(app_env):
    record_pair(app_env)
    at = clean(experiment_page())
    assert at.session_state["x_seed"] == 0 and at.session_state["x_source"] == "synth-digits"


def test_a_reloaded_tab_fills_the_form_from_the_run_in_its_url(app_env):
    main, _ = record_pair(app_env)
    at = clean(experiment_page({"run": main}))
    assert at.session_state["x_seed"] == 3 and at.session_state["x_source"] == "digits"


def test_a_link_to_a_lesson_arm_shows_it_but_leaves_the_form_alone(app_env):
    arm = record(app_env, TEACHER_ARM)
    at = clean(experiment_page({"run": arm}))
    assert at.session_state["x_seed"] == 0 and at.session_state["x_name"] == ""


@pytest.mark.slow
def test_reset_to_defaults_brings_every_control_back(app_env):
    main, _ = record_pair(app_env)
    at = clean(experiment_page({"run": main}))
    at.session_state["x_epochs"] = 7
    at.run()
    at.button(key="x-reset").click().run()
    clean(at)
    defaults = RunConfig()
    assert (at.session_state["x_seed"], at.session_state["x_epochs"], at.session_state["x_source"]) == \
        (defaults.seed, defaults.epochs, defaults.source)


# ------------------------------------------------------------------------------------------ 3 · what a link carries

def test_a_share_link_carries_only_the_settings_a_user_chooses(app_env, tmp_path, monkeypatch):
    from tl_view.share_link import encode_config

    monkeypatch.setenv("TL_UPLOAD_ROOT", str(tmp_path))
    (tmp_path / "flowers").mkdir()
    chosen = TEACHER_ARM.replace(target=f"folder:{tmp_path / 'flowers'}", source="folder:/work/elsewhere/x")
    shared = shared_settings("cfg=" + encode_config(chosen))
    assert shared == {"seed": 2, "epochs": 2, "freeze": 0, "target": "folder:flowers"}  # a path outside the root stays off the link
    assert not {"name", "role", "experiment", "arm", "snapshot_size"} & set(shared)
    assert "/" not in json.dumps(shared)


@pytest.mark.slow
def test_watch_a_run_offers_experiments_never_a_lesson_s_teacher(app_env):
    record(app_env, TEACHER_ARM, owner="someone-else-0000")
    record(app_env, MAIN.replace(experiment="", name="my fine-tune"), owner="someone-else-0000")
    at = AppTest.from_file(str(ROOT / "pages/experiment.py"), default_timeout=TIMEOUT)
    at.session_state["owner_secret"] = "a-student-who-never-ran-anything-0123456789"
    clean(at.run())
    offered = " ".join(c.value for c in at.caption).replace("\\", "")  # names are Markdown-escaped
    assert "my fine-tune" in offered and "teacher (transferred)" not in offered


def test_a_lesson_run_s_name_says_it_is_a_lesson_s_part():
    from tl_view.views import run_name

    row = {"name": "teacher (transferred)", "strategy": "fine-tune", "experiment": "lesson:distillation:abc"}
    assert run_name(row) == "lesson distillation · teacher (transferred)"


# ------------------------------------------------------------------------------------------ 6 · domain shift, colours

DANN = MAIN.replace(strategy="dann", lr=0.01, experiment="pair:dann0001")


def dann_history(head: tuple[float, float]) -> list[dict]:
    return [{"epoch": e, "target_acc": 0.5 + 0.05 * e, "train_acc": 0.7, "train_loss": 0.5,
             "domain_confusion_acc": 0.9 - 0.05 * e, "a_distance": 1.0, "domain_head_acc": h}
            for e, h in ((1, head[0]), (2, head[1]))]


@pytest.mark.slow
def test_domain_shift_says_what_the_domain_head_did_and_names_the_twin_without_adaptation(app_env):
    main = record(app_env, DANN, history=dann_history((0.72, 0.79)))
    twin = record(app_env, baseline_for(DANN).replace(experiment=DANN.experiment), history=dann_history((0.5, 0.5)))
    at = AppTest.from_file(str(ROOT / "pages/domain_shift.py"), default_timeout=TIMEOUT)
    at.session_state["owner_secret"] = SECRET
    at.session_state["watch"] = {"run": main, "baseline": twin}
    clean(at.run())
    words = " ".join(m.value for m in at.markdown)
    assert "heads for 0.5" not in words and "72.0% → 79.0%" in words
    table = at.dataframe[0].value
    assert set(table["strategy"]) == {"dann", "without adaptation (dann, domain weight 0)"}
    confusion = next(f for f in figures(at) if "onfusion" in json.dumps(f["layout"].get("title", "")))
    lines = {t["name"]: t["line"] for t in confusion["data"] if t.get("name") and "line" in t}
    assert lines["dann, with adaptation"]["color"] == "#1d4ed8"
    assert lines["without adaptation"] == {**lines["without adaptation"], "color": "#dc2626", "dash": "dash"}
    head = next(f for f in figures(at) if "domain head" in json.dumps(f["layout"].get("title", "")))
    assert [t["name"] for t in head["data"]] == ["dann, with adaptation"]  # the twin trains no head


def test_one_colour_per_side_on_every_page():
    from tl_view.roles import role_curves

    twin = baseline_for(DANN).replace(experiment=DANN.experiment)
    scratch = baseline_for(MAIN)
    curves = role_curves([(twin, "b", []), (DANN, "a", []), (MAIN, "c", []), (scratch, "d", [])])
    assert [(c.color, c.dash) for c in curves[:2]] == [("#dc2626", "dash"), ("#1d4ed8", "solid")]
    assert curves[2].dash == "solid" and curves[3].dash == "dash"
    assert {curves[2].color, curves[3].color}.isdisjoint({"#dc2626", "#1d4ed8"})


# ------------------------------------------------------------------------------------------ 7 · whose settings

@pytest.mark.slow
def test_results_say_whose_settings_they_are_and_the_dann_checkbox_says_without_adaptation(app_env):
    main, _ = record_pair(app_env)
    at = clean(experiment_page({"run": main}))
    assert not [i for i in at.info if "Results of the run shown" in i.value]
    assert at.checkbox(key="x_twin").label.startswith("Also train it without transfer")
    at.selectbox(key="x_strategy").set_value("dann").run()
    clean(at)
    note = next(i.value for i in at.info if "Results of the run shown" in i.value)
    assert "fine-tune small_cnn · digits → digits-m" in note and "strategy" in note
    assert at.checkbox(key="x_twin").label.startswith("Also train it without adaptation")


# ------------------------------------------------------------------------------------------ 8 · the Runs page

def test_the_runs_page_opens_on_your_newest_finished_run_and_names_its_twin(app_env):
    main, twin = record_pair(app_env, created=time.time() - 60)
    record(app_env, MAIN.replace(experiment="", seed=9), status="queued")
    at = AppTest.from_file(str(ROOT / "pages/runs.py"), default_timeout=TIMEOUT)
    at.session_state["owner_secret"] = SECRET
    clean(at.run())
    assert any("your newest finished run and its twin" in c.value for c in at.caption)
    final = at.dataframe[1].value
    assert len(final) == 2 and list(final["target acc"]) == ["70.0%", "70.0%"]
    assert any(c.value.startswith("Twin: ") for c in at.caption)


# ------------------------------------------------------------------------------------------ 5 · teacher, Class view

def class_view(secret: str = SECRET) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages/class_view.py"), default_timeout=TIMEOUT)
    at.session_state["owner_secret"] = secret
    return at


def lesson_runs(runs_dir: Path, owner: str, seeds: int | None = None) -> None:
    """Lesson 1 as one student's press records it: three arms, each once per seed (the lesson's own count)."""
    from tl_core import lessons

    experiment = f"lesson:why-transfer:{owner[:6]}"
    for config in lessons.stage_configs(lessons.lesson("why-transfer"), 0, False, [], seeds):
        record(runs_dir, config.replace(experiment=experiment, epochs=2, snapshot_size=0), owner)


@pytest.mark.slow
def test_teacher_mode_survives_a_reload(app_env, monkeypatch):
    monkeypatch.setenv("TL_TEACHER_TOKEN", "class-token-1234")
    first = clean(class_view().run())
    first.text_input(key="teacher-token").input("class-token-1234")
    first.button(key="teacher-unlock").click().run()
    reloaded = clean(class_view().run())  # a new session of the same browser
    assert not [i for i in reloaded.info if "unlock teacher mode" in i.value]
    stranger = clean(class_view("another-browser-secret-0123456789abcdef").run())
    assert [i for i in stranger.info if "unlock teacher mode in the sidebar" in i.value]


def test_without_a_token_the_class_view_says_how_to_set_one(app_env, monkeypatch):
    monkeypatch.delenv("TL_TEACHER_TOKEN", raising=False)
    at = clean(class_view().run())
    text = " ".join(i.value for i in at.info)
    assert "TL_TEACHER_TOKEN" in text and "in the sidebar with the server's token" not in text


@pytest.mark.slow
def test_the_class_view_overlays_a_lesson_s_runs_with_a_verdict_per_student(app_env, monkeypatch):
    monkeypatch.setenv("TL_TEACHER_TOKEN", "class-token-1234")
    lesson_runs(app_env, ME)
    at = class_view()
    at.run()
    at.text_input(key="teacher-token").input("class-token-1234")
    at.button(key="teacher-unlock").click().run()
    clean(at)
    from tl_core.lessons import lesson

    runs = 3 * lesson("why-transfer").seeds
    assert any(f"{runs} runs by 1 student, in 3 arms." in c.value for c in at.caption)
    overlay = next(f for f in figures(at) if "every run" in json.dumps(f["layout"].get("title", "")))
    assert len(overlay["data"]) == runs and sum(t["showlegend"] for t in overlay["data"]) == 3
    assert {t["name"] for t in overlay["data"] if t["line"].get("dash") == "dash"} == {"scratch"}
    from tl_view import theme  # each arm in the colour of its role, as in the lesson's own picture above it

    assert {t["name"]: t["line"]["color"] for t in overlay["data"]} == {
        "fine-tune": theme.WITH_COLOR, "linear probe": theme.HEAD_COLOR, "scratch": theme.WITHOUT_COLOR}
    assert len(at.get("plotly_chart")) <= 3  # the lesson's picture and the overlay, not one chart per run
    verdicts = at.dataframe[-1].value
    assert list(verdicts["runs finished"]) == [f"{runs} of {runs}"] and verdicts["verdict"][0].split(" — ")[0] in (
        "met", "not met", "undecided")


# ------------------------------------------------------------------------------------------ 10 · smaller items

def test_the_shared_legend_sits_under_both_panels():
    from tl_view import charts

    fig = charts.learning_curves([charts.with_transfer([]), charts.without_transfer([])])
    assert fig.layout.legend.x == 0.5 and fig.layout.legend.xanchor == "center"


def test_a_without_run_that_fits_its_training_images_better_but_tests_worse_is_called_overfitting():
    from tl_view.views import overfitting_note

    mine = [{"epoch": 1, "train_acc": 0.80, "target_acc": 0.70}]
    theirs = [{"epoch": 1, "train_acc": 0.95, "target_acc": 0.40}]
    note = overfitting_note(mine, theirs, "with transfer", "without transfer")
    assert note.startswith("Overfitting: without transfer fits its training images better (95.0% against 80.0%")
    assert overfitting_note(theirs, mine, "a", "b") == ""
    # DANN and its twin learn from every labelled source image: there the gap is the domain shift, not memorising
    shift = overfitting_note(mine, theirs, "with adaptation", "without adaptation", trained_on="source")
    assert shift.startswith("Domain shift: without adaptation fits the source's training images better")
    assert "memorises" not in shift


def test_labels_never_print_over_each_other():
    from tl_view.feasibility_views import spaced_ticks

    assert spaced_ticks({4.9, 5.0, 10.0, 35.0, 40.0, 70.0}) == [4.9, 10.0, 35.0, 70.0]


def test_play_sits_above_the_maps_and_no_frame_is_clipped():
    import numpy as np

    from tl_view import charts

    def panel(reach):
        xy = np.array([[reach, -reach], [0.1, 0.2]], dtype=np.float32)
        return charts.MapPanel("p", xy, xy, np.array([0, 1]), np.array([0, 1]))

    frames = [("1", [panel(1.8)]), ("2", [panel(1.0)])]
    fig = charts.embedding_figure([panel(1.0)], ["0", "1"], frames=frames, axis_range=1.1)
    assert fig.layout.updatemenus[0].y >= 1.0 and fig.layout.updatemenus[0].yanchor == "bottom"
    assert fig.layout.xaxis.range[1] >= 1.8 and fig.layout.yaxis.range[0] <= -1.8


def test_lasso_thumbnails_say_class_and_prediction():
    from tl_view.images import predicted_by_index, thumbnail_caption

    wrong = predicted_by_index({"misclassified": [{"true": 7, "pred": 1, "indices": [4, 9]}]})
    assert wrong == {4: 1, 9: 1}
    assert thumbnail_caption("7", "1") == "7 → 1 ✗" and thumbnail_caption("7", "7") == "7 ✓"
    assert thumbnail_caption("7", None) == "7"


def test_a_formula_with_line_breaks_is_set_in_an_environment_katex_accepts():
    from tl_core.lessons import lesson
    from tl_view.lesson_views import display_formula

    formula = display_formula(lesson("domain-shift").formula)
    assert formula.startswith(r"\begin{gathered}") and formula.endswith(r"\end{gathered}")
    assert display_formula("a=b") == "a=b"
