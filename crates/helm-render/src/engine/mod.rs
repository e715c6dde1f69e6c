//! Go's text/template, as Helm's engine runs it, with the Helm and Sprig function library.
//!
//! Our own implementation rather than a crate: byte-identical output with Helm depends on
//! details (map ranging order, `<no value>`, trim markers on comments, float printing, error
//! texts, bounded recursion) that the available Go-template crates get wrong.

mod ahead;
mod ast;
mod budget;
mod builtins;
mod error;
mod exec;
pub mod funcs;
mod lexer;
mod parse;
mod program;

use std::sync::Arc;

pub use ahead::ParsedAhead;
pub use budget::{Budget, DEFAULT_STEPS, Exhausted, ROUTINE_STEPS};
pub use error::{
    ExecError, TemplateError, helm_exec_message, helm_parse_message, plain_template_message,
};
pub use exec::{MAX_EXEC_DEPTH, MAX_INCLUDE_NESTING, ROOT_NAME};

use exec::{State, TreeSet};
use funcs::CallContext;
use parse::Resolver;

use crate::value::Value;

/// A text's own template followed by its definitions, flattened for execution.
fn compile(
    name: &str,
    source: &str,
    resolve: Resolver,
) -> Result<Vec<program::Program>, TemplateError> {
    let trees = parse::parse(name, source, resolve)?;
    Ok(trees.into_iter().map(program::Program::from_tree).collect())
}

/// A set of parsed templates, like Go's `*template.Template` with its associates. Parsed
/// once, then executed concurrently from many threads.
pub struct Templates {
    trees: TreeSet,
    resolve: Resolver,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    /// A set whose templates may call Go's builtins, Helm's `include`/`tpl` and the
    /// Sprig/Helm function library.
    pub fn new() -> Self {
        Templates {
            trees: TreeSet::default(),
            resolve: parse::helm_resolver,
        }
    }

    /// Parses `source` as the template called `name`; its `{{define}}`s and `{{block}}`s join
    /// the set. A later definition of a name replaces an earlier one, except that a body of
    /// only spaces and comments never replaces an existing one (Go's rule, which Helm's
    /// parse order relies on).
    pub fn parse(&mut self, name: &str, source: &str) -> Result<(), TemplateError> {
        let programs = compile(name, source, self.resolve)?;
        self.add(programs);
        Ok(())
    }

    /// [`Templates::parse`] of each `(name, source)` in turn, with the texts parsed side by
    /// side on the machine's cores: parsing is most of a chart's render, and each text parses
    /// on its own. The set is then built in the given order, so definitions replace each
    /// other as in turn, and a failure is the first text's that fails, with its index.
    pub fn parse_many(&mut self, texts: &[(&str, &str)]) -> Result<(), (usize, TemplateError)> {
        self.parse_many_with(texts, None)
    }

    /// [`Templates::parse_many`], taking what `ahead` parsed already from there.
    pub fn parse_many_with(
        &mut self,
        texts: &[(&str, &str)],
        ahead: Option<&ParsedAhead>,
    ) -> Result<(), (usize, TemplateError)> {
        let resolve = self.resolve;
        let bytes = texts.iter().map(|(_, source)| source.len()).sum();
        let compiled = crate::par::map_in_order(texts, bytes, |(name, source)| {
            ahead
                .and_then(|ahead| ahead.take(name, source, resolve))
                .unwrap_or_else(|| compile(name, source, resolve))
        });
        for (i, programs) in compiled.into_iter().enumerate() {
            self.add(programs.map_err(|e| (i, e))?);
        }
        Ok(())
    }

    fn add(&mut self, programs: Vec<program::Program>) {
        for program in programs {
            if program.is_empty && self.trees.contains_key(program.name.as_ref()) {
                continue;
            }
            self.trees.insert(program.name.clone(), Arc::new(program));
        }
    }

    /// A set whose templates may call Go's builtins and Sprig's functions only, without
    /// Helm's additions (`include`, `toYaml`, …): a Go template outside Helm's engine, as
    /// `--name-template` is.
    pub fn sprig_only() -> Self {
        Templates {
            trees: TreeSet::default(),
            resolve: parse::sprig_resolver,
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// Executes template `name` with `data` as dot (and as `$`).
    pub fn execute(
        &self,
        name: &str,
        data: &Value,
        ctx: &mut CallContext<'_>,
    ) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut state = State::new(&self.trees, self.resolve, ctx);
        state
            .execute_template(name, data.clone(), &mut out)
            .map_err(|e| *e)?;
        Ok(out)
    }

    /// Like [`Templates::execute`], for templates that share one data map as Helm's do: all
    /// templates of a chart get the same map, so a template that changes it in place
    /// (`set $ "Values" ...`, as Istio's charts do in a template that runs first) changes it for
    /// the templates executed after it.
    pub fn execute_shared(
        &self,
        name: &str,
        data: &Value,
        ctx: &mut CallContext<'_>,
    ) -> Result<String, TemplateError> {
        let mut out = String::new();
        self.session(ctx).execute_shared(name, data, &mut out)?;
        Ok(out)
    }

    /// For executing many templates in turn, as a chart's render does, within the default
    /// [`Budget`].
    pub fn session<'t, 'c, 'x>(&'t self, ctx: &'c mut CallContext<'x>) -> Session<'t, 'c, 'x> {
        self.session_within(ctx, Budget::default())
    }

    /// [`Templates::session`] with every template it runs drawing on one `budget`.
    pub fn session_within<'t, 'c, 'x>(
        &'t self,
        ctx: &'c mut CallContext<'x>,
        budget: Budget,
    ) -> Session<'t, 'c, 'x> {
        Session {
            state: State::new(&self.trees, self.resolve, ctx).within(budget),
        }
    }

    /// A set resolving functions with `resolve` instead of the full library (tests use it to
    /// run the engine on builtins and a few stand-in functions).
    #[cfg(test)]
    fn with_resolver(resolve: Resolver) -> Self {
        Templates {
            trees: TreeSet::default(),
            resolve,
        }
    }
}

/// Templates executed one after another with the same functions and lookups. The executor's
/// working memory (argument vectors, include buffers, counters) is kept from one template to
/// the next: a large chart runs hundreds of templates per render.
pub struct Session<'t, 'c, 'x> {
    state: State<'t, 'c, 'x>,
}

impl Session<'_, '_, '_> {
    /// [`Templates::execute_shared`], appending the output to `out`.
    pub fn execute_shared(
        &mut self,
        name: &str,
        data: &Value,
        out: &mut String,
    ) -> Result<(), TemplateError> {
        self.state.reset();
        self.state
            .execute_template(name, data.clone(), out)
            .map_err(|e| *e)
    }

    /// What of the session's budget ran out, if anything did: an error after that is the
    /// budget's, whichever template it names, and more budget could render what failed.
    pub fn ran_out(&self) -> Option<Exhausted> {
        self.state.ran_out()
    }
}

/// Helm's post-processing of template output: every `<no value>` (Go's print of a missing
/// value) removed. Most outputs have none, so the text is searched first (memchr's vectorised
/// search; a large chart renders hundreds of kilobytes) and only copied when one is found.
pub fn strip_no_value(text: String) -> String {
    const NO_VALUE: &[u8] = b"<no value>";
    if memchr::memmem::find(text.as_bytes(), NO_VALUE).is_none() {
        return text;
    }
    text.replace("<no value>", "")
}

#[cfg(test)]
fn builtin_resolver(name: &str) -> Option<ast::Func> {
    use ast::Func;
    match name {
        "include" => Some(Func::Include),
        "tpl" => Some(Func::Tpl),
        _ => ast::Builtin::from_name(name).map(Func::Builtin),
    }
}

#[cfg(test)]
mod tests;
