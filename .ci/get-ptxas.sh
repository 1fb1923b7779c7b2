#!/usr/bin/env bash
# Fetches NVIDIA's ptxas (CUDA 11.8, from Debian's non-free nvidia-cuda-toolkit) without installing the toolkit:
# the package is downloaded through a private apt list that adds the non-free component, and unpacked into
# $1 (default .tools/cuda). Prints the path of the ptxas binary. The system's apt configuration is untouched.
set -euo pipefail
dest=${1:-.tools/cuda}
if [ -x "$dest/usr/bin/ptxas" ]; then echo "$dest/usr/bin/ptxas"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial" "$dest"
cat > "$work/sources.list" <<LIST
deb http://deb.debian.org/debian bookworm main contrib non-free non-free-firmware
LIST
opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
      -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives" -o "Debug::NoLocking=1")
apt-get "${opts[@]}" update -qq >&2
(cd "$work" && apt-get "${opts[@]}" download nvidia-cuda-toolkit >&2)
dpkg -x "$work"/nvidia-cuda-toolkit_*.deb "$dest"
test -x "$dest/usr/bin/ptxas"
echo "$dest/usr/bin/ptxas"
