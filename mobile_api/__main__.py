"""`python -m mobile_api`: run the HTTP API with settings from `ZSB_*` variables."""

import asyncio
from functools import partial

from config.logging import configure_logging
from config.settings import get_settings
from mobile_api.server import print_banner, serve


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, service="api")
    on_ready = partial(print_banner, settings) if settings.env == "dev" else None
    asyncio.run(serve(settings, on_ready=on_ready))


if __name__ == "__main__":
    main()
