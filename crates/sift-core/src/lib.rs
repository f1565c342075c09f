//! sift-core: the pure engine of sift.
//!
//! Everything here is synchronous and free of network and git: rule files and
//! their patterns, components, task strategies, the optimizer and the plan it
//! produces. Adapters (git, object stores, CI services) live in other crates and
//! hand this crate plain data such as a [`change::Change`].
//!
//! Inside a test task: [`order`] runs likely failures first, [`shard`]
//! balances shards by [`test_times`], and [`junit`] + [`record`] learn
//! failures and durations from any runner's reports; [`test_id`] is the one
//! naming rule they share.

pub mod change;
pub mod ci;
pub mod components;
pub mod config;
pub mod diagnostic;
pub mod history;
pub mod junit;
pub mod order;
pub mod parallel;
pub mod pattern;
pub mod plan;
pub mod pytest_cache;
pub mod record;
pub mod redact;
pub mod render;
pub mod rules;
pub mod run;
pub mod shard;
pub mod task;
pub mod test_id;
pub mod test_times;

pub use change::{Change, ChangeOrigin, ChangeStatus, ChangedFile};
pub use config::{Config, ConfigLoadError};
pub use diagnostic::{ConfigDiagnostic, ConfigError, Diagnostics};
pub use plan::{Plan, PlanError, PlanOptions, Planner};

#[cfg(test)]
mod tests;
