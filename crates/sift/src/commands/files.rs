//! `sift files PATH...`: what the rules say about paths.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use sift_core::Planner;
use sift_core::select::change::normalize_path;

use crate::cli::FilesArgs;
use crate::error::CliError;
use crate::exit;

#[derive(Serialize)]
struct FileJson {
    path: String,
    /// moz.build blocks that applied (`[mozbuild] enabled = true`), root first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mozbuild: Vec<RuleJson>,
    rules: Vec<RuleJson>,
    inclusive: Vec<String>,
    /// `null` when no rule sets it: every exclusive component applies.
    exclusive: Option<Vec<String>>,
    components: Vec<String>,
}

#[derive(Serialize)]
struct RuleJson {
    file: String,
    line: usize,
    pattern: String,
}

pub fn run(root: &Path, args: FilesArgs) -> Result<u8, CliError> {
    if args.mozbuild {
        return super::mozilla::files(root, &args);
    }
    let config = super::load_config(root)?;
    let mut planner = Planner::new(&config);
    let mut results = Vec::new();
    for raw in &args.paths {
        let path = normalize_path(raw);
        let s = planner.path_schedules(&path, true);
        let mozbuild = s
            .mozbuild
            .iter()
            .flat_map(|a| &a.matched)
            .map(|m| RuleJson {
                file: m.file.blocks[m.block].source.name.clone(),
                line: m.file.blocks[m.block].line,
                pattern: m
                    .pattern
                    .clone()
                    .unwrap_or_else(|| "(not a literal)".to_owned()),
            })
            .collect();
        results.push(FileJson {
            mozbuild,
            rules: s
                .matched
                .iter()
                .map(|m| RuleJson {
                    file: m.file.source.name.clone(),
                    line: m.rule().line,
                    pattern: m.pattern.clone(),
                })
                .collect(),
            inclusive: config.components.names_of(&s.inclusive),
            exclusive: s.exclusive.as_ref().map(|e| config.components.names_of(e)),
            components: config
                .components
                .names_of(&s.components(&config.components)),
            path,
        });
    }
    if planner.rules().diagnostics().has_errors() {
        return Err(CliError::Config(planner.rules().diagnostics().clone()));
    }
    let out = if args.json {
        let mut json = serde_json::to_string_pretty(&results).expect("plain data serializes");
        json.push('\n');
        json
    } else {
        let mut out = String::new();
        for file in &results {
            let _ = writeln!(out, "{}", file.path);
            for block in &file.mozbuild {
                let _ = writeln!(
                    out,
                    "  moz.build {}:{} `{}`",
                    block.file, block.line, block.pattern
                );
            }
            if file.rules.is_empty() {
                let _ = writeln!(out, "  rules: (none match)");
            }
            for rule in &file.rules {
                let _ = writeln!(out, "  rule {}:{} `{}`", rule.file, rule.line, rule.pattern);
            }
            if let Some((kind, _)) = planner.rules().workspace_rule(&file.path) {
                let _ = writeln!(
                    out,
                    "  {}: a change affects only the packages its diff reaches; without a change, every exclusive component",
                    kind.describe()
                );
            }
            let _ = writeln!(out, "  inclusive: {}", join_or(&file.inclusive, "(none)"));
            match &file.exclusive {
                Some(e) => {
                    let _ = writeln!(out, "  exclusive: {}", join_or(e, "(none: set to [])"));
                }
                None => {
                    let _ = writeln!(out, "  exclusive: all (no rule sets it)");
                }
            }
            let _ = writeln!(out, "  components: {}", join_or(&file.components, "(none)"));
        }
        out
    };
    super::plan::print_stdout(&out)?;
    Ok(exit::OK)
}

fn join_or(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        empty.to_owned()
    } else {
        items.join(", ")
    }
}
