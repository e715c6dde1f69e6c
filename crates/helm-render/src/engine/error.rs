//! Template errors, displayed exactly as Go's text/template words them, because Helm builds
//! its own messages by splitting Go's text (`template: FILE:LINE:COL: executing ...`).

use crate::gofmt::go_quote;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A parse error; `message` is Go's complete text, `template: NAME:LINE: ...`.
    #[error("{message}")]
    Parse { message: String },
    /// Go's `ExecError`: an error while executing a template.
    #[error(transparent)]
    Exec(Box<ExecError>),
    /// `ExecuteTemplate` of a name the set does not define.
    #[error(
        "template: no template {} associated with template {}",
        go_quote(name),
        go_quote(parent)
    )]
    NoTemplate { name: String, parent: String },
}

/// An error while executing `template`, at `location` (`FILE:LINE:COL`) on the node printed
/// as `context`.
#[derive(Debug, thiserror::Error)]
#[error(
    "template: {location}: executing {} at <{context}>: {message}",
    go_quote(template)
)]
pub struct ExecError {
    pub template: String,
    pub location: String,
    pub context: String,
    /// Go's message, including the text of `cause` when there is one.
    pub message: String,
    /// The error of an `include`d or `tpl` template this one wraps, if any.
    pub cause: Option<Box<TemplateError>>,
}

impl TemplateError {
    /// Whether this is Go's `template.ExecError` (Helm post-processes only those).
    pub fn is_exec(&self) -> bool {
        matches!(self, TemplateError::Exec(_))
    }
}

/// Helm wraps the messages of `required` and `fail` in these markers, so that its error
/// cleanup can find the chart's own message inside Go's chain of wrapped execution errors.
pub(crate) const MESSAGE_START: &str = "HELM_ERR_START";
pub(crate) const MESSAGE_END: &str = "HELM_ERR_END";

/// `required`'s and `fail`'s error text: the message between Helm's markers.
pub(crate) fn marked_message(message: &str) -> String {
    format!("{MESSAGE_START}{message}{MESSAGE_END}")
}

/// An error's text as plain Go templates word it, outside Helm's engine: `fail`'s message
/// without Helm's markers (Sprig's own `fail` has none).
pub fn plain_template_message(err: &TemplateError) -> String {
    err.to_string()
        .replace(MESSAGE_START, "")
        .replace(MESSAGE_END, "")
}

/// How `helm template` reports a failed execution (Helm's `cleanupExecError`): when the chain
/// holds a `required`/`fail` message, `execution error at (FILE:LINE:COL): MESSAGE`, with the
/// location of the outermost template; any other error in Go's own words.
pub fn helm_exec_message(err: &TemplateError) -> String {
    let text = err.to_string();
    if !err.is_exec() {
        return text;
    }
    let mut tokens = text.splitn(3, ": ");
    let (Some(_), Some(location), Some(rest)) = (tokens.next(), tokens.next(), tokens.next())
    else {
        return text;
    };
    // Go's greedy `START((?s).*)END`: from the first start marker to the last end marker.
    let marked = rest.find(MESSAGE_START).and_then(|start| {
        let body = &rest[start + MESSAGE_START.len()..];
        body.rfind(MESSAGE_END).map(|end| &body[..end])
    });
    match marked {
        Some(message) => format!("execution error at ({location}): {message}"),
        None => execution_trace(&text).unwrap_or(text),
    }
}

/// One link of Helm 4's execution trace (`TraceableError`): where, in which template at which
/// node, and the message of that link alone.
#[derive(PartialEq)]
struct TraceLink<'a> {
    location: &'a str,
    executing: Option<(&'a str, &'a str)>,
    message: &'a str,
}

impl TraceLink<'_> {
    fn write(&self, out: &mut String) {
        if !self.location.is_empty() {
            out.push_str(self.location);
            out.push_str("\n  ");
        }
        if let Some((template, node)) = self.executing {
            out.push_str(&format!("executing \"{template}\" at <{node}>:\n    "));
        }
        if !self.message.is_empty() {
            out.push_str(self.message);
            out.push('\n');
        }
    }
}

/// Helm 4's `reformatExecErrorMsg`: an execution error whose chain of wrapped errors is all
/// template errors (a failure inside `include`d templates, or one plain execution error)
/// becomes one block per template, outermost first; any other link (a function's own error,
/// `tpl`'s wrapping) leaves Go's one-line text. Go walks `errors.Unwrap`; the chain is read
/// here from the text, where text/template puts each wrapped error after `error calling
/// NAME: `.
fn execution_trace(text: &str) -> Option<String> {
    let mut links: Vec<TraceLink<'_>> = Vec::new();
    let mut current = Some(text);
    while let Some(error) = current {
        let (link, wrapped) = trace_link(error)?;
        if links.last() != Some(&link) {
            links.push(link);
        }
        current = wrapped;
    }
    let mut out = String::new();
    for link in &links {
        link.write(&mut out);
    }
    Some(out.trim().to_string())
}

/// A link's own message: Helm cuts the text of the errors it wraps (`… template: …`) off.
fn first_link_message(message: &str) -> &str {
    match message.find(" template:") {
        Some(cut) => message.get(..cut).unwrap_or(message),
        None => message,
    }
}

/// Helm's `parseTemplateExecErrorString` of one error's text, and the text of the error it
/// wraps, if any.
fn trace_link(error: &str) -> Option<(TraceLink<'_>, Option<&str>)> {
    let rest = error.strip_prefix("template: ")?;
    if rest.starts_with("no template ") {
        let link = TraceLink {
            location: "",
            executing: None,
            message: error,
        };
        return Some((link, None));
    }
    if let Some((location, after)) = rest.split_once(": executing ") {
        let quoted = after.strip_prefix('"')?;
        let (template, after_template) = quoted.split_once('"')?;
        let after_at = after_template.strip_prefix(" at <")?;
        let (node, message) = after_at.split_once(">: ")?;
        let wrapped = message
            .strip_prefix("error calling ")
            .and_then(|call| call.split_once(": "))
            .map(|(_, inner)| inner);
        let link = TraceLink {
            location,
            executing: Some((template, node)),
            message: first_link_message(message),
        };
        return Some((link, wrapped));
    }
    let (location, message) = rest.rsplit_once(": ")?;
    let link = TraceLink {
        location,
        executing: None,
        message: first_link_message(message),
    };
    Some((link, None))
}

/// How `helm template` reports a template that does not parse (Helm's `cleanupParseError`):
/// the location and the last part of Go's message.
pub fn helm_parse_message(file: &str, err: &TemplateError) -> String {
    let text = err.to_string();
    let tokens: Vec<&str> = text.split(": ").collect();
    match (tokens.get(1), tokens.last()) {
        (Some(location), Some(last)) if tokens.len() > 1 => {
            format!("parse error at ({location}): {last}")
        }
        _ => format!("parse error in ({file}): {text}"),
    }
}
