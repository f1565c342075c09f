//! mozbuild's own cases (`test_reader.py::test_schedules`, the `|` rule and
//! its quirks, reference §2–§3.5) and a tree with mozilla-central's real
//! annotations (§3.6).

use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::mozilla::gecko;

fn gecko_components() -> Components {
    Components::new(gecko::declarations())
}

fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

/// (inclusive names in order, exclusive names or None for the default, components)
fn info(tree: &mut MozbuildTree, c: &Components, path: &str) -> (Vec<String>, Option<Vec<String>>) {
    let a = tree.annotations(path, c, false);
    assert!(a.uncertain.is_empty(), "{path}: {:?}", a.uncertain);
    let s = a.schedules.unwrap_or_default();
    let inclusive = s
        .inclusive
        .iter()
        .map(|id| c.name(*id).to_owned())
        .collect();
    let exclusive = s
        .exclusive
        .filter(|list| !list.iter().copied().eq(c.all_exclusive().iter()))
        .map(|list| list.iter().map(|id| c.name(*id).to_owned()).collect());
    (inclusive, exclusive)
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn test_schedules_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "moz.build",
        "with Files('*.win'):\n    SCHEDULES.exclusive = ['windows']\n\n\
         with Files('*.osx'):\n    SCHEDULES.exclusive = ['macosx']\n\n\
         with Files('win.and.osx'):\n    # conflicts with the clauses above; the later one wins\n    SCHEDULES.exclusive = ['macosx', 'windows']\n\n\
         with Files('subd/**.py'):\n    SCHEDULES.inclusive += ['py-lint']\n\n\
         with Files('**/*.js'):\n    SCHEDULES.inclusive += ['js-lint']\n",
    );
    write(
        root,
        "subd/moz.build",
        "with Files('yaml.py'):\n    SCHEDULES.inclusive += ['yaml-lint']\n\n\
         with Files('win.js'):\n    SCHEDULES.exclusive = ['windows']\n",
    );
    let c = gecko_components();
    let mut tree = MozbuildTree::new(root);
    assert_eq!(info(&mut tree, &c, "somefile"), (vec![], None));
    assert_eq!(
        info(&mut tree, &c, "foo.win"),
        (vec![], Some(strings(&["windows"])))
    );
    assert_eq!(
        info(&mut tree, &c, "foo.osx"),
        (vec![], Some(strings(&["macosx"])))
    );
    assert_eq!(
        info(&mut tree, &c, "subd/aa.py"),
        (strings(&["py-lint"]), None)
    );
    assert_eq!(
        info(&mut tree, &c, "subd/yaml.py"),
        (strings(&["py-lint", "yaml-lint"]), None)
    );
    // An exclusive override does not undo inclusive additions.
    assert_eq!(
        info(&mut tree, &c, "subd/win.js"),
        (strings(&["js-lint"]), Some(strings(&["windows"])))
    );
    assert_eq!(
        info(&mut tree, &c, "win.and.osx"),
        (vec![], Some(strings(&["macosx", "windows"])))
    );
    // `subd/**.py` is `subd/*.py`: files directly in subd only.
    assert_eq!(info(&mut tree, &c, "subd/deeper/x.py"), (vec![], None));
    let components = tree.annotations("subd/yaml.py", &c, false).components(&c);
    assert_eq!(components.iter().count(), 37 + 2);
    assert!(!tree.diagnostics().has_errors());
}

#[test]
fn files_without_star_is_exact_and_deleted_files_match_by_name() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "moz.build",
        "with Files('foo'):\n    SCHEDULES.exclusive = ['linux']\n",
    );
    let c = gecko_components();
    let mut tree = MozbuildTree::new(dir.path());
    assert_eq!(
        info(&mut tree, &c, "foo"),
        (vec![], Some(strings(&["linux"])))
    );
    assert_eq!(info(&mut tree, &c, "foo/baz"), (vec![], None));
}

#[test]
fn quirks_empty_block_and_final() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "moz.build",
        "with Files('a/**'):\n    pass\n\
         with Files('**'):\n    SCHEDULES.exclusive = ['linux']\n",
    );
    write(
        dir.path(),
        "f/moz.build",
        "with Files('**'):\n    FINAL = True\n    SCHEDULES.exclusive = ['linux']\n\
         with Files('**'):\n    SCHEDULES.exclusive = ['windows']\n",
    );
    write(
        dir.path(),
        "g/moz.build",
        "with Files('**'):\n    SCHEDULES.exclusive = ['linux']\n    FINAL = True\n\
         with Files('**'):\n    SCHEDULES.exclusive = ['windows']\n",
    );
    let c = gecko_components();
    let mut tree = MozbuildTree::new(dir.path());
    // Quirk 1: the empty block hides the later one.
    assert_eq!(info(&mut tree, &c, "x"), (vec![], None));
    // Quirk 2: FINAL before SCHEDULES drops it, and later ones too.
    assert_eq!(info(&mut tree, &c, "f/x"), (vec![], None));
    // SCHEDULES first: FINAL has no effect on it.
    assert_eq!(
        info(&mut tree, &c, "g/x"),
        (vec![], Some(strings(&["windows"])))
    );
}

#[test]
fn errors_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "moz.build",
        "with Files('a'):\n    SCHEDULES.inclusive = ['docs']\n\
         with Files('b'):\n    SCHEDULES.exclusive += ['linux']\n\
         with Files('c'):\n    SCHEDULES.exclusive = ['linx']\n\
         with Files('d'):\n    SCHEDULES.inclusive += ['linux']\n\
         with Files('e'):\n    SCHEDULES.exclusive = ('linux')\n",
    );
    let c = gecko_components();
    let mut tree = MozbuildTree::new(dir.path());
    tree.annotations("a", &c, false);
    let locations: Vec<String> = tree.diagnostics().errors().map(|d| d.location()).collect();
    assert_eq!(
        locations,
        [
            "moz.build:2:5",
            "moz.build:4:5",
            "moz.build:6:28",
            "moz.build:8:29",
            "moz.build:10:5"
        ]
    );
    let texts: Vec<String> = tree.diagnostics().errors().map(|d| d.to_plain()).collect();
    assert!(texts[2].contains("did you mean `linux`"), "{}", texts[2]);
}

#[test]
fn unreadable_syntax_is_a_warning_and_conservative() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "moz.build",
        "with Files('**'):\n    SCHEDULES.exclusive = ['docs']\n",
    );
    write(dir.path(), "bad/moz.build", "with Files('x':\n    pass\n");
    write(
        dir.path(),
        "odd/moz.build",
        "with Files('*.py'):\n    SCHEDULES.exclusive = LISTS['python']\n",
    );
    let c = gecko_components();
    let mut tree = MozbuildTree::new(dir.path());
    let bad = tree.annotations("bad/x", &c, false);
    assert_eq!(bad.uncertain.len(), 1, "{:?}", bad.uncertain);
    assert!(bad.uncertain[0].starts_with("bad/moz.build:"));
    assert_eq!(bad.components(&c).iter().count(), 37);
    let odd = tree.annotations("odd/a.py", &c, false);
    assert!(
        odd.uncertain[0].starts_with("odd/moz.build:2"),
        "{:?}",
        odd.uncertain
    );
    assert_eq!(odd.exclusive(), None);
    // Paths the unreadable block does not match are answered as usual.
    let fine = tree.annotations("odd/a.txt", &c, false);
    assert!(fine.uncertain.is_empty());
    assert_eq!(c.names_of(&fine.components(&c)), ["docs"]);
    assert!(tree.diagnostics().warnings().count() >= 2);
    assert!(!tree.diagnostics().has_errors());
}

/// mozilla-central's real annotations (reference §3.6), abridged.
const GECKO_ROOT: &str = r#"
# -*- Mode: python; indent-tabs-mode: nil; tab-width: 40 -*-
CONFIGURE_SUBST_FILES += ["config/autoconf.mk"]

with Files("docs/**"):
    SCHEDULES.exclusive = ["docs"]

with Files("*gradle*"):
    BUG_COMPONENT = ("GeckoView", "General")
    SCHEDULES.exclusive = ["android"]

with Files("**/*.rst"):
    SCHEDULES.inclusive += ["docs"]

with Files("**/*.md"):
    SCHEDULES.inclusive += ["docs"]

with Files("**/*.rs"):
    SCHEDULES.inclusive += ["rusttests"]

with Files("**/reftest.list"):
    SCHEDULES.inclusive += ["test-verify", "test-verify-gpu"]
    SCHEDULES.exclusive = ["reftest"]

with Files("**/mochitest.toml"):
    SCHEDULES.inclusive += ["test-verify", "test-verify-gpu"]
    SCHEDULES.exclusive = ["mochitest-plain"]

with Files("**/browser.toml"):
    SCHEDULES.inclusive += ["test-verify", "test-verify-gpu"]
    SCHEDULES.exclusive = ["mochitest-browser-chrome"]

with Files("**/xpcshell.toml"):
    SCHEDULES.inclusive += ["test-verify"]
    SCHEDULES.exclusive = ["xpcshell"]

with Files("**/tests/**"):
    SCHEDULES.inclusive += ["test-verify", "test-verify-gpu"]

if CONFIG["MOZ_WIDGET_TOOLKIT"] == "gtk":
    with Files("widget/gtk/**"):
        SCHEDULES.exclusive = ["linux"]

DIRS += ["build", "mfbt"]
"#;

#[test]
fn realistic_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "moz.build", GECKO_ROOT);
    write(
        root,
        "widget/cocoa/moz.build",
        "with Files('**'):\n    BUG_COMPONENT = ('Core', 'Widget: Cocoa')\n    SCHEDULES.exclusive = ['macosx']\n\nXPIDL_MODULE = 'widget_cocoa'\n",
    );
    write(
        root,
        "mobile/android/moz.build",
        "with Files('**'):\n    SCHEDULES.exclusive = ['android', 'fenix', 'focus-android']\n\n\
         with Files('fenix/**'):\n    SCHEDULES.exclusive = ['android', 'fenix']\n\n\
         with Files('focus-android/**'):\n    SCHEDULES.exclusive = ['android', 'focus-android']\n\n\
         with Files('docs/**'):\n    SCHEDULES.exclusive = ['docs']\n",
    );
    write(
        root,
        "testing/mochitest/moz.build",
        "with Files('**'):\n    SCHEDULES.exclusive = ['mochitest']\n",
    );
    let c = gecko_components();
    let mut tree = MozbuildTree::new(root);
    let names = |tree: &mut MozbuildTree, path: &str| {
        c.names_of(&tree.annotations(path, &c, false).components(&c))
    };
    assert_eq!(names(&mut tree, "docs/index.rst"), ["docs"]);
    assert_eq!(names(&mut tree, "build.gradle"), ["android"]);
    assert_eq!(
        names(&mut tree, "gradle/wrapper/gradle-wrapper.properties"),
        ["android"]
    );
    assert_eq!(names(&mut tree, "widget/cocoa/nsMenuX.mm"), ["macosx"]);
    assert_eq!(
        names(&mut tree, "widget/cocoa/README.md"),
        ["docs", "macosx"]
    );
    assert_eq!(
        names(&mut tree, "mobile/android/fenix/app/a.kt"),
        ["android", "fenix"]
    );
    assert_eq!(names(&mut tree, "mobile/android/docs/x.md"), ["docs"]);
    assert_eq!(
        names(&mut tree, "testing/mochitest/runtests.py"),
        ["mochitest"]
    );
    assert_eq!(
        names(&mut tree, "dom/base/test/mochitest.toml"),
        ["mochitest-plain", "test-verify", "test-verify-gpu"]
    );
    assert_eq!(
        names(&mut tree, "dom/tests/xpcshell.toml"),
        ["test-verify", "test-verify-gpu", "xpcshell"]
    );
    // A generic source file: every exclusive component; a Rust file adds rusttests.
    assert_eq!(names(&mut tree, "dom/base/nsDocument.cpp").len(), 37);
    assert_eq!(names(&mut tree, "servo/a.rs").len(), 38);
    // The gtk block is under a condition: not read, but listed.
    assert_eq!(names(&mut tree, "widget/gtk/nsWindow.cpp").len(), 37);
    let root_file = tree.file("", &c).unwrap();
    assert_eq!(
        root_file.conditional,
        [super::Place {
            file: "moz.build".to_owned(),
            line: 41
        }]
    );
    assert!(!tree.diagnostics().has_errors(), "{:?}", tree.diagnostics());
}

/// `include()` as mozbuild runs it: the included file's blocks are entered
/// where the call stands, relative to their own directory; a path below the
/// moz.build but outside an included file's directory, a missing or
/// computed include and a cycle are uncertain, never a silent answer.
#[test]
fn includes_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let c = gecko_components();
    write(
        root,
        "dom/moz.build",
        "with Files('**'):\n    SCHEDULES.exclusive = ['linux']\n\
         include('sources.mozbuild')\n\
         with Files('more/late/**'):\n    SCHEDULES.inclusive += ['docs']\n",
    );
    write(
        root,
        "dom/sources.mozbuild",
        "with Files('**/*.py'):\n    SCHEDULES.inclusive += ['py-lint']\n\
         include('more/nested.mozbuild')\n",
    );
    write(
        root,
        "dom/more/nested.mozbuild",
        "with Files('**'):\n    SCHEDULES.exclusive = ['macosx']\n",
    );
    write(
        root,
        "build/shared.mozbuild",
        "with Files('*.js'):\n    SCHEDULES.inclusive += ['js-lint']\n",
    );
    let mut tree = MozbuildTree::new(root);
    // The nested file's block is relative to dom/more and applies only there.
    assert_eq!(
        info(&mut tree, &c, "dom/more/a.cpp"),
        (vec![], Some(strings(&["macosx"])))
    );
    assert_eq!(
        info(&mut tree, &c, "dom/more/late/x.py"),
        (strings(&["py-lint", "docs"]), Some(strings(&["macosx"])))
    );
    // dom/a.py is below dom but not below dom/more: mozbuild's assertion,
    // so the answer is uncertain.
    let a = tree.annotations("dom/a.py", &c, true);
    assert_eq!(
        a.uncertain,
        [
            "dom/more/nested.mozbuild:1: a block of a file included from `dom/moz.build` applies only below `dom/more` (mozbuild stops here)"
        ]
    );
    assert_eq!(c.names_of(&a.components(&c)).len(), 38);
    // A file included by path from the top (`/build/...`) into the root
    // moz.build: relative to build/.
    write(root, "moz.build", "include('/build/shared.mozbuild')\n");
    let mut root_tree = MozbuildTree::new(root);
    assert_eq!(
        info(&mut root_tree, &c, "build/x.js"),
        (strings(&["js-lint"]), None)
    );
    let a = root_tree.annotations("toolkit/x.js", &c, false);
    assert!(
        a.uncertain[0].starts_with("build/shared.mozbuild:1:"),
        "{:?}",
        a.uncertain
    );
    std::fs::remove_file(root.join("moz.build")).unwrap();
    // Explanations name the file a block is written in.
    let a = tree.annotations("dom/more/late/b.py", &c, true);
    let locations: Vec<String> = a.matched.iter().map(|m| m.location()).collect();
    assert_eq!(
        locations,
        [
            "dom/moz.build:1",
            "dom/sources.mozbuild:1",
            "dom/more/nested.mozbuild:1",
            "dom/moz.build:4"
        ]
    );
    assert!(!tree.diagnostics().has_errors(), "{:?}", tree.diagnostics());

    // Missing, computed and cyclic includes make the file unreadable.
    for (text, why) in [
        (
            "include('gone.mozbuild')\n",
            "dom2/moz.build:1: `include('gone.mozbuild')`: `dom2/gone.mozbuild` not found",
        ),
        (
            "include(CONFIG['X'])\n",
            "dom2/moz.build:1: `include()` of a path that is not one string literal",
        ),
        (
            "include('../../x')\n",
            "dom2/moz.build:1: `include('../../x')` leaves the tree",
        ),
        (
            "\ninclude('moz.build')\n",
            "dom2/moz.build:2: `include('moz.build')` includes itself",
        ),
    ] {
        write(root, "dom2/moz.build", text);
        let mut tree = MozbuildTree::new(root);
        let a = tree.annotations("dom2/a.cpp", &c, false);
        assert_eq!(a.uncertain, [why.to_owned()], "{text}");
        assert!(
            tree.diagnostics()
                .items
                .iter()
                .any(|d| d.message.contains("cannot read")),
            "{text}"
        );
    }
    // Endless nesting stops too.
    write(root, "dom2/moz.build", "include('a/moz.build')\n");
    for depth in 0..40 {
        write(
            root,
            &format!("dom2/{}moz.build", "a/".repeat(depth + 1)),
            "include('a/moz.build')\n",
        );
    }
    let mut tree = MozbuildTree::new(root);
    let a = tree.annotations("dom2/a.cpp", &c, false);
    assert!(
        a.uncertain[0].ends_with("nests includes deeper than 32"),
        "{:?}",
        a.uncertain
    );
    // A file that includes another twice, which does the same, and so on:
    // stopped by the count, not read 2^30 times.
    write(
        root,
        "dom2/moz.build",
        "include('i0.mozbuild')\ninclude('i0.mozbuild')\n",
    );
    for level in 0..30 {
        let next = format!("i{}.mozbuild", level + 1);
        write(
            root,
            &format!("dom2/i{level}.mozbuild"),
            &format!("include('{next}')\ninclude('{next}')\n"),
        );
    }
    write(root, "dom2/i30.mozbuild", "\n");
    let mut tree = MozbuildTree::new(root);
    let a = tree.annotations("dom2/a.cpp", &c, false);
    assert!(
        a.uncertain[0].ends_with("more than 1000 `include()` calls"),
        "{:?}",
        a.uncertain
    );
    // An included file with syntax sift cannot read names itself.
    write(root, "dom2/moz.build", "include('bad.mozbuild')\n");
    write(root, "dom2/bad.mozbuild", "\nwith Files('*':\n");
    let mut tree = MozbuildTree::new(root);
    let a = tree.annotations("dom2/a.cpp", &c, false);
    assert!(
        a.uncertain[0].starts_with("dom2/bad.mozbuild:2:"),
        "{:?}",
        a.uncertain
    );
    let message = &tree.diagnostics().items[0].message;
    assert!(
        message.contains("(included by `dom2/moz.build`)"),
        "{message}"
    );
    // An empty block in an included file hides the includer's later blocks.
    write(
        root,
        "dom3/moz.build",
        "include('empty.mozbuild')\nwith Files('**'):\n    SCHEDULES.exclusive = ['linux']\n",
    );
    write(
        root,
        "dom3/empty.mozbuild",
        "with Files('nothing'):\n    pass\n",
    );
    let mut tree = MozbuildTree::new(root);
    assert_eq!(info(&mut tree, &c, "dom3/a.cpp"), (vec![], None));
    let file = tree.file("dom3", &c).unwrap();
    assert_eq!(
        file.hidden,
        [Place {
            file: "dom3/moz.build".to_owned(),
            line: 2
        }]
    );
}

/// The work tree, counting reads per file.
#[derive(Debug)]
struct Counting {
    inner: crate::config::WorkTree,
    reads: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

impl crate::config::FileSource for Counting {
    fn read(&self, path: &str) -> Option<String> {
        *self
            .reads
            .lock()
            .unwrap()
            .entry(path.to_owned())
            .or_default() += 1;
        crate::config::FileSource::read(&self.inner, path)
    }
    fn walk(&self, dir: &str, visit: &mut dyn FnMut(&str)) {
        self.inner.walk(dir, visit)
    }
}

/// A file many moz.build files include is read and parsed once per tree,
/// on one thread or many.
#[test]
fn included_files_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let c = gecko_components();
    write(
        root,
        "ipc/chromium/chromium-config.mozbuild",
        "if CONFIG['OS'] == 'WINNT':\n    DEFINES['X'] = 1\n",
    );
    let mut paths = Vec::new();
    for n in 0..80 {
        write(
            root,
            &format!("d{n}/moz.build"),
            "include('/ipc/chromium/chromium-config.mozbuild')\nwith Files('**'):\n    SCHEDULES.exclusive = ['linux']\n",
        );
        paths.push(format!("d{n}/a.cpp"));
    }
    let counting = Arc::new(Counting {
        inner: crate::config::WorkTree::new(root),
        reads: Default::default(),
    });
    let mut tree = MozbuildTree::with_files(counting.clone());
    tree.preload(paths.iter().map(String::as_str), &c);
    for path in &paths {
        assert_eq!(
            info(&mut tree, &c, path),
            (vec![], Some(strings(&["linux"])))
        );
    }
    let reads = counting.reads.lock().unwrap();
    assert_eq!(
        reads["ipc/chromium/chromium-config.mozbuild"], 1,
        "{reads:?}"
    );
    assert_eq!(reads["d7/moz.build"], 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// Arbitrary text never panics the reader.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let c = gecko_components();
        let _ = compile("", SourceFile::new("moz.build", text), &c);
    }

    /// Text made of moz.build's own pieces, shuffled, never panics either.
    #[test]
    fn shuffled_pieces_never_panic(pieces in proptest::collection::vec(prop_oneof![
        Just("with Files("), Just("'a/**'"), Just(")"), Just(":"), Just("\n"), Just("    "),
        Just("SCHEDULES"), Just(".inclusive"), Just(".exclusive"), Just(" += "), Just(" = "),
        Just("['docs', 'linux']"), Just("("), Just(","), Just("if x"), Just("FINAL = True"),
        Just("\"\"\"doc"), Just("\\\n"), Just("#"), Just("\t"), Just("r'x'"), Just(";"),
        Just("include("), Just("'../x'"), Just("'/x'"),
    ], 0..40)) {
        let text: String = pieces.concat();
        let c = gecko_components();
        let (file, _) = compile("", SourceFile::new("moz.build", text.clone()), &c);
        let _ = file.blocks.len();
        // Every include reads the same text again: cycles and endless
        // nesting (`include('a/x')` from `a/`) stop with a warning.
        let same = |name: &str| Some(Parsed::new(SourceFile::new(name, text.clone())));
        let (file, _) = compile_with("", SourceFile::new("moz.build", text.clone()), &c, &same);
        let _ = file.blocks.len();
    }
}
