"""A small registry so styles can rebuild their networks from a name and JSON kwargs."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

from .contract import StyleGenerator

# generator: image -> image (styles); discriminator: image -> patch maps;
# noise_generator: z -> image; image_discriminator: image -> one score per image
_REGISTRY: dict[str, dict[str, Callable[..., nn.Module]]] = {
    "generator": {}, "discriminator": {}, "noise_generator": {}, "image_discriminator": {},
}  # fmt: skip
T = TypeVar("T", bound=Callable[..., nn.Module])


def register(kind: str, name: str) -> Callable[[T], T]:
    """Decorator: ``@register("generator", "lite")`` on a class or factory."""

    def deco(fn: T) -> T:
        if name in _REGISTRY[kind]:
            raise ValueError(f"{kind} {name!r} registered twice")
        _REGISTRY[kind][name] = fn
        return fn

    return deco


def _lookup(kind: str, name: str) -> Callable[..., nn.Module]:
    try:
        return _REGISTRY[kind][name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY[kind])) or "none"
        raise ValueError(f"unknown {kind} {name!r} (known: {known})") from None


def create(kind: str, name: str, **kwargs: Any) -> nn.Module:
    return _lookup(kind, name)(**kwargs)


def generator_class(name: str) -> type[StyleGenerator]:
    """The class of style generator family ``name``."""
    cls = _lookup("generator", name)
    if not (isinstance(cls, type) and issubclass(cls, StyleGenerator)):
        raise TypeError(f"generator family {name!r} does not implement nets.StyleGenerator")
    return cls


def create_generator(name: str, **kwargs: Any) -> StyleGenerator:
    """A style generator of family ``name``: every family implements the contract."""
    net = create("generator", name, **kwargs)
    if not isinstance(net, StyleGenerator):
        raise TypeError(f"generator family {name!r} does not implement nets.StyleGenerator")
    return net


def names(kind: str) -> list[str]:
    return sorted(_REGISTRY[kind])


def upgrade_kwargs(kind: str, name: str, kwargs: dict[str, Any], state_keys: set[str]) -> dict[str, Any]:
    """Constructor arguments for weights saved by an older version of a network: the
    family's own ``upgrade_kwargs`` hook, if it has one, maps them; otherwise unchanged."""
    hook = getattr(_lookup(kind, name), "upgrade_kwargs", None)
    return hook(kwargs, state_keys) if hook is not None else kwargs


def full_kwargs(kind: str, name: str, **kwargs: Any) -> dict[str, Any]:
    """``kwargs`` plus every constructor default they leave out: what a style file records,
    so a later change of a default does not change (or break) networks saved before it."""
    sig = inspect.signature(_lookup(kind, name))
    out = {k: p.default for k, p in sig.parameters.items() if p.default is not inspect.Parameter.empty}
    out.update(kwargs)
    return out
