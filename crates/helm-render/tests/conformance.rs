//! Rendering conformance with Helm's own engine, over every render and schema case of
//! ../shared/corpus, in-process (the same pipeline as `dsc-helm template`). The test fails
//! when fewer cases pass than the floor recorded in tests/conformance-floor.txt: raise the
//! floor as conformance improves, never lower it. It prints the same closing line as
//! ../shared/tools/conformance.py. The corpus's rendered manifests also serve as real-world
//! input for the webhook's shortcut around re-parsing edited YAML, and for the manifest
//! sorter's line-at-a-time check.

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

/// A repeatable xorshift source of numbers below its argument, for seeded random edits.
fn seeded_below(seed: u64) -> impl FnMut(usize) -> usize {
    let mut state = seed;
    move |n| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 16) as usize % n.max(1)
    }
}

/// Each corpus chart's first case rendered as Helm renders it (random functions seeded
/// from `seed`), named by the chart's id: real manifests for the YAML shortcuts' tests.
fn first_case_renders(seed: &[u8]) -> Vec<(String, helm_render::render::Rendered)> {
    let mut random = SeededRandom::new(seed);
    let mut renders = Vec::new();
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
        if let Ok(rendered) = corpus::render_case(
            &renderer,
            &loaded,
            values,
            &case.release,
            &case.namespace,
            &mut random,
        ) {
            renders.push((chart.id.clone(), rendered));
        }
    }
    renders
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
    let mut next = seeded_below(0x00c0_ffee_1234_5678);
    let (mut accepted, mut texts) = (0usize, 0usize);
    for (chart, rendered) in first_case_renders(b"word-edits") {
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
                        "{chart}: an accepted edit of {source} does not parse:\n{edited}"
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

/// What Helm's sorter reads of a document (`apiVersion`, `kind`, `metadata.name` and
/// `metadata.annotations`), as JSON, from any reading of it. Of a field that does not fit
/// Helm's struct (which the sorter refuses, naming only its JSON type) only the type counts.
fn sorter_head(v: &helm_render::value::Value) -> String {
    use helm_render::value::Value;
    let json_type = |v: &Value| format!("{:?}", std::mem::discriminant(&v.to_json()));
    match v {
        Value::Map(_) => {
            let metadata = v.get("metadata").map(|m| match m {
                Value::Map(_) => format!(
                    "{:?}/{:?}",
                    m.get("name").map(|n| match n {
                        Value::Map(_) | Value::List(_) => json_type(&n),
                        scalar => format!("{:?}", scalar.to_json()),
                    }),
                    m.get("annotations").map(|a| match a {
                        Value::Map(_) => format!("{:?}", a.to_json()),
                        other => json_type(&other),
                    })
                ),
                other => json_type(&other),
            });
            format!(
                "{:?} {:?} {metadata:?}",
                v.get("apiVersion").map(|a| a.to_json()),
                v.get("kind").map(|k| k.to_json())
            )
        }
        other => json_type(other),
    }
}

/// The manifest sorter checks most documents a line at a time instead of with a YAML
/// scanner. Over every document of each corpus chart's first case, and random edits of them
/// (near-valid YAML, where the check must never accept what the full reading refuses), the
/// head and the error are the full reading's; and the check settles most real documents.
#[test]
fn manifest_heads_checked_by_lines_read_as_the_full_reading_does() {
    const INSERTIONS: &[&str] = &[
        "", " ", "  ", "\n", "\n  ", "\n    ", "- ", ": ", ":", "#", " #", "'", "\"", "|", ">-",
        "[", "]", "{}", "[]", ",", "&a ", "*a", "!!", "? ", "<<: ", "~: ", ".nan", ".inf", "1",
        "y", "null", "\\", "\\x", "\t", "\r", "---\n", "...", "%", "@", "-", "--", "\u{85}",
    ];
    let mut next = seeded_below(0x005e_ed0f_1ea5_d0c5);
    // DSC_HELM_HEAD_EDITS=800 searches harder than CI has time for (about 40 s in release).
    let edits: usize = std::env::var("DSC_HELM_HEAD_EDITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let (mut documents, mut by_lines, mut edited_docs, mut edited_by_lines) = (0, 0, 0, 0);

    let compare = |doc: &str| {
        let head = helm_render::yaml::parse_manifest_head(doc);
        let full = helm_render::yaml::parse_value_typed(doc);
        match (head, full) {
            (Ok(head), Ok(full)) => assert_eq!(sorter_head(&head), sorter_head(&full), "{doc}"),
            (head, full) => assert_eq!(
                head.map(|_| ()).map_err(|e| e.to_string()),
                full.map(|_| ()).map_err(|e| e.to_string()),
                "{doc}"
            ),
        }
        helm_render::yaml::manifest_head_checked_by_lines(doc)
    };
    for (_, rendered) in first_case_renders(b"manifest-heads") {
        for text in rendered.values() {
            for doc in helm_render::template_output::split_manifests(text) {
                documents += 1;
                let ok = compare(doc);
                by_lines += usize::from(ok);
                // Large documents are edited near their head, where the sorter looks, and
                // anywhere; each edit is checked on a bounded window to keep this quick.
                for round in 0..edits {
                    // Even rounds edit the head; odd ones a window from any line of the body.
                    let from = if round % 2 == 0 {
                        0
                    } else {
                        let at = doc.floor_char_boundary(next(doc.len()));
                        doc[..at].rfind('\n').map_or(0, |i| i + 1)
                    };
                    let window = &doc[from..doc.floor_char_boundary(from + 4096)];
                    let mut edited = window.to_string();
                    for _ in 0..1 + next(3) {
                        let at = next(edited.len() + 1);
                        let end = (at + next(3)).min(edited.len());
                        if edited.is_char_boundary(at) && edited.is_char_boundary(end) {
                            edited.replace_range(at..end, INSERTIONS[next(INSERTIONS.len())]);
                        }
                    }
                    edited_docs += 1;
                    edited_by_lines += usize::from(compare(&edited));
                }
            }
        }
    }
    println!(
        "{by_lines} of {documents} corpus documents checked by lines, {edited_by_lines} of \
         {edited_docs} edited ones; heads and errors all as the full reading's"
    );
    assert!(documents > 1000, "{documents} documents");
    assert!(by_lines * 10 > documents * 9, "{by_lines} of {documents}");
}
