"""The feasibility report tells the truth about itself: the dataset, folds, image size, every stage (ran, or
skipped and why), and what the check could not try."""
from tests.test_feasibility import sweep_of
from tl_core.feasibility.recommend import recommend
from tl_view.feasibility_report import check_facts, render_html, render_markdown


def test_the_report_names_the_data_the_settings_and_each_stage():
    sweep = sweep_of([0.79, 0.81, 0.83], [0.77, 0.79, 0.81], labels=30.0)
    facts = check_facts("holiday-photos.zip", 2, 48, curve_on=False, stages=[("probe", 4), ("fine-tune", 4)],
                        done=True)
    for text in (render_markdown(None, sweep, None, recommend(sweep), facts=facts),
                 render_html(None, sweep, None, recommend(sweep), facts=facts)):
        assert "holiday-photos.zip" in text and "2 folds" in text and "48×48 px" in text
        assert "Linear probes of every candidate: ran (4 runs)" in text
        assert "Fine-tuning of the most promising one: ran (4 runs)" in text
        assert "Label-budget curve: skipped: switched off in the check&#39;s settings" in text or \
            "Label-budget curve: skipped: switched off in the check's settings" in text
        assert "No ImageNet-pretrained backbone was tried" in text


def test_a_stage_not_reached_says_why():
    facts = check_facts("d", 3, 32, True, [("probe", 6)], done=True, stopped=True)
    assert dict(facts["stages"])["Label-budget curve"] == "skipped: the check was stopped"
    running = check_facts("d", 3, 32, True, [("probe", 6)], done=False)
    assert dict(running["stages"])["Fine-tuning of the most promising one"].startswith("not started yet")
