//! The process's memory allocator: the system allocator, with large buffers on transparent huge
//! pages.
//!
//! The graph algorithms read CSR rows and per-node arrays in random order. With 4 KiB pages every
//! such read of a buffer of tens of megabytes also misses the TLB, and the page walk costs as much as
//! the cache miss (more under a hypervisor, where it is two-dimensional). Kernels whose
//! transparent-huge-page mode is `madvise` (Ubuntu's default, and the machines these figures come
//! from) only back memory that asks for it with 2 MiB pages, so every allocation of at least
//! [`HUGE_MIN`] bytes asks as it is made (a fresh one before any page of it is touched). Under mode
//! `always` this changes nothing; under `never`, or off Linux, the request is refused or not made
//! and the allocator is the plain system one.
//!
//! The binary installs it with `#[global_allocator]`; the library never requires it. This is the one
//! module of the crate allowed `unsafe` (the crate denies it): an allocator cannot be written without.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations of at least this many bytes ask for huge pages.
pub const HUGE_MIN: usize = 4 << 20;

/// Size of a transparent huge page on x86-64 and most aarch64 kernels.
const HUGE_PAGE: usize = 2 << 20;

/// The system allocator, asking the kernel to back allocations of at least [`HUGE_MIN`] bytes with
/// huge pages.
#[derive(Clone, Copy, Debug, Default)]
pub struct HugePageAlloc;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and returns its
// result; the only addition is advice to the kernel about memory the allocation owns, which changes
// neither its contents nor its validity.
unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as received; see the impl's comment.
        let p = unsafe { System.alloc(layout) };
        advise(p, layout.size());
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as received.
        let p = unsafe { System.alloc_zeroed(layout) };
        advise(p, layout.size());
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as received.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        advise(p, new_size);
        p
    }
}

/// Asks for huge pages over the whole 2 MiB pages inside `[p, p + len)`, if `len` is large enough.
/// Failure (huge pages disabled, an old kernel) is ignored: the memory stays as it was.
#[inline]
fn advise(p: *mut u8, len: usize) {
    if p.is_null() || len < HUGE_MIN {
        return;
    }
    let Some((start, len)) = huge_span(p as usize, len) else {
        return;
    };
    #[cfg(target_os = "linux")]
    // SAFETY: the range lies inside the allocation just made, which the caller owns; MADV_HUGEPAGE
    // only changes how the kernel backs it, never what it holds.
    unsafe {
        libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (start, len);
}

/// The largest range of whole huge pages inside `[addr, addr + len)`.
fn huge_span(addr: usize, len: usize) -> Option<(usize, usize)> {
    let start = addr.checked_add(HUGE_PAGE - 1)? & !(HUGE_PAGE - 1);
    let end = addr.checked_add(len)? & !(HUGE_PAGE - 1);
    (end > start).then(|| (start, end - start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_covers_the_whole_huge_pages_inside() {
        let mb = 1 << 20;
        assert_eq!(huge_span(0, 4 * mb), Some((0, 4 * mb)));
        assert_eq!(huge_span(16, 4 * mb), Some((2 * mb, 2 * mb)));
        assert_eq!(huge_span(mb, 2 * mb), None);
        assert_eq!(huge_span(usize::MAX - mb, 4 * mb), None);
    }

    #[test]
    fn large_and_small_allocations_work() {
        let a = HugePageAlloc;
        for size in [64, HUGE_MIN, 3 * HUGE_MIN + 5] {
            let layout = Layout::from_size_align(size, 16).unwrap();
            // SAFETY: the layout has a non-zero size; the pointer is freed with the same layout.
            unsafe {
                let p = a.alloc_zeroed(layout);
                assert!(!p.is_null());
                assert_eq!(*p.add(size - 1), 0);
                *p.add(size - 1) = 7;
                let q = a.realloc(p, layout, size * 2);
                assert_eq!(*q.add(size - 1), 7);
                a.dealloc(q, Layout::from_size_align(size * 2, 16).unwrap());
            }
        }
    }
}
