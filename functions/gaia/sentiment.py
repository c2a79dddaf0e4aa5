"""Gaia's sentiment analysis: a Hugging Face `transformers` text-classification pipeline
on the device the runtime gives the revision, over the texts of each request.

Needs `transformers` and the model's files in the node (the nodes have no internet): the
init payload's `model_dir` (Gaia used the pipeline's default DistilBERT fine-tuned on SST-2).
"""

from __future__ import annotations

from typing import Any

from transformers import pipeline

models: dict[str, Any] = {}


def handle_init(ctx: Any, payload: dict[str, str], saved_state: Any) -> None:
    models["classify"] = pipeline(
        "sentiment-analysis", model=payload["model_dir"], device=ctx.device
    )


def handle_call(ctx: Any, src: str, msg: dict[str, Any]) -> dict[str, Any]:
    labels = models["classify"](list(msg["texts"]))
    return {"labels": [label["label"] for label in labels], "device": ctx.device}
