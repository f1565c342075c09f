//! A tiny scoped-thread map: enough to use both cores of a CI runner for the
//! two places that dominate large plans (parsing many task files and rule
//! files), without a thread-pool dependency.

use std::num::NonZeroUsize;
use std::sync::OnceLock;

/// Applies `f` to every item on up to `available_parallelism` threads and
/// returns the results in item order.
///
/// Each thread gets at least `min_per_thread` items: starting a thread (and
/// asking the OS how many cores there are, which reads cgroup files) costs
/// about as much as a few dozen small items, and most plans are small. So a
/// short list runs on the calling thread alone.
pub fn map<T: Sync, R: Send>(
    items: &[T],
    min_per_thread: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    map_vec(items.iter().collect(), min_per_thread, f)
}

/// [`map`] for items the function consumes, e.g. parsed values it moves into
/// the result.
pub fn map_vec<T: Send, R: Send>(
    items: Vec<T>,
    min_per_thread: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let threads = threads_for(items.len(), min_per_thread);
    if threads <= 1 {
        return items.into_iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    // Cut from the end, so each element is copied at most once.
    let mut parts: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut items = items;
    while items.len() > chunk {
        let at = items.len() - chunk;
        parts.push(items.split_off(at));
    }
    parts.push(items);
    parts.reverse();
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || part.into_iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker threads do not panic"))
            .collect()
    })
}

thread_local! {
    /// Set while [`alone`] runs: maps stay on the calling thread.
    static ALONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with every [`map`] it makes on the calling thread: for work that
/// runs beside other work which already holds the other cores.
pub fn alone<R>(f: impl FnOnce() -> R) -> R {
    let was = ALONE.with(|alone| alone.replace(true));
    let result = f();
    ALONE.with(|alone| alone.set(was));
    result
}

/// How many threads `len` items deserve, at least `min_per_thread` each.
fn threads_for(len: usize, min_per_thread: usize) -> usize {
    if ALONE.with(std::cell::Cell::get) {
        return 1;
    }
    let wanted = len / min_per_thread.max(1);
    if wanted <= 1 { 1 } else { cores().min(wanted) }
}

/// How many cores this process may use (asked once).
pub fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
}

#[cfg(test)]
mod tests {
    use std::thread::ThreadId;

    #[test]
    fn alone_keeps_maps_on_the_calling_thread() {
        let items: Vec<u32> = (0..1000).collect();
        let caller = std::thread::current().id();
        let threads: Vec<ThreadId> =
            super::alone(|| super::map(&items, 1, |_| std::thread::current().id()));
        assert!(threads.iter().all(|&t| t == caller));
        // Only while it runs.
        let after: Vec<ThreadId> = super::map(&items, 1, |_| std::thread::current().id());
        assert_eq!(
            after.iter().any(|&t| t != caller),
            super::cores() > 1,
            "maps use the other cores again"
        );
    }

    #[test]
    fn keeps_order() {
        let items: Vec<u32> = (0..1000).collect();
        for min in [0, 1, 7, 1000, 5000] {
            assert_eq!(
                super::map(&items, min, |x| x * 2),
                items.iter().map(|x| x * 2).collect::<Vec<_>>()
            );
        }
        assert_eq!(super::map(&Vec::<u32>::new(), 1, |x| *x), Vec::<u32>::new());
    }

    #[test]
    fn map_vec_keeps_order() {
        for len in [0, 1, 2, 999, 1000, 1001] {
            let items: Vec<String> = (0..len).map(|i| i.to_string()).collect();
            for min in [0, 1, 7, 1000] {
                let lengths = super::map_vec(items.clone(), min, |s| s.len());
                assert_eq!(lengths, items.iter().map(String::len).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn short_lists_stay_on_the_calling_thread() {
        let me = std::thread::current().id();
        let items: Vec<u32> = (0..63).collect();
        let ids: Vec<ThreadId> = super::map(&items, 32, |_| std::thread::current().id());
        assert!(ids.iter().all(|id| *id == me));
    }
}
