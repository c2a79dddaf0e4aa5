"""Gaia's small language model (TinyLlama-1.1B-Chat in its experiments): text generation
with a Hugging Face `transformers` pipeline on the device the runtime gives the revision.

Needs `transformers` and the model's files in the node (the nodes have no internet): the
init payload's `model_dir`. Each request: {"prompt": ..., "max_new_tokens": 256}.
"""

from __future__ import annotations

from typing import Any

from transformers import pipeline

models: dict[str, Any] = {}


def handle_init(ctx: Any, payload: dict[str, str], saved_state: Any) -> None:
    models["generate"] = pipeline("text-generation", model=payload["model_dir"], device=ctx.device)


def handle_call(ctx: Any, src: str, msg: dict[str, Any]) -> dict[str, Any]:
    generate = models["generate"]
    messages = [{"role": "user", "content": str(msg["prompt"])}]
    prompt = generate.tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True
    )
    output = generate(prompt, max_new_tokens=int(msg.get("max_new_tokens", 256)))
    return {"text": output[0]["generated_text"], "device": ctx.device}
