"""Sphinx configuration of the run_widgets documentation site (built by ./scripts/docs).

The notebooks (docs/notebooks -> ../notebooks) and the guides' code cells are executed at
build time in a throwaway workspace; their widget state is embedded, so the pages show the
real views. The widget JavaScript is served from the site itself (see _ext/offline_widgets.py):
no CDN at view time. At build time only package registries are reached: npm (``npm pack``
of the widget manager and require.js, cached) and PyPI through uv (the migration notebook
builds an isolated environment with one small package, from uv's cache when present).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

# Every run the build creates goes to a throwaway workspace, never ~/.run_widgets. The
# kernels MyST-NB starts inherit this environment.
os.environ["RUN_WIDGETS_HOME"] = tempfile.mkdtemp(prefix="rw-docs-")
os.environ.pop("RUN_WIDGETS_WORKSPACE", None)
os.environ.pop("RUN_WIDGETS_STORE", None)
os.environ.pop("RUN_WIDGETS_ARTIFACTS", None)
# The demo logs for a minute by default; the page shows a real, shorter run.
os.environ.setdefault("RUN_WIDGETS_DEMO_EPOCHS", "20")
os.environ.setdefault("RUN_WIDGETS_DEMO_DELAY", "0.3")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

import offline_widgets  # noqa: E402

import run_widgets  # noqa: E402

project = "run_widgets"
author = "run_widgets developers"
copyright = "run_widgets developers"
release = run_widgets.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinxarg.ext",
    "sphinx_copybutton",
    "offline_widgets",
]

exclude_patterns = [
    "_build",
    "notebooks/scripts",
    "notebooks/v1-migration",
    "notebooks/exportedTBlogs",
    "notebooks/restored-snapshot",
    "notebooks/outputs",
    "notebooks/pipeline-steps",
    "**/.ipynb_checkpoints",
]

# -- strictness: the build fails on any warning (./scripts/docs passes -W --keep-going) --
nitpicky = True
nitpick_ignore_regex = [
    # Names of other libraries (no intersphinx inventories offline) and typing internals.
    (
        r"py:.*",
        r"(numpy|np|pandas|pd|ipywidgets|IPython|traitlets|mlflow|psycopg|distributed|matplotlib|bqplot|anywidget|PIL|os|pathlib|collections|typing|typing_extensions|datetime|threading|concurrent|subprocess|types|enum|zipfile|io|logging|json|contextlib|argparse|dataclasses|builtins|random)(\..*)?",
    ),
    (
        r"py:.*",
        r"(Path|PathLike|Any|Callable|Iterator|Iterable|Mapping|Sequence|Generator|Literal|Self|TracebackType|ndarray|DataFrame|Series|Figure|Widget|DOMWidget|Output|Enum|datetime|timedelta|StrPath|T|K|V)",
    ),
    (
        r"py:.*",
        r"(optional|callable|function|default|object|iterable|mapping|sequence|list of .*|dict of .*)",
    ),
    # Private modules and names a public signature mentions (documented where they are used).
    (r"py:.*", r"run_widgets(\..*)?\._.*|_.*"),
    # Internal types that public signatures mention: the read models behind the views and
    # the store's contract (the store and core tracks are restructuring these modules; the
    # docstrings of the methods that return them say what they hold).
    (
        r"py:.*",
        r"run_widgets\.(views|widgets|store|runtime|tracking|data|pipeline|mlflow\.(mirror|views|api|history))\..*",
    ),
    (r"py:.*", r"TagFilter|RunSource|PollChanges|ModelChanges"),
    # What ComputeTarget.get_status() returns: a str (v1's state name) with serialize().
    (r"py:.*", r"run_widgets\.submit\.compute\.ComputeTargetStatus"),
]

# -- MyST and MyST-NB --
myst_enable_extensions = ["colon_fence", "deflist", "attrs_inline"]
myst_heading_anchors = 3
# RW_DOCS_EXECUTE=off skips running the notebooks and examples (quick prose edits only;
# ./scripts/docs and CI always run them).
nb_execution_mode = os.environ.get("RW_DOCS_EXECUTE", "force")
if nb_execution_mode == "off":
    # Unexecuted notebooks carry no pygments lexer in their metadata (a kernel fills it in).
    suppress_warnings = ["myst-nb.lexer"]
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
nb_execution_excludepatterns: list[str] = []
# MyST-NB's default loads require.js and the html-manager from CDNs; these are copies
# served from this site (staged by _ext/offline_widgets.py).
nb_ipywidgets_js = offline_widgets.NB_IPYWIDGETS_JS

# -- autodoc / napoleon --
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_use_param = True
napoleon_use_ivar = True

autodoc_type_aliases = {"TagFilter": "TagFilter"}


def _signature(app, what, name, obj, options, signature, return_annotation):  # type: ignore[no-untyped-def]
    """Readable signatures where autodoc's are not.

    * Dataclass fields with ``default_factory`` show as ``= <factory>``, which the signature
      parser cannot read: shown as ``= ...``.
    * Widget classes (traitlets) report ``(*args, **kwargs)`` from their metaclass: their
      ``__init__`` is what a user calls.
    """
    if signature and "<factory>" in signature:
        signature = signature.replace("<factory>", "...")
    if what in {"class", "exception"} and signature and "*args: t.Any" in signature:
        import inspect

        params = list(inspect.signature(obj.__init__).parameters.values())[1:]
        signature = str(inspect.Signature(params))
    return signature, return_annotation


def _strip_test_markers(app, exception):  # type: ignore[no-untyped-def]
    """Drop nbval's ``# NBVAL_…`` cell markers from the rendered notebooks' code.

    They tell the test suite how to compare a cell's output; a reader has no use for them.
    """
    if exception is not None or app.builder.format != "html":
        return
    marker = re.compile(r'<span class="c1"># NBVAL_[A-Z_]+</span>\n')
    for page in Path(app.outdir, "notebooks").glob("*.html"):
        text = page.read_text(encoding="utf-8")
        cleaned = marker.sub("", text)
        if cleaned != text:
            page.write_text(cleaned, encoding="utf-8")


def setup(app):  # type: ignore[no-untyped-def]
    """Local hooks of this site."""
    app.connect("autodoc-process-signature", _signature)
    app.connect("build-finished", _strip_test_markers)


intersphinx_mapping: dict[str, tuple[str, str | None]] = {}

# -- HTML --
html_theme = "pydata_sphinx_theme"
html_title = "run_widgets"
html_static_path = ["_static"]
html_css_files = ["rw-docs.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
# Pages whose views need the width get no left sidebar (their navigation is the top bar).
html_sidebars = {"index": [], "changelog": [], "guides/*": [], "examples/index": []}
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
