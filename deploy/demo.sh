#!/usr/bin/env bash
# The local demo, one command on a fresh machine:
#
#   bash deploy/demo.sh            build, start, show, then keep running until Ctrl-C
#   bash deploy/demo.sh --no-wait  the same, then stop at once (what tests/integration/demo.rs runs)
#   bash deploy/demo.sh stop       stop a demo running in another terminal
#
# It builds the Kubernetes binaries (kube-apiserver, kube-controller-manager, kube-scheduler,
# etcd, kubectl) and kwok from their Go modules and dsc-helm with cargo, starts a local cluster
# on loopback (kwok plays the kubelet of one fake Node, so workloads run without containers),
# installs the CRDs and the webhook configuration with development certificates, starts
# `dsc-helm serve`, applies the sample DataScienceCluster, shows what the operator made of it
# and its workloads running, and shows a bad `kubectl apply` being refused. Everything it
# starts is stopped on exit; state lives in target/demo.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=${DSC_HELM_DEMO_DIR:-$repo/target/demo}
profile=${DSC_HELM_DEMO_PROFILE:-release}
webhook_port=${DSC_HELM_DEMO_WEBHOOK_PORT:-9443}
metrics_port=${DSC_HELM_DEMO_METRICS_PORT:-8080}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

stop_pid_file() {
    local file=$1
    [[ -f $file ]] || return 0
    local pid
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

stop_all() {
    # The operator first, so that it does not log the API server going away.
    stop_pid_file "$state/operator.pid"
    stop_pid_file "$state/control-plane.pid"
}

if [[ ${1:-} == stop ]]; then
    stop_all
    echo "demo stopped"
    exit 0
fi
wait_at_end=true
[[ ${1:-} == --no-wait ]] && wait_at_end=false

mkdir -p "$state"
stop_all
trap 'stop_all' EXIT
trap 'exit 130' INT TERM

say "Building the Kubernetes binaries and kwok from their Go modules"
bin=$(bash "$repo/tests/k8s-bin/build.sh")
export DSC_HELM_K8S_BIN=$bin
kubectl="$bin/kubectl"

say "Building dsc-helm ($profile)"
cargo_profile=(--release)
target_dir=release
if [[ $profile == debug ]]; then
    cargo_profile=()
    target_dir=debug
fi
if [[ -n ${DSC_HELM_DEMO_BIN:-} ]]; then
    # The caller built dsc-helm already (tests/integration/demo.rs passes the test's own
    # binary): building it here, with another feature set, would replace the file while other
    # tests run it.
    (cd "$repo" && cargo build "${cargo_profile[@]}" --example local-control-plane)
    dsc_helm=$DSC_HELM_DEMO_BIN
else
    (cd "$repo" && cargo build "${cargo_profile[@]}" --bin dsc-helm --example local-control-plane)
    dsc_helm="$repo/target/$target_dir/dsc-helm"
fi

say "Starting a local cluster (etcd, kube-apiserver, controller manager, scheduler, kwok with one fake Node)"
export KUBECONFIG=$state/kubeconfig
rm -f "$KUBECONFIG"
"$repo/target/$target_dir/examples/local-control-plane" "$KUBECONFIG" \
    >"$state/control-plane.log" 2>&1 &
echo $! >"$state/control-plane.pid"
echo "control plane started, pid $!"
for _ in $(seq 1 300); do
    [[ -s $KUBECONFIG ]] && break
    kill -0 "$(cat "$state/control-plane.pid")" 2>/dev/null || {
        cat "$state/control-plane.log"
        echo "the control plane did not start" >&2
        exit 1
    }
    sleep 0.5
done
[[ -s $KUBECONFIG ]] || { echo "the control plane did not become ready" >&2; exit 1; }
cat "$state/control-plane.log"
"$kubectl" get nodes

say "Development certificates for the webhook (dsc-helm certs)"
"$dsc_helm" certs --out "$state/certs" --dns localhost --ip 127.0.0.1

say "Installing the CRDs (dsc-helm crds)"
"$dsc_helm" crds --charts "$repo/charts" | "$kubectl" apply --server-side -f -
"$kubectl" wait --for=condition=Established --timeout=60s crd --all

say "Starting the operator: webhook on https://127.0.0.1:$webhook_port, reconciler"
"$dsc_helm" serve --charts "$repo/charts" \
    --applications-namespace opendatahub \
    --webhook-addr "127.0.0.1:$webhook_port" \
    --metrics-addr "127.0.0.1:$metrics_port" \
    --tls-cert "$state/certs/tls.crt" --tls-key "$state/certs/tls.key" \
    >"$state/operator.log" 2>&1 &
echo $! >"$state/operator.pid"
echo "operator started, pid $!"
for _ in $(seq 1 120); do
    if curl -fsS --cacert "$state/certs/ca.crt" "https://localhost:$webhook_port/readyz" >/dev/null 2>&1; then
        break
    fi
    kill -0 "$(cat "$state/operator.pid")" 2>/dev/null || {
        cat "$state/operator.log"
        echo "the operator exited" >&2
        exit 1
    }
    sleep 0.5
done
curl -fsS --cacert "$state/certs/ca.crt" "https://localhost:$webhook_port/readyz" >/dev/null

say "Registering the webhook (webhook-config/dev with the development CA as caBundle)"
sed -e "s|CA_BUNDLE|$(base64 -w0 <"$state/certs/ca.crt")|" \
    -e "s|127.0.0.1:9443|127.0.0.1:$webhook_port|" \
    "$repo/webhook-config/dev/validatingwebhookconfiguration.yaml" | "$kubectl" apply -f -

say "Applying the sample DataScienceCluster (deploy/samples/datasciencecluster.yaml)"
cat "$repo/deploy/samples/datasciencecluster.yaml"
"$kubectl" apply --server-side -f "$repo/deploy/samples/datasciencecluster.yaml"
"$kubectl" wait --for=condition=Ready --timeout=120s dsc/default-dsc

say "Ready means running: the workloads were available when the DSC turned Ready"
"$kubectl" get deploy,sts -n opendatahub
"$kubectl" get webapp default-webapp -o jsonpath='{range .status.conditions[*]}{.type}{"\t"}{.status}{"\t"}{.reason}{"\t"}{.message}{"\n"}{end}'

say "The DataScienceCluster and its components"
"$kubectl" get dsc
"$kubectl" get webapps,modelregistries,dashboards

say "Their dependencies (dsc-helm graph), coloured by readiness: the dashboard waited for the other two"
"$dsc_helm" graph --charts "$repo/charts" --kubeconfig "$KUBECONFIG"
"$kubectl" get dsc default-dsc -o jsonpath='{range .status.conditions[*]}{.type}{"\t"}{.status}{"\t"}{.reason}{"\n"}{end}'

say "What the operator applied in namespace opendatahub"
"$kubectl" get all,configmaps,secrets,ingresses,modelcatalogs -n opendatahub \
    -l platform.opendatahub.io/part-of

say "The components' pods (kwok plays the Node's kubelet)"
"$kubectl" get pods,pvc -n opendatahub -o wide

say "A deliberately bad DataScienceCluster (deploy/samples/bad-datasciencecluster.yaml)"
cat "$repo/deploy/samples/bad-datasciencecluster.yaml"
echo "\$ kubectl apply --server-side -f deploy/samples/bad-datasciencecluster.yaml"
if "$kubectl" apply --server-side -f "$repo/deploy/samples/bad-datasciencecluster.yaml"; then
    echo "the bad DataScienceCluster was accepted, which is a bug" >&2
    exit 1
fi
echo "(refused by the webhook, as it should be)"

if $wait_at_end; then
    say "Running. KUBECONFIG=$KUBECONFIG kubectl get dsc; logs in $state. Ctrl-C (or bash deploy/demo.sh stop) stops everything."
    while kill -0 "$(cat "$state/operator.pid" 2>/dev/null || echo 0)" 2>/dev/null; do
        sleep 1
    done
fi
say "Stopping"
