//! The EQ and filter effects against references computed here from the formulas: the RBJ Audio EQ Cookbook's
//! analytic response and the analytic magnitude of the pre-warped bilinear Butterworth design. Everything is
//! measured on the effect's output: an impulse goes through `process`, its response is transformed with an FFT,
//! and the magnitude is compared on a log grid from 20 Hz to 0.45 fs (points where the reference is below
//! -60 dB aside), within 0.1 dB.

use corelogic_dsp::effects::create;
use realfft::RealFftPlanner;
use std::f64::consts::PI;

const RATES: [f64; 5] = [8_000.0, 44_100.0, 48_000.0, 96_000.0, 192_000.0];
const TOLERANCE_DB: f64 = 0.1;

/// The clamp the effect contract prescribes: frequencies above 0.49 fs are designed at 0.49 fs.
fn clamped(f: f64, fs: f64) -> f64 {
    f.min(0.49 * fs)
}

/// A transfer function's magnitude at a frequency.
type Response = Box<dyn Fn(f64) -> f64>;

/// |H(e^jw)| of a biquad b0..b2 / a0..a2 (not normalised), evaluated directly.
fn biquad_magnitude(b: [f64; 3], a: [f64; 3], f: f64, fs: f64) -> f64 {
    let w = 2.0 * PI * f / fs;
    let eval = |c: [f64; 3]| {
        let re = c[0] + c[1] * w.cos() + c[2] * (2.0 * w).cos();
        let im = -c[1] * w.sin() - c[2] * (2.0 * w).sin();
        (re * re + im * im).sqrt()
    };
    eval(b) / eval(a)
}

/// The cookbook's coefficients for a band type index of the parametric EQ (1 peaking ... 7 band-pass).
fn cookbook(kind: u32, f: f64, q: f64, gain_db: f64, fs: f64) -> ([f64; 3], [f64; 3]) {
    let a = 10f64.powf(gain_db / 40.0);
    let w0 = 2.0 * PI * clamped(f, fs) / fs;
    let (cs, alpha) = (w0.cos(), w0.sin() / (2.0 * q));
    let sa = 2.0 * a.sqrt() * alpha;
    match kind {
        1 => (
            [1.0 + alpha * a, -2.0 * cs, 1.0 - alpha * a],
            [1.0 + alpha / a, -2.0 * cs, 1.0 - alpha / a],
        ),
        2 => (
            [
                a * ((a + 1.0) - (a - 1.0) * cs + sa),
                2.0 * a * ((a - 1.0) - (a + 1.0) * cs),
                a * ((a + 1.0) - (a - 1.0) * cs - sa),
            ],
            [
                (a + 1.0) + (a - 1.0) * cs + sa,
                -2.0 * ((a - 1.0) + (a + 1.0) * cs),
                (a + 1.0) + (a - 1.0) * cs - sa,
            ],
        ),
        3 => (
            [
                a * ((a + 1.0) + (a - 1.0) * cs + sa),
                -2.0 * a * ((a - 1.0) + (a + 1.0) * cs),
                a * ((a + 1.0) + (a - 1.0) * cs - sa),
            ],
            [
                (a + 1.0) - (a - 1.0) * cs + sa,
                2.0 * ((a - 1.0) - (a + 1.0) * cs),
                (a + 1.0) - (a - 1.0) * cs - sa,
            ],
        ),
        4 if f >= 0.49 * fs => ([1.0, 0.0, 0.0], [1.0, 0.0, 0.0]),
        4 => (
            [(1.0 - cs) / 2.0, 1.0 - cs, (1.0 - cs) / 2.0],
            [1.0 + alpha, -2.0 * cs, 1.0 - alpha],
        ),
        5 => (
            [(1.0 + cs) / 2.0, -(1.0 + cs), (1.0 + cs) / 2.0],
            [1.0 + alpha, -2.0 * cs, 1.0 - alpha],
        ),
        6 => ([1.0, -2.0 * cs, 1.0], [1.0 + alpha, -2.0 * cs, 1.0 - alpha]),
        7 => ([alpha, 0.0, -alpha], [1.0 + alpha, -2.0 * cs, 1.0 - alpha]),
        _ => ([1.0, 0.0, 0.0], [1.0, 0.0, 0.0]),
    }
}

fn cookbook_response(kind: u32, f0: f64, q: f64, gain_db: f64, fs: f64) -> Response {
    let (b, a) = cookbook(kind, f0, q, gain_db, fs);
    Box::new(move |f| biquad_magnitude(b, a, f, fs))
}

/// The analytic magnitude of the digital Butterworth made by the bilinear transform with pre-warping:
/// |H|^2 = 1 / (1 + (tan(pi f / fs) / tan(pi fc / fs))^(2N)) for the low-pass, the ratio inverted for the
/// high-pass.
fn butterworth_response(high_pass: bool, order: i32, fc: f64, fs: f64) -> Response {
    if !high_pass && fc >= 0.49 * fs {
        return Box::new(|_| 1.0);
    }
    let wc = (PI * clamped(fc, fs) / fs).tan();
    Box::new(move |f| {
        let ratio = (PI * f / fs).tan() / wc;
        let ratio = if high_pass { 1.0 / ratio } else { ratio };
        1.0 / (1.0 + ratio.powi(2 * order)).sqrt()
    })
}

/// The magnitude response of an effect on its left channel, from its impulse response: the response is run
/// until it has decayed by 200 dB (or 2^21 samples) and transformed with a zero-padded FFT. Returns the
/// magnitudes and the bin spacing in Hz.
fn measured_response(id: &str, fs: f64, params: &[(&str, f64)]) -> (Vec<f64>, f64) {
    let mut effect = create(id, fs, params.iter().copied()).unwrap();
    let mut response: Vec<f32> = Vec::new();
    let block = 1 << 14;
    let mut peak = 0.0f32;
    loop {
        let mut l = vec![0.0f32; block];
        let mut r = vec![0.0f32; block];
        if response.is_empty() {
            (l[0], r[0]) = (1.0, 1.0);
        }
        effect.process(&mut l, &mut r, &[]);
        peak = l.iter().fold(peak, |m, x| m.max(x.abs()));
        let last = l.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        response.extend_from_slice(&l);
        if last <= peak * 1e-10 || response.len() >= 1 << 21 {
            break;
        }
    }
    let n = (response.len() * 2).next_power_of_two().max(1 << 16);
    let mut input: Vec<f64> = response.iter().map(|x| *x as f64).collect();
    input.resize(n, 0.0);
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let mut spectrum = fft.make_output_vec();
    fft.process(&mut input, &mut spectrum).unwrap();
    (spectrum.iter().map(|c| c.norm()).collect(), fs / n as f64)
}

/// Compares measured and reference magnitudes on a 96-point log grid from 20 Hz to 0.45 fs. Returns the worst
/// deviation in dB.
fn compare(label: &str, measured: &(Vec<f64>, f64), reference: &Response, fs: f64) -> f64 {
    let (spectrum, bin_hz) = measured;
    let (lo, hi) = (20f64, 0.45 * fs);
    let mut worst = 0.0f64;
    for i in 0..96 {
        let target = lo * (hi / lo).powf(i as f64 / 95.0);
        let bin = (target / bin_hz).round() as usize;
        let f = bin as f64 * bin_hz;
        let want_db = 20.0 * reference(f).log10();
        if want_db < -60.0 {
            continue;
        }
        let got_db = 20.0 * spectrum[bin].log10();
        let error = (got_db - want_db).abs();
        assert!(
            error <= TOLERANCE_DB,
            "{label} at {fs} Hz: {f:.2} Hz measures {got_db:.4} dB, reference {want_db:.4} dB"
        );
        worst = worst.max(error);
    }
    worst
}

/// Band settings including the extremes of the table: 20 Hz, Q 18, +/-24 dB, the top of the range.
const BAND_SETTINGS: [(f64, f64, f64); 6] = [
    (1000.0, 0.7071, 6.0),
    (20.0, 18.0, 24.0),
    (20.0, 18.0, -24.0),
    (100.0, 0.1, -12.0),
    (5000.0, 4.0, 24.0),
    (20000.0, 18.0, -24.0),
];

#[test]
fn every_eq_band_type_matches_the_cookbook_at_every_rate() {
    let mut worst = 0.0f64;
    for fs in RATES {
        for kind in 1..=7u32 {
            for (f, q, gain) in BAND_SETTINGS {
                // Band 5 alone: the default bands 1-3 switched off.
                let params = [
                    ("b1Type", 0.0),
                    ("b2Type", 0.0),
                    ("b3Type", 0.0),
                    ("b5Type", kind as f64),
                    ("b5FrequencyHz", f),
                    ("b5Q", q),
                    ("b5GainDb", gain),
                ];
                let measured = measured_response("parametric-eq", fs, &params);
                let label = format!("type {kind} f {f} Q {q} gain {gain}");
                worst = worst.max(compare(&label, &measured, &cookbook_response(kind, f, q, gain, fs), fs));
            }
        }
    }
    println!("parametric-eq bands: worst deviation {worst:.5} dB");
}

#[test]
fn eight_bands_in_series_match_the_product_of_their_cookbook_responses() {
    let bands: [(u32, f64, f64, f64); 8] = [
        (5, 30.0, 0.7071, 0.0),
        (2, 120.0, 0.7071, 4.0),
        (1, 400.0, 2.0, -6.0),
        (6, 1000.0, 8.0, 0.0),
        (1, 2500.0, 0.5, 3.0),
        (7, 3000.0, 0.3, 0.0),
        (3, 8000.0, 1.0, -5.0),
        (4, 18000.0, 0.7071, 0.0),
    ];
    for fs in RATES {
        let mut params: Vec<(&str, f64)> = vec![("outputGainDb", -3.0)];
        const NAMES: [[&str; 4]; 8] = [
            ["b1Type", "b1FrequencyHz", "b1Q", "b1GainDb"],
            ["b2Type", "b2FrequencyHz", "b2Q", "b2GainDb"],
            ["b3Type", "b3FrequencyHz", "b3Q", "b3GainDb"],
            ["b4Type", "b4FrequencyHz", "b4Q", "b4GainDb"],
            ["b5Type", "b5FrequencyHz", "b5Q", "b5GainDb"],
            ["b6Type", "b6FrequencyHz", "b6Q", "b6GainDb"],
            ["b7Type", "b7FrequencyHz", "b7Q", "b7GainDb"],
            ["b8Type", "b8FrequencyHz", "b8Q", "b8GainDb"],
        ];
        for (names, (kind, f, q, g)) in NAMES.iter().zip(bands) {
            params.extend([(names[0], kind as f64), (names[1], f), (names[2], q), (names[3], g)]);
        }
        let responses: Vec<Response> = bands
            .iter()
            .map(|&(k, f, q, g)| cookbook_response(k, f, q, g, fs))
            .collect();
        let output_gain = 10f64.powf(-3.0 / 20.0);
        let product: Response = Box::new(move |f| responses.iter().map(|r| r(f)).product::<f64>() * output_gain);
        let measured = measured_response("parametric-eq", fs, &params);
        compare("8 bands", &measured, &product, fs);
    }
}

#[test]
fn shelves_match_the_cookbook_at_every_rate() {
    for fs in RATES {
        for (f, q, gain) in [
            (100.0, 0.7071, 12.0),
            (20.0, 4.0, -24.0),
            (8000.0, 0.1, 24.0),
            (20000.0, 2.0, -9.0),
        ] {
            let params = [("frequencyHz", f), ("q", q), ("gainDb", gain)];
            let low = measured_response("low-shelf", fs, &params);
            compare("low-shelf", &low, &cookbook_response(2, f, q, gain, fs), fs);
            let high = measured_response("high-shelf", fs, &params);
            compare("high-shelf", &high, &cookbook_response(3, f, q, gain, fs), fs);
        }
    }
}

#[test]
fn butterworth_filters_match_the_bilinear_design_of_every_order() {
    let mut worst = 0.0f64;
    for fs in RATES {
        for order in 1..=8 {
            for (mode, high_pass) in [(0.0, true), (1.0, false)] {
                for fc in [20.0, 1000.0, 15000.0] {
                    let params = [("mode", mode), ("frequencyHz", fc), ("order", order as f64)];
                    let measured = measured_response("high-low-pass", fs, &params);
                    let reference = butterworth_response(high_pass, order, fc, fs);
                    let label = format!(
                        "order {order} {} at {fc} Hz",
                        if high_pass { "high-pass" } else { "low-pass" }
                    );
                    worst = worst.max(compare(&label, &measured, &reference, fs));
                }
            }
        }
    }
    println!("high-low-pass: worst deviation {worst:.5} dB");
}

#[test]
fn butterworth_is_3_db_down_at_its_cutoff() {
    for fs in [44_100.0, 192_000.0] {
        for order in [1, 2, 5, 8] {
            for (mode, fc) in [(0.0, 200.0), (1.0, 5000.0)] {
                let params = [("mode", mode), ("frequencyHz", fc), ("order", order as f64)];
                let (spectrum, bin_hz) = measured_response("high-low-pass", fs, &params);
                // Interpolate the magnitude between the two bins around the cutoff.
                let pos = fc / bin_hz;
                let (k, frac) = (pos.floor() as usize, pos.fract());
                let mag = spectrum[k] * (1.0 - frac) + spectrum[k + 1] * frac;
                let db = 20.0 * mag.log10();
                assert!(
                    (db + 3.0103).abs() < 0.01,
                    "order {order} mode {mode}: {db} dB at the cutoff"
                );
            }
        }
    }
}

#[test]
fn a_low_pass_at_or_above_the_frequency_limit_passes_audio_unchanged() {
    let fs = 8_000.0; // 0.49 fs = 3920 Hz
    let input: Vec<f32> = (0..4096).map(|n| ((n * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
    for (id, params) in [
        (
            "high-low-pass",
            vec![("mode", 1.0), ("frequencyHz", 4000.0), ("order", 8.0)],
        ),
        (
            "parametric-eq",
            vec![
                ("b1Type", 4.0),
                ("b1FrequencyHz", 3920.0),
                ("b2Type", 0.0),
                ("b3Type", 0.0),
            ],
        ),
    ] {
        let mut effect = create(id, fs, params).unwrap();
        let (mut l, mut r) = (input.clone(), input.clone());
        effect.process(&mut l, &mut r, &[]);
        assert_eq!(l, input, "{id}");
        assert_eq!(r, input, "{id}");
    }
}
