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
    env.update(
        STEMCHAT_CORPUS_DIR=str(shipped.corpus_dir),
        STEMCHAT_DATA_DIR=str(shipped.data_dir),
        STEMCHAT_MAINTAINER_PAGE="true",  # as `make run` on localhost
    )
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
    ask(page, "Do stem cells help lupus?", expect="Evidence strength for Lupus")
    assert page.get_by_text("evidence: early", exact=False).first.is_visible()  # badge in words
    assert page.get_by_text("It is not medical advice", exact=False).first.is_visible()
    expander = page.get_by_test_id("stExpander").first
    expander.locator("summary").click()
    expander.get_by_role("link").first.wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "answer-with-citation.png"), full_page=True)
    ask(page, "is it approved for that?", expect="Evidence strength for Lupus", times=2)
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


def test_spanish_page_and_answer(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    """`?lang=es` gives the Spanish page; a Spanish question a Spanish answer and crisis line."""
    ctx, page = open_app(browser, f"{server}/?lang=es")
    assert page.get_by_text("Pruebe a preguntar", exact=False).first.is_visible()
    ask(page, "mi mamá tiene ELA, ¿le sirven las células madre?", expect="Solidez de la evidencia")
    assert page.get_by_text("evidencia: negativa", exact=False).first.is_visible()  # the badge
    assert page.get_by_text("No es consejo médico", exact=False).first.is_visible()
    assert page.get_by_text("Evidence strength", exact=False).count() == 0
    ask(page, "Ya no quiero vivir, nada funciona", expect="oprima el 2")
    page.screenshot(path=str(ARTIFACTS / "spanish.png"), full_page=True)
    with page.expect_download() as got:  # the conversation download, in Spanish
        page.get_by_text("Descargar la conversación", exact=False).click()
    saved = Path(got.value.path()).read_text(encoding="utf-8")
    assert "## Pregunta 1" in saved and "### Respuesta" in saved and "## Pregunta 2" in saved
    assert "No es consejo médico" in saved and "Question 1" not in saved
    # the evidence map follows: the address keeps ?lang=es from one page to the other
    _page(page, "Mapa de la evidencia")
    chart = page.get_by_text("Enfermedades según la solidez de la evidencia", exact=False)
    chart.first.wait_for(timeout=60_000)
    assert "lang=es" in page.url
    assert page.get_by_role("heading", name="Mapa de la evidencia").first.is_visible()
    assert page.get_by_text("Solidez de la evidencia: mixta", exact=False).first.is_visible()
    assert page.get_by_text("evidencia: mixta", exact=False).first.is_visible()  # tier badge
    assert page.get_by_text("No está aprobado en la UE", exact=False).first.is_visible()
    assert page.get_by_text("Aprobado: EE. UU.", exact=False).first.is_visible()
    assert page.get_by_text("Evidence strength", exact=False).count() == 0
    with page.expect_download() as got:
        page.get_by_text("Descargar el mapa de la evidencia", exact=False).click()
    assert got.value.suggested_filename == "stemchat-evidence-map.es.md"
    saved = Path(got.value.path()).read_text(encoding="utf-8")
    assert saved.startswith("# Mapa de la evidencia de stemchat")
    assert "- **Solidez de la evidencia:** mixta" in saved and "`gvhd`" in saved
    page.screenshot(path=str(ARTIFACTS / "spanish-evidence-map.png"), full_page=True)
    ctx.close()


def test_two_sessions_never_share_history(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    ctx_a, a = open_app(browser, server)
    ctx_b, b = open_app(browser, server)
    ask(a, "What about ALS?", expect="Evidence strength for ALS")
    ask(b, "Is anything approved for knee arthritis?", expect="Evidence strength for Knee")
    assert a.get_by_text("Evidence strength for Knee", exact=False).count() == 0
    assert b.get_by_text("Evidence strength for ALS", exact=False).count() == 0
    ctx_a.close()
    ctx_b.close()


def test_script_is_shown_as_text_on_a_phone(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    ctx, page = open_app(browser, server, viewport={"width": 390, "height": 844})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    ask(page, "<script>alert('xss')</script> lupus?", expect="Evidence strength for Lupus")
    assert page.get_by_text("<script>alert('xss')</script> lupus?", exact=False).first.is_visible()
    assert dialogs == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    page.screenshot(path=str(ARTIFACTS / "phone-390.png"), full_page=True)
    ctx.close()


WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def serious_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core (bundled by axe-playwright-python) on the page: serious or critical WCAG 2.2 AA."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    return [
        f"{v['id']} ({v['impact']}): {v['help']} - {len(v['nodes'])} nodes, e.g. "
        f"{[n.get('html', '')[:120] for n in v['nodes'][:12]]}: {v['nodes'][0].get('failureSummary', '')[:200]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _page(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_test_id("stSidebar").get_by_text(name, exact=True).click()
    page.wait_for_timeout(3000)


def test_accessibility_of_every_page(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    ctx, page = open_app(browser, server)
    found = {"chat, first visit": serious_violations(page)}
    ask(page, "Is anything approved for knee arthritis?", expect="Evidence strength for Knee")
    found["chat, after an answer"] = serious_violations(page)
    # every badge colour at once: one condition per evidence strength
    ask(
        page,
        "stem cells for MS, leukemia, glaucoma, knee arthritis, hip arthritis or huntingtons disease?",
        expect="Evidence strength for Glaucoma",
    )
    for words in (
        "standard care",
        "randomized trials show benefit",
        "trials disagree",
        "small studies only",
        "trials found no benefit",
        "lab studies only",
        "not covered",
    ):
        assert page.get_by_text(words, exact=False).count(), words
    found["chat, a badge of every colour"] = serious_violations(page)
    _page(page, "Evidence map")
    page.get_by_text("Conditions by evidence strength", exact=False).first.wait_for(timeout=60_000)
    found["evidence map"] = serious_violations(page)
    page.screenshot(path=str(ARTIFACTS / "evidence-map.png"), full_page=True)
    _page(page, "Maintainer")
    page.get_by_text("Maintainer view", exact=False).first.wait_for(timeout=60_000)
    page.get_by_text("stemchat check", exact=True).first.wait_for(timeout=120_000)
    deadline = time.monotonic() + 60  # the last page's widgets fade out until the rerun ends
    while page.get_by_text("Filter by evidence strength").count() and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    found["maintainer"] = serious_violations(page)
    ctx.close()
    assert all(not v for v in found.values()), found


def test_hostile_markup_never_renders(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    """Reference-style images, bare addresses and raw HTML in what a patient types stay text."""
    ctx, page = open_app(browser, server)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    hostile = (
        "lupus ![p][r] www.evil.example <img src=https://evil.example/a.png> "
        "[click](https://evil.example/x)\n\n[r]: https://evil.example/p.png"
    )
    ask(page, hostile, expect="Evidence strength for Lupus")
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    srcs = page.eval_on_selector_all("img[src]", "els => els.map(e => e.src)")
    assert not [h for h in hrefs if "evil.example" in h]
    assert not [s for s in srcs if "evil.example" in s]
    assert not [r for r in requests if "evil.example" in r]
    ctx.close()
