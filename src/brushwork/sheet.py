"""A contact sheet: one photo in every style of the library (or those named), labelled, as
one image; the studio's gallery shows the same."""

from __future__ import annotations

import math
import os
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .errors import BrushworkError
from .io import downscale, load_image, save_image_atomic
from .library import list_names
from .stylizer import Stylizer

LABEL = 0.06  # label strip height, as a fraction of a cell's long side
GAP = 8  # px between cells


def stylized_cells(photo: Image.Image, names: list[str]) -> tuple[list[tuple[str, Image.Image]], list[str]]:
    """[(label, image)] of the photo and the photo in each style; -> (cells, failures): a
    style that does not load or apply is reported, and the sheet is made without it."""
    cells = [("photo", photo)]
    failed = []
    for name in names:
        try:
            cells.append((name, Stylizer.load(name)(photo)))
        except (BrushworkError, RuntimeError, ValueError, OSError) as exc:
            failed.append(f"{name}: {exc}")
    return cells, failed


def compose(cells: list[tuple[str, Image.Image]]) -> Image.Image:
    """The cells on a grid (as square as it goes), each with its label below."""
    w, h = cells[0][1].size
    label = max(14, round(LABEL * max(w, h)))
    cols = math.ceil(math.sqrt(len(cells)))
    rows = math.ceil(len(cells) / cols)
    sheet = Image.new("RGB", (cols * (w + GAP) + GAP, rows * (h + label + GAP) + GAP), (250, 250, 248))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=round(label * 0.7))
    for i, (name, img) in enumerate(cells):
        x, y = GAP + (i % cols) * (w + GAP), GAP + (i // cols) * (h + label + GAP)
        sheet.paste(img.resize((w, h)) if img.size != (w, h) else img, (x, y))
        draw.text((x + w / 2, y + h + label / 2), name, fill=(30, 30, 30), font=font, anchor="mm")
    return sheet


def contact_sheet(
    photo: str | os.PathLike[str], out: str | os.PathLike[str], names: list[str] | None = None, size: int = 1024
) -> Path:  # fmt: skip
    """Write the sheet of ``photo`` (its long side at most ``size``) in the styles ``names``
    (default: every style) to ``out``, atomically -> ``out``."""
    names = list_names() if names is None else names
    if not names:
        raise BrushworkError("no styles to show: train or import one first")
    dest = Path(out)
    if dest.resolve() == Path(photo).resolve():
        raise BrushworkError(f"{dest}: the sheet would overwrite the photo")
    cells, failed = stylized_cells(downscale(load_image(photo), size), names)
    if len(cells) == 1:
        raise BrushworkError("no style could be applied: " + "; ".join(failed))
    save_image_atomic(compose(cells), dest, quality=92)
    for f in failed:
        print(f"left out {f}")
    return dest
