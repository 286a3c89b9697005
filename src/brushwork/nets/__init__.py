"""Networks, one family per file, reachable by name through the registry."""

from torch import nn

from . import dcgan, fastgan, lite, painter, patchgan, resnet  # noqa: F401  (registers the families)
from .contract import StyleGenerator
from .registry import create, create_generator, full_kwargs, generator_class, names, register, upgrade_kwargs


def channels_last(module: nn.Module) -> nn.Module:
    """Put convolution weights in channels-last layout (oneDNN's fast path on CPUs)."""
    import torch

    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            m.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # missing from torch's stubs
    return module


__all__ = [
    "StyleGenerator",
    "channels_last",
    "create",
    "create_generator",
    "full_kwargs",
    "generator_class",
    "names",
    "register",
    "upgrade_kwargs",
]
