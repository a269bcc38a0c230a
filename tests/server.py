"""A real `kanjo serve` in a subprocess on a free loopback port, always stopped afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, **options: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **options)  # type: ignore[arg-type]

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds; the code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(model: Path, *flags: str, log_dir: Path, env: dict[str, str] | None = None,
            start_timeout: float = 120, command: list[str] | None = None) -> Iterator[Server]:
    """`kanjo serve MODEL --port P FLAGS` on 127.0.0.1, ready (``/health`` 200) when yielded;
    ``command``: run this instead (``{port}`` in it is replaced by the port)."""
    port = free_port()
    argv = ([a.replace("{port}", str(port)) for a in command] if command else
            [sys.executable, "-m", "kanjo", "serve", str(model), "--port", str(port), *flags])
    log = log_dir / f"serve-{port}.log"
    environment = {**os.environ, **(env or {}),
                   "PYTHONPATH": os.pathsep.join([str(ROOT / "src"),
                                                  os.environ.get("PYTHONPATH", "")])}
    with open(log, "wb") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=environment,
                                   cwd=log_dir)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"kanjo serve exited ({process.returncode}):\n"
                                   f"{server.output()}")
            try:
                if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"kanjo serve did not start:\n{server.output()}")
            time.sleep(0.2)
        yield server
    finally:
        server.stop()
