//! The test cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
//! with one fake Node, on loopback; tests/integration/support) as a process of its own, for the local demo:
//! `cargo run --example local-control-plane -- KUBECONFIG_OUT`. It copies the admin kubeconfig
//! to KUBECONFIG_OUT once the cluster is ready for workloads and runs until SIGINT or SIGTERM,
//! then stops every server and removes their data, as the tests do.

#[path = "../integration/support/mod.rs"]
// The integration tests use all of it; this binary only a part.
#[allow(dead_code)]
mod support;

use anyhow::{Context, Result};
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let out = std::env::args_os()
        .nth(1)
        .context("usage: local-control-plane KUBECONFIG_OUT")?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let plane = support::ControlPlane::start()?;
    std::fs::copy(plane.kubeconfig(), &out)
        .with_context(|| format!("writing the kubeconfig to {}", out.to_string_lossy()))?;
    println!(
        "control plane ready in {:.1}s: {} (Kubernetes {}), kubeconfig {}",
        plane.started_in().as_secs_f64(),
        plane.server(),
        support::k8s_version(),
        out.to_string_lossy()
    );
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    drop(plane);
    println!("control plane stopped");
    Ok(())
}
