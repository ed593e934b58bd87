"""The feasibility check's own settings never change behind the user's back: uploading a zip, switching data
sources or visiting another page keeps the folds, image size and label curve as the user left them."""
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.test_ui_feasibility import good, make_zip

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def settings(at: AppTest) -> tuple:
    return at.slider(key="fz-folds").value, at.select_slider(key="fz-img-size").value, at.toggle(key="fz-curve-on").value


def test_an_upload_keeps_the_check_settings(dashboard):
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/feasibility.py").run()
    assert settings(at) == (3, 32, True)
    at.get("file_uploader")[0].upload("photos.zip", make_zip(good()), "application/zip").run()
    assert not at.exception, [e.value for e in at.exception]
    assert settings(at) == (3, 32, True)
    said = " ".join(c.value for c in at.caption)
    assert "Will run with 3 folds · 32×32 px · label-budget curve on" in said
    assert "runs, about" in said or "Timing a few batches" in said  # the check's time, measured on this server
    at.slider(key="fz-folds").set_value(4).run()
    at.get("file_uploader")[0].upload("other.zip", make_zip(good(("a", "b", "c"))), "application/zip").run()
    assert settings(at) == (4, 32, True)
    at.switch_page("pages/runs.py").run()
    at.switch_page("pages/feasibility.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert settings(at) == (4, 32, True)
