"""``kanjo serve``: the HTTP API and web page for one model, on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from kanjo.cli.app import Model, _quiet_libraries, app, err
from kanjo.errors import KanjoError


@app.command(short_help="Serve a model over HTTP (API, web page, metrics).")
def serve(
    model: Model,
    host: Annotated[str, typer.Option(
        help="Address to bind; 0.0.0.0 exposes the server to the network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    api_key_env: Annotated[str | None, typer.Option(
        help="Environment variable holding the API key that every API route then needs "
        "(not /health, the page or /docs); the key is never a command-line value.")] = None,
    max_batch_size: Annotated[int, typer.Option(
        help="Texts per forward pass (on a CPU also at most 512 padded tokens).")] = 64,
    max_batch_tokens: Annotated[int, typer.Option(
        help="Estimated tokens (≈ characters) a worker takes from the queue at once, then "
        "runs length-sorted in forward passes of --max-batch-size.")] = 8192,
    batch_workers: Annotated[int, typer.Option(
        help="Worker threads running batches side by side; 0: one per CPU core for an ONNX "
        "export (each on one onnxruntime thread), one otherwise.")] = 0,
    max_wait_ms: Annotated[float, typer.Option(
        help="How long a request waits for others to share its batch.")] = 5.0,
    max_queue: Annotated[int, typer.Option(
        help="Texts queued before requests get 429 + Retry-After.")] = 1024,
    max_body_bytes: Annotated[int, typer.Option(help="Largest request body.")] = 1 << 20,
    max_texts: Annotated[int, typer.Option(help="Texts per request.")] = 64,
    max_chars: Annotated[int, typer.Option(help="Characters per text.")] = 4000,
    cors_origin: Annotated[list[str] | None, typer.Option(
        help="Allow browser calls from this origin (repeatable); CORS is off without it.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Serve MODEL over HTTP: /predict, /v1/classify, /explain, /health, /info, /metrics,
    docs at /docs and a web page at /. Ctrl-C or SIGTERM drains in-flight requests."""
    _quiet_libraries()
    try:
        import uvicorn

        from kanjo.serve.app import create_app
    except ImportError as exc:
        raise KanjoError(f"serving needs {exc.name or 'fastapi and uvicorn'}, not installed",
                         hint="pip install 'kanjo[serve]'") from None
    from kanjo.serve.settings import Settings, api_key_from_env

    settings = Settings(max_batch_size=max_batch_size, max_batch_tokens=max_batch_tokens,
                        batch_workers=batch_workers, max_wait_ms=max_wait_ms, max_queue=max_queue,
                        max_body_bytes=max_body_bytes, max_texts=max_texts, max_chars=max_chars,
                        api_key=api_key_from_env(api_key_env),
                        cors_origins=tuple(cors_origin or ()))
    application = create_app(model, settings)
    clf = application.state.classifier
    shown = "[::1]" if host == "::1" else host
    limits = ", ".join(f"{k}={v}" for k, v in application.state.limits.items())
    err.print(f"[green]serving[/green] {model} ({clf.backend.kind}, max length "
              f"{clf.backend.max_length}, labels {', '.join(clf.labels.names)}) at "
              f"http://{shown}:{port}/  (key: {'from ' + api_key_env if api_key_env else 'none'}; "
              f"CORS: {', '.join(settings.cors_origins) or 'off'})", highlight=False)
    err.print(f"limits: {limits}", highlight=False)
    uvicorn.run(application, host=host, port=port, log_level=log_level,
                timeout_graceful_shutdown=int(settings.drain_seconds) or None)
