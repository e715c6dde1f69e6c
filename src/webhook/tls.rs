//! The serving certificate: read from PEM files (certs/ in development, a mounted Secret in a
//! cluster), checked so that a missing, mismatched or expired certificate fails with a message
//! naming the file, and reloaded when the files change, as cert-manager rotation requires.
//!
//! Reloading polls the files' modification times and sizes instead of using inotify: a
//! mounted Secret is updated by swapping a symlink, which file watchers report unreliably,
//! while `stat` through the link always sees the new file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum_server::tls_rustls::RustlsConfig;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use x509_cert::der::Decode as _;

use super::metrics::Metrics;
use crate::sync::lock;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "{file}: {what} file does not exist; create a development certificate with `dsc-helm certs --out certs/` or mount the serving Secret"
    )]
    Missing { file: String, what: &'static str },
    #[error("{file}: cannot read: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("{file}: no PEM certificate found{reason}")]
    NoCertificate { file: String, reason: String },
    #[error("{file}: no PEM private key found: {reason}")]
    NoKey { file: String, reason: String },
    #[error("{file}: not an X.509 certificate: {reason}")]
    BadCertificate { file: String, reason: String },
    #[error("{file}: the certificate expired at {not_after} (now {now}); renew it")]
    Expired {
        file: String,
        not_after: String,
        now: String,
    },
    #[error("{file}: the certificate is not valid before {not_before} (now {now})")]
    NotYetValid {
        file: String,
        not_before: String,
        now: String,
    },
    #[error("{cert} and {key} do not form a usable pair: {reason}")]
    Pair {
        cert: String,
        key: String,
        reason: String,
    },
}

/// Where the certificate and key live.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A loaded server configuration and when its certificate stops being valid.
pub struct Loaded {
    pub config: Arc<ServerConfig>,
    pub not_after: SystemTime,
}

fn show(p: &Path) -> String {
    p.display().to_string()
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            TlsError::Missing {
                file: show(path),
                what,
            }
        } else {
            TlsError::Unreadable {
                file: show(path),
                reason: e.to_string(),
            }
        }
    })
}

fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Reads and checks the pair: TLS 1.2 and 1.3, ALPN h2 and http/1.1, ring as the provider.
pub fn load(files: &CertFiles) -> Result<Loaded, TlsError> {
    let cert_pem = read(&files.cert, "certificate")?;
    let key_pem = read(&files.key, "private key")?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::NoCertificate {
            file: show(&files.cert),
            reason: format!(": {e}"),
        })?;
    let Some(leaf) = chain.first() else {
        return Err(TlsError::NoCertificate {
            file: show(&files.cert),
            reason: String::new(),
        });
    };
    let parsed = x509_cert::Certificate::from_der(leaf).map_err(|e| TlsError::BadCertificate {
        file: show(&files.cert),
        reason: e.to_string(),
    })?;
    let validity = parsed.tbs_certificate().validity();
    let not_before = validity.not_before.to_system_time();
    let not_after = validity.not_after.to_system_time();
    let now = SystemTime::now();
    if now > not_after {
        return Err(TlsError::Expired {
            file: show(&files.cert),
            not_after: rfc3339(not_after),
            now: rfc3339(now),
        });
    }
    if now < not_before {
        return Err(TlsError::NotYetValid {
            file: show(&files.cert),
            not_before: rfc3339(not_before),
            now: rfc3339(now),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::NoKey {
        file: show(&files.key),
        reason: e.to_string(),
    })?;
    let pair = |reason: String| TlsError::Pair {
        cert: show(&files.cert),
        key: show(&files.key),
        reason,
    };
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| pair(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| pair(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Loaded {
        config: Arc::new(config),
        not_after,
    })
}

/// Seconds since the epoch, for the expiry gauge.
pub fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// What identifies a version of a file on disk.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Watches the files and swaps the served configuration when they change. A pair that fails
/// to load (for example while only one of the two files has been rewritten) keeps the old
/// certificate in service and is retried on every tick until it loads.
pub async fn reload_loop(
    files: CertFiles,
    rustls: RustlsConfig,
    interval: Duration,
    metrics: Arc<Metrics>,
    not_after: Arc<std::sync::Mutex<SystemTime>>,
) {
    let mut loaded = (stamp(&files.cert), stamp(&files.key));
    let mut reported: Option<(Stamp, Stamp)> = None;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let current = (stamp(&files.cert), stamp(&files.key));
        if current == loaded {
            continue;
        }
        let result = {
            let files = files.clone();
            tokio::task::spawn_blocking(move || load(&files)).await
        };
        match result {
            Ok(Ok(new)) => {
                rustls.reload_from_config(new.config);
                *lock(&not_after) = new.not_after;
                metrics.set_certificate_expiry(unix_seconds(new.not_after));
                metrics.certificate_reloaded(true);
                tracing::info!(
                    file = %show(&files.cert),
                    valid_until = %rfc3339(new.not_after),
                    "reloaded the serving certificate"
                );
                loaded = current;
                reported = None;
            }
            Ok(Err(e)) => {
                if reported != Some(current) {
                    metrics.certificate_reloaded(false);
                    tracing::warn!(error = %e, "keeping the current serving certificate");
                    reported = Some(current);
                }
            }
            Err(e) => tracing::warn!(error = %e, "the certificate reload task failed"),
        }
    }
}
