"""A study's words for its runs' errors: the spec key that sets what a training error names.

Training errors (:mod:`distillscale.train`) name ``RunConfig`` fields in an
:class:`~distillscale.errors.InputError`'s ``subject`` and ``hints`` (``shape.vocab_size``,
``batch_size``), which the ``train`` command words as its flags (``--vocab``). A study's
runs are set by its spec, so the failure a study stores and prints names the spec key instead
(``data.vocab_size``, ``training.batch_size``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from distillscale.errors import InputError
from distillscale.runs.config import RunConfig

__all__ = ["SPEC_KEYS", "study_message"]

#: ``RunConfig`` fields a training error may be about -> the spec key that sets them.
SPEC_KEYS = {
    "shape.vocab_size": "data.vocab_size",
    "shape.seq_len": "data.seq_len",
    "batch_size": "training.batch_size",
}


def _vocab(text: str, config: RunConfig) -> str:
    """``use shape.vocab_size=1000`` -> ``set data.vocab_size: 1000`` (and a BPE tokenizer)."""
    size = re.sub(r"\D", "", text)
    if config.data.tokenizer != "byte":
        return f"set data.vocab_size: {size}"
    # the spec refuses vocab_size with bytes; a token file ignores the tokenizer
    return f"set data.vocab_size: {size} and data.tokenizer: bpe (bytes have 256 tokens)"


#: Hint option -> the spec's wording of the fix, from the library's text and the run's config.
SPEC_HINTS: dict[str, Callable[[str, RunConfig], str]] = {
    "shape.vocab_size": _vocab,
    "shape.seq_len": lambda text, config: text.replace("shape.seq_len", "data.seq_len"),
    "batch_size": lambda text, config: "choose smaller depths or a smaller training.batch_size",
    "workdir": lambda text, config: "delete that checkpoint (a study gives each run its workdir)",
}


def study_message(exc: InputError, config: RunConfig) -> str:
    """The one line a study records for ``exc``, raised by the run of ``config``.

    The error's subject and fixes name the spec key that sets them; one without a key keeps
    its Python wording (a study never sets ``nproc``, for one).
    """
    return exc.worded(
        lambda subject: SPEC_KEYS.get(subject[0], subject[1]),
        lambda option, text: SPEC_HINTS[option](text, config) if option in SPEC_HINTS else text,
    )
