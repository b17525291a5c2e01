"""environment.yml and pyproject.toml list the same dependencies with the same bounds."""

from __future__ import annotations

import re
import tomllib

from conftest import ROOT

SPEC = re.compile(r"^\s*-\s+([A-Za-z0-9_.\-]+)\s*([<>=!~][^#\s]*)?")


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-")


def _conda_deps() -> dict[str, str]:
    deps = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        m = SPEC.match(line)
        if m and _normalise(m.group(1)) not in {"python", "pip", "pip:"}:
            deps[_normalise(m.group(1))] = m.group(2) or ""
    return deps


def _pyproject_deps() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["dev"]
    deps = {}
    for spec in specs:
        m = re.match(r"([A-Za-z0-9_.\-]+)(.*)", spec)
        deps[_normalise(m.group(1))] = m.group(2).strip()
    return deps


def test_environment_and_pyproject_agree() -> None:
    conda, pip = _conda_deps(), _pyproject_deps()
    assert set(conda) == set(pip), set(conda) ^ set(pip)
    for name, spec in pip.items():
        assert conda[name] == spec, f"{name}: pyproject {spec!r} vs environment.yml {conda[name]!r}"


def test_every_imported_package_is_listed() -> None:
    imports = {
        "tensorflow",
        "keras",
        "numpy",
        "matplotlib",
        "cv2",
        "sklearn",
        "papermill",
        "tqdm",
        "kagglehub",
        "PIL",
        "ipywidgets",
    }
    names = {"cv2": "opencv-python-headless", "sklearn": "scikit-learn", "PIL": "pillow"}
    used = set()
    for path in (ROOT / "utils").rglob("*.py"):
        for m in re.finditer(r"^\s*(?:from|import)\s+([A-Za-z0-9_]+)", path.read_text(), re.M):
            if m.group(1) in imports:
                used.add(names.get(m.group(1), m.group(1)))
    assert used <= set(_pyproject_deps()), used - set(_pyproject_deps())


def test_pre_commit_runs_ruff_and_strips_notebook_outputs() -> None:
    """The contributor hooks: lint, format, and notebooks committed without outputs."""
    import yaml

    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {h["id"]: h for repo in config["repos"] for h in repo["hooks"]}
    assert {"ruff-check", "ruff-format", "nbstripout"} <= set(hooks)
    assert "--keep-id" in hooks["nbstripout"]["entry"], "cell ids stay: small notebook diffs"
