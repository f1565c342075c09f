//! `sift cache push|pull|merge|show`: share pytest failure caches across
//! shards and runs. The network side lives in sift-store and the merge rules
//! in sift-core; this module resolves the store, runs the async work on a
//! runtime of its own and reports.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use sift_core::tests::pytest_cache::{CacheSnapshot, merge_into_dir, node_file};
use sift_store::{
    CacheKey, JobSelector, PrScope, Progress, PushOutcome, Repo, Store, StoreError, StoreUrl,
};

use crate::cli::{
    CacheArgs, CacheCommand, CacheMergeArgs, CachePullArgs, CachePushArgs, CacheShowArgs, PrArgs,
    StoreArgs,
};
use crate::error::CliError;
use crate::{exit, output};

/// The store when none is configured: a folder at the repository root, so
/// the commands work with no server at all.
pub const DEFAULT_STORE: &str = ".sift/store";

pub fn run(root: &Path, args: CacheArgs) -> Result<u8, CliError> {
    match args.command {
        CacheCommand::Push(args) => push(root, args),
        CacheCommand::Pull(args) => pull(root, args),
        CacheCommand::Merge(args) => merge(args),
        CacheCommand::Show(args) => show(args),
    }
}

/// `--store`, else `$SIFT_STORE`, else `[store] url` (or its alias `[cache]
/// store`) in sift.toml (relative paths there are relative to the root), else
/// `.sift/store` at the root. Caches and push history share it.
pub(crate) fn resolve_store(root: &Path, args: &StoreArgs) -> Result<StoreUrl, CliError> {
    resolve_store_with(root, args, None)
}

/// [`resolve_store`] with the configuration already loaded (it is not
/// parsed a second time).
pub(crate) fn resolve_store_with(
    root: &Path,
    args: &StoreArgs,
    config: Option<&sift_core::Config>,
) -> Result<StoreUrl, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::io("cannot read the current directory", e))?;
    if let Some(url) = &args.store {
        return Ok(StoreUrl::parse(url, &cwd)?);
    }
    if let Some(url) = std::env::var("SIFT_STORE").ok().filter(|v| !v.is_empty()) {
        return Ok(StoreUrl::parse(&url, &cwd)?);
    }
    let configured = match config {
        Some(config) => config.cache_store.clone(),
        None if root.join(sift_core::select::rules::RULE_FILE).is_file() => {
            super::load_config(root)?.cache_store
        }
        None => None,
    };
    if let Some(url) = &configured {
        return Ok(StoreUrl::parse(url, root)?);
    }
    Ok(StoreUrl::Local(root.join(DEFAULT_STORE)))
}

fn scope(args: &PrArgs) -> Result<PrScope, CliError> {
    let repo = Repo::parse(&args.repo).map_err(|e| CliError::Usage {
        message: format!("invalid --repo: {e}"),
        hint: Some("pass the repository as OWNER/NAME, e.g. `pytorch/pytorch`".to_owned()),
    })?;
    Ok(PrScope::new(repo, args.pr_ref.clone()))
}

/// Runs async store work to completion on a runtime that lives as long as
/// the command.
fn block_on<T>(work: impl Future<Output = Result<T, StoreError>>) -> Result<T, CliError> {
    let runtime =
        sift_store::runtime().map_err(|e| CliError::io("cannot start the async runtime", e))?;
    Ok(runtime.block_on(work)?)
}

fn push(root: &Path, args: CachePushArgs) -> Result<u8, CliError> {
    let url = resolve_store(root, &args.store)?;
    let key = CacheKey {
        scope: scope(&args.pr)?,
        job: args.job,
        sha: args.sha,
        config: args.test_config,
        shard: args.shard,
    };
    // Validate the key before touching the store (or creating its folder).
    key.object_key().map_err(StoreError::from)?;
    let dir = args.cache_dir;
    if !dir.exists() {
        output::note(&format!(
            "the pytest cache dir `{}` does not exist: nothing to push",
            dir.display()
        ));
        return Ok(exit::OK);
    }
    let store = Store::open(&url, true)?;
    match block_on(sift_store::push(&store, &key, &dir))? {
        PushOutcome::NoCacheDir => output::note(&format!(
            "the pytest cache dir `{}` does not exist: nothing to push",
            dir.display()
        )),
        PushOutcome::Pushed { key, bytes, files } => {
            output::note(&format!(
                "pushed `{}` ({files} files, {bytes} bytes) to {}",
                dir.display(),
                store.description()
            ));
            super::plan::print_stdout(&format!("{key}\n"))?;
        }
    }
    Ok(exit::OK)
}

fn pull(root: &Path, args: CachePullArgs) -> Result<u8, CliError> {
    let url = resolve_store(root, &args.store)?;
    let scope = scope(&args.pr)?;
    let jobs = match (args.job, args.job_prefix) {
        (_, Some(prefix)) => JobSelector::Prefix(prefix),
        (Some(job), None) => JobSelector::Exact(job),
        (None, None) => unreachable!("clap requires --job or --job-prefix"),
    };
    let store = Store::open(&url, false)?;
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    let on_progress = |event: Progress| match event {
        // A bar for a couple of objects only flickers.
        Progress::Listed(total) if total >= 4 && std::io::stderr().is_terminal() => {
            bar.set_length(total as u64);
            bar.set_style(
                ProgressStyle::with_template("pulling caches {bar:30} {pos}/{len} {elapsed}")
                    .expect("valid template"),
            );
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        Progress::Listed(_) => {}
        Progress::Fetched { done, .. } => bar.set_position(done as u64),
    };
    let fetched = block_on(sift_store::fetch(&store, &scope, &jobs, &on_progress));
    bar.finish_and_clear();
    let fetched = fetched?;
    for skipped in &fetched.skipped {
        output::warning(&format!("skipped `{}`: {}", skipped.key, skipped.problem));
    }
    let total = fetched.merged.len() + fetched.skipped.len();
    if total == 0 {
        output::note(&format!(
            "no caches under `{}` in {}",
            fetched.prefix,
            store.description()
        ));
        return Ok(exit::OK);
    }
    let outcome = sift_store::apply(&args.cache_dir, &fetched, args.strict)?;
    let mut summary = format!(
        "merged {} of {total} caches into `{}`: {} failures",
        fetched.merged.len(),
        args.cache_dir.display(),
        outcome.merge.lastfailed_count
    );
    if !fetched.skipped.is_empty() {
        let _ = write!(summary, " ({} skipped)", fetched.skipped.len());
    }
    output::note(&summary);
    Ok(exit::OK)
}

fn merge(args: CacheMergeArgs) -> Result<u8, CliError> {
    let mut union = CacheSnapshot::default();
    let mut skipped = 0;
    let mut merged = 0;
    for source in &args.sources {
        if !source.is_dir() {
            output::warning(&format!("skipped `{}`: not a directory", source.display()));
            skipped += 1;
            continue;
        }
        match CacheSnapshot::read_dir(source) {
            Ok(snapshot) => {
                union.union_with(&snapshot);
                merged += 1;
            }
            Err(e) => {
                output::warning(&format!("skipped `{}`: {e}", source.display()));
                skipped += 1;
            }
        }
    }
    if args.strict && skipped > 0 {
        output::error(
            &format!("{skipped} source(s) could not be merged, and --strict is set"),
            Some("the warnings above name each source; without --strict they are skipped"),
        );
        return Err(CliError::Reported(exit::IO));
    }
    let outcome = merge_into_dir(&args.into, &union).map_err(StoreError::from)?;
    output::note(&format!(
        "merged {merged} of {} caches into `{}`: {} failures",
        args.sources.len(),
        args.into.display(),
        outcome.lastfailed_count
    ));
    Ok(exit::OK)
}

#[derive(Serialize)]
struct ShowJson {
    format_version: u32,
    cache_dir: PathBuf,
    /// Node ids in `v/cache/lastfailed`, sorted.
    failures: Vec<String>,
    /// The test files those failures are in (a key without `::`, such as a
    /// collection error, is itself a path), sorted and de-duplicated.
    files: Vec<String>,
    /// Names from `previous_failures_additional.json`, sorted.
    previous_failures: Vec<String>,
}

fn show(args: CacheShowArgs) -> Result<u8, CliError> {
    if !args.cache_dir.exists() {
        output::note(&format!(
            "the pytest cache dir `{}` does not exist",
            args.cache_dir.display()
        ));
    }
    let snapshot = CacheSnapshot::read_dir(&args.cache_dir).map_err(StoreError::from)?;
    let failures: Vec<String> = snapshot
        .failed_node_ids()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut files: Vec<String> = failures
        .iter()
        .filter_map(|id| node_file(id).or((!id.is_empty()).then_some(id.as_str())))
        .map(str::to_owned)
        .collect();
    files.sort();
    files.dedup();
    let report = ShowJson {
        format_version: 1,
        cache_dir: args.cache_dir,
        failures,
        files,
        previous_failures: snapshot
            .previous_failures
            .map(|p| p.into_iter().collect())
            .unwrap_or_default(),
    };
    let out = if args.json {
        let mut json = serde_json::to_string_pretty(&report).expect("plain data serializes");
        json.push('\n');
        json
    } else {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} failures in {} files ({})",
            report.failures.len(),
            report.files.len(),
            report.cache_dir.display()
        );
        for file in &report.files {
            let _ = writeln!(out, "{file}");
            for id in report
                .failures
                .iter()
                .filter(|id| node_file(id).unwrap_or(id) == file)
            {
                let _ = writeln!(out, "  {id}");
            }
        }
        if report.failures.iter().any(String::is_empty) {
            let _ = writeln!(out, "(session)\n  \"\" (a session-level failure)");
        }
        if !report.previous_failures.is_empty() {
            let _ = writeln!(
                out,
                "previous failures (previous_failures_additional.json): {}",
                report.previous_failures.join(", ")
            );
        }
        out
    };
    super::plan::print_stdout(&out)?;
    Ok(exit::OK)
}
