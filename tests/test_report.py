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
    kept = library.info("r")["training"]["colour_start_kept"]
    assert kept is not None and f"{kept:.0%} of the colour change between the sets kept" in page
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


def test_the_instant_preview_shows_where_training_starts(tmp_path: Path) -> None:
    """Before any step: the photos beside their classical start, which moves them toward the
    style set's colours; ``preview=True`` writes it into the run folder first."""
    import numpy as np
    from PIL import Image

    from brushwork.api import PREVIEW_START
    from brushwork.data import ImageBank
    from brushwork.training.preview import preview_image

    photos = make_images(tmp_path / "p", 3, seed=1, size=(96, 80))
    styles = make_images(tmp_path / "s", 3, seed=2, size=(96, 80), tint=(60, 0, -50))
    c, _ = ImageBank.from_folder(photos, 16, 512, "content")
    s, _ = ImageBank.from_folder(styles, 16, 512, "style")
    sheet = np.asarray(preview_image(c, s)).astype(float)
    assert sheet.shape == (160, 192, 3)  # two photos, before | after
    before, after = sheet[:, :96], sheet[:, 96:]
    red_minus_blue = lambda a: (a[..., 0] - a[..., 2]).mean()  # noqa: E731
    assert red_minus_blue(after) > red_minus_blue(before) + 40  # toward the warm tint

    brushwork.train_style(
        styles, photos, name="pv", steps=1, size=32, quiet=True, device="cpu", recipe=TINY, preview=True
    )
    assert Image.open(library.runs_dir() / "pv" / PREVIEW_START).size == (2 * 64, 106)  # at TINY max_side 64

    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from brushwork.server.app import create_app

    files = [("files", (p.name, p.read_bytes(), "image/png")) for p in sorted(styles.iterdir())]
    with TestClient(create_app(device="cpu", worker=False)) as client:
        r = client.post("/api/preview", files=files)
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert Image.open(__import__("io").BytesIO(r.content)).width > 0
