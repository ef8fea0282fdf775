"""File-backed metrics: images (``log_image``) and JSON payloads (``log_confusion_matrix``...).

The file goes into the run's folder under a name derived from the metric name but made
safe (v1 used the metric name itself as the file name, which broke for names with ``/``),
and the metric records that file name.

Layer: tracking (imports exceptions only).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path
from typing import Any

from ..exceptions import MetricTypeError, UserErrorException

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF87a", ".gif"),
    (b"GIF89a", ".gif"),
    (b"BM", ".bmp"),
)
IMAGE_PREFIX = "images"
JSON_PREFIX = "metric_artifacts"
SCHEMA_TYPES = {
    "log_confusion_matrix": "confusion_matrix",
    "log_accuracy_table": "accuracy_table",
    "log_residuals": "residuals",
    "log_predictions": "predictions",
}


def image_extension(head: bytes) -> str | None:
    """The file extension of an image judged by its first bytes, or ``None``."""
    for signature, extension in _SIGNATURES:
        if head.startswith(signature):
            return extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    text = head[:1024].lstrip().lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return ".svg"
    return None


def image_from_path(path: Any) -> tuple[bytes, str]:
    """Read an image file; refuse anything that is not PNG/JPEG/GIF/BMP/WebP/SVG."""
    if not isinstance(path, (str, os.PathLike)):
        raise MetricTypeError(f"Argument [path] must be a file path, not {type(path).__name__}.")
    file_path = Path(path)
    if not file_path.is_file():
        raise UserErrorException(f"Argument [{path}] is malformed: no such file.")
    data = file_path.read_bytes()
    extension = image_extension(data[:2048])
    if extension is None:
        raise UserErrorException(
            f"Argument [{path}] is malformed: it is not a PNG, JPEG, GIF, BMP, WebP or SVG image."
        )
    return data, extension


def image_from_plot(plot: Any) -> tuple[bytes, str]:
    """Render a matplotlib ``pyplot`` module or ``Figure`` to PNG bytes."""
    savefig = getattr(plot, "savefig", None)
    if not callable(savefig):
        raise MetricTypeError(
            "Argument [plot] is of invalid type. Expected type: [matplotlib.pyplot] "
            f"(or a Figure), got {type(plot).__name__}."
        )
    buffer = io.BytesIO()
    savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue(), ".png"


def artifact_name(prefix: str, metric: str, unique: str, extension: str) -> str:
    """A safe file name for a file of metric ``metric``, made unique by ``unique``."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", metric).strip("._-")[:60] or "metric"
    digest = hashlib.sha1(metric.encode("utf-8"), usedforsecurity=False).hexdigest()[:6]
    return f"{prefix}/{slug}-{digest}_{unique}{extension}"


def with_schema(call: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Wrap a bare payload in the v1 ``{schema_type, schema_version, data}`` envelope."""
    if "schema_type" in payload:
        return payload
    return {"schema_type": SCHEMA_TYPES[call], "schema_version": "1.0.0", "data": payload}
