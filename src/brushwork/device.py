"""Device and precision choice. float32 on a CPU always works; faster paths are used
only where the hardware supports them natively."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import torch

from .errors import BrushworkError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise BrushworkError("--device cuda was asked for but no CUDA GPU is available")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise BrushworkError(f"unknown device {name!r} (use auto, cpu or cuda)")
    return torch.device(name)


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True on CPUs with AVX512-BF16 or AMX (where oneDNN runs bf16 convs natively)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = f.read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    if precision not in PRECISIONS:
        raise BrushworkError(f"unknown precision {precision!r} (choose from {', '.join(PRECISIONS)})")
    if precision == "fp32":
        return torch.float32
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        if device.type == "cpu":
            raise BrushworkError("fp16 is only supported on GPUs; use bf16 or fp32 on a CPU")
        return torch.float16
    if device.type == "cuda":
        # measured on an H200 (docs/benchmarks.md, GPU check): bf16 autocast was no faster than
        # fp32 for these launch-bound networks (lite 41.9 vs 39.5 ms, resnet 233 vs 191 ms at
        # 1024x1536) and moved resnet outputs by up to 24/255, so GPUs default to fp32
        return torch.float32
    return torch.bfloat16 if cpu_has_native_bf16() else torch.float32


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    if dtype == torch.float32:
        yield
    else:
        with torch.autocast(device.type, dtype=dtype):
            yield
