//! Push history in the object store: numbered pushes claimed by
//! create-if-absent, so many CI jobs can record at once on any store.
//!
//! Layout, below the store's prefix (`<branch>` is [`encode_branch`]):
//!
//! ```text
//! history/v1/<branch>/pushes/000000000042.json   one record per push, never rewritten
//! history/v1/<branch>/head.json                  hint: a recent push number
//! history/v1/<branch>/by-sha/<head sha>.json     the push number of a head SHA
//! ```
//!
//! A push number is claimed by creating its record with `PutMode::Create`
//! (S3 `If-None-Match: *`, GCS `ifGenerationMatch=0`, Azure
//! `If-None-Match: *`, a hard link on the local file system): exactly one
//! writer wins; a loser reads the winner's record and tries the next number.
//! Numbers are claimed only after the previous one is seen, so they have no
//! gaps, and the latest is found from the hint by galloping forward
//! (`HEAD n+1, n+2, n+4, …`, then bisecting): O(log(pushes since the hint))
//! requests, whatever the branch's length. Deciding push N reads only
//! record N-1, which carries the last backstop and expanded push forward.
//! Compare-and-swap (`PutMode::Update`) is never used: the local file system
//! does not support it.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use futures::StreamExt;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use sift_core::history::{Cadence, Force, PushContext, PushRecord, RecordedPlan, decide};

use crate::{Store, StoreError};

/// Claims of one push give up after this many lost races; each loss means
/// another job recorded a push, so this bounds waiting, not correctness.
pub const MAX_ATTEMPTS: u32 = 200;

/// How many unreadable records a decision looks past for the previous one.
const MAX_LOOK_BACK: u64 = 32;

/// Where a branch's history lives.
#[derive(Debug, Clone)]
pub struct History {
    pub(crate) store: Store,
    branch: String,
    pub(crate) dir: String,
}

/// A stored object that is not what its key promises: reported and skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub detail: String,
}

/// What [`History::record`] did.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub record: PushRecord,
    /// The head SHA was recorded before: this is that record.
    pub existing: bool,
    /// Claims tried (1 without contention).
    pub attempts: u32,
    pub problems: Vec<Problem>,
}

/// The push to record.
#[derive(Debug, Clone)]
pub struct PushRequest<'a> {
    pub head: &'a str,
    pub base: Option<&'a str>,
    /// Unix seconds.
    pub time: i64,
    pub cadence: &'a Cadence,
    pub force: Force,
}

#[derive(Serialize, Deserialize)]
struct Pointer {
    format: String,
    number: u64,
}

const HEAD_FORMAT: &str = "sift-head-1";
const SHA_FORMAT: &str = "sift-sha-1";

/// A branch name as one key segment: `[A-Za-z0-9._-]` stay, every other
/// byte (and a leading `.`) becomes `=XX`. Reversible, and safe on every
/// store (no `/`, no `%` that a local path would decode).
pub fn encode_branch(branch: &str) -> String {
    let mut out = String::with_capacity(branch.len());
    for (i, byte) in branch.bytes().enumerate() {
        let plain = byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' || byte == b'.';
        if plain && !(i == 0 && byte == b'.') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("={byte:02X}"));
        }
    }
    out
}

impl History {
    /// The history of `branch` in `store`.
    pub fn new(store: Store, branch: &str) -> Result<History, StoreError> {
        if branch.trim().is_empty() {
            return Err(StoreError::InvalidKey {
                key: "history/v1/".to_owned(),
                detail: "the branch name is empty".to_owned(),
            });
        }
        Ok(History {
            dir: format!("history/v1/{}", encode_branch(branch)),
            store,
            branch: branch.to_owned(),
        })
    }

    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The layout key of push `number`.
    pub fn push_key(&self, number: u64) -> String {
        format!("{}/pushes/{number:012}.json", self.dir)
    }

    fn head_key(&self) -> String {
        format!("{}/head.json", self.dir)
    }

    fn sha_key(&self, sha: &str) -> String {
        format!("{}/by-sha/{}.json", self.dir, encode_branch(sha))
    }

    /// The bytes at `key`; `None` if there is no such object.
    pub(crate) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.store.path(key)?;
        let fail = |e: &object_store::Error| StoreError::request("get", &self.store, key, e);
        match self.store.inner.get(&path).await {
            Ok(result) => Ok(Some(result.bytes().await.map_err(|e| fail(&e))?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(fail(&e)),
        }
    }

    async fn exists(&self, number: u64) -> Result<bool, StoreError> {
        let key = self.push_key(number);
        let path = self.store.path(&key)?;
        match self.store.inner.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(StoreError::request("head", &self.store, &key, &e)),
        }
    }

    /// Creates `key` if absent: `Ok(false)` if it already exists.
    pub(crate) async fn create(&self, key: &str, bytes: Vec<u8>) -> Result<bool, StoreError> {
        let path = self.store.path(key)?;
        let options = PutOptions::from(PutMode::Create);
        match self
            .store
            .inner
            .put_opts(&path, PutPayload::from(bytes), options)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => Ok(false),
            Err(e) => Err(StoreError::request("create", &self.store, key, &e)),
        }
    }

    /// Push `number`: `None` if absent, a problem if unreadable.
    pub async fn read(
        &self,
        number: u64,
    ) -> Result<Option<Result<PushRecord, Problem>>, StoreError> {
        let key = self.push_key(number);
        Ok(self.get(&key).await?.map(|bytes| {
            PushRecord::from_json(&bytes, &self.branch, number).map_err(|e| Problem {
                key: self.store.full_key(&key),
                detail: e.to_string(),
            })
        }))
    }

    async fn pointer(
        &self,
        key: &str,
        format: &str,
        problems: &mut Vec<Problem>,
    ) -> Result<Option<u64>, StoreError> {
        let Some(bytes) = self.get(key).await? else {
            return Ok(None);
        };
        match serde_json::from_slice::<Pointer>(&bytes) {
            Ok(p) if p.format == format && p.number >= 1 => Ok(Some(p.number)),
            Ok(p) => {
                problems.push(Problem {
                    key: self.store.full_key(key),
                    detail: format!("a pointer of format `{}` to push {}", p.format, p.number),
                });
                Ok(None)
            }
            Err(e) => {
                problems.push(Problem {
                    key: self.store.full_key(key),
                    detail: format!("not a pointer: {e}"),
                });
                Ok(None)
            }
        }
    }

    /// The store this history lives in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The latest push number (0: none), from the hint forward.
    pub async fn latest_number(&self, problems: &mut Vec<Problem>) -> Result<u64, StoreError> {
        let hint = self
            .pointer(&self.head_key(), HEAD_FORMAT, problems)
            .await?;
        let mut known = hint.unwrap_or(0);
        if known > 0 && !self.exists(known).await? {
            problems.push(Problem {
                key: self.store.full_key(&self.head_key()),
                detail: format!("points at push {known}, which does not exist"),
            });
            known = 0;
        }
        self.latest_from(known).await
    }

    /// The latest push number, given that push `known` exists (0: nothing
    /// known). Pushes exist without gaps, so gallop, then bisect.
    async fn latest_from(&self, known: u64) -> Result<u64, StoreError> {
        let mut low = known;
        let mut step = 1;
        let high = loop {
            let probe = low + step;
            if !self.exists(probe).await? {
                break probe;
            }
            low = probe;
            step *= 2;
        };
        let (mut low, mut high) = (low, high);
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if self.exists(mid).await? {
                low = mid;
            } else {
                high = mid;
            }
        }
        Ok(low)
    }

    /// The newest readable record at or before `number`, looking past a few
    /// unreadable ones (reported).
    async fn previous(
        &self,
        number: u64,
        problems: &mut Vec<Problem>,
    ) -> Result<Option<PushRecord>, StoreError> {
        let stop = number.saturating_sub(MAX_LOOK_BACK);
        let mut n = number;
        while n > stop {
            match self.read(n).await? {
                Some(Ok(record)) => return Ok(Some(record)),
                Some(Err(problem)) => problems.push(problem),
                None => {}
            }
            n -= 1;
        }
        Ok(None)
    }

    /// The record of `head`, if this branch recorded it.
    async fn find_head(
        &self,
        head: &str,
        problems: &mut Vec<Problem>,
    ) -> Result<Option<PushRecord>, StoreError> {
        let Some(number) = self
            .pointer(&self.sha_key(head), SHA_FORMAT, problems)
            .await?
        else {
            return Ok(None);
        };
        match self.read(number).await? {
            Some(Ok(record)) if record.head == head => Ok(Some(record)),
            Some(Ok(record)) => {
                problems.push(Problem {
                    key: self.store.full_key(&self.sha_key(head)),
                    detail: format!("points at push {number}, whose head is {}", record.head),
                });
                Ok(None)
            }
            Some(Err(problem)) => {
                problems.push(problem);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// The record of `head` on this branch, if any, and what was skipped.
    pub async fn recorded(
        &self,
        head: &str,
    ) -> Result<(Option<PushRecord>, Vec<Problem>), StoreError> {
        let mut problems = Vec::new();
        let record = self.find_head(head, &mut problems).await?;
        Ok((record, problems))
    }

    /// Records a push: decides it from the previous record, asks `plan` for
    /// the kept and skipped task names under that decision, and claims the
    /// next number with one atomic create. On a lost race the winner's
    /// record is read and the next number decided and planned afresh. A head
    /// SHA this branch recorded before returns that record (`plan` still
    /// runs once, under its decision, so the caller has a plan to print).
    ///
    /// A plan that fails (`Ok(Err(..))`) records nothing.
    pub async fn record<P, E>(
        &self,
        request: &PushRequest<'_>,
        mut plan: P,
    ) -> Result<Result<Recorded, E>, StoreError>
    where
        P: FnMut(&PushContext) -> Result<RecordedPlan, E>,
    {
        let mut problems = Vec::new();
        let existing = |record: PushRecord, problems: Vec<Problem>, plan: &mut P| {
            plan(&self.context(&record)).map(|_| Recorded {
                record,
                existing: true,
                attempts: 0,
                problems,
            })
        };
        if let Some(record) = self.find_head(request.head, &mut problems).await? {
            return Ok(existing(record, problems, &mut plan));
        }
        let mut latest = self.latest_number(&mut problems).await?;
        let mut jitter = std::collections::hash_map::RandomState::new().build_hasher();
        for attempt in 1..=MAX_ATTEMPTS {
            let previous = self.previous(latest, &mut problems).await?;
            if let Some(previous) = previous
                .as_ref()
                .filter(|p| p.head == request.head && p.number == latest)
            {
                // A job that died after its claim, before the SHA index.
                let record = previous.clone();
                self.index(&record, &mut problems).await;
                return Ok(existing(record, problems, &mut plan));
            }
            let number = latest + 1;
            let decision = decide(
                request.cadence,
                &self.branch,
                number,
                request.time,
                previous.as_ref(),
                request.force,
            );
            let context = PushContext {
                branch: self.branch.clone(),
                number,
                decision: decision.clone(),
            };
            let planned = match plan(&context) {
                Ok(planned) => planned,
                Err(error) => return Ok(Err(error)),
            };
            let record = PushRecord::new(
                &self.branch,
                number,
                request.head,
                request.base,
                request.time,
                decision,
                previous.as_ref(),
                planned,
            );
            if self
                .create(&self.push_key(number), record.to_json())
                .await?
            {
                self.index(&record, &mut problems).await;
                return Ok(Ok(Recorded {
                    record,
                    existing: false,
                    attempts: attempt,
                    problems,
                }));
            }
            // Lost the race for `number`: back off a little (more after
            // repeated losses), then continue from the newest push.
            jitter.write_u32(attempt);
            let cap = 2 + 3 * u64::from(attempt.min(10));
            tokio::time::sleep(Duration::from_millis(jitter.finish() % cap)).await;
            latest = self.latest_from(number).await?;
        }
        Err(StoreError::Contention {
            key: self.store.full_key(&self.push_key(latest + 1)),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Writes the SHA index and the hint after a claim. Both are only
    /// shortcuts (a missing or stale one costs a few requests), so failures
    /// are reported, not fatal.
    async fn index(&self, record: &PushRecord, problems: &mut Vec<Problem>) {
        let pointer = |format: &str| {
            serde_json::to_vec(&Pointer {
                format: format.to_owned(),
                number: record.number,
            })
            .expect("plain data serializes")
        };
        let sha_key = self.sha_key(&record.head);
        if let Err(e) = self.create(&sha_key, pointer(SHA_FORMAT)).await {
            problems.push(Problem {
                key: self.store.full_key(&sha_key),
                detail: format!("not written: {e}"),
            });
        }
        let head_key = self.head_key();
        let written = match self.store.path(&head_key) {
            Ok(path) => self
                .store
                .inner
                .put(&path, PutPayload::from(pointer(HEAD_FORMAT)))
                .await
                .map(|_| ())
                .map_err(|e| StoreError::request("put", &self.store, &head_key, &e)),
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            problems.push(Problem {
                key: self.store.full_key(&head_key),
                detail: format!("not written: {e}"),
            });
        }
    }

    fn context(&self, record: &PushRecord) -> PushContext {
        PushContext {
            branch: self.branch.clone(),
            number: record.number,
            decision: record.decision(),
        }
    }

    /// The readable records among `numbers`, in that order (absent ones
    /// left out), up to [`crate::CONCURRENCY`] read at once.
    pub async fn read_many(
        &self,
        numbers: &[u64],
    ) -> Result<(Vec<PushRecord>, Vec<Problem>), StoreError> {
        let results: Vec<_> = futures::stream::iter(numbers.iter().copied())
            .map(|n| self.read(n))
            .buffered(crate::CONCURRENCY)
            .collect()
            .await;
        let mut records = Vec::with_capacity(numbers.len());
        let mut problems = Vec::new();
        for result in results {
            match result? {
                Some(Ok(record)) => records.push(record),
                Some(Err(problem)) => problems.push(problem),
                None => {}
            }
        }
        Ok((records, problems))
    }

    /// The newest `limit` readable pushes, newest first, and the objects
    /// that were skipped. Reads O(limit) objects.
    pub async fn recent(
        &self,
        limit: usize,
    ) -> Result<(Vec<PushRecord>, Vec<Problem>), StoreError> {
        let mut problems = Vec::new();
        let latest = self.latest_number(&mut problems).await?;
        let mut records = Vec::new();
        let mut next = latest;
        while records.len() < limit && next > 0 {
            let want = (limit - records.len()) as u64;
            let low = next.saturating_sub(want);
            let batch: Vec<u64> = (low + 1..=next).rev().collect();
            let results: Vec<_> = futures::stream::iter(batch)
                .map(|n| self.read(n))
                .buffered(8)
                .collect()
                .await;
            for result in results {
                match result? {
                    Some(Ok(record)) => records.push(record),
                    Some(Err(problem)) => problems.push(problem),
                    None => {}
                }
            }
            next = low;
        }
        Ok((records, problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use object_store::memory::InMemory;
    use sift_core::pattern::NameGlob;

    fn cadence() -> Cadence {
        Cadence {
            branches: vec![NameGlob::new("main").unwrap()],
            every_pushes: Some(5),
            every_hours: None,
            every_pushes_expanded: Some(2),
        }
    }

    fn memory() -> Store {
        Store::from_parts(Arc::new(InMemory::new()), "ci", "mem".into())
    }

    fn request<'a>(head: &'a str, cadence: &'a Cadence) -> PushRequest<'a> {
        PushRequest {
            head,
            base: Some("base"),
            time: 1_800_000_000,
            cadence,
            force: Force::Auto,
        }
    }

    fn names(context: &PushContext) -> Result<RecordedPlan, ()> {
        let (kept, skipped) = if context.decision.backstop {
            (vec!["a".into(), "b".into()], vec![])
        } else {
            (vec!["a".into()], vec!["b".into()])
        };
        Ok(RecordedPlan {
            kept,
            skipped,
            detail: None,
        })
    }

    #[test]
    fn branch_encoding() {
        assert_eq!(encode_branch("main"), "main");
        assert_eq!(encode_branch("feature/x y"), "feature=2Fx=20y");
        assert_eq!(encode_branch(".."), "=2E.");
        assert_eq!(encode_branch("a=b%"), "a=3Db=25");
    }

    #[tokio::test]
    async fn numbers_cadence_and_idempotent_re_runs() {
        let history = History::new(memory(), "main").unwrap();
        let c = cadence();
        let mut backstops = Vec::new();
        for i in 1..=12 {
            let head = format!("sha{i}");
            let recorded = history
                .record(&request(&head, &c), names)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(recorded.record.number, i);
            assert!(
                !recorded.existing && recorded.problems.is_empty(),
                "{recorded:?}"
            );
            if recorded.record.backstop {
                backstops.push(i);
            }
        }
        assert_eq!(backstops, [1, 6, 11]);
        let again = history
            .record(&request("sha6", &c), names)
            .await
            .unwrap()
            .unwrap();
        assert!(again.existing);
        assert_eq!(again.record.number, 6);
        assert!(again.record.backstop);
        assert_eq!(again.record.kept, ["a", "b"]);
        let (recent, problems) = history.recent(3).await.unwrap();
        assert!(problems.is_empty());
        assert_eq!(
            recent.iter().map(|r| r.number).collect::<Vec<_>>(),
            [12, 11, 10]
        );
        // Another branch has its own numbers.
        let other = History::new(history.store.clone(), "feature/x").unwrap();
        let first = other
            .record(&request("sha1", &c), names)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (first.record.number, first.record.backstop, first.existing),
            (1, false, false)
        );
    }

    #[tokio::test]
    async fn a_failed_plan_records_nothing() {
        let history = History::new(memory(), "main").unwrap();
        let c = cadence();
        let failed = history
            .record(&request("s1", &c), |_| Err::<RecordedPlan, _>("bad"))
            .await
            .unwrap();
        assert_eq!(failed.unwrap_err(), "bad");
        assert_eq!(history.latest_number(&mut Vec::new()).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn the_latest_is_found_without_the_hint_and_past_a_stale_one() {
        let store = memory();
        let history = History::new(store.clone(), "main").unwrap();
        let c = cadence();
        for i in 1..=40 {
            history
                .record(&request(&format!("s{i}"), &c), names)
                .await
                .unwrap()
                .unwrap();
        }
        let head = store.path(&history.head_key()).unwrap();
        // A stale hint (as a slow job would leave it) and no hint at all.
        store
            .inner
            .put(
                &head,
                PutPayload::from(br#"{"format":"sift-head-1","number":3}"#.to_vec()),
            )
            .await
            .unwrap();
        assert_eq!(history.latest_number(&mut Vec::new()).await.unwrap(), 40);
        store.inner.delete(&head).await.unwrap();
        assert_eq!(history.latest_number(&mut Vec::new()).await.unwrap(), 40);
        // A corrupt hint is reported and ignored.
        store
            .inner
            .put(&head, PutPayload::from(b"garbage".to_vec()))
            .await
            .unwrap();
        let mut problems = Vec::new();
        assert_eq!(history.latest_number(&mut problems).await.unwrap(), 40);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "ci/history/v1/main/head.json");
        assert!(
            problems[0].detail.starts_with("not a pointer"),
            "{problems:?}"
        );
    }

    #[tokio::test]
    async fn corrupt_and_foreign_records_are_reported_and_skipped() {
        let store = memory();
        let history = History::new(store.clone(), "main").unwrap();
        let c = cadence();
        for i in 1..=4 {
            history
                .record(&request(&format!("s{i}"), &c), names)
                .await
                .unwrap()
                .unwrap();
        }
        // Push 5's slot holds garbage, push 6 someone else's format.
        let put = |n: u64, bytes: &'static [u8]| {
            let path = store.path(&history.push_key(n)).unwrap();
            let store = store.clone();
            async move {
                store
                    .inner
                    .put(&path, PutPayload::from(bytes.to_vec()))
                    .await
                    .unwrap()
            }
        };
        put(5, b"{broken").await;
        put(6, br#"{"format":"other-tool-3"}"#).await;
        let recorded = history
            .record(&request("s7", &c), names)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(recorded.record.number, 7);
        let keys: Vec<&str> = recorded.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "ci/history/v1/main/pushes/000000000006.json",
                "ci/history/v1/main/pushes/000000000005.json"
            ]
        );
        assert!(
            recorded.problems[0]
                .detail
                .contains("another format (`other-tool-3`)")
        );
        // Decided from push 4 (last backstop 1): 6 pushes since, a backstop.
        assert!(recorded.record.backstop, "{:?}", recorded.record);
        let (recent, problems) = history.recent(10).await.unwrap();
        assert_eq!(
            recent.iter().map(|r| r.number).collect::<Vec<_>>(),
            [7, 4, 3, 2, 1]
        );
        assert_eq!(problems.len(), 2);
    }

    #[tokio::test]
    async fn concurrent_recorders_in_one_process_get_distinct_numbers() {
        let history = History::new(memory(), "main").unwrap();
        let c = cadence();
        let heads: Vec<String> = (0..30).map(|i| format!("h{i}")).collect();
        let requests: Vec<PushRequest> = heads.iter().map(|h| request(h, &c)).collect();
        let results =
            futures::future::join_all(requests.iter().map(|r| history.record(r, names))).await;
        let mut numbers: Vec<u64> = results
            .into_iter()
            .map(|r| r.unwrap().unwrap().record.number)
            .collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=30).collect::<Vec<_>>());
        let (recent, _) = history.recent(30).await.unwrap();
        let backstops: Vec<u64> = recent
            .iter()
            .rev()
            .filter(|r| r.backstop)
            .map(|r| r.number)
            .collect();
        assert_eq!(backstops, [1, 6, 11, 16, 21, 26]);
    }
}
