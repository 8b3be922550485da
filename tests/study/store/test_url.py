import pytest

from distillscale.errors import InputError
from distillscale.study.store import default_store_url, open_store, redact_url
from distillscale.study.store.url import to_url


def test_redact_url():
    assert redact_url("postgresql+psycopg://bob:s3cr3t@db:5432/x") == (
        "postgresql+psycopg://bob:***@db:5432/x"
    )
    assert redact_url("sqlite:///tmp/a.sqlite") == "sqlite:///tmp/a.sqlite"
    assert redact_url("postgresql://bob@db/x") == "postgresql://bob@db/x"
    assert "p@ss" not in redact_url(to_url("postgresql://bob:p%40ss@db/x"))


def test_paths_and_drivers(tmp_path):
    assert to_url(tmp_path / "a.sqlite").database == str(tmp_path / "a.sqlite")
    assert to_url("postgresql://u:p@h/d").drivername == "postgresql+psycopg"


def test_default_store(monkeypatch):
    monkeypatch.delenv("DISTILLSCALE_STORE", raising=False)
    assert default_store_url() == "distillscale.sqlite"
    monkeypatch.setenv("DISTILLSCALE_STORE", "/x/y.sqlite")
    assert default_store_url() == "/x/y.sqlite"


def test_unreachable_server_redacts_password():
    # port 1 on loopback: nothing listens, the connection is refused at once
    url = "postgresql+psycopg://alice:hunter2secret@127.0.0.1:1/nowhere"
    with pytest.raises(InputError) as info:
        open_store(url)
    message = str(info.value)
    assert "hunter2secret" not in message
    assert "alice:***@127.0.0.1:1" in message and "server is running" in message


def test_bad_urls(tmp_path):
    with pytest.raises(InputError, match="not supported"):
        open_store("mysql://u:topsecret@h/d")
    with pytest.raises(InputError, match="neither a file path") as info:
        open_store("://u:topsecret@")
    assert "topsecret" not in str(info.value)
    with pytest.raises(InputError, match="no such file"):
        open_store(tmp_path / "missing.sqlite", create=False)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(InputError, match="cannot open run store"):
        open_store(garbage)


@pytest.mark.postgres
def test_wrong_password_is_input_error_without_the_password():
    import sqlalchemy as sa
    from _store_pg import PG_SKIP, PG_URL

    if not PG_URL:
        pytest.skip(PG_SKIP)
    url = sa.make_url(PG_URL).set(password="wrong-Pa55word").render_as_string(hide_password=False)
    with pytest.raises(InputError, match="cannot open run store") as info:
        open_store(url)
    assert "wrong-Pa55word" not in str(info.value) and ":***@" in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://u:p@Zq9tail@127.0.0.1:1/db",
        "postgresql+psycopg://u:p@Zq9 tail@127.0.0.1:1/db",
        "postgresql://bob@corp:p@Zq9tail@db/x",
    ],
)
def test_an_unencoded_at_in_a_password_is_hidden_whole_and_refused(url):
    # The pattern stopped at the first '@': 'u:***@Zq9tail@127.0.0.1' leaked the rest (Zq9tail).
    shown = redact_url(url)
    assert "Zq9" not in shown and "***@" in shown
    with pytest.raises(InputError, match="%40") as info:
        open_store(url)
    assert "Zq9" not in str(info.value)


@pytest.mark.parametrize("location", ["a\x00.sqlite", "sqlite:///tmp/a\x00.sqlite"])
def test_a_nul_byte_in_a_store_location_is_an_input_error(location):
    with pytest.raises(InputError, match="NUL byte"):
        open_store(location)
