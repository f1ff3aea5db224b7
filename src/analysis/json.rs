//! The analysis and the waveform peaks as JSON, with the keys of `corelogic-dsp analyze --json` and
//! `corelogic-dsp peaks --json` (docs/cli.md), so that the WebAssembly build (`src/host.rs`) gives a browser the
//! very same document the command line prints.

use super::{Analysis, PeakLevel};
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

/// `peaks --json`'s object: every level's min and max per channel.
pub fn peaks_json(sample_rate_hz: f64, channels: usize, frames: u64, levels: &[PeakLevel]) -> Value {
    let levels: Vec<Value> = levels
        .iter()
        .map(|level| json!({"buckets": level.buckets, "min": level.min, "max": level.max}))
        .collect();
    json!({
        "sampleRate": json_rate(sample_rate_hz),
        "channels": channels,
        "frames": frames,
        "levels": levels,
    })
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
            peaks_json(48_000.0, 1, 0, &[]).to_string(),
            r#"{"channels":1,"frames":0,"levels":[],"sampleRate":48000}"#
        );
        assert_eq!(peaks_json(44_100.5, 1, 0, &[])["sampleRate"], json!(44_100.5));
    }
}
