//! `sift verdict`: the aggregator check. Reads the plan and the results,
//! explains every failure and exits 0 iff every kept task succeeded.

use sift_core::ci::verdict::{self, Results};

use super::inputs;
use super::plan::print_stdout;
use crate::cli::VerdictArgs;
use crate::error::CliError;
use crate::exit;

pub fn run(args: VerdictArgs) -> Result<u8, CliError> {
    if args.plan == "-"
        && (args.needs.as_deref() == Some("-") || args.report.as_deref() == Some("-"))
    {
        return Err(CliError::Usage {
            message: "only one of --plan and the results can be read from stdin".to_owned(),
            hint: None,
        });
    }
    let plan = inputs::read_text(&args.plan, "the plan")?;
    let (source, text) = match (&args.needs, &args.report) {
        (Some(needs), _) => (needs, inputs::read_text(needs, "the needs context")?),
        (None, Some(report)) => (report, inputs::read_text(report, "the run report")?),
        (None, None) => {
            return Err(CliError::Usage {
                message: "give the results with --needs FILE or --report FILE".to_owned(),
                hint: None,
            });
        }
    };
    let results = match args.needs {
        Some(_) => Results::GithubNeeds {
            needs: &text,
            plan_job: &args.plan_job,
        },
        None => Results::Report(&text),
    };
    let decided = verdict::decide(&plan, results).map_err(|e| {
        let (file, hint) = match &e {
            verdict::VerdictError::Plan(_) => (
                &args.plan,
                "pass the output of `sift plan --format json` (e.g. an artifact of the plan job)",
            ),
            verdict::VerdictError::Results { .. } => (
                source,
                "pass `${{ toJSON(needs) }}` with --needs, or a run report with --report",
            ),
        };
        CliError::Input {
            message: format!("`{file}`: {e}"),
            hint: Some(hint.to_owned()),
        }
    })?;
    let mut out = decided.lines.join("\n");
    out.push('\n');
    print_stdout(&out)?;
    Ok(if decided.passed {
        exit::OK
    } else {
        exit::VERDICT_FAILED
    })
}
