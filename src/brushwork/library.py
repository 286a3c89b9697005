"""The style library: named styles under ``<BRUSHWORK_HOME>/styles/<name>/``.

``BRUSHWORK_HOME`` defaults to the user data directory (platformdirs). Training runs
(checkpoints, logs, samples) live beside the styles under ``runs/<name>/``.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import platformdirs

from .errors import BrushworkError, StyleNotFoundError
from .stylefile import is_style_dir, read_meta

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def home() -> Path:
    env = os.environ.get("BRUSHWORK_HOME")
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir("brushwork"))


def styles_dir() -> Path:
    return home() / "styles"


def runs_dir() -> Path:
    return home() / "runs"


def check_name(name: str) -> str:
    if not _NAME.match(name) or name in (".", ".."):
        raise BrushworkError(
            f"invalid style name {name!r}: use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)"
        )
    return name


def resolve(name_or_path: str | os.PathLike[str]) -> Path:
    """A library name or a path to a style folder -> the style folder."""
    p = Path(name_or_path)
    if is_style_dir(p):
        return p
    s = str(name_or_path)
    if _NAME.match(s):
        cand = styles_dir() / s
        if is_style_dir(cand):
            return cand
    known = ", ".join(list_names()) or "none yet"
    raise StyleNotFoundError(
        f"no style {s!r}: not a style folder and not in the library at {styles_dir()} (styles: {known})"
    )


def list_names() -> list[str]:
    d = styles_dir()
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir() if not p.name.startswith(".") and is_style_dir(p))


def info(name_or_path: str) -> dict[str, Any]:
    path = resolve(name_or_path)
    meta = read_meta(path)
    return {"name": path.name, "path": str(path), **meta}


def remove(name: str) -> Path:
    check_name(name)
    path = styles_dir() / name
    if not is_style_dir(path):
        raise StyleNotFoundError(f"no style {name!r} in the library at {styles_dir()}")
    shutil.rmtree(path)
    return path
