//! Sprig's network and URL functions, and Helm's `lookup`.
//!
//! `urlParse`/`urlJoin` hand a URL to and from Go's `net/url`, whose parsing, escaping and
//! `String()` rules differ from the WHATWG rules of the `url` crate (no normalisation, opaque
//! URLs, `./` before a colon in a relative path), so that subset of `net/url` is reproduced.

use super::{CallContext, FuncError, FuncResult, Function, arity, string_arg};
use crate::gofmt::go_quote;
use crate::value::{Map, Value};

pub fn get(name: &str) -> Option<Function> {
    Some(match name {
        "getHostByName" => get_host_by_name,
        "urlParse" => url_parse,
        "urlJoin" => url_join,
        "lookup" => lookup,
        _ => return None,
    })
}

/// Helm only resolves names with `--enable-dns`; by default (and so in every render we
/// compare with) the function answers "". Resolving would also make renders depend on DNS.
fn get_host_by_name(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("getHostByName", args, 1)?;
    string_arg(args, 0)?;
    Ok(Value::str(""))
}

/// `lookup apiVersion kind namespace name`, answered by the render's [`super::Lookup`].
fn lookup(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("lookup", args, 4)?;
    let api_version = string_arg(args, 0)?;
    let kind = string_arg(args, 1)?;
    let namespace = string_arg(args, 2)?;
    let name = string_arg(args, 3)?;
    ctx.lookup
        .lookup(api_version, kind, namespace, name)
        .map_err(FuncError)
}

/// `net/url`'s encoding contexts.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Path,
    Host,
    UserPassword,
    Fragment,
}

fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if mode == Mode::Host
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => c == b'?',
            Mode::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::Fragment => false,
            Mode::Host => true,
        },
        b'!' | b'(' | b')' | b'*' if mode == Mode::Fragment => false,
        _ => true,
    }
}

fn escape(s: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if should_escape(b, mode) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

fn unhex(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).map(|d| d as u8)
}

/// Percent-decoding with `net/url`'s validation; the error is the bare `net/url` message.
fn unescape(s: &str, mode: Mode) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let pair = b
                    .get(i + 1)
                    .copied()
                    .and_then(unhex)
                    .zip(b.get(i + 2).copied().and_then(unhex));
                let Some((hi, lo)) = pair else {
                    let end = (i + 3).min(b.len());
                    return Err(format!(
                        "invalid URL escape {}",
                        go_quote(&String::from_utf8_lossy(&b[i..end]))
                    ));
                };
                if mode == Mode::Host && hi < 8 && &s[i..i + 3] != "%25" {
                    return Err(format!("invalid URL escape {}", go_quote(&s[i..i + 3])));
                }
                out.push(hi << 4 | lo);
                i += 3;
            }
            c => {
                if mode == Mode::Host && c < 0x80 && should_escape(c, mode) {
                    return Err(format!(
                        "invalid character {} in host name",
                        go_quote(&s[i..i + 1])
                    ));
                }
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The parts of a `url.URL` that Sprig reads or writes.
#[derive(Debug, Default, PartialEq)]
struct Url {
    scheme: String,
    opaque: String,
    user: Option<(String, Option<String>)>,
    host: String,
    path: String,
    omit_host: bool,
    force_query: bool,
    raw_query: String,
    fragment: String,
}

fn get_scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => return Ok((&raw[..i], &raw[i + 1..])),
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

fn valid_optional_port(port: &str) -> bool {
    match port.strip_prefix(':') {
        _ if port.is_empty() => true,
        Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

fn parse_host(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        let Some(i) = host.rfind(']') else {
            return Err("missing ']' in host".into());
        };
        let colon_port = &host[i + 1..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {} after host", go_quote(colon_port)));
        }
    } else if let Some(i) = host.rfind(':') {
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {} after host", go_quote(colon_port)));
        }
    }
    unescape(host, Mode::Host)
}

fn valid_userinfo(s: &str) -> bool {
    s.bytes().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b':'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'%'
                    | b'@'
            )
    })
}

type UserInfo = Option<(String, Option<String>)>;

fn parse_authority(authority: &str) -> Result<(UserInfo, String), String> {
    let Some(at) = authority.rfind('@') else {
        return Ok((None, parse_host(authority)?));
    };
    let host = parse_host(&authority[at + 1..])?;
    let userinfo = &authority[..at];
    if !valid_userinfo(userinfo) {
        return Err("net/url: invalid userinfo".into());
    }
    let user = match userinfo.split_once(':') {
        None => (unescape(userinfo, Mode::UserPassword)?, None),
        Some((u, p)) => (
            unescape(u, Mode::UserPassword)?,
            Some(unescape(p, Mode::UserPassword)?),
        ),
    };
    Ok((Some(user), host))
}

/// Go's `url.Parse`; the error is worded as `*url.Error` prints it.
fn parse_url(raw: &str) -> Result<Url, String> {
    let wrap = |e: String| format!("parse {}: {e}", go_quote(raw));
    let (without_frag, frag) = match raw.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (raw, None),
    };
    let mut url = parse_without_fragment(without_frag).map_err(wrap)?;
    if let Some(f) = frag {
        url.fragment = unescape(f, Mode::Fragment).map_err(wrap)?;
    }
    Ok(url)
}

fn parse_without_fragment(raw: &str) -> Result<Url, String> {
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let mut url = Url::default();
    if raw == "*" {
        url.path = "*".into();
        return Ok(url);
    }
    let (scheme, mut rest) = get_scheme(raw)?;
    url.scheme = scheme.to_ascii_lowercase();
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        url.force_query = true;
        rest = &rest[..rest.len() - 1];
    } else if let Some((r, q)) = rest.split_once('?') {
        url.raw_query = q.to_string();
        rest = r;
    }
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            url.opaque = rest.to_string();
            return Ok(url);
        }
        let first_segment = rest.split('/').next().unwrap_or("");
        if first_segment.contains(':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let after = &rest[2..];
        let (authority, path) = match after.find('/') {
            Some(i) => after.split_at(i),
            None => (after, ""),
        };
        let (user, host) = parse_authority(authority)?;
        url.user = user;
        url.host = host;
        rest = path;
    } else if !url.scheme.is_empty() && rest.starts_with('/') {
        url.omit_host = true;
    }
    url.path = unescape(rest, Mode::Path)?;
    Ok(url)
}

impl Url {
    /// `URL.Hostname()`: the host without its port and IPv6 brackets.
    fn hostname(&self) -> &str {
        let mut host = self.host.as_str();
        if let Some(i) = host.rfind(':')
            && valid_optional_port(&host[i..])
        {
            host = &host[..i];
        }
        if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            host = inner;
        }
        host
    }

    fn user_string(&self) -> Option<String> {
        self.user.as_ref().map(|(name, password)| {
            let mut s = escape(name, Mode::UserPassword);
            if let Some(p) = password {
                s.push(':');
                s.push_str(&escape(p, Mode::UserPassword));
            }
            s
        })
    }

    /// Go's `URL.String()`.
    fn to_go_string(&self) -> String {
        let mut buf = String::new();
        if !self.scheme.is_empty() {
            buf.push_str(&self.scheme);
            buf.push(':');
        }
        if !self.opaque.is_empty() {
            buf.push_str(&self.opaque);
        } else {
            let user = self.user_string();
            let empty_host_omitted = self.omit_host && self.host.is_empty() && user.is_none();
            let has_authority = !self.scheme.is_empty() || !self.host.is_empty() || user.is_some();
            if has_authority && !empty_host_omitted {
                if !self.host.is_empty() || !self.path.is_empty() || user.is_some() {
                    buf.push_str("//");
                }
                if let Some(u) = &user {
                    buf.push_str(u);
                    buf.push('@');
                }
                buf.push_str(&escape(&self.host, Mode::Host));
            }
            let path = escape(&self.path, Mode::Path);
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                buf.push('/');
            }
            if buf.is_empty() && path.split('/').next().unwrap_or("").contains(':') {
                buf.push_str("./");
            }
            buf.push_str(&path);
        }
        if self.force_query || !self.raw_query.is_empty() {
            buf.push('?');
            buf.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            buf.push('#');
            buf.push_str(&escape(&self.fragment, Mode::Fragment));
        }
        buf
    }
}

fn url_parse(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("urlParse", args, 1)?;
    let raw = string_arg(args, 0)?;
    let url = parse_url(raw).map_err(|e| FuncError(format!("unable to parse url: {e}")))?;
    let mut dict = Map::new();
    dict.insert("scheme".into(), Value::str(&url.scheme));
    dict.insert("host".into(), Value::str(&url.host));
    dict.insert("hostname".into(), Value::str(url.hostname()));
    dict.insert("path".into(), Value::str(&url.path));
    dict.insert("query".into(), Value::str(&url.raw_query));
    dict.insert("opaque".into(), Value::str(&url.opaque));
    dict.insert("fragment".into(), Value::str(&url.fragment));
    dict.insert(
        "userinfo".into(),
        Value::from(url.user_string().unwrap_or_default()),
    );
    Ok(Value::map(dict))
}

/// A string entry of the dict; a missing key is "" and any other type is refused in Sprig's
/// words.
fn dict_string(d: &Map, key: &str) -> Result<String, FuncError> {
    match d.get(key) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.to_string()),
        Some(other) => Err(FuncError(format!(
            "unable to parse {key} key, must be of type string, but {} found",
            other.kind_name()
        ))),
    }
}

fn url_join(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("urlJoin", args, 1)?;
    let d = match &args[0] {
        Value::Map(m) => m.read(),
        other => {
            return Err(super::random::wrong_type(
                "map[string]interface {}",
                Some(other),
            ));
        }
    };
    let mut url = Url {
        scheme: dict_string(&d, "scheme")?,
        host: dict_string(&d, "host")?,
        path: dict_string(&d, "path")?,
        raw_query: dict_string(&d, "query")?,
        opaque: dict_string(&d, "opaque")?,
        fragment: dict_string(&d, "fragment")?,
        ..Url::default()
    };
    let userinfo = dict_string(&d, "userinfo")?;
    if !userinfo.is_empty() {
        let temp = parse_url(&format!("proto://{userinfo}@host"))
            .map_err(|e| FuncError(format!("unable to parse userinfo in dict: {e}")))?;
        url.user = temp.user;
    }
    Ok(Value::from(url.to_go_string()))
}

#[cfg(test)]
mod tests {
    use super::super::random::tests::call_seeded;
    use super::*;

    fn json(v: FuncResult) -> String {
        match v {
            Ok(v) => v.to_json().to_string(),
            Err(e) => format!("error: {}", e.0),
        }
    }

    fn text(v: FuncResult) -> String {
        match v {
            Ok(Value::String(ref s)) => s.to_string(),
            Ok(other) => format!("{other:?}"),
            Err(e) => format!("error: {}", e.0),
        }
    }

    fn dict(pairs: &[(&str, Value)]) -> Value {
        Value::map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn url_parse_matches_helm() {
        // Each expectation printed by Helm 4.2.3 (`urlParse ... | toJson`; serde_json does
        // not escape `&` as Go does, which is the JSON helper's business).
        for (input, want) in [
            (
                "https://u:p@Example.com:8443/a%20b/c?x=1&y=2#fr%20ag",
                r#"{"fragment":"fr ag","host":"Example.com:8443","hostname":"Example.com","opaque":"","path":"/a b/c","query":"x=1&y=2","scheme":"https","userinfo":"u:p"}"#,
            ),
            (
                "mailto:joe@x.com",
                r#"{"fragment":"","host":"","hostname":"","opaque":"joe@x.com","path":"","query":"","scheme":"mailto","userinfo":""}"#,
            ),
            (
                "http://[::1]:80/x",
                r#"{"fragment":"","host":"[::1]:80","hostname":"::1","opaque":"","path":"/x","query":"","scheme":"http","userinfo":""}"#,
            ),
            (
                "//h/p?",
                r#"{"fragment":"","host":"h","hostname":"h","opaque":"","path":"/p","query":"","scheme":"","userinfo":""}"#,
            ),
            (
                "a:b",
                r#"{"fragment":"","host":"","hostname":"","opaque":"b","path":"","query":"","scheme":"a","userinfo":""}"#,
            ),
            (
                "/p%2Fq?x#y",
                r#"{"fragment":"y","host":"","hostname":"","opaque":"","path":"/p/q","query":"x","scheme":"","userinfo":""}"#,
            ),
            (
                "http://a b.com/",
                r#"error: unable to parse url: parse "http://a b.com/": invalid character " " in host name"#,
            ),
            (
                "http://h:x/",
                r#"error: unable to parse url: parse "http://h:x/": invalid port ":x" after host"#,
            ),
            (
                "%zz",
                r#"error: unable to parse url: parse "%zz": invalid URL escape "%zz""#,
            ),
        ] {
            assert_eq!(
                json(call_seeded(b"n", "urlParse", &[Value::str(input)])),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn url_join_matches_helm() {
        // Each expectation printed by Helm 4.2.3.
        let join = |d: Value| text(call_seeded(b"n", "urlJoin", &[d]));
        assert_eq!(join(dict(&[("path", Value::str("a:b/c"))])), "./a:b/c");
        assert_eq!(
            join(Value::Nil),
            "error: wrong type for value; expected map[string]interface {}; got interface {}"
        );
        assert_eq!(
            join(dict(&[
                ("host", Value::str("h")),
                ("path", Value::str("p"))
            ])),
            "//h/p"
        );
        assert_eq!(
            join(dict(&[
                ("scheme", Value::str("file")),
                ("path", Value::str("/etc"))
            ])),
            "file:///etc"
        );
        assert_eq!(
            join(dict(&[("scheme", Value::Int(1))])),
            "error: unable to parse scheme key, must be of type string, but int found"
        );
        assert_eq!(
            join(dict(&[("userinfo", Value::str("us er:p@ss"))])),
            "error: unable to parse userinfo in dict: parse \"proto://us er:p@ss@host\": net/url: invalid userinfo"
        );
        assert_eq!(
            join(dict(&[
                ("scheme", Value::str("https")),
                ("host", Value::str("h:1")),
                ("path", Value::str("a b/c")),
                ("query", Value::str("q=1")),
                ("fragment", Value::str("f g!")),
                ("userinfo", Value::str("user:p%40ss")),
            ])),
            "https://user:p%40ss@h:1/a%20b/c?q=1#f%20g!"
        );
    }

    #[test]
    fn get_host_by_name_answers_empty_like_helm_without_dns() {
        assert_eq!(
            text(call_seeded(
                b"n",
                "getHostByName",
                &[Value::str("localhost")]
            )),
            ""
        );
    }

    #[test]
    fn lookup_goes_to_the_render_lookup() {
        let out = json(call_seeded(
            b"n",
            "lookup",
            &[
                Value::str("v1"),
                Value::str("Secret"),
                Value::str("ns"),
                Value::str("x"),
            ],
        ));
        assert_eq!(out, "{}");
    }
}
