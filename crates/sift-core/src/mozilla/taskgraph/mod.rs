//! taskgraph's task graphs (`sift plan --graph`): the full graph, the
//! target tasks and the parameters as a decision task writes them, and
//! taskgraph's optimizer semantics over them (reference §5).
//!
//! Strategies keep taskgraph's meanings, which invert sift's native keys:
//! they answer "remove?", so in a graph `always` removes a task and `never`
//! keeps it.

mod fast;
pub mod graph;
pub mod optimize;
pub mod params;
mod scan;
pub mod strategies;

pub use graph::{GraphError, GraphTask, TaskGraph, target_tasks_from_json};
pub use optimize::{Inputs, OptimizeError, Outcome, TargetGraph, TaskDecision, optimize};
pub use params::{Params, PushlogId};
pub use strategies::{Registry, UserKind, UserStrategy};

#[cfg(test)]
mod tests;
