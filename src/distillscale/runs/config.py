"""Run configuration: the frozen records that describe one training run completely.

A :class:`RunConfig` holds everything that decides a run's result (shape, tokens, optimiser,
data, teacher, distillation loss); its canonical JSON hashes to the run id. This module imports
no torch, so the study planner can expand and hash runs without it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from distillscale.errors import InputError
from distillscale.runs.kinds import TABLE_KINDS

if TYPE_CHECKING:
    from distillscale.flops import TransformerShape

__all__ = [
    "KD_LOSSES",
    "DataConfig",
    "KDConfig",
    "RunConfig",
    "TeacherRef",
    "decay_start",
    "family_config",
    "lr_at",
    "snapshot_name",
    "shape_from_dict",
    "shape_to_dict",
]

#: Distillation divergences (docs/references.md: KD losses): name -> short definition, p teacher, q
# student.
KD_LOSSES: dict[str, str] = {
    "forward-kl": "KL(p || q)",
    "reverse-kl": "KL(q || p)",
    "skew-forward-kl": "KL(p || s p + (1 - s) q)",
    "skew-reverse-kl": "KL(q || (1 - s) p + s q)",
    "js": "b KL(p || m) + (1 - b) KL(q || m), m = b p + (1 - b) q",
    "tv": "0.5 sum |p - q|",
}
TOP_K_MODES = ("renormalize", "bucket")
RUN_KINDS = TABLE_KINDS  # every kind that trains a model (distillscale.runs.RunKind)
SCHEDULES = ("cosine", "wsd")
DEVICES = ("auto", "cpu", "cuda")
TOKENIZERS = ("byte", "bpe")


#: Largest seed (torch and numpy take seeds up to 2**63 - 1, a signed 64-bit integer).
MAX_SEED = 2**63 - 1


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise InputError(message)


@dataclass(frozen=True, slots=True, kw_only=True)
class DataConfig:
    """Where training tokens come from and how text becomes tokens.

    Parameters
    ----------
    corpus : str
        ``"stdlib"`` (the running interpreter's standard-library ``.py`` files), a text file, a
        folder of text files (read recursively), a pre-tokenised ``.npy`` (any unsigned dtype)
        or ``.bin`` (uint16, nanoGPT layout) token file, memory-mapped, or ``"dataset:SOURCE"``
        (a Hugging Face ``datasets`` dataset: local files, a ``save_to_disk`` folder or a hub
        id; one document per row of ``text_column``).
    tokenizer : str
        ``"byte"`` (vocabulary 256, the default), ``"bpe"`` (trained with HF ``tokenizers`` on
        the training documents, cached on disk by content hash) or ``"hf:DIR"`` (the tokenizer
        of a transformers model directory, :mod:`distillscale.train.hf`). Ignored for token
        files.
    vocab_size : int or None
        Vocabulary size (tokens) for ``bpe`` (default 4096), ``hf:`` (default: the tokenizer's
        size; a teacher's may be larger) and token files (default: the largest token + 1).
        Must be None or 256 for ``byte``.
    val_fraction : float
        Fraction of documents held out for validation, chosen by a hash of each document's
        relative path (token files: the last fraction of tokens).
    max_corpus_bytes : int or None
        Read documents in path order until this many bytes (speed cap); None reads all.
    seed : int
        Seed of the training-sequence stream (sequence ``j`` starts at a position that is a pure
        function of ``seed`` and ``j``).
    fingerprint : str or None
        Content fingerprint of the corpus (SHA-256 hex,
        :func:`distillscale.train.corpus_id.corpus_fingerprint`), set by the study planner. When
        set, the run's identity uses it instead of the ``corpus`` path, and loading a corpus
        whose bytes no longer match it is refused. None: identity by path (lone runs).
    token_dtype : str
        Integer type of raw ``.bin`` token files: ``"uint8"``, ``"uint16"`` (nanoGPT's, the
        default) or ``"uint32"`` (``.npy`` files carry their own).
    text_column : str
        For a ``dataset:SOURCE`` corpus (:mod:`distillscale.train.corpora`), the column that
        holds each row's text.
    tokenizer_sha256 : str or None
        For an ``hf:DIR`` tokenizer, the SHA-256 of its tokenizer files
        (:func:`distillscale.train.hf_config.tokenizer_files_digest`), set by the study planner
        and ``distillscale train``: the run's identity uses it instead of the directory, and
        loading data with a tokenizer whose files changed is refused.
    """

    corpus: str = "stdlib"
    tokenizer: str = "byte"
    vocab_size: int | None = None
    val_fraction: float = 0.05
    max_corpus_bytes: int | None = 8_000_000
    seed: int = 0
    fingerprint: str | None = None
    tokenizer_sha256: str | None = None
    text_column: str = "text"
    token_dtype: str = "uint16"

    def __post_init__(self) -> None:
        _check(
            self.token_dtype in ("uint8", "uint16", "uint32"),
            f"data.token_dtype: {self.token_dtype!r} is not one of uint8, uint16, uint32",
        )
        _check(
            self.tokenizer in TOKENIZERS or self.tokenizer.startswith("hf:"),
            f"data.tokenizer: {self.tokenizer!r} is not a tokenizer; use one of {TOKENIZERS} "
            "or hf:DIR (a Hugging Face model's tokenizer)",
        )
        _check(
            self.tokenizer != "byte" or self.vocab_size in (None, 256),
            f"data.vocab_size: {self.vocab_size} with the byte tokenizer; bytes have 256 tokens "
            "(leave vocab_size unset or choose tokenizer 'bpe')",
        )
        _check(
            self.vocab_size is None or 2 <= self.vocab_size <= 2**32,
            f"data.vocab_size: {self.vocab_size} is outside [2, 2**32]",
        )
        _check(
            0.0 < self.val_fraction < 1.0,
            f"data.val_fraction: {self.val_fraction} is not in (0, 1); use e.g. 0.05",
        )
        _check(
            self.max_corpus_bytes is None or self.max_corpus_bytes > 0,
            f"data.max_corpus_bytes: {self.max_corpus_bytes} is not positive (None reads all)",
        )
        _check(
            0 <= self.seed <= MAX_SEED,
            f"data.seed: {self.seed} is not a seed in 0..{MAX_SEED} (2**63 - 1)",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class KDConfig:
    """Distillation loss: ``(1 - weight) * NTP + weight * tau^2 * D(p_tau, q_tau)``.

    Defaults follow Busbridge et al. 2025 (docs/references.md: Busbridge): pure distillation
    (``weight = 1``),
    ``temperature = 1``, forward KL, full teacher logits.

    Parameters
    ----------
    loss : str
        Divergence, one of :data:`KD_LOSSES`.
    temperature : float
        tau > 0, dividing teacher and student logits.
    tau2_scaling : bool
        Multiply the divergence by tau^2 (Hinton et al. 2015; docs/references.md: KD losses).
    weight : float
        lambda in [0, 1], the weight of the distillation term.
    skew : float
        s in (0, 1) of the skew divergences (DistiLLM default 0.1).
    js_beta : float
        b in (0, 1) of the generalised Jensen-Shannon divergence (0.5 is symmetric JS).
    top_k : int or None
        Keep only the teacher's k most likely tokens; None uses full logits.
    top_k_mode : str
        ``"renormalize"``: the teacher is renormalised over its kept set and the student keeps
        its full distribution (docs/references.md: KD losses, renormalisation unverified; reverse
        KL is then
        infinite and refused). ``"bucket"``: both distributions are reduced to the k kept tokens
        plus one bucket holding the remaining mass.
    """

    loss: str = "forward-kl"
    temperature: float = 1.0
    tau2_scaling: bool = True
    weight: float = 1.0
    skew: float = 0.1
    js_beta: float = 0.5
    top_k: int | None = None
    top_k_mode: str = "renormalize"

    def __post_init__(self) -> None:
        _check(
            self.loss in KD_LOSSES,
            f"kd.loss: {self.loss!r} is not a distillation loss; use one of {list(KD_LOSSES)}",
        )
        _check(
            math.isfinite(self.temperature) and self.temperature > 0,
            f"kd.temperature: {self.temperature} is not a positive number; use e.g. 1.0",
        )
        _check(0.0 <= self.weight <= 1.0, f"kd.weight: {self.weight} is not in [0, 1]")
        _check(0.0 < self.skew < 1.0, f"kd.skew: {self.skew} is not in (0, 1); use e.g. 0.1")
        _check(0.0 < self.js_beta < 1.0, f"kd.js_beta: {self.js_beta} is not in (0, 1)")
        _check(
            self.top_k is None or self.top_k >= 1,
            f"kd.top_k: {self.top_k} is not a positive number of tokens (None keeps all)",
        )
        _check(
            self.top_k_mode in TOP_K_MODES,
            f"kd.top_k_mode: {self.top_k_mode!r} is not one of {TOP_K_MODES}",
        )
        _check(
            not (
                self.loss == "reverse-kl"
                and self.top_k is not None
                and self.top_k_mode == "renormalize"
            ),
            "kd: reverse-kl with top_k and top_k_mode 'renormalize' is infinite (the student puts "
            "mass where the truncated teacher has none); use top_k_mode 'bucket' or top_k None",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TeacherRef:
    """A frozen teacher: its checkpoint and what it is.

    Parameters
    ----------
    checkpoint : str
        Path of the teacher's ``checkpoint.pt`` (or final ``model.pt``) written by the trainer.
    shape : TransformerShape
        The teacher's architecture.
    run_id : str
        The teacher's run id (16 hex digits), recorded with the student.
    loss : float or None
        The teacher's held-out loss, nats per token (``teacher_loss`` in the run table).
    tokens : int or None
        Tokens the teacher was trained on (``teacher_tokens``).
    """

    checkpoint: str
    shape: TransformerShape
    run_id: str
    loss: float | None = None
    tokens: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (the shape as a dict)."""
        return {
            "checkpoint": self.checkpoint,
            "shape": shape_to_dict(self.shape),
            "run_id": self.run_id,
            "loss": self.loss,
            "tokens": self.tokens,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TeacherRef:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["shape"] = shape_from_dict(values["shape"])
        return cls(**values)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunConfig:
    """One training run, completely; its canonical JSON hashes to :meth:`run_id`.

    Parameters
    ----------
    kind : str
        ``"teacher"``, ``"student"`` (distilled), ``"baseline"`` (supervised, compute-matched)
        or ``"single"``.
    shape : TransformerShape
        Architecture (``flops.TransformerShape``); ``seq_len`` is the training context.
    tokens : int
        Training tokens D (count), rounded up to whole steps of ``batch_size * seq_len``.
    batch_size : int
        Global batch, sequences per optimiser step.
    lr : float
        Peak learning rate (AdamW).
    warmup_steps : float
        Linear warm-up length: values >= 1 are optimiser steps, values in [0, 1) a fraction of
        the run's steps.
    schedule : str
        ``"cosine"`` (decay to ``min_lr_ratio * lr`` at the last step) or ``"wsd"``
        (warm-up, stable, then linear decay over the last ``decay_fraction`` of steps).
    min_lr_ratio : float
        Final learning rate as a fraction of ``lr``.
    decay_fraction : float
        WSD only: fraction of steps in the final decay.
    weight_decay : float
        AdamW decoupled weight decay, applied to matrices only (not norms).
    grad_clip : float
        Clip the global gradient norm to this value; 0 disables.
    seed : int
        Seed of the weight initialisation.
    data : DataConfig
        Corpus and tokenizer; its ``seed`` orders the training sequences.
    teacher : TeacherRef or None
        Frozen teacher for distillation (``kind="student"``).
    teacher_cache : str or None
        Path of a teacher-logit cache (:func:`distillscale.train.build_logit_cache`) read
        instead of running the teacher.
    kd : KDConfig or None
        Distillation loss; required with a teacher.
    eval_every : int
        Validation every this many steps (0: only at the end).
    eval_tokens : int
        Held-out tokens per validation (count).
    checkpoint_every : int
        Write ``checkpoint.pt`` every this many steps (0: only at the end).
    device : str
        ``"auto"`` (cuda if available), ``"cpu"`` or ``"cuda"``.
    compile : bool
        Wrap the model in ``torch.compile``.
    peak_flops : float or None
        The device's peak FLOP/s for model FLOPs utilisation; None reports no MFU.
    nproc : int
        Data-parallel processes (torch.distributed); 1 trains in this process.
    pretrained : TeacherRef or None
        A pretrained model (a Hugging Face teacher, ``checkpoint = "hf:DIR"``) that this
        teacher run imports instead of training: the run evaluates its held-out loss on
        ``data`` and trains nothing (``tokens`` is then one step, never trained).
    snapshot_steps : tuple of int
        Optimiser steps after which the run also saves a copy of its checkpoint as
        ``snapshot-<step>.pt`` in its workdir (the trunk of WSD cooldown branches); empty: none.
    init_from : dict or None
        ``{"path": str, "step": int}``: start from that snapshot of another run (model,
        optimiser, step, curve so far) instead of step 0. The snapshot's run must have had the
        same learning rate at every earlier step (a WSD trunk before this run's decay), so the
        result equals training this run from scratch. None: start from step 0.
    hf_config : dict or None
        A transformers config (the content of a GPT-2 or Llama ``config.json``, scaled to this
        run's depth by :func:`distillscale.train.hf_config.hf_student`): the model is
        ``AutoModelForCausalLM.from_config`` of it, randomly initialised under ``seed``, and
        ``shape`` is its accountant's shape (context ``seq_len``). Its content is part of the
        run id. None: distillscale's own GPT of ``shape``.
    """

    kind: str = "single"
    shape: TransformerShape
    tokens: int
    batch_size: int = 16
    lr: float = 3e-3
    warmup_steps: float = 0.05
    schedule: str = "cosine"
    min_lr_ratio: float = 0.1
    decay_fraction: float = 0.2
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    teacher: TeacherRef | None = None
    teacher_cache: str | None = None
    kd: KDConfig | None = None
    eval_every: int = 0
    eval_tokens: int = 65_536
    checkpoint_every: int = 0
    device: str = "auto"
    compile: bool = False
    peak_flops: float | None = None
    nproc: int = 1
    pretrained: TeacherRef | None = None
    snapshot_steps: tuple[int, ...] = ()
    init_from: dict[str, Any] | None = None
    hf_config: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "snapshot_steps", tuple(self.snapshot_steps))  # JSON gives lists
        _check(
            all(isinstance(k, int) and 1 <= k < self.steps for k in self.snapshot_steps),
            f"snapshot_steps: {list(self.snapshot_steps)} must be steps in 1..{self.steps - 1} "
            "(the run's own steps, before its last)",
        )
        init = self.init_from
        _check(
            init is None
            or (
                set(init) == {"path", "step"}
                and isinstance(init["path"], str)
                and isinstance(init["step"], int)
                and 1 <= init["step"] < self.steps
            ),
            f"init_from: {init!r} is not {{'path': snapshot file, 'step': 1..{self.steps - 1}}}",
        )
        _check(
            self.hf_config is None
            or (
                isinstance(self.hf_config, dict)
                and isinstance(self.hf_config.get("model_type"), str)
            ),
            "hf_config: not a transformers config (a mapping with a model_type)",
        )
        _check(
            self.hf_config is None or self.pretrained is None,
            "hf_config: a pretrained model is evaluated, not built from a config; give one of them",
        )
        _check(
            self.pretrained is None or (self.kind == "teacher" and self.kd is None),
            "pretrained: only a teacher run without a teacher of its own can be a pretrained model",
        )
        _check(self.kind in RUN_KINDS, f"kind: {self.kind!r} is not one of {RUN_KINDS}")
        _check(self.tokens >= 1, f"tokens: {self.tokens} is not a positive count of tokens")
        _check(self.batch_size >= 1, f"batch_size: {self.batch_size} is not positive")
        _check(math.isfinite(self.lr) and self.lr > 0, f"lr: {self.lr} is not a positive number")
        _check(
            math.isfinite(self.warmup_steps) and self.warmup_steps >= 0,
            f"warmup_steps: {self.warmup_steps} is not a finite number >= 0 (steps, or a "
            "fraction of the steps below 1)",
        )
        _check(0 <= self.seed <= MAX_SEED, f"seed: {self.seed} is not a seed in 0..{MAX_SEED}")
        _check(self.schedule in SCHEDULES, f"schedule: {self.schedule!r} is not in {SCHEDULES}")
        _check(0.0 <= self.min_lr_ratio <= 1.0, f"min_lr_ratio: {self.min_lr_ratio} not in [0,1]")
        _check(
            0.0 < self.decay_fraction <= 1.0, f"decay_fraction: {self.decay_fraction} not in (0,1]"
        )
        _check(
            math.isfinite(self.weight_decay) and self.weight_decay >= 0,
            f"weight_decay: {self.weight_decay} is not a finite number >= 0",
        )
        _check(
            math.isfinite(self.grad_clip) and self.grad_clip >= 0,
            f"grad_clip: {self.grad_clip} is not a finite number >= 0 (0 disables)",
        )
        _check(self.eval_every >= 0, f"eval_every: {self.eval_every} is negative")
        _check(self.eval_tokens >= 1, f"eval_tokens: {self.eval_tokens} is not positive")
        _check(self.checkpoint_every >= 0, f"checkpoint_every: {self.checkpoint_every} < 0")
        _check(self.device in DEVICES, f"device: {self.device!r} is not one of {DEVICES}")
        _check(self.nproc >= 1, f"nproc: {self.nproc} is not a positive number of processes")
        _check(
            self.batch_size % self.nproc == 0,
            f"batch_size: {self.batch_size} sequences do not split over nproc={self.nproc} "
            "processes; choose a multiple of nproc",
        )
        _check(
            self.peak_flops is None or (math.isfinite(self.peak_flops) and self.peak_flops > 0),
            f"peak_flops: {self.peak_flops} is not a positive finite FLOP/s",
        )
        distills = self.teacher is not None or self.teacher_cache is not None
        _check(
            not distills or self.kd is not None,
            "kd: a teacher or teacher_cache is given without a distillation loss; set kd "
            "(e.g. KDConfig())",
        )
        _check(
            self.kd is None or distills,
            "kd: a distillation loss is given without a teacher; set teacher or teacher_cache",
        )
        _check(
            self.kd is None or self.kd.top_k is None or self.kd.top_k <= self.shape.vocab_size,
            f"kd.top_k: {self.kd.top_k if self.kd else None} exceeds the vocabulary "
            f"({self.shape.vocab_size} tokens); use at most {self.shape.vocab_size}, or none",
        )

    @property
    def tokens_per_step(self) -> int:
        """Tokens per optimiser step (count): ``batch_size * seq_len``."""
        return self.batch_size * self.shape.seq_len

    @property
    def steps(self) -> int:
        """Optimiser steps: ``ceil(tokens / tokens_per_step)``."""
        return max(1, -(-self.tokens // self.tokens_per_step))

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, nested dicts for shape, data, teacher and kd."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "shape":
                value = shape_to_dict(value)
            elif f.name in ("teacher", "pretrained"):
                value = None if value is None else value.to_dict()
            elif f.name in ("data", "kd"):
                value = None if value is None else dataclasses.asdict(value)
            elif f.name == "snapshot_steps":
                value = list(value)
            elif f.name in ("init_from", "hf_config"):
                value = None if value is None else dict(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`InputError`."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        _check(not unknown, f"run config: unknown keys {unknown}; allowed are {sorted(names)}")
        values = dict(data)
        values["shape"] = shape_from_dict(values["shape"])
        if values.get("data") is not None:
            values["data"] = DataConfig(**values["data"])
        if values.get("kd") is not None:
            values["kd"] = KDConfig(**values["kd"])
        for key in ("teacher", "pretrained"):
            if values.get(key) is not None:
                values[key] = TeacherRef.from_dict(values[key])
        return cls(**values)

    def canonical_json(self) -> str:
        """Sorted-key, compact JSON of :meth:`to_dict` (the complete config, locations included)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def identity(self) -> dict[str, Any]:
        """:meth:`to_dict` less the fields that say where inputs lie, not what they are.

        * ``data.corpus`` is dropped when ``data.fingerprint`` is set: the content fingerprint
          identifies the corpus, wherever it lies (the path stays in the config). An unset
          fingerprint is dropped instead, so lone runs keep the ids of distillscale 0.1.0.
        * Hugging Face inputs count by content: ``pretrained`` becomes its digest, an ``hf:``
          tokenizer with ``tokenizer_sha256`` becomes ``"hf"`` and an ``hf:`` teacher's
          directory becomes ``"hf"`` (its ``run_id`` is the digest of its files).
        * ``hf_config`` (a model built from a transformers config) counts by its whole content;
          unset, it is dropped.
        * ``teacher_cache`` becomes ``true`` when a ``teacher`` is given: the cache holds that
          teacher's top-k log-probabilities on this run's data stream, all fields of this
          config, and the trainer checks its header against them; which file holds them (a
          cache covering more tokens serves as well) does not change the run.
        """
        out = self.to_dict()
        if self.data.fingerprint is not None:
            del out["data"]["corpus"]
        else:  # a lone run's id is what it was before fingerprints existed
            del out["data"]["fingerprint"]
        if self.teacher_cache is not None and self.teacher is not None:
            out["teacher_cache"] = True
        # Hugging Face models and tokenizers by content (their digests), not their directories;
        # unset, the keys are dropped so that the ids of other runs do not change
        if self.pretrained is None:
            del out["pretrained"]
        else:
            out["pretrained"] = self.pretrained.run_id
        if self.data.token_dtype == "uint16":
            del out["data"]["token_dtype"]  # the default: ids of 0.2 unchanged
        if not self.data.corpus.startswith("dataset:"):
            del out["data"]["text_column"]  # only datasets have columns (ids of 0.2 unchanged)
        if not self.snapshot_steps:
            del out["snapshot_steps"]  # unset: ids of 0.2 unchanged
        if self.hf_config is None:
            del out["hf_config"]  # unset: ids of 0.2 unchanged; set, its whole content counts
        if self.init_from is None:
            del out["init_from"]
        else:  # where the snapshot lies does not change the run
            out["init_from"] = {"step": self.init_from["step"]}
        if self.data.tokenizer_sha256 is None:
            del out["data"]["tokenizer_sha256"]
        else:
            out["data"]["tokenizer"] = "hf"
        if self.teacher is not None and self.teacher.checkpoint.startswith("hf:"):
            out["teacher"]["checkpoint"] = "hf"
        return out

    def run_id(self) -> str:
        """First 16 hex digits of the SHA-256 of the sorted-key JSON of :meth:`identity`."""
        text = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def warmup_of(config: RunConfig) -> int:
    """Warm-up length in optimiser steps: ``warmup_steps`` if >= 1, else that fraction of steps."""
    w = config.warmup_steps
    return min(config.steps - 1, int(round(w * config.steps)) if w < 1 else int(w))


def decay_start(config: RunConfig) -> int:
    """First optimiser step (0-based) of a WSD run's final decay.

    The steps before it are warm-up and constant peak learning rate.
    """
    steps = config.steps
    return max(warmup_of(config), steps - max(1, int(round(config.decay_fraction * steps))))


def snapshot_name(step: int) -> str:
    """File name of a run's snapshot after ``step`` optimiser steps (inside its workdir)."""
    return f"snapshot-{step}.pt"


def lr_at(config: RunConfig, step: int) -> float:
    """Learning rate at optimiser step ``step`` (0-based).

    Linear warm-up from ``lr / warmup`` to ``lr`` over ``warmup`` steps; then ``cosine``:
    ``min + (lr - min) (1 + cos(pi t)) / 2`` with t from 0 to 1 at the last step; or ``wsd``:
    constant ``lr`` until the last ``decay_fraction`` of steps, then linear to ``min``
    (Hu et al. 2024, MiniCPM). ``min = min_lr_ratio * lr``.
    """
    steps = config.steps
    warmup = warmup_of(config)
    peak, low = config.lr, config.lr * config.min_lr_ratio
    if step < warmup:
        return peak * (step + 1) / (warmup + 1)
    if config.schedule == "cosine":
        t = (step - warmup) / max(1, steps - 1 - warmup)
        return low + (peak - low) * 0.5 * (1.0 + math.cos(math.pi * t))
    start = decay_start(config)
    if step < start:
        return peak
    t = (step - start + 1) / max(1, steps - start)
    return peak + (low - peak) * t


#: RunConfig fields that may differ between a snapshot's run and a run that starts from it
#: (the rest must be equal, and the learning rates of every earlier step).
BRANCH_FREE_FIELDS = (
    "tokens",
    "decay_fraction",
    "min_lr_ratio",
    "snapshot_steps",
    "init_from",
    "teacher_cache",
    "checkpoint_every",
    "device",
    "compile",
    "peak_flops",
    "nproc",
)


def branch_mismatch(trunk: RunConfig, branch: RunConfig, step: int) -> str | None:
    """Why ``branch`` cannot start from ``trunk``'s state after ``step`` steps, or None.

    It can when every field but :data:`BRANCH_FREE_FIELDS` is equal (shape, data, seed, batch,
    lr, warm-up, optimiser, teacher) and both had the same learning rate at steps ``0..step-1``.
    """
    a, b = trunk.identity(), branch.identity()
    for name in BRANCH_FREE_FIELDS:
        a.pop(name, None)
        b.pop(name, None)
    differ = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    if differ:
        return f"it differs in {', '.join(differ)}"
    if step > min(trunk.steps, branch.steps):
        return f"step {step} is past the end of a run"
    for k in range(step):
        if lr_at(trunk, k) != lr_at(branch, k):
            return (
                f"the learning rates differ at step {k} ({lr_at(trunk, k):.6g} vs "
                f"{lr_at(branch, k):.6g}); give both the same absolute warmup_steps and start "
                "at or before the decay of the shorter run"
            )
    return None


def shape_to_dict(shape: TransformerShape) -> dict[str, Any]:
    """A ``TransformerShape`` as a plain dict of its fields."""
    return dataclasses.asdict(shape)


def shape_from_dict(data: dict[str, Any]) -> TransformerShape:
    """Build a ``TransformerShape`` from :func:`shape_to_dict` output."""
    from distillscale.flops import TransformerShape

    return TransformerShape(**data)


def family_config(depth: int, *, tokens: int, **overrides: Any) -> RunConfig:
    """A run of the model family at ``depth`` layers (the one size dial).

    The shape comes from ``flops.family_shape(depth)`` (width and heads from a fixed aspect
    ratio); keyword arguments that name ``family_shape`` parameters go there, the rest to
    :class:`RunConfig`.

    Parameters
    ----------
    depth : int
        Number of transformer layers.
    tokens : int
        Training tokens (count).
    **overrides : Any
        ``family_shape`` keywords (e.g. ``vocab_size``, ``seq_len``) and ``RunConfig`` fields.
    """
    import inspect

    from distillscale.flops import family_shape

    shape_keys = set(inspect.signature(family_shape).parameters) - {"depth"}
    shape_kw = {k: v for k, v in overrides.items() if k in shape_keys}
    run_kw = {k: v for k, v in overrides.items() if k not in shape_keys}
    return RunConfig(shape=family_shape(depth, **shape_kw), tokens=tokens, **run_kw)


def batch_key(config: RunConfig) -> tuple[Any, ...] | None:
    """Runs with equal keys may train together (``train.batched``); None: this run trains alone.

    The key is the shape, the batch size, the data (corpus, tokenizer and split; the data
    seed may differ) and ``compile`` (compiled runs train together, compiled); data-parallel and
    GPU runs train alone, and so does a pretrained teacher (it is evaluated, not trained), a
    model built from a transformers config (``hf_config``: the batched trainer stacks
    distillscale's GPT only) and a run of cooldown branches (a trunk that writes snapshots, or a
    branch that starts from one). Torch-free, so the study scheduler can group runs without
    loading torch.
    """
    if config.nproc != 1 or config.device == "cuda" or config.pretrained:
        return None
    if config.hf_config is not None:
        return None
    if config.snapshot_steps or config.init_from is not None:
        return None
    data = dataclasses.replace(config.data, seed=0)
    return (config.shape, config.batch_size, data, config.compile)
