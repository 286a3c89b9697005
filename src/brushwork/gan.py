"""Generating new images: train an unconditional GAN on a folder, sample it and evaluate it
(``augment.py`` uses it to enlarge a class-per-folder dataset). Models live in the library under
``<BRUSHWORK_HOME>/gans/<name>/`` in the same self-describing format as styles."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .data import ImageBank, relative_crops
from .errors import BrushworkError, StyleNotFoundError, warn
from .io import (
    load_folder,
    save_image_atomic,
    tensor_to_pil,
    write_text_atomic,
)
from .library import check_name, home, runs_dir
from .metrics import frechet_distance, grid_artifacts, nearest_distances, swd_distance
from .stylefile import is_style_dir, load_model, read_meta
from .training.distributed import rank
from .training.gan import default_gan_recipe, sample_noise, train_gan_run
from .training.loop import OPTIONS, Budget

PathLike = str | os.PathLike[str]


def gans_dir() -> Path:
    return home() / "gans"


def resolve_gan(name_or_path: PathLike) -> Path:
    p = Path(name_or_path)
    if is_style_dir(p):
        return p
    cand = gans_dir() / str(name_or_path)
    if is_style_dir(cand):
        return cand
    raise StyleNotFoundError(f"no GAN model {str(name_or_path)!r} (looked in {gans_dir()})")


def train_gan(
    images_dir: PathLike, *, name: str, size: int = 64, minutes: float | None = None, steps: int | None = None,
    loss: str = "lsgan", seed: int = 0, device: str = "auto", resume: bool = False, quiet: bool = False,
    recipe: dict[str, Any] | None = None, arch: str = "dcgan", evaluate_after: bool = True,
) -> Path:  # fmt: skip
    check_name(name)
    if minutes is None and steps is None:
        minutes = 10.0
    budget = Budget(steps=steps, minutes=minutes)
    dest, run = gans_dir() / name, runs_dir() / f"gan-{name}"
    if dest.exists() and not resume:
        raise BrushworkError(f"GAN model {name!r} already exists at {dest}; choose another --name")
    rep = load_folder(images_dir, max_side=int((recipe or {}).get("max_side", 512)), what="training images")
    for msg in rep.failures:
        warn(f"skipped {msg}")
    bank = ImageBank(rep.images, size)
    if resume:
        opts = run / OPTIONS
        if not opts.exists():
            raise BrushworkError(f"--resume: no GAN training run named {name!r} at {run}")
        from .training.gan import GanRecipe

        saved = json.loads(opts.read_text(encoding="utf-8"))
        r, seed = GanRecipe.from_json(saved["recipe"]), int(saved["seed"])
    else:
        r = default_gan_recipe(len(bank), **{"size": size, "loss": loss, "arch": arch, **(recipe or {})})
    path = train_gan_run(images=bank, recipe=r, run_dir=run, model_dir=dest, budget=budget, seed=seed, device=device,
                         resume=resume, quiet=quiet, sources={"images_dir": str(images_dir)})  # fmt: skip
    if evaluate_after and rank() == 0:  # (a data-parallel run: rank 0 evaluates)
        report = evaluate(path, images_dir)
        write_text_atomic(run / "eval.json", json.dumps(report, indent=2))
        if not quiet:
            print(format_report(report))
    return path


def generate(name_or_path: PathLike, n: int, seed: int = 0, truncation: float | None = None) -> torch.Tensor:
    """n images [n, 3, S, S] in [-1, 1] from a trained model (deterministic for a seed)."""
    g, meta = load_model(resolve_gan(name_or_path))
    z = sample_noise(n, int(meta["generator"]["kwargs"]["z_dim"]), seed, truncation)
    out = []
    with torch.no_grad():
        for i in range(0, n, 64):
            out.append(g(z[i : i + 64]).float().clamp(-1, 1))
    return torch.cat(out)


def sample(name_or_path: PathLike, n: int, out_dir: PathLike, seed: int = 0, truncation: float | None = None,
           interpolate: bool = False, prefix: str = "sample") -> list[Path]:  # fmt: skip
    """Write n samples as PNGs (or, with ``interpolate``, a grid and a GIF walking between
    random points) to ``out_dir``; existing files are never replaced."""
    out = Path(out_dir)
    written: list[Path] = []
    if interpolate:
        g, meta = load_model(resolve_gan(name_or_path))
        zd = int(meta["generator"]["kwargs"]["z_dim"])
        keys = sample_noise(max(2, n), zd, seed, truncation)
        frames = []
        with torch.no_grad():
            for a, b in zip(keys, torch.roll(keys, -1, 0), strict=True):
                for t in torch.linspace(0, 1, 9)[:-1]:
                    frames.append(g(_slerp(a, b, float(t))[None]).clamp(-1, 1)[0])
        grid = torch.cat([torch.cat(frames[i : i + 8], dim=2) for i in range(0, len(frames), 8)], dim=1)
        for path in (out / f"{prefix}_walk.png", out / f"{prefix}_walk.gif"):
            if path.exists():
                raise BrushworkError(f"{path} already exists; choose another --out")
        save_image_atomic(tensor_to_pil(grid), out / f"{prefix}_walk.png")
        pil = [tensor_to_pil(f) for f in frames]
        from .io import atomic_path

        with atomic_path(out / f"{prefix}_walk.gif") as tmp:
            pil[0].save(tmp, format="GIF", save_all=True, append_images=pil[1:], duration=80, loop=0)
        return [out / f"{prefix}_walk.png", out / f"{prefix}_walk.gif"]
    imgs = generate(name_or_path, n, seed, truncation)
    for i, img in enumerate(imgs):
        path = out / f"{prefix}_{seed}_{i:05d}.png"
        if path.exists():
            raise BrushworkError(f"{path} already exists; choose another --out or --seed")
        save_image_atomic(tensor_to_pil(img), path)
        written.append(path)
    return written


def _slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    cos = (F.normalize(a, dim=0) * F.normalize(b, dim=0)).sum().clamp(-1, 1)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-4:
        return a + t * (b - a)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def real_crops(bank: ImageBank, size: int, n: int, seed: int = 0) -> torch.Tensor:
    """n seeded random crops of the training images, as the GAN trainer draws them."""
    return relative_crops(bank, n, size, (0.5, 1.0), torch.Generator().manual_seed(seed))


def evaluate(name_or_path: PathLike, images_dir: PathLike | None = None, n: int = 256, seed: int = 0) -> dict[str, Any]:
    """Distances to real crops: the sliced-Wasserstein distance of 7x7 patches and the
    Frechet distance in frozen pretrained features (``nets.magenta.pooled_features``), each
    beside the same distance between two sets of real crops (the floor); a memorisation check;
    and the artefacts of generated images (a frame, a checkerboard) against real crops."""
    from .nets.magenta import pooled_features

    path = resolve_gan(name_or_path)
    meta = read_meta(path)
    size = int(meta["generator"]["kwargs"]["size"])
    src = images_dir or meta["training"].get("sources", {}).get("images_dir")
    if not src:
        raise BrushworkError("give the training images folder to evaluate against")
    bank = ImageBank(load_folder(src, max_side=512, what="training images").images, size)  # read once
    real = real_crops(bank, size, n, seed)
    real2 = real_crops(bank, size, n, seed + 9)
    fake = generate(path, n, seed=seed + 1)
    f_real, f_real2, f_fake = (pooled_features(x) for x in (real, real2, fake))
    train_imgs = torch.stack([F.interpolate(t[None], size=(size, size), mode="area")[0] for t in bank.tensors])
    nn_fake, idx = nearest_distances(fake, train_imgs)
    nn_real, _ = nearest_distances(real, train_imgs)  # real crops to their own sources: the "copy" scale
    return {
        "model": str(path), "size": size, "samples": n,
        "swd_x1000": swd_distance(fake, real, seed),
        "swd_real_vs_real_x1000": swd_distance(real2, real, seed),
        "fd": frechet_distance(f_fake, f_real), "fd_real_vs_real": frechet_distance(f_real2, f_real),
        "nearest_train_rms_median": nn_fake.median().item(),
        "nearest_train_rms_min": nn_fake.min().item(),
        "real_crop_to_source_rms_median": nn_real.median().item(),
        "closest_pairs": [[int(i), int(idx[i])] for i in nn_fake.argsort()[:8].tolist()],
        **grid_artifacts(fake, real),
    }  # fmt: skip


def format_report(r: dict[str, Any]) -> str:
    return (
        f"sliced Wasserstein (x1000): {r['swd_x1000']:.1f} (real vs real: {r['swd_real_vs_real_x1000']:.1f})\n"
        f"Frechet distance, pretrained features: {r['fd']:.1f} (real vs real: {r['fd_real_vs_real']:.1f})\n"
        f"nearest training image, RMS: median {r['nearest_train_rms_median']:.3f}, min {r['nearest_train_rms_min']:.3f} "
        f"(a real crop to its own source: {r['real_crop_to_source_rms_median']:.3f}; samples far below that are copies)\n"
        f"frame: {r['frame']:+.1f} +- {r['frame_se']:.1f} levels at the border against the real crops' "
        f"(top {r['frame_sides']['top']:+.1f}, bottom {r['frame_sides']['bottom']:+.1f}, "
        f"left {r['frame_sides']['left']:+.1f}, right {r['frame_sides']['right']:+.1f}); checkerboard: "
        f"{r['checkerboard']:.2f}x the real crops' power at a 2-px period"
    )
