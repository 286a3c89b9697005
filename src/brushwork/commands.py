"""What each command of the command line does (``cli.py`` parses the arguments): train, apply,
styles, export, gan, augment, demo, serve. Each takes the parsed arguments and returns the
exit status; library errors propagate as ``BrushworkError`` for ``cli.main`` to print."""

from __future__ import annotations

import argparse
import json
import sys

from .errors import BrushworkError


def _overrides(items: list[str]) -> dict[str, object]:
    overrides: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise BrushworkError(f"--set {item!r}: expected KEY=VALUE")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def train(args: argparse.Namespace) -> int:
    from .api import train_style
    from .stylefile import read_meta
    from .training.distributed import rank

    overrides = _overrides(args.set)
    path = train_style(
        args.style_dir, args.content, name=args.name, minutes=args.minutes, steps=args.steps,
        method=args.method, generator=args.generator, loss=args.loss, size=args.size, seed=args.seed,
        device=args.device, resume=args.resume, before_dir=args.before, after_dir=args.after,
        quiet=args.quiet, dry_run=args.dry_run, recipe=overrides, preview=args.preview,
    )  # fmt: skip
    if not args.dry_run and rank() == 0:
        print(f"style {args.name!r} saved to {path}")
        from .library import runs_dir
        from .report import REPORT, training_notes

        if (runs_dir() / args.name / REPORT).is_file():
            print(f"report: {runs_dir() / args.name / REPORT}")
        for line in training_notes(read_meta(path).get("training", {})):
            print(line)
    return 0


def apply(args: argparse.Namespace) -> int:
    from .apply import apply_to_paths
    from .stylizer import Stylizer

    controls = {
        "device": args.device, "precision": args.precision, "strength": args.strength, "detail": args.detail,
        "preserve_color": args.preserve_color, "tile": args.tile, "max_memory": args.max_memory * 2**20,
        "backend": args.backend,
    }  # fmt: skip
    if args.ray is not None:
        from .ray_apply import apply_on_ray

        Stylizer.load(args.style, **controls)  # a bad style or control fails here, before a cluster starts
        res = apply_on_ray(
            args.style, args.inputs, args.out, address=args.ray or None, controls=controls, fmt=args.format,
            quality=args.quality, overwrite=args.overwrite, max_side=args.max_side, workers=args.workers,
            quiet=args.quiet,
        )  # fmt: skip
    else:
        st = Stylizer.load(args.style, **controls)
        res = apply_to_paths(
            st, args.inputs, args.out, fmt=args.format, quality=args.quality, overwrite=args.overwrite,
            quiet=args.quiet, max_side=args.max_side,
        )  # fmt: skip
    skipped = f", {len(res.skipped)} skipped (already written)" if res.skipped else ""
    print(f"{len(res.written)} written to {args.out}{skipped}, {len(res.failed)} failed")
    for msg in res.failed:
        print(f"failed: {msg}", file=sys.stderr)
    return 1 if res.failed else 0


def styles(args: argparse.Namespace) -> int:
    from . import library

    if args.styles_command == "list":
        names = library.list_names()
        if not names:
            print(f"no styles yet in {library.styles_dir()}")
        for n in names:
            meta = library.info(n)
            t, origin = meta.get("training", {}), "built-in" if meta["builtin"] else "yours"
            print(
                f"{n:24s} {origin:8s} {meta['generator']['name']:8s} {t.get('steps', '?'):>6} steps  "
                f"{t.get('style_images', '?')} style images"
            )
    elif args.styles_command == "show":
        print(json.dumps(library.info(args.name), indent=2))
    elif args.styles_command == "export":
        from .stylepack import export_style

        print(f"wrote {export_style(args.name, args.out, overwrite=args.overwrite)}")
    elif args.styles_command == "import":
        from .stylepack import import_style

        print(f"imported {import_style(args.file, args.name, overwrite=args.overwrite)}")
    elif args.styles_command == "sheet":
        from .sheet import contact_sheet

        names = [n.strip() for n in args.styles.split(",") if n.strip()] if args.styles else None
        print(f"wrote {contact_sheet(args.photo, args.out, names, size=args.size)}")
    else:
        print(f"removed {library.remove(args.name)}")
    return 0


def export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .export import export_generator
    from .library import resolve
    from .stylefile import load_style
    from .stylizer import vignette_of

    path = resolve(args.style)
    g, meta = load_style(path)
    a, b = vignette_of(meta, path)
    out = Path(args.out)
    if out.exists():
        raise BrushworkError(f"{out} already exists; choose another --out")
    parts = ["the network"] + ["its texture locked to the frame"] * g.has_texture + ["the vignette"] * bool(a or b)
    print(f"exported to {export_generator(g, args.format, out, (a, b))} ({', '.join(parts)})")
    return 0


def gan(args: argparse.Namespace) -> int:
    from . import gan
    from .training.distributed import rank

    if args.gan_command == "train":
        path = gan.train_gan(args.images_dir, name=args.name, size=args.size, minutes=args.minutes, steps=args.steps,
                             loss=args.loss, seed=args.seed, device=args.device, resume=args.resume, quiet=args.quiet,
                             recipe=_overrides(args.set), arch=args.arch, evaluate_after=args.eval)  # fmt: skip
        if rank() == 0:
            print(f"GAN {args.name!r} saved to {path}")
    elif args.gan_command == "sample":
        files = gan.sample(
            args.name, args.n, args.out, seed=args.seed, truncation=args.truncation, interpolate=args.interpolate
        )
        print(f"{len(files)} written to {args.out}")
    else:
        print(gan.format_report(gan.evaluate(args.name, args.images, n=args.samples)))
    return 0


def augment(args: argparse.Namespace) -> int:
    from .augment import augment

    out = augment(
        args.dataset_dir, args.out, mode=args.mode, styles=args.style, look=args.look, copies=args.copies,
        mix=args.mix, strength=args.strength, originals=args.originals, per_class=args.per_class,
        minutes=args.minutes, steps=args.steps, size=args.size, seed=args.seed,
        quiet=args.quiet, recipe=_overrides(args.set), check=args.check,
    )  # fmt: skip
    print(f"written to {out} (manifest: {out / 'manifest.jsonl'})")
    return 0


def demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    path = run_demo(minutes=args.minutes, quiet=args.quiet)
    print(path)
    return 0


def serve(args: argparse.Namespace) -> int:
    from .server import serve

    serve(host=args.host, port=args.port, token=args.token, device=args.device)
    return 0
