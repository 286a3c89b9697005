"""50 concurrent apply requests against the studio on loopback.

Starts ``brushwork serve`` in a fresh process with its own ``BRUSHWORK_HOME`` holding one
small style (the default lite recipe's generator, seed-0 weights: the network's cost is what
matters here), waits until it answers, then sends N requests at once (a thread each), each
a Kodak photo at its shipped size (512 px). Prints failures, p50/p95/max latency, the
wall time for all of them, the one-request latency on the warm server for reference, and the
server's peak resident memory (VmHWM) before and after the burst.

    python benchmarks/serve_load.py               # 50 concurrent requests
    python benchmarks/serve_load.py --requests 100
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from apply_speed import default_lite
from brushwork.data import builtin_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_server_restart import free_port, start


def multipart(photo: bytes, name: str) -> tuple[bytes, str]:
    boundary = "brushworkload"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + photo
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def apply_once(port: int, style: str, body: bytes, ctype: str) -> tuple[float, str]:
    """-> (seconds, '' or the error)."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/styles/{style}/apply", data=body, method="POST",
        headers={"Content-Type": ctype},
    )  # fmt: skip
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            data = r.read()
            err = "" if r.status == 200 and data[:4] == b"\x89PNG" else f"status {r.status}"
    except Exception as exc:
        err = repr(exc)
    return time.perf_counter() - t0, err


def vm_hwm_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process, MB."""
    vals = {}
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                vals[line[:5]] = int(line.split()[1]) / 1024
    return vals["VmRSS"], vals["VmHWM"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        style = default_lite(home / "styles").rename(home / "styles" / "small")
        photo_path = sorted(builtin_dir("photos").glob("*.jpg"))[0]
        body, ctype = multipart(photo_path.read_bytes(), photo_path.name)
        port = free_port()
        server = start(home, port)
        try:
            apply_once(port, style.name, body, ctype)  # warm-up: the style is loaded
            single = statistics.median(apply_once(port, style.name, body, ctype)[0] for _ in range(5))
            rss0, hwm0 = vm_hwm_mb(server.pid)
            results: list[tuple[float, str]] = []
            lock = threading.Lock()

            def worker() -> None:
                r = apply_once(port, style.name, body, ctype)
                with lock:
                    results.append(r)

            threads = [threading.Thread(target=worker) for _ in range(args.requests)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            hwm1 = vm_hwm_mb(server.pid)[1]
        finally:
            server.kill()
            server.wait(10)
    lat = sorted(s for s, _ in results)
    failed = [e for _, e in results if e]
    q = statistics.quantiles(lat, n=20)
    print(f"photo {photo_path.name} (512 px), {args.requests} concurrent apply requests on loopback")
    print(f"failed: {len(failed)}" + (f" (first: {failed[0]})" if failed else ""))
    print(
        f"latency p50 {statistics.median(lat):.2f} s, p95 {q[18]:.2f} s, max {lat[-1]:.2f} s; all done in {wall:.1f} s"
    )
    print(f"one request alone on the warm server: {single:.3f} s (x{args.requests} = {single * args.requests:.1f} s)")
    print(f"server RSS before the burst {rss0:.0f} MB (peak so far {hwm0:.0f} MB); peak during it {hwm1:.0f} MB")


if __name__ == "__main__":
    main()
