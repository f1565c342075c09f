//! taskgraph's optimization strategies, by name, with taskgraph's meanings:
//! a strategy answers "remove this task?" (`should_remove_task`) and, in the
//! replacement phase, "replace it?" (`should_replace_task`).
//!
//! Note the inversion against sift's native keys: in a task graph `always`
//! *removes* a task and `never` keeps it.

use std::sync::Arc;

use serde_json::Value;

/// A strategy's answer. `Unknown` is what a strategy that needs Mozilla's
/// services (bugbug, the Taskcluster index) would say; it keeps the task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    Unknown,
}

/// A strategy, as registered.
#[derive(Clone, Debug)]
pub enum Strategy {
    /// `never` (and `upload-symbols`, `reprocess-symbols`): never removes.
    Never,
    /// `always`: always removes.
    Always,
    /// `skip-unless-changed`: removes unless a changed file matches.
    Changed,
    /// `skip-unless-schedules` (and `build`, `test`, `test-inclusive`,
    /// `test-verify`): removes unless a listed component is affected.
    Schedules,
    /// `skip-unless-has-relevant-tests`.
    RelevantTests,
    /// `skip-unless-backstop`.
    Backstop,
    /// `skip-unless-expanded`.
    Expanded,
    /// `platform-debug`: removes tasks whose `build_type` is set and not debug.
    PlatformDebug,
    /// `index-search`: never removes; replacement needs the Taskcluster index.
    IndexSearch,
    /// Needs a service sift does not call (bugbug, the index): unknown.
    Service,
    Any(Vec<Arc<Registered>>),
    All(Vec<Arc<Registered>>),
    Not(Arc<Registered>),
    Alias(Arc<Registered>),
}

/// A strategy and the name it was registered under.
#[derive(Clone, Debug)]
pub struct Registered {
    pub name: String,
    pub strategy: Strategy,
    /// Sub-strategies get `arg[i]` instead of the task's argument.
    pub split_args: bool,
}

impl Registered {
    fn new(name: &str, strategy: Strategy) -> Arc<Registered> {
        Arc::new(Registered {
            name: name.to_owned(),
            strategy,
            split_args: false,
        })
    }

    /// taskgraph's `description`: the name for plain strategies, the
    /// sub-strategy's for an alias, `a-or-b`, `a-and-b`, `not-a`.
    pub fn description(&self) -> String {
        match &self.strategy {
            Strategy::Alias(sub) => sub.description(),
            Strategy::Any(subs) => join(subs, "-or-"),
            Strategy::All(subs) => join(subs, "-and-"),
            Strategy::Not(sub) => format!("not-{}", sub.description()),
            _ => self.name.clone(),
        }
    }
}

fn join(subs: &[Arc<Registered>], sep: &str) -> String {
    subs.iter()
        .map(|s| s.description())
        .collect::<Vec<_>>()
        .join(sep)
}

/// Strategies that need Mozilla's services, reported once each.
pub const SERVICES: &[&str] = &[
    "bugbug-all",
    "bugbug-all-low",
    "bugbug-all-high",
    "bugbug-debug",
    "bugbug-reduced",
    "bugbug-reduced-fallback",
    "bugbug-reduced-high",
    "bugbug-reduced-manifests",
    "bugbug-reduced-manifests-config-selection",
    "bugbug-reduced-manifests-config-selection-low",
    "bugbug-reduced-manifests-config-selection-medium",
    "bugbug-reduced-manifests-fallback",
    "bugbug-reduced-manifests-fallback-low",
    "bugbug-reduced-manifests-fallback-last-10-pushes",
    "bugbug-low",
    "bugbug-medium",
    "bugbug-high",
    "bugbug-tasks-medium",
    "bugbug-tasks-high",
    "platform-disperse",
    "skip-unless-missing",
    "skip-unless-android-perftest-backstop",
];

/// The strategy registry: taskgraph's built-ins, gecko's aliases and, when
/// the parameters' `optimize_strategies` names gecko's `project.autoland`,
/// its overrides.
#[derive(Debug, Default)]
pub struct Registry {
    entries: rustc_hash::FxHashMap<String, Arc<Registered>>,
}

impl Registry {
    pub fn gecko(autoland: bool) -> Registry {
        let mut r = Registry::default();
        let base = [
            ("never", Strategy::Never),
            ("always", Strategy::Always),
            ("skip-unless-changed", Strategy::Changed),
            ("skip-unless-schedules", Strategy::Schedules),
            ("skip-unless-has-relevant-tests", Strategy::RelevantTests),
            ("skip-unless-backstop", Strategy::Backstop),
            ("skip-unless-expanded", Strategy::Expanded),
            ("platform-debug", Strategy::PlatformDebug),
            ("index-search", Strategy::IndexSearch),
        ];
        for (name, strategy) in base {
            r.insert(Registered::new(name, strategy));
        }
        for name in SERVICES {
            r.insert(Registered::new(name, Strategy::Service));
        }
        for alias in ["build", "test", "test-inclusive", "test-verify"] {
            let sub = r.get("skip-unless-schedules").expect("registered");
            r.insert(Registered::new(alias, Strategy::Alias(sub)));
        }
        for alias in ["upload-symbols", "reprocess-symbols"] {
            let sub = r.get("never").expect("registered");
            r.insert(Registered::new(alias, Strategy::Alias(sub)));
        }
        let (missing, changed) = (
            r.get("skip-unless-missing").expect("registered"),
            r.get("skip-unless-changed").expect("registered"),
        );
        r.insert(Arc::new(Registered {
            name: "skip-unless-missing-or-changed".to_owned(),
            strategy: Strategy::All(vec![missing, changed]),
            split_args: true,
        }));
        if autoland {
            r.add_autoland();
        }
        r
    }

    /// gecko's `project.autoland` overrides (reference §5.6).
    fn add_autoland(&mut self) {
        let get = |name: &str| self.get(name).expect("registered");
        let anon = |strategy| Registered::new("", strategy);
        let test = anon(Strategy::Any(vec![
            anon(Strategy::All(vec![
                get("skip-unless-backstop"),
                anon(Strategy::Not(get("skip-unless-expanded"))),
                anon(Strategy::Any(vec![
                    get("skip-unless-schedules"),
                    get("bugbug-reduced-manifests-fallback-last-10-pushes"),
                    get("platform-disperse"),
                ])),
            ])),
            anon(Strategy::All(vec![
                get("skip-unless-expanded"),
                anon(Strategy::Any(vec![
                    get("skip-unless-schedules"),
                    get("bugbug-reduced-manifests-fallback-low"),
                    get("platform-disperse"),
                ])),
            ])),
        ]));
        let build = anon(Strategy::All(vec![
            get("skip-unless-expanded"),
            anon(Strategy::Any(vec![
                get("skip-unless-schedules"),
                get("bugbug-reduced-fallback"),
            ])),
        ]));
        self.entries.insert("test".to_owned(), test);
        self.entries.insert("build".to_owned(), build);
    }

    fn insert(&mut self, registered: Arc<Registered>) {
        // taskgraph's register_strategy: the first registration wins.
        self.entries
            .entry(registered.name.clone())
            .or_insert(registered);
    }

    pub fn get(&self, name: &str) -> Option<Arc<Registered>> {
        self.entries.get(name).cloned()
    }

    /// Whether `name` is `skip-unless-schedules` or an alias of it (`test`,
    /// `build` outside autoland): its argument lists components.
    pub fn lists_components(&self, name: &str) -> bool {
        let mut registered = self.get(name);
        while let Some(r) = registered {
            match &r.strategy {
                Strategy::Schedules => return true,
                Strategy::Alias(sub) => registered = Some(Arc::clone(sub)),
                _ => return false,
            }
        }
        false
    }
}

/// A composite strategy a project registers itself, as taskgraph's
/// `register_strategy(name)` with `Any`, `All`, `Not` or an alias
/// (`[taskgraph.strategies]` in sift.toml).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserStrategy {
    pub name: String,
    pub kind: UserKind,
    /// Members get `arg[i]` rather than the whole argument (`Any`/`All`).
    pub split_args: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserKind {
    Any(Vec<String>),
    All(Vec<String>),
    Not(String),
    Alias(String),
}

impl UserKind {
    /// The strategies it names.
    pub fn members(&self) -> Vec<&str> {
        match self {
            UserKind::Any(names) | UserKind::All(names) => {
                names.iter().map(String::as_str).collect()
            }
            UserKind::Not(name) | UserKind::Alias(name) => vec![name.as_str()],
        }
    }
}

impl Registry {
    /// Every registered name (built-in ones: taskgraph's and gecko's).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// `strategies` registered after the built-in ones. Each names
    /// registered strategies or others of `strategies` (in any order),
    /// without cycles and without reusing a registered name (taskgraph
    /// ignores a second registration): the configuration checks that; a
    /// strategy that breaks it here is left out.
    pub fn with_user(mut self, strategies: &[UserStrategy]) -> Registry {
        let mut pending: Vec<&UserStrategy> = strategies
            .iter()
            .filter(|s| !self.entries.contains_key(&s.name))
            .collect();
        loop {
            let before = pending.len();
            pending.retain(|user| {
                let Some(members) = user
                    .kind
                    .members()
                    .iter()
                    .map(|m| self.get(m))
                    .collect::<Option<Vec<_>>>()
                else {
                    return true;
                };
                let strategy = match &user.kind {
                    UserKind::Any(_) => Strategy::Any(members),
                    UserKind::All(_) => Strategy::All(members),
                    UserKind::Not(_) => Strategy::Not(Arc::clone(&members[0])),
                    UserKind::Alias(_) => Strategy::Alias(Arc::clone(&members[0])),
                };
                self.insert(Arc::new(Registered {
                    name: user.name.clone(),
                    strategy,
                    split_args: user.split_args,
                }));
                false
            });
            if pending.is_empty() || pending.len() == before {
                return self;
            }
        }
    }
}

/// The arguments of a composite's sub-strategies.
pub(crate) fn split<'a>(registered: &Registered, arg: &'a Value, subs: usize) -> Vec<&'a Value> {
    match arg {
        Value::Array(items) if registered.split_args && items.len() == subs => {
            items.iter().collect()
        }
        _ => vec![arg; subs],
    }
}
