"""The studio's HTTP API through FastAPI's test client: uploads and their limits, the token,
a training job end to end (events, samples, the library, apply, export), cancellation."""

from __future__ import annotations

import io
import json
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY
from PIL import Image

from brushwork import cli, library
from brushwork.errors import BrushworkError
from brushwork.server import is_loopback, serve

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx versions
    from fastapi.testclient import TestClient

from brushwork.server.app import Limits, create_app


def png(seed: int, size: tuple[int, int] = (48, 40)) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def style_upload(n: int = 3, content: int = 3) -> list[tuple[str, tuple[str, bytes, str]]]:
    files = [("files", (f"look/s{i}.png", png(i), "image/png")) for i in range(n)]
    return files + [("content", (f"c{i}.png", png(10 + i), "image/png")) for i in range(content)]


def tiny_form(name: str, steps: int = 6) -> dict[str, str]:
    return {"name": name, "steps": str(steps), "size": "32", "recipe": json.dumps(TINY)}


def wait(client: TestClient, job: str, timeout: float = 120) -> dict[str, object]:
    t0 = time.time()
    while time.time() - t0 < timeout:
        j = client.get(f"/api/jobs/{job}").json()
        if j["state"] in ("done", "failed"):
            return j
        time.sleep(0.1)
    raise AssertionError(f"job {job} did not finish: {j}")


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(device="cpu")) as c:
        yield c


def test_health_page_and_docs(client: TestClient) -> None:
    assert client.get("/api/health").json() == {"status": "ok"}
    page = client.get("/")
    assert page.status_code == 200 and "brushwork studio" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert "/api/styles/{name}/apply" in client.get("/openapi.json").json()["paths"]


def test_token_guards_the_api() -> None:
    with TestClient(create_app(token="s3cret", worker=False)) as c:
        assert c.get("/api/health").status_code == 401
        assert c.get("/api/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/health", headers={"Authorization": "Bearer s3cret"}).json() == {"status": "ok"}
        assert c.get("/api/health?token=s3cret").status_code == 200  # image sources, event streams
        assert c.get("/").status_code == 200  # the page shell holds no data


def test_serving_off_loopback_needs_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BRUSHWORK_TOKEN", raising=False)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    with pytest.raises(BrushworkError, match="--token"):
        serve(host="0.0.0.0")
    assert cli.main(["serve", "--host", "0.0.0.0"]) == 2
    assert "--token" in capsys.readouterr().err


def test_bad_uploads_are_refused_clearly(client: TestClient, brushwork_home: Path) -> None:
    def post(files: list, **form: str) -> tuple[int, str]:  # type: ignore[type-arg]
        r = client.post("/api/styles", files=files, data={"name": "x", "steps": "2", **form})
        return r.status_code, json.dumps(r.json()["detail"])

    code, msg = post([("files", ("notes.png", b"just some text", "image/png"))])
    assert code == 400 and "notes.png" in msg and "not a readable image" in msg
    code, msg = post([("files", ("notes.txt", b"text", "text/plain"))])
    assert code == 415 and "notes.txt" in msg
    code, msg = post([("files", ("empty.png", b"", "image/png"))])
    assert code == 400 and "empty" in msg
    code, msg = post(style_upload(1, 0), name="../escape")
    assert code == 422 and "invalid style name" in msg
    code, msg = post(style_upload(1, 0), minutes="1")
    assert code == 422 and "not both" in msg
    code, msg = post(style_upload(1, 0), recipe='{"lr_g": "fast"}')
    assert code == 422 and "lr_g" in msg
    code, msg = post(style_upload(1, 0), recipe='{"no_such_setting": 1}')
    assert code == 422 and "no_such_setting" in msg
    assert client.get("/api/jobs").json() == []  # nothing was queued by any of these
    assert not any((brushwork_home / "jobs").glob("*/*"))  # and no upload was left behind


def test_upload_limits() -> None:
    limits = Limits(max_file_mb=0.001, max_files=2, max_pixels=1000)
    with TestClient(create_app(limits=limits, worker=False)) as c:
        r = c.post("/api/styles", files=style_upload(3, 0), data={"name": "x"})
        assert r.status_code == 413 and "more than 2 files" in r.json()["detail"]
        big = [("files", ("big.png", png(0, (200, 200)), "image/png"))]
        r = c.post("/api/styles", files=big, data={"name": "x"})
        assert r.status_code == 413 and "big.png" in r.json()["detail"] and "MB" in r.json()["detail"]
    with TestClient(create_app(limits=Limits(max_pixels=1000), worker=False)) as c:
        r = c.post("/api/styles", files=[("files", ("wide.png", png(0, (100, 20)), "image/png"))], data={"name": "x"})
        assert r.status_code == 413 and "wide.png" in r.json()["detail"] and "MP" in r.json()["detail"]


def test_unknown_style_and_job(client: TestClient) -> None:
    r = client.post("/api/styles/nope/apply", files={"file": ("p.png", png(0), "image/png")})
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    assert client.get("/api/styles/nope").status_code == 404
    assert client.delete("/api/styles/nope").status_code == 404
    assert client.get("/api/styles/..").status_code == 404  # names only, never paths
    assert client.get("/api/styles/%2e%2e/preview").status_code == 404
    assert client.get("/api/styles/.hidden").status_code == 404
    assert client.get("/api/jobs/0123456789ab").status_code == 404
    assert client.get("/api/jobs/../../etc").status_code == 404


def test_train_watch_apply_export_delete(client: TestClient) -> None:
    r = client.post("/api/styles", files=style_upload(), data=tiny_form("tiny"))
    assert r.status_code == 202
    job = r.json()["job"]
    events: list[tuple[str, dict[str, object]]] = []
    with client.stream("GET", f"/api/jobs/{job}/events") as stream:
        kind = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    kinds = [k for k, _ in events]
    assert kinds[-1] == "end" and events[-1][1]["state"] == "done", events[-1]
    samples = [d for k, d in events if k == "sample"]
    assert samples and client.get(str(samples[-1]["url"])).headers["content-type"] == "image/png"
    j = client.get(f"/api/jobs/{job}").json()
    assert j["state"] == "done" and j["progress"] == 1.0 and j["style"] == "tiny" and j["error"] is None

    cards = client.get("/api/styles").json()
    mine = [c for c in cards if not c["builtin"]]
    assert [c["name"] for c in mine] == ["tiny"] and mine[0]["steps"] == 6
    assert {c["name"] for c in cards if c["builtin"]} == set(library.builtin_names())  # built-ins listed too
    shown = client.get("/api/styles/tiny").json()
    assert shown["meta"]["generator"]["name"] == "lite"
    # the end of training's notes, with the studio's names for its settings
    assert any("pseudo-pairs" in n for n in shown["notes"]) and not any("--set" in n for n in shown["notes"])
    assert client.get("/api/styles/tiny/preview").headers["content-type"] == "image/png"

    photo = png(99, (100, 70))
    r = client.post("/api/styles/tiny/apply", files={"file": ("photo.png", photo, "image/png")})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (100, 70)
    r = client.post(
        "/api/styles/tiny/apply", files={"file": ("photo.png", photo, "image/png")},
        data={"strength": "0"},
    )  # fmt: skip
    back = np.asarray(Image.open(io.BytesIO(r.content))).astype(float)
    assert np.abs(back - np.asarray(Image.open(io.BytesIO(photo)))).max() <= 1  # strength 0: the photo
    r = client.post("/api/styles/tiny/apply", files={"file": ("p.png", photo, "image/png")}, data={"format": "jpg"})
    assert r.headers["content-type"] == "image/jpeg" and Image.open(io.BytesIO(r.content)).format == "JPEG"
    assert client.post("/api/styles/tiny/apply", files={"file": ("p.png", photo, "image/png")},
                       data={"strength": "2"}).status_code == 422  # fmt: skip

    onnx = client.get("/api/styles/tiny/export?format=onnx")
    assert onnx.status_code == 200 and len(onnx.content) > 1000
    assert client.get("/api/styles/tiny/export?format=torchscript").status_code == 200
    assert client.get("/api/styles/tiny/export?format=pickle").status_code == 422

    r = client.post("/api/styles", files=style_upload(), data=tiny_form("tiny"))
    assert r.status_code == 409 and "overwrite" in r.json()["detail"]  # never replaced unless asked
    r = client.post("/api/styles", files=style_upload(), data={**tiny_form("tiny", steps=4), "overwrite": "true"})
    assert wait(client, r.json()["job"])["state"] == "done"
    assert client.get("/api/styles/tiny").json()["steps"] == 4

    assert client.delete("/api/styles/tiny").json() == {"deleted": "tiny"}
    assert [c for c in client.get("/api/styles").json() if not c["builtin"]] == []


def test_cancel() -> None:
    with TestClient(create_app(worker=False)) as c:
        job = c.post("/api/styles", files=style_upload(), data=tiny_form("q")).json()["job"]
        assert c.get(f"/api/jobs/{job}").json()["state"] == "queued"
        j = c.post(f"/api/jobs/{job}/cancel").json()
        assert j["state"] == "failed" and j["error"] == "cancelled"
        assert c.post(f"/api/jobs/{job}/cancel").status_code == 409
    with TestClient(create_app(device="cpu")) as c:
        job = c.post("/api/styles", files=style_upload(), data=tiny_form("long", steps=100_000)).json()["job"]
        t0 = time.time()
        while c.get(f"/api/jobs/{job}").json()["state"] != "running" and time.time() - t0 < 60:
            time.sleep(0.05)
        c.post(f"/api/jobs/{job}/cancel")
        j = wait(c, job, timeout=60)
        assert j["state"] == "failed" and j["error"] == "cancelled"
        assert [s for s in c.get("/api/styles").json() if not s["builtin"]] == []


def test_video_apply_is_a_job(client: TestClient, tmp_path: Path) -> None:
    from test_video import make_clip

    from brushwork import library, nets
    from brushwork.stylefile import save_style

    kw = {"ngf": 4, "n_blocks": 1, "lut_size": 5}
    save_style(library.styles_dir() / "v", "lite", kw, nets.create("generator", "lite", **kw).state_dict(), {}, None)
    make_clip(tmp_path / "clip.mp4", frames=6)
    r = client.post(
        "/api/styles/v/apply", files={"file": ("clip.mp4", (tmp_path / "clip.mp4").read_bytes(), "video/mp4")}
    )
    assert r.status_code == 202
    j = wait(client, r.json()["job"])
    assert j["state"] == "done" and j["result"], j
    out = client.get(str(j["result"]))
    assert out.status_code == 200 and len(out.content) > 1000
    (tmp_path / "styled.mp4").write_bytes(out.content)
    import av

    with av.open(str(tmp_path / "styled.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 6
