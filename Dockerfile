# syntax=docker/dockerfile:1.7
#
# API Base container images: one file, two targets (BuildKit; the default builder since Docker 23).
#
#   docker build --target service  -t apibase-service:0.1.0  .   # `apibase serve --host 0.0.0.0` on port 8000
#   docker build --target operator -t apibase-operator:0.1.0 .   # `apibase-operator run` (8080 /healthz, 9090 /metrics)
#
# Label the build with --build-arg VERSION=... REVISION=$(git rev-parse HEAD) CREATED=$(date -u +%FT%TZ)
# SOURCE=<repository URL>. Pin the base by digest for reproducible builds:
#   --build-arg PYTHON_IMAGE=python:3.12-slim@sha256:<digest>
#
# Layers, cheapest to rebuild last:
#   wheels   pyproject.toml only -> wheels of every dependency; rebuilt only when the dependencies change
#   builder  + README.md, app/, operator/ -> the project's own wheel
#   runtime  the non-root user and the labels both images share
#   operator / service   a venv with the dependencies (one layer, cached), then the project wheel (a small layer)
#
# Both images run as UID 10001 (numeric, so `runAsNonRoot: true` can verify it), write nothing outside /tmp
# (`readOnlyRootFilesystem: true` plus an emptyDir on /tmp, as the operator's Deployments do), have no
# HEALTHCHECK (Kubernetes probes /health/live, /health/ready, /health/startup instead) and stop on SIGTERM:
# uvicorn drains for APIBASE_SHUTDOWN_GRACE_SECONDS (20 s), kopf stops its handlers.

ARG PYTHON_IMAGE=python:3.12-slim

# ---------------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS python
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PIP_ROOT_USER_ACTION=ignore

# ---------------------------------------------------------------------------------------------------------------
# Dependencies from pyproject.toml alone, so a source change never rebuilds them.
FROM python AS wheels
WORKDIR /src
COPY pyproject.toml ./
RUN python - <<'EOF'
import tomllib
from pathlib import Path

project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
own = project["name"]
base = [req for req in project["dependencies"] if not req.startswith(own)]
operator = base + project["optional-dependencies"]["operator"]
out = Path("/requirements")
out.mkdir()
(out / "service.txt").write_text("\n".join(base) + "\n", encoding="utf-8")
(out / "operator.txt").write_text("\n".join(operator) + "\n", encoding="utf-8")
EOF
# One resolution for the superset (service deps + the operator extra): both images get the same versions.
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --wheel-dir /wheels --requirement /requirements/operator.txt

# ---------------------------------------------------------------------------------------------------------------
# The source, after the dependency layers: the project's wheel (app and apibase_operator, with the CRD YAML and
# the migration template).
FROM wheels AS builder
COPY README.md ./
COPY app ./app
COPY operator ./operator
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --no-deps --wheel-dir /dist .

# ---------------------------------------------------------------------------------------------------------------
FROM python AS runtime
ARG PYTHON_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="API Base" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
RUN groupadd --system --gid 10001 apibase \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin apibase
# HOME on /tmp: anything that insists on a cache directory writes to the emptyDir, not the read-only root.
ENV HOME=/tmp \
    PATH=/opt/apibase/venv/bin:$PATH
WORKDIR /opt/apibase

# ---------------------------------------------------------------------------------------------------------------
FROM runtime AS operator
# The venv has no pip of its own (--without-pip); the base image's pip installs into it.
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    --mount=type=bind,from=wheels,source=/requirements,target=/requirements \
    python -m venv --without-pip /opt/apibase/venv \
    && pip --python /opt/apibase/venv/bin/python install --no-cache-dir --no-index --find-links /wheels \
        --requirement /requirements/operator.txt
RUN --mount=type=bind,from=builder,source=/dist,target=/dist \
    pip --python /opt/apibase/venv/bin/python install --no-cache-dir --no-index --no-deps /dist/apibase-*.whl \
    && pip --python /opt/apibase/venv/bin/python check
LABEL org.opencontainers.image.title="apibase-operator" \
      org.opencontainers.image.description="The ApiBase Kubernetes operator: workloads, Istio, Dapr, canaries, Vault"
USER 10001:10001
# 8080: kopf liveness (/healthz); 9090: Prometheus /metrics.
EXPOSE 8080 9090
STOPSIGNAL SIGTERM
ENTRYPOINT ["apibase-operator"]
CMD ["run"]

# ---------------------------------------------------------------------------------------------------------------
# Last stage: the default target of a plain `docker build .`.
FROM runtime AS service
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    --mount=type=bind,from=wheels,source=/requirements,target=/requirements \
    python -m venv --without-pip /opt/apibase/venv \
    && pip --python /opt/apibase/venv/bin/python install --no-cache-dir --no-index --find-links /wheels \
        --requirement /requirements/service.txt
RUN --mount=type=bind,from=builder,source=/dist,target=/dist \
    pip --python /opt/apibase/venv/bin/python install --no-cache-dir --no-index --no-deps /dist/apibase-*.whl \
    && pip --python /opt/apibase/venv/bin/python check
LABEL org.opencontainers.image.title="apibase-service" \
      org.opencontainers.image.description="The API Base reference service (FastAPI on uvicorn)"
# The built-in SQLite default (./apibase.db) would write to the read-only working directory: in the image it
# lives on /tmp (an emptyDir in Kubernetes, so per pod and lost on restart). Production sets a PostgreSQL URL.
ENV APIBASE_HOST=0.0.0.0 \
    APIBASE_PORT=8000 \
    APIBASE_DATABASE_URL=sqlite+aiosqlite:////tmp/apibase.db
USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
ENTRYPOINT ["apibase"]
CMD ["serve", "--host", "0.0.0.0"]
