//! The shard split of a recorded push, stored once so every shard runs its
//! share of the same split:
//!
//! ```text
//! history/v1/<branch>/shards/000000000042/<count>-<md5 of the task names>.json
//! ```
//!
//! The first shard of the push to get here creates the object
//! (create-if-absent); every later one, and any re-run, reads the split
//! stored there. The task names are hashed into the key, so a push planned
//! again with other tasks (another `--target`) gets a split of its own.

use crate::StoreError;
use crate::history::History;

impl History {
    /// The key of push `number`'s split over `count` shards for the task
    /// set `digest`.
    pub fn split_key(&self, number: u64, count: usize, digest: &str) -> String {
        format!("{}/shards/{number:012}/{count}-{digest}.json", self.dir)
    }

    /// The split of push `number` over `count` shards for the task set
    /// `digest`: the stored one if there is one, else `computed`, stored
    /// when `store` (a dry run only looks). Returns the bytes in force and
    /// whether they are `computed`.
    pub async fn fix_split(
        &self,
        number: u64,
        count: usize,
        digest: &str,
        computed: Vec<u8>,
        store: bool,
    ) -> Result<(Vec<u8>, bool), StoreError> {
        let key = self.split_key(number, count, digest);
        if let Some(stored) = self.get(&key).await? {
            return Ok((stored, false));
        }
        if !store {
            return Ok((computed, true));
        }
        if self.create(&key, computed.clone()).await? {
            return Ok((computed, true));
        }
        // Another shard stored its split first: that one is in force.
        match self.get(&key).await? {
            Some(stored) => Ok((stored, false)),
            None => Ok((computed, true)),
        }
    }
}
