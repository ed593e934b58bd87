"""Try your own image: a finished run's saved network gives class probabilities for one image file, the same
network the run evaluated; unreadable files and unfinished runs get a message."""
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tl_core.data import load_domain
from tl_core.errors import UserError
from tl_core.networks.predict import image_tensor, load_run_model, read_image
from tl_core.runs.runner import run_config


def png_of(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.slow
def test_a_finished_run_classifies_images_as_its_evaluation_did(tiny):
    summary = run_config(tiny.replace(target="digits", epochs=2, labels_per_class=None, snapshot_size=0))
    test = load_domain("digits", tiny.img_size).test
    model, classes, _ = load_run_model(summary["run_dir"])
    with torch.no_grad():
        predicted = model(test.images).argmax(1)
    assert classes == tuple(str(d) for d in range(10))
    assert (predicted == test.labels).float().mean().item() == pytest.approx(summary["target_acc"], abs=1e-6)
    for i in range(10):  # through an image file, as the page gets it
        probabilities = read_image(summary["run_dir"], png_of(test.images[i].permute(1, 2, 0).numpy())).probabilities
        assert list(probabilities) == list(classes)
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-4)
        assert max(probabilities, key=probabilities.get) == classes[int(predicted[i])]


def test_an_image_is_read_as_the_runs_read_theirs():
    photo = np.zeros((40, 60, 3), np.uint8)
    photo[:, :30] = 255
    x = image_tensor(png_of(photo), 16)
    assert x.shape == (1, 3, 16, 16) and x.dtype.is_floating_point is False
    assert image_tensor(png_of(photo), 16, invert=True).sum() == (255 - x.int()).sum()


def test_bad_files_and_unfinished_runs_get_a_message(tmp_path, tiny):
    with pytest.raises(UserError, match="cannot be read as an image"):
        image_tensor(b"not an image", 16)
    from tl_core.runs.runner import prepare_run

    queued = prepare_run(tiny)
    with pytest.raises(UserError, match="saved no weights"):
        read_image(queued.path, png_of(np.zeros((8, 8, 3), np.uint8)))


def test_a_drawing_s_data_url_becomes_the_png_file_a_prediction_reads():
    import base64

    from tl_core.networks.predict import png_from_data_url

    drawing = np.zeros((280, 280, 3), np.uint8)
    drawing[60:220, 130:150] = 255  # a '1'
    png = png_from_data_url("data:image/png;base64," + base64.b64encode(png_of(drawing)).decode())
    assert png == png_of(drawing)
    assert image_tensor(png, 16).shape == (1, 3, 16, 16)
    for garbage in ("", None, "data:image/jpeg;base64,/9j/", "data:image/png;base64,@@not base64@@",
                    "data:image/png;base64," + base64.b64encode(b"GIF89a...").decode()):
        with pytest.raises(UserError, match="press Clear and draw again"):
            png_from_data_url(garbage)


@pytest.mark.slow
def test_an_image_of_the_last_snapshot_lands_on_its_own_point_of_the_map(tiny):
    """The features of an image file are the snapshots' features: a snapshot's own image, sent as a file, lands on
    its point of the snapshot's map (and its feature row is the snapshot's)."""
    from tl_core.analysis import place_on_map
    from tl_core.records.run_dir import RunDir
    from tl_core.records.run_view import snapshots_on_disk
    from tl_core.train.snapshots import read_snapshot

    summary = run_config(tiny.replace(epochs=1, snapshot_size=40))
    run = RunDir(Path(summary["run_dir"]))
    snap = read_snapshot(snapshots_on_disk(run.snapshots_dir)[-1][1])
    test = load_domain(tiny.target, tiny.img_size).test
    features = np.concatenate([snap["source_feats"], snap["target_feats"]])
    for row in (0, 7):
        image = test.images[int(snap["target_index"][row])].permute(1, 2, 0).numpy()
        reading = read_image(run.path, png_of(image))
        np.testing.assert_allclose(reading.features, snap["target_feats"][row], rtol=1e-4, atol=1e-4)
        coords, placed = place_on_map(features, reading.features[None])
        own = coords[len(snap["source_feats"]) + row]
        assert np.linalg.norm(placed[0] - own) < 1e-3
        assert np.linalg.norm(coords - placed[0], axis=1).argmin() in np.flatnonzero((coords == own).all(axis=1))
