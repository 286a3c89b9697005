"""Can held-out style images choose the structure teacher's mix? (issue 15, drawings)

The safe mix (``colortransfer.fit_safe_structure_teacher``) leaves 1-4 dB on drawings that the
plain mix (``fit_structure_teacher``) gets, and the plain mix loses several dB on halftone
looks. A rule that picks one per style set must come from the set itself: here, each
teacher is fitted on the content photos A and half of the styled photos B, applied to A, and
the Magenta style distance of those outputs to the *other* half of B is the validation
score (lower: chosen). No training. Printed per look: each teacher's blurred PSNR and style
distance on the held-out photos C (the truth the rule should follow), its validation score,
and its mix alpha; for random looks with fresh seeds unless ``--seeds`` (printed).
``--drawings N``: draw N drawings and ``--others N`` other looks (rejection sampling).

    python benchmarks/mix_validation_probe.py --drawings 3 --others 3
    python benchmarks/mix_validation_probe.py --seeds 222604,451812
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer
from brushwork.colortransfer import ColourTable, fit_idt, fit_safe_structure_teacher, fit_structure_teacher
from looks import parse_seeds, random_look, styled_sets
from quality import SHARED, score, split_photos

FITS: dict[str, Callable[[list[torch.Tensor], list[torch.Tensor]], Any]] = {
    "idt": fit_idt,  # maps [3, H, W] images
    "balanced": ColourTable.of_transport,  # these map batches [B, 3, H, W]
    "safe": fit_safe_structure_teacher,
    "plain": fit_structure_teacher,
}


def _apply(name: str, f: Any, x: torch.Tensor) -> torch.Tensor:
    return f(x) if name == "idt" else f(x[None])[0]


def _is_drawing(seed: int) -> bool:
    return "drawing(" in random_look(seed)[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="")
    ap.add_argument("--drawings", type=int, default=0)
    ap.add_argument("--others", type=int, default=0)
    args = ap.parse_args()
    seeds = parse_seeds(args.seeds) if args.seeds else []
    want = {True: args.drawings, False: args.others}
    while any(want.values()):
        s = secrets.randbelow(10**6)
        kind = _is_drawing(s)
        if want[kind]:
            seeds.append(s)
            want[kind] -= 1
    print(f"random look seeds: {','.join(map(str, seeds))}", flush=True)
    mag = peer.Magenta()
    a, b, c, _ = split_photos(SHARED)
    for s in seeds:
        looked = styled_sets(s, b, c)
        if looked is None:
            continue
        desc, (style, truth) = looked
        target, held_out = mag.set_vector(style), mag.set_vector(style[1::2])
        cells = []
        for name, fit in FITS.items():
            full = fit(a, style)
            outs = [_apply(name, full, t) for t in c]
            sc = score(outs, truth)
            half = fit(a, style[0::2])
            val = mag.distance([_apply(name, half, t) for t in a], held_out)
            alpha = getattr(full, "alpha", None)
            cells.append(
                f"{name}: bPSNR {sc['bpsnr']:.2f} style {mag.distance(outs, target):.2f} validation {val:.2f}"
                + (f" alpha {alpha:.2f}" if alpha is not None else "")
            )
        print(f"r{s}: {desc}", flush=True)
        print(f"    {' | '.join(cells)} | true outputs' style {mag.distance(truth, target):.2f}", flush=True)


if __name__ == "__main__":
    main()
