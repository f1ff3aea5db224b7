//! How a long ring buffer tells that it has come to rest (for sleeping) without scanning itself.

/// A bound on the largest magnitude a ring of `span` values holds, kept at O(1) per write: the maxima of the
/// current epoch of writes and of the previous one, an epoch ending after `span` writes. The last `span` writes
/// lie within those two epochs, so the larger maximum bounds every value the ring holds.
#[derive(Debug, Clone, Copy)]
pub struct HighWater {
    current: f32,
    previous: f32,
    written: usize,
    span: usize,
}

impl HighWater {
    /// A mark for a ring holding `span` values (at least 1).
    pub fn new(span: usize) -> Self {
        HighWater {
            current: 0.0,
            previous: 0.0,
            written: 0,
            span: span.max(1),
        }
    }

    /// Notes one written value.
    #[inline]
    pub fn note(&mut self, x: f32) {
        self.current = self.current.max(x.abs());
        self.written += 1;
        if self.written == self.span {
            self.previous = self.current;
            self.current = 0.0;
            self.written = 0;
        }
    }

    /// At least the largest magnitude among the last `span` values noted.
    pub fn peak(&self) -> f32 {
        self.current.max(self.previous)
    }

    pub fn reset(&mut self) {
        (self.current, self.previous, self.written) = (0.0, 0.0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_bounds_every_value_of_the_last_span_writes_and_forgets_older_ones() {
        let span = 7;
        let mut mark = HighWater::new(span);
        let values: Vec<f32> = (0..100).map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.1).collect();
        for (n, x) in values.iter().enumerate() {
            mark.note(*x);
            let window = &values[(n + 1).saturating_sub(span)..=n];
            let largest = window.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(mark.peak() >= largest, "after write {n}");
        }
        // After two spans of small writes, a loud value written before them is forgotten.
        mark.note(5.0);
        for _ in 0..2 * span {
            mark.note(0.01);
        }
        assert!(mark.peak() <= 0.01 + f32::EPSILON);
    }
}
