//! Push and pull of cache archives.
//!
//! A pull lists the job's objects once, downloads up to [`CONCURRENCY`] at a
//! time, parses each archive on a blocking thread as it arrives and folds it
//! into one [`CacheSnapshot`] union. The union is commutative, so the order
//! objects arrive in never matters; it is applied to the destination once, at
//! the end, with [`merge_into_dir`]'s atomic writes. PyTorch downloads one by
//! one and merges each into the directory in turn.

use std::path::Path;

use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectMeta, ObjectStoreExt, PutPayload};
use sift_core::tests::pytest_cache::{CacheSnapshot, MergeOutcome, merge_into_dir};

use crate::archive::{self, ArchiveProblem, MAX_ARCHIVE_BYTES};
use crate::key::{self, CacheKey, PrScope};
use crate::{Store, StoreError};

/// Downloads in flight at once: enough to hide per-request latency, few
/// enough not to trip a server's throttling.
pub const CONCURRENCY: usize = 16;

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// There was no cache directory: nothing failed, nothing to share (like
    /// PyTorch, this is not an error).
    NoCacheDir,
    Pushed {
        key: String,
        bytes: usize,
        files: usize,
    },
}

/// Zips `cache_dir` and stores it under `key`. Each shard has its own key,
/// so concurrent pushes from many shards never overwrite each other.
pub async fn push(
    store: &Store,
    key: &CacheKey,
    cache_dir: &Path,
) -> Result<PushOutcome, StoreError> {
    let object_key = key.object_key()?;
    let path = store.path(&object_key)?;
    match std::fs::metadata(cache_dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(PushOutcome::NoCacheDir),
        Err(source) => {
            return Err(StoreError::LocalIo {
                what: format!("cannot read `{}`", cache_dir.display()),
                source,
            });
        }
        Ok(meta) if !meta.is_dir() => {
            return Err(StoreError::LocalIo {
                what: format!("`{}` is not a directory", cache_dir.display()),
                source: std::io::Error::other("not a directory"),
            });
        }
        Ok(_) => {}
    }
    let dir = cache_dir.to_owned();
    let (bytes, files) = tokio::task::spawn_blocking(move || archive::zip_dir(&dir))
        .await
        .map_err(|e| StoreError::LocalIo {
            what: "zipping the cache was interrupted".into(),
            source: std::io::Error::other(e.to_string()),
        })??;
    let size = bytes.len();
    store
        .inner
        .put(&path, PutPayload::from(bytes))
        .await
        .map_err(|e| StoreError::request("put", store, &object_key, &e))?;
    Ok(PushOutcome::Pushed {
        key: object_key,
        bytes: size,
        files,
    })
}

/// Which jobs' caches to pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobSelector {
    /// Exactly this job (sanitized), every sha, config and shard.
    Exact(String),
    /// Every job whose sanitized name starts with the sanitized prefix (what
    /// PyTorch's target determination does with the workflow name).
    Prefix(String),
}

/// Pull progress, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The listing is done: this many objects will be fetched.
    Listed(usize),
    /// One more object was fetched and parsed (or skipped).
    Fetched { done: usize, total: usize },
}

/// An object that was not merged, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The object's key in the store (after the store's prefix).
    pub key: String,
    pub problem: ArchiveProblem,
}

/// Everything fetched for a pull, not yet merged.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Keys of the objects in the union, sorted.
    pub merged: Vec<String>,
    /// Objects left out, sorted by key.
    pub skipped: Vec<Skipped>,
    pub union: CacheSnapshot,
    /// What was listed (for messages).
    pub prefix: String,
}

/// Lists and downloads every object for `jobs` in the pull request, and
/// unions the good ones. Bad objects (corrupt, hostile, vanished) are
/// reported in [`Fetched::skipped`]; store and network failures that outlast
/// the retries are errors.
pub async fn fetch(
    store: &Store,
    scope: &PrScope,
    jobs: &JobSelector,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Fetched, StoreError> {
    let (listed, filter) = match jobs {
        JobSelector::Exact(job) => (scope.job_prefix(job)?, None),
        JobSelector::Prefix(prefix) => {
            (format!("{}/", scope.prefix()), Some(key::sanitize(prefix)))
        }
    };
    let list_path = store.path(&listed)?;
    let mut metas: Vec<ObjectMeta> = store
        .inner
        .list(Some(&list_path))
        .try_collect()
        .await
        .map_err(|e| StoreError::request("list", store, &listed, &e))?;
    if let Some(prefix) = &filter {
        metas.retain(|meta| {
            let full = store.key_of(&meta.location);
            full.strip_prefix(listed.as_str())
                .and_then(key::job_of)
                .is_some_and(|job| job.starts_with(prefix.as_str()))
        });
    }
    let total = metas.len();
    progress(Progress::Listed(total));

    let mut fetched = Fetched {
        prefix: listed,
        ..Fetched::default()
    };
    let mut results = futures::stream::iter(metas)
        .map(|meta| fetch_one(store, meta))
        .buffer_unordered(CONCURRENCY);
    let mut done = 0;
    while let Some(result) = results.next().await {
        let (key, parsed) = result?;
        match parsed {
            Ok(snapshot) => {
                fetched.union.union_with(&snapshot);
                fetched.merged.push(key);
            }
            Err(problem) => fetched.skipped.push(Skipped { key, problem }),
        }
        done += 1;
        progress(Progress::Fetched { done, total });
    }
    fetched.merged.sort();
    fetched.skipped.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(fetched)
}

type Parsed = (String, Result<CacheSnapshot, ArchiveProblem>);

async fn fetch_one(store: &Store, meta: ObjectMeta) -> Result<Parsed, StoreError> {
    let key = store.key_of(&meta.location).to_owned();
    // Refuse oversized objects before downloading them.
    if meta.size > MAX_ARCHIVE_BYTES {
        let problem = ArchiveProblem::Hostile(format!(
            "{} bytes, more than the {} MiB limit",
            meta.size,
            MAX_ARCHIVE_BYTES >> 20
        ));
        return Ok((key, Err(problem)));
    }
    let result = match store.inner.get(&meta.location).await {
        Ok(result) => read_capped(result.into_stream()).await,
        Err(e) => Err(e),
    };
    let bytes = match result {
        Ok(Some(bytes)) => bytes,
        // Replaced by something larger after it was listed.
        Ok(None) => {
            let problem = ArchiveProblem::Hostile(format!(
                "more than the {} MiB limit when downloaded",
                MAX_ARCHIVE_BYTES >> 20
            ));
            return Ok((key, Err(problem)));
        }
        // Deleted between listing and download (e.g. by a retention policy).
        Err(object_store::Error::NotFound { .. }) => {
            let problem = ArchiveProblem::Corrupt("vanished before it could be read".into());
            return Ok((key, Err(problem)));
        }
        Err(e) => return Err(StoreError::request("get", store, &key, &e)),
    };
    let parsed = tokio::task::spawn_blocking(move || archive::read_archive(&bytes))
        .await
        .unwrap_or_else(|e| Err(ArchiveProblem::Corrupt(format!("parsing failed: {e}"))));
    Ok((key, parsed))
}

/// Reads a download up to [`MAX_ARCHIVE_BYTES`]; `None` if it holds more. The
/// listed size was checked already, but an object can be replaced between
/// listing and download, and memory must not follow what a store serves.
async fn read_capped<S, B>(mut stream: S) -> object_store::Result<Option<Vec<u8>>>
where
    S: futures::Stream<Item = object_store::Result<B>> + Unpin,
    B: AsRef<[u8]>,
{
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let chunk = chunk.as_ref();
        if (bytes.len() + chunk.len()) as u64 > MAX_ARCHIVE_BYTES {
            return Ok(None);
        }
        bytes.extend_from_slice(chunk);
    }
    Ok(Some(bytes))
}

/// What a pull changed in the destination.
#[derive(Debug)]
pub struct PullOutcome {
    pub merge: MergeOutcome,
}

/// Merges what was fetched into `dest`. With `strict`, any skipped object is
/// an error and nothing is written.
pub fn apply(dest: &Path, fetched: &Fetched, strict: bool) -> Result<PullOutcome, StoreError> {
    if strict && !fetched.skipped.is_empty() {
        return Err(StoreError::Strict {
            count: fetched.skipped.len(),
        });
    }
    let merge = merge_into_dir(dest, &fetched.union)?;
    Ok(PullOutcome { merge })
}

/// [`fetch`] then [`apply`].
pub async fn pull(
    store: &Store,
    scope: &PrScope,
    jobs: &JobSelector,
    dest: &Path,
    strict: bool,
) -> Result<(Fetched, PullOutcome), StoreError> {
    let fetched = fetch(store, scope, jobs, &|_| {}).await?;
    let dest = dest.to_owned();
    let (fetched, outcome) = tokio::task::spawn_blocking(move || {
        let outcome = apply(&dest, &fetched, strict);
        (fetched, outcome)
    })
    .await
    .map_err(|e| StoreError::LocalIo {
        what: "merging was interrupted".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok((fetched, outcome?))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use object_store::memory::InMemory;

    use super::*;
    use crate::archive::tests::zip_of;
    use crate::key::Repo;

    fn scope() -> PrScope {
        PrScope::new(Repo::parse("o/n").unwrap(), "refs/pull/1/merge")
    }

    #[tokio::test]
    async fn downloads_stop_at_the_size_cap() {
        let chunk = vec![0u8; 1 << 20];
        let small =
            futures::stream::iter((0..3).map(|_| Ok::<_, object_store::Error>(chunk.clone())));
        assert_eq!(
            read_capped(small).await.unwrap().map(|b| b.len()),
            Some(3 << 20)
        );
        let chunks = (MAX_ARCHIVE_BYTES >> 20) as usize + 1;
        let huge =
            futures::stream::iter((0..chunks).map(|_| Ok::<_, object_store::Error>(chunk.clone())));
        assert_eq!(read_capped(huge).await.unwrap(), None);
    }

    fn key(job: &str, shard: u32) -> CacheKey {
        CacheKey {
            scope: scope(),
            job: job.into(),
            sha: "abc".into(),
            config: "default".into(),
            shard,
        }
    }

    async fn put(store: &Store, key: &str, bytes: Vec<u8>) {
        store
            .inner
            .put(&store.path(key).unwrap(), bytes.into())
            .await
            .unwrap();
    }

    fn lastfailed(ids: &[&str]) -> Vec<u8> {
        let map: serde_json::Map<String, serde_json::Value> = ids
            .iter()
            .map(|id| (id.to_string(), serde_json::Value::Bool(true)))
            .collect();
        zip_of(&[(
            "v/cache/lastfailed",
            serde_json::to_vec(&map).unwrap().as_slice(),
        )])
    }

    #[tokio::test]
    async fn pull_selects_the_job_exactly_or_by_prefix() {
        let store = Store::from_parts(Arc::new(InMemory::new()), "ci", "mem".into());
        for (job, id) in [
            ("pull_gcc11", "a::t"),
            ("pull_gcc11-debug", "b::t"),
            ("trunk_gcc11", "c::t"),
        ] {
            put(
                &store,
                &key(job, 0).object_key().unwrap(),
                lastfailed(&[id]),
            )
            .await;
        }
        let exact = fetch(
            &store,
            &scope(),
            &JobSelector::Exact("pull_gcc11".into()),
            &|_| {},
        )
        .await
        .unwrap();
        assert_eq!(exact.union.failed_node_ids(), ["a::t"]);
        let prefix = fetch(
            &store,
            &scope(),
            &JobSelector::Prefix("pull".into()),
            &|_| {},
        )
        .await
        .unwrap();
        assert_eq!(prefix.union.failed_node_ids(), ["a::t", "b::t"]);
        assert_eq!(prefix.merged.len(), 2);
        assert!(prefix.merged[0].starts_with("pytest_cache/o/n/"));
    }

    #[tokio::test]
    async fn bad_objects_are_skipped_and_the_rest_merges() {
        let store = Store::from_parts(Arc::new(InMemory::new()), "", "mem".into());
        put(
            &store,
            &key("j", 0).object_key().unwrap(),
            lastfailed(&["a::t"]),
        )
        .await;
        put(
            &store,
            &key("j", 1).object_key().unwrap(),
            b"garbage".to_vec(),
        )
        .await;
        put(
            &store,
            &key("j", 2).object_key().unwrap(),
            zip_of(&[("../escape", b"x")]),
        )
        .await;
        let seen = std::sync::Mutex::new(Vec::new());
        let fetched = fetch(&store, &scope(), &JobSelector::Exact("j".into()), &|p| {
            seen.lock().unwrap().push(p)
        })
        .await
        .unwrap();
        assert_eq!(fetched.union.failed_node_ids(), ["a::t"]);
        let skipped: Vec<_> = fetched.skipped.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            skipped,
            [
                key("j", 1).object_key().unwrap(),
                key("j", 2).object_key().unwrap()
            ]
        );
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.first(), Some(&Progress::Listed(3)));
        assert_eq!(seen.last(), Some(&Progress::Fetched { done: 3, total: 3 }));

        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            apply(dir.path(), &fetched, true),
            Err(StoreError::Strict { count: 2 })
        ));
        assert!(!dir.path().join("v").exists(), "strict writes nothing");
        let outcome = apply(dir.path(), &fetched, false).unwrap();
        assert_eq!(outcome.merge.lastfailed_count, 1);
    }

    #[tokio::test]
    async fn push_then_pull_round_trips() {
        let store = Store::from_parts(Arc::new(InMemory::new()), "", "mem".into());
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert_eq!(
            push(&store, &key("j", 0), &missing).await.unwrap(),
            PushOutcome::NoCacheDir
        );
        let cache = dir.path().join("c");
        std::fs::create_dir_all(cache.join("v/cache")).unwrap();
        std::fs::write(cache.join("v/cache/lastfailed"), "{\"x::t\": true}").unwrap();
        let PushOutcome::Pushed {
            key: pushed, files, ..
        } = push(&store, &key("j", 3), &cache).await.unwrap()
        else {
            panic!("not pushed");
        };
        assert!(pushed.ends_with("/j/abc/default/3.zip"), "{pushed}");
        assert_eq!(files, 1);
        let dest = dir.path().join("dest");
        let (fetched, outcome) = pull(
            &store,
            &scope(),
            &JobSelector::Exact("j".into()),
            &dest,
            false,
        )
        .await
        .unwrap();
        assert_eq!(fetched.merged, [pushed]);
        assert_eq!(outcome.merge.lastfailed_count, 1);
    }
}
