//! Reading JUnit XML reports from any test runner.
//!
//! "JUnit XML" is a family of dialects; this reader accepts what pytest
//! (`--junitxml`, xunit1 and xunit2), cargo-nextest, jest-junit,
//! go-junit-report and Maven Surefire write:
//! - `<testsuites>` or a single `<testsuite>` at the root, suites nested to
//!   any depth (Surefire and Ant nest them);
//! - per `<testcase>`: `<failure>`, `<error>`, `<skipped>`, and the rerun
//!   elements Surefire introduced and nextest adopted: `<flakyFailure>` /
//!   `<flakyError>` (failed, then passed on a retry) and `<rerunFailure>` /
//!   `<rerunError>` (failed again on a retry);
//! - `time` in seconds; a `,` thousands separator (old Surefire) is accepted.
//!
//! Outcome of a test case, from its direct children: `<failure>` or
//! `<error>` (or a rerun failure without them) → failed; else `<skipped>` →
//! skipped; else a flaky element → flaky (passed after retries); else passed.
//!
//! Errors carry the line and column, so the caller can name `file:line:col`.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use serde::Serialize;

/// How a test case ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Skipped,
    Passed,
    /// Failed at first, passed on a retry.
    Flaky,
    Failed,
}

impl Outcome {
    /// Whether the final result is a failure.
    pub fn failed(self) -> bool {
        self == Outcome::Failed
    }
}

/// Which tool wrote the report, as far as it matters for naming tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// pytest: `classname` is a dotted module path plus classes.
    Pytest,
    /// Everything else: `classname` names the suite (a nextest binary, a Go
    /// package, a Java class, a jest describe block).
    Other,
}

/// One `<testcase>`.
#[derive(Clone, Debug, PartialEq)]
pub struct JunitCase {
    pub name: String,
    pub classname: Option<String>,
    /// `file` of the test case, else of the nearest enclosing suite.
    pub file: Option<String>,
    /// Name of the innermost enclosing `<testsuite>`.
    pub suite: Option<String>,
    pub seconds: Option<f64>,
    pub outcome: Outcome,
    /// Failed attempts recorded as rerun or flaky elements.
    pub retries: usize,
    /// 1-based line of the `<testcase>` tag.
    pub line: usize,
}

/// A parsed report.
#[derive(Clone, Debug, PartialEq)]
pub struct JunitReport {
    pub flavor: Flavor,
    pub cases: Vec<JunitCase>,
}

/// Why a report cannot be read.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum JunitError {
    /// Not well-formed XML.
    #[error("{line}:{column}: malformed XML: {message}")]
    Malformed {
        line: usize,
        column: usize,
        message: String,
    },
    /// Well-formed, but not a JUnit report sift can use.
    #[error("{line}:{column}: {message}")]
    Invalid {
        line: usize,
        column: usize,
        message: String,
    },
}

/// Where each line starts, to turn byte offsets into line:column.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines(starts)
    }

    fn at(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.0.partition_point(|&start| start <= offset);
        let start = self.0[line - 1];
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        (line, column)
    }
}

enum Frame {
    Suites,
    Suite {
        name: Option<String>,
        file: Option<String>,
    },
    Case(Box<CaseBuilder>),
    Other,
}

struct CaseBuilder {
    case: JunitCase,
    failed: bool,
    skipped: bool,
    flaky: usize,
    rerun: usize,
}

/// Parses a report from bytes (UTF-8, an optional BOM).
pub fn parse_bytes(bytes: &[u8]) -> Result<JunitReport, JunitError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let (line, column) = Lines::new(valid).at(valid, valid.len());
            Err(JunitError::Malformed {
                line,
                column,
                message: "the file is not UTF-8".to_owned(),
            })
        }
    }
}

/// Parses a report.
pub fn parse(text: &str) -> Result<JunitReport, JunitError> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let shift = text.len() - body.len();
    let lines = Lines::new(text);
    let at = |offset: u64| lines.at(text, shift + offset as usize);
    let mut reader = Reader::from_str(body);
    let mut stack: Vec<(Frame, usize)> = Vec::new();
    let mut cases = Vec::new();
    let mut flavor = Flavor::Other;
    let mut seen_root = false;
    loop {
        let before = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            let (line, column) = at(reader.error_position());
            JunitError::Malformed {
                line,
                column,
                message: e.to_string(),
            }
        })?;
        let (start, empty) = match &event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                if let Some((Frame::Case(builder), _)) = stack.pop() {
                    cases.push(builder.finish());
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        // The tag starts after any whitespace read since the last event.
        let tag_start = before as usize + body[before as usize..].find('<').unwrap_or(0);
        let (line, column) = lines.at(text, shift + tag_start);
        let invalid = |message: String| JunitError::Invalid {
            line,
            column,
            message,
        };
        let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
        let attr = |key: &str| attribute(&reader, start, key).map_err(&invalid);
        if !seen_root {
            seen_root = true;
            if name != "testsuites" && name != "testsuite" {
                return Err(invalid(format!(
                    "not a JUnit XML report: the root element is `<{name}>`, expected `<testsuites>` or `<testsuite>`"
                )));
            }
        }
        let frame = match (name.as_str(), stack.last().map(|(f, _)| f)) {
            (child, Some(Frame::Case(_))) => {
                if let Some((Frame::Case(builder), _)) = stack.last_mut() {
                    match child {
                        "failure" | "error" => builder.failed = true,
                        "skipped" => builder.skipped = true,
                        "flakyFailure" | "flakyError" => builder.flaky += 1,
                        "rerunFailure" | "rerunError" => builder.rerun += 1,
                        _ => {}
                    }
                }
                Frame::Other
            }
            ("testsuites", _) => {
                if attr("name")?.as_deref() == Some("pytest tests") {
                    flavor = Flavor::Pytest;
                }
                Frame::Suites
            }
            ("testsuite", _) => {
                let suite_name = attr("name")?;
                if suite_name.as_deref() == Some("pytest") {
                    flavor = Flavor::Pytest;
                }
                Frame::Suite {
                    name: suite_name,
                    file: attr("file")?,
                }
            }
            ("testcase", _) => {
                let Some(case_name) = attr("name")? else {
                    return Err(invalid("`<testcase>` has no `name` attribute".to_owned()));
                };
                let seconds = match attr("time")? {
                    None => None,
                    Some(raw) => Some(parse_seconds(&raw).ok_or_else(|| {
                        invalid(format!(
                            "`<testcase name=\"{case_name}\">` has `time=\"{raw}\"`, expected seconds (a number ≥ 0)"
                        ))
                    })?),
                };
                let (suite, suite_file) = enclosing_suite(&stack);
                Frame::Case(Box::new(CaseBuilder {
                    case: JunitCase {
                        name: case_name,
                        classname: attr("classname")?,
                        file: attr("file")?.or(suite_file),
                        suite,
                        seconds,
                        outcome: Outcome::Passed,
                        retries: 0,
                        line,
                    },
                    failed: false,
                    skipped: false,
                    flaky: 0,
                    rerun: 0,
                }))
            }
            _ => Frame::Other,
        };
        if empty {
            if let Frame::Case(builder) = frame {
                cases.push(builder.finish());
            }
        } else {
            stack.push((frame, line));
        }
    }
    if let Some((_, line)) = stack.last() {
        let (end_line, column) = at(body.len() as u64);
        return Err(JunitError::Malformed {
            line: end_line,
            column,
            message: format!("the file ends before the element opened on line {line} is closed"),
        });
    }
    if !seen_root {
        let (line, column) = at(body.len() as u64);
        return Err(JunitError::Invalid {
            line,
            column,
            message: "not a JUnit XML report: no root element".to_owned(),
        });
    }
    Ok(JunitReport { flavor, cases })
}

impl CaseBuilder {
    fn finish(mut self) -> JunitCase {
        self.case.retries = self.flaky + self.rerun;
        self.case.outcome = if self.failed || self.rerun > 0 {
            Outcome::Failed
        } else if self.skipped {
            Outcome::Skipped
        } else if self.flaky > 0 {
            Outcome::Flaky
        } else {
            Outcome::Passed
        };
        self.case
    }
}

fn enclosing_suite(stack: &[(Frame, usize)]) -> (Option<String>, Option<String>) {
    let mut name = None;
    let mut file = None;
    for (frame, _) in stack.iter().rev() {
        if let Frame::Suite {
            name: suite_name,
            file: suite_file,
        } = frame
        {
            if name.is_none() {
                name.clone_from(suite_name);
            }
            if file.is_none() {
                file.clone_from(suite_file);
            }
        }
    }
    (name, file)
}

fn attribute(
    reader: &Reader<&[u8]>,
    start: &BytesStart,
    key: &str,
) -> Result<Option<String>, String> {
    for attr in start.attributes() {
        let attr = attr.map_err(|e| format!("bad attribute: {e}"))?;
        if attr.key.local_name().as_ref() == key.as_bytes() {
            let value = attr
                .decoded_and_normalized_value(XmlVersion::Implicit1_0, reader.decoder())
                .map_err(|e| format!("bad value of `{key}`: {e}"))?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

fn parse_seconds(raw: &str) -> Option<f64> {
    let cleaned: String = raw.trim().chars().filter(|&c| c != ',').collect();
    if cleaned.is_empty() {
        return Some(0.0);
    }
    cleaned
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
}

/// A test case's identity in sift: a node id (`file::…::name`) and the file
/// part that groups it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeId {
    pub id: String,
    pub file: String,
}

/// The node id of a test case, in pytest's form `file::Class::name`.
///
/// - pytest: `classname` is `test.test_nn.TestNN` (xunit2) and maps back to
///   `test/test_nn.py::TestNN`. The module is the longest prefix for which
///   `module_exists("test/test_nn.py")` holds; without such a file, it ends
///   before the first segment starting with an uppercase letter (Python's
///   class naming). A `file` attribute (xunit1) is used as is. A collection
///   error (empty classname, dotted module as name) becomes the bare file
///   path, as in pytest's own `lastfailed`.
/// - others: `file::name`, where the file is the `file` attribute (jest with
///   `addFileAttribute`), else `classname` (nextest's binary id, Go's
///   package, Surefire's class), else the suite name.
pub fn node_id(flavor: Flavor, case: &JunitCase, module_exists: &dyn Fn(&str) -> bool) -> NodeId {
    let classname = case.classname.as_deref().unwrap_or("");
    match flavor {
        Flavor::Pytest => {
            if classname.is_empty() {
                let file = case.file.clone().unwrap_or_else(|| module_file(&case.name));
                return NodeId {
                    id: file.clone(),
                    file,
                };
            }
            let segments: Vec<&str> = classname.split('.').collect();
            let (file, classes) = match &case.file {
                Some(file) => {
                    let module = file.trim_end_matches(".py").replace('/', ".");
                    let rest = classname
                        .strip_prefix(&module)
                        .map(|r| r.trim_start_matches('.'))
                        .unwrap_or("");
                    (
                        file.clone(),
                        rest.split('.').filter(|s| !s.is_empty()).collect(),
                    )
                }
                None => {
                    let k = (1..=segments.len())
                        .rev()
                        .find(|&k| module_exists(&format!("{}.py", segments[..k].join("/"))))
                        .unwrap_or_else(|| {
                            segments
                                .iter()
                                .position(|s| s.starts_with(|c: char| c.is_ascii_uppercase()))
                                .filter(|&k| k > 0)
                                .unwrap_or(segments.len())
                        });
                    (
                        format!("{}.py", segments[..k].join("/")),
                        segments[k..].to_vec(),
                    )
                }
            };
            let mut id = file.clone();
            for part in classes.iter().chain(std::iter::once(&case.name.as_str())) {
                id.push_str("::");
                id.push_str(part);
            }
            NodeId { id, file }
        }
        Flavor::Other => {
            let file = case
                .file
                .clone()
                .filter(|f| !f.is_empty())
                .or_else(|| Some(classname.to_owned()).filter(|c| !c.is_empty()))
                .or_else(|| case.suite.clone().filter(|s| !s.is_empty()));
            match file {
                Some(file) => NodeId {
                    id: format!("{file}::{}", case.name),
                    file: crate::tests::test_id::file_part(&file).to_owned(),
                },
                None => NodeId {
                    id: case.name.clone(),
                    file: crate::tests::test_id::file_part(&case.name).to_owned(),
                },
            }
        }
    }
}

/// `test.test_broken` → `test/test_broken.py`.
fn module_file(dotted: &str) -> String {
    if dotted.ends_with(".py") {
        return dotted.to_owned();
    }
    format!("{}.py", dotted.replace('.', "/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn outcomes(report: &JunitReport) -> Vec<(String, Outcome)> {
        report
            .cases
            .iter()
            .map(|c| (c.name.clone(), c.outcome))
            .collect()
    }

    #[test]
    fn outcomes_from_children() {
        let report = parse(
            r#"<?xml version="1.0"?>
<testsuite name="s" tests="6">
  <testcase name="pass" time="0.5"/>
  <testcase name="fail" time="1,234.5"><failure message="boom">trace</failure></testcase>
  <testcase name="err"><error message="x"/><system-out>out</system-out></testcase>
  <testcase name="skip"><skipped/></testcase>
  <testcase name="flaky"><flakyFailure message="m"><stackTrace>t</stackTrace></flakyFailure></testcase>
  <testcase name="rerun"><failure/><rerunFailure/><rerunFailure/></testcase>
</testsuite>"#,
        )
        .unwrap();
        assert_eq!(
            outcomes(&report),
            [
                ("pass".into(), Outcome::Passed),
                ("fail".into(), Outcome::Failed),
                ("err".into(), Outcome::Failed),
                ("skip".into(), Outcome::Skipped),
                ("flaky".into(), Outcome::Flaky),
                ("rerun".into(), Outcome::Failed),
            ]
        );
        assert_eq!(report.cases[1].seconds, Some(1234.5));
        assert_eq!(report.cases[2].seconds, None);
        assert_eq!(report.cases[5].retries, 2);
        assert_eq!(report.cases[0].line, 3);
        assert_eq!(report.flavor, Flavor::Other);
    }

    #[test]
    fn nested_suites_give_names_and_files() {
        let report = parse(
            r#"<testsuites><testsuite name="outer" file="a.js">
  <testsuite name="inner"><testcase name="t" classname="c"/></testsuite>
</testsuite></testsuites>"#,
        )
        .unwrap();
        let case = &report.cases[0];
        assert_eq!(case.suite.as_deref(), Some("inner"));
        assert_eq!(case.file.as_deref(), Some("a.js"));
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = parse("<testsuite>\n  <testcase name=\"a\">\n</testsuite>").unwrap_err();
        assert!(
            matches!(err, JunitError::Malformed { line: 3, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("malformed XML"), "{err}");
        let err = parse("<testsuite>\n  <testcase name=\"a\">").unwrap_err();
        assert_eq!(
            err.to_string(),
            "2:22: malformed XML: the file ends before the element opened on line 2 is closed"
        );
        let err = parse("<html><body/></html>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "1:1: not a JUnit XML report: the root element is `<html>`, expected `<testsuites>` or `<testsuite>`"
        );
        let err = parse("<testsuite>\n\n    <testcase name=\"a\" time=\"soon\"/></testsuite>")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "3:5: `<testcase name=\"a\">` has `time=\"soon\"`, expected seconds (a number ≥ 0)"
        );
        let err = parse("<testsuite><testcase classname=\"x\"/></testsuite>").unwrap_err();
        assert!(err.to_string().contains("no `name`"), "{err}");
        assert!(
            parse("")
                .unwrap_err()
                .to_string()
                .contains("no root element")
        );
        assert!(parse("<testsuite a=\"1\" a=\"2\"/>").is_err());
        let err = parse_bytes(b"<testsuite>\n<testcase name=\"\xff\"/></testsuite>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "2:17: malformed XML: the file is not UTF-8"
        );
    }

    #[test]
    fn entities_and_bom() {
        let report =
            parse("\u{feff}<testsuite><testcase name=\"a &lt; b &amp; c\"/></testsuite>").unwrap();
        assert_eq!(report.cases[0].name, "a < b & c");
    }

    fn case(classname: &str, name: &str, file: Option<&str>) -> JunitCase {
        JunitCase {
            name: name.into(),
            classname: Some(classname.into()),
            file: file.map(Into::into),
            suite: None,
            seconds: None,
            outcome: Outcome::Passed,
            retries: 0,
            line: 1,
        }
    }

    #[test]
    fn pytest_node_ids() {
        let none = |_: &str| false;
        let id =
            |c: &JunitCase, exists: &dyn Fn(&str) -> bool| node_id(Flavor::Pytest, c, exists).id;
        assert_eq!(
            id(&case("test.test_nn.TestNN", "test_add[1]", None), &none),
            "test/test_nn.py::TestNN::test_add[1]"
        );
        assert_eq!(
            id(&case("test_a", "test_f", None), &none),
            "test_a.py::test_f"
        );
        // A module whose name starts with an uppercase letter needs the file to exist.
        let exists = |p: &str| p == "pkg/Mod.py";
        assert_eq!(
            id(&case("pkg.Mod.Cls.Inner", "t", None), &exists),
            "pkg/Mod.py::Cls::Inner::t"
        );
        // xunit1's file attribute.
        assert_eq!(
            id(
                &case("test.test_nn.TestNN", "t", Some("test/test_nn.py")),
                &none
            ),
            "test/test_nn.py::TestNN::t"
        );
        // Collection errors are keyed by the file, as pytest does.
        let broken = node_id(Flavor::Pytest, &case("", "test.test_broken", None), &none);
        assert_eq!(broken.id, "test/test_broken.py");
        assert_eq!(broken.file, "test/test_broken.py");
    }

    #[test]
    fn other_node_ids() {
        let none = |_: &str| false;
        let n = node_id(
            Flavor::Other,
            &case("sift-core", "pattern::tests::x", None),
            &none,
        );
        assert_eq!(n.id, "sift-core::pattern::tests::x");
        assert_eq!(n.file, "sift-core");
        let n = node_id(
            Flavor::Other,
            &case("com.example.FooTest", "testA", None),
            &none,
        );
        assert_eq!(n.id, "com.example.FooTest::testA");
        let n = node_id(
            Flavor::Other,
            &case("d t", "d t", Some("src/a.test.js")),
            &none,
        );
        assert_eq!(n.id, "src/a.test.js::d t");
        assert_eq!(n.file, "src/a.test.js");
        let mut bare = case("", "lonely", None);
        bare.classname = None;
        assert_eq!(node_id(Flavor::Other, &bare, &none).id, "lonely");
    }

    /// (node id, outcome, seconds) of every case in a sample report.
    fn sample(name: &str, text: &str) -> (Flavor, Vec<(String, Outcome, Option<f64>)>) {
        let report = parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let exists = |_: &str| false;
        let cases = report
            .cases
            .iter()
            .map(|c| (node_id(report.flavor, c, &exists).id, c.outcome, c.seconds))
            .collect();
        (report.flavor, cases)
    }

    fn row(id: &str, outcome: Outcome, seconds: Option<f64>) -> (String, Outcome, Option<f64>) {
        (id.to_owned(), outcome, seconds)
    }

    #[test]
    fn sample_pytest() {
        let (flavor, cases) = sample("pytest", include_str!("../../tests/data/junit/pytest.xml"));
        assert_eq!(flavor, Flavor::Pytest);
        assert_eq!(
            cases,
            [
                row("test/test_broken.py", Outcome::Failed, Some(0.0)),
                row(
                    "test/test_nn.py::TestNN::test_add",
                    Outcome::Passed,
                    Some(1.25)
                ),
                row(
                    "test/test_nn.py::TestNN::test_conv[2-float32]",
                    Outcome::Failed,
                    Some(0.75)
                ),
                row(
                    "test/test_nn.py::test_module_level",
                    Outcome::Failed,
                    Some(0.5)
                ),
                row(
                    "test/test_nn.py::test_needs_gpu",
                    Outcome::Skipped,
                    Some(0.001)
                ),
                row(
                    "test/test_nn.py::test_known_bug",
                    Outcome::Skipped,
                    Some(0.04)
                ),
                row(
                    "test/test_nn.py::test_setup_error",
                    Outcome::Failed,
                    Some(0.002)
                ),
                row(
                    "test/distributed/test_c10d.py::TestC10d::TestInner::test_allreduce",
                    Outcome::Passed,
                    Some(0.598)
                ),
            ]
        );
    }

    #[test]
    fn sample_nextest() {
        let (flavor, cases) = sample(
            "nextest",
            include_str!("../../tests/data/junit/nextest.xml"),
        );
        assert_eq!(flavor, Flavor::Other);
        assert_eq!(
            cases,
            [
                row(
                    "sift-core::pattern::tests::star_stays_in_segment",
                    Outcome::Passed,
                    Some(0.004)
                ),
                row(
                    "sift-core::shard::tests::every_test_exactly_once",
                    Outcome::Passed,
                    Some(1.203)
                ),
                row(
                    "sift-core::net::tests::flaky_timeout",
                    Outcome::Flaky,
                    Some(0.21)
                ),
                row("sift::it::plan::json_plan", Outcome::Passed, Some(0.95)),
                row(
                    "sift::it::order::orders_failures_first",
                    Outcome::Failed,
                    Some(0.145)
                ),
            ]
        );
    }

    #[test]
    fn sample_jest_junit() {
        let (_, cases) = sample(
            "jest-junit",
            include_str!("../../tests/data/junit/jest-junit.xml"),
        );
        assert_eq!(
            cases,
            [
                row(
                    "src/sum.test.js::sum adds two numbers",
                    Outcome::Passed,
                    Some(0.003)
                ),
                row(
                    "src/sum.test.js::sum handles <NaN> & friends",
                    Outcome::Failed,
                    Some(0.011)
                ),
                row(
                    "src/sum.test.js::sum is pending",
                    Outcome::Skipped,
                    Some(0.0)
                ),
                // Without jest-junit's addFileAttribute, the classname stands in.
                row(
                    "api client retries on 503::api client retries on 503",
                    Outcome::Passed,
                    Some(1.096)
                ),
                row(
                    "Test suite failed to run::src/broken.test.js",
                    Outcome::Failed,
                    Some(0.0)
                ),
            ]
        );
    }

    #[test]
    fn sample_go_junit_report() {
        let (_, cases) = sample(
            "go",
            include_str!("../../tests/data/junit/go-junit-report.xml"),
        );
        assert_eq!(
            cases,
            [
                row("example.com/calc::TestAdd", Outcome::Passed, Some(0.001)),
                row(
                    "example.com/calc::TestAdd/negative_numbers",
                    Outcome::Passed,
                    Some(0.0)
                ),
                row("example.com/calc::TestDiv", Outcome::Failed, Some(0.01)),
                row(
                    "example.com/calc::TestSlowPath",
                    Outcome::Skipped,
                    Some(0.0)
                ),
                row("example.com/calc::TestMul", Outcome::Passed, Some(0.004)),
                row(
                    "example.com/calc/broken::[build failed]",
                    Outcome::Failed,
                    Some(0.0)
                ),
            ]
        );
    }

    #[test]
    fn sample_surefire() {
        let text = include_str!("../../tests/data/junit/surefire.xml");
        let (_, cases) = sample("surefire", text);
        let c = "com.example.CalculatorTest";
        assert_eq!(
            cases,
            [
                row(&format!("{c}::addsNumbers"), Outcome::Passed, Some(0.012)),
                row(&format!("{c}::dividesByZero"), Outcome::Failed, Some(0.004)),
                row(&format!("{c}::readsConfig"), Outcome::Failed, Some(0.02)),
                row(&format!("{c}::usesNetwork"), Outcome::Skipped, Some(0.0)),
                row(
                    &format!("{c}::timesOutSometimes"),
                    Outcome::Flaky,
                    Some(1234.5)
                ),
                row(
                    &format!("{c}$Nested::parameterized(int)[1]"),
                    Outcome::Passed,
                    Some(0.001)
                ),
            ]
        );
        let report = parse(text).unwrap();
        assert_eq!(report.cases[1].retries, 2);
        assert_eq!(report.cases[4].retries, 1);
    }

    #[test]
    fn sample_nested_suites() {
        let text = include_str!("../../tests/data/junit/phpunit-nested.xml");
        let (_, cases) = sample("phpunit", text);
        assert_eq!(
            cases,
            [
                row("tests/MoneyTest.php::testAdd", Outcome::Passed, Some(0.01)),
                row(
                    "tests/MoneyTest.php::testRound with data set #0",
                    Outcome::Passed,
                    Some(0.008)
                ),
                row(
                    "tests/MoneyTest.php::testRound with data set #1",
                    Outcome::Failed,
                    Some(0.012)
                ),
            ]
        );
        let report = parse(text).unwrap();
        assert_eq!(
            report.cases[2].suite.as_deref(),
            Some("App\\Tests\\MoneyTest::testRound")
        );
        assert_eq!(report.cases[2].line, 9);
    }

    proptest! {
        /// Any input, however broken, gives a report or an error: never a panic,
        /// and errors point inside the text.
        #[test]
        fn never_panics(text in "(<|>|/|=|\"|testsuite|testcase|failure| |name|time|\n|a|&|;|!|-){0,60}") {
            match parse(&text) {
                Ok(_) => {}
                Err(JunitError::Malformed { line, .. } | JunitError::Invalid { line, .. }) => {
                    prop_assert!(line >= 1 && line <= text.lines().count().max(1) + 1);
                }
            }
        }

        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = parse_bytes(&bytes);
        }
    }
}
