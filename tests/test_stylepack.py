"""Sharing a style as one file, built-in styles, the contact sheet."""

from __future__ import annotations

import json
import os
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork import library, nets
from brushwork.errors import BrushworkError
from brushwork.stylefile import PREVIEW, STYLE_JSON, WEIGHTS, save_style
from brushwork.stylepack import export_style, import_style
from brushwork.stylizer import Stylizer


def a_style(dest: Path, seed: int = 0) -> Path:
    """A small lite style with a preview, weights moved off the identity."""
    torch.manual_seed(seed)
    g = nets.create("generator", "lite", ngf=4, n_blocks=1, lut_size=5)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    preview = Image.new("RGB", (16, 16), (200, 10, 10))
    return save_style(dest, "lite", {"ngf": 4, "n_blocks": 1, "lut_size": 5}, g.state_dict(), {"steps": 3}, preview)


def photo(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    p = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(p)
    return p


def library_state() -> list[str]:
    d = library.styles_dir()
    return sorted(os.listdir(d)) if d.is_dir() else []


def test_export_then_import_elsewhere_gives_byte_identical_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # fmt: skip
    a_style(library.styles_dir() / "mine")
    out = export_style("mine", tmp_path / "mine")
    assert out.name == "mine.bwstyle" and zipfile.is_zipfile(out)
    assert sorted(zipfile.ZipFile(out).namelist()) == sorted([STYLE_JSON, WEIGHTS, PREVIEW])
    before = Stylizer.load("mine", device="cpu", precision="fp32")(Image.open(photo(tmp_path)))
    monkeypatch.setenv("BRUSHWORK_HOME", str(tmp_path / "other_home"))
    assert library.list_names() == [] or "mine" not in library.user_names()
    dest = import_style(out)
    assert dest == library.styles_dir() / "mine"
    after = Stylizer.load("mine", device="cpu", precision="fp32")(Image.open(photo(tmp_path)))
    assert before.tobytes() == after.tobytes()
    with pytest.raises(BrushworkError, match="already exists"):
        import_style(out)
    assert import_style(out, name="mine2").name == "mine2"
    with pytest.raises(BrushworkError, match="already exists"):
        export_style("mine", out)  # never over the user's file


def _zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _good_members(tmp_path: Path) -> dict[str, bytes]:
    src = a_style(tmp_path / "src")
    return {STYLE_JSON: (src / STYLE_JSON).read_bytes(), WEIGHTS: (src / WEIGHTS).read_bytes()}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _evil_meta() -> bytes:
    generator = {"name": "evil", "kwargs": {}, "kind": "generator"}
    return json.dumps({"format": "brushwork-style", "format_version": 1, "generator": generator}).encode()


def _huge_header() -> bytes:
    header = json.dumps({"lut.lut": {"dtype": "F32", "shape": [1 << 20, 1 << 20], "data_offsets": [0, 4]}}).encode()
    return struct.pack("<Q", len(header)) + header + b"\0" * 4


HOSTILE = {
    "not a zip": lambda t: _write(t, b"hello, not an archive" * 10),
    "a pickle": lambda t: _write(t, pickle.dumps({"weights": [1, 2, 3]})),
    "path traversal": lambda t: _zip(t, {**_good_members(t.parent), "../evil.txt": b"x"}),
    "absolute path": lambda t: _zip(t, {**_good_members(t.parent), "/tmp/evil.txt": b"x"}),
    "a folder": lambda t: _zip(t, {**_good_members(t.parent), "sub/style.json": b"{}"}),
    "an extra member": lambda t: _zip(t, {**_good_members(t.parent), "run.py": b"import os"}),
    "zip bomb": lambda t: _zip(t, {STYLE_JSON: b"{" + b" " * (64 << 20) + b"}", WEIGHTS: b"x"}),
    "pickled weights": lambda t: _zip(
        t, {**_good_members(t.parent), WEIGHTS: pickle.dumps({"lut.lut": torch.zeros(3)})}
    ),
    "huge tensor": lambda t: _zip(t, {**_good_members(t.parent), WEIGHTS: _huge_header()}),
    "unknown generator": lambda t: _zip(t, {**_good_members(t.parent), STYLE_JSON: _evil_meta()}),
    "no weights": lambda t: _zip(t, {STYLE_JSON: _good_members(t.parent)[STYLE_JSON]}),
    "truncated": lambda t: _write(t, _zip(t, _good_members(t.parent)).read_bytes()[:-200]),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_style_file_gets_one_clear_line_and_writes_nothing(tmp_path: Path, case: str) -> None:
    (tmp_path / "make").mkdir()
    file = HOSTILE[case](tmp_path / "make" / "evil.bwstyle")
    before = library_state()
    with pytest.raises(BrushworkError) as err:
        import_style(file)
    msg = str(err.value)
    assert "\n" not in msg and str(file) in msg, msg
    assert library_state() == before
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()


def test_built_in_styles_are_listed_read_only_and_their_names_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # fmt: skip
    import brushwork

    shipped = tmp_path / "shipped"
    a_style(shipped / "sepia")
    monkeypatch.setattr(library, "builtin_dir", lambda: shipped)
    assert library.list_names() == ["sepia"] and library.info("sepia")["builtin"]
    assert Stylizer.load("sepia", device="cpu", precision="fp32")(Image.open(photo(tmp_path))).size == (56, 40)
    with pytest.raises(BrushworkError, match="built-in style: it cannot be removed"):
        library.remove("sepia")
    with pytest.raises(BrushworkError, match="built-in style; choose another name"):
        brushwork.train_style(tmp_path, name="sepia", steps=1)
    out = export_style("sepia", tmp_path / "sepia.bwstyle")
    with pytest.raises(BrushworkError, match="built-in style; choose another name"):
        import_style(out)
    assert import_style(out, name="my-sepia").parent == library.styles_dir()
    assert library.list_names() == ["my-sepia", "sepia"]
    assert (shipped / "sepia" / WEIGHTS).is_file()


def test_the_contact_sheet_shows_the_photo_in_every_style(tmp_path: Path) -> None:
    from brushwork.sheet import contact_sheet

    for i, name in enumerate(("a", "b", "c")):
        a_style(library.styles_dir() / name, seed=i)
    out = contact_sheet(photo(tmp_path), tmp_path / "sheet.jpg", size=56)
    sheet = Image.open(out)
    assert sheet.width > 2 * 56 and sheet.height > 2 * 40  # 2 x 2 cells: the photo and three styles
    with pytest.raises(BrushworkError, match="no style"):
        contact_sheet(photo(tmp_path), tmp_path / "none.jpg", names=["missing"])


def test_the_studio_api_downloads_and_uploads_a_style() -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from brushwork.server.app import create_app

    a_style(library.styles_dir() / "mine")
    with TestClient(create_app(device="cpu", worker=False)) as client:
        r = client.get("/api/styles/mine/export?format=bwstyle")
        assert r.status_code == 200 and r.content[:2] == b"PK"
        data = r.content
        assert client.delete("/api/styles/mine").status_code == 200
        r = client.post("/api/styles/import", files={"file": ("mine.bwstyle", data, "application/zip")})
        assert r.status_code == 200 and r.json()["name"] == "mine" and not r.json()["builtin"]
        r = client.post("/api/styles/import", files={"file": ("mine.bwstyle", data, "application/zip")})
        assert r.status_code == 409
        r = client.post("/api/styles/import", files={"file": ("x.bwstyle", b"not a zip at all", "application/zip")})
        assert r.status_code == 400 and "x.bwstyle" in r.json()["detail"]
        assert library.user_names() == ["mine"]
