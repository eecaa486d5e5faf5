"""Fixtures for the deploy checks: kustomize, each overlay rendered once, the operator-provided Secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.deploy.manifests import K8S, OVERLAYS, Doc, kustomize_binary, render


@pytest.fixture(scope="session")
def kustomize() -> str:
    binary = kustomize_binary()
    if binary is None:
        pytest.fail("kustomize not found: run deploy/tools/install-kustomize.sh (installs it into .run/bin)")
    return binary


@pytest.fixture(scope="session")
def rendered(kustomize: str) -> dict[str, list[Doc]]:
    """Every overlay under deploy/k8s/overlays, rendered by kustomize."""
    return {overlay: render(kustomize, K8S / "overlays" / overlay) for overlay in OVERLAYS}


@pytest.fixture(scope="session")
def operator_secrets() -> dict[str, set[str]]:
    listed = yaml.safe_load((K8S / "operator-provided.yaml").read_text())["secrets"]
    return {s["name"]: set(s["keys"]) for s in listed}


@pytest.fixture(scope="session")
def rendered_files(rendered: dict[str, list[Doc]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("rendered")
    files = {}
    for overlay, docs in rendered.items():
        files[overlay] = out / f"{overlay}.yaml"
        files[overlay].write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return files
