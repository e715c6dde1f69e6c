//! Execution of parsed templates with Go's semantics: `missingkey=zero` map lookups, Go's
//! nil/interface distinctions (which decide between `<no value>` and a nil-pointer error),
//! variable scopes, short-circuit `and`/`or`, and Helm's `include`/`tpl` with its recursion
//! limit. Values are shared, never deep-copied: a field read clones an `Arc`, and a map is a
//! reference, so what `set` changes every holder of the map sees (see [`crate::value::MapRef`]).

use std::fmt::Write as _;
use std::sync::{Arc, LazyLock, Mutex};

use foldhash::HashMap as FastMap;

use super::ast::{Builtin, Func, Number};
use super::budget::{Budget, Exhausted, Fuel};
use super::builtins;
use super::error::{ExecError, TemplateError};
use super::funcs::CallContext;
use super::parse::{self, Resolver};
use super::program::{
    Arg, ArgKind, Branch, Command, Node, Pipe, Program, Span, TemplateCall, Variable,
};
use crate::gofmt::{format_float_g, format_value, go_quote, go_type, sprint, sprintf, sprintln};
use crate::value::{Map, MapRead, Value};

/// Go's `maxExecDepth`: how deeply templates may invoke templates.
pub const MAX_EXEC_DEPTH: usize = 100_000;
/// Helm's `recursionMaxNums`: how many nested `include`s of one name may run at once.
pub const MAX_INCLUDE_NESTING: usize = 1000;
/// The name Helm gives its root template, which `include`'s "no template" error names and
/// which `tpl` gives the text it parses.
pub const ROOT_NAME: &str = "gotpl";

const RED_ZONE: usize = 128 * 1024;
const STACK_SEGMENT: usize = 4 * 1024 * 1024;

/// A value with Go's static-type memory: `boxed` values were read from a map, slice or range
/// element, i.e. are Go `interface{}` values. A nil one is a nil interface (an error when a
/// field is read from it); an unboxed nil is Go's invalid value (field reads give nil).
#[derive(Clone)]
struct Dot {
    v: Value,
    boxed: bool,
}

impl Dot {
    fn plain(v: Value) -> Dot {
        Dot { v, boxed: false }
    }
}

enum Flow {
    Normal,
    Break,
    Continue,
}

/// A set of template trees, looked up by name.
pub type TreeSet = FastMap<Arc<str>, Arc<Program>>;

/// What the template executions of one [`super::Session`] (or one `Templates::execute` call)
/// share.
pub struct State<'s, 'c, 'x> {
    base: &'s TreeSet,
    resolve: Resolver,
    ctx: &'c mut CallContext<'x>,
    /// Template sets parsed by enclosing `tpl` calls; searched innermost first.
    overlays: Vec<TreeSet>,
    includes: FastMap<String, usize>,
    depth: usize,
    /// Argument vectors and output buffers kept for reuse: calls and includes are frequent.
    arg_pool: Vec<Vec<Value>>,
    buf_pool: Vec<String>,
    /// Shared by every template the state runs: the budget is the render's.
    fuel: Fuel,
}

impl<'s, 'c, 'x> State<'s, 'c, 'x> {
    pub fn new(base: &'s TreeSet, resolve: Resolver, ctx: &'c mut CallContext<'x>) -> Self {
        State {
            base,
            resolve,
            ctx,
            overlays: Vec::new(),
            includes: FastMap::default(),
            depth: 0,
            arg_pool: Vec::new(),
            buf_pool: Vec::new(),
            fuel: Fuel::new(Budget::default()),
        }
    }

    pub fn within(mut self, budget: Budget) -> Self {
        self.fuel = Fuel::new(budget);
        self
    }

    /// What of the budget ran out, if anything did.
    pub fn ran_out(&self) -> Option<Exhausted> {
        self.fuel.ran_out()
    }

    /// Ready for the next top-level template, while the pools and the include counters'
    /// names stay for reuse.
    pub fn reset(&mut self) {
        self.overlays.clear();
        for count in self.includes.values_mut() {
            *count = 0;
        }
        self.depth = 0;
    }

    fn lookup(&self, name: &str) -> Option<Arc<Program>> {
        for set in self.overlays.iter().rev() {
            if let Some(t) = set.get(name) {
                return Some(t.clone());
            }
        }
        self.base.get(name).cloned()
    }

    /// Go's `ExecuteTemplate`: runs `name` with `data` as dot and `$`.
    pub fn execute_template(&mut self, name: &str, data: Value, out: &mut String) -> R<()> {
        let tree = self.lookup(name).ok_or_else(|| {
            Box::new(TemplateError::NoTemplate {
                name: name.to_string(),
                parent: ROOT_NAME.to_string(),
            })
        })?;
        self.run_tree(&tree, Dot::plain(data), out)
    }

    fn run_tree(&mut self, tree: &Program, dot: Dot, out: &mut String) -> R<()> {
        let mut ex = Exec {
            st: self,
            tree,
            vars: vec![("$", dot.clone())],
        };
        ex.walk(&dot, tree.root(), out).map(|_| ())
    }
}

struct Exec<'e, 's, 'c, 'x> {
    st: &'e mut State<'s, 'c, 'x>,
    tree: &'e Program,
    vars: Vec<(&'e str, Dot)>,
}

/// The node an error is reported at, printed lazily like Go's `Node.String`.
enum At<'a> {
    /// No node: Go reports the node it visited last, which only happens for pipeline-final
    /// arguments to typed parameters; the template's start stands in.
    None,
    Arg(&'a Arg),
    Cmd(&'a Command),
    Pipe(&'a Pipe),
    Var(&'a Variable),
    Template(&'a TemplateCall),
}

impl At<'_> {
    fn pos(&self) -> u32 {
        match self {
            At::None => 0,
            At::Arg(a) => a.pos,
            At::Cmd(c) => c.pos,
            At::Pipe(p) => p.pos,
            At::Var(v) => v.pos,
            At::Template(t) => t.pos,
        }
    }

    fn context(&self, program: &Program) -> String {
        match self {
            At::None => String::new(),
            At::Arg(a) => program.show_arg(a),
            At::Cmd(c) => program.show_cmd(c),
            At::Pipe(p) => program.show_pipe(p),
            At::Var(v) => program.show_var(v),
            At::Template(t) => program.show_call(t),
        }
    }
}

/// Errors of Go's argument conversion (`validateType`) are not wrapped in "error calling".
fn is_conversion_error(msg: &str) -> bool {
    msg.starts_with("wrong type for value;")
        || msg.starts_with("invalid value; expected")
        || msg.starts_with("wrong number of args for ")
}

/// Errors travel boxed: they are rare, and a small `Result` keeps the hot paths fast.
pub type R<T> = Result<T, Box<TemplateError>>;

impl<'e> Exec<'e, '_, '_, '_> {
    fn error(&self, at: &At<'_>, message: impl Into<String>) -> Box<TemplateError> {
        Box::new(TemplateError::Exec(Box::new(ExecError {
            template: self.tree.name.to_string(),
            location: self.tree.location(at.pos()),
            context: at.context(self.tree),
            message: message.into(),
            cause: None,
        })))
    }

    fn error_caused(
        &self,
        at: &At<'_>,
        message: String,
        cause: Box<TemplateError>,
    ) -> Box<TemplateError> {
        Box::new(TemplateError::Exec(Box::new(ExecError {
            template: self.tree.name.to_string(),
            location: self.tree.location(at.pos()),
            context: at.context(self.tree),
            message,
            cause: Some(cause),
        })))
    }

    /// Walks `nodes` with `dot`.
    fn walk(&mut self, dot: &Dot, nodes: &'e [Node], out: &mut String) -> R<Flow> {
        for node in nodes {
            if let Err(exhausted) = self.st.fuel.burn() {
                return Err(self.error(&At::None, exhausted.to_string()));
            }
            let flow = match node {
                Node::Text { start, end } => {
                    out.push_str(self.tree.text_of(*start, *end));
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let pipe = self.tree.pipe(*pipe);
                    if !self.print_in_place(dot, pipe, out) {
                        let v = self.eval_pipeline(dot, pipe)?;
                        if pipe.decl.is_empty() {
                            print_value(out, &v.v);
                        }
                    }
                    Flow::Normal
                }
                Node::If(b) => grow(|| self.walk_if_with(false, dot, self.tree.branch(*b), out))?,
                Node::With(b) => grow(|| self.walk_if_with(true, dot, self.tree.branch(*b), out))?,
                Node::Range(b) => grow(|| self.walk_range(dot, self.tree.branch(*b), out))?,
                Node::Template(t) => {
                    self.walk_template(dot, self.tree.call(*t), out)?;
                    Flow::Normal
                }
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    /// Prints the commonest actions, a string literal (`{{ "{{" }}` in charts that emit
    /// templates of their own) or a chain of map fields (`{{ .Values.a.b }}`, `{{ $x.y }}`),
    /// straight from where the value lies, without taking a share of it. False when the
    /// action is anything else, for [`Exec::eval_pipeline`] to run.
    fn print_in_place(&self, dot: &Dot, pipe: &'e Pipe, out: &mut String) -> bool {
        if !pipe.decl.is_empty() {
            return false;
        }
        let [cmd] = self.tree.cmds(pipe) else {
            return false;
        };
        let [arg] = self.tree.args(cmd) else {
            return false;
        };
        let (base, fields) = match arg.kind {
            ArgKind::String(s) => {
                print_value(out, self.tree.literal(s));
                return true;
            }
            ArgKind::Field(ident) => (&dot.v, self.tree.idents(ident)),
            ArgKind::Variable(v) => {
                let var = self.tree.variable(v);
                match self.slot(var) {
                    Some(slot) => (&slot.v, self.tree.var_fields(var)),
                    None => return false,
                }
            }
            _ => return false,
        };
        walk_maps(self.tree, base, false, fields, 0, &mut |v, _, walked| {
            if walked < fields.len() {
                return false;
            }
            print_value(out, v);
            true
        })
    }

    fn walk_if_with(&mut self, with: bool, dot: &Dot, b: &'e Branch, out: &mut String) -> R<Flow> {
        let mark = self.vars.len();
        let r = (|| {
            let val = self.eval_pipeline(dot, self.tree.pipe(b.pipe))?;
            let list = self.tree.nodes(b.list);
            if val.v.is_truthy() {
                if with {
                    self.walk(&val, list, out)
                } else {
                    self.walk(dot, list, out)
                }
            } else if let Some(el) = b.else_list {
                self.walk(dot, self.tree.nodes(el), out)
            } else {
                Ok(Flow::Normal)
            }
        })();
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Dot, b: &'e Branch, out: &mut String) -> R<Flow> {
        let mark = self.vars.len();
        let r = self.walk_range_inner(dot, b, out);
        self.vars.truncate(mark);
        r.map(|flow| match flow {
            Flow::Break | Flow::Continue | Flow::Normal => Flow::Normal,
        })
    }

    fn walk_range_inner(&mut self, dot: &Dot, b: &'e Branch, out: &mut String) -> R<Flow> {
        let pipe = self.tree.pipe(b.pipe);
        let val = self.eval_pipeline(dot, pipe)?;
        let inner_mark = self.vars.len();
        let mut iterated = false;
        let seq = builtins::slice_object(&val.v);
        match seq.as_ref().unwrap_or(&val.v) {
            Value::List(items) => {
                for (i, e) in items.iter().enumerate() {
                    iterated = true;
                    let elem = Dot {
                        v: e.clone(),
                        boxed: true,
                    };
                    if self.one_iteration(
                        b,
                        Dot::plain(Value::Int(i as i64)),
                        elem,
                        inner_mark,
                        out,
                    )? {
                        break;
                    }
                }
            }
            // Go sorts the entries, values included, before the first turn (fmtsort), so a
            // body that changes the map does not change what later turns see. An unchanged
            // map's entries never change, so they are read in place; a changed one is copied.
            Value::Map(m) => {
                let snapshot;
                let entries = match m.read() {
                    MapRead::Unchanged(map) => map,
                    MapRead::Changed(map) => {
                        snapshot = map.clone();
                        &snapshot
                    }
                };
                for (k, e) in entries.iter() {
                    iterated = true;
                    let elem = Dot {
                        v: e.clone(),
                        boxed: true,
                    };
                    if self.one_iteration(b, Dot::plain(Value::str(k)), elem, inner_mark, out)? {
                        break;
                    }
                }
            }
            Value::Int(n) => {
                if pipe.decl.len() > 1 {
                    let at = self.last_at(pipe);
                    return Err(self.error(
                        &at,
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                for i in 0..*n {
                    iterated = true;
                    let v = Dot::plain(Value::Int(i));
                    if self.one_iteration(b, v.clone(), v, inner_mark, out)? {
                        break;
                    }
                }
            }
            Value::Nil => {}
            other => {
                let at = self.last_at(pipe);
                return Err(self.error(
                    &at,
                    format!("range can't iterate over {}", format_value(other)),
                ));
            }
        }
        if !iterated && let Some(el) = b.else_list {
            return self.walk(dot, self.tree.nodes(el), out);
        }
        Ok(Flow::Normal)
    }

    /// One pass of a range body; returns whether a `break` ended the loop.
    fn one_iteration(
        &mut self,
        b: &'e Branch,
        index: Dot,
        elem: Dot,
        mark: usize,
        out: &mut String,
    ) -> R<bool> {
        // An empty body walks no node, yet a range over a huge list must still spend.
        if let Err(exhausted) = self.st.fuel.burn() {
            return Err(self.error(&At::Pipe(self.tree.pipe(b.pipe)), exhausted.to_string()));
        }
        let pipe = self.tree.pipe(b.pipe);
        let decl = self.tree.decl(pipe);
        if let Some(first) = decl.first() {
            if pipe.is_assign {
                let v = if decl.len() > 1 {
                    index.clone()
                } else {
                    elem.clone()
                };
                self.set_var(first, v)?;
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if let Some(second) = decl.get(1) {
            if pipe.is_assign {
                self.set_var(second, elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let flow = self.walk(&elem, self.tree.nodes(b.list), out);
        self.vars.truncate(mark);
        Ok(matches!(flow?, Flow::Break))
    }

    fn set_top_var(&mut self, n: usize, v: Dot) {
        let len = self.vars.len();
        if let Some(slot) = len.checked_sub(n).and_then(|i| self.vars.get_mut(i)) {
            slot.1 = v;
        }
    }

    fn set_var(&mut self, var: &'e Variable, v: Dot) -> R<()> {
        let name = self.tree.var_name(var);
        for slot in self.vars.iter_mut().rev() {
            if slot.0 == name {
                slot.1 = v;
                return Ok(());
            }
        }
        Err(self.error(&At::Var(var), format!("undefined variable: {name}")))
    }

    /// The innermost variable of `var`'s name in scope.
    fn slot(&self, var: &Variable) -> Option<&Dot> {
        let name = self.tree.var_name(var);
        self.vars
            .iter()
            .rev()
            .find(|slot| slot.0 == name)
            .map(|slot| &slot.1)
    }

    fn var_value(&self, var: &Variable) -> R<Dot> {
        let Some(slot) = self.slot(var) else {
            let name = self.tree.var_name(var);
            return Err(self.error(&At::Var(var), format!("undefined variable: {name}")));
        };
        Ok(slot.clone())
    }

    fn walk_template(&mut self, dot: &Dot, t: &'e TemplateCall, out: &mut String) -> R<()> {
        let name = self.tree.call_name(t);
        let Some(tree) = self.st.lookup(name) else {
            return Err(self.error(
                &At::Template(t),
                format!("template {} not defined", go_quote(name)),
            ));
        };
        if self.st.depth >= MAX_EXEC_DEPTH {
            return Err(self.error(
                &At::Template(t),
                format!("exceeded maximum template depth ({MAX_EXEC_DEPTH})"),
            ));
        }
        let new_dot = match t.pipe {
            Some(p) => self.eval_pipeline(dot, self.tree.pipe(p))?,
            None => Dot::plain(Value::Nil),
        };
        self.st.depth += 1;
        let r = grow(|| self.st.run_tree(&tree, new_dot, out));
        self.st.depth -= 1;
        r
    }

    fn eval_pipeline(&mut self, dot: &Dot, pipe: &'e Pipe) -> R<Dot> {
        let mut value: Option<Dot> = None;
        for cmd in self.tree.cmds(pipe) {
            let mut v = self.eval_command(dot, cmd, value.take())?;
            v.boxed = false;
            value = Some(v);
        }
        let value = value.unwrap_or_else(|| Dot::plain(Value::Nil));
        for var in self.tree.decl(pipe) {
            if pipe.is_assign {
                self.set_var(var, value.clone())?;
            } else {
                let name: &'e str = self.tree.var_name(var);
                self.vars.push((name, value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, cmd: &'e Command, final_: &Option<Dot>) -> R<()> {
        let args = self.tree.args(cmd);
        if (args.len() > 1 || final_.is_some())
            && let Some(first) = args.first()
        {
            return Err(self.error(
                &At::Arg(first),
                format!(
                    "can't give argument to non-function {}",
                    self.tree.show_arg(first)
                ),
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Dot, cmd: &'e Command, final_: Option<Dot>) -> R<Dot> {
        let args = self.tree.args(cmd);
        let Some(first) = args.first() else {
            return Ok(Dot::plain(Value::Nil));
        };
        match first.kind {
            ArgKind::Field(ident) => {
                self.eval_field_chain(dot, dot, first, self.tree.idents(ident), args, final_)
            }
            ArgKind::Chain(c) => {
                let chain = self.tree.chain(c);
                let receiver = self.eval_chain_receiver(dot, first, self.tree.arg(chain.node))?;
                let field = self.tree.idents(chain.field);
                self.eval_field_chain(dot, &receiver, first, field, args, final_)
            }
            ArgKind::Identifier(f) => {
                let callee = self.tree.callee(f);
                let name = self.tree.callee_name(callee);
                self.eval_function(dot, first, name, callee.func, &At::Cmd(cmd), args, final_)
            }
            ArgKind::Pipe(p) => {
                self.not_a_function(cmd, &final_)?;
                grow(|| self.eval_pipeline(dot, self.tree.pipe(p)))
            }
            ArgKind::Variable(v) => {
                self.eval_variable(dot, self.tree.variable(v), first, args, final_)
            }
            _ => {
                self.not_a_function(cmd, &final_)?;
                self.eval_literal(dot, first)
            }
        }
    }

    fn eval_literal(&self, dot: &Dot, arg: &Arg) -> R<Dot> {
        Ok(Dot::plain(match arg.kind {
            ArgKind::Bool(b) => Value::Bool(b),
            ArgKind::Dot => return Ok(dot.clone()),
            ArgKind::Nil => return Err(self.error(&At::Arg(arg), "nil is not a command")),
            ArgKind::Number(n) => match self.tree.number(n) {
                (Number::Int(i), _) => Value::Int(i),
                (Number::Float(f), _) => Value::Float(f),
                (Number::Overflow, text) => {
                    return Err(self.error(&At::Arg(arg), format!("{text} overflows int")));
                }
            },
            ArgKind::String(s) => self.tree.literal(s).clone(),
            _ => {
                return Err(self.error(
                    &At::Arg(arg),
                    format!(
                        "can't evaluate command {}",
                        go_quote(&self.tree.show_arg(arg))
                    ),
                ));
            }
        }))
    }

    fn eval_chain_receiver(&mut self, dot: &Dot, chain: &'e Arg, node: &'e Arg) -> R<Dot> {
        if let ArgKind::Nil = node.kind {
            return Err(self.error(
                &At::Arg(chain),
                format!(
                    "indirection through explicit nil in {}",
                    self.tree.show_arg(chain)
                ),
            ));
        }
        let mut v = self.eval_arg(dot, node)?;
        v.boxed = false;
        Ok(v)
    }

    fn eval_variable(
        &mut self,
        dot: &Dot,
        var: &'e Variable,
        node: &'e Arg,
        args: &'e [Arg],
        final_: Option<Dot>,
    ) -> R<Dot> {
        let rest = self.tree.var_fields(var);
        if !rest.is_empty()
            && let Some(slot) = self.slot(var)
        {
            let has_args = args.len() > 1 || final_.is_some();
            let (partial, walked) = walk_fields(self.tree, slot, rest, has_args);
            if walked == rest.len() {
                return Ok(partial);
            }
            return self.eval_field_chain(dot, &partial, node, &rest[walked..], args, final_);
        }
        let value = self.var_value(var)?;
        if rest.is_empty() {
            if args.len() > 1 || final_.is_some() {
                return Err(self.error(
                    &At::Arg(node),
                    format!(
                        "can't give argument to non-function {}",
                        self.tree.show_arg(node)
                    ),
                ));
            }
            return Ok(value);
        }
        self.eval_field_chain(dot, &value, node, rest, args, final_)
    }

    /// Reads the fields `ident` from `receiver`. The maps along the chain are walked by
    /// reference and only the value reached is cloned; objects, methods and errors take the
    /// general path field by field.
    fn eval_field_chain(
        &mut self,
        dot: &Dot,
        receiver: &Dot,
        node: &'e Arg,
        ident: &'e [Span],
        args: &'e [Arg],
        final_: Option<Dot>,
    ) -> R<Dot> {
        let Some(&last) = ident.last() else {
            return Ok(receiver.clone());
        };
        let has_args = args.len() > 1 || final_.is_some();
        let (mut receiver, walked) = walk_fields(self.tree, receiver, ident, has_args);
        if walked == ident.len() {
            return Ok(receiver);
        }
        // Go reports field errors at the node it visited last: for `(pipe).x` that is the
        // pipeline's last operand, otherwise the field or variable itself.
        let at = match node.kind {
            ArgKind::Chain(c) => self.last_at_arg(self.tree.arg(self.tree.chain(c).node)),
            _ => At::Arg(node),
        };
        for &name in &ident[walked..ident.len() - 1] {
            let name = self.tree.name(name);
            receiver = self.eval_field(dot, name, node, &at, &[], None, receiver)?;
        }
        let last = self.tree.name(last);
        self.eval_field(dot, last, node, &at, args, final_, receiver)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field(
        &mut self,
        dot: &Dot,
        name: &str,
        node: &'e Arg,
        at: &At<'e>,
        args: &'e [Arg],
        final_: Option<Dot>,
        receiver: Dot,
    ) -> R<Dot> {
        let has_args = args.len() > 1 || final_.is_some();
        match &receiver.v {
            Value::Nil => {
                if receiver.boxed {
                    Err(self.error(at, format!("nil pointer evaluating interface {{}}.{name}")))
                } else {
                    Ok(Dot::plain(Value::Nil))
                }
            }
            Value::Map(m) => {
                if has_args {
                    return Err(self.error(at, format!("{name} is not a method but has arguments")));
                }
                let v = m.read().get(name).cloned().unwrap_or(Value::Nil);
                Ok(Dot { v, boxed: true })
            }
            Value::Object(o) => {
                let o = o.clone();
                if has_args {
                    let argv = self.eval_args(dot, args.get(1..).unwrap_or(&[]), final_)?;
                    return match o.call(name, &argv) {
                        Some(Ok(v)) => Ok(Dot::plain(v)),
                        Some(Err(e)) => {
                            Err(self.error(&At::Arg(node), format!("error calling {name}: {e}")))
                        }
                        None if o.field(name).is_some() => Err(self.error(
                            at,
                            format!("{name} has arguments but cannot be invoked as function"),
                        )),
                        None => Err(self.error(
                            at,
                            format!("can't evaluate field {name} in type {}", o.type_name()),
                        )),
                    };
                }
                if let Some(v) = o.field(name) {
                    return Ok(Dot::plain(v));
                }
                match o.call(name, &[]) {
                    Some(Ok(v)) => Ok(Dot::plain(v)),
                    Some(Err(e)) => {
                        Err(self.error(&At::Arg(node), format!("error calling {name}: {e}")))
                    }
                    None => Err(self.error(
                        at,
                        format!("can't evaluate field {name} in type {}", o.type_name()),
                    )),
                }
            }
            other => {
                let typ = if receiver.boxed {
                    "interface {}".to_string()
                } else {
                    go_type(other)
                };
                Err(self.error(at, format!("can't evaluate field {name} in type {typ}")))
            }
        }
    }

    /// Evaluates call arguments (all of them, before the call, as Go does) plus the pipeline's
    /// final value.
    fn eval_args(&mut self, dot: &Dot, args: &'e [Arg], final_: Option<Dot>) -> R<Vec<Value>> {
        let mut argv = self.st.arg_pool.pop().unwrap_or_default();
        for a in args {
            argv.push(self.eval_arg(dot, a)?.v);
        }
        if let Some(f) = final_ {
            argv.push(f.v);
        }
        Ok(argv)
    }

    fn eval_arg(&mut self, dot: &Dot, arg: &'e Arg) -> R<Dot> {
        match arg.kind {
            ArgKind::Dot => Ok(dot.clone()),
            ArgKind::Nil => Ok(Dot::plain(Value::Nil)),
            ArgKind::Field(ident) => {
                let ident = self.tree.idents(ident);
                self.eval_field_chain(dot, dot, arg, ident, std::slice::from_ref(arg), None)
            }
            ArgKind::Variable(v) => self.eval_variable(dot, self.tree.variable(v), arg, &[], None),
            ArgKind::Pipe(p) => grow(|| self.eval_pipeline(dot, self.tree.pipe(p))),
            ArgKind::Identifier(f) => {
                let callee = self.tree.callee(f);
                let name = self.tree.callee_name(callee);
                self.eval_function(dot, arg, name, callee.func, &At::Arg(arg), &[], None)
            }
            ArgKind::Chain(c) => {
                let chain = self.tree.chain(c);
                let receiver = self.eval_chain_receiver(dot, arg, self.tree.arg(chain.node))?;
                let field = self.tree.idents(chain.field);
                self.eval_field_chain(dot, &receiver, arg, field, &[], None)
            }
            ArgKind::Bool(_) | ArgKind::Number(_) | ArgKind::String(_) => {
                self.eval_literal(dot, arg)
            }
        }
    }

    /// `args` includes the function's own node first, as Go's command args do.
    #[allow(clippy::too_many_arguments)]
    fn eval_function(
        &mut self,
        dot: &Dot,
        ident: &'e Arg,
        name: &str,
        func: Func,
        at: &At<'e>,
        args: &'e [Arg],
        final_: Option<Dot>,
    ) -> R<Dot> {
        let params = args.get(1..).unwrap_or(&[]);
        let num_in = params.len() + usize::from(final_.is_some());
        match func {
            Func::Builtin(b) => self.eval_builtin(dot, ident, name, b, at, params, final_, num_in),
            Func::External(f) => {
                let mut argv = self.st.arg_pool.pop().unwrap_or_default();
                let mut boxed_nils = 0u64;
                let mut unboxed_nils = 0u64;
                for (i, p) in params.iter().enumerate() {
                    let d = match self.eval_arg(dot, p) {
                        Ok(d) => d,
                        Err(e) => {
                            argv.clear();
                            self.st.arg_pool.push(argv);
                            return Err(e);
                        }
                    };
                    if d.v.is_nil() && i < 64 {
                        if d.boxed {
                            boxed_nils |= 1 << i;
                        } else {
                            unboxed_nils |= 1 << i;
                        }
                    }
                    argv.push(d.v);
                }
                if let Some(fv) = final_ {
                    argv.push(fv.v);
                }
                let mut r = f(self.st.ctx, &argv);
                // Go converts an argument to the parameter's type where our functions see the
                // argument's own: a number literal (`trunc 2.0 "abc"` gets the int 2), and an
                // untyped nil (a parenthesised pipeline or a variable) given for a map or slice
                // parameter, which becomes an empty one. Retry with the converted argument.
                let mut retries = params.len();
                while let Err(e) = &r {
                    if retries == 0 {
                        break;
                    }
                    retries -= 1;
                    if let Some(i) = literal_to_convert(&e.0, params, &argv) {
                        argv[i] = match (&argv[i], e.0.contains("expected int;")) {
                            (Value::Float(x), true) => Value::Int(*x as i64),
                            (Value::Int(x), false) => Value::Float(*x as f64),
                            _ => break,
                        };
                    } else if let Some(empty) = nil_container_for(&e.0)
                        && unboxed_nils != 0
                    {
                        let i = unboxed_nils.trailing_zeros() as usize;
                        unboxed_nils &= !(1 << i);
                        match argv.get_mut(i) {
                            Some(slot) => *slot = empty,
                            None => break,
                        }
                    } else {
                        break;
                    }
                    r = f(self.st.ctx, &argv);
                }
                let located = match &r {
                    Err(e) if is_conversion_error(&e.0) => {
                        let blamed = blamed_argument(f, self.st.ctx, &e.0, params, &mut argv);
                        Some(self.conversion_error(ident, params, blamed, boxed_nils, &e.0))
                    }
                    _ => None,
                };
                argv.clear();
                self.st.arg_pool.push(argv);
                match r {
                    Ok(v) => Ok(Dot::plain(v)),
                    Err(e) => Err(located.unwrap_or_else(|| {
                        self.error(at, format!("error calling {name}: {}", e.0))
                    })),
                }
            }
            Func::Include => {
                check_arity(self, &At::Arg(ident), name, num_in, 2, false)?;
                let (tname, rest) = self.eval_string_first(dot, params, final_)?;
                let data = rest.into_iter().next().unwrap_or(Value::Nil);
                Ok(Dot::plain(self.include(&tname, data, at)?))
            }
            Func::Tpl => {
                check_arity(self, &At::Arg(ident), name, num_in, 2, false)?;
                let (text, rest) = self.eval_string_first(dot, params, final_)?;
                let data = rest.into_iter().next().unwrap_or(Value::Nil);
                let s = self.tpl(&text, data, at)?;
                Ok(Dot::plain(Value::from(s)))
            }
        }
    }

    /// Places an argument-conversion error of a library function on the argument Go would
    /// blame (the first of the type the message names), in the words Go uses for it: a
    /// literal is "expected integer; found 3", a nil read from a map has type `interface {}`.
    fn conversion_error(
        &self,
        ident: &'e Arg,
        params: &'e [Arg],
        blamed: Option<(usize, String)>,
        boxed_nils: u64,
        msg: &str,
    ) -> Box<TemplateError> {
        let Some((node, i, expected)) = blamed.and_then(|(i, t)| params.get(i).map(|n| (n, i, t)))
        else {
            return self.error(&At::Arg(ident), msg);
        };
        let kind = match expected.as_str() {
            "int" | "int64" | "int32" | "uint" | "uint64" | "uint32" => "integer",
            "float64" | "float32" => "float",
            other => other,
        };
        let is_nil = msg.starts_with("invalid value;") || msg.ends_with("; got interface {}");
        let message = match node.kind {
            ArgKind::Nil => format!("cannot assign nil to {expected}"),
            ArgKind::Bool(_) | ArgKind::Number(_) | ArgKind::String(_) => {
                format!("expected {kind}; found {}", self.tree.show_arg(node))
            }
            _ if is_nil && boxed_nils & (1 << i.min(63)) != 0 => {
                format!("wrong type for value; expected {expected}; got interface {{}}")
            }
            _ if is_nil => format!("invalid value; expected {expected}"),
            _ => msg.to_string(),
        };
        self.error(&self.last_at_arg(node), message)
    }

    /// The node Go's executor last visited after evaluating `pipe`: where it reports errors
    /// raised after the evaluation (a range over a value it cannot iterate).
    fn last_at(&self, pipe: &'e Pipe) -> At<'e> {
        let Some(cmd) = self.tree.cmds(pipe).last() else {
            return At::Pipe(pipe);
        };
        let args = self.tree.args(cmd);
        let arg = match args.first() {
            Some(first) if matches!(first.kind, ArgKind::Identifier(_)) && args.len() > 1 => {
                args.last()
            }
            first => first,
        };
        match arg {
            Some(a) => self.last_at_arg(a),
            None => At::Cmd(cmd),
        }
    }

    fn last_at_arg(&self, arg: &'e Arg) -> At<'e> {
        match arg.kind {
            ArgKind::Pipe(p) => self.last_at(self.tree.pipe(p)),
            ArgKind::Chain(c) => self.last_at_arg(self.tree.arg(self.tree.chain(c).node)),
            _ => At::Arg(arg),
        }
    }

    /// A `string` parameter as Go's `evalArg` converts it: literals are checked by kind,
    /// evaluated values by type (a nil read from a map has type `interface {}`).
    fn eval_string_param(
        &mut self,
        dot: &Dot,
        arg: Option<&'e Arg>,
        final_: Option<&Dot>,
    ) -> R<Arc<str>> {
        let (d, at) = match arg {
            Some(a) if matches!(a.kind, ArgKind::Nil) => {
                return Err(self.error(&At::Arg(a), "cannot assign nil to string"));
            }
            Some(a) if matches!(a.kind, ArgKind::Bool(_) | ArgKind::Number(_)) => {
                return Err(self.error(
                    &At::Arg(a),
                    format!("expected string; found {}", self.tree.show_arg(a)),
                ));
            }
            Some(a) => (self.eval_arg(dot, a)?, self.last_at_arg(a)),
            None => match final_ {
                Some(f) => (f.clone(), At::None),
                None => (Dot::plain(Value::Nil), At::None),
            },
        };
        match &d.v {
            Value::String(s) => Ok(s.clone()),
            Value::Nil if !d.boxed => Err(self.error(&at, "invalid value; expected string")),
            other => {
                let got = if d.boxed && other.is_nil() {
                    "interface {}".to_string()
                } else {
                    go_type(other)
                };
                Err(self.error(
                    &at,
                    format!("wrong type for value; expected string; got {got}"),
                ))
            }
        }
    }

    /// Evaluates a call's arguments when the first is a `string` parameter.
    fn eval_string_first(
        &mut self,
        dot: &Dot,
        params: &'e [Arg],
        final_: Option<Dot>,
    ) -> R<(Arc<str>, Vec<Value>)> {
        let first = self.eval_string_param(dot, params.first(), final_.as_ref())?;
        let rest = if params.is_empty() {
            Vec::new()
        } else {
            self.eval_args(dot, &params[1..], final_)?
        };
        Ok((first, rest))
    }

    fn include(&mut self, name: &str, data: Value, at: &At<'e>) -> R<Value> {
        let count = self.st.includes.get(name).copied().unwrap_or(0);
        if count > MAX_INCLUDE_NESTING {
            return Err(self.error(
                at,
                format!(
                    "error calling include: rendering template has a nested reference name: {name}: unable to execute template"
                ),
            ));
        }
        if self.st.depth >= MAX_EXEC_DEPTH {
            return Err(self.error(
                at,
                format!("exceeded maximum template depth ({MAX_EXEC_DEPTH})"),
            ));
        }
        match self.st.includes.get_mut(name) {
            Some(c) => *c += 1,
            None => {
                self.st.includes.insert(name.to_string(), 1);
            }
        }
        self.st.depth += 1;
        let mut buf = self.st.buf_pool.pop().unwrap_or_default();
        let r = grow(|| self.st.execute_template(name, data, &mut buf));
        self.st.depth -= 1;
        if let Some(c) = self.st.includes.get_mut(name) {
            *c -= 1;
        }
        let r = r.map(|()| Value::from(buf.as_str()));
        buf.clear();
        self.st.buf_pool.push(buf);
        match r {
            Ok(v) => Ok(v),
            Err(e) => Err(self.error_caused(at, format!("error calling include: {e}"), e)),
        }
    }

    fn tpl(&mut self, text: &str, data: Value, at: &At<'e>) -> R<String> {
        let trees = match parse_tpl(text, self.st.resolve) {
            Ok(t) => t,
            Err(e) => {
                return Err(self.error_caused(
                    at,
                    format!(
                        "error calling tpl: cannot parse template {}: {e}",
                        go_quote(text)
                    ),
                    Box::new(e),
                ));
            }
        };
        let mut overlay = TreeSet::default();
        let mut main: Option<Arc<Program>> = None;
        for tree in trees.iter() {
            let tree = tree.clone();
            if tree.name.as_ref() == ROOT_NAME && main.is_none() {
                main = Some(tree.clone());
            }
            let keep_old = tree.is_empty && self.st.lookup(&tree.name).is_some();
            if !keep_old {
                overlay.insert(tree.name.clone(), tree);
            }
        }
        let Some(main) = main else {
            return Ok(String::new());
        };
        if self.st.depth >= MAX_EXEC_DEPTH {
            return Err(self.error(
                at,
                format!("exceeded maximum template depth ({MAX_EXEC_DEPTH})"),
            ));
        }
        self.st.overlays.push(overlay);
        self.st.depth += 1;
        let mut buf = String::new();
        let r = grow(|| self.st.run_tree(&main, Dot::plain(data), &mut buf));
        self.st.depth -= 1;
        self.st.overlays.pop();
        match r {
            Ok(()) => Ok(super::strip_no_value(buf)),
            Err(e) => Err(self.error_caused(
                at,
                format!(
                    "error calling tpl: error during tpl function execution for {}: {e}",
                    go_quote(text)
                ),
                e,
            )),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_builtin(
        &mut self,
        dot: &Dot,
        ident: &'e Arg,
        name: &str,
        b: Builtin,
        at: &At<'e>,
        params: &'e [Arg],
        final_: Option<Dot>,
        num_in: usize,
    ) -> R<Dot> {
        match b {
            Builtin::And | Builtin::Or => {
                check_arity(self, &At::Arg(ident), name, num_in, 1, true)?;
                let want = b == Builtin::Or;
                let mut v = Dot::plain(Value::Nil);
                for p in params {
                    v = self.eval_arg(dot, p)?;
                    v.boxed = false;
                    if v.v.is_truthy() == want {
                        return Ok(v);
                    }
                }
                if let Some(f) = final_ {
                    v = f;
                }
                return Ok(v);
            }
            Builtin::Not => check_arity(self, &At::Arg(ident), name, num_in, 1, false)?,
            Builtin::Len => check_arity(self, &At::Arg(ident), name, num_in, 1, false)?,
            Builtin::Index | Builtin::Slice | Builtin::Eq | Builtin::Printf | Builtin::Call => {
                check_arity(self, &At::Arg(ident), name, num_in, 1, true)?
            }
            Builtin::Ne | Builtin::Lt | Builtin::Le | Builtin::Gt | Builtin::Ge => {
                check_arity(self, &At::Arg(ident), name, num_in, 2, false)?
            }
            Builtin::Print | Builtin::Println | Builtin::Html | Builtin::Js | Builtin::Urlquery => {
            }
        }
        if b == Builtin::Printf {
            let (format, rest) = self.eval_string_first(dot, params, final_)?;
            return Ok(Dot::plain(Value::from(sprintf(&format, &rest))));
        }
        let mut dots = Vec::with_capacity(num_in);
        for p in params {
            dots.push(self.eval_arg(dot, p)?);
        }
        if let Some(f) = final_ {
            dots.push(f);
        }
        let argv: Vec<Value> = dots.iter().map(|d| d.v.clone()).collect();
        let call_err =
            |ex: &Self, msg: String| ex.error(at, format!("error calling {name}: {msg}"));
        let v = match b {
            Builtin::Not => Value::Bool(!argv[0].is_truthy()),
            Builtin::Len => {
                builtins::len(&argv[0], dots[0].boxed).map_err(|e| call_err(self, e))?
            }
            Builtin::Index => {
                builtins::index(&argv[0], &argv[1..]).map_err(|e| call_err(self, e))?
            }
            Builtin::Slice => {
                builtins::slice(&argv[0], &argv[1..]).map_err(|e| call_err(self, e))?
            }
            Builtin::Print => Value::from(sprint(&argv)),
            Builtin::Println => Value::from(sprintln(&argv)),
            Builtin::Html => builtins::html(&argv),
            Builtin::Js => builtins::js(&argv),
            Builtin::Urlquery => builtins::urlquery(&argv),
            Builtin::Eq => {
                Value::Bool(builtins::eq(&argv[0], &argv[1..]).map_err(|e| call_err(self, e))?)
            }
            Builtin::Ne => {
                Value::Bool(!builtins::eq(&argv[0], &argv[1..]).map_err(|e| call_err(self, e))?)
            }
            Builtin::Lt => {
                Value::Bool(builtins::lt(&argv[0], &argv[1]).map_err(|e| call_err(self, e))?)
            }
            Builtin::Le => {
                Value::Bool(builtins::le(&argv[0], &argv[1]).map_err(|e| call_err(self, e))?)
            }
            Builtin::Gt => {
                Value::Bool(!builtins::le(&argv[0], &argv[1]).map_err(|e| call_err(self, e))?)
            }
            Builtin::Ge => {
                Value::Bool(!builtins::lt(&argv[0], &argv[1]).map_err(|e| call_err(self, e))?)
            }
            Builtin::Call => {
                let msg = if argv[0].is_nil() {
                    "call of nil".to_string()
                } else {
                    let callee = params
                        .first()
                        .map_or_else(String::new, |p| self.tree.show_arg(p));
                    format!("non-function {callee} of type {}", go_type(&argv[0]))
                };
                return Err(call_err(self, msg));
            }
            Builtin::And | Builtin::Or | Builtin::Printf => Value::Nil,
        };
        Ok(Dot::plain(v))
    }
}

/// Texts `tpl` has parsed, with the resolver they were parsed for. Charts run `tpl` on the
/// same values in every render and in loops, and parsing costs more than executing; parsed
/// trees are immutable, so they are shared.
static PARSED_TPL: LazyLock<Mutex<TplCache>> = LazyLock::new(Mutex::default);

/// Source bytes kept in [`PARSED_TPL`] before it starts over, so that texts built from values
/// cannot grow it without bound.
const MAX_TPL_CACHE_BYTES: usize = 8 << 20;

/// The trees of one parsed text.
type ParsedText = Arc<[Arc<Program>]>;

#[derive(Default)]
struct TplCache {
    /// By text: the resolver's address and the trees. Texts are long (a chart's CRDs run
    /// through `tpl`), so the hash is a fast one, not SipHash.
    trees: FastMap<String, (usize, ParsedText)>,
    bytes: usize,
}

/// Longer texts are parsed again each time: such a text is mostly literal (a chart's CRDs run
/// through `tpl`), its parse little more than a search for `{{`, and keeping it would cost a
/// copy of the text, its hashing and its comparison on every look-up.
const MAX_CACHED_TPL_TEXT: usize = 64 * 1024;

/// `tpl`'s parse of `text` (as the template named [`ROOT_NAME`]), from the cache when it can.
fn parse_tpl(text: &str, resolve: Resolver) -> Result<ParsedText, TemplateError> {
    let parse_text = || -> Result<ParsedText, TemplateError> {
        Ok(parse::parse(ROOT_NAME, text, resolve)?
            .into_iter()
            .map(|tree| Arc::new(Program::from_tree(tree)))
            .collect())
    };
    if text.len() > MAX_CACHED_TPL_TEXT {
        return parse_text();
    }
    let resolver_id = resolve as usize;
    if let Ok(cache) = PARSED_TPL.lock()
        && let Some((id, trees)) = cache.trees.get(text)
        && *id == resolver_id
    {
        return Ok(trees.clone());
    }
    let trees = parse_text()?;
    if let Ok(mut cache) = PARSED_TPL.lock() {
        if cache.bytes + text.len() > MAX_TPL_CACHE_BYTES {
            cache.trees.clear();
            cache.bytes = 0;
        }
        cache.bytes += text.len();
        let replaced = cache
            .trees
            .insert(text.to_string(), (resolver_id, trees.clone()));
        if replaced.is_some() {
            cache.bytes -= text.len();
        }
    }
    Ok(trees)
}

/// The argument an argument-conversion message is about, and the type it expected. Go blames
/// the first parameter whose argument does not fit; when several arguments have the type the
/// message names, each is swapped for a value of the expected type to see whether the
/// function then complains about that (earlier) parameter instead, i.e. whether it fit.
fn blamed_argument(
    f: super::funcs::Function,
    ctx: &mut CallContext<'_>,
    msg: &str,
    params: &[Arg],
    argv: &mut [Value],
) -> Option<(usize, String)> {
    let (expected, got) = if let Some(rest) = msg.strip_prefix("wrong type for value; expected ") {
        let (e, g) = rest.split_once("; got ")?;
        (e.to_string(), Some(g.to_string()))
    } else {
        (
            msg.strip_prefix("invalid value; expected ")?.to_string(),
            None,
        )
    };
    let matches = |v: &Value| match got.as_deref() {
        Some("interface {}") | None => v.is_nil(),
        Some(g) => !v.is_nil() && go_type(v) == g,
    };
    let candidates: Vec<usize> = (0..argv.len().min(params.len()))
        .filter(|&i| matches(&argv[i]))
        .collect();
    if candidates.len() > 1 {
        let stand_in = match expected.as_str() {
            "string" => Value::str(""),
            "int" => Value::Int(0),
            "float64" => Value::Float(0.0),
            "bool" => Value::Bool(false),
            _ => return candidates.first().map(|&i| (i, expected)),
        };
        let refit = match &got {
            Some(g) => format!(
                "wrong type for value; expected {g}; got {}",
                go_type(&stand_in)
            ),
            None => String::from("\u{0}"),
        };
        for &i in &candidates {
            let original = std::mem::replace(&mut argv[i], stand_in.clone());
            let r = f(ctx, argv);
            argv[i] = original;
            if !matches!(&r, Err(e) if e.0 == refit) {
                return Some((i, expected));
            }
        }
    }
    candidates.first().map(|&i| (i, expected))
}

/// The empty map or slice Go passes for an untyped nil given to a parameter of that type.
fn nil_container_for(msg: &str) -> Option<Value> {
    let rest = msg.strip_prefix("wrong type for value; expected ")?;
    let expected = rest.strip_suffix("; got interface {}")?;
    if expected.starts_with("map[") {
        Some(Value::map(Map::new()))
    } else if expected.starts_with("[]") {
        Some(Value::list(Vec::new()))
    } else {
        None
    }
}

/// A number literal argument that Go would have converted to the type a message expects.
fn literal_to_convert(msg: &str, params: &[Arg], argv: &[Value]) -> Option<usize> {
    let wants_int = msg.starts_with("wrong type for value; expected int; got float64");
    let wants_float = msg.starts_with("wrong type for value; expected float64; got int");
    if !wants_int && !wants_float {
        return None;
    }
    params.iter().zip(argv).position(|(p, v)| {
        matches!(p.kind, ArgKind::Number(_))
            && match v {
                Value::Float(x) => wants_int && x.fract() == 0.0,
                Value::Int(_) => wants_float,
                _ => false,
            }
    })
}

fn check_arity(
    ex: &Exec<'_, '_, '_, '_>,
    at: &At<'_>,
    name: &str,
    got: usize,
    want: usize,
    variadic: bool,
) -> R<()> {
    if variadic && got < want {
        return Err(ex.error(
            at,
            format!("wrong number of args for {name}: want at least {want} got {got}"),
        ));
    }
    if !variadic && got != want {
        return Err(ex.error(
            at,
            format!("wrong number of args for {name}: want {want} got {got}"),
        ));
    }
    Ok(())
}

/// A missing map entry, as `missingkey=zero` reads it.
static NIL: Value = Value::Nil;

/// The value `receiver.names...` reaches through maps (a field with arguments, last, is left
/// for a method call), cloned, and how many names were followed.
fn walk_fields(program: &Program, receiver: &Dot, names: &[Span], has_args: bool) -> (Dot, usize) {
    let reachable = names.len() - usize::from(has_args);
    walk_maps(
        program,
        &receiver.v,
        receiver.boxed,
        &names[..reachable],
        0,
        &mut |v, boxed, walked| {
            (
                Dot {
                    v: v.clone(),
                    boxed,
                },
                walked,
            )
        },
    )
}

/// Follows `names` through nested maps by reference, as far as maps go, and gives `reached`
/// the value reached, whether it was read out of a map (Go's `interface{}`), and how many
/// names were followed (counting the `followed` before). Unchanged maps are read in a loop;
/// a map changed during the render is read under its lock, held until `reached` returns.
fn walk_maps<T>(
    program: &Program,
    mut v: &Value,
    mut boxed: bool,
    names: &[Span],
    followed: usize,
    reached: &mut dyn FnMut(&Value, bool, usize) -> T,
) -> T {
    for (i, &name) in names.iter().enumerate() {
        let Value::Map(m) = v else {
            return reached(v, boxed, followed + i);
        };
        match m.read() {
            MapRead::Unchanged(map) => {
                v = field_of(map, program.name(name)).unwrap_or(&NIL);
                boxed = true;
            }
            MapRead::Changed(map) => {
                let child = field_of(&map, program.name(name)).unwrap_or(&NIL);
                return walk_maps(
                    program,
                    child,
                    true,
                    &names[i + 1..],
                    followed + i + 1,
                    reached,
                );
            }
        }
    }
    reached(v, boxed, followed + names.len())
}

/// A map entry by key. Most maps a template reads are small (the chart context has seven
/// keys), and for those comparing the lengths the map holds inline first, and bytes only
/// where they match, reads far less memory than an ordered search, which reads the bytes of
/// every key it passes.
#[inline]
fn field_of<'m>(m: &'m Map, key: &str) -> Option<&'m Value> {
    if m.len() > SMALL_MAP {
        return m.get(key);
    }
    m.iter()
        .find(|(k, _)| k.len() == key.len() && k.as_bytes() == key.as_bytes())
        .map(|(_, v)| v)
}

/// Up to this many keys (one B-tree node), [`field_of`] scans instead of searching.
const SMALL_MAP: usize = 11;

/// Runs `f` on a fresh stack segment when the current one is nearly used up, so that deep
/// template nesting ends in Go's errors (or succeeds) instead of overflowing the stack.
fn grow<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, f)
}

/// How an action prints its value: Go's `fmt.Fprint`, with nil as `<no value>`.
fn print_value(out: &mut String, v: &Value) {
    match v {
        Value::Nil => out.push_str("<no value>"),
        Value::String(s) => out.push_str(s),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&format_float_g(*f)),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        other => out.push_str(&format_value(other)),
    }
}
