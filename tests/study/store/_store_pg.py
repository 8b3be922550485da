"""PostgreSQL test settings and per-test schemas for the store tests (a sibling module)."""

import os
import uuid

import sqlalchemy as sa

PG_URL = os.environ.get("DISTILLSCALE_TEST_PG_URL")
PG_SKIP = "DISTILLSCALE_TEST_PG_URL is not set (.ci/run starts a server and sets it)"


def pg_schema_url():
    """Create a fresh schema on the test server; return (url string, drop function)."""
    schema = f"ds_test_{uuid.uuid4().hex[:12]}"
    base = sa.make_url(PG_URL)
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})

    def drop():
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    return url.render_as_string(hide_password=False), drop
