import pytest
from _store_pg import PG_SKIP, PG_URL, pg_schema_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        yield str(tmp_path / "runs.sqlite")
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    url, drop = pg_schema_url()
    yield url
    drop()


@pytest.fixture
def store(store_url):
    from distillscale.study.store import open_store

    with open_store(store_url) as s:
        yield s
