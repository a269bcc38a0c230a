"""``kanjo serve`` on Ray Serve (``pip install 'kanjo[ray]'``): the same ASGI app, N replicas.

Each replica builds the app (:func:`kanjo.serve.create_app`, which loads the model) once, in
its own process; Ray Serve's proxy spreads the requests over the replicas. The same code runs
on a laptop and on a cluster (``ray.init(address=...)`` first).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kanjo.errors import ConfigError


def deployment(model_dir: str | Path, num_replicas: int = 2, **options: Any) -> Any:
    """The ``kanjo serve`` app for ``model_dir`` as a bound Ray Serve application with
    ``num_replicas`` replicas; ``options`` go to ``serve.deployment`` (e.g.
    ``ray_actor_options={"num_cpus": 1}``). Start it with ``ray.serve.run(deployment(...))``:
    the API is then at ``http://HOST:8000/`` (Serve's HTTP options choose host and port).
    Raises :class:`ConfigError` without Ray."""
    try:
        from ray import serve
    except ImportError:
        raise ConfigError("Ray Serve is not installed", hint="pip install 'kanjo[ray]'") from None
    from kanjo.serve.app import create_app

    path = str(Path(model_dir).resolve())

    def build() -> Any:  # a function (not a partial): Serve calls it once per replica
        return create_app(path)

    return serve.deployment(serve.ingress(build)(), name="kanjo", num_replicas=num_replicas,
                            **options).bind()
