"""The image reader on odd and malformed files; atomic writes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from brushwork.errors import ImageReadError, NoImagesError
from brushwork.io import list_images, load_folder, load_image, save_image_atomic


def test_modes_become_rgb8(tmp_path: Path) -> None:
    grey = Image.fromarray(np.full((5, 6), 100, np.uint8), "L")
    grey.save(tmp_path / "grey.png")
    pal = Image.new("P", (6, 5))
    pal.putpalette([255, 0, 0] * 256)
    pal.save(tmp_path / "pal.bmp")
    rgba = Image.new("RGBA", (6, 5), (0, 0, 0, 0))  # fully transparent -> white
    rgba.save(tmp_path / "alpha.webp", lossless=True)
    Image.new("CMYK", (6, 5), (0, 0, 0, 0)).save(tmp_path / "cmyk.tiff")
    deep = Image.fromarray(np.full((5, 6), 65535, np.uint16))
    deep.save(tmp_path / "deep16.png")
    for name, want in [
        ("grey.png", 100),
        ("pal.bmp", None),
        ("alpha.webp", 255),
        ("cmyk.tiff", 255),
        ("deep16.png", 255),
    ]:
        img = load_image(tmp_path / name)
        assert img.mode == "RGB" and img.size == (6, 5), name
        if want is not None:
            assert np.asarray(img)[0, 0, 0] == want, name
    assert np.asarray(load_image(tmp_path / "pal.bmp"))[0, 0].tolist() == [255, 0, 0]


def test_exif_orientation_applied(tmp_path: Path) -> None:
    img = Image.new("RGB", (8, 4), (10, 20, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    img.save(tmp_path / "rot.jpg", exif=exif.tobytes())
    assert load_image(tmp_path / "rot.jpg").size == (4, 8)


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("text.jpg", b"this is not an image", "not a readable image"),
        ("empty.png", b"", "not a readable image"),
    ],
)
def test_malformed_files_name_the_file(tmp_path: Path, name: str, data: bytes, match: str) -> None:
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(ImageReadError, match=match) as exc:
        load_image(p)
    assert str(p) in str(exc.value)


def test_truncated_png(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "PNG")
    p = tmp_path / "cut.png"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageReadError, match=r"cut\.png"):
        load_image(p)


def test_decompression_bomb_guard_stays_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.new("RGB", (100, 100)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)  # 100x100 > 2 * 10: a "bomb"
    with pytest.raises(ImageReadError, match="too large"):
        load_image(tmp_path / "big.png")


def test_folder_reads_recursively_and_reports_failures(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(tmp_path / "a" / "one.png")
    Image.new("RGB", (4, 4)).save(tmp_path / "a" / "b" / "two.JPG")
    (tmp_path / "a" / "bad.png").write_bytes(b"nope")
    (tmp_path / "a" / "notes.txt").write_text("ignored")
    # sorted by path: "a/b/two.JPG" < "a/bad.png" < "a/one.png" ("/" sorts before letters)
    assert [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)] == [
        "a/b/two.JPG",
        "a/bad.png",
        "a/one.png",
    ]
    rep = load_folder(tmp_path)
    assert len(rep.images) == 2 and len(rep.failures) == 1 and "bad.png" in rep.failures[0]


def test_folder_without_images_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(NoImagesError, match="no usable style images"):
        load_folder(tmp_path, what="style images")
    with pytest.raises(NoImagesError, match="no such folder"):
        load_folder(tmp_path / "missing")


def test_atomic_save_leaves_no_temp_files(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "x.jpg"
    save_image_atomic(Image.new("RGB", (4, 4)), dest)
    assert dest.exists() and [p.name for p in dest.parent.iterdir()] == ["x.jpg"]
    assert dest.stat().st_mode & 0o044  # readable by others, like any normally written file
    with pytest.raises(ValueError, match="unsupported output format"):
        save_image_atomic(Image.new("RGB", (4, 4)), tmp_path / "x.gif")
    assert not (tmp_path / "x.gif").exists()
