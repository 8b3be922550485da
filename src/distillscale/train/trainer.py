"""The training loop: one run from a :class:`RunConfig` to a :class:`RunResult`.

AdamW with a linear warm-up then cosine or WSD decay, gradient clipping, bf16 autocast on GPU,
optional ``torch.compile``, periodic and final held-out loss (nats per token), atomic
checkpoints with exact resume, and NaN/divergence detection that ends the run as failed.
Batches are a pure function of ``(data.seed, step)`` and nothing else is random after the seeded
initialisation, so a run resumed from ``checkpoint.pt`` logs the same curve as one that never
stopped (bit-exact on CPU with the same thread count).

Distillation uses a frozen teacher, online (a forward pass per batch, charged to
``teacher_inference``) or through a teacher-logit cache (charged to the cache, not here).
Data-parallel training (``nproc > 1``, or a ``torchrun`` launch) averages gradients over ranks
with ``all_reduce``; each rank takes its slice of the same global batch.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from distillscale import interrupts
from distillscale.errors import (
    DISK_FULL_ERRNOS,
    DamagedFile,
    InputError,
    disk_full_message,
    require,
)
from distillscale.flops import (
    FlopsLedger,
    TransformerShape,
    count_params,
    forward_flops_per_token,
    teacher_inference_flops,
    training_flops,
)
from distillscale.runs import RunSink, curve_row, phase_of
from distillscale.runs.config import RunConfig, lr_at
from distillscale.runs.result import ProgressEvent, RunResult
from distillscale.train.checkpoint import (
    CHECKPOINT,
    _from_snapshot,
    _Progress,
    _resume,
    _save_atomic,
    _state_dict,
    build_model,
    load_model,
    load_teacher,
    snapshot_name,
)
from distillscale.train.data import Corpus, load_corpus, train_batch, val_batches
from distillscale.train.integrity import quarantine
from distillscale.train.logit_cache import LogitCache, open_logit_cache
from distillscale.train.losses import distillation_loss

__all__ = [
    "CHECKPOINT",
    "check_run",
    "evaluate_pretrained",
    "load_model",
    "load_teacher",
    "lr_at",
    "train_run",
]

log = logging.getLogger(__name__)

#: A training cross-entropy above this multiple of ln(V) (the uniform guess) is divergence.
DIVERGENCE_FACTOR = 2.0
#: AdamW betas (nanoGPT / Chinchilla practice for small GPTs).
BETAS = (0.9, 0.95)


class RunFailed(Exception):
    """A run stopped for a reason recorded in its result (NaN, divergence, disk full)."""


def _device(config: RunConfig) -> torch.device:
    if config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise InputError("device: 'cuda' was asked for but no GPU is visible; use 'cpu'")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


@dataclass(slots=True)
class _Teacher:
    """The frozen teacher of a distillation run: a model or a cache, and its bookkeeping."""

    model: torch.nn.Module | None  # a GPT, or a transformers LM (train.hf.HFLogits)
    cache: LogitCache | None
    shape: TransformerShape


def _open_teacher(config: RunConfig, corpus: Corpus, device: torch.device) -> _Teacher | None:
    kd = config.kd
    if kd is None:
        return None
    shape = config.shape
    if config.teacher_cache is not None:
        cache = open_logit_cache(
            config.teacher_cache,
            data_hash=corpus.data_hash,
            vocab_size=shape.vocab_size,
            seq_len=shape.seq_len,
            seed=config.data.seed,
            sequences=config.steps * config.batch_size,
            top_k=kd.top_k,
            teacher_run_id=None if config.teacher is None else config.teacher.run_id,
        )
        return _Teacher(model=None, cache=cache, shape=cache.teacher_shape)
    assert config.teacher is not None  # RunConfig requires a teacher or a cache with kd
    ref = config.teacher
    hf_teacher = ref.checkpoint.startswith("hf:")
    if not hf_teacher and not Path(ref.checkpoint).exists():
        raise DamagedFile(
            ref.checkpoint,
            f"teacher: checkpoint {ref.checkpoint!r} does not exist; train the teacher first "
            "or give the path of its checkpoint.pt",
        )
    t_shape = ref.shape
    if t_shape.vocab_size != shape.vocab_size:
        raise InputError(
            f"teacher {ref.run_id}: vocabulary {t_shape.vocab_size} tokens, the student's is "
            f"{shape.vocab_size}; distil from a teacher trained with the same tokenizer"
        )
    if t_shape.seq_len < shape.seq_len:
        raise InputError(
            f"teacher {ref.run_id}: context {t_shape.seq_len} tokens is shorter than the "
            f"student's seq_len {shape.seq_len}",
            hints=(("shape.seq_len", f"use shape.seq_len <= {t_shape.seq_len}"),),
        )
    if hf_teacher:
        from distillscale.train.hf import load_hf_model

        hf_model = load_hf_model(ref, device, tokenizer_hash=corpus.tokenizer_hash)
        return _Teacher(
            model=hf_model, cache=None, shape=dataclasses.replace(t_shape, seq_len=shape.seq_len)
        )
    model = load_model(ref.checkpoint, device, corpus=corpus)
    if model.shape != t_shape:
        raise InputError(
            f"teacher {ref.run_id}: checkpoint {ref.checkpoint} holds shape {model.shape}, the "
            f"reference says {t_shape}; point the teacher at the right checkpoint"
        )
    return _Teacher(
        model=model, cache=None, shape=dataclasses.replace(t_shape, seq_len=shape.seq_len)
    )


def _optimizer(
    model: torch.nn.Module, config: RunConfig, device: torch.device
) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (norm gains are not decayed)."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    fused = device.type == "cuda"
    return torch.optim.AdamW(groups, lr=config.lr, betas=BETAS, eps=1e-8, fused=fused)


def _evaluate(
    model: torch.nn.Module,
    net: Callable[[torch.Tensor], torch.Tensor],
    batches: list[Any],
    device: torch.device,
) -> float:
    """Mean held-out cross-entropy over the validation windows, nats per token."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad(), _autocast(device):
        for x, y in batches:
            xt = torch.from_numpy(x).to(device)
            yt = torch.from_numpy(y).to(device)
            logits = net(xt)  # (b, T, V)
            loss = torch.nn.functional.cross_entropy(
                logits.float().reshape(-1, logits.size(-1)), yt.reshape(-1), reduction="sum"
            )
            total += loss.item()
            count += yt.numel()
    model.train()
    return total / count


def _autocast(device: torch.device) -> torch.autocast:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _prepare(
    config: RunConfig, device: torch.device, world: int
) -> tuple[Corpus, _Teacher | None, list[Any]]:
    """Load and check the data and the teacher; raises InputError before anything is written."""
    shape = config.shape
    if config.hf_config is not None:  # a transformers student: its config must be its shape
        from distillscale.train.hf_config import check_hf_student

        check_hf_student(config.hf_config, shape)
        require("transformers", "hf", "a Hugging Face student")
    _check_memory(config)
    corpus = load_corpus(config.data)
    check_vocab(config, corpus)
    teacher = _open_teacher(config, corpus, device)
    val = val_batches(corpus, shape.seq_len, config.eval_tokens, config.batch_size // world)
    train_batch(corpus, config.data.seed, 0, config.batch_size, shape.seq_len)  # corpus fits
    return corpus, teacher, val


def check_vocab(config: RunConfig, corpus: Corpus) -> None:
    """Refuse a model whose vocabulary (tokens) is not the data's.

    The error names ``shape.vocab_size`` (``subject`` and a ``hints`` fix), which the command
    line words as ``--vocab`` and a study as ``data.vocab_size``.
    """
    have = config.shape.vocab_size
    if corpus.vocab_size != have and config.hf_config is not None:
        # a student built from a transformers config: its vocabulary is the config's own key,
        # neither --vocab nor data.vocab_size sets it
        raise InputError(
            f"hf_config: the student config's vocab_size is {have} but data "
            f"{config.data.corpus!r} with tokenizer {config.data.tokenizer!r} has "
            f'{corpus.vocab_size}; set "vocab_size": {corpus.vocab_size} in the student\'s '
            "config.json, or use the tokenizer it was made for"
        )
    if corpus.vocab_size != have:
        raise InputError(
            f": the model has {have} tokens but data {config.data.corpus!r} with tokenizer "
            f"{config.data.tokenizer!r} has {corpus.vocab_size}",
            subject=("shape.vocab_size", "shape.vocab_size", ""),
            hints=(("shape.vocab_size", f"use shape.vocab_size={corpus.vocab_size}"),),
        )


def _physical_memory() -> int | None:
    """Bytes of physical memory of this machine, or None where the OS does not say."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def _check_memory(config: RunConfig) -> None:
    """Refuse a run whose least memory need exceeds this machine's physical memory.

    The need is a lower bound, so nothing that could fit is refused: fp32 weights (4 bytes a
    parameter, built on the CPU first) and, for a CPU run, their gradients and two AdamW
    moments (16 bytes a parameter) plus the logits of one step and their gradient
    (8 bytes x batch x seq_len x vocab). Without this, a huge model or ``batch_size``
    failed deep in torch or numpy (exit 1).
    """
    have = _physical_memory()
    if have is None:
        return
    shape = config.shape
    params = count_params(shape).total
    on_cpu = config.device == "cpu" or (config.device == "auto" and not torch.cuda.is_available())
    need = 4 * params
    if on_cpu:
        need = (
            16 * params + 8 * (config.batch_size // config.nproc) * shape.seq_len * shape.vocab_size
        )
    if need > have:
        raise InputError(
            f"the run needs at least {need / 2**30:,.3g} GiB of memory ({params:,} parameters, "
            f"batch {config.batch_size} x {shape.seq_len} tokens) and this machine has "
            f"{have / 2**30:,.3g} GiB",
            hints=(("batch_size", "choose a smaller shape or batch_size"),),
        )


def check_run(config: RunConfig) -> None:
    """Check that ``config`` can train: data readable, vocabulary, teacher or cache usable.

    The checks :func:`train_run` makes before it writes anything, for callers that must
    register the run somewhere first (``distillscale train --store``).

    Raises
    ------
    InputError
        What is wrong, where, and the fix.
    """
    _prepare(config, torch.device("cpu"), config.nproc)


def train_run(
    config: RunConfig,
    workdir: str | Path,
    *,
    store: RunSink | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
) -> RunResult:
    """Train one run (teacher, student, baseline) to completion, resuming if interrupted.

    Parameters
    ----------
    config : RunConfig
        The run.
    workdir : str or Path
        Folder for ``checkpoint.pt``; an existing checkpoint of the same run is resumed
        exactly, one of another run is an error.
    store : Store, optional
        A run store (``distillscale.study.store``) holding this run; the loss curve is appended
        to it at each checkpoint and at the end. Registering, claiming and completing the run
        is the caller's job (the study worker, or ``distillscale train --store``).
    progress : callable, optional
        Called with a :class:`ProgressEvent` after every step; an exception raised there stops
        the run (the last checkpoint stays for a resume).

    Raises
    ------
    distillscale.interrupts.Interrupted
        SIGINT or SIGTERM arrived: the run stops after the step in progress, which is
        checkpointed first, so a rerun resumes from it and logs the same curve (a second
        signal stops it at once, from the last checkpoint).

    Returns
    -------
    RunResult
        ``status="done"`` with the final held-out loss, or ``"failed"`` with the reason (NaN or
        diverged loss, checkpoint write error).
    """
    with interrupts.deferred():  # SIGINT/SIGTERM stop the run after a step, checkpointed
        return _train_any(config, Path(workdir), store=store, progress=progress)


def _train_any(
    config: RunConfig,
    workdir: Path,
    *,
    store: RunSink | None,
    progress: Callable[[ProgressEvent], None] | None,
) -> RunResult:
    """One process, a torchrun rank, or spawned data-parallel processes."""
    if config.pretrained is not None:  # a Hugging Face teacher: evaluated, never trained
        return evaluate_pretrained(config, workdir)
    if config.nproc > 1 and not (dist.is_available() and dist.is_initialized()):
        from distillscale.train.distributed import backend, spawn_train_run

        if "RANK" in os.environ and "WORLD_SIZE" in os.environ:  # launched by torchrun
            dist.init_process_group(backend())
            try:
                return _train(config, Path(workdir), store=store, progress=progress)
            finally:
                dist.destroy_process_group()
        return spawn_train_run(config, Path(workdir), store=store, progress=progress, train=_train)
    return _train(config, Path(workdir), store=store, progress=progress)


def _train(
    config: RunConfig,
    workdir: Path,
    *,
    store: RunSink | None,
    progress: Callable[[ProgressEvent], None] | None,
) -> RunResult:
    rank, world = _rank_world()
    if world != config.nproc:
        raise InputError(
            f": the run asks for {config.nproc} processes but {world} are running",
            subject=("nproc", f"nproc={config.nproc}", str(config.nproc)),
            hints=(
                (
                    "nproc",
                    f"launch with torchrun --nproc-per-node {config.nproc} or set nproc={world}",
                ),
            ),
        )
    run_id = config.run_id()
    shape = config.shape
    device = _device(config)
    corpus, teacher, val = _prepare(config, device, world)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / CHECKPOINT

    torch.manual_seed(config.seed)
    model = build_model(shape, config.hf_config).to(device)  # initialised under the seed
    optimizer = _optimizer(model, config, device)
    state = _Progress()
    finished: dict[str, Any] | None = None
    if path.exists():
        try:
            state, finished = _resume(path, config, model, optimizer)
            log.info("run %s: resuming at step %d of %d", run_id, state.step, config.steps)
        except DamagedFile as exc:  # nothing was loaded: train from the start instead
            quarantine(path, str(exc))
            log.warning("run %s: its checkpoint was damaged; training from step 0", run_id)
    missing = [k for k in config.snapshot_steps if k <= state.step and not _snapshot(workdir, k)]
    if missing and state.step > 0:  # a snapshot was lost (damaged): retrain to rewrite it
        log.warning("run %s: snapshot after step %d is missing; retraining from step 0",
                    run_id, missing[0])  # fmt: skip
        torch.manual_seed(config.seed)
        model = build_model(shape, config.hf_config).to(device)
        optimizer = _optimizer(model, config, device)
        state, finished = _Progress(), None
    if state.step == 0 and config.init_from is not None:
        state = _from_snapshot(config, model, optimizer)
        log.info("run %s: starting from %s (step %d)", run_id, config.init_from["path"],
                 state.step)  # fmt: skip
    net: Callable[[torch.Tensor], torch.Tensor] = torch.compile(model) if config.compile else model

    counts = count_params(shape)
    f_train = 3.0 * forward_flops_per_token(shape)
    f_teacher = forward_flops_per_token(teacher.shape) if teacher and teacher.model else 0.0
    tokens_per_step = config.tokens_per_step
    failure: str | None = None
    step_tokens = 0
    step_seconds = 0.0
    started = time.perf_counter()
    wall_before = state.wall_seconds
    stored_upto = 0

    def flush_curve() -> None:
        nonlocal stored_upto
        if store is not None and rank == 0:
            store.append_curve(run_id, [curve_row(p) for p in state.curve[stored_upto:]])
            stored_upto = len(state.curve)

    def checkpoint(result: dict[str, Any] | None = None) -> None:
        state.wall_seconds = wall_before + time.perf_counter() - started
        if rank == 0:
            checkpoint_state = _state_dict(
                config, model, optimizer, state, result, corpus.tokenizer_hash
            )
            _save_atomic(checkpoint_state, path)
        flush_curve()

    interrupts.check()  # a signal while the data loaded: nothing trained, nothing to save
    try:
        while finished is None and state.step < config.steps:
            step = state.step
            t0 = time.perf_counter()
            lr = lr_at(config, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x_np, y_np = train_batch(
                corpus, config.data.seed, step, config.batch_size, shape.seq_len,
                rank=rank, world=world,
            )  # fmt: skip
            x, y = torch.from_numpy(x_np).to(device), torch.from_numpy(y_np).to(device)
            with _autocast(device):
                logits = net(x)  # (b, T, V)
                teacher_logits, sparse = None, None
                if teacher is not None and teacher.model is not None:
                    with torch.no_grad():
                        teacher_logits = teacher.model(x)  # (b, T, V)
                elif teacher is not None and teacher.cache is not None:
                    first = step * config.batch_size + rank * (config.batch_size // world)
                    sparse = teacher.cache.read(first, config.batch_size // world, device)
            objective, ce, _ = distillation_loss(
                logits, y, config.kd, teacher_logits=teacher_logits, teacher_sparse=sparse
            )
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            losses = torch.stack([ce.detach(), objective.detach()])  # (2,)
            if world > 1:  # every rank sees the same losses, so all stop together
                _average_gradients(model, world)
                dist.all_reduce(losses)
                losses /= world
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            train_loss, objective_value = losses.tolist()
            state.step = step + 1
            step_seconds += time.perf_counter() - t0
            step_tokens += tokens_per_step
            failure = _check_loss(train_loss, objective_value, state.step, shape.vocab_size)
            last = state.step == config.steps
            val_loss = None
            if failure is None and (
                last or (config.eval_every and state.step % config.eval_every == 0)
            ):
                val_loss = _evaluate(model, net, val, device)
            state.curve.append((state.step, state.step * tokens_per_step, train_loss, val_loss, lr))
            if failure is not None:
                break
            if state.step in config.snapshot_steps and rank == 0:  # before checkpoint.pt passes it
                snap = _state_dict(config, model, optimizer, state, None, corpus.tokenizer_hash)
                _save_atomic(snap, workdir / snapshot_name(state.step))
            if last:
                finished = {
                    "loss": val_loss,
                    "tokens": state.step * tokens_per_step,
                    "tokens_per_second": step_tokens / max(step_seconds, 1e-9),
                }
                checkpoint(finished)
            elif config.checkpoint_every and state.step % config.checkpoint_every == 0:
                checkpoint()
            if progress is not None and rank == 0:
                progress(
                    ProgressEvent(
                        run_id=run_id,
                        step=state.step,
                        steps=config.steps,
                        tokens=state.step * tokens_per_step,
                        train_loss=train_loss,
                        val_loss=val_loss,
                        lr=lr,
                        tokens_per_second=step_tokens / max(step_seconds, 1e-9),
                        flops=(f_train + f_teacher) * state.step * tokens_per_step,
                    )
                )
            if interrupts.pending() is not None:  # SIGINT/SIGTERM: save this step, then stop
                if finished is None:  # else the last step's checkpoint holds the result
                    checkpoint()
                log.info("run %s: interrupted after step %d, checkpointed", run_id, state.step)
                interrupts.check()
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS:
            failure = disk_full_message(exc.filename or path)
            log.warning("run %s: disk full at step %d; it resumes from its last checkpoint",
                        run_id, state.step)  # fmt: skip
        elif exc.errno in (errno.EACCES, errno.EROFS):
            failure = (
                f"writing checkpoint {path} failed at step {state.step}: {exc.strerror or exc}; "
                "the previous checkpoint is intact: fix permissions and rerun to resume"
            )
        else:
            raise
    if failure is None:
        flush_curve()
    else:
        log.warning("run %s failed: %s", run_id, failure)
    tokens = state.step * tokens_per_step
    tps = step_tokens / step_seconds if step_seconds > 0 else 0.0
    if step_tokens == 0 and finished is not None:  # finished before this call: as recorded
        tps = float(finished.get("tokens_per_second", 0.0))
    flops_rate = (f_train + f_teacher) * tps
    return RunResult(
        run_id=run_id,
        status="failed" if failure else "done",
        failure_reason=failure,
        loss=None if failure or finished is None else finished["loss"],
        params=counts.non_embedding,
        params_total=counts.total,
        tokens=tokens,
        flops=_ledger(config, teacher, tokens),
        curve=list(state.curve),
        tokens_per_second=tps,
        mfu=None if config.peak_flops is None or tps == 0 else flops_rate / config.peak_flops,
        wall_seconds=wall_before + time.perf_counter() - started,
        checkpoint=None if failure else str(path),
    )


def _snapshot(workdir: Path, step: int) -> bool:
    return (workdir / snapshot_name(step)).is_file()


def _check_loss(ce: float, objective: float, step: int, vocab: int) -> str | None:
    """The reason a run must stop after this step, or None."""
    if not (math.isfinite(ce) and math.isfinite(objective)):
        return (
            f"loss is not finite at step {step} (train cross-entropy {ce}, objective {objective})"
        )
    limit = DIVERGENCE_FACTOR * math.log(vocab)
    if ce > limit:
        return (
            f"diverged at step {step}: train cross-entropy {ce:.3f} nats/token exceeds "
            f"{DIVERGENCE_FACTOR:g} x ln(V) = {limit:.3f}; lower the learning rate"
        )
    return None


def _average_gradients(model: torch.nn.Module, world: int) -> None:
    """Mean of every gradient over the ranks (each rank's loss is its local-batch mean).

    One flat buffer, one ``all_reduce``: far fewer messages than one per parameter.
    """
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def _ledger(config: RunConfig, teacher: _Teacher | None, tokens: int) -> FlopsLedger:
    """FLOPs by phase: this run's training under its kind, plus online teacher inference."""
    train = training_flops(config.shape, tokens)
    phase = phase_of(config.kind)
    online = 0.0
    if teacher is not None and teacher.model is not None:
        online = teacher_inference_flops(teacher.shape, tokens)
    return FlopsLedger(**{phase: train}, teacher_inference=online)


def evaluate_pretrained(config: RunConfig, workdir: Path) -> RunResult:
    """The result of a teacher run that imports a pretrained model (``config.pretrained``).

    Nothing is trained: the model's held-out loss (nats per token) is measured on the run's
    validation windows, exactly as a trained run's final loss. ``tokens`` and the training
    FLOPs are 0 (its pretraining is not this study's); ``params`` are the accountant's count of
    its shape (GPT-2's biases and position embeddings are not in it). ``workdir`` is created and
    holds nothing (the weights stay in their directory).
    """
    from distillscale.train.hf import load_hf_model

    assert config.pretrained is not None
    started = time.perf_counter()
    device = _device(config)
    corpus = load_corpus(config.data)
    ref = config.pretrained
    if corpus.vocab_size != ref.shape.vocab_size:
        raise InputError(
            f"teacher {ref.checkpoint}: vocabulary {ref.shape.vocab_size} tokens, the data's "
            f"is {corpus.vocab_size}; tokenise the data with the teacher's tokenizer"
        )
    model = load_hf_model(ref, device, tokenizer_hash=corpus.tokenizer_hash)
    val = val_batches(corpus, config.shape.seq_len, config.eval_tokens, config.batch_size)
    loss = _evaluate(model, model, val, device)
    Path(workdir).mkdir(parents=True, exist_ok=True)
    counts = count_params(config.shape)
    return RunResult(
        run_id=config.run_id(),
        status="done",
        failure_reason=None,
        loss=loss,
        params=counts.non_embedding,
        params_total=counts.total,
        tokens=0,
        flops=FlopsLedger(),
        curve=[],
        tokens_per_second=0.0,
        mfu=None,
        wall_seconds=time.perf_counter() - started,
        checkpoint=None,
    )
