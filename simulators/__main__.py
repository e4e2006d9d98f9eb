"""`python -m simulators`: serve every provider simulator on ZSB_SIM_HOST:ZSB_SIM_PORT."""

import asyncio
import signal

import structlog

from config.logging import configure_logging
from config.settings import get_settings
from simulators.app import make_sim_app


async def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, service="simulators")
    server = make_sim_app(settings).listen(settings.sim_port, settings.sim_host)
    structlog.get_logger("simulators").info("simulators_listening", url=settings.sim_base_url)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()


if __name__ == "__main__":
    asyncio.run(main())
