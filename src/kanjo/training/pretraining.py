"""Continued masked-LM pretraining (domain adaptation) of an encoder on unlabelled text.

text file → sentences → held-out split → token ids → length-grouped batches → masked tokens →
encoder → MLM head at the masked positions only → cross-entropy → AdamW. The result is a
standard ``AutoModelForMaskedLM`` directory (with a ``kanjo.json``) that ``fill-mask`` and
``kanjo train --model DIR`` accept.

A hand-written loop, not transformers' ``Trainer``, because the speed and the measurements come
from things Trainer does not do cleanly:

* the head (transform + a decoder over 250k pieces for the default encoder) runs only on the
  ~15 % of positions that are masked, and its softmax spans only the pieces that occur in the
  training text (4,680 of 250,002 for the JRTE sentences). Trainer's loss could do the first;
  its evaluation, though, gathers the logits of every prediction ([n, vocabulary], gigabytes)
  to compute accuracy, where :func:`evaluate` reduces each batch to top-k hits;
* a new head may first be trained alone with the encoder frozen (``head_steps``: no backward
  pass through the encoder, ~4x cheaper steps), the encoder then joining with its own warm-up
  (measured on the default encoder: it does not pay at 300 steps, so it is off by default);
* the masks and dropout of step *n* are seeded with (seed, n) and the batches of an epoch with
  (seed, epoch), so ``resume`` continues the interrupted run exactly, and the held-out masks
  are the same at every evaluation.

Checkpoints hold only the parameters that training changes (not the frozen 96M-parameter
embedding matrix of the default encoder) plus the optimiser state; a run is assembled in the
hidden ``.OUT.partial`` work directory and renamed into place when it is complete.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kanjo.config import PretrainConfig
from kanjo.data.batching import length_grouped_batches
from kanjo.inference.fill_mask import masked_logits, vocabulary_subset
from kanjo.training.checkpoints import (
    last_complete_checkpoint,
    remove_checkpoint,
    remove_checkpoints,
)
from kanjo.training.masking import (
    Encoded,
    MaskedBatch,
    Masker,
    encode_texts,
    heldout_batches,
    heldout_split,
)
from kanjo.training.optimizer import decay_parameter_names
from kanjo.training.run_meta import run_metadata

CHECKPOINT_STATE = "state.json"  # written last: its presence marks a complete checkpoint


@dataclass
class PretrainResult:
    path: Path
    meta: dict[str, Any]


# --------------------------------------------------------------------------- evaluation


def evaluate(model: Any, batches: list[MaskedBatch], vocab_limit: int | None = None
             ) -> dict[str, float]:
    """Held-out masked-LM loss, perplexity and masked-token top-1/top-5 accuracy."""
    import torch
    import torch.nn.functional as F

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    loss = top1 = top5 = n = 0.0
    with torch.inference_mode():
        for b in batches:
            logits = masked_logits(model, b.input_ids.to(device), b.attention_mask.to(device),
                                   b.positions.to(device)).float()
            if vocab_limit is not None:
                logits = logits[:, :vocab_limit]
            labels = b.labels.to(device)
            loss += float(F.cross_entropy(logits, labels, reduction="sum"))
            best = logits.topk(5, dim=-1).indices
            top1 += float((best[:, 0] == labels).sum())
            top5 += float((best == labels[:, None]).any(dim=1).sum())
            n += len(labels)
    model.train(was_training)
    if not n:
        return {}
    return {"loss": round(loss / n, 4), "perplexity": round(math.exp(loss / n), 2),
            "top1": round(top1 / n, 4), "top5": round(top5 / n, 4), "masked_tokens": int(n)}


# --------------------------------------------------------------------------- the run


def prepare_model(config: PretrainConfig) -> tuple[Any, Any, bool]:
    """The base as a masked LM and its tokenizer, and whether the head is new: a model without
    one gets a head whose decoder is tied to the input embeddings (transform freshly
    initialised, seeded by ``config.seed``)."""
    import torch

    from kanjo.inference.fill_mask import load_masked_lm

    torch.manual_seed(config.seed)
    model, tokenizer, new_head = load_masked_lm(config.model, require_head=False)
    if new_head:
        decoder, embeddings = model.get_output_embeddings(), model.get_input_embeddings()
        if decoder.weight is not embeddings.weight:
            decoder.weight = embeddings.weight
    return model, tokenizer, new_head


def init_decoder_bias(model: Any, tokenizer: Any, ids: list[list[int]]) -> None:
    """Set a new head's decoder bias to the log unigram frequencies of the training tokens,
    so that its first predictions are the corpus' token distribution, not uniform noise."""
    import torch

    bias = getattr(model.get_output_embeddings(), "bias", None)
    if bias is None:
        return
    counts = np.bincount(np.concatenate([np.asarray(x) for x in ids]), minlength=len(bias))
    counts = counts[:len(bias)].astype(np.float64)
    counts[[i for i in tokenizer.all_special_ids if i < len(counts)]] = 0
    with torch.no_grad():
        bias.copy_(torch.from_numpy(np.log(counts + 0.1) - np.log(counts.sum())).float())


def split_and_encode(texts: list[str], tokenizer: Any, config: PretrainConfig,
                     max_length: int) -> tuple[Encoded, Encoded]:
    """The training and held-out sentences (see :func:`heldout_split`), tokenised."""
    train_idx, heldout_idx = heldout_split(len(texts), config.eval_size, config.seed)
    train = encode_texts(tokenizer, [texts[i] for i in train_idx], max_length, config.whole_word)
    heldout = encode_texts(tokenizer, [texts[i] for i in heldout_idx], max_length,
                           config.whole_word)
    return train, heldout


def pretrain(text: str | Path, out: str | Path, config: PretrainConfig | None = None, *,
             resume: bool = False, overwrite: bool = False, progress: bool = True,
             **options: Any) -> PretrainResult:
    """Pretrain ``config.model`` on the sentences of ``text`` and write the masked LM to
    ``out``. ``options`` are PretrainConfig fields, used when no ``config`` is given."""
    from kanjo.data import read_texts
    from kanjo.data.normalize import NORMALIZATION, normalize_texts
    from kanjo.models.devices import model_max_length, select_device
    from kanjo.storage import (
        check_writable_target,
        claim_work_dir,
        publish,
        record_checksums,
        sha256_file,
        work_dir,
        write_meta,
    )

    config = config or PretrainConfig(**options)
    out = Path(out)
    if not resume:
        check_writable_target(out, overwrite)
    started = time.time()
    table = read_texts(text, config.format, config.text_column)
    table.texts, normalised = normalize_texts(table.texts)  # as fine-tuning will see them
    n_train = len(table) - len(heldout_split(len(table), config.eval_size, config.seed)[1])
    data = {"file": str(table.path), "sha256": sha256_file(table.path), "rows": len(table),
            "train_rows": n_train, "heldout_rows": len(table) - n_train}
    work = work_dir(out)
    claim_work_dir(work, {"config": config.to_dict(), "data": data}, resume)

    model, tokenizer, new_head = prepare_model(config)
    max_length = model_max_length(model, tokenizer, config.max_length)
    train, heldout = split_and_encode(table.texts, tokenizer, config, max_length)
    if new_head:
        init_decoder_bias(model, tokenizer, train.ids)
    model.to(select_device(config.device))
    loop = TrainingLoop(model, tokenizer, train, heldout, config, new_head, work / "checkpoints")
    loop.run(resume=resume, progress=progress)

    staged = work / "model"
    if staged.exists():
        shutil.rmtree(staged)
    model.to("cpu").save_pretrained(staged)
    tokenizer.save_pretrained(staged)
    meta = run_metadata(config.model, config.to_dict(), data, kind="masked-lm",
                        text_normalization=NORMALIZATION)
    meta["data"]["texts_normalised"] = normalised
    meta.update({
        "head_added": new_head,
        "steps": loop.total,
        "head_only_steps": loop.head_steps,
        "max_length": max_length,
        "metrics": loop.history[-1] if loop.history else {},
        "history": loop.history,
        "timings": {"train_seconds": round(loop.seconds, 1),
                    "eval_seconds": round(loop.eval_seconds, 1),
                    "total_seconds": round(time.time() - started, 1)},
        "checksums": record_checksums(staged, ["model.safetensors"]),
    })
    write_meta(staged, meta)
    publish(staged, out, overwrite=overwrite or resume)
    remove_checkpoints(work / "checkpoints", "step", CHECKPOINT_STATE)  # never half-removed
    shutil.rmtree(work, ignore_errors=True)
    return PretrainResult(out, meta)


class TrainingLoop:
    """The optimisation loop: steps, evaluations and checkpoints of one run."""

    def __init__(self, model: Any, tokenizer: Any, train: Encoded, heldout: Encoded,
                 config: PretrainConfig, new_head: bool, checkpoints: Path):
        import torch

        self.model, self.train, self.config, self.checkpoints = model, train, config, checkpoints
        self.device = next(model.parameters()).device
        self.vocab = min(len(tokenizer), model.get_output_embeddings().weight.shape[0])
        self.masker = Masker(tokenizer, config.mask_prob, self.vocab)
        self.eval_batches = heldout_batches(self.masker, heldout, config.seed) \
            if heldout.ids else []
        per_epoch = math.ceil(len(train.ids) / config.batch_size)
        self.total = config.steps or max(1, math.ceil((config.epochs or 1.0) * per_epoch))
        self.head_steps = min(config.head_steps, self.total - 1) if new_head else 0
        self.groups = _param_groups(model, config, new_head)
        self.optimizer = torch.optim.AdamW(self.groups, lr=config.lr,
                                           weight_decay=config.weight_decay,
                                           fused=self.device.type in ("cpu", "cuda"))
        self.active, self.lookup = _corpus_vocabulary(train.ids, tokenizer, self.vocab,
                                                      config.corpus_vocabulary)
        if self.active is not None:
            self.active = self.active.to(self.device)
        self.history: list[dict[str, Any]] = []
        self.seconds = self.eval_seconds = 0.0
        self.bar: Any = None

    def run(self, resume: bool = False, progress: bool = True) -> None:
        from tqdm.auto import tqdm

        first = self._restore() if resume else 0
        self.bar = tqdm(total=self.total, initial=first, desc="pretraining", unit="step",
                        dynamic_ncols=True, disable=not progress)
        batches = _batch_plan(np.array([len(x) for x in self.train.ids]),
                              self.config.batch_size, self.config.seed, start=first)
        self.model.train()
        tick, smooth = time.time() - self.seconds, None
        for step in range(first, self.total):
            loss = self.step(step, next(batches))
            smooth = loss if smooth is None else 0.95 * smooth + 0.05 * loss
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{smooth:.3f}",
                                 phase="head" if step < self.head_steps else "all")
            done = step + 1
            if self.config.eval_steps and done % self.config.eval_steps == 0 and done < self.total:
                self.evaluate(done)
            if done % self.config.save_steps == 0 and done < self.total:
                self.seconds = time.time() - tick
                _save_checkpoint(self.checkpoints, done, self.model, self.optimizer,
                                 [n for g in self.groups for n in g["names"]], self.history,
                                 self.seconds)
        self.evaluate(self.total)
        self.seconds = time.time() - tick
        self.bar.close()

    def step(self, step: int, index: np.ndarray) -> float:
        """One optimisation step on the sentences ``index``; returns the loss."""
        import torch

        head_only = step < self.head_steps
        for group in self.optimizer.param_groups:
            group["lr"] = _lr(group, step, self.total, self.head_steps, self.config.warmup)
        seed = self.config.seed * 1_000_003 + step
        torch.manual_seed(seed)  # dropout
        words = [self.train.words[i] for i in index] if self.train.words is not None else None
        batch = self.masker([self.train.ids[i] for i in index], words,
                            torch.Generator().manual_seed(seed))
        subset = vocabulary_subset(self.model, self.active) if self.active is not None \
            else nullcontext()
        with subset:
            logits = masked_logits(self.model, batch.input_ids.to(self.device),
                                   batch.attention_mask.to(self.device),
                                   batch.positions.to(self.device), encoder_grad=not head_only)
        labels = self.lookup[batch.labels] if self.lookup is not None else batch.labels
        loss = torch.nn.functional.cross_entropy(logits.float(), labels.to(self.device))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in self.groups for p in g["params"]], 1.0)
        self.optimizer.step()
        return loss.item()

    def evaluate(self, step: int) -> None:
        if not self.eval_batches or any(h["step"] == step for h in self.history):
            return
        tick = time.time()
        metrics = evaluate(self.model, self.eval_batches, self.vocab)
        self.eval_seconds += time.time() - tick
        self.history.append({"step": step, **metrics})
        if not self.bar.disable:
            self.bar.write(f"step {step}: held-out loss {metrics['loss']:.4f} · perplexity "
                           f"{metrics['perplexity']:.2f} · top-1 {metrics['top1']:.4f} · "
                           f"top-5 {metrics['top5']:.4f}")

    def _restore(self) -> int:
        checkpoint = last_complete_checkpoint(self.checkpoints, "step", CHECKPOINT_STATE)
        if checkpoint is None:
            return 0
        step, self.history, self.seconds = _load_checkpoint(checkpoint, self.model,
                                                            self.optimizer)
        return step


def _corpus_vocabulary(ids: list[list[int]], tokenizer: Any, vocab: int, enabled: bool
                       ) -> tuple[Any, Any]:
    """(the ordinary token ids of the training text, a map id → column), or (None, None)."""
    import torch

    if not enabled:
        return None, None
    present = np.zeros(vocab, dtype=bool)
    present[np.concatenate([np.asarray(x) for x in ids])] = True
    present[[i for i in tokenizer.all_special_ids if i < vocab]] = False
    active = torch.from_numpy(np.flatnonzero(present))
    lookup = torch.full((vocab,), -100, dtype=torch.long)
    lookup[active] = torch.arange(len(active))
    return active, lookup


def _batch_plan(lengths: np.ndarray, batch_size: int, seed: int, start: int
                ) -> Iterator[np.ndarray]:
    """The batches from step ``start`` on; epoch e is shuffled with (seed, e)."""
    per_epoch = math.ceil(len(lengths) / batch_size)
    epoch, skip = divmod(start, per_epoch)
    while True:
        plan = length_grouped_batches(lengths, batch_size, np.random.default_rng([seed, epoch]))
        yield from plan[skip:]
        epoch, skip = epoch + 1, 0


def _is_embedding(name: str) -> bool:
    return "word_embeddings" in name


def _param_groups(model: Any, config: PretrainConfig, new_head: bool) -> list[dict[str, Any]]:
    """AdamW groups: head and encoder (roles for the schedule) × with/without weight decay
    (:func:`~kanjo.training.optimizer.decay_parameter_names`, the rule fine-tuning uses too)."""
    base = model.base_model_prefix + "."
    decayed = decay_parameter_names(model)
    groups: dict[tuple[str, bool], dict[str, Any]] = {}
    for name, param in model.named_parameters():  # shared (tied) parameters come once
        if config.freeze_embeddings and _is_embedding(name):
            param.requires_grad = False
            continue
        role = "encoder" if name.startswith(base) else "head"
        decay = name in decayed
        group = groups.setdefault((role, decay), {
            "params": [], "names": [], "role": role,
            "weight_decay": config.weight_decay if decay else 0.0,
            "peak": config.head_lr if role == "head" and new_head else config.lr,
        })
        group["params"].append(param)
        group["names"].append(name)
    return [groups[k] for k in sorted(groups)]


def _lr(group: dict[str, Any], step: int, total: int, head_steps: int, warmup: float
        ) -> float:
    """Linear warm-up to the group's peak, then linear decay to 0 at the last step; the
    encoder's schedule starts when the head-only steps end."""
    start = head_steps if group["role"] == "encoder" else 0
    if step < start:
        return 0.0
    span = total - start
    ramp = max(1.0, min(warmup * span if warmup < 1 else warmup, span))
    into = step - start
    if into < ramp:
        return group["peak"] * (into + 1) / ramp
    return group["peak"] * max(0.0, (total - step) / max(1.0, span - ramp))


# --------------------------------------------------------------------------- checkpoints


def _save_checkpoint(directory: Path, step: int, model: Any, optimizer: Any,
                     names: list[str], history: list[dict[str, Any]], elapsed: float) -> None:
    import torch
    from safetensors.torch import save_file

    target = directory / f"step-{step}"
    remove_checkpoint(target, CHECKPOINT_STATE)
    target.mkdir(parents=True)
    params = dict(model.named_parameters())
    save_file({n: params[n].detach().cpu().contiguous() for n in names},
              str(target / "trained.safetensors"))
    torch.save(optimizer.state_dict(), target / "optimizer.pt")
    (target / CHECKPOINT_STATE).write_text(json.dumps(
        {"step": step, "history": history, "elapsed": elapsed}), encoding="utf-8")
    for old in directory.glob("step-*"):
        if old != target:
            remove_checkpoint(old, CHECKPOINT_STATE)


def _load_checkpoint(path: Path, model: Any, optimizer: Any
                     ) -> tuple[int, list[dict[str, Any]], float]:
    import torch
    from safetensors.torch import load_file

    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in load_file(str(path / "trained.safetensors")).items():
            params[name].copy_(value)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True))
    state = json.loads((path / CHECKPOINT_STATE).read_text(encoding="utf-8"))
    return int(state["step"]), list(state["history"]), float(state["elapsed"])
