"""Data in: hostile archives are refused with a message that says what to do, nothing lands outside the session
folder (and nothing stays inside it after a refusal); bad images are skipped with the reason; what users expect
from real zips (a wrapping folder, __MACOSX, dotfiles, .JPG) just works. Every file is generated here, small."""
import io
import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from tl_core.errors import DatasetError, UserError
from tl_core.feasibility.demo_data import shape_image, write_shapes_folder, zip_folder
from tl_core.feasibility.errors import UnusableDatasetError, UploadError
from tl_core.feasibility.uploads import ZipLimits, extract_upload, list_server_folders, resolve_server_folder
from tl_core.feasibility.validate import validate_folder

# ---------------------------------------------------------------- helpers


def png_bytes(seed: int = 0, shape: str = "circle", size: int = 16) -> bytes:
    buffer = io.BytesIO()
    shape_image(shape, size, np.random.default_rng(seed)).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(seed: int = 0, size: int = 32) -> bytes:
    buffer = io.BytesIO()
    shape_image("square", size, np.random.default_rng(seed)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A 1×1 PNG whose IHDR claims width×height: a few dozen bytes that announce an image bomb."""
    data = bytearray(png_bytes(size=1))
    ihdr = 8 + 8  # signature, then the IHDR chunk's length and type
    data[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4:ihdr + 13]))
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def make_zip(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


def good_entries(classes=("circle", "square"), per_class: int = 4, prefix: str = "") -> dict[str, bytes]:
    return {f"{prefix}{c}/{i:02d}.png": png_bytes(i, c) for c in classes for i in range(per_class)}


@pytest.fixture
def session(tmp_path):
    """A session folder inside a sandbox; `outside` is everything else in the sandbox, which must stay empty."""
    sandbox = tmp_path / "sandbox"
    (sandbox / "session").mkdir(parents=True)
    return sandbox / "session"


def tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def assert_refused(data, session: Path, kind: str, *words: str, limits: ZipLimits | None = None) -> UploadError:
    with pytest.raises(UploadError) as caught:
        extract_upload(data, session, **({"limits": limits} if limits else {}))
    err = caught.value
    assert isinstance(err, DatasetError) and isinstance(err, UserError)
    assert err.kind == kind, str(err)
    for word in words:
        assert word in str(err), str(err)
    assert tree(session) == [], "a refused archive must leave nothing in the session folder"
    assert tree(session.parent) == ["session"], "nothing may be written outside the session folder"
    return err


# ---------------------------------------------------------------- hostile archives


def test_parent_directory_entry_is_refused(session):
    entries = {**good_entries(), "../escaped.png": png_bytes()}
    assert_refused(make_zip(entries), session, "unsafe_path", "'../escaped.png'", "outside")


def test_deep_parent_directory_entry_is_refused(session):
    entries = {**good_entries(), "circle/../../../escaped.txt": b"x"}
    assert_refused(make_zip(entries), session, "unsafe_path", "outside")


@pytest.mark.parametrize("name", ["/tmp/escaped.png", "C:/escaped.png", "\\\\server\\share\\x.png"])
def test_absolute_path_entry_is_refused(session, name):
    entries = {**good_entries(), name: png_bytes()}
    assert_refused(make_zip(entries), session, "unsafe_path", "absolute path")


def test_symlink_entry_is_refused(session):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in good_entries().items():
            archive.writestr(name, data)
        link = zipfile.ZipInfo("circle/passwords.png")
        link.create_system = 3  # Unix: the mode is in the top 16 bits
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    assert_refused(buffer.getvalue(), session, "link", "symbolic link", "zip the real files")


def test_too_many_entries_is_refused(session):
    entries = {f"circle/{i:03d}.png": b"x" for i in range(60)}
    assert_refused(make_zip(entries), session, "too_many_entries", "60 entries", "limit is 50",
                   limits=ZipLimits(max_entries=50))


@pytest.mark.slow
def test_default_entry_limit_is_enforced(session):
    entries = {f"circle/{i:05d}.txt": b"" for i in range(20_001)}
    assert_refused(make_zip(entries, zipfile.ZIP_STORED), session, "too_many_entries", "20,001 entries")


def _count_zip_infos(monkeypatch) -> list[int]:
    """How many ZipInfo objects zipfile makes from here on (one per central-directory entry it reads)."""
    made = [0]

    class Counted(zipfile.ZipInfo):
        __slots__ = ()

        def __init__(self, *args, **kwargs):
            made[0] += 1
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(zipfile, "ZipInfo", Counted)
    return made


def test_too_many_entries_are_counted_without_reading_the_whole_directory(session, monkeypatch):
    data = make_zip({f"circle/{i:05d}.txt": b"" for i in range(2_000)}, zipfile.ZIP_STORED)
    made = _count_zip_infos(monkeypatch)
    assert_refused(data, session, "too_many_entries", "2,000 entries", limits=ZipLimits(max_entries=100))
    assert made[0] <= 100


def test_an_end_record_that_understates_the_entries_is_caught(session, monkeypatch):
    data = bytearray(make_zip({f"circle/{i:05d}.txt": b"" for i in range(2_000)}, zipfile.ZIP_STORED))
    end = data.rfind(b"PK\x05\x06")
    data[end + 8:end + 12] = struct.pack("<HH", 1, 1)  # "1 entry" on this disk and in all
    made = _count_zip_infos(monkeypatch)
    assert_refused(bytes(data), session, "too_many_entries", "more than 100 entries",
                   limits=ZipLimits(max_entries=100))
    assert made[0] <= 100


def test_high_compression_ratio_is_refused(session):
    entries = {**good_entries(), "circle/zeros.bmp": bytes(5 << 20)}  # 5 MB of zeros deflate to ~5 KB
    assert_refused(make_zip(entries), session, "ratio", "zip bomb", "circle/zeros.bmp")


def test_huge_total_is_refused_from_the_headers(session):
    rng = np.random.default_rng(0)
    entries = {f"circle/{i}.bin": rng.bytes(300_000) for i in range(4)}  # incompressible: ratio ~1
    assert_refused(make_zip(entries), session, "too_large", "expand to", "limit is",
                   limits=ZipLimits(max_total_bytes=1_000_000))


def test_lying_headers_are_caught_while_copying(session, monkeypatch):
    """Headers that under-state the sizes pass the cheap checks; the running count during the copy stops it."""
    from tl_core.feasibility import uploads

    monkeypatch.setattr(uploads, "_check_declared", lambda entries, limits: None)
    rng = np.random.default_rng(1)
    entries = {f"circle/{i}.bin": rng.bytes(300_000) for i in range(4)}
    assert_refused(make_zip(entries), session, "too_large", "more than",
                   limits=ZipLimits(max_total_bytes=1_000_000))
    monkeypatch.setattr(uploads, "_check_declared", lambda entries, limits: None)
    assert_refused(make_zip({**good_entries(), "circle/zeros.bmp": bytes(5 << 20)}), session, "ratio", "zip bomb")


def test_empty_archive_is_refused(session):
    assert_refused(make_zip({}), session, "empty", "empty", "one sub-folder of images per class")


def test_archive_of_only_system_files_is_empty(session):
    entries = {"__MACOSX/circle/._00.png": b"x", ".DS_Store": b"x", "circle/.hidden": b"x"}
    assert_refused(make_zip(entries), session, "empty", "hidden or system files")


@pytest.mark.parametrize("data", [b"", b"this is plain text", png_bytes()])
def test_not_a_zip_is_refused(session, data):
    assert_refused(data, session, "not_zip", "not a zip archive", ".zip")


def test_missing_upload_file_is_refused(session, tmp_path):
    assert_refused(tmp_path / "nope.zip", session, "not_zip", "no file")


def test_damaged_entry_is_refused(session):
    data = bytearray(make_zip({"circle/a.txt": b"hello world " * 100, "square/b.txt": b"x" * 50},
                              zipfile.ZIP_STORED))
    start = data.index(b"hello world")
    data[start:start + 5] = b"HELLO"  # the stored bytes no longer match their CRC
    assert_refused(bytes(data), session, "not_zip", "damaged")


def test_encrypted_entry_is_refused(session):
    data = bytearray(make_zip({"circle/a.png": png_bytes()}))
    data[6] |= 0x1  # local header flag bits: "encrypted"
    cd = data.index(b"PK\x01\x02")
    data[cd + 8] |= 0x1  # central directory flag bits
    assert_refused(bytes(data), session, "encrypted", "password")


def test_refusal_keeps_an_earlier_dataset(session):
    first = extract_upload(make_zip(good_entries()), session)
    before = {p: p.read_bytes() for p in first.rglob("*.png")}
    with pytest.raises(UploadError):
        extract_upload(make_zip({**good_entries(("ring", "cross")), "../x": b"x"}), session)
    with pytest.raises(UploadError):
        extract_upload(make_zip({**good_entries(("ring", "cross")), "ring/zeros.bmp": bytes(5 << 20)}), session)
    assert sorted(p.name for p in session.iterdir()) == ["dataset"]
    assert {p: p.read_bytes() for p in first.rglob("*.png")} == before and len(before) == 8


# ---------------------------------------------------------------- what users expect from real zips


def test_nested_single_root_macosx_hidden_files_and_upper_case_extensions(session):
    entries = {
        **good_entries(prefix="mydata/"),
        "mydata/square/photo.JPG": jpeg_bytes(1),
        "mydata/circle/scan.PNG": png_bytes(9),
        "__MACOSX/mydata/circle/._00.png": b"\x00\x05\x16\x07resource fork",
        "mydata/.DS_Store": b"\x00\x00\x00\x01Bud1",
        "mydata/circle/.hidden.png": png_bytes(3),
        "mydata/.git/config": b"[core]",
    }
    folder = extract_upload(make_zip(entries), session)
    assert folder == session / "dataset"
    assert sorted(p.name for p in folder.iterdir()) == ["circle", "square"]
    assert not any(part.startswith(".") or part == "__MACOSX" for p in tree(folder) for part in p.split("/"))
    assert sorted(p.name for p in session.iterdir()) == ["dataset"]  # no staging folder left behind
    report = validate_folder(folder)
    assert report.counts == {"circle": 5, "square": 5}
    assert report.formats == {"PNG": 9, "JPEG": 1}
    assert report.skipped == []


def test_doubly_wrapped_root_and_a_path_to_a_zip_file(session, tmp_path):
    path = tmp_path / "upload.zip"
    path.write_bytes(make_zip(good_entries(prefix="outer/inner/")))
    folder = extract_upload(path, session)
    assert sorted(p.name for p in folder.iterdir()) == ["circle", "square"]


def test_backslash_names_become_folders(session):
    entries = {name.replace("/", "\\"): data for name, data in good_entries().items()}
    folder = extract_upload(make_zip(entries), session)
    assert sorted(p.name for p in folder.iterdir()) == ["circle", "square"]


def test_a_second_upload_replaces_the_first(session):
    extract_upload(make_zip(good_entries(("circle", "square"))), session)
    folder = extract_upload(make_zip(good_entries(("ring", "cross"))), session)
    assert sorted(p.name for p in folder.iterdir()) == ["cross", "ring"]
    assert sorted(p.name for p in session.iterdir()) == ["dataset"]


def test_generated_folder_round_trips_through_a_zip(session, tmp_path):
    source = write_shapes_folder(tmp_path / "shapes", num_classes=3, per_class=5)
    folder = extract_upload(zip_folder(source, prefix="shapes/"), session)
    assert tree(folder) == tree(source)


# ---------------------------------------------------------------- bad images inside a good archive


def extract_and_validate(entries: dict[str, bytes], session: Path):
    return validate_folder(extract_upload(make_zip(entries), session))


def skipped(report) -> dict[str, str]:
    return {s.path: s.reason for s in report.skipped}


def test_image_bomb_is_skipped_from_its_header(session):
    report = extract_and_validate({**good_entries(), "circle/bomb.png": png_declaring(20_000, 20_000)}, session)
    assert skipped(report) == {"circle/bomb.png": "too_large"}
    assert "downscale" in report.skipped[0].detail
    assert report.counts == {"circle": 4, "square": 4}


def test_image_over_the_megapixel_cap_is_skipped(session):
    report = extract_and_validate({**good_entries(), "circle/big.png": png_declaring(7_000, 7_000)}, session)
    assert skipped(report) == {"circle/big.png": "too_large"}
    assert "7000×7000" in report.skipped[0].detail and "40 MP" in report.skipped[0].detail


def test_corrupt_and_truncated_images_are_skipped(session):
    png, jpeg = png_bytes(5, size=32), jpeg_bytes(5, size=64)
    garbled = bytearray(png)
    garbled[40:60] = bytes(20)
    entries = {**good_entries(), "circle/cut.png": png[: len(png) // 2], "square/cut.jpg": jpeg[: len(jpeg) // 2],
               "square/garbled.png": bytes(garbled)}
    report = extract_and_validate(entries, session)
    assert skipped(report) == {"circle/cut.png": "corrupt", "square/cut.jpg": "corrupt",
                               "square/garbled.png": "corrupt"}
    assert all("re-export or remove" in s.detail for s in report.skipped)


def test_non_images_are_skipped(session):
    entries = {**good_entries(), "circle/notes.txt": b"hello", "square/fake.jpg": b"not really a jpeg",
               "square/empty.png": b"", "readme.md": b"# my data"}
    report = extract_and_validate(entries, session)
    assert skipped(report) == {"circle/notes.txt": "not_an_image", "square/fake.jpg": "not_an_image",
                               "square/empty.png": "empty", "readme.md": "outside_class"}
    assert report.counts == {"circle": 4, "square": 4}
    assert any("skipped: not an image file" in m for m in report.messages())


def test_duplicates_within_and_across_classes(session):
    same = png_bytes(42)
    entries = {**good_entries(per_class=4), "circle/copy.png": (good_entries()["circle/00.png"]),
               "circle/x.png": same, "square/x.png": same}
    report = extract_and_validate(entries, session)
    assert skipped(report) == {"circle/copy.png": "duplicate", "circle/x.png": "conflict", "square/x.png": "conflict"}
    assert report.counts == {"circle": 4, "square": 4}
    assert sorted(map(sorted, report.duplicate_groups)) == [["circle/00.png", "circle/copy.png"],
                                                            ["circle/x.png", "square/x.png"]]
    assert any("more than one class" in m for m in report.messages())


def test_single_class_is_unusable(session):
    with pytest.raises(UnusableDatasetError) as caught:
        extract_and_validate(good_entries(("circle",), per_class=6), session)
    assert "at least two classes with 3+ usable images each" in str(caught.value)
    assert "'circle' (6)" in str(caught.value)
    assert caught.value.report.counts == {"circle": 6}


def test_class_with_one_image_is_excluded_with_a_message(session):
    entries = {**good_entries(("circle", "square")), "ring/only.png": png_bytes(7, "ring")}
    report = extract_and_validate(entries, session)
    assert report.classes == ["circle", "square"]
    assert "1 usable image" in report.excluded_classes["ring"]
    assert any(m.startswith("Class 'ring' will not train") for m in report.messages())


def test_two_classes_one_too_small_is_unusable(session):
    entries = {**good_entries(("circle",)), "square/only.png": png_bytes(7, "square")}
    with pytest.raises(UnusableDatasetError) as caught:
        extract_and_validate(entries, session)
    assert "at least two classes" in str(caught.value) and "'square' (1)" in str(caught.value)
    assert set(caught.value.report.excluded_classes) == {"square"}


def test_images_only_at_the_top_level_are_unusable(session):
    entries = {f"{i}.png": png_bytes(i) for i in range(6)}
    with pytest.raises(UnusableDatasetError) as caught:
        extract_and_validate(entries, session)
    assert "own sub-folder" in str(caught.value)
    assert {s.reason for s in caught.value.report.skipped} == {"outside_class"}


def test_report_renders_to_plain_data(session):
    import json

    report = extract_and_validate({**good_entries(), "circle/n.txt": b"x"}, session)
    data = report.to_dict()
    json.dumps(data)
    assert data["counts"] == {"circle": 4, "square": 4} and data["usable"] and data["images_per_class"] == 4
    assert data["size_stats"]["width_median"] == 16 and data["modes"] == {"RGB": 8}
    assert data["skipped_by_reason"] == {"not_an_image": 1}


def test_links_in_a_server_folder_are_not_followed(tmp_path):
    root = tmp_path / "root"
    for c in ("circle", "square"):
        (root / c).mkdir(parents=True)
        for i in range(3):
            (root / c / f"{i}.png").write_bytes(png_bytes(i, c))
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes(99))
    os.symlink(secret, root / "circle" / "link.png")
    os.symlink(tmp_path, root / "escape")
    report = validate_folder(root)
    assert skipped(report) == {"circle/link.png": "link"}
    assert report.classes == ["circle", "square"]


# ---------------------------------------------------------------- folders named on the server


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    root = tmp_path / "user-data"
    (root / "flowers" / "roses").mkdir(parents=True)
    (root / "team" / "cars").mkdir(parents=True)
    (tmp_path / "private").mkdir()
    os.symlink(tmp_path / "private", root / "sneaky")
    monkeypatch.setenv("TL_UPLOAD_ROOT", str(root))
    return root


def test_server_folder_resolves_inside_the_root(data_root):
    assert resolve_server_folder("flowers") == (data_root / "flowers").resolve()
    assert resolve_server_folder("team/cars") == (data_root / "team" / "cars").resolve()
    assert list_server_folders() == ["flowers", "sneaky", "team"]


@pytest.mark.parametrize("name, words", [
    ("../private", "outside the data root"),
    ("flowers/../../private", "outside the data root"),
    ("/etc", "not a full path"),
    ("~/secrets", "not a full path"),
    ("sneaky", "through a link"),
    ("nope", "no folder 'nope'"),
    ("", "Name a folder"),
])
def test_server_folder_refuses_traversal(data_root, name, words):
    with pytest.raises(UploadError) as caught:
        resolve_server_folder(name)
    assert words in str(caught.value)


def test_missing_data_root_says_how_to_set_it(tmp_path):
    with pytest.raises(UploadError, match="TL_UPLOAD_ROOT"):
        resolve_server_folder("x", data_root=tmp_path / "none")


# ---------------------------------------------------------------- each owner's disk quota


def sized_zip(kilobytes: int) -> bytes:
    """Two classes of incompressible files, `kilobytes` in all."""
    rng = np.random.default_rng(kilobytes)
    return make_zip({f"{c}/{i}.png": rng.bytes(1024) for c in ("a", "b") for i in range(kilobytes // 2)},
                    zipfile.ZIP_STORED)


@pytest.mark.slow
def test_an_owners_older_sessions_make_room_for_a_new_upload(tmp_path):
    from tl_core.feasibility.upload_quota import UploadQuota
    from tl_core.feasibility.uploads import new_session_dir

    alice_old, bob = new_session_dir(tmp_path, owner="alice"), new_session_dir(tmp_path, owner="bob")
    quota = 600 * 1024
    extract_upload(sized_zip(400), alice_old, quota=UploadQuota.for_session(alice_old, limit_bytes=quota))
    extract_upload(sized_zip(400), bob, quota=UploadQuota.for_session(bob, limit_bytes=quota))
    alice_new = new_session_dir(tmp_path, owner="alice")
    extract_upload(sized_zip(400), alice_new, quota=UploadQuota.for_session(alice_new, limit_bytes=quota))
    assert not alice_old.exists(), "Alice's older session makes room for her new upload"
    assert (alice_new / "dataset").is_dir() and (bob / "dataset").is_dir(), "Bob's uploads are not Alice's quota"
    extract_upload(sized_zip(400), alice_new, quota=UploadQuota.for_session(alice_new, limit_bytes=quota))
    assert (alice_new / "dataset").is_dir(), "a dataset replaced by a new upload does not count against it"


def test_an_upload_that_cannot_fit_the_quota_is_refused_and_a_running_checks_data_is_kept(tmp_path):
    from tl_core.feasibility.upload_quota import UploadQuota
    from tl_core.feasibility.uploads import new_session_dir

    running, session = new_session_dir(tmp_path, owner="alice"), new_session_dir(tmp_path, owner="alice")
    extract_upload(sized_zip(400), running)
    quota = UploadQuota.for_session(session, keep=(running / "dataset",), limit_bytes=600 * 1024)
    with pytest.raises(UploadError, match="upload quota") as caught:
        extract_upload(sized_zip(400), session, quota=quota)
    assert caught.value.kind == "quota" and "smaller subset" in str(caught.value)
    assert (running / "dataset").is_dir() and tree(session) == []
