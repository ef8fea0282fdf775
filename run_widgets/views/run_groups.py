"""The experiment view's groups: every run the table keeps, in the group of its key's value.

:class:`RunGroups` holds, for a grouping key (or keys), each run's value, the groups made of
them (newest run first in each), a colour per group kept while the group stays, and the
groups' bands per chart. ``ExperimentModel`` feeds it: :meth:`RunGroups.load` reads every
run the table's filters keep (pages of the store, without their metrics),
:meth:`RunGroups.update` the runs a poll found changed (a run that joins, leaves or changes
its value). :meth:`RunGroups.lines` turns the members' series into the chart's lines: one
per group (``views.groups.band``), and on request the members' own. A band is computed
again only when a member's series grew. Pure data: tested without a kernel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..store import RunQuery, RunRecord
from ..store.run_query import MAX_PAGE_SIZE, matches
from . import groups, overlay
from .experiment_reader import ExperimentReader
from .export import SeriesData
from .groups import Band, Group
from .overlay import RunSeries

Version = list[tuple[str, int]]
"""The members of a band and how many points of the metric each held."""


class RunGroups:
    """Runs grouped by ``keys`` (see the module docstring).

    Args:
        keys: the grouping key(s) (``groups.parse_group_by``).
        center: the group line: ``"mean"`` or ``"median"``.
        spread: the band: ``"std"`` or ``"minmax"``.
    """

    def __init__(self, keys: tuple[str, ...], center: str = "mean", spread: str = "std") -> None:
        groups.check_band_options(center, spread)
        self.keys = keys
        self.center = center
        self.spread = spread
        self.values: dict[str, tuple[Any, ...] | None] = {}
        self.numbers: dict[str, int] = {}
        self.groups: list[Group] = []
        self.colors: dict[str, str] = {}
        self.param_names: set[str] = set()
        self._bands: dict[tuple[Any, ...], tuple[Version, Band]] = {}

    # ---------------------------------------------------------------------- members --
    def load(self, reader: ExperimentReader, query: RunQuery) -> None:
        """Read every run ``query``'s filters keep, with its group value."""
        values: dict[str, tuple[Any, ...] | None] = {}
        numbers: dict[str, int] = {}
        page_query = replace(
            query,
            sort="number",
            descending=True,
            offset=0,
            limit=MAX_PAGE_SIZE,
            with_metrics=False,  # only the runs' parameters are needed
        )
        offset = 0
        while True:
            page = reader.query_runs(replace(page_query, offset=offset))
            for record in page.records:
                values[record.id] = self._value_of(record)
                numbers[record.id] = record.number
            offset += len(page.records)
            if not page.records or offset >= page.total:
                break
        self.values, self.numbers = values, numbers
        self._make()

    def update(self, changed: Sequence[RunRecord], query: RunQuery) -> bool:
        """Keep membership right from the runs that changed; True if it changed."""
        moved = False
        for record in changed:
            if matches(record, query):
                value = self._value_of(record)
                if record.id not in self.values or self.values[record.id] != value:
                    self.values[record.id] = value
                    self.numbers[record.id] = record.number
                    moved = True
            elif record.id in self.values:
                del self.values[record.id]
                del self.numbers[record.id]
                moved = True
        if moved:
            self._make()
        return moved

    def _value_of(self, record: RunRecord) -> tuple[Any, ...] | None:
        params = groups.group_params(record)
        self.param_names.update(params)
        return groups.group_value(params, self.keys)

    def check(self) -> None:
        """Refuse keys no run has (once there are runs: runs with the key may still come).

        Raises:
            ValueError: no run has the key(s); the message lists the keys the runs have.
        """
        if self.values and all(value is None for value in self.values.values()):
            known = sorted(self.param_names, key=str.lower)
            raise ValueError(
                f"No run has {' and '.join(repr(k) for k in self.keys)} among its tags, "
                f"arguments, hyperparameters or properties (keys: {', '.join(known) or 'none'})."
            )

    def _make(self) -> None:
        self._bands.clear()
        order = sorted(self.numbers, key=lambda r: -self.numbers[r])
        made = groups.make_groups(self.keys, self.values, order, overlay.PALETTE)
        self.colors = overlay.assign_colors(
            [g.label for g in made[: groups.MAX_GROUPS]], self.colors
        )
        self.groups = [replace(g, color=self.colors.get(g.label, g.color)) for g in made]

    def shown(self) -> list[Group]:
        """The groups the charts show (the first ``MAX_GROUPS`` in value order)."""
        return self.groups[: groups.MAX_GROUPS]

    def members(self) -> list[str]:
        """The runs whose series the shown groups' bands are computed over."""
        return [run_id for group in self.shown() for run_id in group.band_members]

    def label_of(self, run_id: str) -> str:
        """The label of a run's group (``"(none)"`` without the key)."""
        return groups.group_label(self.keys, self.values.get(run_id))

    def color_of(self, run_id: str) -> str:
        """The colour of a run's group (``""`` for a run not grouped)."""
        return self.colors.get(self.label_of(run_id), "") if run_id in self.values else ""

    # ------------------------------------------------------------------------ lines --
    def lines(
        self,
        name: str,
        series: Mapping[str, RunSeries],
        mode: str,
        smoothing: float,
        show_members: bool = False,
    ) -> list[SeriesData]:
        """The lines of metric ``name``'s chart: per group its line and band.

        With ``show_members``, each member's own line too (in the group's colour).
        """
        lines: list[SeriesData] = []
        for group in self.shown():
            members = [
                (run_id, series[run_id])
                for run_id in group.band_members
                if run_id in series and name in series[run_id].metrics
            ]
            version = [(run_id, s.metrics[name].count) for run_id, s in members]
            key = (group.label, name, mode, smoothing, self.center, self.spread)
            arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            if show_members or not self._is_current(key, version):
                arrays = {run_id: s.arrays(name, mode, smoothing) for run_id, s in members}
            found = self._band(key, version, list(arrays.values()))
            if not len(found.x):
                continue
            lines.append(groups.band_line(group, found))
            if show_members:
                for run_id, s in members:
                    x, y = arrays[run_id]
                    lines.append(
                        SeriesData(
                            overlay.run_label(s.record),
                            x,
                            y,
                            run_id=run_id,
                            group=group.label,
                            color=group.color,
                        )
                    )
        return lines

    def _is_current(self, key: tuple[Any, ...], version: Version) -> bool:
        cached = self._bands.get(key)
        return cached is not None and cached[0] == version

    def _band(
        self, key: tuple[Any, ...], version: Version, series: list[tuple[np.ndarray, np.ndarray]]
    ) -> Band:
        """A group's band, computed again only when one of its members' series grew.

        (A poll where 10 runs grow redraws their groups' charts; the other groups' bands on
        those charts are reused.)
        """
        cached = self._bands.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        found = groups.band(series, self.center, self.spread)
        self._bands[key] = (version, found)
        return found
