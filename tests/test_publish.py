"""The workflow that publishes the book to GitHub Pages: valid, pinned, and running the README's command."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def _workflow():
    data = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key `on` as True
    data["on"] = data.pop(True, data.get("on"))
    return data


def _readme_build_command():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)
    line = next(l for l in block.splitlines() if "builds the HTML book" in l)
    return line.split("#")[0].strip()


def test_it_publishes_on_every_push_to_main():
    on = _workflow()["on"]
    assert on["push"]["branches"] == ["main"]
    permissions = _workflow()["permissions"]
    assert permissions["pages"] == "write" and permissions["id-token"] == "write"


def test_it_builds_with_the_readme_command_and_uploads_the_html():
    jobs = _workflow()["jobs"]
    steps = jobs["build"]["steps"]
    runs = [s["run"].strip() for s in steps if "run" in s]
    assert _readme_build_command() == "make book"
    assert runs == [_readme_build_command()], runs
    upload = [s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert len(upload) == 1 and upload[0]["with"]["path"] == "_build/html"
    deploy = jobs["deploy"]
    assert deploy["needs"] == "build"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"])
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert python["with"]["python-version"] == "3.11"  # the README's Python


def test_every_action_is_pinned_to_an_exact_version():
    jobs = _workflow()["jobs"]
    uses = [s["uses"] for job in jobs.values() for s in job["steps"] if "uses" in s]
    assert len(uses) >= 5
    for use in uses:
        assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+\.\d+\.\d+", use), f"{use} is not pinned to an exact version"
