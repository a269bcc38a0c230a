"""`kanjo serve`: the real server in a subprocess on a loopback port, tiny real models."""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

import kanjo
from kanjo.serve.batcher import Closed, MicroBatcher, QueueFull
from kanjo.serve.settings import Settings, settings_from_env
from tests.conftest import NEGATIVE, NEUTRAL, POSITIVE, SUBJECTS
from tests.conftest import run_cli as run
from tests.server import serving

TEXTS = ["露天風呂は最高でした。", "夕食がとても悪かった。", "フロントは一階です。",
         "眺めに大満足です", "ベッドが汚かった。駐車場は予約制です。", "良い",
         "スタッフの接客はひどい。"]
LONG = "部屋は最高でした。" * 40  # 360 characters: over the tiny models' 128 tokens


def _texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    endings = POSITIVE + NEGATIVE + NEUTRAL
    return [f"{SUBJECTS[rng.integers(len(SUBJECTS))]}{endings[rng.integers(len(endings))]}"
            f"{'。' * int(rng.integers(1, 4))}" for _ in range(n)]


def _error(response: httpx.Response, status: int, error_type: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_type"} and body["error_type"] == error_type, body
    return body["error"]


def _metric(text: str, name: str, **labels: str) -> float:
    """The value of the sample ``name{labels}`` in Prometheus text format (0 if absent)."""
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if match and match[1] == name and dict(re.findall(r'(\w+)="([^"]*)"',
                                                          match[2] or "")) == labels:
            return float(match[3])
    return 0.0


@pytest.fixture(scope="module")
def torch_server(trained: Path, tmp_path_factory: pytest.TempPathFactory):
    with serving(trained, "--max-wait-ms", "20", log_dir=tmp_path_factory.mktemp("s")) as s:
        yield s


@pytest.fixture(scope="module")
def guarded_server(exports: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    """The int8 export behind an API key, small limits and CORS for one origin."""
    flags = ["--api-key-env", "KANJO_TEST_KEY", "--max-texts", "4", "--max-chars", "400",
             "--max-body-bytes", "4000", "--cors-origin", "http://app.example"]
    with serving(exports["int8"], *flags, env={"KANJO_TEST_KEY": "s3cret-k3y-2026"},
                 log_dir=tmp_path_factory.mktemp("s")) as s:
        yield s


KEY = {"Authorization": "Bearer s3cret-k3y-2026"}


@pytest.mark.parametrize("which", ["torch", "int8"])
def test_predictions_equal_kanjo_predict(which, trained, exports, torch_server, guarded_server,
                                         capsys) -> None:
    model, server = (trained, torch_server) if which == "torch" else (exports["int8"],
                                                                      guarded_server)
    code, stdout, _ = run(["predict", str(model), *TEXTS[:3], LONG], capsys)
    assert code == 0
    want = [json.loads(line) for line in stdout.splitlines()]
    headers = KEY if which == "int8" else {}
    with server.client(headers=headers) as client:
        got = client.post("/v1/classify", json={"texts": TEXTS[:3] + [LONG]}).json()
        tei_one = client.post("/predict", json={"inputs": TEXTS[0]}).json()
        tei_many = client.post("/predict", json={"inputs": TEXTS[:3] + [LONG]}).json()
        raw = client.post("/predict", json={"inputs": TEXTS[:2], "raw_scores": True}).json()
    rows = got["predictions"]
    assert [r["text"] for r in rows] == [w["text"] for w in want]
    assert [r["label"] for r in rows] == [w["label"] for w in want]
    for r, w in zip(rows, want, strict=True):
        assert r["probabilities"].keys() == w["probabilities"].keys()
        np.testing.assert_allclose(list(r["probabilities"].values()),
                                   list(w["probabilities"].values()), atol=1e-5)
    assert [r["truncated"] for r in rows] == [False] * 3 + [True]
    # text-embeddings-inference's shapes: every label, highest score first
    assert [x["label"] for x in tei_one] == [x["label"] for x in tei_many[0]]
    # dynamic int8 scales activations per batch: a text's scores move with its batch neighbours
    batch_noise = 1e-6 if which == "torch" else 1e-3
    assert [x["score"] for x in tei_one] == pytest.approx([x["score"] for x in tei_many[0]],
                                                          abs=batch_noise)
    for tei, w in zip(tei_many, want, strict=True):
        assert [x["label"] for x in tei][0] == w["label"]
        assert [x["score"] for x in tei] == sorted((x["score"] for x in tei), reverse=True)
        assert {x["label"]: x["score"] for x in tei} == pytest.approx(w["probabilities"], abs=1e-5)
    clf = kanjo.load(model)
    logits, _ = clf.backend.logits(TEXTS[:2], 8)
    for tei, row in zip(raw, logits, strict=True):
        scores = {x["label"]: x["score"] for x in tei}
        assert [scores[n] for n in clf.labels.names] == pytest.approx(row.tolist(), abs=1e-4)


def test_fifty_concurrent_clients_each_get_their_own_results(trained, torch_server) -> None:
    clf = kanjo.load(trained)
    requests = [_texts(1 + i % 4, seed=i) for i in range(50 * 4)]  # 4 requests per client
    expected = [clf.predict_proba(texts) for texts in requests]
    start = threading.Barrier(50)

    def client(index: int) -> list[tuple[int, dict]]:
        answers = []
        with torch_server.client() as http:
            start.wait()
            for k in range(index * 4, index * 4 + 4):
                answers.append((k, http.post("/v1/classify", json={"texts": requests[k]})))
        return answers

    with ThreadPoolExecutor(50) as pool:
        results = [a for answers in pool.map(client, range(50)) for a in answers]
    assert len(results) == 200
    for k, response in results:
        assert response.status_code == 200, response.text
        rows = response.json()["predictions"]
        assert [r["text"] for r in rows] == requests[k]
        got = np.array([[r["probabilities"][n] for n in clf.labels.names] for r in rows])
        np.testing.assert_allclose(got, expected[k], atol=1e-5)
    metrics = httpx.get(f"{torch_server.url}/metrics").text
    batches = _metric(metrics, "kanjo_batch_size_count")
    texts = _metric(metrics, "kanjo_batch_size_sum")
    assert texts >= sum(map(len, requests)) and batches < 200, "requests were batched together"


def test_health_info_metrics_and_docs(torch_server, trained) -> None:
    with torch_server.client() as client:
        assert client.get("/health").json() == {"status": "ok"}
        info = client.get("/info").json()
        extra = client.post("/v1/classify", json={"texts": ["a"], "bogus": 1})
        client.post("/v1/classify", json={"texts": []})
        metrics = client.get("/metrics")
        docs = client.get("/docs")
        schema = client.get("/openapi.json").json()
        page = client.get("/")
    assert extra.status_code == 200, "unknown fields are ignored, as TEI ignores them"
    assert info["labels"] == list(kanjo.load(trained).labels.names)
    assert info["backend"] == "torch" and info["max_length"] == 128
    assert info["version"] == kanjo.__version__ and info["auth"] is False
    assert info["limits"]["max_texts"] == 64
    assert metrics.headers["content-type"].startswith("text/plain")
    assert _metric(metrics.text, "kanjo_request_failures_total", route="/v1/classify",
                   error_type="empty") == 1
    assert _metric(metrics.text, "kanjo_requests_total", route="/info", status="200") >= 1
    assert "kanjo_request_latency_seconds_bucket" in metrics.text
    assert "kanjo_queue_depth" in metrics.text
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()
    assert {"/predict", "/v1/classify", "/explain", "/health", "/info", "/metrics"} <= set(
        schema["paths"])
    assert page.status_code == 200 and "<html lang=\"ja\">" in page.text
    assert "http://127.0.0.1:" in torch_server.output(), "binds loopback by default"


def test_every_limit_and_error_answers_json_with_its_status(guarded_server) -> None:
    with guarded_server.client(headers=KEY) as client:
        post = client.post
        before = client.get("/metrics").text
        _error(post("/v1/classify", json={"texts": []}), 400, "empty")
        _error(post("/predict", json={"inputs": []}), 400, "empty")
        _error(post("/v1/classify", json={"texts": ["良い"] * 5}), 413, "payload_too_large")
        _error(post("/predict", json={"inputs": "あ" * 401}), 413, "payload_too_large")
        _error(post("/predict", content=b'{"inputs": "' + b"a" * 5000 + b'"}',
                    headers={"content-type": "application/json"}), 413, "payload_too_large")
        chunked = (part for part in [b'{"inputs": "', b"a" * 3000, b"b" * 3000, b'"}'])
        _error(post("/predict", content=chunked, headers={"content-type": "application/json"}),
               413, "payload_too_large")
        message = _error(post("/predict", json={"inputs": LONG, "truncate": False}), 413,
                         "validation")
        assert "truncate" in message
        assert post("/predict", json={"inputs": LONG}).status_code == 200  # cut by default
        _error(post("/v1/classify", json={"texts": ["良い", "  "]}), 422, "validation")
        _error(post("/v1/classify", json={"texts": "良い"}), 422, "validation")
        _error(post("/v1/classify", json={"text": ["良い"]}), 422, "validation")
        _error(post("/predict", json={"inputs": [1, 2]}), 422, "validation")
        _error(post("/predict", content=b'{"inputs": "\\ud800"}',  # a lone surrogate
                    headers={"content-type": "application/json"}), 422, "validation")
        _error(post("/predict", content=b"{not json", headers={"content-type":
                                                                 "application/json"}),
               422, "validation")
        _error(post("/predict", content="[]", headers={"content-type": "application/json"}),
               422, "validation")
        _error(client.get("/no/such/route"), 404, "not_found")
        _error(client.get("/predict"), 405, "method_not_allowed")
        try:
            import kanjo.explain  # noqa: F401
        except ImportError:
            _error(post("/explain", json={"texts": ["良い"]}), 501, "not_available")
        metrics = client.get("/metrics").text
    assert _metric(metrics, "kanjo_requests_total", route="/predict", status="500") == 0
    too_large = {"name": "kanjo_request_failures_total", "route": "/predict",
                 "error_type": "payload_too_large"}
    assert _metric(metrics, **too_large) - _metric(before, **too_large) == 3
    assert "Traceback" not in guarded_server.output()


def test_api_key_guards_every_route_but_health(guarded_server) -> None:
    body = {"inputs": "駅から近くて便利でした。"}
    with guarded_server.client() as client:
        assert client.get("/health").status_code == 200
        _error(client.post("/predict", json=body), 401, "unauthorized")
        _error(client.post("/v1/classify", json={"texts": ["良い"]}), 401, "unauthorized")
        _error(client.get("/info"), 401, "unauthorized")
        _error(client.get("/metrics"), 401, "unauthorized")
        _error(client.post("/predict", json=body, headers={"Authorization": "Bearer s3cret"}),
               401, "unauthorized")
        _error(client.post("/predict", json=body, headers={"X-API-Key": "wrong"}), 401,
               "unauthorized")
        assert client.post("/predict", json=body, headers=KEY).status_code == 200
        assert client.post("/predict", json=body, headers={
            "X-API-Key": KEY["Authorization"].removeprefix("Bearer ")}).status_code == 200
        assert client.get("/info", headers=KEY).json()["auth"] is True
    assert "s3cret" not in guarded_server.output(), "the key never reaches the log"


def test_cors_is_off_unless_an_origin_is_enabled(torch_server, guarded_server) -> None:
    preflight = {"Origin": "http://app.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    open_ = httpx.options(f"{torch_server.url}/predict", headers=preflight)
    assert "access-control-allow-origin" not in open_.headers
    enabled = httpx.options(f"{guarded_server.url}/predict", headers=preflight)
    assert enabled.headers["access-control-allow-origin"] == "http://app.example"
    other = httpx.options(f"{guarded_server.url}/predict",
                          headers={**preflight, "Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_a_full_queue_answers_429_with_retry_after(exports, tmp_path) -> None:
    flags = ["--max-queue", "3", "--max-wait-ms", "1500", "--max-batch-size", "64"]
    with serving(exports["int8"], *flags, log_dir=tmp_path) as server, \
            ThreadPoolExecutor(1) as pool:
        first = pool.submit(httpx.post, f"{server.url}/v1/classify",
                            json={"texts": TEXTS[:3]}, timeout=30)
        deadline = time.monotonic() + 10
        while _metric(httpx.get(f"{server.url}/metrics").text, "kanjo_queue_depth") < 3:
            assert time.monotonic() < deadline, "the first request was never queued"
            time.sleep(0.02)
        full = httpx.post(f"{server.url}/predict", json={"inputs": "良い"})
        _error(full, 429, "overloaded")
        assert int(full.headers["retry-after"]) >= 1
        assert first.result().status_code == 200, "the queued request still gets its answer"
        assert httpx.post(f"{server.url}/predict", json={"inputs": "良い"}).status_code == 200


def test_sigterm_drains_in_flight_requests(exports, tmp_path) -> None:
    clf = kanjo.load(exports["int8"])
    flags = ["--max-wait-ms", "3000", "--max-batch-size", "256"]
    requests = [_texts(1 + i % 3, seed=100 + i) for i in range(20)]
    with serving(exports["int8"], *flags, log_dir=tmp_path) as server, \
            ThreadPoolExecutor(20) as pool:
        futures = [pool.submit(httpx.post, f"{server.url}/v1/classify", json={"texts": t},
                               timeout=30) for t in requests]
        deadline = time.monotonic() + 10
        while _metric(httpx.get(f"{server.url}/metrics").text, "kanjo_queue_depth") < sum(
                map(len, requests)):
            assert time.monotonic() < deadline, "the requests were never all queued"
            time.sleep(0.02)
        code = server.stop(timeout=30)  # SIGTERM while all 20 wait in the queue
        answers = [f.result() for f in futures]
        # uvicorn re-raises the SIGTERM it caught once it has drained and shut down
        assert code in (0, -signal.SIGTERM), server.output()
        assert "Application shutdown complete" in server.output()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.url}/health")
    for texts, response in zip(requests, answers, strict=True):
        assert response.status_code == 200, response.text
        rows = response.json()["predictions"]
        assert [r["label"] for r in rows] == clf.predict(texts)
    assert "Traceback" not in server.output()


def test_the_app_factory_runs_under_several_uvicorn_workers(exports, tmp_path) -> None:
    command = [sys.executable, "-m", "uvicorn", "--factory", "kanjo.serve:from_env",
               "--workers", "2", "--host", "127.0.0.1", "--port", "{port}"]
    env = {"KANJO_MODEL": str(exports["int8"]), "KANJO_MAX_TEXTS": "2"}
    with serving(exports["int8"], log_dir=tmp_path, env=env, command=command) as server:
        with server.client() as client:
            answers = [client.post("/predict", json={"inputs": TEXTS[:2]}) for _ in range(6)]
            too_many = client.post("/predict", json={"inputs": TEXTS[:3]})
        assert server.output().count("Started server process") == 2
    want = kanjo.load(exports["int8"]).predict(TEXTS[:2])
    for response in answers:
        assert [max(row, key=lambda x: x["score"])["label"] for row in response.json()] == want
    _error(too_many, 413, "payload_too_large")  # the KANJO_MAX_TEXTS setting holds


def test_explain_gives_word_attributions_per_text(torch_server) -> None:
    pytest.importorskip("kanjo.explain", reason="/explain calls kanjo.explain (a 501 without it)")
    texts = TEXTS[:2]
    with torch_server.client() as client:
        labels = [r["label"] for r in client.post("/v1/classify", json={"texts": texts}).json()[
            "predictions"]]
        answer = client.post("/explain", json={"texts": texts})
        targeted = client.post("/explain", json={"texts": texts[:1], "target": "neutral"})
        unknown = client.post("/explain", json={"texts": texts[:1], "target": "no-such-label"})
        too_many = client.post("/explain", json={"texts": ["良い"] * 9})
    assert answer.status_code == 200, answer.text
    explanations = answer.json()["explanations"]
    assert [e["text"] for e in explanations] == texts
    assert [e["label"] for e in explanations] == labels
    for e in explanations:
        assert e["words"] and all(0 <= w["start"] < w["end"] <= len(e["text"])
                                  for w in e["words"])
    assert targeted.json()["explanations"][0]["target"] == "neutral"
    _error(unknown, 422, "validation")
    _error(too_many, 413, "payload_too_large")


def test_serve_refuses_an_unset_api_key_variable(trained, capsys, monkeypatch) -> None:
    monkeypatch.delenv("KANJO_NO_SUCH_KEY", raising=False)
    code, _, err = run(["serve", str(trained), "--api-key-env", "KANJO_NO_SUCH_KEY"], capsys)
    assert code == 2 and "KANJO_NO_SUCH_KEY is unset or empty" in err


def test_settings_from_environment_variables() -> None:
    settings = settings_from_env({"KANJO_MAX_TEXTS": "7", "KANJO_MAX_WAIT_MS": "2.5",
                                  "KANJO_API_KEY_ENV": "K", "K": "key",
                                  "KANJO_CORS_ORIGINS": "http://a.example, http://b.example"})
    assert settings.max_texts == 7 and settings.max_wait_ms == 2.5 and settings.api_key == "key"
    assert settings.cors_origins == ("http://a.example", "http://b.example")
    assert "api_key" not in settings.limits()
    with pytest.raises(kanjo.errors.KanjoError, match="not a number"):
        settings_from_env({"KANJO_MAX_TEXTS": "many"})
    with pytest.raises(kanjo.errors.KanjoError, match="at least 1"):
        Settings(max_queue=0)


def _lengths(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A stand-in model that is real code: each text's score row is its length and its first
    character's code, so a misplaced row shows."""
    scores = np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32)
    return scores, np.array([len(t) > 5 for t in texts])


def test_batcher_cuts_batches_by_size_and_tokens_and_keeps_each_request_apart() -> None:
    sizes: list[int] = []
    batcher = MicroBatcher(_lengths, max_batch_size=4, max_batch_tokens=10, max_wait_ms=200,
                           max_queue=100, on_batch=sizes.append)
    try:
        jobs = [["あい", "う"], ["えおか"], ["き"], ["くけこさしすせそ"], ["せ", "そ", "た"]]
        futures = [batcher.submit(texts) for texts in jobs]
        for texts, future in zip(jobs, futures, strict=True):
            scores, flags = future.result(5)
            np.testing.assert_array_equal(scores, _lengths(texts)[0])
            assert flags.tolist() == [len(t) > 5 for t in texts]
        # the budget of 10 estimated tokens cuts each take: 3 + 3 + 1 (+ 8), then 8 (+ 3), 3
        assert sizes == [4, 1, 3]
    finally:
        batcher.close()


def test_batcher_takes_everything_queued_within_the_token_budget() -> None:
    calls: list[list[str]] = []
    release = threading.Event()

    def record(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        calls.append(texts)
        release.wait(5)  # the first call holds the worker while the others queue up
        return _lengths(texts)

    batcher = MicroBatcher(record, max_batch_size=4, max_batch_tokens=1000, max_wait_ms=0,
                           max_queue=100)
    try:
        first = batcher.submit(["はじめ"])
        while not calls:
            time.sleep(0.001)
        texts = [f"{chr(0x3042 + i)}い" for i in range(10)]
        futures = [batcher.submit([t]) for t in texts]
        release.set()
        assert [f.result(5)[0][0, 1] for f in futures] == [ord(t[0]) for t in texts]
        assert first.result(5)[0].shape == (1, 2)
        # all 10 in one call, more than max_batch_size: the predictor sorts them by length and
        # runs its own forward passes of max_batch_size
        assert calls == [["はじめ"], texts]
    finally:
        batcher.close()


def test_batcher_skips_a_cancelled_request_and_keeps_serving() -> None:
    release = threading.Event()
    calls: list[list[str]] = []

    def slow(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        calls.append(texts)
        release.wait(5)
        return _lengths(texts)

    batcher = MicroBatcher(slow, max_batch_size=8, max_batch_tokens=100, max_wait_ms=0,
                           max_queue=10)
    try:
        first = batcher.submit(["いち"])
        while not calls:
            time.sleep(0.001)
        gone = batcher.submit(["にー"])  # its client disconnects while it waits
        assert gone.cancel()
        kept = batcher.submit(["さん"])
        release.set()
        assert first.result(5)[0].shape == (1, 2) and kept.result(5)[0][0, 1] == ord("さ")
        assert calls == [["いち"], ["さん"]], "the cancelled text never reached the model"
        assert batcher.submit(["よん"]).result(5)[0][0, 1] == ord("よ"), "the worker lives on"
    finally:
        batcher.close()


def test_batcher_workers_compute_side_by_side_and_exclusive_calls_run_alone() -> None:
    both = threading.Barrier(2, timeout=5)  # passes only if two batches run at the same time
    active: list[int] = [0]
    overlaps: list[str] = []
    lock = threading.Lock()

    def predict(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        with lock:
            active[0] += 1
        if texts[0].startswith("同時"):
            both.wait()
        time.sleep(0.01)
        with lock:
            active[0] -= 1
        return _lengths(texts)

    def exclusive() -> str:
        with lock:
            if active[0]:
                overlaps.append(f"{active[0]} batches ran beside the exclusive call")
        return "alone"

    batcher = MicroBatcher(predict, max_batch_size=8, max_batch_tokens=4, max_wait_ms=0,
                           max_queue=1000, workers=2)
    try:
        pair = [batcher.submit([f"同時{i}"]) for i in range(2)]  # 4 tokens: one per turn
        assert [f.result(5)[0][0, 0] for f in pair] == [3, 3], "the two turns ran together"
        futures, calls = [], []
        for i in range(60):
            futures.append((i, batcher.submit([f"{i:02d}番"])))
            if i % 10 == 5:
                calls.append(batcher.call(exclusive))
        for i, future in futures:
            assert future.result(5)[0][0, 1] == ord(f"{i:02d}"[0]), "its own result"
        assert [c.result(5) for c in calls] == ["alone"] * 6 and overlaps == []
    finally:
        batcher.close(5)
    assert not any(t.is_alive() for t in batcher._threads), "close stops every worker"


def test_an_onnx_classifier_shared_by_threads_scores_as_alone(exports) -> None:
    clf = kanjo.load(exports["int8"])
    texts = _texts(96, seed=3) + [LONG]
    alone = clf.logits_and_truncation(texts, batch_size=8)
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda _: clf.logits_and_truncation(texts, batch_size=8), range(8)))
    for scores, truncated in runs:
        np.testing.assert_allclose(scores, alone[0], atol=1e-6)
        assert truncated.tolist() == alone[1].tolist()


def test_batcher_refuses_work_when_full_and_drains_on_close() -> None:
    release = threading.Event()
    started = threading.Event()

    def slow(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        started.set()
        release.wait(5)
        return _lengths(texts)

    batcher = MicroBatcher(slow, max_batch_size=2, max_batch_tokens=100, max_wait_ms=0,
                           max_queue=3)
    first = batcher.submit(["いち"])
    started.wait(5)  # the worker holds the first; the queue is empty again
    queued = [batcher.submit(["に", "さん"])]
    order: list[str] = []
    exclusive = batcher.call(lambda: order.append("call") or "done")  # counts as one text
    with pytest.raises(QueueFull):
        batcher.submit(["よん"])
    with pytest.raises(QueueFull):
        batcher.call(lambda: None)
    release.set()
    closer = threading.Thread(target=batcher.close)
    closer.start()
    closer.join(5)
    assert first.result(1)[0][0, 0] == 2 and queued[0].result(1)[0].shape[0] == 2
    assert exclusive.result(1) == "done" and order == ["call"]
    with pytest.raises(Closed):
        batcher.submit(["ろく"])


def test_logits_and_truncation_flags_each_truncated_text(trained) -> None:
    clf = kanjo.load(trained)
    clf.predict_proba(TEXTS)
    assert clf.last_truncated == 0
    texts = [TEXTS[0], LONG, TEXTS[1], LONG + "。"]
    scores, truncated = clf.logits_and_truncation(texts, batch_size=2)
    assert truncated.tolist() == [False, True, False, True]
    assert clf.last_truncated == 0, "keeps no state"
    np.testing.assert_allclose(clf.probabilities(scores), clf.predict_proba(texts), atol=1e-6)
    assert clf.last_truncated == 2
