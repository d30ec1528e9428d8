"""``router dashboard`` in a real headless Chromium: live updates, config upload, a screenshot.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) and
selenium (the dev extra). Outside CI (``CI`` unset) the test skips when they are
missing; in CI it fails instead. The screenshot goes to ``out/dashboard.png``;
``docs/img/dashboard.png`` is a copy of it (README).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOT = ROOT / "out" / "dashboard.png"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1600,1250",
]


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture
def browser() -> Iterator[object]:
    why = _missing()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the dashboard test must run in CI: {why}")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="router-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def dashboard() -> Iterator[str]:
    """``router dashboard`` on a free loopback port, replaying the flagship at 240x."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "router",
            "dashboard",
            str(ROOT / "examples" / "spring_festival.toml"),
            "--port",
            "0",
            "--speed",
            "240",
            "--seconds",
            "300",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert m is not None, line
        yield m.group(0)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()


def _text(driver: object, css: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.CSS_SELECTOR, css).text)  # type: ignore[attr-defined]


def _wait(what: str, cond: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _number(text: str) -> int:
    return int(text.replace(",", "")) if text.replace(",", "").isdigit() else -1


def test_dashboard_updates_live_and_applies_only_valid_configs(
    browser: object, dashboard: str, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    d = browser
    d.get(dashboard)  # type: ignore[attr-defined]
    _wait("the first update", lambda: _number(_text(d, "#updates")) >= 1)
    assert _text(d, "#mode") == "replay"
    first_clock = _text(d, "#clock")
    first_decisions = _number(_text(d, "#total-decisions"))
    # live: the virtual clock moves and the router keeps deciding
    _wait("the clock to move", lambda: _text(d, "#clock") != first_clock)
    _wait(
        "more decisions",
        lambda: _number(_text(d, "#total-decisions")) > max(first_decisions, 0),
    )
    rows = d.find_elements(By.CSS_SELECTOR, "#queues tbody tr")  # type: ignore[attr-defined]
    assert [r.get_attribute("data-queue") for r in rows] == [
        "cancellation",
        "second_pass",
        "booking",
        "complaint",
    ]
    assert _number(_text(d, "#total-agents")) > 0

    # an invalid config is refused with the path of the problem, and nothing changes
    bad = tmp_path / "bad.toml"
    text = (ROOT / "examples" / "spring_festival.toml").read_text()
    bad.write_text(text.replace("answer_target_s = ", "answer_target_s = -", 1))
    upload = d.find_element(By.ID, "config-file")  # type: ignore[attr-defined]
    upload.send_keys(str(bad))
    d.find_element(By.CSS_SELECTOR, "#config-form button").click()  # type: ignore[attr-defined]
    _wait("the refusal", lambda: "not applied" in _text(d, "#config-result"))
    assert re.search(r"\$\.queues\[\d\]\.answer_target_s", _text(d, "#config-result"))
    assert _text(d, "#version") == "1"

    # a valid change is applied through reconfigure: version 2, noted on the page
    good = tmp_path / "tuned.toml"
    good.write_text(text.replace("load = 1.0,", "load = 3.0,", 1))
    upload.clear()
    upload.send_keys(str(good))
    d.find_element(By.CSS_SELECTOR, "#config-form button").click()  # type: ignore[attr-defined]
    _wait("the reconfigure", lambda: "applied: version 2" in _text(d, "#config-result"))
    _wait("version 2 on the page", lambda: _text(d, "#version") == "2")
    _wait("the reconfigure note", lambda: "v2 at" in _text(d, "#last-reconfigure"))
    # let the flood build up a little for the screenshot
    _wait("a queue to form", lambda: _number(_text(d, "#total-waiting")) > 20, timeout=90)
    d.execute_script("window.scrollTo(0, 0)")  # type: ignore[attr-defined]
    time.sleep(2.0)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert d.save_screenshot(str(SCREENSHOT))  # type: ignore[attr-defined]
    assert SCREENSHOT.stat().st_size > 10_000
