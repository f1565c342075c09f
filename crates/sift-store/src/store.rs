//! Store URLs and the object stores behind them.
//!
//! A store is a local folder (a path or `file://`), or a bucket with an
//! optional key prefix: `s3://bucket/prefix`, `gs://bucket/prefix`,
//! `az://container/prefix`. Credentials never appear in the URL: they come
//! from the provider's standard environment, like every other CI tool's.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use crate::StoreError;
use crate::redact::scrub;

/// A parsed store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// A folder on this machine.
    Local(PathBuf),
    /// `s3://bucket/prefix`: any S3-compatible server.
    S3 { bucket: String, prefix: String },
    /// `gs://bucket/prefix`: Google Cloud Storage.
    Gcs { bucket: String, prefix: String },
    /// `az://container/prefix`: Azure Blob Storage (the account comes from
    /// `AZURE_STORAGE_ACCOUNT_NAME`).
    Azure { container: String, prefix: String },
}

const URL_HINT: &str = "use a path, `file:///abs/path`, `s3://bucket/prefix`, `gs://bucket/prefix` or `az://container/prefix`";

impl StoreUrl {
    /// Parses `text`; a relative local path is taken relative to `base` (the
    /// directory the setting was made in: the current directory for
    /// `--store`/`$SIFT_STORE`, the repository root for `sift.toml`).
    pub fn parse(text: &str, base: &Path) -> Result<StoreUrl, StoreError> {
        let invalid = |reason: &str, hint: &str| StoreError::InvalidUrl {
            url: scrub(text),
            reason: reason.to_owned(),
            hint: hint.to_owned(),
        };
        if text.trim().is_empty() {
            return Err(invalid("the store is empty", URL_HINT));
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Ok(StoreUrl::Local(base.join(text)));
        };
        if scheme == "file" {
            return if rest.starts_with('/') {
                Ok(StoreUrl::Local(PathBuf::from(rest)))
            } else {
                Err(invalid(
                    "a `file://` URL needs an absolute path",
                    "write `file:///abs/path`, or a plain (relative) path",
                ))
            };
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.contains('@') {
            return Err(invalid(
                "credentials do not belong in the store URL",
                "set them in the environment (e.g. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
            ));
        }
        if bucket.is_empty() {
            return Err(invalid("the bucket name is missing", URL_HINT));
        }
        let prefix = prefix.trim_matches('/').to_owned();
        if !prefix.is_empty() && ObjectPath::parse(&prefix).is_err() {
            return Err(invalid(
                "the key prefix is not a valid object path",
                "use `/`-separated segments without `.`, `..` or empty parts",
            ));
        }
        let bucket = bucket.to_owned();
        match scheme {
            "s3" | "s3a" => Ok(StoreUrl::S3 { bucket, prefix }),
            "gs" => Ok(StoreUrl::Gcs { bucket, prefix }),
            "az" | "azure" => Ok(StoreUrl::Azure {
                container: bucket,
                prefix,
            }),
            _ => Err(invalid(&format!("unknown scheme `{scheme}`"), URL_HINT)),
        }
    }

    /// The URL without secrets, for messages.
    pub fn describe(&self) -> String {
        match self {
            StoreUrl::Local(path) => path.display().to_string(),
            StoreUrl::S3 { bucket, prefix } => with_prefix("s3", bucket, prefix),
            StoreUrl::Gcs { bucket, prefix } => with_prefix("gs", bucket, prefix),
            StoreUrl::Azure { container, prefix } => with_prefix("az", container, prefix),
        }
    }
}

fn with_prefix(scheme: &str, bucket: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        format!("{scheme}://{bucket}")
    } else {
        format!("{scheme}://{bucket}/{prefix}")
    }
}

/// How long and how often to retry. A cache is a few kilobytes, so a request
/// that has not finished in 30 s is stuck; four retries with backoff from
/// 100 ms ride out a server restart or throttling without hanging CI.
pub fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(3),
            base: 2.0,
        },
        max_retries: 4,
        retry_timeout: Duration::from_secs(60),
    }
}

fn client_options(allow_http: bool) -> ClientOptions {
    ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(30))
        .with_allow_http(allow_http)
}

/// The environment a store is configured from: the process's, or a snapshot
/// with overrides (benchmarks and tests cannot change the process's
/// environment safely while threads run).
#[derive(Clone, Default)]
pub struct Env(std::collections::BTreeMap<String, String>);

/// Names only: the values include credentials such as
/// `AWS_SECRET_ACCESS_KEY`, and a `{:?}` anywhere must not print them.
impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Env")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Env {
    /// The process environment (variables that are not UTF-8 are ignored).
    pub fn process() -> Env {
        Env(std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect())
    }

    /// This environment with `key` set to `value`.
    pub fn with(mut self, key: &str, value: &str) -> Env {
        self.0.insert(key.to_owned(), value.to_owned());
        self
    }

    /// A non-empty value.
    pub fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).filter(|v| !v.is_empty()).cloned()
    }

    /// Variables whose name starts with `prefix`, with the name lowercased as
    /// object_store's config keys are (`AWS_REGION` → `aws_region`).
    fn config<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (String, &'a str)> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
    }
}

/// An opened store: object keys given to it are relative to the URL's prefix.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) inner: Arc<dyn ObjectStore>,
    /// `""` or `"some/prefix/"`.
    prefix: String,
    description: String,
}

impl Store {
    /// Opens the store. `create` makes a missing local folder (for pushes); a
    /// pull from a missing local folder sees an empty store instead of
    /// creating one as a side effect.
    pub fn open(url: &StoreUrl, create: bool) -> Result<Store, StoreError> {
        Store::open_with_env(url, create, &Env::process())
    }

    /// [`Store::open`] configured from `env` instead of the process
    /// environment.
    pub fn open_with_env(url: &StoreUrl, create: bool, env: &Env) -> Result<Store, StoreError> {
        let description = url.describe();
        let build_error = |e: object_store::Error| StoreError::Build {
            store: description.clone(),
            detail: scrub(&e.to_string()),
        };
        let (inner, prefix): (Arc<dyn ObjectStore>, &str) = match url {
            StoreUrl::Local(dir) => {
                if create {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::LocalIo {
                        what: format!("cannot create the store folder `{}`", dir.display()),
                        source,
                    })?;
                }
                if dir.is_dir() {
                    let fs = LocalFileSystem::new_with_prefix(dir).map_err(build_error)?;
                    (Arc::new(fs), "")
                } else {
                    (Arc::new(InMemory::new()), "")
                }
            }
            StoreUrl::S3 { bucket, prefix } => {
                // AWS_ENDPOINT_URL(_S3) points at S3-compatible servers; a
                // plain-http endpoint is a local or private server, so allow it.
                let endpoint = env
                    .get("AWS_ENDPOINT_URL_S3")
                    .or_else(|| env.get("AWS_ENDPOINT_URL"))
                    .or_else(|| env.get("AWS_ENDPOINT"));
                let allow_http = endpoint
                    .as_deref()
                    .is_some_and(|e| e.starts_with("http://"))
                    || env
                        .get("AWS_ALLOW_HTTP")
                        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
                let region = env
                    .get("AWS_REGION")
                    .or_else(|| env.get("AWS_DEFAULT_REGION"))
                    .unwrap_or_else(|| "us-east-1".to_owned());
                // What `AmazonS3Builder::from_env` does, from `env`.
                let mut builder = AmazonS3Builder::new();
                for (key, value) in env.config("AWS_") {
                    if let Ok(key) = key.parse() {
                        builder = builder.with_config(key, value);
                    }
                }
                let mut builder = builder
                    .with_client_options(client_options(allow_http))
                    .with_retry(retry_config())
                    .with_region(region)
                    .with_bucket_name(bucket);
                if let Some(endpoint) = endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                (Arc::new(builder.build().map_err(build_error)?), prefix)
            }
            StoreUrl::Gcs { bucket, prefix } => {
                let mut builder = GoogleCloudStorageBuilder::new();
                for (key, value) in env.config("GOOGLE_") {
                    if let Ok(key) = key.parse() {
                        builder = builder.with_config(key, value);
                    }
                }
                if let Some(path) = env.get("SERVICE_ACCOUNT") {
                    builder = builder.with_service_account_path(path);
                }
                // A plain-http endpoint (an emulator named by the service
                // account's `gcs_base_url`) needs GOOGLE_ALLOW_HTTP=true, as
                // AWS_ALLOW_HTTP does for S3.
                let allow_http = env
                    .get("GOOGLE_ALLOW_HTTP")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"));
                let store = builder
                    .with_client_options(client_options(allow_http))
                    .with_retry(retry_config())
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(build_error)?;
                (Arc::new(store), prefix)
            }
            StoreUrl::Azure { container, prefix } => {
                let mut builder = MicrosoftAzureBuilder::new();
                for (key, value) in env.config("AZURE_") {
                    if let Ok(key) = key.parse() {
                        builder = builder.with_config(key, value);
                    }
                }
                if let Some(endpoint) = env.get("IDENTITY_ENDPOINT") {
                    builder = builder.with_msi_endpoint(endpoint);
                }
                let store = builder
                    .with_client_options(client_options(false))
                    .with_retry(retry_config())
                    .with_container_name(container)
                    .build()
                    .map_err(build_error)?;
                (Arc::new(store), prefix)
            }
        };
        Ok(Store::from_parts(inner, prefix, description))
    }

    /// A store over any [`ObjectStore`] (tests use `InMemory`).
    pub fn from_parts(inner: Arc<dyn ObjectStore>, prefix: &str, description: String) -> Store {
        let prefix = prefix.trim_matches('/');
        Store {
            inner,
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
            description,
        }
    }

    /// The store URL without secrets.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// A layout key with the store's prefix, for messages.
    pub fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The object store itself (tests and benchmarks write objects directly).
    pub fn object_store(&self) -> &dyn ObjectStore {
        self.inner.as_ref()
    }

    /// The full object path of a layout key.
    pub(crate) fn path(&self, key: &str) -> Result<ObjectPath, StoreError> {
        let full = format!("{}{}", self.prefix, key.trim_end_matches('/'));
        ObjectPath::parse(&full).map_err(|e| StoreError::InvalidKey {
            key: full,
            detail: e.to_string(),
        })
    }

    /// A full object path back to a layout key (without the store's prefix).
    pub(crate) fn key_of<'a>(&self, path: &'a ObjectPath) -> &'a str {
        let full = path.as_ref();
        full.strip_prefix(self.prefix.as_str()).unwrap_or(full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_debug_shows_names_only() {
        let env = Env::default().with("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI");
        let shown = format!("{env:?}");
        assert!(
            shown.contains("AWS_SECRET_ACCESS_KEY") && !shown.contains("wJalrXUtnFEMI"),
            "{shown}"
        );
    }

    fn parse(text: &str) -> Result<StoreUrl, StoreError> {
        StoreUrl::parse(text, Path::new("/repo"))
    }

    #[test]
    fn urls() {
        assert_eq!(
            parse(".sift/store").unwrap(),
            StoreUrl::Local("/repo/.sift/store".into())
        );
        assert_eq!(
            parse("/abs/store").unwrap(),
            StoreUrl::Local("/abs/store".into())
        );
        assert_eq!(
            parse("file:///abs/store").unwrap(),
            StoreUrl::Local("/abs/store".into())
        );
        assert_eq!(
            parse("s3://bucket/ci/caches/").unwrap(),
            StoreUrl::S3 {
                bucket: "bucket".into(),
                prefix: "ci/caches".into()
            }
        );
        assert_eq!(
            parse("s3://gha-artifacts").unwrap(),
            StoreUrl::S3 {
                bucket: "gha-artifacts".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            parse("gs://b/p").unwrap(),
            StoreUrl::Gcs {
                bucket: "b".into(),
                prefix: "p".into()
            }
        );
        assert_eq!(
            parse("az://c").unwrap(),
            StoreUrl::Azure {
                container: "c".into(),
                prefix: String::new()
            }
        );
        assert_eq!(parse("s3://b/p/").unwrap().describe(), "s3://b/p");
    }

    #[test]
    fn bad_urls_explain_and_hide_credentials() {
        for (url, reason) in [
            ("ftp://host/x", "unknown scheme `ftp`"),
            ("s3://", "the bucket name is missing"),
            ("file://relative", "a `file://` URL needs an absolute path"),
            ("s3://b/a/../c", "the key prefix is not a valid object path"),
            ("", "the store is empty"),
        ] {
            match parse(url) {
                Err(StoreError::InvalidUrl { reason: r, .. }) => assert_eq!(r, reason, "{url}"),
                other => panic!("{url}: {other:?}"),
            }
        }
        let err = parse("s3://AKIAXXXX:topsecret@bucket/p").unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("topsecret"), "{text}");
        assert!(text.contains("credentials do not belong"), "{text}");
    }

    #[test]
    fn prefixes_put_the_layout_below_them() {
        let store = Store::from_parts(Arc::new(InMemory::new()), "/ci/caches/", "mem".into());
        let path = store.path("pytest_cache/o/n/x.zip").unwrap();
        assert_eq!(path.as_ref(), "ci/caches/pytest_cache/o/n/x.zip");
        assert_eq!(store.key_of(&path), "pytest_cache/o/n/x.zip");
        let bare = Store::from_parts(Arc::new(InMemory::new()), "", "mem".into());
        assert_eq!(bare.path("a/b/").unwrap().as_ref(), "a/b");
    }
}
