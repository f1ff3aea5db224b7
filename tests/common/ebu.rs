//! The EBU Tech 3341 and 3342 test signals that can be synthesised (1 kHz stereo tones in level steps, the
//! true-peak sines) and a plain BS.1770-4 Annex 2 true-peak reference, shared by the analysis tests and the
//! engine's master-meter tests.

use std::f64::consts::PI;

/// (case, segments of (seconds, dBFS), expected value).
pub type Case = (&'static str, Vec<(f64, f64)>, f64);

fn db_to_amp(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// A 1 kHz sine (one channel of the stereo test signal) in segments of (seconds, dBFS), the phase continuous.
pub fn segments(sr: f64, parts: &[(f64, f64)]) -> Vec<f32> {
    let mut out = Vec::new();
    let mut n0 = 0usize;
    for &(seconds, db) in parts {
        let n = (seconds * sr).round() as usize;
        let amp = db_to_amp(db);
        out.extend((n0..n0 + n).map(|i| (amp * (2.0 * PI * 1000.0 * i as f64 / sr).sin()) as f32));
        n0 += n;
    }
    out
}

/// EBU Tech 3341 cases 1 to 5: integrated loudness (and momentary and short-term for the steady tones), -23 or
/// -33 LUFS, +/- 0.1 LU.
pub fn tech_3341_cases() -> [Case; 5] {
    [
        ("3341-1", vec![(20.0, -23.0)], -23.0),
        ("3341-2", vec![(20.0, -33.0)], -33.0),
        ("3341-3", vec![(10.0, -36.0), (60.0, -23.0), (10.0, -36.0)], -23.0),
        (
            "3341-4",
            vec![
                (10.0, -72.0),
                (10.0, -36.0),
                (60.0, -23.0),
                (10.0, -36.0),
                (10.0, -72.0),
            ],
            -23.0,
        ),
        ("3341-5", vec![(20.0, -26.0), (20.1, -20.0), (20.0, -26.0)], -23.0),
    ]
}

/// EBU Tech 3342 cases 1 to 4: loudness range in LU, +/- 1.
pub fn tech_3342_cases() -> [Case; 4] {
    [
        ("3342-1", vec![(20.0, -20.0), (20.0, -30.0)], 10.0),
        ("3342-2", vec![(20.0, -20.0), (20.0, -15.0)], 5.0),
        ("3342-3", vec![(20.0, -40.0), (20.0, -20.0)], 20.0),
        (
            "3342-4",
            vec![
                (20.0, -50.0),
                (20.0, -35.0),
                (20.0, -20.0),
                (20.0, -35.0),
                (20.0, -50.0),
            ],
            15.0,
        ),
    ]
}

/// EBU Tech 3341 true-peak cases 15 to 19 at 48 kHz: (case, frequency as a divisor of fs, amplitude, phase in
/// degrees, expected dBTP), to be met within +0.2 / -0.4 dB.
pub const TECH_3341_TRUE_PEAK_CASES: [(&str, f64, f64, f64, f64); 5] = [
    ("3341-15", 4.0, 0.5, 0.0, -6.0),
    ("3341-16", 4.0, 0.5, 45.0, -6.0),
    ("3341-17", 6.0, 0.5, 60.0, -6.0),
    ("3341-18", 8.0, 0.5, 67.5, -6.0),
    ("3341-19", 4.0, 1.41, 45.0, 3.0),
];

/// The steady tone a true-peak case measures, 5 s: 20 ms raised-cosine fades keep the start and end steps
/// (whose Gibbs overshoot the Annex 2 filter would report) out of it.
pub fn true_peak_case_signal(sr: f64, divisor: f64, amp: f64, degrees: f64) -> Vec<f32> {
    let n = (5.0 * sr).round() as usize;
    let (hz, phase) = (sr / divisor, degrees * PI / 180.0);
    let mut x: Vec<f32> = (0..n)
        .map(|i| (amp * (2.0 * PI * hz * i as f64 / sr + phase).sin()) as f32)
        .collect();
    let fade = (0.02 * sr) as usize;
    let len = x.len();
    for i in 0..fade {
        let g = (0.5 - 0.5 * (PI * i as f64 / fade as f64).cos()) as f32;
        x[i] *= g;
        x[len - 1 - i] *= g;
    }
    x
}

/// The Annex 2 filter as one 48-tap FIR, transcribed here from BS.1770-4 Table 1 (phase p, tap j is h[4j+p]).
const ANNEX2: [[f64; 4]; 12] = [
    [0.0017089843750, -0.0291748046875, -0.0189208984375, -0.0083007812500],
    [0.0109863281250, 0.0292968750000, 0.0330810546875, 0.0148925781250],
    [-0.0196533203125, -0.0517578125000, -0.0582275390625, -0.0266113281250],
    [0.0332031250000, 0.0891113281250, 0.1015625000000, 0.0476074218750],
    [-0.0594482421875, -0.1665039062500, -0.2003173828125, -0.1022949218750],
    [0.1373291015625, 0.4650878906250, 0.7797851562500, 0.9721679687500],
    [0.9721679687500, 0.7797851562500, 0.4650878906250, 0.1373291015625],
    [-0.1022949218750, -0.2003173828125, -0.1665039062500, -0.0594482421875],
    [0.0476074218750, 0.1015625000000, 0.0891113281250, 0.0332031250000],
    [-0.0266113281250, -0.0582275390625, -0.0517578125000, -0.0196533203125],
    [0.0148925781250, 0.0330810546875, 0.0292968750000, 0.0109863281250],
    [-0.0083007812500, -0.0189208984375, -0.0291748046875, 0.0017089843750],
];

/// Straightforward reference: zero-stuff by 4, full convolution with the 48 taps, max |y| (linear).
pub fn reference_true_peak(x: &[f32]) -> f64 {
    let h: Vec<f64> = (0..48).map(|i| ANNEX2[i / 4][i % 4]).collect();
    let mut up = vec![0.0f64; 4 * x.len()];
    for (i, &v) in x.iter().enumerate() {
        up[4 * i] = f64::from(v);
    }
    let mut peak = 0.0f64;
    for k in 0..up.len() + 47 {
        let mut y = 0.0;
        for (i, hi) in h.iter().enumerate() {
            if k >= i && k - i < up.len() {
                y += hi * up[k - i];
            }
        }
        peak = peak.max(y.abs());
    }
    peak
}
