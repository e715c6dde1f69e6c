//! Templates as the executor runs them: each parse tree flattened into a few arrays of small,
//! fixed-size records that refer to one another by index.
//!
//! Rendering a large chart is bound by memory, not by instructions: kube-prometheus-stack's
//! parse trees took 6.4 MB as boxed nodes (an action quoting `.Values.a.b` was a 72-byte node,
//! a 56-byte argument and three more heap blocks for its names), far more than a core's cache,
//! so every render waited on memory shared with the rest of the machine. Flattened, a node is
//! 12 bytes, an argument 16, and every identifier of a template is stored once in one string,
//! so the parts a render touches stay in cache. Lists are contiguous runs of their table, and
//! error messages print nodes from the same tables with Go's `Node.String` syntax.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::ast::{self, Func, Number};
use super::parse::{RED_ZONE, STACK_SEGMENT};
use crate::gofmt::go_quote;
use crate::value::Value;

/// A run of entries in one of a program's tables (or of bytes in its names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.start as usize + self.len as usize
    }

    pub fn len(self) -> usize {
        self.len as usize
    }

    pub fn is_empty(self) -> bool {
        self.len == 0
    }
}

#[derive(Clone, Copy)]
pub enum Node {
    /// Plain text, a byte range of the program's source.
    Text {
        start: u32,
        end: u32,
    },
    Action(u32),
    If(u32),
    Range(u32),
    With(u32),
    Template(u32),
    Break,
    Continue,
}

pub struct Branch {
    pub pipe: u32,
    pub list: Span,
    pub else_list: Option<Span>,
}

pub struct TemplateCall {
    pub pos: u32,
    pub name: Span,
    pub pipe: Option<u32>,
}

pub struct Pipe {
    pub pos: u32,
    pub is_assign: bool,
    /// Declared or assigned variables.
    pub decl: Span,
    pub cmds: Span,
}

pub struct Command {
    pub pos: u32,
    pub args: Span,
}

/// A `$name` with an optional field chain; the first identifier includes the `$`.
pub struct Variable {
    pub pos: u32,
    pub ident: Span,
}

pub struct Arg {
    pub pos: u32,
    pub kind: ArgKind,
}

#[derive(Clone, Copy)]
pub enum ArgKind {
    /// `.a.b`: a run of identifiers.
    Field(Span),
    /// `(pipe).a.b` or `$x.a` parsed as a chain: an index into the chains.
    Chain(u32),
    /// A function: an index into the functions.
    Identifier(u32),
    Variable(u32),
    Dot,
    Nil,
    Bool(bool),
    Number(u32),
    String(u32),
    Pipe(u32),
}

/// A function named in a template, resolved when it was parsed.
pub struct Callee {
    pub func: Func,
    pub name: Span,
}

/// A string literal: its value and its text as written.
struct Literal {
    value: Value,
    quoted: Box<str>,
}

struct NumberLiteral {
    value: Number,
    text: Box<str>,
}

/// `node.field...`: the argument the fields are read from, and the fields.
pub struct Chain {
    pub node: u32,
    pub field: Span,
}

/// One named template: a file's body or a `{{define}}`/`{{block}}`, flattened.
pub struct Program {
    pub name: Arc<str>,
    /// The file the text came from; execution errors locate nodes in it.
    pub parse_name: Arc<str>,
    /// The whole source text the tree was parsed from (shared by the file's defines).
    pub text: Arc<str>,
    /// Go's `IsEmptyTree`: only spaces and comments, so it must not replace an existing body.
    pub is_empty: bool,
    root: Span,
    nodes: Vec<Node>,
    branches: Vec<Branch>,
    calls: Vec<TemplateCall>,
    pipes: Vec<Pipe>,
    commands: Vec<Command>,
    args: Vec<Arg>,
    variables: Vec<Variable>,
    chains: Vec<Chain>,
    callees: Vec<Callee>,
    literals: Vec<Literal>,
    numbers: Vec<NumberLiteral>,
    /// Identifier runs point here; each identifier is a span of `names`.
    idents: Vec<Span>,
    /// Every distinct identifier of the template, once.
    names: String,
}

/// Table positions and source offsets are `u32`. Every entry stands for at least a byte of
/// source, and sources are far smaller than 4 GiB (chart archives unpack to at most 100 MB,
/// `tpl` texts come from values of a few MiB), so the saturation is never reached.
fn index(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn pos32(pos: usize) -> u32 {
    u32::try_from(pos).unwrap_or(u32::MAX)
}

impl Program {
    /// Flattens a parse tree, in the order execution visits it.
    pub fn from_tree(tree: ast::Tree) -> Program {
        let mut p = Program {
            name: tree.name.clone(),
            parse_name: tree.parse_name.clone(),
            text: tree.text.clone(),
            is_empty: tree.is_empty(),
            root: Span::default(),
            nodes: Vec::new(),
            branches: Vec::new(),
            calls: Vec::new(),
            pipes: Vec::new(),
            commands: Vec::new(),
            args: Vec::new(),
            variables: Vec::new(),
            chains: Vec::new(),
            callees: Vec::new(),
            literals: Vec::new(),
            numbers: Vec::new(),
            idents: Vec::new(),
            names: String::new(),
        };
        let mut interned = HashMap::new();
        let root = Flattener {
            p: &mut p,
            interned: &mut interned,
        }
        .list(&tree.root);
        p.root = root;
        p.shrink();
        p
    }

    fn shrink(&mut self) {
        self.nodes.shrink_to_fit();
        self.branches.shrink_to_fit();
        self.calls.shrink_to_fit();
        self.pipes.shrink_to_fit();
        self.commands.shrink_to_fit();
        self.args.shrink_to_fit();
        self.variables.shrink_to_fit();
        self.chains.shrink_to_fit();
        self.callees.shrink_to_fit();
        self.literals.shrink_to_fit();
        self.numbers.shrink_to_fit();
        self.idents.shrink_to_fit();
        self.names.shrink_to_fit();
    }

    pub fn root(&self) -> &[Node] {
        self.nodes(self.root)
    }

    pub fn nodes(&self, span: Span) -> &[Node] {
        self.nodes.get(span.range()).unwrap_or(&[])
    }

    pub fn branch(&self, i: u32) -> &Branch {
        &self.branches[i as usize]
    }

    pub fn call(&self, i: u32) -> &TemplateCall {
        &self.calls[i as usize]
    }

    pub fn pipe(&self, i: u32) -> &Pipe {
        &self.pipes[i as usize]
    }

    pub fn cmds(&self, pipe: &Pipe) -> &[Command] {
        self.commands.get(pipe.cmds.range()).unwrap_or(&[])
    }

    pub fn decl(&self, pipe: &Pipe) -> &[Variable] {
        self.variables.get(pipe.decl.range()).unwrap_or(&[])
    }

    pub fn args(&self, cmd: &Command) -> &[Arg] {
        self.args.get(cmd.args.range()).unwrap_or(&[])
    }

    pub fn arg(&self, i: u32) -> &Arg {
        &self.args[i as usize]
    }

    pub fn variable(&self, i: u32) -> &Variable {
        &self.variables[i as usize]
    }

    pub fn chain(&self, i: u32) -> &Chain {
        &self.chains[i as usize]
    }

    pub fn callee(&self, i: u32) -> &Callee {
        &self.callees[i as usize]
    }

    pub fn literal(&self, i: u32) -> &Value {
        &self.literals[i as usize].value
    }

    pub fn number(&self, i: u32) -> (Number, &str) {
        let n = &self.numbers[i as usize];
        (n.value, &n.text)
    }

    /// A run of identifiers (spans of names).
    pub fn idents(&self, span: Span) -> &[Span] {
        self.idents.get(span.range()).unwrap_or(&[])
    }

    /// The text of one identifier.
    pub fn name(&self, ident: Span) -> &str {
        self.names.get(ident.range()).unwrap_or("")
    }

    pub fn call_name(&self, call: &TemplateCall) -> &str {
        self.name(call.name)
    }

    pub fn callee_name(&self, callee: &Callee) -> &str {
        self.name(callee.name)
    }

    /// A variable's name (with its `$`).
    pub fn var_name(&self, var: &Variable) -> &str {
        self.idents(var.ident)
            .first()
            .map_or("", |&ident| self.name(ident))
    }

    /// The fields read from a variable (`$x.a.b` → `a`, `b`).
    pub fn var_fields(&self, var: &Variable) -> &[Span] {
        self.idents(var.ident).get(1..).unwrap_or(&[])
    }

    pub fn text_of(&self, start: u32, end: u32) -> &str {
        self.text.get(start as usize..end as usize).unwrap_or("")
    }

    /// Go's `ErrorContext` location: `NAME:LINE:COL`, the column being a 0-based byte offset.
    pub fn location(&self, pos: u32) -> String {
        let pos = pos as usize;
        let before = self.text.get(..pos).unwrap_or(&self.text);
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(nl) => pos - nl - 1,
            None => pos,
        };
        format!("{}:{}:{}", self.parse_name, line, col)
    }
}

/// Go's `Node.String` for the nodes execution errors quote.
impl Program {
    pub fn show_arg(&self, arg: &Arg) -> String {
        let mut out = String::new();
        self.write_arg(&mut out, arg);
        out
    }

    pub fn show_cmd(&self, cmd: &Command) -> String {
        let mut out = String::new();
        self.write_cmd(&mut out, cmd);
        out
    }

    pub fn show_pipe(&self, pipe: &Pipe) -> String {
        let mut out = String::new();
        self.write_pipe(&mut out, pipe);
        out
    }

    pub fn show_var(&self, var: &Variable) -> String {
        let mut out = String::new();
        self.write_idents(&mut out, self.idents(var.ident), "", ".");
        out
    }

    pub fn show_call(&self, call: &TemplateCall) -> String {
        let mut out = format!("{{{{template {}", go_quote(self.call_name(call)));
        if let Some(p) = call.pipe {
            out.push(' ');
            self.write_pipe(&mut out, self.pipe(p));
        }
        out.push_str("}}");
        out
    }

    fn write_idents(&self, out: &mut String, idents: &[Span], first: &str, sep: &str) {
        for (i, &id) in idents.iter().enumerate() {
            out.push_str(if i == 0 { first } else { sep });
            out.push_str(self.name(id));
        }
    }

    fn write_pipe(&self, out: &mut String, pipe: &Pipe) {
        grow(|| {
            let decl = self.decl(pipe);
            if !decl.is_empty() {
                for (i, v) in decl.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.write_idents(out, self.idents(v.ident), "", ".");
                }
                out.push_str(" := ");
            }
            for (i, c) in self.cmds(pipe).iter().enumerate() {
                if i > 0 {
                    out.push_str(" | ");
                }
                self.write_cmd(out, c);
            }
        })
    }

    fn write_cmd(&self, out: &mut String, cmd: &Command) {
        for (i, a) in self.args(cmd).iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            match a.kind {
                ArgKind::Pipe(p) => {
                    out.push('(');
                    self.write_pipe(out, self.pipe(p));
                    out.push(')');
                }
                _ => self.write_arg(out, a),
            }
        }
    }

    fn write_arg(&self, out: &mut String, arg: &Arg) {
        grow(|| match arg.kind {
            ArgKind::Field(ident) => self.write_idents(out, self.idents(ident), ".", "."),
            ArgKind::Chain(c) => {
                let chain = self.chain(c);
                let node = self.arg(chain.node);
                match node.kind {
                    ArgKind::Pipe(p) => {
                        out.push('(');
                        self.write_pipe(out, self.pipe(p));
                        out.push(')');
                    }
                    _ => self.write_arg(out, node),
                }
                self.write_idents(out, self.idents(chain.field), ".", ".");
            }
            ArgKind::Identifier(f) => out.push_str(self.callee_name(self.callee(f))),
            ArgKind::Variable(v) => {
                self.write_idents(out, self.idents(self.variable(v).ident), "", ".")
            }
            ArgKind::Dot => out.push('.'),
            ArgKind::Nil => out.push_str("nil"),
            ArgKind::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            ArgKind::Number(n) => out.push_str(self.number(n).1),
            ArgKind::String(s) => out.push_str(&self.literals[s as usize].quoted),
            ArgKind::Pipe(p) => self.write_pipe(out, self.pipe(p)),
        })
    }
}

/// Builds a [`Program`]'s tables from a parse tree. Each list is stored as one run, after
/// the parts it contains.
struct Flattener<'p> {
    p: &'p mut Program,
    /// Identifier text → its span in the names.
    interned: &'p mut HashMap<Box<str>, Span>,
}

impl Flattener<'_> {
    fn intern(&mut self, name: &str) -> Span {
        if let Some(&span) = self.interned.get(name) {
            return span;
        }
        let span = Span {
            start: index(self.p.names.len()),
            len: index(name.len()),
        };
        self.p.names.push_str(name);
        self.interned.insert(Box::from(name), span);
        span
    }

    fn idents(&mut self, names: &[Box<str>]) -> Span {
        let spans: Vec<Span> = names.iter().map(|n| self.intern(n)).collect();
        let start = index(self.p.idents.len());
        self.p.idents.extend(spans);
        Span {
            start,
            len: index(names.len()),
        }
    }

    fn list(&mut self, nodes: &[ast::Node]) -> Span {
        let flat: Vec<Node> = nodes.iter().map(|n| self.node(n)).collect();
        let start = index(self.p.nodes.len());
        self.p.nodes.extend(flat);
        Span {
            start,
            len: index(nodes.len()),
        }
    }

    fn node(&mut self, node: &ast::Node) -> Node {
        grow(|| match node {
            ast::Node::Text { start, end } => Node::Text {
                start: pos32(*start),
                end: pos32(*end),
            },
            ast::Node::Action(pipe) => Node::Action(self.pipe(pipe)),
            ast::Node::If(b) => Node::If(self.branch(b)),
            ast::Node::Range(b) => Node::Range(self.branch(b)),
            ast::Node::With(b) => Node::With(self.branch(b)),
            ast::Node::Template(t) => {
                let pipe = t.pipe.as_ref().map(|p| self.pipe(p));
                let name = self.intern(&t.name);
                self.p.calls.push(TemplateCall {
                    pos: pos32(t.pos),
                    name,
                    pipe,
                });
                Node::Template(index(self.p.calls.len() - 1))
            }
            ast::Node::Break => Node::Break,
            ast::Node::Continue => Node::Continue,
        })
    }

    fn branch(&mut self, b: &ast::Branch) -> u32 {
        let pipe = self.pipe(&b.pipe);
        let list = self.list(&b.list);
        let else_list = b.else_list.as_ref().map(|l| self.list(l));
        self.p.branches.push(Branch {
            pipe,
            list,
            else_list,
        });
        index(self.p.branches.len() - 1)
    }

    fn variable(&mut self, v: &ast::Variable) -> Variable {
        Variable {
            pos: pos32(v.pos),
            ident: self.idents(&v.ident),
        }
    }

    fn pipe(&mut self, pipe: &ast::Pipe) -> u32 {
        let decl: Vec<Variable> = pipe.decl.iter().map(|v| self.variable(v)).collect();
        let cmds: Vec<Command> = pipe.cmds.iter().map(|c| self.command(c)).collect();
        let decl = {
            let start = index(self.p.variables.len());
            let len = index(decl.len());
            self.p.variables.extend(decl);
            Span { start, len }
        };
        let cmds = {
            let start = index(self.p.commands.len());
            let len = index(cmds.len());
            self.p.commands.extend(cmds);
            Span { start, len }
        };
        self.p.pipes.push(Pipe {
            pos: pos32(pipe.pos),
            is_assign: pipe.is_assign,
            decl,
            cmds,
        });
        index(self.p.pipes.len() - 1)
    }

    fn command(&mut self, cmd: &ast::Command) -> Command {
        let args: Vec<Arg> = cmd.args.iter().map(|a| self.arg(a)).collect();
        let start = index(self.p.args.len());
        let len = index(args.len());
        self.p.args.extend(args);
        Command {
            pos: pos32(cmd.pos),
            args: Span { start, len },
        }
    }

    fn arg(&mut self, arg: &ast::Arg) -> Arg {
        grow(|| {
            let pos = pos32(arg.pos());
            let kind = match arg {
                ast::Arg::Field { ident, .. } => ArgKind::Field(self.idents(ident)),
                ast::Arg::Chain { node, field, .. } => {
                    let node = self.arg(node);
                    self.p.args.push(node);
                    let node = index(self.p.args.len() - 1);
                    let field = self.idents(field);
                    self.p.chains.push(Chain { node, field });
                    ArgKind::Chain(index(self.p.chains.len() - 1))
                }
                ast::Arg::Identifier { name, func, .. } => {
                    let name = self.intern(name);
                    self.p.callees.push(Callee { func: *func, name });
                    ArgKind::Identifier(index(self.p.callees.len() - 1))
                }
                ast::Arg::Variable(v) => {
                    let v = self.variable(v);
                    self.p.variables.push(v);
                    ArgKind::Variable(index(self.p.variables.len() - 1))
                }
                ast::Arg::Dot { .. } => ArgKind::Dot,
                ast::Arg::Nil { .. } => ArgKind::Nil,
                ast::Arg::Bool { value, .. } => ArgKind::Bool(*value),
                ast::Arg::Number { text, value, .. } => {
                    self.p.numbers.push(NumberLiteral {
                        value: *value,
                        text: text.clone(),
                    });
                    ArgKind::Number(index(self.p.numbers.len() - 1))
                }
                ast::Arg::String { quoted, value, .. } => {
                    self.p.literals.push(Literal {
                        value: value.clone(),
                        quoted: quoted.clone(),
                    });
                    ArgKind::String(index(self.p.literals.len() - 1))
                }
                ast::Arg::Pipe(p) => ArgKind::Pipe(self.pipe(p)),
            };
            Arg { pos, kind }
        })
    }
}

/// Flattening and printing recurse as deeply as the template nests, on a stack grown as the
/// parser's is.
fn grow<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::parse::{helm_resolver, parse};

    fn program(text: &str) -> Program {
        let mut trees = parse("t", text, helm_resolver).unwrap_or_default();
        Program::from_tree(trees.remove(0))
    }

    fn action_pipe(p: &Program, i: usize) -> &Pipe {
        let nodes: Vec<u32> = p
            .root()
            .iter()
            .filter_map(|n| match n {
                Node::Action(pipe) => Some(*pipe),
                _ => None,
            })
            .collect();
        p.pipe(nodes[i])
    }

    #[test]
    fn nodes_print_as_go_prints_them() {
        let p = program(
            r#"{{ $x := .Values.a.b | default "d" | quote }}{{ (include "n" $).x.y }}{{ $x.f 1.50 nil true }}"#,
        );
        assert_eq!(
            p.show_pipe(action_pipe(&p, 0)),
            r#"$x := .Values.a.b | default "d" | quote"#
        );
        assert_eq!(p.show_pipe(action_pipe(&p, 1)), r#"(include "n" $).x.y"#);
        assert_eq!(p.show_pipe(action_pipe(&p, 2)), "$x.f 1.50 nil true");
    }

    #[test]
    fn identifiers_are_stored_once() {
        let p = program("{{ .Values.a }}{{ .Values.a.Values }}{{ $.Values }}");
        assert_eq!(p.names, "Valuesa$");
        let first = action_pipe(&p, 0);
        let arg = &p.args(&p.cmds(first)[0])[0];
        let ArgKind::Field(ident) = arg.kind else {
            panic!("not a field");
        };
        let names: Vec<&str> = p.idents(ident).iter().map(|&s| p.name(s)).collect();
        assert_eq!(names, ["Values", "a"]);
    }

    #[test]
    fn a_small_action_takes_few_bytes() {
        assert!(std::mem::size_of::<Node>() <= 12);
        assert!(std::mem::size_of::<Arg>() <= 16);
        assert!(std::mem::size_of::<Command>() <= 12);
    }

    #[test]
    fn deeply_nested_templates_flatten_and_print_without_overflowing() {
        let depth = 5000;
        let text = format!("{{{{{}1{}}}}}", "(".repeat(depth), ")".repeat(depth));
        let trees = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let p = program(&text);
                p.show_pipe(action_pipe(&p, 0)).len()
            })
            .map(|t| t.join().ok());
        assert_eq!(trees.ok().flatten(), Some(2 * depth + 1));
    }

    #[test]
    fn only_spaces_make_an_empty_template() {
        assert!(program(" \n\t{{/* c */}} ").is_empty);
        assert!(!program(" x ").is_empty);
        assert!(!program("{{ 1 }}").is_empty);
    }
}
