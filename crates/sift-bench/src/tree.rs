//! The synthetic source tree: directories (depth 1–7) and file names (so file
//! paths have 2–8 segments), shaped like mozilla-central. Nothing here touches
//! the disk; only the directories that receive a rule file are created.

use std::collections::HashSet;

use crate::names::{
    EXTS, SOURCE_DIRS, TEST_CHILD_DIRS, TEST_DIRS, TOP_LEVEL, WORDS, ext_index, is_test_dir_name,
    preferred_children,
};
use crate::rng::{Cumulative, Rng};

/// What a directory holds, which drives its file mix and the rules written for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Source,
    Test,
    Generated,
    Docs,
}

/// The dominant language of a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Cpp,
    Js,
    Py,
    Rust,
    Android,
    Cocoa,
    Docs,
    Web,
}

pub struct Dir {
    /// The last path segment.
    pub name: String,
    /// Repository-relative path.
    pub path: String,
    /// 1 for top-level directories.
    pub depth: usize,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    pub kind: Kind,
    pub lang: Lang,
    /// Index of the top-level ancestor (itself for top-level directories).
    pub top: usize,
    /// Relative size, heavy-tailed; drives how many subdirectories and files it gets.
    weight: f64,
    /// File names directly inside.
    pub files: Vec<String>,
    /// Bitmask over [`EXTS`] of the files directly inside.
    pub ext_here: u32,
    /// Bitmask over [`EXTS`] of every file below.
    pub ext_below: u32,
    pub files_below: usize,
}

pub struct Tree {
    /// Parents before children (generated level by level).
    pub dirs: Vec<Dir>,
    pub top_level: Vec<usize>,
}

/// Directories per depth (1..=7) at scale 1.0: about 29,000 in all, most
/// files 5–7 segments deep.
const LEVELS: [f64; 7] = [47.0, 300.0, 2500.0, 7000.0, 10000.0, 7000.0, 2200.0];
pub const FILES_AT_SCALE_1: f64 = 300_000.0;

fn scaled(n: f64, scale: f64) -> usize {
    (n * scale).round().max(1.0) as usize
}

fn top_langs(top: &str) -> &'static [(Lang, f64)] {
    use Lang::*;
    match top {
        "third_party" => &[(Cpp, 5.0), (Rust, 4.0), (Py, 2.0), (Js, 1.0)],
        "testing" => &[(Py, 4.0), (Js, 3.0), (Web, 2.0), (Cpp, 1.0)],
        "dom" => &[(Cpp, 6.0), (Js, 3.0), (Web, 1.0)],
        "toolkit" | "browser" => &[(Js, 6.0), (Cpp, 2.0), (Rust, 0.5)],
        "devtools" => &[(Js, 1.0)],
        "js" => &[(Cpp, 6.0), (Rust, 1.0), (Js, 1.0)],
        "servo" => &[(Rust, 1.0)],
        "mobile" => &[(Android, 6.0), (Js, 1.0)],
        "python" | "taskcluster" | "build" | "config" | "tools" => {
            &[(Py, 5.0), (Js, 0.5), (Rust, 0.3)]
        }
        "docs" => &[(Docs, 1.0)],
        "remote" => &[(Js, 3.0), (Py, 1.0), (Rust, 1.0)],
        "services" => &[(Js, 3.0), (Rust, 1.0)],
        "l10n" => &[(Py, 1.0), (Js, 1.0)],
        "widget" => &[(Cpp, 5.0), (Cocoa, 2.0), (Js, 0.5)],
        _ => &[(Cpp, 6.0), (Js, 1.0), (Rust, 1.0)],
    }
}

fn lang_override(name: &str) -> Option<Lang> {
    Some(match name {
        "rust" | "webrender" | "wr" | "ports" | "webrender_bindings" => Lang::Rust,
        "python" | "mozbase" | "mozharness" | "talos" | "raptor" | "marionette" | "mozbuild"
        | "mozlint" | "mach" | "gecko_taskgraph" | "awsy" | "firefox-ui" | "mozperftest" => {
            Lang::Py
        }
        "android" => Lang::Android,
        "cocoa" | "uikit" => Lang::Cocoa,
        "web-platform" => Lang::Web,
        "docs" => Lang::Docs,
        _ => return None,
    })
}

pub fn generate(seed: u64, scale: f64) -> Tree {
    let mut rng = Rng::fork(seed, "tree");
    let mut dirs: Vec<Dir> = Vec::new();
    let mut levels: Vec<Vec<usize>> = Vec::new();

    // Top level: the most important names first.
    // The top two levels shrink slower than the rest, so that small scales
    // still have a few top-level directories and modules.
    let n_top = scaled(LEVELS[0], scale.min(1.0).sqrt()).min(TOP_LEVEL.len());
    let mut top_level = Vec::new();
    for &(name, weight) in &TOP_LEVEL[..n_top] {
        let index = dirs.len();
        let lang = rng.pick_weighted(top_langs(name));
        let kind = if name == "docs" {
            Kind::Docs
        } else {
            Kind::Source
        };
        dirs.push(Dir {
            name: name.to_owned(),
            path: name.to_owned(),
            depth: 1,
            parent: None,
            children: Vec::new(),
            kind,
            lang,
            top: index,
            weight,
            files: Vec::new(),
            ext_here: 0,
            ext_below: 0,
            files_below: 0,
        });
        top_level.push(index);
    }
    levels.push(top_level.clone());

    for (level, &target) in LEVELS.iter().enumerate().skip(1) {
        let parents = &levels[level - 1];
        let picker = Cumulative::new(parents.iter().map(|&p| {
            let d = &dirs[p];
            d.weight
                * match d.kind {
                    Kind::Source => 1.0,
                    Kind::Test => 0.35,
                    Kind::Generated => 0.05,
                    Kind::Docs => 0.4,
                }
        }));
        if picker.is_empty() {
            break;
        }
        let parents = parents.clone();
        let mut created = Vec::new();
        let level_scale = if level == 1 {
            scale.min(1.0).sqrt() * scale.max(1.0)
        } else {
            scale
        };
        for _ in 0..scaled(target, level_scale) {
            let parent = parents[picker.draw(&mut rng)];
            let name = child_name(&mut rng, &dirs, parent);
            let p = &dirs[parent];
            let kind = match p.kind {
                Kind::Test | Kind::Generated | Kind::Docs => p.kind,
                Kind::Source
                    if is_test_dir_name(&name) && p.depth > 1
                        || name == "test"
                        || name == "tests" =>
                {
                    Kind::Test
                }
                Kind::Source if name == "generated" => Kind::Generated,
                Kind::Source if name == "docs" => Kind::Docs,
                Kind::Source => Kind::Source,
            };
            let lang = if kind == Kind::Docs {
                Lang::Docs
            } else if let Some(lang) = lang_override(&name) {
                lang
            } else if p.depth == 1 || rng.chance(0.04) {
                rng.pick_weighted(top_langs(&dirs[p.top].name))
            } else {
                p.lang
            };
            let weight = if p.depth == 1 {
                // A few famous giants; otherwise a moderate tail.
                match (p.name.as_str(), name.as_str()) {
                    ("testing", "web-platform") => 40.0,
                    ("third_party", "rust") => 30.0,
                    ("dom", _) | ("browser", "components") | ("toolkit", "components") => {
                        rng.pareto(1.6, 12.0) * 1.5
                    }
                    _ => rng.pareto(1.6, 12.0),
                }
            } else {
                (0.3 + rng.exp1()) * p.weight.sqrt()
            };
            let index = dirs.len();
            let path = format!("{}/{}", p.path, name);
            let (depth, top) = (p.depth + 1, p.top);
            dirs.push(Dir {
                name,
                path,
                depth,
                parent: Some(parent),
                children: Vec::new(),
                kind,
                lang,
                top,
                weight,
                files: Vec::new(),
                ext_here: 0,
                ext_below: 0,
                files_below: 0,
            });
            dirs[parent].children.push(index);
            created.push(index);
        }
        levels.push(created);
    }

    // Files: one per leaf directory first (so every directory exists in the
    // path list), the rest by weight.
    let total_files = scaled(FILES_AT_SCALE_1, scale);
    let mut counts = vec![0usize; dirs.len()];
    let mut assigned = 0;
    for (i, d) in dirs.iter().enumerate() {
        if d.children.is_empty() && assigned < total_files {
            counts[i] = 1;
            assigned += 1;
        }
    }
    let file_weights: Vec<f64> = dirs
        .iter()
        .map(|d| {
            let depth = match d.depth {
                1 => 0.15,
                2 => 0.5,
                _ => 1.0,
            };
            let kind = match d.kind {
                Kind::Source => 1.0,
                Kind::Test => 1.3,
                Kind::Generated => 0.6,
                Kind::Docs => 0.8,
            };
            d.weight.sqrt() * depth * kind
        })
        .collect();
    // Per-directory noise is drawn once, so that file counts are heavy-tailed.
    let picker = Cumulative::new(file_weights.iter().map(|w| w * rng.exp1()));
    for _ in assigned..total_files {
        counts[picker.draw(&mut rng)] += 1;
    }
    for (i, &count) in counts.iter().enumerate() {
        let files = file_names(&mut rng, &dirs[i], count);
        let d = &mut dirs[i];
        for f in &files {
            let ext = f.rsplit('.').next().expect("files have an extension");
            d.ext_here |= 1 << ext_index(ext);
        }
        d.files = files;
    }
    for i in (0..dirs.len()).rev() {
        dirs[i].ext_below |= dirs[i].ext_here;
        dirs[i].files_below += dirs[i].files.len();
        if let Some(p) = dirs[i].parent {
            let (mask, below) = (dirs[i].ext_below, dirs[i].files_below);
            dirs[p].ext_below |= mask;
            dirs[p].files_below += below;
        }
    }
    Tree { dirs, top_level }
}

fn child_name(rng: &mut Rng, dirs: &[Dir], parent: usize) -> String {
    let p = &dirs[parent];
    let taken = |name: &str| p.children.iter().any(|&c| dirs[c].name == name);
    if p.depth == 1 {
        let preferred = preferred_children(&p.name);
        if let Some(name) = preferred.get(p.children.len())
            && !taken(name)
        {
            return (*name).to_owned();
        }
    }
    let mut candidate = String::new();
    for _ in 0..8 {
        candidate = match p.kind {
            Kind::Test if rng.chance(0.5) => (*rng.pick(TEST_CHILD_DIRS)).to_owned(),
            Kind::Test => word_name(rng),
            _ => {
                let r = rng.f64();
                if r < 0.10 && p.depth >= 2 {
                    (*rng.pick(TEST_DIRS)).to_owned()
                } else if r < 0.115 {
                    "generated".to_owned()
                } else if r < 0.125 {
                    "docs".to_owned()
                } else if r < 0.28 {
                    (*rng.pick(SOURCE_DIRS)).to_owned()
                } else {
                    word_name(rng)
                }
            }
        };
        if !taken(&candidate) {
            return candidate;
        }
    }
    let mut n = 2;
    loop {
        let numbered = format!("{candidate}{n}");
        if !taken(&numbered) {
            return numbered;
        }
        n += 1;
    }
}

fn word_name(rng: &mut Rng) -> String {
    let first = *rng.pick(WORDS);
    match rng.below(8) {
        0 => format!("{first}_{}", rng.pick(WORDS)),
        1 => format!("{first}-{}", rng.pick(WORDS)),
        _ => first.to_owned(),
    }
}

fn camel(rng: &mut Rng, words: usize) -> String {
    let mut out = String::new();
    for _ in 0..words {
        let w = *rng.pick(WORDS);
        let mut chars = w.chars();
        if let Some(c) = chars.next() {
            out.push(c.to_ascii_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

fn snake(rng: &mut Rng, words: usize) -> String {
    let parts: Vec<&str> = (0..words).map(|_| *rng.pick(WORDS)).collect();
    parts.join("_")
}

/// Extension weights for a directory's files.
fn ext_weights(kind: Kind, lang: Lang) -> &'static [(&'static str, f64)] {
    use Lang::*;
    match (kind, lang) {
        (Kind::Generated, _) => &[
            ("cpp", 30.0),
            ("h", 50.0),
            ("rs", 10.0),
            ("js", 5.0),
            ("txt", 5.0),
        ],
        (Kind::Docs, _) | (_, Docs) => &[
            ("md", 40.0),
            ("rst", 45.0),
            ("txt", 8.0),
            ("py", 3.0),
            ("toml", 2.0),
        ],
        (Kind::Test, Cpp) => &[
            ("cpp", 40.0),
            ("h", 5.0),
            ("js", 20.0),
            ("html", 15.0),
            ("toml", 8.0),
            ("ini", 4.0),
            ("list", 3.0),
            ("py", 2.0),
            ("build", 2.0),
        ],
        (Kind::Test, Py) => &[
            ("py", 80.0),
            ("toml", 5.0),
            ("ini", 5.0),
            ("txt", 5.0),
            ("build", 1.0),
        ],
        (Kind::Test, Rust) => &[("rs", 75.0), ("toml", 10.0), ("txt", 5.0)],
        (Kind::Test, Android) => &[
            ("java", 40.0),
            ("kt", 40.0),
            ("toml", 5.0),
            ("txt", 3.0),
            ("html", 5.0),
        ],
        (Kind::Test, _) => &[
            ("js", 40.0),
            ("html", 25.0),
            ("mjs", 5.0),
            ("toml", 10.0),
            ("ini", 8.0),
            ("list", 5.0),
            ("txt", 3.0),
            ("build", 2.0),
            ("py", 2.0),
        ],
        (Kind::Source, Cpp) => &[
            ("cpp", 42.0),
            ("h", 40.0),
            ("py", 3.0),
            ("txt", 2.0),
            ("toml", 2.0),
            ("js", 3.0),
            ("ini", 1.0),
            ("build", 3.0),
            ("md", 1.0),
        ],
        (Kind::Source, Js) => &[
            ("js", 35.0),
            ("mjs", 30.0),
            ("html", 12.0),
            ("toml", 3.0),
            ("md", 2.0),
            ("txt", 2.0),
            ("build", 2.0),
        ],
        (Kind::Source, Py) => &[
            ("py", 75.0),
            ("toml", 6.0),
            ("ini", 5.0),
            ("txt", 6.0),
            ("md", 4.0),
            ("rst", 2.0),
            ("build", 2.0),
        ],
        (Kind::Source, Rust) => &[
            ("rs", 80.0),
            ("toml", 8.0),
            ("md", 5.0),
            ("txt", 2.0),
            ("h", 3.0),
            ("cpp", 2.0),
        ],
        (Kind::Source, Android) => &[
            ("java", 45.0),
            ("kt", 40.0),
            ("toml", 4.0),
            ("txt", 3.0),
            ("md", 2.0),
            ("py", 2.0),
            ("build", 2.0),
        ],
        (Kind::Source, Cocoa) => &[
            ("mm", 45.0),
            ("h", 35.0),
            ("cpp", 15.0),
            ("build", 3.0),
            ("txt", 2.0),
        ],
        (Kind::Source, Web) => &[
            ("html", 50.0),
            ("js", 30.0),
            ("ini", 5.0),
            ("toml", 5.0),
            ("txt", 5.0),
            ("list", 3.0),
        ],
    }
}

fn file_names(rng: &mut Rng, dir: &Dir, count: usize) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(count);
    let mut seen: HashSet<String> = HashSet::with_capacity(count * 2);
    let mut push = |names: &mut Vec<String>, name: String| {
        let name = if seen.contains(&name) {
            let (stem, ext) = name.rsplit_once('.').expect("files have an extension");
            let mut n = 2;
            loop {
                let numbered = format!("{stem}{n}.{ext}");
                if !seen.contains(&numbered) {
                    break numbered;
                }
                n += 1;
            }
        } else {
            name
        };
        seen.insert(name.clone());
        names.push(name);
    };
    // Well-known files first.
    if count >= 2 {
        let special = match (dir.kind, dir.name.as_str()) {
            (Kind::Test, "mochitest") => Some("mochitest.toml"),
            (Kind::Test, "browser") => Some("browser.toml"),
            (Kind::Test, "chrome") => Some("chrome.toml"),
            (Kind::Test, "xpcshell" | "unit") => Some("xpcshell.toml"),
            (Kind::Test, "reftests") => Some("reftest.list"),
            (Kind::Test, "crashtests") => Some("crashtests.list"),
            (Kind::Docs, _) if rng.chance(0.5) => Some("index.rst"),
            (Kind::Source, _) if dir.lang == Lang::Rust && rng.chance(0.3) => Some("Cargo.toml"),
            (Kind::Source, _) if dir.lang == Lang::Py && rng.chance(0.3) => Some("__init__.py"),
            (Kind::Source, _) if rng.chance(0.3) => Some("moz.build"),
            _ if rng.chance(0.05) => Some("README.md"),
            _ => None,
        };
        if let Some(name) = special {
            push(&mut names, name.to_owned());
        }
    }
    let weights = ext_weights(dir.kind, dir.lang);
    let test = dir.kind == Kind::Test;
    while names.len() < count {
        let ext = rng.pick_weighted(weights);
        let words = rng.range(1, 3);
        let name = match ext {
            "cpp" if test => format!("Test{}.cpp", camel(rng, words)),
            "cpp" | "h" => {
                let prefix = *rng.pick(&["ns", "", "", "", "Moz"]);
                let prefix = if ext == "h" && prefix == "ns" && rng.chance(0.3) {
                    "nsI"
                } else {
                    prefix
                };
                format!("{prefix}{}.{ext}", camel(rng, words))
            }
            "mm" => format!("{}.mm", camel(rng, words)),
            "java" | "kt" if test => format!("{}Test.{ext}", camel(rng, words)),
            "java" | "kt" => format!("{}.{ext}", camel(rng, words)),
            "rs" if rng.chance(0.05) => "mod.rs".to_owned(),
            "rs" => format!("{}.rs", snake(rng, words)),
            "py" if test => format!("test_{}.py", snake(rng, words)),
            "py" => format!("{}.py", snake(rng, words)),
            "js" if test => {
                let prefix = if dir.name == "browser" {
                    "browser_"
                } else {
                    *rng.pick(&["test_", "test_", "test_", "file_", "helper_"])
                };
                if rng.chance(0.03) {
                    "head.js".to_owned()
                } else {
                    format!("{prefix}{}.js", snake(rng, words))
                }
            }
            "js" if rng.chance(0.5) => format!("{}.js", camel(rng, words)),
            "mjs" if test => format!("test_{}.mjs", snake(rng, words)),
            "mjs" if rng.chance(0.4) => format!("{}.sys.mjs", camel(rng, words)),
            "mjs" => format!("{}.mjs", camel(rng, words)),
            "html" if test => format!(
                "{}{}.html",
                rng.pick(&["test_", "test_", "file_"]),
                snake(rng, words)
            ),
            "build" => "moz.build".to_owned(),
            "txt" if rng.chance(0.05) => "requirements.txt".to_owned(),
            _ => format!("{}.{ext}", snake(rng, words)),
        };
        push(&mut names, name);
    }
    debug_assert!(
        names
            .iter()
            .all(|n| EXTS.contains(&n.rsplit('.').next().unwrap_or("")))
    );
    names
}

impl Tree {
    pub fn file_count(&self) -> usize {
        self.dirs.iter().map(|d| d.files.len()).sum()
    }

    /// Every file path, sorted (as `git ls-files` lists them).
    pub fn paths(&self) -> Vec<String> {
        let mut paths = Vec::with_capacity(self.file_count());
        for d in &self.dirs {
            for f in &d.files {
                paths.push(format!("{}/{}", d.path, f));
            }
        }
        paths.sort_unstable();
        paths
    }

    pub fn max_file_depth(&self) -> usize {
        self.dirs
            .iter()
            .filter(|d| !d.files.is_empty())
            .map(|d| d.depth + 1)
            .max()
            .unwrap_or(0)
    }

    pub fn min_file_depth(&self) -> usize {
        self.dirs
            .iter()
            .filter(|d| !d.files.is_empty())
            .map(|d| d.depth + 1)
            .min()
            .unwrap_or(0)
    }
}
