"""Lambda zips: reproducible, rebuilt only when an input changes, holding only what they should."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from infra.cloudformation import packaging
from infra.cloudformation.packaging import (
    BOTOCORE_SERVICES,
    DEPS_STAMP,
    PackagingError,
    build_service,
    install_dependencies,
)

ROOT = Path(__file__).resolve().parents[3]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small repository: one service, the shared package, tests and caches to leave out."""
    root = tmp_path / "repo"
    write(root / "services" / "__init__.py", "")
    write(root / "services" / "fraud" / "__init__.py", "")
    write(
        root / "services" / "fraud" / "handler.py", "def handler(event, context):\n    return 1\n"
    )
    write(root / "services" / "fraud" / "tests" / "test_handler.py", "def test(): pass\n")
    write(root / "services" / "fraud" / "__pycache__" / "handler.cpython-311.pyc", "bytecode")
    write(root / "services" / "orders" / "api.py", "not part of the fraud zip\n")
    write(root / "shared" / "__init__.py", "")
    write(root / "shared" / "envelope.py", "ENVELOPE = 1\n")
    write(root / "shared" / "catalogue.json", "{}\n")
    write(root / "shared" / "tests" / "test_envelope.py", "def test(): pass\n")
    return root


@pytest.fixture
def deps(tmp_path: Path) -> Path:
    """Installed dependencies as pip would leave them (stamp included)."""
    target = tmp_path / "deps"
    write(target / "boto3" / "__init__.py", "VERSION = 1\n")
    write(target / "botocore" / "data" / "sqs" / "2012-11-05" / "service-2.json.gz", "sqs")
    write(target / "botocore" / "data" / "ec2" / "2016-11-15" / "service-2.json.gz", "ec2")
    write(target / "botocore" / "data" / "endpoints.json", "{}")
    write(target / "bin" / "jp.py", "#!/usr/bin/env python\n")
    write(target / DEPS_STAMP, "deps-digest")
    return target


def build(tree: Path, deps: Path, build_dir: Path) -> packaging.Artifact:
    return build_service("fraud", deps, "deps-digest", root=tree, build_dir=build_dir)


def test_the_same_inputs_give_the_same_bytes(tree: Path, deps: Path, tmp_path: Path) -> None:
    first = build(tree, deps, tmp_path / "one")
    (tree / "services" / "fraud" / "handler.py").touch()  # a newer mtime changes nothing
    second = build(tree, deps, tmp_path / "two")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == second.sha256 and first.rebuilt and second.rebuilt


def test_a_zip_holds_code_shared_and_dependencies_but_no_tests(
    tree: Path, deps: Path, tmp_path: Path
) -> None:
    artifact = build(tree, deps, tmp_path / "build")
    with zipfile.ZipFile(artifact.path) as archive:
        names = archive.namelist()
        infos = archive.infolist()
    assert set(names) == {
        "boto3/__init__.py",
        "botocore/data/endpoints.json",
        "botocore/data/sqs/2012-11-05/service-2.json.gz",
        "services/__init__.py",
        "services/fraud/__init__.py",
        "services/fraud/handler.py",
        "shared/__init__.py",
        "shared/catalogue.json",
        "shared/envelope.py",
    }
    assert {info.date_time for info in infos} == {packaging.ZIP_TIMESTAMP}
    dependencies, code = names[:3], names[3:]
    assert dependencies == sorted(dependencies) and code == sorted(code)
    assert artifact.has_service_code


def test_a_zip_is_rebuilt_only_when_an_input_changes(
    tree: Path, deps: Path, tmp_path: Path
) -> None:
    build_dir = tmp_path / "build"
    first = build(tree, deps, build_dir)
    again = build(tree, deps, build_dir)
    assert not again.rebuilt and again.sha256 == first.sha256

    write(tree / "services" / "fraud" / "tests" / "test_more.py", "def test(): pass\n")
    write(tree / "services" / "orders" / "api.py", "another service changed\n")
    assert not build(tree, deps, build_dir).rebuilt

    write(tree / "shared" / "envelope.py", "ENVELOPE = 2\n")
    changed = build(tree, deps, build_dir)
    assert changed.rebuilt and changed.sha256 != first.sha256

    other_deps = build_service("fraud", deps, "other-digest", root=tree, build_dir=build_dir)
    assert other_deps.rebuilt


def test_a_service_not_written_yet_is_packaged_without_its_folder(
    tree: Path, deps: Path, tmp_path: Path
) -> None:
    artifact = build_service("payments", deps, "d", root=tree, build_dir=tmp_path / "b")
    assert not artifact.has_service_code
    with zipfile.ZipFile(artifact.path) as archive:
        assert not [n for n in archive.namelist() if n.startswith("services/payments")]


def test_missing_dependencies_are_reported(tree: Path, tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match="not installed"):
        build_service("fraud", tmp_path / "nothing", "d", root=tree, build_dir=tmp_path / "b")


def test_dependencies_are_installed_only_when_requirements_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requirements = write(tmp_path / "lambda.txt", "boto3==1.0\n")
    target = tmp_path / "deps"
    calls: list[list[str]] = []

    def fake_pip(command: list[str], **_: object) -> object:
        calls.append(command)
        staging = Path(command[command.index("--target") + 1])
        write(staging / "boto3" / "__init__.py", "")

        class Done:
            returncode = 0
            stderr = ""

        return Done()

    monkeypatch.setattr("infra.cloudformation.packaging.subprocess.run", fake_pip)
    digest = install_dependencies(requirements, target)
    assert install_dependencies(requirements, target) == digest
    assert len(calls) == 1
    assert "manylinux2014_x86_64" in calls[0] and "--only-binary=:all:" in calls[0]
    assert "--require-hashes" in calls[0]  # every wheel checked against the lock's hashes
    write(requirements, "boto3==2.0\n")
    assert install_dependencies(requirements, target) != digest
    assert len(calls) == 2 and (target / "boto3" / "__init__.py").exists()


def test_every_client_the_code_builds_keeps_its_botocore_model() -> None:
    client_call = re.compile(r"""client\(\s*["']([a-z0-9-]+)["']""")
    used: set[str] = set()
    for folder in ("services", "shared"):
        for path in (ROOT / folder).rglob("*.py"):
            if "tests" not in path.parts:
                used |= set(client_call.findall(path.read_text()))
    missing = used - BOTOCORE_SERVICES
    assert not missing, f"add {sorted(missing)} to packaging.BOTOCORE_SERVICES"
