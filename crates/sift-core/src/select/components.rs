//! Components: the named things a file can affect (Mozilla's SCHEDULES
//! components). Exclusive components are affected by every file unless a rule
//! narrows them; inclusive ones only when a rule names them.

use rustc_hash::FxHashMap;

/// Whether a component is exclusive or inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentKind {
    Exclusive,
    Inclusive,
}

/// A component's index in its [`Components`] registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComponentId(pub u32);

/// The declared components. Ids are assigned in sorted-name order, so iterating
/// a [`ComponentSet`] yields names sorted.
#[derive(Clone, Debug, Default)]
pub struct Components {
    names: Vec<String>,
    kinds: Vec<ComponentKind>,
    /// The family an exclusive component was declared in, if any.
    families: Vec<Option<String>>,
    by_name: FxHashMap<String, ComponentId>,
    all_exclusive: ComponentSet,
}

impl Components {
    /// Builds the registry. `declared` holds (name, kind, family); names must be
    /// unique (the config loader reports duplicates with their spans first).
    pub fn new(mut declared: Vec<(String, ComponentKind, Option<String>)>) -> Components {
        declared.sort_by(|a, b| a.0.cmp(&b.0));
        declared.dedup_by(|a, b| a.0 == b.0);
        let mut components = Components::default();
        for (index, (name, kind, family)) in declared.into_iter().enumerate() {
            let id = ComponentId(index as u32);
            if kind == ComponentKind::Exclusive {
                components.all_exclusive.insert(id);
            }
            components.by_name.insert(name.clone(), id);
            components.names.push(name);
            components.kinds.push(kind);
            components.families.push(family);
        }
        components
    }

    pub fn get(&self, name: &str) -> Option<ComponentId> {
        self.by_name.get(name).copied()
    }

    pub fn name(&self, id: ComponentId) -> &str {
        &self.names[id.0 as usize]
    }

    pub fn kind(&self, id: ComponentId) -> ComponentKind {
        self.kinds[id.0 as usize]
    }

    pub fn family(&self, id: ComponentId) -> Option<&str> {
        self.families[id.0 as usize].as_deref()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Every exclusive component: what an unannotated file affects.
    pub fn all_exclusive(&self) -> &ComponentSet {
        &self.all_exclusive
    }

    pub fn ids(&self) -> impl Iterator<Item = ComponentId> {
        (0..self.names.len() as u32).map(ComponentId)
    }

    /// The names of a set's members, sorted.
    pub fn names_of(&self, set: &ComponentSet) -> Vec<String> {
        set.iter().map(|id| self.name(id).to_owned()).collect()
    }

    /// The closest declared name, for "did you mean" hints.
    pub fn suggest(&self, unknown: &str) -> Option<&str> {
        suggest(unknown, self.names.iter().map(String::as_str))
    }
}

/// A set of components as a bitset: unions over 100,000 changed files must be
/// cheap.
#[derive(Clone, Debug, Default)]
pub struct ComponentSet {
    words: Vec<u64>,
}

/// Equal when the members are: trailing zero words (left by `clear` or by a
/// union with a wider set) do not count.
impl PartialEq for ComponentSet {
    fn eq(&self, other: &Self) -> bool {
        let longest = self.words.len().max(other.words.len());
        (0..longest).all(|i| {
            self.words.get(i).copied().unwrap_or(0) == other.words.get(i).copied().unwrap_or(0)
        })
    }
}

impl Eq for ComponentSet {}

impl ComponentSet {
    pub fn new() -> Self {
        ComponentSet::default()
    }

    pub fn insert(&mut self, id: ComponentId) {
        let (word, bit) = (id.0 as usize / 64, id.0 % 64);
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << bit;
    }

    pub fn contains(&self, id: ComponentId) -> bool {
        let (word, bit) = (id.0 as usize / 64, id.0 % 64);
        self.words.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    pub fn union_with(&mut self, other: &ComponentSet) {
        if self.words.len() < other.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (mine, theirs) in self.words.iter_mut().zip(&other.words) {
            *mine |= theirs;
        }
    }

    pub fn remove(&mut self, id: ComponentId) {
        let (word, bit) = (id.0 as usize / 64, id.0 % 64);
        if let Some(w) = self.words.get_mut(word) {
            *w &= !(1 << bit);
        }
    }

    /// Empties the set, keeping its storage.
    pub fn clear(&mut self) {
        self.words.iter_mut().for_each(|w| *w = 0);
    }

    pub fn intersects(&self, other: &ComponentSet) -> bool {
        self.words.iter().zip(&other.words).any(|(a, b)| a & b != 0)
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    /// Members in id order (which is name order).
    pub fn iter(&self) -> impl Iterator<Item = ComponentId> + '_ {
        self.words.iter().enumerate().flat_map(|(index, &word)| {
            (0..64)
                .filter(move |bit| word & (1 << bit) != 0)
                .map(move |bit| ComponentId((index * 64 + bit) as u32))
        })
    }
}

impl FromIterator<ComponentId> for ComponentSet {
    fn from_iter<I: IntoIterator<Item = ComponentId>>(iter: I) -> Self {
        let mut set = ComponentSet::new();
        for id in iter {
            set.insert(id);
        }
        set
    }
}

/// The candidate closest to `unknown` by edit distance, if it is close enough
/// to be a plausible typo.
pub fn suggest<'a>(unknown: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    // A one-character name is close to everything: no suggestion means more.
    let len = unknown.chars().count();
    let limit = if len < 2 { 0 } else { (len / 3).max(1) };
    candidates
        .map(|c| (edit_distance(unknown, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_name_order_and_sets_iterate_sorted() {
        let c = Components::new(vec![
            (
                "windows".into(),
                ComponentKind::Exclusive,
                Some("platform".into()),
            ),
            ("docs".into(), ComponentKind::Inclusive, None),
            (
                "linux".into(),
                ComponentKind::Exclusive,
                Some("platform".into()),
            ),
        ]);
        assert_eq!(c.names_of(c.all_exclusive()), ["linux", "windows"]);
        let set: ComponentSet = [c.get("windows").unwrap(), c.get("docs").unwrap()]
            .into_iter()
            .collect();
        assert_eq!(c.names_of(&set), ["docs", "windows"]);
        assert_eq!(c.family(c.get("linux").unwrap()), Some("platform"));
    }

    #[test]
    fn bitset_spans_words() {
        let mut a = ComponentSet::new();
        a.insert(ComponentId(3));
        a.insert(ComponentId(130));
        let b: ComponentSet = [ComponentId(130)].into_iter().collect();
        assert!(a.intersects(&b) && b.intersects(&a));
        assert_eq!(a.iter().map(|i| i.0).collect::<Vec<_>>(), [3, 130]);
        let mut c = b.clone();
        c.union_with(&a);
        assert_eq!(c, a);
        assert!(!ComponentSet::new().intersects(&a));
    }

    #[test]
    fn suggestions_catch_typos_only() {
        let names = ["linux", "macosx", "py-lint"];
        assert_eq!(suggest("linx", names.into_iter()), Some("linux"));
        assert_eq!(suggest("pylint", names.into_iter()), Some("py-lint"));
        assert_eq!(suggest("fuchsia", names.into_iter()), None);
    }
}
