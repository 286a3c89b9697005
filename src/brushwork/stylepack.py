"""A style as one file to share: ``NAME.bwstyle``, a zip archive of the style folder
(``style.json``, ``generator.safetensors`` and, if there is one, ``preview.png``).

Importing a file from a stranger is as safe as loading a style: the archive is read only
as far as its directory (member names, declared sizes) allows, every member is bounded
before it is read, the style is checked in a private temporary folder exactly as loading
checks it (schema, weights header, weights), and only then renamed into the library. A
file that fails any check gets one line naming it and what is wrong, and nothing is left
behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from .errors import BrushworkError
from .library import check_new_name, resolve, styles_dir
from .stylefile import PREVIEW, STYLE_JSON, WEIGHTS, load_style, move_into_place

SUFFIX = ".bwstyle"
# what a member may hold, uncompressed (bytes): a resnet style's weights are ~45 MB
LIMITS = {STYLE_JSON: 1 << 20, WEIGHTS: 512 << 20, PREVIEW: 32 << 20}
MAX_RATIO = 200  # uncompressed / compressed: weights and PNGs hardly compress; a bomb does
CHUNK = 1 << 20


def export_style(name_or_path: str | os.PathLike[str], out: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Write the style as one ``.bwstyle`` file (atomically) -> its path."""
    src = resolve(name_or_path)
    dest = Path(out)
    if dest.suffix != SUFFIX:
        dest = dest.with_name(dest.name + SUFFIX)
    if dest.exists() and not overwrite:
        raise BrushworkError(f"{dest} already exists; choose another file name")
    load_style(src)  # a damaged style is not shared
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for member in LIMITS:
                if (src / member).is_file():
                    z.write(src / member, member)
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dest


def _members(file: Path, z: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The archive's members, each checked against what a style file may hold."""
    infos = z.infolist()
    names = [i.filename for i in infos]
    for info in infos:
        name = info.filename
        if name not in LIMITS:
            raise BrushworkError(
                f"{file}: unexpected member {name!r} (a style file holds only {', '.join(LIMITS)})"
            )  # also every path with a folder, '..' or a leading '/'
        if info.flag_bits & 0x1:
            raise BrushworkError(f"{file}: member {name!r} is encrypted")
        if info.file_size > LIMITS[name]:
            raise BrushworkError(f"{file}: member {name!r} would be {info.file_size} bytes (at most {LIMITS[name]})")
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) + 4096:
            raise BrushworkError(f"{file}: member {name!r} expands {info.file_size // max(info.compress_size, 1)}x")
    if len(set(names)) != len(names):
        raise BrushworkError(f"{file}: a member appears twice")
    for needed in (STYLE_JSON, WEIGHTS):
        if needed not in names:
            raise BrushworkError(f"{file}: not a style file (no {needed})")
    return infos


def _extract(file: Path, z: zipfile.ZipFile, info: zipfile.ZipInfo, folder: Path) -> None:
    """One member into ``folder``, never more bytes than it declared (zipfile stops at the
    declared size and checks the CRC)."""
    written = 0
    with z.open(info) as src, open(folder / info.filename, "xb") as dst:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > info.file_size:
                raise BrushworkError(f"{file}: member {info.filename!r} is longer than it says")
            dst.write(chunk)


def import_style(file: str | os.PathLike[str], name: str | None = None, overwrite: bool = False) -> Path:
    """Add the style in a ``.bwstyle`` file to the library as ``name`` (default: the file's
    stem) -> its folder. Nothing is written unless every check passes."""
    file = Path(file)
    name = check_new_name(name or file.name.removesuffix(SUFFIX))
    dest = styles_dir() / name
    if dest.exists() and not overwrite:
        raise BrushworkError(f"style {name!r} already exists; import with --name to give it another name")
    if not file.is_file():
        raise BrushworkError(f"{file}: no such file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.import.", dir=dest.parent))
    try:
        try:
            with zipfile.ZipFile(file) as z:
                for info in _members(file, z):
                    _extract(file, z, info, tmp)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
            raise BrushworkError(f"{file}: not a style file (not a readable zip archive: {exc})") from None
        try:
            load_style(tmp)  # the schema, the weights' header, the weights: as loading checks them
        except BrushworkError as exc:
            raise BrushworkError(f"{file}: {str(exc).replace(str(tmp), 'the style')}") from None
        move_into_place(tmp, dest)  # with overwrite, the old style goes only once the new one is in
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
