//! Mozilla's `Schedules` value (mozbuild `frontend/context.py`) and its `|`,
//! which differs from sift's native rule combination in one respect: an
//! explicit `exclusive` list equal to *all* exclusive components counts as
//! the default, so it never undoes an earlier narrowing.

use crate::select::components::{ComponentId, ComponentSet, Components};

/// One `SCHEDULES` value: what a `Files()` block sets, or what the blocks
/// applying to a path combine to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MozSchedules {
    /// `SCHEDULES.inclusive += [...]`, in order, duplicates kept (as mozbuild).
    pub inclusive: Vec<ComponentId>,
    /// `SCHEDULES.exclusive = [...]`, stored sorted (ids follow name order);
    /// `None` is the untouched default, every exclusive component.
    pub exclusive: Option<Vec<ComponentId>>,
}

impl MozSchedules {
    /// Whether the exclusive list is "the default" by mozbuild's test: list
    /// equality with the sorted list of every exclusive component.
    fn exclusive_is_default(&self, components: &Components) -> bool {
        match &self.exclusive {
            None => true,
            Some(list) => list.iter().copied().eq(components.all_exclusive().iter()),
        }
    }

    /// `self | later`: inclusive lists concatenate; for exclusive, equal
    /// values stay, a default yields to an explicit value, and of two
    /// different explicit values the later one wins.
    pub fn or(&self, later: &MozSchedules, components: &Components) -> MozSchedules {
        let mut inclusive = self.inclusive.clone();
        inclusive.extend_from_slice(&later.inclusive);
        let exclusive = if self.exclusive == later.exclusive
            || later.exclusive_is_default(components) && !self.exclusive_is_default(components)
        {
            self.exclusive.clone()
        } else {
            later.exclusive.clone()
        };
        MozSchedules {
            inclusive,
            exclusive,
        }
    }

    /// The inclusive components as a set.
    pub fn inclusive_set(&self) -> ComponentSet {
        self.inclusive.iter().copied().collect()
    }

    /// The explicit exclusive set, `None` when it is the default (every
    /// exclusive component).
    pub fn exclusive_set(&self) -> Option<ComponentSet> {
        self.exclusive
            .as_ref()
            .map(|list| list.iter().copied().collect())
    }

    /// `Schedules.components`: the union of inclusive and exclusive.
    pub fn components(&self, components: &Components) -> ComponentSet {
        let mut set = self.inclusive_set();
        match self.exclusive_set() {
            Some(exclusive) => set.union_with(&exclusive),
            None => set.union_with(components.all_exclusive()),
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::components::ComponentKind;

    fn registry() -> Components {
        Components::new(vec![
            ("linux".into(), ComponentKind::Exclusive, None),
            ("macosx".into(), ComponentKind::Exclusive, None),
            ("windows".into(), ComponentKind::Exclusive, None),
            ("py-lint".into(), ComponentKind::Inclusive, None),
            ("js-lint".into(), ComponentKind::Inclusive, None),
        ])
    }

    fn ids(c: &Components, names: &[&str]) -> Vec<ComponentId> {
        let mut v: Vec<ComponentId> = names.iter().map(|n| c.get(n).unwrap()).collect();
        v.sort();
        v
    }

    #[test]
    fn or_follows_mozbuild() {
        let c = registry();
        let default = MozSchedules::default();
        let windows = MozSchedules {
            inclusive: vec![],
            exclusive: Some(ids(&c, &["windows"])),
        };
        let macosx = MozSchedules {
            inclusive: vec![],
            exclusive: Some(ids(&c, &["macosx"])),
        };
        let js = MozSchedules {
            inclusive: ids(&c, &["js-lint"]),
            exclusive: None,
        };
        // A default never overrides an explicit value, in either order.
        assert_eq!(windows.or(&default, &c).exclusive, windows.exclusive);
        assert_eq!(default.or(&windows, &c).exclusive, windows.exclusive);
        // Two explicit values: the later wins.
        assert_eq!(windows.or(&macosx, &c).exclusive, macosx.exclusive);
        // Inclusive additions survive an exclusive override (subd/win.js).
        let merged = js.or(&windows, &c);
        assert_eq!(c.names_of(&merged.components(&c)), ["js-lint", "windows"]);
        // An explicit list of every exclusive component counts as default.
        let all = MozSchedules {
            inclusive: vec![],
            exclusive: Some(ids(&c, &["linux", "macosx", "windows"])),
        };
        assert_eq!(windows.or(&all, &c).exclusive, windows.exclusive);
        // Inclusive lists concatenate with duplicates, as mozbuild's do.
        assert_eq!(js.or(&js, &c).inclusive.len(), 2);
        // `exclusive = []`: only the inclusive components.
        let empty = MozSchedules {
            inclusive: ids(&c, &["py-lint"]),
            exclusive: Some(vec![]),
        };
        assert_eq!(c.names_of(&empty.components(&c)), ["py-lint"]);
    }
}
