# The workflow's environment: the same pinned lock as `make run`, run as an unprivileged user.
# `make image` builds it (dev/build_image.py, podman); with docker: `docker build .`.
#   BASE   the base image: Python 3.11 on Debian bookworm with `python` on PATH
#   TORCH  cuda (default: PyPI's x86_64 torch, runs on GPUs and CPUs; the tag named by
#          `containerized:` in the Snakefile) or cpu (torch's CPU-only wheel from
#          TORCH_CPU_INDEX, no CUDA libraries).
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}
ARG TORCH=cuda
ARG TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    PYTHONUNBUFFERED=1 \
    XDG_CACHE_HOME=/tmp/.cache

RUN useradd --create-home --uid 1000 --user-group recycler
WORKDIR /opt/model-recycling
# dev/build-host/ is empty in a clone; where pip needs a machine's own settings (a CA bundle, a
# local wheel folder) dev/build_image.py puts them there. Bind-mounted for this step only:
# nothing of it is copied into the image.
RUN --mount=type=bind,source=requirements.lock,target=/tmp/requirements.lock \
    --mount=type=bind,source=dev/build-host,target=/build-host \
    set -e; \
    if [ -f /build-host/pip.conf ]; then export PIP_CONFIG_FILE=/build-host/pip.conf; fi; \
    if [ "$TORCH" = cpu ] && [ -n "$TORCH_CPU_INDEX" ]; then \
        export PIP_EXTRA_INDEX_URL="$TORCH_CPU_INDEX"; fi; \
    python -m pip install -r /tmp/requirements.lock; \
    if [ "$TORCH" = cpu ]; then python -c "import torch; assert torch.version.cuda is None"; fi
COPY pyproject.toml ./
COPY model_recycling ./model_recycling
RUN python -m pip install --no-deps --no-build-isolation . && rm -rf build *.egg-info

USER recycler
WORKDIR /workflow
CMD ["snakemake", "--cores", "all"]
