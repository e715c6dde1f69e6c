#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kubectl at the pinned
# release (versions.env), and kwok from its own Go module (kwok/, because kwok pins other k8s.io
# versions), into a cache directory and prints that directory. A build is reused while the
# stamp written beside the binaries matches the current inputs (versions, both modules' go.mod
# and go.sum, the wrapper mains), so a version bump rebuilds and an unchanged tree costs
# nothing.
#
# Output directory: $DSC_HELM_K8S_BIN if set, else $HOME/.cache/dsc-helm/k8s-bin/<version>/.
# The Rust test harness (tests/integration/support/mod.rs) looks in the same places.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
# shellcheck source=versions.env
source ./versions.env
# Go ships in /usr/local/go on these machines; a non-login shell may not have it on PATH.
command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"

out="${DSC_HELM_K8S_BIN:-${HOME}/.cache/dsc-helm/k8s-bin/${K8S_VERSION}}"
stamp_file="$out/.build-stamp"
stamp="$(cat build.sh versions.env go.mod go.sum cmd/*/main.go kwok/go.mod kwok/go.sum kwok/cmd/*/main.go |
    sha256sum | cut -d' ' -f1) $(go env GOVERSION)"

bins=(kube-apiserver kube-controller-manager kube-scheduler etcd kubectl)
have_all=true
for b in "${bins[@]}" kwok; do [[ -x "$out/$b" ]] || have_all=false; done
if $have_all && [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]; then
    echo "k8s-bin: reusing $out (${K8S_VERSION})" >&2
    echo "$out"
    exit 0
fi

# kwok's version is compiled into its own constants; check first that its module is the pinned one.
grep -q "sigs.k8s.io/kwok ${KWOK_VERSION}\$" kwok/go.mod ||
    { echo "k8s-bin: kwok/go.mod does not require sigs.k8s.io/kwok ${KWOK_VERSION}" >&2; exit 1; }

major="${K8S_VERSION#v}"; major="${major%%.*}"
minor="${K8S_VERSION#v*.}"; minor="${minor%%.*}"
ldflags="-s -w"
# component-base/version feeds `--version`, /version and kubectl's client version;
# client-go/pkg/version feeds the user agent.
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X ${pkg}.gitVersion=${K8S_VERSION} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor}"
    ldflags+=" -X ${pkg}.gitTreeState=clean"
done

mkdir -p "$out"
rm -f "$stamp_file"
start=$SECONDS
# -mod=readonly: go.mod and go.sum are committed and complete, so the build is reproducible
# and fails loudly instead of silently resolving something new.
GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
    go build -trimpath -ldflags "$ldflags" -o "$out/" "${bins[@]/#/./cmd/}"
(cd kwok && GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
    go build -trimpath -ldflags "-s -w" -o "$out/" ./cmd/kwok)
echo "$stamp" > "$stamp_file"
echo "k8s-bin: built ${K8S_VERSION} into $out in $((SECONDS - start))s" >&2
echo "$out"
