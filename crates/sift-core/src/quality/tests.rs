use super::*;
use crate::history::outcome::{Attempt, TaskResult};

/// A push: `plan` lists tasks as `name` (ran and the selection runs it),
/// `-name` (skipped), `~name` (ran, but the selection would skip it);
/// `results` as `name=P|F`, several for retries (`a=FP`).
fn push(number: u64, backstop: bool, plan: &[&str], results: &[&str]) -> Observed {
    let mut tasks = Vec::new();
    let mut skipped = BTreeSet::new();
    let mut would_skip = BTreeMap::new();
    for entry in plan {
        if let Some(name) = entry.strip_prefix('-') {
            tasks.push(name.to_owned());
            skipped.insert(name.to_owned());
            would_skip.insert(name.to_owned(), format!("skip {name}"));
        } else if let Some(name) = entry.strip_prefix('~') {
            tasks.push(name.to_owned());
            would_skip.insert(name.to_owned(), format!("would skip {name}"));
        } else {
            tasks.push((*entry).to_owned());
        }
    }
    tasks.sort();
    let mut outcomes = PushOutcomes {
        push: number,
        ..PushOutcomes::default()
    };
    for result in results {
        let (name, marks) = result.split_once('=').unwrap();
        let attempts = marks
            .chars()
            .map(|c| Attempt {
                result: if c == 'P' {
                    TaskResult::Succeeded
                } else {
                    TaskResult::Failed
                },
                duration_s: Some(10.0),
            })
            .collect();
        outcomes.tasks.insert(name.to_owned(), attempts);
    }
    Observed {
        number,
        head: format!("h{number}"),
        base: None,
        time: 1_800_000_000 + number as i64 * 600,
        backstop,
        mode: PlanMode::Enforce,
        tasks,
        skipped,
        would_skip,
        outcomes,
    }
}

fn history() -> Vec<Observed> {
    vec![
        push(1, true, &["t", "u", "v"], &["t=P", "u=P", "v=P"]),
        push(2, false, &["-t", "u", "-v"], &["u=F"]),
        push(3, false, &["-t", "-u", "-v"], &[]),
        // The backstop runs everything: t fails (it was skipped on 2 and 3,
        // and the selection would have skipped it here too), v is flaky.
        push(4, true, &["~t", "~u", "v"], &["t=F", "u=F", "v=FP"]),
        push(5, false, &["t", "-u", "v"], &["t=F", "v=F"]),
    ]
}

#[test]
fn false_greens_regressions_and_the_rate() {
    let pushes = history();
    let (found, unknown, flaky) = regressions(&pushes);
    let summary: Vec<(&str, u64, u64, bool)> = found
        .iter()
        .map(|r| {
            (
                r.task.as_str(),
                pushes[r.attributed].number,
                pushes[r.detected].number,
                r.missed,
            )
        })
        .collect();
    // t: passed on 1, failed on 4, every push of 2..=4 would skip it: a
    // false green attributed to 2. u: failed on 2, where it ran: caught. v:
    // flaky on 4 (neither), failed on 5 where it runs: caught at 4, the
    // first push of its window that would run it.
    assert_eq!(
        summary,
        [("t", 2, 4, true), ("u", 2, 2, false), ("v", 4, 5, false)]
    );
    assert_eq!(unknown, 0);
    assert_eq!(
        flaky,
        [Flaky {
            task: "v".into(),
            pushes: vec![4]
        }]
    );
    let rate = rate(&pushes, &found);
    assert_eq!((rate.failing_pushes, rate.missed_failing_pushes), (2, 1));
    assert_eq!(rate.rate, Some(0.5));
    assert_eq!(rate.ci95, Some([0.094_531, 0.905_469]));
    assert_eq!(rate.truth_known_pushes, 4);
    let greens = false_greens(&pushes, &found);
    assert_eq!(greens.len(), 1);
    let green = &greens[0];
    assert_eq!((green.push, green.detected, green.window), (2, 4, [2, 4]));
    assert_eq!(green.detected_by, "backstop");
    let reasons: Vec<&str> = green
        .skipped_pushes
        .iter()
        .map(|p| p.reason.as_str())
        .collect();
    assert_eq!(reasons, ["skip t", "skip t", "would skip t"]);
}

#[test]
fn a_failure_without_an_earlier_pass_has_an_unknown_start() {
    let pushes = vec![
        push(1, false, &["a"], &["a=F"]),
        push(2, false, &["a"], &["a=F"]),
        push(3, false, &["a"], &["a=P"]),
        push(4, false, &["-a"], &[]),
        push(5, true, &["~a"], &["a=F"]),
    ];
    let (found, unknown, _) = regressions(&pushes);
    assert_eq!(unknown, 1);
    assert_eq!(found.len(), 1);
    assert!(found[0].missed);
    assert_eq!(pushes[found[0].attributed].number, 4);
}

#[test]
fn selection_counts_and_seconds() {
    let pushes = history();
    let report = analyze("main", &pushes);
    let s = &report.selection;
    // 15 decisions; skipped: t,v on 2; t,u,v on 3; u on 5 = 6; would skip
    // adds t,u on 4 = 8. Every task ran at least once: 10 s each.
    assert_eq!((s.tasks, s.skipped, s.would_skip), (15, 6, 8));
    assert_eq!((s.task_seconds, s.skipped_seconds), (150.0, 60.0));
    assert_eq!(s.skipped_share, Some(0.4));
    assert!(s.unknown_durations.is_empty());
    assert_eq!(s.per_push[2].skipped_seconds, 30.0);
    assert_eq!(report.regressions.missed, 1);
    assert_eq!(
        report.verdict,
        "skipped 40% of task-hours over 5 pushes; 1 false green in 2 failing pushes (50%, 95% CI 9.5–91%)"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["false_greens"][0]["window"], serde_json::json!([2, 4]));
}

#[test]
fn the_verdict_reads_like_the_issue() {
    let mut report = analyze("main", &[]);
    assert_eq!(
        report.verdict,
        "skipped nothing over 0 pushes; no failing pushes to measure false greens against"
    );
    report.pushes.count = 1240;
    report.selection.skipped_seconds_share = Some(0.61);
    report.regressions.missed = 2;
    report.rate = Rate {
        failing_pushes: 318,
        missed_failing_pushes: 2,
        rate: Some(2.0 / 318.0),
        ci95: wilson(2, 318),
        truth_known_pushes: 1240,
    };
    assert_eq!(
        verdict(&report),
        "skipped 61% of task-hours over 1,240 pushes; 2 false greens in 318 failing pushes (0.6%, 95% CI 0.2–2.3%)"
    );
}

proptest::proptest! {
    /// The Wilson interval holds the estimate and stays inside [0, 1].
    #[test]
    fn wilson_brackets_the_estimate(n in 1usize..5000, k in 0usize..5000) {
        let k = k % (n + 1);
        let [lo, hi] = wilson(k, n).unwrap();
        let p = k as f64 / n as f64;
        proptest::prop_assert!(0.0 <= lo && lo <= p + 1e-6 && p <= hi + 1e-6 && hi <= 1.0);
    }
}
