"""A store on any SQLAlchemy database URL (PostgreSQL for shared deployments).

Imported only when a non-SQLite URL is configured, so the learner's kernel does not pay for
SQLAlchemy when it uses the embedded default.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ._base import Event, Filters, Store
from ._sqlite import _event

_metadata = sa.MetaData()
events_table = sa.Table(
    "events",
    _metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("learner", sa.Text, nullable=False),
    sa.Column("module", sa.Text, nullable=False),
    sa.Column("item", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("schema", sa.Integer, nullable=False),
    sa.Index("events_lookup", "learner", "module", "item", "kind"),
)


class SQLAlchemyStore(Store):
    """A :class:`Store` over a SQLAlchemy engine; the table is created if missing."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        self._engine = sa.create_engine(url, future=True, **engine_options)
        _metadata.create_all(self._engine)

    def append(self, event: Event) -> int:
        with self._engine.begin() as conn:
            result = conn.execute(
                events_table.insert().values(
                    learner=event.learner,
                    module=event.module,
                    item=event.item,
                    kind=event.kind,
                    value=event.value_json(),
                    time=event.time,
                    schema=event.schema,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def _select(self, filters: Filters) -> list[Event]:
        t = events_table.c
        query = sa.select(t.id, t.learner, t.module, t.item, t.kind, t.value, t.time, t.schema)
        kind_prefix = filters.get("kind_prefix")
        for name, value in filters.items():
            if value is not None and name != "kind_prefix":
                query = query.where(t[name] == value)
        if kind_prefix is not None:
            query = query.where(sa.func.substr(t.kind, 1, len(kind_prefix)) == kind_prefix)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(t.id)).all()
        return [_event(tuple(row)) for row in rows]

    def revision(self, learner: str) -> tuple[int, int]:
        t = events_table.c
        query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(t.id), 0)).where(
            t.learner == learner
        )
        with self._engine.connect() as conn:
            count, newest = conn.execute(query).one()
        return int(count), int(newest)

    def close(self) -> None:
        self._engine.dispose()

    def __repr__(self) -> str:
        return f"SQLAlchemyStore({self._engine.url.render_as_string(hide_password=True)!r})"
