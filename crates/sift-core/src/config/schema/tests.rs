use super::*;
use proptest::prelude::*;

/// A reading in a form two readings can be compared in: tasks sorted by
/// name (`toml` gives them sorted, this reader in file order, and the order
/// is not observable), everything else as read, spans included.
trait Comparable: Schema + std::fmt::Debug {
    fn sort_tasks(&mut self) {}
}

impl Comparable for RawRoot {
    fn sort_tasks(&mut self) {
        self.tasks.sort_by(|a, b| a.0.get_ref().cmp(b.0.get_ref()));
    }
}

impl Comparable for RawInclude {
    fn sort_tasks(&mut self) {
        self.tasks.sort_by(|a, b| a.0.get_ref().cmp(b.0.get_ref()));
    }
}

impl Comparable for RawNested {}

/// Whenever this reader answers, `toml` answers the same, spans included.
fn agrees<T: Comparable>(text: &str) -> bool {
    let Some(mut ours) = read::<T>(text) else {
        return false;
    };
    let mut theirs: T = toml::from_str(text)
        .unwrap_or_else(|e| panic!("the schema reader accepted what toml rejects: {e}\n{text}"));
    ours.sort_tasks();
    theirs.sort_tasks();
    assert_eq!(format!("{ours:?}"), format!("{theirs:?}"), "text:\n{text}");
    true
}

const REALISTIC: &str = r#"# a comment
include = ["ci/*.toml"]

[components]
exclusive = { platform = ["linux", 'mac'], kind = ["build"] }
inclusive = ["docs"]

[[rules]]
files = ["**/*.md", "docs/**"] # trailing
inclusive = ["docs"]

[[rules]]
files = [
  "src/**",
  # a comment inside an array
  "!src/gen/**",
]
exclusive = ["linux"]

[[rules]]
files = ["Cargo.lock"]
lockfile = "cargo"

[[rules]]
files = ["Cargo.toml"]
manifest = 'cargo'

[tasks.build]
schedules = ["linux"]
run = """
make \
  all"""
description = "say \"hi\" \u00e9 \x41\ttab"

[tasks."quoted name/with.dots"]
any = [{ changed = ["a/**"] }, { not = { schedules = ["docs"] } }]
needs = ["build"]

[ tasks . 'literal key' ]
all = [{ always = true }, { on_backstop = true }, { on_expanded = true }]
backstop = false
env = { RUST_LOG = "debug", "QUOTED" = 'x' }
cwd = "sub/dir"
timeout = "10m"
run = '''
literal \n ''quotes'' '''

[tasks.always]
always = true
"changed" = []
"#;

#[test]
fn answers_realistic_configurations_exactly() {
    assert!(agrees::<RawRoot>(REALISTIC));
    // CRLF line ends, except inside multi-line strings (declined there).
    let crlf = REALISTIC.replace('\n', "\r\n");
    assert!(read::<RawRoot>(&crlf).is_none());
    let crlf = REALISTIC[..REALISTIC.find("[tasks.build]").unwrap()].replace('\n', "\r\n");
    assert!(agrees::<RawRoot>(&crlf));
    assert!(agrees::<RawNested>(
        "[[rules]]\nfiles = [\"x\"]\nexclusive = [\"a\"]\n\n[[rules]]\nfiles = []\n"
    ));
    assert!(agrees::<RawInclude>(
        "# tasks\n[tasks.a]\nrun = \"x\"\n[tasks.b]\nneeds = [\"a\"]"
    ));
    assert!(agrees::<RawRoot>(""));
    assert!(agrees::<RawRoot>("\n# only a comment\n"));
    assert!(agrees::<RawInclude>(""));
}

/// Sections the reader leaves to the general path may come before or after
/// its own tables: offsets, and so spans, are kept either way.
#[test]
fn leaves_other_sections_to_the_general_path() {
    let text = r#"
[tasks.a]
changed = ["x/**"]

[store]
url = "s3://ci-bucket/sift"

[[rules]]
files = ["y/**"]
exclusive = ["all"]

[backstop]
branches = ["main", "release/*"]
every_pushes = 20
every_hours = 4.5

[components]
exclusive = ["all"]

[ci.gitlab]
extends = ".sift-task"
include = ["examples/gitlab/sift-task.yml"]

[ci.buildkite]
agents = { queue = "linux" }
plugins = [{ "docker#v5.12.0" = { image = "rust:1.95" } }]
retry = { automatic = [{ exit_status = -1, limit = 2 }] }
command = """
ci/run-task "$SIFT_TASK"
[tasks.not-a-header]
"""
"#;
    assert!(agrees::<RawRoot>(text));
    let own = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../sift.toml"))
        .expect("the repository's own sift.toml");
    assert!(agrees::<RawRoot>(&own));
}

#[test]
fn declines_what_it_is_not_sure_of() {
    for text in [
        // duplicate tables and keys
        "[tasks.a]\nrun = \"x\"\n[tasks.a]\nrun = \"y\"\n",
        "[tasks.a]\nrun = \"x\"\n[tasks.\"a\"]\n",
        "[tasks.a]\nrun = \"x\"\nrun = \"y\"\n",
        // unknown keys and wrong types
        "[tasks.a]\nunknown = 1\n",
        "[tasks.a]\nrun = 1\n",
        "[tasks.a]\nrun = [\"x\"]\n",
        "[tasks.a]\nalways = \"yes\"\n",
        "[tasks.a]\nany = [{ schedules = [\"a\"], extra = true }]\n",
        "[[rules]]\nfiles = [\"x\"]\nlockfile = [\"cargo\"]\n",
        "[[rules]]\ninclusive = [\"x\"]\n",
        // shapes left to toml
        "tasks.a.run = \"x\"\n",
        "tasks = {}\n[tasks.a]\n",
        "rules = []\n",
        "[tasks]\na = { run = \"x\" }\n",
        "[tasks.a.b]\n",
        "[[tasks.a]]\n",
        "[rules]\n",
        "[[rules.x]]\n",
        "[tasks.a]\nenv.X = \"y\"\n",
        "[tasks.a]\nany = [{ always = true,\n }]\n",
        "[tasks.a]\nnot = { always = true, }\n",
        "[tasks.a]\nrun = 1979-05-27\n",
        "\u{feff}[tasks.a]\n",
        // malformed
        "[tasks.a\n",
        "[tasks.a]\nrun = \"x\n",
        "[tasks.a]\nrun = \"x\" y\n",
        "[tasks.a]\nalways = trueish\n",
        "[tasks.a]\nrun = \"\\q\"\n",
        "[tasks.a]\nrun = \"\\uD800\"\n",
        "[tasks.a]\nrun = \"\"\"x\r\ny\"\"\"\n",
        "[tasks.a]\rrun = \"x\"\n",
        "# bad \u{7} comment\n[tasks.a]\n",
        "[tasks.a]\nrun = \"\"\"a\"\"\"\"\"\"\n",
    ] {
        assert!(read::<RawRoot>(text).is_none(), "{text}");
    }
    // Tables that do not belong in the file are the general path's to report.
    assert!(read::<RawNested>("[tasks.a]\nrun = \"x\"\n").is_none());
    assert!(read::<RawInclude>("[[rules]]\nfiles = [\"x\"]\n").is_none());
    assert!(read::<RawInclude>("x = 1\n[tasks.a]\n").is_none());
}

#[test]
fn declines_nesting_beyond_its_limit() {
    let deep = format!(
        "[tasks.a]\n{}always = true{}\n",
        "not = { ".repeat(40),
        " }".repeat(40)
    );
    assert!(toml::from_str::<RawRoot>(&deep).is_ok());
    assert!(read::<RawRoot>(&deep).is_none());
    let shallow = "[tasks.a]\nnot = { not = { always = true } }\n";
    assert!(agrees::<RawRoot>(shallow));
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[components]\n".to_owned()),
        Just("exclusive = [\"a\", \"b\"]\n".to_owned()),
        Just("exclusive = { f = [\"a\"] }\n".to_owned()),
        Just("inclusive = [\"c\"]\n".to_owned()),
        Just("[[rules]]\n".to_owned()),
        Just("[ [rules]]\n".to_owned()),
        Just("[[ rules ]] # c\n".to_owned()),
        Just("files = [\"x/**\", 'y']\n".to_owned()),
        Just("files = [\n  \"x\", # c\n  'y',\n]\n".to_owned()),
        Just("[tasks.t]\n".to_owned()),
        Just("[tasks.u]\n".to_owned()),
        Just("[tasks.\"t\"]\n".to_owned()),
        Just("[ tasks . 'v w' ]\n".to_owned()),
        Just("[tasks]\n".to_owned()),
        Just("[tasks.t.x]\n".to_owned()),
        Just("[store]\nurl = \"s\"\n".to_owned()),
        Just("[ci.buildkite]\nretry = { automatic = [{ limit = 2 }] }\n".to_owned()),
        Just("schedules = [\"a\"]\n".to_owned()),
        Just("changed = []\n".to_owned()),
        Just("any = [{ changed = [\"z\"] }, { always = true }]\n".to_owned()),
        Just("all = [\n{ on_backstop = true },\n]\n".to_owned()),
        Just("not = { schedules = [] }\n".to_owned()),
        Just("not = {}\n".to_owned()),
        Just("needs = [\"t\"]\n".to_owned()),
        Just("run = \"r\\t\\\"\"\n".to_owned()),
        Just("run = '''\nr'''\n".to_owned()),
        Just("run = \"\"\"\\\n   r\"\"\"\"\n".to_owned()),
        Just("description = \"é\"\n".to_owned()),
        Just("env = { A = \"1\", B = '2' }\n".to_owned()),
        Just("env = { A = \"1\", A = '2' }\n".to_owned()),
        Just("cwd = \"d\"\n".to_owned()),
        Just("always = false\n".to_owned()),
        Just("backstop = true\n".to_owned()),
        Just("include = [\"i\"]\n".to_owned()),
        Just("[cache]\nstore = \"s\"\n".to_owned()),
        Just("# c\n".to_owned()),
        Just("\n".to_owned()),
        Just("  \t\n".to_owned()),
        Just("x.y = 1\n".to_owned()),
        Just("n = 1_000\n".to_owned()),
        Just("f = 1.5e3\n".to_owned()),
        Just("\"\" = 1\n".to_owned()),
        Just("run = \"\"\"a\n\"\"\"\n".to_owned()),
    ]
}

proptest! {
    #[test]
    fn agrees_with_toml_on_arbitrary_text(text in "(\\PC|\n|\\[|\\]|=|\"|'|\\{|\\}|,|\\.|#|tasks|rules|run){0,120}") {
        agrees::<RawRoot>(&text);
        agrees::<RawNested>(&text);
        agrees::<RawInclude>(&text);
    }

    #[test]
    fn agrees_with_toml_on_structured_text(
        parts in proptest::collection::vec(fragment(), 0..14),
        crlf in any::<bool>(),
    ) {
        let mut text: String = parts.concat();
        if crlf {
            text = text.replace('\n', "\r\n");
        }
        agrees::<RawRoot>(&text);
        agrees::<RawNested>(&text);
        agrees::<RawInclude>(&text);
    }

    /// Small mutations of a realistic file: each either reads the same as
    /// toml reads it or is declined.
    #[test]
    fn agrees_with_toml_on_mutated_configurations(
        at in 0usize..REALISTIC.len(),
        insert in prop_oneof![
            Just(""), Just("\""), Just("'"), Just("["), Just("]"), Just("{"), Just("}"),
            Just(","), Just("\n"), Just("#"), Just("="), Just("\\"), Just("."), Just(" "),
            Just("\r"), Just("\t"), Just("x"), Just("\u{7f}"),
        ],
        remove in 0usize..3,
    ) {
        let mut text = REALISTIC.to_owned();
        let at = (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        let end = (at + remove).min(text.len());
        let end = (end..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
        text.replace_range(at..end, insert);
        agrees::<RawRoot>(&text);
    }
}

fn task_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("schedules = [\"a\", 'b']".to_owned()),
        Just("changed = [\"x/**\", \"!x/gen/**\"]".to_owned()),
        Just("always = true".to_owned()),
        Just("any = [{ changed = [\"z\"] }, { not = { always = true } }]".to_owned()),
        Just("all = [\n  { on_expanded = true }, # c\n]".to_owned()),
        Just("needs = [\n\"t0\",\n\"t1\"\n]".to_owned()),
        Just("run = \"make \\\"all\\\"\"".to_owned()),
        Just("run = \"\"\"\nline one\nline two\"\"\"".to_owned()),
        Just("description = 'it''s'".to_owned()),
        Just("env = { A = \"1\" }".to_owned()),
        Just("timeout = \"1h\"".to_owned()),
        Just("backstop = false".to_owned()),
        Just("# comment".to_owned()),
    ]
}

fn section() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0u8..6, proptest::collection::vec(task_line(), 0..4)).prop_map(|(n, lines)| {
            format!("[tasks.t{n}]\n{}\n", lines.join("\n"))
        }),
        2 => proptest::collection::vec(
            prop_oneof![
                Just("files = [\"**/*.rs\"]"),
                Just("inclusive = [\"docs\"]"),
                Just("exclusive = []"),
            ],
            0..3,
        )
        .prop_map(|lines| format!("[[rules]]\n{}\n", lines.join("\n"))),
        1 => Just("[store]\nurl = \"s3://b\"\n".to_owned()),
        1 => Just("[components]\nexclusive = [\"a\", \"b\"]\n".to_owned()),
        1 => Just("[ci.gitlab]\nextends = \".x\"\n".to_owned()),
    ]
}

proptest! {
    /// Documents made of well-formed sections, in any order: most are read
    /// here, and every one reads as toml reads it.
    #[test]
    fn agrees_with_toml_on_well_formed_documents(
        root in proptest::option::of(Just("include = [\"ci/*.toml\"]\n")),
        sections in proptest::collection::vec(section(), 0..8),
    ) {
        let text = format!("{}{}", root.unwrap_or_default(), sections.concat());
        let answered = agrees::<RawRoot>(&text);
        if toml::from_str::<RawRoot>(&text).is_ok() {
            prop_assert!(answered, "declined valid text:\n{text}");
        }
    }
}

fn many_tasks(range: std::ops::Range<usize>) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    for i in range {
        let _ = write!(
            text,
            "\n[tasks.t-{i:05}]\nchanged = [\"d{}/**\", \"**/*.rs\"]\nneeds = [\"t-{:05}\"]\nrun = \"make {i}\"\n",
            i % 97,
            i.saturating_sub(1)
        );
    }
    text
}

#[test]
fn reads_long_files_in_two_halves() {
    let text = format!(
        "[components]\nexclusive = [\"a\"]\n{}\n[[rules]]\nfiles = [\"x\"]\n{}\n[store]\nurl = \"s3://b\"\n",
        many_tasks(0..3000),
        many_tasks(3000..6000)
    );
    assert!(text.len() > SPLIT_AT);
    let split = split_point(&text).expect("a split point");
    assert!(split > text.len() / 2 && text[split..].starts_with("[tasks."));
    assert!(agrees::<RawRoot>(&text));
    assert_eq!(read::<RawRoot>(&text).unwrap().tasks.len(), 6000);
}

#[test]
fn a_split_inside_a_value_is_read_on_from_the_first_half() {
    let inside: String = (0..4000).map(|i| format!("[tasks.fake-{i}]\n")).collect();
    let text = format!(
        "{}\n[tasks.long]\nrun = \"\"\"\n{inside}\"\"\"\n{}",
        many_tasks(0..2000),
        many_tasks(2000..4000)
    );
    let split = split_point(&text).expect("a split point");
    let long = text.find("[tasks.long]").unwrap();
    let end = text.find("\"\"\"\n\n[tasks.t-02000]").unwrap();
    assert!(
        long < split && split < end,
        "the split falls inside the string"
    );
    assert!(agrees::<RawRoot>(&text));
    let read = read::<RawRoot>(&text).unwrap();
    assert_eq!(read.tasks.len(), 4001);
    assert!(
        !read
            .tasks
            .iter()
            .any(|(name, _)| name.get_ref().starts_with("fake"))
    );
}

fn scan_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => b'a'..=b'z',
        1 => any::<u8>(),
        1 => prop_oneof![
            Just(b'"'), Just(b'\\'), Just(b'\''), Just(b'\t'), Just(b'\n'), Just(b'\r'),
            Just(0x00), Just(0x1f), Just(0x20), Just(0x7e), Just(0x7f), Just(0x80), Just(0xff),
        ],
    ]
}

proptest! {
    /// The word-at-a-time scan stops exactly where the byte loop does.
    #[test]
    fn word_scan_agrees_with_the_byte_loop(
        bytes in proptest::collection::vec(scan_byte(), 0..80),
    ) {
        for class in [BASIC, LITERAL, ML_BASIC, ML_LITERAL, COMMENT, BARE] {
            let exact = bytes
                .iter()
                .position(|&b| CLASSES[b as usize] & class == 0)
                .unwrap_or(bytes.len());
            prop_assert_eq!(plain_len(&bytes, class), exact, "class {} in {:?}", class, bytes);
        }
    }
}

/// Every byte value at every position of runs up to three blocks long, in
/// every class, against the byte table: the block-wise test stops exactly
/// where the table does.
#[test]
fn plain_len_stops_where_the_byte_table_does() {
    for class in [BASIC, LITERAL, ML_BASIC, ML_LITERAL, COMMENT, BARE] {
        for len in 1..50 {
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = byte;
                    let want = bytes
                        .iter()
                        .position(|&b| CLASSES[b as usize] & class == 0)
                        .unwrap_or(len);
                    assert_eq!(
                        plain_len(&bytes, class),
                        want,
                        "class {class}, {len} bytes, {byte:#x} at {at}"
                    );
                    // A tab first, in the same block or the one before.
                    if at > 0 {
                        bytes[at - 1] = b'\t';
                        let want = if CLASSES[b'\t' as usize] & class == 0 {
                            at - 1
                        } else {
                            want
                        };
                        assert_eq!(
                            plain_len(&bytes, class),
                            want,
                            "class {class}, tab then {byte:#x} at {at}"
                        );
                    }
                }
            }
        }
    }
}
