"""The report's model card: what a colleague needs to judge the model, from its kanjo.json
(and tokenizer.json for the text normalisation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def model_card(classifier: Any) -> dict[str, Any]:
    """Base model, backend, labels, maximum length, text normalisation, calibration
    temperature, data files with their sha256, training configuration, time and steps, and
    the limitations a reader should know."""
    meta = classifier.meta
    data = meta.get("data", {})
    files = [{"role": role, "file": info.get("file"), "sha256": info.get("sha256"),
              "rows": info.get("rows"), "label_counts": info.get("label_counts")}
             for role, info in data.items() if isinstance(info, dict) and "file" in info]
    timings = meta.get("timings", {})
    backend = classifier.backend.kind
    card = {
        "base_model": meta.get("base_model") or meta.get("export", {}).get("source", "unknown"),
        "backend": backend,
        "labels": list(classifier.labels.names),
        "max_length": classifier.backend.max_length,
        "normalisation": _normalisation(classifier),
        "temperature": classifier.temperature,
        "created": meta.get("created"),
        "kanjo_version": meta.get("kanjo_version"),
        "files": files,
        "config": meta.get("config", {}),
        "train_seconds": timings.get("train_seconds"),
        "train_steps": meta.get("train_steps"),
        "export": meta.get("export"),
    }
    card["limitations"] = _limitations(card, meta)
    return card


def _normalisation(classifier: Any) -> str:
    if classifier.backend.kind == "tfidf":
        return "NFKC, lower-case (character 1–3-grams)"
    path = Path(classifier.path or ".") / "tokenizer.json"
    if not path.exists():
        return "the tokenizer's own"
    normalizer = json.loads(path.read_text(encoding="utf-8")).get("normalizer") or {}
    kinds = [n.get("type") for n in normalizer.get("normalizers", [normalizer])]
    return ", ".join(k for k in kinds if k) or "none"


def _limitations(card: dict[str, Any], meta: dict[str, Any]) -> list[str]:
    out = []
    train = meta.get("data", {}).get("train", {})
    if train.get("rows"):
        out.append(f"Trained on {train['rows']} labelled rows; texts unlike them (other "
                   "domains, registers or eras) may be scored with unwarranted confidence.")
    if card["max_length"]:
        out.append(f"Texts longer than {card['max_length']} tokens are truncated: the model "
                   "never sees their end.")
    if meta.get("config", {}).get("calibrate", True) and card["temperature"] != 1.0:
        out.append(f"Probabilities are temperature-scaled (T = {card['temperature']:.3g}) on "
                   "the dev rows; calibration holds only as far as those rows resemble new "
                   "data.")
    out.append("Labels reflect the annotators of the training data; rows they disagreed on "
               "(see the label issues) cap what any score here can mean.")
    return out
