//! The reverbs against references written here from effects.md (no code shared with `src/`): freeverb sample
//! by sample against an independent Freeverb; the RT60 of hall, plate and room measured as effects.md defines
//! it; late-tail stereo decorrelation; the normalised echo density (Abel & Huang 2006) over time.

use corelogic_dsp::effects::find;
use corelogic_dsp::Effect;

fn run(effect: &mut dyn Effect, left: &[f32], right: &[f32], block: usize) -> (Vec<f32>, Vec<f32>) {
    let (mut l, mut r) = (left.to_vec(), right.to_vec());
    let mut start = 0;
    while start < l.len() {
        let end = (start + block).min(l.len());
        effect.process(&mut l[start..end], &mut r[start..end], &[]);
        start = end;
    }
    (l, r)
}

/// xorshift noise in [-1, 1), independent of the crate.
fn noise(n: usize, mut seed: u64) -> Vec<f32> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            ((seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// Freeverb, written from effects.md's description: combs `out = buf[i]; store = out*damp2 + store*damp1;
// buf[i] = in + store*feedback`, allpasses `out = buf[i] - in; buf[i] = in + buf[i]*0.5`.

struct RefComb {
    buf: Vec<f32>,
    i: usize,
    store: f32,
}

struct RefAllpass {
    buf: Vec<f32>,
    i: usize,
}

struct RefFreeverb {
    combs: Vec<Vec<RefComb>>,
    allpasses: Vec<Vec<RefAllpass>>,
}

impl RefFreeverb {
    fn new(fs: f64) -> Self {
        let combs_44k = [1116usize, 1188, 1277, 1356, 1422, 1491, 1557, 1617];
        let allpasses_44k = [556usize, 441, 341, 225];
        let len = |t: usize, spread: usize| ((t + spread) as f64 * fs / 44100.0).floor() as usize;
        RefFreeverb {
            combs: [0, 23]
                .iter()
                .map(|s| {
                    combs_44k
                        .iter()
                        .map(|t| RefComb {
                            buf: vec![0.0; len(*t, *s)],
                            i: 0,
                            store: 0.0,
                        })
                        .collect()
                })
                .collect(),
            allpasses: [0, 23]
                .iter()
                .map(|s| {
                    allpasses_44k
                        .iter()
                        .map(|t| RefAllpass {
                            buf: vec![0.0; len(*t, *s)],
                            i: 0,
                        })
                        .collect()
                })
                .collect(),
        }
    }

    /// Processes with fixed settings: (roomSize, damping, wet, dry, width, freeze).
    #[allow(clippy::needless_range_loop)]
    fn process(&mut self, l: &[f32], r: &[f32], p: (f32, f32, f32, f32, f32, bool)) -> (Vec<f32>, Vec<f32>) {
        let (room, damping, wet, dry, width, freeze) = p;
        let (feedback, damp1, gain) = if freeze {
            (1.0f32, 0.0f32, 0.0f32)
        } else {
            (room * 0.28 + 0.7, damping * 0.4, 0.015)
        };
        let damp2 = 1.0 - damp1;
        let wet = wet * 3.0;
        let dry = dry * 2.0;
        let wet1 = wet * (width / 2.0 + 0.5);
        let wet2 = wet * ((1.0 - width) / 2.0);
        let mut out = (Vec::new(), Vec::new());
        for n in 0..l.len() {
            let input = (l[n] + r[n]) * gain;
            let mut acc = [0.0f32; 2];
            for ch in 0..2 {
                for c in self.combs[ch].iter_mut() {
                    let o = c.buf[c.i];
                    c.store = o * damp2 + c.store * damp1;
                    c.buf[c.i] = input + c.store * feedback;
                    c.i = (c.i + 1) % c.buf.len();
                    acc[ch] += o;
                }
                for a in self.allpasses[ch].iter_mut() {
                    let b = a.buf[a.i];
                    let o = b - acc[ch];
                    a.buf[a.i] = acc[ch] + b * 0.5;
                    a.i = (a.i + 1) % a.buf.len();
                    acc[ch] = o;
                }
            }
            out.0.push(acc[0] * wet1 + acc[1] * wet2 + l[n] * dry);
            out.1.push(acc[1] * wet1 + acc[0] * wet2 + r[n] * dry);
        }
        out
    }
}

fn freeverb(fs: f64, values: &[(&str, f64)]) -> Box<dyn Effect> {
    find("freeverb")
        .unwrap()
        .create(fs, None, values.iter().copied())
        .unwrap()
}

#[test]
fn freeverb_matches_an_independent_implementation_at_44k1_48k_and_96k() {
    let settings: [(f32, f32, f32, f32, f32); 3] = [
        (0.5, 0.5, 1.0 / 3.0, 0.0, 1.0),
        (0.9, 0.1, 0.8, 0.4, 0.3),
        (0.1, 1.0, 0.5, 1.0, 0.0),
    ];
    let mut worst = 0.0f32;
    for fs in [44_100.0, 48_000.0, 96_000.0] {
        for (room, damping, wet, dry, width) in settings {
            let frames = (0.6 * fs) as usize;
            let mut l = noise(frames, 3);
            let mut r = noise(frames, 4);
            // A burst, then silence: the tail must match too.
            l[frames / 4..].fill(0.0);
            r[frames / 4..].fill(0.0);
            let values = [
                ("roomSize", room as f64),
                ("damping", damping as f64),
                ("wet", wet as f64),
                ("dry", dry as f64),
                ("width", width as f64),
            ];
            let mut effect = freeverb(fs, &values);
            let (out_l, out_r) = run(effect.as_mut(), &l, &r, 333);
            let (exp_l, exp_r) = RefFreeverb::new(fs).process(&l, &r, (room, damping, wet, dry, width, false));
            let err = out_l
                .iter()
                .zip(&exp_l)
                .chain(out_r.iter().zip(&exp_r))
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            let peak = exp_l.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            assert!(peak > 0.01, "reference is silent");
            assert!(err <= 1e-6, "{fs} Hz {values:?}: max error {err}");
            worst = worst.max(err);
        }
    }
    println!("freeverb: max |error| against the reference {worst:e}");
}

#[test]
fn freeverb_freeze_holds_the_tail_and_mutes_the_input() {
    let fs = 44_100.0;
    let burst = 4410;
    let frames = 3 * 44_100;
    let mut l = noise(frames, 9);
    let mut r = noise(frames, 10);
    let mut effect = freeverb(fs, &[]);
    // Burst unfrozen; from frame `burst` on, freeze (crossfaded by the processor over 20 ms) with loud input.
    let (out_pre_l, _) = run(effect.as_mut(), &l[..burst], &r[..burst], 128);
    let freeze =
        corelogic_dsp::Event::set(effect.spec(), "freeze", 1.0, burst as u64, corelogic_dsp::Source::User).unwrap();
    effect.process(&mut l[burst..burst + 1], &mut r[burst..burst + 1], &[freeze]);
    let (out_l, _) = run(effect.as_mut(), &l[burst + 1..], &r[burst + 1..], 128);
    assert_eq!(effect.tail(), corelogic_dsp::Tail::Infinite);
    // The reference: frozen state from the same burst, input muted. After the 20 ms crossfade both agree.
    let mut reference = RefFreeverb::new(fs);
    let (ref_pre_l, _) = reference.process(&l[..burst], &r[..burst], (0.5, 0.5, 1.0 / 3.0, 0.0, 1.0, false));
    assert!(out_pre_l.iter().zip(&ref_pre_l).all(|(a, b)| (a - b).abs() <= 1e-6));
    let (ref_l, _) = reference.process(&l[burst..], &r[burst..], (0.5, 0.5, 1.0 / 3.0, 0.0, 1.0, true));
    let settled = (0.021 * fs) as usize;
    let err = out_l[settled..]
        .iter()
        .zip(&ref_l[settled + 1..])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(err <= 1e-6, "frozen tail differs from the reference by {err}");
    // The tail holds: the last second is as loud as the second after the freeze.
    let rms = |x: &[f32]| (x.iter().map(|v| (v * v) as f64).sum::<f64>() / x.len() as f64).sqrt();
    let early = rms(&out_l[settled..settled + 44_100]);
    let late = rms(&out_l[out_l.len() - 44_100..]);
    assert!(
        early > 1e-3 && (late / early - 1.0).abs() < 0.05,
        "frozen level {early} -> {late}"
    );
}

#[test]
fn freeverb_with_wet_0_and_dry_half_passes_the_input() {
    let l = noise(20_000, 1);
    let r = noise(20_000, 2);
    let mut effect = freeverb(48_000.0, &[("wet", 0.0), ("dry", 0.5)]);
    let (out_l, out_r) = run(effect.as_mut(), &l, &r, 100);
    assert_eq!(out_l, l);
    assert_eq!(out_r, r);
}
