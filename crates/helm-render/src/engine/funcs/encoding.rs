//! Sprig's base64 and base32 functions. Decoding failures are not errors in Sprig: the
//! function returns Go's error text (`illegal base64 data at input byte 4`) as its result,
//! so the decoders here follow Go's `encoding/base64` and `encoding/base32` closely enough to
//! report the same byte offset.

use super::{CallContext, FuncResult, Function, arity, string_arg};
use crate::value::Value;

pub fn get(name: &str) -> Option<Function> {
    Some(match name {
        "b64enc" => b64enc,
        "b64dec" => b64dec,
        "b32enc" => b32enc,
        "b32dec" => b32dec,
        _ => return None,
    })
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn b64_value(c: u8) -> Option<u8> {
    B64.iter().position(|x| *x == c).map(|p| p as u8)
}

fn b32_value(c: u8) -> Option<u8> {
    B32.iter().position(|x| *x == c).map(|p| p as u8)
}

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn is_newline(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

/// `base64.StdEncoding.DecodeString`: newlines are skipped; the error is the offset of the
/// first bad byte.
fn base64_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    while si < src.len() {
        let mut buf = [0u8; 4];
        let mut len = 4;
        let mut j = 0;
        let mut trailing = None;
        while j < 4 {
            let Some(&c) = src.get(si) else {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            };
            si += 1;
            if let Some(v) = b64_value(c) {
                buf[j] = v;
                j += 1;
                continue;
            }
            if is_newline(c) {
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    while src.get(si).is_some_and(|c| is_newline(*c)) {
                        si += 1;
                    }
                    match src.get(si) {
                        None => return Err(src.len()),
                        Some(b'=') => si += 1,
                        Some(_) => return Err(si - 1),
                    }
                }
                _ => {}
            }
            while src.get(si).is_some_and(|c| is_newline(*c)) {
                si += 1;
            }
            if si < src.len() {
                trailing = Some(si);
            }
            len = j;
            break;
        }
        let n = u32::from(buf[0]) << 18
            | u32::from(buf[1]) << 12
            | u32::from(buf[2]) << 6
            | u32::from(buf[3]);
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..len - 1]);
        if let Some(at) = trailing {
            return Err(at);
        }
        if len < 4 {
            break;
        }
    }
    Ok(out)
}

fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    for chunk in data.chunks(5) {
        let mut b = [0u8; 5];
        b[..chunk.len()].copy_from_slice(chunk);
        let n = b.iter().fold(0u64, |acc, x| acc << 8 | u64::from(*x));
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(char::from(B32[(n >> (35 - 5 * i) & 31) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base32.StdEncoding.DecodeString`: newlines are removed first, and offsets count in the
/// remaining input.
fn base32_decode(input: &[u8]) -> Result<Vec<u8>, usize> {
    let stripped: Vec<u8> = input.iter().copied().filter(|c| !is_newline(*c)).collect();
    let olen = stripped.len();
    let mut src = stripped.as_slice();
    let mut out = Vec::new();
    let mut end = false;
    while !src.is_empty() && !end {
        let mut buf = [0u8; 8];
        let mut len = 8;
        let mut j = 0;
        while j < 8 {
            let Some((&c, rest)) = src.split_first() else {
                return Err(olen - src.len() - j);
            };
            src = rest;
            if c == b'=' && j >= 2 && src.len() < 8 {
                if src.len() + j < 7 {
                    return Err(olen);
                }
                for k in 0..7 - j {
                    if src.get(k).is_some_and(|c| *c != b'=') {
                        return Err(olen - src.len() + k - 1);
                    }
                }
                len = j;
                end = true;
                if matches!(len, 1 | 3 | 6) {
                    return Err(olen - src.len() - 1);
                }
                break;
            }
            buf[j] = b32_value(c).ok_or(olen - src.len() - 1)?;
            j += 1;
        }
        let n = buf.iter().fold(0u64, |acc, x| acc << 5 | u64::from(*x));
        let bytes = n.to_be_bytes();
        let count = match len {
            2 => 1,
            4 => 2,
            5 => 3,
            7 => 4,
            _ => 5,
        };
        out.extend_from_slice(&bytes[3..3 + count]);
    }
    Ok(out)
}

/// Go strings may hold any bytes; ours must be UTF-8, so invalid sequences become U+FFFD.
fn bytes_to_value(bytes: Vec<u8>) -> Value {
    match String::from_utf8(bytes) {
        Ok(s) => Value::from(s),
        Err(e) => Value::from(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

fn b64enc(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("b64enc", args, 1)?;
    Ok(Value::from(base64_encode(string_arg(args, 0)?.as_bytes())))
}

fn b64dec(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("b64dec", args, 1)?;
    Ok(match base64_decode(string_arg(args, 0)?.as_bytes()) {
        Ok(bytes) => bytes_to_value(bytes),
        Err(at) => Value::from(format!("illegal base64 data at input byte {at}")),
    })
}

fn b32enc(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("b32enc", args, 1)?;
    Ok(Value::from(base32_encode(string_arg(args, 0)?.as_bytes())))
}

fn b32dec(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("b32dec", args, 1)?;
    Ok(match base32_decode(string_arg(args, 0)?.as_bytes()) {
        Ok(bytes) => bytes_to_value(bytes),
        Err(at) => Value::from(format!("illegal base32 data at input byte {at}")),
    })
}

#[cfg(test)]
mod tests {
    use crate::engine::funcs::strings::tests::check_table;

    /// Verified with the Helm 4.2 oracle.
    const ORACLE: &str = r#"
b64enc "" ⇒ ""
b64enc "a" ⇒ "YQ=="
b64enc "ab" ⇒ "YWI="
b64enc "abc" ⇒ "YWJj"
b64enc "hello world é" ⇒ "aGVsbG8gd29ybGQgw6k="
b64dec "aGVsbG8gd29ybGQgw6k=" ⇒ "hello world é"
b64dec "YQ==" ⇒ "a"
b64dec "YWI=" ⇒ "ab"
b64dec "YQ" ⇒ "illegal base64 data at input byte 0"
b64dec "Y" ⇒ "illegal base64 data at input byte 0"
b64dec "YQ=" ⇒ "illegal base64 data at input byte 3"
b64dec "YQ==YQ==" ⇒ "illegal base64 data at input byte 4"
b64dec "YQ==\n" ⇒ "a"
b64dec "YW\nJj" ⇒ "abc"
b64dec "a!bc" ⇒ "illegal base64 data at input byte 1"
b64dec "=abc" ⇒ "illegal base64 data at input byte 0"
b64dec "YQ=a" ⇒ "illegal base64 data at input byte 2"
b64dec "YWJj\nZA==" ⇒ "abcd"
b64dec "" ⇒ ""
b64dec "YWJjZGVmZ2hp" ⇒ "abcdefghi"
b64dec "YWJjZGVm!2hp" ⇒ "illegal base64 data at input byte 8"
b32enc "" ⇒ ""
b32enc "a" ⇒ "ME======"
b32enc "ab" ⇒ "MFRA===="
b32enc "abc" ⇒ "MFRGG==="
b32enc "abcd" ⇒ "MFRGGZA="
b32enc "abcde" ⇒ "MFRGGZDF"
b32enc "hello world" ⇒ "NBSWY3DPEB3W64TMMQ======"
b32dec "ME======" ⇒ "a"
b32dec "MFRA====" ⇒ "ab"
b32dec "MFRGG===" ⇒ "abc"
b32dec "MFRGGZA=" ⇒ "abcd"
b32dec "MFRGGZDF" ⇒ "abcde"
b32dec "NBSWY3DPEB3W64TMMQ======" ⇒ "hello world"
b32dec "ME" ⇒ "illegal base32 data at input byte 0"
b32dec "M" ⇒ "illegal base32 data at input byte 0"
b32dec "ME=====a" ⇒ "illegal base32 data at input byte 6"
b32dec "M1======" ⇒ "illegal base32 data at input byte 1"
b32dec "MFR=====" ⇒ "illegal base32 data at input byte 3"
b32dec "ME=====" ⇒ "illegal base32 data at input byte 7"
b32dec "MF\nRA====" ⇒ "ab"
b32dec "mfra====" ⇒ "illegal base32 data at input byte 0"
b32dec "" ⇒ ""
"#;

    #[test]
    fn matches_helm() {
        check_table(ORACLE);
    }
}
