"""Built-in baseline: TF-IDF character n-grams + logistic regression (``--model tfidf``).

Fitting uses scikit-learn; the fitted model is stored without pickle: hyperparameters and the
vocabulary in ``tfidf.json``, idf, coefficients and intercepts in ``tfidf.safetensors``.
Prediction always runs through the same small numpy/scipy code path (counts from a
fixed-vocabulary ``CountVectorizer``, then tf-idf, l2 norm, linear scores, softmax), so a loaded
model gives exactly the probabilities the fitted one gave.

Sentence pairs ``(a, b)`` are featurised as ``[x_a, x_b, x_a ⊙ x_b, cos(a, b)]`` (each text's
tf-idf row, the n-grams they share, their cosine similarity): the standard paired-feature
baseline, which lets a linear model see how the two texts relate.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from safetensors.numpy import load_file, save_file
from scipy import special
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

CONFIG_NAME = "tfidf.json"
PAIR_BLOCKS = 3
"""Feature blocks of the vocabulary's size per pair (a, b, a ⊙ b), plus the cosine column."""
WEIGHTS_NAME = "tfidf.safetensors"
FORMAT_VERSION = 1


def normalize_text(text: str) -> str:
    """NFKC (folds full/half-width forms) then lower-case."""
    return unicodedata.normalize("NFKC", text).lower()


class TfidfClassifier(ClassifierMixin, BaseEstimator):
    """Character n-gram TF-IDF + (class-balanced) logistic regression, a scikit-learn
    estimator over texts: ``fit(texts, y)``, ``predict_proba(texts)`` → [n, len(classes_)].

    Defaults were chosen by 5-fold stratified CV (macro-F1) on the JRTE ``pn`` train split;
    see ``benchmarks/tfidf_tune.py``. Fitted attributes: ``classes_``, ``vocabulary_``,
    ``idf_`` [n_features], ``coef_`` [1 or k, n_features], ``intercept_``.
    """

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 3),
        C: float = 4.0,
        class_weight: str | None = "balanced",
        max_features: int | None = None,
        sublinear_tf: bool = True,
        min_df: int = 1,
        max_iter: int = 1000,
    ) -> None:
        self.ngram_range = ngram_range
        self.C = C
        self.class_weight = class_weight
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.min_df = min_df
        self.max_iter = max_iter

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        texts: Sequence[str],
        y: Sequence[Any] | np.ndarray | None = None,
        *,
        soft_targets: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
        label_sets: np.ndarray | None = None,
    ) -> TfidfClassifier:
        """Fit on ``texts`` with labels ``y`` (any classes: ``classes_`` holds them sorted) or
        ``soft_targets`` [n, k] (rows = distributions over classes ``0..k-1``).

        Soft targets are fitted the standard way: each text is repeated once per class with
        sample weight = that class's probability (times ``sample_weight`` if given). With
        ``class_weight="balanced"`` each class is weighted by ``total / (k * class_mass)``.
        ``label_sets`` [n, k] (multi-hot) fits a multi-label model instead: one binary logistic
        regression per label (one-vs-rest, each ``class_weight``-balanced between its
        positives and negatives); ``predict_proba`` then gives each label's sigmoid.
        Raises ValueError for invalid hyperparameters or targets.
        """
        if self.class_weight not in (None, "balanced"):
            raise ValueError(f"class_weight must be 'balanced' or None, got "
                             f"{self.class_weight!r}")
        texts = list(texts)
        n = len(texts)
        if n == 0:
            raise ValueError("cannot fit on an empty dataset")
        self.multi_label_ = label_sets is not None
        if label_sets is not None:
            targets = np.asarray(label_sets, dtype=np.float64)
            if targets.ndim != 2 or targets.shape[0] != n:
                raise ValueError(f"label_sets must have shape ({n}, k), got {targets.shape}")
            self.classes_ = np.arange(targets.shape[1])
        elif soft_targets is not None:
            targets = np.asarray(soft_targets, dtype=np.float64)
            if targets.ndim != 2 or targets.shape[0] != n:
                raise ValueError(f"soft_targets must have shape ({n}, k), got {targets.shape}")
            if (targets < 0).any():
                raise ValueError("soft_targets must be non-negative")
            targets = targets / targets.sum(axis=1, keepdims=True)
            self.classes_ = np.arange(targets.shape[1])
        elif y is not None:
            y = np.asarray(y)
            if y.shape != (n,):
                raise ValueError(f"y must have shape ({n},), got {y.shape}")
            check_classification_targets(y)
            self.classes_, ids = np.unique(y, return_inverse=True)
            targets = np.eye(len(self.classes_))[ids]
        else:
            raise ValueError("give y or soft_targets")
        k = targets.shape[1]
        if k < 2:
            raise ValueError("need at least two classes")
        row_w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
        mass = (targets * row_w[:, None]).sum(axis=0)
        if (mass <= 0).any():
            missing = [int(c) for c in np.flatnonzero(mass <= 0)]
            raise ValueError(f"classes {missing} have no training examples")

        vectorizer = TfidfVectorizer(
            analyzer="char",
            ngram_range=tuple(self.ngram_range),
            lowercase=False,
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=self.sublinear_tf,
            dtype=np.float64,
        )
        self.pairs_ = bool(texts) and isinstance(texts[0], tuple | list)
        vectorizer.fit([normalize_text(t) for t in _each_text(texts)])
        self.vocabulary_ = {str(g): int(i) for g, i in vectorizer.vocabulary_.items()}
        self.idf_ = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.n_classes_ = k
        features = self._transform(texts)
        if self.multi_label_:
            return self._fit_label_sets(features, targets > 0.5, row_w)

        # One row per (text, class) with positive weight; hard labels give one row per text.
        rows, classes = np.nonzero(targets * row_w[:, None] > 0)
        weights = targets[rows, classes] * row_w[rows]
        if self.class_weight == "balanced":
            weights = weights * (mass.sum() / (k * mass))[classes]
        model = LogisticRegression(C=self.C, max_iter=self.max_iter)
        model.fit(features[rows], classes, sample_weight=weights)
        self.coef_ = np.asarray(model.coef_, dtype=np.float64)
        self.intercept_ = np.asarray(model.intercept_, dtype=np.float64)
        return self

    def _fit_label_sets(self, features: sp.csr_matrix, y: np.ndarray,
                        row_w: np.ndarray) -> TfidfClassifier:
        """One-vs-rest: a binary logistic regression per label column of ``y`` [n, k]."""
        always = [int(j) for j in np.flatnonzero(y.all(axis=0) | ~y.any(axis=0))]
        if always:
            raise ValueError(f"labels {always} are on every row or on none")
        coef, intercept = [], []
        for j in range(y.shape[1]):
            model = LogisticRegression(C=self.C, max_iter=self.max_iter,
                                       class_weight=self.class_weight)
            model.fit(features, y[:, j], sample_weight=row_w)
            coef.append(model.coef_[0])
            intercept.append(model.intercept_[0])
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = np.asarray(intercept, dtype=np.float64)
        return self

    # ------------------------------------------------------------------ prediction
    def _transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Feature rows for ``texts``: :meth:`_tfidf`, or for ``(a, b)`` pairs their paired
        features (see the module docstring)."""
        if not getattr(self, "pairs_", False):
            return self._tfidf(texts)
        if not all(isinstance(t, tuple | list) and len(t) == 2 for t in texts):
            raise ValueError("this model reads sentence pairs: give (text, text_pair) tuples")
        first = self._tfidf([t[0] for t in texts])
        second = self._tfidf([t[1] for t in texts])
        shared = first.multiply(second).tocsr()
        cosine = sp.csr_matrix(np.asarray(shared.sum(axis=1)))
        return sp.hstack([first, second, shared, cosine], format="csr")

    def _tfidf(self, texts: Sequence[str]) -> sp.csr_matrix:
        """TF-IDF rows (sublinear tf, idf, l2 norm) for ``texts`` with the fitted vocabulary."""
        counter = getattr(self, "_counter", None)
        if counter is None or counter.vocabulary is not self.vocabulary_:
            counter = self._counter = CountVectorizer(
                analyzer="char",
                ngram_range=tuple(self.ngram_range),
                lowercase=False,
                vocabulary=self.vocabulary_,
                dtype=np.float64,
            )
        counts = counter.transform([normalize_text(t) for t in texts]).tocsr()
        if self.sublinear_tf:
            np.log(counts.data, counts.data)
            counts.data += 1.0
        return normalize(counts.multiply(self.idf_[None, :]).tocsr(), norm="l2", copy=False)

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Linear scores, shape ``[n, 1]`` for two classes (sklearn binary form) or ``[n, k]``."""
        check_is_fitted(self, "coef_")
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.coef_.shape[0]))
        return np.asarray(self._transform(texts) @ self.coef_.T) + self.intercept_

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, shape ``[n, k]``; rows sum to 1 (multi-label: each label's own
        probability, the sigmoid of its score)."""
        scores = self.decision_function(texts)
        if getattr(self, "multi_label_", False):
            return special.expit(scores)
        if self.coef_.shape[0] == 1:  # binary: sklearn stores one row, p1 = sigmoid(score)
            p1 = special.expit(scores[:, 0])
            return np.column_stack([1.0 - p1, p1])
        return special.softmax(scores, axis=1)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """kanjo's raw scores ``[n, k]``: each label's log-odds for a multi-label model (the
        sigmoid gives its probability), else the log class probabilities (a softmax gives
        them back)."""
        if getattr(self, "multi_label_", False):
            return self.decision_function(texts)
        return np.log(np.clip(self.predict_proba(texts), 1e-12, 1.0))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The most probable class per text, shape ``[n]`` (values of ``classes_``)."""
        best = self.predict_proba(texts).argmax(axis=1)
        return self.classes_[best]

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> None:
        """Write ``tfidf.json`` and ``tfidf.safetensors`` into ``directory`` (no pickle)."""
        check_is_fitted(self, "coef_")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        config = {
            "format": "kanjo-tfidf",
            "format_version": FORMAT_VERSION,
            "normalizer": "NFKC+lower",
            "analyzer": "char",
            "n_classes": self.n_classes_,
            "pairs": bool(getattr(self, "pairs_", False)),
            "multi_label": bool(getattr(self, "multi_label_", False)),
            "params": {**self.get_params(), "ngram_range": list(self.ngram_range)},
            "classes": self.classes_.tolist(),
            "vocabulary": self.vocabulary_,
        }
        with open(directory / CONFIG_NAME, "w", encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False)
        save_file(
            {
                "idf": np.ascontiguousarray(self.idf_),
                "coef": np.ascontiguousarray(self.coef_),
                "intercept": np.ascontiguousarray(self.intercept_),
            },
            str(directory / WEIGHTS_NAME),
        )

    @classmethod
    def load(cls, directory: str | Path) -> TfidfClassifier:
        """Rebuild a fitted classifier from a directory written by :meth:`save`."""
        directory = Path(directory)
        with open(directory / CONFIG_NAME, encoding="utf-8") as f:
            config = json.load(f)
        if config.get("format") != "kanjo-tfidf" or config.get("format_version") != 1:
            raise ValueError(f"{directory / CONFIG_NAME} is not a kanjo TF-IDF model (format 1)")
        params = dict(config["params"])
        params["ngram_range"] = tuple(params["ngram_range"])
        model = cls(**params)
        arrays = load_file(str(directory / WEIGHTS_NAME))
        model.vocabulary_ = {str(g): int(i) for g, i in config["vocabulary"].items()}
        model.idf_ = arrays["idf"]
        model.coef_ = arrays["coef"]
        model.intercept_ = arrays["intercept"]
        model.n_classes_ = int(config["n_classes"])
        model.multi_label_ = bool(config.get("multi_label", False))
        model.classes_ = np.asarray(config.get("classes", range(model.n_classes_)))
        model.pairs_ = bool(config.get("pairs", False))
        width = len(model.vocabulary_) * (PAIR_BLOCKS if model.pairs_ else 1) + model.pairs_
        if not (len(model.vocabulary_) == model.idf_.shape[0] and width == model.coef_.shape[1]):
            raise ValueError(f"{directory}: vocabulary and weight shapes disagree")
        return model


def _each_text(texts: Sequence[Any]) -> list[str]:
    """Every text of ``texts``, both texts of each pair."""
    return [part for t in texts for part in (t if isinstance(t, tuple | list) else (t,))]
