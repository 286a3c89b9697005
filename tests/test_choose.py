"""``--generator auto``: the painter for drawn looks, lite for the rest, measured from the sets."""

from __future__ import annotations

import math

import pytest
import torch
from test_look import _grade, _quarter_photos, _sketch, needs_photos

from brushwork.color import luminance
from brushwork.look.choose import DRAWN, STROKES, choose_generator, descreened, resolve_generator, stroke_excess
from brushwork.look.screen import screen_lattice
from brushwork.look.teacher import structure_alpha
from brushwork.look.vignette import apply_vignette


def _dots(t: torch.Tensor) -> torch.Tensor:
    """A halftone screen printed over a grade: dots at a fixed period and angle, larger where
    the graded picture is darker, darkening it by half (as the random looks' halftone)."""
    y = _grade(t)
    lum = (luminance(y[None])[0, 0] + 1) / 2
    h, w = lum.shape
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    u = (xx * math.cos(0.5) + yy * math.sin(0.5)) / 5
    v = (yy * math.cos(0.5) - xx * math.sin(0.5)) / 5
    dot = (torch.hypot(u - u.round(), v - v.round()) < 0.6 * (1 - lum).clamp(0, 1).sqrt()).float()
    return ((y + 1) / 2 * (1 - 0.5 * dot)) * 2 - 1


def _strokes(t: torch.Tensor) -> torch.Tensor:
    """Brush strokes over a grade: short horizontal dabs (white noise averaged over 3 x 11 px)
    of a fixed seed over the whole picture, its flat parts too, as a painting's sky has."""
    h, w = t.shape[-2:]
    noise = torch.randn(1, 1, h + 2, w + 10, generator=torch.Generator().manual_seed(1))
    dabs = torch.nn.functional.conv2d(noise, torch.full((1, 1, 3, 11), 1 / 33))[0, 0]
    return (_grade(t) + 0.25 * dabs / dabs.std()).clamp(-1, 1)


def _flat(t: torch.Tensor) -> torch.Tensor:
    """A grade posterised to 4 levels a channel: flat colours, and steps between them."""
    y = (_grade(t) + 1) / 2
    return (y * 4).floor().clamp(max=3) / 3 * 2 - 1


@needs_photos
@pytest.mark.slow  # real photos, whole-set measures: make test runs it
def test_brush_strokes_get_the_painter_and_flat_colour_lite() -> None:
    """A painting's strokes cover even its flat parts, 4 px and coarser: texture that neither
    the colour transport nor lite's grain gives the photos (measured: 3.1x theirs). Flat
    colour's steps cross a block without covering it and do not count (1.0x); nor does a
    grade (0.7x). Neither look is drawn."""
    content, others, _ = _quarter_photos()
    for look, expected in ((_strokes, "painter"), (_flat, "lite"), (_grade, "lite")):
        style = [look(t) for t in others]
        name, why = choose_generator(content, style)
        assert name == expected, (look.__name__, why)
        assert (why["stroke_excess"] > STROKES) == (expected == "painter")
        assert why["drawn_share"] <= DRAWN
    assert stroke_excess(content, [_strokes(t) for t in others]) > 1.3 * STROKES


@needs_photos
@pytest.mark.slow  # real photos, whole-set measures: make test runs it
def test_a_drawing_gets_the_painter_and_a_grade_or_a_printed_screen_gets_lite() -> None:
    """Real photos, unpaired. A drawing's colour follows local structure, a grade's follows
    colour; a halftone print's dots are structure too, but placed by the page, so they are
    taken out (lite's screen draws them) before the measure is read. A vignette over the
    drawing (colour that no local structure explains) is divided out first."""
    content, others, _ = _quarter_photos()

    def vignetted_sketch(t: torch.Tensor) -> torch.Tensor:
        return apply_vignette(_sketch(t), (-0.5, 0.0))

    for look, expected in ((vignetted_sketch, "painter"), (_grade, "lite"), (_dots, "lite")):
        style = [look(t) for t in others]
        name, why = choose_generator(content, style)
        assert name == expected, (look.__name__, why)  # measured: 0.75, 0.00, 0.07
        assert (why["drawn_share"] > DRAWN) == (expected == "painter") == why["drawn"]
        # a painting set reads as a colour look too: the lite choice says how to get strokes
        assert ("--generator painter" in why["why"]) == (expected == "lite")
    # the dots alone would have read as drawn (0.55): the screen taken out is what decides
    style = [_dots(t) for t in others]
    assert structure_alpha(content, style, 60_000, torch.Generator().manual_seed(0)) > DRAWN


def test_pairs_are_learned_by_lite_and_the_choice_says_why() -> None:
    assert resolve_generator([], [], paired=False, recipe={"lines": "always"})[0] == "lite"  # lite draws them
    name, why = resolve_generator([], [], paired=True)
    assert name == "lite" and "pairs" in why["why"]


def test_a_screen_is_notched_out_and_an_image_without_one_keeps_its_pixels() -> None:
    """The dots of a screen over a smooth picture go (their lattice of waves is notched out
    of the spectrum), and a smooth picture alone barely changes; images too small to
    measure a screen are returned as they are."""
    g = torch.Generator().manual_seed(0)
    smooth = [
        torch.nn.functional.avg_pool2d(torch.rand(1, 3, 160, 200, generator=g) * 2 - 1, 15, 1, 7)[0] for _ in range(3)
    ]
    yy, xx = torch.meshgrid(torch.arange(160.0), torch.arange(200.0), indexing="ij")
    u, v = (xx * math.cos(0.3) + yy * math.sin(0.3)) / 6, (yy * math.cos(0.3) - xx * math.sin(0.3)) / 6
    dots = (torch.hypot(u - u.round(), v - v.round()) < 0.3).float()
    screened = [((t + 1) / 2 * (1 - 0.5 * dots)) * 2 - 1 for t in smooth]
    flat = [torch.zeros(3, 160, 200) for _ in range(3)]

    def detail(ts: list[torch.Tensor]) -> float:  # what a 7-px box blur takes away
        return sum(float((t - torch.nn.functional.avg_pool2d(t[None], 7, 1, 3)[0]).abs().mean()) for t in ts)

    out = descreened(flat, screened)
    assert detail(out) < 0.35 * detail(screened), (detail(out), detail(screened))
    kept = descreened(flat, smooth)
    assert max(float((a - b).abs().mean()) for a, b in zip(kept, smooth, strict=True)) < 0.01
    tiny = [torch.zeros(3, 40, 40)]
    assert descreened(tiny, tiny)[0] is tiny[0]
    assert len(screen_lattice([[0.0, 1 / 6]])) == 6  # hatching: its harmonics up to Nyquist, both signs


def test_a_screen_whose_second_direction_shows_its_harmonic_first_is_notched_whole() -> None:
    """A screen's lattice has two directions; where the second one's harmonic (2 f2) is
    stronger than its fundamental (f2), the three strongest peaks are f1, 2 f1 and 2 f2, and a
    lattice built from them misses f2 and every odd multiple of it: those waves stayed in the
    image and a printed screen read as brush strokes. The chooser's notch keeps more peaks."""
    g = torch.Generator().manual_seed(0)
    smooth = [
        torch.nn.functional.avg_pool2d(torch.rand(1, 3, 192, 224, generator=g) * 2 - 1, 15, 1, 7)[0] for _ in range(3)
    ]
    yy, xx = torch.meshgrid(torch.arange(192.0), torch.arange(224.0), indexing="ij")
    f1, f2 = (-0.113, 0.0625), (0.0625, 0.113)  # period 7.7 px, at right angles

    def wave(f: tuple[float, float], m: int) -> torch.Tensor:
        return torch.cos(2 * math.pi * m * (f[0] * yy + f[1] * xx))

    screen = 0.30 * wave(f1, 1) + 0.25 * wave(f1, 2) + 0.28 * wave(f2, 2) + 0.18 * wave(f2, 1)
    screened = [(t + 0.3 * screen).clamp(-1, 1) for t in smooth]
    flat = [torch.zeros_like(t) for t in smooth]

    def at_f2(ts: list[torch.Tensor]) -> float:  # the images' amplitude of the f2 wave
        basis = torch.exp(-2j * math.pi * (f2[0] * yy + f2[1] * xx))
        return sum(float((luminance(t[None])[0, 0] * basis).mean().abs()) for t in ts)

    out = descreened(flat, screened)
    assert at_f2(out) < 0.2 * at_f2(screened), (at_f2(out), at_f2(screened))
