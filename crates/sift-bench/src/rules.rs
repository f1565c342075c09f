//! Rule files: the root `[components]` and `[[rules]]`, and the nested
//! `sift.toml` files with their patterns.

use crate::names::{EXTS, INCLUSIVE, family};
use crate::rng::{Cumulative, Rng, weighted_sample_without_replacement};
use crate::tree::{Kind, Tree};

/// One `[[rules]]` table.
#[derive(Clone, Debug)]
pub struct Rule {
    pub files: Vec<String>,
    pub inclusive: Option<Vec<String>>,
    pub exclusive: Option<Vec<String>>,
}

/// A nested rule file: the directory (index into the tree) and its rules.
pub struct RuleFile {
    pub dir: usize,
    pub rules: Vec<Rule>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn rule(files: &[&str], inclusive: &[&str], exclusive: Option<&[&str]>) -> Rule {
    Rule {
        files: strings(files),
        inclusive: (!inclusive.is_empty()).then(|| strings(inclusive)),
        exclusive: exclusive.map(strings),
    }
}

/// The root file's rules, modelled on mozilla-central's top-level moz.build
/// `SCHEDULES` annotations.
pub fn root_rules() -> Vec<Rule> {
    vec![
        rule(&["docs/**"], &[], Some(&["docs"])),
        rule(&["**/*.md", "**/*.rst"], &["docs"], None),
        rule(&["**/*.py", "!third_party/**"], &["py-lint"], None),
        rule(
            &["**/test_*.py", "**/tests/**/*.py", "!third_party/**"],
            &["python-tests"],
            None,
        ),
        rule(&["**/*.rs"], &["rusttests", "clippy"], None),
        rule(&["**/*.rs", "!third_party/rust/**"], &["rustfmt"], None),
        rule(&["**/Cargo.toml", "Cargo.lock"], &["rusttests"], None),
        rule(
            &["**/*.{js,mjs}", "!third_party/**", "!**/generated/**"],
            &["eslint"],
            None,
        ),
        rule(
            &["**/*.{cpp,h,mm}", "!third_party/**", "!**/generated/**"],
            &["clang-format"],
            None,
        ),
        rule(
            &["**/*.{cpp,h}", "!**/test/**", "!**/tests/**"],
            &["code-coverage"],
            None,
        ),
        rule(&["js/src/**", "js/public/**"], &["spidermonkey"], None),
        rule(
            &["**/mochitest/**", "**/mochitest*.toml"],
            &[],
            Some(&[
                "mochitest",
                "mochitest-chrome",
                "mochitest-a11y",
                "mochitest-media",
            ]),
        ),
        rule(
            &["**/browser/**/browser_*.js", "**/browser.toml"],
            &[],
            Some(&["mochitest-browser", "mochitest-devtools"]),
        ),
        rule(
            &["**/xpcshell/**", "**/xpcshell.toml", "**/unit/**"],
            &[],
            Some(&["xpcshell"]),
        ),
        rule(
            &["**/reftests/**", "**/reftest.list"],
            &[],
            Some(&["reftest"]),
        ),
        rule(
            &["**/crashtests/**", "**/crashtests.list"],
            &[],
            Some(&["crashtest"]),
        ),
        rule(
            &["testing/web-platform/**"],
            &[],
            Some(&["web-platform-tests"]),
        ),
        rule(&["**/gtest/**"], &[], Some(&["gtest"])),
        rule(
            &["**/marionette/**", "testing/firefox-ui/**"],
            &[],
            Some(&["marionette", "firefox-ui"]),
        ),
        rule(&["testing/talos/**"], &[], Some(&["talos"])),
        rule(
            &["testing/raptor/**", "testing/perfdocs/**"],
            &["docs"],
            Some(&["raptor"]),
        ),
        rule(
            &["mobile/android/**", "widget/android/**"],
            &[],
            Some(&["android", "android-x86_64", "geckoview"]),
        ),
        rule(
            &["widget/cocoa/**", "**/*.mm"],
            &[],
            Some(&["macosx", "macosx-aarch64", "ios"]),
        ),
        rule(
            &["widget/windows/**", "**/windows/**"],
            &[],
            Some(&["windows", "win64", "win-aarch64"]),
        ),
        rule(
            &["widget/gtk/**", "**/gtk/**"],
            &[],
            Some(&["linux", "linux64"]),
        ),
        rule(
            &["taskcluster/**"],
            &[],
            Some(&["docker-image", "toolchain", "fetch", "source-test"]),
        ),
        rule(
            &["**/moz.build", "build/**", "config/**"],
            &["mozlint"],
            None,
        ),
        rule(&["**/locales/**", "l10n/**"], &["l10n"], None),
        rule(
            &["tools/lint/**", "**/*.{toml,ini}", "!third_party/**"],
            &["mozlint", "stylelint"],
            None,
        ),
        rule(&["**/*.java", "**/*.kt"], &["android-lint"], None),
        rule(&["**/*.txt", "!**/requirements*.txt"], &[], Some(&[])),
        rule(
            &["**/{test,tests}/**", "!**/generated/**"],
            &["test-verify"],
            None,
        ),
        rule(
            &["third_party/**", "!third_party/rust/**"],
            &[],
            Some(&["build", "source-test", "toolchain"]),
        ),
    ]
}

pub fn count_patterns(rules: &[Rule]) -> usize {
    rules.iter().map(|r| r.files.len()).sum()
}

/// Picks `count` distinct directories for nested rule files, strongly biased
/// towards top-level and module directories, never the root.
pub fn choose_rule_dirs(seed: u64, tree: &Tree, count: usize) -> Vec<usize> {
    let mut rng = Rng::fork(seed, "rule-dirs");
    let weights: Vec<f64> = tree
        .dirs
        .iter()
        .map(|d| {
            let depth = match d.depth {
                1 => 1000.0,
                2 => 60.0,
                3 => 1.0,
                4 => 0.45,
                5 => 0.2,
                6 => 0.08,
                _ => 0.03,
            };
            let kind = if d.kind == Kind::Test { 1.5 } else { 1.0 };
            if d.files_below == 0 {
                0.0
            } else {
                depth * kind
            }
        })
        .collect();
    let mut chosen = weighted_sample_without_replacement(&mut rng, &weights, count);
    chosen.sort_unstable();
    chosen
}

/// Splits `total` patterns over the files: at least one each, more for shallow ones.
pub fn allocate_patterns(seed: u64, tree: &Tree, dirs: &[usize], total: usize) -> Vec<usize> {
    let mut rng = Rng::fork(seed, "pattern-budget");
    let mut counts = vec![1usize; dirs.len()];
    if dirs.is_empty() {
        return counts;
    }
    let picker = Cumulative::new(dirs.iter().map(|&d| {
        let depth = match tree.dirs[d].depth {
            1 => 8.0,
            2 => 4.0,
            3 => 1.5,
            _ => 1.0,
        };
        depth * (0.3 + rng.exp1())
    }));
    for _ in dirs.len()..total {
        counts[picker.draw(&mut rng)] += 1;
    }
    counts
}

/// Writes the rules of one nested file holding exactly `patterns` patterns.
pub fn nested_rules(rng: &mut Rng, tree: &Tree, dir: usize, patterns: usize) -> Vec<Rule> {
    let mut rules = Vec::new();
    let mut left = patterns;
    while left > 0 {
        let size = rng
            .pick_weighted(&[(1usize, 50.0), (2, 30.0), (3, 15.0), (4, 5.0)])
            .min(left);
        left -= size;
        let mut files: Vec<String> = Vec::with_capacity(size);
        while files.len() < size {
            let mut candidate = String::new();
            for _ in 0..6 {
                candidate = if files.is_empty() || rng.chance(0.6) {
                    positive(rng, tree, dir)
                } else {
                    negative(rng, tree, dir)
                };
                if !files.contains(&candidate) {
                    break;
                }
            }
            files.push(candidate);
        }
        let mut inclusive = None;
        let mut exclusive = None;
        if rng.chance(0.35) {
            inclusive = Some(inclusive_for(rng, tree, dir, &files));
        }
        if inclusive.is_none() || rng.chance(0.6) {
            exclusive = Some(exclusive_for(rng, tree, dir));
        }
        rules.push(Rule {
            files,
            inclusive,
            exclusive,
        });
    }
    rules
}

fn exts_in(rng: &mut Rng, mask: u32) -> Option<&'static str> {
    let present: Vec<&'static str> = (0..EXTS.len())
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| EXTS[i])
        .collect();
    (!present.is_empty()).then(|| *rng.pick(&present))
}

/// `*.ext`, or the literal `moz.build` for the `build` pseudo-extension.
fn star_ext(ext: &str) -> String {
    if ext == "build" {
        "moz.build".to_owned()
    } else {
        format!("*.{ext}")
    }
}

fn positive(rng: &mut Rng, tree: &Tree, dir: usize) -> String {
    let d = &tree.dirs[dir];
    let children = &d.children;
    loop {
        let kind = rng.pick_weighted(&[
            (0u8, 8.0),
            (1, 10.0),
            (2, 15.0),
            (3, 15.0),
            (4, 3.0),
            (5, 8.0),
            (6, 5.0),
            (7, 4.0),
            (8, 5.0),
            (9, 4.0),
            (10, 6.0),
            (11, 4.0),
            (12, 3.0),
            (13, 2.0),
            (14, 3.0),
            (15, 3.0),
            (16, 2.0),
        ]);
        let pattern = match kind {
            0 => Some("**".to_owned()),
            1 => exts_in(rng, d.ext_here).map(star_ext),
            2 => exts_in(rng, d.ext_below).map(|e| format!("**/{}", star_ext(e))),
            3 if !children.is_empty() => {
                Some(format!("{}/**", tree.dirs[*rng.pick(children)].name))
            }
            4 if !children.is_empty() => Some(tree.dirs[*rng.pick(children)].name.clone()),
            5 if !children.is_empty() => {
                let c = &tree.dirs[*rng.pick(children)];
                match exts_in(rng, c.ext_here) {
                    Some(e) => Some(format!("{}/{}", c.name, star_ext(e))),
                    None => {
                        exts_in(rng, c.ext_below).map(|e| format!("{}/**/{}", c.name, star_ext(e)))
                    }
                }
            }
            6 if children.len() >= 2 => {
                let n = rng.range(2, 3.min(children.len()));
                let picks = rng.sample_indices(children.len(), n);
                let names: Vec<&str> = picks
                    .iter()
                    .map(|&i| tree.dirs[children[i]].name.as_str())
                    .collect();
                Some(format!("{{{}}}/**", names.join(",")))
            }
            7 => {
                let (a, b) = (exts_in(rng, d.ext_below), exts_in(rng, d.ext_below));
                match (a, b) {
                    (Some(a), Some(b)) if a != b && a != "build" && b != "build" => {
                        Some(format!("**/*.{{{a},{b}}}"))
                    }
                    _ => None,
                }
            }
            8 => {
                let py = d.ext_below & (1 << 3) != 0;
                let js = d.ext_below & (1 << 4) != 0;
                match (py, js, rng.below(3)) {
                    (true, _, 0) => Some("test_*.py".to_owned()),
                    (true, _, _) => Some("**/test_*.py".to_owned()),
                    (_, true, 0) => Some("**/browser_*.js".to_owned()),
                    (_, true, _) => Some("**/test_*.{js,html}".to_owned()),
                    _ => None,
                }
            }
            9 => exts_in(rng, d.ext_here).filter(|e| *e != "build").map(|e| {
                let class = *rng.pick(&[
                    "[a-m]", "[n-z]", "[A-Z]", "[!_]", "[a-z]", "[A-Ma-m]", "[^n]",
                ]);
                format!("{class}*.{e}")
            }),
            10 if !d.files.is_empty() => Some(rng.pick(&d.files).clone()),
            11 if !children.is_empty() => {
                let c = &tree.dirs[*rng.pick(children)];
                (!c.children.is_empty())
                    .then(|| format!("{}/{}/**", c.name, tree.dirs[*rng.pick(&c.children)].name))
            }
            12 => Some(
                (*rng.pick(&["**/{test,tests}/**", "**/test*/**", "{test,tests}/**"])).to_owned(),
            ),
            13 => Some(
                (*rng.pick(&[
                    "**/mochitest/**",
                    "**/browser/**",
                    "**/unit/**",
                    "**/gtest/**",
                ]))
                .to_owned(),
            ),
            14 if !d.files.is_empty() => {
                let f = rng.pick(&d.files);
                let (stem, ext) = f.rsplit_once('.').expect("files have an extension");
                let prefix: String = stem.chars().take(rng.range(1, 3)).collect();
                Some(format!("{prefix}*.{ext}"))
            }
            15 if !children.is_empty() => {
                let mut at = *rng.pick(children);
                for _ in 0..rng.below(3) {
                    let c = &tree.dirs[at].children;
                    if c.is_empty() {
                        break;
                    }
                    at = *rng.pick(c);
                }
                Some(format!("**/{}/**", tree.dirs[at].name))
            }
            16 if !d.files.is_empty() => {
                let f = rng.pick(&d.files);
                let (stem, ext) = f.rsplit_once('.').expect("files have an extension");
                let chars: Vec<char> = stem.chars().collect();
                let at = rng.below(chars.len());
                let masked: String = chars
                    .iter()
                    .enumerate()
                    .map(|(i, c)| if i == at { '?' } else { *c })
                    .collect();
                Some(format!("{masked}.{ext}"))
            }
            _ => None,
        };
        if let Some(p) = pattern {
            return p;
        }
    }
}

fn negative(rng: &mut Rng, tree: &Tree, dir: usize) -> String {
    let d = &tree.dirs[dir];
    loop {
        let pattern = match rng.below(10) {
            0 | 1 => Some("**/generated/**".to_owned()),
            2 => Some("**/test/**".to_owned()),
            3 => Some("**/tests/**".to_owned()),
            4 | 5 if !d.children.is_empty() => {
                Some(format!("{}/**", tree.dirs[*rng.pick(&d.children)].name))
            }
            6 => exts_in(rng, d.ext_below).map(|e| format!("**/{}", star_ext(e))),
            7 => Some((*rng.pick(&["**/*.md", "**/*.{txt,toml}", "**/third_party/**"])).to_owned()),
            8 if !d.files.is_empty() => Some(rng.pick(&d.files).clone()),
            9 => exts_in(rng, d.ext_here)
                .filter(|e| *e != "build")
                .map(|e| format!("[n-z]*.{e}")),
            _ => None,
        };
        if let Some(p) = pattern {
            return format!("!{p}");
        }
    }
}

fn inclusive_for(rng: &mut Rng, tree: &Tree, dir: usize, files: &[String]) -> Vec<String> {
    let text = files.join(" ");
    let mut options: Vec<&str> = Vec::new();
    // Extensions the patterns name: `*.py`, `**/*.{js,mjs}`.
    let has = |e: &str| {
        text.split([' ', ',', '{', '}'])
            .any(|tok| tok == e || tok.strip_suffix(e).is_some_and(|t| t.ends_with('.')))
    };
    if has("py") {
        options.extend(["py-lint", "python-tests"]);
    }
    if has("rs") {
        options.extend(["rusttests", "clippy", "rustfmt"]);
    }
    if has("js") || has("mjs") {
        options.push("eslint");
    }
    if has("cpp") || has("h") || has("mm") {
        options.extend(["clang-format", "code-coverage"]);
    }
    if has("md") || has("rst") {
        options.push("docs");
    }
    if has("java") || has("kt") {
        options.push("android-lint");
    }
    if tree.dirs[tree.dirs[dir].top].name == "js" {
        options.push("spidermonkey");
    }
    if tree.dirs[dir].kind == Kind::Test {
        options.push("test-verify");
    }
    if options.is_empty() {
        options.push(*rng.pick(INCLUSIVE));
    }
    let n = rng.range(1, 2.min(options.len()));
    let mut picked: Vec<String> = rng
        .sample_indices(options.len(), n)
        .into_iter()
        .map(|i| options[i].to_owned())
        .collect();
    picked.sort();
    picked
}

fn exclusive_for(rng: &mut Rng, tree: &Tree, dir: usize) -> Vec<String> {
    let d = &tree.dirs[dir];
    let r = rng.f64();
    if r < 0.04 {
        return Vec::new();
    }
    if r < 0.07 {
        return vec![(*rng.pick(&["docs", "l10n", "py-lint"])).to_owned()];
    }
    let segments: Vec<&str> = d.path.split('/').collect();
    let in_path = |names: &[&str]| segments.iter().any(|s| names.contains(s));
    let platforms: Option<&[&str]> = if in_path(&["windows", "win"]) {
        Some(&["windows", "win64", "win-aarch64"])
    } else if in_path(&["cocoa", "mac", "macos"]) {
        Some(&["macosx", "macosx-aarch64"])
    } else if in_path(&["uikit", "ios"]) {
        Some(&["ios"])
    } else if in_path(&["gtk", "linux"]) {
        Some(&["linux", "linux64"])
    } else if in_path(&["android", "mobile"]) {
        Some(&["android", "android-x86_64", "geckoview"])
    } else {
        None
    };
    if let Some(p) = platforms
        && rng.chance(0.8)
    {
        return strings(p);
    }
    let suites = family("suite");
    if d.kind == Kind::Test {
        let by_name: Option<&[&str]> = segments.iter().rev().find_map(|s| -> Option<&[&str]> {
            Some(match *s {
                "mochitest" => &["mochitest", "mochitest-media"],
                "browser" => &["mochitest-browser"],
                "chrome" => &["mochitest-chrome"],
                "xpcshell" | "unit" => &["xpcshell"],
                "gtest" => &["gtest", "cppunittest"],
                "reftests" => &["reftest"],
                "crashtests" => &["crashtest"],
                "marionette" => &["marionette"],
                _ => return None,
            })
        });
        return match by_name {
            Some(names) if rng.chance(0.85) => strings(names),
            _ => pick_some(rng, suites, 1, 3),
        };
    }
    match rng.below(10) {
        0..=4 => pick_some(rng, family("platform"), 1, 4),
        5..=7 => pick_some(rng, suites, 1, 3),
        _ => {
            let mut v = pick_some(rng, family("platform"), 1, 2);
            v.extend(pick_some(rng, suites, 1, 2));
            v.extend(pick_some(rng, family("kind"), 0, 1));
            v
        }
    }
}

fn pick_some(rng: &mut Rng, from: &[&str], lo: usize, hi: usize) -> Vec<String> {
    let n = rng.range(lo, hi.min(from.len()));
    let mut idx = rng.sample_indices(from.len(), n);
    idx.sort_unstable();
    idx.into_iter().map(|i| from[i].to_owned()).collect()
}
