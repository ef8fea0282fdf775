"""Reading an MLflow metric's history incrementally: only the points logged since last time.

MLflow pages ``get_metric_history`` with ``max_results`` and an opaque ``page_token``;
MLflow's own stores (SQL, file store, and so its tracking server) order points by
(timestamp, step, value) and encode the token as ``{"offset": N}`` in base64. So:

* **offset mode** (MLflow's stores, detected from the first token a store hands out, or
  assumed until a store refuses one): the next poll asks for the page at offset = points
  held. It transfers only the new points;
* **replay mode** (any store whose tokens are something else): the next poll asks again
  for the last, partial page with the token that fetched it and drops the points already
  held, so it re-reads less than one page.

A point logged with a timestamp older than points already read sorts before them and is
missed by a live view until the view is reopened (MLflow's API has no change cursor).

A *long* metric (its latest step at least ``LONG_METRIC_STEPS``) is not read from its
start at all: MLflow has no way to start at a history's end (no count; offset pages from
the start, each an O(offset) scan in its SQL stores), so :class:`StepFollower` follows it
by step instead: each poll reads the points past the last step seen with MLflow's step-range
read (``get_metric_history_bulk_interval``), which returns them all when there are at
most ``MAX_INTERVAL_POINTS``, else an even sample. Such a metric's point count is an
estimate (its latest step + 1, then the points read since), and a point logged with a
step at or below one already seen is missed until the view is reopened.
"""

from __future__ import annotations

import base64
import binascii
import json

import numpy as np

from .api import MAX_INTERVAL_POINTS, MetricPage, ReadApi

PAGE_SIZE = 25_000  # MLflow's own page size for get_metric_history
LONG_METRIC_STEPS = 50_000
"""A metric whose latest step is at least this is followed by step (``StepFollower``)."""
LAST_STEP = 2**53
"""A step beyond any logged one (the open end of a step range)."""


def offset_token(offset: int) -> str:
    """MLflow's page token for the point at ``offset``."""
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def token_offset(token: str) -> int | None:
    """The offset in an MLflow page token, or ``None`` if the token is not of that form."""
    try:
        data = json.loads(base64.b64decode(token, validate=True))
    except (ValueError, binascii.Error):
        return None
    offset = data.get("offset") if isinstance(data, dict) else None
    return offset if isinstance(offset, int) and not isinstance(offset, bool) else None


class MetricFollower:
    """Reads one metric of one run, a poll at a time (see the module docstring).

    Attributes:
        count: points read so far.
        mode: ``probe`` (tokens not seen yet), ``offset`` or ``replay``.
    """

    def __init__(self, api: ReadApi, run_id: str, key: str, page_size: int = PAGE_SIZE) -> None:
        self.api = api
        self.run_id = run_id
        self.key = key
        self.page_size = page_size
        self.count = 0
        self.mode = "probe"
        self._replay: tuple[str | None, int] = (None, 0)  # last page's token, points held

    def read_new(self) -> MetricPage:
        """The points logged since the previous call (all of them on the first call)."""
        if self.count == 0:
            token, skip = None, 0
        elif self.mode == "replay":
            token, skip = self._replay
        else:
            token, skip = offset_token(self.count), 0
        parts: list[MetricPage] = []
        while True:
            try:
                page = self.api.metric_page(self.run_id, self.key, self.page_size, token)
            except ValueError:
                if self.mode != "probe" or token is None:
                    raise
                self.mode = "replay"  # the store refuses offset tokens: re-read, drop held
                token, skip = None, self.count
                continue
            dropped = min(skip, len(page))
            skip -= dropped
            fresh = _drop(page, dropped)
            if len(fresh):
                parts.append(fresh)
                self.count += len(fresh)
            if page.next_token is None:
                self._replay = (token, len(page))
                break
            if self.mode == "probe":
                self.mode = "offset" if token_offset(page.next_token) == self.count else "replay"
            token = page.next_token
        if not parts:
            empty = np.empty(0)
            return MetricPage(empty.astype(np.int64), empty, empty, None)
        return MetricPage(
            np.concatenate([p.steps for p in parts]),
            np.concatenate([p.times for p in parts]),
            np.concatenate([p.values for p in parts]),
            None,
        )


def _drop(page: MetricPage, n: int) -> MetricPage:
    if n <= 0:
        return page
    return MetricPage(page.steps[n:], page.times[n:], page.values[n:], page.next_token)


class StepFollower:
    """Follows a long metric by step (see the module docstring): no history is read.

    Attributes:
        count: points known so far (the latest step + 1 at first: MLflow has no count).
        last_step: the largest step seen.
        sampled: True once a poll brought more than ``MAX_INTERVAL_POINTS`` points (it got
            an even sample of them).
    """

    def __init__(self, api: ReadApi, run_id: str, key: str, last_step: int) -> None:
        self.api = api
        self.run_id = run_id
        self.key = key
        self.last_step = last_step
        self.count = last_step + 1
        self.sampled = False

    def read_new(self) -> MetricPage:
        """The points logged with a step past the last one seen."""
        page = self.api.metric_interval(
            self.run_id, self.key, self.last_step + 1, LAST_STEP, MAX_INTERVAL_POINTS
        )
        if len(page):
            self.sampled = self.sampled or len(page) >= MAX_INTERVAL_POINTS
            self.last_step = max(self.last_step, int(page.steps.max()))
            self.count += len(page)
        return page
