"""Real servers for the whole session: SecantusDB, Redis and SeaweedFS on free ports with throw-away data,
and the API served in-process on a free port. No fakes of our own stores."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from affairs.demo_catalogue import SeedReport, seed_catalogue
from config.logging import configure_logging
from config.settings import Settings
from config.wiring import Dependencies
from devstack.servers import LocalStack
from mobile_api.app import make_app
from mobile_api.server import ApiServer
from simulators.app import make_sim_app
from tests.support.notify import NOTIFY_TEST_ENV, NOTIFY_TEST_SETTINGS, PipelineProcess
from tests.support.worker import CeleryWorker


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `runs_last` (the privacy scans) run after every other test of the session."""
    items.sort(key=lambda item: item.get_closest_marker("runs_last") is not None)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    local = LocalStack(tmp_path_factory.mktemp("stack")).start()
    yield local
    local.stop()


# Every test signs in from 127.0.0.1: a session sends more codes than one real IP may in a day. The per-IP limit
# itself is tested with its own low limit (tests/integration/test_sms_codes.py).
TEST_SMS_LIMIT_PER_IP = 100_000


def settings_for(stack: LocalStack, **overrides: object) -> Settings:
    values = {key.removeprefix("ZSB_").lower(): value for key, value in stack.env().items()}
    values.update(env="test", mongodb_db="zsb_test", sim_port=stack.sim_port, log_level="INFO")
    sim_wechat = f"http://127.0.0.1:{stack.sim_port}/wechat"
    values.update(wechat_api_base_url=sim_wechat, wechat_open_base_url=sim_wechat)
    values.update(population_base_url=f"http://127.0.0.1:{stack.sim_port}/population")
    values.update(sms_aliyun_endpoint=f"127.0.0.1:{stack.sim_port}")
    values.update(sms_tencent_endpoint=f"127.0.0.1:{stack.sim_port}")
    values.update(wechatpay_base_url=f"http://127.0.0.1:{stack.sim_port}/wechatpay")
    values.update(alipay_base_url=f"http://127.0.0.1:{stack.sim_port}/alipay")
    values.update(NOTIFY_TEST_SETTINGS)  # no quiet hours, fast retries (tests/support/notify.py)
    values.update(sms_daily_limit_per_ip=TEST_SMS_LIMIT_PER_IP)
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def settings(stack: LocalStack) -> Settings:
    return settings_for(stack)


@pytest.fixture(scope="session")
def log_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every JSON log line of the session goes here, so tests can read what was logged."""
    path = tmp_path_factory.mktemp("logs") / "service.log"
    with path.open("a", buffering=1, encoding="utf-8") as stream:
        configure_logging("INFO", service="test", stream=stream)
        yield path


@pytest.fixture(scope="session")
async def deps(settings: Settings, log_path: Path) -> AsyncIterator[Dependencies]:
    dependencies = Dependencies.from_settings(settings)
    await dependencies.wait_until_ready(give_up_after_s=30)
    await dependencies.prepare()
    yield dependencies
    await dependencies.close()


@pytest.fixture(scope="session")
async def simulators(settings: Settings, log_path: Path) -> AsyncIterator[str]:
    """The provider simulators, in-process on the stack's simulator port; yields their base URL."""
    server = make_sim_app(settings).listen(settings.sim_port, settings.sim_host)
    yield settings.sim_base_url
    server.stop()


@pytest.fixture(scope="session")
async def api_server(deps: Dependencies) -> AsyncIterator[tuple[ApiServer, str]]:
    from tests.support.routes import extra_routes

    server = ApiServer(make_app(deps, extra_routes=extra_routes()))
    port = server.listen(0, "127.0.0.1")
    yield server, f"http://127.0.0.1:{port}"
    await server.drain(2)


@pytest.fixture
async def api(api_server: tuple[ApiServer, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_server[1], timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def subprocess_env(stack: LocalStack) -> dict[str, str]:
    """Environment for a child process (API, worker) pointed at the session's servers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZSB_")}
    env.update(stack.env(), ZSB_SIM_PORT=str(stack.sim_port), ZSB_ENV="test", ZSB_MONGODB_DB="zsb_test", PYTHONUNBUFFERED="1")
    env.update(ZSB_SMS_ALIYUN_ENDPOINT=f"127.0.0.1:{stack.sim_port}")
    env.update(ZSB_SMS_DAILY_LIMIT_PER_IP=str(TEST_SMS_LIMIT_PER_IP))
    env.update(NOTIFY_TEST_ENV, ZSB_WECHAT_API_BASE_URL=f"http://127.0.0.1:{stack.sim_port}/wechat")
    env.update(ZSB_SMS_TENCENT_ENDPOINT=f"127.0.0.1:{stack.sim_port}")
    env.update(ZSB_WECHATPAY_BASE_URL=f"http://127.0.0.1:{stack.sim_port}/wechatpay",
               ZSB_ALIPAY_BASE_URL=f"http://127.0.0.1:{stack.sim_port}/alipay")
    return env


@pytest.fixture(scope="session")
def celery_worker(subprocess_env: dict[str, str], simulators: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[CeleryWorker]:
    """One real Celery worker for the whole session (all queues, solo pool), pointed at the session's servers
    and simulators. Started once: tests that need the pipeline share it."""
    worker = CeleryWorker.start(subprocess_env, tmp_path_factory.mktemp("worker") / "worker.log")
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def outbox_relay(subprocess_env: dict[str, str], deps: Dependencies, celery_worker: CeleryWorker,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineProcess]:
    """The outbox relay (`python -m notifications.relay`) for the whole session, feeding the session's worker."""
    relay = PipelineProcess.relay(subprocess_env, tmp_path_factory.mktemp("relay") / "relay.log")
    yield relay
    relay.stop()


@pytest.fixture(scope="session")
async def demo_catalogue(deps: Dependencies) -> SeedReport:
    """The demo catalogue (regions, departments, 35 published matters) seeded once, exactly as `./dev run` does."""
    return await seed_catalogue(deps)
