//! Mozilla compatibility: Mozilla's own inputs, read as they are, with
//! Mozilla's answers (reference `mozilla-schedules.md`).
//!
//! - [`gecko`]: mozilla-central's component lists as a preset
//!   (`components = "gecko"`);
//! - [`mozpath`]: `mozpath.match`, the pattern semantics of `Files()` and
//!   `skip-unless-changed`, which differ from sift's native patterns;
//! - [`schedules`]: the `SCHEDULES` value and its `|`;
//! - [`mozbuild`]: reading moz.build files statically (never running them);
//! - [`taskgraph`]: taskgraph's full task graphs, strategies and removal
//!   semantics (`sift plan --graph`).
//!
//! Where Mozilla's semantics differ from sift's native ones they are kept
//! here, explicitly, instead of being special cases of the native matcher:
//! moz.build annotations form a layer applied before sift's own rule files.

pub mod gecko;
pub mod mozbuild;
pub mod mozpath;
pub mod schedules;
pub mod taskgraph;
