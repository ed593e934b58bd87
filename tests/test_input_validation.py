"""Issue 22: what a browser sends is checked before anything is built, sized, timed or read — folder names stay
under the data root, links and uploaded configs are held to the one schema, timing runs one at a time."""
import base64
import io
import json
import os
import threading
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tl_core.errors import ConfigError, UserError
from tl_core.feasibility.errors import UploadError
from tl_core.runs.config import RunConfig, config_schema
from tl_core.serving import calibration
from tl_core.serving.calibration import Pace
from tl_core.serving.confine import confined_folder

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180


def _png(path: Path, shade: int, size: int = 12) -> None:
    Image.new("RGB", (size, size), (shade, 255 - shade, 0)).save(path)


def _class_folder(root: Path, classes=("a", "b"), per_class: int = 4) -> Path:
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            _png(root / name / f"{i}.png", 30 * i + 100 * c)
    return root


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    root = tmp_path / "data-root"
    _class_folder(root / "mine")
    monkeypatch.setenv("TL_DATA_ROOT", str(root))
    monkeypatch.delenv("TL_UPLOAD_ROOT", raising=False)
    return root


def _page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages/experiment.py"), default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def _link(fields: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")


# ------------------------------------------------------------------------------------- High 1: blank folders
@pytest.mark.parametrize("name", ["folder:", "folder:   "])
def test_a_blank_folder_name_is_refused_not_read_as_the_working_folder(name, data_dir):
    from tl_core.runs.validation import validate_config

    with pytest.raises(ConfigError, match="Name a folder"):
        validate_config(RunConfig(target=name))


@pytest.mark.parametrize("name", ["", "  ", ".", "./", "mine/..", "/", "~"])
def test_the_data_root_itself_is_no_folder_a_browser_may_name(name, data_root):
    with pytest.raises(UploadError):
        confined_folder(name)


def test_the_feasibility_sessions_are_no_folder_a_browser_may_name(tmp_path, monkeypatch):
    """Even when the administrator points the data root at the data folder: other students' uploads stay theirs."""
    data = tmp_path / "data"
    _class_folder(data / "sessions" / "abc123" / "dataset")
    _class_folder(data / "flowers")
    monkeypatch.setenv("TL_DATA_DIR", str(data))
    monkeypatch.setenv("TL_DATA_ROOT", str(data))
    assert confined_folder("flowers") == (data / "flowers").resolve()
    for name in ("sessions", "sessions/abc123/dataset"):
        with pytest.raises(UploadError, match="uploads"):
            confined_folder(name)


def test_a_blank_folder_on_the_experiment_page_is_refused_and_nothing_runs(app_env, data_root):
    at = _page()
    at.selectbox(key="x_target").set_value("folder:").run()
    at.button(key="train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Name a folder" in e.value for e in at.error), [e.value for e in at.error]
    from tl_ui import state

    assert state.manager().store.list() == []


# ------------------------------------------------------------------------------ High 2: links and the schema
HOSTILE = {"img_size": 30000, "epochs": 10**9, "batch_size": -5, "device": "nonsense",
           "backbone": "vit_gigantic_patch14_clip_224", "strategy": "nope", "lr": "fast", "name": "x" * 500}


def test_a_link_outside_the_schema_falls_back_to_the_defaults_and_says_which(monkeypatch):
    from tl_view.share_link import decode_config

    monkeypatch.delenv("TL_ALLOW_ANY_BACKBONE", raising=False)
    config, problems = decode_config(_link({**HOSTILE, "seed": 7}))
    defaults = RunConfig()
    for name in HOSTILE:
        assert getattr(config, name) == getattr(defaults, name), name
    assert config.seed == 7  # what is valid is kept
    text = " ".join(problems)
    schema = config_schema()
    for words in (f"image size must be {schema['img_size'].range_text()}",
                  f"epochs must be {schema['epochs'].range_text()}",
                  "Unknown device 'nonsense'", "vit_gigantic_patch14_clip_224", "Unknown strategy 'nope'",
                  "learning rate must be a finite number", "run name"):
        assert words in text, (words, problems)


def test_a_link_with_settings_of_the_wrong_type_keeps_the_strategy_and_drops_the_settings():
    from tl_view.share_link import decode_config

    config, problems = decode_config(_link({"strategy": "dann", "settings": {"hidden": "many"}}))
    assert config.strategy == "dann" and config.settings == {}
    assert any("hidden" in p for p in problems)


def test_the_browser_names_only_curated_backbones_unless_the_administrator_allows_more(monkeypatch):
    from tl_core.backbones import CURATED, check_offered

    monkeypatch.delenv("TL_ALLOW_ANY_BACKBONE", raising=False)
    for name in CURATED:
        check_offered(name)
    with pytest.raises(ConfigError, match="TL_ALLOW_ANY_BACKBONE"):
        check_offered("resnet50")
    monkeypatch.setenv("TL_ALLOW_ANY_BACKBONE", "1")
    check_offered("resnet50")
    with pytest.raises(ConfigError, match="no-such-net"):
        check_offered("no-such-net")


def test_no_backbone_is_described_at_a_size_outside_the_schema(monkeypatch):
    from tl_core.backbones import catalog

    built = []
    monkeypatch.setattr(catalog, "create_backbone", lambda *a, **k: built.append(a) or pytest.fail("built"))
    high = config_schema()["img_size"].high
    for size in (high + 1, 3072, 0):
        with pytest.raises(ConfigError, match="image size must be between"):
            catalog.describe_backbone("small_cnn", size)
    assert built == []


def test_a_hostile_link_opens_the_page_with_a_message_and_builds_nothing_big(app_env, monkeypatch):
    from tl_core.backbones import catalog

    monkeypatch.delenv("TL_ALLOW_ANY_BACKBONE", raising=False)
    sizes = []
    real = catalog.create_backbone
    monkeypatch.setattr(catalog, "create_backbone", lambda name, weights, img_size: sizes.append((name, img_size))
                        or real(name, weights, img_size))
    at = _page({"cfg": _link({**HOSTILE, "settings": {"hidden": "many"}, "strategy": "dann"})})
    assert not at.exception, [e.value for e in at.exception]
    assert any("image size must be between" in e.value for e in at.error), [e.value for e in at.error]
    assert at.number_input(key="x_img_size").value == RunConfig().img_size
    assert at.selectbox(key="x_backbone").value == RunConfig().backbone
    assert all(name in catalog.CURATED and size <= 512 for name, size in sizes), sizes


# ------------------------------------------------------------------------- High 3: one calibration at a time
@pytest.fixture
def timing(monkeypatch):
    """measure_pace_apart replaced by one that waits for the test's go-ahead and records what it was asked."""
    asked, release = [], threading.Event()

    def measure(backbone, img_size, device):
        asked.append((backbone, img_size, device))
        release.wait(30)
        return Pace(100.0 + img_size, None, 0)

    for thread in list(calibration._measuring.values()):  # a real timing an earlier page test started
        thread.join()
    monkeypatch.setattr(calibration, "measure_pace_apart", measure)
    monkeypatch.setattr(calibration, "_measured", {})
    monkeypatch.setattr(calibration, "_measuring", {})
    return asked, release


def test_one_calibration_at_a_time_and_requests_meanwhile_start_nothing(timing):
    asked, release = timing
    assert calibration.pace_for("small_cnn", 32, "cpu", wait=False) is None
    for size in range(40, 120, 8):  # someone typing image sizes while the first is timed
        assert calibration.pace_for("small_cnn", size, "cpu", wait=False) is None
    release.set()
    assert calibration.pace_for("small_cnn", 32, "cpu", wait=True) == Pace(132.0, None, 0)
    assert asked == [("small_cnn", 32, "cpu")]
    assert calibration.pace_for("small_cnn", 48, "cpu", wait=True) == Pace(148.0, None, 0)
    assert calibration.pace_for("small_cnn", 32, "cpu", wait=True) == Pace(132.0, None, 0)  # cached
    assert asked == [("small_cnn", 32, "cpu"), ("small_cnn", 48, "cpu")]


def test_a_timing_holds_the_machine_wide_lock(timing, tmp_path, monkeypatch):
    import fcntl

    asked, release = timing
    seen = []

    def measure(backbone, img_size, device):
        with open(calibration.lock_path(), "a") as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                seen.append("free")
            except BlockingIOError:
                seen.append("held")
        return Pace(1.0, None, 0)

    monkeypatch.setattr(calibration, "measure_pace_apart", measure)
    calibration.pace_for("small_cnn", 32, "cpu", wait=True)
    assert seen == ["held"]


def test_nothing_is_timed_for_a_config_outside_the_schema(timing, monkeypatch):
    asked, release = timing
    release.set()
    for bad in (RunConfig(img_size=3072), RunConfig(device="nonsense"), RunConfig(batch_size=-5)):
        with pytest.raises(ConfigError):
            calibration.estimate_run(bad, wait=False)
    with pytest.raises(ConfigError):
        calibration.pace_for("small_cnn", 3072, "cpu", wait=False)
    assert asked == []


# -------------------------------------------------------------- Medium 6: uploaded configs and the teacher
def _draw_form():
    from tl_ui import form

    class Store:
        def list(self, **_):
            return []

    class Manager:
        store = Store()

    form.controls(Manager())


def _upload_error(at: AppTest, config: dict) -> str:
    body = json.dumps(config).encode()
    at.file_uploader(key="x_config_file").set_value(("config.json", body, "application/json")).run()
    assert not at.exception, [e.value for e in at.exception]
    return " ".join(e.value for e in at.error)


def test_an_uploaded_config_answers_the_same_whether_a_server_path_exists(data_root, tmp_path, data_dir):
    secret = _class_folder(tmp_path / "secret")
    (tmp_path / "weights.pt").write_bytes(b"x")
    at = AppTest.from_function(_draw_form, default_timeout=TIMEOUT).run()
    pairs = [({"target": f"folder:{secret}"}, {"target": f"folder:{tmp_path / 'missing'}"}),
             ({"weights": f"file:{tmp_path / 'weights.pt'}"}, {"weights": f"file:{tmp_path / 'missing.pt'}"})]
    for there, missing in pairs:
        said = _upload_error(at, {**RunConfig().to_dict(), **there})
        other = _upload_error(at, {**RunConfig().to_dict(), **missing})
        assert said and said.replace("secret", "X").replace("weights.pt", "X") == \
            other.replace("missing.pt", "X").replace("missing", "X")


def test_an_uploaded_config_names_no_uncurated_backbone(data_root, monkeypatch):
    from tl_core.backbones import catalog

    monkeypatch.delenv("TL_ALLOW_ANY_BACKBONE", raising=False)
    built = []
    real = catalog.create_backbone
    monkeypatch.setattr(catalog, "create_backbone", lambda name, *a, **k: built.append(name) or real(name, *a, **k))
    at = AppTest.from_function(_draw_form, default_timeout=TIMEOUT).run()
    said = _upload_error(at, {**RunConfig().to_dict(), "backbone": "vit_gigantic_patch14_clip_224"})
    assert "vit_gigantic_patch14_clip_224" in said and "not offered" in said
    assert "vit_gigantic_patch14_clip_224" not in built


@pytest.mark.parametrize("teacher", ["../elsewhere/run-1", "{outside}/run-1", ".", ""])
def test_a_teacher_is_a_run_id_in_the_store_never_a_path(teacher, tmp_path, runs_dir):
    from tl_core.records.run_dir import RunDir
    from tl_core.strategies.teacher import teacher_record

    outside = tmp_path / "elsewhere"
    RunDir.create(outside, RunConfig(), run_id="run-1").write_summary({"status": "finished"})
    runs_dir.mkdir(parents=True, exist_ok=True)
    with pytest.raises(ConfigError, match="not a run id|Pick a teacher|pick a teacher"):
        teacher_record(teacher.format(outside=outside), runs_dir)


# ------------------------------------------------------------------- Medium 7: dataset sizes read once
def test_folder_dataset_sizes_are_read_once_until_the_folder_changes(tmp_path, monkeypatch):
    from tl_core.data import folder

    root = _class_folder(tmp_path / "f", per_class=10)
    opened = []
    real = folder._unreadable
    monkeypatch.setattr(folder, "_unreadable", lambda f: opened.append(f) or real(f))
    monkeypatch.setattr(folder, "load_image", lambda *a: pytest.fail("an estimate decodes no pixels"))
    first = calibration.dataset_sizes(f"folder:{root}", 32)
    assert first == (14, 6) and len(opened) == 20
    opened.clear()
    assert calibration.dataset_sizes(f"folder:{root}", 32) == first
    assert calibration.dataset_sizes(f"folder:{root}", 48) == first  # sizes do not depend on the image size
    assert opened == []
    _png(root / "a" / "new.png", 7)
    assert sum(calibration.dataset_sizes(f"folder:{root}", 32)) == 21


def test_a_built_dataset_is_read_once_per_version_of_its_cache(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import tl_core.data as data
    from tl_core.data.builtin import builtin_cache_path

    monkeypatch.setenv("TL_DATA_DIR", str(tmp_path))
    loads = []
    split = lambda n: SimpleNamespace(labels=[0] * n)  # noqa: E731
    monkeypatch.setattr(data, "load_domain", lambda name, size: loads.append(name) or SimpleNamespace(
        train=split(70), val=split(20), test=split(10)))
    path = builtin_cache_path("shapes", 40, tmp_path)
    path.parent.mkdir(parents=True)
    path.touch()
    for _ in range(3):
        assert calibration.dataset_sizes("shapes", 40) == (70, 30)
    assert loads == ["shapes"]
    os.utime(path, ns=(1, 1))  # rebuilt
    assert calibration.dataset_sizes("shapes", 40) == (70, 30) and loads == ["shapes", "shapes"]


# -------------------------------------------------------------------------------------------------- Lows
def test_a_run_name_is_capped_and_plain_text():
    schema = config_schema()["name"]
    schema.check_typed("baseline, lr 0.01 — second try")
    with pytest.raises(ConfigError, match="run name must be at most"):
        schema.check_typed("x" * (schema.max_chars + 1))
    for bad in ("a\u202eb", "a\x85b", "a\nb", "a\u2028b"):
        with pytest.raises(ConfigError, match="control"):
            schema.check(bad)


@pytest.mark.parametrize("bad", ["cats\u202egpj", "dogs\x85", "birds\u2029"])
def test_class_folders_with_bidi_or_c1_control_characters_are_refused_everywhere(bad, tmp_path):
    from tl_core.data.folder import scan_image_folder
    from tl_core.errors import DatasetError
    from tl_core.feasibility.errors import UnusableDatasetError
    from tl_core.feasibility.validate import validate_folder

    root = _class_folder(tmp_path / "f", classes=("plain", bad))
    with pytest.raises(UnusableDatasetError, match="control character"):
        validate_folder(root)
    with pytest.raises(DatasetError, match="control character"):
        scan_image_folder(root)


def test_a_short_teacher_token_is_refused_with_a_clear_message(monkeypatch):
    from tl_core.serving.owners import MIN_TOKEN_CHARS, WeakToken, teacher_token

    monkeypatch.setenv("TL_TEACHER_TOKEN", "s3cret")
    with pytest.raises(WeakToken, match=f"at least {MIN_TOKEN_CHARS}"):
        teacher_token()
    monkeypatch.setenv("TL_TEACHER_TOKEN", "x" * MIN_TOKEN_CHARS)
    assert teacher_token() == "x" * MIN_TOKEN_CHARS


@pytest.mark.slow
def test_the_server_refuses_to_start_with_a_short_teacher_token(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "TL_TEACHER_TOKEN": "s3cret", "TL_RUNS_DIR": str(tmp_path / "runs")}
    done = subprocess.run([sys.executable, "-c", "import runpy; runpy.run_path('serve.py')"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: The teacher token has 6 characters")


def test_failed_unlocks_are_limited_per_owner():
    from tl_core.serving.owners import UnlockAttempts

    now = [0.0]
    attempts = UnlockAttempts(max_failures=3, window_s=60.0, clock=lambda: now[0])
    token = "a-long-enough-token"
    for _ in range(3):
        assert not attempts.try_unlock("alice", "guess", token)
    with pytest.raises(UserError, match="Too many"):
        attempts.try_unlock("alice", token, token)  # even the right token waits
    assert attempts.try_unlock("bob", token, token)  # another owner is not locked out
    now[0] = 61.0
    assert attempts.try_unlock("alice", token, token)


def test_a_drawing_that_declares_too_many_pixels_is_refused_before_it_is_decoded(monkeypatch):
    from PIL import ImageFile

    from tl_core.networks.predict import png_from_data_url

    buffer = io.BytesIO()
    Image.new("L", (8000, 5000)).save(buffer, "PNG")  # 40 MP of black: a small file
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded"))
    with pytest.raises(UserError, match="pixels"):
        png_from_data_url(url)


def test_feasibility_with_zero_folds_is_one_line_and_exit_2(tmp_path, capsys):
    from tl_view.feasibility_cli import main

    root = _class_folder(tmp_path / "f")
    assert main([str(root), "--folds", "0", "--session-dir", str(tmp_path / "s"), "--runs-dir",
                 str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "--folds" in err and len(err.splitlines()) == 1


def test_a_run_name_reaches_the_page_as_plain_text_and_capped(app_env):
    from tl_core.records.run_dir import RunDir
    from tl_core.records.store import RunStore
    from tl_view.fmt import plain

    hostile = "**big** [click](http://evil.example) :red[alarm] $x$ " + "y" * 300
    store = RunStore(app_env)
    config = RunConfig(name=hostile)
    run = RunDir.create(app_env, config)
    run.write_summary({"status": "finished", "created": 1.0})
    store.upsert(run.run_id, config, {"status": "finished", "created": 1.0})
    at = _page()
    assert not at.exception, [e.value for e in at.exception]
    shown = [c.value for c in at.caption if "big" in c.value]
    cap = config_schema()["name"].max_chars
    assert shown and all(hostile[:20] not in text and plain(hostile[:20]) in text for text in shown), shown
    assert all("y" * cap not in text for text in shown)
    assert plain("**big**") == r"\*\*big\*\*"


def test_a_link_asking_for_a_device_this_server_lacks_opens_the_page_with_a_message(app_env):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has the GPU the link asks for")
    at = _page({"cfg": _link({"device": "cuda"})})
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("no CUDA GPU" in e.value for e in at.error), [e.value for e in at.error]


@pytest.mark.parametrize("fields", [
    {"strategy": "distill", "settings": {"teacher": "../../elsewhere/run-1"}},
    {"freeze": 99, "labels_per_class": 37, "source": "folder:", "weights": "file:/etc/shadow"},
    {"target": "folder:/etc", "source": "no-such-dataset"},
])
def test_odd_links_within_the_schema_open_the_page_and_refuse_on_train(fields, app_env, data_root):
    at = _page({"cfg": _link(fields)})
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error, "Train said nothing"
    from tl_ui import state

    assert state.manager().store.list() == []
