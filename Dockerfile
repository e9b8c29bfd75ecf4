# The workflow's image: the same pinned lock as `make run`. On x86_64 PyPI's torch==2.13.0 is the
# CUDA build, so the image runs on GPUs (apptainer --nv / docker --gpus) and on CPUs.
# Published as the tag named by `containerized:` in the Snakefile.
FROM python:3.11-slim-bookworm

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    PYTHONUNBUFFERED=1

WORKDIR /opt/model-recycling
COPY requirements.lock ./
RUN python -m pip install -r requirements.lock
COPY pyproject.toml ./
COPY model_recycling ./model_recycling
RUN python -m pip install --no-deps --no-build-isolation .
