#!/usr/bin/env bash
# Regenerates go.mod's replace block from the pinned Kubernetes release's own go.mod.
# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/client-go, ...) at
# v0.0.0 and replaces them with ./staging paths, which do not exist for a consumer; each
# one is published separately as v0.<minor>.<patch>. The list is derived, never
# hand-picked, so a version bump cannot miss a new staging module.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
# shellcheck source=versions.env
source ./versions.env
export GOFLAGS=-mod=mod

staging_version="v0.${K8S_VERSION#v1.}"
gomod="$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[[ -f "$gomod" ]] || { echo "cannot find go.mod of k8s.io/kubernetes@${K8S_VERSION}" >&2; exit 1; }

mapfile -t staging < <(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/src/.*#\1#p' "$gomod" | sort -u)
[[ ${#staging[@]} -gt 0 ]] || { echo "no staging replaces found in $gomod" >&2; exit 1; }

# Drop every replace of a previous run, then add one per staging module.
for m in $(go mod edit -json | sed -n 's/^[[:space:]]*"Path": "\(k8s\.io\/[^"]*\)".*/\1/p' | sort -u); do
    go mod edit -dropreplace="$m" 2>/dev/null || true
done
for m in "${staging[@]}"; do
    go mod edit -replace="${m}=${m}@${staging_version}"
done
go mod edit -require="k8s.io/kubernetes@${K8S_VERSION}" -require="go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
go mod tidy
echo "replaced ${#staging[@]} staging modules with ${staging_version}"
