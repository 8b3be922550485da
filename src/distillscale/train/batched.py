"""Train several same-shape runs at once, in lockstep, in one process (CPU throughput).

A tiny model spends much of a step in Python and per-op dispatch rather than arithmetic (a
sixth of a depth-1 step; docs/training.md, Throughput of tiny models). Here K runs of one shape
share every op: each weight is one ``(K, ...)`` tensor, the matmuls are
batched (``torch.bmm``), and one hand-written AdamW updates the stacked tensors with a per-run
learning rate, weight decay, step count and gradient-clipping factor. Nothing couples the runs:
run k's logits depend on run k's weights and batch only, the objective is the sum of the runs'
objectives (so run k's gradient is exactly its own), and the update of row k reads row k only.

Runs may differ in seed, learning rate and schedule, token budget (steps), data seed, teacher
or logit cache, and distillation settings; they must share the shape, the batch size, the data
(corpus and tokenizer) and ``compile``, and run on one CPU process (``nproc=1``). Compiled runs
train with the stack's forward pass under ``torch.compile`` (recompiled when a run leaves and
the stack shrinks); their losses match the same runs compiled one by one to float32 rounding.
A run that finishes or fails (NaN, divergence, a checkpoint it cannot write) leaves the stack;
the others go on. Each run writes the checkpoint :func:`distillscale.train.train_run` writes,
in its own workdir, through the trainer's own helpers, so a batched run resumes singly and a
single run resumes batched. Exactness: the same losses as training the runs one by one, to
float32 rounding (batched and single matmuls sum in different orders; tests/train/test_batched.py
holds the tolerance).
"""

from __future__ import annotations

import errno
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from distillscale import interrupts
from distillscale.errors import DISK_FULL_ERRNOS, DamagedFile, InputError, disk_full_message
from distillscale.flops import count_params, forward_flops_per_token
from distillscale.runs import curve_row
from distillscale.runs.config import RunConfig
from distillscale.runs.config import batch_key as config_batch_key
from distillscale.runs.result import ProgressEvent, RunResult
from distillscale.train import checkpoint as ck
from distillscale.train import trainer as tr
from distillscale.train.data import Corpus, load_corpus, train_batch, val_batches
from distillscale.train.integrity import quarantine
from distillscale.train.losses import distillation_loss
from distillscale.train.model import GPT, apply_rope

__all__ = ["batch_key", "train_batched"]

log = logging.getLogger(__name__)


def batch_key(config: RunConfig) -> tuple[Any, ...] | None:
    """:func:`distillscale.runs.config.batch_key`, and None for ``device: auto`` with a GPU."""
    if config.device == "auto" and torch.cuda.is_available():
        return None
    return config_batch_key(config)


@dataclass(slots=True)
class _Run:
    """One run of the stack: its config, files, single-run shells and progress."""

    config: RunConfig
    workdir: Path
    corpus: Corpus
    teacher: Any
    val: list[Any]
    model: GPT  # shell: receives the run's weights for eval and checkpoints
    optimizer: torch.optim.AdamW  # shell: receives the run's AdamW state for checkpoints
    rng: torch.Tensor  # the torch RNG state a single run would checkpoint
    run_id: str = ""  # config.run_id(), hashed once (a SHA-256 of the config's JSON)
    flops_per_token: float = 0.0  # training plus online-teacher FLOPs per token
    state: Any = field(default_factory=ck._Progress)
    finished: dict[str, Any] | None = None
    failure: str | None = None
    step_tokens: int = 0
    step_seconds: float = 0.0
    wall_before: float = 0.0
    stored_upto: int = 0


def _check_group(configs: list[RunConfig], workdirs: list[Path]) -> None:
    if not configs:
        raise InputError("train_batched: no runs given")
    if len(workdirs) != len(configs):
        raise InputError(
            f"train_batched: {len(configs)} runs but {len(workdirs)} workdirs; give one each"
        )
    if len({str(Path(w).resolve()) for w in workdirs}) != len(workdirs):
        raise InputError("train_batched: two runs share a workdir; give each run its own")
    keys = {batch_key(c) for c in configs}
    if None in keys or len(keys) != 1:
        raise InputError(
            "train_batched: the runs must share shape, batch size, data and compile and train "
            "on one CPU process (nproc 1); train the others with train_run"
        )


def _flat(model: GPT) -> list[tuple[str, torch.nn.Parameter]]:
    """The model's parameters by name (a tied LM head appears once, as embed.weight)."""
    return list(model.named_parameters())


class _Stack:
    """The stacked weights and AdamW state of the runs still training, row k = run k."""

    def __init__(self, runs: list[_Run]) -> None:
        self.names = [n for n, _ in _flat(runs[0].model)]
        shells = [dict(_flat(r.model)) for r in runs]
        self.params = [
            torch.stack([s[n].detach() for s in shells]).requires_grad_(True) for n in self.names
        ]
        self.exp_avg: list[torch.Tensor] = []
        self.exp_avg_sq: list[torch.Tensor] = []
        self.steps = torch.zeros(len(runs), dtype=torch.float64)  # AdamW steps per run
        for n in self.names:
            avgs, sqs = [], []
            for s, r in zip(shells, runs, strict=True):
                st = r.optimizer.state.get(s[n], {})
                avgs.append(st["exp_avg"] if "exp_avg" in st else torch.zeros_like(s[n]))
                sqs.append(st["exp_avg_sq"] if "exp_avg_sq" in st else torch.zeros_like(s[n]))
            self.exp_avg.append(torch.stack(avgs))
            self.exp_avg_sq.append(torch.stack(sqs))
        for k, (s, r) in enumerate(zip(shells, runs, strict=True)):
            st = r.optimizer.state.get(s[self.names[0]], {})
            self.steps[k] = float(st["step"]) if "step" in st else 0.0
        self.decay = [p.ndim >= 3 for p in self.params]  # matrices of each run are decayed

    def keep(self, rows: list[int]) -> None:
        """Keep only ``rows`` (runs that finished or failed leave)."""
        idx = torch.tensor(rows, dtype=torch.long)
        self.params = [p.detach().index_select(0, idx).requires_grad_(True) for p in self.params]
        self.exp_avg = [t.index_select(0, idx) for t in self.exp_avg]
        self.exp_avg_sq = [t.index_select(0, idx) for t in self.exp_avg_sq]
        self.steps = self.steps.index_select(0, idx)

    def export(self, k: int, run: _Run) -> None:
        """Copy row ``k`` into the run's single-run model and AdamW (for eval, checkpoint)."""
        shell = dict(_flat(run.model))
        step = torch.tensor(float(self.steps[k]), dtype=torch.float32)
        with torch.no_grad():
            for i, n in enumerate(self.names):
                p = shell[n]
                p.copy_(self.params[i][k])
                if float(self.steps[k]) > 0:
                    run.optimizer.state[p] = {
                        "step": step.clone(),
                        "exp_avg": self.exp_avg[i][k].clone(),
                        "exp_avg_sq": self.exp_avg_sq[i][k].clone(),
                    }

    def forward(self, idx: torch.Tensor, shape: Any, rope: torch.Tensor) -> list[torch.Tensor]:
        """Logits (B, T, V) of each run for token ids ``idx`` (K, B, T), each its own weights."""
        P = dict(zip(self.names, self.params, strict=True))
        K, B, T = idx.shape
        d, H, G, hd = shape.d_model, shape.n_heads, shape.kv_heads, shape.head_dim
        rows = torch.arange(K).view(K, 1, 1)
        x = P["embed.weight"][rows, idx].reshape(K, B * T, d)  # (K, BT, d)

        def norm(v: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            return F.rms_norm(v, (v.size(-1),), None, 1e-6) * w.view(K, *([1] * (v.ndim - 2)), -1)

        def lin(v: torch.Tensor, w: torch.Tensor) -> torch.Tensor:  # (K, N, in) @ (K, out, in)^T
            return torch.bmm(v, w.transpose(1, 2))

        for i in range(shape.n_layers):
            pre = f"blocks.{i}."
            h = norm(x, P[pre + "attn_norm.weight"])
            q, k, v = lin(h, P[pre + "attn.qkv.weight"]).split((d, G * hd, G * hd), dim=-1)
            q = q.reshape(K, B, T, H, hd).transpose(2, 3)  # (K, B, H, T, hd)
            k = k.reshape(K, B, T, G, hd).transpose(2, 3)
            v = v.reshape(K, B, T, G, hd).transpose(2, 3)
            if shape.qk_norm:
                q = norm(q.reshape(K, -1, hd), P[pre + "attn.q_norm.weight"]).view_as(q)
                k = norm(k.reshape(K, -1, hd), P[pre + "attn.k_norm.weight"]).view_as(k)
            q = apply_rope(q.reshape(K * B, H, T, hd), rope)
            k = apply_rope(k.reshape(K * B, G, T, hd), rope)
            y = F.scaled_dot_product_attention(
                q, k, v.reshape(K * B, G, T, hd), is_causal=True, enable_gqa=G != H
            )  # (KB, H, T, hd)
            y = y.transpose(1, 2).reshape(K, B * T, d)
            x = x + lin(y, P[pre + "attn.o.weight"])
            h = lin(norm(x, P[pre + "ffn_norm.weight"]), P[pre + "ffn.w13.weight"])
            if shape.ffn == "gated":
                gate, up = h.chunk(2, dim=-1)
                h = F.silu(gate) * up
            else:
                h = F.gelu(h)
            x = x + lin(h, P[pre + "ffn.w2.weight"])
        head = P["embed.weight"] if shape.tied_embeddings else P["lm_head.weight"]
        h = norm(x, P["norm.weight"])  # (K, BT, d)
        # the LM head per run: the runs' losses take their logits apart anyway, and slicing
        # the (K, BT, V) logits would cost a zero-filled (K, BT, V) gradient per run
        return [
            F.linear(hk, wk).view(B, T, -1)
            for hk, wk in zip(h.unbind(0), head.unbind(0), strict=True)
        ]

    @torch.no_grad()
    def update(self, lrs: list[float], decays: list[float], clips: list[float]) -> None:
        """Per-run gradient clipping, then one AdamW step of every run (torch's AdamW maths)."""
        K = len(lrs)
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        norms = torch.stack([g.reshape(K, -1).norm(dim=1) for g in grads], dim=1)  # (K, n)
        total = norms.norm(dim=1)  # (K,) as clip_grad_norm_: the norm of the norms
        clip = torch.tensor(clips, dtype=torch.float32)
        coef = torch.where(clip > 0, (clip / (total + 1e-6)).clamp(max=1.0), torch.ones(K))
        self.steps += 1
        b1, b2 = tr.BETAS
        lr = torch.tensor(lrs, dtype=torch.float64)
        bc1 = 1 - b1**self.steps
        bc2_sqrt = (1 - b2**self.steps).sqrt()
        step_size = (lr / bc1).float()
        shrink = (1 - lr * torch.tensor(decays, dtype=torch.float64)).float()
        for i, p in enumerate(self.params):
            view = (K,) + (1,) * (p.ndim - 1)
            g = grads[i] * coef.view(view)
            if self.decay[i]:
                p.mul_(shrink.view(view))
            self.exp_avg[i].lerp_(g, 1 - b1)
            self.exp_avg_sq[i].mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (self.exp_avg_sq[i].sqrt() / bc2_sqrt.float().view(view)).add_(1e-8)
            p.addcdiv_(self.exp_avg[i] * step_size.view(view), denom, value=-1.0)
            p.grad = None


def _prepare_runs(configs: list[RunConfig], workdirs: list[Path]) -> list[_Run]:
    """Load data, teachers and checkpoints (the checks and resume of ``train_run``)."""
    corpora: dict[Any, Corpus] = {}
    device = torch.device("cpu")
    runs = []
    for config, workdir in zip(configs, workdirs, strict=True):
        shape = config.shape
        tr._check_memory(config)
        if config.data not in corpora:
            corpora[config.data] = load_corpus(config.data)
        corpus = corpora[config.data]
        tr.check_vocab(config, corpus)
        teacher = tr._open_teacher(config, corpus, device)
        val = val_batches(corpus, shape.seq_len, config.eval_tokens, config.batch_size)
        train_batch(corpus, config.data.seed, 0, config.batch_size, shape.seq_len)
        torch.manual_seed(config.seed)
        model = GPT(shape)  # init_weights ran under the seed, as in train_run
        optimizer = tr._optimizer(model, config, device)
        f_teacher = 0.0
        if teacher is not None and teacher.model is not None:
            f_teacher = forward_flops_per_token(teacher.shape)
        run = _Run(config, Path(workdir), corpus, teacher, val, model, optimizer,
                   torch.get_rng_state(), config.run_id(),
                   3.0 * forward_flops_per_token(shape) + f_teacher)  # fmt: skip
        path = run.workdir / ck.CHECKPOINT
        if path.exists():
            try:
                run.state, run.finished = ck._resume(path, config, model, optimizer)
                run.rng = torch.get_rng_state()
                run.wall_before = run.state.wall_seconds
            except DamagedFile as exc:
                quarantine(path, str(exc))
                log.warning("run %s: its checkpoint was damaged; training from step 0",
                            run.run_id)  # fmt: skip
        runs.append(run)
    for run in runs:
        run.workdir.mkdir(parents=True, exist_ok=True)
    return runs


def _checkpoint(run: _Run, store: Any, started: float, result: dict[str, Any] | None) -> None:
    """Write the run's checkpoint (its shells hold its current weights) and flush its curve."""
    run.state.wall_seconds = run.wall_before + time.perf_counter() - started
    state = ck._state_dict(run.config, run.model, run.optimizer, run.state, result,
                           run.corpus.tokenizer_hash)  # fmt: skip
    state["torch_rng"] = run.rng
    ck._save_atomic(state, run.workdir / ck.CHECKPOINT)
    _flush(run, store)


def _flush(run: _Run, store: Any) -> None:
    if store is not None:
        points = run.state.curve[run.stored_upto :]
        store.append_curve(run.run_id, [curve_row(p) for p in points])
        run.stored_upto = len(run.state.curve)


def _write_failure(run: _Run, exc: OSError) -> str:
    path = run.workdir / ck.CHECKPOINT
    if exc.errno in DISK_FULL_ERRNOS:
        return disk_full_message(exc.filename or path)
    if exc.errno in (errno.EACCES, errno.EROFS):
        return (
            f"writing checkpoint {path} failed at step {run.state.step}: "
            f"{exc.strerror or exc}; the previous checkpoint is intact: fix permissions and "
            "rerun to resume"
        )
    raise exc


def train_batched(
    configs: Sequence[RunConfig],
    workdirs: Sequence[str | Path],
    *,
    store: Any = None,
    progress: Callable[[ProgressEvent], None] | None = None,
    on_start: Callable[[], None] | None = None,
) -> list[RunResult]:
    """Train ``configs`` together, each in its workdir; one :class:`RunResult` per run, in order.

    Parameters
    ----------
    configs : list of RunConfig
        Runs with one :func:`batch_key` (shape, batch size, data; one CPU process).
    workdirs : list of str or Path
        One folder per run for its ``checkpoint.pt`` (resumed as by ``train_run``).
    store : Store, optional
        Run store; each run's curve is appended at its checkpoints and at its end.
    progress : callable, optional
        Called with each run's :class:`ProgressEvent` after every step (``run_id`` says which).
    on_start : callable, optional
        Called once every run is checked, loaded and resumed, before training starts (the
        study worker logs its attempts there, so a batch refused at setup logs none).

    Raises
    ------
    InputError
        Runs that cannot share a stack, or a run ``train_run`` would refuse.
    distillscale.interrupts.Interrupted
        SIGINT/SIGTERM: every run still training is checkpointed after the step in progress.

    Returns
    -------
    list of RunResult
        As ``train_run`` returns them; ``tokens_per_second`` is each run's own (its tokens
        over the wall time of the shared steps it took part in).
    """
    paths = [Path(w) for w in workdirs]
    _check_group(list(configs), paths)
    with interrupts.deferred():
        return _train(list(configs), paths, store, progress, on_start)


def _train(
    configs: list[RunConfig],
    workdirs: list[Path],
    store: Any,
    progress: Callable[[ProgressEvent], None] | None,
    on_start: Callable[[], None] | None,
) -> list[RunResult]:
    runs = _prepare_runs(configs, workdirs)
    if on_start is not None:
        on_start()
    shape = configs[0].shape
    B, T = configs[0].batch_size, shape.seq_len
    rope = runs[0].model.rope
    assert isinstance(rope, torch.Tensor)
    started = time.perf_counter()
    active = [r for r in runs if r.finished is None and r.state.step < r.config.steps]
    stack = _Stack(active) if active else None
    # compiled runs: the stacked forward pass (and through AOTAutograd its backward) compiled
    # once here; the losses, AdamW and bookkeeping stay eager, as in train_run
    forward = torch.compile(_Stack.forward) if configs[0].compile else _Stack.forward
    interrupts.check()
    while active and stack is not None:
        t0 = time.perf_counter()
        steps = [r.state.step for r in active]
        lrs = [tr.lr_at(r.config, s) for r, s in zip(active, steps, strict=True)]
        xs, ys = [], []
        for r, s in zip(active, steps, strict=True):
            x_np, y_np = train_batch(r.corpus, r.config.data.seed, s, B, T)
            xs.append(torch.from_numpy(x_np))
            ys.append(torch.from_numpy(y_np))
        per_run = forward(stack, torch.stack(xs), shape, rope)  # K x (B, T, V)
        objectives, losses = [], []
        for k, (r, s) in enumerate(zip(active, steps, strict=True)):
            sparse = None
            if r.teacher is not None and r.teacher.cache is not None:
                sparse = r.teacher.cache.read(s * B, B, "cpu")
            teacher_logits = None
            if r.teacher is not None and r.teacher.model is not None:
                with torch.no_grad():
                    teacher_logits = r.teacher.model(xs[k])
            objective, ce, _ = distillation_loss(
                per_run[k],
                ys[k],
                r.config.kd,
                teacher_logits=teacher_logits,
                teacher_sparse=sparse,
            )
            objectives.append(objective)
            losses.append(torch.stack([ce.detach(), objective.detach()]))
        torch.stack(objectives).sum().backward()
        stack.update(
            lrs,
            [r.config.weight_decay for r in active],
            [r.config.grad_clip for r in active],
        )
        values = torch.stack(losses).tolist()  # one sync for every run
        seconds = time.perf_counter() - t0
        leaving: list[int] = []
        for k, r in enumerate(active):
            c = r.config
            train_loss, objective_value = values[k]
            r.state.step = steps[k] + 1
            r.step_seconds += seconds
            r.step_tokens += c.tokens_per_step
            r.failure = tr._check_loss(train_loss, objective_value, r.state.step,
                                       shape.vocab_size)  # fmt: skip
            last = r.state.step == c.steps
            evals = c.eval_every and r.state.step % c.eval_every == 0
            val_loss = None
            write = last or (c.checkpoint_every and r.state.step % c.checkpoint_every == 0)
            if r.failure is None and (last or evals or write):
                stack.export(k, r)
            if r.failure is None and (last or evals):
                val_loss = tr._evaluate(r.model, r.model, r.val, torch.device("cpu"))
            r.state.curve.append((r.state.step, r.state.step * c.tokens_per_step, train_loss,
                                  val_loss, lrs[k]))  # fmt: skip
            if r.failure is None and write:
                if last:
                    r.finished = {
                        "loss": val_loss,
                        "tokens": r.state.step * c.tokens_per_step,
                        "tokens_per_second": r.step_tokens / max(r.step_seconds, 1e-9),
                    }
                try:
                    _checkpoint(r, store, started, r.finished)
                except OSError as exc:
                    r.failure = _write_failure(r, exc)
                    r.finished = None
            if r.failure is not None or last:
                leaving.append(k)
            if progress is not None and r.failure is None:
                progress(
                    ProgressEvent(
                        run_id=r.run_id, step=r.state.step, steps=c.steps,
                        tokens=r.state.step * c.tokens_per_step, train_loss=train_loss,
                        val_loss=val_loss, lr=lrs[k],
                        tokens_per_second=r.step_tokens / max(r.step_seconds, 1e-9),
                        flops=r.flops_per_token * r.state.step * c.tokens_per_step,
                    )
                )  # fmt: skip
        if interrupts.pending() is not None:  # save every run still training, then stop
            for k, r in enumerate(active):
                if k not in leaving:
                    stack.export(k, r)
                    _checkpoint(r, store, started, None)
            log.info("batched runs interrupted; %d checkpointed", len(active) - len(leaving))
            interrupts.check()
        if leaving:
            for k in leaving:
                if active[k].failure is not None:
                    log.warning("run %s failed: %s", active[k].run_id,
                                active[k].failure)  # fmt: skip
            rows = [k for k in range(len(active)) if k not in leaving]
            active = [active[k] for k in rows]
            if rows:
                stack.keep(rows)
    return [_result(r, started, store) for r in runs]


def _result(run: _Run, started: float, store: Any) -> RunResult:
    config = run.config
    counts = count_params(config.shape)
    if run.failure is None:
        _flush(run, store)
    tokens = run.state.step * config.tokens_per_step
    tps = run.step_tokens / run.step_seconds if run.step_seconds > 0 else 0.0
    if run.step_tokens == 0 and run.finished is not None:
        tps = float(run.finished.get("tokens_per_second", 0.0))
    f_teacher = 0.0
    if run.teacher is not None and run.teacher.model is not None:
        f_teacher = forward_flops_per_token(run.teacher.shape)
    flops_rate = (3.0 * forward_flops_per_token(config.shape) + f_teacher) * tps
    failed = run.failure is not None
    return RunResult(
        run_id=run.run_id,
        status="failed" if failed else "done",
        failure_reason=run.failure,
        loss=None if failed or run.finished is None else run.finished["loss"],
        params=counts.non_embedding,
        params_total=counts.total,
        tokens=tokens,
        flops=tr._ledger(config, run.teacher, tokens),
        curve=list(run.state.curve),
        tokens_per_second=tps,
        mfu=None
        if config.peak_flops is None or tps == 0 or not math.isfinite(flops_rate)
        else flops_rate / config.peak_flops,
        wall_seconds=run.wall_before + time.perf_counter() - started,
        checkpoint=None if failed else str(run.workdir / ck.CHECKPOINT),
    )
