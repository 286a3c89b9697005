"""Every training run writes report.html: what was chosen, the losses, samples, before/after
and its two quality numbers; the studio serves it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import TINY, make_images

import brushwork
from brushwork import library
from brushwork.report import REPORT


def test_a_training_run_writes_a_report_a_person_can_read(tmp_path: Path) -> None:
    photos = make_images(tmp_path / "p", 3, seed=1, size=(96, 80))
    styles = make_images(tmp_path / "s", 3, seed=2, size=(96, 80), tint=(40, 0, -30))
    brushwork.train_style(
        styles, photos, name="r", steps=4, size=32, quiet=True, device="cpu", recipe={**TINY, "report": True}
    )
    page = (library.runs_dir() / "r" / REPORT).read_text(encoding="utf-8")
    for part in ("What was chosen", "generator", "vignette", "Before and after", "Losses", "Samples over the run"):
        assert part in page, part
    assert len(re.findall(r'<img src="data:image/jpeg;base64,', page)) >= 3 + 1 + 1  # pairs, plot, samples
    distance = re.search(r"Style distance .*?<b>([0-9.]+)</b> \(the photos themselves: ([0-9.]+)", page)
    ssim = re.search(r"SSIM of each output to its photo\): <b>([0-9.]+)</b>", page)
    assert distance and ssim and 0 < float(ssim.group(1)) <= 1

    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from brushwork.server.app import create_app

    with TestClient(create_app(device="cpu", worker=False)) as client:
        card = client.get("/api/styles/r").json()
        assert card["report"] == "/api/styles/r/report"
        r = client.get(card["report"])
        assert r.status_code == 200 and "What was chosen" in r.text
        assert client.get("/api/styles/nope/report").status_code == 404
