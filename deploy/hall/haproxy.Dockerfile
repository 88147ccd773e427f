# HAProxy from Debian's package, for the hall of replicas (compose.yaml beside this file).
#
#   docker build -f haproxy.Dockerfile -t backprop-playground-haproxy .
#
# The configuration is not copied in: compose.yaml mounts haproxy.cfg at the path the official
# haproxy image reads, so that image works in its place with the same file.
# scripts/hall.sh builds it with BASE_IMAGE=localhost/debian-base:bookworm, the Debian base
# image that scripts/container-check.sh makes with mmdebstrap where no image registry is reached.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /usr/local/etc/haproxy

# The package's user; the proxy listens on unprivileged ports (8080, and 8404 for its stats).
USER haproxy
EXPOSE 8080 8404
# -W: master-worker, so a SIGUSR2 reloads the configuration; -db: stay in the foreground.
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
