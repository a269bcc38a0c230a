"""``explain(classifier, texts, ...)``: which words drove each prediction, by the method that
suits the model's backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kanjo.errors import ConfigError, KanjoError
from kanjo.explain.result import Explanation, WordAttribution
from kanjo.explain.words import spread, word_scores, word_spans

METHODS = ("auto", "integrated-gradients", "occlusion", "tfidf")


def explain(classifier: Any, texts: Sequence[str], target: str | None = None,
            method: str = "auto", *, steps: int = 20, internal_batch_size: int | None = None,
            batch_size: int = 8) -> list[Explanation]:
    """One :class:`Explanation` per text, in input order.

    ``target``: the label to explain (default: each text's predicted label). ``method``:
    ``integrated-gradients`` (torch models; Sundararajan et al. 2017), ``occlusion`` (every
    backend: each word removed, all variants of a text in one batch), ``tfidf`` (the tfidf
    baseline's exact per-n-gram contributions to the centred log-odds), or ``auto``: the first
    for torch models, the second for ONNX exports, the third for tfidf. Integrated-gradients
    options: ``steps`` along the path, ``internal_batch_size`` rows per forward pass,
    ``batch_size`` texts attributed together. A multi-label model is explained by occlusion
    on the target label's own probability (``auto`` picks it; the others attribute softmax
    log-odds and refuse), the target defaulting to the most probable label.

    Raises :class:`KanjoError` for an empty text, an unknown target (naming the labels) or a
    method the backend cannot run."""
    if isinstance(texts, str):
        raise TypeError("pass a list of texts, not a single string")
    texts = list(texts)
    classifier.require_classes("explain")
    classifier.require_single_texts("explain")
    names = list(classifier.labels.names)
    if target is not None and target not in names:
        raise KanjoError(f"unknown target label {target!r}",
                         hint=f"the model's labels are {', '.join(names)}")
    kind = classifier.backend.kind
    if getattr(classifier, "task", "classification") == "multi-label":
        if method not in ("auto", "occlusion"):
            raise ConfigError(f"--method {method} attributes a softmax: a multi-label model is "
                              "explained by occlusion of each label's own probability",
                              hint="use --method occlusion (or auto)")
        method = "occlusion"
    method = _resolve(method, kind)
    if steps < 1 or batch_size < 1 or (internal_batch_size is not None and internal_batch_size < 1):
        raise ConfigError("--steps, --batch-size and --internal-batch-size must be ≥ 1")
    if not texts:
        return []
    proba = classifier.predict_proba(texts)  # also rejects empty texts with a KanjoError
    predicted = proba.argmax(axis=1)
    targets = [names.index(target) if target is not None else int(p) for p in predicted]
    if method == "integrated-gradients":
        rows = _by_gradients(classifier, texts, targets, steps, internal_batch_size, batch_size)
    elif method == "occlusion":
        rows = _by_occlusion(classifier, texts, targets)
    else:
        rows = _by_tfidf(classifier, texts, targets)
    return [Explanation(text=text, label=names[int(p)], target=names[t],
                        probability=float(pr[t]), method=method,
                        words=[WordAttribution(**w) for w in words], pieces=pieces,
                        truncated=truncated, delta=delta)
            for text, p, pr, t, (words, pieces, truncated, delta)
            in zip(texts, predicted, proba, targets, rows, strict=True)]


def _resolve(method: str, kind: str) -> str:
    if method not in METHODS:
        raise ConfigError(f"unknown explanation method {method!r}",
                          hint=f"choose one of {', '.join(METHODS)}")
    if method == "auto":
        return {"torch": "integrated-gradients", "tfidf": "tfidf"}.get(kind, "occlusion")
    if method == "integrated-gradients" and kind != "torch":
        raise ConfigError(f"integrated gradients need a torch model; this one is {kind}",
                          hint="use --method occlusion" + (" or tfidf" if kind == "tfidf" else ""))
    if method == "tfidf" and kind != "tfidf":
        raise ConfigError(f"--method tfidf explains tfidf models only; this one is {kind}",
                          hint="use --method auto")
    return method


Row = tuple[list[dict[str, Any]], list[dict[str, Any]], bool, float | None]


def _by_gradients(classifier: Any, texts: list[str], targets: list[int], steps: int,
                  internal_batch_size: int | None, batch_size: int) -> list[Row]:
    from kanjo.explain.gradients import integrated_gradients

    rows = []
    for text, (tokens, scores, delta) in zip(texts, integrated_gradients(
            classifier.backend, classifier.temperature, texts, targets, steps,
            internal_batch_size, batch_size), strict=True):
        pieces = [{"piece": piece, "start": s, "end": e, "score": float(score)}
                  for piece, (s, e), special, score
                  in zip(tokens.pieces, tokens.offsets, tokens.special, scores, strict=True)
                  if not special]
        chars = spread(len(text), [(p["start"], p["end"], p["score"]) for p in pieces])
        limit = tokens.seen_end if tokens.truncated else None
        rows.append((word_scores(text, word_spans(text), chars, limit), pieces,
                     tokens.truncated, delta))
    return rows


def _by_occlusion(classifier: Any, texts: list[str], targets: list[int]) -> list[Row]:
    from kanjo.explain.occlusion import occlusion

    backend = classifier.backend
    limits: list[int | None] = [None] * len(texts)
    if backend.max_length is not None:
        from kanjo.explain.tokens import tokenize

        # an embeddings model's text prefix takes some of the length
        length = backend.max_length - getattr(backend, "prefix_tokens", 0)
        for i, text in enumerate(texts):
            try:
                tokens = tokenize(backend.tokenizer, text, length)
            except KanjoError:  # a slow tokenizer: no offsets, so no cut-off point
                continue
            limits[i] = tokens.seen_end if tokens.truncated else None
    rows = []
    for text, limit, units in zip(texts, limits, occlusion(
            backend, classifier.temperature, texts, targets, limits,
            probabilities=classifier.probabilities), strict=True):
        words = [{"word": text[s:e], "start": s, "end": e, "score": score}
                 for s, e, score in units]
        pieces = [{"piece": w["word"], "start": w["start"], "end": w["end"],
                   "score": w["score"]} for w in words]
        rows.append((words, pieces, limit is not None, None))
    return rows


def _by_tfidf(classifier: Any, texts: list[str], targets: list[int]) -> list[Row]:
    from kanjo.explain.linear import contributions

    rows = []
    for text, target in zip(texts, targets, strict=True):
        units = contributions(classifier.backend.model, text, target)
        pieces = [{"piece": g, "start": s, "end": e, "score": v} for g, s, e, v in units]
        chars = spread(len(text), [(s, e, v) for _, s, e, v in units])
        rows.append((word_scores(text, word_spans(text), chars), pieces, False, None))
    return rows

