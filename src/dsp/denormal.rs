//! Software denormal flushing: wasm has no flush-to-zero mode, so recursive state is flushed by hand.
//!
//! Values below `THRESHOLD` (-600 dB) are inaudible; flushing them keeps decaying filter and reverb state out
//! of the subnormal range, where every operation costs up to a hundred times more. The `unflushed-denormals`
//! feature turns flushing off, only so that tests and benchmarks can show what it prevents.

/// Magnitudes below this are set to zero.
pub const THRESHOLD: f64 = 1e-30;

/// Whether software flushing is on (always, unless the test-only `unflushed-denormals` feature is set).
pub const ENABLED: bool = !cfg!(feature = "unflushed-denormals");

/// Returns 0 for magnitudes below `THRESHOLD`, else the value.
#[inline(always)]
pub fn flush(x: f64) -> f64 {
    if ENABLED && x.abs() < THRESHOLD {
        0.0
    } else {
        x
    }
}

/// `flush` for f32 state (delay lines, reverb tanks).
#[inline(always)]
pub fn flush_f32(x: f32) -> f32 {
    if ENABLED && x.abs() < THRESHOLD as f32 {
        0.0
    } else {
        x
    }
}

/// Replaces non-finite samples by 0 (the effect contract: a non-finite input sample is taken as 0).
#[inline]
pub fn sanitize(buf: &mut [f32]) {
    for x in buf {
        if !x.is_finite() {
            *x = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_zeroes_tiny_values_and_keeps_audible_ones() {
        assert_eq!(flush(1e-31), 0.0);
        assert_eq!(flush(-1e-300), 0.0);
        assert_eq!(flush(1e-20), 1e-20);
        assert_eq!(flush_f32(1e-38), 0.0);
        assert_eq!(flush_f32(0.5), 0.5);
    }

    #[test]
    fn sanitize_replaces_non_finite_samples_only() {
        let mut buf = [1.0, f32::NAN, f32::INFINITY, -2.0, f32::NEG_INFINITY];
        sanitize(&mut buf);
        assert_eq!(buf, [1.0, 0.0, 0.0, -2.0, 0.0]);
    }
}
