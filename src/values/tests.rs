use super::*;
use crate::chart;

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/charts")
}

fn corpus_ids() -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(corpus_dir())
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[test]
fn corpus_schema_cases_agree_with_helm() {
    let mut agree = 0;
    let mut total = 0;
    let mut disagreements = Vec::new();
    for id in corpus_ids() {
        let dir = corpus_dir().join(&id);
        let Ok(c) = chart::load(&dir.join("chart.tgz")) else {
            panic!("corpus chart {id} failed to load");
        };
        let Ok(rd) = std::fs::read_dir(dir.join("schema")) else {
            continue;
        };
        let mut cases: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
        cases.sort();
        for case in cases {
            let text = std::fs::read_to_string(&case).unwrap_or_default();
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
                panic!("bad case file {}", case.display());
            };
            let accepts = json["helm_render_accepts"].as_bool().unwrap_or(false);
            let err = json["helm_render_error"].as_str().unwrap_or("");
            // Rejections for template reasons are not schema verdicts.
            if !accepts && !err.starts_with("HelmValuesError") {
                continue;
            }
            total += 1;
            let user = Value::from_json(&json["values"]);
            let ours = match prepare(c.clone(), user) {
                Ok(p) => validate(&p).is_empty(),
                Err(_) => false,
            };
            if ours == accepts {
                agree += 1;
            } else {
                disagreements.push(format!(
                    "{} (helm accepts: {accepts}) {err}",
                    case.display()
                ));
            }
        }
    }
    println!("schema agreement: {agree}/{total}");
    for d in &disagreements {
        println!("  {d}");
    }
    assert!(total > 100);
    assert_eq!(agree, total, "disagreements: {disagreements:#?}");
}
