"""Serving throughput and latency: `kanjo serve` on the int8 export against a plain FastAPI
endpoint calling ``transformers.pipeline`` per request on the same model, in one run.

    python benchmarks/serve.py --model DIR [--clients 50] [--requests 200] [--time-limit 120]
                               [--record]

``--model``: a kanjo model trained on JRTE pn (``kanjo train pn.train-dev.tsv --out DIR``); its
trimmed int8 export is made next to it when missing. Traffic goes to 127.0.0.1 only and is
bounded: every client sends at most ``--requests`` requests and stops at ``--time-limit``
seconds per server. The request mix: even requests one sentence, odd ones a batch of 8, drawn
from the 5,000 pn sentences (CC BY-NC-SA 4.0, read from ../shared/data, never copied).

Measured: (a) `kanjo serve` on the trimmed int8 export, (b) the pipeline endpoint; their
throughput (texts/s and requests/s), p50/p95/p99 latency and errors under ``--clients``
concurrent clients; (c) the offline throughput of the same export (``Classifier.
predict_proba`` on every text (a) was sent, batches of 64, as ``kanjo predict`` runs); (d) one
client's latency for one short text, 200 requests in a row, against (a).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from results import PN, ROOT, replace_section  # (benchmarks/ is on sys.path)

SHORT = "朝ごはんがおいしくて、また泊まりたいです。"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """A server subprocess, returned once GET /health answers 200 (or raise)."""
    import httpx

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"),
                                                        os.environ.get("PYTHONPATH", "")])}
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[:4]} exited:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    stop(process)
    raise RuntimeError(f"{command[:4]} did not start:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def plan(texts: list[str], clients: int, requests: int, seed: int = 0) -> list[list[Any]]:
    """Per client, its requests: a sentence (even) or a list of 8 (odd)."""
    rng = random.Random(seed)
    return [[rng.choice(texts) if j % 2 == 0 else rng.sample(texts, 8) for j in range(requests)]
            for _ in range(clients)]


async def load(url: str, work: list[list[Any]], time_limit: float) -> dict[str, Any]:
    """Every client sends its requests one after another until done or out of time.

    The clients are aiohttp's (one keep-alive connection each): on this benchmark's shared
    cores they cost about a third of the CPU that httpx's AsyncClient does (measured: 0.13
    against 0.37 cores at about 100 requests/s), CPU that the server under test would lose."""
    import aiohttp

    latencies: list[float] = []
    errors: dict[str, int] = {}
    sent: list[str] = []
    connector = aiohttp.TCPConnector(limit=len(work))
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as http:
        deadline = time.perf_counter() + time_limit

        async def client(requests: list[Any]) -> None:
            for inputs in requests:
                if time.perf_counter() > deadline:
                    return
                t0 = time.perf_counter()
                try:
                    async with http.post("/predict", json={"inputs": inputs}) as response:
                        body = await response.json() if response.status == 200 else None
                        status = response.status
                    ok = isinstance(body, list) and len(body) == (
                        len(inputs) if isinstance(inputs, list) else len(body)) and bool(body)
                    key = "ok" if ok else f"HTTP {status}"
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    key = type(exc).__name__
                if key == "ok":
                    latencies.append(time.perf_counter() - t0)
                    sent.extend(inputs if isinstance(inputs, list) else [inputs])
                else:
                    errors[key] = errors.get(key, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(client(requests) for requests in work))
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "requests": len(latencies), "texts": len(sent), "sent": sent,
            "errors": errors, "latencies": latencies,
            "planned": sum(map(len, work)), "timed_out": seconds >= time_limit}


def percentiles(latencies: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return q[49] * 1000, q[94] * 1000, q[98] * 1000


def baseline_app(model: str) -> Any:
    """The plain way: FastAPI calling a transformers pipeline on each request as it comes."""
    from fastapi import FastAPI
    from transformers import pipeline

    classify = pipeline("text-classification", model=model, device="cpu", top_k=None)
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/predict")
    def predict(body: dict[str, Any]) -> Any:
        return classify(body["inputs"], truncation=True)

    return app


def serve_baseline(model: str, port: int) -> None:
    import uvicorn

    uvicorn.run(baseline_app(model), host="127.0.0.1", port=port, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="a kanjo model trained on pn")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200, help="per client")
    parser.add_argument("--time-limit", type=float, default=120, help="seconds per server")
    parser.add_argument("--record", action="store_true", help="write benchmarks/RESULTS.md")
    parser.add_argument("--model-note", default="", help="how the model was trained (replaces "
                        "the default description in the record)")
    parser.add_argument("--baseline-server", help=argparse.SUPPRESS)  # internal: serve (b)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_server:
        serve_baseline(args.baseline_server, args.port)
        return

    import kanjo
    from kanjo.data import read_table

    export = args.model.parent / f"{args.model.name}-int8-trimmed"
    if not export.exists():
        subprocess.run([sys.executable, "-m", "kanjo", "export", str(args.model), "--out",
                        str(export), "--quantize", "int8", "--trim-vocab"], check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    texts = read_table(PN).texts
    work = plan(texts, args.clients, args.requests)
    logs = args.model.parent
    load_before = os.getloadavg()[0]
    results: dict[str, dict[str, Any]] = {}

    port = free_port()
    server = start([sys.executable, "-m", "kanjo", "serve", str(export), "--port", str(port),
                    "--log-level", "warning"], port, logs / "bench-serve.log")
    try:
        url = f"http://127.0.0.1:{port}"
        asyncio.run(load(url, [[SHORT] * 20], 30))  # warm-up
        server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
        results["kanjo serve (int8, trimmed)"] = asyncio.run(load(url, work, args.time_limit))
        results["kanjo serve (int8, trimmed)"]["server_cpu"] = cpu_seconds(server.pid) - server_cpu
        results["kanjo serve (int8, trimmed)"]["client_cpu"] = time.process_time() - client_cpu
        single = asyncio.run(load(url, [[SHORT] * 200], 60))
    finally:
        stop(server)

    port = free_port()
    server = start([sys.executable, __file__, "--model", str(args.model), "--baseline-server",
                    str(args.model), "--port", str(port)], port, logs / "bench-pipeline.log")
    try:
        url = f"http://127.0.0.1:{port}"
        asyncio.run(load(url, [[SHORT] * 5], 30))  # warm-up
        results["FastAPI + pipeline per request"] = asyncio.run(
            load(url, work, args.time_limit))
    finally:
        stop(server)

    clf = kanjo.load(export)
    offline_texts = results["kanjo serve (int8, trimmed)"]["sent"]
    clf.predict_proba(offline_texts[:64])
    t0, c0 = time.perf_counter(), time.process_time()
    clf.predict_proba(offline_texts, batch_size=64)
    offline = len(offline_texts) / (time.perf_counter() - t0)
    offline_per_cpu = len(offline_texts) / (time.process_time() - c0)
    load_after = os.getloadavg()[0]

    table = report(results, single, offline, offline_per_cpu, args, load_before, load_after)
    print(table)
    if args.record:
        replace_section(table)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its threads so far."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def report(results: dict[str, dict[str, Any]], single: dict[str, Any], offline: float,
           offline_per_cpu: float,
           args: argparse.Namespace, load_before: float, load_after: float) -> str:
    import kanjo

    lines = [
        "## Serving (`kanjo serve`)", "",
        f"`python benchmarks/serve.py --model DIR --clients {args.clients} --requests "
        f"{args.requests} --time-limit {args.time_limit:g}`, {time.strftime('%Y-%m-%d')}, "
        f"kanjo {kanjo.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, load average {load_before:.1f} at the start and "
        f"{load_after:.1f} at the end (a shared machine). Model: "
        f"{args.model_note or 'the default encoder fine-tuned on pn'}, served (a) by `kanjo "
        "serve` on its "
        "trimmed int8 export "
        "(default settings: one batch worker per core, each on one onnxruntime thread, taking "
        "all queued texts up to 8,192 estimated tokens; forward passes of at most 64 texts and "
        "512 padded tokens; 5 ms wait) and (b) by a plain FastAPI "
        "endpoint calling `transformers.pipeline` on the torch model per request. Clients: "
        "`aiohttp.ClientSession`, one connection each, POST /predict; even requests one pn "
        "sentence, odd ones 8; each client stops after its requests or the time limit.", "",
        "| server | requests | texts | seconds | texts/s | requests/s | p50 ms | p95 ms | "
        "p99 ms | errors |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        p50, p95, p99 = percentiles(r["latencies"]) if r["latencies"] else (0, 0, 0)
        errors = ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "0"
        done = f"{r['requests']:,} of {r['planned']:,}"
        lines.append(f"| {name} | {done} | {r['texts']:,} | {r['seconds']:.1f} | "
                     f"{r['texts'] / r['seconds']:.0f} | {r['requests'] / r['seconds']:.1f} | "
                     f"{p50:.0f} | {p95:.0f} | {p99:.0f} | {errors} |")
    a, b = results["kanjo serve (int8, trimmed)"], results["FastAPI + pipeline per request"]
    rate_a, rate_b = a["texts"] / a["seconds"], b["texts"] / b["seconds"]
    p50, p95, p99 = percentiles(single["latencies"])
    lines += [
        "",
        f"- (a) ÷ (b) throughput: **{rate_a / rate_b:.1f}×** (goal ≥ 4×).",
        f"- (a) ÷ offline throughput of the same export on the same {len(a['sent']):,} texts "
        f"(`predict_proba`, batches of 64, as `kanjo predict` runs: {offline:.0f} texts/s): "
        f"**{rate_a / offline:.0%}** "
        "(goal ≥ 70 %).",
        f"- Where the CPU went during (a)'s {a['seconds']:.0f} s ({os.cpu_count()} cores: "
        f"{(os.cpu_count() or 1) * a['seconds']:.0f} CPU-seconds): the server "
        f"{a['server_cpu']:.0f}, the benchmark's "
        f"own clients {a['client_cpu']:.0f}. Per CPU-second of its own, the server scored "
        f"{a['texts'] / a['server_cpu']:.0f} texts, offline `predict_proba` "
        f"{offline_per_cpu:.0f}: **{a['texts'] / a['server_cpu'] / offline_per_cpu:.0%}** of "
        "offline (the serving overhead proper, without the clients' share of the cores).",
        f"- One client, one short text ({len(SHORT)} characters), {single['requests']} requests "
        f"in a row against (a): p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 **{p99:.1f} ms** "
        f"(goal ≤ 50 ms); errors {sum(single['errors'].values())}.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
