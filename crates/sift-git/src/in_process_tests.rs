//! The in-process fast path against the git command line: for every kind of
//! change it handles, both must produce the same `Change`, and for the kinds it
//! must leave to git (renames, several merge-bases), it must decline.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sift_core::ChangeStatus;
use tempfile::TempDir;

use crate::objects::{self, Objects};
use crate::{GitOptions, detect_change_with, in_process};

/// A repository in a temporary directory, driven by a git that sees no user
/// or system configuration.
struct Repo {
    _root: TempDir,
    dir: PathBuf,
}

impl Repo {
    fn new() -> Self {
        let root = tempfile::tempdir().expect("create temp dir");
        let dir = root.path().join("repo");
        fs::create_dir(&dir).expect("create repo dir");
        let repo = Repo { _root: root, dir };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    fn git(&self, args: &[&str]) -> String {
        let output = Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Sift Test")
            .env("GIT_AUTHOR_EMAIL", "sift@example.invalid")
            .env("GIT_COMMITTER_NAME", "Sift Test")
            .env("GIT_COMMITTER_EMAIL", "sift@example.invalid")
            .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
            .env("LC_ALL", "C")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .output()
            .expect("run git");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .expect("utf-8 output")
            .trim()
            .to_owned()
    }

    fn write(&self, path: &str, contents: &str) {
        let path = self.dir.join(path);
        fs::create_dir_all(path.parent().expect("parent")).expect("create dirs");
        fs::write(path, contents).expect("write file");
    }

    fn remove(&self, path: &str) {
        fs::remove_file(self.dir.join(path)).expect("remove file");
    }

    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// A branch `name` off `main` whose one commit is made by `change`.
    fn branch(&self, name: &str, change: impl FnOnce(&Repo)) {
        self.git(&["checkout", "-q", "-b", name, "main"]);
        change(self);
        self.commit(name);
        self.git(&["checkout", "-q", "main"]);
    }

    /// Both paths for `base...head`: asserts they agree and returns whether
    /// the fast path answered.
    fn compare(&self, base: Option<&str>, head: &str) -> bool {
        let opts = GitOptions {
            base: base.map(str::to_owned),
            head: Some(head.to_owned()),
            ..GitOptions::default()
        };
        let fast = detect_change_with(&self.dir, &opts, true).expect("fast path");
        let cli = detect_change_with(&self.dir, &opts, false).expect("command line path");
        assert_eq!(fast, cli, "{base:?}...{head}");
        let repo = in_process::open(&self.dir).expect("gix opens the repository");
        let base = match base {
            Some(base) => base.to_owned(),
            None => in_process::default_base(&repo).expect("default base").rev,
        };
        in_process::committed_change(&repo, &base, head).is_some()
    }
}

/// A repository whose `main` holds a spread of files, including a few that
/// the branches change in every possible way.
fn base_repo() -> Repo {
    let repo = Repo::new();
    repo.write("README.md", "readme\n");
    repo.write("src/lib.rs", "lib\n");
    repo.write("src/deep/nested/mod.rs", "nested\n");
    repo.write("src/deep/other.rs", "other\n");
    repo.write("docs/ñ é/guide.md", "guide\n");
    repo.write("docs/plain.md", "plain\n");
    repo.write("script.sh", "#!/bin/sh\n");
    repo.write("link-target.txt", "target\n");
    repo.write("becomes-dir", "file\n");
    repo.write("a-b/x", "sort order\n");
    repo.write("a/y", "sort order\n");
    repo.commit("base");
    repo
}

#[test]
fn fast_path_matches_the_command_line() {
    let repo = base_repo();
    repo.branch("adds", |r| {
        r.write("new/deeply/nested/file.rs", "new\n");
        r.write("docs/ñ é/日本 語.md", "unicode\n");
        r.write("with space.txt", "space\n");
        r.write("a-b/z", "z\n");
        r.write("a/z", "z\n");
    });
    repo.branch("deletes", |r| {
        r.remove("src/deep/nested/mod.rs");
        r.remove("docs/ñ é/guide.md");
        r.remove("README.md");
    });
    repo.branch("modifies", |r| {
        r.write("src/lib.rs", "lib changed\n");
        r.write("docs/ñ é/guide.md", "guide changed\n");
        r.write("a-b/x", "changed\n");
        r.write("a/y", "changed\n");
    });
    repo.branch("typechange", |r| {
        r.remove("link-target.txt");
        std::os::unix::fs::symlink("README.md", r.dir.join("link-target.txt"))
            .expect("create symlink");
    });
    repo.branch("exec-bit", |r| {
        use std::os::unix::fs::PermissionsExt;
        let script = r.dir.join("script.sh");
        fs::set_permissions(script, fs::Permissions::from_mode(0o755)).expect("chmod");
    });
    repo.branch("empty", |_| {});
    repo.branch("mixed", |r| {
        r.write("src/lib.rs", "lib changed again\n");
        r.write("src/deep/added.rs", "added\n");
        r.write("script.sh", "#!/bin/sh\necho\n");
    });
    repo.branch("rename", |r| {
        r.git(&["mv", "src/deep/other.rs", "src/deep/renamed.rs"]);
    });
    repo.branch("add-and-delete", |r| {
        r.remove("docs/plain.md");
        r.write("unrelated.txt", "entirely different contents\n");
    });
    repo.branch("file-to-dir", |r| {
        r.remove("becomes-dir");
        r.write("becomes-dir/inside.txt", "inside\n");
    });
    // Submodule entries, without a submodule repository: git only records
    // the commit id.
    let commit = repo.git(&["rev-parse", "HEAD"]);
    repo.branch("gitlink-added", |r| {
        let info = format!("160000,{commit},vendor/sub");
        r.git(&["update-index", "--add", "--cacheinfo", &info]);
    });
    repo.branch("gitlink-typechange", |r| {
        r.git(&["rm", "-q", "--cached", "docs/plain.md"]);
        let info = format!("160000,{commit},docs/plain.md");
        r.git(&["update-index", "--add", "--cacheinfo", &info]);
        r.remove("docs/plain.md");
    });

    for (head, fast) in [
        ("adds", true),
        ("deletes", true),
        ("modifies", true),
        ("typechange", true),
        ("exec-bit", true),
        ("empty", true),
        ("mixed", true),
        ("gitlink-added", true),
        ("gitlink-typechange", true),
        // git pairs these up (or might): left to it.
        ("rename", false),
        ("add-and-delete", false),
        ("file-to-dir", false),
    ] {
        assert_eq!(repo.compare(Some("main"), head), fast, "main...{head}");
    }

    // Statuses are the ones git reports, not just the same on both paths.
    let opts = GitOptions {
        base: Some("main".to_owned()),
        head: Some("typechange".to_owned()),
        ..GitOptions::default()
    };
    let change = detect_change_with(&repo.dir, &opts, true).expect("typechange");
    assert_eq!(change.change.files[0].status, ChangeStatus::TypeChange);
    let opts = GitOptions {
        head: Some("exec-bit".to_owned()),
        ..opts
    };
    let change = detect_change_with(&repo.dir, &opts, true).expect("exec-bit");
    assert_eq!(change.change.files[0].status, ChangeStatus::Modified);
}

#[test]
fn fast_path_matches_for_revisions_and_default_bases() {
    let repo = base_repo();
    repo.git(&["tag", "-a", "-m", "annotated", "v1"]);
    repo.branch("feature", |r| r.write("src/lib.rs", "feature\n"));
    // main moves on after the fork: the change is measured from the fork.
    repo.write("README.md", "later on main\n");
    let main = repo.commit("main moves on");
    let feature = repo.git(&["rev-parse", "feature"]);

    for (base, head) in [
        (Some("main"), "feature"),
        (Some("v1"), "feature"),
        (Some(main.as_str()), &feature[..12]),
        (Some("feature~1"), "feature"),
        (Some("refs/heads/main"), "refs/heads/feature"),
        // Fallback default base: `main`.
        (None, "feature"),
    ] {
        assert!(repo.compare(base, head), "{base:?}...{head}");
    }

    // origin/main beats main; origin/HEAD, packed (not a loose file), too.
    repo.git(&["update-ref", "refs/remotes/origin/main", "feature~1"]);
    assert!(repo.compare(None, "feature"));
    repo.git(&["update-ref", "refs/remotes/origin/trunk", "main"]);
    repo.git(&[
        "symbolic-ref",
        "refs/remotes/origin/HEAD",
        "refs/remotes/origin/trunk",
    ]);
    repo.git(&["pack-refs", "--all"]);
    assert!(repo.compare(None, "feature"));
}

#[test]
fn several_merge_bases_are_left_to_git() {
    let repo = Repo::new();
    repo.write("f", "0\n");
    repo.commit("root");
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("s", "1\n");
    repo.commit("side 1");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("m", "1\n");
    repo.commit("main 1");
    // Criss-cross: each branch merges the other's first commit.
    repo.git(&["merge", "-q", "--no-edit", "side~0"]);
    repo.git(&["checkout", "-q", "side"]);
    repo.git(&["merge", "-q", "--no-edit", "main~1"]);
    repo.write("s", "2\n");
    repo.commit("side 2");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("m", "2\n");
    repo.commit("main 2");
    assert!(!repo.compare(Some("main"), "side"));
}

/// A path other than the repository root still finds the repository, as
/// `git -C` does.
#[test]
fn fast_path_works_from_a_subdirectory() {
    let repo = base_repo();
    repo.branch("feature", |r| r.write("src/lib.rs", "feature\n"));
    let opts = GitOptions {
        base: Some("main".to_owned()),
        head: Some("feature".to_owned()),
        ..GitOptions::default()
    };
    let subdir: &Path = &repo.dir.join("src");
    let fast = detect_change_with(subdir, &opts, true).expect("fast path");
    let cli = detect_change_with(subdir, &opts, false).expect("command line path");
    assert_eq!(fast, cli);
    assert!(in_process::open(subdir).is_some());
}

impl Repo {
    /// Whether the light object store (see `objects`) answered `base...head`
    /// on its own, after checking that both paths agree.
    fn compare_light(&self, base: &str, head: &str) -> bool {
        let fast = self.compare(Some(base), head);
        let repo = in_process::open(&self.dir).expect("gix opens the repository");
        let Some(objects) = Objects::open(&repo) else {
            return false;
        };
        match in_process::committed_change_light(&repo, &objects, base, head) {
            Some(answer) => {
                assert_eq!(answer.is_some(), fast, "{base}...{head}");
                true
            }
            None => false,
        }
    }

    fn pack_files(&self, extension: &str) -> Vec<PathBuf> {
        let dir = self.dir.join(".git/objects/pack");
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .expect("pack dir")
            .map(|entry| entry.expect("dir entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == extension))
            .collect();
        files.sort();
        files
    }
}

/// A history whose files and directories change a little in every commit,
/// so that a repack stores most blobs and trees as deltas.
fn delta_repo() -> Repo {
    let repo = base_repo();
    let big: String = (0..400)
        .map(|n| format!("line {n} of a big file\n"))
        .collect();
    for n in 0..40 {
        repo.write(&format!("wide/file{n:03}.txt"), &format!("file {n}\n"));
    }
    repo.write("big.txt", &big);
    repo.commit("wide");
    for round in 0..6 {
        repo.write(
            "big.txt",
            &big.replace("line 7 ", &format!("line 7 round {round} ")),
        );
        repo.write(
            &format!("wide/file{round:03}.txt"),
            &format!("round {round}\n"),
        );
        repo.commit(&format!("round {round}"));
    }
    repo.git(&["tag", "-a", "-m", "annotated", "v1", "HEAD~2"]);
    repo.git(&["tag", "-a", "-m", "tag of a tag", "v1-again", "v1"]);
    repo.branch("feature", |r| {
        r.write("big.txt", &big.replace("line 300 ", "line 300 on feature "));
        r.write("wide/file039.txt", "feature\n");
        r.write("wide/new.txt", "new\n");
    });
    repo.branch("add-and-delete", |r| {
        r.remove("wide/file010.txt");
        r.write("wide/other.txt", "other\n");
    });
    repo
}

/// The revision forms the light store resolves, on the history of
/// `delta_repo`.
const LIGHT_RANGES: [(&str, &str); 10] = [
    ("main", "feature"),
    ("v1", "feature"),
    ("v1-again", "main"),
    ("refs/tags/v1", "refs/heads/feature"),
    ("main~3", "main"),
    ("main^", "main"),
    ("main^^", "main~0"),
    ("feature^1~2", "feature^0"),
    ("HEAD~1", "HEAD"),
    ("feature", "feature"),
];

#[test]
fn light_store_matches_git_on_loose_and_packed_objects() {
    let repo = delta_repo();
    let full = repo.git(&["rev-parse", "main~2"]);
    let head = repo.git(&["rev-parse", "feature"]);
    let check = |what: &str| {
        for (base, head) in LIGHT_RANGES {
            assert!(repo.compare_light(base, head), "{what}: {base}...{head}");
        }
        assert!(repo.compare_light(&full, &head), "{what}: full names");
        // Abbreviated names and other forms are left to gix's own store.
        assert!(
            !repo.compare_light(&full[..12], &head),
            "{what}: abbreviated"
        );
        assert!(!repo.compare_light("main@{0}", &head), "{what}: reflog");
        // git pairs additions and deletions up: the light path declines too.
        assert!(
            repo.compare_light("main", "add-and-delete"),
            "{what}: renames"
        );
        assert!(
            !repo.compare(Some("main"), "add-and-delete"),
            "{what}: renames"
        );
    };
    assert!(repo.pack_files("pack").is_empty(), "objects start loose");
    check("loose");

    repo.git(&["repack", "-adf", "-q", "--depth=50", "--window=50"]);
    assert!(repo.pack_files("pack").len() == 1);
    let loose = fs::read_dir(repo.dir.join(".git/objects"))
        .expect("objects dir")
        .filter(|entry| entry.as_ref().expect("dir entry").file_name().len() == 2)
        .count();
    assert_eq!(loose, 0, "every object is packed");
    check("offset deltas");

    // Bases named by object id rather than by offset.
    repo.git(&[
        "-c",
        "repack.useDeltaBaseOffset=false",
        "repack",
        "-adf",
        "-q",
    ]);
    check("ref deltas");

    // Objects in a pack and loose side by side, two packs.
    repo.git(&["checkout", "-q", "feature"]);
    repo.write("wide/file001.txt", "after the pack\n");
    repo.commit("loose on top");
    repo.git(&["checkout", "-q", "main"]);
    check("packed and loose");
    repo.git(&["repack", "-q"]);
    assert_eq!(repo.pack_files("pack").len(), 2);
    check("two packs");
    assert!(repo.compare_light("main", "feature"));
}

/// Every object of a packed history with long delta chains (offset and
/// ref deltas), decoded by the light store's own decoder (libdeflate and
/// its delta application, cache warm or cold) exactly as git has it; and
/// damaged deltas are refused, never misread.
#[test]
fn own_pack_decoder_matches_git_on_every_object() {
    let repo = delta_repo();
    for repack in [
        &["repack", "-adf", "-q", "--depth=50", "--window=50"][..],
        &[
            "-c",
            "repack.useDeltaBaseOffset=false",
            "repack",
            "-adf",
            "-q",
        ][..],
    ] {
        repo.git(repack);
        let gix_repo = in_process::open(&repo.dir).expect("gix opens the repository");
        let listing = repo.git(&[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objectname) %(objecttype) %(deltabase)",
        ]);
        let mut deltas = 0;
        // Twice: cold, then with the bases the first pass cached.
        let objects = Objects::open(&gix_repo).expect("plain layout");
        for pass in 0..2 {
            for line in listing.lines() {
                let mut words = line.split(' ');
                let (id, kind, base) = (
                    words.next().unwrap(),
                    words.next().unwrap(),
                    words.next().unwrap(),
                );
                deltas += usize::from(pass == 0 && !base.starts_with("0000"));
                let expected = Command::new("git")
                    .args(["cat-file", kind, id])
                    .current_dir(&repo.dir)
                    .output()
                    .expect("git cat-file")
                    .stdout;
                let mut buffer = Vec::new();
                let oid = gix::ObjectId::from_hex(id.as_bytes()).expect("hex");
                let decoded = objects::decode_own(&objects, &oid, &mut buffer)
                    .unwrap_or_else(|| panic!("{id} ({kind}) not decoded"));
                assert_eq!(decoded.to_string(), kind, "{id}");
                assert!(buffer == expected, "{id} ({kind}) differs from git's");
            }
        }
        assert!(deltas > 20, "too few deltas to mean much: {deltas}");
    }
}

#[test]
fn corrupt_pack_index_falls_back_without_panicking() {
    use std::os::unix::fs::PermissionsExt;
    let repo = delta_repo();
    repo.git(&["gc", "-q"]);
    let [index] = &repo.pack_files("idx")[..] else {
        panic!("one pack after gc");
    };
    assert!(repo.compare_light("main", "feature"));
    let bytes = fs::read(index).expect("read idx");
    fs::set_permissions(index, fs::Permissions::from_mode(0o644)).expect("chmod");
    let opts = GitOptions {
        base: Some("main".to_owned()),
        head: Some("feature".to_owned()),
        ..GitOptions::default()
    };
    for (what, corrupt) in [
        ("truncated", bytes[..bytes.len() / 2].to_vec()),
        ("not an index", vec![7; bytes.len()]),
    ] {
        fs::write(index, &corrupt).expect("corrupt idx");
        let gix_repo = in_process::open(&repo.dir).expect("gix opens the repository");
        assert!(Objects::open(&gix_repo).is_none(), "{what}");
        // git fails too: both paths report an error.
        let fast = detect_change_with(&repo.dir, &opts, true);
        let cli = detect_change_with(&repo.dir, &opts, false);
        assert!(fast.is_err() && cli.is_err(), "{what}: {fast:?} {cli:?}");
    }

    // Fan-out counts beyond the object count: read only when a lookup
    // needs them, and then an error, not a panic.
    let mut corrupt = bytes.clone();
    corrupt[8 + 4 * 100..8 + 4 * 255].fill(0xff);
    fs::write(index, &corrupt).expect("corrupt idx");
    let gix_repo = in_process::open(&repo.dir).expect("gix opens the repository");
    let objects = Objects::open(&gix_repo).expect("header and size still fine");
    let mut buffer = Vec::new();
    let id = gix::ObjectId::from_hex(b"ff00000000000000000000000000000000000000").expect("hex");
    assert!(gix::objs::Find::try_find(&objects, &id, &mut buffer).is_err());
    let fast = detect_change_with(&repo.dir, &opts, true);
    let cli = detect_change_with(&repo.dir, &opts, false);
    assert_eq!(fast.is_ok(), cli.is_ok(), "{fast:?} {cli:?}");
    if let (Ok(fast), Ok(cli)) = (fast, cli) {
        assert_eq!(fast, cli);
    }
}
