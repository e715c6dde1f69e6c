#!/usr/bin/env bash
# Builds the Helm CLI at the pinned version into a cache directory and prints the binary's path.
# The CLI-against-CLI comparison (tests/helm-cli/compare.py, tests/integration/helm_cli.rs) runs it beside
# `dsc-helm template`. A build is reused while the binary reports the pinned version, so a warm
# machine pays one `helm version` call.
#
# Output: $DSC_HELM_HELM_BIN if set (a path to the binary), else
# $HOME/.cache/dsc-helm/helm/<version>/helm.
set -euo pipefail
HELM_VERSION=v4.2.3
# Go ships in /usr/local/go on these machines; a non-login shell may not have it on PATH.
command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"

bin="${DSC_HELM_HELM_BIN:-${HOME}/.cache/dsc-helm/helm/${HELM_VERSION}/helm}"
if [[ -x "$bin" ]] && "$bin" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"; then
    echo "helm-cli: reusing $bin" >&2
    echo "$bin"
    exit 0
fi

dir="$(dirname "$bin")"
mkdir -p "$dir"
start=$SECONDS
# `go install pkg@version` builds with Helm's own go.mod and go.sum, checked against the
# checksum database. Helm's version string comes from ldflags in its Makefile; without it the
# binary reports a development version, so set it the same way.
GOBIN="$dir" CGO_ENABLED=0 GOFLAGS="-buildvcs=false" \
    go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=${HELM_VERSION}" \
    "helm.sh/helm/v4/cmd/helm@${HELM_VERSION}"
if [[ "$dir/helm" != "$bin" ]]; then mv "$dir/helm" "$bin"; fi
echo "helm-cli: built Helm ${HELM_VERSION} into $bin in $((SECONDS - start))s" >&2
echo "$bin"
