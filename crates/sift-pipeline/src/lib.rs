//! sift's remote CI adapter: queue a pipeline run, follow it with live logs,
//! re-queue it when it fails, and report how it ended.
//!
//! The design is one [`Provider`] trait per CI service (queue, status, logs,
//! cancel: plain REST translations) and one loop, [`follow`], that owns every
//! policy: polling, incremental log streaming, retries with backoff, the
//! overall timeout and cancellation on Ctrl-C. Azure DevOps ([`azure`]) and
//! GitHub Actions ([`github`]) are the providers.
//!
//! ```no_run
//! use std::time::Duration;
//! use sift_pipeline::{azure, Event, EventSink, FollowOptions, Secret};
//!
//! struct Print;
//! impl EventSink for Print {
//!     fn event(&mut self, event: Event) {
//!         if let Event::Log { label, line } = event {
//!             println!("[{label}] {line}");
//!         }
//!     }
//! }
//!
//! let provider = azure::Azure::new(azure::AzureConfig {
//!     org_url: "https://dev.azure.com/my-org".into(),
//!     project: "my-project".into(),
//!     definition: 911,
//!     source_branch: azure::normalize_branch("main"),
//!     commit: None,
//!     parameters: vec![],
//!     variables: vec![],
//!     token: Secret::new(std::env::var("AZURE_DEVOPS_EXT_PAT").unwrap_or_default()),
//!     request_timeout: Duration::from_secs(30),
//! })
//! .unwrap();
//! let options = FollowOptions::new(Duration::from_secs(10));
//! let report = sift_pipeline::block_on(sift_pipeline::follow(&provider, &options, &mut Print))
//!     .unwrap();
//! println!("{}", report.outcome.as_str());
//! ```
//!
//! Network and async code live only in this crate; the CLI calls
//! [`block_on`] and stays synchronous.

pub mod azure;
mod follow;
pub mod github;
mod http;
mod secret;

use std::future::Future;
use std::time::Duration;

pub use follow::{
    Conclusion, Event, EventSink, FollowOptions, LogInfo, Outcome, Phase, Provider, Queued, Report,
    RetryPolicy, RunRef, RunState, follow,
};
pub use http::ApiError;
pub use secret::Secret;

/// Runs a future on a single-threaded runtime: sift follows one run at a
/// time, so one thread is plenty, and it keeps the providers free of `Send`.
pub fn block_on<F: Future>(future: F) -> std::io::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(future))
}

/// `1.5s`, `12s`, `2m05s`: durations as people read them in messages.
pub fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs < 10.0 && duration.subsec_millis() != 0 {
        let text = format!("{secs:.2}");
        format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
    } else if secs < 60.0 {
        format!("{}s", secs.round() as u64)
    } else {
        let total = secs.round() as u64;
        let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
        if hours > 0 {
            format!("{hours}h{minutes:02}m{seconds:02}s")
        } else {
            format!("{minutes}m{seconds:02}s")
        }
    }
}

/// A log body as lines, without `\n`/`\r\n` terminators. An empty body has
/// no lines; a last line without a terminator still counts.
pub(crate) fn split_lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(seconds(Duration::from_millis(50)), "0.05s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
        assert_eq!(seconds(Duration::from_secs(12)), "12s");
        assert_eq!(seconds(Duration::from_secs(125)), "2m05s");
        assert_eq!(seconds(Duration::from_secs(3725)), "1h02m05s");
    }

    #[test]
    fn lines() {
        assert_eq!(split_lines(""), Vec::<String>::new());
        assert_eq!(split_lines("a\r\nb\n"), ["a", "b"]);
        assert_eq!(split_lines("a\nb"), ["a", "b"]);
        assert_eq!(split_lines("\n"), [""]);
    }
}
