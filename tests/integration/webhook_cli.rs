//! The `certs` and `serve` subcommands as a user runs them: development certificates that a
//! client trusts through ca.crt, startup errors that name the file at fault (FR-008), and a
//! webhook-only `serve` that becomes ready and stops cleanly on SIGTERM.

use crate::webhook_client;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use dsc_helm::webhook::{CertFiles, Checks};

fn dsc_helm(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dsc-helm"));
    // No kubeconfig: serve must run webhook-only without Kubernetes API access.
    cmd.env_remove("KUBECONFIG")
        .env("HOME", home)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn charts() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("charts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certs_writes_a_ca_and_a_serving_certificate_clients_trust() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("certs");
    let result = run(dsc_helm(dir.path())
        .args(["certs", "--out"])
        .arg(&out)
        .args(["--dns", "localhost", "--ip", "127.0.0.1"]));
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(out.join("tls.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let files = CertFiles {
        cert: out.join("tls.crt"),
        key: out.join("tls.key"),
    };
    let registry = dsc_helm::registry::load(&charts()).unwrap();
    let server = webhook_client::start(
        webhook_client::validator(registry, Checks::default()),
        files,
        None,
        |_| {},
    );
    let ca = std::fs::read_to_string(out.join("ca.crt")).unwrap();
    let tls = webhook_client::connector(&ca, &[b"h2"], &[&rustls::version::TLS13]);
    let mut conn = webhook_client::connect(&tls, server.addr).await;
    let (status, _, body) = conn.request("GET", "/healthz", Vec::new()).await.unwrap();
    assert_eq!((status, &body[..]), (200, &b"ok"[..]));
    server.stop().await;

    let result = run(dsc_helm(dir.path()).args(["certs", "--out"]).arg(&out));
    assert!(!result.status.success());
    assert!(
        String::from_utf8_lossy(&result.stderr)
            .contains("give at least one --dns name or --ip address"),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

#[test]
fn serve_startup_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing_charts = dir.path().join("no-charts");
    let result = run(dsc_helm(dir.path())
        .args(["serve", "--webhook-only", "--charts"])
        .arg(&missing_charts));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(
        stderr.contains(&format!(
            "{}: cannot read",
            missing_charts.join("Chart.yaml").display()
        )),
        "{stderr}"
    );

    let cert = dir.path().join("tls.crt");
    let result = run(dsc_helm(dir.path())
        .args([
            "serve",
            "--webhook-only",
            "--webhook-addr",
            "127.0.0.1:0",
            "--charts",
        ])
        .arg(charts())
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(dir.path().join("tls.key")));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(
        stderr.contains(&format!(
            "{}: certificate file does not exist",
            cert.display()
        )),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_becomes_ready_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let made = run(dsc_helm(dir.path())
        .args(["certs", "--dns", "localhost", "--out"])
        .arg(&certs));
    assert!(made.status.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = dsc_helm(dir.path())
        .args([
            "serve",
            "--webhook-only",
            "--webhook-addr",
            &addr.to_string(),
            "--charts",
        ])
        .arg(charts())
        .arg("--tls-cert")
        .arg(certs.join("tls.crt"))
        .arg("--tls-key")
        .arg(certs.join("tls.key"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut guard = KillOnDrop(Some(child));

    let ca = std::fs::read_to_string(certs.join("ca.crt")).unwrap();
    let tls = webhook_client::connector(&ca, &[b"http/1.1"], &[&rustls::version::TLS13]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = loop {
        if webhook_client::tls_connect(&tls, addr).await.is_ok() {
            let mut conn = webhook_client::connect(&tls, addr).await;
            let (status, _, body) = conn.request("GET", "/readyz", Vec::new()).await.unwrap();
            if status == 200 {
                break String::from_utf8_lossy(&body).into_owned();
            }
        }
        assert!(Instant::now() < deadline, "serve never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(ready, "ok: 3 components registered");

    let child = guard.0.as_mut().unwrap();
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: signalling the child this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let child = guard.0.take().unwrap();
    let stderr = child.wait_with_output().unwrap().stderr;
    assert!(status.success(), "{}", String::from_utf8_lossy(&stderr));
}

/// Stops the server if the test fails before it does, so nothing outlives the test.
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
