//! Fuzz targets for every part of the renderer that reads untrusted input: chart archives,
//! templates, YAML, values files and `--set` arguments. A chart comes from a registry the
//! operator does not control, and a DataScienceCluster's values from any user allowed to
//! write one, so each must end in a result or a clear error, never a panic or a hang.
//!
//! The inputs are structured, not random bytes: tar archives built here with hostile entries,
//! real templates mutated by token, YAML and `--set` text from token soup, deep nesting. Each
//! target runs `DSC_HELM_FUZZ_CASES` cases (64 by default, so that the suite stays quick in
//! debug builds) from the seed `DSC_HELM_FUZZ_SEED` (fixed by default, so that CI runs are
//! repeatable); `tests/fuzz/campaign.sh` runs a long campaign in release. A case that takes
//! longer than [`CASE_BUDGET`] fails as a hang.

use std::io::Write;
use std::time::{Duration, Instant};

use helm_render::chart::{self, MAX_DECOMPRESSED_ARCHIVE_SIZE, MAX_DECOMPRESSED_CHART_SIZE};
use helm_render::engine::funcs::{CallContext, OfflineLookup, SeededRandom};
use helm_render::engine::{Budget, Templates};
use helm_render::value::{Map, Value};
use helm_render::values::{self, CommandLineValues};
use helm_render::yaml;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError};

/// Longer than any bounded input takes in a debug build on a loaded machine.
const CASE_BUDGET: Duration = Duration::from_secs(20);

fn config() -> Config {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    Config {
        cases: env("DSC_HELM_FUZZ_CASES").map_or(64, |n| u32::try_from(n).unwrap_or(u32::MAX)),
        rng_seed: RngSeed::Fixed(env("DSC_HELM_FUZZ_SEED").unwrap_or(0x0d5c_4e1d)),
        // Failures are reported with their minimal input; nothing is written to the tree.
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    }
}

/// Runs `f`, failing the case when it takes longer than [`CASE_BUDGET`].
fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, TestCaseError> {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    if took > CASE_BUDGET {
        return Err(TestCaseError::fail(format!("{what} took {took:?}")));
    }
    Ok(out)
}

/// Text made of `tokens`, mixed with a little arbitrary text.
fn soup(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        8 => prop::sample::select(tokens).prop_map(str::to_string),
        1 => "[\\s\\S]{0,3}",
    ];
    prop::collection::vec(piece, 0..max).prop_map(|pieces| pieces.concat())
}

/// A token inserted into or replacing part of a real input.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, String),
    Delete(usize, usize),
    Duplicate(usize, usize),
}

fn edits(tokens: &'static [&'static str]) -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), prop::sample::select(tokens))
            .prop_map(|(at, t)| Edit::Insert(at, t.into())),
        (any::<usize>(), 1..16usize).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), 1..64usize).prop_map(|(at, n)| Edit::Duplicate(at, n)),
    ];
    prop::collection::vec(edit, 1..8)
}

/// Applies `edits` to `text` on character boundaries, positions taken modulo the length.
fn mutate(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        let len = chars.len();
        match edit {
            Edit::Insert(at, token) => {
                let at = at % (len + 1);
                chars.splice(at..at, token.chars());
            }
            Edit::Delete(at, n) if len > 0 => {
                let at = at % len;
                chars.drain(at..(at + n).min(len));
            }
            Edit::Duplicate(at, n) if len > 0 => {
                let at = at % len;
                let copy: Vec<char> = chars[at..(at + n).min(len)].to_vec();
                chars.splice(at..at, copy);
            }
            Edit::Delete(..) | Edit::Duplicate(..) => {}
        }
    }
    chars.into_iter().collect()
}

/// Every file of the fixture charts whose name ends with `suffix`: real templates and YAML.
fn fixture_texts(suffix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.to_string_lossy().ends_with(suffix)
                && let Ok(text) = std::fs::read_to_string(&path)
            {
                out.push(text);
            }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------
// Chart archives
// ---------------------------------------------------------------------------------------

/// What one tar entry is.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Regular,
    Dir,
    Symlink,
    HardLink,
    Char,
    Block,
    Fifo,
    GnuLongName,
    PaxLocal,
    PaxGlobal,
}

#[derive(Debug, Clone)]
struct Entry {
    kind: Kind,
    path: String,
    link: String,
    data: Vec<u8>,
}

const CHART_YAML: &str = "apiVersion: v2\nname: demo\nversion: 1.0.0\n";

const PATH_PARTS: &[&str] = &[
    "demo",
    "templates",
    "charts",
    "sub",
    "Chart.yaml",
    "values.yaml",
    "values.schema.json",
    "requirements.yaml",
    ".helmignore",
    "_helpers.tpl",
    "a.yaml",
    "crds",
    "x.tgz",
    "..",
    ".",
    "",
    "C:",
    "a\\..\\..\\b",
    "\u{e9}",
    "NOTES.txt",
];

fn entry_path() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(prop::sample::select(PATH_PARTS), 1..5)
            .prop_map(|parts| format!("demo/{}", parts.join("/"))),
        1 => prop::collection::vec(prop::sample::select(PATH_PARTS), 1..5)
            .prop_map(|parts| parts.join("/")),
        1 => prop::collection::vec(prop::sample::select(PATH_PARTS), 1..4)
            .prop_map(|parts| format!("/{}", parts.join("/"))),
        1 => Just("demo/../../etc/passwd".to_string()),
        1 => Just("../demo/templates/x.yaml".to_string()),
    ]
}

fn entry_data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => Just(CHART_YAML.as_bytes().to_vec()),
        1 => Just(b"apiVersion: v2\nname: sub\nversion: 0.1.0\ndependencies:\n- name: x\n  version: '*'\n  condition: x.on\n".to_vec()),
        2 => Just(b"a: 1\nb:\n  c: [1, 2]\nglobal:\n  g: x\n".to_vec()),
        2 => Just(b"kind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  a: {{ .Values.a | quote }}\n".to_vec()),
        1 => Just(b"{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"integer\"}}}".to_vec()),
        1 => Just(b"\xEF\xBB\xBFapiVersion: v2\nname: demo\nversion: 1.0.0\n".to_vec()),
        1 => Just(small_chart_archive()),
        2 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn entry() -> impl Strategy<Value = Entry> {
    let kind = prop_oneof![
        12 => Just(Kind::Regular),
        1 => Just(Kind::Dir),
        1 => Just(Kind::Symlink),
        1 => Just(Kind::HardLink),
        1 => Just(Kind::Char),
        1 => Just(Kind::Block),
        1 => Just(Kind::Fifo),
        1 => Just(Kind::GnuLongName),
        1 => Just(Kind::PaxLocal),
        1 => Just(Kind::PaxGlobal),
    ];
    let link = prop_oneof![
        Just("/etc/passwd".to_string()),
        Just("../../../etc/shadow".to_string()),
        Just("values.yaml".to_string()),
        Just("demo/Chart.yaml".to_string()),
    ];
    (kind, entry_path(), link, entry_data()).prop_map(|(kind, path, link, data)| Entry {
        kind,
        path,
        link,
        data,
    })
}

/// A tar header whose name and link name are written as raw bytes: the `tar` crate's setters
/// refuse `..` and absolute paths, which are exactly what these tests need.
fn header(kind: tar::EntryType, path: &str, link: &str, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    let old = h.as_old_mut();
    let n = path.len().min(old.name.len());
    old.name[..n].copy_from_slice(&path.as_bytes()[..n]);
    let n = link.len().min(old.linkname.len());
    old.linkname[..n].copy_from_slice(&link.as_bytes()[..n]);
    h.set_cksum();
    h
}

fn tar_bytes(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for e in entries {
        let (kind, data): (tar::EntryType, &[u8]) = match e.kind {
            Kind::Regular => (tar::EntryType::Regular, &e.data),
            Kind::Dir => (tar::EntryType::Directory, &[]),
            Kind::Symlink => (tar::EntryType::Symlink, &[]),
            Kind::HardLink => (tar::EntryType::Link, &[]),
            Kind::Char => (tar::EntryType::Char, &[]),
            Kind::Block => (tar::EntryType::Block, &[]),
            Kind::Fifo => (tar::EntryType::Fifo, &[]),
            Kind::GnuLongName => (tar::EntryType::GNULongName, &e.data),
            Kind::PaxLocal => (tar::EntryType::XHeader, &e.data),
            Kind::PaxGlobal => (tar::EntryType::XGlobalHeader, &e.data),
        };
        let h = header(kind, &e.path, &e.link, data.len() as u64);
        // Appending to a Vec cannot fail.
        let _ = builder.append(&h, data);
    }
    builder.into_inner().unwrap_or_default()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gz.write_all(bytes);
    gz.finish().unwrap_or_default()
}

fn regular(path: &str, data: &[u8]) -> Entry {
    Entry {
        kind: Kind::Regular,
        path: path.to_string(),
        link: String::new(),
        data: data.to_vec(),
    }
}

/// A valid subchart archive, for charts/*.tgz entries.
fn small_chart_archive() -> Vec<u8> {
    gzip(&tar_bytes(&[
        regular(
            "sub/Chart.yaml",
            b"apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        ),
        regular("sub/values.yaml", b"s: 1\n"),
        regular("sub/templates/a.yaml", b"s: {{ .Values.s }}\n"),
    ]))
}

/// A damage done to the archive bytes after it is built.
#[derive(Debug, Clone)]
enum Damage {
    None,
    /// Flips bits of the inflated tar stream, then compresses it again.
    Tar(Vec<(usize, u8)>),
    /// Flips bits of the compressed bytes (corrupt gzip).
    Gzip(Vec<(usize, u8)>),
    /// Cuts the compressed bytes short.
    Truncate(usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    let flips = prop::collection::vec((any::<usize>(), 1..=255u8), 1..6);
    prop_oneof![
        3 => Just(Damage::None),
        2 => flips.clone().prop_map(Damage::Tar),
        1 => flips.prop_map(Damage::Gzip),
        1 => any::<usize>().prop_map(Damage::Truncate),
    ]
}

fn flip(bytes: &mut [u8], flips: &[(usize, u8)]) {
    let len = bytes.len();
    if len == 0 {
        return;
    }
    for (at, mask) in flips {
        bytes[at % len] ^= mask;
    }
}

fn archive(entries: &[Entry], damage: &Damage) -> Vec<u8> {
    let mut tar = tar_bytes(entries);
    if let Damage::Tar(flips) = damage {
        flip(&mut tar, flips);
    }
    let mut gz = gzip(&tar);
    match damage {
        Damage::Gzip(flips) => flip(&mut gz, flips),
        Damage::Truncate(at) => gz.truncate(at % (gz.len() + 1)),
        Damage::None | Damage::Tar(_) => {}
    }
    gz
}

/// What must hold of any chart that did load, however hostile its archive.
fn check_loaded(chart: &chart::Chart) -> Result<(), TestCaseError> {
    let mut total = 0u64;
    let mut stack = vec![chart];
    while let Some(c) = stack.pop() {
        for f in c.files.iter() {
            prop_assert!(!f.name.starts_with('/'), "absolute path {:?}", f.name);
            prop_assert!(
                !f.name.split('/').any(|part| part == ".."),
                "parent reference {:?}",
                f.name
            );
            total += f.data.len() as u64;
        }
        for t in c.templates.iter() {
            prop_assert!(!t.name.starts_with('/') && !t.name.split('/').any(|p| p == ".."));
        }
        stack.extend(c.dependencies.iter());
    }
    prop_assert!(total <= MAX_DECOMPRESSED_CHART_SIZE * (chart::MAX_SUBCHART_DEPTH as u64 + 1));
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Hostile entries (`..`, absolute paths, links, devices, extension headers), corrupt
    /// tar and gzip bytes: a chart or a clear error, with no file outside the chart.
    #[test]
    fn chart_archives_load_or_fail_cleanly(
        mut entries in prop::collection::vec(entry(), 0..10),
        valid_first in any::<bool>(),
        damage in damage(),
    ) {
        if valid_first {
            entries.insert(0, regular("demo/Chart.yaml", CHART_YAML.as_bytes()));
        }
        let bytes = archive(&entries, &damage);
        match bounded("loading the archive", || chart::load_archive("fuzz.tgz", &bytes))? {
            Ok(chart) => check_loaded(&chart)?,
            Err(e) => prop_assert!(e.to_string().contains("fuzz.tgz"), "{e}"),
        }
    }

    /// A well-formed chart with a damaged byte here and there, in its tar stream or gzip.
    #[test]
    fn damaged_valid_charts_load_or_fail_cleanly(damage in damage(), sub in any::<bool>()) {
        let mut entries = vec![
            regular("demo/Chart.yaml", CHART_YAML.as_bytes()),
            regular("demo/values.yaml", b"a: 1\nsub:\n  s: 2\n"),
            regular("demo/templates/cm.yaml", b"a: {{ .Values.a }}\n"),
        ];
        if sub {
            entries.push(regular("demo/charts/sub-0.1.0.tgz", &small_chart_archive()));
        }
        let bytes = archive(&entries, &damage);
        let loaded = bounded("loading the archive", || chart::load_archive("fuzz.tgz", &bytes))?;
        if matches!(damage, Damage::None) {
            prop_assert!(loaded.is_ok(), "{:?}", loaded.err());
        }
        if let Ok(chart) = loaded {
            check_loaded(&chart)?;
        }
    }
}

/// The archives Helm's loader refuses, each with its reason.
#[test]
fn hostile_archive_entries_are_refused() {
    let chart_yaml = regular("demo/Chart.yaml", CHART_YAML.as_bytes());
    let cases = [
        (
            "demo/../../etc/passwd",
            "illegally references parent directory",
        ),
        ("demo//etc/passwd", "illegally contains absolute paths"),
        ("demo/C:/x", "illegally named files"),
        ("Chart.yaml", "chart yaml not in base directory"),
        ("demo", "content outside the base directory"),
    ];
    for (path, reason) in cases {
        let bytes = archive(&[chart_yaml.clone(), regular(path, b"x")], &Damage::None);
        let e = chart::load_archive("t.tgz", &bytes)
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|e| e.contains(reason)),
            "{path}: {e:?}"
        );
    }
    let corrupt = chart::load_archive("t.tgz", b"\x1f\x8b\x08\x00garbage").err();
    assert!(corrupt.is_some_and(|e| e.to_string().contains("cannot read archive")));
}

/// Links and devices are kept as empty files: never followed, never read.
#[test]
fn links_and_devices_load_empty() {
    let mut entries = vec![regular("demo/Chart.yaml", CHART_YAML.as_bytes())];
    for (i, kind) in [
        Kind::Symlink,
        Kind::HardLink,
        Kind::Char,
        Kind::Block,
        Kind::Fifo,
    ]
    .into_iter()
    .enumerate()
    {
        entries.push(Entry {
            kind,
            path: format!("demo/f{i}"),
            link: "/etc/passwd".to_string(),
            data: Vec::new(),
        });
    }
    let chart = chart::load_archive("t.tgz", &archive(&entries, &Damage::None));
    let files = chart.map(|c| c.files).unwrap_or_default();
    let links: Vec<_> = files.iter().filter(|f| f.name.starts_with('f')).collect();
    assert_eq!(links.len(), 5, "{files:?}");
    assert!(links.iter().all(|f| f.data.is_empty()));
}

/// `n` bytes of zeros in one entry of kind `kind`: inflates to far more than it weighs.
fn bomb(kind: tar::EntryType, n: u64) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gz.write_all(
        header(
            tar::EntryType::Regular,
            "demo/Chart.yaml",
            "",
            CHART_YAML.len() as u64,
        )
        .as_bytes(),
    );
    let mut chart = CHART_YAML.as_bytes().to_vec();
    chart.resize(512, 0);
    let _ = gz.write_all(&chart);
    let _ = gz.write_all(header(kind, "demo/big", "", n).as_bytes());
    let zeros = vec![0u8; 1 << 20];
    let mut left = n;
    while left > 0 {
        let step = left.min(zeros.len() as u64);
        let _ = gz.write_all(&zeros[..step as usize]);
        left -= step;
    }
    gz.finish().unwrap_or_default()
}

/// A gzip bomb is cut off at Helm's limit on decompressed size, whatever kind of entry
/// carries it: a file, or a GNU long name the tar reader would otherwise hold in memory.
#[test]
fn gzip_bombs_are_capped() {
    let over = MAX_DECOMPRESSED_ARCHIVE_SIZE + 1024;
    for kind in [tar::EntryType::Regular, tar::EntryType::GNULongName] {
        let bytes = bomb(kind, over);
        assert!(
            (bytes.len() as u64) < over / 50,
            "the bomb weighs {} bytes",
            bytes.len()
        );
        let e = chart::load_archive("bomb.tgz", &bytes)
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|e| e.contains("larger than the maximum size")),
            "{kind:?}: {e:?}"
        );
    }
}

/// Subchart archives each within Helm's limit, together over it: refused, since nested
/// archives would otherwise multiply what a small download inflates to.
#[test]
fn subchart_archives_share_the_limit() {
    let part = vec![b'x'; (MAX_DECOMPRESSED_CHART_SIZE / 3 + 1024) as usize];
    let sub = gzip(&tar_bytes(&[
        regular(
            "sub/Chart.yaml",
            b"apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        ),
        regular("sub/big", &part),
    ]));
    let mut entries = vec![regular("demo/Chart.yaml", CHART_YAML.as_bytes())];
    for i in 0..3 {
        entries.push(regular(&format!("demo/charts/sub{i}.tgz"), &sub));
    }
    let e = chart::load_archive("tree.tgz", &gzip(&tar_bytes(&entries)))
        .err()
        .map(|e| e.to_string());
    assert!(
        e.as_deref()
            .is_some_and(|e| e.contains("sub2.tgz") && e.contains("larger than the maximum size")),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------------------

const TEMPLATE_TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{{-",
    "-}}",
    "{{- ",
    " -}}",
    "{{/*",
    "*/}}",
    "/*",
    "*/",
    " ",
    "\n",
    "\t",
    "if",
    "else",
    "else if",
    "end",
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
    "include",
    "tpl",
    "\"x\"",
    "\"",
    "`",
    "`raw`",
    "'a'",
    "'",
    "'\\n'",
    "$",
    "$x",
    ":=",
    "=",
    "|",
    "(",
    ")",
    ",",
    ".",
    ".Values",
    ".Values.a.b",
    ".Release.Name",
    "$.Chart",
    "1",
    "-1",
    "1.5e3",
    "0x1F",
    "0b101",
    "0o17",
    "1_000",
    "1i",
    "nil",
    "true",
    "false",
    "printf",
    "quote",
    "toYaml",
    "default",
    "list",
    "dict",
    "len",
    "index",
    "and",
    "or",
    "not",
    "eq",
    "\\",
    "\u{e9}",
    "\u{0}",
    "\u{feff}",
    "#",
    "-",
    "+",
];

/// What deep nesting is made of: each opens one level.
const TEMPLATE_OPENERS: &[&str] = &[
    "{{if 1}}",
    "{{range .}}",
    "{{with .}}",
    "{{define \"d\"}}",
    "(",
    "{{else if 1}}",
    "{{block \"b\" .}}",
];

/// `n` levels opened by `open`, `m` of them closed.
fn nested_template(open: &str, n: usize, m: usize) -> String {
    match open {
        "(" => format!("{{{{{}1{}}}}}", "(".repeat(n), ")".repeat(m)),
        "{{else if 1}}" => format!("{{{{if 1}}}}{}{{{{end}}}}", open.repeat(n)),
        _ => format!("{}{}", open.repeat(n), "{{end}}".repeat(m)),
    }
}

fn template_text() -> impl Strategy<Value = String> {
    let seeds = fixture_texts(".yaml")
        .into_iter()
        .chain(fixture_texts(".tpl"))
        .filter(|t| t.contains("{{"))
        .collect::<Vec<_>>();
    prop_oneof![
        2 => soup(TEMPLATE_TOKENS, 64),
        3 => (prop::sample::select(seeds), edits(TEMPLATE_TOKENS))
            .prop_map(|(seed, edits)| mutate(&seed, &edits)),
        1 => (prop::sample::select(TEMPLATE_OPENERS), 1..3000usize, 0..3000usize)
            .prop_map(|(open, n, m)| nested_template(open, n, m)),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Lexing and parsing any text ends in a template set or an error naming the template;
    /// a set that parsed runs, within a small step budget, to output or an error.
    #[test]
    fn templates_parse_or_fail_cleanly(text in template_text()) {
        let mut set = Templates::new();
        let result = bounded("parsing the template", || set.parse("fuzz/t.yaml", &text))?;
        match result {
            Err(e) => {
                let message = e.to_string();
                prop_assert!(message.contains("fuzz/t.yaml"), "{message}");
            }
            Ok(()) => {
                let ran = bounded("running the template", || {
                    let mut random = SeededRandom::new(b"fuzz");
                    let mut ctx = CallContext::new(&OfflineLookup, &mut random);
                    let budget = Budget { steps: 10_000, time: Some(Duration::from_secs(2)) };
                    let mut out = String::new();
                    set.session_within(&mut ctx, budget)
                        .execute_shared("fuzz/t.yaml", &Value::map(Map::new()), &mut out)
                        .map(|()| out.len())
                })?;
                if let Err(e) = ran {
                    prop_assert!(!e.to_string().is_empty());
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// YAML
// ---------------------------------------------------------------------------------------

const YAML_TOKENS: &[&str] = &[
    "a",
    "key",
    ":",
    ": ",
    " ",
    "  ",
    "\n",
    "\n  ",
    "- ",
    "-",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "<<: ",
    "<<",
    "!!str ",
    "!!int ",
    "!!float ",
    "!!binary ",
    "!!map ",
    "!!seq ",
    "!custom ",
    "!",
    "|",
    "|-",
    ">",
    ">+",
    "'",
    "\"",
    "''",
    "\\",
    "\\x",
    "\\u00e9",
    "#",
    " # c",
    "---",
    "---\n",
    "...",
    "? ",
    "%YAML 1.1\n",
    "%TAG ! tag:x,2000:\n",
    "0x1F",
    "0o17",
    "1e3",
    ".inf",
    "-.Inf",
    ".nan",
    "1:20",
    "190:20:30.15",
    "yes",
    "No",
    "on",
    "~",
    "null",
    "true",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "1_000",
    "9223372036854775808",
    "-0",
    "\t",
    "\r\n",
    "\u{e9}",
    "\u{85}",
    "\u{feff}",
    "\u{0}",
    "=",
];

/// What deep YAML nesting is made of: each opens one level.
const YAML_OPENERS: &[&str] = &["[", "{a: ", "- ", "a:\n", "&x [*x, "];

fn yaml_text() -> impl Strategy<Value = String> {
    let seeds = fixture_texts("values.yaml")
        .into_iter()
        .chain(fixture_texts("Chart.yaml"))
        .collect::<Vec<_>>();
    prop_oneof![
        3 => soup(YAML_TOKENS, 64),
        3 => (prop::sample::select(seeds), edits(YAML_TOKENS))
            .prop_map(|(seed, edits)| mutate(&seed, &edits)),
        1 => (prop::sample::select(YAML_OPENERS), 1..3000usize)
            .prop_map(|(open, n)| {
                if open == "a:\n" {
                    (0..n.min(400)).map(|i| format!("{}a:\n", " ".repeat(i))).collect()
                } else if open == "- " {
                    (0..n.min(400)).map(|i| format!("{}- ", " ".repeat(2 * i))).collect::<String>() + "x"
                } else {
                    open.repeat(n)
                }
            }),
        1 => (1..12usize, 2..12usize).prop_map(|(levels, width)| billion_laughs(levels, width)),
    ]
}

/// Aliases of aliases: `width^levels` nodes from a few hundred bytes.
fn billion_laughs(levels: usize, width: usize) -> String {
    let mut out = String::from("l0: &l0 [x]\n");
    for level in 1..=levels {
        let refs = vec![format!("*l{}", level - 1); width].join(", ");
        out.push_str(&format!("l{level}: &l{level} [{refs}]\n"));
    }
    out
}

/// A value of the kinds YAML and JSON carry; numbers within float64's exact integers, as
/// every number read back from YAML is a float64.
fn value_tree() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        prop::sample::select(YAML_TOKENS).prop_map(str::to_string),
        "[a-z]{0,6}",
        "[\\s\\S]{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        (-(1i64 << 53)..(1i64 << 53)).prop_map(Value::Int),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Float),
        text.clone().prop_map(|s| Value::str(&s)),
    ];
    leaf.prop_recursive(6, 96, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::list),
            prop::collection::vec((text.clone(), inner), 0..6)
                .prop_map(|kv| Value::map(kv.into_iter().collect::<Map>())),
        ]
    })
}

/// Where go-yaml v2's own round trip loses something, and so ours does too: a YAML 1.1 line
/// break other than `\n` (NEL, LS, PS) in a single-quoted string folds into a space when
/// read back, `-0` reads back as the integer 0, and a `<<` key is written plain, so it reads
/// back as a merge.
fn round_trips_in_go(v: &Value) -> bool {
    let folds = |s: &str| s.contains(['\u{85}', '\u{2028}', '\u{2029}']);
    v.walk(|v, _| match v {
        Value::String(s) => !folds(s),
        Value::Float(f) => !(*f == 0.0 && f.is_sign_negative()),
        Value::Map(m) => !m.read().keys().any(|k| folds(k) || k == "<<"),
        _ => true,
    })
}

/// `parse(emit(v))` carries what `v` does (compared as JSON, where an int and the float of
/// the same number are one), and emitting what was parsed gives the same text again.
fn check_round_trip(v: &Value) -> Result<(), TestCaseError> {
    let Ok(emitted) = yaml::to_yaml(v) else {
        return Ok(());
    };
    if !round_trips_in_go(v) {
        return Ok(());
    }
    let back = yaml::parse_value(&emitted);
    prop_assert!(
        back.is_ok(),
        "emitted YAML does not parse: {:?}\n{emitted}",
        back.err()
    );
    let back = back.unwrap_or_default();
    prop_assert_eq!(
        yaml::to_json(&back).ok(),
        yaml::to_json(v).ok(),
        "YAML:\n{}",
        emitted
    );
    prop_assert_eq!(yaml::to_yaml(&back).ok(), Some(emitted));
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Any text: a value, or an error worded as sigs.k8s.io/yaml words it; what did parse
    /// round-trips through `toYaml`.
    #[test]
    fn yaml_parses_or_fails_cleanly(text in yaml_text()) {
        let parsed = bounded("parsing YAML", || yaml::parse_value(&text))?;
        match parsed {
            Ok(v) => bounded("the round trip", || check_round_trip(&v))??,
            Err(e) => prop_assert!(e.to_string().starts_with("error "), "{e}"),
        }
        bounded("parsing documents", || {
            let _ = yaml::parse_documents(&text);
            let _ = yaml::parse_values(&text);
            let _ = yaml::parse_value_typed(&text);
        })?;
    }

    /// Values of every shape survive `toYaml` and a parse.
    #[test]
    fn yaml_round_trips(v in value_tree()) {
        bounded("the round trip", || check_round_trip(&v))??;
    }
}

/// Manifests as templates print them, to mutate: a head, a long body, and the constructs the
/// head-only reading leaves to the full one (anchors, merges, odd keys).
const MANIFEST_SEEDS: &[&str] = &[
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    x: y\n  annotations:\n    helm.sh/hook: pre-install\n    helm.sh/hook-weight: \"5\"\ndata:\n  k: |\n    text\n  n: 1.5\n",
    "kind: Secret\nmetadata: {name: s, annotations: {a: b}}\ntype: Opaque\nstringData: {x: [1, 2, {y: z}]}\n",
    "spec:\n  template: &t\n    a: 1\n  other:\n    <<: *t\nmetadata:\n  name: *t\nkind: K\n",
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: d}\n  template:\n    spec:\n      containers:\n      - name: c\n        args: [\"--x\", 1, .nan]\n",
];

const MANIFEST_TOKENS: &[&str] = &[
    "apiVersion: ",
    "kind: ",
    "metadata:\n  ",
    "name: ",
    "annotations:\n    ",
    "\n",
    "\n  ",
    "\n    ",
    "- ",
    ": ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "<<: ",
    "~: ",
    "18446744073709551615: ",
    "!!int ",
    "!!float x",
    ".nan",
    "-.inf",
    "1",
    "'",
    "\"",
    "|",
    "---\n",
    "? ",
];

/// What Helm's sorter reads of a document: `apiVersion`, `kind` and `metadata`'s `name` and
/// `annotations` of a map; of any other collection, its kind alone.
fn manifest_head(v: &Value) -> Value {
    let pick = |m: &Map, keys: &[&str], inner: &dyn Fn(&str, &Value) -> Value| {
        Value::map(
            m.iter()
                .filter(|(k, _)| keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), inner(k, v)))
                .collect(),
        )
    };
    let metadata = |v: &Value| match v {
        Value::Map(m) => pick(&m.read(), &["name", "annotations"], &|_, v| v.clone()),
        Value::List(_) => Value::list(Vec::new()),
        other => other.clone(),
    };
    match v {
        Value::Map(m) => pick(&m.read(), &["apiVersion", "kind", "metadata"], &|k, v| {
            if k == "metadata" {
                metadata(v)
            } else {
                v.clone()
            }
        }),
        Value::List(_) => Value::list(Vec::new()),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(config())]

    /// Reading a manifest for its head gives what the full reading gives there, and the same
    /// error when there is one.
    #[test]
    fn manifest_heads_read_as_the_full_reading_does(
        text in prop_oneof![
            (prop::sample::select(MANIFEST_SEEDS), edits(MANIFEST_TOKENS))
                .prop_map(|(seed, edits)| mutate(seed, &edits)),
            (prop::sample::select(MANIFEST_SEEDS), edits(YAML_TOKENS))
                .prop_map(|(seed, edits)| mutate(seed, &edits)),
            soup(MANIFEST_TOKENS, 48),
        ]
    ) {
        let (head, full) = bounded("reading the head", || {
            (yaml::parse_manifest_head(&text), yaml::parse_value_typed(&text))
        })?;
        match (head, full) {
            (Ok(head), Ok(full)) => prop_assert_eq!(
                yaml::to_json(&manifest_head(&head)).ok(),
                yaml::to_json(&manifest_head(&full)).ok(),
                "YAML:\n{}",
                text
            ),
            (head, full) => prop_assert_eq!(
                head.map_err(|e| e.to_string()).map(|_| ()),
                full.map_err(|e| e.to_string()).map(|_| ()),
                "YAML:\n{}",
                text
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Values: `--set` and coalescing
// ---------------------------------------------------------------------------------------

const SET_TOKENS: &[&str] = &[
    "a",
    "b",
    "name",
    "global",
    ".",
    ",",
    "=",
    "[",
    "]",
    "[0]",
    "[1]",
    "[65536]",
    "[65537]",
    "[-1]",
    "[x]",
    "\\",
    "\\.",
    "\\,",
    "{",
    "}",
    "{a,b}",
    "{}",
    "null",
    "true",
    "1",
    "-5",
    "0x10",
    "9223372036854775808",
    "\"",
    "'",
    " ",
    "\u{e9}",
    "{\"k\": [1, {\"n\": null}]}",
];

fn set_args() -> impl Strategy<Value = Vec<String>> {
    let arg = prop_oneof![
        4 => soup(SET_TOKENS, 24),
        1 => (1..80usize).prop_map(|n| format!("{}=1", vec!["a"; n].join("."))),
        1 => (1..200usize).prop_map(|n| format!("a{}=1", "[0]".repeat(n))),
        1 => (1..200usize).prop_map(|n| format!("a={}{}", "{".repeat(n), "}".repeat(n))),
    ];
    prop::collection::vec(arg, 0..4)
}

proptest! {
    #![proptest_config(config())]

    /// Every `--set`-style flag: merged values or Helm's `failed parsing` error.
    #[test]
    fn set_flags_merge_or_fail_cleanly(
        set in set_args(),
        set_string in set_args(),
        set_json in set_args(),
        set_literal in set_args(),
        set_file in set_args(),
    ) {
        let given = CommandLineValues {
            files: &[],
            set_json: &set_json,
            set: &set,
            set_string: &set_string,
            set_file: &set_file,
            set_literal: &set_literal,
        };
        let merged = bounded("merging --set flags", || {
            values::merge_command_line_values(&given, &mut |path| Ok(format!("file {path}")))
        })?;
        if let Err(e) = merged {
            let message = e.to_string();
            prop_assert!(message.starts_with("failed parsing --set"), "{message}");
        }
    }

    /// `--set-string a.b.c=v` puts `v` at `a.b.c`.
    #[test]
    fn set_string_puts_the_value_at_its_path(
        path in prop::collection::vec("[a-z][a-z0-9]{0,5}", 1..6),
        value in "[a-zA-Z0-9 _-]{0,12}",
    ) {
        let arg = format!("{}={value}", path.join("."));
        let merged = values::merge_user_values(&[], &[], std::slice::from_ref(&arg));
        prop_assert!(merged.is_ok(), "{arg}: {:?}", merged.err());
        let merged = merged.unwrap_or_default();
        let keys: Vec<&str> = path.iter().map(String::as_str).collect();
        prop_assert_eq!(merged.str_at(&keys), Some(value));
    }
}

/// A chart archive with a subchart, both with generated values, the parent's
/// `Chart.yaml` naming the subchart with a condition and import-values.
fn values_chart(parent: &Value, sub: &Value, condition: bool) -> Option<chart::Chart> {
    let parent_yaml = yaml::to_yaml(parent).ok()?;
    let sub_yaml = yaml::to_yaml(sub).ok()?;
    let sub_archive = gzip(&tar_bytes(&[
        regular(
            "sub/Chart.yaml",
            b"apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        ),
        regular("sub/values.yaml", sub_yaml.as_bytes()),
        regular("sub/templates/a.yaml", b"a: 1\n"),
    ]));
    let condition = if condition {
        "  condition: sub.enabled\n"
    } else {
        ""
    };
    let chart_yaml = format!(
        "apiVersion: v2\nname: demo\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: 0.1.0\n{condition}  import-values:\n  - child: a\n    parent: imported\n"
    );
    let bytes = gzip(&tar_bytes(&[
        regular("demo/Chart.yaml", chart_yaml.as_bytes()),
        regular("demo/values.yaml", parent_yaml.as_bytes()),
        regular("demo/charts/sub-0.1.0.tgz", &sub_archive),
    ]));
    chart::load_archive("values.tgz", &bytes).ok()
}

fn values_map() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        4 => "[a-c]{1,2}",
        1 => Just("global".to_string()),
        1 => Just("sub".to_string()),
        1 => Just("enabled".to_string()),
    ];
    prop::collection::vec((key, value_tree()), 0..6)
        .prop_map(|kv| Value::map(kv.into_iter().collect::<Map>()))
}

proptest! {
    #![proptest_config(config())]

    /// Coalescing user values with a chart's and a subchart's defaults, globals and imports
    /// ends in values or a clear error; a user's scalar at the top always wins.
    #[test]
    fn values_coalesce_or_fail_cleanly(
        parent in values_map(),
        sub in values_map(),
        user in values_map(),
        condition in any::<bool>(),
    ) {
        let Some(chart) = values_chart(&parent, &sub, condition) else {
            return Ok(());
        };
        let prepared = bounded("coalescing", || values::prepare(chart, user.clone()))?;
        let prepared = match prepared {
            Ok(p) => p,
            Err(e) => {
                prop_assert!(!e.to_string().is_empty());
                return Ok(());
            }
        };
        let _ = bounded("validating", || values::validate(&prepared))?;
        if let Some(user) = user.as_map() {
            for (k, v) in user.iter() {
                let scalar = matches!(v, Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::String(_));
                if scalar && k != "sub" && k != "global" && k != "imported" {
                    prop_assert_eq!(
                        prepared.values.get(k).map(|got| yaml::to_json(&got).ok()),
                        Some(yaml::to_json(v).ok()),
                        "key {}", k
                    );
                }
            }
        }
    }
}

/// Found by `templates_parse_or_fail_cleanly`: nested `{{block}}`s overflowed the stack, and
/// so did dropping a deep subtree that a later parse error abandoned.
#[test]
fn deep_nesting_ends_in_an_error_not_a_stack_overflow() {
    let parens = format!("{{{{with {}1{}}}}}", "(".repeat(9000), ")".repeat(9000));
    let cases = [
        nested_template("{{block \"b\" .}}", 20000, 0),
        format!(
            "{{{{with .}}}}{}",
            nested_template("{{with .}}", 20000, 20000)
        ),
        format!(
            "{{{{if 1}}}}{}{{{{else}}}}",
            nested_template("{{if 1}}", 20000, 20000)
        ),
        format!(
            "{{{{define \"d\"}}}}{}{{{{else}}}}",
            nested_template("{{range .}}", 20000, 20000)
        ),
        format!(
            "{}{{{{end}}}}{{{{end}}}}",
            nested_template("{{with .}}", 20000, 20000)
        ),
        parens.clone(),
        format!("{parens}{{{{end}}}}{{{{if}}}}"),
    ];
    for text in cases {
        let e = Templates::new()
            .parse("t", &text)
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|e| e.starts_with("template: t:1: ")),
            "{e:?}"
        );
    }
}
