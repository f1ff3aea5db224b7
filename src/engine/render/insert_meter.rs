//! Per-insert meters (docs/engine.md, "Metering"): the processing cost of each insert and whether it sleeps, read
//! like a meter, next to the deepest gain reduction of dynamics inserts since the last read.
//!
//! The core has no clock of its own: `std::time::Instant` traps on wasm32-unknown-unknown, and the worklet has
//! only `Date.now()` at 1 ms resolution. The host hands the engine a [`Clock`] (a plain function returning
//! seconds); natively [`native_clock_s`]. With no clock (the default), timing costs one branch per insert per
//! quantum and the cost figures read 0 with `timed` false.

/// A host clock: seconds since any fixed origin, monotonic. A plain function, so it costs no allocation and can
/// wrap an imported host function in a wasm build.
pub type Clock = fn() -> f64;

/// The native host's clock: seconds since its first call, from `std::time::Instant` (not on wasm32, where
/// `Instant` traps).
#[cfg(not(target_arch = "wasm32"))]
pub fn native_clock_s() -> f64 {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    ORIGIN.get_or_init(std::time::Instant::now).elapsed().as_secs_f64()
}

/// Frames of the quantum the cost is reported per (one Web Audio render quantum).
pub const COST_QUANTUM_FRAMES: usize = 128;

/// What an insert's meter shows.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct InsertReading {
    /// The deepest gain reduction since the last read, dB (0 or negative; 0 for inserts that do not reduce gain).
    pub gain_reduction_db: f32,
    /// Processing time per 128-frame quantum, microseconds, averaged over the audio since the last read (a
    /// sleeping insert adds no time, so sleep lowers the average).
    pub cost_us_per_quantum: f64,
    /// Processing time over the duration of the audio since the last read: 0.01 is 1 % of one core in real time.
    pub load: f64,
    /// Frames of audio the averages cover (0 if nothing was rendered since the last read).
    pub frames: u64,
    /// Whether a host clock measured the time (false: the cost figures are 0).
    pub timed: bool,
    /// Whether the insert's effect is asleep (silent input, state settled: it costs almost nothing).
    pub asleep: bool,
    /// Whether the effect's kernel runs (false while asleep, and while bypassed once the bypass fade has ended).
    pub kernel_running: bool,
}

/// Time and audio counted for one insert since the last read.
#[derive(Debug, Clone, Default)]
pub struct InsertMeter {
    busy_s: f64,
    frames: u64,
    timed: bool,
}

impl InsertMeter {
    /// Counts a block of `frames` the insert ran (with the time it took, when a clock measured it) or slept
    /// through (`busy_s` None or 0).
    #[inline]
    pub fn count(&mut self, frames: usize, busy_s: Option<f64>) {
        self.frames += frames as u64;
        if let Some(t) = busy_s {
            // A clock that steps back (it should not) must not make the cost negative.
            self.busy_s += t.max(0.0);
            self.timed = true;
        }
    }

    /// The cost since the last read, which this call restarts: (cost in microseconds per 128 frames, load, frames,
    /// timed).
    pub fn take(&mut self, sample_rate: f64) -> (f64, f64, u64, bool) {
        let (busy_s, frames, timed) = (self.busy_s, self.frames, self.timed);
        *self = InsertMeter::default();
        if frames == 0 {
            return (0.0, 0.0, 0, timed);
        }
        let quanta = frames as f64 / COST_QUANTUM_FRAMES as f64;
        let audio_s = frames as f64 / sample_rate;
        (busy_s * 1e6 / quanta, busy_s / audio_s, frames, timed)
    }

    pub fn reset(&mut self) {
        *self = InsertMeter::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_is_time_per_128_frames_and_load_is_time_over_audio_time() {
        let mut m = InsertMeter::default();
        // 10 quanta of 128 frames at 48 kHz (26.67 ms of audio), 5 us each.
        for _ in 0..10 {
            m.count(128, Some(5e-6));
        }
        let (cost_us, load, frames, timed) = m.take(48_000.0);
        assert!((cost_us - 5.0).abs() < 1e-9, "{cost_us}");
        assert!((load - 50e-6 / (1280.0 / 48_000.0)).abs() < 1e-12, "{load}");
        assert_eq!((frames, timed), (1280, true));
        assert_eq!(m.take(48_000.0), (0.0, 0.0, 0, false));
    }
}
