"""Real JupyterLab / Notebook 7 servers on loopback, driven by Playwright in Debian chromium.

Follows the recipe in shared/reference/widget-engineering.md §5: no browser download
(``executable_path=/usr/bin/chromium``), network-quiet flags, a fresh profile, a settings
directory that turns off the news/update checks, and ``expose_app_in_browser`` so tests
can drive the app through ``window.jupyterapp``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""


# Points drawn in a bqplot figure's line: a series is a body mark plus a tail mark that
# starts at the body's last point (see run_widgets/widgets/charts.py), so the points are
# the vertices of every line path less one shared point per extra path.
FIGURE_POINTS = """(fig) => {
  const counts = [...fig.querySelectorAll('path.line')]
    .map(p => p.getAttribute('d') || '').filter(d => d)
    .map(d => (d.match(/L/g) || []).length + 1);
  return counts.length ? counts.reduce((a, b) => a + b, 0) - (counts.length - 1) : 0;
}"""


RUNNING_SERVER_LOGS: list[Path] = []
"""The log files of the Jupyter servers running now (kernels' tracebacks land there)."""


def server_log_excerpt(log: Path, tail: int = 120) -> str:
    """A server log's lines naming an error (the kernel's tracebacks too), then its end."""
    lines = log.read_text(errors="replace").splitlines()
    errors = [line for line in lines if re.search(r"Traceback|Error|Exception|^\[E ", line)]
    head = f"== {log.name}: lines naming an error =="
    end = f"== {log.name}: last {tail} lines =="
    return "\n".join([head, *errors[-50:], end, *lines[-tail:]])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running Jupyter server."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen[bytes]
    app: str
    log: Path

    def page_url(self, notebook: str) -> str:
        prefix = "lab/tree" if self.app == "lab" else "notebooks"
        return f"{self.url}/{prefix}/{notebook}?token={self.token}"


@contextmanager
def jupyter_server(
    root: Path,
    app: str = "lab",
    env: dict[str, str] | None = None,
    theme: str | None = None,
    save_widget_state: bool = False,
) -> Iterator[Server]:
    """Start ``jupyter lab`` (or ``notebook``) serving ``root``; stop it afterwards.

    ``save_widget_state`` turns on the widget manager's "Save Widget State Automatically"
    (what scripts/demo configures), so saved notebooks carry the views' state.
    """
    port = free_port()
    token = secrets.token_hex(16)
    settings = Path(tempfile.mkdtemp(prefix="rw-lab-settings-"))
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    if theme:
        (notification / "themes.jupyterlab-settings").write_text(json.dumps({"theme": theme}))
    # Always said, so the default scripts/demo writes into the venv (overrides.json) does
    # not leak into the tests.
    manager = settings / "@jupyter-widgets" / "jupyterlab-manager"
    manager.mkdir(parents=True)
    (manager / "plugin.jupyterlab-settings").write_text(
        json.dumps({"saveState": save_widget_state})
    )
    runtime = Path(tempfile.mkdtemp(prefix="rw-jupyter-runtime-"))
    # Kernels echo their stderr into the server's log too (IPKernelApp.quiet), which a
    # failed test reports (tests/browser/conftest.py).
    ipython = runtime / "ipython"
    (ipython / "profile_default").mkdir(parents=True)
    (ipython / "profile_default" / "ipython_kernel_config.py").write_text(
        "c.IPKernelApp.quiet = False\n"
    )
    workspaces = Path(tempfile.mkdtemp(prefix="rw-lab-workspaces-"))  # no restored tabs
    command = [
        sys.executable,
        "-m",
        "jupyter",
        app,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.disable_check_xsrf=True",
        f"--LabApp.workspaces_dir={workspaces}",
        "--LabApp.expose_app_in_browser=True"
        if app == "lab"
        else "--JupyterNotebookApp.expose_app_in_browser=True",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    process_env = {
        **os.environ,
        **(env or {}),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "IPYTHONDIR": str(ipython),
    }
    log = open(root / f".jupyter-{app}-{port}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, env=process_env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.time() + 90
    try:
        while True:
            try:
                with opener.open(f"{url}/api/status?token={token}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"jupyter {app} did not start; see {log.name}")
            time.sleep(0.3)
        RUNNING_SERVER_LOGS.append(root / log.name)
        yield Server(url, token, root, process, app, root / log.name)
    finally:
        if root / log.name in RUNNING_SERVER_LOGS:
            RUNNING_SERVER_LOGS.remove(root / log.name)
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        shutil.rmtree(settings, ignore_errors=True)
        shutil.rmtree(runtime, ignore_errors=True)
        shutil.rmtree(workspaces, ignore_errors=True)


@contextmanager
def browser_page(
    viewport: tuple[int, int] = (1400, 1000), color_scheme: str = "light"
) -> Iterator[Any]:
    """A Playwright page in headless Debian chromium with a fresh profile."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="rw-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": viewport[0], "height": viewport[1]},
            color_scheme=color_scheme,
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.dialogs = dialogs  # type: ignore[attr-defined]
            # The page's console errors, for a failing test to report (the cause of a
            # front-end failure is usually there, and the page is gone afterwards).
            console_errors: list[str] = []
            page.on(
                "console",
                lambda message: message.type == "error" and console_errors.append(message.text),
            )
            page.on("pageerror", lambda error: console_errors.append(f"uncaught: {error}"))
            page.console_errors = console_errors  # type: ignore[attr-defined]
            yield page
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def open_notebook(page: Any, server: Server, notebook: str, timeout: float = 90_000) -> None:
    """Open a notebook and wait until its kernel is idle (accepting the kernel dialog)."""
    page.goto(server.page_url(notebook))
    deadline = time.time() + timeout / 1000
    while time.time() < deadline:
        if page.evaluate(KERNEL_IDLE):
            return
        select = page.locator(".jp-Dialog button.jp-mod-accept")
        if select.count():
            select.first.click()
        time.sleep(0.5)
    raise TimeoutError(f"the kernel of {notebook} did not become idle")


# The open notebook at ``path`` in the page's app (JupyterLab or Notebook 7), or null.
_NOTEBOOK_AT = """(path) => [...window.jupyterapp.shell.widgets('main')]
  .find(w => w.context && w.context.path === path)"""

# The notebook at ``path`` has started running: a code cell's prompt shows [*] or a count.
_NOTEBOOK_STARTED = f"""(path) => {{
  const w = ({_NOTEBOOK_AT})(path);
  return !!w && [...w.node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
    .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent));
}}"""


def run_all(page: Any, path: str) -> None:
    """Start running every cell of the open notebook at ``path``; return once it has started.

    The command is addressed to that notebook's tab (``semanticWidget``), not to "the
    current notebook": JupyterLab's notebook tracker follows focus, and a tab that opens
    late (under load) would otherwise be the one that runs. ``commands.execute`` returns a
    promise that settles when the last cell finished; it is not awaited.
    """
    run = f"""(path) => {{
      const w = ({_NOTEBOOK_AT})(path);
      if (!w) throw new Error(`no open tab shows ${{path}}`);
      window.jupyterapp.commands.execute('notebook:run-all-cells', {{semanticWidget: w.id}});
    }}"""
    page.evaluate(run, path)
    page.wait_for_function(_NOTEBOOK_STARTED, arg=path, timeout=60_000)


def open_tabs(page: Any) -> list[str]:
    """What the page's main area shows (a document's path, else the widget's id)."""
    tabs: list[str] = page.evaluate(
        "() => [...window.jupyterapp.shell.widgets('main')]"
        ".map(w => w.context ? w.context.path : w.id)"
    )
    return tabs


def save_document(page: Any, path: str) -> None:
    """Save the open document at ``path`` and return when the file is written.

    Addressed by path, not through the current tab: a save command goes to whatever tab
    has focus, which under load is not always the one the test just ran.
    """
    page.evaluate(
        """async (path) => {
          const w = [...window.jupyterapp.shell.widgets('main')]
            .find(w => w.context && w.context.path === path);
          if (!w) throw new Error(`no open tab shows ${path}`);
          await w.context.ready;
          await w.context.save();
        }""",
        path,
    )


def load_lab(page: Any, server: Server) -> None:
    """Load JupyterLab's main page and wait until it has restored its layout.

    The URL names no document: loaded at ``/lab/tree/<path>``, JupyterLab opens that path
    again seconds later, even after a test closed it, and the stray tab then takes focus
    in the middle of the next test.
    """
    page.goto(f"{server.url}/lab?token={server.token}")
    page.wait_for_function("() => !!window.jupyterapp", timeout=90_000)
    page.evaluate("async () => { await window.jupyterapp.restored; }")


def open_in_lab(lab: Any, name: str) -> None:
    """Open a notebook in the page's JupyterLab (loading Lab first if needed), alone.

    Any other document tab is closed (a test's checks read "the notebook on the page").
    """
    server, page = lab
    if not page.evaluate("() => !!window.jupyterapp"):
        load_lab(page, server)
    page.evaluate(
        "(path) => { window.jupyterapp.commands.execute('docmanager:open', {path}); }", name
    )
    page.wait_for_function(
        "(path) => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.context && w.context.path === path; }",
        arg=name,
        timeout=60_000,
    )
    page.evaluate(
        """(path) => {
          for (const w of [...window.jupyterapp.shell.widgets('main')]) {
            if (!w.context || w.context.path === path) continue;
            w.context.model.dirty = false;
            w.close();
          }
        }""",
        name,
    )
    deadline = time.time() + 90
    while not page.evaluate(KERNEL_IDLE):
        select = page.locator(".jp-Dialog button.jp-mod-accept")
        if select.count():
            select.first.click()
        assert time.time() < deadline, f"the kernel of {name} did not become idle"
        time.sleep(0.5)
    watch_kernel_errors(page)


# Errors the kernel reports (``error`` messages on iopub): a cell's, and those a widget
# callback raises while handling the page's message, which JupyterLab shows in no cell.
WATCH_KERNEL_ERRORS = """() => {
  window.rwKernelErrors = window.rwKernelErrors || [];
  const widget = window.jupyterapp.shell.currentWidget;
  const session = widget && widget.sessionContext && widget.sessionContext.session;
  const kernel = session && session.kernel;
  if (!kernel || kernel.rwWatched) return;
  kernel.rwWatched = true;
  kernel.iopubMessage.connect((_, msg) => {
    if (msg.header.msg_type !== 'error') return;
    const trace = (msg.content.traceback || []).join('\\n').replace(/\\x1b\\[[0-9;]*m/g, '');
    window.rwKernelErrors.push(`${msg.content.ename}: ${msg.content.evalue}\\n${trace}`);
  });
}"""


def watch_kernel_errors(page: Any) -> None:
    """Record the errors the current notebook's kernel reports (see :func:`kernel_errors`)."""
    page.evaluate(WATCH_KERNEL_ERRORS)


def kernel_errors(page: Any) -> list[str]:
    """The errors recorded since :func:`watch_kernel_errors` (tracebacks, colours removed)."""
    return list(page.evaluate("() => window.rwKernelErrors || []"))


def close_all(page: Any) -> None:
    """Close every tab without asking and shut the kernels down (each test opens its own)."""
    page.evaluate(
        """async () => {
          const app = window.jupyterapp;
          for (const w of [...app.shell.widgets('main')]) {
            if (w.context) w.context.model.dirty = false;
            w.close();
          }
          await app.serviceManager.sessions.shutdownAll();
        }"""
    )
