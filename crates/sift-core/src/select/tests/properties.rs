//! Property tests: no panics on arbitrary configuration text, and optimizer
//! invariants over random task graphs.

use proptest::prelude::*;

use super::*;
use crate::diagnostic::SourceFile;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the text, loading returns a config or diagnostics; it never panics.
    #[test]
    fn config_loading_never_panics(text in "(\\PC|\n|\\[|\\]|=|\"|\\{|\\}|,){0,200}") {
        let dir = tempfile::tempdir().unwrap();
        let _ = Config::from_source(dir.path(), SourceFile::new("sift.toml", text));
    }

    /// Structured near-miss configurations: valid TOML with random keys and
    /// values in the right places.
    #[test]
    fn structured_configs_never_panic(
        comps in proptest::collection::vec("[a-c]{1,2}", 0..5),
        patterns in proptest::collection::vec("[a-c*?!/\\[\\]{},]{1,8}", 0..4),
        needs in proptest::collection::vec("t[0-3]", 0..4),
    ) {
        let list = |v: &[String]| v.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
        let text = format!(
            "[components]\nexclusive = [{c}]\ninclusive = [\"inc\"]\n[[rules]]\nfiles = [{p}]\nexclusive = [{c}]\n\
             [tasks.t0]\nschedules = [{c}]\nneeds = [{n}]\n[tasks.t1]\nchanged = [{p}]\nneeds = [{n}]\n\
             [tasks.t2]\nany = [{{ not = {{ changed = [{p}] }} }}]\n",
            c = list(&comps), p = list(&patterns), n = list(&needs),
        );
        let dir = tempfile::tempdir().unwrap();
        if let Ok(config) = Config::from_source(dir.path(), SourceFile::new("sift.toml", text)) {
            let change = Change::from_path_list("a/b\nc");
            let _ = Planner::new(&config).plan(change, &PlanOptions::default());
        }
    }

    /// Random DAGs with random strategies: every kept task's needs are kept,
    /// a skipped task is not needed by a kept one, and the decisions do not
    /// depend on the order tasks are written in.
    #[test]
    fn optimizer_invariants(
        tasks in proptest::collection::vec((0u8..4, proptest::collection::vec(any::<prop::sample::Index>(), 0..3)), 1..12),
        changed in proptest::collection::vec(0u8..3, 0..3),
        reverse in any::<bool>(),
    ) {
        let n = tasks.len();
        let mut defs: Vec<String> = Vec::new();
        for (i, (strategy, needs)) in tasks.iter().enumerate() {
            // Needs only point to lower indices: a DAG.
            let mut needs: Vec<String> = if i == 0 { vec![] } else {
                needs.iter().map(|ix| format!("\"t{}\"", ix.index(i))).collect()
            };
            needs.sort();
            needs.dedup();
            let strategy = match strategy {
                0 => "schedules = [\"a\"]",
                1 => "schedules = [\"inc\"]",
                2 => "changed = [\"dir1/**\"]",
                _ => "",
            };
            defs.push(format!("[tasks.t{i}]\n{strategy}\nneeds = [{}]\n", needs.join(", ")));
        }
        if reverse { defs.reverse(); }
        let text = format!(
            "[components]\nexclusive = [\"a\"]\ninclusive = [\"inc\"]\n[[rules]]\nfiles = [\"dir2/**\"]\nexclusive = [\"inc\"]\n{}",
            defs.join("\n")
        );
        let dir = tempfile::tempdir().unwrap();
        let config = Config::from_source(dir.path(), SourceFile::new("sift.toml", text)).unwrap();
        let paths: Vec<String> = changed.iter().map(|d| format!("dir{d}/f")).collect();
        let plan = Planner::new(&config).plan(Change::from_path_list(&paths.join("\n")), &PlanOptions::default()).unwrap();
        prop_assert_eq!(plan.tasks.len(), n);
        for task in &config.tasks {
            let decision = plan.decision(&task.name).unwrap();
            if decision.run {
                for need in &task.needs {
                    prop_assert!(plan.decision(need).unwrap().run, "{} runs but its need {} does not", task.name, need);
                }
            }
        }
        // Same plan for the other definition order.
        let mut reordered: Vec<String> = config.tasks.iter().map(|t| {
            let s = match &t.strategy {
                Some(crate::select::task::Strategy::Schedules { names, .. }) => format!("schedules = [{}]", names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")),
                Some(crate::select::task::Strategy::Changed(_)) => "changed = [\"dir1/**\"]".to_owned(),
                _ => String::new(),
            };
            format!("[tasks.{}]\n{s}\nneeds = [{}]\n", t.name, t.needs.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", "))
        }).collect();
        reordered.reverse();
        let text = format!(
            "[components]\nexclusive = [\"a\"]\ninclusive = [\"inc\"]\n[[rules]]\nfiles = [\"dir2/**\"]\nexclusive = [\"inc\"]\n{}",
            reordered.join("\n")
        );
        let config2 = Config::from_source(dir.path(), SourceFile::new("sift.toml", text)).unwrap();
        let plan2 = Planner::new(&config2).plan(Change::from_path_list(&paths.join("\n")), &PlanOptions::default()).unwrap();
        let summary = |p: &Plan| p.tasks.iter().map(|d| (d.name.clone(), d.run, d.reason.clone())).collect::<Vec<_>>();
        prop_assert_eq!(summary(&plan), summary(&plan2));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `NearestKept` (all tasks at once, linear) answers what a breadth-first
    /// search from each task answers: the fewest hops, then by name.
    #[test]
    fn nearest_kept_is_the_breadth_first_answer(
        tasks in proptest::collection::vec((0u8..3, proptest::collection::vec(any::<prop::sample::Index>(), 0..4)), 1..16),
        changed in proptest::collection::vec(0u8..3, 0..3),
    ) {
        let mut defs = Vec::new();
        for (i, (strategy, needs)) in tasks.iter().enumerate() {
            let mut needs: Vec<String> = if i == 0 { vec![] } else {
                needs.iter().map(|ix| format!("\"t{:02}\"", ix.index(i))).collect()
            };
            needs.sort();
            needs.dedup();
            let strategy = ["changed = [\"dir1/**\"]", "changed = [\"dir2/**\"]", ""][*strategy as usize];
            defs.push(format!("[tasks.t{i:02}]\n{strategy}\nneeds = [{}]\n", needs.join(", ")));
        }
        let dir = tempfile::tempdir().unwrap();
        let config = Config::from_source(dir.path(), SourceFile::new("sift.toml", defs.join("\n"))).unwrap();
        let paths: Vec<String> = changed.iter().map(|d| format!("dir{d}/f")).collect();
        let plan = Planner::new(&config).plan(Change::from_path_list(&paths.join("\n")), &PlanOptions::default()).unwrap();
        let nearest = crate::select::explain::NearestKept::new(&plan);
        for (index, decision) in plan.tasks.iter().enumerate() {
            let expected = match &decision.kind {
                crate::select::plan::DecisionKind::NeededBy(direct) => breadth_first(&plan, direct),
                _ => None,
            };
            prop_assert_eq!(nearest.chain(&plan, index), expected, "{}", decision.name);
        }
    }
}

/// The nearest self-kept dependent by a breadth-first search over the kept
/// dependents (the definition `NearestKept` must meet), as
/// `[that, …, a direct dependent]`.
fn breadth_first(plan: &Plan, direct: &[String]) -> Option<Vec<String>> {
    use crate::select::plan::DecisionKind;
    let mut queue: std::collections::VecDeque<Vec<String>> =
        direct.iter().map(|n| vec![n.clone()]).collect();
    let mut seen: Vec<String> = direct.to_vec();
    while let Some(path) = queue.pop_front() {
        match &plan.decision(path.last()?)?.kind {
            DecisionKind::NeededBy(next) => {
                for name in next {
                    if !seen.contains(name) {
                        seen.push(name.clone());
                        let mut longer = path.clone();
                        longer.push(name.clone());
                        queue.push_back(longer);
                    }
                }
            }
            _ => return Some(path.into_iter().rev().collect()),
        }
    }
    None
}

/// Patterns over a tiny alphabet, so random paths often match: every shape
/// the index files differently (literal prefixes, names, extensions,
/// residue), negation, `{a,b}`, `[..]` and `**` in every position.
fn index_pattern() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        4 => "[ab]{1,2}",
        1 => Just("*".to_owned()),
        1 => Just("**".to_owned()),
        1 => Just("a*".to_owned()),
        1 => Just("*.py".to_owned()),
        1 => Just("[!a]b".to_owned()),
        1 => Just("{a,b/b}".to_owned()),
        1 => Just("x.{py,rs}".to_owned()),
    ];
    (
        prop::bool::weighted(0.2),
        proptest::collection::vec(segment, 1..4),
    )
        .prop_map(|(negated, segments)| {
            format!("{}{}", if negated { "!" } else { "" }, segments.join("/"))
        })
}

fn index_path() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            "[ab]{1,2}",
            Just("x.py".to_owned()),
            Just("x.rs".to_owned()),
            Just("bb".to_owned())
        ],
        1..5,
    )
    .prop_map(|segments| segments.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The planner answers `changed` lists and large rule files through a
    /// pattern index; its decisions and reasons must be exactly those of
    /// trying every pattern of every list against every path in order.
    #[test]
    fn indexed_plans_match_plain_matching(
        lists in proptest::collection::vec(proptest::collection::vec(index_pattern(), 1..4), 1..12),
        rules in proptest::collection::vec((proptest::collection::vec(index_pattern(), 2..4), 0usize..3), 12..16),
        paths in proptest::collection::vec(index_path(), 1..10),
    ) {
        let quoted = |v: &[String]| v.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
        let valid = |v: &[String]| crate::pattern::PatternList::new(v).is_ok();
        let lists: Vec<&Vec<String>> = lists.iter().filter(|l| valid(l)).collect();
        let rules: Vec<&(Vec<String>, usize)> = rules.iter().filter(|(l, _)| valid(l)).collect();
        let mut text = String::from("[components]\nexclusive = [\"c0\", \"c1\", \"c2\"]\n");
        for (patterns, component) in &rules {
            text.push_str(&format!("[[rules]]\nfiles = [{}]\nexclusive = [\"c{component}\"]\n", quoted(patterns)));
        }
        for (i, patterns) in lists.iter().enumerate() {
            text.push_str(&format!("[tasks.t{i:02}]\nchanged = [{}]\n", quoted(patterns)));
        }
        for c in 0..3 {
            text.push_str(&format!("[tasks.s{c}]\nschedules = [\"c{c}\"]\n"));
        }
        let dir = tempfile::tempdir().unwrap();
        let config = Config::from_source(dir.path(), SourceFile::new("sift.toml", text)).unwrap();
        let mut planner = Planner::new(&config);
        let change = Change::from_path_list(&paths.join("\n"));
        let sorted = change.all_paths().iter().map(|p| (*p).to_owned()).collect::<Vec<String>>();
        let plan = planner.plan(change, &PlanOptions::default()).unwrap();

        // `changed`: the first path (sorted) each list selects, and the pattern.
        for (i, patterns) in lists.iter().enumerate() {
            let list = crate::pattern::PatternList::new(patterns).unwrap();
            let expected = sorted.iter().find_map(|path| {
                let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
                match list.decide(&segments) {
                    Some((index, true)) => Some(format!("changed: {path} matches `{}`", list.describe(index))),
                    _ => None,
                }
            });
            let decision = plan.decision(&format!("t{i:02}")).unwrap();
            prop_assert_eq!(decision.run, expected.is_some());
            if let Some(reason) = expected {
                prop_assert_eq!(&decision.reason, &reason);
            }
        }
        // Rules: the indexed combination equals the explained (plain) one.
        for path in &sorted {
            let mut indexed = crate::select::components::ComponentSet::new();
            planner.rules().components_into(path, &mut indexed);
            let plain = planner.path_schedules(path, false).components(&config.components);
            prop_assert_eq!(
                config.components.names_of(&indexed),
                config.components.names_of(&plain),
                "path {}", path
            );
        }
    }
}

proptest::proptest! {
    /// `Config::task` finds every task by name (a search of the tasks in
    /// name order), and no other name.
    #[test]
    fn every_task_is_found_by_name(
        names in proptest::collection::btree_set("[a-cA-C_.é-]{1,6}", 1..12),
        other in "[a-cA-C_.é-]{1,6}",
    ) {
        let mut text = String::new();
        for name in names.iter().rev() {
            text.push_str(&format!("[tasks.\"{name}\"]\nrun = \"true\"\n"));
        }
        let dir = tempfile::tempdir().unwrap();
        let config = Config::from_source(dir.path(), SourceFile::new("sift.toml", text)).unwrap();
        for name in &names {
            proptest::prop_assert_eq!(config.task(name).map(|t| t.name.as_str()), Some(name.as_str()));
        }
        proptest::prop_assert_eq!(config.task(&other).is_some(), names.contains(&other));
    }
}
