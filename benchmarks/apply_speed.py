"""Apply speed and memory: the default `lite` style versus the CycleGAN-class `resnet`.

`lite` is measured as the recipe builds it: the default (learned from pseudo-pairs or
real before/after pairs: smoothing, ink lines and the residual), the earlier purely
unpaired recipe (``teacher=""``: global stages only, ``detail=0``), the same where line
calibration drew ink lines, the same with its residual applied (``apply --detail 1``),
and without the structure stage.
In one run: times one image at 256, 512, 1024 and 4096 px square for lite (fp32, bf16
where the CPU has native bf16, ONNX Runtime) and for resnet (fp32 and bf16, up to 1024:
at 4096 it would take minutes per image; its 4096 figure is the 1024 time x 16, marked
as an estimate). Prints ratios against the resnet reference measured in the same run.
Then, in a fresh process each, the peak resident memory of applying a style to a
6000x4000 photo through the CLI path (tiles from the default memory budget), including a
lined style trained on 1024 px photos, whose structure stage then runs at scale 6.

With ``--learned``: styles learned by the default recipe (``--generator auto``, saved
unpruned so each stage can be timed) from the built-in Van Gogh paintings and from a colour
grade, a halftone print and a pencil drawing drawn with fresh seeds from
``shared/looks/random_looks.py`` (style images: 12 Kodak photos through the look; content:
the other 12). Each is pruned as training prunes it (``training/prune.py``) and reported:
the stages dropped, each stage's cost at 1024 px, how far pruning moved the output on
photos it never saw, 1024 px seconds (auto, fp32) against resnet fp32 in the same run, and
a 6000x4000 photo through the CLI path in a fresh process (seconds, peak memory).

    python benchmarks/apply_speed.py
    python benchmarks/apply_speed.py --memory-only     # just the 6000x4000 peak-memory part
    python benchmarks/apply_speed.py --learned [--minutes 2]
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from brushwork import Stylizer, nets
from brushwork.device import cpu_has_native_bf16
from brushwork.stylefile import save_style
from brushwork.training.recipe import default_recipe

SIZES = (256, 512, 1024, 4096)


def make_style(
    root: Path, family: str, work_side: int | None = None, vignette: tuple[float, float] | None = None, **kwargs: Any
) -> Path:  # fmt: skip
    """A style with seed-0 weights; ``work_side``: the photo size it says it learned from;
    ``vignette``: the fitted vignette it carries."""
    torch.manual_seed(0)
    g = nets.create("generator", family, **kwargs)
    if getattr(g, "grain", None) is not None:  # a grain of the spread a grainy look measures (0 skips the stage)
        g.grain.amount.fill_(0.13)
    name = "".join(f"_{k}" if isinstance(v, list) else f"_{k}={v}" for k, v in kwargs.items())
    folder = root / (family + name + f"_side={work_side}_v={vignette}")
    summary: dict[str, Any] = {"note": "speed benchmark weights"}
    if work_side:
        summary["work_side"] = work_side
    if vignette:
        summary["vignette"] = list(vignette)
    return save_style(folder, family, kwargs, g.state_dict(), summary, None)


def lined_lite(root: Path, work_side: int | None = None) -> Path:
    """An unpaired style for which line calibration drew ink lines (a cartoon); with
    ``work_side`` 1024, a 6000x4000 photo runs its structure stage at scale 6."""
    kw = default_recipe(12, teacher="").generator_kwargs
    return make_style(root, "lite", work_side, **{**kw, "lines": True, "detail": 0.0})


def time_apply(st: Stylizer, size: int, reps: int) -> float:
    x = torch.rand(1, 3, size, size) * 2 - 1
    st.stylize_tensor(x)  # warm-up (oneDNN primitive creation)
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        st.stylize_tensor(x)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def peak_child(style: str, precision: str) -> None:
    """Apply to a 6000x4000 photo like the CLI does and print peak RSS (MB)."""
    import numpy as np
    from PIL import Image

    from brushwork.apply import apply_to_paths

    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        small = rng.integers(0, 255, (400, 600, 3), dtype=np.uint8)
        Image.fromarray(small).resize((6000, 4000), Image.Resampling.BILINEAR).save(Path(tmp) / "big.jpg", quality=90)
        base = _vm_hwm_mb()
        st = Stylizer.load(style, device="cpu", precision=precision)
        t0 = time.perf_counter()
        res = apply_to_paths(st, [Path(tmp) / "big.jpg"], Path(tmp) / "out", fmt="jpg", quiet=True)
        secs = time.perf_counter() - t0
        assert not res.failed, res.failed
    print(json.dumps({"peak_mb": _vm_hwm_mb(), "before_mb": base, "seconds": secs}))


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description="apply speed and memory: lite, painter and resnet")
    ap.add_argument(
        "--quick", action="store_true", help="1024 px only, default lite and painter vs resnet, no 24 MP run"
    )
    ap.add_argument("--learned", action="store_true", help="styles learned from real sets and random looks")
    ap.add_argument("--minutes", type=float, default=2.0, help="training minutes per learned style")
    args = ap.parse_args()
    if args.learned:
        learned_report(args.minutes)
        return
    bf16 = cpu_has_native_bf16()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        import os

        os.environ["BRUSHWORK_HOME"] = str(root / "home")
        lite, lite_s, resnet = unpaired_lite(root), default_lite(root), make_style(root, "resnet")
        bare = make_style(root, "lite", structure=False)
        full = make_style(root, "lite", **{**default_recipe(12, teacher="").generator_kwargs, "detail": 1.0})
        configs = [
            ("lite unpaired fp32", lite, "fp32", "torch"),
            ("lite unp. onnxruntime", lite, "fp32", "onnxruntime"),
        ]
        configs += [("lite unp. --detail 1", full, "fp32", "torch"), ("lite default fp32", lite_s, "fp32", "torch")]
        configs += [("lite, no structure fp32", bare, "fp32", "torch")]
        configs.insert(2, ("lite, ink lines fp32", lined_lite(root), "fp32", "torch"))
        if bf16:
            configs.insert(1, ("lite unpaired bf16", lite, "bf16", "torch"))
            configs.insert(4, ("lite unp. --detail 1 bf16", full, "bf16", "torch"))
            configs.insert(6, ("lite default bf16 (auto)", lite_s, "bf16", "torch"))
            # the same with a fitted vignette (applied tile by tile over the frame)
            configs.insert(
                7, ("lite default + vignette (auto)", default_lite(root, None, (-0.4, 0.0)), "bf16", "torch")
            )
        painter = make_style(root, "painter")
        configs += [("painter fp32", painter, "fp32", "torch"), ("painter onnxruntime", painter, "fp32", "onnxruntime")]
        if bf16:
            configs.insert(len(configs) - 1, ("painter bf16 (auto)", painter, "bf16", "torch"))
        sizes = (1024,) if args.quick else SIZES
        if args.quick:
            keep = ("lite default", "painter")
            configs = [c for c in configs if c[0].startswith(keep)]
        refs = [("resnet fp32", resnet, "fp32", "torch")] + ([("resnet bf16", resnet, "bf16", "torch")] if bf16 else [])
        print(
            f"CPU threads: {torch.get_num_threads()}, native bf16: {bf16}, auto precision = {'bf16' if bf16 else 'fp32'}"
        )
        results: dict[str, dict[int, float]] = {}
        for name, path, prec, backend in refs + configs:
            st = Stylizer.load(path, device="cpu", precision=prec, backend=backend, max_memory=2**40)
            results[name] = {}
            for size in sizes:
                if name.startswith("resnet") and size > 1024:
                    results[name][size] = results[name][1024] * (size / 1024) ** 2  # estimate
                    continue
                reps = 5 if size <= 512 else (3 if size <= 1024 else 1)
                results[name][size] = time_apply(st, size, reps)
        print(
            f"{'seconds per image':22s}" + "".join(f"{s:>10d}" for s in sizes) + "   x faster than resnet fp32 at 1024"
        )
        ref = results["resnet fp32"][1024]
        for name, row in results.items():
            cells = "".join(f"{row[s]:9.3f}{'*' if name.startswith('resnet') and s > 1024 else ' '}" for s in sizes)
            print(f"{name:22s}{cells}   {ref / row[1024]:8.1f}")
        if args.quick:
            return
        print("(* resnet at 4096 is the 1024 time x 16, an estimate)")
        peak_report(lite, lite_s, lined_lite(root, 1024), default_lite(root, 1024), default_lite(root, 64), painter)


def unpaired_lite(root: Path) -> Path:
    """lite as the earlier purely unpaired recipe (teacher="") saved it: global stages only."""
    r = default_recipe(12, teacher="")
    return make_style(root, "lite", **r.generator_kwargs, detail=r.detail)


# a screen as training measures one on a halftone look (three waves: the dot lattice's two
# and a harmonic); every default style learned from images of 128 px or more has one
SCREEN = [0.086914, 0.110352, -0.110352, 0.086914, 0.173828, 0.219727]


def default_lite(root: Path, work_side: int | None = None, vignette: tuple[float, float] | None = None) -> Path:
    """lite as the default recipe builds it, from pseudo-pairs or real pairs (smoothing, ink
    lines, the residual, the screen, grain); with ``work_side`` 1024 a 6000x4000 photo runs at scale 6."""
    r = default_recipe(12)
    return make_style(
        root, "lite", work_side, vignette, **r.generator_kwargs, detail=r.detail, screen=SCREEN, grain=r.grain
    )


def peak_report(
    lite: Path, lite_s: Path, scaled: Path, scaled_default: Path, worst: Path, painter: Path, only: str = ""
) -> None:
    for name, style, prec in [
        ("lite unpaired auto", lite, "auto"), ("lite unpaired fp32", lite, "fp32"),
        ("lite default auto", lite_s, "auto"), ("lite default fp32", lite_s, "fp32"),
        ("lite unpaired, ink lines at scale 6 fp32", scaled, "fp32"),
        ("lite default at scale 6 auto", scaled_default, "auto"),
        ("lite default learned from 64-px images (worst case) auto", worst, "auto"),
        ("painter auto", painter, "auto"),
    ]:  # fmt: skip
        if only and only not in name:
            continue
        cmd = [sys.executable, __file__, "--peak", str(style), prec]
        r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        print(
            f"6000x4000 photo, {name}: peak resident memory {r['peak_mb']:.0f} MB "
            f"(before the style was loaded: {r['before_mb']:.0f} MB), {r['seconds']:.1f} s"
        )


# ---- styles learned from real sets ----------------------------------------------------------
KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "photos" / "kodak24"
HELD_OUT = KODAK.parent / "samples"  # photos neither training nor pruning saw


def learned_sets(root: Path) -> dict[str, tuple[Path, Path, str]]:
    """name -> (style folder, content folder, what it is): Van Gogh (built in) and three
    random looks of fresh seeds (printed)."""
    import numpy as np
    from PIL import Image

    from brushwork.data import builtin_dir

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from looks import fresh_seeds, random_look

    photos = sorted(KODAK.glob("*.png"))
    if len(photos) < 24:
        raise SystemExit(f"--learned needs the 24 Kodak photos in {KODAK}")
    content = root / "content"
    content.mkdir(parents=True)
    for p in photos[12:]:
        (content / p.name).write_bytes(p.read_bytes())
    sets = {"vangogh": (builtin_dir("styles") / "vangogh", content, "the built-in Van Gogh paintings")}
    for kind in ("grade", "halftone", "drawing"):
        seed = fresh_seeds(1, kind)[0]
        fn, desc = random_look(seed)
        folder = root / kind
        folder.mkdir()
        for p in photos[:12]:
            t = torch.from_numpy(np.array(Image.open(p).convert("RGB"))).permute(2, 0, 1).float() / 127.5 - 1
            out = ((fn(t) + 1) * 127.5).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()
            Image.fromarray(out).save(folder / p.name)
        sets[kind] = (folder, content, f"random look r{seed}: {desc}")
    return sets


def stage_costs(g: torch.nn.Module, kwargs: dict[str, Any], family: str) -> dict[str, float]:
    """Seconds at 1024 x 1024 (float32) of the whole generator and, per stage, what leaving
    it out saves."""
    from brushwork.training.prune import rebuild

    x = torch.rand(1, 3, 1024, 1024) * 2 - 1

    def seconds(net: torch.nn.Module) -> float:
        with torch.no_grad():
            return _median_time(lambda: net.texture(net(x)), 3)

    whole = seconds(g)
    costs = {"whole": whole}
    for stage in g.stages():
        kw, state = g.without(kwargs, stage)
        costs[stage] = whole - seconds(rebuild(family, kw, state))
    return costs


def _median_time(fn: Any, reps: int) -> float:
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def learned_report(minutes: float) -> None:
    from brushwork.data import ImageBank, load_folder
    from brushwork.stylefile import load_style
    from brushwork.training.prune import effect, outputs, prune_for_save
    from brushwork.training.recipe import StyleRecipe

    bf16 = cpu_has_native_bf16()
    print(f"CPU threads: {torch.get_num_threads()}, native bf16: {bf16}; training {minutes} min per style")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["BRUSHWORK_HOME"] = str(root / "home")
        held = torch.stack(
            [t[:, :384, :384] for t in ImageBank(load_folder(HELD_OUT, max_side=768).images, 384).tensors]
        )  # fmt: skip
        resnet = Stylizer.load(make_style(root, "resnet"), device="cpu", precision="fp32", max_memory=2**40)
        x = torch.rand(1, 3, 1024, 1024) * 2 - 1
        ref = _median_time(lambda: resnet.stylize_tensor(x), 2)
        print(f"resnet fp32 at 1024 px: {ref:.2f} s (the reference)")
        rows = []
        for name, (style, content, what) in learned_sets(root / "sets").items():
            print(f"\n{name}: {what}", flush=True)
            # (a name of its own: the library's built-in names are taken)
            cmd = [sys.executable, "-m", "brushwork", "train", str(style), "--content", str(content), "--name", f"learned-{name}",
                   "--minutes", str(minutes), "--seed", "0", "--set", "prune=false", "--quiet"]  # fmt: skip
            subprocess.run(cmd, check=True, capture_output=True, text=True)
            full_path = root / "home" / "styles" / f"learned-{name}"
            g, meta = load_style(full_path)
            family, kwargs = meta["generator"]["name"], meta["generator"]["kwargs"]
            r = StyleRecipe.from_json(meta["training"]["recipe"])
            bank, _ = ImageBank.from_folder(content, r.size, r.max_side, "content photos")
            pruned, kw, report = prune_for_save(family, kwargs, g, bank, r.size, int(meta["training"]["seed"]))
            path = save_style(root / "pruned" / name, family, kw, pruned.state_dict(), meta["training"], None)
            rms, peak = effect(outputs(pruned, held), outputs(g, held))
            costs = stage_costs(g, kwargs, family)
            print(
                f"  generator {family}; dropped {report['dropped'] or 'nothing'}; kept {pruned.stages() or ('colour stages only' if family == 'lite' else 'the whole network')}"
            )
            print("  cost at 1024 px, fp32: " + ", ".join(f"{k} {v:.3f} s" for k, v in costs.items()))
            print(f"  pruned vs unpruned on {len(held)} held-out photos: RMS {rms:.3f}, 99.9th pct {peak:.2f} levels")
            times = {}
            for label, p, prec in (
                ("auto", path, "auto"),
                ("fp32", path, "fp32"),
                ("unpruned auto", full_path, "auto"),
            ):
                st = Stylizer.load(p, device="cpu", precision=prec)
                times[label] = _median_time(lambda st=st: st.stylize_tensor(x), 3)
            print("  1024 px: " + ", ".join(f"{k} {v:.3f} s ({ref / v:.1f}x resnet fp32)" for k, v in times.items()))
            cmd = [sys.executable, __file__, "--peak", str(path), "auto"]
            big = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
            print(f"  6000x4000 photo, CLI path, auto: {big['seconds']:.1f} s, peak resident {big['peak_mb']:.0f} MB")
            rows.append((name, family, report["dropped"], times["auto"], ref / times["auto"], big, rms, peak))
        print(
            "\n| style | generator | dropped | 1024 px auto | x resnet fp32 | 24 MP s | 24 MP MB | pruning RMS / p99.9 |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for name, family, dropped, t, ratio, big, rms, peak in rows:
            print(
                f"| {name} | {family} | {', '.join(dropped) or '-'} | {t:.3f} s | {ratio:.0f}x | "
                f"{big['seconds']:.1f} | {big['peak_mb']:.0f} | {rms:.2f} / {peak:.2f} |"
            )


def _vm_hwm_mb() -> float:
    """This process's peak resident memory. (ru_maxrss is no good here: a child started
    by fork + exec inherits the parent's high-water mark.)"""
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--peak":
        peak_child(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "--memory-only":  # [NAME PART]: only the rows whose name has it
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["BRUSHWORK_HOME"] = str(Path(tmp) / "home")
            t = Path(tmp)
            peak_report(
                unpaired_lite(t), default_lite(t), lined_lite(t, 1024), default_lite(t, 1024), default_lite(t, 64),
                make_style(t, "painter"), sys.argv[2] if len(sys.argv) > 2 else "",
            )  # fmt: skip
    else:
        main()
