//! `sift report`, and `--report FILE` on `plan`, `run` and `shard`: one
//! self-contained HTML page drawn from the commands' JSON documents
//! ([`sift_core::report`] renders it; this only reads and writes files).

use std::path::Path;

use sift_core::report::{self, Inputs, ReportError};

use super::inputs::read_text;
use crate::cli::ReportArgs;
use crate::error::CliError;
use crate::{exit, output};

pub fn run(args: ReportArgs) -> Result<u8, CliError> {
    let stdin_users = [&args.plan, &args.run, &args.shards, &args.quality]
        .iter()
        .filter(|a| a.as_deref() == Some("-"))
        .count();
    if stdin_users > 1 {
        return Err(CliError::Usage {
            message: "only one of --plan, --run, --shards and --quality can read stdin (`-`)"
                .to_owned(),
            hint: None,
        });
    }
    let plan = args
        .plan
        .as_deref()
        .map(|s| read_text(s, "the plan"))
        .transpose()?;
    let run = args
        .run
        .as_deref()
        .map(|s| read_text(s, "the run"))
        .transpose()?;
    let shards = args
        .shards
        .as_deref()
        .map(|s| read_text(s, "the shards"))
        .transpose()?;
    let quality = args
        .quality
        .as_deref()
        .map(|s| read_text(s, "the quality report"))
        .transpose()?;
    write(
        &args.out,
        &Inputs {
            plan: plan.as_deref(),
            run: run.as_deref(),
            shards: shards.as_deref(),
            quality: quality.as_deref(),
        },
    )?;
    Ok(exit::OK)
}

/// Renders the page and writes it to `path` (replaced atomically), with the
/// renderer's notes on stderr.
pub(crate) fn write(path: &Path, inputs: &Inputs) -> Result<(), CliError> {
    let generator = format!("sift {}", env!("CARGO_PKG_VERSION"));
    let rendered = report::render(inputs, &generator).map_err(|e| {
        let hint = e.hint().map(str::to_owned);
        match e {
            ReportError::Empty => CliError::Usage {
                message: e.to_string(),
                hint,
            },
            ReportError::Invalid { .. } => CliError::Input {
                message: e.to_string(),
                hint,
            },
        }
    })?;
    for note in &rendered.notes {
        output::note(note);
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, &rendered.html)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CliError::io(format!("cannot write `{}`", path.display()), e)
        })?;
    output::note(&format!(
        "wrote `{}` ({} KB)",
        path.display(),
        rendered.html.len().div_ceil(1024)
    ));
    Ok(())
}
