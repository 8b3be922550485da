"""Guards for the layer table of docs/architecture.md.

1. Imports between distillscale packages point down the layer table only, never sideways
   within a layer; ``cli`` is imported by nobody; ``study`` imports ``train`` only inside a
   function (the worker), never at module level; heavy optional dependencies stay where the
   table puts them (torch in ``train``, matplotlib in ``report``, ray in
   ``study/executors/ray.py``).
2. The torch-free packages import in a fresh interpreter with torch unimportable, and leave
   torch, matplotlib and ray out of ``sys.modules``.
"""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "distillscale"

#: docs/architecture.md: layer of each top-level part of the package.
LAYERS: dict[str, int] = {
    "errors": 0,
    "interrupts": 0,
    "atomic": 1,
    "laws": 1,
    "flops": 1,
    "columns": 1,
    "example_data": 1,
    "runs": 2,
    "table": 3,
    "train": 3,
    "runs_import": 3,
    "fitting": 4,
    "planning": 5,
    "study": 6,
    "report": 7,
    "cli": 8,
    "__init__": 8,
}

#: Third-party packages -> (parts that may import them anywhere, modules that may import them
#: with a bare ``import`` inside a function). Elsewhere they load lazily, inside a function,
#: through ``errors.require`` (which names the extra to install when they are missing).
CONFINED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # the study worker sets torch's thread count in its own process before training
    "torch": (("distillscale.train",), ("distillscale.study.worker",)),
    "matplotlib": (("distillscale.report",), ()),
    "ray": (("distillscale.study.executors.ray",), ()),
}

#: Known deviations, each reported to the lead with its fix; delete an entry once fixed.
#: (importer module, imported module) -> why it deviates and how to fix it.
KNOWN_DEVIATIONS: dict[tuple[str, str], str] = {}

#: The torch-free records of ``train`` (its package docstring says so; probed below) that
#: ``study`` may import at module level to build and hash run configs. Everything else of
#: ``train`` is imported only inside functions of the worker.
TRAIN_RECORDS = (
    "distillscale.train.corpus_id",
    "distillscale.train.hf_config",
)
STUDY_WORKER = "distillscale.study.worker"

#: The one sanctioned upward import: the study runner builds the report at the end of a study
#: (the study contract), lazily inside a function because the report needs the matplotlib extra.
LAZY_UPWARD: dict[str, str] = {"distillscale.study.finish": "distillscale.report"}


@dataclass(frozen=True, slots=True)
class Edge:
    """One import of a module: who imports what, where (plain, from-, or string imports)."""

    importer: str  # dotted module name
    target: str  # dotted module name imported
    path: str  # file, relative to the source root
    line: int
    in_function: bool
    type_checking: bool
    via_require: bool = False  # ``errors.require("x", extra, feature)``: says how to install x


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _part(module: str) -> str:
    """Top-level part of ``distillscale.x.y`` (``x``), ``__init__`` for the root package."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def _is_type_checking(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> list[str]:
    """Absolute targets of a from-import; names from the root package resolve per name."""
    if node.level == 0:
        base = node.module or ""
    else:
        parts = module.split(".") if is_pkg else module.split(".")[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, node.module] if node.module else parts)
    if base != "distillscale":
        return [base]
    # `from distillscale import laws` names a subpackage; `__version__` is a root constant;
    # any other name is a lazy re-export of the public surface (layer 8)
    return [
        f"distillscale.{a.name}"
        if a.name in LAYERS
        else "distillscale"
        if a.name.startswith("__")
        else "distillscale.__init__"
        for a in node.names
    ]


def _string_import(node: ast.AST) -> tuple[str, bool] | None:
    """``require("x", ...)`` -> ("x", True); ``importlib.import_module("x")`` -> ("x", False)."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    first = node.args[0]
    if name in ("require", "import_module") and isinstance(first, ast.Constant):
        return str(first.value), name == "require"
    return None


def _edges(path: Path, root: Path) -> list[Edge]:
    module = _module_name(path, root)
    is_pkg = path.name == "__init__.py"
    rel = str(path.relative_to(root))
    out: list[Edge] = []

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            targets: list[str] = []
            via_require = False
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                targets = _resolve(module, is_pkg, child)
            elif (found := _string_import(child)) is not None:
                targets, via_require = [found[0]], found[1]
            for target in targets:
                out.append(
                    Edge(module, target, rel, child.lineno, in_function, type_checking, via_require)
                )
            visit(
                child,
                in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef),
                type_checking or _is_type_checking(child),
            )

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), False, False)
    return out


def _tree_edges(root: Path) -> list[Edge]:
    return [e for path in sorted((root / "distillscale").rglob("*.py")) for e in _edges(path, root)]


@functools.cache
def _src_edges() -> tuple[Edge, ...]:
    return tuple(_tree_edges(SRC))


def _internal(edges: Iterable[Edge]) -> list[Edge]:
    return [e for e in edges if e.target == "distillscale" or e.target.startswith("distillscale.")]


def _known(e: Edge) -> bool:
    return (e.importer, e.target) in KNOWN_DEVIATIONS


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


# --- the rules, as functions of the import edges (self-tested on a synthetic tree below) -------


def layer_violations(edges: Iterable[Edge]) -> list[str]:
    """Imports between parts that go up or sideways in the layer table."""
    bad = []
    for e in _internal(edges):
        src, dst = _part(e.importer), _part(e.target)
        if src == dst or e.target == "distillscale":
            continue  # within one package; the root's constants (``__version__``)
        if src == "cli" and dst == "__init__":
            continue  # the command line calls the public API
        lazy_ok = LAZY_UPWARD.get(e.importer)
        if e.in_function and lazy_ok and _under(e.target, lazy_ok):
            continue
        if LAYERS[dst] >= LAYERS[src]:
            way = "sideways" if LAYERS[dst] == LAYERS[src] else "up"
            bad.append(
                f"{e.path}:{e.line} {e.importer} (layer {LAYERS[src]}) imports {e.target} "
                f"(layer {LAYERS[dst]}): {way}"
            )
    return bad


def cli_violations(edges: Iterable[Edge]) -> list[str]:
    """Anything outside ``cli`` that imports ``cli``."""
    return [
        f"{e.path}:{e.line} {e.importer} imports {e.target}"
        for e in _internal(edges)
        if _part(e.target) == "cli" and _part(e.importer) != "cli"
    ]


def study_train_violations(edges: Iterable[Edge]) -> list[str]:
    """``study`` importing ``train`` beyond its records, outside functions of the worker."""
    return [
        f"{e.path}:{e.line} {e.importer} imports {e.target}"
        for e in _internal(edges)
        if not _known(e)
        and _part(e.importer) == "study"
        and _part(e.target) == "train"
        and e.target not in TRAIN_RECORDS
        and not (e.in_function and e.importer == STUDY_WORKER)
    ]


def confined_violations(edges: Iterable[Edge]) -> list[str]:
    """torch, matplotlib and ray imported outside the places CONFINED allows."""
    bad = []
    for e in edges:
        rule = CONFINED.get(e.target.split(".")[0])
        if rule is None or e.type_checking or _known(e):
            continue
        anywhere, in_functions = rule
        if any(_under(e.importer, a) for a in anywhere):
            continue
        if e.in_function and (e.via_require or e.importer in in_functions):
            continue  # a lazy optional dependency, with the pip command when it is missing
        bad.append(f"{e.path}:{e.line} {e.importer} imports {e.target}")
    return bad


# --- the rules on the real source tree ------------------------------------------------------------


def test_every_part_has_a_layer() -> None:
    parts = {_part(_module_name(p, SRC)) for p in PKG.rglob("*.py")}
    assert parts <= set(LAYERS), f"parts missing from the layer table: {parts - set(LAYERS)}"


def test_imports_point_down_the_layer_table() -> None:
    bad = layer_violations(_src_edges())
    assert not bad, "imports against docs/architecture.md:\n" + "\n".join(bad)


def test_nobody_imports_cli() -> None:
    bad = cli_violations(_src_edges())
    assert not bad, "\n".join(bad)
    root = ast.parse((PKG / "__init__.py").read_text(encoding="utf-8"))
    lazy = [
        v.value
        for node in ast.walk(root)
        if isinstance(node, ast.Dict)
        for v in node.values
        if isinstance(v, ast.Constant)
    ]
    assert not [t for t in lazy if _under(str(t), "distillscale.cli")], lazy


def test_study_imports_train_only_in_its_worker() -> None:
    bad = study_train_violations(_src_edges())
    assert not bad, (
        f"study may import train's records {TRAIN_RECORDS} anywhere, the rest of train only "
        f"inside functions of {STUDY_WORKER}:\n" + "\n".join(bad)
    )


#: Hugging Face libraries (the ``hf`` extra): only ``train`` loads them, lazily, through
#: ``errors.require`` (so ``import distillscale.train`` works without them).
HF_LIBRARIES = ("transformers", "datasets", "huggingface_hub")


def test_hf_libraries_load_lazily_inside_train() -> None:
    bad = [
        f"{e.path}:{e.line} {e.importer} imports {e.target}"
        for e in _src_edges()
        if e.target.split(".")[0] in HF_LIBRARIES
        and not e.type_checking
        and not (_under(e.importer, "distillscale.train") and e.in_function and e.via_require)
    ]
    assert not bad, "\n".join(bad)


def test_heavy_dependencies_stay_confined() -> None:
    bad = confined_violations(_src_edges())
    assert not bad, f"confined imports ({CONFINED}):\n" + "\n".join(bad)


# --- the rules catch what they should: a synthetic tree with one of each mistake -------------

_SYNTHETIC = {
    "distillscale/__init__.py": "_LAZY = {'fit': 'distillscale.fitting'}\n",
    "distillscale/laws/__init__.py": "",
    "distillscale/laws/bad.py": (
        "from distillscale.flops import count_params\n"  # sideways
        "from ..fitting import Fit\n"  # up, relative
        "from distillscale import __version__\n"  # allowed constant
        "from distillscale import plan\n"  # re-export of the public surface: up
        "def f():\n    import distillscale.report\n"  # up, even in a function
    ),
    "distillscale/fitting/ok.py": (
        "from distillscale import laws\nfrom distillscale.table import read_runs\n"
        "from . import ok\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import matplotlib\n"
    ),
    "distillscale/planning/plot.py": (
        "import matplotlib\n"  # module level: not allowed outside report
        "def draw():\n    require('matplotlib.figure', 'report', 'x')\n"  # lazy: allowed
        "def bare():\n    import torch\n"  # lazy but bare (no pip message): not allowed
    ),
    "distillscale/study/graph.py": "from distillscale.runs.config import RunConfig\n"
    "from distillscale.train.model import GPT\nimport torch\n",
    "distillscale/study/worker.py": "def run():\n    from distillscale.train import train_run\n"
    "    import torch\n",
    "distillscale/study/finish.py": "def finish():\n    from distillscale.report import b\n",
    "distillscale/report/html.py": "from distillscale.cli.app import app\n",
    "distillscale/cli/report_cmd.py": "from distillscale import fit\nimport distillscale.report\n",
}


def test_rules_catch_each_mistake(tmp_path: Path) -> None:
    for rel, text in _SYNTHETIC.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    edges = _tree_edges(tmp_path)
    layers = layer_violations(edges)
    assert [v.split(" ", 1)[0] for v in layers] == [
        "distillscale/laws/bad.py:1",
        "distillscale/laws/bad.py:2",
        "distillscale/laws/bad.py:4",
        "distillscale/laws/bad.py:6",
        "distillscale/report/html.py:1",
    ], layers
    assert "sideways" in layers[0] and "up" in layers[1]
    assert [v.split(" ", 1)[0] for v in cli_violations(edges)] == ["distillscale/report/html.py:1"]
    assert [v.split(" ", 1)[0] for v in study_train_violations(edges)] == [
        "distillscale/study/graph.py:2"
    ]
    assert [v.split(" ", 1)[0] for v in confined_violations(edges)] == [
        "distillscale/planning/plot.py:1",
        "distillscale/planning/plot.py:5",
        "distillscale/study/graph.py:3",
    ]


# --- torch-free imports ------------------------------------------------------------------------

#: Packages that must import without torch (the fitting and planning stack, the run table, the
#: study spec, and the train records that study imports at module level).
TORCH_FREE = (
    "distillscale.laws",
    "distillscale.flops",
    "distillscale.columns",
    "distillscale.runs",
    "distillscale.table",
    "distillscale.runs_import",
    "distillscale.fitting",
    "distillscale.planning",
    "distillscale.study.spec",
    "distillscale.runs.config",
    "distillscale.runs.result",
    "distillscale.train.corpus_id",
    "distillscale.train.hf_config",
)

_PROBE = """
import importlib, json, sys, traceback

class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"torch is hidden by the test ({name})")
        return None

if sys.argv[1] == "hidden":
    sys.meta_path.insert(0, _Hide())
report = {}
for module in sys.argv[2:]:
    before = {m for m in ("torch", "matplotlib", "ray") if m in sys.modules}
    try:
        importlib.import_module(module)
        error = None
    except ImportError:
        error = traceback.format_exc(limit=-3)
    after = {m for m in ("torch", "matplotlib", "ray") if m in sys.modules}
    report[module] = {"error": error, "loaded": sorted(after - before)}
print(json.dumps(report))
"""


def _probe(mode: str, modules: list[str]) -> dict[str, dict[str, object]]:
    """Import ``modules`` in order in one fresh interpreter; per module: error, heavy loaded."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, mode, *modules],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def probes() -> dict[str, dict[str, dict[str, object]]]:
    return {mode: _probe(mode, list(TORCH_FREE)) for mode in ("hidden", "plain")}


@pytest.mark.parametrize("module", TORCH_FREE)
def test_imports_without_torch(
    module: str, probes: dict[str, dict[str, dict[str, object]]]
) -> None:
    hidden = probes["hidden"][module]
    assert hidden["error"] is None, f"{module} needs torch to import:\n{hidden['error']}"
    plain = probes["plain"][module]
    assert plain["error"] is None, plain["error"]
    assert plain["loaded"] == [], (
        f"importing {module} loads {plain['loaded']}; import them where they are used"
    )


def test_probe_detects_an_eager_torch_import() -> None:
    # negative control: with torch hidden, a module that imports torch must fail to import
    result = _probe("hidden", ["json", "torch.nn"])
    assert result["json"]["error"] is None
    assert "hidden by the test" in str(result["torch.nn"]["error"])


#: Packages with a narrower contract than torch-free (docs/architecture.md): what they must
#: not load. ``runs`` is the vocabulary every layer above shares, so it loads no frameworks
#: (numpy only through ``flops``); ``laws`` and ``flops`` are numpy-only.
LEAN: dict[str, tuple[str, ...]] = {
    "distillscale.runs": ("pandas", "scipy", "sqlalchemy", "yaml", "pydantic", "torch"),
    "distillscale.laws": ("pandas", "scipy", "sqlalchemy", "yaml", "pydantic", "torch"),
    "distillscale.flops": ("pandas", "scipy", "sqlalchemy", "yaml", "pydantic", "torch"),
}

_LEAN_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[2:]))))
"""


def _lean_loaded(module: str, banned: tuple[str, ...]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _LEAN_PROBE, module, *banned],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", sorted(LEAN))
def test_lean_packages_load_no_frameworks(module: str) -> None:
    loaded = _lean_loaded(module, LEAN[module])
    assert loaded == [], f"importing {module} loads {loaded}; its contract forbids them"


def test_lean_probe_detects_a_framework() -> None:
    # negative control: the table loads pandas, so the probe must see it
    assert _lean_loaded("distillscale.table", ("pandas",)) == ["pandas"]


def _cycles(edges: Iterable[Edge], package: str) -> list[list[str]]:
    """Import cycles among the modules of ``package`` (imports inside functions count too)."""
    graph: dict[str, set[str]] = {}
    for e in _internal(edges):
        if _under(e.importer, package) and _under(e.target, package) and e.importer != e.target:
            graph.setdefault(e.importer, set()).add(e.target)
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            found.append([*path[path.index(node) :], node])
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*path, node])
        done.add(node)

    for start in sorted(graph):
        visit(start, [])
    return found


def test_train_has_no_import_cycles() -> None:
    # the trainer, data-parallel launcher and logit cache used to import each other (lazily);
    # checkpoints live in train.checkpoint and the launcher is handed the training function
    cycles = _cycles(_src_edges(), "distillscale.train")
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_cycle_finder_sees_a_lazy_cycle(tmp_path: Path) -> None:
    (tmp_path / "distillscale/train").mkdir(parents=True)
    (tmp_path / "distillscale/train/a.py").write_text("import distillscale.train.b\n")
    (tmp_path / "distillscale/train/b.py").write_text(
        "def f():\n    from distillscale.train.a import x\n"
    )
    cycles = _cycles(_tree_edges(tmp_path), "distillscale.train")
    assert cycles and cycles[0][0] == cycles[0][-1]
