//! Task selection: what a change needs (Mozilla's SCHEDULES model).
//!
//! A [`change::Change`] (the changed files) goes through the [`rules`] tree
//! to the [`components`] it affects; each [`task`]'s strategy decides whether
//! it is kept; [`plan`] is the optimizer that decides every task,
//! dependents before dependencies, with a reason for each; [`explain`]
//! gives the full chain behind a decision; [`render`] prints the result.

pub mod change;
pub mod components;
pub mod explain;
pub mod plan;
pub mod render;
pub mod rules;
pub mod task;

#[cfg(test)]
pub(crate) mod tests;
