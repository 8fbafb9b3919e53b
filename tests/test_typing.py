"""What users type-check: README's Python blocks, every file in examples/, and the typed names of each resource.

One ``mypy --strict`` run covers them all (through ``mypy.api``, with a cache kept in pytest's cache
directory, so a repeat run takes about a second).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from mypy import api as mypy_api

pytestmark = pytest.mark.typecheck

ROOT = Path(__file__).parent.parent
CASES = Path(__file__).parent / "typing"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
EXPECTED_ERROR = re.compile(r"# E: (.+)$")


@attrs.frozen
class Checked:
    """The files one mypy run checked, and its error lines per file, with paths users recognise."""

    readme_blocks: list[Path]
    examples: list[Path]
    errors: dict[str, list[str]]

    def errors_in(self, path: Path) -> list[str]:
        return self.errors.get(str(path), [])


def readme_blocks(directory: Path) -> Iterator[Path]:
    """Each ```python block of README.md as its own module, named after the line it starts on."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for match in PYTHON_BLOCK.finditer(text):
        line = text.count("\n", 0, match.start(1)) + 1
        path = directory / f"readme_line_{line}.py"
        path.write_text(match.group(1), encoding="utf-8")
        yield path


@pytest.fixture(scope="session")
def checked(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Checked:
    directory = tmp_path_factory.mktemp("readme")
    blocks = list(readme_blocks(directory))
    examples = sorted((ROOT / "examples").glob("*.py"))
    cache_plugin = getattr(pytestconfig, "cache", None)
    cache = cache_plugin.mkdir("mypy") if cache_plugin is not None else directory / ".mypy_cache"
    files = [*blocks, *examples, *sorted(CASES.glob("*.py"))]
    stdout, stderr, _ = mypy_api.run(
        [
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(cache),
            "--no-error-summary",
            "--hide-error-context",
            "--show-error-codes",
            *map(str, files),
        ]
    )
    assert not stderr, stderr
    errors: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        path, _, rest = line.partition(":")
        if ": error: " in rest:
            errors.setdefault(str(Path(path).resolve()), []).append(rest)
    return Checked(readme_blocks=blocks, examples=examples, errors=errors)


def test_readme_python_blocks_pass_mypy_strict(checked: Checked) -> None:
    assert len(checked.readme_blocks) >= 3  # the Quickstart, the API in brief and testing with the fake
    problems = {
        f"README.md block at line {block.stem.rsplit('_', 1)[1]}": checked.errors_in(block.resolve())
        for block in checked.readme_blocks
    }
    assert {where: errors for where, errors in problems.items() if errors} == {}


def test_examples_pass_mypy_strict(checked: Checked) -> None:
    assert checked.examples, "examples/ has no Python files"
    problems = {example.name: checked.errors_in(example.resolve()) for example in checked.examples}
    assert {name: errors for name, errors in problems.items() if errors} == {}


@pytest.mark.parametrize("case", ["keywords_ok.py", "operations_ok.py"])
def test_each_resource_takes_its_own_names(checked: Checked, case: str) -> None:
    assert checked.errors_in((CASES / case).resolve()) == []


@pytest.mark.parametrize("case", ["keywords_bad.py", "operations_bad.py"])
def test_a_wrong_keyword_is_a_type_error(checked: Checked, case: str) -> None:
    """Each line of the case ending in an "E:" comment is an error saying what follows; no other line is."""
    path = (CASES / case).resolve()
    expected = {
        number: match.group(1)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if (match := EXPECTED_ERROR.search(line))
    }
    found: dict[int, str] = {}
    for error in checked.errors_in(path):
        number, _, message = error.partition(":")
        found[int(number)] = found.get(int(number), "") + message
    assert set(found) == set(expected), found
    for number, text in expected.items():
        assert text in found[number], (number, found[number])
