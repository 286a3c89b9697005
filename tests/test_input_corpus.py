"""The reader against a corpus of what people and strangers hand it: every file gives a
correct image or a one-line error naming it, a batch goes on past the bad ones, nothing
is overwritten, and the exit status says whether anything failed."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pillow_heif
from conftest import trained_like_lite
from PIL import Image

from brushwork import library
from brushwork.apply import apply_to_paths
from brushwork.io import load_folder, load_image
from brushwork.stylefile import save_style
from brushwork.stylizer import Stylizer

RED = (200, 30, 40)


def _bomb_png(path: Path) -> None:
    """A valid PNG header claiming 100000 x 100000 pixels, with almost no data."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: (  # noqa: E731
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


def make_corpus(folder: Path) -> dict[str, str | None]:
    """name -> None (must read as a red image) or a fragment of its error."""
    folder.mkdir(parents=True)
    red = Image.new("RGB", (40, 30), RED)
    red.save(folder / "still.gif")
    frames = [red, Image.new("RGB", (40, 30), (0, 0, 255))]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=100)
    pillow_heif.from_pillow(red).save(folder / "phone.heic", quality=95)
    red.save(folder / "browser.avif", quality=95)
    red.save(folder / "web.webp", quality=95)
    Image.new("RGB", (1, 1), RED).save(folder / "one_pixel.png")
    Image.fromarray(np.full((30, 40), 40000, dtype=np.uint16)).save(folder / "sixteen_bit.png")
    red.convert("CMYK").save(folder / "print.jpg", quality=95)
    pal = red.convert("P")
    pal.info["transparency"] = 0
    pal.save(folder / "palette_alpha.png", transparency=0)
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.png").write_text("this is text, not an image")
    red.save(folder / "full.png")
    (folder / "truncated.png").write_bytes((folder / "full.png").read_bytes()[:60])
    (folder / "full.png").unlink()
    _bomb_png(folder / "bomb.png")
    return {
        "still.gif": None, "phone.heic": None, "browser.avif": None, "web.webp": None, "one_pixel.png": None,
        "sixteen_bit.png": "grey", "print.jpg": None, "palette_alpha.png": "any",
        "animated.gif": "an animated GIF (2 frames)", "empty.png": "not a readable image",
        "notes.png": "not a readable image", "truncated.png": "truncated.png", "bomb.png": "too large",
    }  # fmt: skip


def test_every_file_of_the_corpus_reads_or_fails_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    expect = make_corpus(folder)
    for name, outcome in expect.items():
        path = folder / name
        if outcome is None:
            img = load_image(path)
            arr = np.asarray(img)
            assert img.mode == "RGB" and arr.dtype == np.uint8, name
            assert np.abs(arr.reshape(-1, 3).mean(0) - RED).max() < 16, (name, arr.reshape(-1, 3).mean(0))
        elif outcome in ("grey", "any"):
            assert load_image(path).mode == "RGB"
        else:
            try:
                load_image(path)
            except Exception as exc:  # one line, naming the file
                assert outcome in str(exc) and name in str(exc) and "\n" not in str(exc), (name, exc)
            else:
                raise AssertionError(f"{name} should not read")
    rep = load_folder(folder)
    bad = {n for n, o in expect.items() if o not in (None, "grey", "any")}
    assert len(rep.images) == len(expect) - len(bad)
    assert sorted(Path(f.split(":")[0]).name for f in rep.failures) == sorted(bad)


def test_a_batch_goes_on_past_bad_files_and_overwrites_nothing(tmp_path: Path, brushwork_home: Path) -> None:
    folder = tmp_path / "corpus"
    expect = make_corpus(folder)
    g = trained_like_lite()
    style = save_style(library.styles_dir() / "s", "lite", {}, g.state_dict(), {}, None)
    out = tmp_path / "out"
    out.mkdir()
    (out / "still.png").write_bytes(b"the user's own file")
    res = apply_to_paths(Stylizer.load(style, device="cpu"), [folder], out, quiet=True)
    bad = {n for n, o in expect.items() if o not in (None, "grey", "any")}
    assert len(res.failed) == len(bad) + 1  # the bad files, and the output that exists already
    assert (out / "still.png").read_bytes() == b"the user's own file"
    written = {p.name for p in out.iterdir()}
    assert "phone.png" in written and "browser.png" in written and "one_pixel.png" in written


def test_the_cli_exit_status_says_whether_anything_failed(tmp_path: Path, brushwork_home: Path) -> None:
    from brushwork.cli import main

    folder = tmp_path / "corpus"
    make_corpus(folder)
    g = trained_like_lite()
    save_style(library.styles_dir() / "s", "lite", {}, g.state_dict(), {}, None)
    assert main(["apply", "s", str(folder), "--out", str(tmp_path / "out"), "--quiet"]) != 0
    good = tmp_path / "good"
    good.mkdir()
    pillow_heif.from_pillow(Image.new("RGB", (20, 20), RED)).save(good / "a.heic")
    assert main(["apply", "s", str(good), "--out", str(tmp_path / "out2"), "--quiet"]) == 0


def test_a_killed_runs_partial_writes_are_removed(tmp_path: Path) -> None:
    """What an atomic write leaves when its process is SIGKILLed (the temporary beside the
    output) is deleted by the next run; the user's own dot-files are not touched."""
    from brushwork.apply import remove_stale_temporaries

    out = tmp_path / "out"
    out.mkdir()
    (out / ".a.png.k3j2h1g0.tmp.png").write_bytes(b"half a png")
    (out / ".hidden.png").write_bytes(b"the user's")
    (out / ".b.png.zzzzzzzz.tmp.png").write_bytes(b"not ours to plan")
    assert remove_stale_temporaries([out / "a.png"]) == 1
    assert sorted(p.name for p in out.iterdir()) == [".b.png.zzzzzzzz.tmp.png", ".hidden.png"]
