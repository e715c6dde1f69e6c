//! Rendering conformance with Helm's own engine, over every render and schema case of
//! ../shared/corpus, in-process (the same pipeline as `dsc-helm template`). The test fails
//! when fewer cases pass than the floor recorded in tests/conformance-floor.txt: raise the
//! floor as conformance improves, never lower it. It prints the same closing line as
//! ../shared/tools/conformance.py. The corpus's rendered manifests also serve as real-world
//! input for the webhook's shortcut around re-parsing edited YAML.

mod corpus;

use helm_render::engine::funcs::SeededRandom;
use helm_render::engine::{Budget, ROUTINE_STEPS};
use helm_render::render::Renderer;

fn floor() -> usize {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance-floor.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("{} must hold one number: {e}", path.display()))
}

#[test]
fn corpus_renders_like_helm() {
    let charts = corpus::load_corpus();
    let mut passed = 0usize;
    let mut failures = Vec::new();
    let mut render_ok = 0usize;
    let mut render_total = 0usize;
    let mut schema_ok = 0usize;
    let mut schema_total = 0usize;
    let mut random = SeededRandom::new(b"conformance");

    for chart in &charts {
        let loaded = helm_render::chart::load(&chart.archive);
        // A quarter of the routine budget: the webhook's first try of a dry render must stay
        // far beyond what real charts need, or ordinary values would need its expensive slot.
        let renderer = Renderer::within(Budget {
            steps: ROUTINE_STEPS / 4,
            time: None,
        });
        for case in &chart.cases {
            render_total += 1;
            let problem = match &loaded {
                Err(e) => Some(format!("chart failed to load: {e}")),
                Ok(loaded) => {
                    let outcome = corpus::case_values(case).and_then(|values| {
                        corpus::render_case(
                            &renderer,
                            loaded,
                            values,
                            &case.release,
                            &case.namespace,
                            &mut random,
                        )
                        .map_err(|e| e.to_string())
                    });
                    match (&case.error, outcome) {
                        (Some(_), Err(_)) => None,
                        (Some(helm), Ok(_)) => Some(format!(
                            "Helm fails here ({}) but the renderer succeeded",
                            helm.lines().next().unwrap_or_default()
                        )),
                        (None, Err(e)) => Some(format!("renderer failed: {e}")),
                        (None, Ok(rendered)) => {
                            let expected = std::fs::read_to_string(&case.expected_path)
                                .ok()
                                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
                            match expected.as_ref().and_then(|e| e.as_object()) {
                                None => Some("expected.json is unreadable".to_string()),
                                Some(expected) => corpus::compare(expected, &rendered, &case.mask),
                            }
                        }
                    }
                }
            };
            match problem {
                None => {
                    passed += 1;
                    render_ok += 1;
                }
                Some(p) => failures.push(format!("FAIL {} case {}: {}", chart.id, case.name, p)),
            }
        }
        for case in &chart.schema_cases {
            schema_total += 1;
            let accepted = match &loaded {
                Err(_) => false,
                Ok(loaded) => corpus::render_case(
                    &renderer,
                    loaded,
                    case.values.clone(),
                    "rel",
                    "ns",
                    &mut random,
                )
                .is_ok(),
            };
            if accepted == case.helm_accepts {
                passed += 1;
                schema_ok += 1;
            } else {
                failures.push(format!(
                    "FAIL {} schema {}: Helm {} these values, the renderer {} them",
                    chart.id,
                    case.name,
                    if case.helm_accepts {
                        "accepts"
                    } else {
                        "rejects"
                    },
                    if accepted { "accepted" } else { "rejected" },
                ));
            }
        }
    }

    for failure in &failures {
        println!("{}", truncate(failure, 400));
    }
    let summary = format!(
        "render cases {render_ok} of {render_total}; schema cases {schema_ok} of {schema_total}\n\
         conformance: {passed} passed, {} failed\n",
        failures.len()
    );
    print!("{summary}");
    let summary_path =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance-summary.txt");
    if let Err(e) = std::fs::write(&summary_path, &summary) {
        println!("could not write {}: {e}", summary_path.display());
    }
    let floor = floor();
    assert!(
        passed >= floor,
        "conformance dropped below the recorded floor: {passed} passed, floor {floor}"
    );
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The webhook skips parsing a render that differs from the last parsed one only by scalar
/// words (`only_scalar_words_changed`). Over real manifests (each corpus chart's first case,
/// as rendered like Helm), random seeded edits that the rule accepts must all still parse.
#[test]
fn word_edits_the_yaml_check_skips_leave_real_manifests_valid() {
    const INSERTIONS: &[&str] = &[
        "", "1", "9", "x", "e", "e999", "null", "nul", "l", ".inf", "-", ".", "_", "n", "0x",
        "kind", ":", "#", " ", "\"", "\\", "*", "&", "!", "|", ",", "]", "\n",
    ];
    let mut state: u64 = 0x00c0_ffee_1234_5678;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 16) as usize % n.max(1)
    };
    let (mut accepted, mut texts) = (0usize, 0usize);
    let mut random = SeededRandom::new(b"word-edits");
    for chart in corpus::load_corpus() {
        let (Ok(loaded), Some(case)) = (
            helm_render::chart::load(&chart.archive),
            chart.cases.first(),
        ) else {
            continue;
        };
        let Ok(values) = corpus::case_values(case) else {
            continue;
        };
        let renderer = Renderer::new();
        let Ok(rendered) = corpus::render_case(
            &renderer,
            &loaded,
            values,
            &case.release,
            &case.namespace,
            &mut random,
        ) else {
            continue;
        };
        for (source, text) in &rendered {
            let parses =
                |t: &str| helm_render::manifest::parse_template(source, t, &mut Vec::new()).is_ok();
            if text.is_empty() || !parses(text) {
                continue;
            }
            texts += 1;
            for _ in 0..40 {
                let mut edited = text.clone();
                for _ in 0..1 + next(2) {
                    let at = next(edited.len() + 1);
                    let end = (at + next(4)).min(edited.len());
                    if edited.is_char_boundary(at) && edited.is_char_boundary(end) {
                        edited.replace_range(at..end, INSERTIONS[next(INSERTIONS.len())]);
                    }
                }
                if edited != *text
                    && helm_render::manifest::only_scalar_words_changed(text, &edited)
                {
                    accepted += 1;
                    assert!(
                        parses(&edited),
                        "{}: an accepted edit of {source} does not parse:\n{edited}",
                        chart.id
                    );
                }
            }
        }
    }
    println!("{texts} rendered templates, {accepted} accepted edits, all still valid");
    assert!(
        texts > 300 && accepted > 1000,
        "{texts} texts, {accepted} edits"
    );
}
