"""Schema upgrades of the content store: the tables and columns a newer bookwright adds.

Every change to the schema so far adds a table or a column, so the upgrade is computed
by comparing `schema.metadata` with the live database instead of being kept as numbered
revision files: nobody can forget to write one, and SQLite and Postgres share it. A
change that renames or drops something will need real revisions (alembic) then.

SQLite files are upgraded when a process opens them (one user, one machine). On
Postgres, where many workers share the database and may lack DDL rights, only
`bookwright db migrate` changes the schema; the others refuse to start until it has run.
"""

from __future__ import annotations

import sqlalchemy as sa

from bookwright.store import schema as t

MIGRATE_LOCK = 0x626F6F6B  # pg advisory lock key ("book"): one `db migrate` at a time


def pending(engine: sa.Engine) -> list[str]:
    """What the database lacks: `table` or `table.column`, in schema order."""
    with engine.connect() as conn:
        return pending_on(conn)


def upgrade(engine: sa.Engine) -> list[str]:
    """Create missing tables and add missing columns; return what was changed.

    The second look and the DDL run under one lock (Postgres: an advisory lock; SQLite:
    the file's write lock), so processes opening a new workspace at once (a `write` and
    a `status` from another terminal) never race between them: a look without the lock
    let both see a table missing, and the loser died on "table already exists".
    """
    if not pending(engine):
        return []  # the usual case: nothing to change, no lock taken
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATE_LOCK)))
        elif conn.dialect.name == "sqlite":
            # pysqlite begins no transaction before DDL: take the write lock now, until
            # the commit (the busy timeout waits for another process's DDL to end).
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        missing = pending_on(conn)
        if not missing:
            return []
        t.metadata.create_all(conn)  # new tables (and their indexes)
        for item in missing:
            if "." not in item:
                continue
            table_name, column_name = item.split(".", 1)
            column = t.metadata.tables[table_name].c[column_name]
            conn.execute(sa.text(_add_column_sql(conn.dialect, table_name, column)))
    return missing


def pending_on(conn: sa.Connection) -> list[str]:
    inspector = sa.inspect(conn)
    existing = set(inspector.get_table_names())
    missing: list[str] = []
    for table in t.metadata.sorted_tables:
        if table.name not in existing:
            missing.append(table.name)
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in have]
    return missing


def _add_column_sql(dialect: sa.Dialect, table: str, column: sa.Column) -> str:  # type: ignore[type-arg]
    kind = column.type.compile(dialect=dialect)
    sql = f'ALTER TABLE "{table}" ADD COLUMN "{column.name}" {kind}'
    default = column.default.arg if column.default is not None else None  # type: ignore[attr-defined]
    if isinstance(default, bool):
        sql += f" NOT NULL DEFAULT {'TRUE' if default else 'FALSE'}"
        if dialect.name == "sqlite":
            sql = sql.replace("TRUE", "1").replace("FALSE", "0")
    elif isinstance(default, int | float):
        sql += f" NOT NULL DEFAULT {default}"
    return sql
