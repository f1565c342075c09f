use super::*;

fn errors_of(text: &str) -> Vec<String> {
    Repo::new(&[("sift.toml", text)]).errors()
}

const COMPONENTS: &str =
    "[components]\nexclusive = [\"linux\", \"macosx\"]\ninclusive = [\"py-lint\"]\n";

#[test]
fn toml_syntax_error_points_at_line_and_column() {
    assert_eq!(
        errors_of("[tasks.a\n"),
        ["error: sift.toml:1:9: invalid TOML (unclosed table, expected `]`)"]
    );
}

#[test]
fn unknown_keys_are_rejected_with_the_allowed_keys() {
    let errors = errors_of("[tasks.a]\nshedules = [\"linux\"]\n");
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with(
            "error: sift.toml:2:1: invalid TOML (unknown field `shedules`, expected one of"
        ),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("hint: check the spelling"));
}

#[test]
fn a_string_where_a_list_is_expected() {
    let errors = errors_of(&format!("{COMPONENTS}[tasks.a]\nschedules = \"linux\"\n"));
    assert_eq!(
        errors,
        [
            "error: sift.toml:5:13: invalid TOML (invalid type: string \"linux\", expected a sequence)\n  hint: write a list, e.g. `[\"value\"]`, even for a single value"
        ]
    );
}

#[test]
fn unknown_components_in_rules_and_tasks_suggest_names() {
    let errors = errors_of(&format!(
        "{COMPONENTS}[[rules]]\nfiles = [\"a/**\"]\nexclusive = [\"linx\"]\n[tasks.a]\nschedules = [\"fuchsia\"]\n"
    ));
    assert_eq!(
        errors,
        [
            "error: sift.toml:6:14: unknown component `linx` (not declared in [components])\n  hint: did you mean `linux`?",
            "error: sift.toml:8:14: unknown component `fuchsia` (not declared in [components])\n  hint: declare it under [components] in the root sift.toml",
        ]
    );
}

#[test]
fn inclusive_list_naming_an_exclusive_component() {
    let errors = errors_of(&format!(
        "{COMPONENTS}[[rules]]\nfiles = [\"a\"]\ninclusive = [\"linux\"]\n"
    ));
    assert_eq!(
        errors,
        [
            "error: sift.toml:6:14: `linux` is an exclusive component (`inclusive` may name only inclusive components)\n  hint: to make matching files affect only `linux`, write `exclusive = [\"linux\"]`"
        ]
    );
}

#[test]
fn duplicate_components() {
    let errors = errors_of("[components]\nexclusive = { os = [\"linux\"], other = [\"linux\"] }\n");
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("error: sift.toml:2:40: component `linux` is declared twice"),
        "{}",
        errors[0]
    );
}

#[test]
fn invalid_globs() {
    let errors = errors_of(&format!(
        "{COMPONENTS}[[rules]]\nfiles = [\"ok/**\", \"docs/[a-\"]\ninclusive = [\"py-lint\"]\n"
    ));
    assert_eq!(
        errors,
        [
            "error: sift.toml:5:19: invalid pattern `docs/[a-` (unclosed character class; missing `]`)\n  hint: patterns use `*`, `?`, `**`, `[a-z]`, `{a,b}` and a leading `!` to exclude; see the README"
        ]
    );
    let errors = errors_of("[tasks.a]\nchanged = [\"**.py\"]\n");
    assert!(
        errors[0].contains("`**` must be a whole path segment"),
        "{}",
        errors[0]
    );
}

#[test]
fn unknown_needs_and_cycles() {
    let errors = errors_of(
        "[tasks.a]\nneeds = [\"b\"]\n[tasks.b]\nneeds = [\"c\"]\n[tasks.c]\nneeds = [\"a\", \"bb\"]\n",
    );
    assert_eq!(
        errors,
        [
            "error: sift.toml:2:10: dependency cycle: a → b → c → a (this need closes the cycle)\n  hint: a task cannot need itself, directly or through other tasks; remove one of these `needs`",
            "error: sift.toml:6:15: task `c` needs unknown task `bb` (no such task)\n  hint: did you mean `b`?",
        ]
    );
    let errors = errors_of("[tasks.self]\nneeds = [\"self\"]\n");
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].contains("dependency cycle: self → self"),
        "{}",
        errors[0]
    );
}

#[test]
fn strategy_errors() {
    let errors = errors_of(&format!("{COMPONENTS}[tasks.a]\nany = []\n"));
    assert!(
        errors[0].starts_with("error: sift.toml:5:7: empty `any` list"),
        "{}",
        errors[0]
    );
    let errors = errors_of(&format!(
        "{COMPONENTS}[tasks.a]\nschedules = [\"linux\"]\nchanged = [\"x\"]\n"
    ));
    assert!(
        errors[0].contains("conflicting strategies `schedules` and `changed`"),
        "{}",
        errors[0]
    );
    let errors = errors_of(&format!("{COMPONENTS}[tasks.a]\nall = [{{}}]\n"));
    assert!(errors[0].contains("empty strategy"), "{}", errors[0]);
    let errors = errors_of("[tasks.a]\nalways = false\n");
    assert!(
        errors[0].contains("`always = false` has no meaning"),
        "{}",
        errors[0]
    );
    let errors = errors_of(&format!(
        "{COMPONENTS}[tasks.a]\nnot = {{ schedules = [\"nope\"] }}\n"
    ));
    assert!(
        errors[0].contains("unknown component `nope`"),
        "{}",
        errors[0]
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let errors = errors_of(&format!(
        "{COMPONENTS}[[rules]]\nfiles = [\"[\"]\ninclusive = [\"x\"]\n[tasks.a]\nschedules = [\"y\"]\nneeds = [\"z\"]\n"
    ));
    assert_eq!(errors.len(), 4, "{errors:#?}");
}

#[test]
fn nested_files_hold_rules_only() {
    let repo = Repo::new(&[
        ("sift.toml", COMPONENTS),
        ("sub/sift.toml", "[tasks.x]\n"),
        (
            "other/sift.toml",
            "[[rules]]\nfiles = [\"*\"]\nexclusive = [\"nope\"]\n",
        ),
    ]);
    let config = repo.config();
    let change = Change::from_path_list("sub/a\nother/b");
    match Planner::new(&config).plan(change, &PlanOptions::default()) {
        Err(crate::PlanError::InvalidRules(d)) => {
            let plain: Vec<String> = d.items.iter().map(|d| d.to_plain()).collect();
            assert_eq!(plain.len(), 2, "{plain:#?}");
            assert!(
                plain[0].starts_with("error: other/sift.toml:3:14: unknown component `nope`"),
                "{}",
                plain[0]
            );
            assert!(plain[1].starts_with("error: sub/sift.toml:1:2: invalid TOML (unknown field `tasks`, expected `rules`)"), "{}", plain[1]);
            assert!(
                plain[1].contains("a nested sift.toml holds only [[rules]]"),
                "{}",
                plain[1]
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn duplicate_task_across_included_files() {
    let repo = Repo::new(&[
        ("sift.toml", "include = [\"ci/*.toml\"]\n[tasks.a]\n"),
        ("ci/x.toml", "[tasks.a]\n"),
    ]);
    let errors = repo.errors();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("error: ci/x.toml:1:8: task `a` is defined twice"),
        "{}",
        errors[0]
    );
}

/// Enough tasks that they compile on several threads: the errors must be
/// exactly those of a one-by-one compilation.
#[test]
fn errors_in_many_tasks_are_the_same_when_compiled_in_parallel() {
    let mut many = String::new();
    for i in 0..1500 {
        many.push_str(&format!("[tasks.t{i:04}]\nschedules = [\"linux\"]\n"));
    }
    // Line 2 * 700 + 2: t0700's schedules, an unknown component.
    many = many.replace(
        "[tasks.t0700]\nschedules = [\"linux\"]",
        "[tasks.t0700]\nschedules = [\"linx\"]",
    );
    let repo = Repo::new(&[
        (
            "sift.toml",
            &format!("include = [\"ci/*.toml\"]\n{COMPONENTS}"),
        ),
        ("ci/a.toml", &many),
        // A duplicate whose own strategy is also wrong: only the duplicate is
        // reported, as the second definition is never compiled.
        (
            "ci/b.toml",
            "[tasks.t0005]\nschedules = [\"nope\"]\n[tasks.\"bad name\"]\nschedules = [\"nope\"]\n",
        ),
    ]);
    let errors = repo.errors();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors[0].starts_with("error: ci/a.toml:1402:14: unknown component `linx`"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].starts_with("error: ci/b.toml:1:8: task `t0005` is defined twice"),
        "{}",
        errors[1]
    );
    assert!(
        errors[2].starts_with("error: ci/b.toml:3:8: invalid task name `bad name`"),
        "{}",
        errors[2]
    );
}

#[test]
fn include_matching_nothing_and_wrong_keys_in_included_files() {
    let errors = errors_of("include = [\"ci/*.toml\"]\n");
    assert!(
        errors[0].contains("`ci/*.toml` matches no file"),
        "{}",
        errors[0]
    );
    let repo = Repo::new(&[
        ("sift.toml", "include = [\"ci/*.toml\"]\n"),
        ("ci/x.toml", "[[rules]]\nfiles=[\"a\"]\n"),
    ]);
    let errors = repo.errors();
    assert!(
        errors[0].starts_with(
            "error: ci/x.toml:1:3: invalid TOML (unknown field `rules`, expected `tasks`)"
        ),
        "{}",
        errors[0]
    );
}

#[test]
fn lockfile_and_manifest_rules_and_init_keep_are_checked() {
    let errors = errors_of(&format!(
        "[init]\nkeep = [\"buld\"]\n{COMPONENTS}[[rules]]\nfiles = [\"Cargo.lock\"]\nlockfile = \"carg\"\n[[rules]]\nfiles = [\"Cargo.toml\"]\nmanifest = \"cargo\"\nexclusive = [\"linux\"]\n[[rules]]\nfiles = [\"x\"]\nlockfile = \"npm\"\nmanifest = \"npm\"\n[tasks.build]\nschedules = [\"linux\"]\n"
    ));
    assert_eq!(
        errors,
        [
            "error: sift.toml:2:9: `[init] keep` names `buld`, which is neither a task nor a component (unknown)\n  hint: did you mean `build`?",
            "error: sift.toml:8:12: unknown lockfile kind `carg` (not a package manager sift reads)\n  hint: did you mean `cargo`?",
            "error: sift.toml:12:13: a `manifest` rule computes its exclusive components (remove this)\n  hint: the manifest's diff says which packages a change affects; their components are what rules give their manifests",
            "error: sift.toml:16:12: a rule has either `lockfile` or `manifest` (second here)\n  hint: write one rule for the lockfile and one for the root manifest",
        ]
    );
}

#[test]
fn a_lockfile_rule_without_versions_affects_everything_with_the_reason() {
    let repo = Repo::new(&[(
        "sift.toml",
        &format!(
            "{COMPONENTS}[[rules]]\nfiles = [\"Cargo.lock\"]\nlockfile = \"cargo\"\n[tasks.a]\nschedules = [\"linux\"]\n"
        ),
    )]);
    let config = repo.config();
    let plan = Planner::new(&config)
        .plan(
            Change::from_path_list("Cargo.lock\n"),
            &PlanOptions::default(),
        )
        .unwrap();
    assert!(plan.decision("a").unwrap().run);
    match &plan.analysis.workspace[0].outcome {
        crate::workspace::resolve::Outcome::Everything(reason) => {
            assert!(reason.contains("no base and head versions"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}
