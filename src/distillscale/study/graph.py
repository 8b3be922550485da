"""Expand a study spec into its run graph: teachers -> logit caches -> students, and baselines.

Every run is a :class:`~distillscale.train.RunConfig`; its id is ``RunConfig.run_id()``, the
hash of what determines the run (:meth:`~distillscale.train.RunConfig.identity`): its own
settings, the corpus's content fingerprint (not its path) and, for a student, its teacher's id;
so a re-run of a study finds the runs it already did, an edited corpus gives new runs, and an
edit of one token budget re-keys only the runs of that budget. Paths inside configs (teacher
checkpoints, logit caches) are relative to the study directory, and the worker runs in that
directory: ids do not change when a study directory is moved.

A logit cache is keyed by its teacher's id, ``top_k`` and the tokens it covers (the most any of
its students reads); a finished cache that covers at least that many tokens is reused
(``reuse`` of :func:`build_graph`), since students read only its first sequences.

FLOPs come from the one accountant, :mod:`distillscale.flops` (training = 3 x forward, exact
forward count with the causal attention context).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from distillscale.errors import InputError
from distillscale.flops import (
    FlopsLedger,
    TransformerShape,
    count_params,
    family_shape,
    forward_flops_per_token,
    logit_cache_flops,
    teacher_inference_flops,
    training_flops,
)
from distillscale.runs.config import (
    DataConfig,
    KDConfig,
    RunConfig,
    TeacherRef,
    branch_mismatch,
    decay_start,
    snapshot_name,
    warmup_of,
)
from distillscale.study.spec import StudySpec
from distillscale.train.corpus_id import corpus_fingerprint
from distillscale.train.hf_config import (
    hf_student,
    hf_teacher_ref,
    read_student_config,
    student_tokenizer,
    tokenizer_files_digest,
)

__all__ = [
    "CacheNode",
    "RunNode",
    "StudyGraph",
    "TEACHER_CHECKPOINT",
    "build_graph",
    "study_fingerprint",
]

#: The trainer's final checkpoint inside a run's workdir (relative to the study directory).
TEACHER_CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunNode:
    """One training run of the study.

    Parameters
    ----------
    run_id : str
        ``config.run_id()`` (16 hex digits).
    kind : str
        ``"teacher"``, ``"student"`` (distilled) or ``"baseline"`` (supervised).
    label : str
        Human name: ``d3-m20`` (teacher: depth, tokens per parameter), ``d1-D4.1e+05<d3-m20``
        (student of that teacher), ``d1-D4.1e+05`` (baseline); ``-s<seed>`` with several seeds.
    depth : int
        The family's size dial (layers).
    config : RunConfig
        The complete run configuration.
    params : int
        Non-embedding parameters (accountant count).
    tokens : int
        Training tokens (count), whole optimiser steps.
    teacher_run : str or None
        The teacher's run id for students.
    cache_id : str or None
        The logit cache a student reads (``cache: topk``).
    ledger : FlopsLedger
        Planned FLOPs of this run by phase (operations); for a cooldown branch, only the steps
        it trains itself (after its trunk's snapshot).
    trunk_run : str or None
        For a cooldown branch (``training.branches``), the trunk run whose snapshot it starts
        from; it must finish first.
    shared : FlopsLedger
        A branch's FLOPs of the steps its trunk trained for it (zero for other runs):
        ``ledger + shared`` is the run's full budget, as if trained from scratch.
    """

    run_id: str
    kind: str
    label: str
    depth: int
    config: RunConfig
    params: int
    tokens: int
    teacher_run: str | None
    cache_id: str | None
    ledger: FlopsLedger
    trunk_run: str | None = None
    shared: FlopsLedger = dataclasses.field(default_factory=FlopsLedger)

    @property
    def depends(self) -> tuple[str, ...]:
        """Node ids that must finish first (teacher, or its cache; a branch's trunk)."""
        trunk = (self.trunk_run,) if self.trunk_run is not None else ()
        if self.cache_id is not None:
            return (self.cache_id, *trunk)
        return (self.teacher_run, *trunk) if self.teacher_run is not None else trunk

    @property
    def full_ledger(self) -> FlopsLedger:
        """FLOPs of the run as if trained from scratch (``ledger + shared``, operations)."""
        return self.ledger + self.shared


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheNode:
    """A teacher's top-k logit cache over the first ``tokens`` training tokens of its stream.

    Parameters
    ----------
    cache_id : str
        Hash of the teacher run id, the data stream, ``seq_len``, ``top_k`` and ``tokens``.
    teacher_run : str
        The teacher's run id.
    path : str
        ``caches/<cache_id>.logits``, relative to the study directory.
    tokens : int
        Token positions covered (count): the most any of its students reads.
    top_k : int
        Log-probabilities kept per position.
    ledger : FlopsLedger
        Planned teacher forward FLOPs (``logit_cache`` phase, operations).
    """

    cache_id: str
    teacher_run: str
    path: str
    tokens: int
    top_k: int
    ledger: FlopsLedger

    @property
    def depends(self) -> tuple[str, ...]:
        """The teacher run."""
        return (self.teacher_run,)


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyGraph:
    """All runs and caches of a study, in a valid execution order (dependencies first).

    Parameters
    ----------
    runs : tuple of RunNode
        Teachers first, then students and baselines.
    caches : tuple of CacheNode
        One per teacher with students (``cache: topk``).
    """

    runs: tuple[RunNode, ...]
    caches: tuple[CacheNode, ...]

    def nodes(self) -> Iterator[RunNode | CacheNode]:
        """Teachers, caches, then students and baselines (a topological order)."""
        yield from (r for r in self.runs if r.kind == "teacher")
        yield from self.caches
        yield from (r for r in self.runs if r.kind != "teacher")

    def node_id(self, node: RunNode | CacheNode) -> str:
        """A node's id: run id or cache id."""
        return node.run_id if isinstance(node, RunNode) else node.cache_id

    def by_id(self) -> dict[str, RunNode | CacheNode]:
        """Nodes keyed by id."""
        return {self.node_id(n): n for n in self.nodes()}

    @property
    def ledger(self) -> FlopsLedger:
        """Planned FLOPs of the whole study by phase (operations)."""
        total = FlopsLedger()
        for node in self.nodes():
            total = total + node.ledger
        return total

    @property
    def saved(self) -> FlopsLedger:
        """FLOPs that cooldown branches do not spend: their trunks trained those steps."""
        total = FlopsLedger()
        for run in self.runs:
            total = total + run.shared
        return total

    def count(self, kind: str) -> int:
        """Number of runs of a kind (``teacher``, ``student``, ``baseline``)."""
        return sum(1 for r in self.runs if r.kind == kind)


def _node(
    config: RunConfig,
    label: str,
    depth: int,
    ledger: FlopsLedger,
    *,
    teacher_run: str | None = None,
    cache_id: str | None = None,
) -> RunNode:
    """A run node; its id, kind, parameter count and tokens are derived from ``config``."""
    return RunNode(
        run_id=config.run_id(),
        kind=config.kind,
        label=label,
        depth=depth,
        config=config,
        params=count_params(config.shape).non_embedding,
        tokens=0 if config.pretrained is not None else config.tokens,  # not trained here
        teacher_run=teacher_run,
        cache_id=cache_id,
        ledger=ledger,
    )


def _shape(spec: StudySpec, depth: int) -> TransformerShape:
    return family_shape(
        depth,
        aspect=spec.model.aspect,
        head_dim=spec.model.head_dim,
        vocab_size=spec.data.vocab,
        seq_len=spec.data.seq_len,
        ffn=spec.model.ffn,
    )


def _whole_steps(tokens: float, spec: StudySpec, key: str) -> int:
    """Round a token count up to whole optimiser steps; refuse less than one step."""
    per_step = spec.training.batch_size * spec.data.seq_len
    if not math.isfinite(tokens) or tokens < per_step:
        raise InputError(
            f"{key}: {tokens:.4g} tokens is less than one optimiser step (training.batch_size "
            f"{spec.training.batch_size} x data.seq_len {spec.data.seq_len} = {per_step} tokens); "
            "give more tokens or a larger budget, or a smaller batch"
        )
    return int(math.ceil(tokens / per_step)) * per_step


def _base_config(spec: StudySpec, seed: int, fingerprint: str, depth: int) -> dict[str, object]:
    """RunConfig keywords shared by every run of ``depth`` layers (lr may depend on depth)."""
    t = spec.training
    tok_sha = None
    if spec.data.tokenizer.startswith("hf:"):  # set by _with_hf_teacher
        tok_sha = _TOKENIZER_DIGESTS.get(spec.data.tokenizer)
        if tok_sha is None:
            tok_sha = _TOKENIZER_DIGESTS[spec.data.tokenizer] = tokenizer_files_digest(
                spec.data.tokenizer
            )
    return {
        "batch_size": t.batch_size,
        "lr": t.lr_for(depth),
        "warmup_steps": t.warmup,
        "schedule": t.schedule,
        "decay_fraction": t.decay_fraction,
        "min_lr_ratio": t.min_lr_ratio,
        "weight_decay": t.weight_decay,
        "grad_clip": t.grad_clip,
        "seed": seed,
        "data": DataConfig(
            corpus=spec.data.corpus,
            tokenizer=spec.data.tokenizer,
            vocab_size=spec.data.vocab_size,
            val_fraction=spec.data.val_fraction,
            max_corpus_bytes=spec.data.max_corpus_bytes,
            text_column=spec.data.text_column,
            token_dtype=spec.data.token_dtype,
            seed=seed,
            fingerprint=fingerprint,
            tokenizer_sha256=tok_sha,
        ),
        "eval_every": t.eval_every,
        "eval_tokens": t.eval_tokens,
        "checkpoint_every": t.checkpoint_every,
        "device": spec.executor.device,
    }


def _fmt(x: float) -> str:
    return f"{x:.2g}".replace("+", "")


def _grid(
    depths: list[int],
    values: list[float],
    iso: object,
    spec: StudySpec,
    key: str,
    per: str,
    shape_of: Callable[[int], TransformerShape] | None = None,
) -> list[tuple[int, float, str, str]]:
    """(depth, tokens, tag, key) per grid point; ``per``: ``m`` tokens/param, ``D`` tokens.

    ``shape_of(depth)`` is the shape of a grid member (default: the GPT family's).
    """
    shape_of = shape_of or (lambda depth: _shape(spec, depth))
    out: list[tuple[int, float, str, str]] = []
    if iso is not None:
        for j, budget in enumerate(iso.budgets):  # type: ignore[attr-defined]
            for depth in iso.depths:  # type: ignore[attr-defined]
                tokens = budget / (3.0 * forward_flops_per_token(shape_of(depth)))
                out.append((depth, tokens, f"c{_fmt(budget)}", f"{key}.isoflop.budgets[{j}]"))
        return out
    for j, value in enumerate(values):
        for depth in depths:
            n = count_params(shape_of(depth)).non_embedding
            tokens = value * n if per == "m" else float(value)
            tag = f"m{value:g}" if per == "m" else f"D{_fmt(value)}"
            name = "tokens_per_param" if per == "m" else "tokens"
            out.append((depth, tokens, tag, f"{key}.{name}[{j}]"))
    return out


#: Finished logit caches by (teacher run id, top_k): (cache id, tokens covered) pairs.
CacheReuse = Mapping[tuple[str, int], Sequence[tuple[str, int]]]


def study_fingerprint(spec: StudySpec) -> str:
    """The content fingerprint of the spec's corpus (see :mod:`distillscale.train.corpus_id`)."""
    d = spec.data
    return corpus_fingerprint(
        DataConfig(corpus=d.corpus, max_corpus_bytes=d.max_corpus_bytes, text_column=d.text_column)
    )


def build_graph(
    spec: StudySpec, *, reuse: CacheReuse | None = None, fingerprint: str | None = None
) -> StudyGraph:
    """Expand a validated spec into its runs and caches.

    Parameters
    ----------
    spec : StudySpec
        A validated spec (corpus already resolved). Its corpus is read once to fingerprint it.
    reuse : mapping or None
        Finished caches that may serve this study's students: for each teacher and ``top_k``,
        the smallest one covering at least the tokens needed is used instead of a new cache.
    fingerprint : str or None
        The corpus's fingerprint if already known (:func:`study_fingerprint`); None reads it.

    Returns
    -------
    StudyGraph
        Deduplicated by run id.

    Raises
    ------
    InputError
        A run shorter than one optimiser step, a student teacher name that is not a teacher,
        or a corpus that cannot be read.
    """
    if fingerprint is None:
        fingerprint = study_fingerprint(spec)
    _TOKENIZER_DIGESTS.clear()
    hf_ref = None
    if spec.teachers.hf is not None:
        hf_ref = hf_teacher_ref(spec.teachers.hf)
        spec = _with_hf_teacher(spec, hf_ref)
    student_model = _student_models(spec, hf_ref)
    if spec.students.hf_config is not None and hf_ref is None:
        spec = _with_student_tokenizer(spec)
    for depth in spec.teachers.depths:
        _shape(spec, depth)  # raises InputError for an impossible shape
    for depth in spec.students.depths:
        student_model(depth)
    runs: dict[str, RunNode] = {}
    caches: dict[str, CacheNode] = {}
    multi_seed = len(spec.seeds) > 1
    for seed in spec.seeds:
        suffix = f"-s{seed}" if multi_seed else ""
        teachers = (
            _teachers(spec, seed, suffix, fingerprint)
            if hf_ref is None
            else _hf_teacher(spec, seed, suffix, fingerprint, hf_ref)
        )
        for t in teachers.values():
            runs.setdefault(t.run_id, t)
        chosen = _chosen_teachers(spec, teachers, suffix)
        student_cache_tokens: dict[str, int] = {}
        pending: list[tuple[RunNode, int, int, str]] = []
        s = spec.students
        per = "m" if s.tokens_per_param else "D"
        values: list[float] = list(s.tokens_per_param) or [float(v) for v in s.tokens]
        grid = _grid(
            s.depths, values, s.isoflop, spec, "students", per, lambda d: student_model(d)[0]
        )
        for depth, d_s, tag, key in grid:
            shape, hf_config = student_model(depth)
            d_s_int = _whole_steps(d_s, spec, key)
            for teacher in chosen:
                pending.append((teacher, depth, d_s_int, f"d{depth}-{tag}<{teacher.label}"))
                student_cache_tokens[teacher.run_id] = max(
                    student_cache_tokens.get(teacher.run_id, 0), d_s_int
                )
            for node in _baselines(
                spec, seed, depth, (shape, hf_config), d_s_int, tag, chosen, suffix, key,
                fingerprint,
            ):  # fmt: skip
                runs.setdefault(node.run_id, node)
        if spec.distillation.cache == "topk":
            for teacher in chosen:
                if teacher.run_id in student_cache_tokens:
                    c = _cache(spec, teacher, student_cache_tokens[teacher.run_id], reuse)
                    caches.setdefault(c.cache_id, c)
        for teacher, depth, d_s_int, label in pending:
            cache = None
            if spec.distillation.cache == "topk":
                cache = _cache(spec, teacher, student_cache_tokens[teacher.run_id], reuse)
            node = _student(
                spec, seed, student_model(depth), d_s_int, teacher, cache, label, fingerprint
            )
            runs.setdefault(node.run_id, node)
    if spec.training.branches:  # teachers were branched above, before students named them
        others = branch_runs([r for r in runs.values() if r.kind != "teacher"])
        runs = {r.run_id: r for r in runs.values() if r.kind == "teacher"}
        runs.update((r.run_id, r) for r in others)
    ordered = sorted(  # dependencies first: a cooldown branch after its trunk
        runs.values(),
        key=lambda r: (("teacher", "student", "baseline").index(r.kind), r.trunk_run is not None),
    )
    return StudyGraph(runs=tuple(ordered), caches=tuple(caches.values()))


def _teachers(spec: StudySpec, seed: int, suffix: str, fingerprint: str) -> dict[str, RunNode]:
    t = spec.teachers
    out: dict[str, RunNode] = {}
    for depth, tokens, tag, key in _grid(
        t.depths, list(t.tokens_per_param), t.isoflop, spec, "teachers", "m"
    ):
        base = _base_config(spec, seed, fingerprint, depth)
        shape = _shape(spec, depth)
        d = _whole_steps(tokens, spec, key)
        config = RunConfig(kind="teacher", shape=shape, tokens=d, **base)  # type: ignore[arg-type]
        label = f"d{depth}-{tag}{suffix}"
        out[label] = _node(
            config, label, depth, FlopsLedger(teacher_training=training_flops(shape, d))
        )
    if spec.training.branches:
        branched = {n.label: n for n in branch_runs(list(out.values()))}
        out = {label: branched[label] for label in out}
    return out


#: Tokenizer-file digests of ``hf:`` tokenizers, by source, for one :func:`build_graph` call.
_TOKENIZER_DIGESTS: dict[str, str] = {}


def _with_hf_teacher(spec: StudySpec, ref: TeacherRef) -> StudySpec:
    """The spec with the HF teacher's tokenizer and vocabulary for the data (not re-validated)."""
    if ref.shape.seq_len < spec.data.seq_len:
        raise InputError(
            f"data.seq_len: {spec.data.seq_len} tokens exceeds the context of teachers.hf "
            f"({ref.shape.seq_len}); use data.seq_len <= {ref.shape.seq_len}"
        )
    data = spec.data.model_copy(
        update={"tokenizer": ref.checkpoint, "vocab_size": ref.shape.vocab_size}
    )
    return spec.model_copy(update={"data": data})


def _student_models(
    spec: StudySpec, hf_ref: TeacherRef | None
) -> Callable[[int], tuple[TransformerShape, dict[str, Any] | None]]:
    """``depth -> (shape, hf_config)`` of the students (and baselines); cached per depth.

    The GPT family's shape and None, or with ``students.hf_config`` the scaled transformers
    config and its shape (context ``data.seq_len``). Its vocabulary must be the teacher's
    (``teachers.hf``) or else the data's: the config directory's own tokenizer if it holds
    one, the data's tokenizer otherwise.

    Raises
    ------
    InputError
        An unreadable or unsupported config, a depth it cannot take, or another vocabulary,
        naming the key and the file.
    """
    source = spec.students.hf_config
    if source is None:
        return lambda depth: (_shape(spec, depth), None)
    path, base = read_student_config(source)
    where = f"students.hf_config ({path})"
    vocab = base.get("vocab_size")
    own_tokenizer = student_tokenizer(source)
    if hf_ref is not None:
        if vocab != hf_ref.shape.vocab_size:
            raise InputError(
                f"{where}: vocab_size {vocab} is not the teacher's {hf_ref.shape.vocab_size} "
                f"(teachers.hf {hf_ref.checkpoint.removeprefix('hf:')}); a student shares its "
                f"teacher's vocabulary: set vocab_size {hf_ref.shape.vocab_size} in {path.name}"
            )
    elif own_tokenizer is not None:
        if spec.data.tokenizer != "byte" or spec.data.vocab_size is not None:
            raise InputError(
                f"data.tokenizer/data.vocab_size: {where} brings its own tokenizer "
                f"({path.parent.name}/tokenizer files) and vocabulary; leave both out"
            )
    elif vocab != spec.data.vocab:
        raise InputError(
            f"{where}: vocab_size {vocab} is not the data's {spec.data.vocab} (data.tokenizer "
            f"{spec.data.tokenizer!r}); set vocab_size {spec.data.vocab} in {path.name}, or "
            "data.tokenizer/data.vocab_size to match it"
        )
    cache: dict[int, tuple[TransformerShape, dict[str, Any] | None]] = {}

    def model(depth: int) -> tuple[TransformerShape, dict[str, Any] | None]:
        if depth not in cache:
            cache[depth] = hf_student(base, depth, spec.data.seq_len, source=where)
        return cache[depth]

    return model


def _with_student_tokenizer(spec: StudySpec) -> StudySpec:
    """The spec with the tokenizer of ``students.hf_config``'s directory, when it has one."""
    assert spec.students.hf_config is not None
    tokenizer = student_tokenizer(spec.students.hf_config)
    if tokenizer is None:
        return spec
    _, base = read_student_config(spec.students.hf_config)
    data = spec.data.model_copy(
        update={"tokenizer": tokenizer, "vocab_size": int(base["vocab_size"])}
    )
    return spec.model_copy(update={"data": data})


def _hf_teacher(
    spec: StudySpec, seed: int, suffix: str, fingerprint: str, ref: TeacherRef
) -> dict[str, RunNode]:
    """The one pretrained teacher: a run that evaluates it on the study's data (no training)."""
    shape = dataclasses.replace(ref.shape, seq_len=spec.data.seq_len)
    # It trains nothing, so its learning rate is only part of its id: its own depth's entry of
    # a per-depth map when there is one, else the map's smallest depth.
    lr = spec.training.lr
    lr_depth = shape.n_layers if not isinstance(lr, dict) or shape.n_layers in lr else min(lr)
    base = _base_config(spec, seed, fingerprint, lr_depth)
    config = RunConfig(
        kind="teacher",
        shape=shape,
        tokens=spec.training.batch_size * spec.data.seq_len,
        pretrained=ref,
        **base,  # type: ignore[arg-type]
    )
    label = f"hf{suffix}"
    return {label: _node(config, label, shape.n_layers, FlopsLedger())}


def _chosen_teachers(spec: StudySpec, teachers: dict[str, RunNode], suffix: str) -> list[RunNode]:
    wanted = spec.students.teachers
    if wanted == "all":
        return list(teachers.values())
    chosen = []
    for i, name in enumerate(wanted):
        node = teachers.get(name + suffix) or teachers.get(name)
        if node is None:
            names = sorted(n.removesuffix(suffix) for n in teachers)
            raise InputError(
                f"students.teachers[{i}]: {name!r} is not a teacher of this study; teachers are "
                f"{', '.join(names)} (or use 'all')"
            )
        chosen.append(node)
    return chosen


def _cache(spec: StudySpec, teacher: RunNode, tokens: int, reuse: CacheReuse | None) -> CacheNode:
    d = spec.distillation
    done = sorted(
        (t, c) for c, t in (reuse or {}).get((teacher.run_id, d.top_k), ()) if t >= tokens
    )
    if done:
        tokens, cache_id = done[0]
    else:
        key = json.dumps(
            {"teacher": teacher.run_id, "top_k": d.top_k, "tokens": tokens}, sort_keys=True
        )
        cache_id = hashlib.sha256(key.encode()).hexdigest()[:16]
    return CacheNode(
        cache_id=cache_id,
        teacher_run=teacher.run_id,
        path=f"caches/{cache_id}.logits",
        tokens=tokens,
        top_k=d.top_k,
        ledger=FlopsLedger(logit_cache=logit_cache_flops(teacher.config.shape, tokens)),
    )


def _student(
    spec: StudySpec,
    seed: int,
    model: tuple[TransformerShape, dict[str, Any] | None],
    tokens: int,
    teacher: RunNode,
    cache: CacheNode | None,
    label: str,
    fingerprint: str,
) -> RunNode:
    d = spec.distillation
    shape, hf_config = model
    depth = shape.n_layers
    kd = KDConfig(
        loss=d.loss,
        temperature=d.temperature,
        weight=d.weight,
        top_k=d.top_k if cache is not None else None,
        top_k_mode=d.top_k_mode,
    )
    pretrained = teacher.config.pretrained
    ref = TeacherRef(
        checkpoint=f"runs/{teacher.run_id}/{TEACHER_CHECKPOINT}"
        if pretrained is None
        else pretrained.checkpoint,
        shape=teacher.config.shape,
        run_id=teacher.run_id,
        tokens=teacher.tokens,
    )
    config = RunConfig(
        kind="student",
        shape=shape,
        hf_config=hf_config,
        tokens=tokens,
        teacher=ref,
        teacher_cache=cache.path if cache is not None else None,
        kd=kd,
        **_base_config(spec, seed, fingerprint, depth),  # type: ignore[arg-type]
    )
    online = 0.0 if cache is not None else teacher_inference_flops(teacher.config.shape, tokens)
    return _node(
        config,
        label,
        depth,
        FlopsLedger(student_training=training_flops(shape, tokens), teacher_inference=online),
        teacher_run=teacher.run_id,
        cache_id=cache.cache_id if cache is not None else None,
    )


def _baselines(
    spec: StudySpec,
    seed: int,
    depth: int,
    model: tuple[TransformerShape, dict[str, Any] | None],
    d_s: int,
    tag: str,
    teachers: list[RunNode],
    suffix: str,
    key: str,
    fingerprint: str,
) -> list[RunNode]:
    """Supervised baselines of one student model and token budget (see BaselineSpec)."""
    b = spec.baselines
    shape, hf_config = model
    if not b.enabled:
        return []
    targets: list[tuple[float, str]] = []
    if b.match == "tokens" or b.scenario == "teacher-free":
        targets.append((float(d_s), f"d{depth}-{tag}{suffix}"))
    else:
        # Busbridge et al. Eq. 9 with delta_Lgt = 1: 3 F_S D_B = 3 F_S D_S + F_T D_S
        f_s = forward_flops_per_token(shape)
        for t in teachers:
            f_t = forward_flops_per_token(t.config.shape)
            tokens = d_s * (3.0 * f_s + f_t) / (3.0 * f_s)
            targets.append((tokens, f"d{depth}-{tag}={t.label}"))
    out = []
    for tokens, label in targets:
        d = _whole_steps(tokens, spec, key)
        base = _base_config(spec, seed, fingerprint, depth)
        config = RunConfig(
            kind="baseline",
            shape=shape,
            hf_config=hf_config,
            tokens=d,
            **base,  # type: ignore[arg-type]
        )
        out.append(
            _node(config, label, depth, FlopsLedger(supervised_training=training_flops(shape, d)))
        )
    return out


def _scaled(ledger: FlopsLedger, factor: float) -> FlopsLedger:
    """Every phase of ``ledger`` times ``factor``."""
    return FlopsLedger(
        **{f.name: getattr(ledger, f.name) * factor for f in dataclasses.fields(ledger)}
    )


def branch_runs(nodes: list[RunNode]) -> list[RunNode]:
    """Turn runs that differ only in token budget into one trunk and its cooldown branches.

    Runs of one kind, shape, seed, learning rate, data and teacher (every config field but
    ``tokens``) form a group; its longest run is the trunk. Every run is given the trunk's
    warm-up in absolute steps, so that all have the same learning rate until the shorter run's
    WSD decay starts at step ``s``; the trunk saves a snapshot there (``snapshot_steps``), and the
    shorter run starts from it (``init_from``) and depends on the trunk. A shorter run whose
    schedule cannot match the trunk's (its decay would start at step 0) stays a run of its own.
    Run order is kept; only WSD runs (``schedule: wsd``) are grouped.
    """
    groups: dict[str, list[RunNode]] = {}
    for node in nodes:
        if node.config.schedule != "wsd" or node.config.pretrained is not None:
            continue
        key = node.config.to_dict()
        del key["tokens"]
        groups.setdefault(json.dumps(key, sort_keys=True), []).append(node)
    replaced: dict[str, RunNode] = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        trunk = max(group, key=lambda n: n.tokens)
        w = warmup_of(trunk.config)
        base = dataclasses.replace(trunk.config, warmup_steps=float(w) if w >= 1 else 0.0)
        plans: list[tuple[RunNode, RunConfig, int]] = []
        for node in group:
            if node is trunk or node.tokens == trunk.tokens:
                continue
            config = dataclasses.replace(node.config, warmup_steps=base.warmup_steps)
            s = decay_start(config)
            if s >= 1 and branch_mismatch(base, config, s) is None:
                plans.append((node, config, s))
        if not plans:
            continue
        steps = tuple(sorted({s for _, _, s in plans}))
        trunk_config = dataclasses.replace(base, snapshot_steps=steps)
        trunk_id = trunk_config.run_id()
        replaced[trunk.run_id] = dataclasses.replace(trunk, run_id=trunk_id, config=trunk_config)
        for node, config, s in plans:
            snapshot = f"runs/{trunk_id}/{snapshot_name(s)}"
            config = dataclasses.replace(config, init_from={"path": snapshot, "step": s})
            shared = _scaled(node.ledger, s * config.tokens_per_step / config.tokens)
            replaced[node.run_id] = dataclasses.replace(
                node,
                run_id=config.run_id(),
                config=config,
                ledger=_scaled(node.ledger, 1.0 - s * config.tokens_per_step / config.tokens),
                trunk_run=trunk_id,
                shared=shared,
            )
    return [replaced.get(n.run_id, n) for n in nodes]
