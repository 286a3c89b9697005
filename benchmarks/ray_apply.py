"""Images per second: local apply against Ray with 2 workers, on this machine.

Stylizes N copies of the built-in Kodak photos (512 px) with the default lite generator
(seed-0 weights), once through the local path (one process, torch on every core) and once
through ``apply_on_ray`` on a local Ray cluster with 2 workers of 1 thread each. The Ray
row is given with and without the cluster's start-up.

    python benchmarks/ray_apply.py            # 48 images
    python benchmarks/ray_apply.py --n 96
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from PIL import Image

from apply_speed import default_lite
from brushwork import Stylizer
from brushwork.apply import apply_to_paths
from brushwork.data import builtin_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    import ray

    from brushwork.ray_apply import apply_on_ray

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["BRUSHWORK_HOME"] = str(root / "home")
        style = default_lite(root)
        photos = sorted(builtin_dir("photos").glob("*.jpg"))
        src = root / "in"
        src.mkdir()
        for i in range(args.n):
            shutil.copyfile(photos[i % len(photos)], src / f"p{i:04d}.jpg")
        st = Stylizer.load(style)
        with Image.open(photos[0]) as im:
            st(im.convert("RGB"))  # warm-up (oneDNN primitives)
        t0 = time.perf_counter()
        local = apply_to_paths(st, [src], root / "local", quiet=True)
        t_local = time.perf_counter() - t0
        t0 = time.perf_counter()
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        t_start = time.perf_counter() - t0
        t1 = time.perf_counter()
        remote = apply_on_ray(style, [src], root / "ray", workers=args.workers, quiet=True)
        t_ray = time.perf_counter() - t1
        ray.shutdown()
        assert len(local.written) == len(remote.written) == args.n and not local.failed and not remote.failed
    print(f"{args.n} photos (512 px), default lite style, {os.cpu_count()} CPUs")
    print(f"local apply:               {t_local:6.1f} s  {args.n / t_local:5.2f} images/s")
    print(
        f"Ray, {args.workers} workers (run only):  {t_ray:6.1f} s  {args.n / t_ray:5.2f} images/s"
        f"  ({t_local / t_ray:.2f}x local)"
    )
    print(
        f"Ray incl. cluster start:   {t_start + t_ray:6.1f} s  {args.n / (t_start + t_ray):5.2f} images/s"
        f"  (start {t_start:.1f} s)"
    )


if __name__ == "__main__":
    main()
