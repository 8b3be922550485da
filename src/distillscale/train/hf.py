"""Hugging Face models: a transformers causal LM as a frozen teacher or as a student, tokenizers.

A teacher is named by a local directory holding a ``config.json`` (``save_pretrained`` output),
or by ``hf:ID`` (a hub id, fetched through ``huggingface_hub``; offline, only what is already in
the local hub cache). Its tokenizer tokenises the students' data (``DataConfig.tokenizer =
"hf:DIR"``), its logits feed the same distillation losses and the same teacher-logit cache as a
distillscale teacher.

FLOPs: the architectures in :data:`SUPPORTED` map exactly onto the accountant's
:class:`~distillscale.flops.TransformerShape` (every matmul of the forward pass: attention
projections, FFN, LM head; biases, norms and position embeddings cost no matmul FLOPs, as in the
accountant), so the teacher's inference FLOPs are counted by the one accountant. Other
architectures are refused with an error naming the ``model_type``.

A student (or baseline) may be a transformers model too: ``RunConfig.hf_config`` holds its
config, scaled to the run's depth (:func:`distillscale.train.hf_config.hf_student`), and
:func:`build_hf_model` builds it with random weights; the trainer trains it as it trains a GPT.

A study's Hugging Face teacher is a teacher run with ``RunConfig.pretrained`` set:
:func:`distillscale.train.trainer.evaluate_pretrained` measures its held-out loss and trains
nothing. The torch-free half (locating a model, its shape, its content digest) is
:mod:`distillscale.train.hf_config`.

transformers is imported lazily, inside functions, through :func:`distillscale.errors.require`;
``import distillscale.train`` works without it.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

import torch
from torch import nn

from distillscale.errors import InputError, require
from distillscale.flops import TransformerShape
from distillscale.runs.config import TeacherRef
from distillscale.train.hf_config import (  # re-exported: the torch-free half
    HF_PREFIX,
    SUPPORTED,
    hf_shape,
    hf_teacher_ref,
    is_hf_source,
    resolve_hf,
)

__all__ = [
    "HF_PREFIX",
    "SUPPORTED",
    "HFLogits",
    "build_hf_model",
    "hf_shape",
    "hf_teacher_ref",
    "is_hf_source",
    "load_hf_model",
    "load_hf_tokenizer",
    "resolve_hf",
    "tokenizer_digest",
]


def _transformers(feature: str = "a Hugging Face teacher") -> Any:
    transformers = require("transformers", "hf", feature)
    transformers.utils.logging.disable_progress_bar()  # stderr carries our progress only
    return transformers


@lru_cache(maxsize=8)
def load_hf_tokenizer(source: str) -> Any:
    """The tokenizer of an HF model directory (``hf:DIR`` or ``DIR``), loaded once per process."""
    transformers = _transformers("an HF tokenizer")
    folder = resolve_hf(source, "data.tokenizer")
    try:
        return transformers.AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"data.tokenizer: {source!r} has no loadable tokenizer ({str(exc).splitlines()[0]}); "
            "save the tokenizer next to the model (tokenizer.save_pretrained)"
        ) from None


def tokenizer_digest(tokenizer: Any) -> str:
    """SHA-256 of a tokenizer's definition (the fast tokenizer's JSON, else its vocabulary)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        text = backend.to_str()
    else:
        text = json.dumps(tokenizer.get_vocab(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def tokenizer_size(tokenizer: Any) -> int:
    """Token ids the tokenizer can emit (``len(tokenizer)``, added tokens included)."""
    return len(tokenizer)


def encode(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    """Token ids of each text, without special tokens (documents are concatenated)."""
    out = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
    return [list(ids) for ids in out]


class HFLogits(nn.Module):
    """A transformers causal LM whose ``forward(ids)`` returns logits ``(B, T, V)``."""

    def __init__(self, model: nn.Module, shape: TransformerShape) -> None:
        super().__init__()
        self.model = model
        self.shape = shape

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits of every position, float, shape ``(B, T, vocab_size)``."""
        return self.model(input_ids=idx, use_cache=False).logits


def load_hf_model(
    ref: TeacherRef, device: torch.device | str = "cpu", *, tokenizer_hash: str | None = None
) -> HFLogits:
    """The frozen teacher of an HF :class:`TeacherRef`, in eval mode on ``device``.

    With ``tokenizer_hash`` (the data's), the teacher's own tokenizer must be that one.

    Raises
    ------
    InputError
        transformers missing, the weights unreadable, or data tokenised by another tokenizer.
    """
    transformers = _transformers()
    folder = ref.checkpoint[len(HF_PREFIX) :]
    if tokenizer_hash is not None:
        theirs = tokenizer_digest(load_hf_tokenizer(HF_PREFIX + folder))
        if theirs != tokenizer_hash:
            raise InputError(
                f"teacher {ref.checkpoint}: its tokenizer (sha256 {theirs[:12]}) is not the "
                f"data's (sha256 {tokenizer_hash[:12]}); tokenise the data with the teacher's "
                "tokenizer (data.tokenizer: hf:DIR)"
            )
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"teacher {ref.checkpoint}: cannot load the model ({str(exc).splitlines()[0]})"
        ) from None
    model.requires_grad_(False)
    return HFLogits(model, ref.shape).to(device).eval()


def build_hf_model(hf_config: dict[str, Any], shape: TransformerShape) -> HFLogits:
    """A transformers causal LM of ``hf_config`` with random weights (float32, train mode).

    ``AutoModelForCausalLM.from_config``: the weights are initialised by transformers' own
    scheme from the default torch generator, so seed it first (the trainer seeds it with
    ``RunConfig.seed``). ``shape`` is the accountant's shape of the config.

    Raises
    ------
    InputError
        transformers missing, or a config it cannot build.
    """
    transformers = _transformers("a Hugging Face student")
    values = dict(hf_config)
    model_type = values.pop("model_type")
    for key in ("transformers_version", "torch_dtype", "dtype"):
        values.pop(key, None)  # where the file came from / its storage type: not the model
    try:
        config = transformers.AutoConfig.for_model(model_type, **values)
        model = transformers.AutoModelForCausalLM.from_config(config).float()
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"hf_config: transformers cannot build a {model_type!r} causal LM from it "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        ) from None
    return HFLogits(model, shape).train()
