# syntax=docker/dockerfile:1
# 掌上办 backend: one image for every process; the command picks it (see /usr/local/bin/zsb below):
#   api (default) · worker [celery worker options] · beat · relay · anything else runs as given.
# Build: docker build -t zhangshangban .      Run: compose.yaml (README.md, "Deploying").
# Only the runtime dependencies of pyproject.toml are installed: none of its extras (local servers, test, dev).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtualenv with the project and its runtime dependencies ----------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, read from pyproject.toml itself, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt
COPY . .
RUN pip install --no-deps . \
    && pip uninstall -y pip setuptools wheel

# ---- runtime ------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# fonts-wqy-zenhei: the CJK font of the e-receipt PDFs (payments/receipt_pdf.py, FONT_PATH).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-zenhei \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 zsb \
    && useradd --system --uid 10001 --gid zsb --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin zsb \
    && install -d -o zsb -g zsb -m 0750 /var/lib/zsb
COPY --from=build /opt/venv /opt/venv

# Which process runs. `exec` replaces the shell, so SIGTERM reaches Python directly (the API drains, Celery
# shuts down warm, the relay finishes its round).
COPY --chmod=0755 <<'EOF' /usr/local/bin/zsb
#!/bin/sh
set -e
cmd="${1:-api}"
[ "$#" -gt 0 ] && shift
case "$cmd" in
    api)    exec python -m mobile_api ;;
    worker) exec python -m celery -A notifications.celery_app worker --loglevel INFO --without-gossip --without-mingle "$@" ;;
    beat)   exec python -m celery -A notifications.celery_app beat --loglevel INFO --schedule /var/lib/zsb/celerybeat-schedule "$@" ;;
    relay)  exec python -m notifications.relay ;;
    *)      exec "$cmd" "$@" ;;
esac
EOF

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ZSB_ENV=production \
    ZSB_HOST=0.0.0.0 \
    ZSB_PORT=8080
# An empty working directory: `python -m` imports the installed packages, never a stray source tree.
WORKDIR /srv
USER 10001:10001
EXPOSE 8080
# Liveness of the API (worker, beat and relay override or disable it in compose.yaml); standard library only.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('ZSB_PORT', '8080'), timeout=3)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/zsb"]
CMD ["api"]
