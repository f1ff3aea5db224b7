//! The reverbs against references written here from the effect contract (no code shared with `src/`): freeverb sample
//! by sample against an independent Freeverb; the RT60 of hall, plate and room measured as the effect contract defines
//! it; late-tail stereo decorrelation; the normalised echo density (Abel & Huang 2006) over time.

mod signals;

use corelogic_dsp::effects::find;
use corelogic_dsp::Effect;
use signals::noise_f32;

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

// ---------------------------------------------------------------------------------------------------------
// Freeverb, written from the effect contract's description: combs `out = buf[i]; store = out*damp2 + store*damp1;
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
            let mut l = noise_f32(3, frames);
            let mut r = noise_f32(4, frames);
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
    let mut l = noise_f32(9, frames);
    let mut r = noise_f32(10, frames);
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
    let l = noise_f32(1, 20_000);
    let r = noise_f32(2, 20_000);
    let mut effect = freeverb(48_000.0, &[("wet", 0.0), ("dry", 0.5)]);
    let (out_l, out_r) = run(effect.as_mut(), &l, &r, 100);
    assert_eq!(out_l, l);
    assert_eq!(out_r, r);
}

// ---------------------------------------------------------------------------------------------------------
// RT60 as the effect contract defines it: wet only (mix 1, preDelayMs 0, other parameters at their defaults), impulse
// response, one 500 Hz - 2 kHz band (4th-order Butterworth high-pass at 500 Hz and low-pass at 2 kHz, each two
// RBJ biquads with the Butterworth Qs), Schroeder backward integration, T30 fit from -5 to -35 dB.

/// A biquad in f64, direct form I: (b0, b1, b2, a1, a2) normalised.
fn biquad(x: &[f64], c: [f64; 5]) -> Vec<f64> {
    let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
    x.iter()
        .map(|&v| {
            let y = c[0] * v + c[1] * x1 + c[2] * x2 - c[3] * y1 - c[4] * y2;
            (x2, x1, y2, y1) = (x1, v, y1, y);
            y
        })
        .collect()
}

fn rbj(high_pass: bool, f: f64, q: f64, fs: f64) -> [f64; 5] {
    let w = 2.0 * std::f64::consts::PI * f / fs;
    let (s, c) = w.sin_cos();
    let alpha = s / (2.0 * q);
    let a0 = 1.0 + alpha;
    let (b0, b1) = if high_pass {
        ((1.0 + c) / 2.0, -(1.0 + c))
    } else {
        ((1.0 - c) / 2.0, 1.0 - c)
    };
    [b0 / a0, b1 / a0, b0 / a0, -2.0 * c / a0, (1.0 - alpha) / a0]
}

fn band_500_2000(x: &[f32], fs: f64) -> Vec<f64> {
    // 4th-order Butterworth sections: Q = 1/(2 cos(pi/8)) and 1/(2 cos(3 pi/8)).
    let (q1, q2) = (0.541_196_100_146_197, 1.306_562_964_876_376_7);
    let mut y: Vec<f64> = x.iter().map(|v| *v as f64).collect();
    for (hp, f) in [(true, 500.0), (false, 2000.0)] {
        y = biquad(&y, rbj(hp, f, q1, fs));
        y = biquad(&y, rbj(hp, f, q2, fs));
    }
    y
}

/// T30 by Schroeder backward integration, fit from -5 to -35 dB (least squares), in seconds.
fn t30(h: &[f64], fs: f64) -> f64 {
    let mut energy = vec![0.0; h.len() + 1];
    for i in (0..h.len()).rev() {
        energy[i] = energy[i + 1] + h[i] * h[i];
    }
    let total = energy[0];
    let points: Vec<(f64, f64)> = (0..h.len())
        .map(|i| (i as f64 / fs, 10.0 * (energy[i] / total).log10()))
        .filter(|(_, db)| *db <= -5.0 && *db >= -35.0)
        .collect();
    assert!(points.len() > 100, "the decay does not cover -5 to -35 dB");
    let n = points.len() as f64;
    let (sx, sy) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (sxy, sxx) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| {
        (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
    });
    -60.0 / (sxy / sxx)
}

/// The wet impulse response (left, right) of a reverb at `fs` with the given values on top of mix 1 and
/// preDelayMs 0.
fn impulse_response(id: &str, fs: f64, values: &[(&str, f64)], seconds: f64) -> (Vec<f32>, Vec<f32>) {
    let mut all = vec![("mix", 1.0), ("preDelayMs", 0.0)];
    all.extend_from_slice(values);
    let mut effect = find(id).unwrap().create(fs, None, all.iter().copied()).unwrap();
    let frames = (seconds * fs) as usize;
    let mut impulse = vec![0.0f32; frames];
    impulse[0] = 1.0;
    run(effect.as_mut(), &impulse, &impulse, 4096)
}

fn check_rt60(id: &str, decays: &[f64], tolerance: f64) {
    for fs in [48_000.0, 44_100.0] {
        for &decay in decays {
            let (l, _) = impulse_response(id, fs, &[("decaySeconds", decay)], 0.8 * decay + 0.3);
            let measured = t30(&band_500_2000(&l, fs), fs);
            let error = measured / decay - 1.0;
            println!(
                "{id} at {fs} Hz: decaySeconds {decay} -> RT60 {measured:.3} s ({:+.1} %)",
                100.0 * error
            );
            assert!(
                error.abs() <= tolerance,
                "{id} at {fs} Hz: RT60 {measured:.3} s for decaySeconds {decay} ({:+.1} %)",
                100.0 * error
            );
        }
    }
}

#[test]
fn hall_rt60_is_within_15_percent_of_decay_seconds() {
    check_rt60("hall-reverb", &[1.0, 2.5, 6.0, 15.0], 0.15);
}

#[test]
fn plate_rt60_is_within_20_percent_of_decay_seconds() {
    check_rt60("plate-reverb", &[1.0, 2.0, 4.5, 9.0], 0.20);
}

#[test]
fn room_rt60_is_within_20_percent_of_decay_seconds() {
    check_rt60("room-reverb", &[0.4, 0.8, 1.5, 2.8], 0.20);
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let ma = a.iter().map(|x| *x as f64).sum::<f64>() / n;
    let mb = b.iter().map(|x| *x as f64).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (*x as f64 - ma, *y as f64 - mb);
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    sab / (saa * sbb).sqrt()
}

#[test]
fn late_tails_are_decorrelated_between_left_and_right() {
    let fs = 48_000.0;
    for id in ["freeverb", "hall-reverb", "plate-reverb", "room-reverb"] {
        // The same impulse on both inputs; freeverb has no mix (its defaults are wet only).
        let mut effect = find(id).unwrap().create(fs, None, []).unwrap();
        let mut values = vec![];
        if id != "freeverb" {
            values = vec![("mix", 1.0), ("preDelayMs", 0.0)];
            effect = find(id).unwrap().create(fs, None, values.iter().copied()).unwrap();
        }
        let frames = (1.0 * fs) as usize;
        let mut impulse = vec![0.0f32; frames];
        impulse[0] = 1.0;
        let (l, r) = run(effect.as_mut(), &impulse, &impulse, 512);
        let start = (0.1 * fs) as usize;
        let c = correlation(&l[start..], &r[start..]);
        println!("{id}: left/right correlation of the tail after 100 ms {c:+.3}");
        assert!(c.abs() < 0.3, "{id}: late-tail correlation {c}");
    }
}

/// Abel & Huang (2006) normalised echo density at `t`: the fraction of samples in a 20 ms window around `t`
/// that lie more than one standard deviation (of that window) from zero, divided by erfc(1/sqrt(2)).
fn echo_density(h: &[f32], fs: f64, t: f64) -> f64 {
    let half = (0.010 * fs) as usize;
    let centre = (t * fs) as usize;
    let w = &h[centre.saturating_sub(half)..(centre + half).min(h.len())];
    let sigma = (w.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / w.len() as f64).sqrt();
    let outside = w.iter().filter(|x| (**x as f64).abs() > sigma).count() as f64 / w.len() as f64;
    outside / 0.317_310_507_862_914_1
}

#[test]
fn echo_density_grows_to_gaussian_for_the_hall() {
    let fs = 48_000.0;
    let times = [0.01, 0.05, 0.1, 0.2, 0.5];
    let mut hall_late = 0.0;
    for id in ["hall-reverb", "plate-reverb", "room-reverb"] {
        let (l, _) = impulse_response(id, fs, &[], 0.6);
        let profile: Vec<f64> = times.iter().map(|t| echo_density(&l, fs, *t)).collect();
        let cells: Vec<String> = times
            .iter()
            .zip(&profile)
            .map(|(t, d)| format!("{:.0} ms {d:.2}", t * 1000.0))
            .collect();
        println!("{id}: normalised echo density {}", cells.join(", "));
        if id == "hall-reverb" {
            hall_late = profile[4];
        }
    }
    assert!(hall_late >= 0.9, "hall echo density at 500 ms {hall_late}");
}
