# SynAnno Dash: the web app on the embedded demo dataset (generated on first start).
#   docker build -t synanno-dash .
#   docker run -p 8050:8050 -v synanno-data:/data synanno-dash
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
RUN pip install -e . gunicorn
COPY app.py ./
COPY pages ./pages
COPY assets ./assets

RUN useradd --create-home synanno && mkdir -p /data && chown synanno /data
USER synanno
VOLUME ["/data"]
EXPOSE 8050
# Writes the demo dataset on first start, then serves. `serve` also starts the Neuroglancer
# service (loopback only, inside the container) that every app worker shares; the browser
# reaches the viewers through the app's own /neuroglancer/ (docs/neuroglancer.md).
CMD ["synanno-dash", "serve"]
