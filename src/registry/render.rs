//! The one path from a component stanza to rendered templates: values precedence
//! ([`component_values`]), Helm's preparation, schema validation, then the render. The webhook's
//! dry render, the reconciler, RBAC discovery and their tests all go through it, so a stanza
//! is judged the same way wherever it is read, and each failure keeps its type up to the caller
//! that words it (a denial, a status condition, a CLI error).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Component;
use super::values::{StanzaError, component_values};
use helm_render::engine::funcs::{Lookup, RandomSource};
use helm_render::manifest::{self, Manifest, ManifestError};
use helm_render::render::{Capabilities, Release, RenderError, Rendered, Renderer};
use helm_render::values::{Numbers, Prepared, Violation, schema_error_message, validate_with};

/// Why a stanza does not render. Display is the text the reconciler reports in status.
#[derive(Debug, thiserror::Error)]
pub enum ComponentRenderError {
    /// Features or values are malformed, or Helm's preparation refused them.
    #[error(transparent)]
    Stanza(#[from] StanzaError),
    /// The merged values break the schemas of the chart or of its enabled subcharts.
    /// `warnings` are preparation's (they are reported even when the values are refused).
    #[error("{}", schema_error_message(.violations))]
    Schema {
        violations: Vec<Violation>,
        warnings: Vec<String>,
    },
    /// The chart refused the values while rendering (`required`, `fail`, a template error).
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A template rendered into something that is not Kubernetes YAML.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// Where and with what a component is rendered. The caller owns the [`Renderer`] so that its
/// parsed template sets outlive one render.
pub struct RenderTarget<'a> {
    pub renderer: &'a Renderer,
    pub release: &'a Release,
    pub capabilities: &'a Arc<Capabilities>,
    pub lookup: &'a dyn Lookup,
}

/// A stanza rendered: the prepared chart (what planning needs: CRDs, dependency tree, warnings)
/// and each template's output.
#[derive(Debug)]
pub struct RenderedComponent {
    pub prepared: Prepared,
    pub rendered: Rendered,
}

impl RenderedComponent {
    /// The rendered Kubernetes objects, hooks included.
    pub fn manifests(&self) -> Result<Vec<Manifest>, ComponentRenderError> {
        Ok(manifest::parse(&self.rendered)?)
    }
}

impl Component {
    /// The stanza's values merged by precedence, prepared as Helm prepares them and checked
    /// against the schemas: everything before the render, which the webhook does alone when dry
    /// renders are off and the reconciler does before it spends a render seed. Messages spell
    /// numbers as the manifest wrote them (`70000`, as the API server would quote it), not with
    /// the thousands separators of Helm's CLI.
    pub fn checked_values(
        &self,
        features: &BTreeMap<String, serde_json::Value>,
        values: &serde_json::Value,
    ) -> Result<Prepared, ComponentRenderError> {
        let prepared = component_values(self, features, values)?;
        let violations = validate_with(&prepared, Numbers::AsWritten);
        if !violations.is_empty() {
            return Err(ComponentRenderError::Schema {
                violations,
                warnings: prepared.warnings,
            });
        }
        Ok(prepared)
    }

    /// Renders values that passed [`Component::checked_values`].
    pub fn render_checked(
        &self,
        prepared: Prepared,
        target: &RenderTarget<'_>,
        random: &mut dyn RandomSource,
    ) -> Result<RenderedComponent, ComponentRenderError> {
        let rendered = target.renderer.render(
            &prepared.chart,
            &prepared.values,
            target.release,
            target.capabilities,
            target.lookup,
            random,
        )?;
        Ok(RenderedComponent { prepared, rendered })
    }

    /// From a stanza's features and values to the component's rendered templates.
    pub fn render(
        &self,
        features: &BTreeMap<String, serde_json::Value>,
        values: &serde_json::Value,
        target: &RenderTarget<'_>,
        random: &mut dyn RandomSource,
    ) -> Result<RenderedComponent, ComponentRenderError> {
        let prepared = self.checked_values(features, values)?;
        self.render_checked(prepared, target, random)
    }
}
