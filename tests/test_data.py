"""tl_core.data: shapes, determinism, splits, label budgets, the cache, offline behaviour, image folders."""
import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image

from tl_core.data import DatasetInfo, Split, builtin, label_budget, list_datasets, load_domain, scan_image_folder
from tl_core.data.digits import build_digits_m
from tl_core.data.splits import stratified_indices
from tl_core.data.synth import build_synth_digits
from tl_core.data.torchvision_sets import SETS
from tl_core.errors import DatasetError, OfflineError

DIGITS = tuple(str(d) for d in range(10))


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """Every test gets its own empty data folder and a machine that is offline."""
    monkeypatch.setenv("TL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TL_OFFLINE", "1")
    return tmp_path / "data"


@pytest.fixture(scope="module")
def small_synth():
    return build_synth_digits(32, count=500)


def check_domain(domain, img_size, num_classes=10):
    assert domain.num_classes == num_classes == len(domain.classes)
    for split in (domain.train, domain.val, domain.test):
        assert split.images.dtype == torch.uint8
        assert split.images.shape[1:] == (3, img_size, img_size)
        assert split.labels.dtype == torch.int64
        assert len(split) == split.images.shape[0] > 0
        assert 0 <= split.labels.min() and split.labels.max() < num_classes


def all_labels(domain):
    return torch.cat([domain.train.labels, domain.val.labels, domain.test.labels])


# --- built-in domains ---------------------------------------------------------------------------------------


def test_digits_are_real_white_on_black_digits():
    d = load_domain("digits", 28)
    check_domain(d, 28)
    assert d.classes == DIGITS
    assert len(all_labels(d)) == 1797
    images = d.train.images.float()
    assert images[:, :, 0, 0].mean() < 10  # dark corners
    assert images.amax(dim=(1, 2, 3)).min() > 150  # a bright stroke in every image
    assert torch.equal(d.train.images[:, 0], d.train.images[:, 2])  # grey repeated into 3 channels


def test_digits_m_has_the_labels_and_splits_of_digits_but_other_pixels():
    digits, digits_m = load_domain("digits", 32), load_domain("digits-m", 32)
    check_domain(digits_m, 32)
    for a, b in [(digits.train, digits_m.train), (digits.val, digits_m.val), (digits.test, digits_m.test)]:
        assert torch.equal(a.labels, b.labels)
        assert not torch.equal(a.images, b.images)
    assert not torch.equal(digits_m.train.images[:, 0], digits_m.train.images[:, 2])  # colour


def test_synth_digits_are_balanced_coloured_and_sized(small_synth):
    check_domain(small_synth, 32)
    assert small_synth.classes == DIGITS
    assert torch.bincount(all_labels(small_synth), minlength=10).tolist() == [50] * 10
    assert not torch.equal(small_synth.train.images[:, 0], small_synth.train.images[:, 2])
    assert build_synth_digits(20, count=30).train.images.shape[1:] == (3, 20, 20)


def test_builds_are_deterministic(small_synth):
    again = build_synth_digits(32, count=500)
    assert torch.equal(small_synth.train.images, again.train.images)
    assert torch.equal(small_synth.test.labels, again.test.labels)
    assert not torch.equal(build_synth_digits(16, count=50, seed=1).train.images,
                           build_synth_digits(16, count=50, seed=2).train.images)
    assert torch.equal(build_digits_m(8).train.images, build_digits_m(8).train.images)


def test_load_domain_builds_synth_digits_through_the_cache(monkeypatch, data_dir):
    small = builtin.BUILTINS["synth-digits"]._replace(build=lambda s: build_synth_digits(s, count=200))
    monkeypatch.setitem(builtin.BUILTINS, "synth-digits", small)
    d = load_domain("synth-digits", 24)
    check_domain(d, 24)
    assert (data_dir / "builtin" / f"synth-digits-24px-{builtin.builtin_fingerprint('synth-digits')}.pt").is_file()


# --- splits and label budgets -------------------------------------------------------------------------------


def test_stratified_splits_are_disjoint_complete_and_proportional():
    labels = torch.tensor([0] * 100 + [1] * 50 + [2] * 30)
    train, val, test = stratified_indices(labels, (0.7, 0.1, 0.2), seed=0)
    together = torch.cat([train, val, test])
    assert sorted(together.tolist()) == list(range(len(labels)))  # disjoint and complete
    for part, fraction in [(train, 0.7), (val, 0.1), (test, 0.2)]:
        counts = torch.bincount(labels[part], minlength=3)
        assert torch.allclose(counts.float(), torch.tensor([100, 50, 30]) * fraction, atol=1)
    again = stratified_indices(labels, (0.7, 0.1, 0.2), seed=0)
    assert all(torch.equal(a, b) for a, b in zip((train, val, test), again))


def test_domain_splits_are_stratified_70_10_20():
    d = load_domain("digits", 16)
    total = torch.bincount(all_labels(d), minlength=10).float()
    for split, fraction in [(d.train, 0.7), (d.val, 0.1), (d.test, 0.2)]:
        assert torch.allclose(torch.bincount(split.labels, minlength=10).float(), total * fraction, atol=1)


def _split(per_class_counts):
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(per_class_counts)])
    images = torch.arange(len(labels), dtype=torch.uint8).view(-1, 1, 1, 1).expand(-1, 3, 2, 2).clone()
    return Split(images, labels)


def test_label_budget_takes_exactly_per_class_of_each_class():
    split = _split([20, 30, 25])
    labelled, unlabelled = label_budget(split, per_class=5, seed=0)
    assert torch.bincount(labelled.labels).tolist() == [5, 5, 5]
    assert torch.bincount(unlabelled.labels).tolist() == [15, 25, 20]
    ids = lambda s: set(s.images[:, 0, 0, 0].tolist())  # noqa: E731 - each image holds its own index
    assert ids(labelled).isdisjoint(ids(unlabelled)) and len(ids(labelled) | ids(unlabelled)) == len(split)


def test_label_budget_depends_on_the_seed_only():
    split = _split([40, 40])
    first, _ = label_budget(split, 3, seed=1)
    assert torch.equal(first.images, label_budget(split, 3, seed=1)[0].images)
    assert not torch.equal(first.images, label_budget(split, 3, seed=2)[0].images)


def test_label_budget_all_and_small_classes():
    split = _split([10, 2])
    labelled, unlabelled = label_budget(split, None, seed=0)
    assert labelled is split and len(unlabelled) == 0 and unlabelled.images.shape[1:] == (3, 2, 2)
    labelled, _ = label_budget(split, 4, seed=0)
    assert torch.bincount(labelled.labels).tolist() == [4, 2]


def test_split_rejects_wrong_tensors():
    with pytest.raises(ValueError):
        Split(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError):
        Split(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.zeros(3, dtype=torch.long))


# --- cache --------------------------------------------------------------------------------------------------


def test_cache_round_trip_is_plain_and_builds_nothing_again(data_dir, monkeypatch):
    first = load_domain("digits-m", 32)
    path = data_dir / "builtin" / f"digits-m-32px-{builtin.builtin_fingerprint('digits-m')}.pt"
    assert path.is_file()
    assert isinstance(torch.load(path, weights_only=True), dict)
    spec, builds = builtin.BUILTINS["digits-m"], []
    monkeypatch.setitem(builtin.BUILTINS, "digits-m", spec._replace(build=lambda size: builds.append(size) or
                                                                      spec.build(size)))
    second = load_domain("digits-m", 32)
    assert builds == []  # read back from the cache
    assert second.classes == first.classes
    for a, b in [(first.train, second.train), (first.val, second.val), (first.test, second.test)]:
        assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind


def test_a_damaged_cache_is_rebuilt(data_dir):
    path = data_dir / "builtin" / f"digits-16px-{builtin.builtin_fingerprint('digits')}.pt"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a torch file")
    check_domain(load_domain("digits", 16), 16)
    assert isinstance(torch.load(path, weights_only=True), dict)


# --- names, torchvision, offline ----------------------------------------------------------------------------


def test_unknown_name_lists_the_valid_names():
    with pytest.raises(DatasetError, match="valid names: .*synth-digits.*mnist.*folder:PATH"):
        load_domain("imagenet")


@pytest.mark.parametrize("size", [0, 4, 10_000, 32.0])
def test_bad_img_size_is_a_dataset_error(size):
    with pytest.raises(DatasetError, match="img_size"):
        load_domain("digits", size)


@pytest.mark.parametrize("name", sorted(SETS))
def test_missing_torchvision_set_offline_fails_without_trying_a_download(name, monkeypatch, network_attempts):
    downloads = []
    monkeypatch.setitem(SETS, name, dataclasses.replace(SETS[name], load=lambda *args: downloads.append(args)))
    with pytest.raises(OfflineError, match=f"{SETS[name].title} is not in .*offline.*copy"):
        load_domain(name, 32)
    assert downloads == [] and network_attempts == []


def _write_idx(path, array):
    """The MNIST file format: magic (0, 0, type 0x08 = ubyte, ndim), big-endian sizes, then the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_torchvision_set_already_on_disk_loads_offline(data_dir):
    raw = data_dir / "torchvision" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in [("train", 100), ("t10k", 30)]:
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    assert {i.name: i.offline for i in list_datasets()}["mnist"]
    d = load_domain("mnist", 32)
    check_domain(d, 32)
    assert (len(d.train), len(d.val), len(d.test)) == (90, 10, 30)
    assert torch.bincount(d.val.labels).tolist() == [1] * 10


def test_list_datasets():
    infos = list_datasets()
    assert all(isinstance(i, DatasetInfo) for i in infos)
    by_name = {i.name: i for i in infos}
    assert set(by_name) == {*builtin.BUILTINS, *SETS} >= {"digits", "synth-digits", "digits-m"}
    assert all(by_name[name].offline and by_name[name].kind == "built-in" for name in builtin.BUILTINS)
    assert by_name["digits"].offline and by_name["digits"].kind == "built-in"
    assert not by_name["cifar10"].offline and by_name["cifar10"].kind == "torchvision"


# --- image folders ------------------------------------------------------------------------------------------


@pytest.fixture
def image_folder(tmp_path):
    root = tmp_path / "pets"
    rng = np.random.default_rng(0)
    for c, name in enumerate(["cat", "dog", "eel"]):
        (root / name).mkdir(parents=True)
        for i in range(10):
            pixels = np.full((20 + i, 30, 3), 80 * c, dtype=np.uint8) + rng.integers(0, 20, (20 + i, 30, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "empty").mkdir()
    (root / "README.md").write_text("loose file")
    return root


def test_scan_image_folder_reports_classes_images_and_skips(image_folder):
    classes, items, skipped = scan_image_folder(image_folder)
    assert classes == ["cat", "dog", "eel"]
    assert len(items) == 30 and {label for _f, label in items} == {0, 1, 2}
    reasons = {p.name: reason for p, reason in skipped}
    assert set(reasons) == {"notes.txt", "empty", "README.md"}
    assert "not an image" in reasons["notes.txt"]


def test_folder_domain_loads_resized_stratified_images(image_folder):
    d = load_domain(f"folder:{image_folder}", 24)
    check_domain(d, 24, num_classes=3)
    assert d.classes == ("cat", "dog", "eel")
    assert [torch.bincount(s.labels).tolist() for s in (d.train, d.val, d.test)] == [[7] * 3, [1] * 3, [2] * 3]
    assert d.train.images[d.train.labels == 2].float().mean() > 150  # the eel images are the bright ones


def test_unusable_folders_are_dataset_errors(tmp_path):
    with pytest.raises(DatasetError, match="is not a folder"):
        load_domain(f"folder:{tmp_path / 'missing'}")
    (tmp_path / "one" / "only").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "one" / "only" / "a.png")
    with pytest.raises(DatasetError, match="at least 2"):
        load_domain(f"folder:{tmp_path / 'one'}")
