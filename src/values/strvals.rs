//! Helm's `--set` / `--set-string` syntax (`pkg/strvals`): `a.b=c,d[0]=e,f={x,y}`, with `\`
//! escaping `.`, `,`, `=`, `[` and the like. `--set` types scalars (int64, bool, null);
//! `--set-string` keeps every value a string.

use std::sync::Arc;

use crate::value::{Map, Value};

use super::ValuesError;

/// Helm's limit on a list index given with `--set`.
const MAX_INDEX: usize = 65536;
/// Helm's limit on how deeply `--set` names may nest.
const MAX_NESTED_NAME_LEVEL: usize = 30;

fn err(msg: String) -> ValuesError {
    ValuesError::Set(msg)
}

/// Parses one `--set` argument into `base`.
pub fn parse_into(s: &str, base: &mut Map, string_only: bool) -> Result<(), ValuesError> {
    let mut p = Parser {
        chars: s.chars().collect(),
        pos: 0,
        string_only,
    };
    while !p.at_end() {
        p.key(base, 0)?;
    }
    Ok(())
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    string_only: bool,
}

enum Stop {
    Char(char),
    Eof,
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    /// Reads up to (and consumes) one of `stops`, honouring `\` escapes.
    fn run_until(&mut self, stops: &[char]) -> (String, Stop) {
        let mut out = String::new();
        while let Some(&c) = self.chars.get(self.pos) {
            self.pos += 1;
            if c == '\\' {
                if let Some(&next) = self.chars.get(self.pos) {
                    self.pos += 1;
                    out.push(next);
                }
                continue;
            }
            if stops.contains(&c) {
                return (out, Stop::Char(c));
            }
            out.push(c);
        }
        (out, Stop::Eof)
    }

    fn typed(&self, raw: String) -> Value {
        if self.string_only {
            return Value::from(raw);
        }
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
            && let Ok(i) = parse_go_int(&raw)
        {
            return Value::Int(i);
        }
        Value::from(raw)
    }

    fn key(&mut self, data: &mut Map, nest: usize) -> Result<(), ValuesError> {
        let (k, stop) = self.run_until(&['=', '[', ',', '.']);
        match stop {
            Stop::Eof => {
                if k.is_empty() {
                    return Ok(());
                }
                Err(err(format!("key {k:?} has no value")))
            }
            Stop::Char(',') => {
                if k.is_empty() {
                    return Ok(());
                }
                Err(err(format!("key {k:?} has no value (cannot end with ,)")))
            }
            Stop::Char('=') => {
                if self.chars.get(self.pos) == Some(&'{') {
                    self.pos += 1;
                    let list = self.list_values()?;
                    data.insert(k, Value::list(list));
                    return Ok(());
                }
                let (v, _) = self.run_until(&[',']);
                data.insert(k, self.typed(v));
                Ok(())
            }
            Stop::Char('[') => {
                let idx = self.index()?;
                let existing = match data.remove(&k) {
                    Some(Value::List(l)) => Arc::unwrap_or_clone(l),
                    _ => Vec::new(),
                };
                let list = self.list_item(existing, idx, nest)?;
                data.insert(k, Value::list(list));
                Ok(())
            }
            Stop::Char(_) => {
                // '.': a nested map.
                if nest >= MAX_NESTED_NAME_LEVEL {
                    return Err(err(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                let mut inner = match data.remove(&k) {
                    Some(Value::Map(m)) => Arc::unwrap_or_clone(m),
                    _ => Map::new(),
                };
                let result = self.key(&mut inner, nest + 1);
                data.insert(k, Value::map(inner));
                result
            }
        }
    }

    fn index(&mut self) -> Result<usize, ValuesError> {
        let (v, stop) = self.run_until(&[']']);
        if matches!(stop, Stop::Eof) {
            return Err(err(format!("failed to parse index: {v}")));
        }
        let i: i64 = v.parse().map_err(|_| {
            err(format!(
                "failed to parse index: strconv.Atoi: parsing {v:?}: invalid syntax"
            ))
        })?;
        if i < 0 {
            return Err(err(format!("negative {i} index not allowed")));
        }
        let i = i as usize;
        if i > MAX_INDEX {
            return Err(err(format!(
                "index of {i} is greater than maximum supported index {MAX_INDEX}"
            )));
        }
        Ok(i)
    }

    fn set_index(list: &mut Vec<Value>, idx: usize, v: Value) {
        if list.len() <= idx {
            list.resize(idx + 1, Value::Nil);
        }
        list[idx] = v;
    }

    fn list_item(
        &mut self,
        mut list: Vec<Value>,
        idx: usize,
        nest: usize,
    ) -> Result<Vec<Value>, ValuesError> {
        let Some(&c) = self.chars.get(self.pos) else {
            return Err(err("set list: unexpected end of input".to_string()));
        };
        self.pos += 1;
        match c {
            '=' => {
                if self.chars.get(self.pos) == Some(&'{') {
                    self.pos += 1;
                    let inner = self.list_values()?;
                    Self::set_index(&mut list, idx, Value::list(inner));
                } else {
                    let (v, _) = self.run_until(&[',']);
                    let v = self.typed(v);
                    Self::set_index(&mut list, idx, v);
                }
                Ok(list)
            }
            '[' => {
                let next = self.index()?;
                let existing = match list.get(idx) {
                    Some(Value::List(l)) => (**l).clone(),
                    _ => Vec::new(),
                };
                let inner = self.list_item(existing, next, nest)?;
                Self::set_index(&mut list, idx, Value::list(inner));
                Ok(list)
            }
            '.' => {
                if nest >= MAX_NESTED_NAME_LEVEL {
                    return Err(err(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                let mut inner = match list.get(idx) {
                    Some(Value::Map(m)) => (**m).clone(),
                    _ => Map::new(),
                };
                self.key(&mut inner, nest + 1)?;
                Self::set_index(&mut list, idx, Value::map(inner));
                Ok(list)
            }
            other => Err(err(format!("parse error: unexpected token {other:?}"))),
        }
    }

    /// `{a,b,c}` after `=`; the opening brace is already consumed.
    fn list_values(&mut self) -> Result<Vec<Value>, ValuesError> {
        let mut out = Vec::new();
        loop {
            let (v, stop) = self.run_until(&[',', '}']);
            match stop {
                Stop::Eof => {
                    return Err(err("list must terminate with '}'".to_string()));
                }
                Stop::Char('}') => {
                    if !v.is_empty() || !out.is_empty() {
                        out.push(self.typed(v));
                    }
                    // A list value ends the key; skip a following comma.
                    match self.chars.get(self.pos) {
                        Some(',') => self.pos += 1,
                        None => {}
                        Some(c) => {
                            return Err(err(format!(
                                "parse error: unexpected token {c:?} after list"
                            )));
                        }
                    }
                    return Ok(out);
                }
                Stop::Char(_) => out.push(self.typed(v)),
            }
        }
    }
}

/// `strconv.ParseInt(s, 10, 64)`: an optional sign, then decimal digits only.
fn parse_go_int(s: &str) -> Result<i64, ()> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    s.parse::<i64>().map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> Result<Value, ValuesError> {
        let mut m = Map::new();
        parse_into(s, &mut m, false)?;
        Ok(Value::map(m))
    }

    fn json(v: &Value) -> String {
        v.to_json().to_string()
    }

    #[test]
    fn typed_scalars() {
        let v = set("a=1,b=true,c=null,d=0123,e=x,f=,g=-5,h=1.5,i=FALSE").unwrap_or_default();
        assert_eq!(
            json(&v),
            r#"{"a":1,"b":true,"c":null,"d":"0123","e":"x","f":"","g":-5,"h":"1.5","i":false}"#
        );
        assert_eq!(v.get("a"), Some(&Value::Int(1)));
    }

    #[test]
    fn set_string_keeps_strings() {
        let mut m = Map::new();
        assert!(parse_into("a=1,b=true", &mut m, true).is_ok());
        assert_eq!(json(&Value::map(m)), r#"{"a":"1","b":"true"}"#);
    }

    #[test]
    fn nesting_lists_and_escapes() {
        let v = set("a.b.c=1,l[1]=x,m[0].n=2,e\\.f=3,s={a,b,3},v=a\\,b").unwrap_or_default();
        assert_eq!(
            json(&v),
            r#"{"a":{"b":{"c":1}},"e.f":3,"l":[null,"x"],"m":[{"n":2}],"s":["a","b",3],"v":"a,b"}"#
        );
    }

    #[test]
    fn merges_into_existing() {
        let mut m = Map::new();
        assert!(parse_into("a.b=1", &mut m, false).is_ok());
        assert!(parse_into("a.c=2", &mut m, false).is_ok());
        assert_eq!(json(&Value::map(m)), r#"{"a":{"b":1,"c":2}}"#);
    }

    #[test]
    fn errors_are_worded_like_helm() {
        let e = |s: &str| set(s).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(e("a"), r#"failed parsing --set data: key "a" has no value"#);
        assert_eq!(
            e("a,b=1"),
            r#"failed parsing --set data: key "a" has no value (cannot end with ,)"#
        );
        assert!(e("a[-1]=1").contains("negative -1 index not allowed"));
        assert!(e("a[70000]=1").contains("greater than maximum supported index 65536"));
        assert!(e(&format!("{}=1", vec!["a"; 40].join("."))).contains("nested level"));
    }
}
