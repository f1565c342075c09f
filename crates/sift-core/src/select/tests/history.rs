//! Backstop pushes in plans, the `on_backstop`/`on_expanded` strategies and
//! the `[store]`/`[backstop]` sections.

use super::*;
use crate::history::{PushContext, PushDecision};
use crate::select::plan::DecisionKind;

const CONFIG: &str = r#"
[components]
exclusive = ["linux", "macosx"]

[backstop]
branches = ["main", "release/*"]
every_pushes = 5
every_hours = 4
every_pushes_expanded = 2

[tasks.build-linux]
schedules = ["linux"]

[tasks.talos]
schedules = ["macosx"]
backstop = false

[tasks.full-fuzz]
on_backstop = true

[tasks.extra-platforms]
on_expanded = true

[tasks.nightly-ish]
any = [{ on_backstop = true }, { changed = ["fuzz/**"] }]

[tasks.not-on-backstop]
not = { on_backstop = true }
"#;

fn push(backstop: bool, expanded: bool) -> PlanOptions {
    PlanOptions {
        push: Some(PushContext {
            branch: "main".to_owned(),
            number: 6,
            decision: PushDecision {
                backstop,
                expanded,
                reason: if backstop {
                    "backstop push (5 pushes / 0.1 hours since push 1)".to_owned()
                } else {
                    "not a backstop (1 push / 0.0 hours since push 5)".to_owned()
                },
            },
        }),
        ..PlanOptions::default()
    }
}

#[test]
fn cadence_is_read() {
    let repo = Repo::new(&[("sift.toml", CONFIG)]);
    let config = repo.config();
    assert_eq!(config.cadence.every_pushes, Some(5));
    assert_eq!(config.cadence.every_hours, Some(4.0));
    assert_eq!(config.cadence.every_pushes_expanded, Some(2));
    assert!(config.cadence.is_listed("release/1.2"));
    assert!(!config.cadence.is_listed("feature"));
    assert!(!config.task("talos").unwrap().backstop);
    assert!(config.task("build-linux").unwrap().backstop);
}

#[test]
fn a_backstop_keeps_everything_but_backstop_false_tasks() {
    let repo = Repo::new(&[("sift.toml", CONFIG)]);
    let config = repo.config();
    let plan = plan(&config, &["src/a.c"], &push(true, true));
    // linux and macosx are both affected by an unannotated file, so talos
    // runs by its own strategy; on a lint-only change it would not.
    assert_eq!(
        outcome(&plan),
        [
            "build-linux",
            "extra-platforms",
            "full-fuzz",
            "nightly-ish",
            "not-on-backstop",
            "talos"
        ]
    );
    let fuzz = plan.decision("full-fuzz").unwrap();
    assert!(matches!(fuzz.kind, DecisionKind::Backstop(_)));
    assert_eq!(
        fuzz.reason,
        "main #6: backstop push (5 pushes / 0.1 hours since push 1)"
    );
    assert!(matches!(
        plan.decision("talos").unwrap().kind,
        DecisionKind::Strategy(_)
    ));
    assert_eq!(plan.push.as_ref().map(|p| p.number), Some(6));
}

#[test]
fn backstop_false_tasks_keep_their_own_skip() {
    let repo = Repo::new(&[(
        "sift.toml",
        "[components]\nexclusive = [\"linux\", \"macosx\"]\n[[rules]]\nfiles = [\"l/**\"]\nexclusive = [\"linux\"]\n[tasks.talos]\nschedules = [\"macosx\"]\nbackstop = false\n[tasks.b]\nschedules = [\"macosx\"]\n",
    )]);
    let config = repo.config();
    assert_eq!(
        outcome(&plan(&config, &["l/x"], &push(true, true))),
        ["b", "-talos"]
    );
}

#[test]
fn strategies_on_ordinary_and_expanded_pushes() {
    let repo = Repo::new(&[("sift.toml", CONFIG)]);
    let config = repo.config();
    let ordinary = plan(&config, &["fuzz/x"], &push(false, false));
    assert_eq!(
        outcome(&ordinary),
        [
            "build-linux",
            "-extra-platforms",
            "-full-fuzz",
            "nightly-ish",
            "not-on-backstop",
            "talos"
        ]
    );
    assert_eq!(
        ordinary.decision("full-fuzz").unwrap().reason,
        "on_backstop: main #6 is not a backstop push (not a backstop (1 push / 0.0 hours since push 5))"
    );
    let expanded = plan(&config, &["x"], &push(false, true));
    assert!(expanded.decision("extra-platforms").unwrap().run);
    assert!(!expanded.decision("full-fuzz").unwrap().run);
    // Without --record nothing is a backstop or expanded push.
    let unrecorded = plan(&config, &["x"], &PlanOptions::default());
    assert_eq!(
        unrecorded.decision("extra-platforms").unwrap().reason,
        "on_expanded: not a recorded push (sift plan --record)"
    );
    assert!(unrecorded.push.is_none());
}

#[test]
fn store_url_and_its_alias() {
    let url = |text: &str| Repo::new(&[("sift.toml", text)]).config().cache_store;
    assert_eq!(
        url("[store]\nurl = \"s3://b/p\"\n").as_deref(),
        Some("s3://b/p")
    );
    assert_eq!(
        url("[cache]\nstore = \"s3://b/q\"\n").as_deref(),
        Some("s3://b/q")
    );
    assert_eq!(
        url("[store]\nurl = \"s3://b\"\n[cache]\nstore = \"s3://b\"\n").as_deref(),
        Some("s3://b")
    );
    let errors = Repo::new(&[(
        "sift.toml",
        "[store]\nurl = \"s3://b\"\n[cache]\nstore = \"s3://c\"\n",
    )])
    .errors();
    assert_eq!(
        errors,
        [
            "error: sift.toml:4:9: `[cache] store` disagrees with `[store] url` (this store)\n  hint: `[cache] store` is an alias of `[store] url`: keep only `[store] url`"
        ]
    );
}

#[test]
fn backstop_section_errors_point_at_the_value() {
    let errors = |text: &str| Repo::new(&[("sift.toml", text)]).errors();
    assert_eq!(
        errors("[backstop]\nbranches = [\"main\"]\nevery_pushes = 0\n"),
        [
            "error: sift.toml:3:16: `every_pushes` must be at least 1 (here)\n  hint: `every_pushes = 20` makes every 20th push one"
        ]
    );
    assert_eq!(
        errors("[backstop]\nbranches = [\"main\"]\nevery_hours = -1\n"),
        [
            "error: sift.toml:3:15: `every_hours` must be a positive number (here)\n  hint: e.g. `every_hours = 4` (fractions such as 0.5 are allowed)"
        ]
    );
    assert_eq!(
        errors("[backstop]\nevery_pushes = 3\n"),
        [
            "error: sift.toml:1:1: `[backstop]` lists no branches (here)\n  hint: add e.g. `branches = [\"main\"]`: pushes to other branches are never backstops"
        ]
    );
    assert_eq!(
        errors("[backstop]\nbranches = [\"main\"]\n"),
        [
            "error: sift.toml:1:1: `[backstop]` sets neither `every_pushes` nor `every_hours` (here)\n  hint: Mozilla's cadence is `every_pushes = 20` and `every_hours = 4`"
        ]
    );
    let e = errors("[backstop]\nbranches = [\"main\"]\nevery_pushes = \"x\"\n");
    assert!(
        e[0].starts_with("error: sift.toml:3:16: invalid TOML"),
        "{e:?}"
    );
    assert_eq!(
        errors("[tasks.a]\non_backstop = false\n"),
        [
            "error: sift.toml:2:15: `on_backstop = false` has no meaning (remove this)\n  hint: to skip a task on such pushes write `not = { on_backstop = true }`"
        ]
    );
    let e = errors("[tasks.a]\non_backstop = true\non_expanded = true\n");
    assert!(
        e[0].contains("conflicting strategies `on_backstop` and `on_expanded`"),
        "{e:?}"
    );
}

#[test]
fn a_backstop_says_what_the_selection_alone_would_skip() {
    let repo = Repo::new(&[("sift.toml", CONFIG)]);
    let config = repo.config();
    let backstop = plan(&config, &["src/a.c"], &push(true, true));
    // Everything runs; only `not-on-backstop` ran because of the forcing:
    // `full-fuzz` is kept by its own `on_backstop` on a backstop push.
    assert_eq!(
        backstop.would_skip.keys().collect::<Vec<_>>(),
        ["not-on-backstop"]
    );
    assert_eq!(
        backstop.would_skip["not-on-backstop"],
        "not: on_backstop: main #6 is a backstop push (backstop push (5 pushes / 0.1 hours since push 1))"
    );
    assert!(
        plan(&config, &["src/a.c"], &push(false, false))
            .would_skip
            .is_empty()
    );
    let json = crate::select::render::plan_json(&backstop, &config);
    assert!(json.contains(r#""name":"not-on-backstop","run":true,"reason":"main #6: backstop push (5 pushes / 0.1 hours since push 1)","would_skip":true"#), "{json}");
    assert_eq!(json.matches("would_skip").count(), 1, "{json}");
}

#[test]
fn shadow_mode_keeps_everything_and_says_what_it_would_skip() {
    let repo = Repo::new(&[("sift.toml", CONFIG)]);
    let config = repo.config();
    let options = PlanOptions {
        shadow: true,
        ..push(false, false)
    };
    let shadow = plan(&config, &["fuzz/x"], &options);
    assert!(shadow.shadow);
    assert!(shadow.tasks.iter().all(|d| d.run), "{:?}", outcome(&shadow));
    assert_eq!(
        shadow.would_skip.keys().collect::<Vec<_>>(),
        ["extra-platforms", "full-fuzz"]
    );
    assert_eq!(
        shadow.decision("full-fuzz").unwrap().reason,
        "shadow: would skip: on_backstop: main #6 is not a backstop push (not a backstop (1 push / 0.0 hours since push 5))"
    );
    assert_eq!(
        shadow.decision("build-linux").unwrap().reason,
        "schedules: linux affected (by fuzz/x)"
    );
    // `--target`: what is not requested stays skipped, and is not a would-skip.
    let targeted = PlanOptions {
        targets: vec![crate::pattern::NameGlob::new("full-fuzz").unwrap()],
        ..options
    };
    let shadow = plan(&config, &["fuzz/x"], &targeted);
    assert_eq!(
        outcome(&shadow),
        [
            "-build-linux",
            "-extra-platforms",
            "full-fuzz",
            "-nightly-ish",
            "-not-on-backstop",
            "-talos"
        ]
    );
    assert_eq!(shadow.would_skip.keys().collect::<Vec<_>>(), ["full-fuzz"]);
}

#[test]
fn plan_mode_comes_from_the_configuration() {
    let text = "[plan]\nmode = \"shadow\"\n[components]\nexclusive = [\"linux\", \"macosx\"]\n[[rules]]\nfiles = [\"l/**\"]\nexclusive = [\"linux\"]\n[tasks.mac]\nschedules = [\"macosx\"]\n";
    let repo = Repo::new(&[("sift.toml", text)]);
    let config = repo.config();
    assert_eq!(config.plan_mode, crate::history::PlanMode::Shadow);
    let shadow = plan(&config, &["l/a"], &PlanOptions::default());
    assert!(shadow.shadow && shadow.decision("mac").unwrap().run);
    assert!(shadow.would_skip.contains_key("mac"));
    // `--all` runs everything anyway, and the plan still says it is shadow.
    let all = PlanOptions {
        all: true,
        ..PlanOptions::default()
    };
    let everything = plan(&config, &["l/a"], &all);
    assert!(everything.shadow && everything.would_skip.is_empty());
    let errors = Repo::new(&[("sift.toml", "[plan]\nmode = \"sometimes\"\n")]).errors();
    assert_eq!(
        errors,
        [
            "error: sift.toml:2:8: unknown plan mode `sometimes` (here)\n  hint: `mode = \"enforce\"` skips what the plan skips; `mode = \"shadow\"` runs every task and records what the plan would have skipped"
        ]
    );
}
