//! Helm's `lookup` against the live cluster, read-only, reaching each kind through the
//! discovery cache ([`crate::discovery`]).

use std::sync::Arc;

use kube::api::{Api, DynamicObject, ListParams};
use kube::core::GroupVersionKind;

use crate::discovery::{Snapshot, split_api_version};
use helm_render::engine::funcs::Lookup;
use helm_render::value::{Map, Value};

/// The object as Helm's `lookup` returns it: unstructured JSON, whose integers are int64.
pub fn unstructured(json: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match json {
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        J::Array(a) => Value::list(a.iter().map(unstructured).collect()),
        J::Object(o) => Value::map(
            o.iter()
                .map(|(k, v)| (k.clone(), unstructured(v)))
                .collect(),
        ),
        other => Value::from_json(other),
    }
}

/// Helm's `lookup` against the live cluster, read-only. The template engine is synchronous,
/// so renders run on a blocking thread and each lookup blocks on the async client there.
pub struct LiveLookup {
    pub client: kube::Client,
    pub snapshot: Arc<Snapshot>,
    pub runtime: tokio::runtime::Handle,
}

impl Lookup for LiveLookup {
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, String> {
        let Some((ar, namespaced)) = self.snapshot.resolve(api_version, kind) else {
            let (group, version) = split_api_version(api_version);
            let gvk = GroupVersionKind::gvk(group, version, kind);
            return Err(format!(
                "unable to get apiresource from unstructured: {}/{}, Kind={}",
                gvk.group, gvk.version, gvk.kind
            ));
        };
        let api: Api<DynamicObject> = if namespaced && !namespace.is_empty() {
            Api::namespaced_with(self.client.clone(), namespace, &ar)
        } else {
            Api::all_with(self.client.clone(), &ar)
        };
        let result = self.runtime.block_on(async {
            if name.is_empty() {
                let list = api.list(&ListParams::default()).await?;
                let items: Vec<serde_json::Value> = list
                    .items
                    .iter()
                    .filter_map(|o| serde_json::to_value(o).ok())
                    .collect();
                Ok::<_, kube::Error>(Some(serde_json::json!({ "items": items })))
            } else {
                let found = api.get_opt(name).await?;
                Ok(found.and_then(|o| serde_json::to_value(o).ok()))
            }
        });
        match result {
            Ok(Some(json)) => Ok(unstructured(&json)),
            Ok(None) => Ok(Value::map(Map::new())),
            Err(e) => Err(e.to_string()),
        }
    }
}
