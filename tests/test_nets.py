"""Every registered network, at tiny sizes: shape for odd sizes, finite output, gradients."""

from __future__ import annotations

import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from brushwork import nets

TINY_KWARGS = {
    ("generator", "lite"): {"ngf": 8, "n_blocks": 1, "lut_size": 5},
    ("generator", "resnet"): {"ngf": 8, "n_blocks": 2},
    ("generator", "painter"): {"blocks": 1},
    ("discriminator", "patchgan"): {"ndf": 8, "n_layers": 2, "scales": 2},
    ("noise_generator", "dcgan"): {"size": 16, "z_dim": 8, "ngf": 4},
    ("noise_generator", "mlp"): {"size": 16, "z_dim": 8, "hidden": 16},
    ("noise_generator", "fastgan"): {"size": 16, "z_dim": 8, "ngf": 4},
    ("image_discriminator", "fastgan"): {"size": 16, "ndf": 4},
    ("image_discriminator", "dcgan"): {"size": 16, "ndf": 4},
    ("image_discriminator", "mlp"): {"size": 16, "hidden": 16},
}
KINDS = ("generator", "discriminator", "noise_generator", "image_discriminator")


def all_nets() -> list[tuple[str, str]]:
    return [(k, n) for k in KINDS for n in nets.names(k)]


def test_every_registered_net_has_tiny_settings() -> None:
    assert set(all_nets()) == set(TINY_KWARGS)


@pytest.mark.parametrize(("kind", "name"), [kn for kn in all_nets() if kn[0] in ("generator", "discriminator")])
@pytest.mark.parametrize("hw", [(32, 32), (37, 53)])
def test_forward_backward(kind: str, name: str, hw: tuple[int, int]) -> None:
    torch.manual_seed(0)
    net = nets.create(kind, name, **TINY_KWARGS[(kind, name)])
    # perturb small-initialised output layers so every parameter's gradient is non-zero
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    x = torch.rand(2, 3, *hw) * 2 - 1
    out = net(x)
    outs = out if isinstance(out, list) else [out]
    if kind == "generator":
        assert out.shape == x.shape
    for o in outs:
        assert torch.isfinite(o).all()
    sum(o.square().mean() for o in outs).backward()
    for pname, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"no gradient reaches {pname}"


@pytest.mark.parametrize("name", nets.names("generator"))
def test_generators_expose_nce_features(name: str) -> None:
    g = nets.create("generator", name, **TINY_KWARGS[("generator", name)])
    feats = g.nce_features(torch.rand(1, 3, 32, 32))
    assert [f.shape[1] for f in feats] == g.nce_channels()


@pytest.mark.parametrize("name", nets.names("generator"))
def test_generators_keep_the_contract(name: str) -> None:
    """What the trainer, the Stylizer and export ask of every style generator (nets/contract.py)."""
    g = nets.create("generator", name, **TINY_KWARGS[("generator", name)]).eval()
    assert isinstance(g, nets.StyleGenerator)
    base, fast = g.param_groups()  # every trainable parameter in exactly one group
    ids = [id(p) for p in base + fast]
    assert len(ids) == len(set(ids)) and set(ids) == {id(p) for p in g.parameters()}
    x = torch.rand(1, 3, 32, 40) * 2 - 1
    with torch.no_grad():
        out, residual = g.split(x)
        assert torch.allclose(out, g(x), atol=1e-6) if g.detail in (None, 1.0) else out.shape == x.shape
        assert residual is None or residual.shape == x.shape
    for term in g.regularizers().values():
        assert term.dim() == 0 and torch.isfinite(term)
    json.dumps(g.settings())  # part of the export cache key
    assert g.align >= 1 and g.bytes_per_pixel > 0 and isinstance(g.shared_norm, bool)
    before = g.scale
    g.set_scale(1)
    assert g.scale == before == 1
    if g.has_scale:
        g.set_scale(3)
        assert g.scale == 3 and g.settings()["scale"] == 3
    else:
        with pytest.raises(ValueError):
            g.set_scale(2)


def test_lite_starts_near_identity() -> None:
    g = nets.create("generator", "lite")
    x = torch.rand(1, 3, 40, 40) * 2 - 1
    assert (g(x) - x).abs().max() < 0.05


def test_lite_parts_sum_to_the_output() -> None:
    g = nets.create("generator", "lite")
    with torch.no_grad():
        for p in g.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    x = torch.rand(2, 3, 37, 42) * 2 - 1
    colour, residual = g.parts(x)
    assert colour.shape == residual.shape == x.shape
    assert torch.equal(colour + residual, g(x))
    assert residual.abs().mean() > 0


def test_lite_detail_scales_the_residual_and_zero_skips_it() -> None:
    g = nets.create("generator", "lite", structure=True, lines=False)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    x = torch.rand(1, 3, 33, 30) * 2 - 1
    colour, residual = g.parts(x)
    g.detail = 0.5
    assert torch.allclose(g(x), colour + 0.5 * residual, atol=1e-6)
    g.detail = 0.0
    assert torch.equal(g(x), colour) and torch.equal(g.colour(x), colour)
    # the global stages alone never touch the convolutions: their weights can be anything
    with torch.no_grad():
        g.out.weight.fill_(float("nan"))
    assert torch.isfinite(g(x)).all()


def test_lite_mac_bound() -> None:
    g = nets.create("generator", "lite")
    with FlopCounterMode(display=False) as fc:
        g(torch.rand(1, 3, 256, 256))
    gmacs = fc.get_total_flops() / 2e9
    assert gmacs <= 3.0, f"lite costs {gmacs:.2f} GMACs at 256x256"


def test_resnet_is_cyclegan_class() -> None:
    g = nets.create("generator", "resnet")
    n = sum(p.numel() for p in g.parameters())
    assert 10e6 < n < 12e6


def test_patchgan_receptive_field_is_70() -> None:
    d = nets.create("discriminator", "patchgan", ndf=4, norm="none")
    x = torch.rand(1, 3, 160, 160, requires_grad=True)
    out = d(x)[0]
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = (x.grad.abs().sum((0, 1, 3)) > 0).nonzero()
    assert rows.max() - rows.min() + 1 == 70


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown generator 'nope'"):
        nets.create("generator", "nope")


@pytest.mark.parametrize(
    ("kind", "name"), [kn for kn in all_nets() if kn[0] in ("noise_generator", "image_discriminator")]
)
def test_gan_nets_forward_backward(kind: str, name: str) -> None:
    torch.manual_seed(0)
    net = nets.create(kind, name, **TINY_KWARGS[(kind, name)])
    x = torch.randn(3, 8) if kind == "noise_generator" else torch.rand(3, 3, 16, 16) * 2 - 1
    out = net(x)
    if kind == "noise_generator":
        assert out.shape == (3, 3, 16, 16)
    else:  # one score per image, or per patch
        assert out.shape[0] == 3 and out.dim() in (1, 2)
    assert torch.isfinite(out).all()
    loss = out.square().mean()
    if hasattr(net, "reconstruction_loss"):  # a discriminator's self-supervised decoders
        loss = loss + net.reconstruction_loss(x, torch.Generator().manual_seed(0))
    loss.backward()
    for pname, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"no gradient reaches {pname}"


def _fit(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], target: torch.Tensor, steps: int = 150) -> None:
    opt = torch.optim.Adam(module.parameters(), lr=2e-2)
    for _ in range(steps):
        opt.zero_grad()
        (module(*inputs) - target).square().mean().backward()
        opt.step()


def test_tone_stage_carries_a_grade_to_colours_training_never_showed() -> None:
    # the design point of lite's global tone stage: fitted on reds and greys only, a
    # desaturating grade still reaches a blue the training pixels never visit; the LUT
    # alone leaves that blue where it was
    from brushwork.nets.lite_stages import ColorLUT, GlobalTone

    torch.manual_seed(0)
    seen = torch.rand(1, 3, 16, 16) * 0.6 - 0.3
    seen[:, 0] += 0.6  # reddish and greyish colours
    grey = seen.mean(1, keepdim=True).expand_as(seen)
    blue = torch.tensor([-0.8, -0.6, 0.9]).view(1, 3, 1, 1)
    spread = {}
    for name, module in {"tone": GlobalTone(), "lut": ColorLUT(9)}.items():
        _fit(module, (seen,), grey)
        with torch.no_grad():
            out = module(blue)
        spread[name] = float(out.max() - out.min())  # 0 for a perfect grey
    assert spread["tone"] < 0.5 * spread["lut"]
    assert spread["lut"] > 1.2  # the unseen blue kept most of its colour under the LUT


def test_tone_table_lookup_equals_the_hinge_definition() -> None:
    from brushwork.nets.lite_stages import GlobalTone

    torch.manual_seed(0)
    t = GlobalTone()
    with torch.no_grad():
        t.curve.normal_(0, 0.3)
        t.matrix.add_(torch.randn(3, 3) * 0.2)
        t.bias.normal_(0, 0.1)
    x = (torch.rand(2, 3, 37, 41) * 2 - 1).contiguous(memory_format=torch.channels_last)
    y = torch.nn.functional.conv2d(x, t.matrix.view(3, 3, 1, 1), t.bias)
    want = t.curves_at(y.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    assert (t(x) - want).abs().max() < 1e-5


def test_lite_structure_stage_starts_at_identity_and_learns_every_number() -> None:
    torch.manual_seed(0)
    g = nets.create("generator", "lite", ngf=8, n_blocks=1, lut_size=5, structure=True)
    x = torch.rand(2, 3, 37, 53) * 2 - 1
    assert (g(x) - x).abs().max() < 0.05
    with torch.no_grad():  # away from zero, every global number of the stage has a gradient
        g.structure.mix.fill_(0.3)
        g.structure.ink.fill_(0.2)
    g(x).square().mean().backward()
    for pname, p in g.structure.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"no gradient reaches structure.{pname}"


def test_lite_structure_smooths_flat_regions_and_inks_edges() -> None:
    s = nets.create("generator", "lite", structure=True).structure
    with torch.no_grad():
        s.mix.fill_(1 / 3)
        s.ink.copy_(torch.tensor([0.0, 1.0]))
        noise = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 0.02
        step = torch.full((1, 3, 64, 64), -0.6)
        step[..., 32:] = 0.6  # a hard vertical edge
        smooth, mask = s(step + noise)
    # fine noise is flattened on either side; the edge survives and is inked, flat areas are not
    assert smooth[..., 8:24, 4:24].std() < 0.5 * noise[..., 8:24, 4:24].std()
    assert (smooth[..., 32:] - smooth[..., :32].mean()).mean() > 1.0
    assert mask[..., 31:33].mean() > 0.9 and mask[..., :, 4:24].max() < 0.1


def test_styles_saved_before_a_stage_existed_load_without_it() -> None:
    old = nets.upgrade_kwargs("generator", "lite", {"ngf": 16}, {"e1.weight", "lut.lut"})
    assert old == {"ngf": 16, "tone_knots": 0, "structure": False}
    g = nets.create(
        "generator", "lite", **nets.upgrade_kwargs("generator", "lite", {}, {"structure.mix", "tone.matrix"})
    )
    assert g.structure is not None and g.tone is not None
    # styles saved with the stage before it could leave its lines out drew lines
    assert nets.upgrade_kwargs("generator", "lite", {"structure": True}, {"structure.mix", "structure.ink"})["lines"]
    assert nets.upgrade_kwargs("generator", "lite", {"structure": True, "lines": False}, set())["lines"] is False


@pytest.mark.parametrize("toward", ["smoother", "sharper"])
def test_edge_statistics_teach_the_smoothing_stage_its_direction(toward: str) -> None:
    """Fitted to the edge statistics of a smoother (or noisier) image set, the stage's
    smoothing weights move the right way: the unpaired signal the recipe relies on."""
    from brushwork.losses import edge_statistics_loss

    s = nets.create("generator", "lite", structure=True, lines=False).structure
    assert not hasattr(s, "ink")
    gen = torch.Generator().manual_seed(0)
    base = torch.nn.functional.avg_pool2d(torch.rand(4, 3, 64, 64, generator=gen) * 2 - 1, 5, stride=1, padding=2)
    content = base + 0.05 * torch.randn(base.shape, generator=gen)
    noise = 0.1 * torch.randn(base.shape, generator=gen)
    style = torch.nn.functional.avg_pool2d(base, 3, stride=1, padding=1) if toward == "smoother" else base + noise
    opt = torch.optim.Adam(s.parameters(), lr=5e-3, betas=(0.5, 0.999))
    for _ in range(40):
        loss = edge_statistics_loss(s(content)[0], style)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (s.mix.sum() > 0.1) if toward == "smoother" else (s.mix.sum() < -0.1)
