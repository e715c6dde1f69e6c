//! Agreement with Helm through the webhook: every schema case of ../shared/corpus is sent as
//! an AdmissionReview over HTTPS, each chart registered as a component with no code (the
//! case's values as the component's DSC values), and the webhook's verdict must be Helm's
//! render verdict (`helm_render_accepts`).

use crate::corpus;
use crate::support;
use crate::webhook_client;

use serde_json::json;

use dsc_helm::webhook::{Checks, DSC_PATH};
use webhook_client::{connect, connector, dsc_review, start, validator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_schema_case_gets_helms_verdict_through_the_webhook() {
    let charts = corpus::load_corpus();
    let with_cases: Vec<&corpus::CorpusChart> = charts
        .iter()
        .filter(|c| !c.schema_cases.is_empty())
        .collect();
    let ids: Vec<&str> = with_cases.iter().map(|c| c.id.as_str()).collect();
    let dir = tempfile::tempdir().unwrap();
    let registry = corpus::registry::corpus_registry(&dir.path().join("charts"), &ids).unwrap();

    let ca = support::TestCa::new().unwrap();
    let cert = ca.issue_localhost().unwrap();
    let files = webhook_client::write_serving_cert(dir.path(), &cert.cert_pem, &cert.key_pem);
    let server = start(validator(registry, Checks::default()), files, None, |_| {});
    let tls = connector(ca.cert_pem(), &[b"h2"], &[&rustls::version::TLS13]);
    let mut conn = connect(&tls, server.addr).await;

    let (mut total, mut agree) = (0, 0);
    let mut disagreements = Vec::new();
    for chart in &with_cases {
        for case in &chart.schema_cases {
            total += 1;
            let components = json!({chart.id.as_str(): {
                "managementState": "Managed",
                "values": case.values.to_json(),
            }});
            let uid = format!("{}-{}", chart.id, case.name);
            let (status, _, body) = conn
                .request("POST", DSC_PATH, dsc_review(&uid, "UPDATE", components))
                .await
                .unwrap();
            assert_eq!(status, 200, "{uid}: {}", String::from_utf8_lossy(&body));
            let review: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let response = &review["response"];
            assert_eq!(response["uid"], uid.as_str());
            let allowed = response["allowed"].as_bool().unwrap();
            if allowed == case.helm_accepts {
                agree += 1;
            } else {
                disagreements.push(format!(
                    "{uid}: Helm {}, webhook {}: {}",
                    if case.helm_accepts {
                        "accepts"
                    } else {
                        "refuses"
                    },
                    if allowed { "allows" } else { "denies" },
                    response["status"]["message"]
                ));
            }
        }
    }
    println!("webhook schema verdicts agreeing with Helm: {agree}/{total}");
    let on_disk = corpus::schema_case_files();
    assert!(on_disk > 0, "the corpus holds no schema cases");
    assert_eq!(
        total, on_disk,
        "every schema case file of the corpus is sent"
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    server.stop().await;
}

/// Every corpus chart can be registered as a component with no code: a dependency, its
/// archive and a three-line descriptor.
#[test]
fn every_corpus_chart_registers_as_a_component() {
    let ids: Vec<String> = corpus::load_corpus().into_iter().map(|c| c.id).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().expect("temporary directory");
    let registry = corpus::registry::corpus_registry(dir.path(), &ids)
        .unwrap_or_else(|e| panic!("registering the corpus: {e}"));
    assert_eq!(registry.components.len(), ids.len());
    for (component, id) in registry.components.iter().zip(&ids) {
        assert_eq!(component.name, *id);
        assert_eq!(component.kind, corpus::registry::kind_for(id));
    }
}
