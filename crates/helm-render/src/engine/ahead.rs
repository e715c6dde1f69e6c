//! Templates parsed before a render asks for them. A packaged chart's templates come out of
//! the archive one by one while the rest of it is still being inflated, which on a large
//! chart takes as long as parsing them; `helm template` in the CLI parses them on a second
//! core meanwhile, and the render takes each template's parse from here when its name and
//! source are the ones parsed (anything else is parsed as usual).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::error::TemplateError;
use super::parse::{self, Resolver};
use super::program::Program;

/// A template's parse: its programs, or the error the render reports for it.
type Parse = Result<Vec<Program>, TemplateError>;

pub struct ParsedAhead {
    resolve: Resolver,
    by_name: Mutex<HashMap<String, (Arc<str>, Parse)>>,
}

impl Default for ParsedAhead {
    fn default() -> Self {
        Self::new()
    }
}

impl ParsedAhead {
    /// Parses as [`super::Templates::new`]'s sets do (Helm's function library).
    pub fn new() -> Self {
        ParsedAhead {
            resolve: parse::helm_resolver,
            by_name: Mutex::default(),
        }
    }

    /// Parses `source` as the template the render will call `name`.
    pub fn parse(&self, name: String, source: Arc<str>) {
        let parsed = super::compile(&name, &source, self.resolve);
        if let Ok(mut by_name) = self.by_name.lock() {
            by_name.insert(name, (source, parsed));
        }
    }

    /// The parse of `source` as `name` with `resolve`, if it is the one made here.
    pub(super) fn take(&self, name: &str, source: &str, resolve: Resolver) -> Option<Parse> {
        if self.resolve as usize != resolve as usize {
            return None;
        }
        let mut by_name = self.by_name.lock().ok()?;
        match by_name.get(name) {
            Some((parsed_source, _)) if **parsed_source == *source => {
                by_name.remove(name).map(|(_, parsed)| parsed)
            }
            _ => None,
        }
    }

    /// How many templates are parsed and not yet taken.
    pub fn len(&self) -> usize {
        self.by_name.lock().map_or(0, |by_name| by_name.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Templates;
    use crate::engine::funcs::{CallContext, OfflineLookup, SeededRandom};
    use crate::value::Value;

    fn run(templates: &Templates, name: &str) -> String {
        let mut random = SeededRandom::new(b"ahead");
        let mut ctx = CallContext::new(&OfflineLookup, &mut random);
        templates
            .execute(name, &Value::Nil, &mut ctx)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A parse made ahead is taken only for the name and the source it was made for, and
    /// only once; a template whose source changed since is parsed from its new source.
    #[test]
    fn a_parse_ahead_is_taken_for_its_name_and_source_only() {
        let ahead = ParsedAhead::new();
        ahead.parse("c/templates/a.yaml".into(), Arc::from("a: {{ 1 }}"));
        ahead.parse("c/templates/b.yaml".into(), Arc::from("b: {{ 2 }}"));
        let mut templates = Templates::new();
        templates
            .parse_many_with(
                &[
                    ("c/templates/a.yaml", "a: {{ 1 }}"),
                    ("c/templates/b.yaml", "b: {{ 3 }}"),
                ],
                Some(&ahead),
            )
            .unwrap_or_else(|(_, e)| panic!("{e}"));
        assert_eq!(run(&templates, "c/templates/a.yaml"), "a: 1");
        assert_eq!(
            run(&templates, "c/templates/b.yaml"),
            "b: 3",
            "its own source"
        );
        assert_eq!(ahead.len(), 1, "a taken; b's parse of another source left");
        assert!(
            ahead
                .take("c/templates/a.yaml", "a: {{ 1 }}", parse::helm_resolver)
                .is_none()
        );
        assert!(
            ahead
                .take("c/templates/b.yaml", "b: {{ 2 }}", parse::sprig_resolver)
                .is_none(),
            "parsed with other functions"
        );
    }

    /// A template that does not parse fails the render with the error its own parse gives,
    /// whether it was parsed ahead or not.
    #[test]
    fn a_parse_error_made_ahead_is_the_renders() {
        let broken = "{{ if }}";
        let ahead = ParsedAhead::new();
        ahead.parse("c/templates/x.yaml".into(), Arc::from(broken));
        let error = |ahead: Option<&ParsedAhead>| {
            Templates::new()
                .parse_many_with(&[("c/templates/x.yaml", broken)], ahead)
                .map_err(|(at, e)| (at, e.to_string()))
        };
        let without = error(None);
        assert!(without.is_err());
        assert_eq!(error(Some(&ahead)), without);
        assert!(ahead.is_empty());
    }
}
