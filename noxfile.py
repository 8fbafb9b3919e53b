"""Developer sessions: ``tests``, ``lint``, ``typecheck``; on demand ``quick``, ``docs``, ``generate``, ``fuzz``,
``signatures``, ``soak``, ``ratelimit``, ``bench`` and ``exitcheck``."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = False

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite on every Python that is installed (missing ones are skipped)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def quick(session: nox.Session) -> None:
    """The suite without the long runs: no fault-injection soak, no fuzzing, no Hypothesis properties,
    no differential webhook-signature cases.

    Hypothesis's pytest plugin marks every ``@given`` test ``hypothesis``; soak, fuzz and signature
    tests carry their own markers. The default ``pytest`` run still includes all of them.
    """
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "not (soak or fuzz or hypothesis or signatures)", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/; warnings (broken links, docstring problems) fail the build."""
    session.install("-e", ".[docs]")  # the extra has ruff: mkdocstrings formats the signatures with it
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


#: The generator's own tools, pinned so that regeneration is deterministic: the committed modules were written
#: with these (the dev extra pins the same, for `.ci/run`'s check).
RUFF = "ruff==0.17.6"
GENERATOR_TOOLS = ["jinja2==3.1.6", RUFF, "tomli>=2.0; python_version<'3.11'"]


@nox.session
def generate(session: nox.Session) -> None:
    """Regenerate taskrouter_async/resources/ from the spec and codegen/overrides.toml (see docs/generated-code.md).

    ``nox -s generate -- --check`` writes nothing and fails if a committed module would change.
    """
    session.install(*GENERATOR_TOOLS)
    session.run("python", "codegen/generate.py", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install(RUFF)  # the generator's ruff: another version may format the generated modules differently
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[fake,cli,fastapi]", "mypy")  # the CLI imports uvicorn, rich, shtab; webhooks starlette
    session.run("mypy", "--strict", "taskrouter_async")


@nox.session
def fuzz(session: nox.Session) -> None:
    """Hypothesis fuzzing of response handling with 20,000 examples per test (the default run has 250)."""
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "fuzz", *session.posargs, env={"TASKROUTER_FUZZ_EXAMPLES": "20000"})


@nox.session
def signatures(session: nox.Session) -> None:
    """Webhook signatures against the official SDK's RequestValidator, 100,000 cases (the default run has 3,000)."""
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "signatures", "-s", *session.posargs, env={"TASKROUTER_SIGNATURE_EXAMPLES": "100000"})


@nox.session
def soak(session: nox.Session) -> None:
    """Fault injection with 20,000 updates per backend (the default run has 2,000), printing the counts,
    and README's 10,000-update CLI walkthrough against fake-server (the default run has 200)."""
    session.install("-e", ".[test]")
    env = {"TASKROUTER_SOAK_UPDATES": "20000", "TASKROUTER_WALKTHROUGH_UPDATES": "10000"}
    session.run("pytest", "-m", "soak", "-s", *session.posargs, env=env)


@nox.session
def ratelimit(session: nox.Session) -> None:
    """The shared-budget runs (4 processes on one Redis budget) for 20 s each, one with Redis killed mid-way.

    Needs redis-server on PATH (Debian: apt-get install redis-server); prints the busiest second and the shares.
    """
    session.install("-e", ".[test]")
    session.run(
        "pytest", "tests/test_ratelimit_redis.py", "-s", *session.posargs, env={"TASKROUTER_RATELIMIT_SECONDS": "20"}
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against a local nginx (installed with apt-get when missing); writes benchmarks/README.md.

    Not part of the default sessions: about ten minutes (``nox -s bench -- --quick``: about two), and
    its numbers depend on the machine.
    """
    session.install("-e", ".[bench]")
    session.run("python", "-m", "benchmarks.run", "--write", *session.posargs)


@nox.session(python=["3.11", "3.12", "3.13"])
def exitcheck(session: nox.Session) -> None:
    """The pyreqwest engine exits cleanly: a short script and the CLI, 300 fresh interpreters each, no abort.

    pyreqwest's runtime thread could re-enter Python during interpreter shutdown (SIGABRT); see
    ``PyreqwestEngine.aclose``. About eight minutes on two cores; ``-- --runs N`` for another count.
    """
    session.install("-e", ".[pyreqwest,cli]")
    session.run("python", "-m", "tests.exit_check", *(session.posargs or ["--runs", "300"]))
