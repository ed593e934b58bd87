"""Owners in a real browser: two Chromium contexts are two students. B cannot stop or delete A's run nor learn
A's identity from any page; the teacher (a third context with the server's token) can stop it and sees both
students in the Class view; paths typed into the form stay under their roots."""
import base64
import json
import os
import re

import pytest
from test_browser import SLOW, browser, no_exceptions, running_dashboard, shot, student  # noqa: F401  (browser: a fixture)

from tl_core.runs.config import RunConfig
from tl_core.serving.owners import owner_id
from tl_view.share_link import encode_config

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
TOKEN = "class-token-4f1c"
LONG = RunConfig(source="digits", target="digits-m", backbone="small_cnn", weights="random", strategy="fine-tune",
                 freeze=0, labels_per_class=20, epochs=200, batch_size=64, img_size=16, snapshot_size=0, device="cpu")


@pytest.fixture(scope="module")
def server(tmp_path_factory, data_dir):
    base = tmp_path_factory.mktemp("owners")
    (base / "data-root" / "mine" / "a").mkdir(parents=True)
    (base / "weights-root").mkdir()
    (base / "outside" / "theirs").mkdir(parents=True)
    os.symlink(base / "outside" / "theirs", base / "data-root" / "escape")
    env = {**os.environ, "TL_RUNS_DIR": str(base / "runs"), "TL_DATA_DIR": str(data_dir), "TL_OFFLINE": "1",
           "TL_WARM_UMAP": "0", "TL_TEACHER_TOKEN": TOKEN, "TL_DATA_ROOT": str(base / "data-root"),
           "TL_WEIGHTS_ROOT": str(base / "weights-root"), "TL_MAX_RUNS": "1"}
    with running_dashboard(env, base / "streamlit.log") as url:
        yield url


def secret_of(context) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == "tl_owner")


def shows_nothing_of(page, secrets: list[str]) -> None:
    html = page.content() + "".join(frame.content() for frame in page.frames[1:])
    for secret in secrets:
        assert secret not in html


def settled(page) -> None:
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(timeout=SLOW)


def unlock_teacher(page) -> None:
    """As a person does it, on a page that has finished drawing: open the box, type the token, press Enter (which
    commits it to the server), then Unlock. Once, in a full suite, teacher mode never came after an Unlock clicked
    straight after typing, on a page still running its script; acting on a settled page is what a person does."""
    settled(page)
    page.get_by_text("Teacher", exact=True).click()
    field = page.get_by_label("Teacher token", exact=True)
    field.fill(TOKEN)
    field.press("Enter")
    settled(page)
    page.get_by_role("button", name="Unlock").click()


def train(page) -> str:
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_role("button", name="Stop", exact=True).first.wait_for(timeout=SLOW)
    page.wait_for_function("() => location.search.includes('run=')", timeout=SLOW)
    return re.search(r"run=([^&]+)", page.url).group(1)


def test_another_student_cannot_stop_delete_or_identify_a_run_the_teacher_can(server, browser):
    ctx_a, alice = student(browser, f"{server}/?cfg={encode_config(LONG)}", height=1600)
    run_id = train(alice)
    a_secret = secret_of(ctx_a)
    a_marks = [a_secret, owner_id(a_secret)]

    ctx_b, bob = student(browser, f"{server}/?run={run_id}", height=1600)
    bob.get_by_text("Read-only: another user's run.").first.wait_for(timeout=SLOW)
    assert bob.get_by_role("button", name="Stop", exact=True).count() == 0
    shows_nothing_of(bob, a_marks)
    shot(bob, "owners-b-sees-a-run-read-only")
    bob.goto(f"{server}/runs")
    bob.get_by_text("they are read-only to you").wait_for(timeout=SLOW)
    assert bob.get_by_role("button", name=re.compile("Delete 1 selected")).is_disabled()
    shows_nothing_of(bob, a_marks)
    shot(bob, "owners-b-runs-page")
    no_exceptions(bob)

    bob.goto(f"{server}/?cfg={encode_config(LONG.replace(seed=7))}")
    bob_run = train(bob)
    assert bob_run != run_id

    _, teacher = student(browser, f"{server}/?run={run_id}", height=1600)
    unlock_teacher(teacher)
    teacher.get_by_text("Teacher mode: you can stop any run").wait_for(timeout=SLOW)
    teacher.get_by_role("button", name="Stop", exact=True).first.click()
    alice.get_by_text("Stopped").first.wait_for(timeout=SLOW)
    teacher.goto(f"{server}/class_view")  # a new page load: teacher mode is held by the server
    teacher.get_by_text(re.compile(r"runs by 2 students")).wait_for(timeout=SLOW)
    shot(teacher, "owners-teacher-class-view")
    no_exceptions(teacher)


@pytest.mark.parametrize("config, message", [
    (LONG.replace(weights="file:/etc/shadow"), "is not a file name under the weights root"),
    (LONG.replace(target="folder:/etc"), "is not a folder name under the data root"),
    (LONG.replace(target="folder:escape"), "leads outside the data root (through a link)"),
])
def test_paths_from_the_form_stay_under_their_roots(server, browser, config, message):
    # Links from the app never carry server paths (share_link.encode_config drops them): write one by hand.
    diff = {k: v for k, v in config.to_dict().items() if v != RunConfig().to_dict()[k]}
    text = base64.urlsafe_b64encode(json.dumps(diff).encode()).decode().rstrip("=")
    _, page = student(browser, f"{server}/?cfg={text}", height=1600)
    page.get_by_text(message).first.wait_for(timeout=SLOW)
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_timeout(1500)
    assert page.get_by_role("button", name="Stop", exact=True).count() == 0
    no_exceptions(page)
    shot(page, f"owners-path-{config.weights[5:] and 'weights' or config.target.split(':')[1]}")
