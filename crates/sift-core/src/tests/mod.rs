//! Inside a test task: which tests to run first, how to split them, and
//! what they did last time.
//!
//! [`order`] runs likely failures first, [`shard`] balances shards by
//! [`test_times`], [`junit`] + [`record`] learn failures and durations from
//! any runner's reports, and [`pytest_cache`] merges PyTorch-style failure
//! caches; [`test_id`] is the one naming rule they share.

pub mod junit;
pub mod order;
pub mod pytest_cache;
pub mod record;
pub mod shard;
pub mod test_id;
pub mod test_times;
