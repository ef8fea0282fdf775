"""Helpers of the MLflow bridge tests: a PNG, and a run logged with MLflow's own client."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any


def png_bytes() -> bytes:
    """A small real PNG (drawn by matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1), dpi=20)
    ax.plot([0, 1], [1, 0])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def log_mlflow_parent(
    client: Any, experiment_id: str, folder: Path, *, finish: bool = True
) -> dict[str, Any]:
    """A parent run with steps, params, tags, a note, artifacts (an image, a log) and two
    nested runs, logged with MLflow's client. Returns the ids."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    parent = client.create_run(experiment_id, run_name="parent", tags={"team": "vision"})
    pid = parent.info.run_id
    client.log_param(pid, "alpha", "0.5")
    client.set_tag(pid, "mlflow.note.content", "a note")
    client.log_batch(
        pid,
        metrics=[Metric("loss", 1.0 / (i + 1), now + i, i * 10) for i in range(50)]
        + [Metric("acc", i / 50, now + i, i * 10) for i in range(50)],
    )
    image = folder / "plot.png"
    image.write_bytes(png_bytes())
    client.log_artifact(pid, str(image), "images")
    log = folder / "train.log"
    log.write_text("epoch 1\nepoch 2\n")
    client.log_artifact(pid, str(log), "logs")
    children = []
    for n in range(2):
        child = client.create_run(
            experiment_id, run_name=f"child-{n}", tags={"mlflow.parentRunId": pid}
        )
        cid = child.info.run_id
        client.log_param(cid, "lr", str(0.1 * (n + 1)))
        client.log_metric(cid, "score", float(n), step=0, timestamp=now)
        client.log_metric(cid, "score", float(n) + 0.5, step=1, timestamp=now + 1)
        client.set_terminated(cid, status="FINISHED" if n == 0 else "FAILED")
        children.append(cid)
    if finish:
        client.set_terminated(pid, status="FINISHED")
    return {"parent": pid, "children": children}
