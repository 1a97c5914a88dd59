"""End to end in a real headless Chromium (Debian's) against `streamlit run` on a loopback port."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port, wait_for_http

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def server(shipped, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """`streamlit run app.py` on a free loopback port, with the indexed shipped corpus."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMCHAT_")}
    env.update(STEMCHAT_CORPUS_DIR=str(shipped.corpus_dir), STEMCHAT_DATA_DIR=str(shipped.data_dir))
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(REPO / "app.py"),
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/_stcore/health", proc, log_path, timeout=120)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is missing: `make test` installs Debian's chromium"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


def ask(page, question: str, *, expect: str, times: int = 1, timeout: float = 180.0) -> None:  # type: ignore[no-untyped-def]
    """Type a question, then wait until `expect` shows up `times` times on the page."""
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    deadline = time.monotonic() + timeout
    while page.get_by_text(expect, exact=False).count() < times:
        assert time.monotonic() < deadline, f"{expect!r} did not appear {times}x after {question!r}"
        page.wait_for_timeout(250)
    page.wait_for_timeout(1500)  # let the streamed answer finish


def open_app(browser, url: str, **context):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    page.goto(url)
    page.get_by_test_id("stChatInputTextArea").wait_for(timeout=120_000)
    return ctx, page


def test_ask_badge_citation_disclaimer_and_follow_up(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    ctx, page = open_app(browser, server)
    ask(page, "Do stem cells help lupus?", expect="Evidence tier for Lupus")
    assert page.get_by_text("early:", exact=False).first.is_visible()  # badge with its words
    assert page.get_by_text("It is not medical advice", exact=False).first.is_visible()
    expander = page.get_by_test_id("stExpander").first
    expander.locator("summary").click()
    expander.get_by_role("link").first.wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "answer-with-citation.png"), full_page=True)
    ask(page, "is it approved for that?", expect="Evidence tier for Lupus", times=2)
    ctx.close()


def test_emergency_message_first(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    ctx, page = open_app(browser, server)
    ask(
        page,
        "I had stem cells injected yesterday and now I have a fever and a stiff neck",
        expect="Call your local emergency number",
    )
    alert = page.get_by_test_id("stAlertContentError").last
    assert "emergency" in alert.inner_text().lower()
    page.screenshot(path=str(ARTIFACTS / "emergency.png"), full_page=True)
    ctx.close()


def test_two_sessions_never_share_history(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    ctx_a, a = open_app(browser, server)
    ctx_b, b = open_app(browser, server)
    ask(a, "What about ALS?", expect="Evidence tier for ALS")
    ask(b, "Is anything approved for knee arthritis?", expect="Evidence tier for Knee")
    assert a.get_by_text("Evidence tier for Knee", exact=False).count() == 0
    assert b.get_by_text("Evidence tier for ALS", exact=False).count() == 0
    ctx_a.close()
    ctx_b.close()


def test_script_is_shown_as_text_on_a_phone(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    ctx, page = open_app(browser, server, viewport={"width": 390, "height": 844})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    ask(page, "<script>alert('xss')</script> lupus?", expect="Evidence tier for Lupus")
    assert page.get_by_text("<script>alert('xss')</script> lupus?", exact=False).first.is_visible()
    assert dialogs == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    page.screenshot(path=str(ARTIFACTS / "phone-390.png"), full_page=True)
    ctx.close()
