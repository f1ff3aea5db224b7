//! Denormal guard benchmark: every registered delay and reverb, at its longest decay / highest feedback, after
//! a loud burst. Run by hand:
//!
//! ```text
//! cargo bench --bench denormals                                 # software flushing on (the product)
//! cargo bench --bench denormals --features unflushed-denormals  # flushing off: shows what it prevents
//! ```
//!
//! For each effect it finds the span S of silence after a 0.5 s full-scale noise burst until the output stays
//! below 1e-30, then times (best of 3, wall clock):
//! - `tail`: processing those S frames of silence right after the burst, against S frames of white noise
//!   (the effect contract: at most 1.5x);
//! - `deep tail`: the next S frames of silence (the state has decayed 1e-30 and further: with flushing it is
//!   zero, without it f32 state sinks into the subnormal range and stays there, since `x * g` rounds back up to
//!   the smallest subnormal), against the same noise.
//!
//! Criterion then measures one 512-frame block of each (noise, deep-tail silence) for the per-block figure.
//!
//! Seen on the shared 2-core build machine (48 kHz, ratios = silence time / noise time, same run):
//!
//! | effect | span to 1e-30 | flushed: tail, deep tail | unflushed: tail, deep tail |
//! |---|---|---|---|
//! | freeverb (roomSize 1) | 118.5 s | 1.00, 1.02 | 1.02, 1.37 |
//! | hall-reverb (decaySeconds 20) | 196 s | 0.99, 1.06 | 1.26, 2.10 |
//! | plate-reverb (decaySeconds 10) | 125 s | 1.01, 0.98 | 1.78, 2.51 |
//! | room-reverb (decaySeconds 3) | 30 s | 0.92, 0.90 | 0.99, 1.30 |
//!
//! Where the state lives, and so why the unflushed first span is not always slower: delay lines, combs and
//! allpasses are f32; the FDN loss filters, one-poles and biquads are f64. Until the output falls to 1e-30 the
//! f32 state is mostly still normal (f32 subnormals start below 1.2e-38), so the freeverb and room tails cost
//! what noise costs even unflushed; the plate and hall already have some subnormal f32 taps and loads
//! (quiet parts of the lines, f32 -> f64 conversions of them). In the deep tail the unflushed f32 lines sit in
//! the subnormal range for good and every effect is slower (1.3x to 2.5x); with flushing everything below
//! 1e-30 is zero and the cost equals the noise cost.

use corelogic_dsp::effects::registry;
use corelogic_dsp::params::Category;
use corelogic_dsp::Effect;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};

const SAMPLE_RATE: f64 = 48_000.0;
const BLOCK: usize = 512;
/// Give up looking for the end of a tail after this much audio.
const MAX_SECONDS: f64 = 600.0;
/// Parameters set to their maximum: the longest decay or the highest feedback.
const LONGEST: [&str; 3] = ["decaySeconds", "roomSize", "feedback"];
/// Delay times for the delays: short, so that 0.95 feedback falls to 1e-30 (about 1350 trips round the loop)
/// within `MAX_SECONDS`; at the default 500 ms it would take over ten minutes of audio.
const SHORT_TIMES_MS: [(&str, f64); 4] = [
    ("timeMs", 50.0),
    ("timeLeftMs", 50.0),
    ("timeRightMs", 50.0),
    ("spacingMs", 10.0),
];

fn noise_block(seed: &mut u64, out: &mut [f32]) {
    for x in out.iter_mut() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *x = ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0;
    }
}

fn create(id: &str) -> Box<dyn Effect> {
    let entry = corelogic_dsp::effects::find(id).expect("registered");
    let values: Vec<(&str, f64)> = entry
        .spec
        .params
        .iter()
        .filter(|p| LONGEST.contains(&p.name))
        .map(|p| (p.name, p.max))
        .chain(
            SHORT_TIMES_MS
                .iter()
                .copied()
                .filter(|(name, _)| entry.spec.index_of(name).is_some()),
        )
        .collect();
    entry.create(SAMPLE_RATE, None, values).expect("valid")
}

/// The effect after the burst.
fn after_burst(id: &str) -> Box<dyn Effect> {
    let mut effect = create(id);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    for _ in 0..(0.5 * SAMPLE_RATE) as usize / BLOCK {
        noise_block(&mut seed, &mut l);
        noise_block(&mut seed, &mut r);
        effect.process(&mut l, &mut r, &[]);
    }
    effect
}

/// Blocks of silence until a block's output stays below 1e-30 (None if it never does within MAX_SECONDS).
fn tail_blocks(id: &str) -> Option<usize> {
    let mut effect = after_burst(id);
    let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let limit = (MAX_SECONDS * SAMPLE_RATE) as usize / BLOCK;
    for n in 1..=limit {
        l.fill(0.0);
        r.fill(0.0);
        effect.process(&mut l, &mut r, &[]);
        if l.iter().chain(r.iter()).all(|x| x.abs() < 1e-30) {
            return Some(n);
        }
    }
    None
}

fn time_silence(effect: &mut dyn Effect, blocks: usize) -> Duration {
    let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let start = Instant::now();
    for _ in 0..blocks {
        l.fill(0.0);
        r.fill(0.0);
        effect.process(black_box(&mut l), black_box(&mut r), &[]);
    }
    start.elapsed()
}

fn time_noise(id: &str, blocks: usize) -> Duration {
    let mut effect = after_burst(id);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let mut total = Duration::ZERO;
    for _ in 0..blocks {
        noise_block(&mut seed, &mut l);
        noise_block(&mut seed, &mut r);
        let start = Instant::now();
        effect.process(black_box(&mut l), black_box(&mut r), &[]);
        total += start.elapsed();
    }
    total
}

fn tail_effects() -> Vec<&'static str> {
    registry()
        .iter()
        .filter(|e| matches!(e.spec.category, Category::Delay | Category::Reverb))
        .map(|e| e.spec.id)
        .collect()
}

fn bench_denormals(c: &mut Criterion) {
    let mode = if corelogic_dsp::dsp::denormal::ENABLED {
        "flushing on"
    } else {
        "flushing OFF (unflushed-denormals)"
    };
    println!("denormal benchmark at {SAMPLE_RATE} Hz, {mode}");
    let mut deep_effects = Vec::new();
    for id in tail_effects() {
        let Some(blocks) = tail_blocks(id) else {
            println!("{id}: the tail did not fall below 1e-30 within {MAX_SECONDS} s");
            continue;
        };
        let seconds = (blocks * BLOCK) as f64 / SAMPLE_RATE;
        let best = |f: &mut dyn FnMut() -> Duration| (0..3).map(|_| f()).min().unwrap_or_default();
        let noise = best(&mut || time_noise(id, blocks));
        let tail = best(&mut || time_silence(after_burst(id).as_mut(), blocks));
        let mut deep = after_burst(id);
        time_silence(deep.as_mut(), blocks);
        let deep_time = time_silence(deep.as_mut(), blocks);
        println!(
            "{id}: tail below 1e-30 after {seconds:.1} s of silence; noise {:.3} s, tail {:.3} s (ratio {:.2}), \
             deep tail {:.3} s (ratio {:.2})",
            noise.as_secs_f64(),
            tail.as_secs_f64(),
            tail.as_secs_f64() / noise.as_secs_f64(),
            deep_time.as_secs_f64(),
            deep_time.as_secs_f64() / noise.as_secs_f64(),
        );
        deep_effects.push((id, deep));
    }
    let mut group = c.benchmark_group("denormals_block512");
    group.sample_size(20).measurement_time(Duration::from_secs(2));
    for (id, mut deep) in deep_effects {
        let mut noisy = after_burst(id);
        let mut seed = 1u64;
        let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
        group.bench_function(format!("{id}/noise"), |b| {
            b.iter(|| {
                noise_block(&mut seed, &mut l);
                noise_block(&mut seed, &mut r);
                noisy.process(black_box(&mut l), black_box(&mut r), &[]);
            })
        });
        group.bench_function(format!("{id}/deep tail"), |b| {
            b.iter(|| {
                l.fill(0.0);
                r.fill(0.0);
                deep.process(black_box(&mut l), black_box(&mut r), &[]);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_denormals);
criterion_main!(benches);
