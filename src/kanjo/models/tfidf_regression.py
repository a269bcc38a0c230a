"""The TF-IDF baseline for a numeric target: the features of :mod:`kanjo.models.tfidf`
(character n-grams; for sentence pairs the paired features and their cosine) + ridge
regression (scikit-learn's ``Ridge``), stored the same pickle-free way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.utils.validation import check_is_fitted

from kanjo.models.tfidf import TfidfClassifier, _each_text, normalize_text

ESTIMATOR = "ridge"
"""tfidf.json's ``estimator`` for this model (the classifier's files have none)."""


class TfidfRegressor(RegressorMixin, TfidfClassifier):
    """Character n-gram TF-IDF + ridge regression: ``fit(texts, y)``, ``predict(texts)`` →
    values [n]. ``alpha`` is the L2 strength (``Ridge``'s); the other parameters are the
    classifier's feature settings (``C`` and ``class_weight`` are unused). Fitted attributes:
    ``vocabulary_``, ``idf_``, ``coef_`` [1, n_features], ``intercept_`` [1]."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), alpha: float = 1.0,
                 max_features: int | None = None, sublinear_tf: bool = True, min_df: int = 1,
                 C: float = 1.0, class_weight: str | None = None, max_iter: int = 1000) -> None:
        super().__init__(ngram_range=ngram_range, C=C, class_weight=class_weight,
                         max_features=max_features, sublinear_tf=sublinear_tf, min_df=min_df,
                         max_iter=max_iter)
        self.alpha = alpha

    def fit(self, texts: Sequence[Any], y: Sequence[float] | np.ndarray | None = None,
            **_: Any) -> TfidfRegressor:
        """Fit on ``texts`` (or ``(a, b)`` pairs) and targets ``y`` [n]; ValueError for a
        shape mismatch or no rows."""
        texts = list(texts)
        y = np.asarray(y, dtype=np.float64)
        if not texts or y.shape != (len(texts),):
            raise ValueError(f"y must have shape ({len(texts)},), got {y.shape}")
        self.pairs_ = isinstance(texts[0], tuple | list)
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=tuple(self.ngram_range),
                                     lowercase=False, min_df=self.min_df,
                                     max_features=self.max_features,
                                     sublinear_tf=self.sublinear_tf, dtype=np.float64)
        vectorizer.fit([normalize_text(t) for t in _each_text(texts)])
        self.vocabulary_ = {str(g): int(i) for g, i in vectorizer.vocabulary_.items()}
        self.idf_ = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.n_classes_ = 1
        self.classes_ = np.array([], dtype=np.int64)
        model = Ridge(alpha=self.alpha).fit(self._transform(texts), y)
        self.coef_ = np.asarray(model.coef_, dtype=np.float64).reshape(1, -1)
        self.intercept_ = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))
        return self

    def predict(self, texts: Sequence[Any]) -> np.ndarray:  # type: ignore[override]
        """Predicted values [n]."""
        check_is_fitted(self, "coef_")
        return self.decision_function(texts)[:, 0]

    def scores(self, texts: Sequence[Any]) -> np.ndarray:
        """kanjo's raw scores: the predicted values as one column [n, 1] (float32)."""
        return self.predict(texts)[:, None].astype(np.float32)

    def predict_proba(self, texts: Sequence[Any]) -> np.ndarray:  # type: ignore[override]
        raise AttributeError("a regression has no class probabilities")

    def save(self, directory: Any) -> None:
        """Write ``tfidf.json`` (with ``estimator: ridge``) and ``tfidf.safetensors``."""
        import json
        from pathlib import Path

        from kanjo.models.tfidf import CONFIG_NAME

        super().save(directory)
        path = Path(directory) / CONFIG_NAME
        config = json.loads(path.read_text(encoding="utf-8"))
        config["estimator"] = ESTIMATOR
        path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
