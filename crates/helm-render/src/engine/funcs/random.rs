//! Sprig's random functions and the random sources behind them.
//!
//! Helm draws from `crypto/rand` (and `math/rand` for `randInt`/`shuffle`), so its output is
//! never reproducible. The operator needs stable renders (NFR-002): a generated password must
//! not change on every reconcile. So every random draw goes through [`RandomSource`], which the
//! operator seeds per component ([`SeededRandom`]) and the CLI seeds from the OS
//! ([`OsRandom`]). The character sets and the way characters are picked follow
//! Masterminds/goutils' `CryptoRandom*`, which Sprig calls.

use std::convert::Infallible;

use base64::Engine as _;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng as _, TryCryptoRng, TryRng};
use sha2::{Digest as _, Sha256};

use super::{CallContext, FuncError, FuncResult, Function, RandomSource, arity};
use crate::gofmt::go_type;
use crate::value::Value;

/// A ChaCha20 stream keyed by the SHA-256 of an arbitrary seed (e.g. a Secret's bytes), so
/// that the same seed always yields the same passwords, keys and UUIDs.
pub struct SeededRandom(ChaCha20Rng);

impl SeededRandom {
    pub fn new(seed: &[u8]) -> Self {
        SeededRandom(ChaCha20Rng::from_seed(Sha256::digest(seed).into()))
    }
}

impl RandomSource for SeededRandom {
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

/// Unpredictable randomness for one-off renders: a ChaCha20 stream keyed once from the OS, so
/// that drawing never fails after construction.
pub struct OsRandom(ChaCha20Rng);

impl OsRandom {
    pub fn new() -> Result<Self, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        Ok(OsRandom(ChaCha20Rng::from_seed(key)))
    }
}

impl RandomSource for OsRandom {
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

/// Lets the RustCrypto key generators draw from the render's [`RandomSource`], so seeded
/// renders also reproduce private keys and certificate serial numbers.
pub(super) struct CryptoRng<'a>(pub &'a mut dyn RandomSource);

impl TryRng for CryptoRng<'_> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.0.next_u64() >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        fill_bytes(self.0, dst);
        Ok(())
    }
}

/// Keys are generated from this stream, so a [`RandomSource`] must be a CSPRNG; both
/// implementations here are ChaCha20.
impl TryCryptoRng for CryptoRng<'_> {}

pub(super) fn fill_bytes(random: &mut dyn RandomSource, dst: &mut [u8]) {
    for chunk in dst.chunks_mut(8) {
        let bytes = random.next_u64().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

/// A uniform integer in `[0, n)` by rejection sampling, like Go's `rand.Int` (no modulo bias).
pub(super) fn below(random: &mut dyn RandomSource, n: u64) -> u64 {
    if n <= 1 {
        return 0;
    }
    let bits = 64 - (n - 1).leading_zeros();
    loop {
        let x = random.next_u64() >> (64 - bits);
        if x < n {
            return x;
        }
    }
}

/// A Go `int` parameter: text/template accepts only an int (a float from values is refused).
pub(super) fn int_arg(args: &[Value], index: usize) -> Result<i64, FuncError> {
    match args.get(index) {
        Some(Value::Int(i)) => Ok(*i),
        other => Err(wrong_type("int", other)),
    }
}

/// Go's reflection error for an argument of the wrong type. A missing value (a nil from a
/// map) reaches a function as an untyped `interface {}`, and Go names it so.
pub(super) fn wrong_type(expected: &str, got: Option<&Value>) -> FuncError {
    let got = match got {
        Some(Value::Nil) | None => "interface {}".to_string(),
        Some(v) => go_type(v),
    };
    FuncError(format!(
        "wrong type for value; expected {expected}; got {got}"
    ))
}

pub fn get(name: &str) -> Option<Function> {
    Some(match name {
        "randAlphaNum" => rand_alpha_num,
        "randAlpha" => rand_alpha,
        "randNumeric" => rand_numeric,
        "randAscii" => rand_ascii,
        "randInt" => rand_int,
        "randBytes" => rand_bytes,
        "shuffle" => shuffle,
        "uuidv4" => uuidv4,
        _ => return None,
    })
}

/// Which characters goutils' `CryptoRandom` keeps from its candidate range.
#[derive(Clone, Copy)]
enum Charset {
    Letters,
    Digits,
    LettersAndDigits,
    /// Every printable ASCII character, space to `~`.
    Printable,
}

/// goutils draws candidates uniformly from `' '..='z'` (or `' '..='~'` for ASCII) and keeps
/// the ones of the wanted class; a negative count is an error that Sprig swallows into "".
fn random_string(ctx: &mut CallContext<'_>, count: i64, charset: Charset) -> String {
    let (start, end) = match charset {
        Charset::Printable => (32u8, 127u8),
        _ => (b' ', b'z' + 1),
    };
    let mut out = String::new();
    let mut remaining = count.max(0);
    while remaining > 0 {
        let ch = start + below(ctx.random, u64::from(end - start)) as u8;
        let keep = match charset {
            Charset::Letters => ch.is_ascii_alphabetic(),
            Charset::Digits => ch.is_ascii_digit(),
            Charset::LettersAndDigits => ch.is_ascii_alphanumeric(),
            Charset::Printable => true,
        };
        if keep {
            out.push(char::from(ch));
            remaining -= 1;
        }
    }
    out
}

fn string_of(ctx: &mut CallContext<'_>, name: &str, args: &[Value], cs: Charset) -> FuncResult {
    arity(name, args, 1)?;
    let count = int_arg(args, 0)?;
    Ok(Value::from(random_string(ctx, count, cs)))
}

fn rand_alpha_num(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    string_of(ctx, "randAlphaNum", args, Charset::LettersAndDigits)
}

fn rand_alpha(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    string_of(ctx, "randAlpha", args, Charset::Letters)
}

fn rand_numeric(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    string_of(ctx, "randNumeric", args, Charset::Digits)
}

fn rand_ascii(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    string_of(ctx, "randAscii", args, Charset::Printable)
}

/// `rand.Intn(max-min) + min`; Go panics (reported as an error) unless max > min.
fn rand_int(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("randInt", args, 2)?;
    let min = int_arg(args, 0)?;
    let max = int_arg(args, 1)?;
    let span = max
        .checked_sub(min)
        .filter(|s| *s > 0)
        .ok_or_else(|| FuncError::new("invalid argument to Intn"))?;
    let offset = below(ctx.random, span as u64) as i64;
    Ok(Value::Int(min + offset))
}

fn rand_bytes(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("randBytes", args, 1)?;
    let count = usize::try_from(int_arg(args, 0)?)
        .map_err(|_| FuncError::new("runtime error: makeslice: len out of range"))?;
    let mut buf = vec![0u8; count];
    fill_bytes(ctx.random, &mut buf);
    Ok(Value::from(
        base64::engine::general_purpose::STANDARD.encode(buf),
    ))
}

/// xstrings.Shuffle: a Fisher-Yates shuffle of the runes.
fn shuffle(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("shuffle", args, 1)?;
    let mut runes: Vec<char> = super::string_arg(args, 0)?.chars().collect();
    for i in (1..runes.len()).rev() {
        let j = below(ctx.random, i as u64 + 1) as usize;
        runes.swap(i, j);
    }
    Ok(Value::from(runes.into_iter().collect::<String>()))
}

/// A version 4 (random) UUID in its canonical lowercase form, as google/uuid prints it.
fn uuidv4(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("uuidv4", args, 0)?;
    let mut b = [0u8; 16];
    fill_bytes(ctx.random, &mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(Value::from(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::engine::funcs::OfflineLookup;

    /// Calls a function with a seeded source, as the operator does.
    pub(crate) fn call_seeded(seed: &[u8], name: &str, args: &[Value]) -> FuncResult {
        let mut random = SeededRandom::new(seed);
        call_with(&mut random, name, args)
    }

    pub(crate) fn call_with(
        random: &mut dyn RandomSource,
        name: &str,
        args: &[Value],
    ) -> FuncResult {
        let f =
            crate::engine::funcs::get(name).ok_or_else(|| FuncError::new("no such function"))?;
        let mut ctx = CallContext::new(&OfflineLookup, random);
        f(&mut ctx, args)
    }

    fn s(v: FuncResult) -> String {
        match v {
            Ok(Value::String(ref s)) => s.to_string(),
            other => panic!("expected a string, got {other:?}"),
        }
    }

    #[test]
    fn seeded_source_is_reproducible_and_seed_dependent() {
        let a = s(call_seeded(b"one", "randAlphaNum", &[Value::Int(32)]));
        let b = s(call_seeded(b"one", "randAlphaNum", &[Value::Int(32)]));
        let c = s(call_seeded(b"two", "randAlphaNum", &[Value::Int(32)]));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn os_source_differs_between_instances() {
        let mut r1 = OsRandom::new().expect("OS randomness");
        let mut r2 = OsRandom::new().expect("OS randomness");
        assert_ne!(r1.next_u64(), r2.next_u64());
    }

    #[test]
    fn character_classes_match_goutils() {
        let alnum = s(call_seeded(b"x", "randAlphaNum", &[Value::Int(500)]));
        assert!(alnum.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(alnum.chars().any(|c| c.is_ascii_digit()));
        let alpha = s(call_seeded(b"x", "randAlpha", &[Value::Int(500)]));
        assert!(alpha.chars().all(|c| c.is_ascii_alphabetic()));
        let num = s(call_seeded(b"x", "randNumeric", &[Value::Int(500)]));
        assert!(num.chars().all(|c| c.is_ascii_digit()));
        let ascii = s(call_seeded(b"x", "randAscii", &[Value::Int(2000)]));
        assert!(ascii.bytes().all(|c| (32..127).contains(&c)));
        assert!(ascii.contains(' ') && ascii.contains('~'));
    }

    #[test]
    fn negative_and_zero_counts_give_empty_strings_like_sprig() {
        assert_eq!(s(call_seeded(b"x", "randAlphaNum", &[Value::Int(-1)])), "");
        assert_eq!(s(call_seeded(b"x", "randAlpha", &[Value::Int(0)])), "");
    }

    #[test]
    fn typed_parameters_refuse_other_values_with_go_wording() {
        // Messages printed by Helm 4.2.3 (a missing value is an untyped `interface {}`).
        for (name, args, msg) in [
            (
                "randAlphaNum",
                vec![Value::Float(3.0)],
                "wrong type for value; expected int; got float64",
            ),
            (
                "randAlphaNum",
                vec![Value::Nil],
                "wrong type for value; expected int; got interface {}",
            ),
            (
                "unixEpoch",
                vec![Value::Nil],
                "wrong type for value; expected time.Time; got interface {}",
            ),
            (
                "genSignedCert",
                vec![
                    Value::str("a"),
                    Value::Nil,
                    Value::Nil,
                    Value::Int(1),
                    Value::Nil,
                ],
                "wrong type for value; expected sprig.certificate; got interface {}",
            ),
        ] {
            let err = call_seeded(b"x", name, &args).unwrap_err();
            assert_eq!(err.0, msg, "{name}");
        }
    }

    #[test]
    fn rand_int_stays_in_range_and_rejects_empty_range() {
        let mut r = SeededRandom::new(b"r");
        for _ in 0..200 {
            match call_with(&mut r, "randInt", &[Value::Int(-3), Value::Int(4)]) {
                Ok(Value::Int(i)) => assert!((-3..4).contains(&i)),
                other => panic!("{other:?}"),
            }
        }
        let err = call_seeded(b"x", "randInt", &[Value::Int(3), Value::Int(3)]).unwrap_err();
        assert_eq!(err.0, "invalid argument to Intn");
    }

    #[test]
    fn rand_bytes_is_base64_of_n_bytes() {
        let out = s(call_seeded(b"x", "randBytes", &[Value::Int(8)]));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(out)
            .expect("base64");
        assert_eq!(raw.len(), 8);
        assert_eq!(s(call_seeded(b"x", "randBytes", &[Value::Int(0)])), "");
    }

    #[test]
    fn shuffle_permutes_runes() {
        let out = s(call_seeded(b"x", "shuffle", &[Value::str("héllo wörld")]));
        let mut a: Vec<char> = out.chars().collect();
        let mut b: Vec<char> = "héllo wörld".chars().collect();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b);
        assert_eq!(s(call_seeded(b"x", "shuffle", &[Value::str("")])), "");
    }

    #[test]
    fn uuidv4_has_version_and_variant_bits() {
        let u = s(call_seeded(b"x", "uuidv4", &[]));
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(
            parts[3].chars().next(),
            Some('8' | '9' | 'a' | 'b')
        ));
        assert_ne!(u, s(call_seeded(b"y", "uuidv4", &[])));
    }
}
