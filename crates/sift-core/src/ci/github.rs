//! GitHub Actions: step outputs for `$GITHUB_OUTPUT`.
//!
//! - `matrix=["a","b"]`: the kept task names, for `matrix: task: ${{ fromJSON(…) }}`.
//! - `any=true|false`: whether anything is kept (guard the matrix job with it,
//!   as GitHub fails a job whose matrix is empty).
//! - `tasks=[{"name","command","needs"}]`: the same tasks as objects, for
//!   `matrix: include: ${{ fromJSON(…) }}`.
//! - with `--group-by-needs`: `levels=N` and `level0=` … `level{N-1}=`, the
//!   names per dependency level (a task's needs are all in lower levels), so
//!   N jobs chained by `needs:` respect the tasks' order.
//!
//! GitHub's job ids and matrix values take any string, so names stay as they are.

use serde::Serialize;

use super::{CiTask, levels};

/// The most jobs GitHub runs from one matrix.
pub const MATRIX_LIMIT: usize = 256;

#[derive(Serialize)]
struct TaskObject<'a> {
    name: &'a str,
    command: Option<&'a str>,
    needs: &'a [&'a str],
}

/// The output lines, each ending in a newline.
pub fn outputs(tasks: &[CiTask], group_by_needs: bool) -> String {
    let names: Vec<&str> = tasks.iter().map(|t| t.name).collect();
    let objects: Vec<TaskObject> = tasks
        .iter()
        .map(|t| TaskObject {
            name: t.name,
            command: t.command,
            needs: &t.needs,
        })
        .collect();
    let mut out = format!(
        "matrix={}\nany={}\ntasks={}\n",
        json(&names),
        !tasks.is_empty(),
        json(&objects)
    );
    if group_by_needs {
        let level = levels(tasks);
        let count = level.iter().map(|l| l + 1).max().unwrap_or(0);
        out.push_str(&format!("levels={count}\n"));
        for n in 0..count {
            let members: Vec<&str> = tasks
                .iter()
                .zip(&level)
                .filter(|(_, l)| **l == n)
                .map(|(t, _)| t.name)
                .collect();
            out.push_str(&format!("level{n}={}\n", json(&members)));
        }
    }
    out
}

fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serializes")
}
