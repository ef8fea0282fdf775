"""The reads of the SQL stores: experiments, runs, metric headers, point chunks, owners.

Every statement is written once (``?`` marks, the dialect's spellings) and runs through
the transactions of :mod:`.transactions`. Incremental reads (``find_runs(changed_after=)``,
``read_chunks(after_chunk_id=)``) are plain ``>`` comparisons: the write path draws the
numbers in commit order (see :mod:`.store`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

from ..base import TagFilter
from ..entities import ExperimentRecord, MetricInfo, OwnerRecord, PointChunk, RunRecord
from ..run_query import RunColumns, RunPage, RunQuery, page_of
from . import run_query as run_pages
from .rows import (
    CHUNK_COLUMNS,
    METRIC_COLUMNS,
    OWNER_COLUMNS,
    RUN_COLUMNS,
    metric_info,
    owner_record,
    point_chunk,
    run_record,
)
from .transactions import SqlTransactions, retried


class SqlReads(SqlTransactions):
    """The read methods of ``TrackingStore`` for a SQL store (a base of ``SqlStore``)."""

    # ---------------------------------------------------------------- experiments --
    @retried
    def current_seq(self) -> int:
        """The change sequence number of the last committed write."""
        with self._reading() as conn:
            return int(conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0])

    @retried
    def get_experiment(self, name: str) -> ExperimentRecord | None:
        """The experiment called ``name``, or ``None``."""
        with self._reading() as conn:
            row = self.dialect.execute(
                conn, "SELECT id, name, created_at FROM experiments WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else ExperimentRecord(int(row[0]), str(row[1]), float(row[2]))

    @retried
    def list_experiments(self) -> list[ExperimentRecord]:
        """All experiments, oldest first."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT id, name, created_at FROM experiments ORDER BY id"
            ).fetchall()
        return [ExperimentRecord(int(r[0]), str(r[1]), float(r[2])) for r in rows]

    # ------------------------------------------------------------------------ runs --
    @retried
    def _select_runs(
        self, where: str, params: Sequence[Any], order: str = "", limit: int | None = None
    ) -> list[RunRecord]:
        """Runs matching ``where`` (on ``runs r``, ``?`` marks) with tags and properties.

        One statement (one snapshot, one round trip): tags and properties come as JSON
        objects aggregated per run.
        """
        d = self.dialect
        limit_sql = f" LIMIT {int(limit)}" if limit is not None else ""
        with self._reading() as conn:
            rows = d.execute(
                conn,
                f"SELECT {RUN_COLUMNS},"
                f" (SELECT {d.object_agg}(t.key, t.value) FROM tags t WHERE t.run_id = r.id),"
                f" (SELECT {d.object_agg}(p.key, p.value) FROM properties p"
                " WHERE p.run_id = r.id)"
                " FROM runs r JOIN experiments e ON e.id = r.experiment_id"
                f" WHERE {where} {order}{limit_sql}",
                params,
            ).fetchall()
        return [run_record(row) for row in rows]

    def get_run(self, run_id: str) -> RunRecord | None:
        """One run with its tags and properties, or ``None``."""
        runs = self._select_runs("r.id = ?", [run_id])
        return runs[0] if runs else None

    def find_runs(
        self,
        *,
        experiment_id: int | None = None,
        parent_id: str | None = None,
        top_level_only: bool = False,
        run_type: str | None = None,
        status: str | None = None,
        tags: TagFilter = None,
        properties: TagFilter = None,
        changed_after: int | None = None,
        limit: int | None = None,
    ) -> list[RunRecord]:
        """Runs matching every given filter, newest first."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("r.experiment_id", experiment_id),
            ("r.parent_id", parent_id),
            ("r.run_type", run_type),
            ("r.status", status),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if top_level_only:
            clauses.append("r.parent_id IS NULL")
        if changed_after is not None:
            clauses.append("r.change_seq > ?")
            params.append(changed_after)
        exists = "EXISTS (SELECT 1 FROM {} x WHERE x.run_id = r.id AND x.key = ?{})"
        for table, wanted in (("tags", tags), ("properties", properties)):
            if isinstance(wanted, str):  # the run has that key
                clauses.append(exists.format(table, ""))
                params.append(wanted)
                continue
            for key, value in (wanted or {}).items():  # the key with that value (None: NULL)
                clauses.append(
                    exists.format(table, f" AND x.value {self.dialect.null_safe_equal} ?")
                )
                params.extend([key, value])
        return self._select_runs(
            " AND ".join(clauses) or self.dialect.true,
            params,
            order="ORDER BY r.created_at DESC, r.number DESC",
            limit=limit,
        )

    @retried
    def query_runs(self, query: RunQuery) -> RunPage:
        """One page of runs, filtered and sorted in SQL (see ``store.sql.run_query``)."""
        d = self.dialect
        with self._snapshot_read() as conn:
            ids, total = run_pages.page_ids(conn, d, query)
        if not ids:
            return RunPage(records=(), total=total, metrics={})
        found = {r.id: r for r in self._select_runs(d.in_clause("r.id"), [d.values_param(ids)])}
        records = [found[run_id] for run_id in ids if run_id in found]
        return page_of(self, records, total, query.with_metrics)

    @retried
    def run_columns(self, query: RunQuery) -> RunColumns:
        """Tag keys and scalar metric names of the query's scope, counted in SQL."""
        with self._snapshot_read() as conn:
            return run_pages.run_columns(conn, self.dialect, query)

    @retried
    def descendant_ids(self, run_id: str) -> list[str]:
        """Ids of every run below ``run_id``, breadth first."""
        with self._reading() as conn:
            rows = self.dialect.execute(
                conn,
                "WITH RECURSIVE tree(id) AS ("
                " SELECT id FROM runs WHERE parent_id = ?"
                " UNION ALL SELECT r.id FROM runs r JOIN tree t ON r.parent_id = t.id)"
                " SELECT id FROM tree",
                (run_id,),
            ).fetchall()
        return [str(row[0]) for row in rows]

    # --------------------------------------------------------------------- metrics --
    @retried
    def metric_infos(self, run_ids: Iterable[str]) -> list[MetricInfo]:
        """Metric headers of the given runs, in the order the metrics were created."""
        ids = list(run_ids)
        if not ids:
            return []
        d = self.dialect
        with self._reading() as conn:
            rows = d.select_in(
                conn, f"SELECT {METRIC_COLUMNS} FROM metrics", "run_id", ids, " ORDER BY id"
            )
        return [metric_info(row) for row in rows]

    @retried
    def read_chunks(
        self,
        run_id: str,
        *,
        after_chunk_id: int = 0,
        names: Iterable[str] | None = None,
    ) -> list[PointChunk]:
        """Chunks of one run newer than ``after_chunk_id``, optionally for some metrics."""
        d = self.dialect
        sql = (
            f"SELECT {CHUNK_COLUMNS} FROM chunks c JOIN metrics m ON m.id = c.metric_id"
            " WHERE c.run_id = ? AND c.id > ?"
        )
        params: list[Any] = [run_id, after_chunk_id]
        if names is not None:
            wanted = list(names)
            if not wanted:
                return []
            term, param = d.one_of("m.name", wanted)
            sql += f" AND {term}"
            params.append(param)
        sql += " ORDER BY c.id"
        with self._reading() as conn, contextlib.closing(d.blob_cursor(conn)) as cursor:
            rows = cursor.execute(d.sql(sql), params).fetchall()
        return [point_chunk(row, run_id) for row in rows]

    @retried
    def last_chunk_id(self, run_id: str) -> int:
        """Id of the newest chunk of a run (0 if it has none)."""
        with self._reading() as conn:
            row = self.dialect.execute(
                conn, "SELECT MAX(id) FROM chunks WHERE run_id = ?", (run_id,)
            ).fetchone()
        return int(row[0] or 0)

    # ---------------------------------------------------------------------- owners --
    @retried
    def get_owners(self, owner_ids: Iterable[int]) -> dict[int, OwnerRecord]:
        """Owner records by id."""
        ids = sorted(set(owner_ids))
        if not ids:
            return {}
        with self._reading() as conn:
            rows = self.dialect.select_in(conn, f"SELECT {OWNER_COLUMNS} FROM owners", "id", ids)
        return {int(r[0]): owner_record(r) for r in rows}
