//! The webhook over HTTPS on loopback, as the API server reaches it, without the API server:
//! bad input of every class gets a clear 4xx while others keep being served; TLS 1.2 and 1.3,
//! HTTP/1.1 and HTTP/2; health, readiness and metrics; certificate reload from disk.

use crate::support;
use crate::webhook_client;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value as Json, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use dsc_helm::webhook::{COMPONENT_PATH, CertFiles, Checks, DSC_PATH, MAX_BODY};
use webhook_client::{Conn, connect, connector, dsc_review, start, tls_connect, validator};

const TLS13: &rustls::SupportedProtocolVersion = &rustls::version::TLS13;
const TLS12: &rustls::SupportedProtocolVersion = &rustls::version::TLS12;

fn repo_registry() -> dsc_helm::registry::Registry {
    dsc_helm::registry::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("charts")).unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    ca: support::TestCa,
    files: CertFiles,
    server: webhook_client::Running,
}

fn fixture(tweak: impl FnOnce(&mut dsc_helm::webhook::WebhookConfig)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let ca = support::TestCa::new().unwrap();
    let cert = ca.issue_localhost().unwrap();
    let files = webhook_client::write_serving_cert(dir.path(), &cert.cert_pem, &cert.key_pem);
    let server = start(
        validator(repo_registry(), Checks::default()),
        files.clone(),
        None,
        tweak,
    );
    Fixture {
        _dir: dir,
        ca,
        files,
        server,
    }
}

impl Fixture {
    async fn conn(&self) -> Conn {
        connect(
            &connector(self.ca.cert_pem(), &[b"http/1.1"], &[TLS13, TLS12]),
            self.server.addr,
        )
        .await
    }
}

fn response(body: &[u8]) -> Json {
    let review: Json = serde_json::from_slice(body).unwrap();
    review["response"].clone()
}

async fn post(conn: &mut Conn, path: &str, body: Vec<u8>) -> (u16, String) {
    let (status, _, body) = conn.request("POST", path, body).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_4xx_and_the_server_keeps_serving() {
    let f = fixture(|_| {});
    let mut conn = f.conn().await;
    let mut deep = String::from(
        r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":"#,
    );
    deep.push_str(&"[".repeat(5000));
    deep.push_str(&"]".repeat(5000));
    deep.push_str("}}");
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"this is not json".to_vec(), 400, "request body is not JSON"),
        (
            br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u"}}"#.to_vec(),
            400,
            "expected apiVersion admission.k8s.io/v1, got \"admission.k8s.io/v1beta1\"",
        ),
        (
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"Status"}"#.to_vec(),
            400,
            "expected kind AdmissionReview, got \"Status\"",
        ),
        (
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.to_vec(),
            400,
            "the AdmissionReview has no request",
        ),
        (
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}"#.to_vec(),
            400,
            "the AdmissionReview request has no uid",
        ),
        (
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE"}}"#.to_vec(),
            400,
            "the AdmissionReview request has no kind",
        ),
        (
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","uid":"v"}}"#.to_vec(),
            400,
            "duplicate key \"uid\"",
        ),
        (deep.into_bytes(), 400, "recursion limit exceeded"),
    ];
    for (body, status, message) in cases {
        // A 413 may close the connection; every case gets a fresh one.
        let mut c = f.conn().await;
        let (got, text) = post(&mut c, DSC_PATH, body).await;
        assert_eq!(got, status, "{text}");
        assert!(text.contains(message), "{text:?} lacks {message:?}");
    }
    // An oversized body is refused from its Content-Length, before any of it is read.
    let tls = connector(f.ca.cert_pem(), &[b"http/1.1"], &[TLS13]);
    let mut raw = tls_connect(&tls, f.server.addr).await.unwrap();
    raw.write_all(
        format!(
            "POST {DSC_PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{",
            MAX_BODY + 1
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut head = vec![0u8; 4096];
    let n = raw.read(&mut head).await.unwrap();
    let head = String::from_utf8_lossy(&head[..n]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(
        head.contains("request body exceeds 3145728 bytes (3 MiB)"),
        "{head}"
    );
    // A body of exactly the limit is read (and refused for what it is, not for its size).
    let mut c = f.conn().await;
    let (status, text) = post(&mut c, DSC_PATH, vec![b' '; MAX_BODY]).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("request body is not JSON"), "{text}");

    // The first connection, opened before all of that, is still served.
    let (status, text) = post(
        &mut conn,
        DSC_PATH,
        dsc_review(
            "ok",
            "UPDATE",
            json!({"webapp": {"managementState": "Managed"}}),
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(response(text.as_bytes())["allowed"], true, "{text}");
    let metrics = &f.server.metrics;
    assert_eq!(
        metrics.requests(DSC_PATH, dsc_helm::webhook::metrics::Outcome::Rejected),
        10
    );
    f.server.stop().await;
}

/// HTTP/2 has no connection to close: a refused oversized body must still get its 413 as a
/// response on the stream, not a stream reset the client sees instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_gets_413_over_http2_as_over_http1() {
    let f = fixture(|_| {});
    for alpn in [b"h2".as_slice(), b"http/1.1".as_slice()] {
        let tls = connector(f.ca.cert_pem(), &[alpn], &[TLS13]);
        let mut conn = connect(&tls, f.server.addr).await;
        let (status, _, body) = conn
            .request("POST", DSC_PATH, vec![b' '; MAX_BODY + 1])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(alpn)));
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 413, "{text}");
        assert!(
            text.contains("request body exceeds 3145728 bytes"),
            "{text}"
        );
    }
    // The server still answers on a new connection.
    let mut conn = f.conn().await;
    let review = dsc_review(
        "ok",
        "CREATE",
        json!({"webapp": {"managementState": "Managed"}}),
    );
    let (status, text) = post(&mut conn, DSC_PATH, review).await;
    assert_eq!(status, 200, "{text}");
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_of_other_operations_kinds_and_shapes() {
    let f = fixture(|_| {});
    let mut conn = f.conn().await;
    let review = |request: Json| {
        serde_json::to_vec(&json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request})).unwrap()
    };
    let dsc_kind = json!({"group": "datasciencecluster.opendatahub.io", "version": "v1", "kind": "DataScienceCluster"});
    let cases = [
        // DELETE is always allowed, even of a DSC with bad values.
        (
            DSC_PATH,
            review(json!({"uid": "1", "operation": "DELETE", "kind": dsc_kind,
            "oldObject": {"spec": {"components": {"webapp": {"managementState": "Managed", "values": {"replicaCount": "x"}}}}}})),
            Ok(()),
        ),
        // A kind the path does not validate is not this webhook's business.
        (
            DSC_PATH,
            review(
                json!({"uid": "2", "operation": "CREATE", "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
            "object": {"data": {"a": "b"}}}),
            ),
            Ok(()),
        ),
        (
            COMPONENT_PATH,
            review(json!({"uid": "3", "operation": "CREATE", "kind": dsc_kind, "object": {}})),
            Ok(()),
        ),
        // The right kind with an object that is not shaped like one.
        (
            DSC_PATH,
            review(
                json!({"uid": "4", "operation": "CREATE", "kind": dsc_kind, "object": {"spec": ["x"]}}),
            ),
            Err("spec: must be an object, not array"),
        ),
        (
            DSC_PATH,
            review(json!({"uid": "5", "operation": "UPDATE", "kind": dsc_kind})),
            Err("request.object: missing; nothing to validate"),
        ),
        (
            COMPONENT_PATH,
            review(json!({"uid": "6", "operation": "UPDATE",
            "kind": {"group": "components.platform.opendatahub.io", "version": "v1alpha1", "kind": "WebApp"},
            "object": {"spec": {"managementState": "Managed", "values": {"replicaCount": "three"}}}})),
            Err("spec.values.replicaCount: got string, want integer"),
        ),
    ];
    for (path, body, expected) in cases {
        let (status, text) = post(&mut conn, path, body).await;
        assert_eq!(status, 200, "{text}");
        let r = response(text.as_bytes());
        match expected {
            Ok(()) => assert_eq!(r["allowed"], true, "{text}"),
            Err(message) => {
                assert_eq!(r["allowed"], false, "{text}");
                assert_eq!(r["status"]["message"], message, "{text}");
            }
        }
    }
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_headers_slowly_is_cut_off_while_others_are_served() {
    let f = fixture(|c| c.header_timeout = Duration::from_millis(500));
    let tls = connector(f.ca.cert_pem(), &[b"http/1.1"], &[TLS13]);
    let mut slow = tls_connect(&tls, f.server.addr).await.unwrap();
    slow.write_all(b"POST /validate-datasciencecluster-v1 HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    slow.flush().await.unwrap();
    // Meanwhile other clients are answered.
    for i in 0..3 {
        let mut c = f.conn().await;
        let (status, _) = post(
            &mut c,
            DSC_PATH,
            dsc_review(&format!("u{i}"), "UPDATE", json!({})),
        )
        .await;
        assert_eq!(status, 200);
    }
    // The slow client's connection is closed by the server (the outer timeout only keeps a
    // broken server from hanging the test).
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), slow.read_to_end(&mut buf)).await;
    let closed = match read {
        Ok(Ok(_)) | Ok(Err(_)) => true,
        Err(_) => false,
    };
    assert!(closed, "the server never closed the slow connection");
    let text = String::from_utf8_lossy(&buf);
    assert!(!text.contains("200 OK"), "{text}");
    f.server.stop().await;
}

/// Headers in time, then the body a byte at a time: the read deadline answers 400 once it
/// passes, and the server serves others meanwhile (no worker waits on a body).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_its_body_slowly_is_cut_off_by_the_read_deadline() {
    let f = fixture(|c| c.header_timeout = Duration::from_millis(500));
    let tls = connector(f.ca.cert_pem(), &[b"http/1.1"], &[TLS13]);
    let mut slow = tls_connect(&tls, f.server.addr).await.unwrap();
    let body = dsc_review("slow", "UPDATE", json!({}));
    slow.write_all(
        format!(
            "POST {DSC_PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let trickle = tokio::spawn(async move {
        for byte in body.iter().take(20) {
            if slow.write_all(&[*byte]).await.is_err() || slow.flush().await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(60), slow.read_to_end(&mut buf)).await;
        String::from_utf8_lossy(&buf).into_owned()
    });
    for i in 0..3 {
        let mut c = f.conn().await;
        let review = dsc_review(&format!("u{i}"), "UPDATE", json!({}));
        let (status, _) = post(&mut c, DSC_PATH, review).await;
        assert_eq!(status, 200);
    }
    let answer = trickle.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("reading the request body failed: the body was not received within 500 ms"),
        "{answer}"
    );
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_12_and_13_with_http1_and_http2() {
    let f = fixture(|_| {});
    for (version, alpn, expected) in [
        (TLS13, b"h2".as_slice(), hyper::Version::HTTP_2),
        (TLS12, b"h2".as_slice(), hyper::Version::HTTP_2),
        (TLS13, b"http/1.1".as_slice(), hyper::Version::HTTP_11),
        (TLS12, b"http/1.1".as_slice(), hyper::Version::HTTP_11),
    ] {
        let tls = connector(f.ca.cert_pem(), &[alpn], &[version]);
        let stream = tls_connect(&tls, f.server.addr).await.unwrap();
        assert_eq!(stream.get_ref().1.protocol_version(), Some(version.version));
        drop(stream);
        let mut conn = connect(&tls, f.server.addr).await;
        let (status, got, body) = conn
            .request(
                "POST",
                DSC_PATH,
                dsc_review(
                    "v",
                    "CREATE",
                    json!({"webapp": {"managementState": "Managed",
                "values": {"replicaCount": "three"}}}),
                ),
            )
            .await
            .unwrap();
        assert_eq!((status, got), (200, expected));
        let r = response(&body);
        assert_eq!(r["allowed"], false);
        assert!(
            r["status"]["message"]
                .as_str()
                .unwrap()
                .starts_with("spec.components.webapp.values.replicaCount: ")
        );
    }
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics() {
    let f = fixture(|c| c.metrics_addr = Some("127.0.0.1:0".parse().unwrap()));
    let mut conn = f.conn().await;
    let (status, _, body) = conn.request("GET", "/healthz", Vec::new()).await.unwrap();
    assert_eq!((status, &body[..]), (200, &b"ok"[..]));
    // Readiness follows the listener, which reports itself shortly after it starts.
    let mut ready = (0, String::new());
    for _ in 0..100 {
        let (status, _, body) = conn.request("GET", "/readyz", Vec::new()).await.unwrap();
        ready = (status, String::from_utf8_lossy(&body).into_owned());
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ready, (200, "ok: 3 components registered".to_string()));
    post(&mut conn, DSC_PATH, dsc_review("a", "UPDATE", json!({}))).await;
    post(
        &mut conn,
        DSC_PATH,
        dsc_review("b", "UPDATE", json!({"nope": {}})),
    )
    .await;
    post(&mut conn, DSC_PATH, b"{".to_vec()).await;
    let (status, _, body) = conn.request("GET", "/metrics", Vec::new()).await.unwrap();
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&body);
    for line in [
        "dsc_helm_webhook_requests_total{path=\"/validate-datasciencecluster-v1\",verdict=\"allowed\"} 1",
        "dsc_helm_webhook_requests_total{path=\"/validate-datasciencecluster-v1\",verdict=\"denied\"} 1",
        "dsc_helm_webhook_requests_total{path=\"/validate-datasciencecluster-v1\",verdict=\"rejected\"} 1",
        "dsc_helm_webhook_request_duration_seconds_count 3",
        "dsc_helm_webhook_certificate_reloads_total{result=\"success\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_listener_serves_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let ca = support::TestCa::new().unwrap();
    let cert = ca.issue_localhost().unwrap();
    let files = webhook_client::write_serving_cert(dir.path(), &cert.cert_pem, &cert.key_pem);
    let mut config = dsc_helm::webhook::WebhookConfig::new("127.0.0.1:0".parse().unwrap(), files);
    config.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    let webhook = dsc_helm::webhook::Webhook::bind(
        config,
        validator(repo_registry(), Checks::default()),
        None,
    )
    .unwrap();
    let metrics_addr = webhook.metrics_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(webhook.run(async move {
        let _ = rx.await;
    }));
    let mut tcp = tokio::net::TcpStream::connect(metrics_addr).await.unwrap();
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    tcp.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(
        out.contains("# TYPE dsc_helm_webhook_requests_total counter"),
        "{out}"
    );
    let _ = tx.send(());
    task.await.unwrap().unwrap();
}

#[test]
fn startup_fails_naming_a_missing_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let files = CertFiles {
        cert: dir.path().join("tls.crt"),
        key: dir.path().join("tls.key"),
    };
    let config = dsc_helm::webhook::WebhookConfig::new("127.0.0.1:0".parse().unwrap(), files);
    let err = dsc_helm::webhook::Webhook::bind(
        config,
        validator(repo_registry(), Checks::default()),
        None,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.starts_with(&format!(
            "{}: certificate file does not exist",
            dir.path().join("tls.crt").display()
        )),
        "{err}"
    );
}

fn peer_der(stream: &webhook_client::Stream) -> Vec<u8> {
    stream.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

fn pem_der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject as _;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_are_reloaded_from_disk_without_failing_requests() {
    let f = fixture(|c| c.reload_interval = Duration::from_millis(100));
    let tls = connector(f.ca.cert_pem(), &[b"http/1.1"], &[TLS13, TLS12]);
    let first = tls_connect(&tls, f.server.addr).await.unwrap();
    let old = peer_der(&first);

    // Requests flow on fresh connections throughout the rotation.
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let addr = f.server.addr;
    let flow_tls = tls.clone();
    let flow = tokio::spawn(async move {
        let (mut ok, mut failed) = (0u32, Vec::new());
        while !*stop_rx.borrow_and_update() {
            let mut conn = connect(&flow_tls, addr).await;
            match conn
                .request("POST", DSC_PATH, dsc_review("r", "UPDATE", json!({})))
                .await
            {
                Ok((200, _, _)) => ok += 1,
                other => failed.push(format!("{other:?}")),
            }
        }
        (ok, failed)
    });

    let mut rotated = Vec::new();
    for _ in 0..2 {
        let next = f.ca.issue_localhost().unwrap();
        webhook_client::write_serving_cert(
            f.files.cert.parent().unwrap(),
            &next.cert_pem,
            &next.key_pem,
        );
        let want = pem_der(&next.cert_pem);
        let mut served = Vec::new();
        for _ in 0..200 {
            served = peer_der(&tls_connect(&tls, addr).await.unwrap());
            if served == want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(served, want, "the rotated certificate was never served");
        rotated.push(want);
    }
    assert_ne!(rotated[0], old);

    // A broken file keeps the last good certificate in service.
    std::fs::write(&f.files.cert, "garbage").unwrap();
    for _ in 0..100 {
        if f.server
            .metrics
            .render()
            .contains("reloads_total{result=\"failure\"} 1")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        f.server
            .metrics
            .render()
            .contains("reloads_total{result=\"failure\"} 1")
    );
    assert_eq!(
        peer_der(&tls_connect(&tls, addr).await.unwrap()),
        rotated[1]
    );

    let _ = stop_tx.send(true);
    let (ok, failed) = flow.await.unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(ok > 0);
    assert_eq!(f.server.metrics.reloads(), 2);
    // The connection opened before the rotation still works.
    drop(first);
    f.server.stop().await;
}
