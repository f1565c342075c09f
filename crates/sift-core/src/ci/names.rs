//! Task names made valid for each CI: one rule per CI, one mechanism for all.
//!
//! sift task names hold anything but whitespace and `!`; CI systems are
//! stricter. Each CI's rule says which characters it accepts; the mechanism is
//! the same for every CI:
//!
//! 1. Every character the CI does not accept becomes `_`. If the CI needs a
//!    letter first and the result does not start with one, `t_` is put in
//!    front.
//! 2. Names that come out unchanged keep their name. Rewritten names, in the
//!    plan's (sorted) order, take their rewritten form, or the first of
//!    `form_2`, `form_3`, … that no other task and no reserved name holds,
//!    so two tasks never share a name (compared case-insensitively where the
//!    CI ignores case).
//! 3. A name longer than the CI allows, or a rewritten one with none of its
//!    letters or digits left (nothing to recognise it by), is an error
//!    naming the task.
//!
//! | CI | accepted | first character | case | longest | reserved |
//! |----|----------|-----------------|------|---------|----------|
//! | GitLab job names | anything sift accepts, but not a leading `.` (a hidden job) | any | sensitive | 255 | GitLab's top-level keywords and `sift-noop` |
//! | Buildkite step keys | `A-Z a-z 0-9 _ - :` | any | sensitive | 100 | names shaped like a UUID |
//! | Azure job and matrix names | `A-Z a-z 0-9 _` | a letter | insensitive | 100 | `plan`, `verdict` |

use std::collections::HashSet;

use super::CiError;

/// How one CI names jobs.
#[derive(Debug)]
pub struct NameRule {
    /// The CI and what is named, for messages: `a GitLab job name`.
    pub what: &'static str,
    /// The separator before a collision suffix (`_2`).
    pub separator: char,
    accepts: fn(usize, char) -> bool,
    letter_first: bool,
    case_insensitive: bool,
    max_len: usize,
    reserved: fn(&str) -> bool,
}

/// The name of the always-present no-op job in GitLab child pipelines.
pub const GITLAB_NOOP: &str = "sift-noop";

/// GitLab's top-level keywords, which cannot be job names.
const GITLAB_KEYWORDS: &[&str] = &[
    "after_script",
    "before_script",
    "cache",
    "default",
    "image",
    "include",
    "pages",
    "services",
    "stages",
    "types",
    "variables",
    "workflow",
];

pub const GITLAB: NameRule = NameRule {
    what: "a GitLab job name",
    separator: '-',
    accepts: |index, c| !(c.is_control() || (index == 0 && c == '.')),
    letter_first: false,
    case_insensitive: false,
    max_len: 255,
    reserved: |name| GITLAB_KEYWORDS.contains(&name) || name == GITLAB_NOOP,
};

pub const BUILDKITE: NameRule = NameRule {
    what: "a Buildkite step key",
    separator: '_',
    accepts: |_, c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':'),
    letter_first: false,
    case_insensitive: false,
    max_len: 100,
    reserved: looks_like_uuid,
};

pub const AZURE: NameRule = NameRule {
    what: "an Azure job name",
    separator: '_',
    accepts: |_, c| c.is_ascii_alphanumeric() || c == '_',
    letter_first: true,
    case_insensitive: true,
    max_len: 100,
    // The plan and verdict jobs of sift's example pipelines.
    reserved: |name| name.eq_ignore_ascii_case("plan") || name.eq_ignore_ascii_case("verdict"),
};

fn looks_like_uuid(name: &str) -> bool {
    let groups: Vec<&str> = name.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

impl NameRule {
    /// Step 1 of the rule for one name.
    pub fn rewrite(&self, name: &str) -> String {
        let mut out: String = name
            .chars()
            .enumerate()
            .map(|(i, c)| if (self.accepts)(i, c) { c } else { '_' })
            .collect();
        if self.letter_first && !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
            out.insert_str(0, "t_");
        }
        out
    }

    fn fold(&self, name: &str) -> String {
        if self.case_insensitive {
            name.to_ascii_lowercase()
        } else {
            name.to_owned()
        }
    }

    /// Valid, distinct names for `names` (in the same order).
    pub fn assign<S: AsRef<str>>(&self, names: &[S]) -> Result<Vec<String>, CiError> {
        let rewritten: Vec<String> = names.iter().map(|n| self.rewrite(n.as_ref())).collect();
        let mut taken: HashSet<String> = HashSet::new();
        let mut out: Vec<Option<String>> = vec![None; names.len()];
        for (index, (name, form)) in names.iter().zip(&rewritten).enumerate() {
            if name.as_ref() == form && !(self.reserved)(form) && taken.insert(self.fold(form)) {
                out[index] = Some(form.clone());
            }
        }
        for (index, form) in rewritten.iter().enumerate() {
            if out[index].is_some() {
                continue;
            }
            let mut candidate = form.clone();
            let mut n = 2;
            while (self.reserved)(&candidate) || taken.contains(&self.fold(&candidate)) {
                candidate = format!("{form}{}{n}", self.separator);
                n += 1;
            }
            taken.insert(self.fold(&candidate));
            out[index] = Some(candidate);
        }
        names
            .iter()
            .zip(out)
            .map(|(name, valid)| {
                let valid = valid.expect("every name is assigned");
                self.check(name.as_ref(), &valid)?;
                Ok(valid)
            })
            .collect()
    }

    fn check(&self, task: &str, valid: &str) -> Result<(), CiError> {
        let reason = if valid.chars().count() > self.max_len {
            format!(
                "`{valid}` is longer than the {} characters allowed",
                self.max_len
            )
        } else if valid != task
            && !task
                .chars()
                .enumerate()
                .any(|(i, c)| (self.accepts)(i, c) && c.is_alphanumeric())
        {
            format!("no letter or digit is left (`{valid}`)")
        } else {
            return Ok(());
        };
        Err(CiError::Name {
            task: task.to_owned(),
            what: self.what,
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_are_kept() {
        assert_eq!(
            GITLAB.assign(&["test:unit", "build/linux"]).unwrap(),
            ["test:unit", "build/linux"]
        );
        assert_eq!(BUILDKITE.assign(&["test:unit-1"]).unwrap(), ["test:unit-1"]);
        assert_eq!(AZURE.assign(&["test_unit"]).unwrap(), ["test_unit"]);
    }

    #[test]
    fn rewritten_names_never_collide() {
        // `test_unit` is valid as it is and keeps its name; `test:unit` and
        // `test.unit` both become `test_unit` and take the next free suffixes.
        assert_eq!(
            AZURE
                .assign(&["test.unit", "test:unit", "test_unit", "test_unit_2"])
                .unwrap(),
            ["test_unit_3", "test_unit_4", "test_unit", "test_unit_2"]
        );
        // Azure ignores case.
        assert_eq!(
            AZURE.assign(&["Lint", "li.nt", "lint"]).unwrap()[..2],
            ["Lint", "li_nt"]
        );
        assert_eq!(AZURE.assign(&["Lint", "lint"]).unwrap(), ["Lint", "lint_2"]);
    }

    #[test]
    fn first_character_and_reserved_names() {
        assert_eq!(
            AZURE.assign(&["3d", "_x", "plan"]).unwrap(),
            ["t_3d", "t__x", "plan_2"]
        );
        assert_eq!(
            GITLAB.assign(&[".hidden", "pages", "sift-noop"]).unwrap(),
            ["_hidden", "pages-2", "sift-noop-2"]
        );
        assert_eq!(
            BUILDKITE
                .assign(&["0123abcd-0123-abcd-0123-0123456789ab"])
                .unwrap(),
            ["0123abcd-0123-abcd-0123-0123456789ab_2"]
        );
    }

    #[test]
    fn unmakeable_names_are_errors_naming_the_task() {
        let error = AZURE.assign(&["ok", "+++"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "task `+++` cannot be an Azure job name: no letter or digit is left (`t____`)"
        );
        let long = "x".repeat(101);
        assert!(BUILDKITE.assign(&[long.as_str()]).is_err());
        assert!(GITLAB.assign(&[long.as_str()]).is_ok());
    }
}
