# syntax=docker/dockerfile:1.7
#
# API Base container images: one file, two targets (BuildKit; the default builder since Docker 23).
#
#   docker build --target service  -t apibase-service:0.1.0  .   # `apibase serve --host 0.0.0.0` on port 8000
#   docker build --target operator -t apibase-operator:0.1.0 .   # `apibase-operator run` (8080 /healthz, 9090 /metrics)
#
# Label the build with --build-arg VERSION=... REVISION=$(git rev-parse HEAD) CREATED=$(date -u +%FT%TZ)
# SOURCE=<repository URL>. Pin the base by digest for reproducible builds:
#   --build-arg PYTHON_IMAGE=python:3.12-slim@sha256:<digest> --build-arg BUILD_IMAGE=python:3.12-slim@sha256:<digest>
# Without Docker or a registry (CI): scripts/build-images.sh builds both with podman on a local base image.
# It also works with Debian's buildah 1.28: no heredocs, no RUN --mount=type=bind,from=<stage>.
#
# Layers, cheapest to rebuild last:
#   wheels   pyproject.toml only -> wheels of every dependency; rebuilt only when the dependencies change
#   builder  + README.md, app/, operator/ -> the project's own wheel
#   service-dependencies / operator-dependencies   each image's venv, from the wheels alone, on the build base
#            (binutils: the debug symbols are stripped from the venv's shared libraries)
#   runtime  the non-root user and the labels both images share
#   operator / service   the venv (one layer, cached), then the project wheel (a small layer)
#
# Both images run as UID 10001 (numeric, so `runAsNonRoot: true` can verify it), write nothing outside /tmp
# (`readOnlyRootFilesystem: true` plus an emptyDir on /tmp, as the operator's Deployments do), have no
# HEALTHCHECK (Kubernetes probes /health/live, /health/ready, /health/startup instead) and stop on SIGTERM:
# uvicorn drains for APIBASE_SHUTDOWN_GRACE_SECONDS (20 s), kopf stops its handlers.

ARG PYTHON_IMAGE=python:3.12-slim
# The same Python with binutils, for the stages that strip the venvs; python:3.12-slim gets binutils from apt there
# (scripts/build-images.sh passes a local one, as its base has no apt). Pin it to the same digest as PYTHON_IMAGE.
ARG BUILD_IMAGE=python:3.12-slim

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
# Extras the service image adds to its main dependencies, comma-separated. `dapr` (the Dapr SDK and grpcio) by
# default: on Kubernetes events leave through the Dapr sidecar (APIBASE_EVENTS__PUBLISHER=dapr, the state and secret
# stores). `aws` (boto3, for APIBASE_SECRETS__PROVIDER=aws) and `vault` (hvac, for =vault) only when asked: they
# weigh 40 MB and the default `env` provider needs neither. A selected backend whose extra is missing stops the
# service at start-up with a message naming the extra. Example: --build-arg SERVICE_EXTRAS=dapr,aws,vault; an empty
# value builds the image without any.
ARG SERVICE_EXTRAS="dapr"
WORKDIR /src
COPY pyproject.toml ./
# No heredoc: Debian's buildah 1.28 (scripts/build-images.sh) does not support them.
RUN python -c "import os, pathlib, sys, tomllib; \
project = tomllib.loads(pathlib.Path('pyproject.toml').read_text(encoding='utf-8'))['project']; \
extras = project['optional-dependencies']; \
wanted = [name.strip() for name in os.environ['SERVICE_EXTRAS'].split(',') if name.strip()]; \
unknown = [name for name in wanted if name not in extras]; \
unknown and sys.exit(f'SERVICE_EXTRAS: no extra {unknown} in pyproject.toml (there are {sorted(extras)})'); \
base = [req for req in project['dependencies'] if not req.startswith(project['name'])]; \
service = base + [req for name in wanted for req in extras[name]]; \
out = pathlib.Path('/requirements'); \
out.mkdir(); \
(out / 'service.txt').write_text('\n'.join(service) + '\n', encoding='utf-8'); \
(out / 'operator.txt').write_text('\n'.join(extras['operator']) + '\n', encoding='utf-8')"
# One resolution for both lists together: a dependency both images share gets the same version in each.
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --wheel-dir /wheels --requirement /requirements/service.txt --requirement /requirements/operator.txt

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
# Where the venvs are made: binutils for `strip`, which only the build stages get (installed here when the build
# image lacks it). Same Python at the same path as the runtime base, so the venvs run there unchanged.
FROM ${BUILD_IMAGE} AS build
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN command -v strip >/dev/null \
    || (apt-get update && apt-get install -y --no-install-recommends binutils && rm -rf /var/lib/apt/lists/*)
COPY --from=wheels /wheels /wheels
COPY --from=wheels /requirements /requirements

# Each image's dependencies in a venv of its own (no pip inside: the base image's pip installs into it), copied into
# the image as one layer, without the wheels or any cache. COPY --from, not RUN --mount=type=bind,from=...: Debian's
# buildah 1.28 does not mount a stage it took from its layer cache, so a second target would find no wheels.
# pip compiles the bytecode once, at the interpreter's one optimization level (a read-only root could not cache
# it, and compiling at every start doubles the import time). Left out: what only a compiler or a type checker
# reads (Cython and C sources, headers, .pyi stubs; about 2.5 MB), and the debug sections of the wheels' shared
# libraries (about 40 MB of the service's venv; no debugger or crash report reads them in a container). The venv
# holds no interpreter of its own (bin/python links to the base's), so the strip never touches CPython.
FROM build AS service-dependencies
RUN python -m venv --without-pip /opt/apibase/venv \
    && pip --python /opt/apibase/venv/bin/python install --no-cache-dir --no-index --find-links /wheels \
        --requirement /requirements/service.txt \
    && find /opt/apibase/venv/lib/python3.12/site-packages -type f \( -name '*.pyi' -o -name '*.pyx' \
        -o -name '*.pxd' -o -name '*.pxi' -o -name '*.c' -o -name '*.h' -o -name '*.cpp' \) -delete \
    && find /opt/apibase/venv -type f -name '*.so*' -exec strip --strip-debug {} +

# Only the `operator` extra: no FastAPI, SQLAlchemy or uvicorn. tests/unit/test_declared_dependencies.py checks
# that the extra covers every import of apibase_operator.
FROM build AS operator-dependencies
RUN python -m venv --without-pip /opt/apibase/venv \
    && pip --python /opt/apibase/venv/bin/python install --no-cache-dir --no-index --find-links /wheels \
        --requirement /requirements/operator.txt \
    && find /opt/apibase/venv -type f -name '*.so*' -exec strip --strip-debug {} +

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
COPY --from=operator-dependencies /opt/apibase/venv /opt/apibase/venv
# The project's wheel in a small layer of its own, so a source change leaves the dependency layer as it is (the
# wheel file stays in /opt/apibase/dist: see the COPY --from note above). No `pip check`: it would ask for the
# service's dependencies, which this image leaves out on purpose.
COPY --from=builder /dist/ /opt/apibase/dist/
RUN pip --python /opt/apibase/venv/bin/python install --no-cache-dir --no-index --no-deps \
        /opt/apibase/dist/apibase-*.whl
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
COPY --from=service-dependencies /opt/apibase/venv /opt/apibase/venv
COPY --from=builder /dist/ /opt/apibase/dist/
RUN pip --python /opt/apibase/venv/bin/python install --no-cache-dir --no-index --no-deps \
        /opt/apibase/dist/apibase-*.whl \
    && pip --python /opt/apibase/venv/bin/python check
LABEL org.opencontainers.image.title="apibase-service" \
      org.opencontainers.image.description="The API Base reference service (FastAPI on uvicorn)"
# The built-in defaults (./apibase.db, ./uploads) would write to the read-only working directory: in the image
# they live on /tmp (an emptyDir in Kubernetes, so per pod and lost on restart). Production sets a PostgreSQL URL
# and mounts a volume (or sets an object store) for uploads.
ENV APIBASE_HOST=0.0.0.0 \
    APIBASE_PORT=8000 \
    APIBASE_DATABASE_URL=sqlite+aiosqlite:////tmp/apibase.db \
    APIBASE_UPLOADS_DIR=/tmp/uploads
USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
ENTRYPOINT ["apibase"]
CMD ["serve", "--host", "0.0.0.0"]
