//! Shared by the webhook tests and the admission benchmark: an in-process webhook on loopback
//! with a certificate from a test CA, and a minimal HTTPS client (hyper over tokio-rustls)
//! that talks to it the way the API server does; and for the cluster tests, the webhook served
//! and registered with the test cluster, and kubectl to meet it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value as Json, json};
use tokio_rustls::TlsConnector;

use dsc_helm::registry::Registry;
use dsc_helm::webhook::{
    CertFiles, Checks, DscNames, Validator, Webhook, WebhookConfig, dsc_names_from,
};
use helm_render::render::{KubeVersion, defaults};

use crate::support;

/// A serving certificate for localhost written to `dir` as tls.crt / tls.key.
pub fn write_serving_cert(dir: &Path, cert_pem: &str, key_pem: &str) -> CertFiles {
    let files = CertFiles {
        cert: dir.join("tls.crt"),
        key: dir.join("tls.key"),
    };
    // Written beside and renamed, so that a reload never sees half a file.
    for (path, text) in [(&files.key, key_pem), (&files.cert, cert_pem)] {
        let tmp = path.with_extension("new");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }
    files
}

pub fn validator(registry: Registry, checks: Checks) -> Validator {
    validator_in(registry, checks, "opendatahub")
}

/// A validator whose dry renders install into `namespace`, as an operator's do.
pub fn validator_in(registry: Registry, checks: Checks, namespace: &str) -> Validator {
    let kube = KubeVersion::parse(defaults::DEFAULT_KUBE_VERSION).unwrap();
    Validator::new(
        Arc::new(registry),
        Arc::new(defaults::capabilities(kube, &[])),
        namespace,
        checks,
    )
}

/// A running webhook; dropping `stop` (or sending on it) shuts it down.
pub struct Running {
    pub addr: SocketAddr,
    pub metrics: Arc<dsc_helm::webhook::metrics::Metrics>,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<Result<(), dsc_helm::webhook::WebhookError>>,
}

impl Running {
    /// Stops the server and waits until it no longer accepts connections.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = self.task.await;
    }
}

/// Binds on 127.0.0.1 (any port) and serves on the current runtime.
pub fn start(
    validator: Validator,
    certs: CertFiles,
    dsc_names: Option<DscNames>,
    tweak: impl FnOnce(&mut WebhookConfig),
) -> Running {
    let mut config = WebhookConfig::new("127.0.0.1:0".parse().unwrap(), certs);
    tweak(&mut config);
    let webhook = Webhook::bind(config, validator, dsc_names).unwrap();
    let addr = webhook.local_addr().unwrap();
    let metrics = webhook.metrics();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(webhook.run(async move {
        let _ = rx.await;
    }));
    Running {
        addr,
        metrics,
        stop: Some(tx),
        task,
    }
}

/// A TLS client trusting `ca_pem`, offering the given ALPN protocols and TLS versions.
pub fn connector(
    ca_pem: &str,
    alpn: &[&[u8]],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}

pub type Stream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

pub async fn tls_connect(connector: &TlsConnector, addr: SocketAddr) -> std::io::Result<Stream> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
}

/// One HTTP connection, HTTP/1.1 or HTTP/2 as negotiated by ALPN.
pub enum Conn {
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

pub async fn connect(connector: &TlsConnector, addr: SocketAddr) -> Conn {
    let stream = tls_connect(connector, addr).await.unwrap();
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
    let io = hyper_util::rt::TokioIo::new(stream);
    if h2 {
        let (send, conn) =
            hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
                .await
                .unwrap();
        tokio::spawn(conn);
        Conn::H2(send)
    } else {
        let (send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        Conn::H1(send)
    }
}

impl Conn {
    /// Sends one request; the status, the negotiated HTTP version and the body.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(u16, hyper::Version, Bytes), String> {
        let req = hyper::Request::builder()
            .method(method)
            .uri(format!("https://localhost{path}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = match self {
            Conn::H1(s) => {
                s.ready().await.map_err(|e| e.to_string())?;
                s.send_request(req).await
            }
            Conn::H2(s) => {
                s.ready().await.map_err(|e| e.to_string())?;
                s.send_request(req).await
            }
        }
        .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let version = response.version();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, version, body))
    }
}

/// An AdmissionReview of a DataScienceCluster with `components` as its spec.components.
pub fn dsc_review(uid: &str, operation: &str, components: Json) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": "datasciencecluster.opendatahub.io", "version": "v1", "kind": "DataScienceCluster"},
            "resource": {"group": "datasciencecluster.opendatahub.io", "version": "v1", "resource": "datascienceclusters"},
            "operation": operation,
            "name": "default-dsc",
            "object": {
                "apiVersion": "datasciencecluster.opendatahub.io/v1",
                "kind": "DataScienceCluster",
                "metadata": {"name": "default-dsc"},
                "spec": {"components": components},
            },
        },
    }))
    .unwrap()
}

/// `kubectl apply --dry-run=server` of a DSC; returns (accepted, stderr).
pub async fn dry_run(manifest: &Json) -> (bool, String) {
    kubectl_apply(manifest, &["--dry-run=server"]).await
}

/// `kubectl apply <flags> -f -` of `manifest`; returns (accepted, stderr), where kubectl prints
/// the webhook's warnings.
pub async fn kubectl_apply(manifest: &Json, flags: &[&str]) -> (bool, String) {
    let mut cmd = tokio::process::Command::from(support::shared().kubectl());
    cmd.arg("apply")
        .args(flags)
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("kubectl runs");
    if let Some(mut pipe) = child.stdin.take() {
        use tokio::io::AsyncWriteExt;
        pipe.write_all(manifest.to_string().as_bytes())
            .await
            .expect("stdin");
    }
    let out = child.wait_with_output().await.expect("kubectl ends");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Serves the webhook for `registry` and registers it, as webhook-config/dev does for a
/// developer. The API server picks a new registration up within moments, not at once.
pub async fn serve_webhook(
    client: &kube::Client,
    registry: Registry,
    dir: &Path,
    namespace: &str,
) -> Running {
    let ca = support::TestCa::new().expect("CA");
    let cert = ca.issue_localhost().expect("serving cert");
    let files = write_serving_cert(dir, &cert.cert_pem, &cert.key_pem);
    let server = start(
        validator_in(registry, Checks::default(), namespace),
        files,
        Some(dsc_names_from(client.clone())),
        |c| c.reload_interval = Duration::from_millis(200),
    );
    let config = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("webhook-config/dev/validatingwebhookconfiguration.yaml"),
    )
    .expect("dev webhook configuration")
    .replace(
        "127.0.0.1:9443",
        &format!("127.0.0.1:{}", server.addr.port()),
    )
    .replace("CA_BUNDLE", &support::base64(ca.cert_pem().as_bytes()));
    let mut apply = tokio::process::Command::from(support::shared().kubectl());
    apply
        .args(["apply", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null());
    let mut child = apply.spawn().expect("kubectl runs");
    if let Some(mut pipe) = child.stdin.take() {
        use tokio::io::AsyncWriteExt;
        pipe.write_all(config.as_bytes()).await.expect("stdin");
    }
    assert!(child.wait().await.expect("kubectl ends").success());
    server
}
