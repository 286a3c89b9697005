"""Which looks should get ink lines? The line search (``nets/lite_lines.calibrate_lines``) on
lite's colour start, on random looks with fresh seeds (printed), without training.

For each look: photos A (content), look(photos B) (style), held-out photos C and look(C)
(truth), split as ``quality.py`` splits them. A lite generator with a line stage starts at the
balanced colour transport from A to the style set (what the default recipe starts from, and
where 3-minute runs stay within 0.1 dB), the line search runs on 12 crops of each set, and C
is scored in blurred PSNR with and without the lines it found. Printed per look: what the
search measured (ink ratio, thin ink, the patch-SWD ratio with/without lines, whether the ink
is among the dark tones), whether the look has an ink stage, the gain the lines bring, and
each rule's decision, so a rule can be judged by the looks where lines help and hurt.

    python benchmarks/lines_probe.py --random 12
    python benchmarks/lines_probe.py --ink 8 --random 8      # fresh seeds with an ink stage, and any
    python benchmarks/lines_probe.py --redraw 12             # abstraction, flat colour or ink over a grade
    python benchmarks/lines_probe.py --seeds 161529,265159   # a repeat
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brushwork import nets
from brushwork.data import ImageBank, random_crops
from brushwork.look.transport import COLOUR_SMOOTH, fit_colour_transport
from brushwork.look.vignette import apply_vignette, fit_look_vignette
from brushwork.metrics import patch_c2st
from brushwork.nets.lite_lines import calibrate_lines, lines_rule
from looks import fresh_seeds, parse_seeds, styled_sets
from quality import SHARED, score, split_photos


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--random", type=int, default=0, help="this many fresh random looks")
    ap.add_argument("--ink", type=int, default=0, help="this many fresh looks with an ink stage")
    ap.add_argument("--redraw", type=int, default=0, help="this many fresh looks with abstraction, flat or ink")
    ap.add_argument("--seeds", default="", help="repeat these seeds")
    ap.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = ap.parse_args()
    seeds = parse_seeds(args.seeds) if args.seeds else []
    seeds += fresh_seeds(args.ink, "ink") + fresh_seeds(args.redraw, "redraw") + fresh_seeds(args.random)
    print(f"seeds: {','.join(map(str, seeds))}  (repeat with --seeds)", flush=True)
    a, b, c, _ = split_photos(SHARED)
    rows = []
    for s in seeds:
        sets = styled_sets(s, b, c)
        if sets is None:
            continue
        desc, (style, truth) = sets
        vig = fit_look_vignette(a, style)
        flat = [apply_vignette(t, vig, inverse=True) for t in style]  # unchanged where there is none
        g = nets.create("generator", "lite", structure=True, lines=True).eval().requires_grad_(False)
        g.start_colour(fit_colour_transport(a, flat), smooth=COLOUR_SMOOTH)
        gen = torch.Generator().manual_seed(11)
        cc = random_crops(ImageBank.from_tensors(a), 12, 256, (1.0, 1.0), gen)
        sc = random_crops(ImageBank.from_tensors(flat), 12, 256, (1.0, 1.0), gen)
        rep = calibrate_lines(g, cc, sc, decide=False)
        found = g.structure.ink.clone()

        def out(
            lines: bool, g: torch.nn.Module = g, vig: tuple[float, float] = vig, found: torch.Tensor = found
        ) -> list[torch.Tensor]:
            g.structure.ink.copy_(found if lines else torch.zeros(2))
            return [apply_vignette(g(t[None])[0], vig) for t in c]

        def on_a(lines: bool, g: torch.nn.Module = g, found: torch.Tensor = found) -> list[torch.Tensor]:
            g.structure.ink.copy_(found if lines else torch.zeros(2))
            return [g(t[None])[0] for t in a]

        with torch.no_grad():
            plain, lined = score(out(False), truth)["bpsnr"], score(out(True), truth)["bpsnr"]
            c2st = (patch_c2st(on_a(False), flat), patch_c2st(on_a(True), flat))
        row = {"seed": s, "ink_stage": "ink(" in desc, "drawing": "drawing(" in desc, "gain": lined - plain,
               "plain": plain, **{k: rep[k] for k in ("ink_ratio", "thin_ink", "lined_thin_ink", "swd_ratio", "ink_is_dark", "drawing")},
               "rule": lines_rule(rep), "c2st": c2st, "describe": desc}  # fmt: skip
        rows.append(row)
        print(
            f"{s:7d} ink={row['ink_stage']!s:5s} gain {row['gain']:+6.2f}  ink_ratio {rep['ink_ratio']:7.2f} "
            f"thin {rep['thin_ink']:.2f}/{rep['lined_thin_ink']:.2f} swd {rep['swd_ratio']:.3f} dark {rep['ink_is_dark']!s:5s} "
            f"drawing {rep['drawing']!s:5s} c2st {c2st[0]:.3f}/{c2st[1]:.3f} -> rule {row['rule']!s:5s} | {desc[:90]}",
            flush=True,
        )
    right = sum((r["rule"] == (r["gain"] > 0)) for r in rows)
    cost = sum(r["gain"] for r in rows if r["rule"]) / max(1, len(rows))
    best = sum(max(r["gain"], 0) for r in rows) / max(1, len(rows))
    print(
        f"rule right on {right}/{len(rows)} looks; mean gain with the rule {cost:+.2f} dB (always right: {best:+.2f})"
    )
    if args.out:
        args.out.write_text(json.dumps({"seeds": seeds, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
