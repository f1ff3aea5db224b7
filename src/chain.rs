//! Effect chains described in JSON (the CLI's `--chain`, later a project's inserts): parsing with errors that
//! name the JSON path of the problem, validation against the parameter tables, and building the effects.
//!
//! A chain is an array of entries `{"effect": ID, "parameters": {NAME: VALUE}, "enabled": true,
//! "preset": NAME, "curve": [numbers]}`. Only `effect` is required: `parameters` defaults to `{}` (every
//! parameter at its default, or at the preset's value), `enabled` to `true`. Parameters override the preset.
//! `curve` is accepted only for the wave-shaper (2 to 4096 finite values). An empty array is the identity.

use crate::effects::{find, Effect, EffectEntry};
use crate::params::EffectSpec;
use serde_json::Value;
use std::fmt;

/// The only effect that takes a custom `curve` (the effect contract, `wave-shaper`).
pub const CURVE_EFFECT_ID: &str = "wave-shaper";

/// The fewest and most values a custom curve may have (the effect contract).
pub const CURVE_LEN_RANGE: (usize, usize) = (2, 4096);

/// The keys an entry may have, in the order error messages list them.
const ENTRY_KEYS: &[&str] = &["effect", "parameters", "enabled", "preset", "curve"];

/// The path of the chain's root in error messages.
pub const ROOT_PATH: &str = "chain";

/// A problem with a chain, at a JSON path such as `chain[2].parameters.ratio`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainError {
    /// The JSON path of the offending value (empty when the problem is not at one place).
    pub path: String,
    pub message: String,
}

impl ChainError {
    fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        ChainError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ChainError {}

/// One validated chain entry: every name, value and the preset are known to be accepted by the effect.
#[derive(Clone)]
pub struct ChainEntry {
    /// Where the entry came from (`chain[2]`), for errors found when the effect is created.
    pub path: String,
    pub effect: &'static EffectEntry,
    pub preset: Option<String>,
    /// Explicit values, applied on top of the preset.
    pub parameters: Vec<(String, f64)>,
    pub enabled: bool,
    /// The wave-shaper's custom curve, when given.
    pub curve: Option<Vec<f32>>,
}

impl fmt::Debug for ChainEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainEntry")
            .field("path", &self.path)
            .field("effect", &self.effect.spec.id)
            .field("preset", &self.preset)
            .field("parameters", &self.parameters)
            .field("enabled", &self.enabled)
            .field("curve", &self.curve)
            .finish()
    }
}

/// The JSON type of a value, for "expected X, found Y" messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn expected(path: &str, what: &str, found: &Value) -> ChainError {
    ChainError::at(path, format!("expected {what}, found {}", json_kind(found)))
}

/// Parses and validates a chain from JSON text. Malformed JSON is reported with its line and column.
pub fn parse_chain(json: &str) -> Result<Vec<ChainEntry>, ChainError> {
    let root: Value = serde_json::from_str(json).map_err(|e| ChainError::at("", format!("malformed JSON: {e}")))?;
    parse_chain_value(&root, ROOT_PATH)
}

/// The most entries a chain holds: about what a DAW's insert rack offers. Every entry costs memory (a reverb
/// several MB), so without a limit a long chain file exhausts memory instead of being rejected.
pub const MAX_CHAIN_ENTRIES: usize = 64;

/// Validates an already parsed chain (an array of at most [`MAX_CHAIN_ENTRIES`] entries) whose path is `path`.
pub fn parse_chain_value(root: &Value, path: &str) -> Result<Vec<ChainEntry>, ChainError> {
    let Value::Array(items) = root else {
        return Err(expected(path, "an array of effect entries", root));
    };
    if items.len() > MAX_CHAIN_ENTRIES {
        return Err(ChainError::at(
            path,
            format!(
                "{} entries, more than the {MAX_CHAIN_ENTRIES} a chain may hold",
                items.len()
            ),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_entry(item, &format!("{path}[{i}]")))
        .collect()
}

/// Validates one entry (an object) whose path is `path`.
pub fn parse_entry(item: &Value, path: &str) -> Result<ChainEntry, ChainError> {
    let Value::Object(fields) = item else {
        return Err(expected(path, "an object", item));
    };
    if let Some(key) = fields.keys().find(|k| !ENTRY_KEYS.contains(&k.as_str())) {
        return Err(ChainError::at(
            format!("{path}.{key}"),
            format!("unknown key '{key}' (allowed: {})", ENTRY_KEYS.join(", ")),
        ));
    }
    let effect = parse_effect(fields.get("effect"), path)?;
    let spec = effect.spec;
    let preset = match fields.get("preset") {
        None => None,
        Some(Value::String(name)) => {
            spec.preset(name)
                .map_err(|e| ChainError::at(format!("{path}.preset"), e.to_string()))?;
            Some(name.clone())
        }
        Some(other) => return Err(expected(&format!("{path}.preset"), "a preset name (string)", other)),
    };
    let parameters = match fields.get("parameters") {
        None => Vec::new(),
        Some(value) => parse_parameters(spec, value, &format!("{path}.parameters"))?,
    };
    let enabled = match fields.get("enabled") {
        None => true,
        Some(Value::Bool(on)) => *on,
        Some(other) => return Err(expected(&format!("{path}.enabled"), "true or false", other)),
    };
    let curve = match fields.get("curve") {
        None => None,
        Some(value) => Some(parse_curve(spec, value, &format!("{path}.curve"))?),
    };
    Ok(ChainEntry {
        path: path.to_string(),
        effect,
        preset,
        parameters,
        enabled,
        curve,
    })
}

fn parse_effect(value: Option<&Value>, path: &str) -> Result<&'static EffectEntry, ChainError> {
    let effect_path = format!("{path}.effect");
    match value {
        None => Err(ChainError::at(path, "missing key 'effect' (the effect id)")),
        Some(Value::String(id)) => find(id).map_err(|e| ChainError::at(effect_path, e.to_string())),
        Some(other) => Err(expected(&effect_path, "an effect id (string)", other)),
    }
}

fn parse_parameters(spec: &EffectSpec, value: &Value, path: &str) -> Result<Vec<(String, f64)>, ChainError> {
    let Value::Object(map) = value else {
        return Err(expected(path, "an object of parameter values", value));
    };
    map.iter()
        .map(|(name, v)| {
            let param_path = format!("{path}.{name}");
            let number = v.as_f64().ok_or_else(|| expected(&param_path, "a number", v))?;
            let index = spec
                .param_index(name)
                .map_err(|e| ChainError::at(&param_path, e.to_string()))?;
            spec.check(index, number)
                .map_err(|e| ChainError::at(&param_path, e.to_string()))?;
            Ok((name.clone(), number))
        })
        .collect()
}

fn parse_curve(spec: &EffectSpec, value: &Value, path: &str) -> Result<Vec<f32>, ChainError> {
    if spec.id != CURVE_EFFECT_ID {
        return Err(ChainError::at(
            path,
            format!("effect '{}' takes no curve (only '{CURVE_EFFECT_ID}' does)", spec.id),
        ));
    }
    let Value::Array(items) = value else {
        return Err(expected(path, "an array of numbers", value));
    };
    let (min_len, max_len) = CURVE_LEN_RANGE;
    if !(min_len..=max_len).contains(&items.len()) {
        return Err(ChainError::at(
            path,
            format!(
                "a curve has {min_len} to {max_len} values, this one has {}",
                items.len()
            ),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let value = v.as_f64().map(|x| x as f32).filter(|x| x.is_finite());
            value.ok_or_else(|| ChainError::at(format!("{path}[{i}]"), format!("expected a finite number, found {v}")))
        })
        .collect()
}

impl ChainEntry {
    /// Creates the effect at a sample rate. A disabled entry is bypassed from its first sample (it was never on,
    /// so no fade): it passes its input delayed by its latency, keeping the chain aligned.
    pub fn create(&self, sample_rate: f64, tempo_bpm: f64) -> Result<Box<dyn Effect>, ChainError> {
        let values = self.parameters.iter().map(|(name, v)| (name.as_str(), *v));
        let mut effect = self
            .effect
            .create(sample_rate, self.preset.as_deref(), values)
            .map_err(|e| ChainError::at(&self.path, e.to_string()))?;
        if let Some(curve) = &self.curve {
            // Validated while parsing; the effect checks again and copies into its preallocated storage.
            effect
                .set_curve_immediately(curve)
                .map_err(|e| ChainError::at(format!("{}.curve", self.path), e.to_string()))?;
        }
        effect.set_enabled_immediately(self.enabled);
        effect.set_tempo_immediately(tempo_bpm);
        Ok(effect)
    }
}

/// Creates every entry's effect at a sample rate and tempo (for tempo-synced times), in chain order.
pub fn build_chain(
    entries: &[ChainEntry],
    sample_rate: f64,
    tempo_bpm: f64,
) -> Result<Vec<Box<dyn Effect>>, ChainError> {
    entries.iter().map(|e| e.create(sample_rate, tempo_bpm)).collect()
}

/// Runs a stereo block through effects in series (no events). An empty chain leaves the block unchanged.
pub fn process_in_series(effects: &mut [Box<dyn Effect>], left: &mut [f32], right: &mut [f32]) {
    for effect in effects.iter_mut() {
        effect.process(left, right, &[]);
    }
}

/// The total latency of effects in series, in samples.
pub fn total_latency(effects: &[Box<dyn Effect>]) -> usize {
    effects.iter().map(|e| e.latency()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(json: &str) -> String {
        parse_chain(json).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_json_path_of_the_problem() {
        let json = r#"[{"effect": "low-shelf"}, {"effect": "high-shelf", "parameters": {"gainDb": 30}}]"#;
        assert_eq!(
            error_of(json),
            "chain[1].parameters.gainDb: effect 'high-shelf': parameter 'gainDb' = 30 is out of range; \
             allowed: a number from -24 to 24"
        );
        let e = error_of(r#"[{"effect": "high-low-pass", "parameters": {"order": 2.5}}]"#);
        assert!(
            e.starts_with(
                "chain[0].parameters.order: effect 'high-low-pass': parameter 'order' = 2.5 must be a whole number"
            ),
            "{e}"
        );
        let e = error_of(r#"[{"effect": "low-shelf", "parameters": {"gain": 1}}]"#);
        assert!(
            e.starts_with("chain[0].parameters.gain: effect 'low-shelf' has no parameter 'gain'"),
            "{e}"
        );
        let e = error_of(r#"[{"effect": "low-shelf", "parameters": {"gainDb": "3"}}]"#);
        assert_eq!(e, "chain[0].parameters.gainDb: expected a number, found a string");
        let e = error_of(r#"[{"effect": "no-such"}]"#);
        assert!(
            e.starts_with("chain[0].effect: unknown effect 'no-such' (effects: parametric-eq,"),
            "{e}"
        );
        let e = error_of(r#"[{"effect": "low-shelf", "preset": "loud"}]"#);
        assert!(
            e.starts_with("chain[0].preset: effect 'low-shelf' has no preset 'loud' (presets: init"),
            "{e}"
        );
        assert_eq!(
            error_of(r#"[{"parameters": {}}]"#),
            "chain[0]: missing key 'effect' (the effect id)"
        );
        assert_eq!(
            error_of(r#"{"effect": "low-shelf"}"#),
            "chain: expected an array of effect entries, found an object"
        );
        assert_eq!(
            error_of(r#"[{"effect": "low-shelf", "enabled": 1}]"#),
            "chain[0].enabled: expected true or false, found a number"
        );
    }

    #[test]
    fn unknown_keys_are_rejected_by_name() {
        assert_eq!(
            error_of(r#"[{"effect": "low-shelf", "bypass": true}]"#),
            "chain[0].bypass: unknown key 'bypass' (allowed: effect, parameters, enabled, preset, curve)"
        );
    }

    #[test]
    fn malformed_json_reports_line_and_column() {
        let e = error_of("[\n  {\"effect\": \"low-shelf\",}\n]");
        assert!(e.starts_with("malformed JSON: ") && e.contains("line 2 column"), "{e}");
    }

    #[test]
    fn curve_is_rejected_on_effects_other_than_the_wave_shaper() {
        assert_eq!(
            error_of(r#"[{"effect": "low-shelf", "curve": [0, 1]}]"#),
            "chain[0].curve: effect 'low-shelf' takes no curve (only 'wave-shaper' does)"
        );
    }

    #[test]
    fn a_wave_shaper_curve_reaches_the_effect() {
        // curve [1, -1] inverts: x maps to -x inside [-1, 1] (WaveShaperNode interpolation, 1x, drive 1).
        let json = r#"[{"effect": "wave-shaper", "parameters": {"curve": 4, "oversample": 1}, "curve": [1, -1]}]"#;
        let mut effects = build_chain(&parse_chain(json).unwrap(), 48_000.0, 120.0).unwrap();
        let input = noise(256);
        let (mut left, mut right) = (input.clone(), input.clone());
        process_in_series(&mut effects, &mut left, &mut right);
        for (y, x) in left.iter().zip(&input) {
            assert!((y + x).abs() < 1e-6, "{y} vs {x}");
        }
        // The same chain without the curve keeps the identity curve, so the curve made the difference.
        let plain = json.replace(r#", "curve": [1, -1]"#, "");
        let mut effects = build_chain(&parse_chain(&plain).unwrap(), 48_000.0, 120.0).unwrap();
        let (mut left, mut right) = (input.clone(), input.clone());
        process_in_series(&mut effects, &mut left, &mut right);
        assert_eq!(left, input);
        let too_short = r#"[{"effect": "wave-shaper", "curve": [1]}]"#;
        assert_eq!(
            error_of(too_short),
            "chain[0].curve: a curve has 2 to 4096 values, this one has 1"
        );
    }

    #[test]
    fn preset_then_parameters_layer_over_defaults() {
        let entries =
            parse_chain(r#"[{"effect": "high-low-pass", "preset": "init", "parameters": {"order": 4}}]"#).unwrap();
        assert_eq!(entries[0].preset.as_deref(), Some("init"));
        let effects = build_chain(&entries, 48_000.0, 120.0).unwrap();
        let spec = effects[0].spec();
        assert_eq!(effects[0].param(spec.index_of("order").unwrap()), 4.0);
        let mode = spec.index_of("frequencyHz").unwrap();
        assert_eq!(effects[0].param(mode), spec.params[mode].default);
    }

    fn noise(frames: usize) -> Vec<f32> {
        let mut rng = crate::dsp::rng::Pcg32::new(3, 3);
        (0..frames).map(|_| (rng.next_f64() - 0.5) as f32).collect()
    }

    #[test]
    fn empty_chain_is_the_identity() {
        let mut effects = build_chain(&parse_chain("[]").unwrap(), 44_100.0, 120.0).unwrap();
        let input = noise(1000);
        let (mut left, mut right) = (input.clone(), input.clone());
        process_in_series(&mut effects, &mut left, &mut right);
        assert_eq!(left, input);
        assert_eq!(right, input);
    }

    #[test]
    fn disabled_entry_passes_input_delayed_by_latency_from_the_first_sample() {
        let json = r#"[{"effect": "low-shelf", "parameters": {"gainDb": 12}, "enabled": false}]"#;
        let mut effects = build_chain(&parse_chain(json).unwrap(), 48_000.0, 120.0).unwrap();
        assert!(!effects[0].is_enabled());
        let latency = effects[0].latency();
        let input = noise(5000);
        let (mut left, mut right) = (input.clone(), input.clone());
        process_in_series(&mut effects, &mut left, &mut right);
        let mut expected = vec![0.0f32; latency];
        expected.extend_from_slice(&input[..input.len() - latency]);
        assert_eq!(left, expected);
        assert_eq!(right, expected);
        // The same entry enabled does change the signal (a +12 dB shelf), so the test above is not vacuous.
        let on = json.replace("false", "true");
        let mut effects = build_chain(&parse_chain(&on).unwrap(), 48_000.0, 120.0).unwrap();
        let (mut left, mut right) = (input.clone(), input.clone());
        process_in_series(&mut effects, &mut left, &mut right);
        assert_ne!(left, expected);
    }
}
