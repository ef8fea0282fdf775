"""Reading a tabular dataset's files into one pandas DataFrame, and its row transforms.

Formats (``definition["format"]``): ``delimited`` (``pandas.read_csv``), ``parquet``
(``pandas.read_parquet``, needs pyarrow), ``json_lines`` (``pandas.read_json(lines=True)``).
``partition_format`` (``"{country}/{year}/data.csv"``, ``"{when:yyyy/MM}/data.parquet"``)
turns parts of each file's path into columns, as v1 did; ``include_path`` adds a ``Path``
column. Row transforms (take, skip, sample, split, columns, time filters) are applied in
order after reading.

Layer: data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import DataAccessError, DatasetTimestampMissingError, UserErrorException
from .filesystems import FileRef

if TYPE_CHECKING:
    import pandas as pd

_FIELD = re.compile(r"\{(?P<name>[A-Za-z_]\w*)(?::(?P<format>[^}]+))?\}")
_DATE_PARTS = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"))
_TYPES = {
    "int": "Int64",
    "float": "float64",
    "str": "string",
    "string": "string",
    "bool": "boolean",
}


def partition_pattern(partition_format: str) -> tuple[re.Pattern[str], dict[str, str | None]]:
    """The regular expression of a v1 ``partition_format`` and its fields' date formats."""
    fields: dict[str, str | None] = {}
    pattern = ""
    position = 0
    for match in _FIELD.finditer(partition_format):
        pattern += re.escape(partition_format[position : match.start()])
        name, fmt = match["name"], match["format"]
        if name in fields:
            raise UserErrorException(f"partition_format names {{{name}}} twice.")
        fields[name] = fmt
        pattern += f"(?P<{name}>.+?)" if fmt else f"(?P<{name}>[^/]+)"
        position = match.end()
    pattern += re.escape(partition_format[position:])
    if not fields:
        raise UserErrorException(
            f"partition_format {partition_format!r} names no field such as {{name}}."
        )
    return re.compile(f"(?:^|/){pattern}$"), fields


def _strptime_format(fmt: str) -> str:
    for v1, python in _DATE_PARTS:
        fmt = fmt.replace(v1, python)
    return fmt


def partition_values(
    path: str, pattern: re.Pattern[str], fields: Mapping[str, str | None]
) -> dict[str, Any]:
    """The partition columns of one file path (dates parsed), or an error naming the path."""
    match = pattern.search(path.replace("\\", "/"))
    if match is None:
        raise DataAccessError(f"The file {path!r} does not match the dataset's partition_format.")
    values: dict[str, Any] = {}
    for name, fmt in fields.items():
        text = match[name]
        values[name] = datetime.strptime(text, _strptime_format(fmt)) if fmt else text
    return values


def read_file(ref: FileRef, file_format: Mapping[str, Any]) -> pd.DataFrame:
    """One file as a DataFrame, read as ``file_format`` says."""
    import pandas as pd  # pandas (and pyarrow) load only when a tabular dataset is read

    kind = file_format.get("kind")
    with ref.open() as stream:
        try:
            if kind == "delimited":
                header = file_format.get("header", True)
                return pd.read_csv(
                    stream,
                    sep=file_format.get("separator", ","),
                    header=0 if header else None,
                    encoding=file_format.get("encoding", "utf8"),
                    keep_default_na=not file_format.get("empty_as_string", False),
                    dtype=None if file_format.get("infer_column_types", True) else str,
                )
            if kind == "parquet":
                try:
                    return pd.read_parquet(stream)
                except ImportError:
                    raise DataAccessError(
                        "Parquet files need pyarrow: pip install 'run_widgets[parquet]'."
                    ) from None
            if kind == "json_lines":
                return pd.read_json(
                    stream, lines=True, encoding=file_format.get("encoding", "utf8")
                )
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
            raise DataAccessError(f"{ref.path} cannot be read as {kind}: {error}") from None
    raise UserErrorException(f"Unknown tabular format {kind!r}.")


def read_frame(files: Sequence[FileRef], file_format: Mapping[str, Any]) -> pd.DataFrame:
    """Every file read and concatenated, with partition and path columns."""
    import pandas as pd

    pattern_fields = None
    if file_format.get("partition_format"):
        pattern_fields = partition_pattern(str(file_format["partition_format"]))
    frames = []
    for ref in files:
        frame = read_file(ref, file_format)
        if pattern_fields is not None:
            for column, value in partition_values(ref.path, *pattern_fields).items():
                frame[column] = value
        if file_format.get("include_path"):
            frame.insert(0, "Path", "/" + ref.name)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return set_types(frame, file_format.get("column_types") or {})


def set_types(frame: pd.DataFrame, types: Mapping[str, str]) -> pd.DataFrame:
    """``set_column_types``: each named column converted.

    Types: ``int``, ``float``, ``str``, ``bool``, ``datetime``.
    """
    import pandas as pd

    for column, kind in types.items():
        if column not in frame.columns:
            raise UserErrorException(f"set_column_types names {column!r}, which the data lacks.")
        if kind == "datetime":
            frame[column] = pd.to_datetime(frame[column])
        elif kind in _TYPES:
            dtype: Any = _TYPES[kind]  # a pandas dtype name
            frame[column] = frame[column].astype(dtype)
        else:
            raise UserErrorException(f"Unknown column type {kind!r} for {column!r}.")
    return frame


def selection(count: int, transform: Mapping[str, Any]) -> np.ndarray:
    """Which of ``count`` items a take/skip/sample/split transform keeps (a boolean mask)."""
    op = transform["op"]
    mask = np.zeros(count, dtype=bool)
    if op == "take":
        mask[: int(transform["count"])] = True
    elif op == "skip":
        mask[int(transform["count"]) :] = True
    elif op in ("sample", "split"):
        draws = np.random.default_rng(transform.get("seed")).random(count)
        chosen = draws < float(transform["probability"])
        mask = chosen if transform.get("part", 0) == 0 else ~chosen
    else:
        raise UserErrorException(f"Unknown selection {op!r}.")
    return mask


SELECTIONS = ("take", "skip", "sample", "split")


def apply_transforms(
    frame: pd.DataFrame, transforms: Sequence[Mapping[str, Any]], timestamps: Mapping[str, Any]
) -> pd.DataFrame:
    """Row and column transforms in order (time filters use the timestamp columns)."""
    for transform in transforms:
        op = transform["op"]
        if op in SELECTIONS:
            frame = frame[selection(len(frame), transform)].reset_index(drop=True)
        elif op == "keep_columns":
            missing = [c for c in transform["columns"] if c not in frame.columns]
            if missing and transform.get("validate", True):
                raise UserErrorException(f"keep_columns: the data has no column {missing}.")
            frame = frame[[c for c in transform["columns"] if c in frame.columns]]
        elif op == "drop_columns":
            frame = frame.drop(columns=[c for c in transform["columns"] if c in frame.columns])
        elif op == "time":
            frame = _time_filter(frame, transform, timestamps)
        else:
            raise UserErrorException(f"Unknown dataset transform {op!r}.")
    return frame


def _time_filter(
    frame: pd.DataFrame, transform: Mapping[str, Any], timestamps: Mapping[str, Any]
) -> pd.DataFrame:
    import pandas as pd

    column = timestamps.get("timestamp") or timestamps.get("partition_timestamp")
    if not column or column not in frame.columns:
        raise DatasetTimestampMissingError(
            "The dataset has no timestamp column"
            + (f" ({column!r} was dropped)" if column else "")
            + "; set one with with_timestamp_columns(timestamp=...)."
        )
    values = pd.to_datetime(frame[column])
    zone = getattr(values.dt, "tz", None)  # naive bounds mean the column's zone (UTC in v1)
    start = transform.get("start")
    end = transform.get("end")
    if transform.get("recent_seconds") is not None:
        start = (values.max() - timedelta(seconds=float(transform["recent_seconds"]))).isoformat()
    mask = pd.Series(True, index=frame.index)
    if start is not None:
        after = _in_zone(pd.Timestamp(start), zone)
        mask &= values >= after if transform.get("include_boundary", True) else values > after
    if end is not None:
        before = _in_zone(pd.Timestamp(end), zone)
        mask &= values <= before if transform.get("include_boundary", True) else values < before
    kept: pd.DataFrame = frame[mask].reset_index(drop=True)
    return kept


def _in_zone(moment: pd.Timestamp, zone: Any) -> pd.Timestamp:
    """``moment`` comparable with a column in ``zone`` (naive stays naive for a naive column)."""
    if zone is None:
        naive: pd.Timestamp = moment.tz_localize(None) if moment.tzinfo is not None else moment
        return naive
    zoned: pd.Timestamp = (
        moment.tz_localize(zone) if moment.tzinfo is None else moment.tz_convert(zone)
    )
    return zoned
