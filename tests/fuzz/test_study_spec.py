"""Fuzz study specs: ``load_spec`` on random YAML and on mutated valid specs, and the run graph.

Guarantees under test: any YAML file is either a valid :class:`StudySpec` or an ``InputError``
that names the file and, for a damaged spec, the key path; YAML tags that build Python objects
are refused by the safe loader and never run; every path a study writes is derived from hex
run ids, so no spec value can place a file outside the study directory.
"""

from __future__ import annotations

import copy
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from distillscale.cli import main
from distillscale.errors import InputError
from distillscale.study.graph import build_graph
from distillscale.study.spec import load_spec
from study.specs import TINY as STUDY_TINY

from ._fuzz import count, doc_paths, fuzz_settings

_TMP = Path(tempfile.mkdtemp(prefix="distillscale-fuzz-spec-"))

#: The study package's own test spec with a fixed throughput, so that ``--dry-run`` prices
#: wall time without timing a training step.
TINY: dict[str, Any] = {**STUDY_TINY, "throughput": 1e9}
_HEX_ID = re.compile(r"^[0-9a-f]{8,64}$")

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.sampled_from(
        ["all", "../../escape", "/etc/passwd", "@busbridge2025", "ray", "bpe", "d1-m0.05"]
    ),
)
_YAML_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _write(text: str, name: str = "study.yaml") -> Path:
    path = _TMP / name
    path.write_text(text, encoding="utf-8")
    return path


@st.composite
def mutated_spec(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """TINY with one key deleted, replaced by arbitrary YAML, or one unknown key added."""
    doc = copy.deepcopy(TINY)
    path = draw(st.sampled_from(doc_paths(doc)))
    parent: Any = doc
    for part in path[:-1]:
        parent = parent[part]
    action = draw(st.sampled_from(["delete", "replace", "replace", "add"]))
    if action == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "add" and isinstance(parent, dict):
        parent[draw(st.sampled_from(["nmae", "depth", "extra", "ünïcødé"]))] = draw(_YAML_VALUES)
    else:
        parent[path[-1]] = draw(_YAML_VALUES)
    return doc, path


def _check_graph(spec: Any) -> None:
    """A spec that validates expands into runs whose ids (and so file names) are hex digests."""
    try:
        graph = build_graph(spec)
    except InputError:
        return
    for node in graph.runs:
        assert _HEX_ID.fullmatch(node.run_id), node.run_id
    for cache in graph.caches:
        assert _HEX_ID.fullmatch(cache.cache_id), cache.cache_id
        assert Path(cache.path).parts[0] == "caches" and ".." not in Path(cache.path).parts


@fuzz_settings(100)
@given(doc=_YAML_VALUES)
def test_random_yaml_documents_are_specs_or_input_errors_naming_the_file(doc: Any) -> None:
    count("spec.random_yaml")
    path = _write(yaml.safe_dump(doc, allow_unicode=True))
    try:
        spec = load_spec(path)
    except InputError as exc:
        assert str(exc).startswith((str(path), path.name)), str(exc)
        return
    _check_graph(spec)


@fuzz_settings(60)
@given(text=st.text(alphabet=":-[]{}!&*#|>'\"%@` \n\tabc12", max_size=80))
def test_random_yaml_text_is_an_input_error_or_a_spec(text: str) -> None:
    count("spec.random_text")
    path = _write(text)
    try:
        load_spec(path)
    except InputError as exc:
        assert str(exc).startswith((str(path), path.name)), str(exc)


@fuzz_settings(150)
@given(case=mutated_spec())
def test_mutated_specs_fail_naming_the_key_path(
    case: tuple[dict[str, Any], tuple[Any, ...]],
) -> None:
    count("spec.mutated")
    doc, mutated = case
    path = _write(yaml.safe_dump(doc, allow_unicode=True))
    try:
        spec = load_spec(path)
    except InputError as exc:
        message = str(exc)
        assert message.startswith(path.name) or message.startswith(str(mutated[0])), message
        assert str(mutated[0]) in message or "unknown key" in message, message
        return
    try:
        graph = build_graph(spec)
    except InputError as exc:
        assert str(mutated[0]) in str(exc) or "depth" in str(exc), str(exc)
        return
    _check_graph(spec)
    assert graph.runs


def test_the_unmutated_spec_is_valid() -> None:
    spec = load_spec(_write(yaml.safe_dump(TINY)))
    assert spec.name == "tiny" and len(build_graph(spec).runs) >= 3


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
        "!!python/name:os.system",
        "!!python/object:pathlib.Path {{}}",
    ],
)
def test_python_tags_are_refused_and_never_run(tag: str) -> None:
    marker = _TMP / "pwned"
    marker.unlink(missing_ok=True)
    text = yaml.safe_dump(TINY) + "store: " + tag.format(marker=marker) + "\n"
    path = _write(text)
    with pytest.raises(InputError, match=r"invalid YAML") as info:
        load_spec(path)
    assert str(path) in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("name", "../../escape"),
        ("name", "/tmp/abs"),
        ("name", "a/b"),
        ("name", ".."),
        ("name", ""),
    ],
)
def test_a_study_name_cannot_become_a_path(key: str, value: str) -> None:
    doc = copy.deepcopy(TINY)
    doc[key] = value
    with pytest.raises(InputError, match=rf"{key}: .*not allowed"):
        load_spec(_write(yaml.safe_dump(doc)))


def test_teacher_names_with_dot_dot_are_unknown_teachers() -> None:
    doc = copy.deepcopy(TINY)
    doc["students"]["teachers"] = ["../../d1-m0.05"]
    spec = load_spec(_write(yaml.safe_dump(doc)))
    with pytest.raises(
        InputError, match=r"students.teachers\[0\]: '../../d1-m0.05' is not a teacher"
    ):
        build_graph(spec)


# --- through the CLI (``run --dry-run`` trains nothing) -------------------------------------
@fuzz_settings(40)
@given(case=mutated_spec())
def test_cli_run_dry_run_on_mutated_specs_exits_0_or_2(
    case: tuple[dict[str, Any], tuple[Any, ...]],
    capsys: pytest.CaptureFixture[str],
    fast_cli: None,
) -> None:
    count("spec.cli_dry_run")
    doc, _ = case
    if "throughput" not in doc or doc["throughput"] is None:
        doc["throughput"] = 1e9  # else --dry-run times a real training step
    path = _write(yaml.safe_dump(doc, allow_unicode=True))
    out = _TMP / "study-out"
    capsys.readouterr()
    status = main(["run", str(path), "--dry-run", "--json", "--out", str(out)])
    captured = capsys.readouterr()
    assert status in (0, 2), captured.err
    assert "Traceback" not in captured.err
    assert not out.exists()  # a dry run writes nothing
    if status == 0:
        assert yaml.safe_load(captured.out)["runs"]
    else:
        assert captured.out == "" and captured.err.startswith("error:")
