//! `sift report`: one self-contained HTML page that draws a plan (the task
//! graph and the why of every task), a run (a Gantt chart over worker slots
//! with the critical path), shards (one bar per shard against the lower
//! bound) and selection quality (savings per push, false greens with their
//! rule chains and suggested fixes, the false-green rate).
//!
//! This is the HTML renderer of the JSON documents that `sift plan --format
//! json --explain`, `sift run --format json`, `sift shard --format json` and
//! `sift quality --json` print: it checks that each input is the document it claims to be, embeds
//! them as one JSON value in a `<script type="application/json">` element,
//! and fills the page template with its style and script. The page does
//! everything else in the browser, from the embedded data only: no network,
//! no CDN, no fonts, so the file can be uploaded as a CI artifact and opened
//! anywhere.
//!
//! Safety: the embedded JSON has every `<`, `>` and `&` (and U+2028/U+2029)
//! written as `\uXXXX`, so no task name can end the script element or open
//! a comment; the page sets data as text (`textContent`, attributes), never
//! as markup; and its Content-Security-Policy allows no network at all and
//! only the page's own script (by hash), so even injected markup could not
//! run anything.

use serde::Deserialize;
use serde::de::IgnoredAny;

/// The page's markup, with `{{…}}` slots for the parts below.
const TEMPLATE: &str = include_str!("assets/report.html");
const STYLE: &str = include_str!("assets/report.css");
const SCRIPT: &str = include_str!("assets/report.js");
/// SHA-256 of [`SCRIPT`], base64: the page's CSP allows only that script.
/// A unit test checks it; after editing the script, put in the value the
/// test prints.
const SCRIPT_SHA256: &str = "nx1EyAxnrN5RaTlfSb19RvPXAekRHNM3331u09BEias=";

/// The documents to draw, as the commands printed them (JSON text).
#[derive(Clone, Copy, Debug, Default)]
pub struct Inputs<'a> {
    /// `sift plan --format json` (with `--explain` for the why of every task).
    pub plan: Option<&'a str>,
    /// `sift run --format json` (or `sift run --dry-run --format json`).
    pub run: Option<&'a str>,
    /// `sift shard --format json`.
    pub shards: Option<&'a str>,
    /// `sift quality --json`.
    pub quality: Option<&'a str>,
}

/// A rendered report.
#[derive(Debug)]
pub struct Report {
    pub html: String,
    /// Things the reader of the command's output should know (e.g. a plan
    /// without explanations), one line each.
    pub notes: Vec<String>,
}

/// An input that is not the document it was given as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("nothing to report: give a plan, a run, shards or a quality report")]
    Empty,
    #[error("the {what} is not {expected}: {message}")]
    Invalid {
        /// `plan`, `run`, `shards` or `quality`.
        what: &'static str,
        /// The document expected, e.g. "a `sift plan --format json` document".
        expected: &'static str,
        message: String,
        hint: Option<String>,
    },
}

impl ReportError {
    pub fn hint(&self) -> Option<&str> {
        match self {
            ReportError::Empty => Some("pass --plan, --run, --shards or --quality"),
            ReportError::Invalid { hint, .. } => hint.as_deref(),
        }
    }
}

const PLAN_DOC: &str = "a `sift plan --format json` document";
const RUN_DOC: &str = "a `sift run --format json` document";
const SHARDS_DOC: &str = "a `sift shard --format json` document";
const QUALITY_DOC: &str = "a `sift quality --json` document";

#[derive(Deserialize)]
struct PlanDoc {
    format_version: u32,
    #[allow(dead_code)]
    changed_files: Vec<IgnoredAny>,
    tasks: Vec<PlanTask>,
}

#[derive(Deserialize)]
struct PlanTask {
    name: String,
    #[allow(dead_code)]
    run: bool,
    why: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct RunDoc {
    format_version: u32,
    #[serde(default)]
    dry_run: bool,
    tasks: Vec<RunTask>,
}

#[derive(Deserialize)]
struct RunTask {
    name: String,
    result: Option<String>,
    slot: Option<u32>,
}

#[derive(Deserialize)]
struct ShardsDoc {
    format_version: u32,
    #[allow(dead_code)]
    lower_bound_seconds: f64,
    #[allow(dead_code)]
    shards: Vec<ShardDoc>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct ShardDoc {
    index: usize,
    expected_seconds: f64,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct QualityDoc {
    format_version: u32,
    branch: String,
    pushes: QualityPushes,
    selection: IgnoredAny,
    false_greens: Vec<FalseGreenDoc>,
    rate: IgnoredAny,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct QualityPushes {
    count: u64,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FalseGreenDoc {
    task: String,
    push: u64,
}

/// The only format version this sift writes and reads.
const FORMAT_VERSION: u32 = 1;

/// Checks the inputs and renders the page.
pub fn render(inputs: &Inputs, generator: &str) -> Result<Report, ReportError> {
    if inputs.plan.is_none()
        && inputs.run.is_none()
        && inputs.shards.is_none()
        && inputs.quality.is_none()
    {
        return Err(ReportError::Empty);
    }
    let mut notes = Vec::new();
    let mut data = serde_json::Map::new();
    data.insert("generator".to_owned(), generator.into());
    let mut plan_names = None;
    if let Some(text) = inputs.plan {
        let doc: PlanDoc = parse("plan", PLAN_DOC, text)?;
        version("plan", PLAN_DOC, doc.format_version)?;
        unique("plan", PLAN_DOC, doc.tasks.iter().map(|t| t.name.as_str()))?;
        if !doc.tasks.is_empty() && doc.tasks.iter().all(|t| t.why.is_none()) {
            notes.push(
                "the plan has no explanations: the page shows each task's reason only; \
                 make the plan with `sift plan --format json --explain` for the full chains"
                    .to_owned(),
            );
        }
        plan_names = Some(
            doc.tasks
                .into_iter()
                .map(|t| t.name)
                .collect::<std::collections::HashSet<_>>(),
        );
        data.insert("plan".to_owned(), value(text));
    }
    if let Some(text) = inputs.run {
        let doc: RunDoc = parse("run", RUN_DOC, text)?;
        version("run", RUN_DOC, doc.format_version)?;
        unique("run", RUN_DOC, doc.tasks.iter().map(|t| t.name.as_str()))?;
        for task in &doc.tasks {
            let ok = if doc.dry_run {
                task.slot.is_some()
            } else {
                task.result.is_some()
            };
            if !ok {
                let field = if doc.dry_run { "slot" } else { "result" };
                return Err(ReportError::Invalid {
                    what: "run",
                    expected: RUN_DOC,
                    message: format!("task `{}` has no `{field}`", task.name),
                    hint: None,
                });
            }
        }
        if let Some(names) = &plan_names {
            let missing = doc
                .tasks
                .iter()
                .filter(|t| !names.contains(&t.name))
                .count();
            if missing > 0 {
                notes.push(format!(
                    "{missing} task(s) of the run are not in the plan: the run and the plan \
                     are probably of different changes"
                ));
            }
        }
        data.insert("run".to_owned(), value(text));
    }
    if let Some(text) = inputs.shards {
        let doc: ShardsDoc = parse("shards", SHARDS_DOC, text)?;
        version("shards", SHARDS_DOC, doc.format_version)?;
        data.insert("shards".to_owned(), value(text));
    }
    if let Some(text) = inputs.quality {
        let doc: QualityDoc = parse("quality", QUALITY_DOC, text)?;
        version("quality", QUALITY_DOC, doc.format_version)?;
        data.insert("quality".to_owned(), value(text));
    }
    let json = serde_json::Value::Object(data).to_string();
    Ok(Report {
        html: fill(&embed_safe(&json)),
        notes,
    })
}

fn parse<'de, T: Deserialize<'de>>(
    what: &'static str,
    expected: &'static str,
    text: &'de str,
) -> Result<T, ReportError> {
    // Another command's document, given in the wrong place.
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text)
        && let Some(other) = kind_of(&value).filter(|&k| k != what)
    {
        let (flag, command) = match other {
            "plan" => ("--plan", "sift plan --format json"),
            "run" => ("--run", "sift run --format json"),
            "quality" => ("--quality", "sift quality --json"),
            _ => ("--shards", "sift shard --format json"),
        };
        return Err(ReportError::Invalid {
            what,
            expected,
            message: format!("it is a {other}"),
            hint: Some(format!(
                "this looks like `{command}` output: pass it with {flag}"
            )),
        });
    }
    serde_json::from_str(text).map_err(|e| ReportError::Invalid {
        what,
        expected,
        message: e.to_string(),
        hint: None,
    })
}

/// Which command's document a value looks like, by the fields only it has.
fn kind_of(value: &serde_json::Value) -> Option<&'static str> {
    if value.get("changed_files").is_some() {
        Some("plan")
    } else if value.get("summary").is_some() || value.get("dry_run").is_some() {
        Some("run")
    } else if value.get("shards").is_some() && value.get("lower_bound_seconds").is_some() {
        Some("shards")
    } else if value.get("false_greens").is_some() && value.get("selection").is_some() {
        Some("quality")
    } else {
        None
    }
}

fn version(what: &'static str, expected: &'static str, found: u32) -> Result<(), ReportError> {
    if found == FORMAT_VERSION {
        return Ok(());
    }
    Err(ReportError::Invalid {
        what,
        expected,
        message: format!("format_version {found}; this sift reads format_version {FORMAT_VERSION}"),
        hint: (found > FORMAT_VERSION)
            .then(|| "it was written by a newer sift: report with that version".to_owned()),
    })
}

fn unique<'a>(
    what: &'static str,
    expected: &'static str,
    names: impl Iterator<Item = &'a str>,
) -> Result<(), ReportError> {
    let mut seen = std::collections::HashSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(ReportError::Invalid {
                what,
                expected,
                message: format!("task `{name}` is listed twice"),
                hint: None,
            });
        }
    }
    Ok(())
}

/// A document already parsed once, as a value (it parses: checked above).
fn value(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

/// JSON that can sit inside a `<script>` element: `<`, `>` and `&` become
/// `\u003c`, `\u003e` and `\u0026` (so neither `</script>` nor `<!--` can
/// appear), and U+2028/U+2029 are escaped too. The result parses to the same
/// value: those characters occur only inside JSON strings.
pub fn embed_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The template with its slots filled. The template is walked once, so a
/// slot's marker inside the data is never replaced.
fn fill(data: &str) -> String {
    let mut out =
        String::with_capacity(TEMPLATE.len() + STYLE.len() + SCRIPT.len() + data.len() + 64);
    let mut rest = TEMPLATE;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").expect("template slots are closed");
        out.push_str(match &after[..end] {
            "STYLE" => STYLE,
            "SCRIPT" => SCRIPT,
            "SCRIPT_SHA256" => SCRIPT_SHA256,
            "DATA" => data,
            other => panic!("unknown template slot `{other}`"),
        });
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
