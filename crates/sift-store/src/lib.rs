//! sift-store: share pytest failure caches through object storage.
//!
//! Every test shard pushes its `.pytest_cache` as a zip; a later job pulls
//! all shards' zips for a pull request and merges them, so tests that failed
//! anywhere earlier run first. The bucket layout is PyTorch's, byte for byte
//! ([`key`]), so a PyTorch-style CI can switch to sift and keep its history.
//!
//! This crate is the network adapter: store URLs ([`store`]), archives
//! ([`archive`]), the concurrent push and pull ([`cache`]) and the push
//! history with its concurrent claims ([`history`]). What a cache
//! is and how caches merge lives in the pure [`sift_core::tests::pytest_cache`].
//! Everything here is async (tokio); the caller owns the runtime.

pub mod archive;
pub mod cache;
pub mod history;
pub mod key;
pub mod outcomes;
pub mod redact;
pub mod split;
pub mod store;

pub use archive::{ArchiveProblem, ZipDirError};
pub use cache::{
    CONCURRENCY, Fetched, JobSelector, Progress, PullOutcome, PushOutcome, Skipped, apply, fetch,
    pull, push,
};
pub use key::{CacheKey, KeyError, PrScope, Repo};
pub use store::{Env, Store, StoreUrl};

use sift_core::tests::pytest_cache::CacheError;

/// Everything that can go wrong talking to a store. Messages never contain
/// credentials: details from the store pass through [`redact::scrub`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("invalid store `{url}`: {reason}")]
    InvalidUrl {
        url: String,
        reason: String,
        hint: String,
    },
    #[error("cannot open the store `{store}`: {detail}")]
    Build { store: String, detail: String },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("invalid object key `{key}`: {detail}")]
    InvalidKey { key: String, detail: String },
    #[error("{op} `{key}` in `{store}` failed: {detail}")]
    Request {
        op: &'static str,
        store: String,
        key: String,
        detail: String,
        kind: RequestFailure,
    },
    #[error("{what}: {source}")]
    LocalIo {
        what: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("cannot zip the cache: {0}")]
    Zip(#[from] ZipDirError),
    #[error("gave up claiming a push number after {attempts} lost races (next: `{key}`)")]
    Contention { key: String, attempts: u32 },
    #[error("{count} object(s) could not be merged, and --strict is set")]
    Strict { count: usize },
}

/// What kind of request failure, for the hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFailure {
    NotFound,
    Denied,
    Other,
}

/// Where the fault lies, so the CLI can pick an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The user's input (URL, repository, sha...).
    Usage,
    /// The store or the network.
    Store,
    /// A local file or directory.
    Local,
}

impl StoreError {
    pub fn fault(&self) -> Fault {
        match self {
            StoreError::InvalidUrl { .. } | StoreError::Key(_) | StoreError::InvalidKey { .. } => {
                Fault::Usage
            }
            StoreError::Build { .. }
            | StoreError::Request { .. }
            | StoreError::Contention { .. }
            | StoreError::Strict { .. } => Fault::Store,
            StoreError::LocalIo { .. } | StoreError::Cache(_) | StoreError::Zip(_) => Fault::Local,
        }
    }

    /// A next step for the user, where there is an obvious one.
    pub fn hint(&self) -> Option<String> {
        match self {
            StoreError::InvalidUrl { hint, .. } => Some(hint.clone()),
            StoreError::Build { store, .. } if store.starts_with("az://") => Some(
                "set AZURE_STORAGE_ACCOUNT_NAME and a credential (e.g. AZURE_STORAGE_ACCOUNT_KEY)"
                    .into(),
            ),
            StoreError::Build { .. } => {
                Some("check the store URL and the provider's environment variables".into())
            }
            StoreError::Request {
                kind,
                detail,
                store,
                ..
            } => {
                let provider = Provider::of(store);
                Some(match kind {
                    _ if detail.contains("NoSuchBucket") => {
                        "the bucket does not exist: create it, or fix the store URL".into()
                    }
                    RequestFailure::Denied => format!(
                        "check the credentials in the environment ({}) and the bucket's permissions",
                        provider.credentials
                    ),
                    RequestFailure::NotFound => "the bucket or object does not exist".into(),
                    RequestFailure::Other => format!(
                        "the request was retried with backoff and still failed; check the endpoint ({}) and the network",
                        provider.endpoint
                    ),
                })
            }
            StoreError::Contention { .. } => Some(
                "very many jobs recorded at once; run the decision job again".into(),
            ),
            StoreError::Strict { .. } => Some(
                "the warnings above name each object; without --strict they are skipped and the rest is merged"
                    .into(),
            ),
            StoreError::Zip(ZipDirError::TooLarge) => {
                Some("delete stale entries from the cache directory (e.g. `v/cache/stepcurrent`)".into())
            }
            StoreError::Cache(CacheError::InvalidJson { .. } | CacheError::WrongType { .. }) => {
                Some("the destination cache is corrupt and was left as it is; delete the file to start afresh".into())
            }
            _ => None,
        }
    }

    /// Wraps an object_store error without leaking secrets.
    pub(crate) fn request(
        op: &'static str,
        store: &Store,
        key: &str,
        error: &object_store::Error,
    ) -> StoreError {
        let kind = match error {
            object_store::Error::NotFound { .. } => RequestFailure::NotFound,
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => RequestFailure::Denied,
            _ => RequestFailure::Other,
        };
        StoreError::Request {
            op,
            store: store.description().to_owned(),
            key: key.to_owned(),
            detail: redact::scrub(&error.to_string()),
            kind,
        }
    }
}

/// What to point a user at for one kind of store, by its URL's scheme.
struct Provider {
    credentials: &'static str,
    endpoint: &'static str,
}

impl Provider {
    fn of(store: &str) -> Provider {
        if store.starts_with("gs://") {
            Provider {
                credentials: "GOOGLE_SERVICE_ACCOUNT or GOOGLE_APPLICATION_CREDENTIALS",
                endpoint: "the service account's `gcs_base_url`; a plain-http one needs GOOGLE_ALLOW_HTTP=true",
            }
        } else if store.starts_with("az://") {
            Provider {
                credentials: "AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY or another credential",
                endpoint: "AZURE_STORAGE_ACCOUNT_NAME, or AZURITE_BLOB_STORAGE_URL for Azurite",
            }
        } else {
            Provider {
                credentials: "e.g. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY",
                endpoint: "AWS_ENDPOINT_URL",
            }
        }
    }
}

/// The runtime type store work runs on (re-exported so callers need no
/// tokio dependency of their own).
pub use tokio::runtime::Runtime;

/// A runtime for the store work of one command: multi-threaded, because
/// archives are parsed on blocking threads while downloads continue.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}
