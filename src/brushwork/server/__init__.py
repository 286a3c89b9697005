"""The studio: a web page and an HTTP API over the library (``brushwork serve``)."""

from __future__ import annotations

import ipaddress
import os

from ..errors import BrushworkError

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(host: str = "127.0.0.1", port: int = 8765, token: str | None = None, device: str = "auto") -> None:
    """Run the studio until interrupted. Any address other than loopback needs a token."""
    token = token or os.environ.get("BRUSHWORK_TOKEN") or None
    if not is_loopback(host) and not token:
        raise BrushworkError(
            f"serving on {host} would open the studio to the network: pass --token TOKEN "
            "(or set BRUSHWORK_TOKEN); clients then send 'Authorization: Bearer TOKEN'"
        )
    import uvicorn

    from .app import create_app

    # open event streams would hold a graceful shutdown forever: they get 5 s, then close
    uvicorn.run(
        create_app(token=token, device=device), host=host, port=port, log_level="info", timeout_graceful_shutdown=5
    )
