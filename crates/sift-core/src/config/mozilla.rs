//! `components = "gecko"` and `[mozbuild]`: the configuration of Mozilla's
//! own inputs (see [`crate::mozilla`]).

use std::path::Path;
use std::sync::Arc;

use toml::Spanned;

use super::raw::{RawComponentsSpec, RawMozbuild};
use super::{Config, compile_components};
use crate::diagnostic::{ConfigDiagnostic, ConfigError, Diagnostics, SourceFile};
use crate::mozilla::gecko;
use crate::select::components::Components;

/// A `[components]` table, or a built-in preset by name.
pub(super) fn compile_components_spec(
    raw: Option<Spanned<RawComponentsSpec>>,
    source: &Arc<SourceFile>,
    diags: &mut Diagnostics,
) -> Components {
    let Some(raw) = raw else {
        return compile_components(None, source, diags);
    };
    let span = raw.span();
    match raw.into_inner() {
        RawComponentsSpec::Table(table) => compile_components(Some(table), source, diags),
        RawComponentsSpec::Preset(name) if name == gecko::PRESET => {
            Components::new(gecko::declarations())
        }
        RawComponentsSpec::Preset(name) => {
            diags.push(
                ConfigDiagnostic::error(
                    source,
                    Some(span),
                    format!("unknown component preset `{name}`"),
                    "here",
                )
                .with_help("the built-in preset is `gecko` (mozilla-central's schedules.py); otherwise declare a [components] table"),
            );
            Components::default()
        }
    }
}

/// `[mozbuild] enabled = true`.
pub(super) fn compile_mozbuild(raw: Option<RawMozbuild>) -> bool {
    raw.and_then(|m| m.enabled).is_some_and(Spanned::into_inner)
}

/// What a Gecko tree without a sift.toml gets for `--mozbuild` and
/// `--graph`: mozilla-central's components and its moz.build files.
pub const MOZILLA_DEFAULT: &str = "components = \"gecko\"\n\n[mozbuild]\nenabled = true\n";

impl Config {
    /// The configuration of a tree that has moz.build files but no
    /// sift.toml ([`MOZILLA_DEFAULT`]).
    pub fn mozilla_default(root: &Path) -> Config {
        Config::from_source(
            root,
            SourceFile::new("(built-in gecko defaults)", MOZILLA_DEFAULT),
        )
        .map_err(|ConfigError(d)| d)
        .expect("the built-in configuration is valid")
    }
}
