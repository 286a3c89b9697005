"""The style library: named styles under ``<BRUSHWORK_HOME>/styles/<name>/``, and the
built-in styles shipped in the package (``assets/library/<name>/``), read-only.

``BRUSHWORK_HOME`` defaults to the user data directory (platformdirs). Training runs
(checkpoints, logs, samples) live beside the styles under ``runs/<name>/``. A built-in
style's name is taken: no user style, trained or imported, may use it.
"""

from __future__ import annotations

import os
import re
import shutil
from importlib import resources
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


def builtin_dir() -> Path:
    """The built-in styles shipped with the package (read-only)."""
    return Path(str(resources.files("brushwork") / "assets" / "library"))


def builtin_names() -> list[str]:
    d = builtin_dir()
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir() if not p.name.startswith(".") and is_style_dir(p))


def is_builtin(name: str) -> bool:
    return name in builtin_names()


def check_name(name: str) -> str:
    if not _NAME.match(name) or name in (".", ".."):
        raise BrushworkError(
            f"invalid style name {name!r}: use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)"
        )
    return name


def check_new_name(name: str) -> str:
    """A name a new user style (trained or imported) may take: valid, and not a built-in's."""
    check_name(name)
    if is_builtin(name):
        raise BrushworkError(f"{name!r} is the name of a built-in style; choose another name")
    return name


def find(name: str) -> Path | None:
    """The folder of the library style ``name`` (the user's, else the built-in), or None."""
    if not _NAME.match(name):
        return None
    for cand in (styles_dir() / name, builtin_dir() / name):
        if is_style_dir(cand):
            return cand
    return None


def resolve(name_or_path: str | os.PathLike[str]) -> Path:
    """A library name or a path to a style folder -> the style folder."""
    p = Path(name_or_path)
    if is_style_dir(p):
        return p
    s = str(name_or_path)
    found = find(s)
    if found is not None:
        return found
    known = ", ".join(list_names()) or "none yet"
    raise StyleNotFoundError(
        f"no style {s!r}: not a style folder and not in the library at {styles_dir()} (styles: {known})"
    )


def user_names() -> list[str]:
    d = styles_dir()
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir() if not p.name.startswith(".") and is_style_dir(p))


def list_names() -> list[str]:
    """Every style by name: the built-in ones and the user's."""
    return sorted(set(builtin_names()) | set(user_names()))


def info(name_or_path: str) -> dict[str, Any]:
    path = resolve(name_or_path)
    meta = read_meta(path)
    return {"name": path.name, "path": str(path), "builtin": path.parent == builtin_dir(), **meta}


def remove(name: str) -> Path:
    check_name(name)
    if is_builtin(name) and not is_style_dir(styles_dir() / name):
        raise BrushworkError(f"{name!r} is a built-in style: it cannot be removed")
    path = styles_dir() / name
    if not is_style_dir(path):
        raise StyleNotFoundError(f"no style {name!r} in the library at {styles_dir()}")
    shutil.rmtree(path)
    return path
