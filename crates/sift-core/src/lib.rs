//! sift-core: the pure engine of sift.
//!
//! Everything here is synchronous and free of network and git: rule files and
//! their patterns, components, task strategies, the optimizer and the plan it
//! produces. Adapters (git, object stores, CI services) live in other crates and
//! hand this crate plain data such as a [`change::Change`].
//!
//! One folder module per domain:
//! - [`select`]: task selection (rules, components, strategies, the optimizer);
//! - [`tests`]: inside a test task (ordering, sharding, JUnit, failure caches);
//! - [`history`]: push history and the backstop cadence;
//! - [`run`]: `sift run`'s scheduling policy and report;
//! - [`quality`]: selection quality (false greens, savings, test order);
//! - [`ci`]: CI pipelines, job summaries and the verdict;
//! - [`report`]: the self-contained HTML report of a plan, a run and shards;
//! - [`mozilla`]: Mozilla's own inputs (moz.build, taskgraph graphs);
//! - [`workspace`]: package-manager workspaces, lockfile diffs and `sift init`.
//!
//! Shared by all of them: [`config`] (loading and validating `sift.toml`),
//! [`pattern`] (globs and the pattern index) and [`diagnostic`].

pub mod ci;
pub mod config;
pub mod diagnostic;
pub mod history;
pub mod mozilla;
pub mod parallel;
pub mod pattern;
pub mod quality;
pub mod redact;
pub mod report;
pub mod run;
pub mod select;
pub mod tests;
pub mod workspace;

pub use config::{Config, ConfigLoadError};
pub use diagnostic::{ConfigDiagnostic, ConfigError, Diagnostics};
pub use select::change::{Change, ChangeOrigin, ChangeStatus, ChangedFile};
pub use select::plan::{Plan, PlanError, PlanOptions, Planner};
