"""A store password never reaches a file of the study directory, nor the command's output.

Issue 9.4: 0.1.0 copied ``store: postgresql+psycopg://user:PASSWORD@host/db`` in cleartext into
``spec.json``, ``study.yaml`` and ``report/index.html``. The study here runs on a PostgreSQL
server of the tests' own (tests/faults/pg_server.py), whose password (written percent-encoded in
the URL, known decoded by the server) appears nowhere else; the shared test server's password
(``distillscale``) is also the package's name, so a search for it would find the package.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import cli_env, leaks, result_doc, run_cli, small_spec, write_yaml
from .pg_server import ThrowawayPostgres


def _spec(**overrides: object) -> dict:
    """The small study with every output on: fits (notes), plan, report and its plots."""
    return small_spec(
        report=True, fit={"bootstrap": 0, "holdout": 0.0}, plan={"enabled": True}, **overrides
    )


def _assert_clean(pg: ThrowawayPostgres, study: Path, *outputs: str) -> None:
    assert leaks(study, pg.secrets()) == []
    for text in outputs:
        for secret in pg.secrets():
            assert secret not in text


@pytest.mark.slow  # two studies and a `runs list`: 45 s of wall time on a loaded two-core machine
def test_store_password_is_redacted_everywhere(pg: ThrowawayPostgres, tmp_path: Path) -> None:
    url = pg.create_database()
    shown = url.replace(url.split(":")[2].split("@")[0], "***")
    study = tmp_path / "study"

    # 1. the password in the spec's store:
    spec = write_yaml(tmp_path / "with_store.yaml", _spec(store=url))
    first = run_cli("run", str(spec), "--out", str(study), "--json")
    doc = result_doc(first)
    assert doc["done"] == doc["runs"] == 3 and doc["trained"] == 4
    for written in ("report/index.html", "report/curves.png", "fits/notes.json", "plan.json"):
        assert (study / written).is_file()
    _assert_clean(pg, study, first.stdout, first.stderr)
    assert json.loads((study / "spec.json").read_text())["store"] == shown
    assert shown in (study / "study.yaml").read_text()
    assert shown in (study / "report" / "index.html").read_text()

    # 2. the same study from a spec without the password, which reaches `run --store` from the
    # environment ("$DISTILLSCALE_STORE"): the rerun resumes from the real URL it was given,
    # not from the redacted copies in the study directory
    spec = write_yaml(tmp_path / "without_store.yaml", _spec())
    env = cli_env(DISTILLSCALE_STORE=url)
    again = run_cli("run", str(spec), "--out", str(study), "--store", url, "--json", env=env)
    doc = result_doc(again)
    assert doc["done"] == 3 and doc["trained"] == 0
    assert not (study / "store.sqlite").exists()
    assert json.loads((study / "spec.json").read_text())["store"] == shown
    _assert_clean(pg, study, again.stdout, again.stderr)

    # 3. `runs list` finds the runs through $DISTILLSCALE_STORE alone, and shows no password
    listed = run_cli("runs", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)["runs"]) == 4
    _assert_clean(pg, study, listed.stdout, listed.stderr)


def test_redact_text_finds_the_password_outside_urls() -> None:
    from distillscale.study.store.url import redact_document, redact_text

    url = "postgresql+psycopg://u:p%2Fss%20word@h:5432/db"
    folded = "store: >-\n  postgresql+psycopg://u:p/ss\n  word@h:5432/db\nnote: p/ss word\n"
    text = redact_text(folded, url)
    assert "p/ss word" not in text and "p%2Fss%20word" not in text
    assert redact_text(f"store: {url}\n") == "store: postgresql+psycopg://u:***@h:5432/db\n"
    # a short password is redacted inside URLs only: elsewhere it would hit ordinary words
    assert redact_text("store: sqlite://u:pw@h\nname: pwd", "sqlite://u:pw@h") == (
        "store: sqlite://u:***@h\nname: pwd"
    )
    doc = {"store": url, "nested": [{"k": "x p/ss word y"}], "n": 1}
    assert redact_document(doc, url) == {
        "store": "postgresql+psycopg://u:***@h:5432/db",
        "nested": [{"k": "x *** y"}],
        "n": 1,
    }
