//! What several test binaries share: an allocator that counts allocations and live bytes per thread, so a test
//! can prove that a code path allocates nothing, or measure what an instance holds, while other tests run in
//! parallel. Each binary that includes this module (`mod common;`) gets it as its global allocator. Its
//! submodules hold shared test signals and helpers: `ebu` (EBU Tech 3341/3342 signals), `engine` (the engine
//! tests' builders, signals and comparisons), `tempo_set` (the tempo test's songs).
// Each binary uses part of this module.
#![allow(dead_code)]

pub mod ebu;
pub mod engine;
pub mod tempo_set;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
}

fn count(bytes: isize, allocation: bool) {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + allocation as usize));
    let _ = LIVE_BYTES.try_with(|c| c.set(c.get() + bytes));
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize, true);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize, true);
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize), false);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize, true);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Bytes allocated and not yet freed by this thread (frees of another thread's memory are counted where
/// they happen).
pub fn live_bytes() -> isize {
    LIVE_BYTES.with(|c| c.get())
}

/// Allocations made so far on this thread.
pub fn allocations() -> usize {
    ALLOCATIONS.with(|c| c.get())
}

/// Runs `f` and counts the allocations it made on this thread: (what `f` returned, allocations).
pub fn allocations_in<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = allocations();
    let result = f();
    (result, allocations() - before)
}
