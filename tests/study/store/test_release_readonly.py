"""``Store.release`` (an attempt cut short by a signal is not counted) and read-only opening.

Both backends: SQLite, and PostgreSQL when ``DISTILLSCALE_TEST_PG_URL`` is set.
"""

from __future__ import annotations

import pytest
from test_store import spec

from distillscale.errors import InputError
from distillscale.study.store import open_store


def test_release_gives_the_attempt_back(store) -> None:
    store.register(spec("a"))
    assert store.claim("a", "w1", 60, max_attempts=1)
    assert store.release("a", "w1", "interrupted: SIGINT")
    assert store.release("a", "w1", "interrupted: SIGINT")  # idempotent: taken back once
    record = store.get("a")
    assert (record.status, record.attempts) == ("failed", 0)
    assert record.failure_reason == "interrupted: SIGINT"
    assert store.claim("a", "w2", 60, max_attempts=1)  # the one real attempt is still there
    assert not store.release("a", "w1", "late")  # w1 no longer holds it
    assert store.get("a").attempts == 1


def test_opening_read_only_creates_nothing(store_url) -> None:
    with pytest.raises(InputError, match="not a run store|no such file"):
        open_store(store_url, create=False)
    with pytest.raises(InputError, match="not a run store|no such file"):
        open_store(store_url, create=False)  # still nothing there: no tables were made
    with open_store(store_url) as created:
        created.register(spec("a"))
    with open_store(store_url, create=False) as reader:
        assert [r.run_id for r in reader.list_runs()] == ["a"]


def test_a_missing_store_file_names_the_url_for_python_and_the_flag_for_the_cli(tmp_path) -> None:
    from distillscale.cli.errors import cli_message

    with pytest.raises(InputError, match="no such file") as info:
        open_store(tmp_path / "none.sqlite", create=False)
    assert str(info.value).endswith("; run a study first, or give the URL of the store you mean")
    assert cli_message(info.value).endswith(
        "; run a study first, or pass --store (or set DISTILLSCALE_STORE) to the store you mean"
    )
    assert not (tmp_path / "none.sqlite").exists()
