"""Static checks of the frontend: references resolve, nothing is fetched from elsewhere, every
form control is labelled. Reads files only."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from services.orders.public import COUNTRY_CODES

SITE = Path(__file__).resolve().parents[1]
INDEX = SITE / "index.html"
SOURCES = sorted(
    [*SITE.glob("*.html"), *SITE.glob("*.css"), *SITE.glob("*.svg"), *SITE.glob("js/**/*.js")]
)
MODULES = sorted(SITE.glob("js/**/*.js"))
# Namespace names in SVG are identifiers, never fetched.
XML_NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xhtml"}
CONTROLS = ("input", "select", "textarea")
CONTROL_CALL = r'\bh\(\s*"(?:input|select|textarea)"'

IMPORT = re.compile(
    r"""^\s*(?:import|export)\s+(?P<clause>[^;]*?)\s*from\s*["'](?P<target>[^"']+)["']""",
    re.MULTILINE | re.DOTALL,
)
DYNAMIC_IMPORT = re.compile(r"""import\(\s*["'](?P<target>[^"']+)["']\s*\)""")
EXPORTED_DECLARATION = re.compile(
    r"^export\s+(?:async\s+)?(?:function\*?|const|let|var|class)\s+(?P<name>\w+)", re.MULTILINE
)
EXPORT_LIST = re.compile(r"^export\s*\{(?P<names>[^}]*)\}", re.MULTILINE)
NAMED = re.compile(r"\{(?P<names>[^}]*)\}")
ABSOLUTE_URL = re.compile(r"""https?://[^\s"'`)<>]+""")


class References(HTMLParser):
    """Local URLs of src/href attributes and the labelling facts of form controls."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.controls: list[dict[str, str | None]] = []
        self.label_targets: set[str] = set()
        self.open_labels = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name in ("src", "href"):
            if attributes.get(name):
                self.urls.append(str(attributes[name]))
        if tag == "label":
            self.open_labels += 1
            if attributes.get("for"):
                self.label_targets.add(str(attributes["for"]))
        if tag in CONTROLS and attributes.get("type") not in {"hidden", "submit", "button"}:
            self.controls.append({**attributes, "wrapped": "yes" if self.open_labels else None})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels -= 1


def parsed_index() -> References:
    parser = References()
    parser.feed(INDEX.read_text())
    return parser


def local_path(url: str, base: Path) -> Path | None:
    """The file a same-origin URL names, or None for fragments, routes and other schemes."""
    if url.startswith(("#", "mailto:", "data:")) or re.match(r"^[a-z]+:", url):
        return None
    path = url.split("#", 1)[0].split("?", 1)[0]
    if not path:
        return None
    return SITE / path.lstrip("/") if path.startswith("/") else (base.parent / path).resolve()


def exports_of(module: Path) -> set[str]:
    text = module.read_text()
    names = {match["name"] for match in EXPORTED_DECLARATION.finditer(text)}
    for match in EXPORT_LIST.finditer(text):
        names |= {
            part.split(" as ")[-1].strip() for part in match["names"].split(",") if part.strip()
        }
    return names


def test_index_references_only_existing_assets() -> None:
    urls = parsed_index().urls
    api_routes = [url for url in urls if url.startswith("/api/")]
    missing = [
        url
        for url in urls
        if url not in api_routes and (path := local_path(url, INDEX)) and not path.is_file()
    ]

    assert not missing, f"index.html references missing files: {missing}"
    assert {"/styles.css", "/js/app.js", "/favicon.ico", "/favicon.svg"} <= set(urls)
    assert "/api/docs" in api_routes


def test_css_urls_resolve() -> None:
    for stylesheet in SITE.glob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", stylesheet.read_text()):
            path = local_path(url, stylesheet)
            assert path is None or path.is_file(), f"{stylesheet.name}: {url} does not exist"


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_every_import_resolves_to_an_export(module: Path) -> None:
    text = module.read_text()
    for match in [*IMPORT.finditer(text), *DYNAMIC_IMPORT.finditer(text)]:
        target = match["target"]
        assert target.startswith(("./", "../", "/")), f"{module.name}: bare import {target!r}"
        path = local_path(target, module)
        assert path is not None and path.is_file(), f"{module.name}: {target} does not exist"
        clause = match.groupdict().get("clause") or ""
        named = NAMED.search(clause)
        if named:
            wanted = {
                part.split(" as ")[0].strip() for part in named["names"].split(",") if part.strip()
            }
            missing = wanted - exports_of(path)
            assert not missing, f"{module.name}: {path.name} does not export {sorted(missing)}"


def test_every_module_is_reachable_from_the_entry_point() -> None:
    reached: set[Path] = set()
    pending = [SITE / "js" / "app.js"]
    while pending:
        module = pending.pop()
        if module in reached:
            continue
        reached.add(module)
        text = module.read_text()
        for match in [*IMPORT.finditer(text), *DYNAMIC_IMPORT.finditer(text)]:
            path = local_path(match["target"], module)
            if path is not None:
                pending.append(path)

    assert set(MODULES) - reached == set(), "modules no page loads"


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_no_absolute_urls_to_other_hosts(source: Path) -> None:
    urls = set(ABSOLUTE_URL.findall(source.read_text())) - XML_NAMESPACES

    assert not urls, f"{source.name} refers to other hosts: {sorted(urls)}"


def test_every_form_control_in_the_page_is_labelled() -> None:
    page = parsed_index()
    unlabelled = [
        control
        for control in page.controls
        if not control.get("aria-label")
        and not control.get("aria-labelledby")
        and not control.get("wrapped")
        and control.get("id") not in page.label_targets
    ]

    assert not unlabelled


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_every_form_control_built_by_a_view_is_labelled(module: Path) -> None:
    """Controls are built as `const name = h("input", ...)`, or by a helper that returns one,
    and labelled by `field(label, name)` or a `<label for=name.id>`."""
    text = module.read_text()
    factories = re.findall(rf"function\s+(\w+)\([^)]*\)\s*\{{\s*return\s+{CONTROL_CALL}", text)
    made_by = "|".join([CONTROL_CALL, *(rf"\b{factory}\(" for factory in factories)])
    named = re.findall(rf"(?:const|let)\s+(\w+)\s*=\s*(?:{made_by})", text)
    named_directly = re.findall(rf"(?:const|let)\s+\w+\s*=\s*{CONTROL_CALL}", text)

    unnamed = len(re.findall(CONTROL_CALL, text)) - len(named_directly) - len(factories)
    assert unnamed == 0, f"{module.name} builds a form control without naming it (so unlabelled)"
    for name in named:
        labelled = re.search(rf"field\([^;]*?\b{name}\b", text, re.DOTALL) or re.search(
            rf"for:\s*{name}\.id", text
        )
        assert labelled, f"{module.name}: control {name!r} has no label"


def test_the_country_list_is_the_one_the_orders_api_accepts() -> None:
    source = (SITE / "js" / "countries.js").read_text()

    assert set(re.findall(r'"([A-Z]{2})"', source)) == COUNTRY_CODES


def test_the_page_has_landmarks_a_language_and_a_live_region() -> None:
    html = INDEX.read_text()

    assert re.search(r'<html[^>]*\blang="en"', html)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    for landmark in ("<header", "<nav", "<main", "<footer"):
        assert landmark in html
    assert 'aria-live="polite"' in html
    assert 'class="skip-link" href="#main"' in html
