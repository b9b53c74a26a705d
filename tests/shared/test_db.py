"""Which URL and which statement handling a connection gets (direct, pooled, PgBouncer without prepared statements)."""

from shared.db import asyncpg_options, connect_args, direct_database_url
from shared.settings import DatabaseSettings

PRIMARY = "postgresql://citycam@db:5432/citycam"
POOLER = "postgresql://citycam@pgbouncer:6432/citycam"


def test_the_direct_url_defaults_to_the_database_url() -> None:
    settings = DatabaseSettings(DATABASE_URL=POOLER)
    assert direct_database_url(settings=settings) == "postgresql+asyncpg://citycam@pgbouncer:6432/citycam"


def test_the_direct_url_setting_wins_over_the_fallback() -> None:
    settings = DatabaseSettings(DATABASE_URL=POOLER, direct_url=PRIMARY)
    assert direct_database_url(POOLER, settings=settings) == "postgresql+asyncpg://citycam@db:5432/citycam"


def test_pooled_asyncpg_connections_cache_no_statements_without_pooler_support() -> None:
    settings = DatabaseSettings(prepared_statements=False)
    assert asyncpg_options(direct=False, settings=settings) == {"statement_cache_size": 0}


def test_direct_asyncpg_connections_keep_their_statement_cache() -> None:
    settings = DatabaseSettings(prepared_statements=False)
    assert asyncpg_options(direct=True, settings=settings) == {}


def test_pooled_engines_prepare_uncached_uniquely_named_statements() -> None:
    args = connect_args(application_name="t", settings=DatabaseSettings(prepared_statements=False))
    name = args["prepared_statement_name_func"]
    assert args["prepared_statement_cache_size"] == 0 and name() != name()


def test_direct_engines_keep_sqlalchemys_statement_cache() -> None:
    args = connect_args(application_name="t", direct=True, settings=DatabaseSettings(prepared_statements=False))
    assert "prepared_statement_cache_size" not in args and "statement_cache_size" not in args
