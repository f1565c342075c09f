use proptest::prelude::*;

use super::report::{Outcome, RunReport, TaskResult};
use super::*;

fn task(name: &str, needs: &[usize], seconds: Option<f64>, failed: bool) -> RunTask {
    RunTask {
        name: name.to_owned(),
        needs: needs.to_vec(),
        seconds,
        failed_last_time: failed,
    }
}

fn names(graph: &Graph, ids: &[usize]) -> Vec<String> {
    ids.iter().map(|&i| graph.tasks[i].name.clone()).collect()
}

/// Starts tasks one at a time, succeeding each, and returns the start order.
fn serial_order(graph: &Graph) -> Vec<usize> {
    let mut s = Scheduler::new(graph, false);
    let mut order = Vec::new();
    while let Some(t) = s.next_task() {
        order.push(t);
        s.finish(t, Ended::Succeeded);
    }
    order
}

#[test]
fn median_of_known_durations() {
    assert_eq!(median([3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(median([4.0, 1.0]), Some(2.5));
    assert_eq!(median([f64::NAN]), None);
    assert_eq!(median([]), None);
}

#[test]
fn unknown_durations_count_as_the_median() {
    let g = Graph::new(vec![
        task("a", &[], Some(1.0), false),
        task("b", &[], Some(3.0), false),
        task("c", &[], Some(10.0), false),
        task("d", &[], None, false),
    ])
    .unwrap();
    assert_eq!(g.estimate, vec![1.0, 3.0, 10.0, 3.0]);
}

#[test]
fn critical_path_counts_the_longest_chain_of_dependents() {
    // a(1) <- b(5) <- d(1); a <- c(2)
    let g = Graph::new(vec![
        task("a", &[], Some(1.0), false),
        task("b", &[0], Some(5.0), false),
        task("c", &[0], Some(2.0), false),
        task("d", &[1], Some(1.0), false),
    ])
    .unwrap();
    assert_eq!(g.critical_path, vec![7.0, 6.0, 2.0, 1.0]);
}

#[test]
fn failed_last_time_first_then_longest_critical_path_then_name() {
    let g = Graph::new(vec![
        task("short", &[], Some(1.0), false),
        task("long", &[], Some(9.0), false),
        task("flaky", &[], Some(0.5), true),
        task("also-short", &[], Some(1.0), false),
        // Short itself but heads a long chain.
        task("gate", &[], Some(0.1), false),
        task("after-gate", &[4], Some(20.0), false),
    ])
    .unwrap();
    let order = serial_order(&g);
    assert_eq!(
        names(&g, &order),
        ["flaky", "gate", "after-gate", "long", "also-short", "short"]
    );
}

#[test]
fn needs_before_dependents() {
    let g = Graph::new(vec![
        task("test", &[1], Some(100.0), true),
        task("build", &[], Some(1.0), false),
    ])
    .unwrap();
    assert_eq!(names(&g, &serial_order(&g)), ["build", "test"]);
}

#[test]
fn cycles_and_unknown_needs_are_errors() {
    let cycle = Graph::new(vec![
        task("a", &[1], None, false),
        task("b", &[0], None, false),
    ]);
    assert!(matches!(cycle, Err(GraphError::Cycle(_))));
    let unknown = Graph::new(vec![task("a", &[7], None, false)]);
    assert_eq!(unknown.unwrap_err(), GraphError::UnknownNeed("a".into()));
}

#[test]
fn a_failure_skips_dependents_and_stops_the_run() {
    // build <- test <- deploy; lint independent (short, so it starts last).
    let g = Graph::new(vec![
        task("build", &[], Some(5.0), false),
        task("test", &[0], Some(5.0), false),
        task("deploy", &[1], Some(5.0), false),
        task("lint", &[], Some(1.0), false),
    ])
    .unwrap();
    let mut s = Scheduler::new(&g, false);
    assert_eq!(s.next_task(), Some(0));
    let skipped = s.finish(0, Ended::Failed);
    assert_eq!(names(&g, &skipped), ["test", "deploy", "lint"]);
    assert_eq!(
        skip_reason(
            &g,
            match s.state(1) {
                State::Skipped(c) => c,
                other => panic!("{other:?}"),
            }
        ),
        "needs build, which failed"
    );
    assert_eq!(
        skip_reason(
            &g,
            match s.state(2) {
                State::Skipped(c) => c,
                other => panic!("{other:?}"),
            }
        ),
        "needs test, which was skipped (build failed)"
    );
    assert!(matches!(
        s.state(3),
        State::Skipped(SkipCause::Stopped { failed: 0 })
    ));
    assert_eq!(s.next_task(), None);
    assert!(s.is_done());
}

#[test]
fn keep_going_runs_everything_a_failure_does_not_block() {
    let g = Graph::new(vec![
        task("build", &[], Some(5.0), false),
        task("test", &[0], Some(5.0), false),
        task("lint", &[], Some(1.0), false),
    ])
    .unwrap();
    let mut s = Scheduler::new(&g, true);
    assert_eq!(s.next_task(), Some(0));
    assert_eq!(s.finish(0, Ended::TimedOut), vec![1]);
    assert_eq!(s.next_task(), Some(2));
    s.finish(2, Ended::Succeeded);
    assert!(s.is_done());
}

#[test]
fn running_tasks_finish_after_a_failure() {
    let g = Graph::new(vec![
        task("a", &[], Some(5.0), false),
        task("b", &[], Some(4.0), false),
        task("c", &[], Some(1.0), false),
    ])
    .unwrap();
    let mut s = Scheduler::new(&g, false);
    let (a, b) = (s.next_task().unwrap(), s.next_task().unwrap());
    s.finish(a, Ended::Failed);
    assert!(!s.is_done(), "b still runs");
    assert_eq!(s.next_task(), None);
    s.finish(b, Ended::Succeeded);
    assert!(s.is_done());
    assert!(matches!(
        s.state(2),
        State::Skipped(SkipCause::Stopped { .. })
    ));
}

#[test]
fn interrupt_skips_everything_not_started() {
    let g = Graph::new(vec![
        task("a", &[], None, false),
        task("b", &[0], None, false),
    ])
    .unwrap();
    let mut s = Scheduler::new(&g, true);
    let a = s.next_task().unwrap();
    s.interrupt();
    s.finish(a, Ended::Interrupted);
    assert_eq!(s.state(1), &State::Skipped(SkipCause::Interrupted));
    assert!(s.is_done());
}

#[test]
fn dry_run_schedule_on_two_slots() {
    // build(2) <- test(4), build <- clippy(3); docs(1)
    let g = Graph::new(vec![
        task("build", &[], Some(2.0), false),
        task("test", &[0], Some(4.0), false),
        task("clippy", &[0], Some(3.0), false),
        task("docs", &[], Some(1.0), false),
    ])
    .unwrap();
    let plan = simulate(&g, 2);
    let summary: Vec<(String, f64, f64)> = plan
        .iter()
        .map(|e| (g.tasks[e.task].name.clone(), e.start, e.finish))
        .collect();
    assert_eq!(
        summary,
        [
            ("build".to_owned(), 0.0, 2.0),
            ("docs".to_owned(), 0.0, 1.0),
            ("test".to_owned(), 2.0, 6.0),
            ("clippy".to_owned(), 2.0, 5.0),
        ]
    );
}

#[test]
fn unknown_durations_take_the_given_fallback() {
    let g = Graph::new(vec![
        task("a", &[], Some(2.0), false),
        task("b", &[], Some(4.0), false),
        task("c", &[], None, false),
    ])
    .unwrap();
    assert_eq!(g.fallback, 3.0);
    assert_eq!(g.estimate, [2.0, 4.0, 3.0]);
    // A shard holding only `c` keeps the whole plan's median for it.
    let part = Graph::with_fallback(vec![task("c", &[], None, false)], g.fallback).unwrap();
    assert_eq!(part.estimate, [3.0]);
    assert_eq!(
        Graph::new(vec![task("c", &[], None, false)])
            .unwrap()
            .estimate,
        [1.0]
    );
}

#[test]
fn a_stored_split_reads_back_only_for_its_push_count_and_tasks() {
    let names = ["build", "lint", "test-a"];
    let bytes = shard::split_to_json(7, 2, &names, &[0, 1, 0]);
    assert_eq!(
        shard::split_from_json(&bytes, 7, 2, &names),
        Ok(vec![0, 1, 0])
    );
    // Another push, another shard count, other tasks: not this split.
    assert!(
        shard::split_from_json(&bytes, 8, 2, &names)
            .unwrap_err()
            .contains("push 7")
    );
    assert!(shard::split_from_json(&bytes, 7, 3, &names).is_err());
    let err = shard::split_from_json(&bytes, 7, 2, &["build", "lint", "test-b"]).unwrap_err();
    assert!(err.contains("`test-b` is not in it"), "{err}");
    assert!(shard::split_from_json(&bytes, 7, 2, &["build"]).is_err());
    // A shard out of range, another format, garbage: errors, no panic.
    let bad = String::from_utf8(bytes.clone())
        .unwrap()
        .replace(":1", ":5");
    assert!(
        shard::split_from_json(bad.as_bytes(), 7, 2, &names)
            .unwrap_err()
            .contains("shard 5")
    );
    let foreign = String::from_utf8(bytes)
        .unwrap()
        .replace("sift-shard-split-v1", "x");
    assert!(shard::split_from_json(foreign.as_bytes(), 7, 2, &names).is_err());
    assert!(shard::split_from_json(b"{", 7, 2, &names).is_err());
}

#[test]
fn shards_keep_connected_tasks_together_and_balance() {
    let g = Graph::new(vec![
        task("build", &[], Some(1.0), false),
        task("test", &[0], Some(9.0), false),
        task("lint", &[], Some(5.0), false),
        task("docs", &[], Some(5.0), false),
    ])
    .unwrap();
    let a = shard::assign(&g, 2).unwrap();
    assert_eq!(a[0], a[1]);
    assert_eq!(a[2], a[3]);
    assert_ne!(a[0], a[2]);
    assert!(shard::assign(&g, 0).is_err());
}

#[test]
fn report_json_junit_and_records() {
    let report = RunReport::new(
        Some("b".into()),
        Some("h".into()),
        vec![
            TaskResult {
                name: "z".into(),
                run: true,
                reason: "exit code 1".into(),
                result: Outcome::Failed,
                exit_code: Some(1),
                started_at: Some("2026-01-01T00:00:00Z".into()),
                finished_at: Some("2026-01-01T00:00:01Z".into()),
                duration_s: Some(1.5),
                start_s: None,
                needs: Vec::new(),
            },
            TaskResult {
                name: "a".into(),
                run: false,
                reason: "no <match>".into(),
                result: Outcome::NotRun,
                exit_code: None,
                started_at: None,
                finished_at: None,
                duration_s: None,
                start_s: None,
                needs: Vec::new(),
            },
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&report.json()).unwrap();
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["tasks"][0]["name"], "a");
    assert_eq!(json["tasks"][1]["result"], "failed");
    assert_eq!(json["summary"]["failed"], 1);
    assert_eq!(json["summary"]["not_run"], 1);
    let junit = crate::tests::junit::parse(&report.junit()).unwrap();
    assert_eq!(junit.cases.len(), 1);
    assert!(junit.cases[0].outcome.failed());
    assert!(report.table().contains("z     failed"));
}

/// Random DAGs: needs point to lower indices only.
fn dag() -> impl Strategy<Value = Vec<RunTask>> {
    (1usize..24)
        .prop_flat_map(|n| {
            let tasks: Vec<_> = (0..n)
                .map(|i| {
                    (
                        proptest::collection::vec(0..i.max(1), 0..3.min(i + 1)),
                        proptest::option::of(0.0f64..50.0),
                        any::<bool>(),
                    )
                })
                .collect();
            tasks
        })
        .prop_map(|specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(i, (needs, seconds, failed))| {
                    let mut needs: Vec<usize> = needs.into_iter().filter(|&n| n < i).collect();
                    needs.sort_unstable();
                    needs.dedup();
                    task(&format!("t{i:02}"), &needs, seconds, failed)
                })
                .collect()
        })
}

proptest! {
    #[test]
    fn every_task_ends_exactly_once_and_needs_come_first(
        tasks in dag(), fail_mask in any::<u32>(), keep_going in any::<bool>(), slots in 1usize..4
    ) {
        let g = Graph::new(tasks).unwrap();
        let mut s = Scheduler::new(&g, keep_going);
        let mut running: Vec<usize> = Vec::new();
        let mut started = vec![false; g.len()];
        let mut step = 0u32;
        loop {
            while running.len() < slots {
                let Some(t) = s.next_task() else { break };
                prop_assert!(!started[t]);
                for &need in &g.tasks[t].needs {
                    prop_assert_eq!(s.state(need), &State::Ended(Ended::Succeeded));
                }
                started[t] = true;
                running.push(t);
            }
            let Some(t) = running.pop() else { break };
            let ended = if fail_mask & (1 << (step % 32)) != 0 { Ended::Failed } else { Ended::Succeeded };
            step += 1;
            s.finish(t, ended);
        }
        prop_assert!(s.is_done());
        for (i, state) in s.into_states().into_iter().enumerate() {
            match state {
                State::Ended(_) => prop_assert!(started[i]),
                State::Skipped(_) => prop_assert!(!started[i]),
                other => prop_assert!(false, "{} left {:?}", i, other),
            }
        }
    }

    #[test]
    fn dry_run_respects_needs_and_slots(tasks in dag(), slots in 1usize..4) {
        let g = Graph::new(tasks).unwrap();
        let plan = simulate(&g, slots);
        prop_assert_eq!(plan.len(), g.len());
        let mut finish = vec![f64::NAN; g.len()];
        for e in &plan { finish[e.task] = e.finish; }
        for e in &plan {
            for &need in &g.tasks[e.task].needs {
                prop_assert!(finish[need] <= e.start);
            }
            // No two tasks overlap on one slot.
            for other in &plan {
                if other.task != e.task && other.slot == e.slot {
                    prop_assert!(other.finish <= e.start || e.finish <= other.start
                        || (e.start == e.finish) || (other.start == other.finish));
                }
            }
        }
    }

    #[test]
    fn shards_cover_every_task_once_with_needs_on_the_same_shard(tasks in dag(), n in 1usize..5) {
        let g = Graph::new(tasks).unwrap();
        let a = shard::assign(&g, n).unwrap();
        prop_assert_eq!(a.len(), g.len());
        for (i, t) in g.tasks.iter().enumerate() {
            prop_assert!(a[i] < n);
            for &need in &t.needs { prop_assert_eq!(a[need], a[i]); }
        }
    }
}
