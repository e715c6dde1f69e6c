//! Sprig's key and certificate functions: `genPrivateKey`, `genCA`, `genSelfSignedCert`,
//! `genSignedCert`, their `…WithKey` forms and `buildCustomCert`.
//!
//! The certificates are assembled in DER by hand, field by field as Go's
//! `x509.CreateCertificate` lays out Sprig's template (extension order, key usage bit
//! strings, PrintableString vs UTF8String names, SAN order, a subject key id of truncated
//! SHA-256 for CAs, an authority key id from the parent), so that they differ from Helm's only
//! where Helm's differ from run to run: keys, serial numbers and validity times. Keys and
//! serial numbers come from the render's random source, so seeded renders reproduce them;
//! the validity starts at the current time, as in Sprig.
//!
//! Supported keys are those Sprig generates: RSA, ECDSA P-256, Ed25519 (and DSA, which Go
//! cannot put in a certificate either). Keys on other curves are refused.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use chrono::{DateTime, Datelike as _};
use ed25519_dalek::Signer as _;
use rsa::Generate as _;
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _, EncodeRsaPublicKey as _};
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::SignatureEncoding as _;
use sha2::{Digest as _, Sha256};
use x509_cert::der::{self, Decode as _, Encode as _};

use super::random::{CryptoRng, fill_bytes, int_arg, wrong_type};
use super::{CallContext, FuncError, FuncResult, Function, arity, string_arg};
use crate::value::{Map, Object, Value};

pub fn get(name: &str) -> Option<Function> {
    Some(match name {
        "genPrivateKey" => gen_private_key,
        "buildCustomCert" => build_custom_cert,
        "genCA" => gen_ca,
        "genCAWithKey" => gen_ca_with_key,
        "genSelfSignedCert" => gen_self_signed_cert,
        "genSelfSignedCertWithKey" => gen_self_signed_cert_with_key,
        "genSignedCert" => gen_signed_cert,
        "genSignedCertWithKey" => gen_signed_cert_with_key,
        _ => return None,
    })
}

/// Minimal DER encoding: everything a certificate needs.
mod der_out {
    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }

    pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }

    /// A non-negative INTEGER from big-endian magnitude bytes.
    pub fn uint(be: &[u8]) -> Vec<u8> {
        let trimmed: Vec<u8> = be.iter().copied().skip_while(|b| *b == 0).collect();
        let mut content = Vec::with_capacity(trimmed.len() + 1);
        if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
            content.push(0);
        }
        content.extend(trimmed);
        tlv(0x02, &content)
    }

    pub fn oid(arcs: &[u64]) -> Vec<u8> {
        let mut content = Vec::new();
        let first = arcs.first().copied().unwrap_or(0) * 40 + arcs.get(1).copied().unwrap_or(0);
        for arc in std::iter::once(first).chain(arcs.iter().skip(2).copied()) {
            let mut groups = vec![(arc & 0x7f) as u8];
            let mut rest = arc >> 7;
            while rest > 0 {
                groups.push((rest & 0x7f) as u8 | 0x80);
                rest >>= 7;
            }
            groups.reverse();
            content.extend(groups);
        }
        tlv(0x06, &content)
    }

    pub fn null() -> Vec<u8> {
        vec![0x05, 0x00]
    }

    pub fn bit_string(unused: u8, bytes: &[u8]) -> Vec<u8> {
        let mut content = vec![unused];
        content.extend_from_slice(bytes);
        tlv(0x03, &content)
    }

    pub fn octets(bytes: &[u8]) -> Vec<u8> {
        tlv(0x04, bytes)
    }

    pub fn boolean_true() -> Vec<u8> {
        vec![0x01, 0x01, 0xff]
    }
}

use der_out::{bit_string, octets, oid, seq, tlv, uint};

const OID_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 1];
const OID_SHA256_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 11];
const OID_EC_PUBLIC_KEY: &[u64] = &[1, 2, 840, 10045, 2, 1];
const OID_P256: &[u64] = &[1, 2, 840, 10045, 3, 1, 7];
const OID_ECDSA_SHA256: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];
const OID_ED25519: &[u64] = &[1, 3, 101, 112];
const OID_COMMON_NAME: &[u64] = &[2, 5, 4, 3];
const OID_KEY_USAGE: &[u64] = &[2, 5, 29, 15];
const OID_EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const OID_SUBJECT_KEY_ID: &[u64] = &[2, 5, 29, 14];
const OID_AUTHORITY_KEY_ID: &[u64] = &[2, 5, 29, 35];
const OID_SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];
const OID_SERVER_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 1];
const OID_CLIENT_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 2];

/// A private key of a kind Sprig generates.
enum Key {
    Rsa(Box<rsa::PrivateKey>),
    Ecdsa(p256::SecretKey),
    Ed25519(ed25519_dalek::SigningKey),
    /// Kept only as its PEM body: Go can neither sign with nor certify a DSA key.
    Dsa,
}

fn err(msg: impl Into<String>) -> FuncError {
    FuncError::new(msg)
}

fn pem(kind: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {kind}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {kind}-----\n"));
    out
}

/// Go's `pem.Decode`: the first block's type and bytes.
fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let (kind, rest) = rest.split_once("-----")?;
    let end_marker = format!("-----END {kind}-----");
    let (body, _) = rest.split_once(&end_marker)?;
    let b64: String = body
        .lines()
        .filter(|l| !l.contains(':'))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some((kind.to_string(), bytes))
}

fn uint_bytes(n: &dsa::BoxedUint) -> Vec<u8> {
    n.to_be_bytes().to_vec()
}

impl Key {
    fn generate_rsa(ctx: &mut CallContext<'_>, bits: usize) -> Result<Key, FuncError> {
        rsa::PrivateKey::new(&mut CryptoRng(ctx.random), bits)
            .map(|k| Key::Rsa(Box::new(k)))
            .map_err(|e| err(format!("error generating rsa key: {e}")))
    }

    /// The PEM block `pemBlockForKey` writes.
    fn to_pem(&self, ctx: &mut CallContext<'_>) -> Result<String, FuncError> {
        let fail = |e: String| err(format!("error pem-encoding key: {e}"));
        match self {
            Key::Rsa(k) => {
                let der = k.to_pkcs1_der().map_err(|e| fail(e.to_string()))?;
                Ok(pem("RSA PRIVATE KEY", der.as_bytes()))
            }
            Key::Ecdsa(k) => {
                let der = k.to_sec1_der().map_err(|e| fail(e.to_string()))?;
                Ok(pem("EC PRIVATE KEY", &der))
            }
            Key::Ed25519(k) => {
                let der = seq(&[
                    uint(&[0]),
                    seq(&[oid(OID_ED25519)]),
                    octets(&octets(&k.to_bytes())),
                ]);
                Ok(pem("PRIVATE KEY", &der))
            }
            Key::Dsa => Ok(pem("DSA PRIVATE KEY", &generate_dsa_der(ctx)?)),
        }
    }

    /// The DER SubjectPublicKeyInfo and the raw public key bits inside it.
    fn public_key_info(&self) -> Result<(Vec<u8>, Vec<u8>), FuncError> {
        let (alg, bits) = match self {
            Key::Rsa(k) => {
                let pkcs1 = k
                    .to_public_key()
                    .to_pkcs1_der()
                    .map_err(|e| err(format!("x509: {e}")))?;
                (
                    seq(&[oid(OID_RSA), der_out::null()]),
                    pkcs1.as_bytes().to_vec(),
                )
            }
            Key::Ecdsa(k) => (
                seq(&[oid(OID_EC_PUBLIC_KEY), oid(OID_P256)]),
                k.public_key().to_sec1_bytes().to_vec(),
            ),
            Key::Ed25519(k) => (
                seq(&[oid(OID_ED25519)]),
                k.verifying_key().to_bytes().to_vec(),
            ),
            Key::Dsa => {
                return Err(err(
                    "error creating certificate: x509: unsupported public key type: *dsa.PublicKey",
                ));
            }
        };
        Ok((seq(&[alg, bit_string(0, &bits)]), bits))
    }

    fn signature_algorithm(&self) -> Result<Vec<u8>, FuncError> {
        match self {
            Key::Rsa(_) => Ok(seq(&[oid(OID_SHA256_RSA), der_out::null()])),
            Key::Ecdsa(_) => Ok(seq(&[oid(OID_ECDSA_SHA256)])),
            Key::Ed25519(_) => Ok(seq(&[oid(OID_ED25519)])),
            Key::Dsa => Err(err(
                "error creating certificate: x509: certificate private key does not implement crypto.Signer",
            )),
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, FuncError> {
        match self {
            Key::Rsa(k) => {
                let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(k.as_ref().clone());
                let sig = signer
                    .try_sign(message)
                    .map_err(|e| err(format!("error creating certificate: {e}")))?;
                Ok(sig.to_vec())
            }
            Key::Ecdsa(k) => {
                let signer = p256::ecdsa::SigningKey::from(k);
                let sig: p256::ecdsa::Signature = signer.sign(message);
                Ok(sig.to_der().as_bytes().to_vec())
            }
            Key::Ed25519(k) => Ok(k.sign(message).to_bytes().to_vec()),
            Key::Dsa => Err(err(
                "error creating certificate: x509: certificate private key does not implement crypto.Signer",
            )),
        }
    }
}

/// A DSA L2048N256 key in the ad-hoc ASN.1 layout Sprig writes (version, P, Q, G, Y, X).
fn generate_dsa_der(ctx: &mut CallContext<'_>) -> Result<Vec<u8>, FuncError> {
    let fail = |_| err("failed to generate private key: random source failed");
    let mut rng = CryptoRng(ctx.random);
    let components =
        dsa::Components::try_generate_from_rng_with_key_size(&mut rng, dsa::KeySize::DSA_2048_256)
            .map_err(fail)?;
    let key = dsa::SigningKey::try_generate_from_rng_with_components(&mut rng, components)
        .map_err(fail)?;
    let public = key.verifying_key();
    let c = public.components();
    Ok(seq(&[
        uint(&[0]),
        uint(&uint_bytes(c.p())),
        uint(&uint_bytes(c.q())),
        uint(&uint_bytes(c.g())),
        uint(&uint_bytes(public.y())),
        uint(&uint_bytes(key.x())),
    ]))
}

/// Go's `parsePrivateKeyPEM` as Sprig words its failures.
fn parse_private_key_pem(text: &str) -> Result<Key, FuncError> {
    let (kind, der) = pem_decode(text).ok_or_else(|| err("no PEM data in input"))?;
    if kind == "PRIVATE KEY" {
        return parse_pkcs8(&der).map_err(|e| err(format!("decoding PEM as PKCS#8: {e}")));
    }
    let Some(prefix) = kind.strip_suffix(" PRIVATE KEY") else {
        return Err(err(format!(
            "no private key data in PEM block of type {kind}"
        )));
    };
    match prefix {
        "RSA" => rsa::PrivateKey::from_pkcs1_der(&der)
            .map(|k| Key::Rsa(Box::new(k)))
            .map_err(|e| err(format!("parsing RSA private key from PEM: {e}"))),
        "EC" => p256::SecretKey::from_sec1_der(&der)
            .map(Key::Ecdsa)
            .map_err(|e| err(format!("parsing EC private key from PEM: {e}"))),
        "DSA" => Ok(Key::Dsa),
        _ => Err(err(format!("invalid private key type {kind}"))),
    }
}

fn parse_pkcs8(der: &[u8]) -> Result<Key, String> {
    if let Ok(k) = rsa::PrivateKey::from_pkcs8_der(der) {
        return Ok(Key::Rsa(Box::new(k)));
    }
    if let Ok(k) = p256::SecretKey::from_pkcs8_der(der) {
        return Ok(Key::Ecdsa(k));
    }
    ed25519_dalek::SigningKey::from_pkcs8_der(der)
        .map(Key::Ed25519)
        .map_err(|e| format!("x509: failed to parse private key: {e}"))
}

/// `genPrivateKey "rsa"|"dsa"|"ecdsa"|"ed25519"`: a PEM key, or Sprig's message as text.
fn gen_private_key(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("genPrivateKey", args, 1)?;
    let kind = string_arg(args, 0)?;
    let key = match kind {
        "" | "rsa" => Key::generate_rsa(ctx, 4096),
        "dsa" => Ok(Key::Dsa),
        "ecdsa" => Ok(Key::Ecdsa(p256::SecretKey::generate_from_rng(
            &mut CryptoRng(ctx.random),
        ))),
        "ed25519" => Ok(Key::Ed25519(ed25519_dalek::SigningKey::generate(
            &mut CryptoRng(ctx.random),
        ))),
        other => return Ok(Value::from(format!("Unknown type {other}"))),
    };
    let text = match key.and_then(|k| k.to_pem(ctx)) {
        Ok(pem) => pem,
        Err(e) => format!("failed to generate private key: {}", e.0),
    };
    Ok(Value::from(text))
}

/// Sprig's `certificate` struct.
#[derive(Debug, Clone, PartialEq)]
pub struct Certificate {
    cert: String,
    key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> &str {
        "sprig.certificate"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::str(&self.cert)),
            "Key" => Some(Value::str(&self.key)),
            _ => None,
        }
    }

    fn display(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }

    fn to_data(&self) -> Value {
        let mut m = Map::new();
        m.insert("Cert".into(), Value::str(&self.cert));
        m.insert("Key".into(), Value::str(&self.key));
        Value::map(m)
    }
}

fn certificate_arg(v: &Value) -> Result<Certificate, FuncError> {
    match v {
        Value::Object(o) if o.type_name() == "sprig.certificate" => {
            let text = |f: &str| {
                o.field(f)
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            };
            Ok(Certificate {
                cert: text("Cert"),
                key: text("Key"),
            })
        }
        other => Err(wrong_type("sprig.certificate", Some(other))),
    }
}

/// A `[]interface{}` parameter: a list, or nil. Charts pass a literal `nil` here all the time
/// (`genSignedCert "x" nil (list ...) 365 $ca`), which Go accepts; a missing value, which Go
/// refuses, looks the same to us and is accepted too.
fn list_arg(v: &Value) -> Result<&[Value], FuncError> {
    match v {
        Value::Nil => Ok(&[]),
        Value::List(items) => Ok(items),
        other => Err(wrong_type("[]interface {}", Some(other))),
    }
}

/// `net.ParseIP`, as the 4- or 16-byte form x509 writes.
fn ip_bytes(v: &Value) -> Result<Vec<u8>, FuncError> {
    let Value::String(s) = v else {
        return Err(err(format!(
            "error parsing ip: {} is not a string",
            crate::gofmt::format_value(v)
        )));
    };
    match s.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => Ok(a.octets().to_vec()),
        Ok(IpAddr::V6(a)) => Ok(a
            .to_ipv4_mapped()
            .map_or_else(|| a.octets().to_vec(), |v4| v4.octets().to_vec())),
        Err(_) => Err(err(format!("error parsing ip: {s}"))),
    }
}

fn dns_name(v: &Value) -> Result<String, FuncError> {
    match v {
        Value::String(s) => Ok(s.to_string()),
        other => Err(err(format!(
            "error processing alternate dns name: {} is not a string",
            crate::gofmt::format_value(other)
        ))),
    }
}

/// What Sprig's `getBaseCertTemplate` puts in a certificate.
struct Template {
    common_name: String,
    ips: Vec<Vec<u8>>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

fn template(cn: &str, ips: &Value, dns: &Value, days: i64) -> Result<Template, FuncError> {
    let ips = list_arg(ips)?
        .iter()
        .map(ip_bytes)
        .collect::<Result<Vec<_>, _>>()?;
    let dns = list_arg(dns)?
        .iter()
        .map(dns_name)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Template {
        common_name: cn.to_string(),
        ips,
        dns,
        days,
        is_ca: false,
    })
}

/// Go's asn1 picks PrintableString when every character allows it (no `*`, `&`, `_`, …).
fn directory_string(s: &str) -> Vec<u8> {
    let printable = s.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'\'' | b'(' | b')' | b'+' | b',' | b'-' | b'.' | b'/' | b':' | b'=' | b'?' | b' '
            )
    });
    tlv(if printable { 0x13 } else { 0x0c }, s.as_bytes())
}

fn name(common_name: &str) -> Vec<u8> {
    if common_name.is_empty() {
        return seq(&[]);
    }
    seq(&[tlv(
        0x31,
        &seq(&[oid(OID_COMMON_NAME), directory_string(common_name)]),
    )])
}

/// UTCTime through 2049, GeneralizedTime after, as Go encodes validity.
fn asn1_time(unix: i64) -> Vec<u8> {
    let t = DateTime::from_timestamp(unix, 0).unwrap_or_default();
    if (1950..2050).contains(&t.year()) {
        tlv(0x17, t.format("%y%m%d%H%M%SZ").to_string().as_bytes())
    } else {
        tlv(0x18, t.format("%Y%m%d%H%M%SZ").to_string().as_bytes())
    }
}

fn extension(id: &[u64], critical: bool, value: Vec<u8>) -> Vec<u8> {
    let mut parts = vec![oid(id)];
    if critical {
        parts.push(der_out::boolean_true());
    }
    parts.push(octets(&value));
    seq(&parts)
}

/// Go's key usage bit string: bits reversed per byte, trailing zero bits marked unused.
fn key_usage(is_ca: bool) -> Vec<u8> {
    const DIGITAL_SIGNATURE: u8 = 1;
    const KEY_ENCIPHERMENT: u8 = 1 << 2;
    const CERT_SIGN: u8 = 1 << 5;
    let mut ku = DIGITAL_SIGNATURE | KEY_ENCIPHERMENT;
    if is_ca {
        ku |= CERT_SIGN;
    }
    let byte = ku.reverse_bits();
    bit_string(byte.trailing_zeros() as u8, &[byte])
}

/// The parent of a certificate: its subject (the child's issuer), its subject key id and its
/// public key bits.
struct Issuer {
    subject: Vec<u8>,
    key_id: Option<Vec<u8>>,
    public_key_bits: Vec<u8>,
}

fn parse_issuer(cert_pem: &str) -> Result<Issuer, FuncError> {
    let (_, der) = pem_decode(cert_pem).ok_or_else(|| err("unable to decode certificate"))?;
    let cert = x509_cert::Certificate::from_der(&der).map_err(|e| {
        err(format!(
            "error parsing certificate: decodedSignerCert.Bytes: x509: malformed certificate: {e}"
        ))
    })?;
    let tbs = cert.tbs_certificate();
    let subject = tbs
        .subject()
        .to_der()
        .map_err(|e| err(format!("error parsing certificate: {e}")))?;
    let ski_oid = der::asn1::ObjectIdentifier::new_unwrap("2.5.29.14");
    let key_id = tbs
        .extensions()
        .into_iter()
        .flatten()
        .find(|e| e.extn_id == ski_oid)
        .and_then(|e| der::asn1::OctetString::from_der(e.extn_value.as_bytes()).ok())
        .map(|o| o.as_bytes().to_vec());
    let public_key_bits = tbs
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec();
    Ok(Issuer {
        subject,
        key_id,
        public_key_bits,
    })
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Go's `x509.CreateCertificate` for Sprig's template, PEM-encoded.
fn create_certificate(
    ctx: &mut CallContext<'_>,
    t: &Template,
    subject_key: &Key,
    parent: Option<(&Issuer, &Key)>,
) -> Result<String, FuncError> {
    let signer = parent.map_or(subject_key, |(_, k)| k);
    let signature_algorithm = signer.signature_algorithm()?;
    let (spki, key_bits) = subject_key.public_key_info()?;
    let subject = name(&t.common_name);
    let issuer = parent.map_or_else(|| subject.clone(), |(i, _)| i.subject.clone());
    if let Some((i, k)) = parent {
        let (_, signer_bits) = k.public_key_info()?;
        if signer_bits != i.public_key_bits {
            return Err(err(
                "error creating certificate: x509: provided PrivateKey doesn't match parent's PublicKey",
            ));
        }
    }

    let mut serial = [0u8; 16];
    fill_bytes(ctx.random, &mut serial);
    let not_before = now_unix();
    let not_after = not_before.saturating_add(t.days.saturating_mul(86_400));

    let mut extensions = vec![
        extension(OID_KEY_USAGE, true, key_usage(t.is_ca)),
        extension(
            OID_EXT_KEY_USAGE,
            false,
            seq(&[oid(OID_SERVER_AUTH), oid(OID_CLIENT_AUTH)]),
        ),
        extension(
            OID_BASIC_CONSTRAINTS,
            true,
            if t.is_ca {
                seq(&[der_out::boolean_true()])
            } else {
                seq(&[])
            },
        ),
    ];
    if t.is_ca {
        let key_id = &Sha256::digest(&key_bits)[..20];
        extensions.push(extension(OID_SUBJECT_KEY_ID, false, octets(key_id)));
    }
    if let Some(key_id) = parent
        .and_then(|(i, _)| i.key_id.as_ref())
        .filter(|_| issuer != subject)
    {
        extensions.push(extension(
            OID_AUTHORITY_KEY_ID,
            false,
            seq(&[tlv(0x80, key_id)]),
        ));
    }
    if !t.dns.is_empty() || !t.ips.is_empty() {
        let mut names = Vec::new();
        for d in &t.dns {
            if !d.is_ascii() {
                return Err(err(format!(
                    "error creating certificate: x509: {} cannot be encoded as an IA5String",
                    crate::gofmt::go_quote(d)
                )));
            }
            names.push(tlv(0x82, d.as_bytes()));
        }
        for ip in &t.ips {
            names.push(tlv(0x87, ip));
        }
        extensions.push(extension(
            OID_SUBJECT_ALT_NAME,
            t.common_name.is_empty(),
            seq(&names),
        ));
    }

    let tbs = seq(&[
        tlv(0xa0, &uint(&[2])),
        uint(&serial),
        signature_algorithm.clone(),
        issuer,
        seq(&[asn1_time(not_before), asn1_time(not_after)]),
        subject,
        spki,
        tlv(0xa3, &seq(&extensions)),
    ]);
    let signature = signer.sign(&tbs)?;
    let cert = seq(&[tbs, signature_algorithm, bit_string(0, &signature)]);
    Ok(pem("CERTIFICATE", &cert))
}

fn certificate_value(
    ctx: &mut CallContext<'_>,
    t: &Template,
    key: &Key,
    parent: Option<(&Issuer, &Key)>,
) -> FuncResult {
    let cert = create_certificate(ctx, t, key, parent)?;
    let key = key.to_pem(ctx)?;
    Ok(Value::Object(Arc::new(Certificate { cert, key })))
}

fn key_arg(args: &[Value], index: usize) -> Result<Key, FuncError> {
    parse_private_key_pem(string_arg(args, index)?)
        .map_err(|e| err(format!("parsing private key: {}", e.0)))
}

fn ca(ctx: &mut CallContext<'_>, args: &[Value], key: Key) -> FuncResult {
    let cn = string_arg(args, 0)?;
    let days = int_arg(args, 1)?;
    let mut t = template(cn, &Value::Nil, &Value::Nil, days)?;
    t.is_ca = true;
    certificate_value(ctx, &t, &key, None)
}

fn gen_ca(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("genCA", args, 2)?;
    string_arg(args, 0)?;
    int_arg(args, 1)?;
    let key = Key::generate_rsa(ctx, 2048)?;
    ca(ctx, args, key)
}

fn gen_ca_with_key(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("genCAWithKey", args, 3)?;
    let key = key_arg(args, 2)?;
    ca(ctx, args, key)
}

fn self_signed(ctx: &mut CallContext<'_>, args: &[Value], key: Key) -> FuncResult {
    let cn = string_arg(args, 0)?;
    let days = int_arg(args, 3)?;
    let t = template(cn, &args[1], &args[2], days)?;
    certificate_value(ctx, &t, &key, None)
}

fn gen_self_signed_cert(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("genSelfSignedCert", args, 4)?;
    string_arg(args, 0)?;
    list_arg(&args[1])?;
    list_arg(&args[2])?;
    int_arg(args, 3)?;
    let key = Key::generate_rsa(ctx, 2048)?;
    self_signed(ctx, args, key)
}

fn gen_self_signed_cert_with_key(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("genSelfSignedCertWithKey", args, 5)?;
    let key = key_arg(args, 4)?;
    self_signed(ctx, args, key)
}

fn signed(ctx: &mut CallContext<'_>, args: &[Value], key: Key) -> FuncResult {
    let cn = string_arg(args, 0)?;
    let days = int_arg(args, 3)?;
    let ca = certificate_arg(&args[4])?;
    let issuer = parse_issuer(&ca.cert)?;
    let signer = parse_private_key_pem(&ca.key)
        .map_err(|e| err(format!("error parsing private key: {}", e.0)))?;
    let t = template(cn, &args[1], &args[2], days)?;
    certificate_value(ctx, &t, &key, Some((&issuer, &signer)))
}

fn gen_signed_cert(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("genSignedCert", args, 5)?;
    string_arg(args, 0)?;
    list_arg(&args[1])?;
    list_arg(&args[2])?;
    int_arg(args, 3)?;
    certificate_arg(&args[4])?;
    let key = Key::generate_rsa(ctx, 2048)?;
    signed(ctx, args, key)
}

fn gen_signed_cert_with_key(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("genSignedCertWithKey", args, 6)?;
    let key = key_arg(args, 5)?;
    signed(ctx, args, key)
}

/// Checks a base64 certificate and key and hands them back as a certificate.
fn build_custom_cert(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("buildCustomCert", args, 2)?;
    let b64 = &base64::engine::general_purpose::STANDARD;
    let cert = b64
        .decode(string_arg(args, 0)?)
        .map_err(|_| err("unable to decode base64 certificate"))?;
    let key = b64
        .decode(string_arg(args, 1)?)
        .map_err(|_| err("unable to decode base64 private key"))?;
    let cert = String::from_utf8_lossy(&cert).into_owned();
    let key = String::from_utf8_lossy(&key).into_owned();
    let (_, der) = pem_decode(&cert).ok_or_else(|| err("unable to decode certificate"))?;
    x509_cert::Certificate::from_der(&der).map_err(|e| {
        err(format!(
            "error parsing certificate: decodedCert.Bytes: x509: malformed certificate: {e}"
        ))
    })?;
    parse_private_key_pem(&key).map_err(|e| err(format!("error parsing private key: {}", e.0)))?;
    Ok(Value::Object(Arc::new(Certificate { cert, key })))
}

#[cfg(test)]
mod tests {
    use super::super::random::SeededRandom;
    use super::super::random::tests::{call_seeded, call_with};
    use super::*;
    use x509_cert::ext::pkix::{BasicConstraints, SubjectAltName};

    fn cert_of(v: &Value) -> Certificate {
        certificate_arg(v).expect("a certificate")
    }

    fn parse(pem_text: &str) -> x509_cert::Certificate {
        let (kind, der) = pem_decode(pem_text).expect("PEM");
        assert_eq!(kind, "CERTIFICATE");
        x509_cert::Certificate::from_der(&der).expect("valid X.509")
    }

    fn ext<'a>(c: &'a x509_cert::Certificate, id: &str) -> Option<&'a [u8]> {
        let id = der::asn1::ObjectIdentifier::new_unwrap(id);
        c.tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
            .find(|e| e.extn_id == id)
            .map(|e| e.extn_value.as_bytes())
    }

    fn verify_rsa_signature(cert: &x509_cert::Certificate, issuer_key_pem: &str) {
        use rsa::signature::Verifier as _;
        let Ok(Key::Rsa(k)) = parse_private_key_pem(issuer_key_pem) else {
            panic!("RSA issuer key")
        };
        let verifier = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(k.to_public_key());
        let tbs = cert.tbs_certificate().to_der().expect("re-encode");
        let sig = rsa::pkcs1v15::Signature::try_from(cert.signature().raw_bytes())
            .expect("signature bytes");
        verifier.verify(&tbs, &sig).expect("valid signature");
    }

    #[test]
    fn gen_ca_is_a_self_signed_ca_like_sprigs() {
        let ca =
            call_seeded(b"ca", "genCA", &[Value::str("my-ca"), Value::Int(365)]).expect("genCA");
        let Value::Object(o) = &ca else {
            panic!("object")
        };
        assert_eq!(o.type_name(), "sprig.certificate");
        let ca = cert_of(&ca);
        assert!(ca.key.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        let c = parse(&ca.cert);
        let tbs = c.tbs_certificate();
        assert_eq!(tbs.subject().to_string(), "CN=my-ca");
        assert_eq!(tbs.issuer().to_string(), "CN=my-ca");
        let validity = tbs.validity();
        let days = (validity.not_after.to_unix_duration() - validity.not_before.to_unix_duration())
            .as_secs()
            / 86_400;
        assert_eq!(days, 365);
        let bc = BasicConstraints::from_der(ext(&c, "2.5.29.19").expect("basic constraints"))
            .expect("BC");
        assert!(bc.ca);
        // Key usage and extended key usage bytes as Helm 4.2.3 writes them.
        assert_eq!(ext(&c, "2.5.29.15"), Some(&[0x03, 0x02, 0x02, 0xa4][..]));
        assert!(ext(&c, "2.5.29.14").is_some(), "subject key id");
        assert!(ext(&c, "2.5.29.35").is_none(), "no authority key id");
        verify_rsa_signature(&c, &ca.key);
    }

    #[test]
    fn signed_cert_chains_to_the_ca_with_sans() {
        let mut r = SeededRandom::new(b"chain");
        let ca = call_with(&mut r, "genCA", &[Value::str("my-ca"), Value::Int(10)]).expect("CA");
        let leaf = call_with(
            &mut r,
            "genSignedCert",
            &[
                Value::str("svc.ns"),
                Value::list(vec![Value::str("10.0.0.1")]),
                Value::list(vec![Value::str("a.example"), Value::str("b.example")]),
                Value::Int(30),
                ca.clone(),
            ],
        )
        .expect("leaf");
        let ca = cert_of(&ca);
        let leaf = cert_of(&leaf);
        let c = parse(&leaf.cert);
        assert_eq!(c.tbs_certificate().issuer().to_string(), "CN=my-ca");
        assert_eq!(ext(&c, "2.5.29.15"), Some(&[0x03, 0x02, 0x05, 0xa0][..]));
        assert_eq!(ext(&c, "2.5.29.19"), Some(&[0x30, 0x00][..]));
        let ca_ski = ext(&parse(&ca.cert), "2.5.29.14").map(<[u8]>::to_vec);
        let aki = ext(&c, "2.5.29.35").expect("authority key id");
        assert_eq!(aki.get(4..), ca_ski.as_deref().and_then(|s| s.get(2..)));
        let san = SubjectAltName::from_der(ext(&c, "2.5.29.17").expect("SAN")).expect("SAN");
        assert_eq!(san.0.len(), 3);
        verify_rsa_signature(&c, &ca.key);
    }

    #[test]
    fn seeded_renders_reproduce_keys() {
        let a =
            cert_of(&call_seeded(b"same", "genCA", &[Value::str("x"), Value::Int(1)]).expect("CA"));
        let b =
            cert_of(&call_seeded(b"same", "genCA", &[Value::str("x"), Value::Int(1)]).expect("CA"));
        assert_eq!(a.key, b.key);
        let c = cert_of(
            &call_seeded(b"other", "genCA", &[Value::str("x"), Value::Int(1)]).expect("CA"),
        );
        assert_ne!(a.key, c.key);
    }

    #[test]
    fn with_key_variants_use_the_given_key() {
        for kind in ["ecdsa", "ed25519"] {
            let key = call_seeded(b"k", "genPrivateKey", &[Value::str(kind)]).expect("key");
            let key_text = key.as_str().expect("PEM").to_string();
            let ca = call_seeded(
                b"k",
                "genCAWithKey",
                &[Value::str("c"), Value::Int(1), key.clone()],
            )
            .expect("CA with key");
            let ca = cert_of(&ca);
            assert_eq!(ca.key, key_text, "{kind}");
            parse(&ca.cert);
            let leaf = call_seeded(
                b"k",
                "genSelfSignedCertWithKey",
                &[Value::str("s"), Value::Nil, Value::Nil, Value::Int(1), key],
            )
            .expect("self-signed with key");
            parse(&cert_of(&leaf).cert);
        }
    }

    #[test]
    fn private_key_pem_types_match_sprig() {
        let ec = call_seeded(b"k", "genPrivateKey", &[Value::str("ecdsa")]).expect("ec");
        assert!(
            ec.as_str()
                .is_some_and(|s| s.starts_with("-----BEGIN EC PRIVATE KEY-----\n"))
        );
        let ed = call_seeded(b"k", "genPrivateKey", &[Value::str("ed25519")]).expect("ed");
        let ed = ed.as_str().expect("PEM");
        assert!(ed.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        // Go's PKCS#8 Ed25519 key is 48 bytes of DER (no public key attribute).
        assert_eq!(pem_decode(ed).map(|(_, d)| d.len()), Some(48));
        assert_eq!(
            call_seeded(b"k", "genPrivateKey", &[Value::str("x")]),
            Ok(Value::str("Unknown type x"))
        );
    }

    #[test]
    fn build_custom_cert_validates_and_returns_the_pair() {
        let ca =
            cert_of(&call_seeded(b"b", "genCA", &[Value::str("x"), Value::Int(1)]).expect("CA"));
        let b64 = |s: &str| Value::from(base64::engine::general_purpose::STANDARD.encode(s));
        let built =
            call_seeded(b"b", "buildCustomCert", &[b64(&ca.cert), b64(&ca.key)]).expect("built");
        assert_eq!(cert_of(&built), ca);
        let bad = call_seeded(b"b", "buildCustomCert", &[b64("nope"), b64(&ca.key)]);
        assert_eq!(bad, Err(FuncError::new("unable to decode certificate")));
    }

    #[test]
    fn bad_arguments_are_refused_in_sprigs_words() {
        let out = call_seeded(
            b"x",
            "genSelfSignedCert",
            &[
                Value::str("a"),
                Value::list(vec![Value::str("300.1.1.1")]),
                Value::Nil,
                Value::Int(1),
            ],
        );
        assert_eq!(out, Err(FuncError::new("error parsing ip: 300.1.1.1")));
        let out = call_seeded(
            b"x",
            "genSignedCert",
            &[
                Value::str("a"),
                Value::Nil,
                Value::Nil,
                Value::Int(1),
                Value::map(Map::new()),
            ],
        );
        assert_eq!(
            out,
            Err(FuncError::new(
                "wrong type for value; expected sprig.certificate; got map[string]interface {}"
            ))
        );
    }

    #[test]
    fn dsa_keys_have_sprigs_layout() {
        let key = call_seeded(b"d", "genPrivateKey", &[Value::str("dsa")]).expect("dsa");
        let (kind, der) = pem_decode(key.as_str().expect("PEM")).expect("PEM block");
        assert_eq!(kind, "DSA PRIVATE KEY");
        let ints = Vec::<der::asn1::Uint>::from_der(&der).expect("INTEGERs");
        let lens: Vec<usize> = ints.iter().map(|i| i.as_bytes().len()).collect();
        // version 0, a 2048-bit P, a 256-bit Q, then G and Y below P, X below Q.
        assert_eq!(lens[..3], [1, 256, 32]);
        assert!(lens[3] <= 256 && lens[4] <= 256 && lens[5] <= 32);
    }

    #[test]
    fn dsa_keys_cannot_make_certificates_as_in_go() {
        // Messages printed by Helm 4.2.3.
        let dsa = call_seeded(b"d", "genPrivateKey", &[Value::str("dsa")]).expect("dsa");
        let out = call_seeded(
            b"d",
            "genCAWithKey",
            &[Value::str("x"), Value::Int(1), dsa.clone()],
        );
        assert_eq!(
            out,
            Err(FuncError::new(
                "error creating certificate: x509: certificate private key does not implement crypto.Signer"
            ))
        );
        let ec = call_seeded(b"d", "genPrivateKey", &[Value::str("ecdsa")]).expect("ec");
        let ca =
            call_seeded(b"d", "genCAWithKey", &[Value::str("a"), Value::Int(1), ec]).expect("ca");
        let out = call_seeded(
            b"d",
            "genSignedCertWithKey",
            &[
                Value::str("b"),
                Value::Nil,
                Value::Nil,
                Value::Int(1),
                ca,
                dsa,
            ],
        );
        assert_eq!(
            out,
            Err(FuncError::new(
                "error creating certificate: x509: unsupported public key type: *dsa.PublicKey"
            ))
        );
        let out = call_seeded(
            b"d",
            "genCAWithKey",
            &[Value::str("x"), Value::Int(1), Value::str("nope")],
        );
        assert_eq!(
            out,
            Err(FuncError::new("parsing private key: no PEM data in input"))
        );
    }

    #[test]
    fn list_items_must_be_strings() {
        // Messages printed by Helm 4.2.3.
        let run = |ips: Value, dns: Value| {
            call_seeded(
                b"x",
                "genSelfSignedCert",
                &[Value::str("x"), ips, dns, Value::Int(1)],
            )
        };
        assert_eq!(
            run(Value::list(vec![Value::Int(1)]), Value::Nil),
            Err(FuncError::new("error parsing ip: 1 is not a string"))
        );
        assert_eq!(
            run(Value::Nil, Value::list(vec![Value::Int(1)])),
            Err(FuncError::new(
                "error processing alternate dns name: 1 is not a string"
            ))
        );
        assert_eq!(
            run(Value::list(vec![Value::str("1.2.3")]), Value::Nil),
            Err(FuncError::new("error parsing ip: 1.2.3"))
        );
    }

    #[test]
    fn certificates_print_like_go_structs() {
        let ca = call_seeded(b"p", "genCA", &[Value::str("a"), Value::Int(1)]).expect("CA");
        let c = cert_of(&ca);
        assert_eq!(
            crate::gofmt::format_value(&ca),
            format!("{{{} {}}}", c.cert, c.key)
        );
        assert_eq!(ca.to_json()["Cert"], serde_json::Value::String(c.cert));
    }

    /// A CA made by Helm 4.2.3's `genCA` signs our leaf: Go's certificate and PKCS#1 key are
    /// read, its subject becomes our issuer and its subject key id our authority key id.
    #[test]
    fn signs_with_a_ca_that_helm_generated() {
        let cert = include_str!("testdata/helm_ca.crt");
        let key = include_str!("testdata/helm_ca.key");
        let b64 = |s: &str| Value::from(base64::engine::general_purpose::STANDARD.encode(s));
        let ca = call_seeded(b"h", "buildCustomCert", &[b64(cert), b64(key)]).expect("CA");
        let leaf = call_seeded(
            b"h",
            "genSignedCert",
            &[
                Value::str("leaf"),
                Value::Nil,
                Value::Nil,
                Value::Int(1),
                ca,
            ],
        )
        .expect("leaf");
        let c = parse(&cert_of(&leaf).cert);
        assert_eq!(c.tbs_certificate().issuer().to_string(), "CN=my-ca");
        let helm_ca = parse(cert);
        let ski = ext(&helm_ca, "2.5.29.14").expect("Helm CA has a key id");
        let aki = ext(&c, "2.5.29.35").expect("authority key id");
        assert_eq!(aki.get(4..), ski.get(2..));
        verify_rsa_signature(&c, key);
    }
}
