"""The Python entry points: ``train_style`` (folders in, a named style out)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .data import ImageBank, PairedBank, builtin_dir, load_pairs
from .errors import BrushworkError
from .errors import warn as warn_user
from .io import load_folder
from .library import check_new_name, runs_dir, styles_dir
from .look.choose import resolve_generator
from .training.distributed import rank
from .training.loop import OPTIONS, Budget
from .training.recipe import SMALL_SET, StyleRecipe, default_recipe
from .training.style import train_style_run

PathLike = str | os.PathLike[str]
PREVIEW_START = "preview_start.png"  # in the run folder: where training starts (``preview``)


def train_style(
    style_dir: PathLike | None = None, content_dir: PathLike | None = None, *, name: str,
    minutes: float | None = None, steps: int | None = None, method: str = "cut",
    generator: str = "auto", loss: str = "lsgan", size: int = 256, seed: int = 0,
    device: str = "auto", resume: bool = False, before_dir: PathLike | None = None,
    after_dir: PathLike | None = None, quiet: bool = False, dry_run: bool = False,
    recipe: dict[str, Any] | None = None, warn: Any = None, on_step: Any = None, preview: bool = False,
) -> Path:  # fmt: skip
    """Learn a style from the images in ``style_dir`` (and/or before/after pairs).

    ``content_dir`` defaults to the built-in photo set. Exactly one of ``minutes`` and
    ``steps`` (default: 3 minutes). The style is written to the library under ``name``;
    returns its folder. ``recipe`` overrides fields of the automatic recipe. ``generator``
    "auto" (the default) measures which family suits the style set (``look.choose``):
    the painter for drawn looks and brush strokes, lite for everything else and whenever pairs
    are given. ``preview``: first write where training starts on two photos
    (``runs/NAME/preview_start.png``, ``training/preview.py``), in seconds.
    """
    check_new_name(name)
    dest = styles_dir() / name
    run = runs_dir() / name
    saved: dict[str, Any] = {}
    if resume:
        saved = _saved_options(run, name)
        seed = int(saved.get("seed", seed))
        if minutes is None and steps is None:  # continue towards the run's own budget
            minutes, steps = saved["budget"].get("minutes"), saved["budget"].get("steps")
        src = saved.get("sources", {})
        if style_dir is None and before_dir is None:  # the run's own folders, unless given again
            style_dir, before_dir, after_dir = src.get("style_dir"), src.get("before_dir"), src.get("after_dir")
        content_dir = content_dir if content_dir is not None else src.get("content_dir")
    if minutes is None and steps is None:
        minutes = 3.0
    budget = Budget(steps=steps, minutes=minutes)
    _check_inputs(style_dir, before_dir, after_dir, dest, name, resume)

    content_dir = Path(content_dir) if content_dir is not None else builtin_dir("photos")
    # image sizes for loading: the run's own recipe on resume, else the defaults and overrides
    r0 = StyleRecipe.from_json(saved["recipe"]) if saved else None
    max_side = r0.max_side if r0 else int((recipe or {}).get("max_side", StyleRecipe.max_side))
    min_side = r0.size if r0 else int((recipe or {}).get("size", size))
    content, style, pairs, failures = _load_sets(content_dir, style_dir, before_dir, after_dir, min_side, max_side)
    choice = None
    if resume and saved:
        r = StyleRecipe.from_json(saved["recipe"])
    else:
        if generator == "auto":
            generator, choice = resolve_generator(content.tensors, style.tensors, pairs is not None, seed, recipe)
            if (not quiet or dry_run) and rank() == 0:
                (warn or warn_user)(f"generator {generator}: {choice['why']}")
        overrides = {"loss": loss, "size": size, **(recipe or {})}
        n_pairs = 0 if pairs is None else len(pairs.before)
        r = default_recipe(len(style), method=method, generator=generator, n_pairs=n_pairs, choice=choice, **overrides)
    r.validate()
    for msg in failures:
        (warn or warn_user)(f"skipped {msg}")
    if dry_run:
        small = " (small set: augmentation on)" if len(style) < SMALL_SET else ""
        length = f"{budget.steps} steps" if budget.steps else f"{budget.minutes} min"
        (warn or warn_user)(
            f"dry run: {len(content)} content photos, {len(style)} style images{small}, "
            f"{0 if pairs is None else len(pairs.before)} pairs; method {r.method}, generator {r.generator}; "
            f"budget {length}; style -> {dest}"
        )
        return dest
    sources = {"style_dir": str(style_dir) if style_dir else None, "content_dir": str(content_dir),
               "before_dir": str(before_dir) if before_dir else None, "after_dir": str(after_dir) if after_dir else None}  # fmt: skip
    if preview and rank() == 0 and not resume:
        _write_preview(run, content, style, seed, warn or warn_user)
    out = train_style_run(
        content=content, style=style, pairs=pairs, recipe=r, run_dir=run, style_dir=dest,
        budget=budget, seed=seed, device=device, resume=resume, quiet=quiet, sources=sources,
        on_step=on_step, choice=choice,
    )  # fmt: skip
    if rank() == 0 and r.report:
        _report(out, run, content.tensors, style.tensors, warn or warn_user)
    return out


def _write_preview(run: Path, content: ImageBank, style: ImageBank, seed: int, say: Any) -> None:
    """Where training starts, on two photos, before the first step (``training/preview.py``)."""
    from .training.preview import preview_image

    run.mkdir(parents=True, exist_ok=True)
    preview_image(content, style, seed).save(run / PREVIEW_START)
    say(f"where training starts: {run / PREVIEW_START} (samples refine it in {run / 'samples'})")


def _check_inputs(
    style_dir: PathLike | None, before_dir: PathLike | None, after_dir: PathLike | None, dest: Path, name: str,
    resume: bool,
) -> None:  # fmt: skip
    if style_dir is None and before_dir is None:
        raise BrushworkError("give a folder of style images, or --before/--after pairs (or both)")
    if (before_dir is None) != (after_dir is None):
        raise BrushworkError("--before and --after go together")
    if dest.exists() and not resume:
        raise BrushworkError(
            f"style {name!r} already exists at {dest}; choose another --name, or remove it with 'brushwork styles rm {name}'"
        )


def _saved_options(run: Path, name: str) -> dict[str, Any]:
    """The options a run was started with (``--resume`` continues with them)."""
    opts = run / OPTIONS
    if not opts.exists():
        raise BrushworkError(f"--resume: no training run named {name!r} at {run}")
    saved: dict[str, Any] = json.loads(opts.read_text(encoding="utf-8"))
    return saved


def _load_sets(
    content_dir: PathLike, style_dir: PathLike | None, before_dir: PathLike | None, after_dir: PathLike | None,
    min_side: int, max_side: int,
) -> tuple[ImageBank, ImageBank, PairedBank | None, list[str]]:  # fmt: skip
    """The content photos, the style images (the pairs' after images when there are none) and
    the before/after pairs; files that cannot be read are listed, not fatal."""
    failures: list[str] = []
    content, f = ImageBank.from_folder(content_dir, min_side, max_side, "content photos")
    failures += f
    styles: list[Any] = []
    if style_dir is not None:
        rep = load_folder(style_dir, max_side=max_side, what="style images")
        styles += rep.images
        failures += rep.failures
    pairs = None
    if before_dir is not None and after_dir is not None:
        pairs, f = load_pairs(before_dir, after_dir, min_side, max_side)
        failures += f
    style = ImageBank(styles, min_side) if styles else pairs.after  # type: ignore[union-attr]
    return content, style, pairs, failures


def _report(style_dir: Path, run: Path, photos: list[Any], style_images: list[Any], say: Any) -> None:
    """``report.html`` beside the run's logs; a report that cannot be written is said, and the
    style stands."""
    from .data import evenly
    from .report import report_photos, write_report

    try:
        write_report(style_dir, run, report_photos(photos), evenly(style_images, 16))
    except (BrushworkError, OSError, RuntimeError, ValueError) as exc:
        say(f"report not written ({exc})")
