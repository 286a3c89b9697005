"""Networks, one family per file, reachable by name through the registry."""

from . import lite, patchgan, resnet  # noqa: F401  (registers the families)
from .registry import create, names, register

__all__ = ["create", "names", "register"]
