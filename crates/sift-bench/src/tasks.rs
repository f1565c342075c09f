//! Tasks: a Gecko-like task graph (fetches, toolchains, docker images, builds,
//! signing/repackage/l10n chains, the platform × suite × chunk test matrix,
//! skip-unless-changed source tests, a few `always` and composite tasks).

use crate::names::{LOCALES, TOOLCHAINS, WORDS};
use crate::rng::Rng;

#[derive(Clone, Debug)]
pub enum Strategy {
    Schedules(Vec<String>),
    Changed(Vec<String>),
    Always,
    Any(Vec<Strategy>),
    All(Vec<Strategy>),
    Not(Box<Strategy>),
}

#[derive(Clone, Debug)]
pub struct Task {
    pub name: String,
    pub strategy: Option<Strategy>,
    pub needs: Vec<String>,
    pub run: Option<String>,
}

pub const TASKS_AT_SCALE_1: f64 = 10_000.0;

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|x| (*x).to_owned()).collect()
}

fn schedules(items: &[&str]) -> Option<Strategy> {
    Some(Strategy::Schedules(s(items)))
}

fn changed(items: &[&str]) -> Strategy {
    Strategy::Changed(s(items))
}

/// (platform component, build configuration).
const BUILDS: &[(&str, &str)] = &[
    ("linux64", "linux64-opt"),
    ("win64", "win64-opt"),
    ("macosx", "macosx64-opt"),
    ("android", "android-arm-opt"),
    ("linux64", "linux64-debug"),
    ("win64", "win64-debug"),
    ("macosx", "macosx64-debug"),
    ("android", "android-arm-debug"),
    ("linux64", "linux64-shippable"),
    ("win64", "win64-shippable"),
    ("macosx", "macosx64-shippable"),
    ("android", "android-arm-shippable"),
    ("linux", "linux-opt"),
    ("windows", "win32-opt"),
    ("macosx-aarch64", "macosx-aarch64-opt"),
    ("android-x86_64", "android-x86_64-opt"),
    ("win-aarch64", "win-aarch64-opt"),
    ("ios", "ios-opt"),
    ("linux", "linux-debug"),
    ("windows", "win32-debug"),
    ("macosx-aarch64", "macosx-aarch64-debug"),
    ("android-x86_64", "android-x86_64-debug"),
    ("ios", "ios-debug"),
    ("linux", "linux-shippable"),
    ("windows", "win32-shippable"),
    ("macosx-aarch64", "macosx-aarch64-shippable"),
    ("android-x86_64", "android-x86_64-shippable"),
    ("win-aarch64", "win-aarch64-shippable"),
    ("linux64", "linux64-asan-opt"),
    ("linux64", "linux64-asan-debug"),
    ("linux64", "linux64-tsan-opt"),
    ("linux64", "linux64-ccov-opt"),
    ("linux64", "linux64-fuzzing-debug"),
    ("win64", "win64-asan-opt"),
    ("win64", "win64-ccov-opt"),
    ("macosx", "macosx64-asan-opt"),
    ("linux64", "linux64-qr-opt"),
];

/// Base chunk counts per suite (before scaling to the task budget).
const SUITE_CHUNKS: &[(&str, f64)] = &[
    ("mochitest", 16.0),
    ("mochitest-browser", 20.0),
    ("mochitest-chrome", 4.0),
    ("mochitest-a11y", 2.0),
    ("mochitest-media", 4.0),
    ("mochitest-devtools", 10.0),
    ("xpcshell", 8.0),
    ("reftest", 8.0),
    ("crashtest", 4.0),
    ("jsreftest", 6.0),
    ("web-platform-tests", 24.0),
    ("marionette", 2.0),
    ("gtest", 1.0),
    ("cppunittest", 1.0),
    ("jittest", 6.0),
    ("talos", 12.0),
    ("raptor", 30.0),
    ("awsy", 2.0),
    ("firefox-ui", 2.0),
    ("telemetry-tests", 1.0),
];

/// The pool of `changed` pattern lists (anchored at the repository root), with a slug.
const CHANGED_POOL: &[(&str, &[&str])] = &[
    ("python", &["**/*.py", "!third_party/**"]),
    (
        "eslint",
        &["**/*.{js,mjs}", "!third_party/**", "!**/generated/**"],
    ),
    ("rust", &["**/*.rs"]),
    ("cargo", &["**/Cargo.toml", "Cargo.lock"]),
    ("cpp", &["**/*.{cpp,h}", "!third_party/**"]),
    ("taskgraph", &["taskcluster/**"]),
    ("mozbase", &["python/**", "testing/mozbase/**"]),
    ("doc", &["**/*.{md,rst}"]),
    ("docs-dir", &["docs/**"]),
    ("android", &["**/*.java", "**/*.kt"]),
    ("geckoview", &["mobile/android/**"]),
    ("spidermonkey", &["js/src/**/*.{cpp,h}"]),
    ("toml", &["**/*.toml", "!third_party/**"]),
    ("ini", &["**/*.ini"]),
    ("list", &["**/*.list"]),
    ("pytest", &["**/test_*.py"]),
    ("devtools", &["devtools/**/*.{js,mjs}"]),
    ("html", &["**/*.html", "!testing/web-platform/**"]),
    ("lint", &["tools/lint/**"]),
    ("reftest", &["layout/**/reftests/**"]),
    ("cpp-caps", &["**/[A-Z]*.cpp"]),
    ("widget", &["widget/{cocoa,gtk,windows}/**"]),
    ("netwerk", &["netwerk/**", "!netwerk/test/**"]),
    ("security", &["security/**", "!security/nss/**"]),
    ("mozbuild", &["**/moz.build"]),
    ("vendor", &["third_party/rust/**"]),
    ("browser-mjs", &["browser/**/*.mjs"]),
    ("txt", &["**/*.txt", "!**/requirements.txt"]),
    ("servo", &["servo/**/*.rs", "!servo/tests/**"]),
    ("cocoa", &["**/*.mm", "widget/cocoa/**"]),
];

const ALWAYS: &[&str] = &[
    "decision",
    "audit",
    "license-check",
    "secrets-scan",
    "sbom",
    "repo-health",
    "clang-tidy-external",
];

fn composite(i: usize, platform: &str) -> Strategy {
    use Strategy::*;
    match i % 6 {
        0 => Any(vec![Schedules(s(&["docs"])), changed(&["**/*.md"])]),
        1 => All(vec![
            Schedules(s(&[platform])),
            Not(Box::new(changed(&["**/*.md", "**/*.rst"]))),
        ]),
        2 => Not(Box::new(Schedules(s(&["docs"])))),
        3 => Any(vec![
            All(vec![Schedules(s(&["android"])), changed(&["mobile/**"])]),
            Schedules(s(&["geckoview"])),
        ]),
        4 => All(vec![
            changed(&["**/*.rs"]),
            Any(vec![Schedules(s(&["linux64"])), Schedules(s(&["macosx"]))]),
        ]),
        _ => Any(vec![
            Schedules(s(&["l10n"])),
            changed(&["**/locales/**", "l10n/**"]),
        ]),
    }
}

pub fn generate(seed: u64, scale: f64) -> Vec<Task> {
    let mut rng = Rng::fork(seed, "tasks");
    let total = (TASKS_AT_SCALE_1 * scale).round().max(20.0) as usize;
    let mut tasks: Vec<Task> = Vec::with_capacity(total);

    // Always-run tasks.
    for name in ALWAYS.iter().take((total / 2000).clamp(1, ALWAYS.len())) {
        tasks.push(Task {
            name: (*name).to_owned(),
            strategy: Some(Strategy::Always),
            needs: Vec::new(),
            run: Some(format!("./mach {name}")),
        });
    }

    // Fetches, toolchains (which need their fetch and sometimes another
    // toolchain), docker images (which sometimes build on another image).
    let infra = (total * 3 / 100).max(3);
    let n_fetch = (infra * 2 / 5).max(1);
    let n_docker = (infra / 5).max(1);
    let n_toolchain = infra.saturating_sub(n_fetch + n_docker).max(1);
    let tool = |i: usize| {
        format!(
            "{}-{}",
            TOOLCHAINS[i % TOOLCHAINS.len()],
            i / TOOLCHAINS.len() + 1
        )
    };
    for i in 0..n_fetch {
        tasks.push(Task {
            name: format!("fetch-{}", tool(i)),
            strategy: schedules(&["fetch"]),
            needs: Vec::new(),
            run: Some(format!("fetch-content static-url {}", tool(i))),
        });
    }
    let mut docker: Vec<String> = Vec::new();
    for i in 0..n_docker {
        let name = if i == 0 {
            "docker-image-base".to_owned()
        } else {
            format!("docker-image-{}-{i}", rng.pick(WORDS))
        };
        let needs = if i > 0 {
            vec![docker[rng.below(i)].clone()]
        } else {
            Vec::new()
        };
        tasks.push(Task {
            name: name.clone(),
            strategy: schedules(&["docker-image"]),
            needs,
            run: None,
        });
        docker.push(name);
    }
    let mut toolchains: Vec<String> = Vec::new();
    for i in 0..n_toolchain {
        let name = format!("toolchain-{}", tool(i));
        let mut needs = vec![format!("fetch-{}", tool(i % n_fetch))];
        if i > 0 && rng.chance(0.4) {
            needs.push(toolchains[rng.below(i)].clone());
        }
        needs.push(docker[rng.below(docker.len())].clone());
        tasks.push(Task {
            name: name.clone(),
            strategy: schedules(&["toolchain"]),
            needs: dedup(needs),
            run: Some(format!(
                "taskcluster/scripts/build-toolchain.sh {}",
                tool(i)
            )),
        });
        toolchains.push(name);
    }

    // Builds.
    let n_builds = if total >= 2000 {
        BUILDS.len()
    } else {
        (total / 60).clamp(1, BUILDS.len())
    };
    let builds = &BUILDS[..n_builds];
    for &(platform, config) in builds {
        let mut needs: Vec<String> = (0..rng.range(2, 3))
            .map(|_| toolchains[rng.below(toolchains.len())].clone())
            .collect();
        if platform.starts_with("linux") || platform.starts_with("android") {
            needs.push(docker[0].clone());
        }
        tasks.push(Task {
            name: format!("build-{config}"),
            strategy: schedules(&[platform]),
            needs: dedup(needs),
            run: Some("./mach build".to_owned()),
        });
    }

    // Release chains for shippable builds: signing → repackage → … (3–5 deep),
    // and per-locale l10n repack → signing → beetmover.
    let release_budget = total * 15 / 100;
    let shippable: Vec<&str> = builds
        .iter()
        .filter(|(_, c)| c.contains("shippable"))
        .map(|(_, c)| *c)
        .collect();
    let steps: &[(&str, &str)] = &[
        ("signing", "signing"),
        ("repackage", "repackage"),
        ("repackage-signing", "signing"),
        ("beetmover", "beetmover"),
        ("partials", "partials"),
    ];
    let mut release_used = 0;
    for config in &shippable {
        let depth = rng.range(3, 5);
        let mut previous = format!("build-{config}");
        for &(step, component) in &steps[..depth] {
            let name = format!("{step}-{config}");
            tasks.push(Task {
                name: name.clone(),
                strategy: schedules(&[component]),
                needs: vec![previous],
                run: None,
            });
            previous = name;
            release_used += 1;
        }
    }
    if !shippable.is_empty() {
        let locales = (release_budget.saturating_sub(release_used) / (3 * shippable.len()))
            .min(LOCALES.len());
        for config in &shippable {
            for locale in &LOCALES[..locales] {
                let repack = format!("l10n-{config}-{locale}");
                let signing = format!("l10n-signing-{config}-{locale}");
                tasks.push(Task {
                    name: repack.clone(),
                    strategy: schedules(&["l10n"]),
                    needs: vec![format!("build-{config}")],
                    run: Some(format!("./mach build installers-{locale}")),
                });
                tasks.push(Task {
                    name: signing.clone(),
                    strategy: schedules(&["signing"]),
                    needs: vec![repack],
                    run: None,
                });
                tasks.push(Task {
                    name: format!("l10n-beetmover-{config}-{locale}"),
                    strategy: schedules(&["beetmover"]),
                    needs: vec![signing],
                    run: None,
                });
            }
        }
    }

    // Skip-unless-changed source tests (~5%), from a pool of pattern lists.
    let mut used_slugs = vec![0usize; CHANGED_POOL.len()];
    for _ in 0..total * 5 / 100 {
        let k = rng.below(CHANGED_POOL.len());
        let (slug, patterns) = CHANGED_POOL[k];
        used_slugs[k] += 1;
        tasks.push(Task {
            name: format!("source-test-{slug}-{}", used_slugs[k]),
            strategy: Some(changed(patterns)),
            needs: vec![docker[0].clone()],
            run: Some(format!("./mach lint --linter {slug}")),
        });
    }

    // A few composites.
    for i in 0..(total / 500).max(1) {
        let (platform, config) = builds[i % builds.len()];
        tasks.push(Task {
            name: format!("composite-{i}"),
            strategy: Some(composite(i, platform)),
            needs: if i % 2 == 0 {
                vec![format!("build-{config}")]
            } else {
                Vec::new()
            },
            run: Some("./mach test --composite".to_owned()),
        });
    }

    // The test matrix fills the rest: per (config, suite) some chunks and a
    // report that needs them; perf suites also upload the report.
    let remaining = total.saturating_sub(tasks.len());
    let mut combos: Vec<(&str, &str, &str, f64, usize)> = Vec::new(); // platform, config, suite, base, overhead
    for &(platform, config) in builds {
        if config.contains("fuzzing") {
            continue;
        }
        for &(suite, base) in SUITE_CHUNKS {
            if !suite_runs_on(suite, platform, config) {
                continue;
            }
            let overhead = if matches!(suite, "talos" | "raptor" | "awsy") {
                2
            } else {
                1
            };
            combos.push((platform, config, suite, base, overhead));
        }
    }
    // Drop combinations (deterministically) until each can have a chunk.
    rng.shuffle(&mut combos);
    while !combos.is_empty() && combos.iter().map(|c| c.4 + 1).sum::<usize>() > remaining {
        combos.pop();
    }
    combos.sort_by(|a, b| (a.1, a.2).cmp(&(b.1, b.2)));
    let overhead: usize = combos.iter().map(|c| c.4).sum();
    let chunk_total = remaining.saturating_sub(overhead);
    let chunks = apportion(&combos.iter().map(|c| c.3).collect::<Vec<_>>(), chunk_total);
    for (combo, &n) in combos.iter().zip(&chunks) {
        let &(platform, config, suite, _, extra) = combo;
        let mut names = Vec::with_capacity(n);
        for k in 1..=n {
            let name = if n == 1 {
                format!("test-{config}-{suite}")
            } else {
                format!("test-{config}-{suite}-{k}")
            };
            tasks.push(Task {
                name: name.clone(),
                strategy: schedules(&[platform, suite]),
                needs: vec![format!("build-{config}")],
                run: Some(format!(
                    "./mach test --suite {suite} --this-chunk {k} --total-chunks {n}"
                )),
            });
            names.push(name);
        }
        let report = format!("report-{config}-{suite}");
        tasks.push(Task {
            name: report.clone(),
            strategy: schedules(&[suite]),
            needs: names,
            run: None,
        });
        if extra == 2 {
            tasks.push(Task {
                name: format!("perfherder-{config}-{suite}"),
                strategy: schedules(&[suite]),
                needs: vec![report],
                run: Some("./mach perfherder upload".to_owned()),
            });
        }
    }
    tasks
}

fn suite_runs_on(suite: &str, platform: &str, config: &str) -> bool {
    let perf = matches!(suite, "talos" | "raptor" | "awsy");
    if perf
        && (config.contains("debug")
            || config.contains("asan")
            || config.contains("ccov")
            || config.contains("tsan"))
    {
        return false;
    }
    match platform {
        "android" | "android-x86_64" => matches!(
            suite,
            "mochitest"
                | "mochitest-media"
                | "xpcshell"
                | "reftest"
                | "crashtest"
                | "jsreftest"
                | "web-platform-tests"
                | "gtest"
                | "cppunittest"
                | "raptor"
        ),
        "ios" => matches!(
            suite,
            "gtest" | "xpcshell" | "mochitest" | "web-platform-tests"
        ),
        _ => true,
    }
}

/// Splits `total` into one positive part per weight (largest remainder);
/// `total >= weights.len()` is assumed (callers drop entries until it holds).
fn apportion(weights: &[f64], total: usize) -> Vec<usize> {
    if weights.is_empty() {
        return Vec::new();
    }
    let spare = total.saturating_sub(weights.len());
    let sum: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * spare as f64).collect();
    let mut parts: Vec<usize> = exact.iter().map(|x| 1 + x.floor() as usize).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    let mut short = total.saturating_sub(parts.iter().sum());
    for &i in order.iter().cycle() {
        if short == 0 {
            break;
        }
        parts[i] += 1;
        short -= 1;
    }
    parts
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_is_exact() {
        assert_eq!(apportion(&[1.0, 1.0, 2.0], 10).iter().sum::<usize>(), 10);
        assert!(apportion(&[1.0, 100.0], 2).iter().all(|&p| p == 1));
    }

    #[test]
    fn full_scale_has_ten_thousand_tasks() {
        let tasks = generate(1, 1.0);
        assert_eq!(tasks.len(), 10_000);
    }
}
