//! Helm's `--set` family of syntaxes (`pkg/strvals`): `a.b=c,d[0]=e,f={x,y}`, with `\`
//! escaping `.`, `,`, `=`, `[` and the like. The flags differ only in what a value becomes
//! ([`Mode`]): `--set` types scalars (int64, bool, null), `--set-string` keeps strings,
//! `--set-file` reads each value as a file path, `--set-json` decodes each value as one JSON
//! document, and `--set-literal` takes everything after the first `=` verbatim (no escapes,
//! no lists, no commas).
//!
//! Helm's parser has sharp edges that users can hit, and we keep them: `a.b=1` where `a` is
//! already a non-map (from a values file or an earlier `--set`) is an error worded after the Go
//! panic Helm recovers from, and `a={}` is the list `[""]`.

use crate::value::{Map, Value};

/// Helm's limit on a list index given with `--set`.
const MAX_INDEX: i64 = 65536;
/// Helm's limit on how many dots a `--set` name may have.
const MAX_NESTED_NAME_LEVEL: usize = 30;

/// What a value of one `--set`-style argument becomes.
pub enum Mode<'r> {
    /// `--set`: true/false/null/int64 typed, anything else a string.
    Typed,
    /// `--set-string`.
    Strings,
    /// `--set-file`: the value is a path; the reader returns the file's text or Helm's error.
    File(&'r mut dyn FnMut(&str) -> Result<String, String>),
    /// `--set-json` in its `key=json` form.
    Json,
    /// `--set-literal`.
    Literal,
}

/// Parses one argument of the flag that `mode` stands for into `base`, with Helm's error text
/// (without the `failed parsing --set… data:` prefix).
pub fn parse_with(s: &str, base: &mut Map, mode: Mode<'_>) -> Result<(), String> {
    let mut p = Parser {
        chars: s.chars().collect(),
        pos: 0,
        mode,
        frames: 0,
    };
    loop {
        match p.key(base, 0) {
            Ok(()) => {}
            Err(Stop::Eof) => return Ok(()),
            Err(Stop::Error(e)) => return Err(e),
        }
    }
}

/// Why parsing of one key stopped: the input ended (Go's `io.EOF`, not an error at the top)
/// or a real error.
enum Stop {
    Eof,
    Error(String),
}

fn fail<T>(msg: String) -> Result<T, Stop> {
    Err(Stop::Error(msg))
}

/// The dynamic type a failed interface conversion in strvals reports. Not `%T` of a template
/// value ([`crate::gofmt::go_type`]): strvals parses numbers as int64, and an absent value is
/// a nil interface, so Helm's message says `int64` and `nil` where a template would say `int`
/// and `<nil>`.
fn conversion_type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int64",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
        Value::Object(_) => "struct",
    }
}

fn conversion_error(v: &Value, want: &str) -> Stop {
    Stop::Error(format!(
        "unable to parse key: interface conversion: interface {{}} is {}, not {want}",
        conversion_type_name(v)
    ))
}

struct Parser<'r> {
    chars: Vec<char>,
    pos: usize,
    mode: Mode<'r>,
    /// Nested `key`/`list_item` calls: Helm counts only dots, but `a[0][0]…` recurses too,
    /// and a hostile argument must end in an error rather than overflow the stack.
    frames: usize,
}

/// Frames of nesting one argument may open: two per level of values (a key and a list
/// item), so the values it builds stay within [`super::MAX_VALUES_DEPTH`].
const MAX_FRAMES: usize = 2 * super::MAX_VALUES_DEPTH;

impl Parser<'_> {
    fn literal(&self) -> bool {
        matches!(self.mode, Mode::Literal)
    }

    /// Reads up to one of `stops` (consumed), honouring `\` escapes (except in literal mode).
    /// `None` for the stop means the input ended first.
    fn runes_until(&mut self, stops: &[char]) -> (String, Option<char>) {
        let mut out = String::new();
        let escapes = !self.literal();
        while let Some(&c) = self.chars.get(self.pos) {
            self.pos += 1;
            if stops.contains(&c) {
                return (out, Some(c));
            }
            if escapes && c == '\\' {
                match self.chars.get(self.pos) {
                    Some(&next) => {
                        self.pos += 1;
                        out.push(next);
                    }
                    None => return (out, None),
                }
                continue;
            }
            out.push(c);
        }
        (out, None)
    }

    /// What a raw (non-JSON) value becomes in this mode: Helm's `reader`.
    fn read(&mut self, raw: String) -> Result<Value, Stop> {
        match &mut self.mode {
            Mode::Typed => Ok(typed(raw)),
            Mode::Strings | Mode::Literal | Mode::Json => Ok(Value::from(raw)),
            Mode::File(reader) => reader(&raw).map(Value::from).map_err(Stop::Error),
        }
    }

    /// The rest of the input, verbatim: a `--set-literal` value.
    fn rest(&mut self) -> String {
        let rest: String = self
            .chars
            .get(self.pos..)
            .unwrap_or_default()
            .iter()
            .collect();
        self.pos = self.chars.len();
        rest
    }

    /// Helm's `emptyVal`: skips spaces up to a `,` (consumed) or the end, which mean an empty
    /// value; any other character is left unread.
    fn empty_val(&mut self) -> bool {
        while let Some(&c) = self.chars.get(self.pos) {
            if c == ',' {
                self.pos += 1;
                return true;
            }
            if !c.is_whitespace() {
                return false;
            }
            self.pos += 1;
        }
        true
    }

    /// A `--set-json` value after `=`: empty is null; otherwise one JSON document decoded from
    /// the rest of the input (as Go's `json.Decoder` does, stopping where the value ends),
    /// then spaces and one comma skipped.
    fn json_val(&mut self) -> Result<Value, Stop> {
        if self.empty_val() {
            return Ok(Value::Nil);
        }
        let rest: String = self
            .chars
            .get(self.pos..)
            .unwrap_or_default()
            .iter()
            .collect();
        let (value, used) = crate::yaml::decode_json_prefix(&rest).map_err(Stop::Error)?;
        self.pos += rest.get(..used).map_or(0, |taken| taken.chars().count());
        self.empty_val();
        Ok(value)
    }

    /// The value after `name=` (or `name[i]=`) for the non-list modes' shared rules: `{…}`
    /// lists, then a plain value up to `,`. `None` when the input ended right after `=`.
    fn plain_val(&mut self) -> Result<Option<Value>, Stop> {
        match self.val_list()? {
            ListResult::List(items) => Ok(Some(Value::list(items))),
            ListResult::Eof => Ok(None),
            ListResult::NotList => {
                let (v, _) = self.runes_until(&[',']);
                self.read(v).map(Some)
            }
        }
    }
    fn key(&mut self, data: &mut Map, nest: usize) -> Result<(), Stop> {
        self.enter()?;
        let result = grow_stack(|| self.key_frame(data, nest));
        self.frames -= 1;
        result
    }

    fn enter(&mut self) -> Result<(), Stop> {
        self.frames += 1;
        if self.frames > MAX_FRAMES {
            self.frames -= 1;
            return fail(format!(
                "values nested more than {} levels deep",
                super::MAX_VALUES_DEPTH
            ));
        }
        Ok(())
    }

    fn key_frame(&mut self, data: &mut Map, nest: usize) -> Result<(), Stop> {
        let stops: &[char] = if self.literal() {
            &['=', '[', '.']
        } else {
            &['=', '[', ',', '.']
        };
        let (k, last) = self.runes_until(stops);
        match last {
            None => {
                if k.is_empty() {
                    return Err(Stop::Eof);
                }
                fail(format!("key {k:?} has no value"))
            }
            Some('[') => {
                let i = self.key_index()?;
                let list = match data.get(&k) {
                    None => Vec::new(),
                    Some(Value::List(l)) => (**l).clone(),
                    Some(other) => return Err(conversion_error(other, "[]interface {}")),
                };
                let (list, result) = self.list_item(list, i, nest);
                set(data, &k, Value::list(list));
                result
            }
            Some('=') => match self.mode {
                Mode::Literal => {
                    let v = self.rest();
                    set(data, &k, Value::from(v));
                    Ok(())
                }
                Mode::Json => {
                    let v = self.json_val()?;
                    set(data, &k, v);
                    Ok(())
                }
                _ => match self.plain_val() {
                    Ok(Some(v)) => {
                        set(data, &k, v);
                        Ok(())
                    }
                    Ok(None) => {
                        set(data, &k, Value::from(""));
                        Err(Stop::Eof)
                    }
                    Err(e) => Err(e),
                },
            },
            Some(',') => {
                set(data, &k, Value::from(""));
                fail(format!("key {k:?} has no value (cannot end with ,)"))
            }
            Some(_) => {
                // '.': a nested map.
                let nest = nest + 1;
                if nest > MAX_NESTED_NAME_LEVEL {
                    return fail(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    ));
                }
                let mut inner = match data.get(&k) {
                    None => Map::new(),
                    Some(Value::Map(m)) => m.entries(),
                    Some(other) => {
                        return Err(conversion_error(other, "map[string]interface {}"));
                    }
                };
                let result = self.key(&mut inner, nest);
                if result.is_ok() && inner.is_empty() {
                    return fail(format!("key map {k:?} has no value"));
                }
                if !inner.is_empty() {
                    set(data, &k, Value::map(inner));
                }
                result
            }
        }
    }

    fn key_index(&mut self) -> Result<i64, Stop> {
        let (v, last) = self.runes_until(&[']']);
        if last.is_none() {
            return fail("error parsing index: EOF".to_string());
        }
        v.parse::<i64>().map_err(|_| {
            let reason = if v
                .trim_start_matches(['+', '-'])
                .bytes()
                .all(|b| b.is_ascii_digit())
                && !v.trim_start_matches(['+', '-']).is_empty()
            {
                "value out of range"
            } else {
                "invalid syntax"
            };
            Stop::Error(format!(
                "error parsing index: strconv.Atoi: parsing {v:?}: {reason}"
            ))
        })
    }

    /// Handles what follows `name[i]`; returns the list as it stands even on error, as Helm
    /// stores it before reporting.
    fn list_item(
        &mut self,
        list: Vec<Value>,
        i: i64,
        nest: usize,
    ) -> (Vec<Value>, Result<(), Stop>) {
        if let Err(e) = self.enter() {
            return (list, Err(e));
        }
        let result = grow_stack(|| self.list_item_frame(list, i, nest));
        self.frames -= 1;
        result
    }

    fn list_item_frame(
        &mut self,
        list: Vec<Value>,
        i: i64,
        nest: usize,
    ) -> (Vec<Value>, Result<(), Stop>) {
        if i < 0 {
            return (list, fail(format!("negative {i} index not allowed")));
        }
        let (k, last) = self.runes_until(&['[', '.', '=']);
        if !k.is_empty() {
            return (
                list,
                fail(format!(
                    "unexpected data at end of array index: {}",
                    go_quote_runes(&k)
                )),
            );
        }
        match last {
            None => (list, Err(Stop::Eof)),
            Some('=') => {
                let v = match self.mode {
                    Mode::Literal => Value::from(self.rest()),
                    Mode::Json => match self.json_val() {
                        Ok(v) => v,
                        Err(e) => return (list, Err(e)),
                    },
                    _ => match self.plain_val() {
                        Ok(v) => v.unwrap_or_else(|| Value::from("")),
                        Err(e) => return (list, Err(e)),
                    },
                };
                set_index(list, i, v)
            }
            Some('[') => {
                let next = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => return (list, Err(e)),
                };
                let current = match usize::try_from(i).ok().and_then(|i| list.get(i)) {
                    None | Some(Value::Nil) => Vec::new(),
                    Some(Value::List(l)) => (**l).clone(),
                    Some(other) => {
                        let e = conversion_error(other, "[]interface {}");
                        return (list, Err(e));
                    }
                };
                let (inner, result) = self.list_item(current, next, nest);
                if let Err(e) = result {
                    return (list, Err(e));
                }
                set_index(list, i, Value::list(inner))
            }
            Some(_) => {
                // '.': a map inside the list (Helm does not count this towards the nesting limit).
                let mut inner = match usize::try_from(i).ok().and_then(|i| list.get(i)) {
                    Some(Value::Map(m)) => m.entries(),
                    _ => Map::new(),
                };
                if let Err(e) = self.key(&mut inner, nest) {
                    return (list, Err(e));
                }
                set_index(list, i, Value::map(inner))
            }
        }
    }

    /// `{a,b,c}` right after `=`, each item read as this mode reads values.
    fn val_list(&mut self) -> Result<ListResult, Stop> {
        match self.chars.get(self.pos) {
            None => return Ok(ListResult::Eof),
            Some('{') => self.pos += 1,
            Some(_) => return Ok(ListResult::NotList),
        }
        let mut out = Vec::new();
        loop {
            let (v, last) = self.runes_until(&[',', '}']);
            match last {
                None => return fail("list must terminate with '}'".to_string()),
                Some('}') => {
                    if self.chars.get(self.pos) == Some(&',') {
                        self.pos += 1;
                    }
                    out.push(self.read(v)?);
                    return Ok(ListResult::List(out));
                }
                Some(_) => out.push(self.read(v)?),
            }
        }
    }
}

enum ListResult {
    List(Vec<Value>),
    NotList,
    Eof,
}

/// Runs one level of the recursive descent on a stack with room for it: the frame limit
/// bounds the depth, and this keeps that depth from overflowing a small thread stack.
fn grow_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(64 * 1024, 1024 * 1024, f)
}

/// Helm's `typedVal` for `--set`.
fn typed(raw: String) -> Value {
    if raw.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if raw.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if raw.eq_ignore_ascii_case("null") {
        return Value::Nil;
    }
    if raw == "0" {
        return Value::Int(0);
    }
    if !raw.is_empty()
        && !raw.starts_with('0')
        && let Some(i) = parse_go_int(&raw)
    {
        return Value::Int(i);
    }
    Value::from(raw)
}

fn set(data: &mut Map, key: &str, v: Value) {
    if !key.is_empty() {
        data.insert(key.to_string(), v);
    }
}

fn set_index(mut list: Vec<Value>, i: i64, v: Value) -> (Vec<Value>, Result<(), Stop>) {
    if i > MAX_INDEX {
        return (
            list,
            fail(format!(
                "index of {i} is greater than maximum supported index of {MAX_INDEX}"
            )),
        );
    }
    let Ok(idx) = usize::try_from(i) else {
        return (list, fail(format!("negative {i} index not allowed")));
    };
    if list.len() <= idx {
        list.resize(idx + 1, Value::Nil);
    }
    if let Some(slot) = list.get_mut(idx) {
        *slot = v;
    }
    (list, Ok(()))
}

/// Go's `%q` of a `[]rune`: each rune single-quoted, space-separated (`['x' 'y']`).
fn go_quote_runes(s: &str) -> String {
    let quoted: Vec<String> = s
        .chars()
        .map(|c| match c {
            '\'' => "'\\''".to_string(),
            '\\' => "'\\\\'".to_string(),
            '\n' => "'\\n'".to_string(),
            '\t' => "'\\t'".to_string(),
            '\r' => "'\\r'".to_string(),
            c if c.is_control() => format!("'\\x{:02x}'", c as u32),
            c => format!("'{c}'"),
        })
        .collect();
    format!("[{}]", quoted.join(" "))
}

/// `strconv.ParseInt(s, 10, 64)`: an optional sign, then decimal digits only.
fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_str(s: &str) -> Result<Value, String> {
        let mut m = Map::new();
        parse_with(s, &mut m, Mode::Typed)?;
        Ok(Value::map(m))
    }

    fn json(v: &Value) -> String {
        v.to_json().to_string()
    }

    // Expectations in this module were checked with helm_python.parse_set_string (Helm's own
    // strvals parser).
    #[test]
    fn typed_scalars() {
        let v =
            set_str("a=1,b=true,c=null,d=0123,e=x,f=,g=-5,h=1.5,i=FALSE,j=+7").unwrap_or_default();
        assert_eq!(
            json(&v),
            r#"{"a":1,"b":true,"c":null,"d":"0123","e":"x","f":"","g":-5,"h":"1.5","i":false,"j":7}"#
        );
        assert_eq!(v.get("a"), Some(Value::Int(1)));
    }

    #[test]
    fn set_string_keeps_strings() {
        let mut m = Map::new();
        assert!(parse_with("a=1,b=true", &mut m, Mode::Strings).is_ok());
        assert_eq!(json(&Value::map(m)), r#"{"a":"1","b":"true"}"#);
    }

    #[test]
    fn nesting_lists_and_escapes() {
        let v = set_str("a.b.c=1,l[1]=x,m[0].n=2,e\\.f=3,s={a,b,3},v=a\\,b,n[0][1]=z,w={}")
            .unwrap_or_default();
        assert_eq!(
            json(&v),
            r#"{"a":{"b":{"c":1}},"e.f":3,"l":[null,"x"],"m":[{"n":2}],"n":[[null,"z"]],"s":["a","b",3],"v":"a,b","w":[""]}"#
        );
    }

    #[test]
    fn merges_into_existing() {
        let mut m = Map::new();
        assert!(parse_with("a.b=1,l[0]=x", &mut m, Mode::Typed).is_ok());
        assert!(parse_with("a.c=2,l[2]=y", &mut m, Mode::Typed).is_ok());
        assert_eq!(
            json(&Value::map(m)),
            r#"{"a":{"b":1,"c":2},"l":["x",null,"y"]}"#
        );
    }

    #[test]
    fn errors_are_worded_like_helm() {
        let e = |s: &str| set_str(s).err().unwrap_or_default();
        assert_eq!(e("a"), r#"key "a" has no value"#);
        assert_eq!(e("a,b=1"), r#"key "a" has no value (cannot end with ,)"#);
        assert_eq!(e("a[-1]=1"), "negative -1 index not allowed");
        assert_eq!(
            e("a[70000]=1"),
            "index of 70000 is greater than maximum supported index of 65536"
        );
        assert_eq!(
            e("a[x]=1"),
            r#"error parsing index: strconv.Atoi: parsing "x": invalid syntax"#
        );
        assert_eq!(
            e("a[0]xy=1"),
            "unexpected data at end of array index: ['x' 'y']"
        );
        assert_eq!(e("a={x,y"), "list must terminate with '}'");
        assert_eq!(
            e("a=1,a.b=2"),
            "unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}"
        );
        assert_eq!(
            e(&format!("{}=1", vec!["a"; 32].join("."))),
            "value name nested level is greater than maximum supported nested level of 30"
        );
        assert!(set_str(&format!("{}=1", vec!["a"; 31].join("."))).is_ok());
    }
}
