"""``report.html``: what a training run did, for a person to read, beside its logs.

One self-contained page (images inlined): what was chosen and why (the generator, the
vignette, screen and grain measured from the sets, the stages left out when saving), the
loss curves (matplotlib), the sample grids over time, before/after on a few of the
photos, and two numbers: the style distance (the outputs' mean style vector, Magenta's
style space, to the style images'; the photos' own beside it) and content kept (SSIM of
each output to its photo).
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from .data import evenly
from .io import downscale, pil_to_tensor, tensor_to_pil
from .stylefile import STYLE_JSON

REPORT = "report.html"
SHOWN = 4  # photos shown before and after
MAX_SAMPLES = 6  # sample grids shown, evenly over the run
# below this share of the colour start kept, the end of training says how to keep all of it
KEPT_NOTE_BELOW = 0.5


def cli_option(key: str, value: str) -> str:
    """A recipe setting as the command line takes it."""
    return f"--set {key}={value}"


def training_notes(training: dict[str, Any], option: Callable[[str, str], str] = cli_option) -> list[str]:
    """What a finished training run tells its user, from the style's training summary: how it
    learned, what the line search decided and, where the colour start kept little of the
    colour move between the sets, how to keep all of it. ``option(key, value)`` names a recipe
    setting as the user gives it (the command line's ``--set``, a checkbox of the studio)."""
    notes = []
    if training.get("pseudo_pairs"):
        notes.append(
            "learned from pseudo-pairs: your photos moved onto the style images by a set-level transfer of colour and local structure"
        )
    kept = training.get("colour_start_kept")
    if kept is not None and kept < KEPT_NOTE_BELOW:
        notes.append(
            f"colour: the start kept {kept:.0%} of the colour change measured between your photos and the style images "
            "(the two sets' subjects differ about as much as the look does); if the result is milder than your look, "
            f"train again with {option('colour_shrink', 'false')}"
        )
    lines = training.get("lines")
    if lines:  # what the line calibration after unpaired training decided
        if lines.get("drawing"):
            notes.append(
                f"ink lines: drawn, with paper and stroke tones (a drawing; edge threshold {lines['edge_at']})"
            )
        elif lines.get("asked"):
            verdict = "would have drawn them too" if lines.get("rule") else "would have left them out"
            notes.append(
                f"ink lines: drawn as asked (edge threshold {lines['edge_at']}; the automatic choice {verdict})"
            )
        elif lines["drawn"]:
            notes.append(f"ink lines: drawn (edge threshold {lines['edge_at']})")
        else:
            notes.append(
                "ink lines: none (the style images show no clear dark outlines; "
                f"{option('lines', 'always')} draws the ones found)"
            )
    return notes


def _img(image: Image.Image, width: int | None = None) -> str:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=88)
    src = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
    return f'<img src="{src}"' + (f' width="{width}"' if width else "") + ">"


def loss_plot(stats: list[dict[str, float]]) -> Image.Image | None:
    """The logged losses over the steps, one panel per loss."""
    if not stats:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    skip = {"step", "seconds", "time_per_step", "lr_factor"}
    keys = [k for k in stats[-1] if k not in skip and isinstance(stats[-1][k], int | float)]
    if not keys:
        return None
    cols = min(3, len(keys))
    rows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
    steps = [s["step"] for s in stats]
    for ax, k in zip(axes.flat, keys, strict=False):
        ax.plot(steps, [s.get(k, float("nan")) for s in stats], lw=1.2)
        ax.set_title(k, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(keys) :]:
        ax.axis("off")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return Image.open(io.BytesIO(buf.getvalue()))


def _stats(run_dir: Path) -> list[dict[str, float]]:
    path = run_dir / "stats.jsonl"
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by a kill
            continue
    return out


def quality(
    photos: list[torch.Tensor], outputs: list[torch.Tensor], style_images: list[torch.Tensor]
) -> dict[str, float]:
    """Style distance (of the ``outputs`` made of ``photos``, and of the photos themselves) and
    content kept (mean SSIM of each output to its photo)."""
    from .metrics import ssim
    from .nets.magenta import mean_style_vector

    target = mean_style_vector(style_images)
    return {
        "style_distance": float((mean_style_vector(outputs) - target).norm()),
        "photos_style_distance": float((mean_style_vector(photos) - target).norm()),
        "content_ssim": sum(ssim(o[None], p[None]) for o, p in zip(outputs, photos, strict=True)) / len(photos),
    }


def _choices(training: dict[str, Any], generator: dict[str, Any]) -> list[tuple[str, str]]:
    choice = training.get("generator_choice") or {}
    rows = [("generator", f"{generator.get('name')}" + (f": {choice['why']}" if choice.get("why") else ""))]
    kw = generator.get("kwargs") or {}
    v = training.get("vignette") or [0.0, 0.0]
    rows.append(("vignette", "none" if v == [0.0, 0.0] else f"gain 1 {v[0]:+.3f} r² {v[1]:+.3f} r⁴ over the frame"))
    kept = training.get("colour_start_kept")
    if kept is not None:  # the share of the set-level colour transport the start kept
        rows.append(("colour start", f"{kept:.0%} of the colour change between the sets kept"))
    screen = kw.get("screen")
    rows.append(("screen", "none" if not screen else f"{len(screen) // 2} waves at {screen}"))
    rows.append(("grain", "yes" if kw.get("grain") else "none"))
    pruned = training.get("pruned")
    if pruned:
        rows.append(("left out when saved", ", ".join(pruned["dropped"]) or "nothing"))
    lines = training.get("lines")
    if lines:
        rows.append(("ink lines", "drawn" if lines.get("drawn") else "not drawn"))
    rows.append(
        ("training", f"{training.get('steps')} steps, {training.get('minutes')} min, seed {training.get('seed')}")
    )
    return rows


def write_report(
    style_dir: Path, run_dir: Path, photos: list[torch.Tensor], style_images: list[torch.Tensor]
) -> Path:  # fmt: skip
    """Write ``run_dir/report.html`` (atomically) for the style in ``style_dir`` -> its path."""
    from .stylizer import Stylizer

    meta = json.loads((style_dir / STYLE_JSON).read_text(encoding="utf-8"))
    training, generator = meta.get("training") or {}, meta.get("generator") or {}
    st = Stylizer.load(style_dir, device="cpu", precision="fp32")
    outputs = [st.stylize_tensor(p[None])[0] for p in photos]
    q = quality(photos, outputs, style_images)
    parts = [
        f"<h1>{html.escape(style_dir.name)}</h1>",
        "<h2>What was chosen, and why</h2><table>",
        *(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in _choices(training, generator)),
        "</table><h2>How close to the style, how much of the photo kept</h2>",
        f"<p>Style distance (Magenta's style space, the outputs' mean vector to the style images'): "
        f"<b>{q['style_distance']:.3f}</b> (the photos themselves: {q['photos_style_distance']:.3f}; lower is "
        f"closer). Content kept (SSIM of each output to its photo): <b>{q['content_ssim']:.3f}</b>. "
        f"On {len(photos)} of the photos.</p>",
        "<h2>Before and after</h2><div class='pairs'>",
    ]
    for p, y in list(zip(photos, outputs, strict=True))[:SHOWN]:
        before, after = tensor_to_pil(p), tensor_to_pil(y)
        parts.append(f"<figure>{_img(before, 320)}{_img(after, 320)}</figure>")
    parts.append("</div>")
    plot = loss_plot(_stats(run_dir))
    if plot is not None:
        parts += ["<h2>Losses</h2>", _img(plot)]
    samples = sorted((run_dir / "samples").glob("step_*.png"))
    if samples:
        pick = [
            samples[round(i * (len(samples) - 1) / max(1, MAX_SAMPLES - 1))]
            for i in range(min(MAX_SAMPLES, len(samples)))
        ]
        parts.append("<h2>Samples over the run (photos above, the look so far below)</h2>")
        for s in dict.fromkeys(pick):
            parts.append(f"<figure><figcaption>{html.escape(s.stem)}</figcaption>{_img(Image.open(s), 640)}</figure>")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>brushwork: "
        + html.escape(style_dir.name)
        + "</title><style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}"
        "th{text-align:left;padding-right:1em;vertical-align:top}figure{display:inline-block;margin:.5em}"
        "</style></head><body>" + "\n".join(parts) + "</body></html>\n"
    )
    dest = run_dir / REPORT
    fd, tmp = tempfile.mkstemp(prefix=f".{REPORT}.", dir=run_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, dest)
    return dest


def report_photos(images: list[torch.Tensor], side: int = 512) -> list[torch.Tensor]:
    """Up to 8 photos, evenly over the set, their long side at most ``side``."""
    return [
        pil_to_tensor(downscale(tensor_to_pil(t), side)) if max(t.shape[-2:]) > side else t for t in evenly(images, 8)
    ]
