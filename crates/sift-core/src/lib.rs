//! sift-core: the pure engine of sift.
//!
//! Everything here is synchronous and free of network and git: rule files and
//! their patterns, components, task strategies, the optimizer and the plan it
//! produces. Adapters (git, object stores, CI services) live in other crates and
//! hand this crate plain data such as a [`change::Change`].

pub mod change;

pub use change::{Change, ChangeOrigin, ChangeStatus, ChangedFile};
