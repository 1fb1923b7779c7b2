#!/usr/bin/env bash
# A recipe's time to a test accuracy against the PyTorch peer's, alternating in one sitting, one row per seed.
#   bash tools/recipe-vs-peer.sh RECIPE TARGET [SEED...]      e.g. bash tools/recipe-vs-peer.sh fast 0.93 0 1 2
# Ours: `fashiongpu bench --to-accuracy TARGET --model RECIPE --seed S` (wall time from the command's start, data
# loading and the recipe's test-time augmentation included). The peer: ../shared/peers/pytorch_fast_recipe.py
# (override with PEER=path; PEER_ARGS, default "--epochs 6 --no-augment", as its README measures it), whose seconds
# are its own cumulative training time at the first epoch that reached TARGET (data loading and tests excluded).
# A side that ends short of TARGET says so, with its last accuracy (and for ours, its epochs and seconds).
# Needs a Release build and /usr/bin/python3 with torch and numpy; the peer runs on OpenBLAS when it is installed
# (apt-get install python3-torch python3-numpy libopenblas0-pthread), as the figures in the docs were measured, and
# on the reference BLAS otherwise, much more slowly: the machine line names which, and a warning says so.
# With DOTNET_EnableAVX512=0 on an AVX-512 machine both sides keep to AVX2, as on an AVX2-only processor: ours through
# .NET, the peer through oneDNN's, OpenBLAS's and ATen's own switches (DNNL_MAX_CPU_ISA, OPENBLAS_CORETYPE,
# ATEN_CPU_CAPABILITY).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 RECIPE TARGET [SEED...]" >&2; exit 2; }
recipe=$1 target=$2
shift 2
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(0 1 2)
cd "$(dirname "$0")/.."
peer=${PEER:-../shared/peers/pytorch_fast_recipe.py}
[ -f "$peer" ] || { echo "error: no peer at $peer; set PEER to pytorch_fast_recipe.py" >&2; exit 2; }
dll=src/Cli/bin/Release/net10.0/fashiongpu.dll
[ -f "$dll" ] || { echo "error: no build at $dll; run 'dotnet build FashionGpu.sln -c Release' first" >&2; exit 2; }
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
cores=$(nproc)
has512=$(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)
width=$([ "$has512" = yes ] && [ "${DOTNET_EnableAVX512:-1}" != 0 ] && echo "AVX-512" || echo "AVX2")
blas="OpenBLAS"
peer_isa=()
if [ "$width" = AVX2 ] && [ "$has512" = yes ]; then
  peer_isa=(DNNL_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell ATEN_CPU_CAPABILITY=avx2)
fi
if [ ! -e "$openblas/libblas.so.3" ]; then
  blas="the reference BLAS"
  echo "warning: no OpenBLAS at $openblas, so the peer runs on the reference BLAS and takes far longer than in the docs; apt-get install libopenblas0-pthread" >&2
fi
echo "machine: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), family $(sed -n 's/^cpu family\s*: //p' /proc/cpuinfo | head -1), $cores cores, $width on both sides; the peer on $blas"
# bench's JSON as "reached seconds epoch accuracy": the first epoch at the target, or the last one's figures.
summary='
import json, sys
d = json.loads(sys.stdin.read())
row = next((r for r in d["epochs"] if r["epoch"] == d["epoch"]), d["epochs"][-1])
acc = row["tta_accuracy"] if row["tta_accuracy"] is not None else row["test_accuracy"]
print("yes" if d["reached"] else "no", "%.1f" % row["seconds"], row["epoch"], "%.4f" % acc + ("" if d["tta"] == "none" else "(" + d["tta"] + ")"))'
echo "| seed | peer s to $target | peer epoch | ours s to $target | ours epoch | accuracy judged | peer / ours |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for seed in "${seeds[@]}"; do
  peer_log=$(env "${peer_isa[@]}" OPENBLAS_NUM_THREADS=$cores LD_LIBRARY_PATH=$openblas /usr/bin/python3 "$peer" ${PEER_ARGS:---epochs 6 --no-augment} --threads "$cores" --seed "$seed")
  peer_row=$(echo "$peer_log" | awk -v t="$target" '/^epoch/ { e=$2; sub(":", "", e); if ($NF + 0 >= t + 0) { print e, $4; exit } }')
  peer_s=${peer_row#* } peer_epoch=${peer_row%% *}
  [ -n "$peer_row" ] || { peer_s="not reached (last: $(echo "$peer_log" | tail -1 | awk '{print $NF}'))"; peer_epoch=-; }
  ours=$(dotnet "$dll" bench --to-accuracy "$target" --model "$recipe" --seed "$seed" --json 2>/dev/null)
  read -r ours_reached ours_s ours_epoch judged < <(/usr/bin/python3 -c "$summary" <<< "$ours")
  # Short of the target, the row still shows how long the whole recipe took and where it ended.
  [ "$ours_reached" = yes ] || { ours_s="not reached (last: $judged after $ours_epoch epochs, $ours_s s)"; ours_epoch=-; }
  ratio=$(awk -v p="$peer_s" -v o="$ours_s" 'BEGIN { if (p + 0 > 0 && o + 0 > 0) printf "%.2f", p / o; else print "-" }')
  echo "| $seed | $peer_s | $peer_epoch | $ours_s | $ours_epoch | $judged | $ratio |"
done
