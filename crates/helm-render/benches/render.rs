//! Rendering benchmark against Helm's own engine, measured in the same run on the same
//! machine: `cargo bench --bench render` (add `-- --quick` for fewer repetitions, or
//! `-- CHART_ID...` to select charts).
//!
//! For every corpus render case it prints:
//! - Helm: seconds per load+render from ../shared/tools/helm_oracle.py `time`;
//! - ours, load+render: loading the archive and rendering, as one `helm template` run does;
//! - ours, render only: the chart loaded and its templates parsed, as the operator's steady
//!   state re-renders;
//!
//! then the median ratios, and the time to load and parse all corpus charts (first pass and
//! median of the following ones).

#[path = "../tests/corpus/mod.rs"]
mod corpus;

use std::process::Command;
use std::time::Instant;

use helm_render::engine::funcs::SeededRandom;
use helm_render::render::Renderer;

/// The allocator dsc-helm ships with, so that the numbers are the operator's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e`) and the 50 ms that
/// dsc-helm's binary sets it to (`dsc_helm::return_freed_memory_promptly`).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const PURGE_DELAY_MS: std::ffi::c_long = 50;

struct Row {
    case: String,
    helm: Option<f64>,
    load_render: f64,
    render_only: f64,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    match xs.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

fn time_per_run(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f();
        samples.push(start.elapsed().as_secs_f64());
    }
    median(samples)
}

fn helm_seconds(archive: &std::path::Path, values: &std::path::Path, repeat: usize) -> Option<f64> {
    let oracle = corpus::corpus_dir().join("../tools/helm_oracle.py");
    let out = Command::new("python3")
        .arg(oracle)
        .arg("time")
        .arg(archive)
        .arg("-f")
        .arg(values)
        .arg("--repeat")
        .arg(repeat.to_string())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    json["seconds_per_render"].as_f64()
}

fn ms(seconds: f64) -> String {
    format!("{:9.3}", seconds * 1000.0)
}

fn main() {
    // SAFETY: sets one of mimalloc's integer options; any value is valid at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let quick = args.iter().any(|a| a == "--quick");
    let selected: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let (helm_repeat, our_runs) = if quick { (2, 5) } else { (5, 20) };

    let charts = corpus::load_corpus();

    // Loading and parsing every chart, as the operator does at startup: the first pass (files
    // not yet in the page cache, a fresh heap) and the median of the following ones, which is
    // steadier on a shared machine.
    let load_pass = || {
        let start = Instant::now();
        let loaded: Vec<_> = charts
            .iter()
            .filter_map(|chart| helm_render::chart::load(&chart.archive).ok())
            .collect();
        (start.elapsed().as_secs_f64(), loaded)
    };
    let (load_all_first, loaded) = load_pass();
    let load_all = median((0..our_runs).map(|_| load_pass().0).collect());

    let mut rows = Vec::new();
    let mut random = SeededRandom::new(b"bench");
    for (chart, meta) in charts.iter().filter_map(|c| {
        let l = helm_render::chart::load(&c.archive).ok()?;
        Some((l, c))
    }) {
        if !selected.is_empty() && !selected.iter().any(|s| **s == meta.id) {
            continue;
        }
        let archive_bytes = match std::fs::read(&meta.archive) {
            Ok(b) => b,
            Err(_) => continue,
        };
        for case in meta.cases.iter().filter(|c| c.error.is_none()) {
            let Ok(values) = corpus::case_values(case) else {
                continue;
            };
            let renderer = Renderer::new();
            let render = |renderer: &Renderer,
                          chart: &helm_render::chart::Chart,
                          random: &mut SeededRandom| {
                corpus::render_case(
                    renderer,
                    chart,
                    values.clone(),
                    &case.release,
                    &case.namespace,
                    random,
                )
                .is_ok()
            };
            if !render(&renderer, &chart, &mut random) {
                continue;
            }
            let render_only = time_per_run(our_runs, || {
                render(&renderer, &chart, &mut random);
            });
            let load_render = time_per_run(our_runs, || {
                if let Ok(fresh) = helm_render::chart::load_archive("bench", &archive_bytes) {
                    render(&Renderer::new(), &fresh, &mut random);
                }
            });
            let helm = helm_seconds(&meta.archive, &case.values_path, helm_repeat);
            let row = Row {
                case: format!("{}/{}", meta.id, case.name),
                helm,
                load_render,
                render_only,
            };
            println!(
                "{:60} helm {} ms | ours load+render {} ms ({:6.1}x) | render only {} ms ({:6.1}x)",
                row.case,
                row.helm.map_or("      n/a".to_string(), ms),
                ms(row.load_render),
                row.helm.map_or(f64::NAN, |h| h / row.load_render),
                ms(row.render_only),
                row.helm.map_or(f64::NAN, |h| h / row.render_only),
            );
            rows.push(row);
        }
    }

    let with_helm: Vec<&Row> = rows.iter().filter(|r| r.helm.is_some()).collect();
    let ratio = |f: &dyn Fn(&Row) -> f64| {
        median(
            with_helm
                .iter()
                .map(|r| r.helm.unwrap_or(f64::NAN) / f(r))
                .collect(),
        )
    };
    println!();
    println!(
        "cases measured: {} ({} with a Helm timing)",
        rows.len(),
        with_helm.len()
    );
    println!(
        "median speed-up over Helm, load+render: {:.1}x",
        ratio(&|r| r.load_render)
    );
    println!(
        "median speed-up over Helm, render only (chart loaded and parsed): {:.1}x",
        ratio(&|r| r.render_only)
    );
    println!(
        "load and parse all {} corpus charts: {:.1} ms (median of {our_runs} passes; first pass {:.1} ms)",
        loaded.len(),
        load_all * 1000.0,
        load_all_first * 1000.0
    );
}
