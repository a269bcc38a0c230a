"""Faithfulness of `kanjo explain` on JRTE pn dev: ERASER comprehensiveness and sufficiency
(DeYoung et al. 2020, "ERASER: A Benchmark to Evaluate Rationalized NLP Models", ACL), as AOPC
over the top 1/5/10/20/50 % of words, per method and for random word scores; plus seconds per
text for the explanation itself.

For a text x explained towards its predicted label y with words ranked by score:
comprehensiveness@k = p(y|x) − p(y|x without its top-k % words) (higher: the top words were
needed); sufficiency@k = p(y|x) − p(y|only its top-k % words) (lower: they were enough); AOPC
is the mean over the five k (at least one word each). Words are MeCab words; removing one
deletes its characters. The data is read in place and never copied into the project.

    python benchmarks/explain.py --torch MODEL [--onnx EXPORT] [--tfidf MODEL] [--n 100]
"""

from __future__ import annotations

import os

# as the `kanjo` command does: OpenMP threads that spin while they wait slow torch down about
# tenfold when other processes share the cores (8.6 against 0.7 s a text measured here)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import datetime
import math
import platform
import random
import time
from pathlib import Path

import numpy as np

import kanjo
from kanjo.data import read_table
from kanjo.evaluation.calibration import softmax
from kanjo.explain import Explanation, WordAttribution, explain
from kanjo.explain.words import word_spans

DATA = Path("/work/shared/data/jrte-pn/pn.train-dev.tsv")
BINS = (0.01, 0.05, 0.10, 0.20, 0.50)


def variants(text: str, spans: list[tuple[int, int]], order: np.ndarray) -> list[str]:
    """For each bin: the text without its top-k words, then the text with only them."""
    removed, kept = [], []
    for share in BINS:
        top = set(order[:max(1, math.ceil(share * len(spans)))].tolist())
        removed.append("".join(text[s:e] if i not in top else "" for i, (s, e) in
                               enumerate(spans)))
        kept.append("".join(text[s:e] for i, (s, e) in enumerate(spans) if i in top))
    return removed + kept


def faithfulness(classifier, texts: list[str], method: str, seed: int = 0,
                 steps: int = 20) -> dict:
    """Mean comprehensiveness/sufficiency AOPC and seconds per text (wall clock, and CPU time
    of this process over all its threads) for one method ("random": uniform random word
    scores)."""
    rng = np.random.default_rng(seed)
    started, cpu = time.perf_counter(), time.process_time()
    if method == "random":  # the predicted label and the MeCab words; random scores below
        labels = classifier.predict(texts)
        results = [Explanation(text, label, label, 0.0, "random",
                               [WordAttribution(text[s:e], s, e, 0.0)
                                for s, e in word_spans(text)])
                   for text, label in zip(texts, labels, strict=True)]
        seconds = cpu_seconds = None
    else:
        results = explain(classifier, texts, method=method, steps=steps)
        seconds = (time.perf_counter() - started) / len(texts)
        cpu_seconds = (time.process_time() - cpu) / len(texts)
    comp, suff = [], []
    for e in results:
        if not e.words:
            continue
        spans = [(w.start, w.end) for w in e.words]
        scores = rng.random(len(spans)) if method == "random" else np.array(
            [w.score for w in e.words])
        order = np.argsort(-scores, kind="stable")
        target = classifier.labels.names.index(e.target)
        batch = [e.text] + variants(e.text, spans, order)
        logits, _ = classifier.backend.logits(batch, len(batch))
        p = softmax(np.asarray(logits, dtype=np.float64), classifier.temperature)[:, target]
        comp.append(float(np.mean(p[0] - p[1:1 + len(BINS)])))
        suff.append(float(np.mean(p[0] - p[1 + len(BINS):])))
    return {"method": method, "n": len(comp), "comprehensiveness": float(np.mean(comp)),
            "sufficiency": float(np.mean(suff)), "seconds": seconds, "cpu_seconds": cpu_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--torch", type=Path, help="a torch model (e.g. the default encoder "
                        "fine-tuned on pn train)")
    parser.add_argument("--onnx", type=Path, help="its ONNX export")
    parser.add_argument("--tfidf", type=Path, help="a tfidf model trained on pn train")
    parser.add_argument("--n", type=int, default=100, help="dev sentences (random sample)")
    parser.add_argument("--n-tfidf", type=int, default=1112, help="dev sentences for tfidf")
    parser.add_argument("--steps", type=int, default=20, help="integrated-gradients steps")
    parser.add_argument("--methods", help="only these methods (comma-separated; random is "
                        "always run, for the ratio)")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    dev = read_table(args.data).where_split("dev").texts
    runs = []
    for kind, path, methods, n in [
            ("torch", args.torch, ["integrated-gradients", "occlusion", "random"], args.n),
            ("onnx", args.onnx, ["occlusion", "random"], args.n),
            ("tfidf", args.tfidf, ["tfidf", "occlusion", "random"], args.n_tfidf)]:
        if path is None:
            continue
        classifier = kanjo.load(path)
        texts = random.Random(0).sample(dev, min(n, len(dev)))
        explain(classifier, texts[:2])  # warm up (imports, first-call costs)
        for method in methods:
            if args.methods and method != "random" and method not in args.methods.split(","):
                continue
            result = faithfulness(classifier, texts, method, steps=args.steps)
            result["model"] = f"{kind} ({path.name})"
            runs.append(result)
            print(result, flush=True)
    today = datetime.date.today().isoformat()
    lines = [f"#### ERASER faithfulness on JRTE pn dev, {today}, kanjo {kanjo.__version__}, "
             f"{platform.machine()} {len(os.sched_getaffinity(0))} cores (load average "
             f"{load:.1f} at the start: the machine was shared)", "",
             "AOPC over the top 1/5/10/20/50 % of MeCab words (at least one), towards the "
             "predicted label; probabilities calibrated. Comprehensiveness: higher is better; "
             "sufficiency: lower is better. s/text: the explanation alone, wall clock and CPU time "
             "(all threads of the process).", "",
             "| model | method | n | comprehensiveness | sufficiency | × random (comp.) | "
             "s / text | CPU s / text |", "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        rand = next(x for x in runs if x["model"] == r["model"] and x["method"] == "random")
        ratio = r["comprehensiveness"] / rand["comprehensiveness"] if rand[
            "comprehensiveness"] > 0 else float("nan")
        seconds = f"{r['seconds']:.3f}" if r["seconds"] is not None else "–"
        cpu = f"{r['cpu_seconds']:.3f}" if r["cpu_seconds"] is not None else "–"
        lines.append(f"| {r['model']} | {r['method']} | {r['n']} | "
                     f"{r['comprehensiveness']:.4f} | {r['sufficiency']:.4f} | {ratio:.2f} | "
                     f"{seconds} | {cpu} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
