"""'Try your own image' on the Experiment page: draw, upload or photograph an image; the finished run and its
without-transfer twin give their class probabilities and show where the image lands on their maps (nothing trains).
"""
from __future__ import annotations

import streamlit as st

from tl_core.errors import UserError
from tl_core.networks.predict import ImageReading, png_from_data_url, read_image
from tl_core.records.run_view import RunView
from tl_core.runs.status import Status
from tl_core.strategies import transfers
from tl_ui import maps, state
from tl_ui.draw_canvas import draw_canvas
from tl_ui.widgets import chart, error
from tl_view import try_image

SOURCES = ("Draw", "Upload", "Camera")


@st.cache_data(max_entries=32, show_spinner=False)
def _reading(run_dir: str, image: bytes, invert: bool) -> ImageReading:
    return read_image(run_dir, image, invert)


def section(manager) -> None:
    """The expander: the image sources, then both networks' probabilities and maps once the open tab holds one."""
    watch = state.watched()
    views = [manager.view(watch[k]) for k in ("run", "baseline") if watch and watch.get(k)] if watch else []
    finished = [v for v in views if v is not None and v.status is Status.FINISHED]
    with st.expander("Try your own image", icon=":material/add_a_photo:", expanded=False):
        if not finished:
            st.caption("When the run has finished, draw, upload or photograph an image here to see what the network "
                       "with transfer and the one without make of it.")
            return
        labels = {views[0].run_id: "with transfer" if transfers(views[0].config) else "this run"}
        if len(views) > 1 and views[1] is not None:
            labels[views[1].run_id] = "without transfer"
        source, result = st.columns([1.1, 1.4], gap="medium")
        with source:
            try:
                image = _open_tab_image()
            except UserError as err:  # a drawing that cannot be read: said under the canvas
                error(err)
                return
        if image is None:
            result.caption("Draw a digit, upload a file or take a picture: both networks' class probabilities show "
                           "here, and where the image lands on their maps below.")
            return
        try:
            readings = [(labels.get(v.run_id, v.run_id), v,
                         _reading(str(manager.store.run_dir(v.run_id).path), *image)) for v in finished]
        except UserError as err:
            with result:
                error(err)
            return
        columns = [(label, reading.probabilities) for label, _, reading in readings]
        with result:
            st.markdown(try_image.verdict_text(columns))
            chart(try_image.probability_figure(columns), key="try-probabilities")
        _where_it_lands(readings, columns)


def _open_tab_image() -> tuple[bytes, bool] | None:
    """(the open tab's image file, whether to invert its colours), or None while that tab holds no image."""
    draw, upload, camera = st.tabs(SOURCES, key="try-source", on_change="rerun")
    with draw:
        drawing = draw_canvas("try-draw")
    file = upload.file_uploader("An image (PNG or JPEG)", type=["png", "jpg", "jpeg"], key="try-upload",
                                help="Resized and centre-cropped to the run's image size, as its images were.")
    photo = camera.camera_input("Take a picture", key="try-camera")
    invert = st.toggle("Invert colours", key="try-invert",
                       help="For an uploaded file or a photo: the built-in digits are light strokes on a dark "
                            "background, a digit written on paper is the opposite. A drawing is already light on "
                            "dark and is never inverted.")
    if draw.open:
        return None if drawing is None else (png_from_data_url(drawing), False)
    chosen = file if upload.open else photo
    return None if chosen is None else (chosen.getvalue(), invert)


def _where_it_lands(readings: list[tuple[str, RunView, ImageReading]], columns) -> None:
    """Both maps side by side, the image a star on each; runs without a feature snapshot are left out, said so."""
    panels, points, missing = [], [], []
    for label, view, reading in readings:
        if not view.snapshots:
            missing.append(label)
            continue
        epoch, path = view.snapshots[-1]
        try:
            coords, point = maps.place(path, reading.features)
        except (OSError, ValueError, KeyError):
            missing.append(label)
            continue
        panels.append(maps.panel(f"{label.capitalize()} · epoch {epoch}", path, coords))
        points.append(point)
    if panels:
        classes = list(readings[0][2].probabilities)
        chart(try_image.landing_figure(panels, points, classes), key="try-maps")
        st.caption(try_image.landing_caption([c for c in columns if c[0] not in missing]))
    if missing:
        st.caption(f"No map for {' and '.join(missing)}: that run saved no readable feature snapshot.")
