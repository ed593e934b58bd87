"""What the default experiment stands on: datasets rendered only from shipped inputs, cache keys made of those
inputs' contents, and shipped source networks that a matching `--weights source` run starts from."""
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tl_core.backbones import create_backbone, load_state_into
from tl_core.cli import main
from tl_core.data import synth
from tl_core.data.builtin import BUILTINS
from tl_core.networks import pretrain
from tl_core.networks.publish import publish
from tl_core.runs.config import RunConfig
from tl_core.train.events import StageStarted
from tl_core.train.loop import FitContext

ROOT = Path(__file__).resolve().parents[1]
RENDER = ("import hashlib, torch; from tl_core.data.synth import render; "
          "print(hashlib.sha256(render(torch.arange(40) % 10, 16, 3).numpy().tobytes()).hexdigest())")


def _render_hash(home: Path) -> str:
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share"), "PATH": "/usr/bin:/bin",
           "TL_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", RENDER], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


@pytest.mark.slow
def test_synth_digits_are_byte_identical_whatever_fonts_the_machine_has(tmp_path):
    bare, extra = tmp_path / "bare", tmp_path / "extra"
    bare.mkdir()
    for fonts in (extra / ".fonts", extra / ".local" / "share" / "fonts"):
        fonts.mkdir(parents=True)
        for system_font in sorted(Path("/usr/share/fonts").rglob("*.ttf"))[:3]:
            shutil.copy(system_font, fonts / f"extra-{system_font.name}")
        shutil.copy(synth.font_files()[0], fonts / "ZZZ-another.ttf")
    assert _render_hash(bare) == _render_hash(extra)
    in_process = hashlib.sha256(synth.render(torch.arange(40) % 10, 16, 3).numpy().tobytes()).hexdigest()
    assert _render_hash(bare) == in_process


def test_synth_digits_render_only_the_shipped_fonts_and_every_family_has_its_licence():
    files = synth.font_files()
    assert len(files) >= 10 and all(f.parent == ROOT / "assets" / "fonts" for f in files)
    assert synth.glyph_bank(32).shape[0] == len(files)  # every shipped font has real digits
    licences = {p.name for p in (ROOT / "assets" / "fonts").glob("LICENSE-*.txt")}
    for family, licence in (("DejaVu", "LICENSE-DejaVu.txt"), ("Liberation", "LICENSE-Liberation.txt"),
                            ("Free", "LICENSE-FreeFont.txt")):
        assert any(f.name.startswith(family) for f in files) and licence in licences


def test_the_dataset_key_is_the_content_of_the_fonts_not_their_names(tmp_path, monkeypatch):
    before = synth.inputs_hash()
    copy = tmp_path / "fonts"
    shutil.copytree(synth.FONT_DIR, copy)
    monkeypatch.setattr(synth, "FONT_DIR", copy)
    assert synth.inputs_hash() == before
    changed = copy / synth.font_files()[0].name
    changed.write_bytes(changed.read_bytes() + b"\0")
    assert synth.inputs_hash() != before


def test_every_builtin_dataset_has_an_inputs_hash():
    hashes = {name: builtin.inputs_hash() for name, builtin in BUILTINS.items()}
    assert all(len(h) == 64 for h in hashes.values()) and len(set(hashes.values())) == len(hashes)


def test_the_default_run_starts_from_a_shipped_source_network_with_its_record():
    config = RunConfig()
    path = pretrain.shipped_path(config)
    assert config.weights == "source" and path.is_file(), "the defaults must match a shipped network's key"
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["file"] == path.name and record["key"] == pretrain.checkpoint_key(config)
    assert record["source_inputs_sha256"] == BUILTINS[config.source].inputs_hash()
    assert record["metrics"]["source_val_acc"] > 0.9 and record["metrics"]["epochs"] == config.pretrain_epochs
    assert {"torch", "timm", "numpy", "python"} <= set(record["versions"])
    backbone = create_backbone(config.backbone, "random", config.img_size)
    load_state_into(backbone, load_file(str(path)), origin="shipped")


def _short(**changes) -> RunConfig:
    return RunConfig(**{**dict(source="digits", target="digits", img_size=16, pretrain_epochs=1, batch_size=32), **changes})


def _ctx(events: list) -> FitContext:
    return FitContext("test", "pretrain", events.append, None)


@pytest.mark.slow
def test_a_published_network_is_used_without_pretraining_and_reproduces(tmp_path, monkeypatch, data_dir):
    monkeypatch.setattr(pretrain, "SHIPPED_DIR", tmp_path / "shipped")
    config = _short()
    first = publish(config, torch.device("cpu"), _ctx([]), tmp_path / "shipped")
    again = publish(config, torch.device("cpu"), _ctx([]), tmp_path / "again")
    events: list = []
    state = pretrain.source_pretrained_state(config, torch.device("cpu"), _ctx(events))
    assert not any(isinstance(e, StageStarted) for e in events), "a shipped network must not be trained again"
    assert not pretrain.checkpoint_path(config).exists()
    assert torch.equal(state["head.weight"], load_file(str(first))["head.weight"])
    one, two = (json.loads(p.with_suffix(".json").read_text())["metrics"] for p in (first, again))
    assert abs(one["source_val_acc"] - two["source_val_acc"]) <= 0.05
    assert pretrain.shipped_path(_short(lr=0.01, strategy="dann")) == first  # task B's settings share it
    assert pretrain.shipped_path(_short(seed=1)) != first  # each seed has its own source network
    other = _short(batch_size=16)  # another key: not shipped, so it is pretrained and cached
    pretrain.source_pretrained_state(other, torch.device("cpu"), _ctx(events))
    assert any(isinstance(e, StageStarted) for e in events) and pretrain.checkpoint_path(other).exists()


def test_pretrain_command_refuses_bad_input_in_one_line(capsys):
    for argv in (["pretrain", "--source", "no-such-set"], ["pretrain", "--pretrain-epochs", "0"]):
        assert main(argv) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_every_lesson_starts_each_seed_from_its_own_shipped_network():
    """No lesson pretrains at class time, and no two seeds of a lesson share a source or rotation network."""
    from tl_core.lessons import LESSONS
    from tl_core.lessons.plans import stage_configs
    from tl_core.networks.ssl import network_key

    for lesson in LESSONS:
        pretrained = [c for c in stage_configs(lesson, 0, False, [], None) if network_key(c) is not None]
        for arm in {c.arm for c in pretrained}:
            paths = {pretrain.shipped_path(network_key(c)) for c in pretrained if c.arm == arm}
            assert len(paths) == lesson.seeds, f"{lesson.key}/{arm}: one network per seed"
            assert all(p.is_file() for p in paths), f"{lesson.key}/{arm} would pretrain at class time"


@pytest.mark.slow
def test_a_rotation_network_is_published_with_its_record_and_then_used(tmp_path, monkeypatch, data_dir):
    from tl_core.networks.ssl import rotation_key, rotation_pretrained_state

    monkeypatch.setattr(pretrain, "SHIPPED_DIR", tmp_path)
    config = _short(target="digits", weights="ssl:rotation:target", seed=3)
    path = publish(config, torch.device("cpu"), _ctx([]), tmp_path)
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["key"] == pretrain.checkpoint_key(rotation_key(config)) and record["seed"] == 3
    assert record["source_inputs_sha256"] == BUILTINS["digits"].inputs_hash()
    events: list = []
    state = rotation_pretrained_state(config, torch.device("cpu"), _ctx(events))
    assert not events and state["head.weight"].shape[0] == 4
