"""The Dockerfile and compose.yaml stay true to the code (no Docker engine here: they are read, not run).

Checked: every module the image and compose run exists; the worker queues are the ones
notifications/celery_app.py declares; every ZSB_* named in compose.yaml is a real setting, and every setting
production refuses at its default is named there; compose runs every process of devstack/Procfile except the
local servers and simulators, beat and relay once; the image installs no extras and carries the receipt font;
and the package data the code reads at run time is in the wheel `pip install .` builds.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from config.settings import Settings
from notifications.celery_app import QUEUES

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE_TEXT = (ROOT / "compose.yaml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict = COMPOSE["services"]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LOCAL_ONLY = {"mongodb", "redis", "s3", "simulators"}  # Procfile processes production replaces or never runs


def _dispatcher() -> dict[str, list[str]]:
    """The image's entrypoint script (a heredoc in the Dockerfile): process name → its command words."""
    script = re.search(r"^COPY [^\n]*<<'EOF' /usr/local/bin/zsb\n(.*?)^EOF$", DOCKERFILE, re.M | re.S)
    assert script, "the Dockerfile no longer writes /usr/local/bin/zsb"
    cases = re.findall(r"^\s*([a-z*]+)\)\s*exec (.*?);;", script.group(1), re.M)
    return {name: shlex.split(command) for name, command in cases}


def _procfile() -> dict[str, list[str]]:
    lines = (ROOT / "devstack" / "Procfile").read_text(encoding="utf-8").splitlines()
    return {name.strip(): shlex.split(cmd.replace("exec ", "", 1)) for name, _, cmd in
            (line.partition(":") for line in lines if line.strip() and not line.startswith("#"))}


def _run_by(service: dict) -> list[str]:
    """What a compose service's container runs: its command expanded through the image's dispatcher."""
    command = service.get("command", ["api"])
    command = shlex.split(command) if isinstance(command, str) else list(command)
    return _dispatcher()[command[0]] + command[1:] if command[0] in _dispatcher() else command


def _modules(argv: list[str]) -> list[str]:
    """Modules named by `python -m X` and Celery's `-A X` in one command line."""
    found = [argv[i + 1] for i, word in enumerate(argv[:-1]) if word in ("-m", "-A", "--app")]
    return [m for m in found if m != "celery"] + (["celery"] if "celery" in found else [])


def _app_services() -> dict[str, dict]:
    image = SERVICES["api"].get("image")
    return {name: s for name, s in SERVICES.items() if s.get("image") == image or "build" in s}


def test_the_image_runs_each_process_by_name_api_by_default() -> None:
    assert set(_dispatcher()) >= {"api", "worker", "beat", "relay"}
    assert re.search(r'^ENTRYPOINT \["/usr/local/bin/zsb"\]$', DOCKERFILE, re.M)
    assert re.search(r'^CMD \["api"\]$', DOCKERFILE, re.M)
    for name in ("api", "worker", "beat", "relay"):
        assert _dispatcher()[name][:2] == ["python", "-m"]  # after `exec`: SIGTERM reaches Python itself


@pytest.mark.parametrize("module", sorted({m for argv in _dispatcher().values() for m in _modules(argv)}
                                          | {m for s in SERVICES.values() if "build" in s for m in _modules(_run_by(s))}
                                          | {"mobile_api", "notifications.relay", "notifications.celery_app"}))
def test_every_module_the_image_runs_exists(module: str) -> None:
    assert importlib.util.find_spec(module) is not None, module
    top = module.split(".")[0]
    if top != "celery":
        assert any(fnmatch(top, pattern) for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"])


def test_processes_are_those_of_the_procfile_minus_local_servers() -> None:
    wanted = {name: argv for name, argv in _procfile().items() if name not in LOCAL_ONLY}
    assert set(wanted) == {"api", "worker", "beat", "relay"}
    running = {name: _run_by(service) for name, service in _app_services().items()}
    for name, argv in wanted.items():
        # the same program: `python -m <module>` and, for Celery, the same app and sub-command
        program = argv[: argv.index("--loglevel")] if "--loglevel" in argv else argv
        assert any(run[: len(program)] == program for run in running.values()), (name, program)
    assert not any("simulators" in _modules(run) for run in running.values())
    assert not any("devstack" in " ".join(run) for run in running.values())


def test_worker_queues_are_the_declared_ones() -> None:
    consumed: set[str] = set()
    for name, service in _app_services().items():
        argv = _run_by(service)
        if "worker" not in argv:
            continue
        flag = next((f for f in ("--queues", "-Q") if f in argv), None)
        assert flag, f"{name}: name its queues (-Q) so a new queue is a deliberate change"
        queues = argv[argv.index(flag) + 1].split(",")
        assert set(queues) <= set(QUEUES), (name, queues)
        consumed |= set(queues)
    assert consumed == set(QUEUES)


def test_beat_and_relay_run_exactly_once() -> None:
    for process in ("beat", "relay"):
        runners = [n for n, s in _app_services().items() if _run_by(s)[: len(_dispatcher()[process])]
                   == _dispatcher()[process]]
        assert len(runners) == 1, (process, runners)
        assert SERVICES[runners[0]].get("deploy", {}).get("replicas", 1) == 1
    assert "/var/lib/zsb" in " ".join(_dispatcher()["beat"]) and any(
        v.endswith(":/var/lib/zsb") for v in SERVICES["beat"].get("volumes", []))


def test_every_zsb_variable_in_compose_is_a_setting() -> None:
    named = set(re.findall(r"\bZSB_[A-Z0-9_]+", COMPOSE_TEXT)) - {"ZSB_IMAGE"}  # ZSB_IMAGE: compose's own
    unknown = sorted(v for v in named if v.removeprefix("ZSB_").lower() not in Settings.model_fields)
    assert not unknown, unknown
    for service in _app_services().values():
        assert service["environment"]["ZSB_ENV"] == "production"
        assert service.get("env_file") in (".env", [".env"])


def test_compose_names_every_setting_production_refuses_at_its_default() -> None:
    fields = Settings.model_fields
    refused = {n for n, f in fields.items() if isinstance(f.default, SecretStr)}
    refused |= {n for n in fields if n.endswith(("_base_url", "_endpoint", "_protocol", "_notify_url"))}
    refused |= {"s3_access_key", "public_base_url"}
    refused -= {n for n in fields if n.startswith("sim_")}
    missing = sorted(f"ZSB_{n.upper()}" for n in refused if f"ZSB_{n.upper()}" not in COMPOSE_TEXT)
    assert not missing, f"document in compose.yaml what .env must set: {missing}"


def test_mongodb_is_a_replica_set_the_app_connects_to_as_such() -> None:
    assert "--replSet" in SERVICES["mongodb"]["command"]
    uri = SERVICES["api"]["environment"]["ZSB_MONGODB_URI"]
    assert "replicaSet=" in uri and "retryWrites=false" not in uri
    assert "rs.initiate" in " ".join(SERVICES["mongodb-init"]["command"])


def test_the_image_installs_the_runtime_dependencies_only() -> None:
    installs = re.findall(r"pip install[^\n&]*", DOCKERFILE)
    assert installs
    for line in installs:
        assert "[" not in line and " -e " not in line and "--editable" not in line, line
    for extra in PYPROJECT["project"]["optional-dependencies"]:
        assert f".[{extra}" not in DOCKERFILE
    lowered = DOCKERFILE.lower()
    assert "secantus" not in lowered and "seaweed" not in lowered and "honcho" not in lowered


def test_the_image_basics() -> None:
    from payments.receipt_pdf import FONT_PATH

    assert "fonts-wqy-zenhei" in DOCKERFILE and FONT_PATH.parts[-2:] == ("wqy", "wqy-zenhei.ttc")
    assert re.search(r"^FROM python:3\.1[12]-slim|^ARG PYTHON_IMAGE=python:3\.1[12]-slim", DOCKERFILE, re.M)
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.M)) >= 2  # multi-stage
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert "PYTHONDONTWRITEBYTECODE=1" in DOCKERFILE and "PYTHONUNBUFFERED=1" in DOCKERFILE
    health = re.search(r"^HEALTHCHECK .*?CMD (.*)$", DOCKERFILE, re.M | re.S)
    assert health and "/healthz" in health.group(1) and "curl" not in health.group(1)
    assert "urllib.request" in health.group(1)
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", "var", ".git", "tests", ".env"} <= set(ignored)


def test_package_data_the_code_reads_is_installed() -> None:
    """`pip install .` ships non-Python files only when [tool.setuptools.package-data] lists them."""
    package_data: dict[str, list[str]] = PYPROJECT["tool"]["setuptools"].get("package-data", {})
    includes = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    missing = []
    for path in ROOT.iterdir():
        if not (path / "__init__.py").exists() or not any(fnmatch(path.name, p) for p in includes):
            continue
        for file in path.rglob("*"):
            if not file.is_file() or file.suffix in (".py", ".pyc") or "__pycache__" in file.parts:
                continue
            relative = file.relative_to(path).as_posix()
            if not any(fnmatch(relative, pattern) for pattern in package_data.get(path.name, [])):
                missing.append(f"{path.name}/{relative}")
    assert not missing, f"not in the image (add to [tool.setuptools.package-data]): {missing}"
