"""Streamlit only: the pieces the pages arrange (figures and words come from tl_view, runs from tl_core).

- `nav`          the menu and the frame around every page (page config, navigation, sidebar)
- `state`        process-wide resources (the job manager, the UMAP warm-up) and per-tab state
- `form`         the Experiment page's controls: widgets → a RunConfig
- `live`         the Experiment page's live view, polled from the job manager
- `feasibility`  the Feasibility page's state: the tab's upload folder, the check's settings, the check it started
- `own_image`    'Try your own image': draw, upload or photograph an image; both networks' answers
- `draw_canvas`  the drawing canvas (an inline components-v2 component)
- `widgets`      pieces the pages share: the sidebar, run pickers, strategy settings, charts with downloads
- `pickers`      which runs a page offers, and which run belongs next to which (no Streamlit)
- `maps`         feature snapshots → 2-D maps and thumbnails, cached per snapshot file
- `figure_cache` figures shared by every tab that shows the same data
- `share`        links to a run or to the form's settings, and what a teacher's link hides
- `teacher_box`  the sidebar's teacher box
- `owner_cookie` the server-set owner cookie (ASGI middleware mounted by serve.py)
"""
