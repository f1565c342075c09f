//! The `gecko` component preset: mozbuild's `INCLUSIVE_COMPONENTS` and
//! `EXCLUSIVE_COMPONENTS` (`python/mozbuild/mozbuild/schedules.py`), so a
//! Gecko-derived tree needs no `[components]` table (`components = "gecko"`).
//!
//! The lists change over time (newer trees split `marionette`, older ones
//! have `gonk`): a tree whose moz.build files name other components declares
//! its own `[components]` table instead.

use crate::select::components::ComponentKind;

/// Inclusive components, as in mozilla-central's schedules.py (sorted).
pub const INCLUSIVE: &[&str] = &[
    "android-hw-gfx",
    "docs",
    "jittest",
    "js-lint",
    "jsreftest",
    "py-lint",
    "rusttests",
    "test-coverage",
    "test-coverage-wpt",
    "test-verify",
    "test-verify-gpu",
    "test-verify-wpt",
    "yaml-lint",
];

/// Exclusive components in source order, by the family comments of
/// schedules.py (the code itself does not use families; sift shows them).
pub const EXCLUSIVE_FAMILIES: &[(&str, &[&str])] = &[
    ("os", &["android", "linux", "macosx", "windows", "ios"]),
    ("application", &["firefox", "fenix", "focus-android"]),
    (
        "harness",
        &[
            "awsy",
            "condprofile",
            "cppunittest",
            "firefox-ui",
            "fuzztest",
            "geckoview-junit",
            "gtest",
            "marionette",
            "mochitest",
            "raptor",
            "reftest",
            "talos",
            "telemetry-tests-client",
            "xpcshell",
            "xpcshell-coverage",
            "web-platform-tests",
        ],
    ),
    (
        "suite",
        &[
            "crashtest",
            "mochitest-a11y",
            "mochitest-browser-a11y",
            "mochitest-browser-media",
            "mochitest-browser-chrome",
            "mochitest-browser-translations",
            "mochitest-chrome",
            "mochitest-plain",
            "web-platform-tests-crashtest",
            "web-platform-tests-print-reftest",
            "web-platform-tests-reftest",
            "web-platform-tests-wdspec",
            "nss",
        ],
    ),
];

/// The preset's name in `components = "gecko"`.
pub const PRESET: &str = "gecko";

/// The preset as the declarations `Components::new` takes.
pub fn declarations() -> Vec<(String, ComponentKind, Option<String>)> {
    let mut out = Vec::with_capacity(50);
    for (family, names) in EXCLUSIVE_FAMILIES {
        for name in *names {
            out.push((
                (*name).to_owned(),
                ComponentKind::Exclusive,
                Some((*family).to_owned()),
            ));
        }
    }
    out.extend(
        INCLUSIVE
            .iter()
            .map(|name| ((*name).to_owned(), ComponentKind::Inclusive, None)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::components::Components;

    #[test]
    fn counts_match_schedules_py() {
        let exclusive: usize = EXCLUSIVE_FAMILIES.iter().map(|(_, n)| n.len()).sum();
        assert_eq!(exclusive, 37);
        assert_eq!(INCLUSIVE.len(), 13);
        assert!(INCLUSIVE.is_sorted());
        let components = Components::new(declarations());
        assert_eq!(components.len(), 50, "names are unique");
        assert_eq!(components.all_exclusive().iter().count(), 37);
    }
}
