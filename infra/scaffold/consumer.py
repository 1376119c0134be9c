"""A new consumer in the shape of the five Lambdas, and its removal.

    python -m infra.scaffold.consumer new NAME      (make new-consumer NAME=...)
    python -m infra.scaffold.consumer remove NAME   (make remove-consumer NAME=...)

``new`` writes ``services/<name>/`` (pure ``domain.py``, ``service.py`` with its port,
``adapters.py`` with its own table, a ``handler.py`` on the consumer chassis, and unit and
integration tests, the packaged Lambda on LocalStack included) from ``consumer_template/``, and
adds one entry to ``CONSUMERS`` in ``infra/cloudformation/topology/consumers.py``, from which the
template derives its queue, dead-letter queue, alarm, subscription, role, function, event source
mapping and database parameter (``template.yaml`` is rendered again). ``remove`` takes both away
again. NAME may be written with
hyphens; the service's name is its Python package name (``demo-consumer`` -> ``demo_consumer``).
"""

from __future__ import annotations

import argparse
import keyword
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = Path(__file__).resolve().parent / "consumer_template"
CONSUMERS_MODULE = Path("infra/cloudformation/topology/consumers.py")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
MAX_NAME_LENGTH = 24
LIST_START = "CONSUMERS = [\n"


class ScaffoldError(RuntimeError):
    """The consumer cannot be added or removed as asked; the message says why."""


@dataclass(frozen=True)
class NewConsumer:
    package: str

    @classmethod
    def named(cls, name: str) -> NewConsumer:
        if not NAME_PATTERN.match(name) or len(name) > MAX_NAME_LENGTH:
            raise ScaffoldError(
                f"NAME {name!r} must be lower-case letters and digits, words joined by '-' or "
                f"'_', starting with a letter, at most {MAX_NAME_LENGTH} characters"
            )
        package = name.replace("-", "_")
        if keyword.iskeyword(package):
            raise ScaffoldError(f"NAME {name!r} is a Python keyword")
        return cls(package)

    @property
    def class_prefix(self) -> str:
        return "".join(part.capitalize() for part in self.package.split("_"))

    @property
    def entry(self) -> str:
        """Its ``Consumer`` entry in ``CONSUMERS``, formatted as ruff formats it."""
        return (
            "    Consumer(\n"
            f'        "{self.package}",\n'
            f'        "services.{self.package}.handler.handler",\n'
            "        [OrderPlaced.__name__, OrderConfirmed.__name__, OrderCancelled.__name__],\n"
            "    ),\n"
        )

    def render(self, text: str) -> str:
        return Template(text).substitute(
            package=self.package, service=self.package, Name=self.class_prefix
        )


def new(name: str, root: Path = ROOT) -> Path:
    """Write the consumer's folder and its template entry; the folder."""
    consumer = NewConsumer.named(name)
    folder = root / "services" / consumer.package
    if folder.exists():
        raise ScaffoldError(f"{folder.relative_to(root)} exists already: choose another NAME")
    consumers_module = root / CONSUMERS_MODULE
    source = consumers_module.read_text()
    if f'"{consumer.package}"' in source:
        raise ScaffoldError(f"{CONSUMERS_MODULE} already names {consumer.package!r}")
    for template in sorted(TEMPLATE_DIR.rglob("*.tmpl")):
        target = folder / template.relative_to(TEMPLATE_DIR).with_suffix("")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(consumer.render(template.read_text()))
    consumers_module.write_text(_with_entry(source, consumer.entry))
    _run(root, "ruff", "format", "--quiet", str(folder))
    _run(root, "infra.cloudformation.template")
    return folder


def remove(name: str, root: Path = ROOT) -> None:
    """Delete the consumer's folder and its template entry, exactly as ``new`` wrote it."""
    consumer = NewConsumer.named(name)
    folder = root / "services" / consumer.package
    consumers_module = root / CONSUMERS_MODULE
    source = consumers_module.read_text()
    if consumer.entry not in source:
        raise ScaffoldError(
            f"{CONSUMERS_MODULE} has no entry for {consumer.package!r} as new-consumer writes "
            "it: remove its Consumer(...) entry by hand"
        )
    if not folder.is_dir():
        raise ScaffoldError(f"{folder.relative_to(root)} does not exist")
    consumers_module.write_text(source.replace(consumer.entry, "", 1))
    shutil.rmtree(folder)
    _run(root, "infra.cloudformation.template")


def _with_entry(source: str, entry: str) -> str:
    start = source.find(LIST_START)
    end = source.find("\n]\n", start)
    if start < 0 or end < 0:
        raise ScaffoldError(f"{CONSUMERS_MODULE} has no `CONSUMERS = [ ... ]` list to add to")
    return source[: end + 1] + entry + source[end + 1 :]


def _run(root: Path, module: str, *arguments: str) -> None:
    """A module of the tree at ``root``: ruff (to wrap what substitution made too long) or the
    template's renderer (so that ``template.yaml`` stays in step with ``CONSUMERS``)."""
    subprocess.run(
        [sys.executable, "-m", module, *arguments], check=True, cwd=root, capture_output=True
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("new", "remove"))
    parser.add_argument("name", help="e.g. demo-consumer")
    args = parser.parse_args(argv)
    try:
        if args.action == "new":
            folder = new(args.name)
            print(f"wrote {folder.relative_to(ROOT)}/ and its entry in {CONSUMERS_MODULE}")
        else:
            remove(args.name)
            print(f"removed services/{NewConsumer.named(args.name).package}/ and its entry")
    except ScaffoldError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
