//! Reading a chart's files out of a gzip'd tarball or a directory, in memory only.
//!
//! The path checks mirror Helm's `LoadArchiveFiles`: the first path component (the chart's
//! directory) is stripped, and absolute paths, `..` escapes, drive-letter paths and a
//! `Chart.yaml` outside the chart directory are refused. Nothing is ever written to disk and
//! links are never followed: a link entry in an archive is kept as an empty file, exactly as
//! Helm's tar reader leaves it. Inflating is capped twice: the files' contents at Helm's
//! limit, and the whole tar stream (headers and metadata entries included) at twice that,
//! both for the chart and its subchart archives together.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::ignore::Rules;
use super::{ChartError, ChartFile};

/// Helm's `MaxDecompressedChartSize`: the sum of all decompressed entries of one archive
/// (here of a chart and its subchart archives together: see `Budget`).
pub const MAX_DECOMPRESSED_CHART_SIZE: u64 = 100 * 1024 * 1024;
/// The whole inflated tar stream: the content limit above, and as much again for what it does
/// not count (headers, padding, the data of directory entries, which is skipped, and GNU long
/// names and PAX records, which the tar reader holds in memory whatever their size). A gzip
/// bomb in any of these is cut off here.
pub const MAX_DECOMPRESSED_ARCHIVE_SIZE: u64 = 2 * MAX_DECOMPRESSED_CHART_SIZE;
/// Helm's `MaxDecompressedFileSize`, which Helm still applies to files of a chart directory.
pub const MAX_DIR_FILE_SIZE: u64 = 5 * 1024 * 1024;

/// How much is inflated at a time when reading an archive.
const INFLATE_CHUNK: usize = 256 * 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

fn strip_bom(mut data: Vec<u8>) -> Vec<u8> {
    if data.starts_with(UTF8_BOM) {
        data.drain(..UTF8_BOM.len());
    }
    data
}

/// What may still be inflated for a chart and every archive nested in it. Helm caps each
/// archive on its own, so subchart archives inside subchart archives multiply what a small
/// download inflates to; one budget for the whole tree keeps it within the two limits.
pub(super) struct Budget {
    content: u64,
    stream: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            content: MAX_DECOMPRESSED_CHART_SIZE,
            stream: MAX_DECOMPRESSED_ARCHIVE_SIZE,
        }
    }
}

/// Reads every entry of the archive, drawing on `budget`; `on_file` sees each file as soon
/// as it is read, while the rest is still being inflated.
pub(super) fn read_archive(
    name: &str,
    bytes: &[u8],
    budget: &mut Budget,
    on_file: &mut dyn FnMut(&ChartFile),
) -> Result<Vec<ChartFile>, ChartError> {
    let archive_err = |message: String| ChartError::Archive {
        archive: name.to_string(),
        message,
    };
    if !bytes.starts_with(b"\x1f\x8b") {
        return Err(archive_err(
            "does not appear to be a gzipped archive".to_string(),
        ));
    }
    // Tar reads headers 512 bytes at a time; inflating into such small windows is several
    // times slower than into a large buffer, so the tar reader reads from one.
    let Budget {
        content: remaining,
        stream,
    } = budget;
    let inflated = Capped {
        inner: flate2::read::GzDecoder::new(bytes),
        left: stream,
    };
    let gz = std::io::BufReader::with_capacity(INFLATE_CHUNK, inflated);
    let mut tar = tar::Archive::new(gz);
    let entries = tar
        .entries()
        .map_err(|e| archive_err(format!("cannot read archive: {e}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| archive_err(format!("cannot read archive: {e}")))?;
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let entry_err = |message: &str| ChartError::Entry {
            archive: name.to_string(),
            entry: raw_name.clone(),
            message: message.to_string(),
        };
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        if kind.is_gnu_longname() || kind.is_gnu_longlink() {
            continue;
        }
        let Some(rel) = chart_relative_path(&raw_name).map_err(&entry_err)? else {
            return Err(entry_err("chart yaml not in base directory"));
        };
        let size = entry.header().size().unwrap_or(0);
        if size > *remaining {
            return Err(entry_err(&format!(
                "decompressed chart is larger than the maximum size {MAX_DECOMPRESSED_CHART_SIZE}"
            )));
        }
        let mut data = Vec::with_capacity(usize::try_from(size.min(*remaining)).unwrap_or(0) + 1);
        if !(kind.is_symlink() || kind.is_hard_link()) {
            (&mut entry)
                .take(*remaining + 1)
                .read_to_end(&mut data)
                .map_err(|e| entry_err(&format!("cannot read entry: {e}")))?;
        }
        let len = data.len() as u64;
        if len > *remaining {
            return Err(entry_err(&format!(
                "decompressed chart is larger than the maximum size {MAX_DECOMPRESSED_CHART_SIZE}"
            )));
        }
        *remaining -= len;
        let file = ChartFile {
            name: rel,
            data: strip_bom(data),
        };
        on_file(&file);
        files.push(file);
    }
    if files.is_empty() {
        return Err(archive_err("no files in chart archive".to_string()));
    }
    Ok(files)
}

/// Reads at most `left` bytes, then fails if there is more: the inflated stream's cap.
struct Capped<'b, R> {
    inner: R,
    left: &'b mut u64,
}

impl<R: Read> Read for Capped<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if *self.left == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(format!(
                    "decompressed archive is larger than the maximum size {MAX_DECOMPRESSED_ARCHIVE_SIZE}"
                ))),
            };
        }
        let n = buf
            .len()
            .min(usize::try_from(*self.left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..n])?;
        *self.left -= got as u64;
        Ok(got)
    }
}

/// The entry's path relative to the chart directory. `Ok(None)` flags a `Chart.yaml` at the
/// archive root, which Helm refuses.
fn chart_relative_path(raw: &str) -> Result<Option<String>, &'static str> {
    let delimiter = if raw.contains('\\') { '\\' } else { '/' };
    let mut parts = raw.split(delimiter);
    let first = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    if first == "Chart.yaml" {
        return Ok(None);
    }
    let joined = rest.join("/");
    if joined.starts_with('/') {
        return Err("chart illegally contains absolute paths");
    }
    let cleaned = clean_path(&joined);
    if cleaned == "." {
        return Err("chart illegally contains content outside the base directory");
    }
    if cleaned.starts_with("..") {
        return Err("chart illegally references parent directory");
    }
    let bytes = cleaned.as_bytes();
    if bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/' {
        return Err("chart contains illegally named files");
    }
    Ok(Some(cleaned))
}

/// Go's `path.Clean` for a relative path.
fn clean_path(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if matches!(out.last(), Some(last) if *last != "..") {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        ".".to_string()
    } else {
        out.join("/")
    }
}

/// Reads a chart directory, honouring `.helmignore` and Helm's default rule that hides dot
/// files under `templates/`. Symbolic links are followed only while they stay inside the chart.
pub(super) fn read_dir(dir: &Path) -> Result<Vec<ChartFile>, ChartError> {
    let io_err = |path: &Path, source: std::io::Error| ChartError::Io {
        path: path.display().to_string(),
        source,
    };
    let top = dir.canonicalize().map_err(|e| io_err(dir, e))?;
    let mut rules = match std::fs::read_to_string(top.join(".helmignore")) {
        Ok(text) => Rules::parse(&text).map_err(|message| ChartError::Entry {
            archive: dir.display().to_string(),
            entry: ".helmignore".to_string(),
            message,
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Rules::default(),
        Err(e) => return Err(io_err(&top.join(".helmignore"), e)),
    };
    rules.add_defaults();
    let mut files = Vec::new();
    let mut remaining = MAX_DECOMPRESSED_CHART_SIZE;
    walk(
        &top,
        &top,
        &PathBuf::new(),
        &rules,
        &mut files,
        &mut remaining,
        0,
    )?;
    Ok(files)
}

/// Deep enough for any real chart; stops symlink loops that stay inside the chart.
const MAX_DIR_DEPTH: usize = 64;

fn walk(
    top: &Path,
    dir: &Path,
    rel: &Path,
    rules: &Rules,
    files: &mut Vec<ChartFile>,
    remaining: &mut u64,
    depth: usize,
) -> Result<(), ChartError> {
    let err = |entry: &str, message: String| ChartError::Entry {
        archive: top.display().to_string(),
        entry: entry.to_string(),
        message,
    };
    if depth > MAX_DIR_DEPTH {
        return Err(err(
            &rel.display().to_string(),
            "directory nesting too deep".to_string(),
        ));
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| err(&rel.display().to_string(), e.to_string()))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let child_rel = rel.join(entry.file_name());
        let name = child_rel
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("/");
        let path = entry.path();
        let resolved = path.canonicalize().map_err(|e| err(&name, e.to_string()))?;
        if !resolved.starts_with(top) {
            return Err(err(
                &name,
                "symbolic link points outside the chart".to_string(),
            ));
        }
        let meta = std::fs::metadata(&resolved).map_err(|e| err(&name, e.to_string()))?;
        if meta.is_dir() {
            if rules.ignore(&name, true) {
                continue;
            }
            walk(
                top,
                &resolved,
                &child_rel,
                rules,
                files,
                remaining,
                depth + 1,
            )?;
            continue;
        }
        if rules.ignore(&name, false) {
            continue;
        }
        if !meta.is_file() {
            return Err(err(
                &name,
                "cannot load irregular file as it has file mode type bits set".to_string(),
            ));
        }
        if meta.len() > MAX_DIR_FILE_SIZE {
            return Err(err(
                &name,
                format!("chart file is larger than the maximum file size {MAX_DIR_FILE_SIZE}"),
            ));
        }
        if meta.len() > *remaining {
            return Err(err(
                &name,
                format!(
                    "chart exceeds maximum decompressed size of {MAX_DECOMPRESSED_CHART_SIZE} bytes"
                ),
            ));
        }
        let data = std::fs::read(&resolved).map_err(|e| err(&name, e.to_string()))?;
        *remaining = remaining.saturating_sub(data.len() as u64);
        files.push(ChartFile {
            name,
            data: strip_bom(data),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_path_matches_go() {
        assert_eq!(clean_path("a/./b//c"), "a/b/c");
        assert_eq!(clean_path("a/../../b"), "../b");
        assert_eq!(clean_path(""), ".");
        assert_eq!(clean_path("a/.."), ".");
    }

    #[test]
    fn relative_path_rules() {
        assert_eq!(
            chart_relative_path("c/templates/a.yaml"),
            Ok(Some("templates/a.yaml".into()))
        );
        assert_eq!(
            chart_relative_path("c\\templates\\a.yaml"),
            Ok(Some("templates/a.yaml".into()))
        );
        assert_eq!(chart_relative_path("Chart.yaml"), Ok(None));
        assert!(chart_relative_path("c//etc/passwd").is_err());
        assert!(chart_relative_path("c/../../x").is_err());
        assert!(chart_relative_path("c/C:/x").is_err());
    }
}
