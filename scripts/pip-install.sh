#!/bin/sh
# Install a requirements file of this project with pip:
#   scripts/pip-install.sh PYTHON requirements-dev.txt [pip options...]
#
# requirements.txt names PyTorch's CPU index (--extra-index-url), so that a plain Linux host gets
# torch's CPU build instead of the CUDA one. pip asks every index about every package, and retries
# an index it cannot reach five times per package: on a machine that cannot reach
# download.pytorch.org that costs minutes (measured: a dry run went from 51 s to 7 min 20 s).
# So where pip's own sources (its configured find-links and indexes) already hold the pinned
# torch CPU build, as on this project's machines, install from a copy without that line.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: $0 PYTHON REQUIREMENTS_FILE [pip options...]" >&2
	exit 2
fi
python=$1
requirements=$2
shift 2
dir=$(dirname "$requirements")
index_line='^--extra-index-url https://download.pytorch.org/'

# The Linux line of requirements.txt, e.g. torch==2.13.0+cpu
torch_cpu=$(sed -n 's/^\(torch==[^ ;]*+cpu\).*/\1/p' "$dir/requirements.txt")

if [ -n "$torch_cpu" ] && grep -q "$index_line" "$dir/requirements.txt" &&
	"$python" -m pip install --dry-run --quiet --no-deps --ignore-installed "$torch_cpu" >/dev/null 2>&1; then
	echo "pip's own sources hold $torch_cpu: installing without asking download.pytorch.org"
	copy=$(mktemp -d)
	trap 'rm -rf "$copy"' EXIT
	for file in "$dir"/requirements*.txt; do
		grep -v "$index_line" "$file" >"$copy/$(basename "$file")"
	done
	"$python" -m pip install "$@" -r "$copy/$(basename "$requirements")"
else
	"$python" -m pip install "$@" -r "$requirements"
fi
