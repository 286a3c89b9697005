"""Each loss: a known value, a bad-input error, a gradient check where it applies."""

from __future__ import annotations

import pytest
import torch

from brushwork.losses import (
    PatchSampleMLP,
    d_loss,
    edge_statistics,
    edge_statistics_loss,
    g_loss,
    gradient_penalty,
    patch_nce_loss,
    patch_swd,
    r1_penalty,
    sliced_wasserstein,
)  # fmt: skip


def t(v: float) -> list[torch.Tensor]:
    return [torch.full((1, 1, 2, 2), v)]


@pytest.mark.parametrize(
    ("name", "real", "fake", "want_d", "want_g"),
    [
        ("lsgan", 1.0, 0.0, 0.0, 1.0),  # D perfect: (1-1)^2 + 0^2; G: (0-1)^2
        ("lsgan", 0.5, 0.5, 0.5, 0.25),
        ("hinge", 2.0, -2.0, 0.0, 2.0),
        ("hinge", 0.0, 0.0, 2.0, 0.0),
        ("wgan-gp", 3.0, 1.0, -2.0, -1.0),
        ("vanilla", 0.0, 0.0, 2 * 0.6931472, 0.6931472),
    ],
)
def test_adversarial_known_values(name: str, real: float, fake: float, want_d: float, want_g: float) -> None:
    assert d_loss(name, t(real), t(fake)).item() == pytest.approx(want_d, abs=1e-5)
    assert g_loss(name, t(fake)).item() == pytest.approx(want_g, abs=1e-5)


def test_adversarial_averages_scales() -> None:
    assert g_loss("lsgan", [torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 1, 1)]).item() == pytest.approx(0.5)


def test_adversarial_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown adversarial loss"):
        d_loss("wgan", t(1), t(0))
    with pytest.raises(ValueError, match="non-empty list"):
        g_loss("lsgan", [])
    with pytest.raises(ValueError, match="float tensor"):
        g_loss("lsgan", [torch.ones(2, dtype=torch.long)])


def test_r1_known_value() -> None:
    # D(x) = sum(2 x) -> gradient 2 everywhere; R1 = 0.5 * 4 * numel
    x = torch.rand(2, 3, 4, 4)
    r1 = r1_penalty(lambda z: [2 * z.sum((1, 2, 3), keepdim=True)], x)
    assert r1.item() == pytest.approx(0.5 * 4 * 48)


def test_gradient_penalty_zero_for_unit_gradient() -> None:
    x = torch.rand(2, 1, 1, 1)
    gp = gradient_penalty(lambda z: [z], x, torch.rand(2, 1, 1, 1))  # |grad| = 1
    assert gp.item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="differ in shape"):
        gradient_penalty(lambda z: [z], torch.rand(2, 1, 1, 1), torch.rand(3, 1, 1, 1))


def test_patch_nce_known_value_and_error() -> None:
    # orthonormal, identical queries/keys: positives score 1, negatives 0 -> loss known
    p = 4
    q = torch.eye(p)
    loss = patch_nce_loss(q, q.clone(), batch=1, tau=1.0)
    logits = torch.tensor([1.0] + [0.0] * (p - 1) + [-10.0])  # pos, p-1 negatives, masked self
    want = -torch.log_softmax(logits, 0)[0]
    assert loss.item() == pytest.approx(want.item(), abs=1e-5)
    with pytest.raises(ValueError, match="differ in shape"):
        patch_nce_loss(torch.eye(4), torch.eye(3), batch=1)


def test_patch_sample_mlp_shares_locations() -> None:
    mlp = PatchSampleMLP([3, 5], dim=8)
    feats = [torch.rand(2, 3, 6, 6), torch.rand(2, 5, 3, 3)]
    out, ids = mlp(feats, 4)
    out2, ids2 = mlp(feats, 4, ids)
    assert [o.shape for o in out] == [(8, 8), (8, 8)]
    assert all(torch.equal(a, b) for a, b in zip(ids, ids2, strict=True))
    assert all(torch.allclose(a, b) for a, b in zip(out, out2, strict=True))


def test_sliced_wasserstein_known_value() -> None:
    a = torch.zeros(100, 3)
    b = torch.zeros(100, 3) + torch.tensor([1.0, 0.0, 0.0])
    g = torch.Generator().manual_seed(0)
    proj = torch.nn.functional.normalize(torch.randn(3, 64, generator=torch.Generator().manual_seed(0)), dim=0)
    want = proj[0].abs().mean().item()  # a shift of 1 along x, seen by each unit projection
    assert sliced_wasserstein(a, b, 64, g).item() == pytest.approx(want, rel=1e-5)
    assert sliced_wasserstein(a, a.clone()).item() == 0.0
    with pytest.raises(ValueError, match="equal D"):
        sliced_wasserstein(torch.zeros(3, 2), torch.zeros(3, 4))


def test_patch_swd_gradient_and_errors() -> None:
    x = (torch.rand(1, 3, 24, 24) * 2 - 1).requires_grad_(True)
    y = torch.rand(2, 3, 20, 20) * 2 - 1
    loss = patch_swd(x, y, count=64)
    loss.backward()
    assert loss.item() > 0 and x.grad is not None and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="too small"):
        patch_swd(torch.rand(1, 3, 2, 2), torch.rand(1, 3, 2, 2), sizes=(3,), scales=1)


def test_sliced_wasserstein_gradcheck() -> None:
    a = torch.rand(16, 4, dtype=torch.float64, requires_grad=True)
    b = torch.rand(16, 4, dtype=torch.float64)

    def f(z: torch.Tensor) -> torch.Tensor:
        return sliced_wasserstein(z, b, 8, torch.Generator().manual_seed(0))

    # sort + abs make SWD piecewise linear; random points have no ties, so gradcheck holds
    assert torch.autograd.gradcheck(f, (a,), eps=1e-7, atol=1e-5)


def _stripes(a: float, size: int = 64) -> torch.Tensor:
    """Grey vertical stripes a, a, -a, -a, ... (period 4), [1, 3, size, size]."""
    col = torch.tensor([a, a, -a, -a]).repeat(size // 4)
    return col.view(1, 1, 1, size).expand(1, 3, size, size).clone()


def test_edge_statistics_known_value_and_tone_invariance() -> None:
    # central differences across period-4 stripes are +-2a everywhere inside; the luminance
    # is normalised by its spread (about a) + 0.05, so the median magnitude is 2a / (a + 0.05)
    stats = edge_statistics(_stripes(0.5), scales=(1,))
    assert stats.shape == (1, 49)
    assert stats[0, 24].item() == pytest.approx(2 * 0.5 / (0.5 * (64 * 64 / (64 * 64 - 1)) ** 0.5 + 0.05), rel=1e-3)
    # a constant image has no edges: every quantile is the magnitude floor
    assert torch.allclose(edge_statistics(torch.full((1, 3, 16, 16), 0.3)), torch.full((3, 49), 1e-3))
    # a change of tone (contrast and brightness) moves it little next to a blur
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    assert edge_statistics_loss(0.6 * x + 0.2, x).item() < 0.05 * edge_statistics_loss(blurred, x).item()


def test_edge_statistics_loss_gradient_and_errors() -> None:
    x = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_(True)
    loss = edge_statistics_loss(x, torch.zeros(1, 3, 32, 32))
    loss.backward()
    assert loss.item() > 0 and x.grad is not None and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="expected images"):
        edge_statistics(torch.rand(1, 1, 32, 32))
    with pytest.raises(ValueError, match="too small"):
        edge_statistics(torch.rand(1, 3, 8, 8))
