"""make library-suites: rq's and python-redis-lock's own test suites, each run twice, on one
plain redis.Redis and with the client swapped for StrictRedisCluster over three masters.

Not part of ``make test`` (it takes minutes and downloads the suites). Steps:

1. the two libraries' PyPI source distributions (pinned versions, their tests included) are
   fetched once with pip into ``target/library-suites/cache`` and checked against the sha256
   below, then unpacked;
2. a virtualenv of its own (``target/library-suites/venv``, so ``make test``'s stays clean) gets
   the suites' test dependencies, the two libraries and this repository's package;
3. three masters and one plain server start on LIBRARY_SUITES_BASE_PORT..+3 (tests/ports.env);
   every suite runs with the one hook (tests/library_suites/swap_client.py, and suites_plugin.py)
   in mode ``plain`` then ``ours``; every server is stopped by its own process handle;
4. python/tests/test_library_patterns.py runs in that virtualenv, where its rq and
   python-redis-lock tests are not skipped;
5. summary.py prints the pass counts side by side and what passes on plain but not on ours.

The swapped client's settings come from a JSON file (``LIBRARY_SUITES_SETTINGS``, default
tests/library_suites/settings.json): per library, ``cluster`` (merged into the cluster config:
routing rules, per-node transactions, ...) and ``client`` (StrictRedisCluster keyword options).

Run: ``flock /tmp/rc-tests.lock make library-suites`` (or ``.venv/bin/python
tests/library_suites/run.py [--only rq] [--mode ours] [-- pytest args]``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WORK = ROOT / "target" / "library-suites"
VENV = WORK / "venv"
VENV_PY = VENV / "bin" / "python"
sys.path.insert(0, str(ROOT / "python" / "tests"))
import redis_servers  # noqa: E402

# redis-py as the repository's own .venv has it (pyproject: redis>=8.1,<9), so both modes and
# make test run the same redis-py.
REDIS_PY = "redis==8.1.0"
PYTEST = ["pytest==8.4.2", "pytest-timeout==2.4.0"]

SUITES = {
    "rq": {
        "requirement": "rq==3.0.0",
        "sdist": "rq-3.0.0.tar.gz",
        "sha256": "b41e39b3c36ec3faf9e2402c638a0b25fe18ebb93a1cb15193bc69694f054618",
        "test_deps": ["psutil==7.2.2"],
        "pytest_args": ["tests"],
        "env": {},
    },
    "python-redis-lock": {
        "requirement": "python-redis-lock==4.0.0",
        "sdist": "python-redis-lock-4.0.0.tar.gz",
        "sha256": "4abd0bcf49136acad66727bf5486dd2494078ca55e49efa693f794077319091a",
        # tox.ini's test deps (process-tests, gevent, eventlet, Django, django-redis), at
        # versions that install on this Python.
        "test_deps": [
            "process-tests==3.0.0",
            "gevent==26.9.0",
            "eventlet==0.41.3",
            "Django==5.2.19",
            "django-redis==7.0.0",
        ],
        "pytest_args": ["tests", "--ignore=src"],
        # As its tox.ini sets them.
        "env": {
            "PYTHONPATH": "{src}/tests",
            "DJANGO_SETTINGS_MODULE": "test_project.settings",
            "PYTHONUNBUFFERED": "yes",
        },
    },
}


def ports():
    for line in (ROOT / "tests" / "ports.env").read_text().splitlines():
        if line.startswith("LIBRARY_SUITES_BASE_PORT="):
            base = int(line.split("=", 1)[1])
            return [base, base + 1, base + 2], base + 3
    raise SystemExit("LIBRARY_SUITES_BASE_PORT missing from tests/ports.env")


def run(*args, **kwargs):
    subprocess.run([str(a) for a in args], check=True, **kwargs)


def fetch(name, suite):
    """The pinned sdist, downloaded once by pip, checked, unpacked: its directory."""
    cache = WORK / "cache"
    archive = cache / suite["sdist"]
    if not archive.exists():
        run(
            sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
            "--no-deps", "--no-binary", ":all:", "--dest", cache, suite["requirement"],
        )  # fmt: skip
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != suite["sha256"]:
        raise SystemExit(f"{archive}: sha256 {digest}, expected {suite['sha256']}")
    source = WORK / "src" / suite["sdist"].removesuffix(".tar.gz")
    if not source.exists():
        with tarfile.open(archive) as tar:
            tar.extractall(WORK / "src", filter="data")
    if not (source / "tests").is_dir():
        raise SystemExit(f"{archive} has no tests/ directory")
    return source


def venv(sources):
    """The suites' own virtualenv, (re)filled when its requirements change."""
    wanted = [REDIS_PY, *PYTEST]
    for name, suite in SUITES.items():
        wanted += [*suite["test_deps"], str(sources[name])]
    stamp = VENV / ".installed"
    state = json.dumps(wanted) + str((ROOT / "pyproject.toml").stat().st_mtime)
    if not VENV_PY.exists():
        run(sys.executable, "-m", "venv", VENV)
    if not stamp.exists() or stamp.read_text() != state:
        pip = [VENV_PY, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        run(*pip, *wanted)
        stamp.write_text(state)
    # This tree's package, every run (maturin reuses make python-install's cargo build).
    env = dict(os.environ, CARGO_TARGET_DIR=str(ROOT / "target-python"))
    run(*pip_install(), ROOT, env=env)
    run(*pip_install(), REDIS_PY)


def pip_install():
    return [VENV_PY, "-m", "pip", "install", "-q", "--disable-pip-version-check"]


def settings_for(name):
    path = Path(os.environ.get("LIBRARY_SUITES_SETTINGS", HERE / "settings.json"))
    settings = json.loads(path.read_text())
    return settings.get(name, {})


def run_suite(name, suite, source, mode, masters, plain, extra_args):
    """One suite in one mode; its junit XML path."""
    results = WORK / "results"
    results.mkdir(parents=True, exist_ok=True)
    junit = results / f"{name}-{mode}.xml"
    settings = settings_for(name)
    cluster = {
        "nodes": {
            f"node_{i + 1}": {"host": "127.0.0.1", "port": port} for i, port in enumerate(masters)
        },
        **settings.get("cluster", {}),
    }
    env = dict(os.environ)
    for key, value in suite["env"].items():
        env[key] = value.format(src=source)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    # The suites run their libraries' commands (rq's `rqworker`) from the virtualenv.
    env["PATH"] = os.pathsep.join([str(VENV / "bin"), env.get("PATH", "")])
    env.update(
        LIBRARY_SUITES_MODE=mode,
        LIBRARY_SUITES_PORTS=",".join(str(p) for p in (*masters, plain)),
        LIBRARY_SUITES_PLAIN_PORT=str(plain),
        LIBRARY_SUITES_CLUSTER=json.dumps(
            {"cluster": cluster, "client": settings.get("client", {})}
        ),
    )
    command = [
        VENV_PY, "-m", "pytest", "-p", "suites_plugin", "-p", "no:cacheprovider", "-q",
        "--timeout=120", f"--junitxml={junit}", "-o", "junit_family=xunit1",
        *suite["pytest_args"], *extra_args,
    ]  # fmt: skip
    log = results / f"{name}-{mode}.log"
    print(f"== {name} ({mode}): log {log}", flush=True)
    with log.open("w") as out:
        subprocess.run([str(c) for c in command], cwd=source, env=env, stdout=out, stderr=out)
    return junit


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SUITES))
    parser.add_argument("--mode", choices=("plain", "ours"))
    parser.add_argument(
        "--prepare", action="store_true", help="fetch and install only (starts no server)"
    )
    parser.add_argument("pytest_args", nargs="*", help="after --: extra pytest arguments")
    options = parser.parse_args()
    chosen = {n: s for n, s in SUITES.items() if options.only in (None, n)}
    sources = {name: fetch(name, suite) for name, suite in SUITES.items()}
    venv(sources)
    if options.prepare:
        return
    masters, plain = ports()
    servers = []
    try:
        servers = [redis_servers.Server(port) for port in (*masters, plain)]
        for name, suite in chosen.items():
            for mode in ("plain", "ours"):
                if options.mode in (None, mode):
                    run_suite(name, suite, sources[name], mode, masters, plain, options.pytest_args)
    finally:
        for server in servers:
            server.stop()
    if options.only is None and options.mode is None:
        # The repository's own tests of what these libraries call (rq's get_version, a
        # python-redis-lock Lock), skipped in make test's virtualenv where they are not
        # installed: here they are (servers: python/tests/conftest.py's own).
        own = [VENV_PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"]
        subprocess.run([*map(str, own), str(ROOT / "python/tests/test_library_patterns.py")])
    run(sys.executable, HERE / "summary.py", WORK / "results", *chosen)


if __name__ == "__main__":
    main()
