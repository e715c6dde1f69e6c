//! The README's first command, `bash deploy/demo.sh`, end to end in its non-interactive form:
//! it builds, starts a local cluster and the operator, applies the sample DataScienceCluster,
//! shows the objects, the status and the workloads running on the fake Node, shows a bad apply
//! refused, and leaves nothing running.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

/// Two distinct loopback ports that are free now and that the system will not hand out to
/// anyone else in the minute before the demo binds them. The demo builds and starts a control
/// plane first, and every connection made meanwhile takes a port from the ephemeral range,
/// which is where `bind(0)` would have picked them (CI once lost the metrics port that way).
/// So they are taken from below that range, where only explicit binds land; each is held
/// until both are chosen.
fn free_ports() -> [u16; 2] {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let low = ephemeral_low.saturating_sub(12000).max(1024);
    let span = u32::from(ephemeral_low.saturating_sub(low)).max(1);
    let start = std::process::id() % span;
    let mut held: Vec<TcpListener> = (0..span)
        .map(|i| low.saturating_add(((start + i) % span) as u16))
        .filter_map(|port| TcpListener::bind(("127.0.0.1", port)).ok())
        .take(2)
        .collect();
    let mut port = || {
        held.pop()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
            .unwrap_or_else(|| panic!("no two free ports below {ephemeral_low}"))
    };
    [port(), port()]
}

fn alive(pid: &str) -> bool {
    Path::new("/proc").join(pid.trim()).exists()
}

#[test]
fn demo_runs_end_to_end_and_stops_cleanly() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let state = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let [webhook_port, metrics_port] = free_ports();
    let out = Command::new("bash")
        .arg(repo.join("deploy/demo.sh"))
        .arg("--no-wait")
        .env("DSC_HELM_DEMO_DIR", state.path())
        .env("DSC_HELM_DEMO_PROFILE", "debug")
        .env("DSC_HELM_DEMO_BIN", env!("CARGO_BIN_EXE_dsc-helm"))
        .env("DSC_HELM_DEMO_WEBHOOK_PORT", webhook_port.to_string())
        .env("DSC_HELM_DEMO_METRICS_PORT", metrics_port.to_string())
        .output()
        .unwrap_or_else(|e| panic!("running deploy/demo.sh: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let operator_log =
        std::fs::read_to_string(state.path().join("operator.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "demo failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- operator log\n{operator_log}"
    );
    let shown = format!("{stdout}{stderr}");
    for expected in [
        // The DSC and both components became Ready.
        "WebAppReady\tTrue",
        "ModelRegistryReady\tTrue",
        "DashboardReady\tTrue",
        // The dependency graph, each component coloured Ready.
        "\"dashboard\" -> \"model-registry\";",
        "\"dashboard\" [label=\"dashboard\\nReady\", style=filled, fillcolor=palegreen];",
        // The component's conditions, in Open Data Hub's words.
        "DeploymentsAvailable\tTrue\tDeploymentsAvailable\t1/1 deployments ready",
        "ProvisioningSucceeded\tTrue\tResourcesApplied",
        // Objects of both charts, the optional Ingress switched on by a feature, and the
        // custom resource whose CRD the chart ships.
        "deployment.apps/webapp",
        "deployment.apps/dashboard",
        "ingress.networking.k8s.io/webapp",
        "statefulset.apps/model-registry-database",
        "modelcatalog.modelregistry.opendatahub.io/default",
        // The bad apply is refused by the webhook, naming every field and the reason.
        "denied the request",
        "spec.components.webapp.values.replicaCount",
        "spec.components.webapp.values.service.port",
        "spec.components.model-registry.values.server.replicas",
        "(refused by the webhook, as it should be)",
    ] {
        assert!(
            shown.contains(expected),
            "demo output lacks {expected:?}:\n{shown}"
        );
    }
    // The workloads run, and ran when the DSC turned Ready (the demo prints them right after
    // `kubectl wait`, with no rollout wait of its own): every replica available, every pod
    // Running on the fake Node.
    let line = |prefix: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("demo output lacks a {prefix:?} line:\n{stdout}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(line("kwok-node-0")[1], "Ready", "the fake Node is Ready");
    assert_eq!(line("deployment.apps/webapp ")[1], "2/2");
    assert_eq!(line("statefulset.apps/model-registry-database ")[1], "1/1");
    let pods: Vec<&str> = stdout.lines().filter(|l| l.starts_with("pod/")).collect();
    assert!(
        pods.len() >= 3,
        "the demo lists the components' pods:\n{stdout}"
    );
    for pod in &pods {
        assert!(
            pod.contains(" Running ") && pod.contains(" kwok-node-0 "),
            "a pod that does not run on the fake Node: {pod}"
        );
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("persistentvolumeclaim/") && l.contains(" Bound ")),
        "the database's claim binds to a pooled volume:\n{stdout}"
    );
    for pid_file in ["operator.pid", "control-plane.pid"] {
        assert!(
            !state.path().join(pid_file).exists(),
            "{pid_file} left behind"
        );
    }
    let pids: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_once(" started, pid ").map(|(_, pid)| pid))
        .collect();
    assert_eq!(
        pids.len(),
        2,
        "the demo names the processes it starts:\n{stdout}"
    );
    for pid in pids {
        assert!(!alive(pid), "process {pid} still running after the demo");
    }
}
