"""Check the built distributions in DIST: the wheel carries every file of the package (py.typed included),
the sdist every file a checkout needs to build, test and document it. Exit status 1 names what is missing.

Usage: python .ci/check_dist.py dist
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "taskrouter_async"
#: What the sdist must hold besides the package: the metadata, the tests, examples and the docs site's sources.
SDIST_TREES = ("tests", "examples", "docs", "codegen")
SDIST_FILES = ("pyproject.toml", "README.md", "CHANGELOG.md", "mkdocs.yml", "noxfile.py")


def _package_files() -> set[str]:
    """Every file of the package in the checkout (run-time data and py.typed included), bytecode excepted."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / PACKAGE).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def _tree_files(name: str) -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / name).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def main(dist: Path) -> int:
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}", file=sys.stderr)
        return 1
    with zipfile.ZipFile(wheels[0]) as wheel:
        in_wheel = set(wheel.namelist())
    with tarfile.open(sdists[0]) as sdist:
        in_sdist = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    package = _package_files()
    problems = [f"wheel lacks {name}" for name in sorted(package - in_wheel)]
    if f"{PACKAGE}/py.typed" not in in_wheel:
        problems.append(f"wheel lacks {PACKAGE}/py.typed")
    wanted = package | set(SDIST_FILES) | {name for tree in SDIST_TREES for name in _tree_files(tree)}
    problems += [f"sdist lacks {name}" for name in sorted(wanted - in_sdist)]
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{wheels[0].name}: {len(package)} package files; {sdists[0].name}: {len(in_sdist)} files")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "dist")))
