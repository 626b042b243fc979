"""The GitHub Actions workflows cannot run here: their YAML, the actions they use and the commands
they call are checked instead (every `make X` is a target of the Makefile, every script exists)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict) and data.get("jobs"), f"{name} has no jobs"
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def make_targets(makefile: Path = ROOT / "Makefile") -> set[str]:
    targets = set()
    for line in makefile.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+(?:\s+[A-Za-z0-9_.-]+)*)\s*:(?!=)", line)
        if match and not line.startswith("\t"):
            targets.update(match.group(1).split())
    return targets


def steps(data: dict) -> list[dict]:
    return [step for job in data["jobs"].values() for step in job.get("steps", [])]


def commands(data: dict) -> list[list[str]]:
    """Each shell command line of the workflow's `run:` steps, split into words."""
    out = []
    for step in steps(data):
        script = step.get("run", "")
        for line in re.sub(r"\\\n", " ", script).splitlines():
            for part in re.split(r"\|\||&&|;", line):
                if part.strip() and not part.strip().startswith("#"):
                    out.append(shlex.split(part))
    return out


def called_make_targets(data: dict) -> list[str]:
    return [word for cmd in commands(data) if cmd and cmd[0] == "make"
            for word in cmd[1:] if not word.startswith("-") and "=" not in word]


def test_make_targets_reader_sees_the_makefile():
    targets = make_targets()
    assert {"test", "site", "html", "test-browser", "data"} <= targets
    assert "PY" not in targets and "SHELL" not in targets  # variables are not targets


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_workflow_calls_only_existing_make_targets_and_pinned_actions(name):
    data = load(name)
    targets = make_targets()
    called = called_make_targets(data)
    assert called, f"{name} runs no make target"
    missing = [t for t in called if t not in targets]
    assert not missing, f"{name} calls make targets the Makefile lacks: {missing}"
    for cmd in commands(data):
        for word in cmd:
            if re.fullmatch(r"(tools|\.ci)/[\w./-]+", word):
                assert (ROOT / word).exists(), f"{name} runs {word}, which does not exist"
    for step in steps(data):
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), f"{name}: pin {step['uses']} to a major version"


def test_tests_workflow_runs_the_readme_make_test_on_pushes_and_pull_requests():
    data = load("test.yml")
    assert "push" in data["on"] and "pull_request" in data["on"]
    called = called_make_targets(data)
    assert "test" in called and "test-browser" in called
    assert "make test" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_site_workflow_builds_in_full_mode_and_deploys_to_pages_with_the_official_actions():
    data = load("site.yml")
    assert data["on"]["push"]["branches"] == ["main"] and data["on"]["schedule"][0]["cron"]
    assert data["permissions"]["pages"] == "write" and data["permissions"]["id-token"] == "write"
    assert "site" in called_make_targets(data)
    text = (WORKFLOWS / "site.yml").read_text(encoding="utf-8")
    assert "COURSE_FAST" not in text, "the published site is the full-mode build"
    uses = [step["uses"].split("@")[0] for step in steps(data) if "uses" in step]
    assert {"actions/checkout", "actions/upload-pages-artifact", "actions/deploy-pages"} <= set(uses)
    upload = next(s for s in steps(data) if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "build/site"
    deploy = data["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"


def test_tests_workflow_installs_the_system_packages_ci_installs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    wanted = {word for line in ci.splitlines() if "apt-get install" in line
              for word in line.split("apt-get install", 1)[1].split() if not word.startswith("-")}
    assert wanted, ".ci/run installs no Debian package"
    installed = {word for cmd in commands(load("test.yml")) if cmd[:2] == ["apt-get", "install"] for word in cmd[2:]}
    assert wanted <= installed, f"test.yml lacks {sorted(wanted - installed)}"
