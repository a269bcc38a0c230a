"""TrainConfig: every training option, one documented dataclass.

The same fields come from command-line flags or from a YAML/TOML file (``--config``); flags given
on the command line override the file. Values are validated in ``__post_init__``.
"""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from typing_extensions import Self

from kanjo.errors import ConfigError


class RunConfig:
    """What the run configurations share: reading from a YAML/TOML file or a mapping (unknown
    options are an error), ``to_dict``, and each field's documentation (the attribute docstring
    written under it), from which the CLI builds its flags' help."""

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> Self:
        """Read a YAML or TOML file; ``overrides`` that are not None win over the file."""
        values = read_config_file(path)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(values, source=str(path))

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> Self:
        """The config of ``values``; raises :class:`ConfigError` naming ``source`` for an unknown
        option, a wrong type or a value out of range."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown option(s) {', '.join(unknown)}",
                              hint=f"known options: {', '.join(sorted(known))}")
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def field_docs(cls) -> dict[str, str]:
        """Each field's docstring, one line: ``{"epochs": "Passes over the training rows."}``."""
        import inspect

        tree = ast.parse(inspect.getsource(cls))
        body = tree.body[0].body  # type: ignore[attr-defined]
        docs = {}
        for node, after in zip(body, body[1:], strict=False):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)):
                docs[node.target.id] = " ".join(after.value.value.split())
        return docs


TASKS = ("classification", "regression", "multi-label")


@dataclass
class TrainConfig(RunConfig):
    """How to train. Defaults are the measured best recipe for the default encoder."""

    model: str = "default"
    """Base model: 'default' (offline encoder), 'tfidf', a local directory or a hub id."""
    recipe: str = "auto"
    """How a transformer model is trained: 'finetune' (every layer, best checkpoint on dev,
    temperature fitted on dev), 'embeddings' (mean-pooled sentence vectors of the encoder, a
    class-balanced logistic-regression head whose strength and temperature are cross-validated
    on the training rows, then LP-FT unless tune_encoder is off: calibrated on tens of rows,
    no dev rows spent) or 'auto': embeddings below 500 training rows, else finetune
    (benchmarks/small_data.py measured the switch); pairs: embeddings below 3,000 training
    pairs, and a pair regression at every size (the bi-encoder, benchmarks/tasks.py)."""
    tune_encoder: bool = True
    """Embeddings recipe, one text per row, one label: after fitting the head, fine-tune the
    encoder and head together from it (LP-FT), calibrated by cross-fitted runs
    (:mod:`kanjo.training.encoder_tuning`): dev macro-F1 0.640 / 0.723 against the frozen
    head's 0.631 / 0.704 at 64 / 256 JRTE pn rows, ECE 0.041 / 0.032, in 1.5–3 minutes instead
    of seconds on 2 CPU cores. A pair regression tunes it as a bi-encoder (CoSENT,
    :mod:`kanjo.training.similarity_tuning`). False keeps the encoder frozen."""
    task: str = "classification"
    """'classification' (one label per row), 'regression' (a numeric target per row) or
    'multi-label' (a set of labels per row, possibly empty)."""
    epochs: float = 4.0
    """Passes over the training rows."""
    lr: float = 1e-4
    """Peak learning rate (AdamW, linear decay after warm-up)."""
    batch_size: int = 32
    """Rows per optimisation step."""
    max_length: int = 256
    """Longest input in tokens; longer texts are truncated (and counted)."""
    warmup: float = 0.1
    """Warm-up: a fraction of all steps when < 1, else a number of steps."""
    weight_decay: float = 0.01
    """AdamW weight decay (not on biases and normalisation layers)."""
    seed: int = 42
    """Seed for initialisation, shuffling and the dev split."""
    freeze_encoder: bool = False
    """Train only the classification head (the notebook's recipe; weak on its own)."""
    freeze_embeddings: bool = True
    """Keep the word-embedding matrix fixed (most of the default encoder's parameters)."""
    soft_labels: bool | str = "auto"
    """Train on per-row label distributions (JRTE judges, or a soft-label column): True, False,
    or 'auto' (when the data has such a column; selected by cross-validation on JRTE pn)."""
    layer_decay: float = 1.0
    """Layer-wise learning-rate decay: layer i of L trains at lr × decay^(L−i), the
    embeddings at lr × decay^(L+1); 1.0 gives every layer the same rate."""
    label_smoothing: float = 0.0
    """Cross-entropy label smoothing (0 = off)."""
    rdrop: float = 0.0
    """R-Drop: weight of the symmetric KL divergence between two dropout passes of each batch
    (0 = off; on, every step computes the batch twice)."""
    average_checkpoints: int = 0
    """Average the weights of the last N checkpoints (SWA-style) and keep the average when it
    scores at least as well on dev as the best single checkpoint (without dev data, always);
    0 or 1 = off."""
    class_weight: str = "none"
    """'balanced' weights each class's loss by total / (k × count) (favours macro-F1); 'none'."""
    min_steps: int = 300
    """Train at least this many steps: small data sets get more epochs (0 disables)."""
    eval_steps: int | None = None
    """Evaluate on dev (and checkpoint) every N steps; None: every epoch, but at most about
    8 times a run."""
    early_stopping: int = 2
    """Stop after this many evaluations without a better dev score (macro-F1, Pearson), counted
    in the second half of the scheduled steps only (:mod:`kanjo.training.early_stopping`);
    0 disables."""
    calibrate: bool = True
    """Fit a temperature on dev so that predicted probabilities are calibrated."""
    device: str = "auto"
    """'auto' (a GPU when present), 'cpu', 'cuda', 'cuda:1', 'mps'."""
    labels: list[str] | None = None
    """Label names in id order; None takes them from the data."""
    format: str = "auto"
    """Input format: auto, csv, tsv, jsonl, jrte."""
    text_column: str | None = None
    """Column holding the text (common names such as text/sentence are found by themselves)."""
    text_pair_column: str | None = None
    """Column holding the second text of a sentence pair (found by itself for sentence1/
    sentence2, text_a/text_b and premise/hypothesis); the pair is the tokenizer's pair input."""
    label_column: str | None = None
    """Column holding the label (common names such as label/sentiment are found by themselves)."""
    label_sep: str | None = None
    """--task multi-label: the character between a row's labels (e.g. ';' for '部屋;食事');
    None: each label cell is a JSON list (["部屋", "食事"]) or one label. A row with no label is
    written [] in either form; an empty cell is a missing label and an error."""
    encoding: str | None = None
    """The data files' text encoding (e.g. cp932 for Excel on Japanese Windows); None: UTF-8,
    or UTF-16/32 when the file starts with their byte-order mark."""
    dev: str | None = None
    """A separate dev file; otherwise the split column's dev rows, else ``dev_split``."""
    dev_split: float = 0.1
    """Fraction of the training rows held out (stratified, seeded) when there is no dev set."""
    train_splits: list[str] = field(default_factory=lambda: ["train"])
    """Split-column values to train on (e.g. train,dev for a final model)."""
    pseudo_labels: str | None = None
    """Self-training: a file of rows a trained model labelled (``kanjo predict --output F.jsonl``
    on unlabelled in-domain text), added to the training rows with its probabilities as
    targets. Rows whose text is in the labelled data are left out."""
    pseudo_rows: int = 0
    """Train on a seeded random sample of this many pseudo-labelled rows; 0 = all."""

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if self.label_sep is not None and (self.task != "multi-label" or not self.label_sep):
            raise ConfigError("label_sep separates the labels of a row: it needs --task "
                              "multi-label and a non-empty separator")
        positive = {"epochs": self.epochs, "lr": self.lr, "batch_size": self.batch_size,
                    "max_length": self.max_length}
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"{name} must be > 0, got {value}")
        if self.warmup < 0:
            raise ConfigError(f"warmup must be ≥ 0, got {self.warmup}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be ≥ 0, got {self.weight_decay}")
        if not 0 < self.layer_decay <= 1:
            raise ConfigError(f"layer_decay must be in (0, 1], got {self.layer_decay}")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.soft_labels not in (True, False, "auto"):
            raise ConfigError(f"soft_labels must be true, false or 'auto', "
                              f"got {self.soft_labels!r}")
        if self.soft_labels != "auto":
            self.soft_labels = bool(self.soft_labels)
        if self.soft_labels is True and self.task == "multi-label":
            raise ConfigError("soft_labels are label distributions: not with --task multi-label")
        if self.average_checkpoints < 0:
            raise ConfigError(f"average_checkpoints must be ≥ 0, got {self.average_checkpoints}")
        if self.rdrop < 0:
            raise ConfigError(f"rdrop must be ≥ 0, got {self.rdrop}")
        if self.rdrop and self.task == "multi-label":
            raise ConfigError("rdrop compares softmax distributions: not with --task multi-label")
        if self.class_weight not in ("none", "balanced"):
            raise ConfigError(f"class_weight must be 'none' or 'balanced', "
                              f"got {self.class_weight!r}")
        if self.recipe not in ("auto", "finetune", "embeddings"):
            raise ConfigError(f"recipe must be 'auto', 'finetune' or 'embeddings', "
                              f"got {self.recipe!r}")
        if self.early_stopping < 0:
            raise ConfigError(f"early_stopping must be ≥ 0, got {self.early_stopping}")
        if self.min_steps < 0:
            raise ConfigError(f"min_steps must be ≥ 0, got {self.min_steps}")
        if self.pseudo_rows < 0:
            raise ConfigError(f"pseudo_rows must be ≥ 0, got {self.pseudo_rows}")
        if self.eval_steps is not None and self.eval_steps <= 0:
            raise ConfigError(f"eval_steps must be > 0, got {self.eval_steps}")
        if isinstance(self.labels, str):
            self.labels = [s.strip() for s in self.labels.split(",") if s.strip()]
        if isinstance(self.train_splits, str):
            self.train_splits = [s.strip() for s in self.train_splits.split(",") if s.strip()]


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A flat mapping of options from ``.yaml``/``.yml`` or ``.toml`` (dashes become
    underscores, so ``batch-size`` and ``batch_size`` both work)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("config file not found", file=path)
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError("config files must end in .yaml, .yml or .toml", file=path)
    except ConfigError:
        raise
    except Exception as exc:  # TOMLDecodeError / YAMLError: both are parse errors
        raise ConfigError(f"cannot parse: {exc}", file=path) from None
    if not isinstance(data, dict):
        raise ConfigError("must hold a mapping of option: value", file=path)
    data = data.get("train", data)
    return {str(k).replace("-", "_"): v for k, v in data.items()}


@dataclass
class PretrainConfig(RunConfig):
    """How to pretrain. Defaults are the measured recipe for the default encoder."""

    model: str = "default"
    """Base model: 'default', a local directory (an encoder, a classifier or a masked LM) or a
    hub id. A model without a masked-LM head gets one, its decoder tied to the embeddings."""
    steps: int | None = None
    """Optimisation steps; give steps or epochs (neither: one epoch)."""
    epochs: float | None = None
    """Passes over the training sentences."""
    batch_size: int = 32
    """Sentences per step."""
    lr: float = 1e-4
    """Peak learning rate of the encoder (AdamW, warm-up then linear decay to 0)."""
    head_lr: float = 3e-3
    """Peak learning rate of a newly added head (a pretrained head uses ``lr``)."""
    head_steps: int = 0
    """Steps that train a newly added head alone, the encoder frozen, before the encoder joins."""
    warmup: float = 0.1
    """Warm-up: a fraction of the (encoder's) steps when < 1, else a number of steps."""
    weight_decay: float = 0.01
    """AdamW weight decay (not on biases and normalisation layers)."""
    mask_prob: float = 0.15
    """Fraction of the tokens of each sentence to predict (80 % masked, 10 % random, 10 % kept)."""
    whole_word: bool = False
    """Mask whole words (fugashi + unidic-lite word boundaries) instead of single tokens."""
    freeze_embeddings: bool = True
    """Keep the word embeddings (and so the tied decoder weights) fixed."""
    corpus_vocabulary: bool = True
    """Train the softmax over the pieces that occur in the training text only (evaluation and
    fill-mask score the whole vocabulary): for the default encoder's 250k multilingual pieces
    this makes the output layer about fifty times smaller on Japanese text."""
    max_length: int = 128
    """Longest sentence in tokens; longer ones are truncated."""
    eval_size: int = 2000
    """Sentences held out for evaluation (at most a tenth of the file); 0 = none."""
    eval_steps: int | None = None
    """Evaluate every N steps (and at the end); None evaluates at the end only."""
    save_steps: int = 100
    """Checkpoint every N steps for --resume."""
    seed: int = 42
    """Seed for the held-out split, the masks, dropout and the batch order."""
    device: str = "auto"
    """'auto' (a GPU when present), 'cpu', 'cuda', 'cuda:1', 'mps'."""
    format: str = "auto"
    """Input format: auto, txt (one sentence a line), csv, tsv, jsonl."""
    text_column: str | None = None
    """Column holding the text in a CSV/TSV/JSONL file."""

    def __post_init__(self) -> None:
        if self.steps is not None and self.epochs is not None:
            raise ConfigError("give --steps or --epochs, not both")
        checks = {
            "steps": self.steps is None or self.steps > 0,
            "epochs": self.epochs is None or self.epochs > 0,
            "batch_size": self.batch_size > 0,
            "lr": self.lr > 0,
            "head_lr": self.head_lr > 0,
            "head_steps": self.head_steps >= 0,
            "warmup": self.warmup >= 0,
            "weight_decay": self.weight_decay >= 0,
            "mask_prob": 0 < self.mask_prob < 1,
            "max_length": self.max_length > 2,
            "eval_size": self.eval_size >= 0,
            "eval_steps": self.eval_steps is None or self.eval_steps > 0,
            "save_steps": self.save_steps > 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"{name.replace('_', '-')} is out of range: "
                                  f"{getattr(self, name)}")
