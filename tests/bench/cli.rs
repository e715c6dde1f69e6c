//! Whole process against whole process: `dsc-helm template` beside `helm template` (Helm's own
//! CLI, built by tests/helm-cli/build.sh) on the corpus charts that cost Helm the most, with
//! the same arguments, in the same run. A user who swaps one CLI for the other pays process
//! start, archive inflation, rendering and writing; so this measures all of it, plus the two
//! floors no renderer avoids: starting a process and inflating the archive.
//!
//! Run: `cargo bench --bench cli` (optionally `-- --heaviest N --runs N`). It prints a table
//! of median wall times, median CPU times (user and system, from the kernel's accounting: a
//! CLI that uses several cores can be faster in wall time than its CPU time says, and a busy
//! machine shows in wall time first) and peak resident memory, and the median ratios; it
//! never asserts.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HELM_VERSION: &str = "v4.2.3";

/// One finished process: wall time, CPU time (user, system) and peak resident set.
struct Run {
    wall: Duration,
    user: Duration,
    sys: Duration,
    max_rss_kib: i64,
    success: bool,
}

/// Runs a command to completion with its output discarded, reading its peak memory from the
/// kernel's accounting of the reaped child (`wait4`), which no wrapper process distorts.
fn run(program: &Path, args: &[String]) -> std::io::Result<Run> {
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for the kernel to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, which std has not reaped (`child` is never waited on).
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    if reaped != pid {
        return Err(std::io::Error::last_os_error());
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    Ok(Run {
        wall,
        user: time(usage.ru_utime),
        sys: time(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss,
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
    })
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn corpus_dir() -> Option<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("../shared/corpus"))
        .find(|dir| dir.join("charts").is_dir())
}

fn helm_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("DSC_HELM_HELM_BIN") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    Path::new(&home).join(format!(".cache/dsc-helm/helm/{HELM_VERSION}/helm"))
}

/// `helm template` arguments for a chart's default case, as tests/helm-cli/compare.py runs them.
fn template_args(chart: &Path) -> Vec<String> {
    let case = chart.join("cases/default");
    vec![
        "template".into(),
        "rel".into(),
        chart.join("chart.tgz").display().to_string(),
        "-f".into(),
        case.join("values.yaml").display().to_string(),
        "-n".into(),
        "ns".into(),
    ]
}

fn flag(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How long inflating and reading every tar entry of the archive takes in this process: the
/// part of loading a chart that no parser or renderer can make faster.
fn inflate(archive: &Path) -> std::io::Result<Duration> {
    let bytes = std::fs::read(archive)?;
    let start = Instant::now();
    let mut entries = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut sink = Vec::new();
    for entry in entries.entries()? {
        sink.clear();
        entry?.read_to_end(&mut sink)?;
    }
    Ok(start.elapsed())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let heaviest = flag(&args, "--heaviest", 8);
    let runs = flag(&args, "--runs", 7);
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_dsc-helm"));
    let helm = helm_binary();
    let Some(corpus) = corpus_dir() else {
        eprintln!("cli bench: ../shared/corpus not found; nothing to measure");
        std::process::exit(2);
    };
    if !helm.is_file() {
        eprintln!(
            "cli bench: no Helm CLI at {} (build it with bash tests/helm-cli/build.sh)",
            helm.display()
        );
        std::process::exit(2);
    }

    let mut charts: Vec<PathBuf> = std::fs::read_dir(corpus.join("charts"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("cases/default/values.yaml").is_file())
        .collect();
    charts.sort();

    // Rank by what Helm spends on each chart, one run each; the heaviest are where a drop-in
    // replacement is felt.
    let mut cost: Vec<(f64, PathBuf)> = Vec::new();
    for chart in charts {
        if let Ok(r) = run(&helm, &template_args(&chart))
            && r.success
        {
            cost.push((ms(r.wall), chart));
        }
    }
    cost.sort_by(|a, b| b.0.total_cmp(&a.0));
    cost.truncate(heaviest);

    let startup: Vec<f64> = (0..runs)
        .filter_map(|_| run(&ours, &["--version".to_string()]).ok())
        .map(|r| ms(r.wall))
        .collect();
    let helm_startup: Vec<f64> = (0..runs)
        .filter_map(|_| run(&helm, &["version".to_string()]).ok())
        .map(|r| ms(r.wall))
        .collect();

    println!(
        "{:<24} {:>8} {:>8} {:>6} {:>13} {:>13} {:>6} {:>8} {:>8} {:>8}",
        "chart (default case)",
        "helm ms",
        "ours ms",
        "ratio",
        "helm cpu u+s",
        "ours cpu u+s",
        "ratio",
        "helm MB",
        "ours MB",
        "inflate"
    );
    let mut ratios = Vec::new();
    let mut cpu_ratios = Vec::new();
    for (_, chart) in &cost {
        let argv = template_args(chart);
        let (mut helm_ms, mut ours_ms, mut helm_rss, mut ours_rss) = (vec![], vec![], 0, 0);
        let (mut helm_user, mut helm_sys, mut ours_user, mut ours_sys) =
            (vec![], vec![], vec![], vec![]);
        let mut failed = false;
        // Alternating runs, so that a slow moment of the machine falls on both.
        for _ in 0..runs {
            match (run(&helm, &argv), run(&ours, &argv)) {
                (Ok(h), Ok(o)) => {
                    failed |= !h.success || !o.success;
                    helm_ms.push(ms(h.wall));
                    ours_ms.push(ms(o.wall));
                    helm_user.push(ms(h.user));
                    helm_sys.push(ms(h.sys));
                    ours_user.push(ms(o.user));
                    ours_sys.push(ms(o.sys));
                    helm_rss = helm_rss.max(h.max_rss_kib);
                    ours_rss = ours_rss.max(o.max_rss_kib);
                }
                _ => failed = true,
            }
        }
        let name = chart.file_name().unwrap_or_default().to_string_lossy();
        let inflate_ms = inflate(&chart.join("chart.tgz")).map_or(f64::NAN, ms);
        let (h, o) = (median(helm_ms), median(ours_ms));
        let (hu, hs, ou, os) = (
            median(helm_user),
            median(helm_sys),
            median(ours_user),
            median(ours_sys),
        );
        ratios.push(h / o);
        cpu_ratios.push((hu + hs) / (ou + os));
        println!(
            "{:<24} {:>8.1} {:>8.1} {:>5.1}x {:>6.0}+{:<6.0} {:>6.1}+{:<6.1} {:>5.1}x {:>8.1} {:>8.1} {:>6.1}ms{}",
            name,
            h,
            o,
            h / o,
            hu,
            hs,
            ou,
            os,
            (hu + hs) / (ou + os),
            helm_rss as f64 / 1024.0,
            ours_rss as f64 / 1024.0,
            inflate_ms,
            if failed { "  (a run failed)" } else { "" }
        );
    }
    println!(
        "median ratio over the {} heaviest charts: {:.1}x wall, {:.1}x CPU (helm template / \
         dsc-helm template)",
        ratios.len(),
        median(ratios),
        median(cpu_ratios)
    );
    println!(
        "process start alone: dsc-helm --version {:.1} ms, helm version {:.1} ms",
        median(startup),
        median(helm_startup)
    );
}
