"""Read-only access to an MLflow tracking store, for the live views.

Two implementations answer the same small set of calls:

* :class:`RestApi` for ``http(s)://`` tracking servers: MLflow's documented REST API,
  sent through MLflow's own ``http_request`` (so its authentication settings apply) but
  with **no retries and a timeout** (30 s, ``RUN_WIDGETS_MLFLOW_TIMEOUT_S``): a view polls again later with its own backoff
  instead of blocking for minutes inside MLflow's retry loop. It counts the bytes it reads.
* :class:`StoreApi` for every other URI (``sqlite:///``, a local ``mlruns`` folder, ...):
  MLflow's tracking-store object for that URI.

Metric history is read a page at a time (``max_results`` + ``page_token``), which is what
lets a view fetch only the points logged since its last poll (see :mod:`.history`), or as
a step range sampled by MLflow (``get_metric_history_bulk_interval``: at most
``MAX_INTERVAL_POINTS`` evenly spaced points of the range, its first and last included),
which is how a view draws and zooms a long metric without reading its history.
"""

from __future__ import annotations

import abc
import importlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..exceptions import RunNotFoundError, UserErrorException
from . import mapping
from ._client import client as make_client
from ._client import is_http, mlflow_module, safe_uri

MAX_INTERVAL_POINTS = 2500
"""The most points MLflow's step-range read returns (its server's ``MAX_RESULTS_PER_RUN``)."""
ENV_TIMEOUT = "RUN_WIDGETS_MLFLOW_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 30.0


def request_timeout() -> float:
    """Seconds a view waits for one answer of a tracking server (``RUN_WIDGETS_MLFLOW_TIMEOUT_S``)."""
    try:
        value = float(os.environ.get(ENV_TIMEOUT, "") or DEFAULT_TIMEOUT_S)
    except ValueError:
        raise UserErrorException(
            f"The environment variable {ENV_TIMEOUT} must be a number of seconds."
        ) from None
    return value if value > 0 else DEFAULT_TIMEOUT_S


class TrackingServerUnreachable(ConnectionError):
    """The MLflow tracking server did not answer (down, unreachable, timed out, 5xx)."""


@dataclass(frozen=True)
class MlflowRun:
    """One MLflow run as the bridge reads it (times in seconds since the epoch)."""

    run_id: str
    experiment_id: str
    name: str | None
    status: str
    start_time: float | None
    end_time: float | None
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    latest: Mapping[str, tuple[float, int, int]] = field(default_factory=dict)
    """Metric key → (value, step, timestamp in ms) of its latest point."""

    @property
    def parent_id(self) -> str | None:
        """The run this one is nested in, if any."""
        return self.tags.get(mapping.PARENT_TAG) or None


@dataclass(frozen=True)
class MetricPage:
    """Points of one metric (MLflow's order: timestamp, step) and the next page's token."""

    steps: np.ndarray
    times: np.ndarray  # seconds
    values: np.ndarray
    next_token: str | None

    def __len__(self) -> int:
        return len(self.steps)


@dataclass(frozen=True)
class ArtifactEntry:
    """One entry of an artifact listing."""

    path: str
    is_dir: bool
    size: int | None


class ReadApi(abc.ABC):
    """The calls the views make; see the module docstring."""

    uri: str
    bytes_read: int = 0
    requests: int = 0

    @abc.abstractmethod
    def get_run(self, run_id: str) -> MlflowRun:
        """One run with its params, tags and latest metric values.

        Raises:
            RunNotFoundError: no such run.
            TrackingServerUnreachable: the server did not answer.
        """

    @abc.abstractmethod
    def metric_page(
        self, run_id: str, key: str, max_results: int, page_token: str | None
    ) -> MetricPage:
        """One page of a metric's history."""

    @abc.abstractmethod
    def metric_interval(
        self, run_id: str, key: str, start_step: int, end_step: int, max_results: int
    ) -> MetricPage:
        """At most ``max_results`` points with ``start_step <= step <= end_step``, by step.

        MLflow's own sampling (``get_metric_history_bulk_interval``): every point of the
        range when it holds at most ``max_results``, else evenly spaced ones, the first
        and last included (no minimum or maximum is kept).
        """

    @abc.abstractmethod
    def search_runs(
        self, experiment_ids: Sequence[str], filter_string: str, page_token: str | None
    ) -> tuple[list[MlflowRun], str | None]:
        """One page (up to 1,000) of the active runs matching ``filter_string``."""

    @abc.abstractmethod
    def list_artifacts(self, run_id: str, path: str | None) -> list[ArtifactEntry]:
        """The entries of one artifact folder (``None``: the root)."""

    @abc.abstractmethod
    def read_artifact(self, run_id: str, path: str, offset: int = 0) -> bytes:
        """The bytes of one artifact file from ``offset`` on."""

    @abc.abstractmethod
    def experiment(self, name_or_id: str) -> tuple[str, str]:
        """``(id, name)`` of an experiment given by name or id.

        Raises:
            UserErrorException: there is none.
        """

    def all_runs(self, experiment_ids: Sequence[str], filter_string: str = "") -> list[MlflowRun]:
        """Every active run matching ``filter_string`` (all pages)."""
        runs: list[MlflowRun] = []
        token: str | None = None
        while True:
            page, token = self.search_runs(experiment_ids, filter_string, token)
            runs += page
            if not token:
                return runs


def read_api(uri: str) -> ReadApi:
    """The :class:`ReadApi` for a tracking URI."""
    return RestApi(uri) if is_http(uri) else StoreApi(uri)


# ------------------------------------------------------------------------------ REST --
def _seconds(ms: Any) -> float | None:
    return int(ms) / 1000.0 if ms not in (None, "", 0, "0") else None


def _run_from_json(data: Mapping[str, Any]) -> MlflowRun:
    info = data.get("info", {})
    body = data.get("data", {})
    latest = {
        m["key"]: (float(m.get("value", 0.0)), int(m.get("step", 0)), int(m.get("timestamp", 0)))
        for m in body.get("metrics", [])
    }
    return MlflowRun(
        run_id=str(info.get("run_id") or info.get("run_uuid")),
        experiment_id=str(info.get("experiment_id", "")),
        name=info.get("run_name") or None,
        status=str(info.get("status", "RUNNING")),
        start_time=_seconds(info.get("start_time")),
        end_time=_seconds(info.get("end_time")),
        params={p["key"]: p.get("value", "") for p in body.get("params", [])},
        tags={t["key"]: t.get("value", "") for t in body.get("tags", [])},
        latest=latest,
    )


class RestApi(ReadApi):
    """:class:`ReadApi` over a tracking server's REST API (no retries, short timeout)."""

    def __init__(self, uri: str, timeout: float | None = None) -> None:
        mlflow_module()
        credentials = importlib.import_module("mlflow.utils.credentials")
        self._rest = importlib.import_module("mlflow.utils.rest_utils")
        self.uri = uri.rstrip("/")
        self.timeout = request_timeout() if timeout is None else timeout
        self._creds = credentials.get_default_host_creds(self.uri)

    def _call(self, endpoint: str, method: str = "GET", **kwargs: Any) -> Any:
        self.requests += 1
        try:
            response = self._rest.http_request(
                self._creds, endpoint, method, max_retries=0, timeout=self.timeout, **kwargs
            )
        except Exception as exc:  # requests' ConnectionError / Timeout, MLflow's wrappers
            raise TrackingServerUnreachable(
                f"The MLflow tracking server at {safe_uri(self.uri)} did not answer "
                f"({type(exc).__name__})."
            ) from exc
        self.bytes_read += len(response.content)
        if response.status_code >= 500:
            raise TrackingServerUnreachable(
                f"The MLflow tracking server at {safe_uri(self.uri)} answered "
                f"HTTP {response.status_code}."
            )
        if response.status_code not in (200, 206):  # 206: a Range request's part
            try:
                error = response.json()
            except ValueError:
                error = {"message": response.text[:300]}
            code = error.get("error_code", "")
            message = f"MLflow ({safe_uri(self.uri)}): {error.get('message', response.text[:300])}"
            if code == "RESOURCE_DOES_NOT_EXIST" or response.status_code == 404:
                raise RunNotFoundError(message)
            raise UserErrorException(message)
        return response if endpoint == "/get-artifact" else response.json()

    def get_run(self, run_id: str) -> MlflowRun:
        """One run (``runs/get``)."""
        return _run_from_json(
            self._call("/api/2.0/mlflow/runs/get", params={"run_id": run_id})["run"]
        )

    def metric_page(
        self, run_id: str, key: str, max_results: int, page_token: str | None
    ) -> MetricPage:
        """One page of ``metrics/get-history``."""
        params: dict[str, Any] = {"run_id": run_id, "metric_key": key, "max_results": max_results}
        if page_token:
            params["page_token"] = page_token
        data = self._call("/api/2.0/mlflow/metrics/get-history", params=params)
        return _page_from_json(data.get("metrics", []), data.get("next_page_token") or None)

    def metric_interval(
        self, run_id: str, key: str, start_step: int, end_step: int, max_results: int
    ) -> MetricPage:
        """``metrics/get-history-bulk-interval`` of one run (the route MLflow's UI charts use)."""
        params: dict[str, Any] = {
            "run_ids": [run_id],
            "metric_key": key,
            "start_step": int(start_step),
            "end_step": int(end_step),
            "max_results": min(int(max_results), MAX_INTERVAL_POINTS),
        }
        data = self._call("/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval", params=params)
        return _by_step(_page_from_json(data.get("metrics", []), None))

    def search_runs(
        self, experiment_ids: Sequence[str], filter_string: str, page_token: str | None
    ) -> tuple[list[MlflowRun], str | None]:
        """One page of ``runs/search``."""
        body: dict[str, Any] = {
            "experiment_ids": list(experiment_ids),
            "filter": filter_string,
            "max_results": 1000,
            "order_by": ["attributes.start_time ASC"],
        }
        if page_token:
            body["page_token"] = page_token
        data = self._call("/api/2.0/mlflow/runs/search", "POST", json=body)
        return [_run_from_json(r) for r in data.get("runs", [])], data.get(
            "next_page_token"
        ) or None

    def list_artifacts(self, run_id: str, path: str | None) -> list[ArtifactEntry]:
        """``artifacts/list`` of one folder."""
        params = {"run_id": run_id, **({"path": path} if path else {})}
        data = self._call("/api/2.0/mlflow/artifacts/list", params=params)
        return [
            ArtifactEntry(
                f["path"], bool(f.get("is_dir")), int(f["file_size"]) if "file_size" in f else None
            )
            for f in data.get("files", [])
        ]

    def read_artifact(self, run_id: str, path: str, offset: int = 0) -> bytes:
        """One artifact's bytes from ``offset`` (the server's ``get-artifact`` download).

        An HTTP ``Range`` request asks for the tail only; MLflow's server answers it (206)
        for artifacts it serves from files. A server that ignores it sends the whole file
        (200), which is sliced here.
        """
        headers = {"Range": f"bytes={offset}-"} if offset > 0 else None
        response = self._call(
            "/get-artifact", params={"run_id": run_id, "path": path}, extra_headers=headers
        )
        if offset > 0 and response.status_code == 200:
            return bytes(response.content[offset:])
        return bytes(response.content)

    def experiment(self, name_or_id: str) -> tuple[str, str]:
        """An experiment by name, else by id."""
        for endpoint, params in (
            ("/api/2.0/mlflow/experiments/get-by-name", {"experiment_name": name_or_id}),
            ("/api/2.0/mlflow/experiments/get", {"experiment_id": name_or_id}),
        ):
            try:
                found = self._call(endpoint, params=params)["experiment"]
            except (RunNotFoundError, UserErrorException):
                continue
            return str(found["experiment_id"]), str(found["name"])
        raise UserErrorException(f"No MLflow experiment named or with id {name_or_id!r}.")


# ----------------------------------------------------------------------------- store --
class StoreApi(ReadApi):
    """:class:`ReadApi` over MLflow's tracking-store object (``sqlite:///``, ``mlruns``, ...)."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.client = make_client(uri)
        self.store = self.client._tracking_client.store
        self._errors = mlflow_module().exceptions.MlflowException

    def get_run(self, run_id: str) -> MlflowRun:
        """One run."""
        try:
            return _run_from_entity(self.store.get_run(run_id))
        except self._errors as exc:
            raise RunNotFoundError(f"MLflow ({safe_uri(self.uri)}): {exc.message}") from exc

    def metric_page(
        self, run_id: str, key: str, max_results: int, page_token: str | None
    ) -> MetricPage:
        """One page of the store's ``get_metric_history``."""
        page = self.store.get_metric_history(
            run_id, key, max_results=max_results, page_token=page_token
        )
        n = len(page)
        return MetricPage(
            steps=np.fromiter((m.step for m in page), np.int64, n),
            times=np.fromiter((m.timestamp for m in page), np.float64, n) / 1000.0,
            values=np.fromiter((m.value for m in page), np.float64, n),
            next_token=getattr(page, "token", None) or None,
        )

    def metric_interval(
        self, run_id: str, key: str, start_step: int, end_step: int, max_results: int
    ) -> MetricPage:
        """The store's ``get_metric_history_bulk_interval`` of one run."""
        found = self.store.get_metric_history_bulk_interval(
            [run_id],
            key,
            min(int(max_results), MAX_INTERVAL_POINTS),
            int(start_step),
            int(end_step),
        )
        points = [getattr(m, "metric", m) for m in found]
        n = len(points)
        return _by_step(
            MetricPage(
                steps=np.fromiter((m.step for m in points), np.int64, n),
                times=np.fromiter((m.timestamp for m in points), np.float64, n) / 1000.0,
                values=np.fromiter((m.value for m in points), np.float64, n),
                next_token=None,
            )
        )

    def search_runs(
        self, experiment_ids: Sequence[str], filter_string: str, page_token: str | None
    ) -> tuple[list[MlflowRun], str | None]:
        """One page of the store's ``search_runs``."""
        page = self.client.search_runs(
            list(experiment_ids),
            filter_string=filter_string,
            max_results=1000,
            order_by=["attributes.start_time ASC"],
            page_token=page_token,
        )
        return [_run_from_entity(r) for r in page], page.token or None

    def list_artifacts(self, run_id: str, path: str | None) -> list[ArtifactEntry]:
        """One artifact folder."""
        return [
            ArtifactEntry(f.path, bool(f.is_dir), f.file_size)
            for f in self.client.list_artifacts(run_id, path)
        ]

    def read_artifact(self, run_id: str, path: str, offset: int = 0) -> bytes:
        """One artifact's bytes from ``offset`` (downloaded to a temporary folder)."""
        with tempfile.TemporaryDirectory() as tmp:
            local = self.client.download_artifacts(run_id, path, tmp)
            with open(local, "rb") as file:
                file.seek(offset)
                return file.read()

    def experiment(self, name_or_id: str) -> tuple[str, str]:
        """An experiment by name, else by id."""
        found = self.client.get_experiment_by_name(name_or_id)
        if found is None:
            try:
                found = self.client.get_experiment(name_or_id)
            except self._errors:
                found = None
        if found is None:
            raise UserErrorException(f"No MLflow experiment named or with id {name_or_id!r}.")
        return str(found.experiment_id), str(found.name)


def _page_from_json(points: Sequence[Mapping[str, Any]], token: str | None) -> MetricPage:
    n = len(points)
    return MetricPage(
        steps=np.fromiter((int(p.get("step", 0)) for p in points), np.int64, n),
        times=np.fromiter((int(p.get("timestamp", 0)) for p in points), np.float64, n) / 1000.0,
        values=np.fromiter((float(p.get("value", 0.0)) for p in points), np.float64, n),
        next_token=token,
    )


def _by_step(page: MetricPage) -> MetricPage:
    order = np.argsort(page.steps, kind="stable")
    return MetricPage(page.steps[order], page.times[order], page.values[order], page.next_token)


def _run_from_entity(run: Any) -> MlflowRun:
    info, data = run.info, run.data
    latest: dict[str, tuple[float, int, int]] = {}
    for metric in getattr(data, "_metric_objs", None) or []:
        latest[metric.key] = (float(metric.value), int(metric.step), int(metric.timestamp))
    if not latest:
        latest = {key: (float(value), 0, 0) for key, value in data.metrics.items()}
    return MlflowRun(
        run_id=str(info.run_id),
        experiment_id=str(info.experiment_id),
        name=info.run_name or None,
        status=str(info.status),
        start_time=_seconds(info.start_time),
        end_time=_seconds(info.end_time),
        params=dict(data.params),
        tags=dict(data.tags),
        latest=latest,
    )
