"""The study spec: one YAML document that describes a whole distillation study.

A study trains teachers, caches their top-k logits, distils students from them, trains
compute-matched supervised baselines, and fits and plans at the end. The spec is validated
with pydantic (``extra="forbid"``); every mistake raises :class:`~distillscale.errors.InputError`
naming the key path (``teachers.depths[1]``), what was found and what is allowed.

Units: tokens are counts (repeats included), compute is FLOPs (operations), throughput is
training FLOPs per second per worker, sizes are set by the model family's depth dial
(``d_model = aspect * depth``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from distillscale.errors import InputError

__all__ = [
    "BaselineSpec",
    "DataSpec",
    "DistillSpec",
    "ExecutorSpec",
    "FitSpec",
    "ModelSpec",
    "PlanSpec",
    "StudentSpec",
    "StudySpec",
    "TeacherSpec",
    "TrainingSpec",
    "load_spec",
]

#: Names from a spec become file names at most inside the study directory: a strict slug.
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

PosInt = Annotated[int, Field(ge=1)]
#: The depth dial (layers); 1 to 10,000.
Depth = Annotated[int, Field(ge=1, le=10_000)]
#: A token count, 1 to 1e18.
TokenCount = Annotated[int, Field(ge=1, le=10**18)]
PosFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
LearningRate = Annotated[float, Field(gt=0, le=1.0, allow_inf_nan=False)]


class _Strict(BaseModel):
    """Base of every spec section: unknown keys and non-finite numbers are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=False)


class DataSpec(_Strict):
    """Training data: corpus, tokenizer and held-out split.

    ``corpus`` is ``"stdlib"`` (the embedded default: the Python standard library's own source
    files, read from this interpreter), a UTF-8 text file, a directory of text files, or a
    pre-tokenised ``.npy``/``.bin`` token file (``.bin``: raw ``token_dtype`` integers) or a
    folder of such shards, or ``dataset:SOURCE`` (a Hugging Face
    ``datasets`` dataset: local files, a ``save_to_disk`` folder or a hub id; its
    ``text_column`` holds the documents); a relative path is relative to the spec file.
    ``val_fraction`` of the documents are held out for the reported loss; ``max_corpus_bytes``
    caps how much text is read (bytes).
    """

    corpus: str = "stdlib"
    tokenizer: Literal["byte", "bpe"] = "byte"
    vocab_size: Annotated[int, Field(ge=2, le=2**20)] | None = None
    seq_len: Annotated[int, Field(ge=8, le=65536)] = 128
    val_fraction: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.05
    max_corpus_bytes: Annotated[int, Field(ge=1024)] | None = 8_000_000
    text_column: Annotated[str, Field(min_length=1)] = "text"
    token_dtype: Literal["uint8", "uint16", "uint32"] = "uint16"

    @model_validator(mode="after")
    def _vocab(self) -> DataSpec:
        if self.tokenizer == "byte" and self.vocab_size not in (None, 256):
            raise ValueError(
                f"vocab_size {self.vocab_size} with the byte tokenizer: bytes have 256 tokens; "
                "leave vocab_size unset or use tokenizer: bpe"
            )
        return self

    @property
    def vocab(self) -> int:
        """Vocabulary size (tokens): 256 for bytes, ``vocab_size`` or 4096 for BPE."""
        if self.tokenizer == "byte":
            return 256
        return self.vocab_size or 4096


class ModelSpec(_Strict):
    """The model family (:func:`distillscale.flops.family_shape`): one size dial, ``depth``.

    ``n_layers = depth``; ``d_model = aspect * depth`` rounded to a multiple of ``head_dim``
    (Busbridge et al. keep d_model / n_layers = 128); ``ffn`` is ``gated`` (three matrices,
    width 8/3 d_model rounded up to a multiple of 128) or ``plain`` (4 d_model).
    """

    aspect: Annotated[int, Field(ge=8, le=1024)] = 64
    head_dim: Annotated[int, Field(ge=4, le=512)] = 32
    ffn: Literal["gated", "plain"] = "gated"


class IsoFlopSpec(_Strict):
    """IsoFLOP profiles: each depth gets the tokens that spend each training budget (FLOPs)."""

    budgets: Annotated[list[PosFloat], Field(min_length=1)]
    depths: Annotated[list[Depth], Field(min_length=1)]


class TeacherSpec(_Strict):
    """Teachers: ``depths`` x ``tokens_per_param`` (per non-embedding parameter), or ``isoflop``.

    Or ``hf``: one pretrained Hugging Face causal LM (a directory saved with
    ``save_pretrained``, relative to the spec file, or ``hf:ID`` from the hub), named ``hf``;
    it is evaluated on the held-out data, not trained, and its tokenizer tokenises the data.
    """

    depths: list[Depth] = Field(default_factory=list)
    tokens_per_param: list[PosFloat] = Field(default_factory=list)
    isoflop: IsoFlopSpec | None = None
    hf: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _one_grid(self) -> TeacherSpec:
        if self.hf is not None:
            if self.depths or self.tokens_per_param or self.isoflop is not None:
                raise ValueError("give hf (a pretrained teacher) or a grid of teachers, not both")
            return self
        _check_grid(self.depths, self.tokens_per_param, self.isoflop, "tokens_per_param")
        return self


class StudentSpec(_Strict):
    """Students: ``depths`` x distillation ``tokens`` (counts) or ``tokens_per_param``; or isoflop.

    ``teachers`` is ``"all"`` or a list of teacher names (``d<depth>-m<tokens_per_param>`` or
    ``d<depth>-c<budget>``, as ``--dry-run`` lists them).

    ``hf_config``: students (and their baselines) are transformers models instead of the GPT
    family: a GPT-2 or Llama ``config.json`` (a directory holding one, relative to the spec
    file, or the file) scaled to each depth by the same one dial
    (:func:`distillscale.train.hf_config.scale_hf_config`: width from the config's aspect
    ratio, its head width, its FFN ratio), randomly initialised.
    """

    depths: list[Depth] = Field(default_factory=list)
    tokens: list[TokenCount] = Field(default_factory=list)
    tokens_per_param: list[PosFloat] = Field(default_factory=list)
    isoflop: IsoFlopSpec | None = None
    teachers: Literal["all"] | Annotated[list[str], Field(min_length=1)] = "all"
    hf_config: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _one_grid(self) -> StudentSpec:
        if self.tokens and self.tokens_per_param:
            raise ValueError("give tokens or tokens_per_param, not both")
        _check_grid(
            self.depths,
            list(self.tokens) or list(self.tokens_per_param),
            self.isoflop,
            "tokens",
        )
        return self


def _check_grid(depths: list[int], budgets: list[Any], iso: IsoFlopSpec | None, key: str) -> None:
    if iso is not None:
        if depths or budgets:
            raise ValueError(f"give either depths and {key}, or isoflop, not both")
        return
    if not depths:
        raise ValueError(f"depths is empty; give depths and {key} (or isoflop)")
    if not budgets:
        raise ValueError(f"{key} is empty; give at least one value (or use isoflop)")


class DistillSpec(_Strict):
    """Distillation settings: ``(1 - weight) * NTP + weight * temperature^2 * D(p, q)``.

    ``loss`` is the divergence D (``forward-kl``, ``reverse-kl``, ``skew-forward-kl``,
    ``skew-reverse-kl``, ``js``, ``tv``); ``weight`` is lambda in [0, 1] (1 = pure distillation,
    as Busbridge et al.); ``temperature`` is tau. ``cache: topk`` distils from each teacher's
    top-``top_k`` log-probabilities, cached once per teacher; ``online`` runs the teacher beside
    the student on every token (full logits).
    """

    loss: Literal["forward-kl", "reverse-kl", "skew-forward-kl", "skew-reverse-kl", "js", "tv"] = (
        "forward-kl"
    )
    cache: Literal["topk", "online"] = "topk"
    top_k: Annotated[int, Field(ge=1, le=65536)] = 32
    top_k_mode: Literal["renormalize", "bucket"] = "bucket"
    weight: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    temperature: PosFloat = 1.0


class BaselineSpec(_Strict):
    """Supervised baselines of every student shape.

    ``match: flops`` trains each baseline on the tokens that make its training FLOPs equal the
    student's total distillation FLOPs in ``scenario`` (Busbridge et al. Eq. 9):
    ``teacher-inference`` counts student training plus teacher logits on the student's tokens
    (one baseline per student and teacher size), ``teacher-free`` counts the student training
    only (then the baseline sees the same tokens). ``match: tokens`` gives every baseline the
    student's distillation tokens.
    """

    enabled: bool = True
    match: Literal["flops", "tokens"] = "flops"
    scenario: Literal["teacher-free", "teacher-inference"] = "teacher-inference"


class TrainingSpec(_Strict):
    """Optimiser and loop settings shared by every run.

    ``batch_size`` is sequences per step; ``lr`` the peak AdamW learning rate, one number for
    every run or a map ``{depth: lr}`` naming every depth of the study (per-size learning rates;
    see docs/training.md); ``warmup`` the
    fraction of steps warmed up linearly before the ``schedule`` (``cosine`` to
    ``lr * min_lr_ratio``, or ``wsd``); ``eval_every`` and ``checkpoint_every`` are steps
    (0: only at the end); ``eval_tokens`` is held-out tokens per evaluation (count).
    ``decay_fraction`` is the fraction of a WSD run's steps in its final linear decay.
    ``branches: true`` (WSD only) trains the runs that differ only in token budget as one trunk
    (the longest) and cooldown branches from its snapshots (docs/studies.md: Cooldown branches).
    """

    batch_size: PosInt = 16
    lr: LearningRate | dict[Depth, LearningRate] = 3e-3
    schedule: Literal["cosine", "wsd"] = "cosine"
    min_lr_ratio: Annotated[float, Field(ge=0.0, le=1.0)] = 0.1
    warmup: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.05
    weight_decay: Annotated[float, Field(ge=0.0, le=1.0)] = 0.1
    grad_clip: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 1.0
    eval_every: Annotated[int, Field(ge=0)] = 0
    eval_tokens: Annotated[int, Field(ge=256)] = 65536
    checkpoint_every: Annotated[int, Field(ge=0)] = 50
    decay_fraction: Annotated[float, Field(gt=0.0, le=1.0)] = 0.2
    branches: bool = False

    @model_validator(mode="after")
    def _branches_need_wsd(self) -> TrainingSpec:
        if self.branches and self.schedule != "wsd":
            raise ValueError(
                f"branches: true needs schedule: wsd (cooldown branches share a constant-rate "
                f"trunk), not {self.schedule!r}; set training.schedule: wsd or branches: false"
            )
        return self

    def lr_for(self, depth: int) -> float:
        """Peak learning rate of a model of ``depth`` layers (``lr`` or its map's entry)."""
        if isinstance(self.lr, dict):
            return float(self.lr[depth])
        return float(self.lr)


class ExecutorSpec(_Strict):
    """Where runs execute.

    ``kind: local`` uses ``workers`` processes with ``threads`` torch threads each; ``kind: ray``
    submits to the Ray cluster at ``address`` (``auto`` = the running cluster, ``local`` = start
    one here) with ``cpus_per_run`` / ``gpus_per_run``. A run that fails is retried until it has
    had ``max_attempts`` attempts; a claim held by a worker that stopped heart-beating expires
    after ``lease_seconds``. Up to ``batch_runs`` ready runs of one shape, batch size and data
    train together in one task (``distillscale.train.batched``: stacked weights, the same
    losses as one by one, several times the tokens/s of tiny models); 1 trains every run alone.
    """

    kind: Literal["local", "ray"] = "local"
    workers: Annotated[int, Field(ge=1, le=1024)] = 2
    threads: Annotated[int, Field(ge=1, le=1024)] = 1
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    address: str = "local"
    cpus_per_run: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    gpus_per_run: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 3
    lease_seconds: Annotated[float, Field(ge=1.0, le=86400.0, allow_inf_nan=False)] = 60.0
    batch_runs: Annotated[int, Field(ge=1, le=64)] = 6


def _check_fix_values(key: str, value: dict[str, float | str]) -> dict[str, float | str]:
    for name, v in value.items():
        if isinstance(v, str) and not re.fullmatch(r"@[A-Za-z0-9_.-]+", v):
            raise ValueError(
                f"{key}.{name} = {v!r}: give a number or a published set such as '@busbridge2025'"
            )
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"{key}.{name} = {v}: give a finite number")
    return value


def _check_fix_names(key: str, law_name: str, fixed: dict[str, float | str]) -> None:
    """Every fixed name is a parameter of the law with a usable value (checked before training)."""
    from distillscale.fitting.prepare import resolve_fixed
    from distillscale.laws.registry import get_law

    try:
        resolve_fixed(get_law(law_name), fixed, where=f"{key}:")
    except InputError as exc:
        raise ValueError(str(exc)) from None


class FitSpec(_Strict):
    """End-of-study fits.

    ``supervised`` is the law fitted to teachers and baselines (``chinchilla`` or
    ``chinchilla-gamma``); the student law is always ``distillation``. ``fix`` pins
    distillation parameters to numbers or to a published set (``"@busbridge2025"``);
    ``supervised_fix`` does the same for the supervised law (``"@besiroglu2024"``), for studies
    whose teachers and baselines are too few or too alike to pin all of its parameters.
    ``holdout`` is the fraction of each fit's lowest-loss runs kept out of the fit and
    predicted (0 = no held-out check).
    """

    enabled: bool = True
    supervised: Literal["chinchilla", "chinchilla-gamma"] = "chinchilla"
    estimator: Literal["huber-grid", "huber-mle", "least-squares"] = "huber-grid"
    bootstrap: Annotated[int, Field(ge=0, le=100000)] = 200
    fix: dict[str, float | str] = Field(default_factory=dict)
    supervised_fix: dict[str, float | str] = Field(default_factory=dict)
    holdout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.2
    seed: int = 0

    @field_validator("fix")
    @classmethod
    def _fix_values(cls, value: dict[str, float | str]) -> dict[str, float | str]:
        return _check_fix_values("fix", value)

    @field_validator("supervised_fix")
    @classmethod
    def _supervised_fix_values(cls, value: dict[str, float | str]) -> dict[str, float | str]:
        return _check_fix_values("supervised_fix", value)

    @model_validator(mode="after")
    def _fix_names(self) -> FitSpec:
        _check_fix_names("fix", "distillation", self.fix)
        _check_fix_names("supervised_fix", self.supervised, self.supervised_fix)
        return self


class PlanSpec(_Strict):
    """End-of-study plan: for each studied student size, distil or train supervised."""

    enabled: bool = True
    scenario: Literal["teacher-free", "teacher-inference"] = "teacher-inference"


class StudySpec(_Strict):
    """A whole study (see ``docs/studies.md``).

    ``throughput`` (training FLOPs per second per worker) prices ``--dry-run``'s wall-time
    estimate; without it the estimate comes from timing one training step here. ``report``
    builds ``report/index.html`` at the end.
    """

    name: str = "study"
    data: DataSpec = Field(default_factory=DataSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    teachers: TeacherSpec
    students: StudentSpec
    distillation: DistillSpec = Field(default_factory=DistillSpec)
    baselines: BaselineSpec = Field(default_factory=BaselineSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    seeds: Annotated[list[Annotated[int, Field(ge=0, lt=2**31)]], Field(min_length=1)] = Field(
        default_factory=lambda: [0]
    )
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)
    store: str | None = None
    fit: FitSpec = Field(default_factory=FitSpec)
    plan: PlanSpec = Field(default_factory=PlanSpec)
    throughput: PosFloat | None = None
    report: bool = True

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.fullmatch(value):
            raise ValueError(
                f"{value!r} is not allowed: use 1-64 letters, digits, '_', '.', '-', "
                "starting with a letter or digit (names never become paths outside the study)"
            )
        return value

    @model_validator(mode="after")
    def _hf_tokenizer(self) -> StudySpec:
        if self.teachers.hf is not None and (
            self.data.tokenizer != "byte" or self.data.vocab_size is not None
        ):
            raise ValueError(
                "data.tokenizer/data.vocab_size: with teachers.hf the teacher's own tokenizer "
                "and vocabulary are used; leave both out"
            )
        return self

    @model_validator(mode="after")
    def _lr_per_depth(self) -> StudySpec:
        lr = self.training.lr
        if isinstance(lr, dict):
            depths = set(self.teachers.depths) | set(self.students.depths)
            for iso in (self.teachers.isoflop, self.students.isoflop):
                if iso is not None:
                    depths |= set(iso.depths)
            missing = sorted(depths - set(lr))
            if missing:
                raise ValueError(
                    f"training.lr has no learning rate for depth(s) {missing}; a per-depth map "
                    f"names every depth of the study (it names {sorted(lr)})"
                )
        return self

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError(f"{value}: seeds repeat; list each seed once")
        return value

    def resolve_corpus(self, base: Path) -> StudySpec:
        """Return a copy whose corpus path is absolute (relative paths are from ``base``).

        Raises
        ------
        InputError
            When the corpus path does not exist.
        """
        spec = self._resolve_hf(base)
        corpus = spec.data.corpus
        if corpus == "stdlib":
            return spec
        if corpus.startswith("dataset:"):  # a local dataset path is made absolute, an id kept
            local = (base / Path(corpus.removeprefix("dataset:")).expanduser()).resolve()
            if not local.exists():
                return spec
            data = spec.data.model_copy(update={"corpus": f"dataset:{local}"})
            return spec.model_copy(update={"data": data})
        try:
            path = Path(corpus).expanduser()
            if not path.is_absolute():
                path = (base / path).resolve()
            exists = path.exists()
        except (OSError, ValueError, RuntimeError) as exc:  # NUL bytes, unknown ~user, loops
            raise InputError(f"data.corpus: {corpus!r} is not a usable path ({exc})") from None
        if not exists:
            raise InputError(
                f"data.corpus: {corpus!r} does not exist (looked at {path}); give a text file, "
                "a directory of text files, or 'stdlib' for the embedded default corpus"
            )
        return spec.model_copy(update={"data": spec.data.model_copy(update={"corpus": str(path)})})

    def _resolve_hf(self, base: Path) -> StudySpec:
        """Local Hugging Face paths made absolute (relative ones are from ``base``).

        ``teachers.hf`` becomes ``hf:ABSOLUTE_DIR`` when it names a local directory;
        ``students.hf_config`` an absolute path (it must exist).
        """
        spec = self._resolve_student_config(base)
        hf = spec.teachers.hf
        if hf is None:
            return spec
        name = hf.removeprefix("hf:")
        path = (base / Path(name).expanduser()).resolve()
        if not path.is_dir():
            if hf.startswith("hf:") or not (name.startswith((".", "/", "~")) or "\\" in name):
                return self  # a hub id
            raise InputError(
                f"teachers.hf: {hf!r} is not a directory (looked at {path}); give a directory "
                "saved with save_pretrained, or hf:ID"
            )
        teachers = spec.teachers.model_copy(update={"hf": f"hf:{path}"})
        return spec.model_copy(update={"teachers": teachers})

    def _resolve_student_config(self, base: Path) -> StudySpec:
        """``students.hf_config`` as an absolute path; a missing one is an error."""
        source = self.students.hf_config
        if source is None:
            return self
        try:
            path = (base / Path(source.removeprefix("hf:")).expanduser()).resolve()
            exists = path.is_dir() or (path.is_file() and path.suffix == ".json")
        except (OSError, ValueError, RuntimeError) as exc:
            raise InputError(
                f"students.hf_config: {source!r} is not a usable path ({exc})"
            ) from None
        if not exists:
            raise InputError(
                f"students.hf_config: {source!r} is neither a directory nor a .json file (looked "
                f"at {path}); give a transformers config.json or the directory holding it"
            )
        students = self.students.model_copy(update={"hf_config": str(path)})
        return self.model_copy(update={"students": students})


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _first_error(exc: ValidationError, source: str) -> InputError:
    lines = []
    errors = exc.errors(include_url=False)
    if len(errors) > 1:  # a union (number or map): the branch of the wrong type says nothing
        errors = [e for e in errors if not e["type"].endswith("_type")] or errors
    for err in errors[:3]:
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function")))
        # drop pydantic's union-branch tags (e.g. 'list[str]', 'literal['all']') from the path
        loc = tuple(
            p
            for p in loc
            if not (isinstance(p, str) and ("[" in p or "'" in p or p.startswith("constrained-")))
        )
        found = err.get("input")
        found_text = _short(found)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            msg = f"unknown key; allowed here: {', '.join(allowed)}" if allowed else "unknown key"
            lines.append(f"{source}: {_loc(loc)}: {msg}")
            continue
        if err["type"] == "missing":
            lines.append(f"{source}: {_loc(loc)}: required key is missing")
            continue
        if err["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
            if isinstance(found, dict):  # a check across keys names them itself
                lines.append(f"{source}: {_loc(loc)}: {msg}")
                continue
        lines.append(f"{source}: {_loc(loc)}: {msg} (found {found_text})")
    more = len(errors) - len(lines)
    tail = f" (and {more} more)" if more > 0 else ""
    return InputError("; ".join(lines) + tail + "; see docs/studies.md for the spec's keys")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    model: Any = StudySpec
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        model = next(
            (
                t
                for t in (ann, *getattr(ann, "__args__", ()))
                if isinstance(t, type) and issubclass(t, BaseModel)
            ),
            None,
        )
        if model is None:
            return []
    return sorted(getattr(model, "model_fields", {}))


def parse_spec(document: Any, *, source: str = "study.yaml") -> StudySpec:
    """Validate a parsed YAML document as a :class:`StudySpec`.

    Parameters
    ----------
    document : Any
        The result of ``yaml.safe_load``.
    source : str
        Name of the document for messages (the file name).

    Raises
    ------
    InputError
        Naming the key path, what was found and what is allowed.
    """
    if not isinstance(document, dict):
        raise InputError(
            f"{source}: the spec must be a YAML mapping of keys (name, data, model, teachers, "
            f"students, ...); found {type(document).__name__}"
        )
    bad = [k for k in document if not isinstance(k, str)]
    if bad:
        raise InputError(f"{source}: key {_short(bad[0])} is not a string; spec keys are names")
    try:
        return StudySpec.model_validate(document)
    except ValidationError as exc:
        raise _first_error(exc, source) from None
    except (TypeError, ValueError, RecursionError) as exc:  # odd nested keys, deep documents
        raise InputError(f"{source}: cannot read the spec: {exc}") from None


def load_spec(path: str | Path) -> StudySpec:
    """Read, validate and resolve a study spec file (YAML, safe loader).

    Parameters
    ----------
    path : str or Path
        The spec file.

    Returns
    -------
    StudySpec
        With ``data.corpus`` resolved to an absolute path (unless ``stdlib``).

    Raises
    ------
    InputError
        A missing or unreadable file, invalid YAML, or an invalid spec.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such study spec file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the spec: {exc}") from None
    spec = parse_spec(load_yaml(text, source=str(path)), source=path.name)
    return spec.resolve_corpus(path.parent)


#: Most nodes a spec may hold with every alias expanded; a real spec has a few hundred.
MAX_YAML_NODES = 100_000


def load_yaml(text: str, *, source: str) -> Any:
    """Parse YAML with the safe loader, turning syntax errors into :class:`InputError`.

    Anchors and aliases are allowed, but the document with every alias expanded may hold at
    most :data:`MAX_YAML_NODES` nodes, and an alias may not contain itself: an alias bomb
    ("billion laughs", a few hundred bytes that expand to 10**9 nodes) is refused after
    composing, in time linear in the text, before anything walks the expanded tree.
    """
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # the reader refuses unprintable characters here
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node, source)
        return loader.construct_document(node)
    except InputError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{source}:{where}: invalid YAML: {problem}") from None
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        raise InputError(f"{source}: invalid YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()


def _check_expanded_size(root: yaml.Node, source: str) -> None:
    """Refuse a node graph whose tree, aliases expanded, exceeds :data:`MAX_YAML_NODES`.

    Shared (aliased) nodes are sized once and counted at every use; iterative, so deep
    documents do not exhaust the Python stack.
    """
    size: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        children = _children(node)
        if expanded:
            active.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            if size[key] > MAX_YAML_NODES:
                raise InputError(
                    f"{source}: invalid YAML: the document expands to more than "
                    f"{MAX_YAML_NODES:,} nodes through its aliases (*name); write the values "
                    "out, or use fewer aliases"
                )
            continue
        if key in size:
            continue
        if key in active:
            mark = node.start_mark
            raise InputError(
                f"{source}: line {mark.line + 1}, column {mark.column + 1}: invalid YAML: an "
                "alias refers to a node that contains it (recursive alias)"
            )
        active.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in size)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []
