#!/usr/bin/env bash
# A hall of replicas with Podman: REPLICAS copies of the playground's image behind HAProxy
# (deploy/hall/compose.yaml and haproxy.cfg; docs/deploying.md, "A hall of replicas").
#
#   scripts/hall.sh up     # make hall: set up, build what is missing, (re)start the hall
#   scripts/hall.sh down   # make hall-down: stop it, remove its containers and network
#
# `up` installs, where missing, Podman, podman-compose (Debian's package) and Podman's network
# DNS (netavark with aardvark-dns, which answers the service's name with every replica's
# address); builds the app's image with scripts/container-check.sh (which sets Podman up on
# machines without an image registry and checks the image) and HAProxy's image from the same
# Debian base; then starts the hall afresh (the visitors of a running hall lose their sessions)
# and waits until HAProxy reports every replica up.
#
# Settings (environment): REPLICAS (2; 1 to 16), HALL_PORT (8080), HALL_STATS_PORT (8404),
# IMAGE, HAPROXY_IMAGE.
set -euo pipefail
cd "$(dirname "$0")/.."

export IMAGE=${IMAGE:-localhost/backprop-playground:latest}
export HAPROXY_IMAGE=${HAPROXY_IMAGE:-localhost/backprop-playground-haproxy:latest}
export REPLICAS=${REPLICAS:-2}
export HALL_PORT=${HALL_PORT:-8080}
export HALL_STATS_PORT=${HALL_STATS_PORT:-8404}
LOCAL_BASE=localhost/debian-base:bookworm
COMPOSE_FILE=deploy/hall/compose.yaml
CONF=/etc/containers/containers.conf.d/50-backprop-playground.conf  # written by container-check.sh

step() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# The project name makes the names used below: hall_app_N, hall_proxy_1, network hall_default.
compose() { podman-compose -p hall -f "$COMPOSE_FILE" "$@"; }

# HAProxy's view of the replicas, from its stats: "name address status last-check" for each
# server slot that DNS filled (the empty ones are "MAINT (resolution)"). A slot that DNS fills is
# UP before its first check: a replica is ready once its last check passed (L7OK).
replicas_state() {
	python3 - "$HALL_STATS_PORT" <<'EOF'
import csv, io, sys, urllib.request
try:
    text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/;csv", timeout=2).read().decode()
except OSError:
    sys.exit(0)
for row in csv.DictReader(io.StringIO(text.lstrip("# "))):
    if row["pxname"] == "replicas" and row["svname"] != "BACKEND" and "resolution" not in row["status"]:
        print(row["svname"], row["addr"], row["status"], row["check_status"])
EOF
}

# Stop and remove every container of the hall, whatever REPLICAS it was started with
# (`podman-compose down` removes only those the compose file names now), and its network.
stop_hall() {
	local ids
	ids=$(podman ps -aq --filter label=io.podman.compose.project=hall)
	if [ -n "$ids" ]; then
		# shellcheck disable=SC2086  # one id a word
		podman rm -f -t 10 $ids >/dev/null 2> >(grep -v 'unable to get systemd connection' >&2)
	fi
	if podman network exists hall_default; then podman network rm hall_default >/dev/null; fi
}

case ${1:-} in
up) ;;
down)
	if command -v podman >/dev/null; then
		stop_hall
		echo "the hall is stopped"
	else
		echo "Podman is not installed: no hall to stop"
	fi
	exit 0
	;;
*)
	echo "usage: $0 up|down" >&2
	exit 2
	;;
esac

case $REPLICAS in
[1-9] | 1[0-6]) ;;
*)
	echo "REPLICAS=$REPLICAS: choose 1 to 16 (the server slots of deploy/hall/haproxy.cfg)" >&2
	exit 2
	;;
esac

step "Tools"
# Before Podman first runs: it chooses its network backend once, netavark where it is installed.
missing=()
for tool in podman runc newuidmap mmdebstrap podman-compose netavark aardvark-dns; do
	case $tool in
	netavark | aardvark-dns) [ -x "/usr/lib/podman/$tool" ] || missing+=("$tool") ;;
	newuidmap) command -v newuidmap >/dev/null || missing+=(uidmap) ;;
	*) command -v "$tool" >/dev/null || missing+=("$tool") ;;
	esac
done
if [ ${#missing[@]} -gt 0 ]; then
	command -v apt-get >/dev/null || {
		echo "Install ${missing[*]} first." >&2
		exit 1
	}
	echo "installing ${missing[*]} (and what Podman needs) with apt-get"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah mmdebstrap runc uidmap \
		containernetworking-plugins netavark aardvark-dns podman-compose >/dev/null
fi
echo "$(podman --version); podman-compose $(dpkg-query -W -f '${Version}' podman-compose 2>/dev/null || echo '?')"

step "App image $IMAGE"
if podman image exists "$IMAGE" && [ -f "$CONF" ]; then
	echo "present"
else
	start=$SECONDS
	IMAGE=$IMAGE bash scripts/container-check.sh
	echo "app image built and checked in $((SECONDS - start)) s"
fi

backend=$(podman info --format '{{.Host.NetworkBackend}}')
echo "network backend: $backend"
if [ "$backend" = cni ] && [ ! -x /usr/lib/cni/dnsname ]; then
	# A Podman that chose CNI (it had containers before netavark came) finds names with this plugin.
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		golang-github-containernetworking-plugin-dnsname >/dev/null
fi

step "Proxy image $HAPROXY_IMAGE"
if podman image exists "$HAPROXY_IMAGE"; then
	echo "present"
else
	start=$SECONDS
	base=(--build-arg BASE_IMAGE=debian:bookworm-slim)
	if podman image exists "$LOCAL_BASE"; then base=(--pull=never --build-arg BASE_IMAGE="$LOCAL_BASE"); fi
	podman build "${base[@]}" --network host -f deploy/hall/haproxy.Dockerfile -t "$HAPROXY_IMAGE" deploy/hall
	echo "built in $((SECONDS - start)) s"
fi

step "Start $REPLICAS replicas on port $HALL_PORT"
start=$SECONDS
stop_hall
# Podman runs an image's HEALTHCHECK from systemd timers: without systemd it logs two errors per
# container about that ("unable to get systemd connection"), harmless; HAProxy checks the replicas.
compose up -d > >(grep -v 'unable to get systemd connection') 2>&1
until [ "$(replicas_state | grep -c ' UP L7OK$')" -ge "$REPLICAS" ]; do
	running=$(podman inspect hall_proxy_1 --format '{{.State.Running}}' 2>/dev/null || true)
	if [ $((SECONDS - start)) -ge 180 ] || [ "$running" != true ]; then
		replicas_state
		compose logs --tail 20 proxy || true
		echo "FAIL: HAProxy does not see $REPLICAS replicas up after $((SECONDS - start)) s" >&2
		exit 1
	fi
	sleep 1
done
replicas_state
echo "the hall answers on http://127.0.0.1:$HALL_PORT ($REPLICAS replicas up $((SECONDS - start)) s after the start);"
echo "HAProxy's stats on http://127.0.0.1:$HALL_STATS_PORT/; stop it with make hall-down"
