#!/usr/bin/env bash
# One call on a machine with an NVIDIA GPU (under 10 minutes): the kernel, layer and engine tests on cuda, bench at
# batch 32 and 128, a full train + evaluate on cuda, and a resume compared bit for bit with an uninterrupted run.
# Everything lands in $OUT (default ./gpu-check); the last line printed is one JSON summary.
# Run: bash tools/gpu-check.sh   (needs the .NET 10 SDK; the full data set if /usr/share/datasets/fashion-mnist has it)
# On a GPU machine with the .NET runtime but no SDK: build here, copy the Release outputs there, and set
# FASHIONGPU_PREBUILT=1 (skips the build) and FASHIONGPU_VSTEST=.../vstest.console.dll (the SDK's test runner,
# which runs on the runtime alone).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-check}
mkdir -p "$out"
fg() { dotnet src/Cli/bin/Release/net10.0/fashiongpu.dll "$@"; }
json_number() { sed -n "s/.*\"$2\": *\([-0-9.eE+]*\).*/\1/p" "$1" | head -1; }

if [ -z "${FASHIONGPU_PREBUILT:-}" ]; then
  dotnet build FashionGpu.sln -c Release > "$out/build.log" 2>&1 || { echo '{"build": "failed"}'; exit 1; }
fi
fg devices > "$out/devices.txt" 2>&1

# The SIMD engine's host-only tests (its GEMM, its instruction sets) do not touch the GPU: left to CI.
filter="(FullyQualifiedName~.Kernels.|FullyQualifiedName~.Layers.|FullyQualifiedName~.Engines.|FullyQualifiedName~StepTests)&FullyQualifiedName!~SimdGemm&FullyQualifiedName!~SimdInstructionSet"
if [ -n "${FASHIONGPU_VSTEST:-}" ]; then
  FASHIONGPU_TEST_DEVICE=cuda dotnet "$FASHIONGPU_VSTEST" tests/bin/Release/net10.0/FashionGpu.Tests.dll \
    "--TestCaseFilter:$filter" --logger:"console;verbosity=normal" > "$out/tests.log" 2>&1
else
  FASHIONGPU_TEST_DEVICE=cuda dotnet test tests -c Release --no-build --filter "$filter" --logger "console;verbosity=normal" > "$out/tests.log" 2>&1
fi
tests=$?
passed=$(grep -oE 'Passed: +[0-9]+' "$out/tests.log" | grep -oE '[0-9]+' | tail -1)
failed=$(grep -oE 'Failed: +[0-9]+' "$out/tests.log" | grep -oE '[0-9]+' | tail -1)

fg bench --device cuda --batch-size 32 --json > "$out/bench32.json" 2> "$out/bench32.log"
fg bench --device cuda --batch-size 128 --json > "$out/bench128.json" 2> "$out/bench128.log"

start=$(date +%s.%N)
fg train --device cuda --run-dir "$out/run" --json > "$out/train.jsonl" 2> "$out/train.log"
train=$?
train_seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
fg evaluate --run "$out/run" --device cuda --json > "$out/evaluate.json" 2> "$out/evaluate.log"

# Resume: one epoch, then continue to two; the weights must equal those of two epochs straight (the tensor bytes
# after the header, which holds timestamps).
tensors() { local n; n=$(od -An -t u8 -N 8 "$1" | tr -d ' '); tail -c +$((9 + n)) "$1" | sha256sum | cut -d' ' -f1; }
fg train --device cuda --epochs 2 --limit-train 12000 --run-dir "$out/straight" > /dev/null 2>&1
fg train --device cuda --epochs 1 --limit-train 12000 --run-dir "$out/resumed" > /dev/null 2>&1
fg train --resume "$out/resumed" --epochs 2 > /dev/null 2>&1
identical=false
[ "$(tensors "$out/straight/last.safetensors")" = "$(tensors "$out/resumed/last.safetensors")" ] && identical=true

printf '{"tests_exit": %s, "tests_passed": %s, "tests_failed": %s, "train_exit": %s, "train_seconds": %s, "test_accuracy": %s, "eval_seconds": %s, "b32_train_images_per_s": %s, "b32_eval_images_per_s": %s, "b128_train_images_per_s": %s, "b128_eval_images_per_s": %s, "resume_bit_identical": %s}\n' \
  "$tests" "${passed:-0}" "${failed:-0}" "$train" "$train_seconds" \
  "$(json_number "$out/evaluate.json" accuracy)" "$(json_number "$out/evaluate.json" seconds)" \
  "$(json_number "$out/bench32.json" train_images_per_s)" "$(json_number "$out/bench32.json" eval_images_per_s)" \
  "$(json_number "$out/bench128.json" train_images_per_s)" "$(json_number "$out/bench128.json" eval_images_per_s)" "$identical" \
  | tee "$out/summary.json"
