//! Development certificates: a CA and a serving certificate signed by it, for running the
//! webhook outside a cluster or against a local API server (whose webhook configuration
//! carries the CA as its caBundle). Clusters use cert-manager or the OpenShift service CA.

use std::net::IpAddr;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    #[error("generating certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{file}: cannot write: {source}")]
    Write {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("give at least one --dns name or --ip address for the serving certificate")]
    NoNames,
}

/// The PEM files `dsc-helm certs` writes.
pub struct DevCerts {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// A CA valid for ten years and a serving certificate valid for one, for the given names.
pub fn generate(dns: &[String], ips: &[IpAddr]) -> Result<DevCerts, CertsError> {
    if dns.is_empty() && ips.is_empty() {
        return Err(CertsError::NoNames);
    }
    let (year, month, day) = today();
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "dsc-helm development CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = rcgen::date_time_ymd(year, month, day);
    ca.not_after = rcgen::date_time_ymd(year + 10, month, day);
    let ca_pem = ca.self_signed(&ca_key)?.pem();

    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(dns.to_vec())?;
    params
        .subject_alt_names
        .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
    let common_name = dns
        .first()
        .cloned()
        .or_else(|| ips.first().map(ToString::to_string))
        .unwrap_or_default();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.not_before = rcgen::date_time_ymd(year, month, day);
    params.not_after = rcgen::date_time_ymd(year + 1, month, day);
    let issuer = Issuer::from_params(&ca, &ca_key);
    let cert_pem = params.signed_by(&key, &issuer)?.pem();
    Ok(DevCerts {
        ca_pem,
        cert_pem,
        key_pem: key.serialize_pem(),
    })
}

/// Today's date (UTC); the 29th of February becomes the 28th so that "a year later" exists.
fn today() -> (i32, u8, u8) {
    use chrono::Datelike as _;
    let now = chrono::Utc::now();
    let month = u8::try_from(now.month()).unwrap_or(1);
    let day = u8::try_from(now.day()).unwrap_or(1).min(28);
    (now.year(), month, day)
}

/// Writes ca.crt, tls.crt and tls.key into `dir` (created if missing); the key is readable by
/// its owner only.
pub fn write(dir: &Path, certs: &DevCerts) -> Result<(), CertsError> {
    let fail = |file: &Path| {
        let file = file.display().to_string();
        move |source| CertsError::Write { file, source }
    };
    std::fs::create_dir_all(dir).map_err(fail(dir))?;
    for (name, content, private) in [
        ("ca.crt", &certs.ca_pem, false),
        ("tls.crt", &certs.cert_pem, false),
        ("tls.key", &certs.key_pem, true),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, content).map_err(fail(&path))?;
        if private {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(fail(&path))?;
        }
    }
    Ok(())
}
