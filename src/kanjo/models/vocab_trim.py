"""Vocabulary trimming: keep the SentencePiece pieces Japanese text needs, drop the rest.

The default encoder's XLM-R tokenizer has 250,002 pieces for a hundred languages and its word
embeddings are 96M of the model's 118M parameters. Trimming keeps a fixed, corpus-independent
set of pieces (:func:`japanese_pieces`) plus, optionally, every piece that some texts use, and
rewrites ``tokenizer.json`` and the embedding rows consistently.

What happens to text, exactly:

* a text whose original pieces are all kept is tokenised into the same pieces (a Unigram
  tokenizer picks the best-scoring segmentation; the original best one is still available and
  nothing better was added) and the same vectors;
* the lowest-scoring piece is kept, so the penalty of ``<unk>`` (min score - 10) is unchanged;
* every single character of the Latin, Greek, Cyrillic, CJK and kana scripts, every combining
  accent and every symbol piece is kept, so a text needing a dropped piece is segmented into
  smaller kept pieces (a dropped English word: ``▁changing`` becomes ``▁cha`` ``ng`` ``ing``),
  never into ``<unk>`` where the original had a piece; only characters of dropped scripts
  (Hangul, Arabic, Devanagari, Thai …) become ``<unk>``.

``benchmarks/speed.py`` measures how often that happens on text the rule never saw.
"""

from __future__ import annotations

import json
import shutil
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kanjo.errors import ModelError

ASCII_TOP = 8000
"""How many of the most probable ASCII pieces with lower-case letters are kept (English words
in Japanese text); ASCII pieces without letters or all upper-case are always kept."""
_SINGLE_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC", "CJK", "HIRAGANA", "KATAKANA", "HALFWIDTH",
                   "FULLWIDTH", "IDEOGRAPHIC", "COMBINING")  # combining accents: in kaomoji
_SPACE = "\u2581"  # SentencePiece's word-start marker
_VOCAB_TENSORS = ("word_embeddings", "predictions", "lm_head")  # names of vocabulary-sized rows


def _is_japanese(ch: str) -> bool:
    """Kana, kanji of the Japanese character sets (not Chinese-only hanzi), CJK punctuation."""
    o = ord(ch)
    if 0x3000 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF or 0xFF00 <= o <= 0xFFEF:
        return True
    if 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF:
        try:
            ch.encode("cp932")
        except UnicodeEncodeError:
            return False
        return True
    return False


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


def japanese_pieces(vocab: Sequence[tuple[str, float]], special: Iterable[int],
                    ascii_top: int = ASCII_TOP) -> set[int]:
    """Ids of the pieces kept for Japanese text, decided from the pieces alone (no corpus):
    special tokens and the lowest-scoring piece; pieces of Japanese characters (mixed with
    ASCII or symbols or not); symbol pieces; single characters of common scripts; ASCII pieces
    without letters or all upper-case; the ``ascii_top`` most probable other ASCII pieces."""
    keep = set(special)
    keep.add(min(range(len(vocab)), key=lambda i: vocab[i][1]))
    ascii_words = []
    for i, (piece, score) in enumerate(vocab):
        body = piece.replace(_SPACE, "")
        if len(body) <= 1:
            if not body or body.isascii() or _is_japanese(body) or _is_symbol(body) or \
                    unicodedata.name(body, "").startswith(_SINGLE_SCRIPTS):
                keep.add(i)
        elif body.isascii():
            if not any(c.isalpha() for c in body) or body.isupper():
                keep.add(i)
            else:
                ascii_words.append((-score, i))
        elif all(_is_japanese(c) or _is_symbol(c) or c.isascii() for c in body):
            keep.add(i)
    keep.update(i for _, i in sorted(ascii_words)[:ascii_top])
    return keep


def used_pieces(spec: dict[str, Any], texts: Iterable[str]) -> set[int]:
    """Ids the tokenizer of a parsed ``tokenizer.json`` produces for ``texts`` (untruncated)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(json.dumps(spec))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return {i for enc in tokenizer.encode_batch(list(texts)) for i in enc.ids}


def trim_tokenizer_json(spec: dict[str, Any], keep: Sequence[int]) -> dict[str, Any]:
    """``tokenizer.json`` (parsed) restricted to the sorted ids ``keep``: the Unigram vocabulary
    with its scores, and every id that refers to it (unk, added tokens, post-processor,
    padding) renumbered."""
    model = spec["model"]
    new_id = {old: new for new, old in enumerate(keep)}
    out = json.loads(json.dumps(spec))
    # added tokens beyond the model's vocabulary keep their place after it
    out["model"]["vocab"] = [model["vocab"][i] for i in keep if i < len(model["vocab"])]
    if model.get("unk_id") is not None:
        out["model"]["unk_id"] = new_id[model["unk_id"]]
    for token in out.get("added_tokens") or []:
        token["id"] = new_id[token["id"]]
    if out.get("padding"):
        out["padding"]["pad_id"] = new_id[out["padding"]["pad_id"]]
    _renumber_processor(out.get("post_processor"), new_id)
    return out


def _renumber_processor(proc: dict[str, Any] | None, new_id: dict[int, int]) -> None:
    if not proc:
        return
    kind = proc.get("type")
    if kind == "TemplateProcessing":
        for token in proc["special_tokens"].values():
            token["ids"] = [new_id[i] for i in token["ids"]]
    elif kind in ("RobertaProcessing", "BertProcessing"):
        for key in ("sep", "cls"):
            proc[key][1] = new_id[proc[key][1]]
    elif kind == "Sequence":
        for inner in proc["processors"]:
            _renumber_processor(inner, new_id)
    elif kind != "ByteLevel":
        raise ModelError(f"cannot renumber a {kind} post-processor for vocabulary trimming")


def plan(spec: dict[str, Any], texts: Iterable[str] = (),
         ascii_top: int = ASCII_TOP) -> list[int]:
    """The sorted ids to keep of a parsed Unigram ``tokenizer.json``: :func:`japanese_pieces`
    and the pieces ``texts`` use."""
    model = spec.get("model", {})
    if model.get("type") != "Unigram":
        raise ModelError(
            f"vocabulary trimming needs a SentencePiece Unigram tokenizer, not {model.get('type')}",
            hint="trim the default encoder or another XLM-R-style model")
    special = [t["id"] for t in spec.get("added_tokens") or []]
    if model.get("unk_id") is not None:
        special.append(model["unk_id"])
    keep = japanese_pieces(model["vocab"], special, ascii_top)
    texts = list(texts)
    if texts:
        keep |= used_pieces(spec, texts)
    return sorted(keep)


def trim_model_dir(source: Path, dest: Path, texts: Iterable[str] = (),
                   ascii_top: int = ASCII_TOP) -> dict[str, Any]:
    """Write a trimmed copy of the transformers model directory ``source`` into the existing
    directory ``dest``: tokenizer.json, config.json (vocab size and special ids), the weights
    with only the kept rows of every vocabulary-sized tensor, the other files as they are.
    Returns a summary for kanjo.json."""
    from safetensors.numpy import load_file, save_file

    source, dest = Path(source), Path(dest)
    weights = source / "model.safetensors"
    if not (source / "tokenizer.json").exists() or not weights.exists():
        raise ModelError("vocabulary trimming needs tokenizer.json and model.safetensors",
                         file=source)
    spec = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    keep = plan(spec, texts, ascii_top)
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    rows = config["vocab_size"]
    if keep[-1] >= rows:
        raise ModelError(f"the tokenizer has ids beyond the model's {rows} embedding rows",
                         file=source)
    tensors = load_file(weights)
    vocab_sized = [name for name, t in tensors.items()
                   if any(k in name for k in _VOCAB_TENSORS) and t.ndim and t.shape[0] == rows]
    if not vocab_sized:
        raise ModelError("found no word-embedding matrix to trim", file=weights)
    for name in vocab_sized:
        tensors[name] = np.ascontiguousarray(tensors[name][np.asarray(keep)])
    new_id = {old: new for new, old in enumerate(keep)}
    config["vocab_size"] = len(keep)
    for key in ("pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id"):
        if isinstance(config.get(key), int):
            config[key] = new_id[config[key]]
    rewritten = ("model.safetensors", "config.json", "tokenizer.json", "build.json", "kanjo.json")
    for path in source.iterdir():
        if path.is_file() and path.name not in rewritten:
            shutil.copyfile(path, dest / path.name)
    save_file(tensors, str(dest / "model.safetensors"), metadata={"format": "pt"})
    (dest / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (dest / "tokenizer.json").write_text(
        json.dumps(trim_tokenizer_json(spec, keep), ensure_ascii=False), encoding="utf-8")
    size = len(spec["model"]["vocab"])
    added = sum(1 for t in spec.get("added_tokens") or [] if t["id"] >= size)
    return {"pieces": len(keep), "original_pieces": size + added,
            "original_embedding_rows": rows, "ascii_top": ascii_top}


def trim(model: str | Path, out: str | Path, texts: Sequence[str] = (),
         overwrite: bool = False) -> dict[str, Any]:
    """Write a vocabulary-trimmed copy of a transformers model (``default``, a base encoder or
    a kanjo classifier) to ``out``, atomically; train on it with ``--model out``, or predict
    with it as with the original. Returns the summary recorded in kanjo.json."""
    from kanjo.models.resolve import resolve
    from kanjo.storage import atomic_directory, read_meta, record_checksums, verify, write_meta

    source = resolve(model)
    if not source.is_local:
        raise ModelError(f"'{model}' is not a local model directory")
    path = Path(source.location)
    meta = read_meta(path)
    if meta.get("backend", "torch") != "torch":
        raise ModelError(f"is a {meta['backend']} model: only transformer models can be trimmed",
                         file=path)
    verify(path, meta)
    with atomic_directory(Path(out), overwrite) as staged:
        summary = trim_model_dir(path, staged, texts)
        if meta:
            meta["vocab_trim"] = summary
            meta["checksums"] = record_checksums(staged, ["model.safetensors"])
            write_meta(staged, meta)
    return summary
