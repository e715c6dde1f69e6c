//! Per-component seeds for the template random functions (NFR-002), kept in one Secret in the
//! operator namespace. A seed is created once and never rotated, so `randAlphaNum` and `genCA`
//! give the same password and certificate on every reconcile and after restarts.

use std::collections::BTreeMap;

use base64::Engine as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::sync::Mutex;

use super::ReconcileError;

pub const SECRET_NAME: &str = "dsc-helm-render-seeds";

/// Reads and creates seeds; remembers them, since a seed never changes once written.
pub struct Seeds {
    api: Api<Secret>,
    known: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl Seeds {
    pub fn new(client: kube::Client, namespace: &str) -> Seeds {
        Seeds {
            api: Api::namespaced(client, namespace),
            known: Mutex::new(BTreeMap::new()),
        }
    }

    /// The seed of `component`, creating it (and the Secret) the first time.
    pub async fn get(&self, component: &str) -> Result<Vec<u8>, ReconcileError> {
        let mut known = self.known.lock().await;
        if let Some(seed) = known.get(component) {
            return Ok(seed.clone());
        }
        for _ in 0..5 {
            let secret = self.api.get_opt(SECRET_NAME).await?;
            if let Some(seed) = secret
                .as_ref()
                .and_then(|s| s.data.as_ref())
                .and_then(|d| d.get(component))
            {
                known.insert(component.to_string(), seed.0.clone());
                return Ok(seed.0.clone());
            }
            let mut fresh = vec![0u8; 32];
            getrandom::fill(&mut fresh)?;
            let written = match secret {
                None => {
                    let s = Secret {
                        metadata: kube::api::ObjectMeta {
                            name: Some(SECRET_NAME.to_string()),
                            ..Default::default()
                        },
                        data: Some(BTreeMap::from([(
                            component.to_string(),
                            ByteString(fresh.clone()),
                        )])),
                        ..Default::default()
                    };
                    self.api
                        .create(&PostParams::default(), &s)
                        .await
                        .map(|_| ())
                }
                Some(existing) => {
                    // The resourceVersion makes a concurrent writer's seed win instead of ours.
                    let patch = json!({
                        "metadata": {"resourceVersion": existing.metadata.resource_version},
                        "data": {component: base64::engine::general_purpose::STANDARD.encode(&fresh)},
                    });
                    self.api
                        .patch(SECRET_NAME, &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                        .map(|_| ())
                }
            };
            match written {
                Ok(()) => {
                    known.insert(component.to_string(), fresh.clone());
                    return Ok(fresh);
                }
                Err(kube::Error::Api(e)) if e.code == 409 => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ReconcileError::SeedContended {
            component: component.to_string(),
        })
    }
}
