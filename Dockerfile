# Backprop Playground in a container: torch's CPU build, a non-root user with uid 1000 (what
# Hugging Face Spaces' Docker SDK expects), Streamlit on port 8501.
#
#   docker build -t backprop-playground .
#   docker run --rm -p 8501:8501 backprop-playground        # then open http://localhost:8501
#
# `make container` builds and checks it with Podman on machines without an image registry
# (scripts/container-check.sh): it passes a Debian base image built from Debian's archive.

# Any Debian-like image with Python 3.11 or newer, its venv module and CA certificates.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

RUN useradd --create-home --uid 1000 user \
    && python3 -m venv /opt/venv

# requirements.txt takes torch from PyTorch's CPU index. Where pip's own configuration already
# holds that wheel (the check script mounts this machine's pip configuration and wheel folders),
# scripts/pip-install.sh installs without asking that index.
COPY requirements.txt scripts/pip-install.sh /tmp/install/
RUN sh /tmp/install/pip-install.sh python /tmp/install/requirements.txt \
    && rm -rf /tmp/install

WORKDIR /home/user/app
COPY --chown=1000:1000 . .
USER 1000:1000
ENV HOME=/home/user

# The host guards (docs/deploying.md); change them with `docker run -e NAME=VALUE`.
# PLAYGROUND_TRAINING_PROCESSES defaults to the container's cores minus one (at least 1);
# PLAYGROUND_MAX_CONCURRENT_RUNS is unset: as many runs train at once as PLAYGROUND_MEMORY_MB holds.
ENV PLAYGROUND_MAX_RUN_MB=256 \
    PLAYGROUND_MEMORY_MB=1024

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=8); sys.exit(r.read() != b'ok')"]

# Without --server.address a headless Streamlit looks up its external IP on the internet.
CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501"]
