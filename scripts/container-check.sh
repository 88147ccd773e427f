#!/usr/bin/env bash
# Build the playground's container image with Podman and check it: the health endpoint answers
# "ok" (from the host and through the image's HEALTHCHECK), torch is the CPU build, and one
# training run finishes. `make container` runs this; `make test` does not.
#
# It also does, idempotently, the set-up that Podman needs on this project's machines (Debian,
# no image registry): installs Podman and friends with apt-get, runs containers with runc and
# ulimits the machine allows, and builds a Debian base image from Debian's archive with
# mmdebstrap. pip inside the build sees this machine's pip configuration, CA bundle and wheel
# folders (mounted read-only), so torch's CPU build comes from disk where the machine has it.
#
# Settings (environment): IMAGE, BASE_IMAGE (an image here, or one to pull), PORT (host port),
# KEEP=1 to leave the container running afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/backprop-playground:latest}
LOCAL_BASE=localhost/debian-base:bookworm
BASE_IMAGE=${BASE_IMAGE:-$LOCAL_BASE}
NAME=backprop-playground-check
PORT=${PORT:-18501}
KEEP=${KEEP:-0}

step() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step "Tools"
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v newuidmap >/dev/null ||
	{ [ "$BASE_IMAGE" = "$LOCAL_BASE" ] && ! command -v mmdebstrap >/dev/null; }; then
	command -v apt-get >/dev/null || { echo "Install Podman (and runc, uidmap, mmdebstrap) first." >&2; exit 1; }
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		podman buildah mmdebstrap runc uidmap containernetworking-plugins >/dev/null
fi
podman --version

step "Podman settings"
# crun fails on these machines' cgroup layout, and Podman's default ulimits cannot be raised here.
conf=/etc/containers/containers.conf.d/50-backprop-playground.conf
want='[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"'
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
	as_root mkdir -p "$(dirname "$conf")"
	printf '%s\n' "$want" | as_root tee "$conf" >/dev/null
fi
echo "$conf: runtime $(podman info --format '{{.Host.OCIRuntime.Name}}')"

step "Base image $BASE_IMAGE"
pull=()
if podman image exists "$BASE_IMAGE"; then
	pull=(--pull=never)
	echo "present"
elif [ "$BASE_IMAGE" = "$LOCAL_BASE" ]; then
	start=$SECONDS
	as_root mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates,passwd \
		bookworm - | podman import - "$LOCAL_BASE" >/dev/null
	pull=(--pull=never)
	echo "built with mmdebstrap in $((SECONDS - start)) s"
else
	echo "podman build pulls it"
fi

step "What pip inside the build may read"
# This machine's pip configuration files, and the local paths they and PIP_* name (wheel
# folders, file:// indexes with their files, the CA bundle, constraints), read-only.
mounts=()
while IFS= read -r path; do
	mounts+=(-v "$path:$path:ro")
	echo "$path"
done < <(python3 - <<'EOF'
import os, re, subprocess, sys

paths = set()
debug = subprocess.run([sys.executable, "-m", "pip", "config", "debug"], capture_output=True, text=True).stdout
paths.update(re.findall(r"^\s+(/\S+), exists: True$", debug, re.M))
listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
for key, value in re.findall(r"^\S*?\.?([a-z-]+)='(.*)'$", listed, re.M):
    if key not in {"find-links", "index-url", "extra-index-url", "cert", "constraint"}:
        continue
    for item in value.split():
        path = item.removeprefix("file://")
        if not path.startswith("/") or not os.path.exists(path):
            continue
        if key.endswith("index-url") and os.path.basename(path.rstrip("/")) == "simple":
            path = os.path.dirname(path.rstrip("/"))  # its pages link to ../../files/
        paths.add(path)
for path in ("/etc/ssl/certs/ca-certificates.crt",):  # pip's CA bundle here
    if os.path.exists(path):
        paths.add(path)
print("\n".join(sorted(paths)))
EOF
)
[ ${#mounts[@]} -gt 0 ] || echo "(nothing: pip uses its defaults)"

step "Build $IMAGE"
start=$SECONDS
podman build "${pull[@]}" --format docker --network host "${mounts[@]}" \
	--build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" .
build_s=$((SECONDS - start))
size=$(podman image inspect "$IMAGE" --format '{{.Size}}')
echo "built in ${build_s} s; image size $((size / 1000000)) MB"

step "Run it"
podman rm -f "$NAME" >/dev/null 2>&1 || true
[ "$KEEP" = 1 ] || trap 'podman rm -f "$NAME" >/dev/null 2>&1 || true' EXIT
# Podman runs HEALTHCHECKs from systemd timers: without systemd it logs two errors about that
# ("unable to get systemd connection"), harmless; this script runs the check itself below.
podman run -d --name "$NAME" -p "127.0.0.1:$PORT:8501" "$IMAGE" >/dev/null
start=$SECONDS
health=""
until health=$(python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:$PORT/_stcore/health', timeout=2).read().decode())" 2>/dev/null); do
	if [ $((SECONDS - start)) -ge 120 ] || [ "$(podman inspect "$NAME" --format '{{.State.Running}}')" != true ]; then
		podman logs "$NAME" | tail -20
		echo "FAIL: no answer from /_stcore/health after $((SECONDS - start)) s" >&2
		exit 1
	fi
	sleep 1
done
echo "GET http://127.0.0.1:$PORT/_stcore/health -> $health (after $((SECONDS - start)) s)"
[ "$health" = ok ] || { echo "FAIL: health answered '$health'" >&2; exit 1; }
podman healthcheck run "$NAME" && echo "HEALTHCHECK: healthy"

step "Inside"
podman exec "$NAME" sh -c 'id; python -c "import torch; print(\"torch\", torch.__version__)"'
extra=$(podman exec "$NAME" python -m pip list 2>/dev/null | grep -icE '^(nvidia|cuda|triton)' || true)
echo "nvidia/cuda/triton packages: $extra"
[ "$extra" = 0 ] || { echo "FAIL: the image holds CUDA packages" >&2; exit 1; }

step "One training run"
start=$SECONDS
podman exec "$NAME" python -m playground train --style module --steps 300
echo "trained in $((SECONDS - start)) s"

echo
echo "OK: $IMAGE ($((size / 1000000)) MB, built in ${build_s} s) answers ok and trains."
[ "$KEEP" = 1 ] && echo "Still running: http://127.0.0.1:$PORT (podman rm -f $NAME)"
exit 0
