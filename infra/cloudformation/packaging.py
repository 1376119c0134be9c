"""One reproducible zip per Lambda service under `build/lambda/`, rebuilt only when inputs change.

A zip holds `services/__init__.py`, `services/<name>/**` and `shared/**` (tests and caches left
out) and the pinned dependencies of `requirements/lambda.txt`, installed once as CPython 3.11
manylinux wheels, each checked against the lock's hashes, into `build/lambda/deps/` (reinstalled
only when that file changes). Entries are sorted and carry a fixed timestamp and mode, so the same
inputs give the same bytes; a digest of the inputs stored next to each zip decides whether it is
rebuilt.

    python -m infra.cloudformation.packaging [service ...]
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from infra.cloudformation.template import LAMBDA_SERVICES

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / "build" / "lambda"
REQUIREMENTS = ROOT / "requirements" / "lambda.txt"

# Bump when the layout of a zip changes, so that every zip is rebuilt.
FORMAT_VERSION = "2"
PIP_PLATFORM = [
    "--platform",
    "manylinux2014_x86_64",
    "--implementation",
    "cp",
    "--python-version",
    "3.11",
    "--only-binary=:all:",
]
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
EXCLUDED_DIRS = {"__pycache__", "tests", ".pytest_cache", ".mypy_cache"}
# botocore's service models are most of a zip's size; a function only needs the clients it
# builds (plus what powertools may build). A client of a service missing here fails with
# UnknownServiceError, so test_packaging checks every `client("...")` of the code is kept.
BOTOCORE_SERVICES = frozenset(
    {
        "appconfig",
        "appconfigdata",
        "cloudwatch",
        "dynamodb",
        "events",
        "kms",
        "lambda",
        "logs",
        "s3",
        "secretsmanager",
        "ses",
        "sesv2",
        "sns",
        "sqs",
        "ssm",
        "sts",
        "xray",
    }
)
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
DEPS_STAMP = ".requirements.sha256"


class PackagingError(RuntimeError):
    """A zip cannot be built (dependencies missing or failing to install)."""


@dataclass(frozen=True)
class Artifact:
    service: str
    path: Path
    sha256: str
    size: int
    rebuilt: bool
    has_service_code: bool  # False while services/<name>/ is not written yet


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def install_dependencies(requirements: Path, target: Path) -> str:
    """Install the pinned wheels into `target` unless already there; return their digest."""
    wanted = hashlib.sha256(requirements.read_bytes() + " ".join(PIP_PLATFORM).encode())
    digest = wanted.hexdigest()
    stamp = target / DEPS_STAMP
    if stamp.exists() and stamp.read_text() == digest:
        return digest
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile"]
    command += ["--require-hashes", "-r", str(requirements)]
    command += [*PIP_PLATFORM, "--target", str(staging)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PackagingError(f"pip could not install {requirements}:\n{result.stderr.strip()}")
    (staging / DEPS_STAMP).write_text(digest)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return digest


def _walk(directory: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part in EXCLUDED_DIRS for part in relative.parts):
            continue
        if path.is_file() and path.suffix not in EXCLUDED_SUFFIXES:
            yield f"{prefix}{relative.as_posix()}", path


def code_files(root: Path, service: str) -> list[tuple[str, Path]]:
    """(archive name, file) of the service's own code (what exists of it) and `shared`."""
    files = [("services/__init__.py", root / "services" / "__init__.py")]
    files += _walk(root / "services" / service, f"services/{service}/")
    files += _walk(root / "shared", "shared/")
    return files


def _is_unused_botocore_model(name: str) -> bool:
    parts = name.split("/")
    return (
        len(parts) > 3 and parts[:2] == ["botocore", "data"] and parts[2] not in BOTOCORE_SERVICES
    )


def dependency_files(deps: Path) -> list[tuple[str, Path]]:
    """(archive name, file) of the installed wheels: no scripts, stamp or unused models."""
    return [
        (name, path)
        for name, path in _walk(deps, "")
        if not name.startswith("bin/")
        and name != DEPS_STAMP
        and not _is_unused_botocore_model(name)
    ]


def inputs_digest(code: Iterable[tuple[str, Path]], deps_digest: str) -> str:
    """Digest of everything a zip is made of (the deps by their requirements digest)."""
    digest = hashlib.sha256(f"layout {layout_digest(deps_digest)}\n".encode())
    for name, path in sorted(code):
        digest.update(f"{name} {sha256_file(path)}\n".encode())
    return digest.hexdigest()


def _write_entries(archive: zipfile.ZipFile, entries: Iterable[tuple[str, Path]]) -> None:
    """Sorted entries with a fixed timestamp, mode and creator: bytes depend on contents only."""
    for name, path in sorted(entries):
        info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3  # Unix, whatever the building machine
        archive.writestr(info, path.read_bytes(), compresslevel=6)


def layout_digest(deps_digest: str) -> str:
    """Digest of the installed wheels and of what a zip keeps of them."""
    layout = f"format {FORMAT_VERSION}\ndeps {deps_digest}\nbotocore {sorted(BOTOCORE_SERVICES)}\n"
    return hashlib.sha256(layout.encode()).hexdigest()


def dependencies_zip(deps: Path, deps_digest: str, build_dir: Path) -> Path:
    """The installed wheels compressed once; every service zip starts as a copy of it."""
    destination = build_dir / "deps.zip"
    stamp = build_dir / "deps.zip.sha256"
    wanted = layout_digest(deps_digest)
    if destination.exists() and stamp.exists() and stamp.read_text() == wanted:
        return destination
    partial = destination.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        _write_entries(archive, dependency_files(deps))
    partial.replace(destination)
    stamp.write_text(wanted)
    return destination


def build_service(
    service: str, deps: Path, deps_digest: str, root: Path = ROOT, build_dir: Path = BUILD_DIR
) -> Artifact:
    """Build (or reuse) the zip of one service: the dependencies, then its code."""
    if not (deps / DEPS_STAMP).exists():
        raise PackagingError(f"dependencies are not installed in {deps}")
    code = code_files(root, service)
    wanted = inputs_digest(code, deps_digest)
    destination = build_dir / f"{service}.zip"
    # "<inputs digest> <zip digest>": the zip is neither rebuilt nor hashed again when unchanged
    stamp = build_dir / f"{service}.zip.stamp"
    recorded = stamp.read_text().split() if stamp.exists() else []
    rebuilt = not (destination.exists() and len(recorded) == 2 and recorded[0] == wanted)
    if rebuilt:
        build_dir.mkdir(parents=True, exist_ok=True)
        partial = destination.with_suffix(".partial")
        shutil.copyfile(dependencies_zip(deps, deps_digest, build_dir), partial)
        with zipfile.ZipFile(partial, "a") as archive:
            _write_entries(archive, code)
        partial.replace(destination)
        recorded = [wanted, sha256_file(destination)]
        stamp.write_text(" ".join(recorded))
    return Artifact(
        service=service,
        path=destination,
        sha256=recorded[1],
        size=destination.stat().st_size,
        rebuilt=rebuilt,
        has_service_code=(root / "services" / service).is_dir(),
    )


@contextmanager
def exclusive(build_dir: Path) -> Iterator[None]:
    """One build at a time in ``build_dir`` (test workers and deploys may package at once)."""
    build_dir.mkdir(parents=True, exist_ok=True)
    with (build_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_all(
    services: Iterable[str] | None = None, root: Path = ROOT, build_dir: Path = BUILD_DIR
) -> list[Artifact]:
    """Build every requested (default: every) service's zip."""
    deps = build_dir / "deps"
    chosen = list(services) if services is not None else list(LAMBDA_SERVICES)
    with exclusive(build_dir):
        deps_digest = install_dependencies(root / "requirements" / "lambda.txt", deps)
        return [build_service(service, deps, deps_digest, root, build_dir) for service in chosen]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "services", nargs="*", help=f"some of {', '.join(LAMBDA_SERVICES)} (default: all)"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.services) - set(LAMBDA_SERVICES))
    if unknown:
        parser.error(
            f"unknown service(s) {', '.join(unknown)}; known: {', '.join(LAMBDA_SERVICES)}"
        )
    began = time.monotonic()
    try:
        artifacts = build_all(args.services or None)
    except PackagingError as error:
        print(f"packaging failed: {error}", file=sys.stderr)
        return 1
    for artifact in artifacts:
        state = "built" if artifact.rebuilt else "unchanged"
        size_mb = artifact.size / 1e6
        note = "" if artifact.has_service_code else f"  (no services/{artifact.service}/ yet)"
        print(f"{artifact.service:<10} {state:<9} {size_mb:6.1f} MB  {artifact.sha256[:12]}{note}")
    print(f"packaged {len(artifacts)} zips in {time.monotonic() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
