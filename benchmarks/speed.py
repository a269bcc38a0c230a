"""Inference speed, model size, int8 accuracy and cold start on the 5,000 JRTE pn sentences.

One run, one process, one fine-tuned default-encoder model, measured side by side:
transformers ``pipeline`` (batch 1, the notebook's way; and batch_size=32), kanjo's torch
backend, and kanjo's ONNX exports (fp32, int8, int8-blockwise, int8-dynamic; int8 and
int8-dynamic also trimmed), with each path's batch dependence and batch-1 rate. Also
the trimmed tokenizer's coverage on text the trimming rule never saw.

    python benchmarks/speed.py [--model DIR] [--work DIR] [--record]

``--model``: a kanjo model trained on pn (``kanjo train pn.train-dev.tsv --out DIR``, about 5
minutes); without it one is trained into WORK. The data (CC BY-NC-SA 4.0) is read from
../shared/data and never copied into the project.
"""

from __future__ import annotations

import argparse
import csv
import gettext
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from results import (  # (benchmarks/ is on sys.path)
    PN,
    RESULTS,
    ROOT,
    UNLABELED,
    dir_bytes,
    replace_section,
)

import kanjo
from kanjo.data import read_table
from kanjo.evaluation.metrics import classification_metrics
from kanjo.export.onnx import export

SECTION = "## Speed"
EXPORTS = {"onnx-fp32": {}, "onnx-int8": {"quantize": "int8"},
           "onnx-int8-trimmed": {"quantize": "int8", "trim_vocab": True},
           "onnx-int8-blockwise": {"quantize": "int8-blockwise"},
           "onnx-int8-dynamic": {"quantize": "int8-dynamic"},
           "onnx-int8-dynamic-trimmed": {"quantize": "int8-dynamic", "trim_vocab": True}}
BATCH_ONE_TEXTS = 400  # the batch-1 rate and the batchings compared are measured on these
COLD_TEXT = "朝食がとても美味しかったです。"


def predictors(model: Path, paths: dict[str, Path], names: tuple[str, ...],
               warm_up: list[str]) -> dict[str, Callable[[list[str]], tuple[Any, Any]]]:
    """Path name -> a function from texts to (label ids, probabilities or None), warmed up."""
    from transformers import pipeline

    classify = pipeline("text-classification", model=str(model), device="cpu")

    def pipe(batch: int) -> Callable[[list[str]], tuple[Any, Any]]:
        return lambda texts: (np.array([names.index(r["label"]) for r in classify(
            texts, batch_size=batch, truncation=True)]), None)

    def kanjo_path(clf: Any) -> Callable[[list[str]], tuple[Any, Any]]:
        def run(texts: list[str]) -> tuple[Any, Any]:
            proba = clf.predict_proba(texts, batch_size=64)
            return proba.argmax(1), proba
        return run

    runners = {"pipeline, batch 1": pipe(1), "pipeline, batch_size=32": pipe(32)}
    runners.update({f"kanjo {name}": kanjo_path(kanjo.load(paths[name])) for name in paths})
    for run in runners.values():
        run(warm_up)
    return runners


def throughput(runners: dict[str, Callable[[list[str]], tuple[Any, Any]]], texts: list[str],
               chunks: int = 5) -> dict[str, dict[str, Any]]:
    """Every path on the same chunks of the texts, interleaved (the order rotating from chunk
    to chunk) so that other jobs' load falls on all of them alike. Per path: total seconds,
    the best chunk's rate, predictions in input order."""
    names = list(runners)
    out: dict[str, dict[str, Any]] = {n: {"seconds": 0.0, "best": 0.0, "pred": [], "proba": []}
                                      for n in names}
    for c, index in enumerate(np.array_split(np.arange(len(texts)), chunks)):
        part = [texts[i] for i in index]
        rates = {}
        for name in names[c % len(names):] + names[:c % len(names)]:
            started = time.perf_counter()
            pred, proba = runners[name](part)
            seconds = time.perf_counter() - started
            rates[name] = len(part) / seconds
            r = out[name]
            r["seconds"] += seconds
            r["best"] = max(r["best"], rates[name])
            r["pred"].append(pred)
            r["proba"].append(proba)
        print(f"chunk {c + 1}/{chunks}, load {os.getloadavg()[0]:.1f}: " + ", ".join(
            f"{n} {rates[n]:.0f}" for n in names), flush=True)
    for r in out.values():
        r["pred"] = np.concatenate(r["pred"])
        r["proba"] = None if r["proba"][0] is None else np.concatenate(r["proba"])
    return out


def cold_start(model: Path, runs: int = 5) -> list[float]:
    """Wall seconds of ``kanjo predict MODEL TEXT`` in a fresh process (one untimed run first,
    so the files are in the page cache)."""
    script = Path(sys.executable).with_name("kanjo")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "kanjo"]
    times = []
    for i in range(runs + 1):
        started = time.perf_counter()
        subprocess.run([*command, "predict", str(model), COLD_TEXT], check=True,
                       capture_output=True)
        if i:
            times.append(time.perf_counter() - started)
    return times


def batch_dependence(path: Path, texts: list[str]) -> dict[str, float]:
    """On the first :data:`BATCH_ONE_TEXTS` texts: sentences/s at batch 1, and how far each
    text's probabilities move between batch 1, batches of 7 in shuffled order and batches of 64
    with the longest pn sentence added to every run (padding): labels changed, max |Δp|."""
    clf = kanjo.load(path)
    part = texts[:BATCH_ONE_TEXTS]
    longest = max(texts, key=len)
    started = time.perf_counter()
    alone = clf.predict_proba(part, batch_size=1)
    rate = len(part) / (time.perf_counter() - started)
    order = np.random.default_rng(0).permutation(len(part))
    shuffled = np.empty_like(alone)
    shuffled[order] = clf.predict_proba([part[i] for i in order], batch_size=7)
    padded = clf.predict_proba([longest, *part], batch_size=64)[1:]
    runs = (shuffled, padded)
    return {"rate_b1": rate,
            "labels": float(max(int((p.argmax(1) != alone.argmax(1)).sum()) for p in runs)),
            "max_dp": float(max(np.abs(p - alone).max() for p in runs))}


def held_out_texts() -> dict[str, list[str]]:
    """Japanese text the trimming rule never saw: the in-domain corpora, the shipped samples,
    and (where installed) the system's Japanese message catalogues and the vim tutor."""
    sets = {"jrte-unlabeled": UNLABELED.read_text(encoding="utf-8").splitlines(),
            "jrte-pn": read_table(PN).texts}
    with open(ROOT / "examples" / "reviews.csv", encoding="utf-8") as handle:
        sets["examples"] = [row["text"] for row in csv.DictReader(handle)]
    sets["examples"] += (ROOT / "examples" / "new_reviews.txt").read_text(
        encoding="utf-8").splitlines()
    kana = re.compile("[\u3041-\u3093\u30a1-\u30f3]")
    messages: set[str] = set()
    for path in sorted(Path("/usr/share/locale/ja/LC_MESSAGES").glob("*.mo")):
        with open(path, "rb") as handle:
            catalog = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
        messages.update(line.strip() for key, value in catalog.items() if key
                        and isinstance(value, str) for line in value.splitlines()
                        if kana.search(line))
    if messages:
        sets["locale-ja (system messages)"] = sorted(messages)
    tutor = Path("/usr/share/vim/vim90/tutor/tutor.ja.utf-8")
    if tutor.exists():
        sets["vim tutor ja"] = [s for s in tutor.read_text(encoding="utf-8").splitlines()
                                if s.strip()]
    return {k: [t for t in v if t.strip()] for k, v in sets.items()}


def coverage(model: Path) -> list[dict[str, Any]]:
    """Per text set: how many texts have all their pieces kept, how many tokenise differently
    after trimming (and whether any covered one does: it must not), and how many gain <unk>."""
    from tokenizers import Tokenizer

    from kanjo.models.vocab_trim import plan, trim_tokenizer_json

    spec = json.loads((model / "tokenizer.json").read_text(encoding="utf-8"))
    spec["truncation"] = spec["padding"] = None
    keep = plan(spec)
    new_id = {old: new for new, old in enumerate(keep)}
    original = Tokenizer.from_str(json.dumps(spec))
    trimmed = Tokenizer.from_str(json.dumps(trim_tokenizer_json(spec, keep)))
    unk = spec["model"]["unk_id"]
    rows = []
    for name, texts in held_out_texts().items():
        covered = differ = covered_differ = more_unk = 0
        for a, b in zip(original.encode_batch(texts), trimmed.encode_batch(texts), strict=True):
            is_covered = all(i in new_id for i in a.ids)
            same = b.ids == [new_id.get(i, -1) for i in a.ids]
            covered += is_covered
            differ += not same
            covered_differ += is_covered and not same
            more_unk += b.ids.count(new_id[unk]) > a.ids.count(unk)
        rows.append({"set": name, "n": len(texts), "covered": covered, "differ": differ,
                     "covered_differ": covered_differ, "more_unk": more_unk})
    return rows


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, help="a kanjo model trained on pn")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "speed")
    parser.add_argument("--record", action="store_true", help=f"write {RESULTS.name}")
    parser.add_argument("--limit", type=int, help="only the last N sentences (a smoke test)")
    parser.add_argument("--keep-exports", action="store_true",
                        help="reuse the export directories already in WORK")
    args = parser.parse_args()
    import onnxruntime
    import torch
    import transformers

    load_start = os.getloadavg()[0]
    args.work.mkdir(parents=True, exist_ok=True)
    model = args.model
    if model is None:
        model = args.work / "pn-default"
        if not model.exists():
            kanjo.train(PN, model)
    table = read_table(PN)
    if args.limit:
        table = table.subset(np.arange(len(table))[-args.limit:])  # the tail holds dev rows
    texts = table.texts
    clf = kanjo.load(model)
    y = clf.labels.encode(table)
    dev = np.flatnonzero(np.asarray(table.splits) == "dev")

    paths: dict[str, Path] = {"torch": model}
    export_seconds = {}
    for name, options in EXPORTS.items():
        started = time.perf_counter()
        if args.keep_exports and (args.work / name / "kanjo.json").exists():
            paths[name] = args.work / name
            continue
        paths[name] = export(model, args.work / name, overwrite=True, **options)
        export_seconds[name] = time.perf_counter() - started
        print(f"exported {name} in {export_seconds[name]:.0f} s", flush=True)

    runners = predictors(model, paths, clf.labels.names, texts[:64])
    results = throughput(runners, texts)
    reference = results["kanjo torch"]
    for r in results.values():
        metrics = classification_metrics(y[dev], r["pred"][dev], clf.labels.names)
        r["macro_f1"] = metrics["macro_f1"]
        r["agree"] = float((r["pred"] == reference["pred"]).mean())
        r["max_dp"] = (float(np.abs(r["proba"] - reference["proba"]).max())
                       if r["proba"] is not None else None)
    dev_alone = {name: classification_metrics(y[dev], kanjo.load(paths[name]).predict_proba(
        [texts[i] for i in dev]).argmax(1), clf.labels.names)["macro_f1"] for name in EXPORTS}
    batching = {name: batch_dependence(paths[name], texts) for name in ("torch", *EXPORTS)}
    cold = cold_start(paths["onnx-int8-trimmed"])
    cold_int8 = cold_start(paths["onnx-int8"], runs=3)
    cold_torch = cold_start(model, runs=3)
    colds = {name: statistics.median(cold_start(paths[name], runs=3)) for name in EXPORTS
             if name not in ("onnx-int8", "onnx-int8-trimmed")}
    colds.update({"torch": statistics.median(cold_torch), "onnx-int8": statistics.median(
        cold_int8), "onnx-int8-trimmed": statistics.median(cold)})
    cover = coverage(model)
    load_end = os.getloadavg()[0]

    base1 = len(texts) / results["pipeline, batch 1"]["seconds"]
    base32 = len(texts) / results["pipeline, batch_size=32"]["seconds"]
    lines = [
        SECTION, "",
        f"`python benchmarks/speed.py`, {time.strftime('%Y-%m-%d')}, kanjo {kanjo.__version__}; "
        f"torch {torch.__version__}, transformers {transformers.__version__}, onnxruntime "
        f"{onnxruntime.__version__}. Machine: {machine()}, load average {load_start:.1f} at the "
        f"start, {load_end:.1f} at the end; one run. Model: the default encoder fine-tuned on "
        f"pn train (`{model.name}`). Throughput: "
        + (f"the last {len(texts):,} (`--limit`)" if args.limit else f"all {len(texts):,}")
        + " JRTE pn train+dev sentences "
        f"in 5 chunks of {len(texts) // 5:,}, every path on each chunk in turn (rotating order) "
        f"after a warm-up call; sentences/s over the {len(texts):,}, and the best chunk's rate; "
        "kanjo paths: "
        "length-sorted batches of 64, input order restored, onnxruntime intra-op threads = "
        "physical cores, torch its default threads. Dev macro-F1 on the "
        f"{len(dev):,} dev rows of the same predictions; agreement: share of the "
        f"{len(texts):,} labels equal to kanjo torch's.", "",
        "| path | sentences/s | best chunk | ÷ pipeline b1 | ÷ pipeline b32 | dev macro-F1 "
        "| agreement | max Δp | model dir |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        rate = len(texts) / r["seconds"]
        size = dir_bytes(paths[name.removeprefix("kanjo ")] if name.startswith("kanjo") else
                         model) / 1e6
        dp = f"{r['max_dp']:.4f}" if r["max_dp"] is not None else "-"
        lines.append(f"| {name} | {rate:.0f} | {r['best']:.0f} | {rate / base1:.1f}× | "
                     f"{rate / base32:.1f}× | "
                     f"{r['macro_f1']:.4f} | {r['agree']:.4f} | {dp} | {size:.1f} MB |")
    f1 = {k: results[f"kanjo {k}"]["macro_f1"] for k in EXPORTS}
    trim = json.loads((paths["onnx-int8-trimmed"] / "kanjo.json").read_text())["export"]
    lines += [
        "",
        "- Dev macro-F1 minus fp32's: " + ", ".join(
            f"{k} {v - f1['onnx-fp32']:+.4f}" for k, v in f1.items() if k != "onnx-fp32")
        + ". The same with the dev rows predicted on their own (other batch neighbours: only "
        "int8-dynamic scales activations per batch, so only its scores depend on the texts "
        "batched together): "
        + ", ".join(f"{k} {v:.4f}" for k, v in dev_alone.items()) + ".",
        f"- Trimmed vocabulary: {trim['vocab_trim']['pieces']:,} of "
        f"{trim['vocab_trim']['original_pieces']:,} pieces; trimmed int8 directory "
        f"{dir_bytes(paths['onnx-int8-trimmed']) / 1e6:.1f} MB (model.onnx "
        f"{(paths['onnx-int8-trimmed'] / 'model.onnx').stat().st_size / 1e6:.1f} MB).",
        "- Cold start, `kanjo predict DIR \"" + COLD_TEXT + "\"` in a fresh process, wall "
        f"seconds (median, min–max): trimmed int8 {statistics.median(cold):.2f} "
        f"({min(cold):.2f}–{max(cold):.2f}, {len(cold)} runs); int8 "
        f"{statistics.median(cold_int8):.2f} ({min(cold_int8):.2f}–{max(cold_int8):.2f}); torch "
        f"{statistics.median(cold_torch):.2f} ({min(cold_torch):.2f}–{max(cold_torch):.2f}).",
        *(["- Export time: " + ", ".join(f"{k} {v:.0f} s" for k, v in export_seconds.items())
            + "."] if export_seconds else []),
        "",
        "Trimmed tokenizer on text the trimming rule never saw (the rule uses no corpus): "
        "covered = every original piece kept; differ = ids differ from the original's "
        "(renumbered); covered ∧ differ must be 0; more `<unk>` = texts with more unknowns.",
        "",
        "| text set | texts | covered | tokenised differently | covered ∧ differ | more <unk> |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in cover:
        n = row["n"]
        lines.append(f"| {row['set']} | {n:,} | {row['covered'] / n:.2%} | {row['differ']:,} "
                     f"({row['differ'] / n:.2%}) | {row['covered_differ']} | {row['more_unk']} |")
    lines += [
        "",
        f"Per path: batch-1 rate and batch dependence on the first {BATCH_ONE_TEXTS} pn "
        "sentences (batch 1 against batches of 7 in shuffled order and batches of 64 next to the "
        "longest pn sentence: most labels changed by either, largest probability change); batch "
        "64: the whole-run rate above; agreement: labels equal to ONNX fp32's over all "
        f"{len(texts):,}; cold start: median `kanjo predict` wall seconds.",
        "",
        "| path | batch 1 sentences/s | batch 64 sentences/s | model dir | cold start "
        "| agreement with fp32 | labels changed by batching | max Δp by batching |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    fp32_pred = results["kanjo onnx-fp32"]["pred"]
    for name, b in batching.items():
        r = results[f"kanjo {name}"]
        lines.append(
            f"| {name} | {b['rate_b1']:.0f} | {len(texts) / r['seconds']:.0f} | "
            f"{dir_bytes(paths[name]) / 1e6:.1f} MB | {colds[name]:.2f} s | "
            f"{float((r['pred'] == fp32_pred).mean()):.4f} | {int(b['labels'])} | "
            f"{b['max_dp']:.4f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.record:
        replace_section(text)


if __name__ == "__main__":
    main()
