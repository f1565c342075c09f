//! The TOML shape of `sift.toml`, as serde reads it. Every value a user can get
//! wrong carries its span so that validation can point at it.

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

pub(crate) type Names = Spanned<Vec<Spanned<String>>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoot {
    pub components: Option<Spanned<RawComponentsSpec>>,
    /// `[mozbuild]`: read moz.build SCHEDULES annotations (issue 14).
    pub mozbuild: Option<RawMozbuild>,
    #[serde(default)]
    pub rules: Vec<Spanned<RawRule>>,
    #[serde(default, deserialize_with = "entries")]
    pub tasks: Vec<(Spanned<String>, Spanned<Box<RawTask>>)>,
    #[serde(default)]
    pub include: Vec<Spanned<String>>,
    pub cache: Option<RawCache>,
    pub store: Option<RawStore>,
    pub backstop: Option<Spanned<RawBackstop>>,
    pub ci: Option<crate::ci::RawCi>,
    pub init: Option<RawInit>,
    pub plan: Option<RawPlan>,
    /// `[taskgraph.strategies]`: a project's own composite strategies.
    pub taskgraph: Option<RawTaskgraph>,
}

/// `[taskgraph]`: for `sift plan --graph`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTaskgraph {
    #[serde(default, deserialize_with = "entries")]
    pub strategies: Vec<(Spanned<String>, Spanned<RawUserStrategy>)>,
}

/// One `[taskgraph.strategies]` entry: `{ any = [...] }`, `{ all = [...] }`,
/// `{ not = "name" }` or `{ alias = "name" }`, and `split_args` for the first two.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUserStrategy {
    pub any: Option<Names>,
    pub all: Option<Names>,
    pub not: Option<Spanned<String>>,
    pub alias: Option<Spanned<String>>,
    pub split_args: Option<Spanned<bool>>,
}

/// `[init]`: what `sift init --force` keeps when it regenerates the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInit {
    /// Hand-written tasks and components (and the rules naming them).
    pub keep: Option<Names>,
}

/// A table read as its entries, in the order the parser gives them (both
/// of sift's TOML paths give keys sorted): thousands of tasks need no map,
/// as TOML itself rejects duplicate keys.
fn entries<'de, D, K, V>(deserializer: D) -> Result<Vec<(K, V)>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de>,
    V: Deserialize<'de>,
{
    struct Entries<K, V>(std::marker::PhantomData<(K, V)>);
    impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Entries<K, V> {
        type Value = Vec<(K, V)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a table")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some(entry) = map.next_entry()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(Entries(std::marker::PhantomData))
}

/// A nested rule file: rules only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNested {
    #[serde(default)]
    pub rules: Vec<Spanned<RawRule>>,
}

/// An included task file: tasks only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInclude {
    #[serde(default, deserialize_with = "entries")]
    pub tasks: Vec<(Spanned<String>, Spanned<Box<RawTask>>)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCache {
    pub store: Option<Spanned<String>>,
}

/// `[store]`: where history and caches live.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStore {
    pub url: Option<Spanned<String>>,
}

/// `[plan]`: how plans are applied.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPlan {
    pub mode: Option<Spanned<String>>,
}

/// `[backstop]`: the cadence of full runs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBackstop {
    pub branches: Option<Names>,
    pub every_pushes: Option<Spanned<i64>>,
    pub every_hours: Option<Spanned<f64>>,
    pub every_pushes_expanded: Option<Spanned<i64>>,
}

/// `[mozbuild]`: Mozilla's moz.build files as a layer of rule files.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMozbuild {
    pub enabled: Option<Spanned<bool>>,
}

/// `components = "gecko"` (a built-in preset) or a `[components]` table.
#[derive(Debug)]
pub(crate) enum RawComponentsSpec {
    Preset(String),
    Table(RawComponents),
}

impl<'de> Deserialize<'de> for RawComponentsSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpecVisitor;
        impl<'de> Visitor<'de> for SpecVisitor {
            type Value = RawComponentsSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a preset name such as \"gecko\" or a [components] table")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(RawComponentsSpec::Preset(value.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                RawComponents::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawComponentsSpec::Table)
            }
        }
        deserializer.deserialize_any(SpecVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawComponents {
    pub exclusive: Option<Spanned<ComponentList>>,
    pub inclusive: Option<Names>,
}

/// `exclusive = [...]` or `exclusive = { family = [...], ... }`.
#[derive(Debug)]
pub(crate) enum ComponentList {
    Flat(Vec<Spanned<String>>),
    Families(Vec<(Spanned<String>, Vec<Spanned<String>>)>),
}

impl<'de> Deserialize<'de> for ComponentList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = ComponentList;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of component names or a table of named lists (families)")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element()? {
                    names.push(name);
                }
                Ok(ComponentList::Flat(names))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut families = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let names: Vec<Spanned<String>> = map.next_value()?;
                    families.push((key, names));
                }
                Ok(ComponentList::Families(families))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub files: Names,
    pub inclusive: Option<Names>,
    pub exclusive: Option<Names>,
    /// `lockfile = "cargo"`: the exclusive components come from the
    /// lockfile's diff (the packages whose resolved dependencies changed).
    pub lockfile: Option<Spanned<String>>,
    /// `manifest = "cargo"`: likewise for a root manifest's workspace-wide sections.
    pub manifest: Option<Spanned<String>>,
}

/// The strategy keys, shared by tasks and by composite members.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStrategy {
    pub schedules: Option<Names>,
    pub changed: Option<Names>,
    pub always: Option<Spanned<bool>>,
    pub any: Option<Spanned<Vec<Spanned<RawStrategy>>>>,
    pub all: Option<Spanned<Vec<Spanned<RawStrategy>>>>,
    pub not: Option<Spanned<Box<RawStrategy>>>,
    pub on_backstop: Option<Spanned<bool>>,
    pub on_expanded: Option<Spanned<bool>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTask {
    pub schedules: Option<Names>,
    pub changed: Option<Names>,
    pub always: Option<Spanned<bool>>,
    pub any: Option<Spanned<Vec<Spanned<RawStrategy>>>>,
    pub all: Option<Spanned<Vec<Spanned<RawStrategy>>>>,
    pub not: Option<Spanned<Box<RawStrategy>>>,
    pub on_backstop: Option<Spanned<bool>>,
    pub on_expanded: Option<Spanned<bool>>,
    /// `backstop = false`: backstop pushes do not force this task.
    pub backstop: Option<Spanned<bool>>,
    pub needs: Option<Names>,
    pub run: Option<Spanned<String>>,
    pub description: Option<String>,
    /// `sift run`: extra environment for `run`.
    pub env: Option<Spanned<std::collections::BTreeMap<String, String>>>,
    /// `sift run`: the directory `run` starts in, relative to the root.
    pub cwd: Option<Spanned<String>>,
    /// `sift run`: how long `run` may take, e.g. `"10m"`.
    pub timeout: Option<Spanned<String>>,
}

impl RawTask {
    /// Splits off the strategy keys, so tasks and composite members validate
    /// through one function.
    pub fn strategy(&mut self) -> RawStrategy {
        RawStrategy {
            schedules: self.schedules.take(),
            changed: self.changed.take(),
            always: self.always.take(),
            any: self.any.take(),
            all: self.all.take(),
            not: self.not.take(),
            on_backstop: self.on_backstop.take(),
            on_expanded: self.on_expanded.take(),
        }
    }
}

/// Makes serde's error kinds into hints.
pub(crate) fn hint_for_toml_error(message: &str) -> Option<String> {
    if message.contains("expected a sequence") {
        Some("write a list, e.g. `[\"value\"]`, even for a single value".into())
    } else if message.contains("unknown field") {
        Some("check the spelling; the keys this table accepts are listed above".into())
    } else if message.contains("duplicate key") {
        Some("each key may appear once per table; task names must be unique".into())
    } else if message.contains("invalid type") {
        Some("see the configuration reference in the README for each key's type".into())
    } else {
        None
    }
}

#[allow(dead_code)]
fn _assert_error_type<E: de::Error>() {}
