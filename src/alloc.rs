//! The binary's allocator: the system's, with its large blocks backed by
//! transparent huge pages where the kernel offers them on request.
//!
//! Why: a diff touches its memory once. On the synthetic 1x pair the
//! process took ~50,000 page faults for ~150 MiB, and the kernel's fault
//! path (not the clearing of the pages) had about a tenth of the CPU.
//! Debian's and Ubuntu's kernels give huge pages only to ranges marked with
//! `madvise(MADV_HUGEPAGE)` (`/sys/kernel/mm/transparent_hugepage/enabled`
//! set to `madvise`), so the blocks that would take most of the faults are
//! marked: one fault per 2 MiB instead of per 4 KiB.
//!
//! Only blocks of at least [`LARGE`] are marked, and [`init`] makes glibc
//! serve every such block by its own `mmap`, so a mark never lands on the
//! shared heap and `free` still gives the whole block back to the system
//! (glibc otherwise raises its mmap threshold to the size of the last block
//! freed, up to 32 MiB, and keeps later blocks of that size in the heap).
//! Small blocks, and so the flat-memory `trend`, are untouched. Elsewhere
//! (another libc, another OS), this is the system allocator as it is.
//!
//! The cost: a huge page is cleared whole when first touched, so peak RSS
//! rises by up to 2 MiB per large block (3-4 MiB on the bench diffs). With
//! the kernel's THP `defrag` setting at its default (`madvise`), a fault in
//! a marked block may compact memory first; an administrator who wants
//! neither sets THP to `never`, and the kernel then ignores the marks.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks of at least this size are served by `mmap` and marked.
pub const LARGE: usize = 4 << 20;

/// The alignment glibc's `malloc` gives. A block aligned more strictly
/// starts inside its mapping, not on its first page, and is left unmarked.
const MALLOC_ALIGN: usize = 16;

/// The smallest page size of the platforms we build for; `mmap` aligns
/// to it, so the block's mapping starts on the page holding its header.
const PAGE: usize = 4096;

/// [`System`], with blocks of at least [`LARGE`] marked for huge pages.
pub struct Allocator;

/// Sets glibc's mmap threshold to [`LARGE`] (fixed: no longer raised by
/// `free`). Call first thing in `main`; without it glibc may serve a large
/// block from its heap, and the mark would then split the heap's mapping.
pub fn init() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter; it is safe to call at
    // any time, and M_MMAP_THRESHOLD = 4 MiB is within its documented range.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, LARGE as libc::c_int);
    }
}

/// Marks the block `[p, p + size)` just allocated when it is large (and
/// so a mapping of its own) and aligned as `malloc` aligns; returns `p`.
/// The whole mapping is marked, its header page with it: a mark on part of
/// it would split it in two or three, and `mremap` (how glibc grows such a
/// block without copying) fails on a range that spans more than one.
/// The kernel backs only the whole, aligned huge pages inside. A failure
/// (a kernel without THP) only means small pages, so it is ignored.
#[inline]
fn mark(p: *mut u8, size: usize, align: usize) -> *mut u8 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if size >= LARGE && align <= MALLOC_ALIGN && !p.is_null() {
        let start = p as usize & !(PAGE - 1);
        let end = (p as usize + size).next_multiple_of(PAGE);
        if end > start {
            // SAFETY: [start, end) is the mapping of the block just
            // allocated, ours; MADV_HUGEPAGE changes no contents.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = (size, align);
    p
}

// SAFETY: every call is passed to `System` unchanged; `mark` only marks
// memory of the block returned.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        mark(unsafe { System.alloc(layout) }, layout.size(), layout.align())
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        mark(unsafe { System.alloc_zeroed(layout) }, layout.size(), layout.align())
    }

    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= LARGE && layout.size() < LARGE && layout.align() <= MALLOC_ALIGN {
            // Growing into a block of its own: glibc would copy into a
            // fresh mapping before this could mark it, and the copy would
            // fault in small pages. Mark first, then copy.
            // SAFETY: the caller's contract for `realloc` gives a valid
            // layout of `new_size`, and `p` is live for `layout.size()`.
            unsafe {
                let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
                let q = self.alloc(new_layout);
                if !q.is_null() {
                    std::ptr::copy_nonoverlapping(p, q, layout.size());
                    System.dealloc(p, layout);
                }
                return q;
            }
        }
        // Any other block that ends up large was large, and so marked, when
        // it was allocated: glibc grows it by `mremap`, which keeps the mark
        // (the unit test checks that it does).
        unsafe { System.realloc(p, layout, new_size) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mapping of `smaps` (the text of `/proc/self/smaps`) holding
    /// address `a`: its range and its `VmFlags`.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn mapping_of(smaps: &str, a: usize) -> Option<(usize, usize, String)> {
        let mut cur: Option<(usize, usize)> = None;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or("");
            if let Some((lo, hi)) = first.split_once('-') {
                if let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16)) {
                    cur = Some((lo, hi));
                    continue;
                }
            }
            if let (Some(flags), Some((lo, hi))) = (line.strip_prefix("VmFlags:"), cur) {
                if (lo..hi).contains(&a) {
                    return Some((lo, hi, flags.to_string()));
                }
            }
        }
        None
    }

    /// Whether this kernel accepts `MADV_HUGEPAGE` at all (one built
    /// without THP refuses it, and then nothing is marked).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn kernel_takes_marks() -> bool {
        // SAFETY: a fresh anonymous mapping, marked and unmapped; nothing
        // else refers to it.
        unsafe {
            let len = 2 * LARGE;
            let m = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if m == libc::MAP_FAILED {
                return false;
            }
            let ok = libc::madvise(m, len, libc::MADV_HUGEPAGE) == 0;
            libc::munmap(m, len);
            ok
        }
    }

    /// Contents survive every way a block can cross [`LARGE`], and a large
    /// block is one mapping, marked whole, so that glibc can `mremap` it.
    #[test]
    fn blocks_keep_their_contents_and_large_ones_are_marked_whole() {
        let a = Allocator;
        init();
        let small = Layout::from_size_align(LARGE / 2, 8).unwrap();
        // SAFETY: each pointer is used within the size it was allocated
        // or reallocated with, and freed once with its current layout.
        unsafe {
            let p = a.alloc(small);
            assert!(!p.is_null());
            for i in 0..small.size() {
                *p.add(i) = (i % 251) as u8;
            }
            // Small to large: the copy this module makes.
            let q = a.realloc(p, small, 3 * LARGE / 2);
            assert!(!q.is_null());
            assert!((0..small.size()).all(|i| *q.add(i) == (i % 251) as u8));
            // Large to larger: glibc's `mremap`.
            let big = Layout::from_size_align(3 * LARGE / 2, 8).unwrap();
            let r = a.realloc(q, big, 3 * LARGE);
            assert!(!r.is_null());
            assert!((0..small.size()).all(|i| *r.add(i) == (i % 251) as u8));
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            // Checked where the kernel takes marks and shows them (a
            // sandbox may hide /proc or the flags).
            let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
            if kernel_takes_marks() && smaps.contains("VmFlags:") {
                let (lo, hi, flags) = mapping_of(&smaps, r as usize).expect("the block is in /proc/self/smaps");
                assert!(lo <= (r as usize & !(PAGE - 1)) && hi >= r as usize + 3 * LARGE, "one mapping");
                assert!(flags.split_whitespace().any(|f| f == "hg"), "marked: {flags}");
            }
            a.dealloc(r, Layout::from_size_align(3 * LARGE, 8).unwrap());

            let z = Layout::from_size_align(LARGE, 8).unwrap();
            let p = a.alloc_zeroed(z);
            assert!((0..z.size()).step_by(4093).all(|i| *p.add(i) == 0));
            a.dealloc(p, z);

            // More strictly aligned: served, and aligned.
            let wide = Layout::from_size_align(LARGE, 1 << 16).unwrap();
            let p = a.alloc(wide);
            assert_eq!(p as usize % (1 << 16), 0);
            let q = a.realloc(p, wide, 2 * LARGE);
            assert_eq!(q as usize % (1 << 16), 0);
            a.dealloc(q, Layout::from_size_align(2 * LARGE, 1 << 16).unwrap());
        }
    }
}
