//! Template errors, displayed exactly as Go's text/template words them, because Helm builds
//! its own messages by splitting Go's text (`template: FILE:LINE:COL: executing ...`).

use super::gofmt::go_quote;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A parse error; `message` is Go's complete text, `template: NAME:LINE: ...`.
    #[error("{message}")]
    Parse { message: String },
    /// Go's `ExecError`: an error while executing `template`, at `location` (`FILE:LINE:COL`)
    /// on the node printed as `context`.
    #[error(
        "template: {location}: executing {} at <{context}>: {message}",
        go_quote(template)
    )]
    Exec {
        template: String,
        location: String,
        context: String,
        message: String,
        /// The error of an `include`d or `tpl` template this one wraps, if any.
        cause: Option<Box<TemplateError>>,
    },
    /// `ExecuteTemplate` of a name the set does not define.
    #[error(
        "template: no template {} associated with template {}",
        go_quote(name),
        go_quote(parent)
    )]
    NoTemplate { name: String, parent: String },
}

impl TemplateError {
    /// Whether this is Go's `template.ExecError` (Helm post-processes only those).
    pub fn is_exec(&self) -> bool {
        matches!(self, TemplateError::Exec { .. })
    }
}
