"""Domain-adaptive MLM pretraining of the default encoder on the JRTE unlabelled sentences.

On the 2,000 held-out sentences (the very split and masks `kanjo pretrain` evaluates on):
masked-token top-1/top-5 accuracy and perplexity *before* (the default encoder with its new
head as initialised: decoder tied to the embeddings, fresh transform, bias = log unigram
frequencies of the training text) and *after* `kanjo pretrain --model default --steps 300`, and
that command's wall time. With ``--downstream`` also JRTE pn dev macro-F1 of
`kanjo train --model PRETRAINED` against `kanjo train --model default` (about 5 minutes each
on 2 cores; ``--baseline DIR`` reuses a finished `--model default` run).

The data (CC BY-NC-SA) is read in place and never copied into the project.

    python benchmarks/pretrain.py [--text PATH] [--steps 300] [--work DIR] [--downstream]
                                  [--baseline DIR] [-- extra kanjo pretrain flags]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TEXT = SHARED / "jrte-unlabeled" / "sentences.txt"
PN = SHARED / "jrte-pn" / "pn.train-dev.tsv"


def before(text: Path) -> dict[str, Any]:
    """Held-out metrics of the default encoder with the head `kanjo pretrain` starts from."""
    from kanjo.data import read_texts
    from kanjo.models.devices import model_max_length
    from kanjo.training.pretraining import (
        Masker,
        PretrainConfig,
        evaluate,
        heldout_batches,
        init_decoder_bias,
        prepare_model,
        split_and_encode,
    )

    config = PretrainConfig(model="default")
    model, tokenizer, new_head = prepare_model(config)
    assert new_head, "the default encoder is expected to have no MLM head"
    max_length = model_max_length(model, tokenizer, config.max_length)
    train, heldout = split_and_encode(read_texts(text).texts, tokenizer, config, max_length)
    init_decoder_bias(model, tokenizer, train.ids)
    vocab = min(len(tokenizer), model.get_output_embeddings().weight.shape[0])
    batches = heldout_batches(Masker(tokenizer, config.mask_prob, vocab), heldout, config.seed)
    return {"heldout_sentences": len(heldout.ids), **evaluate(model, batches, vocab)}


def kanjo(*args: str) -> float:
    """Run a kanjo command; its wall time in seconds."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    started = time.time()
    subprocess.run([sys.executable, "-m", "kanjo", *args], check=True, env=env)
    return time.time() - started


def dev_f1(model_dir: Path) -> float:
    meta = json.loads((model_dir / "kanjo.json").read_text(encoding="utf-8"))
    return meta["dev_metrics"]["macro_f1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--text", type=Path, default=TEXT)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--work", type=Path, default=Path("runs/bench-pretrain"))
    parser.add_argument("--downstream", action="store_true")
    parser.add_argument("--baseline", type=Path, help="a finished `--model default` pn run")
    parser.add_argument("--skip-before", action="store_true")
    parser.add_argument("extra", nargs="*", help="more `kanjo pretrain` flags (after --)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `kanjo pretrain` sets it
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"text": str(args.text), "steps": args.steps,
                               "extra_flags": args.extra, "cpu_threads": os.cpu_count()}
    if not args.skip_before:
        results["before"] = before(args.text)
        print("before:", results["before"], flush=True)

    pretrained = args.work / "pretrained"
    wall = kanjo("pretrain", "--model", "default", "--text", str(args.text), "--out",
                 str(pretrained), "--steps", str(args.steps), "--overwrite", *args.extra)
    meta = json.loads((pretrained / "kanjo.json").read_text(encoding="utf-8"))
    results["after"] = meta["metrics"]
    results["history"] = meta["history"]
    results["pretrain_wall_seconds"] = round(wall, 1)
    results["pretrain_timings"] = meta["timings"]
    print("after:", results["after"], f"wall {wall:.0f} s", flush=True)

    if args.downstream:
        runs = {"pretrained": (args.work / "pn-pretrained", str(pretrained))}
        if args.baseline is None:
            runs["default"] = (args.work / "pn-default", "default")
        for name, (out, model) in runs.items():
            seconds = kanjo("train", str(PN), "--out", str(out), "--model", model,
                            "--overwrite")
            results[f"pn_dev_macro_f1_{name}"] = dev_f1(out)
            results[f"pn_train_seconds_{name}"] = round(seconds, 1)
        if args.baseline is not None:
            results["pn_dev_macro_f1_default"] = dev_f1(args.baseline)
        print("pn dev macro-F1:", {k: v for k, v in results.items() if k.startswith("pn_")})

    (args.work / "results.json").write_text(json.dumps(results, indent=2) + "\n",
                                            encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
