//! When a push is a backstop or an expanded push: a pure function of the
//! configured cadence, the previous push's record and the clock.

use crate::pattern::NameGlob;

use super::record::{Mark, PushRecord};

/// `[backstop]` in sift.toml.
#[derive(Clone, Debug, Default)]
pub struct Cadence {
    /// Branches (globs) whose pushes can be backstops; empty: none.
    pub branches: Vec<NameGlob>,
    /// A backstop at least this many pushes after the last one.
    pub every_pushes: Option<u64>,
    /// A backstop at least this many hours after the last one.
    pub every_hours: Option<f64>,
    /// An expanded push at least this many pushes after the last expanded one.
    pub every_pushes_expanded: Option<u64>,
}

impl Cadence {
    pub fn is_listed(&self, branch: &str) -> bool {
        self.branches.iter().any(|glob| glob.matches(branch))
    }
}

/// `--backstop` / `--no-backstop`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Force {
    #[default]
    Auto,
    Backstop,
    /// `--expanded`: an expanded push that is not a backstop.
    Expanded,
    NoBackstop,
}

/// What kind of push this is, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct PushDecision {
    pub backstop: bool,
    /// A backstop is always expanded too.
    pub expanded: bool,
    /// One line, e.g. `backstop push (20 pushes / 4.0 hours since push 140)`.
    pub reason: String,
}

/// The push a plan is made for: the planner keeps every task on a backstop
/// and evaluates `on_backstop`/`on_expanded` against it.
#[derive(Clone, Debug, PartialEq)]
pub struct PushContext {
    pub branch: String,
    pub number: u64,
    pub decision: PushDecision,
}

/// Decides push `number` of `branch` at `now` (Unix seconds), given the
/// latest readable record before it (`None`: no earlier push is known).
pub fn decide(
    cadence: &Cadence,
    branch: &str,
    number: u64,
    now: i64,
    previous: Option<&PushRecord>,
    force: Force,
) -> PushDecision {
    let plain = |reason: String| PushDecision {
        backstop: false,
        expanded: false,
        reason,
    };
    match force {
        Force::Backstop => {
            return PushDecision {
                backstop: true,
                expanded: true,
                reason: "backstop push (--backstop)".to_owned(),
            };
        }
        Force::NoBackstop => return plain("not a backstop (--no-backstop)".to_owned()),
        Force::Expanded => {
            return PushDecision {
                backstop: false,
                expanded: true,
                reason: "expanded push (--expanded)".to_owned(),
            };
        }
        Force::Auto => {}
    }
    if !cadence.is_listed(branch) {
        return plain(format!(
            "not a backstop: `{branch}` is not in [backstop] branches"
        ));
    }
    let last_backstop = previous.and_then(|p| p.last_backstop.as_ref());
    let Some(last) = last_backstop else {
        return PushDecision {
            backstop: true,
            expanded: true,
            reason: format!("backstop push (first recorded push of {branch})"),
        };
    };
    let pushes = number.saturating_sub(last.number);
    let hours = (now - last.time).max(0) as f64 / 3600.0;
    let by_pushes = cadence.every_pushes.is_some_and(|n| pushes >= n);
    let by_hours = cadence.every_hours.is_some_and(|h| hours >= h);
    let plural = if pushes == 1 { "push" } else { "pushes" };
    let since = format!(
        "{pushes} {plural} / {hours:.1} hours since push {}",
        last.number
    );
    if by_pushes || by_hours {
        return PushDecision {
            backstop: true,
            expanded: true,
            reason: format!("backstop push ({since})"),
        };
    }
    let last_expanded = previous
        .and_then(|p| p.last_expanded.as_ref())
        .map_or(last.number, |m| m.number.max(last.number));
    let since_expanded = number.saturating_sub(last_expanded);
    if cadence
        .every_pushes_expanded
        .is_some_and(|n| since_expanded >= n)
    {
        return PushDecision {
            backstop: false,
            expanded: true,
            reason: format!(
                "expanded push ({since_expanded} pushes since expanded push {last_expanded}; {since})"
            ),
        };
    }
    plain(format!("not a backstop ({since})"))
}

/// The backstop and expanded marks a record carries forward, given its own
/// decision: what push N+1 needs to know.
pub(crate) fn marks_after(
    number: u64,
    time: i64,
    decision: &PushDecision,
    previous: Option<&PushRecord>,
) -> (Option<Mark>, Option<Mark>) {
    let this = Mark { number, time };
    let last_backstop = if decision.backstop {
        Some(this.clone())
    } else {
        previous.and_then(|p| p.last_backstop.clone())
    };
    let last_expanded = if decision.expanded {
        Some(this)
    } else {
        previous.and_then(|p| p.last_expanded.clone())
    };
    (last_backstop, last_expanded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::RecordedPlan;
    use proptest::prelude::*;

    fn cadence(pushes: Option<u64>, hours: Option<f64>, expanded: Option<u64>) -> Cadence {
        Cadence {
            branches: vec![
                NameGlob::new("main").unwrap(),
                NameGlob::new("release/*").unwrap(),
            ],
            every_pushes: pushes,
            every_hours: hours,
            every_pushes_expanded: expanded,
        }
    }

    /// Records `count` pushes one after another, `step` seconds apart.
    fn run(cadence: &Cadence, branch: &str, count: u64, step: i64) -> Vec<PushRecord> {
        let mut records: Vec<PushRecord> = Vec::new();
        for number in 1..=count {
            let time = number as i64 * step;
            let decision = decide(cadence, branch, number, time, records.last(), Force::Auto);
            records.push(PushRecord::new(
                branch,
                number,
                "h",
                None,
                time,
                decision,
                records.last(),
                RecordedPlan::default(),
            ));
        }
        records
    }

    fn numbers(records: &[PushRecord], pick: impl Fn(&PushRecord) -> bool) -> Vec<u64> {
        records
            .iter()
            .filter(|r| pick(r))
            .map(|r| r.number)
            .collect()
    }

    #[test]
    fn the_issues_example_five_and_two() {
        let records = run(&cadence(Some(5), None, Some(2)), "main", 12, 60);
        assert_eq!(numbers(&records, |r| r.backstop), [1, 6, 11]);
        assert_eq!(numbers(&records, |r| r.expanded), [1, 3, 5, 6, 8, 10, 11]);
        assert_eq!(
            records[5].reason,
            "backstop push (5 pushes / 0.1 hours since push 1)"
        );
        assert_eq!(
            records[0].reason,
            "backstop push (first recorded push of main)"
        );
        assert_eq!(
            records[2].reason,
            "expanded push (2 pushes since expanded push 1; 2 pushes / 0.0 hours since push 1)"
        );
    }

    #[test]
    fn hours_trigger_and_reason() {
        // A push every 30 minutes, a backstop every 4 hours: pushes 1, 9, 17.
        let records = run(&cadence(Some(20), Some(4.0), None), "main", 20, 1800);
        assert_eq!(numbers(&records, |r| r.backstop), [1, 9, 17]);
        assert_eq!(
            records[8].reason,
            "backstop push (8 pushes / 4.0 hours since push 1)"
        );
    }

    #[test]
    fn unlisted_branches_and_forcing() {
        let c = cadence(Some(2), None, None);
        let records = run(&c, "feature/x", 5, 60);
        assert!(records.iter().all(|r| !r.backstop && !r.expanded));
        assert_eq!(
            records[0].reason,
            "not a backstop: `feature/x` is not in [backstop] branches"
        );
        assert!(run(&c, "release/1.0", 1, 60)[0].backstop);
        let forced = decide(&c, "feature/x", 3, 0, None, Force::Backstop);
        assert!(forced.backstop && forced.expanded);
        let forbidden = decide(&c, "main", 1, 0, None, Force::NoBackstop);
        assert!(!forbidden.backstop && !forbidden.expanded);
    }

    #[test]
    fn a_forced_backstop_restarts_the_count() {
        let c = cadence(Some(5), None, None);
        let mut records = run(&c, "main", 3, 60);
        let decision = decide(&c, "main", 4, 240, records.last(), Force::Backstop);
        records.push(PushRecord::new(
            "main",
            4,
            "h",
            None,
            240,
            decision,
            records.last(),
            RecordedPlan::default(),
        ));
        assert_eq!(records[3].last_backstop.as_ref().map(|m| m.number), Some(4));
        assert!(!decide(&c, "main", 8, 480, records.last(), Force::Auto).backstop);
    }

    proptest! {
        /// Without a time trigger, backstops fall exactly every N pushes from
        /// the first, and expanded pushes include every backstop.
        #[test]
        fn backstops_are_periodic(n in 1u64..30, e in proptest::option::of(1u64..30), count in 1u64..200) {
            let records = run(&cadence(Some(n), None, e), "main", count, 1);
            let expected: Vec<u64> = (1..=count).filter(|k| (k - 1) % n == 0).collect();
            prop_assert_eq!(numbers(&records, |r| r.backstop), expected);
            for r in &records {
                prop_assert!(!r.backstop || r.expanded);
            }
            // Between two expanded pushes there are never more than e pushes.
            if let Some(e) = e {
                let expanded = numbers(&records, |r| r.expanded);
                for pair in expanded.windows(2) {
                    prop_assert!(pair[1] - pair[0] <= e);
                }
            }
        }

        /// A skip can hide at most `every_hours` of pushes on a listed branch.
        #[test]
        fn no_gap_longer_than_the_hours(step in 1i64..20_000, count in 1u64..100) {
            let records = run(&cadence(None, Some(4.0), None), "main", count, step);
            let mut last = records[0].time;
            for r in &records {
                if r.backstop { last = r.time; }
                prop_assert!(r.time - last < 4 * 3600 + step);
            }
        }
    }
}
