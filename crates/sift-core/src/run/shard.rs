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
