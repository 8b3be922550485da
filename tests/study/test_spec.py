from __future__ import annotations

import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillscale.errors import InputError
from distillscale.study.graph import build_graph
from distillscale.study.spec import StudySpec, load_spec, parse_spec

BASE = {
    "teachers": {"depths": [1, 2], "tokens_per_param": [20]},
    "students": {"depths": [1], "tokens": [100000]},
}


def _doc(**changes):
    import copy

    doc = copy.deepcopy(BASE)
    for path, value in changes.items():
        node = doc
        keys = path.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return doc


def test_valid_spec_has_documented_defaults():
    spec = parse_spec(BASE)
    assert spec.executor.kind == "local" and spec.executor.workers == 2
    assert spec.data.corpus == "stdlib" and spec.data.vocab == 256
    assert spec.baselines.match == "flops"
    assert spec.store is None and spec.seeds == [0]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_doc(teachers__widths=[1]), "teachers.widths: unknown key; allowed here: depths"),
        (_doc(colour="blue"), "colour: unknown key; allowed here:"),
        (_doc(teachers__depths=[1, "two"]), "teachers.depths[1]"),
        (_doc(training__batch_size=0), "training.batch_size"),
        (_doc(training__lr=float("nan")), "training.lr"),
        (_doc(training__lr={1: 0.01}), "training.lr has no learning rate for depth(s) [2]"),
        (
            _doc(training__lr={1: 0.01, 2: -1.0}),
            "training.lr[2]: Input should be greater than 0 (found -1.0)",
        ),
        (_doc(executor__kind="slurm"), "executor.kind"),
        (_doc(students__teachers=["d9-m20"]), None),  # checked when the graph is built
        (_doc(name="../../etc"), "name"),
        (_doc(seeds=[1, 1]), "seeds repeat"),
        (_doc(fit__fix={"c1": "busbridge"}), "published set"),
        (_doc(fit__fix={"bogus": 1.0}), "fit: fix: bogus=...: law 'distillation' has no parameter"),
        (_doc(fit__fix={"c1": "@nosuchset"}), "unknown published coefficient set '@nosuchset'"),
        (_doc(fit__fix={"alpha": "@besiroglu2024"}), "that set is for law 'chinchilla'"),
        (_doc(fit__supervised_fix={"c1": 1.0}), "law 'chinchilla' has no parameter 'c1'"),
        (_doc(fit__supervised_fix={"E": 0.0}), "fit: supervised_fix: E=0.0: E must be > 0"),
        (_doc(fit__supervised_fix={"alpha": "@busbridge2025"}), "that set is for law 'distil"),
        (
            _doc(
                fit__supervised="chinchilla-gamma", fit__supervised_fix={"gamma": "@hoffmann2022"}
            ),
            "that set is for law 'chinchilla', not 'chinchilla-gamma'",
        ),
        ({"students": BASE["students"]}, "teachers: required key is missing"),
        ([1, 2], "must be a YAML mapping"),
    ],
)
def test_invalid_specs_name_the_key(doc, message):
    if message is None:
        with pytest.raises(InputError, match=r"students.teachers\[0\]: 'd9-m20' is not a teacher"):
            build_graph(parse_spec(doc))
        return
    with pytest.raises(InputError) as err:
        parse_spec(doc)
    assert message in str(err.value)


def test_per_depth_learning_rates_reach_every_run_of_that_depth():
    spec = parse_spec(_doc(training__lr={1: 0.02, 2: 0.005}))
    graph = build_graph(spec)
    by_depth = {}
    for node in graph.runs:
        by_depth.setdefault(node.depth, set()).add(node.config.lr)
    assert by_depth == {1: {0.02}, 2: {0.005}}
    # one number still means every run
    assert {n.config.lr for n in build_graph(parse_spec(BASE)).runs} == {3e-3}


def test_supervised_fix_accepts_numbers_and_sets_of_its_law():
    spec = parse_spec(_doc(fit__supervised_fix={"alpha": "@besiroglu2024", "beta": 0.37}))
    assert spec.fit.supervised_fix == {"alpha": "@besiroglu2024", "beta": 0.37}
    assert parse_spec(BASE).fit.supervised_fix == {}


def test_impossible_sizes_are_input_errors():
    spec = parse_spec(_doc(students__tokens=[100]))
    with pytest.raises(InputError, match=r"students.tokens\[0\]: 100 tokens is less than one"):
        build_graph(spec)
    spec = parse_spec(_doc(teachers__tokens_per_param=[1e-9]))
    with pytest.raises(InputError, match=r"teachers.tokens_per_param\[0\]"):
        build_graph(spec)


def test_missing_corpus_and_bad_yaml(tmp_path):
    path = tmp_path / "s.yaml"
    doc = _doc(data__corpus="no/such/dir")
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(InputError, match="data.corpus: 'no/such/dir' does not exist"):
        load_spec(path)
    path.write_text("teachers: [1, 2\n")
    with pytest.raises(InputError, match="line 2.*invalid YAML"):
        load_spec(path)
    with pytest.raises(InputError, match="no such study spec file"):
        load_spec(tmp_path / "missing.yaml")


def test_corpus_is_relative_to_the_spec_file(tmp_path):
    (tmp_path / "corpus.txt").write_text("hello " * 100)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(_doc(data__corpus="corpus.txt")))
    assert load_spec(path).data.corpus == str(tmp_path / "corpus.txt")


KEYS = sorted(
    {*StudySpec.model_fields, "depths", "tokens", "tokens_per_param", "isoflop", "budgets"}
    | {"corpus", "seq_len", "aspect", "head_dim", "workers", "kind", "fix", "teachers", "x"}
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=5
        ),
    ),
    max_leaves=25,
)
depths = st.one_of(values, st.lists(st.integers(min_value=-2, max_value=64), max_size=3))
numbers = st.one_of(
    values, st.lists(st.one_of(st.integers(-10, 10**20), st.floats(-1e30, 1e30)), max_size=3)
)


def _check(document):
    try:
        spec = parse_spec(document)
        build_graph(spec)
    except InputError:
        pass


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=6))
def test_fuzz_documents_raise_only_input_errors(document):
    _check(document)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=string.printable, max_size=200))
def test_fuzz_yaml_text_raises_only_input_errors(text):
    from distillscale.study.spec import load_yaml

    try:
        _check(load_yaml(text, source="fuzz.yaml"))
    except InputError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.fixed_dictionaries(
        {"teachers": st.fixed_dictionaries({"depths": depths, "tokens_per_param": numbers}),
         "students": st.fixed_dictionaries({"depths": depths, "tokens": numbers})},
        optional={"data": values, "model": values, "training": values, "fit": values},
    )
)  # fmt: skip
def test_fuzz_near_valid_documents(document):
    _check(document)
