"""ONNX export of a small-data model (the embeddings recipe, single texts): does the export keep
its predictions, and what does it buy in speed and size?

`kanjo train` with the defaults on a stratified 256 rows of JRTE pn train (the embeddings recipe
with LP-FT at that size), then ``kanjo export`` as fp32 and ``--quantize int8`` (calibrated on
the training texts). Each of the three is scored on the 1,112 pn dev rows: macro-F1, agreement
of labels with the torch model, the largest probability difference, rows/s of ``predict_proba``
(batch 64, after one warm-up batch) and the directory's size.

    python benchmarks/embeddings_export.py            # print the table
    python benchmarks/embeddings_export.py --record   # and write it into RESULTS.md

Reads ../shared/data (CC BY-NC-SA: never copied into the repository); the train file is written
to a temporary directory and deleted.
"""

from __future__ import annotations

import argparse
import csv
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import dir_bytes, replace_section  # noqa: E402  (benchmarks/ is on sys.path)
from small_data import LABEL_OF, read_rows, subset  # noqa: E402

SECTION = "## ONNX export of a small-data model (benchmarks/embeddings_export.py)"
ROWS = 256


def measure(model: Path, texts: list[str], y: list[str],
            reference: np.ndarray | None) -> dict[str, float]:
    import kanjo
    from kanjo.evaluation.metrics import classification_metrics

    clf = kanjo.load(model)
    clf.predict_proba(texts[:64])  # warm-up
    started = time.perf_counter()
    proba = clf.predict_proba(texts, batch_size=64)
    seconds = time.perf_counter() - started
    names = list(clf.labels.names)
    predicted = [names[i] for i in proba.argmax(axis=1)]
    ids = {n: i for i, n in enumerate(names)}
    metrics = classification_metrics(np.array([ids[v] for v in y]),
                                     np.array([ids[v] for v in predicted]), tuple(names))
    out = {"macro_f1": metrics["macro_f1"], "rows_per_s": len(texts) / seconds,
           "mb": dir_bytes(model) / 1e6, "proba": proba}
    if reference is not None:
        out["agreement"] = float((proba.argmax(1) == reference.argmax(1)).mean())
        out["max_dp"] = float(np.abs(proba - reference).max())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record", action="store_true", help="write benchmarks/RESULTS.md")
    args = parser.parse_args()

    import kanjo
    from kanjo.export.onnx import export

    rows = read_rows()
    dev = [r for r in rows if r[4] == "dev"]
    texts, y = [r[2] for r in dev], [LABEL_OF[r[1]] for r in dev]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        train = root / "train.csv"
        with open(train, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows([rows[i][2], LABEL_OF[rows[i][1]]]
                             for i in subset(rows, ROWS, args.seed))
        started = time.time()
        clf = kanjo.train(train, root / "torch", seed=args.seed)
        train_s = time.time() - started
        assert clf.backend.kind == "embedding", clf.meta["recipe"]
        results = {"torch (kanjo.load of the trained model)": measure(root / "torch", texts, y,
                                                                       None)}
        reference = results["torch (kanjo.load of the trained model)"]["proba"]
        for name, quantize in (("ONNX fp32", None), ("ONNX int8", "int8")):
            started = time.time()
            export(root / "torch", root / name.replace(" ", "-"), quantize=quantize)
            export_s = time.time() - started
            results[f"{name} (export {export_s:.0f} s)"] = measure(
                root / name.replace(" ", "-"), texts, y, reference)
    lines = [
        SECTION, "",
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, 2 CPU cores. `kanjo train` defaults "
        f"on {ROWS} stratified pn train rows (seed {args.seed}; {clf.meta['recipe']['name']}, "
        f"LP-FT: {train_s:.0f} s), scored on the {len(texts):,} pn dev rows.", "",
        "| model | dev macro-F1 | label agreement | max prob. diff | rows/s | MB |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['macro_f1']:.4f} | {r.get('agreement', 1.0):.4f} | "
                     f"{r.get('max_dp', 0.0):.2g} | {r['rows_per_s']:.0f} | {r['mb']:.0f} |")
    section = "\n".join(lines) + "\n"
    print(section)
    if args.record:
        replace_section(section)


if __name__ == "__main__":
    main()
