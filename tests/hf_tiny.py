"""Tiny random transformers models and tokenizers, built locally (no download)."""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def sample_texts() -> list[str]:
    """A few KB of text from this interpreter's standard library (always present)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    names = ("textwrap.py", "bisect.py", "colorsys.py", "keyword.py", "this.py")
    return [(root / n).read_text(encoding="utf-8")[:6000] for n in names if (root / n).exists()]


def write_corpus(folder: Path, n_docs: int = 24) -> Path:
    """A folder of text documents (enough that the by-document split holds some out)."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = sample_texts()
    for i in range(n_docs):
        text = texts[i % len(texts)]
        (folder / f"doc{i:02d}.txt").write_text(text[(i * 97) % 500 :], encoding="utf-8")
    return folder


def make_tokenizer(vocab_size: int = 300):
    """A byte-level BPE trained on the sample texts, wrapped as a transformers tokenizer."""
    import tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<|endoftext|>"],
        show_progress=False,
    )
    tok.train_from_iterator(sample_texts(), trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")


def make_model(
    folder: Path,
    kind: str = "gpt2",
    *,
    tokenizer=None,
    vocab_size: int | None = None,
    seed: int = 0,
) -> Path:
    """Save a tiny random causal LM (2 layers, width 32) and its tokenizer to ``folder``."""
    import torch
    import transformers

    tokenizer = tokenizer if tokenizer is not None else make_tokenizer()
    vocab = vocab_size or len(tokenizer)
    torch.manual_seed(seed)
    if kind == "gpt2":
        config = transformers.GPT2Config(
            n_layer=2,
            n_embd=32,
            n_head=2,
            vocab_size=vocab,
            n_positions=64,
            bos_token_id=0,
            eos_token_id=0,
        )
        model = transformers.GPT2LMHeadModel(config)
    else:
        config = transformers.LlamaConfig(
            num_hidden_layers=2,
            hidden_size=32,
            num_attention_heads=4,
            num_key_value_heads=2,
            intermediate_size=64,
            vocab_size=vocab,
            max_position_embeddings=64,
            bos_token_id=0,
            eos_token_id=0,
        )
        model = transformers.LlamaForCausalLM(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_config(
    folder: Path,
    kind: str = "gpt2",
    *,
    vocab_size: int = 256,
    tokenizer=None,
    **overrides,
) -> Path:
    """Save only a tiny transformers config (2 layers, width 32; no weights) to ``folder``.

    GPT-2: 2 heads of 16, dropout 0.1 (the library's defaults). Llama: 4 heads of 8, 2
    key/value heads, FFN 64. ``tokenizer`` is saved beside it when given.
    """
    import transformers

    if kind == "gpt2":
        values = dict(
            n_layer=2, n_embd=32, n_head=2, n_positions=64, bos_token_id=0, eos_token_id=0
        )
        values.update(overrides)
        config = transformers.GPT2Config(vocab_size=vocab_size, **values)
    else:
        values = dict(
            num_hidden_layers=2,
            hidden_size=32,
            num_attention_heads=4,
            num_key_value_heads=2,
            intermediate_size=64,
            max_position_embeddings=64,
            bos_token_id=0,
            eos_token_id=0,
        )
        values.update(overrides)
        config = transformers.LlamaConfig(vocab_size=vocab_size, **values)
    config.save_pretrained(folder)
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)
    return folder
