//! The `sift` executable's allocator: small allocations are carved from a
//! bump region until it is used up, everything else goes to the system
//! allocator.
//!
//! A plan is short-lived and allocation-heavy: a 20,000-task configuration
//! makes about 340,000 small allocations (names, patterns, reasons), and
//! glibc's malloc spent about 200 instructions on each, a fifth of the whole
//! plan, because fresh allocations always take its slow path. Here a small
//! allocation costs a pointer increment in the calling thread's chunk, and a
//! freed block is reused only when it was the chunk's last one (a growing
//! `Vec`, a temporary string). mimalloc was as fast on large plans but cost
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
/// A transparent huge page: the region is aligned to it.
const HUGE: usize = 2 << 20;
/// The start of the region that small runs touch, left in 4 KiB pages; the
/// rest is advised to use transparent huge pages (where the kernel offers
/// them), so a large plan takes one fault per 2 MiB instead of 512.
const EAGER: usize = 4 << 20;
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
}

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
            REGION + HUGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    let base = if mapped == libc::MAP_FAILED {
        UNAVAILABLE
    } else {
        (mapped as usize).next_multiple_of(HUGE)
    };
    match BASE.compare_exchange(UNMAPPED, base, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            if base != UNAVAILABLE {
                // SAFETY: advice on part of this process's own fresh mapping
                // (inside it: `base + REGION <= mapped + REGION + HUGE`);
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
                unsafe { libc::munmap(mapped, REGION + HUGE) };
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
/// by 64 MiB of address space at a time, which past its first 4 MiB is
/// advised to use transparent huge pages like the region. On a 20,000-task
/// plan page faults fall from 13,500 to under 4,000. Call it first in `main`.
#[allow(unsafe_code)]
pub fn tune_system_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets glibc's parameters; sbrk(0) only reads the
    // program break; the probe block is allocated and freed here; madvise
    // gives advice on the heap's own pages between two program breaks
    // (page-aligned by rounding up), which changes how pages are backed,
    // never their contents.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 1);
        let start = libc::sbrk(0) as usize;
        let probe = libc::malloc(1 << 20);
        libc::free(probe);
        let end = libc::sbrk(0) as usize;
        let from = start.saturating_add(EAGER).next_multiple_of(HUGE);
        if start != usize::MAX && end != usize::MAX && end > from {
            libc::madvise(from as *mut libc::c_void, end - from, libc::MADV_HUGEPAGE);
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
        let start = next.checked_add(layout.align() - 1)? & !(layout.align() - 1);
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
        let start = (base + offset + layout.align() - 1) & !(layout.align() - 1);
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
// from `System`, and blocks never overlap: a thread's chunk is its own, and
// its next-free address only moves back over a block that is being freed
// and ends there, which is the newest live block of that chunk.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if small(layout)
            && let Some(ptr) = bump(layout)
        {
            return ptr;
        }
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if in_region(ptr) {
            // The chunk's newest block is given back; any other stays.
            CHUNK_LEFT.with(|chunk| {
                let (next, end) = chunk.get();
                if ptr as usize + layout.size() == next {
                    chunk.set((ptr as usize, end));
                }
            });
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
