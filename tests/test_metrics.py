"""Known values for the image metrics and colour conversions (independent references:
closed forms for PSNR and SSIM on constant images, published CIELAB values of the sRGB
primaries under D65)."""

from __future__ import annotations

import math

import pytest
import torch

from brushwork.color import lab_to_rgb, rgb_to_lab
from brushwork.metrics import dark_blobs, psnr, ssim


def test_psnr_known_values() -> None:
    x = torch.full((1, 3, 8, 8), 0.5, dtype=torch.float64)
    assert psnr(x, x + 0.1) == pytest.approx(20.0, abs=1e-9)  # MSE 0.01
    y = x.clone()
    y[..., :4, :] += 0.1  # half the pixels off by 0.1: MSE 0.005
    assert psnr(x, y) == pytest.approx(10 * math.log10(200), abs=1e-9)
    assert psnr(x, x) == math.inf
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(x, x[..., :4])


def test_ssim_known_values() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 32, 32, generator=g)
    assert ssim(x, x) == pytest.approx(1.0, abs=1e-12)
    # constant images: no variance, so SSIM is the luminance term (2ab + C1) / (a^2 + b^2 + C1)
    a, b, c1 = 0.5, 0.25, 0.01**2
    want = (2 * a * b + c1) / (a * a + b * b + c1)
    assert ssim(torch.full((1, 3, 16, 16), a), torch.full((1, 3, 16, 16), b)) == pytest.approx(want, abs=1e-12)
    assert ssim(x, 1 - x) < 0.1 < ssim(x, (x + 0.05 * torch.rand(x.shape, generator=g)).clamp(0, 1))


@pytest.mark.parametrize(
    ("rgb", "lab"),
    [
        ((1.0, 1.0, 1.0), (100.0, 0.0, 0.0)),
        ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
        ((1.0, 0.0, 0.0), (53.24, 80.09, 67.20)),
        ((0.0, 1.0, 0.0), (87.73, -86.18, 83.18)),
        ((0.0, 0.0, 1.0), (32.30, 79.19, -107.86)),
        ((0.5, 0.5, 0.5), (53.39, 0.0, 0.0)),
    ],
)
def test_lab_of_srgb_primaries(rgb: tuple[float, float, float], lab: tuple[float, float, float]) -> None:
    x = torch.tensor(rgb, dtype=torch.float64).view(1, 3, 1, 1) * 2 - 1
    got = rgb_to_lab(x).flatten().tolist()
    assert got == pytest.approx(list(lab), abs=0.01)
    assert lab_to_rgb(rgb_to_lab(x)).flatten().tolist() == pytest.approx(x.flatten().tolist(), abs=1e-5)


def test_lab_round_trip_on_random_colours() -> None:
    x = torch.rand(1, 3, 16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    assert (lab_to_rgb(rgb_to_lab(x)) - x).abs().max() < 1e-5


def test_patch_c2st_tells_sets_apart_only_when_they_differ() -> None:
    """Two sets from one texture source are indistinguishable (held-out accuracy near 0.5);
    the same content with fine dark lines drawn over it is told apart almost always. The
    result is the same on a second call (fresh classifiers from fixed seeds)."""
    from brushwork.metrics import patch_c2st

    gen = torch.Generator().manual_seed(3)

    def images(n: int) -> list[torch.Tensor]:
        out = []
        for _ in range(n):
            noise = torch.randn(1, 3, 100, 140, generator=gen)
            out.append(torch.nn.functional.avg_pool2d(noise, 5, 1, 2)[0].clamp(-1, 1))
        return out

    a, b = images(4), images(4)
    lined = [x.clone() for x in b]
    for x in lined:
        x[:, ::8, :] = -1.0  # a dark line every 8 rows
    same = patch_c2st(a, b, size=24, patches=128, steps=80, seeds=1)
    differ = patch_c2st(a, lined, size=24, patches=128, steps=80, seeds=1)
    assert same < 0.65, same
    assert differ > 0.9, differ
    assert patch_c2st(a, lined, size=24, patches=128, steps=80, seeds=1) == differ


def test_frechet_distance_matches_the_closed_form_for_gaussians() -> None:
    from brushwork.metrics import frechet_distance

    gen = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 4, generator=gen)
    b = torch.randn(20000, 4, generator=gen) * 2 + torch.tensor([1.0, 0.0, 2.0, 0.0])
    # N(0, I) to N(m, 4I): |m|^2 + D (1 + 4 - 2 * 2) = 5 + 4
    assert abs(frechet_distance(a, b) - 9.0) < 0.3
    assert frechet_distance(a, a) < 1e-6
    assert frechet_distance(a, b) == frechet_distance(a, b)  # deterministic


def test_dark_blobs_counts_solid_patches_on_paper_not_strokes() -> None:
    truth = torch.full((3, 40, 40), 0.9)
    out = truth.clone()
    out[:, 5:14, 5:14] = -0.8  # a 9 x 9 blot
    out[:, 30, :] = -0.8  # a 1-px stroke
    dark, blobs = dark_blobs(out, truth)
    assert dark == 81 + 40 and blobs == 81
    assert dark_blobs(truth, truth) == (0, 0)
