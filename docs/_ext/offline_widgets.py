"""Serve the widget JavaScript of rendered notebooks from the site itself.

MyST-NB embeds each executed notebook's widget state in its page and, by default, loads
require.js and ``@jupyter-widgets/html-manager`` from CDNs, which then fetch each widget
library (anywidget, bqplot, bqscales) from a CDN too. This extension makes the site work
offline and pinned to what the build ran with:

* require.js and the html-manager's ``embed-amd.js`` (with its fonts) are packed from the
  npm registry at build time (``npm pack``, cached under ``build/docs-cache/npm``);
* the widget libraries' AMD bundles are copied from the build environment's
  ``<sys.prefix>/share/jupyter/nbextensions/`` (the exact versions that produced the state);
* ``rw-widgets/paths.js`` tells require.js where those bundles are, relative to itself, so
  the html-manager finds them before it would ever ask a CDN.

This is the same set of files ``tests/browser/test_frontends.py`` serves to nbconvert's HTML.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

NPM_PACKAGES = {"html-manager": "@jupyter-widgets/html-manager@1", "requirejs": "requirejs@2"}
WIDGET_LIBRARIES = ("anywidget", "bqplot", "bqscales")
TARGET = "rw-widgets"

PATHS_JS = """// Written by docs/_ext/offline_widgets.py: widget libraries are served by this site.
(function () {
  var here = new URL(".", document.currentScript.src).href;
  var paths = {};
  %s.forEach(function (name) { paths[name] = here + name + "/index"; });
  window.requirejs.config({ paths: paths });
})();
"""


def _npm_packages(cache: Path) -> dict[str, Path]:
    """The npm packages' folders, unpacked from ``npm pack`` tarballs into ``cache``."""
    npm = shutil.which("npm")
    out: dict[str, Path] = {}
    for key, spec in NPM_PACKAGES.items():
        target = cache / key
        if not target.is_dir():
            if npm is None:
                raise RuntimeError(
                    "npm is missing: ./scripts/docs installs Debian's npm, which packs "
                    f"{spec} for the rendered widgets"
                )
            cache.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=cache))
            subprocess.run(
                [npm, "pack", spec, "--silent", f"--pack-destination={staging}"],
                check=True,
                capture_output=True,
                timeout=300,
            )
            (tarball,) = staging.glob("*.tgz")
            with tarfile.open(tarball) as archive:
                archive.extractall(staging / "x", filter="data")
            (staging / "x" / "package").rename(target)
            shutil.rmtree(staging)
        out[key] = target
    return out


def _stage(static: Path, cache: Path) -> None:
    """Fill ``static/rw-widgets`` with every file the rendered widgets load."""
    npm = _npm_packages(cache)
    target = static / TARGET
    if target.exists():
        shutil.rmtree(target)
    (target / "html-manager").mkdir(parents=True)
    shutil.copy(npm["requirejs"] / "require.js", target / "require.js")
    for path in (npm["html-manager"] / "dist").iterdir():
        if path.name == "embed-amd.js" or path.suffix in {
            ".woff",
            ".woff2",
            ".ttf",
            ".eot",
            ".svg",
        }:
            shutil.copy(path, target / "html-manager" / path.name)
    nbextensions = Path(sys.prefix) / "share" / "jupyter" / "nbextensions"
    for name in WIDGET_LIBRARIES:
        bundle = nbextensions / name / "index.js"
        if not bundle.is_file():
            raise RuntimeError(f"{bundle} is missing: install the {name} package in the docs venv")
        (target / name).mkdir()
        shutil.copy(bundle, target / name / "index.js")
    names = "[" + ", ".join(f'"{n}"' for n in WIDGET_LIBRARIES) + "]"
    (target / "paths.js").write_text(PATHS_JS % names)


def _on_builder_inited(app: Any) -> None:
    cache = Path(app.confdir).parent / "build" / "docs-cache" / "npm"
    static = Path(app.outdir) / "_static"
    _stage(static, cache)


# MyST-NB's ``nb_ipywidgets_js`` (conf.py sets it to this): the scripts every page with
# widget state loads, in order, relative to _static/.
NB_IPYWIDGETS_JS: dict[str, dict[str, str]] = {
    f"{TARGET}/require.js": {},
    f"{TARGET}/paths.js": {},
    # The html-manager falls back to this "CDN" only for a module require.js cannot find;
    # a URL no server answers keeps a page from going online.
    f"{TARGET}/html-manager/embed-amd.js": {"data-jupyter-widgets-cdn": "about:blank#"},
}


def setup(app: Any) -> dict[str, Any]:
    """Register the extension: stage the widget scripts when a build starts."""
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
