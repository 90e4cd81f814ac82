# Every service's image, from one base built from uv.lock, by the one `service` stage with
# the service's name, port and health path as build arguments:
#
#   docker build --build-arg SERVICE=training --build-arg PORT=8102 -t millrace-training .
#
# (ingestion 8101, training 8102, registry 8103, deployment 8104 with
# HEALTH=/health/live, monitoring 8105, watcher 8106, console 8107: docker-compose.yml's
# build args.) The `base` stage holds Python, the locked virtual environment with all the
# services (one `uv sync --locked`), the non-root user and the shared settings; the `service`
# stage only adds the port, health check and command. So the images share every layer but
# their last few (a node pulls the base once for all services), and no service can drift to
# other versions of a shared package: there is one resolution, uv.lock's.
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

FROM base AS service
# Required: the service (its package is millrace_<SERVICE>) and its HTTP port.
ARG SERVICE
ARG PORT
# Readiness, but deployment's liveness: a replica is ready only once it serves a model,
# which may be never on a fresh platform; its readiness is for the load balancer in front.
ARG HEALTH=/health/ready
# A missing or misspelt argument fails the build here, not the container at start.
RUN test -n "$SERVICE" && test -n "$PORT" \
    && python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('millrace_$SERVICE') is None)"
# ARGs are gone at runtime: the command and the health check read these instead.
ENV MILLRACE_HTTP_PORT=${PORT} \
    SERVICE_MODULE=millrace_${SERVICE} \
    HEALTH_PATH=${HEALTH}
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=6 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${MILLRACE_HTTP_PORT}${HEALTH_PATH}', timeout=2)"
# exec: python replaces the shell as PID 1 and gets the container's SIGTERM itself.
CMD ["sh", "-c", "exec python -m \"$SERVICE_MODULE\""]
