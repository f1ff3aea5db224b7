//! Memory zeroed ahead of need, for effects created while playing.
//!
//! Creating a delay or a reverb clears its buffers: 2 to 8 MiB each at 192 kHz, which `memory.fill` in V8 takes
//! 0.3 to 0.9 ms to clear (more than a quarter of a 128-frame quantum at that rate). A WebAssembly host runs
//! that on the audio thread, between two quanta. So the host keeps, for every effect kind, one set of its large
//! buffers already zeroed: an allocation of zeroed memory (`vec![0.0; n]`) of exactly such a size and
//! alignment takes a ready block without clearing it, and between quanta the host zeroes replacements a slice
//! at a time ([`ZeroedBlocks::step`]).
//!
//! Which blocks to keep is learnt, not listed: [`ZeroedBlocks::begin_kind`] .. [`ZeroedBlocks::end_kind`] note
//! the large zeroed allocations of one effect being created (the host creates each effect once at the engine's
//! sample rate), and the set kept is the sum over kinds. On WebAssembly the global allocator (`HostAllocator`) consults the blocks; a
//! native build uses the system's allocator, whose fresh pages are already zero.
//!
//! The table is fixed-size and never allocates through the global allocator, since the allocator itself
//! calls into it.

use std::alloc::Layout;

/// Zeroed allocations from this size up are served from ready blocks (smaller ones clear quickly).
pub const LARGE_BYTES: usize = 16 << 10;

/// Bytes the host zeroes per [`ZeroedBlocks::step`] between quanta: `memory.fill` clears this in about 60 us,
/// and a delay's 8 MiB at 192 kHz is ready again 16 quanta after it was taken.
pub const SLICE_BYTES: usize = 512 << 10;

/// The most blocks kept ready, and the most distinct block shapes wanted.
const MAX_READY: usize = 1024;
const MAX_SHAPES: usize = 256;

/// Where blocks come from and go back to (the system allocator; a test's own).
pub trait BlockSource {
    /// Memory of `layout`, contents unspecified; null when there is none.
    fn allocate(&mut self, layout: Layout) -> *mut u8;
    /// Gives back a block.
    ///
    /// # Safety
    /// `ptr` came from [`BlockSource::allocate`] of this source with this `layout`, and is not used after.
    unsafe fn release(&mut self, ptr: *mut u8, layout: Layout);
}

#[derive(Debug, Clone, Copy)]
struct Block {
    ptr: *mut u8,
    layout: Layout,
}

/// A count per block shape, in a fixed table.
#[derive(Debug, Clone, Copy)]
struct Shapes {
    counts: [Option<(Layout, usize)>; MAX_SHAPES],
}

impl Shapes {
    const EMPTY: Shapes = Shapes {
        counts: [None; MAX_SHAPES],
    };

    fn add(&mut self, layout: Layout, count: usize) {
        if let Some((_, n)) = self.counts.iter_mut().flatten().find(|(l, _)| *l == layout) {
            *n += count;
        } else if let Some(free) = self.counts.iter_mut().find(|c| c.is_none()) {
            *free = Some((layout, count));
        }
    }

    fn iter(&self) -> impl Iterator<Item = (Layout, usize)> + '_ {
        self.counts.iter().flatten().copied()
    }
}

/// Blocks of memory kept zeroed for the large zeroed allocations of effects (module docs).
#[derive(Debug)]
pub struct ZeroedBlocks {
    ready: [Option<Block>; MAX_READY],
    /// The block being zeroed and how many of its bytes are zero so far.
    filling: Option<(Block, usize)>,
    /// How many blocks of each shape to keep.
    wanted: Shapes,
    /// The shapes one effect's creation asked for, between [`ZeroedBlocks::begin_kind`] and
    /// [`ZeroedBlocks::end_kind`].
    recording: Option<Shapes>,
    /// Nothing to do until a block is taken or the wanted blocks change (keeps the idle step cheap).
    settled: bool,
    /// Ready blocks of each wanted shape (parallel to `wanted.counts`), and of shapes no longer wanted.
    have: [usize; MAX_SHAPES],
    stray: usize,
    /// Large zeroed allocations served from a ready block, and served by clearing (for the host's figures).
    pub served: u64,
    pub missed: u64,
}

impl Default for ZeroedBlocks {
    fn default() -> Self {
        Self::new()
    }
}

impl ZeroedBlocks {
    pub const fn new() -> Self {
        ZeroedBlocks {
            ready: [None; MAX_READY],
            filling: None,
            wanted: Shapes::EMPTY,
            recording: None,
            settled: false,
            have: [0; MAX_SHAPES],
            stray: 0,
            served: 0,
            missed: 0,
        }
    }

    /// Forgets what was wanted (before recording the kinds again, e.g. at another sample rate); blocks no
    /// longer wanted are given back by [`ZeroedBlocks::step`].
    pub fn clear_wanted(&mut self) {
        self.wanted = Shapes::EMPTY;
        self.settled = false;
        self.recount();
    }

    /// The position of a wanted shape in `wanted.counts`.
    fn shape_index(&self, layout: Layout) -> Option<usize> {
        self.wanted
            .counts
            .iter()
            .position(|c| c.is_some_and(|(l, _)| l == layout))
    }

    /// Counts the ready blocks per wanted shape again (after the wanted shapes changed).
    fn recount(&mut self) {
        (self.have, self.stray) = ([0; MAX_SHAPES], 0);
        for i in 0..MAX_READY {
            if let Some(block) = self.ready[i] {
                self.count_in(block.layout, 1);
            }
        }
    }

    /// Adds `delta` (+1 or -1) to the count of `layout`'s ready blocks.
    fn count_in(&mut self, layout: Layout, delta: isize) {
        let count = match self.shape_index(layout) {
            Some(i) => &mut self.have[i],
            None => &mut self.stray,
        };
        *count = count.wrapping_add_signed(delta);
    }

    /// Bytes of all the blocks wanted.
    pub fn wanted_bytes(&self) -> usize {
        self.wanted.iter().map(|(layout, count)| layout.size() * count).sum()
    }

    /// Starts noting the large zeroed allocations of one effect being created; until
    /// [`ZeroedBlocks::end_kind`], nothing is served from ready blocks.
    pub fn begin_kind(&mut self) {
        self.recording = Some(Shapes::EMPTY);
    }

    /// Adds what was noted since [`ZeroedBlocks::begin_kind`] to the blocks kept.
    pub fn end_kind(&mut self) {
        if let Some(kind) = self.recording.take() {
            for (layout, count) in kind.iter() {
                self.wanted.add(layout, count);
            }
        }
        self.settled = false;
        self.recount();
    }

    /// Notes an allocation between [`ZeroedBlocks::begin_kind`] and [`ZeroedBlocks::end_kind`]. Called by the
    /// allocator.
    pub fn note(&mut self, layout: Layout) {
        if let Some(kind) = self.recording.as_mut() {
            kind.add(layout, 1);
        }
    }

    /// A ready block of exactly `layout` (all zero), if one is kept. Called by the allocator for a zeroed
    /// allocation of at least [`LARGE_BYTES`].
    pub fn take(&mut self, layout: Layout) -> Option<*mut u8> {
        if self.recording.is_some() {
            return None;
        }
        let slot = self.ready.iter_mut().find(|b| b.is_some_and(|b| b.layout == layout));
        match slot.and_then(Option::take) {
            Some(block) => {
                self.served += 1;
                self.settled = false;
                self.count_in(block.layout, -1);
                Some(block.ptr)
            }
            None => {
                self.missed += 1;
                None
            }
        }
    }

    /// How many ready blocks of `layout` are kept.
    pub fn ready_count(&self, layout: Layout) -> usize {
        self.ready.iter().flatten().filter(|b| b.layout == layout).count()
    }

    /// Bytes held ready (and in filling).
    pub fn held_bytes(&self) -> usize {
        let ready: usize = self.ready.iter().flatten().map(|b| b.layout.size()).sum();
        ready + self.filling.map_or(0, |(b, _)| b.layout.size())
    }

    /// One bounded piece of upkeep between quanta: zeroes at most `budget` bytes of the block being filled (a
    /// new one is taken from `source` when none is), files finished blocks as ready, and gives back one ready
    /// block that is no longer wanted. Returns 0 when nothing was left to do, else a positive count (the bytes
    /// zeroed, or 1).
    pub fn step(&mut self, source: &mut impl BlockSource, budget: usize) -> usize {
        let mut spent = 0;
        // Small blocks: as many as the budget covers (one per call would refill a reverb's many lines slowly).
        while spent < budget {
            match self.step_block(source, budget - spent) {
                0 => break,
                n => spent += n,
            }
        }
        spent
    }

    /// [`ZeroedBlocks::step`] on one block.
    fn step_block(&mut self, source: &mut impl BlockSource, budget: usize) -> usize {
        if self.settled {
            return 0;
        }
        let released = self.release_unwanted(source);
        if self.filling.is_none() {
            let Some(layout) = self.next_missing() else {
                self.settled = !released;
                return usize::from(released);
            };
            let ptr = source.allocate(layout);
            if ptr.is_null() {
                return 0;
            }
            self.filling = Some((Block { ptr, layout }, 0));
        }
        let Some((block, done)) = self.filling.as_mut() else {
            return 0;
        };
        let n = budget.min(block.layout.size() - *done);
        // SAFETY: `block.ptr` is a live allocation of `block.layout.size()` bytes from `source`, owned here until
        // it is handed out; `done + n` does not pass its end.
        unsafe { std::ptr::write_bytes(block.ptr.add(*done), 0, n) };
        *done += n;
        if *done == block.layout.size() {
            let block = *block;
            self.filling = None;
            match self.ready.iter_mut().find(|b| b.is_none()) {
                Some(free) => {
                    *free = Some(block);
                    self.count_in(block.layout, 1);
                }
                // SAFETY: the block came from `source.allocate` with its layout and was never handed out.
                None => unsafe { source.release(block.ptr, block.layout) },
            }
        }
        n.max(1)
    }

    /// Steps until every wanted block is ready (at load, where time is not counted per quantum).
    pub fn fill(&mut self, source: &mut impl BlockSource) {
        while self.step(source, usize::MAX) > 0 {}
    }

    /// A wanted shape with fewer ready blocks than wanted (and room to keep one more).
    fn next_missing(&self) -> Option<Layout> {
        if self.ready.iter().all(Option::is_some) {
            return None;
        }
        self.wanted
            .counts
            .iter()
            .zip(&self.have)
            .find_map(|(shape, &have)| shape.filter(|&(_, want)| have < want).map(|(layout, _)| layout))
    }

    /// Gives back one ready block beyond what is wanted of its shape (or of a shape no longer wanted); whether
    /// there was one.
    fn release_unwanted(&mut self, source: &mut impl BlockSource) -> bool {
        let surplus = if self.stray > 0 {
            self.ready
                .iter()
                .position(|b| b.is_some_and(|b| self.shape_index(b.layout).is_none()))
        } else {
            let over = self
                .wanted
                .counts
                .iter()
                .zip(&self.have)
                .find_map(|(shape, &have)| shape.filter(|&(_, want)| have > want).map(|(layout, _)| layout));
            over.and_then(|layout| self.ready.iter().position(|b| b.is_some_and(|b| b.layout == layout)))
        };
        match surplus.and_then(|i| self.ready[i].take()) {
            Some(block) => {
                self.count_in(block.layout, -1);
                // SAFETY: a ready block came from `source.allocate` with its layout and was never handed out.
                unsafe { source.release(block.ptr, block.layout) };
                true
            }
            None => false,
        }
    }
}

/// The system allocator as a [`BlockSource`].
pub struct SystemBlocks;

impl BlockSource for SystemBlocks {
    fn allocate(&mut self, layout: Layout) -> *mut u8 {
        // SAFETY: `layout` has a non-zero size (at least LARGE_BYTES when it comes from `note`).
        unsafe { std::alloc::GlobalAlloc::alloc(&std::alloc::System, layout) }
    }

    unsafe fn release(&mut self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's promise (`ptr` from `allocate` with this layout).
        unsafe { std::alloc::GlobalAlloc::dealloc(&std::alloc::System, ptr, layout) }
    }
}

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
mod global {
    //! The WebAssembly build's global allocator: the system's (dlmalloc), with large zeroed allocations served
    //! from the ready blocks. The module has one thread (no `atomics`), so the table needs no lock.
    use super::{ZeroedBlocks, LARGE_BYTES};
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::UnsafeCell;

    struct Table(UnsafeCell<ZeroedBlocks>);
    // SAFETY: wasm32 without the atomics feature runs one thread.
    unsafe impl Sync for Table {}

    static BLOCKS: Table = Table(UnsafeCell::new(ZeroedBlocks::new()));

    /// Runs `f` on the table. Never nested: the table's methods do not allocate through the global allocator.
    pub fn with_blocks<T>(f: impl FnOnce(&mut ZeroedBlocks) -> T) -> T {
        // SAFETY: one thread, and no caller re-enters (see above).
        f(unsafe { &mut *BLOCKS.0.get() })
    }

    /// The global allocator (module docs).
    pub struct HostAllocator;

    unsafe impl GlobalAlloc for HostAllocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            System.alloc(layout)
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            if layout.size() >= LARGE_BYTES {
                let ready = with_blocks(|b| {
                    b.note(layout);
                    b.take(layout)
                });
                if let Some(ptr) = ready {
                    return ptr;
                }
            }
            System.alloc_zeroed(layout)
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            System.dealloc(ptr, layout)
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            System.realloc(ptr, layout, new_size)
        }
    }

    #[global_allocator]
    static ALLOCATOR: HostAllocator = HostAllocator;
}

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
pub use global::{with_blocks, HostAllocator};

/// Runs `f` on the blocks the global allocator serves from (WebAssembly); natively, where the global
/// allocator does not consult them, on a table of its own that nothing takes from.
#[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
pub fn with_blocks<T>(f: impl FnOnce(&mut ZeroedBlocks) -> T) -> T {
    thread_local! {
        static BLOCKS: std::cell::RefCell<ZeroedBlocks> = const { std::cell::RefCell::new(ZeroedBlocks::new()) };
    }
    BLOCKS.with(|b| f(&mut b.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks from the system, filled with garbage first (as reused memory is), and counted.
    #[derive(Default)]
    struct Dirty {
        live: usize,
    }

    impl BlockSource for Dirty {
        fn allocate(&mut self, layout: Layout) -> *mut u8 {
            let ptr = SystemBlocks.allocate(layout);
            // SAFETY: a fresh allocation of layout.size() bytes.
            unsafe { std::ptr::write_bytes(ptr, 0xA5, layout.size()) };
            self.live += 1;
            ptr
        }

        unsafe fn release(&mut self, ptr: *mut u8, layout: Layout) {
            self.live -= 1;
            // SAFETY: the caller's promise.
            unsafe { SystemBlocks.release(ptr, layout) }
        }
    }

    fn floats(n: usize) -> Layout {
        Layout::array::<f32>(n).unwrap()
    }

    /// Records one "effect" asking for the given zeroed shapes (as the allocator notes them).
    fn record(blocks: &mut ZeroedBlocks, shapes: &[Layout]) {
        blocks.begin_kind();
        for &l in shapes {
            blocks.note(l);
        }
        blocks.end_kind();
    }

    #[test]
    fn wanted_blocks_are_the_sum_over_kinds_and_come_out_zeroed_and_exact() {
        let mut blocks = ZeroedBlocks::new();
        let (a, b) = (floats(1 << 16), floats(3 << 15));
        record(&mut blocks, &[a, a, b]); // a reverb with two lines of one size
        record(&mut blocks, &[a]); // a delay
        let mut source = Dirty::default();
        blocks.fill(&mut source);
        assert_eq!((blocks.ready_count(a), blocks.ready_count(b)), (3, 1));
        let ptr = blocks.take(b).expect("a ready block of b");
        // SAFETY: a block of b.size() bytes handed over by take.
        let bytes = unsafe { std::slice::from_raw_parts(ptr, b.size()) };
        assert!(bytes.iter().all(|&x| x == 0), "the block was zeroed over the garbage");
        assert_eq!(blocks.take(b), None, "one b was wanted");
        assert_eq!(blocks.take(floats((1 << 16) + 1)), None, "only exact shapes");
        assert_eq!((blocks.served, blocks.missed), (1, 2));
        // SAFETY: the block taken, allocated by `source` with layout b.
        unsafe { source.release(ptr, b) };
    }

    #[test]
    fn replacements_are_zeroed_in_slices_of_the_budget() {
        let mut blocks = ZeroedBlocks::new();
        let a = floats(1 << 19); // 2 MiB
        record(&mut blocks, &[a]);
        let mut source = Dirty::default();
        blocks.fill(&mut source);
        let taken = blocks.take(a).unwrap();
        let mut steps = 0;
        while blocks.step(&mut source, SLICE_BYTES) > 0 {
            steps += 1;
            assert!(steps <= 4 + 1, "a 2 MiB block in 512 KiB slices");
        }
        assert_eq!(steps, 4);
        assert_eq!(blocks.ready_count(a), 1);
        // SAFETY: the block taken, allocated by `source` with layout a.
        unsafe { source.release(taken, a) };
        assert_eq!(source.live, 1);
    }

    #[test]
    fn one_step_refills_as_many_small_blocks_as_its_budget_covers() {
        let mut blocks = ZeroedBlocks::new();
        let small = floats(1 << 14); // 64 KiB
        record(&mut blocks, &[small; 12]);
        let mut source = Dirty::default();
        blocks.fill(&mut source);
        let taken: Vec<*mut u8> = (0..12).map(|_| blocks.take(small).unwrap()).collect();
        assert_eq!(blocks.step(&mut source, SLICE_BYTES), SLICE_BYTES);
        assert_eq!(blocks.ready_count(small), 8, "512 KiB of 64 KiB blocks");
        assert!(blocks.step(&mut source, SLICE_BYTES) > 0);
        assert_eq!(blocks.ready_count(small), 12);
        assert_eq!(blocks.step(&mut source, SLICE_BYTES), 0, "settled");
        for ptr in taken {
            // SAFETY: blocks taken, allocated by `source` with layout `small`.
            unsafe { source.release(ptr, small) };
        }
    }

    #[test]
    fn blocks_no_longer_wanted_are_given_back() {
        let mut blocks = ZeroedBlocks::new();
        let a = floats(1 << 16);
        record(&mut blocks, &[a, a]);
        let mut source = Dirty::default();
        blocks.fill(&mut source);
        assert_eq!(source.live, 2);
        blocks.clear_wanted();
        record(&mut blocks, &[a]);
        blocks.fill(&mut source);
        assert_eq!((source.live, blocks.ready_count(a)), (1, 1));
        assert_eq!(blocks.held_bytes(), a.size());
    }

    #[test]
    fn nothing_is_served_while_recording() {
        let mut blocks = ZeroedBlocks::new();
        let a = floats(1 << 16);
        record(&mut blocks, &[a]);
        let mut source = Dirty::default();
        blocks.fill(&mut source);
        blocks.begin_kind();
        assert_eq!(blocks.take(a), None);
        blocks.end_kind();
        let taken = blocks.take(a).expect("served once recording ended");
        // SAFETY: the block taken, allocated by `source` with layout a.
        unsafe { source.release(taken, a) };
    }
}
