"""Exceptions raised by the library. The CLI turns them into a message and exit code."""

from __future__ import annotations

import sys


def warn(msg: str) -> None:
    """A notice for the user (a skipped file, a dry-run summary) on stderr, not stdout."""
    print(f"brushwork: {msg}", file=sys.stderr)


class BrushworkError(Exception):
    """Base class for errors a user can act on (bad input, missing style, ...)."""


class ImageReadError(BrushworkError):
    """A file could not be read as an image. The message names the file."""


class NoImagesError(BrushworkError):
    """A folder holds no usable image."""


class StyleNotFoundError(BrushworkError):
    """A style name or path does not resolve to a style folder."""
