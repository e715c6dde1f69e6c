#!/usr/bin/env bash
# Run after the integration tests: fails if a cluster process started by the test harness
# (tests/integration/support: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok) is still
# running, or if a harness directory was left behind.
# Harness processes are recognised by their data/certificate directory, which is always
# $TMPDIR/dsc-helm-k8s-<pid>-*; the check waits briefly for servers that are shutting down.
set -euo pipefail
tmp="${TMPDIR:-/tmp}"
tmp="${tmp%/}"

leftovers() {
    local pid comm
    for dir in /proc/[0-9]*; do
        pid="${dir#/proc/}"
        comm="$(cat "$dir/comm" 2>/dev/null)" || continue
        # comm holds at most 15 characters: kube-controller-manager is "kube-controller".
        case "$comm" in etcd|kube-apiserver|kube-controller*|kube-scheduler|kwok) ;; *) continue ;; esac
        if tr '\0' ' ' <"$dir/cmdline" 2>/dev/null | grep -q "$tmp/dsc-helm-k8s-"; then
            echo "$pid $comm: $(tr '\0' ' ' <"$dir/cmdline" | cut -c1-200)"
        fi
    done
}

for _ in $(seq 20); do
    found="$(leftovers)"
    [[ -z "$found" ]] && break
    sleep 0.5
done
status=0
if [[ -n "$found" ]]; then
    echo "check-no-leftovers: test control plane processes still running:" >&2
    echo "$found" >&2
    status=1
fi
shopt -s nullglob
dirs=("$tmp"/dsc-helm-k8s-*)
if [[ ${#dirs[@]} -gt 0 ]]; then
    echo "check-no-leftovers: test control plane directories left behind:" >&2
    printf '  %s\n' "${dirs[@]}" >&2
    status=1
fi
[[ $status -eq 0 ]] && echo "check-no-leftovers: no test control plane processes or directories left"
exit $status
