"""Fast random init is correct: every byte written, no NaN/inf/denormals, buffers intact."""

from __future__ import annotations

import torch

from vlmbench.catalog import get
from vlmbench.catalog.materialise import build_random_model, construct

from conftest import TINY


def _tiny():
    entry = get(TINY)
    return entry.model_class, entry.build_config()


def test_buffers_equal_a_default_initialised_model():
    cls, config = _tiny()
    fast = build_random_model(cls, config, "cpu", torch.float32)
    torch.manual_seed(0)
    reference = construct(cls, _tiny()[1], torch.float32)
    fast_buffers = dict(fast.named_buffers())
    ref_buffers = dict(reference.named_buffers())
    assert fast_buffers.keys() == ref_buffers.keys() and fast_buffers
    for name, buf in ref_buffers.items():
        assert torch.equal(fast_buffers[name], buf), name  # RoPE inv_freq, position ids


def test_parameters_are_finite_normal_and_written():
    cls, config = _tiny()
    for dtype in (torch.float32, torch.bfloat16):
        model = build_random_model(cls, config, "cpu", dtype)
        for name, p in model.named_parameters():
            assert p.dtype == dtype
            x = p.detach().float()
            assert torch.isfinite(x).all(), name
            tiny = torch.finfo(dtype).tiny
            assert not ((x != 0) & (x.abs() < tiny)).any(), f"denormals in {name}"
            if name.endswith("bias"):
                assert (x == 0).all()
            elif "norm" in name and name.endswith("weight"):
                assert (x == 1).all(), name
            else:
                assert x.std() > 0.01 and x.abs().max() < 0.2, name  # N(0, 0.02), every element written


def test_same_seed_same_weights_and_forward_runs():
    cls, config = _tiny()
    a = build_random_model(cls, config, "cpu", torch.float32, seed=3)
    b = build_random_model(cls, config, "cpu", torch.float32, seed=3)
    for (na, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(pa, pb), na
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        logits = a(input_ids=ids).logits
    assert torch.isfinite(logits).all()
