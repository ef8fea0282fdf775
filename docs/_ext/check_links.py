"""Check that every internal link and anchor of the built site resolves.

``python docs/_ext/check_links.py build/docs`` reads every HTML page, collects the ids
(and ``<a name>``) each defines, then follows every ``href`` and ``src`` that points inside
the site: the file must exist and its fragment, if any, must be an id of the target page.
External links (``http:``, ``https:``, ``mailto:``) are counted, not fetched: CI has no
general network access. Exits 1 and lists each broken link with the page it is on.
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

EXTERNAL = ("http", "https", "mailto", "ftp", "data", "javascript", "about", "tel", "blob")


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if values.get(key):
                self.ids.add(str(values[key]))
        for key in ("href", "src"):
            value = values.get(key)
            if value and not (
                tag == "link" and values.get("rel") in {"preconnect", "dns-prefetch"}
            ):
                self.links.append(value)


def check(site: Path) -> tuple[list[str], int, int]:
    """Return (broken links, internal links checked, external links seen)."""
    pages: dict[Path, _Page] = {}
    for path in sorted(site.rglob("*.html")):
        if path.relative_to(site).parts[0] in {"_static", "_sources"}:
            continue  # theme templates copied as files, not pages
        parser = _Page()
        parser.feed(path.read_text(encoding="utf-8"))
        pages[path.resolve()] = parser
    broken: list[str] = []
    internal = external = 0
    for path, page in pages.items():
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme in EXTERNAL or link.startswith("//"):
                external += 1
                continue
            internal += 1
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            where = path.relative_to(site.resolve())
            if not target.exists():
                broken.append(f"{where}: {link} (no such file)")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else set()
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{where}: {link} (no anchor #{parts.fragment})")
    return broken, internal, external


def main(argv: list[str]) -> int:
    """Check the site in ``argv[0]``; print what is broken."""
    site = Path(argv[0] if argv else "build/docs")
    if not (site / "index.html").is_file():
        print(f"{site}/index.html is missing: build the site first (./scripts/docs)")
        return 1
    broken, internal, external = check(site)
    for line in broken:
        print(f"broken link: {line}")
    print(
        f"link check: {internal} internal links, {len(broken)} broken; "
        f"{external} external links not fetched"
    )
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
