//! Sprig's path functions: Go's `path` package (slash-separated), and the `os*` variants
//! from `path/filepath`, which behave the same on the Unix systems Helm runs on.

use super::{CallContext, FuncResult, Function, arity, string_arg};
use crate::value::Value;

pub fn get(name: &str) -> Option<Function> {
    Some(match name {
        "base" | "osBase" => base,
        "dir" | "osDir" => dir,
        "clean" | "osClean" => clean,
        "ext" | "osExt" => ext,
        "isAbs" | "osIsAbs" => is_abs,
        _ => return None,
    })
}

/// `path.Clean`: collapses slashes, drops `.` elements, resolves `..` against earlier
/// elements (never above the root), and gives "." for an empty result.
pub fn clean_path(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    // The number of leading `..` elements kept because they cannot be resolved.
    let mut kept_up = 0;
    for elem in path.split('/') {
        match elem {
            "" | "." => {}
            ".." => {
                if parts.len() > kept_up {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                    kept_up += 1;
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

fn base(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("base", args, 1)?;
    let path = string_arg(args, 0)?;
    if path.is_empty() {
        return Ok(Value::str("."));
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Value::str("/"));
    }
    let last = trimmed.rsplit('/').next().unwrap_or(trimmed);
    Ok(Value::str(last))
}

fn dir(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("dir", args, 1)?;
    let path = string_arg(args, 0)?;
    let head = path.rfind('/').map_or("", |i| &path[..=i]);
    Ok(Value::from(clean_path(head)))
}

fn clean(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("clean", args, 1)?;
    Ok(Value::from(clean_path(string_arg(args, 0)?)))
}

/// The suffix from the last `.` of the last element, or "".
fn ext(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("ext", args, 1)?;
    let path = string_arg(args, 0)?;
    let last = path.rsplit('/').next().unwrap_or(path);
    Ok(Value::str(last.rfind('.').map_or("", |i| &last[i..])))
}

fn is_abs(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("isAbs", args, 1)?;
    Ok(Value::Bool(string_arg(args, 0)?.starts_with('/')))
}

#[cfg(test)]
mod tests {
    use crate::engine::funcs::strings::tests::check_table;

    /// Verified with the Helm 4.2 oracle.
    const ORACLE: &str = r#"
base "/a/b/c.txt" ⇒ "c.txt"
base "/a/b/" ⇒ "b"
base "///" ⇒ "/"
base "" ⇒ "."
base "abc" ⇒ "abc"
osBase "a/b" ⇒ "b"
dir "/a/b/c.txt" ⇒ "/a/b"
dir "a/b" ⇒ "a"
dir "abc" ⇒ "."
dir "/" ⇒ "/"
dir "" ⇒ "."
dir "/a//b/../c/" ⇒ "/a/c"
osDir "x/y" ⇒ "x"
clean "a//b/./c/.." ⇒ "a/b"
clean "/../a" ⇒ "/a"
clean "../../a/../b" ⇒ "../../b"
clean "" ⇒ "."
clean "/" ⇒ "/"
clean "a/.." ⇒ "."
clean "./" ⇒ "."
clean "a/../../b" ⇒ "../b"
clean ".." ⇒ ".."
clean "/a/b/../../.." ⇒ "/"
osClean "x/./y" ⇒ "x/y"
ext "a/b.tar.gz" ⇒ ".gz"
ext "a.b/c" ⇒ ""
ext "noext" ⇒ ""
ext ".hidden" ⇒ ".hidden"
ext "a/" ⇒ ""
osExt "f.yaml" ⇒ ".yaml"
isAbs "/a" ⇒ "true"
isAbs "a" ⇒ "false"
isAbs "" ⇒ "false"
osIsAbs "/x" ⇒ "true"
"#;

    #[test]
    fn matches_helm() {
        check_table(ORACLE);
    }
}
