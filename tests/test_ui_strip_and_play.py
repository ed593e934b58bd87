"""The freeze strip stays readable for backbones with many groups; Play starts from the 'before training' frame."""
import re

from tl_view.charts import MapPanel, embedding_figure
from tl_view.strips import freeze_strip_html


def test_many_groups_wrap_onto_rows_of_readable_boxes_and_the_head_is_always_there():
    groups = [(f"blocks.{i}", 1000 * (i + 1)) for i in range(13)]  # a ViT: 13 groups
    html = freeze_strip_html(groups, 5)
    assert "flex-wrap:wrap" in html and "overflow-wrap:anywhere" not in html and "min-width:0" not in html
    assert len(re.findall(r"min-width:4\.6rem", html)) == 14  # every group and the head keep a readable width
    assert "word-break:normal" in html and 'title="blocks.12: 13,000 parameters, trains"' in html
    assert ">new head<" in html and "5 of 13 groups frozen" in html


def test_play_walks_every_frame_from_before_training_without_a_transition():
    import numpy as np

    panel = MapPanel("run", np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(2, int), np.zeros(2, int), np.arange(2),
                     np.arange(2))
    frames = [("before", [panel]), ("1", [panel]), ("2", [panel])]
    fig = embedding_figure([panel], ["a"], frames=frames)
    play = fig.layout.updatemenus[0].buttons[0]
    names, options = play.args
    assert list(names) == ["before", "1", "2"] and options["fromcurrent"] is False
    assert options["transition"]["duration"] == 0 and options["frame"]["redraw"] is True


def test_a_few_groups_share_one_row():
    html = freeze_strip_html([("stem", 464), ("block 1", 4700), ("block 2", 18600), ("head", 8300)], 1)
    assert "min-width:4.6rem" not in html and html.count("flex:1 1 0;min-width:0;") == 5
