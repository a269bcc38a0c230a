"""``create_app(model_dir, settings)``: the kanjo HTTP API as a plain ASGI (FastAPI) app.

Routes: ``POST /predict`` (text-embeddings-inference's shapes), ``POST /v1/classify``,
``POST /explain``, ``GET /health``, ``GET /info``, ``GET /metrics`` (Prometheus), the web page
at ``/`` and OpenAPI docs at ``/docs`` (assets served locally, no CDN). The model is loaded
once; its predictions run on the micro-batcher's worker thread. No route reads or writes files:
the page's assets are read into memory when the app is made.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import math
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, Response
from fastapi_offline import FastAPIOffline

import kanjo
from kanjo.errors import KanjoError
from kanjo.inference.classifier import Classifier
from kanjo.models.devices import physical_cores
from kanjo.serve.batcher import Closed, MicroBatcher, QueueFull
from kanjo.serve.errors import ApiError, install_error_handlers
from kanjo.serve.limits import BodyLimit
from kanjo.serve.metrics import Metrics, Timing
from kanjo.serve.schemas import (
    Classification,
    ClassifyRequest,
    ClassifyResponse,
    ErrorBody,
    ExplainRequest,
    ExplainResponse,
    Health,
    Info,
    LabelScore,
    PredictRequest,
)
from kanjo.serve.security import key_checker
from kanjo.serve.settings import Settings, settings_from_env

log = logging.getLogger("kanjo.serve")

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in (
        (400, "Empty batch"), (401, "Missing or wrong API key"),
        (413, "Body, texts per request or characters per text over a limit"),
        (422, "Invalid request"), (429, "Queue full: retry after Retry-After seconds"),
        (503, "Shutting down"))}
_ASSETS = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}


def create_app(model_dir: str | Path, settings: Settings | None = None,
               classifier: Classifier | None = None) -> FastAPI:
    """The ASGI app serving the model in ``model_dir`` (any kanjo model or export).

    ``classifier``: an already loaded model to serve instead of loading ``model_dir``. Raises
    :class:`KanjoError` when the directory holds no loadable model."""
    settings = settings or Settings()
    cores = physical_cores()
    # ONNX: each worker's session calls on cores / workers threads (one each by default)
    clf = classifier or Classifier.load(
        model_dir, threads=max(1, cores // (settings.batch_workers or cores)))
    workers = settings.batch_workers or (cores if clf.backend.kind == "onnx" else 1)
    clf.require_classes("kanjo serve")  # its API answers labels and probabilities of texts
    clf.require_single_texts("kanjo serve")
    metrics = Metrics()
    state: dict[str, MicroBatcher] = {}
    max_length = clf.backend.max_length

    def predict(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return clf.logits_and_truncation(texts, batch_size=settings.max_batch_size)

    def cost(text: str) -> int:  # estimated tokens: about a character each, plus [CLS] [SEP]
        return min(len(text), max_length or len(text)) + 2

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["batcher"] = MicroBatcher(
            predict, max_batch_size=settings.max_batch_size,
            max_batch_tokens=settings.max_batch_tokens, max_wait_ms=settings.max_wait_ms,
            max_queue=settings.max_queue, workers=workers, cost=cost, on_batch=metrics.on_batch,
            on_queue=metrics.on_queue)
        try:
            yield
        finally:  # uvicorn has let in-flight requests finish; finish what is still queued
            await asyncio.to_thread(state.pop("batcher").close, settings.drain_seconds)

    app = FastAPIOffline(
        title="kanjo", version=kanjo.__version__, lifespan=lifespan, redoc_url=None,
        description=f"Japanese text classification: the model `{Path(model_dir).name}` "
        f"({clf.backend.kind}, labels {', '.join(clf.labels.names)}).")
    limits = {**settings.limits(), "batch_workers": workers}  # as resolved
    app.state.classifier, app.state.settings, app.state.limits = clf, settings, limits
    install_error_handlers(app, metrics.fail)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, on_failure=metrics.fail)
    app.add_middleware(Timing, metrics=metrics)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type"])
    guarded = [Depends(key_checker(settings.api_key))] if settings.api_key else []

    def enqueue(submit: Callable[[], Any]) -> Any:
        """The batcher's future for ``submit()``: a full queue is a 429, a closing server a
        503, both with Retry-After."""
        try:
            return submit()
        except QueueFull as exc:
            raise ApiError(429, "overloaded", str(exc), settings.retry_after) from None
        except (Closed, KeyError):
            raise ApiError(503, "shutting_down", "the server is shutting down",
                           settings.retry_after) from None

    async def run(texts: Sequence[str], limit: int) -> tuple[np.ndarray, np.ndarray]:
        _check_texts(texts, limit, settings.max_chars)
        return await asyncio.wrap_future(enqueue(lambda: state["batcher"].submit(texts)))

    def check_truncation(truncated: np.ndarray, truncate: bool) -> None:
        if not truncate and truncated.any():
            first = int(np.flatnonzero(truncated)[0]) + 1
            raise ApiError(413, "validation", f"text #{first} is longer than {max_length} "
                           "tokens: send \"truncate\": true to cut it")

    names = list(clf.labels.names)

    @app.post("/predict", response_model=list[LabelScore] | list[list[LabelScore]],
              dependencies=guarded, responses=_ERRORS, tags=["classify"])
    async def predict_route(body: PredictRequest) -> Any:
        """text-embeddings-inference's ``/predict``: per text, every label with its score,
        highest first; one list for one text, a list of lists for a list. A multi-label
        model's scores are each label's own probability (sigmoid), as TEI gives them."""
        single = isinstance(body.inputs, str)
        texts = [body.inputs] if isinstance(body.inputs, str) else body.inputs
        scores, truncated = await run(texts, settings.max_texts)
        check_truncation(truncated, body.truncate is not False)
        values = scores if body.raw_scores else clf.probabilities(scores)
        rows = [sorted(({"label": n, "score": float(v)} for n, v in zip(names, row, strict=True)),
                       key=lambda item: -item["score"]) for row in values]
        return rows[0] if single else rows

    @app.post("/v1/classify", response_model=ClassifyResponse, dependencies=guarded,
              responses=_ERRORS, tags=["classify"])
    async def classify(body: ClassifyRequest) -> ClassifyResponse:
        """Per text, in order: the label, its probability, every probability and whether the
        text was truncated; a multi-label model adds ``labels``, the set its thresholds
        select."""
        scores, truncated = await run(body.texts, settings.max_texts)
        check_truncation(truncated, body.truncate)
        proba = clf.probabilities(scores)
        sets = clf.rule.predict(proba, names) if clf.task == "multi-label" else None
        return ClassifyResponse(predictions=[Classification(
            text=text, label=names[int(p.argmax())], score=float(p.max()),
            probabilities={n: float(v) for n, v in zip(names, p, strict=True)},
            labels=sets[i] if sets is not None else None,
            truncated=bool(cut)) for i, (text, p, cut) in enumerate(
                zip(body.texts, proba, truncated, strict=True))])

    @app.post("/explain", response_model=ExplainResponse, dependencies=guarded,
              responses={**_ERRORS, 501: {"model": ErrorBody,
                                          "description": "kanjo.explain is not installed"}},
              tags=["classify"])
    async def explain_route(body: ExplainRequest) -> ExplainResponse:
        """Word attributions per text (``kanjo.explain``): which words pushed the model to the
        target label (default: the predicted one)."""
        try:
            from kanjo.explain import explain
        except ImportError:
            raise ApiError(501, "not_available", "word attributions need kanjo.explain, which "
                           "this installation does not have") from None
        _check_texts(body.texts, settings.max_explain_texts, settings.max_chars)

        def work() -> list[dict[str, Any]]:
            return [_plain(e.to_dict()) for e in explain(clf, list(body.texts),
                                                         target=body.target, method=body.method)]
        future = enqueue(lambda: state["batcher"].call(work))
        try:
            return ExplainResponse(explanations=await asyncio.wrap_future(future))
        except KanjoError as exc:
            raise ApiError(422, "validation", exc.message) from None

    @app.get("/health", response_model=Health, tags=["operations"])
    async def health() -> Health:
        """Open to all (no API key): ``ok`` once the model is loaded and the worker runs."""
        if "batcher" not in state:
            raise ApiError(503, "shutting_down", "not serving", settings.retry_after)
        return Health(status="ok")

    @app.get("/info", response_model=Info, dependencies=guarded, tags=["operations"])
    async def info() -> Info:
        """The model, its labels, backend and max length; kanjo's version; the limits."""
        return Info(model=Path(model_dir).name, labels=names, task=clf.task,
                    backend=clf.backend.kind,
                    max_length=max_length, version=kanjo.__version__,
                    explain=importlib.util.find_spec("kanjo.explain") is not None,
                    auth=settings.api_key is not None, limits=limits)

    @app.get("/metrics", dependencies=guarded, tags=["operations"],
             response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    async def metrics_route() -> Response:
        """Prometheus metrics: requests and failures, latency, batch sizes, queue depth."""
        return Response(metrics.render(), media_type=metrics.content_type)

    page = _assets()

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page["index.html"])

    for name, media_type in _ASSETS.items():
        app.add_api_route(f"/static/{name}", _asset_route(page[name], media_type),
                          include_in_schema=False, methods=["GET"])
    return app


def from_env() -> FastAPI:
    """The app for the model named by ``KANJO_MODEL``, settings from ``KANJO_*`` variables:
    a factory for ``uvicorn --factory kanjo.serve:from_env --workers N``."""
    import os

    if not os.environ.get("KANJO_MODEL"):
        raise KanjoError("KANJO_MODEL is not set", hint="export KANJO_MODEL=path/to/model")
    return create_app(os.environ["KANJO_MODEL"], settings_from_env())


def _check_texts(texts: Sequence[str], limit: int, max_chars: int) -> None:
    """400 for no texts, 413 for too many or too long, 422 for an empty or unencodable one."""
    if not texts:
        raise ApiError(400, "empty", "no texts given")
    if len(texts) > limit:
        raise ApiError(413, "payload_too_large", f"{len(texts)} texts: at most {limit} per "
                       "request")
    for i, text in enumerate(texts, start=1):
        if not text.strip():
            raise ApiError(422, "validation", f"text #{i} is empty or only whitespace")
        if len(text) > max_chars:
            raise ApiError(413, "payload_too_large", f"text #{i} has {len(text)} characters: "
                           f"at most {max_chars}")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(422, "validation", f"text #{i} is not valid Unicode (a lone "
                           "surrogate)") from None


def _plain(value: Any) -> Any:
    """JSON-safe: numpy numbers become Python ones, NaN/inf become None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _assets() -> dict[str, str]:
    folder = resources.files("kanjo.serve").joinpath("static")
    return {name: folder.joinpath(name).read_text(encoding="utf-8")
            for name in ("index.html", *_ASSETS)}


def _asset_route(content: str, media_type: str) -> Any:
    async def asset() -> Response:
        return Response(content, media_type=media_type,
                        headers={"Cache-Control": "no-cache"})
    return asset
