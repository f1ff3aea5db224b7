//! The saturation family measured on its output against references written here (sharing no code with src):
//! alias reduction by oversampling (the effect contract's definition), the wave-shaper's custom curve against the Web
//! Audio WaveShaperNode mapping, small-signal flatness, DC removal, hard-clip continuity and no hidden gain.

use corelogic_dsp::effects::CurveError;
use corelogic_dsp::{create, Effect};
use realfft::RealFftPlanner;
use std::f64::consts::PI;

const FS: f64 = 48_000.0;

fn run(effect: &mut dyn Effect, input: &[f32]) -> Vec<f32> {
    let (mut l, mut r) = (input.to_vec(), input.to_vec());
    for (cl, cr) in l.chunks_mut(4096).zip(r.chunks_mut(4096)) {
        effect.process(cl, cr, &[]);
    }
    l
}

fn db(x: f64) -> f64 {
    20.0 * x.log10()
}

/// Coherent FFT length and the sine's bin: 6827 x 48000 / 65536 = 5000.24 Hz, the nearest bin-exact
/// frequency to 5 kHz. The bin is odd, hence coprime with the length: no alias of any harmonic below the
/// 65536th can land on a harmonic's bin, so every alias is seen.
const FFT_LEN: usize = 65_536;
const SINE_BIN: usize = 6827;

/// The largest non-harmonic component between 20 Hz and fs/2, in dB relative to full scale (a full-scale sine
/// reads 0 dB), of `id` with `params` fed a -6 dBFS sine at bin `SINE_BIN`, measured after 1 s of settling.
fn largest_alias_db(id: &str, params: &[(&str, f64)]) -> f64 {
    largest_alias_db_with_curve(id, params, None)
}

fn largest_alias_db_with_curve(id: &str, params: &[(&str, f64)], curve: Option<&[f32]>) -> f64 {
    let mut effect = create(id, FS, params.iter().copied()).unwrap();
    if let Some(curve) = curve {
        effect.set_curve_immediately(curve).unwrap();
    }
    let settle = 48_000;
    let f = SINE_BIN as f64 / FFT_LEN as f64;
    let input: Vec<f32> = (0..settle + FFT_LEN)
        .map(|n| (0.5 * (2.0 * PI * f * n as f64).sin()) as f32)
        .collect();
    let out = run(effect.as_mut(), &input);
    let mut frame: Vec<f64> = out[settle..].iter().map(|x| *x as f64).collect();
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(FFT_LEN);
    let mut spectrum = fft.make_output_vec();
    fft.process(&mut frame, &mut spectrum).unwrap();
    let first = (20.0 / FS * FFT_LEN as f64).ceil() as usize;
    let mut worst: f64 = 0.0;
    for (bin, c) in spectrum.iter().enumerate().skip(first) {
        if bin % SINE_BIN == 0 {
            continue; // a harmonic (every harmonic below fs/2 is at a multiple of the sine's bin)
        }
        worst = worst.max(c.norm() * 2.0 / FFT_LEN as f64);
    }
    db(worst)
}

fn alias_reduction(id: &str, params: &[(&str, f64)]) -> (f64, f64) {
    let mut at1 = params.to_vec();
    at1.push(("oversample", 1.0));
    let mut at4 = params.to_vec();
    at4.push(("oversample", 4.0));
    (largest_alias_db(id, &at1), largest_alias_db(id, &at4))
}

#[test]
fn saturation_oversampling_4x_lowers_the_largest_alias_by_40_db() {
    let (one, four) = alias_reduction("saturation", &[("driveDb", 12.0)]);
    println!(
        "saturation driveDb 12: largest alias {one:.1} dBFS at 1x, {four:.1} dBFS at 4x: {:.1} dB lower",
        one - four
    );
    assert!(one - four >= 40.0, "only {} dB", one - four);
}

#[test]
fn distortion_oversampling_4x_lowers_the_largest_alias_by_20_db_in_hard_fuzz_and_foldback() {
    for (mode, name) in [(1.0, "hard"), (2.0, "fuzz"), (3.0, "foldback")] {
        let params = [("mode", mode), ("driveDb", 12.0), ("toneHz", 20_000.0)];
        let (one, four) = alias_reduction("distortion", &params);
        println!(
            "distortion {name} driveDb 12: largest alias {one:.1} dBFS at 1x, {four:.1} dBFS at 4x: {:.1} dB lower",
            one - four
        );
        assert!(one - four >= 20.0, "{name}: only {} dB", one - four);
    }
}

#[test]
fn a_custom_curve_is_anti_aliased_when_oversampling() {
    // tanh(3x) as a 4096-point table: at 1x the exact WaveShaperNode mapping, at 4x oversampled with ADAA.
    let curve: Vec<f32> = (0..4096)
        .map(|i| (3.0 * (i as f64 / 4095.0 * 2.0 - 1.0)).tanh() as f32)
        .collect();
    let one = largest_alias_db_with_curve("wave-shaper", &[("curve", 4.0), ("oversample", 1.0)], Some(&curve));
    let four = largest_alias_db_with_curve("wave-shaper", &[("curve", 4.0), ("oversample", 4.0)], Some(&curve));
    println!(
        "wave-shaper custom tanh(3x) table: largest alias {one:.1} dBFS at 1x, {four:.1} dBFS at 4x: {:.1} dB lower",
        one - four
    );
    assert!(one - four >= 20.0, "only {} dB", one - four);
}

/// The Web Audio API's WaveShaperNode curve mapping, written from the specification's text.
fn wave_shaper_node(curve: &[f32], x: f64) -> f64 {
    let n = curve.len();
    if x <= -1.0 {
        return curve[0] as f64;
    }
    if x >= 1.0 {
        return curve[n - 1] as f64;
    }
    let v = (n - 1) as f64 / 2.0 * (x + 1.0);
    let k = v.floor() as usize;
    let f = v - k as f64;
    (1.0 - f) * curve[k] as f64 + f * curve[k + 1] as f64
}

#[test]
fn custom_curve_maps_exactly_like_the_wave_shaper_node() {
    let mut seed: u32 = 12345;
    let mut rand = move || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (seed >> 8) as f64 / (1u32 << 24) as f64 * 2.0 - 1.0
    };
    for len in [2usize, 3, 17, 4096] {
        let curve: Vec<f32> = (0..len).map(|_| rand() as f32).collect();
        let input: Vec<f32> = (0..20_000).map(|_| (1.3 * rand()) as f32).collect();
        let params = [("curve", 4.0), ("oversample", 1.0), ("drive", 1.0), ("mix", 1.0)];
        let mut effect = create("wave-shaper", FS, params).unwrap();
        effect.set_curve_immediately(&curve).unwrap();
        let out = run(effect.as_mut(), &input);
        let worst = out
            .iter()
            .zip(&input)
            .map(|(y, x)| (*y as f64 - wave_shaper_node(&curve, *x as f64)).abs())
            .fold(0.0, f64::max);
        println!("custom curve of {len} values: largest difference from the WaveShaperNode formula {worst:.2e}");
        assert!(worst <= 1e-6, "{len} values: {worst}");
    }
    let mut effect = create("wave-shaper", FS, []).unwrap();
    assert!(effect.set_curve_immediately(&[0.5]).is_err());
    assert!(effect.set_curve_immediately(&vec![0.0; 4097]).is_err());
    assert!(effect.set_curve_immediately(&[0.0, f32::INFINITY]).is_err());
    let mut other = create("saturation", FS, []).unwrap();
    // The error is a plain value now (the audio side never formats); its message names the one effect that
    // takes a curve.
    let refused = other.set_curve_immediately(&[0.0, 1.0]).unwrap_err();
    assert_eq!(refused, CurveError::NotAccepted);
    assert_eq!(
        refused.to_string(),
        "this effect takes no curve (only 'wave-shaper' does)"
    );
}

/// Amplitude of a sine of frequency `f` (cycles per sample) in `x`, by correlation over whole cycles.
fn sine_amplitude(x: &[f32], f: f64) -> f64 {
    let cycles = (x.len() as f64 * f).floor();
    let n = (cycles / f).floor() as usize;
    let (mut re, mut im) = (0.0, 0.0);
    for (i, v) in x[..n].iter().enumerate() {
        let p = 2.0 * PI * f * i as f64;
        re += *v as f64 * p.cos();
        im += *v as f64 * p.sin();
    }
    2.0 * (re * re + im * im).sqrt() / n as f64
}

#[test]
fn saturation_small_signal_response_is_flat_within_half_a_db_from_20_hz_to_10_khz() {
    let amplitude = 0.001; // -60 dBFS: the curve is linear here (slope 1 at 0)
    let mut gains = Vec::new();
    for hz in [20.0, 31.5, 63.0, 125.0, 1000.0, 4000.0, 8000.0, 10_000.0] {
        let mut effect = create("saturation", FS, []).unwrap();
        let f = hz / FS;
        let input: Vec<f32> = (0..96_000 + 48_000)
            .map(|n| (amplitude * (2.0 * PI * f * n as f64).sin()) as f32)
            .collect();
        let out = run(effect.as_mut(), &input);
        let gain_db = db(sine_amplitude(&out[96_000..], f) / amplitude);
        gains.push((hz, gain_db));
    }
    let drive_db = 6.0; // the default driveDb: the small-signal gain of the driven curve
    let deviation = gains.iter().map(|(_, g)| (g - drive_db).abs()).fold(0.0, f64::max);
    println!("saturation small-signal gain (dB) by frequency: {gains:.3?}; deviation from the drive {deviation:.3} dB");
    assert!(deviation <= 0.5, "{gains:?}");
}

#[test]
fn saturation_removes_dc_even_when_asymmetry_makes_it() {
    let f = 1000.0 / FS;
    let input: Vec<f32> = (0..96_000)
        .map(|n| (0.1 + 0.7 * (2.0 * PI * f * n as f64).sin()) as f32)
        .collect();
    let params = [("asymmetry", 1.0), ("driveDb", 18.0)];
    let mut effect = create("saturation", FS, params).unwrap();
    let out = run(effect.as_mut(), &input);
    let tail = &out[48_000..];
    let mean = tail.iter().map(|x| *x as f64).sum::<f64>() / tail.len() as f64;
    let rms = (tail.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / tail.len() as f64).sqrt();
    println!("saturation, asymmetric: DC after 1 s {mean:.2e} (signal RMS {rms:.3})");
    assert!(mean.abs() < 1e-4 * rms.max(1.0), "DC {mean}");
    // The asymmetric curve does make even harmonics (and so DC before the blocker).
    let second = sine_amplitude(tail, 2.0 * f);
    let fundamental = sine_amplitude(tail, f);
    println!("second harmonic {:.1} dB re the fundamental", db(second / fundamental));
    assert!(db(second / fundamental) > -40.0);
}

#[test]
fn hard_mode_is_continuous_at_the_clip_point() {
    // A ramp from -3 to 3 through hard clipping at drive 0 dB: any jump in the curve would show as a step far
    // larger than the ramp's own.
    let len = 6000;
    let step_in = 6.0 / len as f64;
    let input: Vec<f32> = (0..len).map(|n| (-3.0 + step_in * n as f64) as f32).collect();
    for oversample in [1.0, 4.0] {
        let params = [
            ("mode", 1.0),
            ("driveDb", 0.0),
            ("toneHz", 20_000.0),
            ("oversample", oversample),
        ];
        let mut effect = create("distortion", FS, params).unwrap();
        let out = run(effect.as_mut(), &input);
        let start = 200; // after the oversampler's latency and the filters' start
        let step_out = out[start..]
            .windows(2)
            .map(|w| (w[1] - w[0]).abs() as f64)
            .fold(0.0, f64::max);
        println!("hard mode {oversample}x: largest output step {step_out:.5} for input steps {step_in:.5}");
        assert!(step_out <= 1.5 * step_in, "step {step_out}");
    }
}

#[test]
fn driving_harder_never_raises_the_output_beyond_the_curve() {
    let f = 1000.0 / FS;
    let input: Vec<f32> = (0..48_000)
        .map(|n| (0.5 * (2.0 * PI * f * n as f64).sin()) as f32)
        .collect();
    let rms = |x: &[f32]| (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
    for drive_db in [0.0, 12.0, 24.0, 36.0] {
        let mut effect = create("saturation", FS, [("driveDb", drive_db)]).unwrap();
        let out = run(effect.as_mut(), &input);
        let g = 10f64.powf(drive_db / 20.0);
        // The curve's own output: tanh of the driven input.
        let reference: Vec<f32> = input.iter().map(|x| (g * *x as f64).tanh() as f32).collect();
        let (got, curve) = (rms(&out[4800..]), rms(&reference[4800..]));
        println!("saturation driveDb {drive_db}: output RMS {got:.4}, tanh curve RMS {curve:.4}");
        // A tolerance for the filters' ripple on a nearly square wave; a make-up gain would be dBs.
        assert!(db(got / curve) < 0.3, "drive {drive_db}: {got} vs {curve}");
    }
    for mode in 0..4 {
        let mut effect = create("distortion", FS, [("mode", mode as f64), ("driveDb", 48.0)]).unwrap();
        let out = run(effect.as_mut(), &input);
        let peak = out.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        println!("distortion mode {mode} at driveDb 48: peak {peak:.3}");
        assert!(peak <= 1.3, "mode {mode}: peak {peak}");
    }
}
