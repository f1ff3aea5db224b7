//! What sleeping and bypass save, measured side by side in one run (`cargo bench --bench sleeping`; CI only
//! compiles it).
//!
//! 1. The large session (128 tracks of `parametric-eq` with 4 bands at +/-6 dB and an engaged `compressor`,
//!    16 buses of `plate-reverb` + `ping-pong-delay`, 48 kHz, 128-frame quanta) playing uncorrelated noise on
//!    every track, against the same session silent once every tail has settled and every insert sleeps.
//!    Goal: silent at most 10 % of playing.
//! 2. Every effect at its defaults on noise, bypassed (after its fade) against enabled. Goal: at most 5 %.
//!
//! Rounds alternate between the two sides; each figure is the median over rounds.

use corelogic_dsp::effects::{create, registry, Effect};
use std::hint::black_box;
use std::time::Instant;

mod common;
use common::{noise, FS, NOISE_QUANTA, QUANTUM};

/// One track or bus: its inserts in order and its current quantum.
struct Strip {
    inserts: Vec<Box<dyn Effect>>,
    left: [f32; QUANTUM],
    right: [f32; QUANTUM],
}

impl Strip {
    fn new(inserts: Vec<Box<dyn Effect>>) -> Self {
        Strip {
            inserts,
            left: [0.0; QUANTUM],
            right: [0.0; QUANTUM],
        }
    }

    fn run(&mut self) {
        for insert in &mut self.inserts {
            insert.process(&mut self.left, &mut self.right, &[]);
        }
    }
}

struct Session {
    tracks: Vec<Strip>,
    buses: Vec<Strip>,
    noise: Vec<(Vec<f32>, Vec<f32>)>,
    quantum: usize,
}

impl Session {
    fn new() -> Self {
        let eq = [
            ("b1GainDb", 6.0),
            ("b2GainDb", -6.0),
            ("b3GainDb", 6.0),
            ("b4GainDb", -6.0),
        ];
        let tracks = (0..128)
            .map(|_| {
                Strip::new(vec![
                    create("parametric-eq", FS, eq).unwrap(),
                    // Noise at about -15 dBFS RMS sits well above this threshold: the compressor works.
                    create("compressor", FS, [("thresholdDb", -30.0)]).unwrap(),
                ])
            })
            .collect();
        let buses = (0..16)
            .map(|_| {
                Strip::new(vec![
                    create("plate-reverb", FS, []).unwrap(),
                    create("ping-pong-delay", FS, []).unwrap(),
                ])
            })
            .collect();
        let noise = (0..128u64)
            .map(|t| {
                (
                    noise(2 * t + 1, NOISE_QUANTA * QUANTUM),
                    noise(2 * t + 2, NOISE_QUANTA * QUANTUM),
                )
            })
            .collect();
        Session {
            tracks,
            buses,
            noise,
            quantum: 0,
        }
    }

    /// One quantum: each track's input (noise or silence), its inserts; each bus takes the sum of its 8 tracks.
    fn quantum(&mut self, playing: bool) {
        let at = (self.quantum % NOISE_QUANTA) * QUANTUM;
        for (track, (l, r)) in self.tracks.iter_mut().zip(&self.noise) {
            if playing {
                track.left.copy_from_slice(&l[at..at + QUANTUM]);
                track.right.copy_from_slice(&r[at..at + QUANTUM]);
            } else {
                track.left.fill(0.0);
                track.right.fill(0.0);
            }
            track.run();
        }
        for (b, bus) in self.buses.iter_mut().enumerate() {
            bus.left.fill(0.0);
            bus.right.fill(0.0);
            for track in &self.tracks[b * 8..b * 8 + 8] {
                for k in 0..QUANTUM {
                    bus.left[k] += 0.125 * track.left[k];
                    bus.right[k] += 0.125 * track.right[k];
                }
            }
            bus.run();
        }
        black_box((&self.buses[0].left, &self.buses[15].right));
        self.quantum += 1;
    }

    fn inserts(&self) -> impl Iterator<Item = &Box<dyn Effect>> {
        self.tracks.iter().chain(&self.buses).flat_map(|s| s.inserts.iter())
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Seconds per call of `f`, timed over `calls` calls.
fn time(calls: usize, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..calls {
        f();
    }
    start.elapsed().as_secs_f64() / calls as f64
}

fn session() {
    let mut playing = Session::new();
    let mut silent = Session::new();
    // The silent session first plays, so that its tails have something to settle from.
    for _ in 0..375 {
        silent.quantum(true);
    }
    let mut quanta = 0;
    while silent.inserts().any(|i| !i.is_asleep()) {
        silent.quantum(false);
        quanta += 1;
        assert!(quanta < 375 * 600, "the silent session is still awake after 10 minutes");
    }
    let settle_s = quanta as f64 * QUANTUM as f64 / FS;
    for _ in 0..375 {
        playing.quantum(true);
    }
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        on.push(time(100, || playing.quantum(true)));
        off.push(time(100, || silent.quantum(false)));
    }
    let budget = QUANTUM as f64 / FS;
    let (on, off) = (median(on), median(off));
    println!("session: every insert asleep after {settle_s:.1} s of silence");
    println!(
        "session playing noise: {:7.1} us per quantum ({:.1} % of the quantum)",
        on * 1e6,
        100.0 * on / budget
    );
    println!(
        "session silent:        {:7.1} us per quantum ({:.1} % of the quantum)",
        off * 1e6,
        100.0 * off / budget
    );
    println!("silent / playing: {:.2} % (goal <= 10 %)", 100.0 * off / on);
}

fn bypass() {
    println!(
        "\n{:<18} {:>12} {:>12} {:>9}",
        "effect", "enabled us", "bypassed us", "ratio"
    );
    let (l, r) = (noise(7, QUANTUM * NOISE_QUANTA), noise(8, QUANTUM * NOISE_QUANTA));
    let mut worst: f64 = 0.0;
    for entry in registry() {
        let mut enabled = entry.create(FS, None, []).unwrap();
        let mut bypassed = entry.create(FS, None, []).unwrap();
        bypassed.set_enabled_immediately(false);
        let (mut bl, mut br) = ([0.0f32; QUANTUM], [0.0f32; QUANTUM]);
        let mut q = 0;
        let run = |effect: &mut Box<dyn Effect>, bl: &mut [f32; QUANTUM], br: &mut [f32; QUANTUM], q: &mut usize| {
            let at = (*q % NOISE_QUANTA) * QUANTUM;
            bl.copy_from_slice(&l[at..at + QUANTUM]);
            br.copy_from_slice(&r[at..at + QUANTUM]);
            effect.process(bl, br, &[]);
            black_box((bl, br));
            *q += 1;
        };
        for _ in 0..200 {
            run(&mut enabled, &mut bl, &mut br, &mut q);
            run(&mut bypassed, &mut bl, &mut br, &mut q);
        }
        let (mut on, mut off) = (Vec::new(), Vec::new());
        for _ in 0..15 {
            // The harness alone (copying the input in), subtracted from both sides.
            let harness = time(400, || {
                let at = (q % NOISE_QUANTA) * QUANTUM;
                bl.copy_from_slice(&l[at..at + QUANTUM]);
                br.copy_from_slice(&r[at..at + QUANTUM]);
                black_box((&mut bl, &mut br));
                q += 1;
            });
            on.push(time(400, || run(&mut enabled, &mut bl, &mut br, &mut q)) - harness);
            off.push(time(400, || run(&mut bypassed, &mut bl, &mut br, &mut q)) - harness);
        }
        let (on, off) = (median(on), median(off));
        worst = worst.max(off / on);
        println!(
            "{:<18} {:>12.3} {:>12.3} {:>8.2}%",
            entry.spec.id,
            on * 1e6,
            off * 1e6,
            100.0 * off / on
        );
    }
    println!("largest bypassed / enabled: {:.2} % (goal <= 5 %)", 100.0 * worst);
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument picks one part.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if filter.as_deref().map_or(true, |f| "session".contains(f)) {
        session();
    }
    if filter.as_deref().map_or(true, |f| "bypass".contains(f)) {
        bypass();
    }
}
