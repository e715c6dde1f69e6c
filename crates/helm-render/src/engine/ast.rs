//! The parse tree, as the parser builds it. Node shapes and their `Display` (Go's
//! `Node.String`) follow Go's text/template/parse, because errors quote nodes and name
//! positions exactly as Go does. Execution runs the tree flattened ([`super::program`]).

use std::fmt;
use std::sync::Arc;

use super::funcs::Function;
use crate::value::Value;

/// One named template: a file's body or a `{{define}}`/`{{block}}`.
pub struct Tree {
    pub name: Arc<str>,
    /// The file the text came from; execution errors locate nodes in it.
    pub parse_name: Arc<str>,
    /// The whole source text the tree was parsed from (shared by the file's defines).
    pub text: Arc<str>,
    pub root: Vec<Node>,
}

impl Tree {
    /// Go's `IsEmptyTree`: only spaces and comments, so it must not replace an existing body.
    pub fn is_empty(&self) -> bool {
        self.root.iter().all(|n| match n {
            Node::Text { start, end } => self
                .text
                .get(*start..*end)
                .is_none_or(|t| t.trim_matches(is_go_space).is_empty()),
            _ => false,
        })
    }
}

/// Dropping is iterative: templates may nest thousands of levels deep (Go allows 10000
/// parentheses and any depth of `if`), and a recursive drop would overflow the stack.
impl Drop for Tree {
    fn drop(&mut self) {
        drop_nodes(std::mem::take(&mut self.root));
    }
}

/// Nodes of a tree still being parsed. A parse error abandons them half-built, as deep as the
/// input nests, so they are dropped iteratively as a whole tree is.
#[derive(Default)]
pub struct NodeList(Vec<Node>);

impl NodeList {
    pub fn push(&mut self, node: Node) {
        self.0.push(node);
    }

    pub fn into_vec(mut self) -> Vec<Node> {
        std::mem::take(&mut self.0)
    }
}

impl Drop for NodeList {
    fn drop(&mut self) {
        drop_nodes(std::mem::take(&mut self.0));
    }
}

fn drop_nodes(nodes: Vec<Node>) {
    let mut stack: Vec<Part> = nodes.into_iter().map(Part::Node).collect();
    drop_parts(&mut stack);
}

fn drop_parts(stack: &mut Vec<Part>) {
    while let Some(part) = stack.pop() {
        match part {
            Part::Node(Node::If(b) | Node::Range(b) | Node::With(b)) => {
                let b = *b;
                stack.push(Part::Pipe(b.pipe));
                stack.extend(b.list.into_iter().map(Part::Node));
                stack.extend(b.else_list.into_iter().flatten().map(Part::Node));
            }
            Part::Node(Node::Action(p)) => stack.push(Part::Pipe(p)),
            Part::Node(Node::Template(t)) => stack.extend(t.pipe.map(Part::Pipe)),
            Part::Node(_) => {}
            Part::Pipe(mut p) => {
                for c in std::mem::take(&mut p.cmds) {
                    stack.extend(c.args.into_iter().map(Part::Arg));
                }
            }
            Part::Arg(Arg::Pipe(p)) => stack.push(Part::Pipe(*p)),
            Part::Arg(Arg::Chain { node, .. }) => stack.push(Part::Arg(*node)),
            Part::Arg(_) => {}
        }
    }
}

enum Part {
    Node(Node),
    Pipe(Pipe),
    Arg(Arg),
}

/// `bytes.TrimSpace` uses Unicode white space.
fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

pub enum Node {
    /// Plain text, a byte range of the tree's source.
    Text {
        start: usize,
        end: usize,
    },
    Action(Pipe),
    If(Box<Branch>),
    Range(Box<Branch>),
    With(Box<Branch>),
    Template(Box<TemplateCall>),
    Break,
    Continue,
}

pub struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

pub struct TemplateCall {
    pub pos: usize,
    pub name: String,
    pub pipe: Option<Pipe>,
}

pub struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<Variable>,
    pub cmds: Vec<Command>,
}

/// A pipeline nests as deep as its parentheses, and one is dropped alone whenever a parse
/// error abandons it, so it too is dropped iteratively when it holds nested pipelines.
impl Drop for Pipe {
    fn drop(&mut self) {
        let nested = self.cmds.iter().any(|c| {
            c.args
                .iter()
                .any(|a| matches!(a, Arg::Pipe(_) | Arg::Chain { .. }))
        });
        if nested {
            let mut stack = vec![Part::Pipe(Pipe {
                pos: self.pos,
                is_assign: self.is_assign,
                decl: Vec::new(),
                cmds: std::mem::take(&mut self.cmds),
            })];
            drop_parts(&mut stack);
        }
    }
}

/// A `$name` with optional field chain; `ident[0]` includes the `$`.
pub struct Variable {
    pub pos: usize,
    pub ident: Vec<Box<str>>,
}

pub struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A function resolved at parse time.
#[derive(Clone, Copy)]
pub enum Func {
    Builtin(Builtin),
    /// Helm's `include`, which needs the template set.
    Include,
    /// Helm's `tpl`, which parses and runs text with the set's definitions.
    Tpl,
    External(Function),
}

/// Go's predefined template functions.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Builtin {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Print,
    Printf,
    Println,
    Html,
    Js,
    Urlquery,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Call,
}

impl Builtin {
    pub fn from_name(name: &str) -> Option<Builtin> {
        Some(match name {
            "and" => Builtin::And,
            "or" => Builtin::Or,
            "not" => Builtin::Not,
            "len" => Builtin::Len,
            "index" => Builtin::Index,
            "slice" => Builtin::Slice,
            "print" => Builtin::Print,
            "printf" => Builtin::Printf,
            "println" => Builtin::Println,
            "html" => Builtin::Html,
            "js" => Builtin::Js,
            "urlquery" => Builtin::Urlquery,
            "eq" => Builtin::Eq,
            "ne" => Builtin::Ne,
            "lt" => Builtin::Lt,
            "le" => Builtin::Le,
            "gt" => Builtin::Gt,
            "ge" => Builtin::Ge,
            "call" => Builtin::Call,
            _ => return None,
        })
    }
}

/// A number literal as Go's `idealConstant` types it when the context does not say.
#[derive(Clone, Copy, Debug)]
pub enum Number {
    Int(i64),
    Float(f64),
    /// Parsed, but only fits an unsigned 64-bit integer: "overflows int" at execution.
    Overflow,
}

pub enum Arg {
    Field {
        pos: usize,
        ident: Vec<Box<str>>,
    },
    Chain {
        pos: usize,
        node: Box<Arg>,
        field: Vec<Box<str>>,
    },
    Identifier {
        pos: usize,
        name: Box<str>,
        func: Func,
    },
    Variable(Variable),
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Bool {
        pos: usize,
        value: bool,
    },
    Number {
        pos: usize,
        text: Box<str>,
        value: Number,
    },
    String {
        pos: usize,
        quoted: Box<str>,
        value: Value,
    },
    Pipe(Box<Pipe>),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. } => *pos,
            Arg::Variable(v) => v.pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl fmt::Display for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.ident.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(id)?;
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            for (i, v) in self.decl.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{v}")?;
            }
            f.write_str(" := ")?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match a {
                Arg::Pipe(p) => write!(f, "({p})")?,
                other => write!(f, "{other}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { ident, .. } => {
                for id in ident {
                    write!(f, ".{id}")?;
                }
                Ok(())
            }
            Arg::Chain { node, field, .. } => {
                match node.as_ref() {
                    Arg::Pipe(p) => write!(f, "({p})")?,
                    other => write!(f, "{other}")?,
                }
                for id in field {
                    write!(f, ".{id}")?;
                }
                Ok(())
            }
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Variable(v) => write!(f, "{v}"),
            Arg::Dot { .. } => f.write_str("."),
            Arg::Nil { .. } => f.write_str("nil"),
            Arg::Bool { value, .. } => write!(f, "{value}"),
            Arg::Number { text, .. } => f.write_str(text),
            Arg::String { quoted, .. } => f.write_str(quoted),
            Arg::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl fmt::Display for TemplateCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{{template {}", crate::gofmt::go_quote(&self.name))?;
        if let Some(p) = &self.pipe {
            write!(f, " {p}")?;
        }
        f.write_str("}}")
    }
}
