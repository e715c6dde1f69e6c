//! A scratch component registry built from corpus charts, so that tests of the webhook and the
//! reconciler can register real third-party charts exactly as a platform team would: one
//! umbrella dependency, the packaged archive under `charts/` and a descriptor, no code.
//! The archives are copied into a temporary directory at test time, never into the repository.

use std::fmt::Write as _;
use std::path::Path;

use dsc_helm::registry::{self, Registry};

use super::corpus_dir;

/// `bitnami-redis` → `BitnamiRedis`: a kind that is unique per corpus id.
pub fn kind_for(id: &str) -> String {
    id.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Registers each corpus chart id as a component of the same name (the chart's dependency
/// aliased to the id) under `root`, and loads the registry from there.
pub fn corpus_registry(root: &Path, ids: &[&str]) -> Result<Registry, String> {
    let charts = root.join("charts");
    let components = root.join(registry::DESCRIPTOR_DIR);
    for dir in [&charts, &components] {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut umbrella =
        String::from("apiVersion: v2\nname: corpus-components\nversion: 0.0.1\ndependencies:\n");
    for id in ids {
        let archive = corpus_dir().join("charts").join(id).join("chart.tgz");
        let bytes = std::fs::read(&archive).map_err(|e| format!("{}: {e}", archive.display()))?;
        let chart = helm_render::chart::load_archive(&archive.display().to_string(), &bytes)
            .map_err(|e| e.to_string())?;
        let (name, version) = (chart.name().to_string(), chart.metadata.version.clone());
        let target = charts.join(format!("{name}-{version}.tgz"));
        std::fs::write(&target, &bytes).map_err(|e| format!("{}: {e}", target.display()))?;
        let _ = write!(
            umbrella,
            "  - name: {name}\n    version: \"{version}\"\n    alias: {id}\n"
        );
        let descriptor = format!(
            "dependency: {id}\nkind: {}\ndescription: corpus chart {id}\n",
            kind_for(id)
        );
        let file = components.join(format!("{id}.yaml"));
        std::fs::write(&file, descriptor).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    let file = root.join("Chart.yaml");
    std::fs::write(&file, umbrella).map_err(|e| format!("{}: {e}", file.display()))?;
    registry::load(root).map_err(|e| e.to_string())
}
