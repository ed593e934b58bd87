"""The Feasibility page in a real browser: a generated zip goes through the page's file uploader and the
validation report appears; a hostile zip gets its message and the page keeps working.

Reuses the dashboard server and Chromium fixtures of test_browser.py (skipped like it when /usr/bin/chromium is
missing, unless CI=true). Screenshots go to test-artifacts/ (gitignored).
"""
import pytest
from test_browser import SLOW, browser, no_exceptions, server, shot  # noqa: F401  (fixtures used by name)

from tl_core.feasibility.demo_data import write_shapes_folder, zip_folder

pytestmark = pytest.mark.browser
UPLOADER = "[data-testid='stFileUploaderDropzoneInput']"


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zips")
    good = folder / "shapes.zip"
    good.write_bytes(zip_folder(write_shapes_folder(folder / "shapes", num_classes=3, per_class=12), prefix="shapes/"))
    bad = folder / "escape.zip"
    bad.write_bytes(zip_folder(folder / "shapes", prefix="../"))
    return good, bad


def open_feasibility(browser, url: str):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    page.goto(url)  # the home page first: it registers the menu (st.navigation)
    page.get_by_role("link", name="Feasibility check").click()
    page.get_by_text("1 · Your data").wait_for(timeout=SLOW)
    page.locator(UPLOADER).wait_for(state="attached", timeout=SLOW)
    return page


def test_upload_a_zip_and_see_the_validation_report(server, browser, zips):  # noqa: F811
    good, bad = zips
    page = open_feasibility(browser, server)
    page.locator(UPLOADER).set_input_files(str(bad))
    page.get_by_text("points outside the archive", exact=False).wait_for(timeout=SLOW)
    assert page.locator("[data-testid='stAlertContentError']").count() == 1
    no_exceptions(page)
    shot(page, "10-feasibility-hostile-zip")

    page.locator(UPLOADER).set_input_files(str(good))
    page.get_by_text("Classes that will train").wait_for(timeout=SLOW)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=SLOW)
    metrics = page.locator("[data-testid='stMetric']").all_inner_texts()
    assert any("Classes that will train" in m and "3" in m for m in metrics), metrics
    assert any("Usable images" in m and "36" in m for m in metrics), metrics
    assert page.locator("[data-testid='stAlertContentError']").count() == 0  # the earlier refusal is gone
    assert page.get_by_role("button", name="Run the check").is_enabled()
    no_exceptions(page)
    shot(page, "11-feasibility-report")
    page.context.close()


def test_the_report_built_from_a_hostile_class_name_runs_no_script(browser, tmp_path):  # noqa: F811
    """The downloadable HTML report, opened in Chromium: the class name's `<img onerror=…>` is text, not a tag."""
    from tl_core.feasibility.validate import ValidationReport
    from tl_view.feasibility_report import render_html

    hostile = "cats\n<details><img src=x onerror=alert(1)>"
    validation = ValidationReport(str(tmp_path), [hostile, "dogs"], {hostile: 5, "dogs": 5}, {}, [], [], {}, {}, {},
                                  [])
    report = tmp_path / "feasibility.html"
    report.write_text(render_html(validation))
    page = browser.new_context().new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(report.as_uri())
    page.wait_for_timeout(1500)
    assert dialogs == []
    assert page.locator("img[onerror]").count() == 0
    assert page.get_by_text("onerror=alert(1)", exact=False).count() >= 1  # shown as the text it is
    page.context.close()
