//! Cost of every registered effect per 128-frame stereo block at 48 kHz, beside a plain biquad cascade for
//! scale. Divide the time per iteration by 128 for ns per stereo frame. Run by hand: `cargo bench --bench
//! effects` (CI only compiles it).

use corelogic_dsp::effects::{create, registry};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const SAMPLE_RATE: f64 = 48_000.0;
const BLOCK: usize = 128;

fn signal() -> (Vec<f32>, Vec<f32>) {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let l: Vec<f32> = (0..BLOCK).map(|_| next()).collect();
    let r: Vec<f32> = (0..BLOCK).map(|_| next()).collect();
    (l, r)
}

/// The plain reference: 8 direct-form-I f64 biquads, each run over the whole block in turn, per channel (the
/// straightforward loop order, whose speed is bound by one biquad's feedback latency).
struct PlainCascade {
    coeffs: [[f64; 5]; 8],
    state: [[f64; 4]; 16],
}

impl PlainCascade {
    fn new() -> Self {
        // A gentle 1 kHz peaking band at 48 kHz (RBJ), repeated.
        let (b0, b1, b2, a1, a2) = (1.0114, -1.9645, 0.9551, -1.9645, 0.9665);
        PlainCascade {
            coeffs: [[b0, b1, b2, a1, a2]; 8],
            state: [[0.0; 4]; 16],
        }
    }

    fn process(&mut self, channels: [&mut [f32]; 2]) {
        for (ch, buf) in channels.into_iter().enumerate() {
            for (stage, c) in self.coeffs.iter().enumerate() {
                let [mut x1, mut x2, mut y1, mut y2] = self.state[ch * 8 + stage];
                for x in buf.iter_mut() {
                    let input = *x as f64;
                    let y = c[0] * input + c[1] * x1 + c[2] * x2 - c[3] * y1 - c[4] * y2;
                    (x2, x1, y2, y1) = (x1, input, y1, y);
                    *x = y as f32;
                }
                self.state[ch * 8 + stage] = [x1, x2, y1, y2];
            }
        }
    }
}

/// A benchmark label, the effect id and its parameters.
type Config = (String, &'static str, Vec<(&'static str, f64)>);

fn bench_effects(c: &mut Criterion) {
    let (left, right) = signal();
    let mut group = c.benchmark_group("effects_48k_block128");
    group.throughput(Throughput::Elements(BLOCK as u64));

    let mut plain = PlainCascade::new();
    group.bench_function("reference_plain_8_biquads", |b| {
        let (mut l, mut r) = (left.clone(), right.clone());
        b.iter(|| {
            l.copy_from_slice(&left);
            r.copy_from_slice(&right);
            plain.process([&mut l, &mut r]);
            black_box(&l);
        })
    });

    let eight_bands: Vec<(&str, f64)> = vec![
        ("b1Type", 1.0),
        ("b2Type", 1.0),
        ("b3Type", 1.0),
        ("b4Type", 1.0),
        ("b5Type", 1.0),
        ("b6Type", 1.0),
        ("b7Type", 1.0),
        ("b8Type", 1.0),
        ("b1GainDb", 3.0),
        ("b2GainDb", -3.0),
        ("b3GainDb", 2.0),
        ("b4GainDb", 4.0),
        ("b5GainDb", -2.0),
        ("b6GainDb", 1.0),
        ("b7GainDb", -4.0),
        ("b8GainDb", 5.0),
    ];
    let mut configs: Vec<Config> = registry()
        .iter()
        .map(|e| (e.spec.id.to_string(), e.spec.id, Vec::new()))
        .collect();
    configs.push(("parametric-eq-8-bands".into(), "parametric-eq", eight_bands));

    for (label, id, params) in configs {
        let mut effect = create(id, SAMPLE_RATE, params).unwrap();
        group.bench_with_input(BenchmarkId::new("effect", label), &(), |b, _| {
            let (mut l, mut r) = (left.clone(), right.clone());
            b.iter(|| {
                l.copy_from_slice(&left);
                r.copy_from_slice(&right);
                effect.process(&mut l, &mut r, &[]);
                black_box(&l);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_effects);
criterion_main!(benches);
