//! The analysis and the waveform peaks as JSON, with the keys of `corelogic-dsp analyze --json` and
//! `corelogic-dsp peaks --json` (docs/cli.md), so that the WebAssembly build (`src/host.rs`) gives a browser the
//! very same document the command line prints.

use super::{Analysis, Measurements, PeakLevel};
use serde_json::{json, Value};

/// A level in dB: a number, or null for -inf (silence); never NaN (JSON has none).
fn json_level(value: f64) -> Value {
    if value.is_finite() {
        json!(value)
    } else {
        Value::Null
    }
}

/// A sample rate as the CLI prints it: a whole number without a fraction (a WAV header's rate is an
/// integer), any other rate as it is.
fn json_rate(sample_rate_hz: f64) -> Value {
    if sample_rate_hz.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&sample_rate_hz) {
        json!(sample_rate_hz as u32)
    } else {
        json!(sample_rate_hz)
    }
}

/// `analyze --json`'s object.
pub fn analysis_json(a: &Analysis) -> Value {
    json!({
        "peakDb": json_level(a.peak_db),
        "truePeakDb": json_level(a.true_peak_db),
        "rmsDb": json_level(a.rms_db),
        "crestDb": json_level(a.crest_db),
        "integratedLufs": json_level(a.integrated_lufs),
        "loudnessRangeLu": a.loudness_range_lu.map_or(Value::Null, |v| json!(v)),
        "spectralCentroidHz": {"mean": a.spectral_centroid_mean_hz, "std": a.spectral_centroid_std_hz},
        "spectralRolloffHz": a.spectral_rolloff_hz,
        "spectralFlatness": a.spectral_flatness,
        "zeroCrossingRate": a.zero_crossing_rate,
        "mfcc": a.mfcc.to_vec(),
        "bandEnergy": {"low": a.band_energy[0], "mid": a.band_energy[1], "high": a.band_energy[2]},
        "tempoBpm": a.tempo_bpm.map_or(Value::Null, |v| json!(v)),
    })
}

/// The keys of [`analysis_json`] that [`Measurements::Levels`] measures; [`Measurements::Spectrum`] measures
/// the others.
pub const LEVEL_KEYS: [&str; 7] = [
    "peakDb",
    "truePeakDb",
    "rmsDb",
    "crestDb",
    "integratedLufs",
    "loudnessRangeLu",
    "tempoBpm",
];

/// [`analysis_json`] with only the keys of the measurements made: the two halves' objects together are the
/// whole one.
pub fn analysis_json_of(a: &Analysis, measurements: Measurements) -> Value {
    let mut value = analysis_json(a);
    if let (Value::Object(object), true) = (&mut value, measurements != Measurements::All) {
        object.retain(|key, _| LEVEL_KEYS.contains(&key.as_str()) == (measurements == Measurements::Levels));
    }
    value
}

/// One level of `peaks --json`, serialised as it is (f32 as the shortest text that reads back the same f32).
#[derive(serde::Serialize)]
struct PeakLevelJson<'a> {
    buckets: usize,
    min: &'a [Vec<f32>],
    max: &'a [Vec<f32>],
}

/// Writes `peaks --json`'s object, `{"sampleRate", "channels", "frames", "levels": [{"buckets", "min", "max"}]}`
/// (min and max per channel), to `out` level by level: the whole text is never held in memory. The one writer
/// of that document: the command line streams it to standard output, the WebAssembly build (`src/host`) into
/// the string it hands the browser, so both print the same text for the same samples.
pub fn write_peaks_json<W: std::io::Write>(
    out: &mut W,
    sample_rate_hz: f64,
    channels: usize,
    frames: u64,
    levels: &[PeakLevel],
) -> std::io::Result<()> {
    let to_io = |e: serde_json::Error| match e.io_error_kind() {
        Some(kind) => std::io::Error::from(kind),
        None => std::io::Error::other(e),
    };
    out.write_all(br#"{"sampleRate":"#)?;
    serde_json::to_writer(&mut *out, &json_rate(sample_rate_hz)).map_err(to_io)?;
    write!(out, r#","channels":{channels},"frames":{frames},"levels":["#)?;
    for (k, level) in levels.iter().enumerate() {
        if k > 0 {
            out.write_all(b",")?;
        }
        let level = PeakLevelJson {
            buckets: level.buckets,
            min: &level.min,
            max: &level.max,
        };
        serde_json::to_writer(&mut *out, &level).map_err(to_io)?;
    }
    out.write_all(b"]}")
}

/// `peaks --json`'s object as a string (through [`write_peaks_json`]).
pub fn peaks_json(sample_rate_hz: f64, channels: usize, frames: u64, levels: &[PeakLevel]) -> String {
    let mut text = Vec::new();
    // Writing into a Vec cannot fail, and serde_json writes UTF-8.
    let _ = write_peaks_json(&mut text, sample_rate_hz, channels, frames, levels);
    String::from_utf8(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_gives_null_levels_and_a_whole_rate_has_no_fraction() {
        let a = crate::analysis::analyze(48_000.0, &[&[0.0f32; 4800]]).unwrap();
        let v = analysis_json(&a);
        assert_eq!(v["peakDb"], Value::Null);
        assert_eq!(v["integratedLufs"], Value::Null);
        assert_eq!(v["mfcc"].as_array().unwrap().len(), crate::analysis::mfcc::MFCC_COUNT);
        assert_eq!(
            peaks_json(48_000.0, 1, 0, &[]),
            r#"{"sampleRate":48000,"channels":1,"frames":0,"levels":[]}"#
        );
        let fractional: Value = serde_json::from_str(&peaks_json(44_100.5, 1, 0, &[])).unwrap();
        assert_eq!(fractional["sampleRate"], json!(44_100.5));
    }

    /// f32 values as the shortest text that reads back as the same f32 (0.1f32 is "0.1", not f64's
    /// 0.10000000149011612), per channel, level after level.
    #[test]
    fn peaks_print_f32_in_shortest_form_per_channel_and_level() {
        let levels = [
            PeakLevel {
                buckets: 1,
                min: vec![vec![-0.1], vec![-1.0]],
                max: vec![vec![0.1], vec![f32::MIN_POSITIVE]],
            },
            PeakLevel {
                buckets: 2,
                min: vec![vec![-0.1, -0.05], vec![-1.0, 0.0]],
                max: vec![vec![0.02, 0.1], vec![0.5, 0.25]],
            },
        ];
        assert_eq!(
            peaks_json(8_000.0, 2, 4, &levels),
            r#"{"sampleRate":8000,"channels":2,"frames":4,"levels":[{"buckets":1,"min":[[-0.1],[-1.0]],"max":[[0.1],[1.1754944e-38]]},{"buckets":2,"min":[[-0.1,-0.05],[-1.0,0.0]],"max":[[0.02,0.1],[0.5,0.25]]}]}"#
        );
    }
}
