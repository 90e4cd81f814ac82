# Every service's image, from one base built from uv.lock:
#
#   docker build --target training -t millrace-training .      # or ingestion, registry, ...
#
# The `base` stage holds Python, the locked virtual environment with all six services (one
# `uv sync --locked`), the non-root user and the shared settings; each service's target only
# adds its port, health check and command. So the images share every layer but their last few
# (a node pulls the base once for all services), and no service can drift to other versions
# of a shared package: there is one resolution, uv.lock's.
#
# Supply chain: the base image and uv are exact versions (uv's matches scripts/setup), and
# every Python package is installed from uv.lock with its pinned hash: `uv sync --locked`
# refuses a lock that is out of date with the pyproject files, and never resolves anew.
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM python:3.11.14-slim-bookworm AS build
ENV UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
WORKDIR /src
COPY --from=uv /uv /usr/local/bin/uv
# The whole workspace (minus .dockerignore): uv checks the lock against every member's
# pyproject.toml. The services and what they depend on are installed, not editable; the
# development tools, the local stack (infra) and the CLI are not.
COPY . .
RUN uv sync --locked --no-dev --no-editable \
        --package millrace-ingestion \
        --package millrace-training \
        --package millrace-registry \
        --package millrace-deployment \
        --package millrace-monitoring \
        --package millrace-watcher \
        --package millrace-console

FROM python:3.11.14-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    MILLRACE_HTTP_HOST=0.0.0.0
COPY --from=build /opt/venv /opt/venv
RUN useradd --create-home --uid 10001 millrace
USER millrace
WORKDIR /home/millrace

FROM base AS ingestion
ENV MILLRACE_HTTP_PORT=8101
EXPOSE 8101
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=6 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8101/health/ready', timeout=2)"
CMD ["python", "-m", "millrace_ingestion"]

FROM base AS training
ENV MILLRACE_HTTP_PORT=8102
EXPOSE 8102
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=6 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8102/health/ready', timeout=2)"
CMD ["python", "-m", "millrace_training"]

FROM base AS registry
ENV MILLRACE_HTTP_PORT=8103
EXPOSE 8103
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=6 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8103/health/ready', timeout=2)"
CMD ["python", "-m", "millrace_registry"]

FROM base AS deployment
ENV MILLRACE_HTTP_PORT=8104
EXPOSE 8104
# Live, not ready: a replica is ready only once it serves a model, which may be never on a
# fresh platform; its readiness is for the load balancer in front of it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=6 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8104/health/live', timeout=2)"
CMD ["python", "-m", "millrace_deployment"]

FROM base AS monitoring
ENV MILLRACE_HTTP_PORT=8105
EXPOSE 8105
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=6 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8105/health/ready', timeout=2)"
CMD ["python", "-m", "millrace_monitoring"]

FROM base AS watcher
ENV MILLRACE_HTTP_PORT=8106
EXPOSE 8106
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=6 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8106/health/ready', timeout=2)"
CMD ["python", "-m", "millrace_watcher"]

FROM base AS console
ENV MILLRACE_HTTP_PORT=8107
EXPOSE 8107
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=6 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8107/health/ready', timeout=2)"
CMD ["python", "-m", "millrace_console"]
