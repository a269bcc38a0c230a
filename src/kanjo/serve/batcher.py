"""The micro-batcher: concurrent requests' texts run through the model together, on one thread.

Why kanjo's own and not a library: what it must do is small but specific — a bounded queue
counted in *texts* (so one request of 64 texts weighs what 64 single requests do), a batch cut
by an estimated token budget, a per-request slice of each result handed
back to an asyncio future, and exclusive calls (``/explain``) that must not run alongside a
batch on the same model. The general-purpose batching packages do the first or the last, not
both, and would still need this code around them.

Worker threads own the model: the event loop only queues and awaits, so it never blocks on
inference. With one worker (torch) the backend is never called from two threads at once; an
onnxruntime session may be (its ``run`` is thread-safe), so an ONNX export is served by one
worker per core, each session call on one thread. Measured on 2 cores (benchmarks/serve.py):
two single-threaded workers scored 1.5x the texts per CPU-second of one worker whose calls use
both cores, because small forward passes split over two threads mostly wait on each other.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Predict = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]


class QueueFull(Exception):
    """The queue holds ``max_queue`` texts already: try again later (HTTP 429)."""


class Closed(Exception):
    """The batcher is draining for shut-down and takes no new work (HTTP 503)."""


@dataclass
class _Job:
    texts: list[str] | None  # None: an exclusive call
    cost: int
    future: Future[Any] = field(default_factory=Future)
    call: Callable[[], Any] | None = None
    queued_at: float = field(default_factory=time.perf_counter)


class MicroBatcher:
    """Queues requests' texts and runs them through ``predict`` together.

    Each turn of a worker thread takes the queued requests, in arrival order, whose estimated
    tokens (``cost``) sum to at most ``max_batch_tokens`` (always at least one request), and
    calls ``predict(texts) -> (scores [n, k], truncated [n])`` once on all their texts; the
    predictor sorts them by length and runs forward passes of at most ``max_batch_size``. Taking all
    that waits, not one batch's worth, is what keeps padding small under load: sorted together,
    the texts fall into batches of similar length (measured once, on a loaded 2-core machine:
    2.6-4x the texts/s of calls of 32 random pn sentences). When the queue is short, the first
    request waits up to ``max_wait_ms`` for ``max_batch_size`` texts to gather.
    ``workers`` threads take turns from the one queue, so one takes what arrives while another
    computes; an exclusive call (:meth:`call`) waits until no batch runs, and none starts while
    it does. ``on_batch(n_texts)`` and ``on_queue(n_waiting)`` report to the metrics.
    """

    def __init__(self, predict: Predict, *, max_batch_size: int, max_batch_tokens: int,
                 max_wait_ms: float, max_queue: int, workers: int = 1,
                 cost: Callable[[str], int] = len,
                 on_batch: Callable[[int], None] | None = None,
                 on_queue: Callable[[int], None] | None = None) -> None:
        self._predict = predict
        self.max_batch_size = max_batch_size
        self.max_batch_tokens = max_batch_tokens
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self._cost = cost
        self._on_batch = on_batch or (lambda n: None)
        self._on_queue = on_queue or (lambda n: None)
        self._jobs: deque[_Job] = deque()
        self._waiting = 0  # texts queued
        self._lock = threading.Condition()
        self._closed = False
        self._running = 0  # turns being computed
        self._exclusive = False  # an exclusive call is running
        self._threads = [threading.Thread(target=self._run, name=f"kanjo-batcher-{i}",
                                          daemon=True) for i in range(max(1, workers))]
        for thread in self._threads:
            thread.start()

    @property
    def waiting(self) -> int:
        """Texts queued and not yet taken into a batch."""
        return self._waiting

    def submit(self, texts: Sequence[str]) -> Future[tuple[np.ndarray, np.ndarray]]:
        """Queue one request's texts; the future gives (scores [n, k], truncated [n]) for just
        these texts, in their order. Raises :class:`QueueFull` or :class:`Closed`."""
        texts = list(texts)
        job = _Job(texts, sum(self._cost(t) for t in texts))
        with self._lock:
            if self._closed:
                raise Closed("the server is shutting down")
            if self._waiting and self._waiting + len(texts) > self.max_queue:
                raise QueueFull(f"{self._waiting} texts are queued (limit {self.max_queue})")
            self._jobs.append(job)
            self._waiting += len(texts)
            self._on_queue(self._waiting)
            self._lock.notify()
        return job.future

    def call(self, fn: Callable[[], Any]) -> Future[Any]:
        """Run ``fn()`` on the worker thread between batches (never alongside one); the future
        gives its result. Counts as one queued text. Raises :class:`QueueFull` or
        :class:`Closed`."""
        job = _Job(None, 0, call=fn)
        with self._lock:
            if self._closed:
                raise Closed("the server is shutting down")
            if self._waiting + 1 > self.max_queue:
                raise QueueFull(f"{self._waiting} texts are queued (limit {self.max_queue})")
            self._jobs.append(job)
            self._waiting += 1
            self._on_queue(self._waiting)
            self._lock.notify()
        return job.future

    def close(self, timeout: float | None = None) -> None:
        """Take no new work, finish everything queued, then stop the worker threads
        (``timeout``: seconds for all of them together)."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def _take(self) -> list[_Job] | None:
        """The next batch of jobs (or one exclusive call); None when closed and empty. The
        caller reports the turn's end with :meth:`_done`."""
        with self._lock:
            while True:
                while not self._jobs or self._exclusive:
                    if self._closed and not self._jobs:
                        return None
                    self._lock.wait()
                first = self._jobs[0]
                if first.texts is None:  # exclusive: once no batch runs
                    if self._running:
                        self._lock.wait()
                        continue
                    break
                if not self._closed:
                    deadline = first.queued_at + self.max_wait
                    while (not self._closed and self._queued_texts() < self.max_batch_size
                           and (left := deadline - time.perf_counter()) > 0):
                        self._lock.wait(left)
                if self._jobs and self._jobs[0].texts is not None and not self._exclusive:
                    break  # (else another worker took them while this one waited)
            batch = [self._jobs.popleft()]
            self._running += 1
            self._exclusive = batch[0].texts is None
            if batch[0].texts is not None:
                tokens = batch[0].cost
                while (self._jobs and self._jobs[0].texts is not None
                       and tokens + self._jobs[0].cost <= self.max_batch_tokens):
                    tokens += self._jobs[0].cost
                    batch.append(self._jobs.popleft())
            self._waiting -= sum(len(j.texts) if j.texts is not None else 1 for j in batch)
            self._on_queue(self._waiting)
            return batch

    def _done(self) -> None:
        with self._lock:
            self._running -= 1
            self._exclusive = False
            self._lock.notify_all()

    def _queued_texts(self) -> int:
        return sum(len(j.texts) for j in self._jobs if j.texts is not None)

    def _run(self) -> None:
        while (taken := self._take()) is not None:
            try:
                self._turn(taken)
            finally:
                self._done()

    def _turn(self, taken: list[_Job]) -> None:
        # a request whose client went away was cancelled (asyncio cancels the awaited
        # future): skip it; the others can no longer be cancelled, so setting them is safe
        batch = [job for job in taken if job.future.set_running_or_notify_cancel()]
        if not batch:
            return
        if batch[0].call is not None:
            _settle(batch[0].future, batch[0].call)
            return
        texts = [t for job in batch for t in job.texts]  # type: ignore[union-attr]
        self._on_batch(len(texts))
        try:
            scores, truncated = self._predict(texts)
        except BaseException as exc:  # noqa: BLE001 — handed to every waiting request
            for job in batch:
                job.future.set_exception(exc)
            return
        start = 0
        for job in batch:
            end = start + len(job.texts)  # type: ignore[arg-type]
            job.future.set_result((scores[start:end], truncated[start:end]))
            start = end


def _settle(future: Future[Any], fn: Callable[[], Any]) -> None:
    try:
        future.set_result(fn())
    except BaseException as exc:  # noqa: BLE001 — the caller's future carries it
        future.set_exception(exc)
