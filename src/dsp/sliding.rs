//! Sliding-window maximum or minimum over the last N samples (Lemire's monotonic wedge).
//!
//! A deque of (sample index, value) holds, in order of arrival, only the samples that can still become the
//! extremum: a new value first removes from the back every value it dominates (for a maximum: every value <= it),
//! then the front is dropped once it has left the window. The front is the extremum. Each sample enters and
//! leaves the deque once, so the work is O(1) per sample amortised and never more than the window length for one
//! sample. The deque lives in a ring preallocated for the longest window, so nothing allocates after `new`.

/// Which extremum a [`SlidingExtremum`] tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extremum {
    Max,
    Min,
}

#[derive(Debug, Clone)]
pub struct SlidingExtremum {
    kind: Extremum,
    values: Vec<f64>,
    /// Arrival counts, wrapping: only differences with `now` are read, and an entry is never older than the
    /// ring's size, so 32 bits suffice (half the memory of 64).
    stamps: Vec<u32>,
    mask: usize,
    /// Ring index of the front (oldest) entry.
    head: usize,
    /// Entries in the deque.
    len: usize,
    /// The index the next sample gets.
    now: u32,
    window: usize,
}

impl SlidingExtremum {
    /// A tracker for windows of up to `max_window` samples (at least 1), starting with `window`.
    pub fn new(kind: Extremum, max_window: usize, window: usize) -> Self {
        let size = max_window.max(1).next_power_of_two();
        SlidingExtremum {
            kind,
            values: vec![0.0; size],
            stamps: vec![0; size],
            mask: size - 1,
            head: 0,
            len: 0,
            now: 0,
            window: window.clamp(1, size),
        }
    }

    /// The largest window this tracker holds.
    pub fn max_window(&self) -> usize {
        self.mask + 1
    }

    /// Sets the window length (clamped to 1..=max_window). A shorter window takes effect at once; a longer one
    /// only sees the samples still in the deque, so callers that lengthen it [`clear`](Self::clear) and refill.
    pub fn set_window(&mut self, window: usize) {
        self.window = window.clamp(1, self.mask + 1);
    }

    pub fn window(&self) -> usize {
        self.window
    }

    /// Whether `a` makes `b` useless (b can never be the extremum while a is in the window).
    #[inline]
    fn dominates(&self, a: f64, b: f64) -> bool {
        match self.kind {
            Extremum::Max => a >= b,
            Extremum::Min => a <= b,
        }
    }

    /// Adds a sample and returns the extremum of the last `window` samples (this one included).
    // Inlined into the limiter's per-sample loop: a call per sample was a quarter of its cost.
    #[inline(always)]
    pub fn push(&mut self, x: f64) -> f64 {
        while self.len > 0 {
            let back = (self.head + self.len - 1) & self.mask;
            if self.dominates(x, self.values[back]) {
                self.len -= 1;
            } else {
                break;
            }
        }
        // The window is at most the ring's size, so after dropping expired entries below there is always room;
        // drop the front first if the ring is full (its entry is then the oldest and expires now at the latest).
        if self.len > self.mask {
            self.head = (self.head + 1) & self.mask;
            self.len -= 1;
        }
        let slot = (self.head + self.len) & self.mask;
        self.values[slot] = x;
        self.stamps[slot] = self.now;
        self.len += 1;
        while self.now.wrapping_sub(self.stamps[self.head]) >= self.window as u32 {
            self.head = (self.head + 1) & self.mask;
            self.len -= 1;
        }
        self.now = self.now.wrapping_add(1);
        self.values[self.head]
    }

    /// Empties the deque (the next push starts a new history); the window is kept.
    /// The same state and result as `count` (at least 1) calls of `push(x)`: after the first, each push only
    /// replaces the back entry (the previous x, which x dominates) and expires entries at the front, so the
    /// back entry takes the last stamp and the front loses what has expired by then.
    pub fn push_repeated(&mut self, x: f64, count: usize) -> f64 {
        let first = self.push(x);
        if count <= 1 {
            return first;
        }
        let last = self.now.wrapping_add(count as u32 - 2);
        let back = (self.head + self.len - 1) & self.mask;
        self.stamps[back] = last;
        while last.wrapping_sub(self.stamps[self.head]) >= self.window as u32 {
            self.head = (self.head + 1) & self.mask;
            self.len -= 1;
        }
        self.now = last.wrapping_add(1);
        self.values[self.head]
    }

    /// The extremum of the window as the last push returned it (`None` before any push or after `clear`).
    pub fn extremum(&self) -> Option<f64> {
        (self.len > 0).then(|| self.values[self.head])
    }

    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Whether every value still in the window is within `limit` of zero in magnitude.
    pub fn settled(&self, limit: f64) -> bool {
        (0..self.len).all(|k| self.values[(self.head + k) & self.mask].abs() <= limit)
    }

    pub fn reset(&mut self) {
        self.clear();
        self.now = 0;
    }

    /// Copies the state of a tracker with the same capacity (no allocation).
    pub fn copy_state_from(&mut self, other: &SlidingExtremum) {
        self.values.copy_from_slice(&other.values);
        self.stamps.copy_from_slice(&other.stamps);
        self.head = other.head;
        self.len = other.len;
        self.now = other.now;
        self.window = other.window;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_pushes_equal_single_pushes() {
        let mut state = 3u64;
        for window in [1usize, 2, 5, 17] {
            let (mut a, mut b) = (
                SlidingExtremum::new(Extremum::Min, 32, window),
                SlidingExtremum::new(Extremum::Min, 32, window),
            );
            for step in 0..400 {
                // Runs of one value (1.0 most often, as a limiter below its ceiling pushes) between random ones.
                let x = if step % 3 == 0 { noise(&mut state).abs() } else { 1.0 };
                let count = 1 + (step * 7 % 40);
                let mut want = 0.0;
                for _ in 0..count {
                    want = a.push(x);
                }
                assert_eq!(b.push_repeated(x, count), want, "window {window} step {step}");
                assert_eq!(b.extremum(), Some(want));
                let next = noise(&mut state);
                assert_eq!(a.push(next), b.push(next), "window {window} step {step}");
            }
        }
    }

    /// A tiny deterministic generator for the comparison with a brute-force extremum.
    fn noise(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    }

    #[test]
    fn matches_a_brute_force_extremum() {
        for kind in [Extremum::Max, Extremum::Min] {
            for window in [1, 2, 7, 64] {
                let mut s = SlidingExtremum::new(kind, 64, window);
                let mut state = 1;
                let xs: Vec<f64> = (0..2000).map(|_| noise(&mut state)).collect();
                for (n, &x) in xs.iter().enumerate() {
                    let got = s.push(x);
                    let span = &xs[n + 1 - window.min(n + 1)..=n];
                    let want = match kind {
                        Extremum::Max => span.iter().cloned().fold(f64::MIN, f64::max),
                        Extremum::Min => span.iter().cloned().fold(f64::MAX, f64::min),
                    };
                    assert_eq!(got, want, "{kind:?} window {window} at {n}");
                }
            }
        }
    }

    #[test]
    fn a_decreasing_run_fills_the_whole_window() {
        let mut s = SlidingExtremum::new(Extremum::Max, 8, 8);
        for n in 0..100 {
            let got = s.push(-(n as f64));
            assert_eq!(got, -((n.max(7) - 7) as f64));
        }
    }
}
