"""One resolver for every command: turn ``--model`` into something loadable.

``default``  the embedded offline encoder (built once from PyPI packages, see default_encoder)
``tfidf``    the built-in TF-IDF character n-gram baseline
a path       a local transformers model directory or a kanjo output directory
a hub id     e.g. ``cl-tohoku/bert-base-japanese-v3``, for users who are online
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from kanjo.errors import ModelError

DEFAULT = "default"
TFIDF = "tfidf"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: ``kind`` is default, tfidf, local or hub; ``location`` is
    a directory path (default, local) or a hub id (hub)."""

    kind: str
    location: str

    @property
    def is_local(self) -> bool:
        return self.kind in ("default", "local")


def resolve(spec: str | os.PathLike[str]) -> ModelSource:
    """Resolve a ``--model`` value. Builds the default encoder on first use."""
    text = str(spec).strip()
    if text == DEFAULT:
        from kanjo.models.default_encoder import default_encoder_dir

        return ModelSource("default", str(default_encoder_dir()))
    if text == TFIDF:
        return ModelSource("tfidf", TFIDF)
    path = Path(text).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelError(
                "is a file, not a model directory",
                file=path,
                hint="pass the directory that holds config.json (or kanjo.json)",
            )
        if not ((path / "config.json").exists() or (path / "kanjo.json").exists()):
            raise ModelError(
                "is not a model directory: it has neither config.json nor kanjo.json",
                file=path,
                hint="pass a transformers model directory, a kanjo output, 'default' or 'tfidf'",
            )
        if _model_type(path) == "kanjo-pooled":
            raise ModelError(
                "is a kanjo embeddings-recipe model (an encoder and its head, loaded by kanjo or "
                "by transformers with trust_remote_code), not a base model to train from",
                file=path,
                hint="train from the model it was trained from (kanjo.json: base_model), or use "
                     "it as it is: kanjo predict / evaluate",
            )
        return ModelSource("local", str(path))
    if text.startswith((".", "/", "~")) or os.sep in text.strip("/").replace("/", "", 1):
        raise ModelError("no such model directory", file=path)
    if not _HUB_ID.match(text):
        raise ModelError(f"'{text}' is neither a local model directory nor a hub model id")
    return ModelSource("hub", text)


def offline_hint(model_id: str) -> str:
    return (
        f"'{model_id}' must be downloaded from the Hugging Face hub, which is not reachable. "
        "Use --model default (the embedded offline encoder), or download it on a machine that "
        f"is online (`hf download {model_id} --local-dir DIR`) and pass --model DIR."
    )


def load_error(source: ModelSource, exc: Exception) -> ModelError:
    """Turn a transformers loading failure into a clear ModelError (with the MeCab install hint
    when the model's Japanese tokenizer cannot start)."""
    mecab = tokenizer_dependency_error(exc, source.location)
    if mecab is not None:
        return mecab
    if source.kind == "hub":
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ModelError(f"cannot load hub model '{source.location}' ({reason})",
                          hint=offline_hint(source.location))
    reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return ModelError(f"cannot load the model: {type(exc).__name__}"
                      f"{': ' + reason if reason else ''}", file=source.location,
                      hint="the directory is damaged or incomplete: re-train or rebuild it")


MECAB_HINT = ("install the dictionary the model's tokenizer names: `pip install unidic` then "
              "`python -m unidic download` (about 500 MB) for mecab_dic unidic, or `pip install "
              "ipadic` for ipadic; or set \"mecab_dic\": \"unidic_lite\" (installed with kanjo) "
              "in the model's tokenizer_config.json")


def tokenizer_dependency_error(exc: BaseException, location: str | Path) -> ModelError | None:
    """A ModelError with the install hint when loading a tokenizer failed because MeCab
    (fugashi) or its dictionary is missing: transformers raises ModuleNotFoundError ("The
    unidic dictionary is not installed") or RuntimeError ("The unidic dictionary itself is not
    found", after `pip install unidic` without `python -m unidic download`; fugashi's own
    "[ifs] no such file or directory: …mecabrc"). None for any other error."""
    text = str(exc)
    lowered = text.lower()
    if not any(word in lowered for word in ("unidic", "ipadic", "mecab", "fugashi", "dicdir")):
        return None
    reason = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return ModelError(f"the model's Japanese tokenizer cannot start: {reason}", file=location,
                      hint=MECAB_HINT)


def _model_type(path: Path) -> str | None:
    """config.json's ``model_type`` (None without a readable one)."""
    import json

    try:
        return json.loads((path / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None
