"""The README stays true: every setting is documented, and CI runs the README's test command."""

import re
from pathlib import Path

from config.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`(ZSB_[A-Z0-9_]+)`", readme))
    missing = {f"ZSB_{name.upper()}" for name in Settings.model_fields} - documented
    assert not missing, f"document these in README.md's configuration table: {sorted(missing)}"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]
    test_command = next(line.split("#")[0].strip() for line in first_block.splitlines() if " test" in line)
    assert test_command == "./dev test"
    assert test_command in (ROOT / ".ci" / "run").read_text()
