# SynAnno Dash: the web app on the embedded demo dataset (generated on first start).
#   docker build -t synanno-dash .
#   docker run -p 8050:8050 -v synanno-data:/data synanno-dash
# A multi-user deployment (PostgreSQL, Redis, a Celery worker, a TLS proxy): deploy/compose.yaml.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    APP_IP=0.0.0.0 \
    APP_PORT=8050 \
    SYNANNO_DATA_DIR=/data

WORKDIR /app
# The CPU build of torch first, so the project's requirement does not pull a CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" \
    || pip install "torch==2.13.0"
COPY pyproject.toml README.md ./
COPY synanno_dash ./synanno_dash
RUN pip install -e .
COPY app.py ./
COPY pages ./pages
COPY assets ./assets

RUN useradd --create-home synanno && mkdir -p /data && chown synanno /data
USER synanno
VOLUME ["/data"]
EXPOSE 8050
# Writes the demo dataset on first start, migrates the database, then serves under gunicorn
# (gthread workers: SYNANNO_WORKERS, SYNANNO_THREADS; docs/hosting.md). SIGTERM (docker stop)
# lets requests in flight finish within SYNANNO_GRACEFUL_TIMEOUT seconds. `serve` also starts
# the Neuroglancer service (loopback only, inside the container) that every app worker shares;
# the browser reaches the viewers through the app's own /neuroglancer/ (docs/neuroglancer.md).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s \
  CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8050/healthz', timeout=8)"
CMD ["synanno-dash", "serve"]
