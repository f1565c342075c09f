//! `sift-bench gen`: writes the synthetic repository.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::check::{Checker, longest_chain};
use crate::names::{EXCLUSIVE_FAMILIES, INCLUSIVE};
use crate::rng::Rng;
use crate::rules::{self, Rule, RuleFile};
use crate::tasks::{self, Strategy, Task};
use crate::tree;

/// Marks a directory as ours, so that `gen` may wipe and rewrite it.
pub const MARKER: &str = ".sift-bench-generated";
pub const CHANGE_SIZES: [usize; 3] = [10, 1000, 100_000];
const RULE_FILES_AT_SCALE_1: f64 = 3000.0;
const PATTERNS_AT_SCALE_1: f64 = 20_000.0;
const TASKS_PER_FILE: usize = 500;

pub struct GenOptions {
    pub out: PathBuf,
    pub seed: u64,
    pub scale: f64,
}

pub fn change_file(size: usize) -> String {
    format!("change-{size}.txt")
}

pub fn run(options: &GenOptions) -> Result<(), String> {
    let started = Instant::now();
    let GenOptions { out, seed, scale } = options;
    let (seed, scale) = (*seed, *scale);
    if !(scale > 0.0 && scale <= 10.0) {
        return Err(format!("--scale must be in (0, 10], got {scale}"));
    }
    prepare_out_dir(out)?;

    let tree = tree::generate(seed, scale);
    let paths = tree.paths();

    let root_rules = rules::root_rules();
    let n_rule_files = ((RULE_FILES_AT_SCALE_1 * scale).round() as usize).clamp(1, tree.dirs.len());
    let rule_dirs = rules::choose_rule_dirs(seed, &tree, n_rule_files);
    let pattern_total = (PATTERNS_AT_SCALE_1 * scale).round() as usize;
    let nested_total = pattern_total
        .saturating_sub(rules::count_patterns(&root_rules))
        .max(rule_dirs.len());
    let budgets = rules::allocate_patterns(seed, &tree, &rule_dirs, nested_total);
    let mut rng = Rng::fork(seed, "nested-rules");
    let nested: Vec<RuleFile> = rule_dirs
        .iter()
        .zip(&budgets)
        .map(|(&dir, &n)| RuleFile {
            dir,
            rules: rules::nested_rules(&mut rng, &tree, dir, n),
        })
        .collect();

    let tasks = tasks::generate(seed, scale);

    // Check everything before writing anything.
    let mut checker = Checker::new();
    checker.rules("sift.toml", &root_rules);
    for file in &nested {
        let d = &tree.dirs[file.dir];
        if d.files_below == 0 {
            checker.errors.push(format!(
                "{}: rule file in a directory with no files",
                d.path
            ));
        }
        checker.rules(&format!("{}/sift.toml", d.path), &file.rules);
    }
    checker.tasks(&tasks);
    if !checker.errors.is_empty() {
        let shown: Vec<&str> = checker.errors.iter().take(20).map(String::as_str).collect();
        return Err(format!(
            "generated configuration is inconsistent ({} problems):\n  {}",
            checker.errors.len(),
            shown.join("\n  ")
        ));
    }

    // paths.txt
    let mut w =
        BufWriter::new(fs::File::create(out.join("paths.txt")).map_err(io_err("paths.txt"))?);
    for p in &paths {
        writeln!(w, "{p}").map_err(io_err("paths.txt"))?;
    }
    w.flush().map_err(io_err("paths.txt"))?;

    // Root sift.toml
    let n_task_files = tasks.len().div_ceil(TASKS_PER_FILE).max(1);
    write_file(&out.join("sift.toml"), &root_toml(seed, scale, &root_rules))?;
    for file in &nested {
        let dir = out.join(&tree.dirs[file.dir].path);
        fs::create_dir_all(&dir).map_err(io_err(&dir.display().to_string()))?;
        write_file(&dir.join("sift.toml"), &nested_toml(&file.rules))?;
    }
    let task_dir = out.join("ci").join("tasks");
    fs::create_dir_all(&task_dir).map_err(io_err("ci/tasks"))?;
    for (i, chunk) in tasks.chunks(TASKS_PER_FILE).enumerate() {
        write_file(
            &task_dir.join(format!("part-{i:02}.toml")),
            &tasks_toml(chunk, i * TASKS_PER_FILE, tasks.len()),
        )?;
    }

    // Change lists.
    for size in CHANGE_SIZES {
        let mut rng = Rng::fork(seed, &format!("change-{size}"));
        let mut picked: Vec<&str> = rng
            .sample_indices(paths.len(), size)
            .into_iter()
            .map(|i| paths[i].as_str())
            .collect();
        picked.sort_unstable();
        let mut text = String::with_capacity(picked.len() * 48);
        for p in picked {
            text.push_str(p);
            text.push('\n');
        }
        write_file(&out.join(change_file(size)), &text)?;
    }
    write_file(
        &out.join(MARKER),
        &format!("seed = {seed}\nscale = {scale}\n"),
    )?;

    // Stats.
    let nested_patterns: usize = nested.iter().map(|f| rules::count_patterns(&f.rules)).sum();
    let root_patterns = rules::count_patterns(&root_rules);
    let all_rules = || {
        nested
            .iter()
            .flat_map(|f| f.rules.iter())
            .chain(root_rules.iter())
    };
    let negated = all_rules()
        .flat_map(|r| r.files.iter())
        .filter(|p| p.starts_with('!'))
        .count();
    let rule_count = all_rules().count();
    let mut by_depth = [0usize; 8];
    for f in &nested {
        by_depth[tree.dirs[f.dir].depth.min(7)] += 1;
    }
    let (mut n_sched, mut n_changed, mut n_always, mut n_composite, mut n_none) = (0, 0, 0, 0, 0);
    for t in &tasks {
        match &t.strategy {
            Some(Strategy::Schedules(_)) => n_sched += 1,
            Some(Strategy::Changed(_)) => n_changed += 1,
            Some(Strategy::Always) => n_always += 1,
            Some(_) => n_composite += 1,
            None => n_none += 1,
        }
    }
    let edges: usize = tasks.iter().map(|t| t.needs.len()).sum();
    let n_exclusive: usize = EXCLUSIVE_FAMILIES.iter().map(|(_, c)| c.len()).sum();
    println!(
        "generated {} (seed {seed}, scale {scale}) in {:.2}s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "  paths:        {} (paths.txt), file depth {}..={}",
        paths.len(),
        tree.min_file_depth(),
        tree.max_file_depth()
    );
    println!(
        "  directories:  {} ({} top-level, {} modules at depth 2)",
        tree.dirs.len(),
        tree.top_level.len(),
        tree.dirs.iter().filter(|d| d.depth == 2).count()
    );
    println!(
        "  rule files:   {} nested + root; by depth 1..7: {:?}",
        nested.len(),
        &by_depth[1..]
    );
    println!(
        "  rules:        {rule_count} ({} in the root file)",
        root_rules.len()
    );
    println!(
        "  patterns:     {} ({root_patterns} root + {nested_patterns} nested; {negated} negated)",
        root_patterns + nested_patterns
    );
    println!(
        "  components:   {} exclusive in {} families, {} inclusive",
        n_exclusive,
        EXCLUSIVE_FAMILIES.len(),
        INCLUSIVE.len()
    );
    println!(
        "  tasks:        {} in {n_task_files} files (schedules {n_sched}, changed {n_changed}, always {n_always}, composite {n_composite}, none {n_none})",
        tasks.len()
    );
    println!(
        "  needs:        {edges} edges, longest chain {} tasks",
        longest_chain(&tasks)
    );
    println!(
        "  changes:      {}",
        CHANGE_SIZES
            .map(|s| format!("{} ({} paths)", change_file(s), s.min(paths.len())))
            .join(", ")
    );
    Ok(())
}

fn io_err(what: &str) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("cannot write {what}: {e}")
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Creates `out`, or empties it if an earlier `gen` wrote it. Refuses to wipe
/// a non-empty directory that we did not generate.
fn prepare_out_dir(out: &Path) -> Result<(), String> {
    if out.exists() {
        let mut entries =
            fs::read_dir(out).map_err(|e| format!("cannot read {}: {e}", out.display()))?;
        if entries.next().is_some() {
            if !out.join(MARKER).exists() {
                return Err(format!(
                    "{} is not empty and was not written by `sift-bench gen`; choose another --out",
                    out.display()
                ));
            }
            fs::remove_dir_all(out).map_err(|e| format!("cannot clear {}: {e}", out.display()))?;
        }
    }
    fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}

fn push_rules(out: &mut String, rules: &[Rule]) {
    for rule in rules {
        out.push_str("\n[[rules]]\n");
        let _ = writeln!(out, "files = {}", list(&rule.files));
        if let Some(inclusive) = &rule.inclusive {
            let _ = writeln!(out, "inclusive = {}", list(inclusive));
        }
        if let Some(exclusive) = &rule.exclusive {
            let _ = writeln!(out, "exclusive = {}", list(exclusive));
        }
    }
}

fn root_toml(seed: u64, scale: f64, rules: &[Rule]) -> String {
    let mut out = format!(
        "# Synthetic Gecko-scale configuration: `sift-bench gen --seed {seed} --scale {scale}`.\ninclude = [\"ci/tasks/*.toml\"]\n\n[components]\n"
    );
    let families: Vec<String> = EXCLUSIVE_FAMILIES
        .iter()
        .map(|(family, names)| format!("{family} = {}", list(names)))
        .collect();
    let _ = writeln!(out, "exclusive = {{ {} }}", families.join(", "));
    let _ = writeln!(out, "inclusive = {}", list(INCLUSIVE));
    push_rules(&mut out, rules);
    out
}

fn nested_toml(rules: &[Rule]) -> String {
    let mut out = String::from("# Generated by sift-bench.\n");
    push_rules(&mut out, rules);
    out
}

fn inline(strategy: &Strategy) -> String {
    match strategy {
        Strategy::Schedules(names) => format!("{{ schedules = {} }}", list(names)),
        Strategy::Changed(patterns) => format!("{{ changed = {} }}", list(patterns)),
        Strategy::Always => "{ always = true }".to_owned(),
        Strategy::Any(members) => format!(
            "{{ any = [{}] }}",
            members.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        Strategy::All(members) => format!(
            "{{ all = [{}] }}",
            members.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        Strategy::Not(member) => format!("{{ not = {} }}", inline(member)),
    }
}

fn tasks_toml(tasks: &[Task], first: usize, total: usize) -> String {
    let mut out = format!(
        "# Generated by sift-bench: tasks {first}..{} of {total}.\n",
        first + tasks.len()
    );
    for t in tasks {
        let _ = writeln!(out, "\n[tasks.{}]", t.name);
        match &t.strategy {
            Some(Strategy::Schedules(names)) => {
                let _ = writeln!(out, "schedules = {}", list(names));
            }
            Some(Strategy::Changed(patterns)) => {
                let _ = writeln!(out, "changed = {}", list(patterns));
            }
            Some(Strategy::Always) => out.push_str("always = true\n"),
            Some(s @ (Strategy::Any(_) | Strategy::All(_) | Strategy::Not(_))) => {
                // `{ any = [...] }` → `any = [...]` at the top level of the task.
                let text = inline(s);
                let _ = writeln!(out, "{}", &text[2..text.len() - 2]);
            }
            None => {}
        }
        if !t.needs.is_empty() {
            let _ = writeln!(out, "needs = {}", list(&t.needs));
        }
        if let Some(run) = &t.run {
            let _ = writeln!(out, "run = {}", quote(run));
        }
    }
    out
}
