"""``run.get_portal_url()``: a self-contained HTML report, written again on every call."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from widget_helpers import log_every_way, new_run

from run_widgets import Experiment, Run
from run_widgets.views import static
from run_widgets.views.reader import run_reader
from run_widgets.views.tracker import RunTracker


def report_of(run: Run) -> tuple[Path, str]:
    url = run.get_portal_url()
    parsed = urlparse(url)
    assert parsed.scheme == "file"
    path = Path(unquote(parsed.path))
    assert path.is_file()
    return path, path.read_text(encoding="utf-8")


def test_report_is_a_self_contained_file(exp: Experiment, tmp_path: Path) -> None:
    run = new_run(exp, display_name="report me")
    log_every_way(run)
    source = tmp_path / "notes.txt"
    source.write_text("n", encoding="utf-8")
    run.upload_file("outputs/notes.txt", str(source))
    run.tag("team", "vision")
    run.add_properties({"dataset": "mnist"})
    child = run.child_run(name="child one")
    child.log("mse", 0.5)
    child.complete()
    run.complete()
    path, text = report_of(run)
    assert path.parent == run.workspace.reports_dir
    assert not re.search(r"https?://", text)  # no network needed to open it
    assert not re.search(r"<(script|link|iframe|object|embed)\b", text, re.IGNORECASE)
    for src in re.findall(r'src="([^"]*)"', text):
        assert src.startswith("data:image/")
    # Status, properties, tags.
    assert "(Completed)" in text and "<td>Completed</td>" in text
    assert "<td>tag: team</td><td>vision</td>" in text
    assert "<td>property: dataset</td><td>mnist</td>" in text
    assert "<td>scalar_once</td><td>0.5</td>" in text
    # One chart image per charted metric.
    tracker = RunTracker(run_reader(run))
    tracker.poll()
    charted = static.charted(tracker)
    assert sorted(charted) == ["acc_list", "loss", "numeric_table", "roc"]
    for name in charted:
        assert text.count(f'<img alt="{html.escape(name)}" src="data:image/png;base64,') == 1
    # Tables, the logged image, the confusion matrix.
    assert "<h2>colour</h2>" in text and "<td>green</td>" in text
    assert '<img title="plot" src="data:image/png;base64,' in text
    assert "<h2>confusion</h2>" in text and "<th>true \\ predicted</th>" in text
    # Children and files.
    assert "<h2>Child runs (1)</h2>" in text and child.id in text
    assert "outputs/notes.txt" in text
    assert (run.files_dir / "outputs/notes.txt").as_uri() in text


def test_report_is_rewritten_on_every_call(exp: Experiment) -> None:
    run = new_run(exp)
    run.log("loss", 1.0)
    path, first = report_of(run)
    assert "Running" in first and "loss" in first
    run.log("accuracy", 0.75)
    run.complete()
    again, second = report_of(run)
    assert again == path
    assert "accuracy" not in first
    assert "<td>accuracy</td><td>0.75</td>" in second
    assert "(Completed)" in second
    assert not list(path.parent.glob(".rw-tmp-*"))  # written atomically, no leftovers


def test_report_of_a_failed_run_shows_the_error_and_log(exp: Experiment) -> None:
    run = new_run(exp)
    log = run.files_dir / "logs" / "user_log.txt"
    log.parent.mkdir(parents=True)
    log.write_text("step 1\nboom\n", encoding="utf-8")
    run.fail("out of memory")
    _, text = report_of(run)
    assert '<pre class="rw-error">Error occurred: out of memory</pre>' in text
    assert "<h2>logs/user_log.txt</h2><pre>step 1\nboom\n</pre>" in text


def test_report_survives_metric_names_matplotlib_would_parse(exp: Experiment) -> None:
    run = new_run(exp)
    for i in range(3):
        run.log("cost $x^$ per", float(i))  # not valid mathtext
        run.log_row("curve", _hidden=i, b=2 * i, c=i)
    _, text = report_of(run)
    assert text.count("data:image/png;base64,") == 2
