//! `[store]` and `[backstop]`: where push history lives and the cadence of
//! backstop pushes (see [`crate::history`]).

use std::sync::Arc;

use toml::Spanned;

use super::raw::{RawBackstop, RawCache, RawPlan, RawStore};
use crate::diagnostic::{ConfigDiagnostic, Diagnostics, SourceFile};
use crate::history::{Cadence, PlanMode};
use crate::pattern::NameGlob;

/// `[store] url`, else its alias `[cache] store`; both given must agree.
pub(super) fn compile_store(
    store: Option<RawStore>,
    cache: Option<RawCache>,
    source: &Arc<SourceFile>,
    diags: &mut Diagnostics,
) -> Option<String> {
    let url = store.and_then(|s| s.url);
    let alias = cache.and_then(|c| c.store);
    match (url, alias) {
        (Some(url), Some(alias)) if url.get_ref() != alias.get_ref() => {
            diags.push(
                ConfigDiagnostic::error(
                    source,
                    Some(alias.span()),
                    "`[cache] store` disagrees with `[store] url`",
                    "this store",
                )
                .with_related(source, url.span(), "and this one")
                .with_help("`[cache] store` is an alias of `[store] url`: keep only `[store] url`"),
            );
            None
        }
        (Some(url), _) => Some(url.into_inner()),
        (None, alias) => alias.map(Spanned::into_inner),
    }
}

/// `[backstop]`; absent means no push is a backstop unless `--backstop`.
pub(super) fn compile_cadence(
    raw: Option<Spanned<RawBackstop>>,
    source: &Arc<SourceFile>,
    diags: &mut Diagnostics,
) -> Cadence {
    let Some(raw) = raw else {
        return Cadence::default();
    };
    let span = raw.span();
    let raw = raw.into_inner();
    let mut cadence = Cadence::default();
    match raw.branches {
        None => diags.push(
            ConfigDiagnostic::error(
                source,
                Some(span.clone()),
                "`[backstop]` lists no branches",
                "here",
            )
            .with_help(
                "add e.g. `branches = [\"main\"]`: pushes to other branches are never backstops",
            ),
        ),
        Some(branches) => {
            for branch in branches.into_inner() {
                match NameGlob::new(branch.get_ref()) {
                    Ok(glob) => cadence.branches.push(glob),
                    Err(error) => diags.push(
                        ConfigDiagnostic::error(
                            source,
                            Some(branch.span()),
                            format!("invalid branch pattern `{}`: {error}", branch.get_ref()),
                            "here",
                        )
                        .with_help("write a branch name or a glob such as `release/*`"),
                    ),
                }
            }
        }
    }
    let mut count = |value: Option<Spanned<i64>>, key: &str| -> Option<u64> {
        let value = value?;
        match u64::try_from(*value.get_ref()) {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                diags.push(
                    ConfigDiagnostic::error(
                        source,
                        Some(value.span()),
                        format!("`{key}` must be at least 1"),
                        "here",
                    )
                    .with_help(format!("`{key} = 20` makes every 20th push one")),
                );
                None
            }
        }
    };
    cadence.every_pushes = count(raw.every_pushes, "every_pushes");
    cadence.every_pushes_expanded = count(raw.every_pushes_expanded, "every_pushes_expanded");
    if let Some(hours) = raw.every_hours {
        let h = *hours.get_ref();
        if h.is_finite() && h > 0.0 {
            cadence.every_hours = Some(h);
        } else {
            diags.push(
                ConfigDiagnostic::error(
                    source,
                    Some(hours.span()),
                    "`every_hours` must be a positive number",
                    "here",
                )
                .with_help("e.g. `every_hours = 4` (fractions such as 0.5 are allowed)"),
            );
        }
    } else if cadence.every_pushes.is_none() && !diags.has_errors() {
        diags.push(
            ConfigDiagnostic::error(
                source,
                Some(span),
                "`[backstop]` sets neither `every_pushes` nor `every_hours`",
                "here",
            )
            .with_help("Mozilla's cadence is `every_pushes = 20` and `every_hours = 4`"),
        );
    }
    cadence
}

/// `[plan] mode`: `"enforce"` (the default) or `"shadow"`.
pub(super) fn compile_plan_mode(
    raw: Option<RawPlan>,
    source: &Arc<SourceFile>,
    diags: &mut Diagnostics,
) -> PlanMode {
    let Some(mode) = raw.and_then(|r| r.mode) else {
        return PlanMode::Enforce;
    };
    match mode.get_ref().as_str() {
        "enforce" => PlanMode::Enforce,
        "shadow" => PlanMode::Shadow,
        other => {
            diags.push(
                ConfigDiagnostic::error(
                    source,
                    Some(mode.span()),
                    format!("unknown plan mode `{other}`"),
                    "here",
                )
                .with_help("`mode = \"enforce\"` skips what the plan skips; `mode = \"shadow\"` runs every task and records what the plan would have skipped"),
            );
            PlanMode::Enforce
        }
    }
}
