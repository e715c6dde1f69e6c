//! The parser of Go's text/template, production for production, so that the same texts are
//! accepted, the same scopes apply to variables, and errors carry Go's words and line numbers.

use std::sync::Arc;

use super::ast::{
    Arg, Branch, Builtin, Command, Func, Node, NodeList, Number, Pipe, TemplateCall, Tree, Variable,
};
use super::error::TemplateError;
use super::lexer::{Item, ItemType, lex};
use crate::value::Value;

/// Resolves a function name to a callable when parsing (Go rejects unknown names then).
pub type Resolver = fn(&str) -> Option<Func>;

/// Go's `maxStackDepth`: the deepest nesting of parenthesised pipelines.
const MAX_PAREN_DEPTH: usize = 10000;
/// Go's `maxPipelineCmds`.
const MAX_PIPELINE_CMDS: usize = 100000;

/// Stack kept free before recursing into a nested template part (parsing it, or flattening
/// its tree); grown on demand so deep nesting cannot overflow the thread's stack.
pub(super) const RED_ZONE: usize = 64 * 1024;
pub(super) const STACK_SEGMENT: usize = 2 * 1024 * 1024;

enum Parsed {
    Node(Node),
    End,
    Else,
}

impl Parsed {
    fn describe(&self) -> &'static str {
        match self {
            Parsed::End => "{{end}}",
            Parsed::Else => "{{else}}",
            Parsed::Node(_) => "node",
        }
    }
}

struct Parser<'a, 's> {
    items: Vec<Item<'s>>,
    idx: usize,
    furthest: usize,
    parse_name: Arc<str>,
    text: Arc<str>,
    resolve: Resolver,
    vars: Vec<String>,
    range_depth: usize,
    action_line: usize,
    paren_depth: usize,
    /// Trees defined so far in this text, in definition order.
    trees: &'a mut Vec<Tree>,
}

type PResult<T> = Result<T, TemplateError>;

/// Parses `source` as template `name`; returns the file's own tree followed by its definitions.
pub fn parse(name: &str, source: &str, resolve: Resolver) -> Result<Vec<Tree>, TemplateError> {
    let text: Arc<str> = Arc::from(source);
    let parse_name: Arc<str> = Arc::from(name);
    let mut trees = Vec::new();
    let mut p = Parser {
        items: lex(source),
        idx: 0,
        furthest: 0,
        parse_name: parse_name.clone(),
        text: text.clone(),
        resolve,
        vars: vec!["$".into()],
        range_depth: 0,
        action_line: 0,
        paren_depth: 0,
        trees: &mut trees,
    };
    let root = p.parse_top()?;
    let tree = Tree {
        name: parse_name.clone(),
        parse_name,
        text,
        root,
    };
    p.add(tree)?;
    Ok(trees)
}

impl<'s> Parser<'_, 's> {
    fn item(&self, i: usize) -> &Item<'s> {
        let last = self.items.len().saturating_sub(1);
        &self.items[i.min(last)]
    }

    fn next(&mut self) -> Item<'s> {
        let it = self.item(self.idx).clone();
        if self.idx < self.items.len() {
            self.idx += 1;
        }
        self.furthest = self.furthest.max(self.idx.saturating_sub(1));
        it
    }

    fn backup(&mut self) {
        self.idx = self.idx.saturating_sub(1);
    }

    fn peek(&mut self) -> Item<'s> {
        self.furthest = self.furthest.max(self.idx);
        self.item(self.idx).clone()
    }

    fn peek_type(&mut self) -> ItemType {
        self.furthest = self.furthest.max(self.idx);
        self.item(self.idx).typ
    }

    fn next_non_space(&mut self) -> Item<'s> {
        loop {
            let t = self.next();
            if t.typ != ItemType::Space {
                return t;
            }
        }
    }

    /// Like Go's, this consumes the spaces before the token it returns.
    fn peek_non_space(&mut self) -> Item<'s> {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn errorf(&self, msg: impl AsRef<str>) -> TemplateError {
        let line = self.item(self.furthest).line;
        TemplateError::Parse {
            message: format!("template: {}:{}: {}", self.parse_name, line, msg.as_ref()),
        }
    }

    fn unexpected(&self, token: &Item, context: &str) -> TemplateError {
        if token.typ == ItemType::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.parse_name, self.action_line
                );
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{token}{extra}"));
        }
        self.errorf(format!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, expected: ItemType, context: &str) -> PResult<Item<'s>> {
        let t = self.next_non_space();
        if t.typ != expected {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    /// Go's `Tree.add`: a second non-empty definition in one text is an error.
    fn add(&mut self, tree: Tree) -> PResult<()> {
        if let Some(i) = self.trees.iter().position(|t| t.name == tree.name) {
            if self.trees[i].is_empty() {
                self.trees[i] = tree;
            } else if !tree.is_empty() {
                return Err(self.errorf(format!(
                    "template: multiple definition of template {}",
                    crate::gofmt::go_quote(&tree.name)
                )));
            }
            return Ok(());
        }
        self.trees.push(tree);
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut root = NodeList::default();
        while self.peek_type() != ItemType::Eof {
            if self.peek_type() == ItemType::LeftDelim {
                let save = self.idx;
                self.next();
                if self.next_non_space().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = save;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => root.push(n),
                other => return Err(self.errorf(format!("unexpected {}", other.describe()))),
            }
        }
        Ok(root.into_vec())
    }

    /// Runs `f` as the parse of a nested tree (a define or a block), with its own scopes.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let range_depth = std::mem::replace(&mut self.range_depth, 0);
        let action_line = std::mem::replace(&mut self.action_line, 0);
        let paren_depth = std::mem::replace(&mut self.paren_depth, 0);
        let r = f(self);
        self.vars = vars;
        self.range_depth = range_depth;
        self.action_line = action_line;
        self.paren_depth = paren_depth;
        r
    }

    fn new_tree(&self, name: &str, root: Vec<Node>) -> Tree {
        Tree {
            name: Arc::from(name),
            parse_name: self.parse_name.clone(),
            text: self.text.clone(),
            root,
        }
    }

    fn parse_definition(&mut self) -> PResult<()> {
        self.nested(|p| {
            const CONTEXT: &str = "define clause";
            let tok = p.next_non_space();
            if !matches!(tok.typ, ItemType::String | ItemType::RawString) {
                return Err(p.unexpected(&tok, CONTEXT));
            }
            let name = unquote(&tok.val).map_err(|e| p.errorf(e))?;
            p.expect(ItemType::RightDelim, CONTEXT)?;
            let (list, end) = p.item_list()?;
            if !matches!(end, Parsed::End) {
                return Err(p.errorf(format!("unexpected {} in {CONTEXT}", end.describe())));
            }
            let tree = p.new_tree(&name, list.into_vec());
            p.add(tree)
        })
    }

    fn item_list(&mut self) -> PResult<(NodeList, Parsed)> {
        let mut list = NodeList::default();
        while self.peek_non_space().typ != ItemType::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                other => return Ok((list, other)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let tok = self.next_non_space();
        match tok.typ {
            ItemType::Text => Ok(Parsed::Node(Node::Text {
                start: tok.pos,
                end: tok.pos + tok.val.len(),
            })),
            ItemType::LeftDelim => {
                self.action_line = tok.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&tok, "input")),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let tok = self.next_non_space();
        match tok.typ {
            ItemType::Block => return self.block_control().map(Parsed::Node),
            ItemType::Break | ItemType::Continue => {
                let word = if tok.typ == ItemType::Break {
                    "break"
                } else {
                    "continue"
                };
                let t = self.next_non_space();
                if t.typ != ItemType::RightDelim {
                    return Err(self.unexpected(&t, &format!("{{{{{word}}}}}")));
                }
                if self.range_depth == 0 {
                    return Err(self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}")));
                }
                return Ok(Parsed::Node(if tok.typ == ItemType::Break {
                    Node::Break
                } else {
                    Node::Continue
                }));
            }
            ItemType::Else => {
                let peek = self.peek_non_space();
                if !matches!(peek.typ, ItemType::If | ItemType::With) {
                    self.expect(ItemType::RightDelim, "else")?;
                }
                return Ok(Parsed::Else);
            }
            ItemType::End => {
                self.expect(ItemType::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            ItemType::If => return self.if_control().map(Parsed::Node),
            ItemType::Range => {
                let b = self.parse_control("range")?;
                return Ok(Parsed::Node(Node::Range(Box::new(b))));
            }
            ItemType::Template => return self.template_control().map(Parsed::Node),
            ItemType::With => return self.with_control().map(Parsed::Node),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Parsed::Node(Node::Action(pipe)))
    }

    fn if_control(&mut self) -> PResult<Node> {
        Ok(Node::If(Box::new(self.parse_control("if")?)))
    }

    fn with_control(&mut self) -> PResult<Node> {
        Ok(Node::With(Box::new(self.parse_control("with")?)))
    }

    fn parse_control(&mut self, context: &'static str) -> PResult<Branch> {
        stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || {
            let mark = self.vars.len();
            let r = self.parse_control_inner(context);
            self.vars.truncate(mark);
            r
        })
    }

    fn parse_control_inner(&mut self, context: &'static str) -> PResult<Branch> {
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let listed = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = listed?;
        let mut else_list = None;
        if let Parsed::Else = next {
            if context == "if" && self.peek_type() == ItemType::If {
                self.next();
                else_list = Some(vec![self.if_control()?]);
            } else if context == "with" && self.peek_type() == ItemType::With {
                self.next();
                else_list = Some(vec![self.with_control()?]);
            } else {
                let (l, next) = self.item_list()?;
                if !matches!(next, Parsed::End) {
                    return Err(self.errorf(format!("expected end; found {}", next.describe())));
                }
                else_list = Some(l.into_vec());
            }
        }
        Ok(Branch {
            pipe,
            list: list.into_vec(),
            else_list,
        })
    }

    fn parse_template_name(&mut self, tok: &Item, context: &str) -> PResult<String> {
        match tok.typ {
            ItemType::String | ItemType::RawString => unquote(&tok.val).map_err(|e| self.errorf(e)),
            _ => Err(self.unexpected(tok, context)),
        }
    }

    fn block_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let tok = self.next_non_space();
        let name = self.parse_template_name(&tok, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, ItemType::RightDelim)?;
        // Blocks nest like `if`s do, so they grow the stack the same way.
        stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || {
            self.nested(|p| {
                let (list, end) = p.item_list()?;
                if !matches!(end, Parsed::End) {
                    return Err(p.errorf(format!("unexpected {} in {CONTEXT}", end.describe())));
                }
                let tree = p.new_tree(&name, list.into_vec());
                p.add(tree)
            })
        })?;
        Ok(Node::Template(Box::new(TemplateCall {
            pos: tok.pos,
            name,
            pipe: Some(pipe),
        })))
    }

    fn template_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let tok = self.next_non_space();
        let name = self.parse_template_name(&tok, CONTEXT)?;
        let mut pipe = None;
        if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(CONTEXT, ItemType::RightDelim)?);
        }
        Ok(Node::Template(Box::new(TemplateCall {
            pos: tok.pos,
            name,
            pipe,
        })))
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        let pos = self.peek_non_space().pos;
        let mut pipe = Pipe {
            pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break;
            }
            let v_idx = self.idx;
            self.next();
            let next = self.peek_non_space();
            match next.typ {
                ItemType::Assign | ItemType::Declare => {
                    pipe.is_assign = next.typ == ItemType::Assign;
                    self.next_non_space();
                    pipe.decl.push(new_variable(v.pos, &v.val));
                    self.vars.push(v.val.to_string());
                }
                ItemType::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(new_variable(v.pos, &v.val));
                    self.vars.push(v.val.to_string());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                                continue;
                            }
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ => self.idx = v_idx,
            }
            break;
        }
        loop {
            let tok = self.next_non_space();
            if tok.typ == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match tok.typ {
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                    if pipe.cmds.len() > MAX_PIPELINE_CMDS {
                        return Err(self.errorf("pipeline too long"));
                    }
                }
                _ => return Err(self.unexpected(&tok, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(
                    Arg::Bool { .. }
                        | Arg::Dot { .. }
                        | Arg::Nil { .. }
                        | Arg::Number { .. }
                        | Arg::String { .. }
                )
            ) {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                args.push(op);
            }
            let tok = self.next();
            match tok.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return Err(self.unexpected(&tok, "operand")),
            }
            break;
        }
        if args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(Command { pos, args })
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek_type() != ItemType::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek().pos;
        let mut fields: Vec<Box<str>> = Vec::new();
        while self.peek_type() == ItemType::Field {
            let f = self.next();
            fields.push(Box::from(&f.val[1..]));
        }
        Ok(Some(match node {
            Arg::Field { ident, .. } => {
                let mut ident = ident;
                ident.extend(fields);
                Arg::Field {
                    pos: chain_pos,
                    ident,
                }
            }
            Arg::Variable(v) => {
                let mut ident = v.ident;
                ident.extend(fields);
                Arg::Variable(Variable {
                    pos: chain_pos,
                    ident,
                })
            }
            Arg::Bool { .. }
            | Arg::String { .. }
            | Arg::Number { .. }
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return Err(self.errorf(format!(
                    "unexpected . after term {}",
                    crate::gofmt::go_quote(&node.to_string())
                )));
            }
            other => Arg::Chain {
                pos: chain_pos,
                node: Box::new(other),
                field: fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let tok = self.next_non_space();
        Ok(Some(match tok.typ {
            ItemType::Identifier => {
                let Some(func) = (self.resolve)(&tok.val) else {
                    return Err(self.errorf(format!(
                        "function {} not defined",
                        crate::gofmt::go_quote(&tok.val)
                    )));
                };
                Arg::Identifier {
                    pos: tok.pos,
                    name: Box::from(&*tok.val),
                    func,
                }
            }
            ItemType::Dot => Arg::Dot { pos: tok.pos },
            ItemType::Nil => Arg::Nil { pos: tok.pos },
            ItemType::Variable => {
                let v = new_variable(tok.pos, &tok.val);
                let first = v.ident.first().map(|s| s.as_ref()).unwrap_or("");
                if !self.vars.iter().any(|n| n == first) {
                    return Err(self.errorf(format!(
                        "undefined variable {}",
                        crate::gofmt::go_quote(first)
                    )));
                }
                Arg::Variable(v)
            }
            ItemType::Field => Arg::Field {
                pos: tok.pos,
                ident: tok.val[1..].split('.').map(Box::from).collect(),
            },
            ItemType::Bool => Arg::Bool {
                pos: tok.pos,
                value: tok.val == "true",
            },
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                let value = parse_number(&tok.val, tok.typ).map_err(|e| self.errorf(e))?;
                Arg::Number {
                    pos: tok.pos,
                    text: Box::from(&*tok.val),
                    value,
                }
            }
            ItemType::LeftParen => {
                if self.paren_depth >= MAX_PAREN_DEPTH {
                    return Err(self.errorf("max expression depth exceeded"));
                }
                self.paren_depth += 1;
                let r = stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || {
                    self.pipeline("parenthesized pipeline", ItemType::RightParen)
                });
                self.paren_depth -= 1;
                Arg::Pipe(Box::new(r?))
            }
            ItemType::String | ItemType::RawString => {
                let s = unquote(&tok.val).map_err(|e| self.errorf(e))?;
                Arg::String {
                    pos: tok.pos,
                    quoted: Box::from(&*tok.val),
                    value: Value::from(s),
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

fn new_variable(pos: usize, text: &str) -> Variable {
    Variable {
        pos,
        ident: text.split('.').map(Box::from).collect(),
    }
}

/// The resolver Helm's engine uses: Helm's own engine functions, then the Sprig/Helm library
/// (which, as in Go, wins over a builtin of the same name), then Go's builtins.
pub fn helm_resolver(name: &str) -> Option<Func> {
    match name {
        "include" => Some(Func::Include),
        "tpl" => Some(Func::Tpl),
        _ => super::funcs::get(name)
            .map(Func::External)
            .or_else(|| Builtin::from_name(name).map(Func::Builtin)),
    }
}

/// The functions Helm's engine adds to Sprig's (`pkg/engine/funcs.go`): what a template
/// parsed outside the engine, such as `--name-template`, does not have.
const HELM_ONLY_FUNCTIONS: &[&str] = &[
    "toToml",
    "mustToToml",
    "fromToml",
    "toYaml",
    "mustToYaml",
    "toYamlPretty",
    "fromYaml",
    "fromYamlArray",
    "fromJson",
    "fromJsonArray",
    "include",
    "tpl",
    "required",
    "lookup",
];

/// The resolver of a plain Go template with Sprig's functions (`sprig.TxtFuncMap()`), as
/// Helm's `action.TemplateName` parses `--name-template`. Sprig's `env` and `expandenv`,
/// which Helm's engine removes, are missing here too: dsc-helm's library never had them.
pub fn sprig_resolver(name: &str) -> Option<Func> {
    if HELM_ONLY_FUNCTIONS.contains(&name) {
        return None;
    }
    super::funcs::get(name)
        .map(Func::External)
        .or_else(|| Builtin::from_name(name).map(Func::Builtin))
}

/// Go's `strconv.Unquote` for the three literal forms the lexer produces.
pub fn unquote(s: &str) -> Result<String, &'static str> {
    const SYNTAX: &str = "invalid syntax";
    let bytes = s.as_bytes();
    if bytes.len() < 2 {
        return Err(SYNTAX);
    }
    let quote = bytes[0];
    if bytes[bytes.len() - 1] != quote {
        return Err(SYNTAX);
    }
    let inner = &s[1..s.len() - 1];
    match quote {
        b'`' => {
            if inner.contains('`') {
                return Err(SYNTAX);
            }
            Ok(inner.replace('\r', ""))
        }
        b'"' | b'\'' => {
            let mut out: Vec<u8> = Vec::with_capacity(inner.len());
            let mut rest = inner;
            while !rest.is_empty() {
                let (piece, tail) = unquote_char(rest, quote)?;
                match piece {
                    Piece::Char(c) => {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    Piece::Byte(b) => out.push(b),
                }
                rest = tail;
                if quote == b'\'' && !rest.is_empty() {
                    return Err(SYNTAX);
                }
            }
            if quote == b'\'' && out.is_empty() {
                return Err(SYNTAX);
            }
            Ok(String::from_utf8_lossy(&out).into_owned())
        }
        _ => Err(SYNTAX),
    }
}

enum Piece {
    Char(char),
    Byte(u8),
}

/// Go's `strconv.UnquoteChar`: one (possibly escaped) character and the rest of the text.
fn unquote_char(s: &str, quote: u8) -> Result<(Piece, &str), &'static str> {
    const SYNTAX: &str = "invalid syntax";
    let mut chars = s.chars();
    let c = chars.next().ok_or(SYNTAX)?;
    if c as u32 == quote as u32 && (quote == b'\'' || quote == b'"') {
        return Err(SYNTAX);
    }
    if c != '\\' {
        if quote == b'"' && c == '\n' {
            return Err(SYNTAX);
        }
        return Ok((Piece::Char(c), chars.as_str()));
    }
    let e = chars.next().ok_or(SYNTAX)?;
    let rest = chars.as_str();
    let simple = |c: char| Ok((Piece::Char(c), rest));
    match e {
        'a' => simple('\u{07}'),
        'b' => simple('\u{08}'),
        'f' => simple('\u{0C}'),
        'n' => simple('\n'),
        'r' => simple('\r'),
        't' => simple('\t'),
        'v' => simple('\u{0B}'),
        '\\' => simple('\\'),
        '\'' | '"' => {
            if e as u32 != quote as u32 {
                return Err(SYNTAX);
            }
            simple(e)
        }
        'x' | 'u' | 'U' => {
            let n = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let hex = rest.get(..n).ok_or(SYNTAX)?;
            let v = u32::from_str_radix(hex, 16).map_err(|_| SYNTAX)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(SYNTAX);
            }
            let tail = &rest[n..];
            if e == 'x' {
                return Ok((Piece::Byte(v as u8), tail));
            }
            let c = char::from_u32(v).ok_or(SYNTAX)?;
            Ok((Piece::Char(c), tail))
        }
        '0'..='7' => {
            let oct = s.get(1..4).ok_or(SYNTAX)?;
            if !oct.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return Err(SYNTAX);
            }
            let v = u32::from_str_radix(oct, 8).map_err(|_| SYNTAX)?;
            if v > 255 {
                return Err(SYNTAX);
            }
            Ok((Piece::Byte(v as u8), &s[4..]))
        }
        _ => Err(SYNTAX),
    }
}

/// Go's `newNumber` followed by `idealConstant`'s choice of type.
fn parse_number(text: &str, typ: ItemType) -> Result<Number, String> {
    if typ == ItemType::CharConstant {
        let inner = text.get(1..).unwrap_or("");
        let (piece, tail) = unquote_char(inner, b'\'').map_err(str::to_string)?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        let v = match piece {
            Piece::Char(c) => c as i64,
            Piece::Byte(b) => b as i64,
        };
        return Ok(Number::Int(v));
    }
    if typ == ItemType::Complex || text.ends_with('i') {
        return Err(format!(
            "complex number {text} not supported: Helm values cannot hold complex numbers"
        ));
    }
    let int = parse_go_int(text);
    if let Some(Ok(i)) = int {
        return Ok(
            if text.contains(['.', 'e', 'E', 'p', 'P']) && !is_hex_int(text) {
                Number::Float(i as f64)
            } else {
                Number::Int(i)
            },
        );
    }
    if let Some(Err(())) = int {
        return Ok(Number::Overflow);
    }
    let f = parse_go_float(text)
        .ok_or_else(|| format!("illegal number syntax: {}", crate::gofmt::go_quote(text)))?;
    if !text.contains(['.', 'e', 'E', 'p', 'P']) {
        return Err(format!(
            "integer overflow: {}",
            crate::gofmt::go_quote(text)
        ));
    }
    Ok(Number::Float(f))
}

fn is_hex_int(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') && !s.contains(['p', 'P'])
}

/// `strconv.ParseInt(s, 0, 64)`: `None` when not an integer literal, `Some(Err)` when it is
/// one too large for int64 but fitting uint64.
fn parse_go_int(s: &str) -> Option<Result<i64, ()>> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits, prefixed) =
        if let Some(r) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, r, true)
        } else if let Some(r) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, r, true)
        } else if let Some(r) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, r, true)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..], true)
        } else {
            (10, body, false)
        };
    if digits.is_empty() || !underscores_ok(digits, prefixed) {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() || !clean.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let u = u64::from_str_radix(&clean, radix).ok()?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some(Ok((u as i128).wrapping_neg() as i64))
        } else {
            None
        }
    } else if u <= i64::MAX as u64 {
        Some(Ok(u as i64))
    } else {
        Some(Err(()))
    }
}

/// Go allows `_` only between digits (or right after a base prefix).
fn underscores_ok(digits: &str, prefixed: bool) -> bool {
    if !digits.contains('_') {
        return true;
    }
    let b = digits.as_bytes();
    if b.last() == Some(&b'_') {
        return false;
    }
    if b.first() == Some(&b'_') && !prefixed {
        return false;
    }
    !digits.contains("__")
}

fn parse_go_float(s: &str) -> Option<f64> {
    if s.contains("__") || s.ends_with('_') {
        return None;
    }
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    if clean.contains(['x', 'X']) {
        return parse_hex_float(&clean);
    }
    if !clean
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    clean.parse::<f64>().ok()
}

/// A hexadecimal float such as `0x1p60` or `-0x1.8p-3` (the binary exponent is mandatory).
fn parse_hex_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let body = body
        .strip_prefix("0x")
        .or_else(|| body.strip_prefix("0X"))?;
    let (mantissa, exp) = body.split_once(['p', 'P'])?;
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut m = 0f64;
    for c in int_part.chars().chain(frac_part.chars()) {
        m = m * 16.0 + f64::from(c.to_digit(16)?);
    }
    let e = exp.checked_sub(4 * i32::try_from(frac_part.len()).ok()?)?;
    let v = m * 2f64.powi(e);
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtins_only(name: &str) -> Option<Func> {
        Builtin::from_name(name).map(Func::Builtin)
    }

    fn err(src: &str) -> String {
        match parse("t.yaml", src, builtins_only) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parse_errors_read_like_go() {
        assert_eq!(err("abc {{ .a "), "template: t.yaml:1: unclosed action");
        assert_eq!(
            err("abc {{ .a \n\n"),
            "template: t.yaml:3: unclosed action started at t.yaml:1"
        );
        assert_eq!(
            err("{{ foo }}"),
            "template: t.yaml:1: function \"foo\" not defined"
        );
        assert_eq!(err("{{ if 1 }}"), "template: t.yaml:1: unexpected EOF");
        assert_eq!(err("{{ end }}"), "template: t.yaml:1: unexpected {{end}}");
        assert_eq!(
            err("{{ $x }}"),
            "template: t.yaml:1: undefined variable \"$x\""
        );
        assert_eq!(
            err("{{ break }}"),
            "template: t.yaml:1: {{break}} outside {{range}}"
        );
        assert_eq!(
            err("{{ .a }"),
            "template: t.yaml:1: unexpected \"}\" in operand"
        );
        assert_eq!(
            err("{{ 1 | 2 }}"),
            "template: t.yaml:1: non executable command in pipeline stage 2"
        );
    }

    #[test]
    fn numbers_follow_go_constant_rules() {
        let n = |s: &str| format!("{:?}", parse_number(s, ItemType::Number));
        assert_eq!(n("0x1F"), "Ok(Int(31))");
        assert_eq!(n("0o17"), "Ok(Int(15))");
        assert_eq!(n("017"), "Ok(Int(15))");
        assert_eq!(n("0b101"), "Ok(Int(5))");
        assert_eq!(n("1_000"), "Ok(Int(1000))");
        assert_eq!(n("1e3"), "Ok(Float(1000.0))");
        assert_eq!(n("1.5"), "Ok(Float(1.5))");
        assert_eq!(n("-7"), "Ok(Int(-7))");
        assert_eq!(n("0x1p60"), "Ok(Float(1.152921504606847e18))");
        assert_eq!(n("0x1.8p1"), "Ok(Float(3.0))");
        assert_eq!(n("18446744073709551615"), "Ok(Overflow)");
        assert_eq!(
            format!("{:?}", parse_number("'a'", ItemType::CharConstant)),
            "Ok(Int(97))"
        );
    }

    #[test]
    fn unquotes_go_strings() {
        assert_eq!(unquote(r#""a\tb\u00e9\x41""#), Ok("a\tbéA".to_string()));
        assert_eq!(unquote("`a\\n\r`"), Ok("a\\n".to_string()));
        assert_eq!(unquote(r#""\q""#), Err("invalid syntax"));
    }
}
