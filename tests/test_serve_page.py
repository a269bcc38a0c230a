"""The web page at `/`, in real headless chromium against a real `kanjo serve`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

import kanjo
from tests.browser import ARTIFACTS, chromium_page
from tests.server import serving

TYPED = ["温泉がとても良かった。", "スタッフの接客に不満です。", "駐車場は予約制です。"]
UPLOADED = ["朝食は最高に良かった", "ロビーは一階です。", "部屋が汚かった, 本当に悪い",
            "眺めは \"最高\" でした"]


@pytest.fixture(scope="module")
def page_server(exports: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    with serving(exports["int8"], log_dir=tmp_path_factory.mktemp("s")) as server:
        yield server


def _label_cells(page) -> list[str]:
    return page.locator("#results tbody td.label").all_inner_texts()


def test_page_classifies_typed_and_uploaded_japanese_text(page_server, exports,
                                                          tmp_path) -> None:
    clf = kanjo.load(exports["int8"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    upload = tmp_path / "reviews.csv"
    with open(upload, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows([i, text] for i, text in enumerate(UPLOADED))
    with chromium_page(locale="ja-JP", accept_downloads=True) as page:
        page.goto(page_server.url + "/")
        assert page.locator("html").get_attribute("lang") == "ja"
        page.wait_for_function("document.querySelector('#model-info').textContent"
                               ".startsWith('モデル')")
        assert "onnx" in page.inner_text("#model-info")

        page.fill("#texts", "\n".join(TYPED + ['<img src=x onerror="window.pwned=1">']))
        page.click("#classify")
        page.wait_for_selector("#results tbody tr:nth-child(4)")
        labels = _label_cells(page)
        want = clf.predict(TYPED + ['<img src=x onerror="window.pwned=1">'])
        assert [cell.split("（")[-1].rstrip("）") for cell in labels] == want
        assert "ポジティブ" in "".join(labels) or "ネガティブ" in "".join(labels)
        rows = page.locator("#results tbody tr")
        assert rows.nth(0).locator(".bar-row").count() == len(clf.labels.names)
        assert rows.nth(3).locator("td.text").inner_text().startswith("<img")
        assert page.evaluate("window.pwned") is None, "texts are shown as text, never HTML"
        page.screenshot(path=str(ARTIFACTS / "serve-page-typed.png"), full_page=True)

        page.set_input_files("#file", str(upload))
        page.wait_for_function(f"document.querySelector('#count').textContent"
                               f".includes('{len(UPLOADED)} 件')")
        with page.expect_download() as info:
            page.click("#download")
        download = tmp_path / "downloaded.csv"
        info.value.save_as(download)
        assert info.value.suggested_filename == "kanjo-results.csv"
        page.screenshot(path=str(ARTIFACTS / "serve-page-upload.png"), full_page=True)
    content = download.read_bytes().decode("utf-8")
    assert content.startswith("\ufeff"), "a BOM, so that Excel reads UTF-8"
    table = list(csv.DictReader(io.StringIO(content.removeprefix("\ufeff"))))
    assert [row["text"] for row in table] == UPLOADED
    assert [row["label"] for row in table] == clf.predict(UPLOADED)
    proba = clf.predict_proba(UPLOADED)
    for row, p in zip(table, proba, strict=True):
        assert [float(row[f"p_{n}"]) for n in clf.labels.names] == pytest.approx(p, abs=2e-6)


def test_page_highlights_words_from_explain(page_server) -> None:
    pytest.importorskip("kanjo.explain", reason="the word highlights need kanjo.explain")
    with chromium_page(locale="ja-JP") as page:
        page.goto(page_server.url + "/")
        page.wait_for_function("document.querySelector('#model-info').textContent"
                               ".startsWith('モデル')")
        page.fill("#texts", TYPED[0])
        page.click("#classify")
        page.wait_for_selector("#results tbody td.text .word")
        text_cell = page.locator("#results tbody td.text").first
        assert text_cell.inner_text() == TYPED[0], "highlights keep the text as it was"
        assert text_cell.locator(".word").count() >= 2
        page.screenshot(path=str(ARTIFACTS / "serve-page-highlights.png"), full_page=True)


def test_page_and_docs_load_nothing_from_outside(page_server) -> None:
    outside: list[str] = []

    def only_loopback(route) -> None:
        if route.request.url.startswith(page_server.url) or route.request.url.startswith(
                ("data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with chromium_page() as page:
        page.route("**/*", only_loopback)
        page.goto(page_server.url + "/")
        page.wait_for_function("document.querySelector('#model-info').textContent"
                               ".startsWith('モデル')")
        page.goto(page_server.url + "/docs")
        page.wait_for_selector(".swagger-ui .opblock-summary-path", timeout=20000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/predict", "/v1/classify", "/explain", "/info"} <= {p.strip() for p in paths}
    assert outside == [], "no CDN: every asset comes from kanjo"
