"""Batch apply on a Ray cluster: ``brushwork apply STYLE INPUTS --out OUT --ray [ADDRESS]``.

Ray Data's ``map_batches`` runs the same per-file function as the local path
(``apply.apply_one``) on a pool of workers, each holding one Stylizer (a GPU each where the
cluster has GPUs). Outputs keep their relative paths; outputs that exist are skipped, so a
rerun after a failure (a worker or a machine lost) does only what is left. The failure
report is the local path's. Ray is imported only here, and only with ``--ray``
(``pip install 'brushwork[ray]'``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from .apply import (
    BatchResult,
    apply_one,
    check_destinations,
    check_format,
    failure,
    plan_outputs,
    remove_stale_temporaries,
)
from .errors import BrushworkError


class _Applier:
    """One Ray worker: loads the style once, stylizes the files it is given."""

    def __init__(self, style: str, controls: dict[str, Any], quality: int, max_side: int | None, threads: int) -> None:
        import torch

        from .stylizer import Stylizer

        torch.set_num_threads(max(1, threads))
        self.stylizer = Stylizer.load(style, **controls)
        self.quality = quality
        self.max_side = max_side

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        errors = []
        for src, dest in zip(batch["src"], batch["dest"], strict=True):
            try:
                apply_one(self.stylizer, Path(src), Path(dest), self.quality, self.max_side, quiet=True)
                errors.append("")
            except Exception as exc:  # reported per file, like the local path
                errors.append(failure(Path(src), exc))
        return {"src": batch["src"], "dest": batch["dest"], "error": np.array(errors, dtype=object)}


def apply_on_ray(
    style: str | os.PathLike[str], inputs: list[str | os.PathLike[str]], out_dir: str | os.PathLike[str], *,
    address: str | None = None, controls: dict[str, Any] | None = None, fmt: str = "png", quality: int = 95,
    overwrite: bool = False, max_side: int | None = None, workers: int | None = None, quiet: bool = False,
) -> BatchResult:  # fmt: skip
    """Stylize ``inputs`` into ``out_dir`` on Ray (``address``: a cluster to join, e.g.
    ``ray://host:10001`` or ``auto``; None starts a local one on this machine)."""
    try:
        import ray
    except ImportError:
        raise BrushworkError("--ray needs Ray: pip install 'brushwork[ray]'") from None
    from .library import resolve

    style_path = str(resolve(style).resolve())  # workers see the same file system (or a shared one)
    check_format(fmt)
    jobs, errors = plan_outputs(inputs, Path(out_dir), fmt)
    remove_stale_temporaries([d for _, d in jobs])  # a killed earlier run's partial writes
    done = [(s, d) for s, d in jobs if d.exists() and not overwrite]
    todo, refused = check_destinations([(s, d) for s, d in jobs if (s, d) not in done], overwrite)
    result = BatchResult(failed=errors + refused, skipped=[d for _, d in done])
    if not todo:
        return result
    if not ray.is_initialized():
        ray.init(
            address=address, include_dashboard=False, log_to_driver=not quiet,
            logging_level=logging.ERROR if quiet else logging.WARNING,
        )  # fmt: skip
    cpus = int(ray.cluster_resources().get("CPU", 1))
    gpus = int(ray.cluster_resources().get("GPU", 0))
    n = workers or (gpus if gpus else max(1, min(cpus, len(todo))))
    threads = 1 if gpus else max(1, cpus // n)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = not quiet
    ds = ray.data.from_items(
        [{"src": str(s), "dest": str(d)} for s, d in todo], override_num_blocks=min(len(todo), 4 * n)
    )
    out = ds.map_batches(
        _Applier, batch_size=1, concurrency=n, num_gpus=1 if gpus else 0, num_cpus=0 if gpus else threads,
        fn_constructor_kwargs={"style": style_path, "controls": controls or {}, "quality": quality,
                               "max_side": max_side, "threads": threads},
    )  # fmt: skip
    for row in out.take_all():
        if row["error"]:
            result.failed.append(str(row["error"]))
        else:
            result.written.append(Path(row["dest"]))
    remove_stale_temporaries([d for _, d in todo])  # a worker lost mid-write during this run
    return result
