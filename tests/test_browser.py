"""The HTML page of ``klgen latex --all --format html`` in a real browser (headless Chromium).

Chromium prints every console message (uncaught errors included) to stderr with
--enable-logging=stderr, which is how console errors are detected; a test shows that an
injected ``throw`` is caught. MathML rendering is checked on a copy of the page with a
small probe script appended (the page itself has no scripts): for every step it reports
whether the step holds a MathML <math> element that the browser laid out with a size.
The screenshot is kept in $KLGEN_SCREENSHOT_DIR when that is set, to look at.

Skipped (saying why) where Chromium is missing, except under CI=true, where it fails.
Slow: the page is made with every derivation checked (about 20 s with a cold check cache,
as CI has); CI runs these with ``pytest -m slow``.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from unittest import mock

import pytest
from checked import checked_steps

from klgen.derive import checkcache, show
from klgen.derive.derivations import ALL

pytestmark = pytest.mark.slow

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]
PROBE = """<script>
const steps = [...document.querySelectorAll("li.step")].map((li) => {
  const math = li.querySelector("math");
  const box = math ? math.getBoundingClientRect() : {width: 0, height: 0};
  return {
    step: li.dataset.step,
    status: li.dataset.status,
    mathml: !!math && math instanceof MathMLElement && box.width > 0 && box.height > 0,
  };
});
const out = document.createElement("pre");
out.id = "probe";
out.textContent = JSON.stringify(steps);
document.body.append(out);
</script>"""


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but chromium is not installed: .ci/run must apt-get install chromium")
    pytest.skip("chromium is not installed here (apt-get install -y chromium); CI runs this test")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    path = tmp_path_factory.mktemp("page") / "derivations.html"
    with mock.patch.object(checkcache, "results", checked_steps):  # test_derivations' checks
        views = [(d, show.step_views(d)) for d in ALL.values()]
    path.write_text(show.render(views, "html"), encoding="utf-8")
    return path


def _browse(chromium, tmp_path, page, *action):
    """Run headless Chromium on a file; returns (stdout, console messages)."""
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    done = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *action, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout, re.findall(r":CONSOLE[^\]]*\] (.*)", done.stderr)


def _probe(chromium, tmp_path, page):
    """The probe's per-step report and the console messages, for a copy of ``page``."""
    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text().replace("</body>", PROBE + "\n</body>"))
    dom, console = _browse(chromium, tmp_path, probed, "--dump-dom")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe did not run"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&")), console


def test_every_step_renders_as_mathml_with_no_console_errors(chromium, page, tmp_path):
    steps, console = _probe(chromium, tmp_path, page)
    assert len(steps) == sum(len(d.steps) for d in ALL.values())
    assert all(s["mathml"] for s in steps), [s for s in steps if not s["mathml"]]
    assert {s["status"] for s in steps} <= {"passed", "definition"}
    assert console == []


def test_the_page_alone_logs_nothing(chromium, page, tmp_path):
    _, console = _browse(chromium, tmp_path, page, "--dump-dom")
    assert console == []


def test_console_errors_are_detected(chromium, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><p>x</p><script>throw Error('injected')</script>")
    _, console = _browse(chromium, tmp_path, bad, "--dump-dom")
    assert any("Uncaught Error: injected" in line for line in console)


def test_the_probe_notices_a_step_without_mathml(chromium, page, tmp_path):
    broken = tmp_path / "broken.html"
    html = page.read_text()
    start = html.index("<math")
    end = html.index("</math>", start) + len("</math>")
    broken.write_text(html[:start] + "<span>no math here</span>" + html[end:])
    steps, _ = _probe(chromium, tmp_path, broken)
    assert [s["mathml"] for s in steps].count(False) == 1


def test_screenshot_shows_the_page(chromium, page, tmp_path):
    shot = Path(os.environ.get("KLGEN_SCREENSHOT_DIR") or tmp_path) / "derivations.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    _, console = _browse(
        chromium, tmp_path, page, f"--screenshot={shot}", "--window-size=1000,5200"
    )
    width, height, pixels = _png(shot.read_bytes())
    assert (width, height) == (1000, 5200)
    assert len(set(pixels)) > 50  # text and math, not a blank page
    assert console == []


def _png(data):
    """(width, height, decompressed scanline bytes) of a PNG file."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            chunks.append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return width, height, zlib.decompress(b"".join(chunks))
