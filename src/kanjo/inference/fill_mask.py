"""Fill-mask: predict the tokens hidden behind ``[MASK]`` with a masked-language model.

``[MASK]`` is a placeholder for any model: it is translated to the model's own mask token
(``<mask>`` for XLM-R/SentencePiece vocabularies). Every mask of a text is predicted in one
forward pass, independently of the others; the filled sentence of a candidate puts the other
masks' best tokens in their places. The output layer is applied only at the masked positions
(:func:`masked_logits`), which is also how :mod:`kanjo.pretraining` trains.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kanjo.errors import ConfigError, KanjoError, ModelError

PLACEHOLDER = "[MASK]"


@dataclass
class Candidate:
    """One predicted token for one mask."""

    token_str: str  # the token as text, as it is written into the sentence
    token: str  # the vocabulary entry (``##ing``, ``▁word``)
    token_id: int
    score: float  # probability among the model's ordinary (non-special) tokens
    sequence: str  # the text with this token in this mask and the best tokens in the others


@dataclass
class FillResult:
    """The candidates for every mask of one text, best first."""

    model: str
    text: str
    masks: list[list[Candidate]] = field(default_factory=list)

    @property
    def sequence(self) -> str:
        """The text with every mask filled by its best token."""
        return self.masks[0][0].sequence

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "text": self.text,
            "sequence": self.sequence,
            "masks": [[vars(c) for c in mask] for mask in self.masks],
        }


def load_masked_lm(spec: str, *, require_head: bool = True) -> tuple[Any, Any, bool]:
    """Load ``spec`` (default | directory | hub id) as ``AutoModelForMaskedLM`` and its
    tokenizer. Returns (model, tokenizer, head_is_new); with ``require_head`` a model whose
    masked-LM head is absent from the checkpoint raises a ModelError that says how to make one.
    """
    from transformers import AutoModelForMaskedLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from kanjo.models.resolve import load_error, resolve
    from kanjo.storage import read_meta, verify

    hf_logging.disable_progress_bar()  # "Loading weights" / "Writing model shards" bars
    source = resolve(spec)
    if source.kind == "tfidf":
        raise ConfigError("tfidf is not a masked-language model")
    if source.kind == "local":
        verify(Path(source.location), read_meta(Path(source.location)))
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.location)
        model, info = AutoModelForMaskedLM.from_pretrained(source.location,
                                                           output_loading_info=True)
    except Exception as exc:  # transformers, safetensors and tokenizers each raise their own
        raise load_error(source, exc) from exc
    prefix = model.base_model_prefix + "."
    missing = sorted(k for k in info["missing_keys"] if not k.startswith(prefix))
    if missing and require_head:
        raise ModelError(
            f"'{spec}' has no masked-LM head (missing {', '.join(missing[:3])}"
            f"{' …' if len(missing) > 3 else ''}): it cannot fill masks",
            hint=f"make one by continued pretraining: kanjo pretrain --model {spec} "
            "--text FILE --out DIR, then use DIR",
        )
    if tokenizer.mask_token is None or tokenizer.mask_token_id is None:
        raise ModelError(f"the tokenizer of '{spec}' has no mask token")
    return model.eval(), tokenizer, bool(missing)


def mlm_head(model: Any) -> Any | None:
    """The masked-LM head module (BERT ``cls``, RoBERTa ``lm_head``), or None when the model
    does not have exactly one module beside its encoder."""
    others = [m for name, m in model.named_children() if name != model.base_model_prefix]
    return others[0] if len(others) == 1 else None


def masked_logits(model: Any, input_ids: Any, attention_mask: Any, positions: Any,
                  encoder_grad: bool = True) -> Any:
    """Vocabulary logits [n, V] at the ``positions`` (bool [B, T]) only: the encoder runs on
    every token, the head (transform and the vocabulary-sized decoder) on masked ones only.
    ``encoder_grad=False`` runs the encoder without autograd (a frozen encoder)."""
    import torch

    head = mlm_head(model)
    if head is None:  # unusual layout: the full model, logits at every position
        return model(input_ids=input_ids, attention_mask=attention_mask).logits[positions]
    with torch.set_grad_enabled(encoder_grad and torch.is_grad_enabled()):
        hidden = model.base_model(input_ids=input_ids, attention_mask=attention_mask)[0]
    return head(hidden[positions])


@contextlib.contextmanager
def vocabulary_subset(model: Any, ids: Any) -> Iterator[None]:
    """Within the block the head scores only the vocabulary entries ``ids`` (a LongTensor):
    column j of its logits is token ``ids[j]``. Pretraining uses it to leave out of the
    softmax the pieces its corpus never contains (most of a 250k multilingual vocabulary)."""
    import torch

    decoder = model.get_output_embeddings()
    parent, attribute = next(
        (model.get_submodule(name.rpartition(".")[0]), name.rpartition(".")[2])
        for name, module in model.named_modules() if module is decoder)

    class Subset(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            bias = decoder.bias[ids] if decoder.bias is not None else None
            return torch.nn.functional.linear(x, decoder.weight[ids], bias)

    setattr(parent, attribute, Subset())
    try:
        yield
    finally:
        setattr(parent, attribute, decoder)


def mask_encoder(tokenizer: Any) -> Callable[[str], list[int]]:
    """A function text → input ids that tokenises around mask tokens as the model saw them in
    pretraining. SentencePiece (Metaspace) tokenizers prefix every piece of text after a mask
    with a word-start ``▁``, which the model never saw in the middle of Japanese words: they
    are re-configured to prefix only the start of the text, and the spaces before a mask are
    absorbed into it (XLM-R's own ``<mask>`` does that too)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    pre = getattr(backend, "pre_tokenizer", None)
    if backend is None or type(pre).__name__ != "Metaspace" or pre.prepend_scheme != "always":
        return lambda text: list(tokenizer(text)["input_ids"])
    from tokenizers import Tokenizer
    from tokenizers.pre_tokenizers import Metaspace

    clone = Tokenizer.from_str(backend.to_str())
    clone.pre_tokenizer = Metaspace(replacement=pre.replacement, prepend_scheme="first",
                                    split=pre.split)
    before_mask = re.compile(r"\s+(?=" + re.escape(tokenizer.mask_token) + ")")
    return lambda text: clone.encode(before_mask.sub("", text)).ids


def token_text(tokenizer: Any, token_id: int) -> str:
    """A vocabulary entry as plain text (no ``##`` continuation mark, no ``▁`` word start)."""
    text = tokenizer.decode([token_id]).strip()
    return text[2:] if text.startswith("##") and len(text) > 2 else text


class MaskFiller:
    """A masked-language model ready to fill ``[MASK]`` placeholders."""

    def __init__(self, model: Any, tokenizer: Any, name: str, device: str = "cpu"):
        import torch

        self.model = model.eval().to(device)
        self.tokenizer = tokenizer
        self.name = name
        self.device = device
        self._encode = mask_encoder(tokenizer)
        # special tokens and the embedding rows the tokenizer never produces are no candidates
        rows = model.get_output_embeddings().weight.shape[0]
        self._blocked = torch.zeros(rows, dtype=torch.bool)
        self._blocked[min(len(tokenizer), rows):] = True
        self._blocked[[i for i in tokenizer.all_special_ids if i < rows]] = True

    @classmethod
    def load(cls, spec: str, device: str = "auto") -> MaskFiller:
        from kanjo.models.devices import select_device

        model, tokenizer, _ = load_masked_lm(spec, require_head=True)
        return cls(model, tokenizer, spec, select_device(device))

    def translate(self, text: str) -> str:
        """The text with every ``[MASK]`` replaced by this model's mask token."""
        return text.replace(PLACEHOLDER, self.tokenizer.mask_token)

    def __call__(self, text: str, top_k: int = 5) -> FillResult:
        import torch

        if top_k < 1:
            raise ConfigError(f"top-k must be ≥ 1, got {top_k}")
        if not text.strip():
            raise KanjoError("the text is empty")
        mask = self.tokenizer.mask_token
        model_text = self.translate(text)
        parts = model_text.split(mask)
        if len(parts) < 2:
            raise KanjoError(
                f"the text has no mask: {text!r}",
                hint=f"write {PLACEHOLDER} where a word is to be predicted, "
                f"e.g. 'この部屋は{PLACEHOLDER}です。'",
            )
        ids = self._encode(model_text)
        positions = [i for i, t in enumerate(ids) if t == self.tokenizer.mask_token_id]
        if len(positions) != len(parts) - 1:
            raise ModelError(f"the tokenizer of '{self.name}' splits its mask token {mask!r}")
        limit = _max_length(self.model, self.tokenizer)
        if len(ids) > limit:
            raise KanjoError(f"the text is {len(ids)} tokens long; '{self.name}' reads at most "
                             f"{limit}", hint="shorten the text around the mask")
        input_ids = torch.tensor([ids], device=self.device)
        where = input_ids == self.tokenizer.mask_token_id
        with torch.inference_mode():
            logits = masked_logits(self.model, input_ids, torch.ones_like(input_ids), where)
        logits = logits.float().cpu().masked_fill(self._blocked, float("-inf"))
        probs = logits.softmax(-1)
        k = min(top_k, int((~self._blocked).sum()))
        scores, best = probs.topk(k, dim=-1)
        words = [[token_text(self.tokenizer, int(i)) for i in row] for row in best]
        top1 = [row[0] for row in words]
        result = FillResult(self.name, text)
        for m in range(len(positions)):
            candidates = []
            for r in range(k):
                fills = top1[:m] + [words[m][r]] + top1[m + 1:]
                sequence = _join(parts, fills)
                token_id = int(best[m, r])
                candidates.append(Candidate(
                    words[m][r], self.tokenizer.convert_ids_to_tokens(token_id), token_id,
                    float(scores[m, r]), sequence))
            result.masks.append(candidates)
        return result


def _join(parts: list[str], fills: list[str]) -> str:
    out = [parts[0]]
    for fill, part in zip(fills, parts[1:], strict=True):
        out += [fill, part]
    return "".join(out)


def _max_length(model: Any, tokenizer: Any) -> int:
    from kanjo.models.devices import model_max_length

    return model_max_length(model, tokenizer, 10**6)


def print_fill_results(console: Any, results: list[FillResult]) -> None:
    """One table per mask: the candidates of each model side by side (one model: with the
    filled sentences), then each model's best-filled sentence."""
    from rich.table import Table
    from rich.text import Text

    first = results[0]
    console.print(first.text, markup=False, highlight=False)
    for m in range(len(first.masks)):
        title = f"mask {m + 1} of {len(first.masks)}" if len(first.masks) > 1 else None
        table = Table(title=title, title_justify="left")
        table.add_column("#", justify="right")
        for result in results:
            table.add_column(Text(result.model), overflow="fold")
            table.add_column("score", justify="right")
        if len(results) == 1:
            table.add_column("sentence", overflow="fold")
        for rank in range(max(len(r.masks[m]) for r in results)):
            row: list[Any] = [str(rank + 1)]
            for result in results:
                candidates = result.masks[m] if m < len(result.masks) else []
                c = candidates[rank] if rank < len(candidates) else None
                row += [Text(c.token_str), f"{c.score:.4f}"] if c else ["", ""]
            if len(results) == 1:
                row.append(Text(first.masks[m][rank].sequence))
            table.add_row(*row)
        console.print(table)
    if len(first.masks) > 1 or len(results) > 1:
        for result in results:
            console.print(f"{result.model}: {result.sequence}", markup=False, highlight=False)
