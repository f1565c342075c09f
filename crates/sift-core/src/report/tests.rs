use proptest::prelude::*;

use super::*;

fn plan_doc(tasks: &str) -> String {
    format!(
        r#"{{"format_version": 1, "base": null, "head": null, "changed_files": [], "components": [], "push": null, "tasks": [{tasks}]}}"#
    )
}

/// The embedded data of a rendered page, parsed back.
fn embedded(html: &str) -> serde_json::Value {
    let open = r#"<script type="application/json" id="sift-data">"#;
    let start = html.find(open).expect("data element") + open.len();
    let end = start + html[start..].find("</script>").expect("data element ends");
    serde_json::from_str(&html[start..end]).expect("embedded data is JSON")
}

#[test]
fn the_csp_hash_is_the_scripts() {
    let digest = ring::digest::digest(&ring::digest::SHA256, SCRIPT.as_bytes());
    let hash = base64(digest.as_ref());
    assert_eq!(
        SCRIPT_SHA256, hash,
        "report.js changed: set SCRIPT_SHA256 in report/mod.rs to \"{hash}\""
    );
}

/// Standard base64 with padding (what CSP hashes use).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_known_values() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
}

#[test]
fn assets_cannot_end_their_own_elements() {
    assert!(!SCRIPT.to_ascii_lowercase().contains("</script"));
    assert!(!STYLE.to_ascii_lowercase().contains("</style"));
    assert!(!SCRIPT.contains("<!--"));
    // No slot markers in the template but the four that `fill` knows.
    let slots: Vec<&str> = TEMPLATE
        .match_indices("{{")
        .map(|(i, _)| &TEMPLATE[i + 2..i + 2 + TEMPLATE[i..].find("}}").unwrap() - 2])
        .collect();
    assert_eq!(slots, ["SCRIPT_SHA256", "STYLE", "DATA", "SCRIPT"]);
    // Nothing the page loads from elsewhere.
    for asset in [TEMPLATE, STYLE, SCRIPT] {
        for remote in ["http://", "https://", "//fonts.", "@import", "url("] {
            let allowed = remote == "http://" && asset.contains("'http://www.w3.org/2000/svg'");
            assert!(
                !asset.contains(remote) || allowed,
                "an asset refers to `{remote}`"
            );
        }
    }
}

#[test]
fn hostile_names_stay_inside_the_data() {
    let names = [
        "</script><script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<!--",
        "\"quoted'\\",
        "a\u{2028}b",
        "{{SCRIPT}}",
    ];
    let tasks: Vec<String> = names
        .iter()
        .map(|n| {
            format!(
                r#"{{"name": {}, "run": true, "reason": "r", "needs": []}}"#,
                serde_json::to_string(n).unwrap()
            )
        })
        .collect();
    let plan = plan_doc(&tasks.join(","));
    let report = render(
        &Inputs {
            plan: Some(&plan),
            ..Default::default()
        },
        "sift test",
    )
    .unwrap();
    let html = &report.html;
    // One script element of data and one of code, nothing more.
    assert_eq!(html.matches("<script").count(), 2);
    assert_eq!(html.matches("</script>").count(), 2);
    assert!(!html.contains("<img"));
    assert_eq!(html.matches("<!--").count(), 0);
    let data = embedded(html);
    let got: Vec<&str> = data["plan"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(got, names);
    assert_eq!(data["generator"], "sift test");
    // The script slot is filled once, from the asset, not from the data.
    assert_eq!(html.matches(SCRIPT).count(), 1);
}

proptest! {
    #[test]
    fn embedded_json_parses_back_and_has_no_markup(text in any::<String>()) {
        let json = serde_json::to_string(&text).unwrap();
        let safe = embed_safe(&json);
        prop_assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
        let separators = ['\u{2028}', '\u{2029}'];
        prop_assert!(!safe.contains(separators));
        let back: String = serde_json::from_str(&safe).unwrap();
        prop_assert_eq!(back, text);
    }
}

#[test]
fn inputs_are_checked() {
    let err = |inputs: Inputs| render(&inputs, "sift").unwrap_err();
    assert_eq!(err(Inputs::default()), ReportError::Empty);

    let e = err(Inputs {
        plan: Some("{\"format_version\": 1,\n \"tasks\": [}"),
        ..Default::default()
    });
    assert!(
        e.to_string()
            .starts_with("the plan is not a `sift plan --format json` document: "),
        "{e}"
    );
    assert!(e.to_string().contains("line 2"), "{e}");

    let newer = plan_doc("").replace("\"format_version\": 1", "\"format_version\": 2");
    let e = err(Inputs {
        plan: Some(&newer),
        ..Default::default()
    });
    assert!(e.to_string().contains("format_version 2"), "{e}");
    assert!(e.hint().unwrap().contains("newer sift"));

    let twice = plan_doc(
        r#"{"name": "a", "run": true, "reason": ""}, {"name": "a", "run": false, "reason": ""}"#,
    );
    let e = err(Inputs {
        plan: Some(&twice),
        ..Default::default()
    });
    assert!(e.to_string().contains("task `a` is listed twice"), "{e}");

    // A run report given as the plan, and the other way round.
    let run = r#"{"format_version": 1, "base": null, "head": null, "tasks": [{"name": "a", "run": true, "reason": "", "result": "succeeded"}], "summary": {}}"#;
    let e = err(Inputs {
        plan: Some(run),
        ..Default::default()
    });
    assert!(e.hint().unwrap().contains("--run"), "{e:?}");
    let e = err(Inputs {
        run: Some(&plan_doc(r#"{"name": "a", "run": true, "reason": ""}"#)),
        ..Default::default()
    });
    assert!(e.hint().unwrap().contains("--plan"), "{e:?}");
    let shards = r#"{"format_version": 1, "times": "flat map", "total_seconds": 1, "lower_bound_seconds": 1, "split_factor": 1, "shards": [{"index": 1, "expected_seconds": 1, "tests": []}], "unknown": []}"#;
    let e = err(Inputs {
        run: Some(shards),
        ..Default::default()
    });
    assert!(e.hint().unwrap().contains("--shards"), "{e:?}");

    // A dry run is a run; a run task without a result is not.
    let dry = r#"{"format_version": 1, "dry_run": true, "jobs": 2, "expected_makespan_s": 1, "tasks": [{"name": "a", "slot": 1, "expected_start_s": 0, "expected_finish_s": 1}]}"#;
    assert!(
        render(
            &Inputs {
                run: Some(dry),
                ..Default::default()
            },
            "sift"
        )
        .is_ok()
    );
    let e = err(Inputs {
        run: Some(r#"{"format_version": 1, "tasks": [{"name": "a", "run": true}]}"#),
        ..Default::default()
    });
    assert!(e.to_string().contains("task `a` has no `result`"), "{e}");

    // A quality report: given as a plan it says where it goes; a newer
    // version or a missing field is an error.
    let e = err(Inputs {
        plan: Some(QUALITY),
        ..Default::default()
    });
    assert!(e.hint().unwrap().contains("--quality"), "{e:?}");
    let e = err(Inputs {
        quality: Some(&QUALITY.replace("\"format_version\": 1", "\"format_version\": 2")),
        ..Default::default()
    });
    assert!(e.to_string().contains("format_version 2"), "{e}");
    assert!(e.hint().unwrap().contains("newer sift"), "{e:?}");
    let e = err(Inputs {
        quality: Some(
            r#"{"format_version": 1, "branch": "main", "selection": {}, "false_greens": [], "rate": {}}"#,
        ),
        ..Default::default()
    });
    assert!(e.to_string().contains("missing field `pushes`"), "{e}");
    let e = err(Inputs {
        quality: Some(shards),
        ..Default::default()
    });
    assert!(e.hint().unwrap().contains("--shards"), "{e:?}");

    // Shards, quality and all of them together.
    let plan = plan_doc(r#"{"name": "a", "run": true, "reason": "", "needs": []}"#);
    let report = render(
        &Inputs {
            plan: Some(&plan),
            run: Some(run),
            shards: Some(shards),
            quality: Some(QUALITY),
        },
        "sift",
    )
    .unwrap();
    let data = embedded(&report.html);
    assert_eq!(data["run"]["tasks"][0]["result"], "succeeded");
    assert_eq!(data["shards"]["shards"][0]["index"], 1);
    // The hostile task name is in the data, and never as markup.
    assert_eq!(
        data["quality"]["false_greens"][0]["task"],
        "</script><img src=x onerror=alert(1)>"
    );
    assert!(!report.html.contains("<img src=x"));
    assert!(report.notes.iter().any(|n| n.contains("--explain")));
}

/// A `sift quality --json` document, with a hostile task name.
const QUALITY: &str = r#"{"format_version": 1, "branch": "main",
  "pushes": {"count": 2, "first": 1, "last": 2, "from": null, "to": null, "backstop": 1, "shadow": 0, "with_outcomes": 2},
  "selection": {"tasks": 4, "skipped": 1, "would_skip": 1, "per_push": []},
  "regressions": {"total": 1, "caught": 0, "missed": 1, "unknown_start": 0},
  "false_greens": [{"task": "</script><img src=x onerror=alert(1)>", "push": 1, "detected": 2, "detected_by": "backstop", "window": [1, 2]}],
  "rate": {"failing_pushes": 1, "missed_failing_pushes": 1, "rate": 1.0, "ci95": [0.2, 1.0], "truth_known_pushes": 2},
  "flaky": [], "tests": null, "verdict": "skipped 25%"}"#;

#[test]
fn a_run_of_another_change_is_noted() {
    let plan =
        plan_doc(r#"{"name": "a", "run": true, "reason": "", "why": {"kind": "no_strategy"}}"#);
    let run = r#"{"format_version": 1, "tasks": [{"name": "b", "run": true, "reason": "", "result": "failed"}], "summary": {}}"#;
    let report = render(
        &Inputs {
            plan: Some(&plan),
            run: Some(run),
            ..Default::default()
        },
        "sift",
    )
    .unwrap();
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    assert!(report.notes[0].contains("1 task(s) of the run are not in the plan"));
}
