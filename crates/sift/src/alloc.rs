//! The `sift` executable's allocator: small allocations are carved from a
//! bump region until it is used up, everything else goes to the system
//! allocator.
//!
//! A plan is short-lived and allocation-heavy: a 20,000-task configuration
//! makes about 340,000 small allocations (names, patterns, reasons), and
//! glibc's malloc spent about 200 instructions on each, a fifth of the whole
//! plan, because fresh allocations always take its slow path. Here a small
//! allocation costs a pointer increment in the calling thread's chunk. A
//! freed block that was the chunk's last one (a growing `Vec`, a temporary
//! string) gives its room back to the chunk; any other joins the freeing
//! thread's list for its size class and serves a later request of that
//! class, since every fresh page touched costs a page fault (2-3 µs on this
//! project's VM, several times what the allocation costs). mimalloc was as fast on large plans but cost
//! a quarter of a millisecond at every start; this costs one `mmap` of
//! reserved address space, which is not touched until used.
//!
//! Memory given to the region is never returned, so the region is bounded
//! ([`REGION`]): a long-running command (`sift run`) spends it in its first
//! moments and then allocates from the system like any program. Pointers
//! are told apart by address, so either allocator's blocks can be freed or
//! grown at any time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The bump region's size: address space reserved once (`MAP_NORESERVE`,
/// so untouched pages cost nothing), bounding what the region can keep.
const REGION: usize = 256 << 20;
/// What each thread takes from the region at a time.
const CHUNK: usize = 256 << 10;
/// Larger allocations go to the system allocator.
const SMALL: usize = 8 << 10;
/// A transparent huge page.
const HUGE: usize = 2 << 20;
/// How much of the region, and of glibc's heap, small runs touch in 4 KiB
/// pages before huge pages start (the region begins this far below a 2 MiB
/// boundary; the heap skips what lies below it). A huge page costs its
/// zeroing, about what 40-140 small faults cost on this project's VM, and a
/// small run such as one push of a real repository's history uses about
/// 350 KiB; larger plans fault once per 2 MiB after this. With 2 MiB left
/// small (and, for the heap, a random 0-2 MiB) a 1,000-task plan took 800
/// faults and a 20,000-task plan 1,370; with this, 440 and 470.
const EAGER: usize = 512 << 10;
/// The block that makes glibc grow its heap: more than the heap has left
/// at start (about 130 KiB), small enough that the page glibc writes past
/// it is seldom beyond the heap's first 2 MiB boundary.
const PROBE: usize = 256 << 10;
/// Room left before the heap's huge pages for the blocks glibc itself
/// puts there before and after the skipped part.
const HEADROOM: usize = 64 << 10;
/// `BASE` before the region is mapped.
const UNMAPPED: usize = 0;
/// `BASE` when the region could not be mapped.
const UNAVAILABLE: usize = usize::MAX;

/// The region's address, [`UNMAPPED`] or [`UNAVAILABLE`].
static BASE: AtomicUsize = AtomicUsize::new(UNMAPPED);
/// The offset of the next chunk to hand out.
static NEXT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's chunk: the next free address and the end (both 0
    /// before the first chunk).
    static CHUNK_LEFT: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    /// Freed region blocks this thread may hand out again, one list per
    /// size class ([`class_size`]), linked through their first word; 0 ends
    /// a list.
    static FREE: [Cell<usize>; CLASSES] = const { [const { Cell::new(0) }; CLASSES] };
}

/// Size classes of freed blocks: 16 to 256 bytes in steps of 16, then four
/// per doubling up to [`SMALL`].
const CLASSES: usize = 36;

/// The smallest size in class `k`.
const fn class_size(k: usize) -> usize {
    if k < 15 {
        (k + 1) * 16
    } else {
        (4 + (k - 15) % 4) << (6 + (k - 15) / 4)
    }
}

/// The class a freed block of `size` bytes joins: the largest whose size it
/// covers (`None` below 16 bytes, too small to link).
fn class_below(size: usize) -> Option<usize> {
    if size < 16 {
        None
    } else if size < 256 {
        Some(size / 16 - 1)
    } else {
        let top = usize::BITS - 1 - size.leading_zeros();
        let quarter = (size >> (top - 2)) & 3;
        Some(15 + (top as usize - 8) * 4 + quarter)
    }
}

/// The class whose every block covers `size` bytes (at most [`SMALL`]).
fn class_above(size: usize) -> usize {
    match class_below(size) {
        None => 0,
        Some(k) if class_size(k) < size => k + 1,
        Some(k) => k,
    }
}

/// A freed block of the calling thread's lists that covers `layout`.
#[allow(unsafe_code)]
fn reuse(layout: Layout) -> Option<*mut u8> {
    if layout.align() > MIN_ALIGN {
        return None;
    }
    let class = class_above(layout.size());
    FREE.with(|lists| {
        let head = lists[class].get();
        if head == 0 {
            return None;
        }
        // SAFETY: a listed block is free, in the region, at least 16
        // bytes and 8-aligned; its first word is the next block's address.
        let next = unsafe { *(head as *const usize) };
        lists[class].set(next);
        Some(head as *mut u8)
    })
}

/// Lists a freed region block of `size` bytes for reuse by this thread.
#[allow(unsafe_code)]
fn recycle(ptr: *mut u8, size: usize) {
    let Some(class) = class_below(size) else {
        return;
    };
    debug_assert!(
        (ptr as usize).is_multiple_of(MIN_ALIGN),
        "region blocks are 8-aligned"
    );
    FREE.with(|lists| {
        // SAFETY: the block is being freed by its owner, is at least 16
        // bytes and 8-aligned, so its first word can hold the link.
        unsafe { *(ptr as *mut usize) = lists[class].get() };
        lists[class].set(ptr as usize);
    });
}

/// Every region block is aligned to at least this, so any freed block can
/// hold a link and serve any request of this alignment or less.
const MIN_ALIGN: usize = 8;

/// See the module documentation.
pub struct Allocator;

/// The mapped region's base address, mapping it on first use.
fn base() -> usize {
    match BASE.load(Ordering::Acquire) {
        UNMAPPED => map_region(),
        base => base,
    }
}

#[cold]
#[allow(unsafe_code)]
fn map_region() -> usize {
    // SAFETY: an anonymous private mapping at an address of the kernel's
    // choosing touches no existing memory; the result is checked.
    let mapped = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            REGION + 2 * HUGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    let base = if mapped == libc::MAP_FAILED {
        UNAVAILABLE
    } else {
        (mapped as usize).next_multiple_of(HUGE) + HUGE - EAGER
    };
    match BASE.compare_exchange(UNMAPPED, base, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            if base != UNAVAILABLE {
                // SAFETY: advice on part of this process's own fresh mapping
                // (inside it: `base + REGION <= mapped + REGION + 2 * HUGE`);
                // it changes how pages are backed, never their contents, and
                // failing (no THP support) changes nothing.
                unsafe {
                    libc::madvise(
                        (base + EAGER) as *mut libc::c_void,
                        REGION - EAGER,
                        libc::MADV_HUGEPAGE,
                    );
                }
            }
            base
        }
        Err(winner) => {
            if base != UNAVAILABLE {
                // SAFETY: this thread's own mapping, never handed out.
                unsafe { libc::munmap(mapped, REGION + 2 * HUGE) };
            }
            winner
        }
    }
}

/// Tunes glibc's malloc, which serves the blocks larger than the region's,
/// for a short process that builds a few large tables: blocks up to 64 MiB
/// come from the heap rather than fresh mappings, so a table freed between
/// the stages of a plan is reused instead of faulted in again; freed memory
/// is not returned to the system (the process ends soon); and the heap grows
/// by 64 MiB of address space at a time, of which the first extent, after
/// [`EAGER`] bytes of small pages, is advised to use transparent huge pages
/// like the region (later extents are not: a plan that outgrows 64 MiB of
/// heap is rare and large anyway). A 20,000-task plan takes 470 page
/// faults where it took 13,500 without this tuning. Call it first in `main`.
#[allow(unsafe_code)]
pub fn tune_system_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets glibc's parameters; sbrk(0) only reads the
    // program break; the probe block is allocated, its first byte written
    // (when the allocation succeeded) and freed here; madvise
    // gives advice on the heap's own pages between two program breaks
    // (page-aligned by rounding up), which changes how pages are backed,
    // never their contents.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 1);
        let start = libc::sbrk(0) as usize;
        // The probe grows the heap by the top pad. The volatile write keeps
        // it: an unused malloc/free pair is removed by the optimizer, and
        // was, silently, leaving the heap unadvised (5,800 faults on that
        // plan, not 1,330).
        let probe = libc::malloc(PROBE);
        if probe.is_null() {
            return;
        }
        std::ptr::write_volatile(probe.cast::<u8>(), 0);
        // glibc wrote the heap's new top header just past the probe, before
        // any advice: the 2 MiB around that page already has small pages,
        // and keeps them, so huge pages start at the next boundary after it.
        let touched = probe as usize + PROBE + 4096;
        libc::free(probe);
        let end = libc::sbrk(0) as usize;
        if start == usize::MAX || end == usize::MAX {
            return;
        }
        let from = start.max(touched).next_multiple_of(HUGE);
        if end <= from {
            return;
        }
        libc::madvise(from as *mut libc::c_void, end - from, libc::MADV_HUGEPAGE);
        // Where the heap starts is random, up to 2 MiB before that boundary;
        // a block that is never used or freed skips all but [`EAGER`] of it,
        // so that every run has the same small part. Only its header is
        // written, on the probe's page.
        if from - start > EAGER + HEADROOM {
            let skip = libc::malloc(from - start - EAGER);
            if !skip.is_null() {
                std::ptr::write_volatile(skip.cast::<u8>(), 0);
            }
        }
    }
}

/// Whether `ptr` was handed out from the region.
fn in_region(ptr: *mut u8) -> bool {
    let base = BASE.load(Ordering::Relaxed);
    base != UNMAPPED && base != UNAVAILABLE && (ptr as usize).wrapping_sub(base) < REGION
}

/// A block of `layout` from this thread's chunk, taking a new chunk when
/// it does not fit; `None` once the region is used up.
fn bump(layout: Layout) -> Option<*mut u8> {
    CHUNK_LEFT.with(|chunk| {
        let (next, end) = chunk.get();
        let align = layout.align().max(MIN_ALIGN);
        let start = next.checked_add(align - 1)? & !(align - 1);
        if next != 0 && start + layout.size() <= end {
            chunk.set((start + layout.size(), end));
            return Some(start as *mut u8);
        }
        if NEXT.load(Ordering::Relaxed) > REGION - CHUNK {
            return None;
        }
        let offset = NEXT.fetch_add(CHUNK, Ordering::Relaxed);
        if offset > REGION - CHUNK {
            return None;
        }
        let base = base();
        if base == UNAVAILABLE {
            return None;
        }
        // Chunks start page-aligned, alignments are at most a page and
        // blocks at most [`SMALL`], so the block fits.
        let start = (base + offset + align - 1) & !(align - 1);
        chunk.set((start + layout.size(), base + offset + CHUNK));
        Some(start as *mut u8)
    })
}

/// Whether `layout` may come from the region.
fn small(layout: Layout) -> bool {
    layout.size() <= SMALL && layout.align() <= 4096
}

#[allow(unsafe_code)]
// SAFETY: every block handed out is `layout.size()` bytes at an address
// aligned to `layout.align()`, inside the region (which stays mapped) or
// from `System`, and blocks never overlap: a thread's chunk is its own, its
// next-free address only moves back over a block that is being freed and
// ends there, which is the newest live block of that chunk, and a listed
// block is free and leaves its list before it is handed out again (its
// class's size covers the request, its address the alignment).
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if small(layout)
            && let Some(ptr) = reuse(layout).or_else(|| bump(layout))
        {
            return ptr;
        }
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if in_region(ptr) {
            // The chunk's newest block is given back to the chunk; any
            // other joins this thread's free lists.
            let newest = CHUNK_LEFT.with(|chunk| {
                let (next, end) = chunk.get();
                let newest = ptr as usize + layout.size() == next;
                if newest {
                    chunk.set((ptr as usize, end));
                }
                newest
            });
            if !newest {
                recycle(ptr, layout.size());
            }
            return;
        }
        // SAFETY: not from the region, so from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !in_region(ptr) {
            // SAFETY: a `System` block with this layout.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // A block shrinks in place (its tail stays unused), and the chunk's
        // newest block grows in place while it fits.
        if new_size <= layout.size() {
            return ptr;
        }
        let in_place = new_size <= SMALL
            && CHUNK_LEFT.with(|chunk| {
                let (next, end) = chunk.get();
                let fits = ptr as usize + layout.size() == next && ptr as usize + new_size <= end;
                if fits {
                    chunk.set((ptr as usize + new_size, end));
                }
                fits
            });
        if in_place {
            return ptr;
        }
        // SAFETY: `new_size` is non-zero and, rounded up to the alignment,
        // does not overflow (the caller's contract).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a valid layout; the old block is live for `layout.size()`
        // bytes and the new one for `new_size`, and they do not overlap.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(unsafe_code)]
    #[test]
    fn blocks_are_aligned_disjoint_and_survive_growth() {
        let a = Allocator;
        // SAFETY: valid layouts; every block is written within its size and
        // freed once with the layout it was allocated (or grown) with.
        unsafe {
            let mut blocks = Vec::new();
            for (i, align) in [1usize, 8, 16, 64, 4096]
                .iter()
                .cycle()
                .take(200)
                .enumerate()
            {
                let size = 1 + (i * 37) % 3000;
                let layout = Layout::from_size_align(size, *align).unwrap();
                let ptr = a.alloc(layout);
                assert!(!ptr.is_null());
                assert_eq!(ptr as usize % align, 0);
                std::ptr::write_bytes(ptr, i as u8, size);
                blocks.push((ptr, layout, i as u8));
            }
            // Grow every other block (in place when it is the newest).
            for (ptr, layout, fill) in blocks.iter_mut().step_by(2) {
                let grown = a.realloc(*ptr, *layout, layout.size() * 3);
                assert!(!grown.is_null());
                for k in 0..layout.size() {
                    assert_eq!(*grown.add(k), *fill);
                }
                *layout = Layout::from_size_align(layout.size() * 3, layout.align()).unwrap();
                std::ptr::write_bytes(grown, *fill, layout.size());
                *ptr = grown;
            }
            for (ptr, layout, fill) in &blocks {
                for k in 0..layout.size() {
                    assert_eq!(*ptr.add(k), *fill, "a block was overwritten");
                }
            }
            for (ptr, layout, _) in blocks {
                a.dealloc(ptr, layout);
            }
            // A large block comes from the system and is told apart.
            let big = Layout::from_size_align(1 << 20, 8).unwrap();
            let ptr = a.alloc(big);
            assert!(!in_region(ptr));
            a.dealloc(ptr, big);
        }
    }

    #[allow(unsafe_code)]
    #[test]
    fn the_newest_block_is_reused_and_grown_in_place() {
        let a = Allocator;
        let layout = Layout::from_size_align(24, 8).unwrap();
        // SAFETY: valid layouts, each block freed once.
        unsafe {
            let first = a.alloc(layout);
            a.dealloc(first, layout);
            let second = a.alloc(layout);
            assert_eq!(first, second, "the newest block is given back");
            let grown = a.realloc(second, layout, 48);
            assert_eq!(grown, second, "the newest block grows in place");
            a.dealloc(grown, Layout::from_size_align(48, 8).unwrap());
        }
    }

    #[test]
    fn size_classes_cover_what_they_list() {
        for size in 1..=SMALL {
            let above = class_above(size);
            assert!(above < CLASSES && class_size(above) >= size, "{size}");
            if let Some(below) = class_below(size) {
                assert!(class_size(below) <= size, "{size}");
                assert!(
                    below + 1 == CLASSES || class_size(below + 1) > size,
                    "{size}"
                );
            } else {
                assert!(size < 16);
            }
        }
        assert_eq!(class_size(CLASSES - 1), SMALL);
    }

    #[allow(unsafe_code)]
    #[test]
    fn freed_blocks_serve_later_requests_of_their_class() {
        let a = Allocator;
        let layout = Layout::from_size_align(100, 8).unwrap();
        // SAFETY: valid layouts, each block freed once with its layout.
        unsafe {
            let first = a.alloc(layout);
            let keep = a.alloc(layout);
            a.dealloc(first, layout);
            let again = a.alloc(Layout::from_size_align(90, 4).unwrap());
            assert_eq!(again, first, "a freed block of the class is reused");
            a.dealloc(again, Layout::from_size_align(90, 4).unwrap());
            a.dealloc(keep, layout);
        }
    }

    /// Random allocations, frees and growths of mixed sizes and
    /// alignments, on several threads that also free each other's blocks:
    /// every live block keeps its contents.
    #[allow(unsafe_code)]
    #[test]
    fn blocks_never_overlap_under_churn() {
        let handles: Vec<_> = (0..3u64)
            .map(|t| {
                std::thread::spawn(move || {
                    let a = Allocator;
                    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ t;
                    let mut random = move || {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        state
                    };
                    let mut live: Vec<(usize, Layout, u8)> = Vec::new();
                    let check = |ptr: usize, layout: Layout, fill: u8| {
                        // SAFETY: a live block of this size.
                        (0..layout.size()).all(|k| unsafe { *(ptr as *const u8).add(k) } == fill)
                    };
                    for step in 0..20_000u32 {
                        let fill = step as u8;
                        match random() % 3 {
                            0 | 1 if live.len() < 400 => {
                                let size = 1 + (random() % 600) as usize;
                                let align = [1, 2, 4, 8, 16][(random() % 5) as usize];
                                let layout = Layout::from_size_align(size, align).unwrap();
                                // SAFETY: a valid layout; written within it.
                                let ptr = unsafe { a.alloc(layout) };
                                assert_eq!(ptr as usize % align, 0);
                                unsafe { std::ptr::write_bytes(ptr, fill, size) };
                                live.push((ptr as usize, layout, fill));
                            }
                            0 => {
                                let i = (random() as usize) % live.len();
                                let (ptr, layout, old) = live[i];
                                assert!(check(ptr, layout, old), "a block was overwritten");
                                let size = layout.size() * 2 + 1;
                                // SAFETY: a live block grown once.
                                let grown = unsafe { a.realloc(ptr as *mut u8, layout, size) };
                                let layout = Layout::from_size_align(size, layout.align()).unwrap();
                                assert!(check(
                                    grown as usize,
                                    Layout::from_size_align(size / 2, 1).unwrap(),
                                    old
                                ));
                                unsafe { std::ptr::write_bytes(grown, fill, size) };
                                live[i] = (grown as usize, layout, fill);
                            }
                            _ if !live.is_empty() => {
                                let i = (random() as usize) % live.len();
                                let (ptr, layout, fill) = live.swap_remove(i);
                                assert!(check(ptr, layout, fill), "a block was overwritten");
                                // SAFETY: freed once, with its layout.
                                unsafe { a.dealloc(ptr as *mut u8, layout) };
                            }
                            _ => {}
                        }
                    }
                    for &(ptr, layout, fill) in &live {
                        assert!(check(ptr, layout, fill), "a block was overwritten");
                    }
                    // Left live: the next thread frees them (cross-thread frees).
                    live
                })
            })
            .collect();
        let a = Allocator;
        for handle in handles {
            for (ptr, layout, fill) in handle.join().unwrap() {
                // SAFETY: a live block of this size, freed once.
                unsafe {
                    assert!((0..layout.size()).all(|k| *(ptr as *const u8).add(k) == fill));
                    a.dealloc(ptr as *mut u8, layout);
                }
            }
        }
    }

    #[allow(unsafe_code)]
    #[test]
    fn threads_get_their_own_blocks() {
        let handles: Vec<_> = (0..4u8)
            .map(|t| {
                std::thread::spawn(move || {
                    let a = Allocator;
                    let layout = Layout::from_size_align(40, 8).unwrap();
                    // SAFETY: valid layout; blocks are written within their
                    // size, read back, then freed once.
                    unsafe {
                        let blocks: Vec<*mut u8> = (0..20_000)
                            .map(|_| {
                                let ptr = a.alloc(layout);
                                std::ptr::write_bytes(ptr, t, 40);
                                ptr
                            })
                            .collect();
                        std::thread::yield_now();
                        let intact = blocks.iter().all(|&ptr| (0..40).all(|k| *ptr.add(k) == t));
                        for ptr in blocks {
                            a.dealloc(ptr, layout);
                        }
                        intact
                    }
                })
            })
            .collect();
        for handle in handles {
            assert!(handle.join().unwrap(), "another thread wrote into a block");
        }
    }
}
