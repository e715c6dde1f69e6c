//! Builds [`Value`]s from saphyr-parser events the way sigs.k8s.io/yaml reads YAML: go-yaml v2
//! decoding (YAML 1.1 scalars, merge keys, the last duplicate key wins), keys turned into
//! strings, then a JSON round trip that makes every number a float64 and rejects NaN and ±Inf.
//!
//! The builder keeps its own stack instead of recursing, so nesting depth is bounded by
//! [`MAX_DEPTH`] rather than by the thread's stack.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::YamlError;
use super::quick::Checked;
use super::resolve::{CoreTag, Scalar, resolve_plain, resolve_tagged};
use crate::gofmt::format_float_g32;
use crate::gofmt::go_quote;
use crate::value::{Map, Value};

/// Deepest nesting accepted. go-yaml stops at 10000, but values that deep would overflow the
/// stack of the recursive code that later walks them (coalescing, templates, `toYaml`), so
/// this is lower; no real chart comes near it.
pub const MAX_DEPTH: usize = 1000;

/// go-yaml's guard against "billion laughs": once more than 100 nodes came from aliases and
/// more than 1000 were decoded, the share of alias-made nodes may not pass this ratio.
fn allowed_alias_ratio(decoded: u64) -> f64 {
    const LOW: u64 = 400_000;
    const HIGH: u64 = 4_000_000;
    if decoded <= LOW {
        0.99
    } else if decoded >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((decoded - LOW) as f64 / (HIGH - LOW) as f64)
    }
}

const YAML_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// A finished node: its value, and its scalar form when it can serve as a map key.
struct Node {
    value: Value,
    key: Option<Scalar<'static>>,
}

struct Anchored {
    node_value: Value,
    key: Option<Scalar<'static>>,
    /// Nodes decoded when this anchor is expanded once (go-yaml re-decodes every alias).
    decode_count: u64,
}

enum KeySlot {
    Empty,
    Key(String),
    /// A key of a collection the head-only reading does not build: checked, not kept.
    Skipped,
    Merge,
    /// A key JSON cannot hold (null, uint64); go-yaml's message also shows the value.
    Unsupported(String),
}

enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
        start: u64,
        keep: Keep,
    },
    Map {
        map: Map,
        key: KeySlot,
        anchor: usize,
        start: u64,
        span: Span,
        keep: Keep,
    },
}

/// How much of a node [`parse_head`] builds. Everything is still read and checked; only the
/// values nobody looks at are not made.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// The whole node (every node, outside the head-only reading).
    All,
    /// The document itself: of a map, only `apiVersion`, `kind` and `metadata`.
    Document,
    /// `metadata`: of a map, only `name` and `annotations`.
    Metadata,
    /// Nothing: the node is checked and dropped.
    Nothing,
}

struct Builder {
    keep_ints: bool,
    head_only: bool,
    /// Set by the head-only reading at what it does not decide alone (anchors, aliases,
    /// merge keys, keys JSON cannot hold): the document is then read in full instead.
    needs_full: bool,
    /// The input's length in characters when it does not end with a line break: a block
    /// scalar running to such an end has no final line break in go-yaml, unlike saphyr.
    unterminated_end: Option<usize>,
    anchors: HashMap<usize, Anchored>,
    stack: Vec<Frame>,
    root: Option<Value>,
    decoded: u64,
    aliased: u64,
}

fn syntax(span: &Span, message: impl Into<String>) -> YamlError {
    YamlError::Syntax {
        line: span.start.line(),
        column: span.start.col() + 1,
        message: message.into(),
    }
}

impl Builder {
    fn new(keep_ints: bool, head_only: bool, unterminated_end: Option<usize>) -> Self {
        Builder {
            keep_ints,
            head_only,
            needs_full: false,
            unterminated_end,
            anchors: HashMap::new(),
            stack: Vec::new(),
            root: None,
            decoded: 0,
            aliased: 0,
        }
    }

    /// What of the next node (a key or a value of the innermost open collection) is built.
    fn keep_next(&self) -> Keep {
        let Some(frame) = self.stack.last() else {
            return if self.head_only {
                Keep::Document
            } else {
                Keep::All
            };
        };
        match frame {
            Frame::Seq {
                keep: Keep::All, ..
            } => Keep::All,
            Frame::Seq { .. } => Keep::Nothing,
            Frame::Map { keep, key, .. } => match (keep, key) {
                (Keep::All, _) => Keep::All,
                (Keep::Nothing, _) => Keep::Nothing,
                // A key of a map whose entries are chosen by key must be known.
                (_, KeySlot::Empty) => Keep::All,
                (Keep::Document, KeySlot::Key(k)) => match k.as_str() {
                    "apiVersion" | "kind" => Keep::All,
                    "metadata" => Keep::Metadata,
                    _ => Keep::Nothing,
                },
                (Keep::Metadata, KeySlot::Key(k)) => match k.as_str() {
                    "name" | "annotations" => Keep::All,
                    _ => Keep::Nothing,
                },
                _ => Keep::Nothing,
            },
        }
    }

    fn open(&mut self, frame: Frame, span: &Span) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(syntax(span, format!("exceeded max depth of {MAX_DEPTH}")));
        }
        let (Frame::Seq { anchor, .. } | Frame::Map { anchor, .. }) = &frame;
        if self.head_only && *anchor != 0 {
            self.needs_full = true;
        }
        self.decoded += 1;
        self.stack.push(frame);
        Ok(())
    }

    fn scalar(
        &mut self,
        text: Cow<'_, str>,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<Cow<'_, Tag>>,
        span: &Span,
    ) -> Result<(), YamlError> {
        self.decoded += 1;
        let mut text = text;
        if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
            && self
                .unterminated_end
                .is_some_and(|end| span.end.index() >= end)
            && text.ends_with('\n')
        {
            text.to_mut().pop();
        }
        if self.head_only && anchor != 0 {
            self.needs_full = true;
            return Ok(());
        }
        if self.keep_next() == Keep::Nothing {
            let checked = match &tag {
                None if style == ScalarStyle::Plain => Some(resolve_plain(&text).scalar),
                Some(tag) if tag.handle == YAML_TAG_PREFIX => Some(
                    resolve_tagged(CoreTag::from_suffix(&tag.suffix), &text)
                        .map_err(|m| syntax(span, m))?,
                ),
                _ => None,
            };
            match &checked {
                Some(float @ Scalar::Float(_)) => {
                    scalar_value(float)?;
                }
                Some(Scalar::Merge | Scalar::Null | Scalar::Uint(_)) if self.is_key_next() => {
                    self.needs_full = true;
                    return Ok(());
                }
                _ => {}
            }
            return self.skip();
        }
        let scalar = match tag {
            None if style == ScalarStyle::Plain => resolve_plain(&text).scalar.into_owned(),
            None => Scalar::Str(Cow::Owned(text.into_owned())),
            Some(tag) if tag.handle == YAML_TAG_PREFIX => {
                resolve_tagged(CoreTag::from_suffix(&tag.suffix), &text)
                    .map_err(|m| syntax(span, m))?
                    .into_owned()
            }
            Some(_) => Scalar::Str(Cow::Owned(text.into_owned())),
        };
        let value = match scalar {
            Scalar::Int(i) if self.keep_ints => Value::Int(i),
            _ => scalar_value(&scalar)?,
        };
        if anchor != 0 {
            self.anchors.insert(
                anchor,
                Anchored {
                    node_value: value.clone(),
                    key: Some(scalar.clone()),
                    decode_count: 1,
                },
            );
        }
        self.deliver(
            Node {
                value,
                key: Some(scalar),
            },
            span,
        )
    }

    fn alias(&mut self, id: usize, span: &Span) -> Result<(), YamlError> {
        if self.head_only {
            self.needs_full = true;
            return Ok(());
        }
        let Some(anchored) = self.anchors.get(&id) else {
            let open = self.stack.iter().any(|frame| match frame {
                Frame::Seq { anchor, .. } | Frame::Map { anchor, .. } => *anchor == id,
            });
            return Err(syntax(
                span,
                if open {
                    "anchor value contains itself"
                } else {
                    "unknown anchor referenced"
                },
            ));
        };
        self.decoded += 1 + anchored.decode_count;
        self.aliased += anchored.decode_count;
        if self.aliased > 100
            && self.decoded > 1000
            && self.aliased as f64 / self.decoded as f64 > allowed_alias_ratio(self.decoded)
        {
            return Err(YamlError::Convert(
                "yaml: document contains excessive aliasing".into(),
            ));
        }
        let node = Node {
            value: anchored.node_value.clone(),
            key: anchored.key.clone(),
        };
        self.deliver(node, span)
    }

    fn close(&mut self, span: &Span) -> Result<(), YamlError> {
        let Some(frame) = self.stack.pop() else {
            return Err(syntax(span, "unbalanced collection end"));
        };
        let (value, anchor, start, keep) = match frame {
            Frame::Seq {
                items,
                anchor,
                start,
                keep,
            } => (Value::list(items), anchor, start, keep),
            Frame::Map {
                map,
                key,
                anchor,
                start,
                span,
                keep,
            } => {
                if !matches!(key, KeySlot::Empty) {
                    return Err(syntax(&span, "mapping key without a value"));
                }
                (Value::map(map), anchor, start, keep)
            }
        };
        if keep == Keep::Nothing {
            if self.is_key_next() {
                // A collection as a key is an error, which the full reading words.
                self.needs_full = true;
                return Ok(());
            }
            return self.skip();
        }
        if anchor != 0 {
            self.anchors.insert(
                anchor,
                Anchored {
                    node_value: value.clone(),
                    key: None,
                    decode_count: self.decoded - start,
                },
            );
        }
        self.deliver(Node { value, key: None }, span)
    }

    /// Whether the next node completes a key (of the innermost open map) rather than a value.
    fn is_key_next(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Map {
                key: KeySlot::Empty,
                ..
            })
        )
    }

    /// Delivers a node that is not built: its key slot moves on, nothing is stored.
    fn skip(&mut self) -> Result<(), YamlError> {
        if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
            *key = match std::mem::replace(key, KeySlot::Empty) {
                KeySlot::Empty => KeySlot::Skipped,
                KeySlot::Key(_) | KeySlot::Skipped => KeySlot::Empty,
                KeySlot::Merge | KeySlot::Unsupported(_) => {
                    self.needs_full = true;
                    KeySlot::Empty
                }
            };
        }
        Ok(())
    }

    fn deliver(&mut self, node: Node, span: &Span) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => {
                self.root = Some(node.value);
                Ok(())
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(node.value);
                Ok(())
            }
            Some(Frame::Map { map, key, .. }) => {
                match std::mem::replace(key, KeySlot::Empty) {
                    KeySlot::Empty => *key = map_key(node, span)?,
                    KeySlot::Key(k) => {
                        map.insert(k, node.value);
                    }
                    KeySlot::Skipped => {}
                    KeySlot::Merge => merge_into(map, &node.value, span)?,
                    KeySlot::Unsupported(prefix) => {
                        return Err(YamlError::Convert(format!(
                            "{prefix}, value: {}",
                            go_syntax(&node.value)
                        )));
                    }
                }
                Ok(())
            }
        }
    }
}

/// The JSON round trip: numbers become float64, and JSON cannot hold NaN or infinities.
fn scalar_value(scalar: &Scalar<'_>) -> Result<Value, YamlError> {
    Ok(match scalar {
        Scalar::Null => Value::Nil,
        Scalar::Bool(b) => Value::Bool(*b),
        Scalar::Int(i) => Value::Float(*i as f64),
        Scalar::Uint(u) => Value::Float(*u as f64),
        Scalar::Float(f) if f.is_nan() => return Err(unsupported_float("NaN")),
        Scalar::Float(f) if f.is_infinite() => {
            return Err(unsupported_float(if *f > 0.0 { "+Inf" } else { "-Inf" }));
        }
        Scalar::Float(f) => Value::Float(*f),
        Scalar::Str(s) => Value::str(s),
        Scalar::Merge => Value::str("<<"),
    })
}

fn unsupported_float(what: &str) -> YamlError {
    YamlError::Convert(format!("json: unsupported value: {what}"))
}

/// sigs.k8s.io/yaml's key conversion: ints in decimal, floats with float32 precision, bools
/// as words; null and uint64 keys cannot become JSON keys.
fn map_key(node: Node, span: &Span) -> Result<KeySlot, YamlError> {
    let Some(scalar) = node.key else {
        return Err(syntax(
            span,
            format!("invalid map key: {}", go_syntax(&node.value)),
        ));
    };
    Ok(match scalar {
        Scalar::Merge => KeySlot::Merge,
        Scalar::Str(s) => KeySlot::Key(s.into_owned()),
        Scalar::Int(i) => KeySlot::Key(i.to_string()),
        Scalar::Bool(b) => KeySlot::Key(b.to_string()),
        Scalar::Float(f) => KeySlot::Key(match f {
            f if f.is_nan() => ".nan".to_string(),
            f if f == f64::INFINITY => ".inf".to_string(),
            f if f == f64::NEG_INFINITY => "-.inf".to_string(),
            f => format_float_g32(f as f32),
        }),
        Scalar::Null => {
            KeySlot::Unsupported("unsupported map key of type: %!s(<nil>), key: <nil>".to_string())
        }
        Scalar::Uint(u) => {
            KeySlot::Unsupported(format!("unsupported map key of type: uint64, key: 0x{u:x}"))
        }
    })
}

/// A `<<` merge: later explicit keys win over merged ones, merged ones over earlier keys,
/// and in a list of maps the earlier maps take precedence.
fn merge_into(map: &mut Map, value: &Value, span: &Span) -> Result<(), YamlError> {
    let want_map = || {
        syntax(
            span,
            "map merge requires map or sequence of maps as the value",
        )
    };
    match value {
        Value::Map(m) => {
            for (k, v) in m.read().iter() {
                map.insert(k.clone(), v.clone());
            }
        }
        Value::List(items) => {
            for item in items.iter().rev() {
                let Value::Map(m) = item else {
                    return Err(want_map());
                };
                for (k, v) in m.read().iter() {
                    map.insert(k.clone(), v.clone());
                }
            }
        }
        _ => return Err(want_map()),
    }
    Ok(())
}

/// Roughly Go's `%+#v` of a decoded YAML value, for error messages.
fn go_syntax(v: &Value) -> String {
    match v {
        Value::Nil => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => crate::gofmt::format_float_g(*f),
        Value::String(s) => go_quote(s),
        Value::List(_) => "[]interface {}{...}".into(),
        Value::Map(_) | Value::Object(_) => "map[interface {}]interface {}{...}".into(),
    }
}

/// Reads the documents of `text`, stopping after `limit` documents (go-yaml's `Unmarshal`
/// reads only the first and never looks at the rest). With `keep_ints`, integers stay
/// `Value::Int` instead of going through JSON's float64.
///
/// go-yaml does not check indentation inside flow collections (`command: [` … `]` with the
/// closing bracket back at the key's column is common in charts); saphyr follows the YAML
/// spec and refuses lines of a flow collection indented no deeper than the block around it.
/// Such a refusal is answered by indenting that line just enough and reading again: spaces
/// at the start of a line inside a flow collection change no value (flow scalars fold them
/// away), so the documents are go-yaml's. Each retry indents one more line.
pub(crate) fn parse(text: &str, limit: usize, keep_ints: bool) -> Result<Vec<Value>, YamlError> {
    read(text, limit, keep_ints, false)
}

fn read(
    text: &str,
    limit: usize,
    keep_ints: bool,
    head_only: bool,
) -> Result<Vec<Value>, YamlError> {
    let mut current = Cow::Borrowed(text);
    for _ in 0..MAX_REINDENTS {
        match parse_once(&current, limit, keep_ints, head_only) {
            Ok(docs) => return Ok(docs),
            Err(Failure::Yaml(error)) => return Err(error),
            Err(Failure::FlowIndentation { error, reindent }) => {
                match reindent.and_then(|line| line.apply(&current)) {
                    Some(next) => current = Cow::Owned(next),
                    None => return Err(error),
                }
            }
        }
    }
    parse_once(&current, limit, keep_ints, head_only).map_err(|failure| match failure {
        Failure::Yaml(error) | Failure::FlowIndentation { error, .. } => error,
    })
}

/// Lines of flow collections [`parse`] indents before it gives up and reports saphyr's error.
const MAX_REINDENTS: usize = 10_000;

/// Why one reading failed: a plain error, or saphyr's indentation rule inside a flow
/// collection, with the line to indent when one can be found.
enum Failure {
    Yaml(YamlError),
    FlowIndentation {
        error: YamlError,
        reindent: Option<Reindent>,
    },
}

impl From<YamlError> for Failure {
    fn from(e: YamlError) -> Self {
        Failure::Yaml(e)
    }
}

/// One line (1-based) to be indented to `column` (0-based) spaces.
struct Reindent {
    line: usize,
    column: usize,
}

impl Reindent {
    /// The text with the line indented, or `None` when it already is (nothing to retry).
    fn apply(&self, text: &str) -> Option<String> {
        let mut out = String::with_capacity(text.len() + self.column);
        let mut changed = false;
        for (i, line) in text.split_inclusive('\n').enumerate() {
            if i + 1 == self.line {
                let spaces = line.len() - line.trim_start_matches(' ').len();
                if spaces < self.column && !line.trim_start_matches(' ').starts_with('\t') {
                    out.extend(std::iter::repeat_n(' ', self.column - spaces));
                    changed = true;
                }
            }
            out.push_str(line);
        }
        changed.then_some(out)
    }
}

/// saphyr's messages for a token indented too little, and whether the error's position is
/// the start of a quoted scalar (whose under-indented line comes later) rather than the
/// offending token itself.
fn indentation_message(message: &str) -> Option<bool> {
    match message {
        "invalid indentation" | "invalid indentation in flow construct" => Some(false),
        "invalid indentation in quoted scalar" => Some(true),
        _ => None,
    }
}

/// The line to indent after saphyr refused `error` at (`line`, `column`) while the
/// collections opened at `opened` (line, column; outermost first) were open: only when the
/// innermost is a flow collection. Inside flow, saphyr wants the column after the block
/// collection around the outermost flow one.
fn flow_reindent(
    text: &str,
    opened: &[(usize, usize)],
    last_event_end: (usize, usize),
    error_at: (usize, usize),
    quoted: bool,
) -> Option<Reindent> {
    let lines: Vec<&str> = text.split('\n').collect();
    let char_at = |(l, c): (usize, usize)| {
        l.checked_sub(1)
            .and_then(|i| lines.get(i))
            .and_then(|text| text.chars().nth(c))
    };
    let is_flow = |at: &(usize, usize)| matches!(char_at(*at), Some('[' | '{'));
    // saphyr's parser looks a token ahead, so a flow collection opened just before the
    // error may have no event yet: its bracket lies between the last event and the error.
    let mut contexts = opened.to_vec();
    if !contexts.last().is_some_and(is_flow)
        && let Some(pending) = flow_start_between(&lines, last_event_end, error_at)
    {
        contexts.push(pending);
    }
    let opened = contexts.as_slice();
    let line = error_at.0;
    if !opened.last().is_some_and(is_flow) {
        return None;
    }
    let outermost_flow = opened.iter().position(is_flow)?;
    let (_, block_column) = *opened.get(outermost_flow.checked_sub(1)?)?;
    let column = block_column + 1;
    let indent_of = |text: &str| text.len() - text.trim_start_matches(' ').len();
    let target = if quoted {
        // The first line after the quoted scalar's start that is indented too little.
        (line + 1..=lines.len()).find(|&l| {
            lines
                .get(l - 1)
                .is_some_and(|text| !text.trim().is_empty() && indent_of(text) < column)
        })?
    } else {
        line
    };
    Some(Reindent {
        line: target,
        column,
    })
}

/// The first `[` or `{` from `from` up to `to` (both (line, column), lines 1-based),
/// outside comments: only indicators and spaces lie between two events.
fn flow_start_between(
    lines: &[&str],
    from: (usize, usize),
    to: (usize, usize),
) -> Option<(usize, usize)> {
    for line in from.0..=to.0 {
        let text = lines.get(line.checked_sub(1)?)?;
        let start = if line == from.0 { from.1 } else { 0 };
        let end = if line == to.0 { to.1 } else { usize::MAX };
        for (column, c) in text.chars().enumerate().skip(start) {
            if column >= end || c == '#' {
                break;
            }
            if matches!(c, '[' | '{') {
                return Some((line, column));
            }
        }
    }
    None
}

/// The first document of `text` as [`parse`] reads it with `keep_ints`, but built only as far
/// as Helm's manifest sorter looks (`apiVersion`, `kind`, `metadata.name` and
/// `metadata.annotations`): it reads every document it prints into that head, and the rest of
/// a document (a CRD's schema is most of a chart's output) need only be checked, not made.
/// Whatever the head-only reading cannot settle alone (anchors, merges, keys JSON cannot
/// hold), and every error, is read again in full: the head and the error are always
/// [`parse`]'s, and the value is then the whole document. A document of the plain block
/// YAML templates print is checked a line at a time instead ([`super::quick`]), and only its
/// head entries are read.
pub(crate) fn parse_head(text: &str) -> Result<Value, YamlError> {
    match super::quick::check(text) {
        Some(Checked::Empty) => return Ok(Value::Nil),
        Some(Checked::Map(head)) if head.is_empty() => return Ok(Value::map(Map::new())),
        Some(Checked::Map(head)) => {
            if let Ok(Some(value)) = read(&head, 1, true, true).map(|docs| docs.into_iter().next())
            {
                return Ok(value);
            }
        }
        None => {}
    }
    Ok(read(text, 1, true, true)?
        .into_iter()
        .next()
        .unwrap_or(Value::Nil))
}

/// One reading of `text`. A head-only one that stops or fails gives way to a full one.
fn parse_once(
    text: &str,
    limit: usize,
    keep_ints: bool,
    head_only: bool,
) -> Result<Vec<Value>, Failure> {
    if head_only && let Ok(Some(docs)) = read_events(text, limit, keep_ints, true) {
        return Ok(docs);
    }
    Ok(read_events(text, limit, keep_ints, false)?.unwrap_or_default())
}

/// The documents of `text`, or `None` when a head-only reading meets what it leaves to the
/// full one (a full reading always settles).
fn read_events(
    text: &str,
    limit: usize,
    keep_ints: bool,
    head_only: bool,
) -> Result<Option<Vec<Value>>, Failure> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let unterminated_end =
        (!text.is_empty() && !text.ends_with(['\n', '\r'])).then(|| text.chars().count());
    let mut builder = Builder::new(keep_ints, head_only, unterminated_end);
    // Where each open collection of the current document starts (line, column).
    let mut opened: Vec<(usize, usize)> = Vec::new();
    let mut last_event_end = (1, 0);
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(next) => next,
            Err(e) => {
                let error = YamlError::Syntax {
                    line: e.marker().line(),
                    column: e.marker().col() + 1,
                    message: e.info().to_string(),
                };
                return Err(match indentation_message(e.info()) {
                    Some(quoted) => Failure::FlowIndentation {
                        reindent: flow_reindent(
                            text,
                            &opened,
                            last_event_end,
                            (e.marker().line(), e.marker().col()),
                            quoted,
                        ),
                        error,
                    },
                    None => Failure::Yaml(error),
                });
            }
        };
        last_event_end = (span.end.line(), span.end.col());
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                builder.scalar(text, style, anchor, tag, &span)?
            }
            Event::Alias(id) => builder.alias(id, &span)?,
            Event::SequenceStart(anchor, _) => {
                let start = builder.decoded;
                opened.push((span.start.line(), span.start.col()));
                builder.open(
                    Frame::Seq {
                        items: Vec::new(),
                        anchor,
                        start,
                        keep: builder.keep_next(),
                    },
                    &span,
                )?
            }
            Event::MappingStart(anchor, _) => {
                let start = builder.decoded;
                opened.push((span.start.line(), span.start.col()));
                builder.open(
                    Frame::Map {
                        map: Map::new(),
                        key: KeySlot::Empty,
                        anchor,
                        start,
                        span,
                        keep: builder.keep_next(),
                    },
                    &span,
                )?
            }
            Event::SequenceEnd | Event::MappingEnd => {
                opened.pop();
                builder.close(&span)?
            }
            Event::DocumentEnd => {
                docs.push(builder.root.take().unwrap_or(Value::Nil));
                builder = Builder::new(keep_ints, head_only, unterminated_end);
                opened.clear();
                if docs.len() >= limit {
                    break;
                }
            }
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) => {}
        }
        if builder.needs_full {
            return Ok(None);
        }
    }
    Ok(Some(docs))
}
