"""``distillscale train``: train one teacher, student or supervised run, resumably.

Parses options into a :class:`~distillscale.train.RunConfig`, checks it (data, vocabulary,
teacher, store) before anything is written, then calls :func:`distillscale.train.train_run`.
Progress goes to stderr; ``--json`` prints the run record on stdout.
"""

from __future__ import annotations

import math
import os
import socket
import time
import uuid
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from distillscale.cli.app import app, check_folder, emit_json, err_console
from distillscale.cli.shape_options import (
    DepthOption,
    DModelOption,
    Ffn,
    FfnOption,
    HeadsOption,
    KvHeadsOption,
    LayersOption,
    shape_from_options,
)
from distillscale.errors import InputError, require

if TYPE_CHECKING:
    from distillscale.train import RunConfig, RunResult, TeacherRef

#: Seconds a claim on a store run lasts without a heartbeat (one is sent every minute).
LEASE_SECONDS = 600.0
#: Attempts a store run gets (the store's and a study's default); cut-short ones do not count.
MAX_ATTEMPTS = 3


class KDLoss(StrEnum):
    """Distillation divergences (docs/references.md: KD losses)."""

    forward_kl = "forward-kl"
    reverse_kl = "reverse-kl"
    skew_forward_kl = "skew-forward-kl"
    skew_reverse_kl = "skew-reverse-kl"
    js = "js"
    tv = "tv"


class TopKMode(StrEnum):
    """How a truncated teacher is completed."""

    renormalize = "renormalize"
    bucket = "bucket"


class Tokenizer(StrEnum):
    """Tokenizers."""

    byte = "byte"
    bpe = "bpe"


class Schedule(StrEnum):
    """Learning-rate schedules."""

    cosine = "cosine"
    wsd = "wsd"


class Device(StrEnum):
    """Devices."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Kind(StrEnum):
    """``--kind`` choices: the kinds of :class:`distillscale.runs.RunKind` without a teacher."""

    teacher = "teacher"
    baseline = "baseline"
    single = "single"


def _resolve_teacher(teacher: str, store: Any) -> TeacherRef:
    """A teacher given as a checkpoint path, an HF model (directory or ``hf:ID``), or a run id."""
    from distillscale.train import load_teacher

    if teacher.startswith("hf:") or (Path(teacher) / "config.json").is_file():
        from distillscale.train.hf import hf_teacher_ref, is_hf_source

        if is_hf_source(teacher):
            return hf_teacher_ref(teacher)
    path = Path(teacher)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if path.is_file():
        return load_teacher(path)
    if store is None:
        raise InputError(
            f"--teacher {teacher!r}: no such checkpoint; give the path of a teacher's "
            "checkpoint.pt (or its workdir), a transformers model directory (or hf:ID), or a "
            "run id together with --store URL"
        )
    record = store.get(teacher)
    if record is None:
        raise InputError(
            f"--teacher {teacher!r}: neither a checkpoint path nor a run in store "
            f"{store.url}; list runs with `distillscale runs --store {store.url}`"
        )
    if record.status != "done" or not record.checkpoint_path:
        raise InputError(
            f"--teacher {teacher}: run is {record.status} in the store, without a final "
            "checkpoint; finish training it first"
        )
    return load_teacher(record.checkpoint_path)


def _hf_data(
    ref: TeacherRef, shape: Any, data: Any, vocab: int | None, tokenizer: Tokenizer
) -> tuple[Any, Any]:
    """Student shape and data for an HF teacher: its tokenizer and its vocabulary."""
    import dataclasses

    size = ref.shape.vocab_size
    if vocab is not None and vocab != size:
        raise InputError(
            f"--vocab {vocab}: the Hugging Face teacher's vocabulary has {size} tokens; the "
            f"student must have the same ({size}), leave --vocab out"
        )
    if tokenizer is not Tokenizer.byte:
        raise InputError(
            f"--tokenizer {tokenizer.value}: a Hugging Face teacher brings its own tokenizer; "
            "leave --tokenizer out"
        )
    from distillscale.train.hf_config import tokenizer_files_digest

    data = dataclasses.replace(
        data,
        tokenizer=ref.checkpoint,
        vocab_size=size,
        tokenizer_sha256=tokenizer_files_digest(ref.checkpoint),
    )
    return dataclasses.replace(shape, vocab_size=size), data


def _check_hf_flags(depth: int | None, explicit: list[str]) -> None:
    """``--hf-config`` takes the size from ``--depth`` and nothing else."""
    if depth is None:
        raise InputError(
            "--hf-config needs --depth N: the config is scaled to N layers (width from its "
            "aspect ratio, its head width and FFN ratio)"
        )
    if explicit:
        raise InputError(
            f"{'/'.join(explicit)}: with --hf-config the shape is the config's, scaled by "
            "--depth; leave them out (edit the config instead)"
        )


def _hf_student(
    source: Path,
    depth: int | None,
    explicit: list[str],
    ref: TeacherRef | None,
    data: Any,
    vocab: int | None,
    tokenizer: Tokenizer,
    seq_len: int,
) -> tuple[Any, dict[str, Any], Any]:
    """Shape, scaled transformers config and data of a ``--hf-config`` model at ``--depth``.

    The vocabulary is the HF teacher's, else the config directory's own tokenizer's (when it
    holds one), else the data's; the config's ``vocab_size`` must be that one.
    """
    import dataclasses

    from distillscale.train.hf_config import (
        hf_student,
        read_student_config,
        student_tokenizer,
        tokenizer_files_digest,
    )

    _check_hf_flags(depth, explicit)
    assert depth is not None
    path, base = read_student_config(str(source), "--hf-config")
    where = f"--hf-config {path}"
    theirs = base.get("vocab_size")
    own = student_tokenizer(str(source))
    if ref is not None and ref.checkpoint.startswith("hf:"):
        if theirs != ref.shape.vocab_size:
            raise InputError(
                f"{where}: vocab_size {theirs} is not the teacher's {ref.shape.vocab_size}; a "
                f"student shares its teacher's vocabulary: set vocab_size "
                f"{ref.shape.vocab_size} in {path.name}"
            )
    elif own is not None:
        if tokenizer is not Tokenizer.byte or vocab is not None:
            raise InputError(
                f"--tokenizer/--vocab: {where} brings its own tokenizer and vocabulary "
                f"({path.parent}); leave both out"
            )
        data = dataclasses.replace(
            data, tokenizer=own, vocab_size=theirs, tokenizer_sha256=tokenizer_files_digest(own)
        )
    else:
        ours = data.vocab_size or 256
        if theirs != ours:
            raise InputError(
                f"{where}: vocab_size {theirs} is not the data's {ours} (--tokenizer "
                f"{tokenizer.value}); set vocab_size {ours} in {path.name}, or --tokenizer "
                f"bpe --vocab {theirs}"
            )
    shape, scaled = hf_student(base, depth, seq_len, source=where)
    return shape, scaled, data


def _register(store: Any, config: RunConfig) -> str:
    """Register and claim the run in the store; return the worker id (or '' if done).

    The same store operations as a study's driver (:mod:`distillscale.study.record`): an
    attempt cut short (interrupted, disk full) does not count against the run's attempts.
    """
    from distillscale.flops import count_params, training_flops
    from distillscale.runs import phase_ledger
    from distillscale.study.record import claim_limit, run_spec_record

    run_id = config.run_id()
    teacher_id = config.teacher.run_id if config.teacher is not None else None
    if teacher_id is not None and store.get(teacher_id) is None:
        teacher_id = None  # a teacher from a path that this store does not know
    tokens = config.steps * config.tokens_per_step
    store.register(
        run_spec_record(
            config,
            params=count_params(config.shape).non_embedding,
            tokens=tokens,
            flops=phase_ledger(config.kind, training_flops(config.shape, tokens)),
            teacher_run_id=teacher_id,
        )
    )
    worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if store.claim(
        run_id, worker, LEASE_SECONDS, max_attempts=claim_limit(store.get(run_id), MAX_ATTEMPTS)
    ):
        return worker
    record = store.get(run_id)
    if record is not None and record.status == "done":
        return ""
    raise InputError(
        f"--store {store.url}: run {run_id} is {record.status if record else 'missing'} "
        f"(claimed by {record.claimed_by if record else None}); wait for that worker, or use "
        "another store"
    )


def _document(config: RunConfig, result: RunResult, workdir: Path) -> dict[str, Any]:
    """The run record printed by ``--json`` (docs/conventions.md ``train --json``)."""
    shape = config.shape
    cfg = config.to_dict()
    cfg.update(
        n_layers=shape.n_layers,
        d_model=shape.d_model,
        n_heads=shape.n_heads,
        n_kv_heads=shape.n_kv_heads,
        vocab_size=shape.vocab_size,
        seq_len=shape.seq_len,
    )
    return {
        "run": result.run_id,
        "kind": config.kind,
        "status": result.status,
        "failure_reason": result.failure_reason,
        "config": cfg,
        "params": result.params,
        "params_total": result.params_total,
        "tokens": result.tokens,
        "flops": result.flops.as_dict(),
        "loss": result.loss,
        "teacher_run_id": config.teacher.run_id if config.teacher else None,
        "teacher_loss": config.teacher.loss if config.teacher else None,
        "tokens_per_second": result.tokens_per_second,
        "mfu": result.mfu,
        "wall_seconds": result.wall_seconds,
        "checkpoint": result.checkpoint,
        "workdir": str(workdir),
        "val_curve": [[s, t, v] for s, t, _, v, _ in result.curve if v is not None],
    }


@app.command("train")
def train(
    tokens: Annotated[float, typer.Option(help="Training tokens D (count, e.g. 2e6).")],
    depth: DepthOption = None,
    layers: LayersOption = None,
    d_model: DModelOption = None,
    heads: HeadsOption = None,
    kv_heads: KvHeadsOption = None,
    ffn: FfnOption = Ffn.gated,
    ffn_dim: Annotated[
        int | None, typer.Option(help="FFN width (features) [default: by FFN kind].")
    ] = None,
    vocab: Annotated[
        int | None,
        typer.Option(help="Vocabulary (tokens) [default: 256 byte, 4096 bpe].", show_default=False),
    ] = None,
    seq_len: Annotated[int, typer.Option(help="Context length (tokens).")] = 256,
    tied: Annotated[
        bool, typer.Option("--tied/--untied", help="LM head tied to the token embedding.")
    ] = False,
    qk_norm: Annotated[
        bool | None,
        typer.Option(
            "--qk-norm/--no-qk-norm",
            help="Per-head RMSNorm on q and k [default: on with --depth, else off].",
            show_default=False,
        ),
    ] = None,
    hf_config: Annotated[
        Path | None,
        typer.Option(
            help="Train a transformers model: a GPT-2/Llama config.json (or its directory) "
            "scaled to --depth layers, randomly initialised.",
        ),
    ] = None,
    kind: Annotated[
        Kind, typer.Option(help="Run kind without a teacher (with --teacher: student).")
    ] = Kind.single,
    teacher: Annotated[
        str | None,
        typer.Option(help="Teacher: a checkpoint.pt (or its workdir), or a run id in --store."),
    ] = None,
    teacher_cache: Annotated[
        Path | None, typer.Option(help="Teacher-logit cache file read instead of the teacher.")
    ] = None,
    kd: Annotated[KDLoss, typer.Option(help="Distillation divergence.")] = KDLoss.forward_kl,
    top_k: Annotated[
        int | None, typer.Option(help="Keep the teacher's k most likely tokens [default: all].")
    ] = None,
    top_k_mode: Annotated[
        TopKMode, typer.Option(help="Truncated teacher: renormalize, or a rest-mass bucket.")
    ] = TopKMode.renormalize,
    temperature: Annotated[float, typer.Option(help="Distillation temperature tau.")] = 1.0,
    kd_weight: Annotated[
        float, typer.Option(help="lambda: loss = (1 - lambda) NTP + lambda KD.")
    ] = 1.0,
    data: Annotated[
        str,
        typer.Option(
            help="Corpus: 'stdlib', a text file or folder, a .bin/.npy file, or dataset:SOURCE."
        ),
    ] = "stdlib",
    text_column: Annotated[
        str, typer.Option(help="Column of a dataset:SOURCE corpus that holds the text.")
    ] = "text",
    token_dtype: Annotated[
        str, typer.Option(help="Integer type of raw .bin token files: uint8, uint16, uint32.")
    ] = "uint16",
    tokenizer: Annotated[Tokenizer, typer.Option(help="Tokenizer for text corpora.")] = (
        Tokenizer.byte
    ),
    max_corpus_bytes: Annotated[
        int, typer.Option(help="Read at most this many bytes of text (0: all).")
    ] = 8_000_000,
    val_fraction: Annotated[
        float, typer.Option(help="Fraction of documents held out for validation.")
    ] = 0.05,
    batch_size: Annotated[int, typer.Option(help="Sequences per optimiser step.")] = 16,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW).")] = 3e-3,
    warmup: Annotated[
        float, typer.Option(help="Warm-up: steps if >= 1, else a fraction of the steps.")
    ] = 0.05,
    schedule: Annotated[Schedule, typer.Option(help="Learning-rate decay.")] = Schedule.cosine,
    seed: Annotated[int, typer.Option(help="Seed of initialisation and data order.")] = 0,
    eval_every: Annotated[
        int, typer.Option(help="Validate every N steps (0: only at the end).")
    ] = 0,
    eval_tokens: Annotated[int, typer.Option(help="Held-out tokens per validation.")] = 65_536,
    checkpoint_every: Annotated[
        int, typer.Option(help="Checkpoint every N steps (0: only at the end).")
    ] = 100,
    device: Annotated[Device, typer.Option(help="Where to train.")] = Device.auto,
    compile_model: Annotated[
        bool, typer.Option("--compile/--no-compile", help="torch.compile the model.")
    ] = False,
    peak_flops: Annotated[float | None, typer.Option(help="Device peak FLOP/s, for MFU.")] = None,
    nproc: Annotated[
        int | None,
        typer.Option(
            help="Data-parallel processes (gloo on CPU) [default: WORLD_SIZE under torchrun, "
            "else 1].",
            show_default=False,
        ),
    ] = None,
    store: Annotated[
        str | None, typer.Option(help="Run store URL (path, sqlite:///..., postgresql://...).")
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(help="Folder for checkpoints [default: runs/<run id>]; rerun to resume."),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the run record as JSON on stdout.")
    ] = False,
) -> None:
    """Train one model (supervised, or distilled with --teacher) and print its run record.

    Progress goes to stderr. Interrupt it and rerun the same command to resume from the last
    checkpoint. Losses are held-out cross-entropy in nats per token.
    """
    require("torch", "train", "distillscale train")
    from distillscale.train import DataConfig, KDConfig, RunConfig, check_run, train_run

    if not (math.isfinite(tokens) and tokens >= 1):
        raise InputError(f"--tokens {tokens:g}: must be a positive finite count of training tokens")
    if workdir is not None:
        check_folder(workdir, "--workdir")
    vocab_size = vocab if vocab is not None else (256 if tokenizer is Tokenizer.byte else 4096)
    explicit = [
        flag
        for flag, value in (
            ("--layers", layers), ("--d-model", d_model), ("--heads", heads),
            ("--kv-heads", kv_heads), ("--ffn-dim", ffn_dim), ("--qk-norm", qk_norm),
            ("--tied", tied or None), ("--ffn", None if ffn is Ffn.gated else ffn),
        )
        if value is not None
    ]  # fmt: skip
    if hf_config is not None:
        _check_hf_flags(depth, explicit)
    shape = shape_from_options(
        depth,
        layers,
        d_model,
        heads,
        kv_heads,
        ffn,
        ffn_dim,
        vocab_size,
        seq_len,
        tied,
        qk_norm,
    )
    data_config = DataConfig(
        corpus=data,
        tokenizer=tokenizer.value,
        vocab_size=None if tokenizer is Tokenizer.byte else vocab_size,
        max_corpus_bytes=max_corpus_bytes or None,
        text_column=text_column,
        token_dtype=token_dtype,
        val_fraction=val_fraction,
        seed=seed,
    )
    distilling = teacher is not None or teacher_cache is not None
    kd_given = (
        top_k is not None or temperature != 1.0 or kd_weight != 1.0 or kd is not (KDLoss.forward_kl)
    )
    if kd_given and not distilling:
        raise InputError(
            "--kd/--top-k/--temperature/--kd-weight need a teacher: add --teacher (or "
            "--teacher-cache)"
        )
    # under torchrun every rank runs this command; only rank 0 talks to the store and prints
    primary = os.environ.get("RANK", "0") == "0"
    opened = None
    if store is not None and primary:
        from distillscale.study.store import open_store

        opened = open_store(store)
    try:
        ref = _resolve_teacher(teacher, opened) if teacher is not None else None
        if ref is not None and ref.checkpoint.startswith("hf:"):
            shape, data_config = _hf_data(ref, shape, data_config, vocab, tokenizer)
        scaled = None
        if hf_config is not None:
            shape, scaled, data_config = _hf_student(
                hf_config, depth, explicit, ref, data_config, vocab, tokenizer, seq_len
            )
        config = RunConfig(
            kind="student" if distilling else kind.value,
            shape=shape,
            hf_config=scaled,
            tokens=int(tokens),
            batch_size=batch_size,
            lr=lr,
            warmup_steps=warmup,
            schedule=schedule.value,
            seed=seed,
            data=data_config,
            teacher=ref,
            teacher_cache=None if teacher_cache is None else str(teacher_cache),
            kd=KDConfig(
                loss=kd.value,
                temperature=temperature,
                weight=kd_weight,
                top_k=top_k,
                top_k_mode=top_k_mode.value,
            )
            if distilling
            else None,
            eval_every=eval_every,
            eval_tokens=eval_tokens,
            checkpoint_every=checkpoint_every,
            device=device.value,
            compile=compile_model,
            peak_flops=peak_flops,
            nproc=nproc if nproc is not None else int(os.environ.get("WORLD_SIZE", "1")),
        )
        check_run(config)
        run_id = config.run_id()
        folder = workdir if workdir is not None else Path("runs") / run_id
        worker = _register(opened, config) if opened is not None else ""
        if primary:
            result = _train_with_progress(config, folder, opened, worker, train_run)
        else:
            result = train_run(config, folder)
    finally:
        if opened is not None:
            opened.close()
    if not primary:
        return
    if json_out:
        emit_json(_document(config, result, folder))
    if result.status != "done":
        err_console.print(f"[bold red]run {run_id} failed:[/] {result.failure_reason}")
        raise typer.Exit(1)
    err_console.print(
        f"run {run_id} done: loss {result.loss:.4f} nats/token, {result.tokens:,} tokens, "
        f"{result.tokens_per_second:,.0f} tokens/s; checkpoint {result.checkpoint}",
        highlight=False,
    )


def _train_with_progress(
    config: RunConfig, folder: Path, store: Any, worker: str, train_run: Any
) -> RunResult:
    """Run training under a rich progress bar on stderr; record the outcome in the store."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from distillscale.flops import count_params
    from distillscale.runs import FailureKind, format_failure
    from distillscale.study.record import end_attempt

    n = count_params(config.shape).non_embedding
    total = config.steps * config.tokens_per_step
    err_console.print(
        f"run {config.run_id()}: {n:,} non-embedding params, {total:,} tokens "
        f"({total / n:.3g} tokens/param), {config.steps} steps -> {folder}",
        highlight=False,
    )
    last_beat = [time.monotonic()]
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    ) as bar:
        task = bar.add_task("steps", total=config.steps, status="")

        def progress(event: Any) -> None:
            val = f" val {event.val_loss:.3f}" if event.val_loss is not None else ""
            status = f"loss {event.train_loss:.3f}{val} {event.tokens_per_second:,.0f} tok/s"
            bar.update(task, completed=event.step, status=status)
            if worker and time.monotonic() - last_beat[0] > 60:
                last_beat[0] = time.monotonic()
                store.heartbeat(event.run_id, worker, LEASE_SECONDS)

        sink = store if worker else None
        try:
            result = train_run(config, folder, store=sink, progress=progress)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the trainer saved its step first
            if worker:
                reason = format_failure(FailureKind.interrupted, "rerun to resume")
                end_attempt(store, config.run_id(), worker, reason)
            raise
        except BaseException:
            if worker:
                end_attempt(store, config.run_id(), worker, "crashed (rerun to resume)")
            raise
    if worker:
        _record(store, worker, config, result)
    return result


def _record(store: Any, worker: str, config: RunConfig, result: RunResult) -> None:
    from distillscale.study.record import end_attempt, result_failure
    from distillscale.study.store import RunOutcome

    failure = result_failure(result)  # as a study stores it: disk full, or diverged: ...
    if failure is not None:
        end_attempt(store, result.run_id, worker, failure[0])
        return
    store.complete(
        result.run_id,
        worker,
        RunOutcome(
            loss=result.loss,
            tokens=result.tokens,
            flops=result.flops,
            teacher_loss=config.teacher.loss if config.teacher else None,
            wall_seconds=result.wall_seconds,
            tokens_per_second=result.tokens_per_second,
            checkpoint_path=str(Path(result.checkpoint).resolve()) if result.checkpoint else None,
        ),
    )
