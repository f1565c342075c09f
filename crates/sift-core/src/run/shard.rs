//! `sift run --shard I/N`: which kept tasks this machine runs.
//!
//! A task and everything it needs go to one shard: the kept tasks are split
//! into groups connected by `needs` (in either direction), and the groups are
//! placed with the LPT + refinement of [`crate::tests::shard`], each group weighing
//! the sum of its tasks' expected durations, never split. Nothing runs twice
//! and no shard waits for another; the price is that one large connected
//! group (everything needs `build`) lands on one shard, which a plan that
//! fans out wide should then express as separate jobs instead.
//!
//! Every machine computes the same assignment from the same plan and
//! durations: groups are named by their first task name, and the sharder's
//! placement ignores the input order.

use super::Graph;
use crate::tests::shard::{ShardError, ShardInput, shard_with};

/// For each task of `graph`, its 0-based shard among `shards`.
pub fn assign(graph: &Graph, shards: usize) -> Result<Vec<usize>, ShardError> {
    let n = graph.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for (i, task) in graph.tasks.iter().enumerate() {
        for &need in &task.needs {
            let (a, b) = (find(&mut parent, i), find(&mut parent, need));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    // Group name: the smallest task name in it; weight: the sum of estimates.
    let mut name: Vec<Option<&str>> = vec![None; n];
    let mut weight = vec![0.0; n];
    let group: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
    for (i, &root) in group.iter().enumerate() {
        let task_name = graph.tasks[i].name.as_str();
        if name[root].is_none_or(|current| task_name < current) {
            name[root] = Some(task_name);
        }
        weight[root] += graph.estimate[i];
    }
    let inputs: Vec<ShardInput> = (0..n)
        .filter(|&i| group[i] == i)
        .map(|i| ShardInput {
            name: name[i].unwrap_or_default().to_owned(),
            seconds: Some(weight[i]),
        })
        .collect();
    // Groups are never split: the split threshold is beyond any duration.
    let plan = shard_with(&inputs, shards, f64::MAX, 1)?;
    let mut shard_of_group = rustc_hash::FxHashMap::default();
    for shard in &plan.shards {
        for test in &shard.tests {
            shard_of_group.insert(test.name.as_str(), shard.index - 1);
        }
    }
    Ok((0..n)
        .map(|i| {
            let group_name = name[group[i]].unwrap_or_default();
            shard_of_group.get(group_name).copied().unwrap_or(0)
        })
        .collect())
}

/// The stored form of a push's split over `count` shards: the first shard of
/// a recorded push to start stores the split it computed, and every other
/// shard of that push (and any re-run of one) uses that split rather than
/// its own. Each shard weighs tasks by the durations it reads when it starts,
/// and the shards of one push start at different moments, with the results
/// of earlier pushes (and of their own push's other shards) still arriving:
/// computed independently, two shards could each see a task as theirs.
pub const SPLIT_FORMAT: &str = "sift-shard-split-v1";

#[derive(serde::Serialize, serde::Deserialize)]
struct SplitJson {
    format: String,
    push: u64,
    count: usize,
    /// Task name → 0-based shard, for every kept task.
    tasks: std::collections::BTreeMap<String, usize>,
}

/// `assigned` (as [`assign`] returns it for `names`) as stored bytes.
pub fn split_to_json(push: u64, count: usize, names: &[&str], assigned: &[usize]) -> Vec<u8> {
    let json = SplitJson {
        format: SPLIT_FORMAT.to_owned(),
        push,
        count,
        tasks: names
            .iter()
            .zip(assigned)
            .map(|(name, &shard)| ((*name).to_owned(), shard))
            .collect(),
    };
    serde_json::to_vec(&json).expect("plain data serializes")
}

/// A stored split for `names`, in their order; an error says why it cannot
/// be used (another format, push or shard count, other tasks, a shard out
/// of range).
pub fn split_from_json(
    bytes: &[u8],
    push: u64,
    count: usize,
    names: &[&str],
) -> Result<Vec<usize>, String> {
    let json: SplitJson = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if json.format != SPLIT_FORMAT {
        return Err(format!("a split of format `{}`", json.format));
    }
    if json.push != push || json.count != count {
        return Err(format!(
            "the split of push {} over {} shards, not of push {push} over {count}",
            json.push, json.count
        ));
    }
    if json.tasks.len() != names.len() {
        return Err(format!(
            "a split of {} tasks, not of these {}",
            json.tasks.len(),
            names.len()
        ));
    }
    names
        .iter()
        .map(|name| match json.tasks.get(*name) {
            Some(&shard) if shard < count => Ok(shard),
            Some(&shard) => Err(format!("task `{name}` on shard {shard} of {count}")),
            None => Err(format!("task `{name}` is not in it")),
        })
        .collect()
}
