"""Checkpoints: write, verify and read back a run's ``checkpoint.pt``; load teachers from them.

A checkpoint holds the model and optimizer state, the step, the curve so far, wall seconds, the
RNG state and, once the run is done, its result; ``sha256`` (:func:`state_digest`) is checked on
every load. Writes go through :func:`distillscale.atomic.atomic_open` (old or new, never half;
a full disk is an ``OSError`` naming the checkpoint). Split out of :mod:`.trainer` so the logit
cache loads teachers without importing the training loop.
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from distillscale.atomic import atomic_open
from distillscale.errors import DamagedFile, InputError
from distillscale.flops import TransformerShape
from distillscale.runs.config import (
    RunConfig,
    TeacherRef,
    branch_mismatch,
    shape_from_dict,
    snapshot_name,
)
from distillscale.runs.result import CurvePoint
from distillscale.train.data import Corpus
from distillscale.train.integrity import state_digest
from distillscale.train.model import GPT

__all__ = [
    "CHECKPOINT",
    "CHECKPOINT_VERSION",
    "build_model",
    "load_model",
    "load_teacher",
    "snapshot_name",
]

log = logging.getLogger(__name__)

#: Checkpoint file name inside a run's workdir (the final one doubles as the teacher weights).
CHECKPOINT = "checkpoint.pt"
#: Checkpoint format version, stored in the file.
CHECKPOINT_VERSION = 1


def _torch_load(path: Path) -> dict[str, Any]:
    """Load a checkpoint safely (tensors and plain containers only, no code) and verify it.

    Raises
    ------
    DamagedFile
        Missing, unreadable, truncated, not a checkpoint, or its content does not match the
        SHA-256 recorded when it was written (checkpoints from before checksums have none).
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as exc:
        raise DamagedFile(
            path,
            f"checkpoint {path}: cannot be read ({exc.strerror or exc}); give a "
            "checkpoint.pt written by distillscale train",
        ) from exc
    except (RuntimeError, EOFError, pickle.UnpicklingError) as exc:
        # weights_only=True refuses anything but tensors and plain containers (no code runs).
        # torch's message advises weights_only=False, which would run code from the file: it
        # is never shown (--debug logs it).
        log.debug("torch.load(%s) failed", path, exc_info=True)
        raise DamagedFile(
            path,
            f"checkpoint {path}: not a distillscale checkpoint, it cannot be read (not a file "
            f"written by torch.save, or damaged: {type(exc).__name__}); give a checkpoint.pt "
            "written by distillscale train",
        ) from None
    if not isinstance(state, dict) or "model" not in state or "config" not in state:
        raise DamagedFile(
            path, f"checkpoint {path}: not a distillscale checkpoint (no model/config)"
        )
    recorded = state.get("sha256")
    if recorded is not None:
        try:
            actual = state_digest(state)
        except TypeError as exc:
            raise DamagedFile(path, f"checkpoint {path}: damaged ({exc})") from exc
        if actual != recorded:
            raise DamagedFile(
                path,
                f"checkpoint {path}: damaged: its content's SHA-256 {actual[:12]} is not the "
                f"{str(recorded)[:12]} recorded when it was written; retrain the run",
            )
    return state


def load_teacher(path: str | Path) -> TeacherRef:
    """A :class:`TeacherRef` for a finished run's ``checkpoint.pt`` (shape and id read from it).

    Parameters
    ----------
    path : str or Path
        The checkpoint.

    Returns
    -------
    TeacherRef
        With the run's shape, id, final held-out loss (nats per token) and tokens.
    """
    state = _torch_load(Path(path))
    config = RunConfig.from_dict(state["config"])
    if state.get("result") is None:
        raise InputError(
            f"teacher checkpoint {path}: run {config.run_id()} has not finished "
            f"(step {state['step']} of {config.steps}); finish it before distilling from it"
        )
    return TeacherRef(
        checkpoint=str(path),
        shape=config.shape,
        run_id=config.run_id(),
        loss=state["result"]["loss"],
        tokens=state["result"]["tokens"],
    )


def build_model(shape: TransformerShape, hf_config: dict[str, Any] | None = None) -> nn.Module:
    """A new model of ``shape``, initialised from the default torch generator (seed it first).

    distillscale's :class:`GPT`, or with ``hf_config`` (``RunConfig.hf_config``) the
    transformers causal LM of that config (:func:`distillscale.train.hf.build_hf_model`),
    whose ``forward(ids)`` returns logits ``(B, T, V)`` as the GPT's does.
    """
    if hf_config is None:
        return GPT(shape)
    from distillscale.train.hf import build_hf_model

    return build_hf_model(hf_config, shape)


def load_model(
    path: str | Path, device: torch.device | str = "cpu", *, corpus: Corpus | None = None
) -> nn.Module:
    """The trained model of a checkpoint, in eval mode with gradients off.

    A distillscale :class:`GPT`, or the transformers model of a run with ``hf_config``
    (``forward(ids)`` gives logits either way; ``.shape`` is the accountant's shape).

    With ``corpus``, the checkpoint's tokenizer must be the corpus's: a BPE teacher trained on
    other text maps the same ids to other strings, which equal vocabulary sizes do not reveal.

    Raises
    ------
    InputError
        Unreadable checkpoint, or a teacher whose tokenizer differs from ``corpus``'s.
    """
    state = _torch_load(Path(path))
    theirs = state.get("tokenizer_hash")
    ours = None if corpus is None else corpus.tokenizer_hash
    if theirs is not None and ours is not None and theirs != ours:
        data = state["config"].get("data", {})
        raise InputError(
            f"teacher {state.get('run_id', path)}: trained with another tokenizer "
            f"({data.get('tokenizer')!r} on {data.get('corpus')!r}, tokenizer sha256 "
            f"{theirs[:12]}) than this data's (sha256 {ours[:12]}); the same token ids would "
            "mean different text: distil on data tokenised like the teacher's"
        )
    model = build_model(shape_from_dict(state["config"]["shape"]), state["config"].get("hf_config"))
    model.load_state_dict(state["model"])
    model.requires_grad_(False)
    return model.to(device).eval()


def _save_atomic(state: dict[str, Any], path: Path) -> None:
    """Write ``path`` through a temporary file and ``os.replace``: old or new, never half.

    The state gets ``sha256``, the digest of its content (:func:`state_digest`), checked on
    load. A full disk is an ``OSError`` (ENOSPC) naming ``path``, not torch's RuntimeError,
    and leaves no temporary file.
    """
    state["sha256"] = state_digest(state)
    with atomic_open(path, "wb", unique=False) as fh:
        try:
            torch.save(state, fh)
        except RuntimeError as exc:  # torch's writer hides the OSError of the file
            cause = _os_error(exc)
            if cause is None:
                raise
            raise OSError(cause.errno, cause.strerror, str(path)) from exc


def _os_error(exc: BaseException) -> OSError | None:
    """The ``OSError`` among an exception's causes and contexts, if any."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


@dataclass(slots=True)
class _Progress:
    """Mutable state of a run that checkpoints carry."""

    step: int = 0
    curve: list[CurvePoint] = dataclasses.field(default_factory=list)
    wall_seconds: float = 0.0


def _state_dict(
    config: RunConfig,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    state: _Progress,
    result: dict[str, Any] | None,
    tokenizer_hash: str | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": CHECKPOINT_VERSION,
        "run_id": config.run_id(),
        "config": config.to_dict(),
        "tokenizer_hash": tokenizer_hash,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "step": state.step,
        "curve": [list(p) for p in state.curve],
        "wall_seconds": state.wall_seconds,
        "torch_rng": torch.get_rng_state(),
        "result": result,
    }
    if torch.cuda.is_available():
        out["cuda_rng"] = torch.cuda.get_rng_state_all()
    return out


def _load_training_state(
    state: dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer
) -> list[CurvePoint]:
    """Put a checkpoint's weights, optimiser and RNG state into place; its curve so far."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    if "cuda_rng" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    return [
        (int(s), int(t), float(tr), None if v is None else float(v), float(lr))
        for s, t, tr, v, lr in state["curve"]
    ]


def _resume(
    path: Path, config: RunConfig, model: nn.Module, optimizer: torch.optim.Optimizer
) -> tuple[_Progress, dict[str, Any] | None]:
    state = _torch_load(path)
    if state.get("run_id") != config.run_id():
        raise InputError(
            f"workdir {path.parent}: {CHECKPOINT} belongs to run {state.get('run_id')}, not "
            f"{config.run_id()}",
            hints=(("workdir", "use another workdir or delete that checkpoint"),),
        )
    curve = _load_training_state(state, model, optimizer)
    progress = _Progress(step=int(state["step"]), curve=curve, wall_seconds=state["wall_seconds"])
    return progress, state.get("result")


def _from_snapshot(
    config: RunConfig, model: nn.Module, optimizer: torch.optim.Optimizer
) -> _Progress:
    """Load ``config.init_from``'s snapshot into ``model`` and ``optimizer``; its progress.

    The curve so far is the snapshot run's (the steps this run shares with it); wall seconds
    start at 0 (this run's own time).

    Raises
    ------
    DamagedFile
        The snapshot is missing, unreadable, damaged, or not the state after the step it names.
    InputError
        The snapshot's run cannot be continued as this one (other shape, data, seed, batch,
        learning rate or warm-up), naming the file.
    """
    assert config.init_from is not None
    path = Path(config.init_from["path"])
    step = int(config.init_from["step"])
    if not path.is_file():
        raise DamagedFile(
            path, f"init_from: snapshot {path} does not exist; rerun the run that writes it"
        )
    state = _torch_load(path)
    if int(state.get("step", -1)) != step or state.get("result") is not None:
        raise DamagedFile(
            path,
            f"init_from: snapshot {path} holds the state after step {state.get('step')}, "
            f"not {step}; rerun the run that writes it",
        )
    trunk = RunConfig.from_dict(state["config"])
    why = branch_mismatch(trunk, config, step)
    if why is not None:
        raise InputError(
            f"init_from: snapshot {path} (run {state.get('run_id')}) cannot start run "
            f"{config.run_id()}: {why}"
        )
    curve = _load_training_state(state, model, optimizer)
    return _Progress(step=step, curve=curve, wall_seconds=0.0)
