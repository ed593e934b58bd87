"""Backbones: every curated model builds, groups and freezes; weights load safely; nothing touches the network."""
import functools
import os

import huggingface_hub.constants
import pytest
import timm
import torch
from safetensors.torch import save_file

from tl_core.backbones import (CURATED, count_params, create_backbone, describe_backbone, feature_dim, freeze_first,
                               layer_groups, load_state_into)
from tl_core.errors import ConfigError, OfflineError, WeightsError
from tl_core.machine.network import is_online


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """TL_OFFLINE=1 and empty Hugging Face / torch hub caches under tmp_path."""
    monkeypatch.setenv("TL_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    # huggingface_hub reads HF_HOME once, at import
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    assert not is_online()
    return tmp_path / "hf" / "hub"


def images(n: int = 8, size: int = 32) -> torch.Tensor:
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(0))


@functools.cache
def built(name: str) -> torch.nn.Module:
    """One shared model per name, for the tests that do not change it."""
    return create_backbone(name, img_size=32)


@pytest.mark.parametrize("name", CURATED)
def test_curated_backbone_returns_pooled_features(name):
    model = built(name)
    assert model.training
    assert model(images(2)).shape == (2, feature_dim(model))


@pytest.mark.parametrize("name", CURATED)
def test_layer_groups_cover_every_weight_in_order(name):
    model = built(name)
    groups = layer_groups(model)
    assert len(groups) >= 2
    assert [g.index for g in groups] == list(range(len(groups)))
    assert groups[0].name == "stem"
    assert len({g.name for g in groups}) == len(groups)
    assert sum(g.param_count for g in groups) == sum(p.numel() for p in model.parameters())
    for g in groups:
        for module_name in g.module_names:
            model.get_submodule(module_name)


def _owned_by(key: str, groups) -> bool:
    return any(key.rpartition(".")[0] in g.module_names or key in g.param_names for g in groups)


@pytest.mark.parametrize("name", CURATED)
def test_freeze_first_keeps_weights_and_batchnorm_statistics(name):
    torch.manual_seed(0)
    model = create_backbone(name, img_size=32)
    groups = layer_groups(model)
    k = 2
    freeze_first(model, k)
    frozen, trainable = groups[:k], groups[k:]
    assert count_params(model) == (sum(g.param_count for g in trainable), sum(g.param_count for g in frozen))
    assert [(g.name, g.param_count) for g in layer_groups(model)] == [(g.name, g.param_count) for g in groups]

    before = {k: v.clone() for k, v in model.state_dict().items()}
    head = torch.nn.Linear(feature_dim(model), 10)
    params = [p for p in model.parameters() if p.requires_grad] + list(head.parameters())
    optimizer = torch.optim.SGD(params, lr=0.5)
    model.train()
    loss = torch.nn.functional.cross_entropy(head(model(images())), torch.arange(8) % 10)
    loss.backward()
    optimizer.step()
    after = model.state_dict()

    for key in before.keys() & after.keys():
        if _owned_by(key, frozen):
            assert torch.equal(before[key], after[key]), f"{key} changed although frozen"
    for g in trainable:
        assert any(not torch.equal(before[n], after[n]) for n in g.param_names), f"{g.name} did not train"
    trainable_stats = [k for k in after if k.endswith("running_mean") and _owned_by(k, trainable)]
    assert all(not torch.equal(before[k], after[k]) for k in trainable_stats)


def test_models_without_group_matcher_group_their_top_level_children():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.Conv2d(4, 4, 1))
    assert [(g.name, g.param_count) for g in layer_groups(model)] == [("0", 112), ("1", 8), ("3", 20)]
    freeze_first(model, 2)
    assert count_params(model) == (20, 120)


def test_freeze_nothing_and_everything():
    model = create_backbone("small_cnn")
    total = sum(p.numel() for p in model.parameters())
    freeze_first(model, 0)
    assert count_params(model) == (total, 0)
    freeze_first(model, len(layer_groups(model)))
    assert count_params(model) == (0, total)


@pytest.mark.parametrize("k", [-1, 5])
def test_freeze_out_of_range_names_the_groups(k):
    model = create_backbone("small_cnn")
    with pytest.raises(ConfigError, match=r"0 to 4 .*stem.*head"):
        freeze_first(model, k)


def test_unknown_backbone_suggests_close_names():
    with pytest.raises(ConfigError, match="resnet18"):
        create_backbone("resnet19")


def test_unknown_weights_kind():
    with pytest.raises(ConfigError, match="file:PATH"):
        create_backbone("small_cnn", weights="source")


def test_imagenet_offline_and_not_cached_fails_without_trying_the_network(offline, network_attempts):
    with pytest.raises(OfflineError, match="resnet18 are not cached and this machine is offline"):
        create_backbone("resnet18", weights="imagenet")
    assert network_attempts == []


def test_imagenet_offline_loads_from_cache(offline):
    """A cached hub file is loaded from disk, classifier dropped, without any network."""
    published = timm.create_model("resnet18")  # 1000 classes, like the real checkpoint
    snapshot = offline / "models--timm--resnet18.a1_in1k" / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    save_file(published.state_dict(), str(snapshot / "model.safetensors"))
    (offline / "models--timm--resnet18.a1_in1k" / "refs").mkdir()
    (offline / "models--timm--resnet18.a1_in1k" / "refs" / "main").write_text("0123abcd")

    model = create_backbone("resnet18", weights="imagenet")
    assert torch.equal(model.conv1.weight, published.conv1.weight)
    assert describe_backbone("resnet18").imagenet_cached


def test_imagenet_for_a_model_without_published_weights():
    with pytest.raises(ConfigError, match="no ImageNet weights"):
        create_backbone("small_cnn", weights="imagenet")


class RunsCode:
    """Unpickling this would call os.system('echo pwned'); torch.load(weights_only=True) must refuse it."""

    def __reduce__(self):
        return os.system, ("echo pwned",)


def test_pickle_with_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"stem.0.weight": torch.zeros(1), "payload": RunsCode()}, path)
    with pytest.raises(WeightsError, match="refused"):
        create_backbone("small_cnn", weights=f"file:{path}")


def test_missing_weights_file(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        create_backbone("small_cnn", weights=f"file:{tmp_path / 'nope.safetensors'}")


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_weights_file_round_trip(tmp_path, suffix):
    source = create_backbone("small_cnn")
    path = tmp_path / f"w{suffix}"
    state = source.state_dict()
    save_file(state, str(path)) if suffix == ".safetensors" else torch.save(state, path)
    loaded = create_backbone("small_cnn", weights=f"file:{path}")
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in state.items())


def test_full_model_keys_load_backbone_and_ignore_head(tmp_path):
    source = create_backbone("small_cnn")
    full = {f"backbone.{k}": v for k, v in source.state_dict().items()}
    full |= {"head.weight": torch.zeros(10, feature_dim(source)), "head.bias": torch.zeros(10)}
    path = tmp_path / "model.safetensors"
    save_file(full, str(path))
    loaded = create_backbone("small_cnn", weights=f"file:{path}")
    assert torch.equal(loaded.pre_logits[0].weight, source.pre_logits[0].weight)


def test_weights_of_another_shape_or_model_are_refused():
    model = create_backbone("small_cnn")
    wider = timm.create_model("small_cnn", num_classes=0, widths=(32, 64, 128)).state_dict()
    with pytest.raises(WeightsError, match=r"stem\.0\.weight \(32, 3, 3, 3\) vs \(16, 3, 3, 3\)"):
        load_state_into(model, wider, origin="test")
    with pytest.raises(WeightsError, match="no parameter name matches"):
        load_state_into(model, create_backbone("resnet18").state_dict(), origin="test")


def test_small_cnn_speaks_timms_api():
    model = timm.create_model("small_cnn", num_classes=0, in_chans=3)
    cfg = model.pretrained_cfg
    assert cfg["input_size"] == (3, 32, 32) and cfg["mean"] == (0.5,) * 3 and cfg["std"] == (0.5,) * 3
    x = images(2, size=16)
    assert model.forward_head(model.forward_features(x), pre_logits=True).shape == (2, 128)
    model.reset_classifier(5)
    assert model(x).shape == (2, 5) and model.get_classifier() is model.fc
    assert set(timm.models.group_modules(model, model.group_matcher(coarse=True)).keys()) == {0, 1, 2, 3}
    assert set(model.group_matcher()) == {"stem", "blocks"}


def test_small_cnn_wide_is_small_cnn_at_twice_the_width_with_the_same_groups():
    """The capacity question's network (bench/domain_adaptation.py --backbone small_cnn_wide)."""
    small, wide = built("small_cnn"), built("small_cnn_wide")
    assert feature_dim(wide) == 2 * feature_dim(small) == 256
    assert [g.name for g in layer_groups(wide)] == [g.name for g in layer_groups(small)]
    assert [m.out_channels for m in wide.modules() if isinstance(m, torch.nn.Conv2d)] == [32, 64, 128]
    assert 3.5 < count_params(wide)[0] / count_params(small)[0] < 4.5
    assert wide(images(2)).shape == (2, 256)


def test_small_cnn_tiny_is_small_cnn_at_a_quarter_of_the_width_with_the_same_groups():
    """Lesson 5's student: distillation compresses small_cnn into it."""
    small, tiny = built("small_cnn"), built("small_cnn_tiny")
    assert 4 * feature_dim(tiny) == 2 * feature_dim(small) == 256
    assert [g.name for g in layer_groups(tiny)] == [g.name for g in layer_groups(small)]
    assert [m.out_channels for m in tiny.modules() if isinstance(m, torch.nn.Conv2d)] == [8, 16, 32]
    assert 3.0 < count_params(small)[0] / count_params(tiny)[0] < 5.0
    assert tiny(images(2)).shape == (2, 64)


def test_small_cnn_pools_before_its_relu_and_computes_exactly_what_relu_then_pool_does():
    """Pooling first is a speed-up only: ReLU commutes with a maximum, so values and gradients are bit-identical."""
    from tl_core.backbones.small_cnn import ConvBlock

    torch.manual_seed(0)
    pooled_first = ConvBlock(3, 8)
    assert [type(m) for m in pooled_first] == [torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.MaxPool2d,
                                               torch.nn.ReLU]
    relu_first = torch.nn.Sequential(*(pooled_first[i] for i in (0, 1, 3, 2)))
    x = images(4, size=16)
    outputs, grads = [], []
    for block in (pooled_first, relu_first):
        block.zero_grad()
        out = block(x)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        outputs.append(out)
        grads.append([p.grad.clone() for p in block.parameters()])
    assert torch.equal(outputs[0], outputs[1])
    assert (outputs[0] == 0).any() and (outputs[0] > 0).any()  # both sides of the ReLU are exercised
    assert all(torch.equal(a, b) for a, b in zip(*grads))


def test_small_inputs_give_vits_a_finer_patch_grid():
    model = create_backbone("vit_tiny_patch16_224", img_size=32)
    assert model.patch_embed.grid_size == (8, 8)


def test_describe_backbone():
    info = describe_backbone("small_cnn")
    assert (info.num_features, info.param_count, info.default_img_size) == (128, 32016, 32)
    assert [g.name for g in info.groups] == ["stem", "block 1", "block 2", "head"]
    assert info.param_count == sum(g.param_count for g in info.groups)
    assert info.has_imagenet is False and info.offline_ok is True
    assert describe_backbone("small_cnn") == info
