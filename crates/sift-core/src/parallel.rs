//! A tiny scoped-thread map: enough to use both cores of a CI runner for the
//! two places that dominate large plans (parsing many task files and rule
//! files), without a thread-pool dependency.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

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
    if ALONE.with(std::cell::Cell::get) {
        return map_alone(items, min_per_thread, f);
    }
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
    /// Set while [`alone_beside`] runs: whose core its maps may share.
    static LENDER: std::cell::RefCell<Option<Lender>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with every [`map`] it makes on the calling thread: for work that
/// runs beside other work which already holds the other cores.
pub fn alone<R>(f: impl FnOnce() -> R) -> R {
    let was = ALONE.with(|alone| alone.replace(true));
    let result = f();
    ALONE.with(|alone| alone.set(was));
    result
}

/// A core that the thread doing the other work can lend to work run
/// [`alone_beside`] it, once that other work is over.
#[derive(Clone, Debug, Default)]
pub struct Lender(Arc<AtomicBool>);

impl Lender {
    /// Runs `f` (a wait: for the other thread's result) with this thread's
    /// core lent: the maps of the work run [`alone_beside`] this lender,
    /// when they start or between two of their items, share what they
    /// have left with one more thread. In `sift plan --graph` the thread
    /// that built the graph waits for the change's analysis, whose
    /// hundreds of moz.build and rule files are then read on two threads.
    pub fn lend<R>(&self, f: impl FnOnce() -> R) -> R {
        /// Takes the loan back even if `f` panics.
        struct Loan<'a>(&'a AtomicBool);
        impl Drop for Loan<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        self.0.store(true, Ordering::Release);
        let _loan = Loan(&self.0);
        f()
    }

    fn lent(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// [`alone`], except that its maps also use a core `lender` lends
/// ([`Lender::lend`]).
pub fn alone_beside<R>(lender: &Lender, f: impl FnOnce() -> R) -> R {
    let was = LENDER.with(|l| l.replace(Some(lender.clone())));
    let result = alone(f);
    LENDER.with(|l| l.replace(was));
    result
}

/// [`map_vec`] run [`alone`]: on the calling thread; beside a [`Lender`],
/// the items are taken one at a time, in order, and once its core is lent
/// while at least `min_per_thread` are left, one helper thread (itself
/// alone, and starting no helper of its own) takes them too.
fn map_alone<T: Send, R: Send>(
    items: Vec<T>,
    min_per_thread: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let lender = LENDER.with(|l| l.borrow().clone());
    let Some(lender) = lender.filter(|_| items.len() >= 2 * min_per_thread.max(1)) else {
        return items.into_iter().map(f).collect();
    };
    let len = items.len();
    // Each item is taken out of its slot by whichever thread claims it.
    let slots: Vec<std::sync::Mutex<Option<T>>> = items
        .into_iter()
        .map(|item| std::sync::Mutex::new(Some(item)))
        .collect();
    let next = AtomicUsize::new(0);
    let (slots, next, f) = (&slots, &next, &f);
    // Claims the next item and maps it; `None` when none is left.
    let take = move || {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let slot = slots.get(i)?;
        let item = slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .expect("each index is claimed once");
        Some((i, f(item)))
    };
    std::thread::scope(|scope| {
        let mut done: Vec<(usize, R)> = Vec::new();
        let mut helper = None;
        // Whether to go on asking for the lender's core after each item.
        let mut asking = true;
        while let Some((i, r)) = take() {
            done.push((i, r));
            if asking && len - (i + 1) >= min_per_thread && lender.lent() {
                asking = false;
                helper = std::thread::Builder::new()
                    .name("sift-helper".to_owned())
                    .spawn_scoped(scope, move || {
                        alone(|| std::iter::from_fn(take).collect::<Vec<_>>())
                    })
                    .ok();
            }
        }
        if let Some(helper) = helper {
            match helper.join() {
                Ok(theirs) => done.extend(theirs),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        done.sort_unstable_by_key(|&(i, _)| i);
        debug_assert_eq!(done.len(), len, "every item mapped once");
        done.into_iter().map(|(_, r)| r).collect()
    })
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

    /// Maps `0..len` (min 1 per thread) alone beside `lender`; item 0
    /// first has `lend` run (which must lend the core). Returns what each
    /// item gave and the thread it ran on.
    fn beside(
        lender: &super::Lender,
        len: u32,
        lend: impl Fn() + Sync,
        f: impl Fn(u32) -> u32 + Sync,
    ) -> Vec<(u32, ThreadId)> {
        let items: Vec<u32> = (0..len).collect();
        super::alone_beside(lender, || {
            super::map(&items, 1, |&x| {
                if x == 0 {
                    lend();
                }
                std::thread::sleep(std::time::Duration::from_micros(200));
                (f(x), std::thread::current().id())
            })
        })
    }

    #[test]
    fn maps_beside_a_lender_share_its_core_once_lent() {
        let lender = super::Lender::default();
        let (lent, stop) = (std::sync::Barrier::new(2), std::sync::Barrier::new(2));
        let caller = std::thread::current().id();
        let helped = std::sync::atomic::AtomicBool::new(false);
        // One deadline for all items: without a helper the test fails
        // after a minute, not a minute per item.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
        std::thread::scope(|scope| {
            let lending = scope.spawn(|| {
                lent.wait();
                lender.lend(|| stop.wait());
                std::thread::current().id()
            });
            let out = beside(
                &lender,
                200,
                || {
                    lent.wait();
                    while !lender.lent() {
                        std::thread::yield_now();
                    }
                },
                |x| {
                    // This thread waits (up to a minute, on a loaded
                    // machine) for the helper to have mapped an item.
                    if std::thread::current().id() != caller {
                        helped.store(true, std::sync::atomic::Ordering::Release);
                    } else if x > 0 {
                        while !helped.load(std::sync::atomic::Ordering::Acquire)
                            && std::time::Instant::now() < until
                        {
                            std::thread::yield_now();
                        }
                    }
                    x * 2
                },
            );
            stop.wait();
            let lending = lending.join().unwrap();
            // In order, each once, and on two threads: this one and a
            // helper (the lending thread itself only waits).
            assert_eq!(
                out.iter().map(|(x, _)| *x).collect::<Vec<_>>(),
                (0..200).map(|x| x * 2).collect::<Vec<_>>()
            );
            let mut threads: Vec<ThreadId> = out.iter().map(|(_, t)| *t).collect();
            threads.sort_by_key(|t| format!("{t:?}"));
            threads.dedup();
            assert_eq!(threads.len(), 2, "{threads:?}");
            assert!(threads.contains(&caller) && !threads.contains(&lending));
        });
        assert!(!lender.lent(), "the loan ends with the wait");
    }

    #[test]
    fn maps_beside_a_lender_stay_alone_until_it_lends() {
        let lender = super::Lender::default();
        let caller = std::thread::current().id();
        let out = beside(&lender, 100, || {}, |x| x + 1);
        assert!(out.iter().all(|(_, t)| *t == caller));
        assert_eq!(out.last().map(|(x, _)| *x), Some(100));
        // A core lent to nobody is not taken by plain `alone` maps.
        let other = super::Lender::default();
        other.lend(|| {
            let threads: Vec<ThreadId> = super::alone(|| {
                super::map(&(0..100).collect::<Vec<u32>>(), 1, |_| {
                    std::thread::current().id()
                })
            });
            assert!(threads.iter().all(|t| *t == caller));
        });
    }

    #[test]
    fn a_panic_in_a_shared_map_reaches_its_caller_and_the_loan_ends() {
        let lender = super::Lender::default();
        let result = std::panic::catch_unwind(|| {
            lender.lend(|| {
                beside(
                    &lender,
                    100,
                    || {},
                    |x| {
                        assert_ne!(x, 70, "item 70 fails");
                        x
                    },
                )
            })
        });
        assert!(result.is_err());
        assert!(!lender.lent());
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
