"""`fonts-plain`, the source that shares nothing with digits-m but the digits: none of digits-m's background
generators, no low-resolution round trip; synth-digits itself is unchanged by the option that makes it."""
import pytest
import torch

from tl_core.data import synth


def _forbid(*_args, **_kwargs):
    raise AssertionError("fonts-plain must not use digits-m's background generators")


def test_fonts_plain_uses_none_of_digits_m_s_generators_nor_the_low_resolution_round_trip(monkeypatch):
    monkeypatch.setattr(synth, "colour_fields", _forbid)
    monkeypatch.setattr(synth, "textures", _forbid)
    soften = synth._soften
    seen = []
    monkeypatch.setattr(synth, "_soften", lambda mask, p: seen.append(p["low_res"].clone()) or soften(mask, p))
    domain = synth.build_fonts_plain(16, count=200)
    assert torch.cat(seen).eq(0).all()
    labels = torch.cat([domain.train.labels, domain.val.labels, domain.test.labels])
    assert torch.bincount(labels).tolist() == [20] * 10


def test_synth_digits_still_draws_over_textures_and_shrinks_some_samples(monkeypatch):
    with pytest.raises(AssertionError, match="generators"):
        monkeypatch.setattr(synth, "colour_fields", _forbid)
        synth.render(torch.arange(200) % 10, 16, seed=1)
