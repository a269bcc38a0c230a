"""Request and response bodies (pydantic): what the OpenAPI schema at /openapi.json shows.

``/predict`` takes and gives text-embeddings-inference's shapes, so its clients work unchanged;
``/v1/classify`` gives kanjo's richer rows. Unknown fields are ignored, as TEI ignores them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class PredictRequest(BaseModel):
    """text-embeddings-inference's ``/predict`` request."""

    inputs: str | list[str] = Field(
        description="One text, or a list of texts.", examples=["温泉がとても気持ちよかった。"])
    truncate: bool | None = Field(
        None, description="Cut texts longer than the model's max length (default: yes); with "
        "false, such a text is an error (413).")
    raw_scores: bool = Field(False, description="Raw scores (logits), not probabilities.")


class LabelScore(BaseModel):
    label: str
    score: float


class ClassifyRequest(BaseModel):
    texts: list[str] = Field(description="Texts to classify, in order.",
                             examples=[["朝ごはんが美味しかった。", "部屋が寒すぎた。"]])
    truncate: bool = Field(True, description="Cut over-long texts (else 413).")


class Classification(BaseModel):
    text: str
    label: str = Field(description="The most probable label.")
    score: float = Field(description="Its probability, 0–1.")
    probabilities: dict[str, float] = Field(description="Every label's probability.")
    labels: list[str] | None = Field(
        None, description="Multi-label models: the labels whose probability reaches their "
        "threshold (kanjo.json), in label order, possibly empty; label and score are then the "
        "most probable one. Null for single-label models.")
    truncated: bool = Field(description="Whether the text was cut to the max length.")


class ClassifyResponse(BaseModel):
    predictions: list[Classification]


class ExplainRequest(BaseModel):
    texts: list[str] = Field(description="Texts to explain.", examples=[["駅から近くて便利。"]])
    target: str | None = Field(None, description="The label to explain (default: predicted).")
    method: str = Field("auto", description="Attribution method (kanjo.explain).")


class ExplainResponse(BaseModel):
    explanations: list[dict[str, Any]] = Field(
        description="Per text: text, label, target, probability, method, words and pieces "
        "(start/end character offsets, score), truncated, delta.")


class Info(BaseModel):
    model: str
    labels: list[str]
    task: str = Field("classification", description="classification or multi-label "
                      "(independent per-label probabilities).")
    backend: str = Field(description="torch, onnx or tfidf.")
    max_length: int | None = Field(description="Max tokens per text (None: no limit).")
    version: str = Field(description="kanjo's version.")
    explain: bool = Field(description="Whether /explain is available.")
    auth: bool = Field(description="Whether routes other than /health need an API key.")
    limits: dict[str, int | float]


class Health(BaseModel):
    status: str


class ErrorBody(BaseModel):
    error: str
    error_type: str
