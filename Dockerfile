# syntax=docker/dockerfile:1
# Sirkel API image. Not exercised on the development machines (no Docker engine there);
# see README "Containers".
#
#   docker build -t sirkel .
#   docker run --rm sirkel python -m alembic upgrade head     # migrations: a separate step
#   docker run --rm -p 8000:8000 sirkel                       # the API

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
# Install the project's locked runtime dependencies, then remove the project itself: the code
# runs from /app (next to alembic.ini, migrations/ and data/, which it finds relative to itself).
RUN pip install -c constraints.txt . && pip uninstall -y sirkel

# The embeddable map's browser assets (MapLibre GL JS, Noto Sans) from npm at the versions
# web/package-lock.json pins; the runtime image needs no Node.js.
FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SIRKEL_ENVIRONMENT=production
# Debian's Chromium prints the yearly report as PDF (app/render/pdf.py); without it that one
# route answers 503 pdf_unavailable. ~300 MB: drop these two packages if you do not need it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 sirkel \
 && useradd --system --uid 10001 --gid sirkel --home-dir /app --shell /usr/sbin/nologin sirkel
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root alembic.ini ./
COPY --chown=root:root migrations ./migrations
COPY --chown=root:root data ./data
COPY --chown=root:root app ./app
COPY --from=web --chown=root:root /web/node_modules ./web/node_modules
USER sirkel
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
# Forwarded headers are believed only from SIRKEL_HTTP__TRUSTED_PROXIES (the app decides, so
# one setting covers uvicorn and any other server).
CMD ["uvicorn", "app.main:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000", \
     "--no-access-log", "--no-proxy-headers"]
