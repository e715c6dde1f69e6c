#!/usr/bin/env bash
# A long fuzz campaign: every fuzz target (crates/helm-render/tests/fuzz.rs and the
# AdmissionReview target in src/webhook/fuzz_tests.rs) in release, round after round, each
# round from a new seed, until the time is up. CI runs the same targets with a few cases each;
# this is the long run that finds what those miss.
#
#   bash tests/fuzz/campaign.sh [MINUTES] [CASES_PER_ROUND]   (defaults: 10 minutes, 5000)
#
# A failure stops the campaign with proptest's minimal failing input and the seed that found
# it (rerun with DSC_HELM_FUZZ_SEED=<seed> DSC_HELM_FUZZ_CASES=<cases> to reproduce).
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=${1:-10}
cases=${2:-5000}
seed=${DSC_HELM_FUZZ_SEED:-$(date +%s)}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
threads=${FUZZ_TEST_THREADS:-2}

echo "building the fuzz targets (release)"
cargo test --release -p helm-render --test fuzz --no-run
cargo test --release -p dsc-helm --lib --no-run

run() {
  DSC_HELM_FUZZ_CASES=$cases DSC_HELM_FUZZ_SEED=$1 cargo test --release --quiet "${@:2}" \
    -- --test-threads="$threads"
}

deadline=$(( $(date +%s) + minutes * 60 ))
rounds=0
start=$(date +%s)
while [ "$(date +%s)" -lt "$deadline" ]; do
  s=$((seed + rounds))
  echo "round $((rounds + 1)): seed $s, $cases cases per target"
  run "$s" -p helm-render --test fuzz
  run "$s" -p dsc-helm --lib webhook::fuzz_tests
  rounds=$((rounds + 1))
done
echo "campaign: $rounds rounds of $cases cases per target in $(( $(date +%s) - start )) s, no failure"
