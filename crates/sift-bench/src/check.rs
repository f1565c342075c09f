//! Consistency checks over the generated configuration, run before anything
//! is written: pattern syntax, declared components, inclusive-only lists,
//! task names, `needs` targets and cycles.

use std::collections::{HashMap, HashSet};

use crate::names::{EXCLUSIVE_FAMILIES, INCLUSIVE};
use crate::rules::Rule;
use crate::tasks::{Strategy, Task};

/// Checks one pattern (a leading `!` negates) against the rules of sift's glob
/// dialect; returns why it is invalid.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    let body = pattern.strip_prefix('!').unwrap_or(pattern);
    if body.is_empty() {
        return Err("empty pattern".into());
    }
    if body.starts_with('/') {
        return Err("absolute pattern".into());
    }
    let chars: Vec<char> = body.chars().collect();
    let mut depth = 0i32;
    let mut segment = String::new();
    let mut segments = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if i + 1 >= chars.len() {
                    return Err("dangling escape".into());
                }
                segment.push(chars[i]);
                segment.push(chars[i + 1]);
                i += 2;
                continue;
            }
            '[' => {
                let mut j = i + 1;
                if matches!(chars.get(j), Some('!' | '^')) {
                    j += 1;
                }
                let body_start = j;
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += if chars[j] == '\\' { 2 } else { 1 };
                }
                if j >= chars.len() {
                    return Err("unclosed `[`".into());
                }
                if j == body_start {
                    return Err("empty class".into());
                }
                segment.extend(&chars[i..=j]);
                i = j + 1;
                continue;
            }
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unmatched `}`".into());
                }
            }
            '/' => {
                segments.push(std::mem::take(&mut segment));
                i += 1;
                continue;
            }
            _ => {}
        }
        segment.push(chars[i]);
        i += 1;
    }
    segments.push(segment);
    if depth != 0 {
        return Err("unclosed `{`".into());
    }
    for s in &segments {
        if s.contains("**") && s != "**" {
            return Err(format!("`**` inside segment `{s}`"));
        }
        if s == "." || s == ".." {
            return Err("`.` or `..` segment".into());
        }
    }
    Ok(())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('!')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub struct Checker {
    inclusive: HashSet<&'static str>,
    all: HashSet<&'static str>,
    pub errors: Vec<String>,
}

impl Checker {
    pub fn new() -> Self {
        let mut errors = Vec::new();
        let mut all = HashSet::new();
        let declared = EXCLUSIVE_FAMILIES
            .iter()
            .flat_map(|(_, c)| c.iter())
            .chain(INCLUSIVE.iter());
        for name in declared {
            if !all.insert(*name) {
                errors.push(format!("component `{name}` declared twice"));
            }
            if !valid_name(name) {
                errors.push(format!("invalid component name `{name}`"));
            }
        }
        Checker {
            inclusive: INCLUSIVE.iter().copied().collect(),
            all,
            errors,
        }
    }

    pub fn rules(&mut self, file: &str, rules: &[Rule]) {
        for (i, rule) in rules.iter().enumerate() {
            let at = format!("{file} rule {}", i + 1);
            if rule.files.is_empty() {
                self.errors.push(format!("{at}: empty `files`"));
            }
            for p in &rule.files {
                if let Err(e) = check_pattern(p) {
                    self.errors
                        .push(format!("{at}: invalid pattern `{p}`: {e}"));
                }
            }
            if rule.inclusive.is_none() && rule.exclusive.is_none() {
                self.errors
                    .push(format!("{at}: neither `inclusive` nor `exclusive`"));
            }
            for c in rule.inclusive.iter().flatten() {
                if !self.inclusive.contains(c.as_str()) {
                    self.errors
                        .push(format!("{at}: `inclusive` names non-inclusive `{c}`"));
                }
            }
            for c in rule.exclusive.iter().flatten() {
                if !self.all.contains(c.as_str()) {
                    self.errors.push(format!("{at}: unknown component `{c}`"));
                }
            }
        }
    }

    fn strategy(&mut self, task: &str, strategy: &Strategy) {
        match strategy {
            Strategy::Schedules(names) => {
                if names.is_empty() {
                    self.errors
                        .push(format!("task `{task}`: empty `schedules`"));
                }
                for c in names {
                    if !self.all.contains(c.as_str()) {
                        self.errors
                            .push(format!("task `{task}`: unknown component `{c}`"));
                    }
                }
            }
            Strategy::Changed(patterns) => {
                for p in patterns {
                    if let Err(e) = check_pattern(p) {
                        self.errors
                            .push(format!("task `{task}`: invalid pattern `{p}`: {e}"));
                    }
                }
            }
            Strategy::Always => {}
            Strategy::Any(members) | Strategy::All(members) => {
                if members.is_empty() {
                    self.errors.push(format!("task `{task}`: empty composite"));
                }
                for m in members {
                    self.strategy(task, m);
                }
            }
            Strategy::Not(member) => self.strategy(task, member),
        }
    }

    pub fn tasks(&mut self, tasks: &[Task]) {
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, t) in tasks.iter().enumerate() {
            if !valid_name(&t.name) {
                self.errors.push(format!("invalid task name `{}`", t.name));
            }
            if index.insert(&t.name, i).is_some() {
                self.errors.push(format!("task `{}` defined twice", t.name));
            }
            if let Some(s) = &t.strategy {
                self.strategy(&t.name, s);
            }
        }
        let mut indegree = vec![0usize; tasks.len()];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); tasks.len()];
        for (i, t) in tasks.iter().enumerate() {
            for need in &t.needs {
                match index.get(need.as_str()) {
                    Some(&j) => {
                        indegree[i] += 1;
                        dependents[j].push(i);
                    }
                    None => self
                        .errors
                        .push(format!("task `{}` needs unknown `{need}`", t.name)),
                }
            }
        }
        // Kahn: every task must come out, or there is a cycle.
        let mut ready: Vec<usize> = (0..tasks.len()).filter(|&i| indegree[i] == 0).collect();
        let mut seen = 0;
        while let Some(i) = ready.pop() {
            seen += 1;
            for &d in &dependents[i] {
                indegree[d] -= 1;
                if indegree[d] == 0 {
                    ready.push(d);
                }
            }
        }
        if seen != tasks.len() {
            self.errors.push(format!(
                "{} tasks are on or behind a `needs` cycle",
                tasks.len() - seen
            ));
        }
    }
}

/// The longest `needs` chain, in tasks (1 for a task that needs nothing).
pub fn longest_chain(tasks: &[Task]) -> usize {
    let index: HashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    let mut memo = vec![0usize; tasks.len()];
    fn depth(i: usize, tasks: &[Task], index: &HashMap<&str, usize>, memo: &mut [usize]) -> usize {
        if memo[i] == 0 {
            let below = tasks[i]
                .needs
                .iter()
                .filter_map(|n| index.get(n.as_str()))
                .map(|&j| depth(j, tasks, index, memo))
                .max();
            memo[i] = 1 + below.unwrap_or(0);
        }
        memo[i]
    }
    (0..tasks.len())
        .map(|i| depth(i, tasks, &index, &mut memo))
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        for ok in [
            "**",
            "*.cpp",
            "**/*.js",
            "sub/**",
            "{a,b}/**",
            "[a-m]*.cpp",
            "!**/generated/**",
            "a?c.h",
            "[!_]x",
        ] {
            assert_eq!(check_pattern(ok), Ok(()), "{ok}");
        }
        for bad in [
            "", "!", "/abs", "**.py", "a/**b/c", "{a,b", "a}", "[abc", "[]x", "a/../b", "x\\",
        ] {
            assert!(check_pattern(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cycles_are_found() {
        let t = |name: &str, needs: &[&str]| Task {
            name: name.into(),
            strategy: None,
            needs: needs.iter().map(|s| (*s).to_owned()).collect(),
            run: None,
        };
        let mut c = Checker::new();
        c.tasks(&[t("a", &["b"]), t("b", &["a"]), t("c", &["zz"])]);
        assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
        assert_eq!(
            longest_chain(&[t("a", &[]), t("b", &["a"]), t("c", &["b", "a"])]),
            3
        );
    }
}
