#!/usr/bin/env bash
# Every check and test of the project, in the order a failure is cheapest to find.
# Usage: bash tests/run-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== format"
cargo fmt --all --check

echo "== lint"
cargo clippy --workspace --all-targets -- -D warnings

echo "== Kubernetes binaries for the integration tests (built once, then cached)"
DSC_HELM_K8S_BIN="$(bash tests/k8s-bin/build.sh)"
export DSC_HELM_K8S_BIN

echo "== Helm CLI for the CLI-against-CLI comparison (built once, then cached)"
DSC_HELM_HELM_BIN="$(bash tests/helm-cli/build.sh)"
export DSC_HELM_HELM_BIN

echo "== tests"
status=0
cargo test --workspace -- --test-threads=2 || status=$?

echo "== rendering conformance with Helm over ../shared/corpus (from the conformance test)"
cat target/tmp/conformance-summary.txt 2>/dev/null || echo "no conformance summary was written"

echo "== dsc-helm template against helm template over ../shared/corpus (from the helm_cli test)"
tail -n 1 target/tmp/helm-cli-summary.txt 2>/dev/null || echo "no CLI comparison summary was written"

echo "== no control-plane process left behind"
bash tests/k8s-bin/check-no-leftovers.sh || status=1
exit $status
