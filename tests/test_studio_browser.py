"""The studio page in a real headless Chromium (Debian's package, driven by Playwright; no
browser is ever downloaded): choose style images, learn a style, see it in the library,
apply it to a photo and see the result. Takes the README's screenshot when
``BRUSHWORK_SCREENSHOT`` names a file.

Skipped only where Chromium is not installed and this is not CI (``.ci/run`` installs it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from test_server_restart import free_port, start

from brushwork.data import builtin_dir

pytestmark = pytest.mark.slow  # make test runs it; make test-fast leaves it out

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# what a sandboxed machine with a closed network needs (no first run, no background traffic)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip

if not CHROMIUM and not os.environ.get("CI"):
    pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does)", allow_module_level=True)


def test_learn_and_apply_in_the_browser(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert CHROMIUM, "CI must have Debian's chromium (see .ci/run)"
    styles = sorted((builtin_dir("styles") / "vangogh").glob("*.jpg"))[:4]
    photos = sorted(builtin_dir("photos").glob("*.jpg"))
    home, port = tmp_path / "home", free_port()
    server = start(home, port)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/")
            builtin = page.locator('#cards .card[data-style="vangogh"]')
            expect(builtin).to_be_visible()  # the built-in styles are there from the start
            expect(builtin).to_contain_text("built-in")
            expect(page.locator("#no-styles")).to_be_hidden()
            page.set_input_files("#style-files", [str(p) for p in styles])
            expect(page.locator("#style-count")).to_have_text("4 image(s) ready")
            expect(page.locator("#preview")).to_be_visible(timeout=60_000)  # where training starts
            page.locator("#content-files").set_input_files([str(p) for p in photos[:3]])
            page.fill("#style-name", "starry")
            page.fill("#minutes", os.environ.get("BRUSHWORK_SCREENSHOT_MINUTES", "0.1"))
            page.click("#start")
            expect(page.locator("#job-status")).to_contain_text("Done", timeout=240_000)
            expect(page.locator("#bar")).to_have_attribute("style", "width: 100%;")
            card = page.locator('#cards .card[data-style="starry"]')
            expect(card).to_be_visible()
            expect(page.locator("#sample")).to_be_visible()  # the training samples were shown

            page.set_input_files("#photo", str(photos[-1]))
            page.click("#apply")
            expect(page.locator("#apply-status")).to_contain_text("Done", timeout=60_000)
            after = page.locator("#after")
            expect(after).to_be_visible()
            width = after.evaluate("img => img.complete ? img.naturalWidth : 0")
            assert width == 512  # the stylized photo, at the photo's size
            page.click("#apply-all")  # the photo in every style: the built-ins and the new one
            expect(page.locator("#apply-status")).to_contain_text("styles in", timeout=120_000)
            expect(page.locator('#gallery .card[data-style="starry"] img')).to_be_visible()
            expect(page.locator('#gallery .card[data-style="sepia"] img')).to_be_visible()
            page.locator("#split").fill("45")
            expect(page.locator("#download")).to_be_visible()
            shot = tmp_path / "studio.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            if os.environ.get("BRUSHWORK_SCREENSHOT"):
                shutil.copyfile(shot, os.environ["BRUSHWORK_SCREENSHOT"])
            browser.close()
    finally:
        server.kill()
        server.wait(10)
