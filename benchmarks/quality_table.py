"""Merge quality.py result files (runs of one benchmark split across processes) into one
markdown table and the acceptance summary.

    python benchmarks/quality_table.py bench-out/quality/results_a.json bench-out/quality/results_b.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BASELINES = ("photo", "histmatch", "reinhard", "idt")  # the four classical baselines; quality.py's gain adds "transport"


def main(paths: list[str]) -> None:
    rows = [r for p in paths for r in json.loads(Path(p).read_text())["rows"]]
    cols = [c for c in (*BASELINES, "balanced", "magenta", "teacher", "learned") if c in rows[0]["scores"]]
    print("| look | " + " | ".join(cols) + " | gain over four (bPSNR) | steps | vignette fitted | what it is |")
    print("|---|" + "---|" * (len(cols) + 4))
    for r in rows:
        sc = r["scores"]
        cells = " | ".join(f"{sc[c]['bpsnr']:.2f} / {sc[c].get('style', float('nan')):.2f}" for c in cols)
        what = r["describe"].split(": ", 1)[-1]  # a named look is described by its name alone
        stages = " -> ".join(part.split("(")[0] + (f"({part.split('kind=')[1].split(',')[0]})" if "kind=" in part else "")
                             for part in what.split(" -> "))  # fmt: skip
        four = sc["learned"]["bpsnr"] - max(sc[c]["bpsnr"] for c in BASELINES)
        fitted = (r.get("decisions") or {}).get("vignette")
        vig = f"{fitted[0]:+.2f}" if fitted else "-"
        print(f"| {r['look']} | {cells} | {four:+.2f} | {r['steps']} | {vig} | {stages} |")
    n = len(rows)
    # the gain over the four classical baselines (quality.py's own gain_bpsnr is over five)
    gains = [r["scores"]["learned"]["bpsnr"] - max(r["scores"][c]["bpsnr"] for c in BASELINES) for r in rows]
    mean = {c: sum(r["scores"][c]["bpsnr"] for r in rows) / n for c in cols}
    style = {c: sum(r["scores"][c].get("style", float("nan")) for r in rows) / n for c in cols}
    print("| **mean** | " + " | ".join(f"**{mean[c]:.2f} / {style[c]:.2f}**" for c in cols)
          + f" | **{sum(gains) / n:+.2f}** | | |")  # fmt: skip
    print()
    print(f"looks: {n}; mean gain in bPSNR over the best of the four baselines {sum(gains) / n:+.2f} dB; above it "
          f"{sum(g > 0 for g in gains)}/{n}; worst {min(gains):+.2f} dB; below -1 dB: {sum(g < -1 for g in gains)}")  # fmt: skip
    five = [r["gain_bpsnr"] for r in rows]
    print(f"over the best of five (our classical transport too): {sum(five) / n:+.2f} dB; above it "
          f"{sum(g > 0 for g in five)}/{n}; worst {min(five):+.2f} dB")  # fmt: skip
    raws = [r["gain_psnr"] for r in rows if r.get("gain_psnr") is not None]
    if raws:
        print(f"mean gain in raw PSNR over five: {sum(raws) / len(raws):+.2f} dB ({len(raws)} looks with raw PSNR)")
    if "idt" in style and style["idt"] == style["idt"]:
        print(f"style distance, learned / IDT: {style['learned'] / style['idt']:.2f}"
              + (f"; learned / Magenta: {style['learned'] / style['magenta']:.2f}" if "magenta" in style else ""))  # fmt: skip
    truth = [r["truth_style"] for r in rows if r.get("truth_style") is not None]
    if len(truth) == n and "idt" in style:
        print(f"style distance of the true outputs / IDT: {sum(truth) / n / style['idt']:.2f}")
    if "balanced" in mean:  # what the GAN adds to the colour stage's start
        deltas = [r["scores"]["learned"]["bpsnr"] - r["scores"]["balanced"]["bpsnr"] for r in rows]
        print(f"learned minus its balanced start (bPSNR): {sum(deltas) / n:+.2f} dB mean, above it on "
              f"{sum(d > 0 for d in deltas)}/{n}, from {min(deltas):+.2f} to {max(deltas):+.2f}")  # fmt: skip
    has = [r for r in rows if "vignette(" in r["describe"]]
    found = [r for r in has if (r.get("decisions") or {}).get("vignette")]
    false = [r for r in rows if r not in has and (r.get("decisions") or {}).get("vignette")]
    if "balanced" in mean and has:
        d_has = [r["scores"]["learned"]["bpsnr"] - r["scores"]["balanced"]["bpsnr"] for r in has]
        print(f"vignettes: {len(has)} looks have one, fitted on {len(found)}; learned minus balanced on those "
              f"{sum(d_has) / len(d_has):+.2f} dB; fitted on {len(false)} looks without one")  # fmt: skip
    if "teacher" in mean:
        print(f"learned minus teacher (bPSNR): {mean['learned'] - mean['teacher']:+.2f} dB mean; "
              f"teacher minus IDT: {mean['teacher'] - mean['idt']:+.2f} dB")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
