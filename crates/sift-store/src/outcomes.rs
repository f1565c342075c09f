//! Task outcomes of recorded pushes, in the same store and branch folder as
//! the pushes themselves ([`crate::history`]):
//!
//! ```text
//! history/v1/<branch>/outcomes/000000000042/<ms>-<random>.json   one report, written once
//! ```
//!
//! A report (one `sift run` or shard of it, one `sift history report`, one
//! `sift record --push`) is one object, created with create-if-absent under a
//! name no other reporter uses ([`object_name`]): appending needs no
//! compare-and-swap, so it works on every store, and concurrent reporters
//! never overwrite each other. One object per report rather than per task:
//! a run of 5,000 tasks is one request, and a reader lists one prefix per
//! push either way.
//!
//! Readers list a push's prefix and read its reports (up to
//! [`crate::CONCURRENCY`] at once). What `sift run` needs ("failed last
//! time", durations) is read from the newest pushes backwards and stops as
//! soon as every task it asks about has been seen, or after a bounded number
//! of pushes: O(recent pushes), never O(history). An object that is not a
//! report of its push is reported with its key and skipped.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectMeta;
use sift_core::history::outcome::{OutcomeReport, PushOutcomes, object_name};

use crate::history::{History, Problem};
use crate::{CONCURRENCY, StoreError};

/// How many pushes are read at once when walking back.
const BATCH: u64 = 16;

impl History {
    /// The folder of push `number`'s reports (with a trailing `/`).
    pub fn outcomes_prefix(&self, number: u64) -> String {
        format!("{}/outcomes/{number:012}/", self.dir)
    }

    /// Stores one report under its push; returns its key (with the store's
    /// prefix). The push must exist: reports are only kept for recorded
    /// pushes.
    pub async fn report(&self, report: &OutcomeReport) -> Result<String, StoreError> {
        let bytes = report.to_json();
        let mut random = std::collections::hash_map::RandomState::new().build_hasher();
        for attempt in 0u32..8 {
            let millis = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            random.write_u32(attempt);
            random.write_u64(millis);
            random.write_u32(std::process::id());
            let key = format!(
                "{}{}",
                self.outcomes_prefix(report.push),
                object_name(millis, random.finish())
            );
            if self.create(&key, bytes.clone()).await? {
                return Ok(self.store.full_key(&key));
            }
        }
        Err(StoreError::Contention {
            key: self.store.full_key(&self.outcomes_prefix(report.push)),
            attempts: 8,
        })
    }

    /// Every report of push `number`, gathered; unreadable objects are
    /// returned as problems.
    pub async fn outcomes(&self, number: u64) -> Result<(PushOutcomes, Vec<Problem>), StoreError> {
        let prefix = self.outcomes_prefix(number);
        let path = self.store.path(&prefix)?;
        let metas: Vec<ObjectMeta> = self
            .store
            .inner
            .list(Some(&path))
            .try_collect()
            .await
            .map_err(|e| StoreError::request("list", &self.store, &prefix, &e))?;
        let keys: Vec<String> = metas
            .iter()
            .map(|m| self.store.key_of(&m.location).to_owned())
            .collect();
        type Fetched = Result<(String, Option<Vec<u8>>), StoreError>;
        let fetched: Vec<Fetched> = futures::stream::iter(keys)
            .map(|key| async move {
                let bytes = self.get(&key).await?;
                Ok((key, bytes))
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let mut reports = Vec::new();
        let mut problems = Vec::new();
        for result in fetched {
            // Gone between listing and reading: nothing to report.
            let (key, Some(bytes)) = result? else {
                continue;
            };
            let name = key.rsplit('/').next().unwrap_or_default().to_owned();
            match OutcomeReport::from_json(&bytes, self.branch(), number) {
                Ok(report) => reports.push((name, report)),
                Err(e) => problems.push(Problem {
                    key: self.store.full_key(&key),
                    detail: e.to_string(),
                }),
            }
        }
        Ok((PushOutcomes::new(number, reports), problems))
    }

    /// The outcomes of the pushes `numbers`, in that order.
    pub async fn outcomes_of(
        &self,
        numbers: &[u64],
    ) -> Result<(Vec<PushOutcomes>, Vec<Problem>), StoreError> {
        let results: Vec<_> = futures::stream::iter(numbers.iter().copied())
            .map(|n| self.outcomes(n))
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let mut pushes = Vec::with_capacity(numbers.len());
        let mut problems = Vec::new();
        for result in results {
            let (outcomes, mut found) = result?;
            pushes.push(outcomes);
            problems.append(&mut found);
        }
        Ok((pushes, problems))
    }

    /// The outcomes of the newest pushes, newest first: walking back from
    /// the latest push (or from `before`, exclusive, when given), until
    /// every task in `wanted` has an outcome or `max_pushes` pushes were
    /// read. Pushes without outcomes are included (empty).
    pub async fn recent_outcomes(
        &self,
        wanted: &BTreeSet<String>,
        before: Option<u64>,
        max_pushes: u64,
    ) -> Result<(Vec<PushOutcomes>, Vec<Problem>), StoreError> {
        let mut problems = Vec::new();
        let latest = match before {
            Some(n) => n.saturating_sub(1),
            None => self.latest_number(&mut problems).await?,
        };
        let stop = latest.saturating_sub(max_pushes);
        let mut missing: BTreeSet<&str> = wanted.iter().map(String::as_str).collect();
        let mut pushes = Vec::new();
        let mut next = latest;
        while next > stop && !missing.is_empty() {
            let low = next.saturating_sub(BATCH).max(stop);
            let numbers: Vec<u64> = (low + 1..=next).rev().collect();
            let (batch, mut found) = self.outcomes_of(&numbers).await?;
            problems.append(&mut found);
            for push in batch {
                for task in push.tasks.keys() {
                    missing.remove(task.as_str());
                }
                pushes.push(push);
            }
            next = low;
        }
        Ok((pushes, problems))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use object_store::memory::InMemory;
    use object_store::{ObjectStoreExt, PutPayload};
    use sift_core::history::outcome::{TaskOutcome, TaskResult, Verdict};
    use sift_core::history::{Cadence, Force, RecordedPlan};

    use super::*;
    use crate::Store;
    use crate::history::PushRequest;

    fn memory() -> Store {
        Store::from_parts(Arc::new(InMemory::new()), "ci", "mem".into())
    }

    async fn pushes(history: &History, count: u64) {
        let cadence = Cadence::default();
        for i in 1..=count {
            let head = format!("h{i}");
            let request = PushRequest {
                head: &head,
                base: None,
                time: 1_800_000_000,
                cadence: &cadence,
                force: Force::Auto,
            };
            history
                .record(&request, |_| Ok::<_, ()>(RecordedPlan::default()))
                .await
                .unwrap()
                .unwrap();
        }
    }

    fn report(push: u64, tasks: &[(&str, TaskResult)]) -> OutcomeReport {
        OutcomeReport {
            branch: "main".into(),
            push,
            head: format!("h{push}"),
            source: "test".into(),
            reported_at: 1_800_000_000,
            tasks: tasks
                .iter()
                .map(|(name, result)| TaskOutcome {
                    name: (*name).to_owned(),
                    result: *result,
                    duration_s: Some(1.0),
                    started_at: None,
                    finished_at: None,
                })
                .collect(),
            tests: Vec::new(),
        }
    }

    #[tokio::test]
    async fn reports_append_and_the_latest_wins() {
        let history = History::new(memory(), "main").unwrap();
        pushes(&history, 3).await;
        let first = history
            .report(&report(2, &[("a", TaskResult::Failed)]))
            .await
            .unwrap();
        assert!(
            first.starts_with("ci/history/v1/main/outcomes/000000000002/"),
            "{first}"
        );
        // Same millisecond or not, a second report is another object.
        history
            .report(&report(2, &[("a", TaskResult::Succeeded)]))
            .await
            .unwrap();
        let (outcomes, problems) = history.outcomes(2).await.unwrap();
        assert!(problems.is_empty());
        assert_eq!(outcomes.tasks["a"].len(), 2);
        assert_eq!(outcomes.verdict("a"), Some(Verdict::Flaky));
    }

    #[tokio::test]
    async fn concurrent_reports_are_all_kept() {
        let history = History::new(memory(), "main").unwrap();
        pushes(&history, 1).await;
        let reports: Vec<OutcomeReport> = (0..40)
            .map(|i| report(1, &[(&format!("t{i}"), TaskResult::Succeeded)]))
            .collect();
        let results = futures::future::join_all(reports.iter().map(|r| history.report(r))).await;
        let keys: BTreeSet<String> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(keys.len(), 40);
        let (outcomes, _) = history.outcomes(1).await.unwrap();
        assert_eq!(outcomes.tasks.len(), 40);
    }

    #[tokio::test]
    async fn walking_back_stops_once_every_task_is_seen() {
        let store = memory();
        let history = History::new(store.clone(), "main").unwrap();
        pushes(&history, 40).await;
        history
            .report(&report(5, &[("old", TaskResult::Failed)]))
            .await
            .unwrap();
        history
            .report(&report(38, &[("new", TaskResult::Succeeded)]))
            .await
            .unwrap();
        let want = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
        let (read, _) = history
            .recent_outcomes(&want(&["new"]), None, 100)
            .await
            .unwrap();
        // One batch of 16 pushes: 40 down to 25.
        assert_eq!(read.len(), 16);
        assert_eq!(read[0].push, 40);
        let (read, _) = history
            .recent_outcomes(&want(&["new", "old"]), None, 100)
            .await
            .unwrap();
        assert_eq!(read.last().unwrap().push, 1);
        assert!(read.iter().any(|p| p.tasks.contains_key("old")));
        let (read, _) = history
            .recent_outcomes(&want(&["old"]), None, 20)
            .await
            .unwrap();
        assert_eq!(read.len(), 20, "bounded");
        // A corrupt object is reported with its key and skipped.
        let key = format!("{}garbage.json", history.outcomes_prefix(38));
        store
            .object_store()
            .put(
                &object_store::path::Path::from(format!("ci/{key}")),
                PutPayload::from_static(b"{not json"),
            )
            .await
            .unwrap();
        let (outcomes, problems) = history.outcomes(38).await.unwrap();
        assert_eq!(outcomes.tasks.len(), 1);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, format!("ci/{key}"));
    }
}
