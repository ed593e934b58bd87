"""The freeze-depth strip: the backbone's layer groups from input to output, frozen ones greyed, with sizes.

Pure HTML (inline styles), so it renders the same in Streamlit, in a test, or in a saved report.
"""
from __future__ import annotations

import html
from collections.abc import Sequence

from tl_view import fmt, theme

# With many groups (mobilenet 8, ViT 13) boxes keep a readable width and wrap onto more rows; a name wraps between
# words ("new / head"), never inside one, and its tooltip names it in full.
FEW_GROUPS = 5
BOX, NARROW_BOX = "flex:1 0 4.6rem;min-width:4.6rem;", "flex:1 1 0;min-width:0;"
NAME = "overflow-wrap:normal;word-break:normal;hyphens:none;overflow:hidden;"


def freeze_strip_html(groups: Sequence[tuple[str, int]], freeze: int, *, trains_anything: bool = True,
                      head: str = "new head") -> str:
    """`groups` are (name, parameter count) in input → output order; the first `freeze` are frozen.

    `trains_anything=False` greys every group (e.g. a linear probe freezes the whole backbone).
    """
    box = NARROW_BOX if len(groups) < FEW_GROUPS else BOX
    boxes = []
    for i, (name, params) in enumerate(groups):
        frozen = i < freeze or not trains_anything
        bg, fg = (theme.FROZEN_COLOR, "#4b5563") if frozen else (theme.TRAINABLE_COLOR, "#ffffff")
        state = "frozen" if frozen else "trains"
        boxes.append(
            f'<div title="{html.escape(name)}: {params:,} parameters, {state}" style="{box}'
            f'background:{bg};color:{fg};border-radius:6px;padding:6px 4px;text-align:center;line-height:1.25;">'
            f'<div style="{NAME}font-weight:600;font-size:0.84rem">{html.escape(name)}</div>'
            f'<div style="font-size:0.78rem">{fmt.count(params)}</div>'
            f'<div style="font-size:0.72rem;opacity:0.9">{state}</div></div>')
    boxes.append(
        f'<div title="a new linear head for the target classes: always trains" style="{box}'
        f'background:{theme.HEAD_COLOR};color:#fff;border-radius:6px;padding:6px 4px;text-align:center;'
        f'line-height:1.25;"><div style="{NAME}font-weight:600;font-size:0.86rem">{html.escape(head)}</div>'
        f'<div style="font-size:0.78rem">&nbsp;</div><div style="font-size:0.72rem">trains</div></div>')
    total = sum(p for _, p in groups)
    frozen_params = sum(p for i, (_, p) in enumerate(groups) if i < freeze or not trains_anything)
    share = frozen_params / total if total else 0.0
    caption = (f"input → output · {min(freeze, len(groups)) if trains_anything else len(groups)} of {len(groups)} "
               f"groups frozen: {frozen_params:,} of {total:,} backbone parameters ({share:.0%}) stay fixed")
    return (f'<div style="display:flex;flex-wrap:wrap;gap:4px;align-items:stretch;margin:2px 0 4px 0">'
            f'{"".join(boxes)}</div>'
            f'<div style="font-size:0.8rem;color:#6b7280;margin-bottom:6px">{html.escape(caption)}</div>')
