"""Enlarging a labelled dataset with brushwork's two generative uses.

* ``stylize``: re-render every labelled image in learned looks, labels kept. The looks are
  library styles (``styles``) or one learned here from a folder of unlabelled images in the
  look the model will meet (``look``: a scanner, drawings, prints, a game's renders). This is
  the mode that helps a model meet a shift of look (docs/benchmarks.md, section 5).
* ``generate``: one GAN per class folder, sampled; the samples are kept only as far as they
  help a probe classify held-out real images of the class (``held_out_check``).

``augment`` writes a class-per-folder copy of the dataset plus ``manifest.jsonl`` (which file
came from which source, with which style or model); ``StyleAugment`` does the stylizing inside
a training loop, on the fly."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from .errors import BrushworkError, ImageReadError, warn
from .io import (
    IMAGE_SUFFIXES,
    atomic_path,
    list_images,
    load_image,
    pil_to_tensor,
    save_image_atomic,
    tensor_to_pil,
    write_text_atomic,
)
from .library import check_name, runs_dir, styles_dir
from .stylizer import Stylizer

PathLike = str | os.PathLike[str]

CHECK_SHARE = 0.25  # of each class's real images held out from its generator, to check the samples on
CHECK_MIN_IMAGES = 3


class StyleAugment:
    """A transform for training loops: with probability ``p`` an image is re-rendered in one
    of ``styles`` (names, folders or loaded ``Stylizer`` objects), chosen at random per call,
    at a ``strength`` that is a number or a ``(low, high)`` range drawn per call. Takes and
    returns what a ``Stylizer`` does: a PIL image, a numpy array (HWC, uint8 or float in
    [0, 1]) or a tensor in [-1, 1].

    Randomness comes from ``seed`` (same seed, same choices); in ``DataLoader`` worker
    processes each worker draws its own stream (the seed and the worker's id). With no seed
    the stream follows torch's seed of the process. Runs on the CPU by default, so that it
    works in worker processes; ``device="cuda"`` for a loop without workers."""

    def __init__(
        self, styles: Sequence[PathLike | Stylizer], p: float = 0.5, strength: float | tuple[float, float] = 1.0,
        seed: int | None = None, device: str = "cpu", precision: str = "auto",
    ) -> None:  # fmt: skip
        if not styles:
            raise BrushworkError("StyleAugment needs at least one style")
        if not 0.0 <= p <= 1.0:
            raise BrushworkError(f"p must be between 0 and 1, got {p}")
        lo, hi = (strength, strength) if isinstance(strength, int | float) else strength
        if not 0.0 <= lo <= hi <= 1.0:
            raise BrushworkError(f"strength must be in [0, 1] (a number or a (low, high) range), got {strength}")
        self.stylizers = [
            s if isinstance(s, Stylizer) else Stylizer.load(s, device=device, precision=precision) for s in styles
        ]
        self.p, self.strength, self.seed = p, (float(lo), float(hi)), seed
        self._rng: random.Random | None = None
        self._owner: tuple[int, int] | None = None

    def _random(self) -> random.Random:
        info = torch.utils.data.get_worker_info()
        owner = (os.getpid(), info.id if info is not None else -1)
        if self._rng is None or owner != self._owner:  # first call in this process or worker
            base = self.seed if self.seed is not None else torch.initial_seed()
            self._rng = random.Random(f"{base}/{owner[1]}" if info is not None else base)
            self._owner = owner
        return self._rng

    def __call__(self, image: Any) -> Any:
        rng = self._random()
        if rng.random() >= self.p:
            return image
        st = rng.choice(self.stylizers)
        lo, hi = self.strength
        return st(image, strength=lo if lo == hi else rng.uniform(lo, hi))

    def __repr__(self) -> str:
        names = ", ".join(s.name for s in self.stylizers)
        return f"StyleAugment([{names}], p={self.p}, strength={self.strength}, seed={self.seed})"


def unused_name(base: str, taken: Callable[[str], bool]) -> str:
    """``base`` made a valid library name, with -2, -3, ... added while ``taken(name)``:
    augmenting twice never collides with (or replaces) an earlier run's models."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base)[:56].lstrip("._-") or "augment"
    name, n = base, 1
    while taken(name):
        n += 1
        name = f"{base}-{n}"
    return check_name(name)


def learn_look(
    look_dir: PathLike, dataset_dir: PathLike, *, minutes: float | None = None, steps: int | None = None,
    seed: int = 0, quiet: bool = False, recipe: dict[str, Any] | None = None,
) -> Path:  # fmt: skip
    """Learn the look of the images in ``look_dir`` with the dataset's own images as the
    content set, into the library as ``look-<folder>`` (-2, -3, ... if taken)."""
    from .api import train_style

    name = unused_name(f"look-{Path(look_dir).resolve().name}",
                       lambda n: (styles_dir() / n).exists() or (runs_dir() / n).exists())  # fmt: skip
    return train_style(look_dir, dataset_dir, name=name, minutes=minutes, steps=steps, seed=seed, quiet=quiet,
                       recipe=recipe)  # fmt: skip


def _check_out(src: Path, out: Path) -> None:
    if out == src or src in out.parents or out in src.parents:
        raise BrushworkError(f"--out {out} overlaps the source dataset {src}; choose a folder outside it")
    if out.exists() and any(out.iterdir()):
        raise BrushworkError(f"{out} is not empty; choose a new or empty --out (nothing in it is replaced)")


def augment(
    dataset_dir: PathLike, out_dir: PathLike, *, mode: str | None = None, styles: Sequence[str] = (),
    look: PathLike | None = None, copies: int = 1, mix: float = 1.0, strength: float = 1.0,
    originals: bool = True, per_class: int | None = None, minutes: float | None = None,
    steps: int | None = None, size: int = 64, seed: int = 0, quiet: bool = False,
    recipe: dict[str, Any] | None = None, check: bool = True,
) -> Path:  # fmt: skip
    """Write an enlarged copy of the class-per-folder ``dataset_dir`` to ``out_dir`` (same
    layout) with ``manifest.jsonl``, one JSON row per written file. The source is never
    modified and nothing in ``out_dir`` is replaced (it must be new or empty).

    ``stylize``: ``copies`` stylized copies of a share ``mix`` of the images (chosen at random
    with ``seed``), each in a style drawn at random among ``styles`` (library names) and, with
    ``look``, the look learned from that folder first (``minutes``/``steps`` its budget).
    ``generate``: up to ``per_class`` images per class from a GAN trained on that class
    (``minutes``/``steps`` each, at ``size`` px). With ``check`` (the default) a quarter of
    each class's images is kept from its generator and the samples are kept only as far as
    they help a probe classify those held-out images (``held_out_check``; the scores are in
    ``check.json``): generated images that would lower accuracy are not written.
    ``originals`` copies the source images too, so that ``out_dir`` is a complete training set.

    With no ``mode``, it follows the other arguments: ``stylize`` with ``styles`` or ``look``,
    ``generate`` with ``per_class``."""
    src, out = Path(dataset_dir).resolve(), Path(out_dir).resolve()
    if mode is None:
        stylize, generate = bool(styles) or look is not None, per_class is not None
        if stylize == generate:
            raise BrushworkError("say what to add: --style NAME or --look FOLDER (stylize), or --per-class N "
                                 "(generate); or name --mode")  # fmt: skip
        mode = "stylize" if stylize else "generate"
    if mode not in ("generate", "stylize"):
        raise BrushworkError(f"unknown mode {mode!r} (use generate or stylize)")
    _check_out(src, out)
    classes = sorted(p for p in src.iterdir() if p.is_dir() and list_images(p)) if src.is_dir() else []
    if not classes:
        raise BrushworkError(f"{src}: expected one sub-folder of images per class ({', '.join(IMAGE_SUFFIXES)})")
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    if originals:
        rows += _copy_originals(src, out, classes, failures)
    if mode == "stylize":
        rows += _stylize(src, out, classes, styles, look, copies, mix, strength, minutes, steps, seed, quiet,
                         recipe, failures)  # fmt: skip
    else:
        if not per_class:
            raise BrushworkError("--mode generate needs --per-class N (images to generate per class)")
        rows += _generate(src, out, classes, per_class, minutes, steps, size, seed, recipe, quiet, check, failures)
    write_text_atomic(out / "manifest.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    if failures:
        warn(f"{len(failures)} file(s) skipped:\n  " + "\n  ".join(failures))
    return out


def _copy_originals(src: Path, out: Path, classes: list[Path], failures: list[str]) -> list[dict[str, Any]]:
    rows = []
    for cls in classes:
        for f in list_images(cls):
            dest = out / f.relative_to(src)
            try:
                with atomic_path(dest) as tmp:
                    shutil.copyfile(f, tmp)
            except OSError as exc:
                failures.append(f"{f}: cannot copy ({exc.strerror or exc})")
                continue
            rows.append({"file": str(dest.relative_to(out)), "class": cls.name, "synthetic": False,
                         "source": str(f)})  # fmt: skip
    return rows


def _stylize(
    src: Path, out: Path, classes: list[Path], styles: Sequence[str], look: PathLike | None, copies: int,
    mix: float, strength: float, minutes: float | None, steps: int | None, seed: int, quiet: bool,
    recipe: dict[str, Any] | None, failures: list[str],
) -> list[dict[str, Any]]:  # fmt: skip
    if not styles and look is None:
        raise BrushworkError("--mode stylize needs --style NAME[,NAME...] or --look FOLDER")
    if copies < 1:
        raise BrushworkError(f"copies must be at least 1, got {copies}")
    if not 0.0 < mix <= 1.0:
        raise BrushworkError(f"mix must be in (0, 1], got {mix}")
    stylizers = [Stylizer.load(s, strength=strength) for s in styles]  # unknown names fail before any work
    if look is not None:
        learned = learn_look(look, src, minutes=minutes, steps=steps, seed=seed, quiet=quiet, recipe=recipe)
        if not quiet:
            print(f"learned the look of {look} as style {learned.name!r}")
        stylizers.append(Stylizer.load(learned, strength=strength))
    rng = random.Random(seed)
    files = [(cls, f) for cls in classes for f in list_images(cls)]
    chosen = [(cls, f) for cls, f in files if rng.random() < mix]
    rows = []
    for cls, f in tqdm(chosen, desc="stylize", unit="image", disable=quiet):
        try:
            img = load_image(f)
        except ImageReadError as exc:
            failures.append(str(exc))
            continue
        rel = f.relative_to(src)
        for k in range(copies):
            st = rng.choice(stylizers)
            dest = out / rel.parent / f"{rel.stem}_{st.name}_{k}.png"
            save_image_atomic(st(img), dest)
            rows.append({"file": str(dest.relative_to(out)), "class": cls.name, "synthetic": True,
                         "source": str(f), "style": st.name, "style_path": str(st.path), "copy": k,
                         "strength": strength, "seed": seed})  # fmt: skip
    return rows


def _generate(
    src: Path, out: Path, classes: list[Path], per_class: int, minutes: float | None, steps: int | None,
    size: int, seed: int, recipe: dict[str, Any] | None, quiet: bool, check: bool, failures: list[str],
) -> list[dict[str, Any]]:  # fmt: skip
    from .gan import gans_dir, generate, train_gan

    files = {cls: list_images(cls) for cls in classes}
    held: dict[Path, list[Path]] = {}
    if check:
        few = [f"{c.name} ({len(files[c])})" for c in classes if len(files[c]) < CHECK_MIN_IMAGES]
        if len(classes) < 2 or few:
            warn("no held-out check of the generated images: it needs two classes of at least "
                 f"{CHECK_MIN_IMAGES} images" + (f"; too few in {', '.join(few)}" if few else ""))  # fmt: skip
            check = False
        else:
            rng = random.Random(f"check/{seed}")
            held = {c: sorted(rng.sample(files[c], max(1, round(len(files[c]) * CHECK_SHARE)))) for c in classes}
    samples: dict[Path, torch.Tensor] = {}
    models: dict[Path, Path] = {}
    for cls in tqdm(classes, desc="generate", unit="class", disable=quiet):
        model = unused_name(f"augment-{out.name}-{cls.name}-{seed}",
                            lambda n: (gans_dir() / n).exists() or (runs_dir() / f"gan-{n}").exists())  # fmt: skip
        folder = cls
        if check:  # the class generator never sees the images its samples are checked on; the ones
            # it does see stay with its run, for `gan eval` and `gan train --resume`
            folder = runs_dir() / f"gan-{model}" / "training-images"
            for f in files[cls]:
                if f not in held[cls]:
                    with atomic_path(folder / f.relative_to(cls)) as tmp:  # (sub-folders kept: no clashes)
                        shutil.copyfile(f, tmp)
        models[cls] = train_gan(folder, name=model, size=size, minutes=minutes, steps=steps, seed=seed,
                                quiet=True, recipe=recipe, evaluate_after=False)  # fmt: skip
        samples[cls] = generate(models[cls], per_class, seed=seed)
    keep = per_class
    if check:
        keep, report = held_out_check(files, held, samples, failures)
        write_text_atomic(out / "check.json", json.dumps(report, indent=2))
        if not quiet:
            scores = ", ".join(f"{r['per_class']}: {r['accuracy']:.2f}" for r in report["counts"])
            print(f"held-out check (generated per class: probe accuracy on {report['held_out']} held-out real "
                  f"images): {scores} -> keeping {keep} per class")  # fmt: skip
        if keep == 0:
            warn("the generated images did not help a probe classify held-out real images; none were written "
                 "(a longer --minutes may make them useful; --no-check writes them anyway)")  # fmt: skip
    rows = []
    for cls in classes:
        for i, img in enumerate(samples[cls][:keep]):
            dest = out / cls.name / f"synthetic_{i:05d}.png"
            save_image_atomic(tensor_to_pil(img), dest)
            rows.append({"file": str(dest.relative_to(out)), "class": cls.name, "synthetic": True,
                         "model": str(models[cls]), "seed": seed, "index": i})  # fmt: skip
    return rows


def held_out_check(
    files: dict[Path, list[Path]], held: dict[Path, list[Path]], samples: dict[Path, torch.Tensor],
    failures: list[str], confidence: float = 0.95,
) -> tuple[int, dict[str, Any]]:  # fmt: skip
    """How many generated images per class to keep. A linear probe on frozen pretrained
    features is fitted to the real images the class generators trained on, alone and with the
    first ``n`` samples of each class (``n``: a quarter, a half, all), and scored on the
    held-out real images. Per held-out image, the gain is the log-probability the probe gives
    its true class with the samples minus without; ``n`` qualifies when the ``confidence``
    lower bound of the mean gain (bootstrap over the held-out images) is above zero and
    accuracy does not drop. The qualifying ``n`` with the largest mean gain is kept; none
    qualifying keeps none: generated images are written only when they measurably help."""
    from .metrics import linear_probe
    from .nets.magenta import pooled_features

    def feats(images: list[torch.Tensor], mirrored: bool = True) -> torch.Tensor:
        return torch.cat([pooled_features(torch.stack([t, t.flip(-1)] if mirrored else [t])) for t in images])

    def real(paths: list[Path]) -> list[torch.Tensor]:
        out = []
        for p in paths:
            try:
                out.append(pil_to_tensor(load_image(p)))
            except ImageReadError as exc:
                failures.append(str(exc))
        return out

    classes = list(files)
    train_f, train_y, test_f, test_y, synth_f = [], [], [], [], []
    for k, cls in enumerate(classes):
        tr = feats(real([f for f in files[cls] if f not in held[cls]]))
        train_f.append(tr)
        train_y.append(torch.full((len(tr),), k))
        if te := real(held[cls]):
            test_f.append(feats(te, mirrored=False))  # scored on the images themselves
            test_y.append(torch.full((len(te),), k))
        synth_f.append(feats(list(samples[cls])))
    if not test_f:
        return 0, {"held_out": 0, "counts": [], "kept_per_class": 0}  # nothing readable to check on
    xt, yt = torch.cat(test_f), torch.cat(test_y)
    n = min(len(s) for s in samples.values())
    gen = torch.Generator().manual_seed(0)
    boot = torch.randint(len(yt), (2000, len(yt)), generator=gen)  # the same resamples for every count
    report: dict[str, Any] = {"held_out": len(yt), "confidence": confidence, "counts": []}
    base: torch.Tensor | None = None
    keep, best_gain = 0, 0.0
    for c in sorted({0, n // 4, n // 2, n}):
        x = torch.cat(train_f + [s[: 2 * c] for s in synth_f])
        y = torch.cat(train_y + [torch.full((2 * c,), k) for k in range(len(classes))])
        logp = linear_probe(x, y, len(classes))(xt).log_softmax(1)
        right = logp.gather(1, yt[:, None])[:, 0]
        row: dict[str, Any] = {"per_class": c, "accuracy": (logp.argmax(1) == yt).float().mean().item(),
                               "log_loss": -right.mean().item()}  # fmt: skip
        if base is None:
            base, acc0 = right, row["accuracy"]
        else:
            gain = right - base
            low = torch.quantile(gain[boot].mean(1), 1 - confidence).item()
            row.update(mean_gain=gain.mean().item(), gain_lower_bound=low)
            if low > 0 and row["accuracy"] >= acc0 and gain.mean().item() > best_gain:
                keep, best_gain = c, gain.mean().item()
        report["counts"].append(row)
    report["kept_per_class"] = keep
    return keep, report
