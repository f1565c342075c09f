//! `sift plan`: which tasks the change needs.

use std::io::Write;
use std::path::Path;

use sift_core::{Plan, Planner, render};

use crate::cli::{PlanArgs, PlanFormat};
use crate::error::CliError;
use crate::{exit, output};

pub fn run(root: &Path, args: PlanArgs) -> Result<u8, CliError> {
    if args.record.wanted() {
        return Err(CliError::Usage {
            message: "`sift plan --record` runs in the sift-remote executable".to_owned(),
            hint: None,
        });
    }
    let (config, change) = super::load_config_and_change(root, &args.change)?;
    let options = super::plan_options(&args.select)?;
    let plan = Planner::new(&config)
        .plan(change, &options)
        .map_err(super::plan_error)?;
    emit(&plan, args.format)?;
    // The process ends here: freeing a large configuration piece by piece
    // (tens of thousands of patterns and strings) would only cost time.
    std::mem::forget(plan);
    std::mem::forget(config);
    Ok(exit::OK)
}

/// Prints a plan in `format`.
pub(crate) fn emit(plan: &Plan, format: PlanFormat) -> Result<(), CliError> {
    let text = match format {
        PlanFormat::Text => render::plan_text(plan),
        PlanFormat::Json => render::plan_json(plan),
        PlanFormat::Github => {
            let lines = format!(
                "matrix={}\nany={}\n",
                render::matrix_json(plan),
                plan.kept().next().is_some()
            );
            match std::env::var_os("GITHUB_OUTPUT").filter(|v| !v.is_empty()) {
                Some(path) => {
                    let mut file = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .map_err(|e| {
                            CliError::io(
                                format!("cannot open $GITHUB_OUTPUT `{}`", path.to_string_lossy()),
                                e,
                            )
                        })?;
                    file.write_all(lines.as_bytes())
                        .map_err(|e| CliError::io("cannot write $GITHUB_OUTPUT", e))?;
                }
                None => output::warning("$GITHUB_OUTPUT is not set; printing the outputs only"),
            }
            lines
        }
    };
    print_stdout(&text)
}

/// Writes data to stdout; a closed pipe (`sift plan | head`) is not an error.
pub(crate) fn print_stdout(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::io("cannot write to stdout", e))
        }
        _ => Ok(()),
    }
}
