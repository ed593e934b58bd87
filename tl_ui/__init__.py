"""The dashboard's shared UI code: pure plotly chart builders, run views, and the few Streamlit helpers the pages share.

- `theme`    colours and layout defaults (with/without transfer, source/target, classes)
- `charts`   pure figure builders (plotly only; unit-tested without Streamlit)
- `strips`   the freeze-depth strip as HTML (pure)
- `images`   thumbnail grids (numpy only)
- `views`    a run's state from the job manager, or from its record on disk (no Streamlit)
- `forms`    strategy Settings dataclasses → widget specs with help texts (pure)
- `state`    process-wide resources and per-tab state (Streamlit)
- `widgets`  sidebar, run pickers, error messages, downloads (Streamlit)
"""
