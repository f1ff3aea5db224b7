//! The effect listing: every registered effect with its parameters, presets and latency, as typed data and
//! as the JSON that `corelogic-dsp effects --json` prints, the TypeScript types are generated from and the
//! WebAssembly build hands to the browser.
//!
//! Built from the parameter tables ([`crate::params`]) and the registry ([`crate::effects::registry`]); nothing
//! in it is written twice. The JSON is one array, one object per effect in registry order:
//!
//! ```text
//! [{
//!   "id": "limiter", "name": "Limiter", "category": "dynamics",
//!   "parameters": [{
//!     "name": "lookaheadMs", "unit": "ms", "min": 0.5, "max": 10, "default": 5,
//!     "integer": false, "automatable": false,
//!     "values": [{"value": 1, "label": "1x"}, ...],   (only for enumerations, switches and choices)
//!     "taper": "log",             ("linear" or "log": how a UI knob maps its travel to the value)
//!     "changesLatency": true      (a change of this parameter changes the effect's latency)
//!   }, ...],
//!   "presets": [{"name": "init", "parameters": {}}, {"name": "...", "parameters": {"ratio": 4}}, ...],
//!   "latencySamplesAt48k": 240,   (latency in samples at 48 kHz with the default parameters)
//!   "maxLatencySamplesAt48k": 480 (the largest latency any parameter values give at 48 kHz)
//! }, ...]
//! ```
//!
//! Whole numbers are written without a fraction (`2`, not `2.0`). The order of `parameters` is frozen: the
//! numeric (WebAssembly) interface addresses a parameter by its index in this list, so a parameter is only ever
//! added at the end (`tests/parameter_order.rs` pins every effect's names in order).

use crate::effects::{registry, CreateError, EffectEntry};
use crate::params::{EffectSpec, ParamSpec, Taper};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::fmt;

/// The sample rate the listing reports latencies at.
pub const LISTING_SAMPLE_RATE_HZ: f64 = 48_000.0;

/// One effect of the listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectListing {
    pub id: &'static str,
    pub name: &'static str,
    pub category: &'static str,
    /// In table order, which is frozen (see the module documentation).
    pub parameters: Vec<ParameterListing>,
    /// "init" (the defaults) first.
    pub presets: Vec<PresetListing>,
    /// Latency with the default parameters at 48 kHz.
    #[serde(rename = "latencySamplesAt48k")]
    pub latency_samples_at_48k: usize,
    /// The largest latency at 48 kHz any values of the latency-changing parameters give
    /// ([`Effect::max_latency`](crate::effects::Effect::max_latency)), for sizing compensation delays.
    #[serde(rename = "maxLatencySamplesAt48k")]
    pub max_latency_samples_at_48k: usize,
}

/// One parameter of an effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterListing {
    pub name: &'static str,
    pub unit: &'static str,
    #[serde(serialize_with = "whole_or_fraction")]
    pub min: f64,
    #[serde(serialize_with = "whole_or_fraction")]
    pub max: f64,
    #[serde(serialize_with = "whole_or_fraction")]
    pub default: f64,
    pub integer: bool,
    pub automatable: bool,
    /// The allowed values with labels, for enumerations, switches and choices (`oversample`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<LabelledValue>>,
    pub taper: Taper,
    pub changes_latency: bool,
}

/// An allowed value of an enumeration, switch or choice, with its label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelledValue {
    #[serde(serialize_with = "whole_or_fraction")]
    pub value: f64,
    pub label: &'static str,
}

/// A preset: the values it sets, in table order of its declaration (the others take their defaults).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PresetListing {
    pub name: &'static str,
    #[serde(serialize_with = "name_value_map")]
    pub parameters: Vec<(&'static str, f64)>,
}

/// Why the listing could not be built (a bug in a table, never the caller's input).
#[derive(Debug, Clone, PartialEq)]
pub enum ListingError {
    /// An effect could not be created with its defaults or a latency-changing value.
    Create { effect: &'static str, cause: CreateError },
    /// The JSON could not be written.
    Json(String),
}

impl fmt::Display for ListingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListingError::Create { effect, cause } => {
                write!(f, "internal error: cannot list effect '{effect}': {cause}")
            }
            ListingError::Json(e) => write!(f, "internal error: cannot write the listing as JSON: {e}"),
        }
    }
}

impl std::error::Error for ListingError {}

/// A number as JSON, whole numbers without a fraction (`2`, not `2.0`), for the generated TypeScript.
fn whole_or_fraction<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53: every whole f64 below it is an exact i64
    if value.fract() == 0.0 && value.abs() < EXACT_INTEGER_LIMIT {
        serializer.serialize_i64(*value as i64)
    } else {
        serializer.serialize_f64(*value)
    }
}

/// Name/value pairs as a JSON object, in their order.
fn name_value_map<S: Serializer>(pairs: &[(&'static str, f64)], serializer: S) -> Result<S::Ok, S::Error> {
    struct Number(f64);
    impl Serialize for Number {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            whole_or_fraction(&self.0, serializer)
        }
    }
    let mut map = serializer.serialize_map(Some(pairs.len()))?;
    for (name, value) in pairs {
        map.serialize_entry(name, &Number(*value))?;
    }
    map.end()
}

/// The listing of one parameter (pure: from its table row alone).
pub fn parameter_listing(p: &ParamSpec) -> ParameterListing {
    ParameterListing {
        name: p.name,
        unit: p.unit,
        min: p.min,
        max: p.max,
        default: p.default,
        integer: p.is_integer(),
        automatable: p.automatable,
        values: p.labelled_values().map(|values| {
            values
                .into_iter()
                .map(|(value, label)| LabelledValue { value, label })
                .collect()
        }),
        taper: p.taper,
        changes_latency: p.changes_latency,
    }
}

/// Every preset of an effect, "init" first.
fn presets_listing(spec: &EffectSpec) -> Vec<PresetListing> {
    spec.all_presets()
        .map(|preset| PresetListing {
            name: preset.name,
            parameters: preset.values.to_vec(),
        })
        .collect()
}

/// The listing of one registered effect.
pub fn effect_listing(entry: &EffectEntry) -> Result<EffectListing, ListingError> {
    let spec = entry.spec;
    let error = |cause| ListingError::Create { effect: spec.id, cause };
    let latency = entry.create(LISTING_SAMPLE_RATE_HZ, None, []).map_err(error)?.latency();
    Ok(EffectListing {
        id: spec.id,
        name: spec.name,
        category: spec.category.as_str(),
        parameters: spec.params.iter().map(parameter_listing).collect(),
        presets: presets_listing(spec),
        latency_samples_at_48k: latency,
        max_latency_samples_at_48k: entry
            .create(LISTING_SAMPLE_RATE_HZ, None, [])
            .map_err(error)?
            .max_latency(),
    })
}

/// Every registered effect, in registry order.
pub fn listing() -> Result<Vec<EffectListing>, ListingError> {
    registry().iter().map(effect_listing).collect()
}

/// [`listing`] as pretty-printed JSON (the shape in the module documentation).
pub fn listing_json() -> Result<String, ListingError> {
    serde_json::to_string_pretty(&listing()?).map_err(|e| ListingError::Json(e.to_string()))
}

/// The command that regenerates `docs/effects.md` from the parameter tables (the test that compares the
/// checked-in file with [`effects_markdown`] prints it when they differ).
pub const EFFECTS_MARKDOWN_COMMAND: &str = "cargo run --bin corelogic-dsp -- effects --markdown > docs/effects.md";

/// A number for the Markdown reference: whole numbers without a fraction, others as Rust prints them
/// (the shortest text that reads back as the same f64).
fn markdown_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// What kind of value a parameter takes, for the Markdown reference.
fn markdown_kind(p: &ParameterListing) -> String {
    match &p.values {
        Some(values) => {
            let list: Vec<String> = values
                .iter()
                .map(|v| format!("{} = {}", markdown_number(v.value), v.label))
                .collect();
            list.join(", ")
        }
        None if p.integer => "whole number".to_string(),
        None => "number".to_string(),
    }
}

/// The effect reference as Markdown (`docs/effects.md`), generated from [`listing`] so that it can never
/// disagree with the parameter tables: per effect its id, name, category, latency, every parameter (unit,
/// range, default, allowed values, taper, automatable, whether it changes latency) and every preset.
pub fn effects_markdown() -> Result<String, ListingError> {
    let effects = listing()?;
    let mut out = String::new();
    out += "# Effect reference\n\n";
    out += "<!-- Generated from the parameter tables (src/params.rs and each effect's table); do not edit by hand.\n";
    out += &format!("     Regenerate with: {EFFECTS_MARKDOWN_COMMAND} -->\n\n");
    out +=
        "Every effect `corelogic-dsp` runs, in registry order: the id a chain, a project insert or `--effect` names,\n";
    out += "its parameters and its presets. The same data is `corelogic-dsp effects --json`.\n\n";
    out += "- **range**: the allowed values, ends included; values outside it, non-finite values and fractions for\n";
    out += "  whole-number parameters are rejected, never clamped.\n";
    out += "- **values**: for enumerations, switches and choices, each allowed value and its label (`--set` takes\n";
    out += "  either, the label case-insensitively).\n";
    out += "- **taper**: how a UI knob maps its travel to the value (`linear` or `log`).\n";
    out += "- **automatable**: whether the value may follow an automation curve.\n";
    out += "- **latency**: samples at 48 kHz with the default parameters, and the most any parameter values give;\n";
    out += "  parameters marked *changes latency* move it.\n";
    out +=
        "- **presets**: `init` is the defaults; a preset sets the listed values, the others keep their defaults.\n\n";
    out += "| id | name | category | latency at 48 kHz (max) |\n|---|---|---|---|\n";
    for e in &effects {
        out += &format!(
            "| [`{}`](#{}) | {} | {} | {} ({}) |\n",
            e.id, e.id, e.name, e.category, e.latency_samples_at_48k, e.max_latency_samples_at_48k
        );
    }
    for e in &effects {
        out += &format!("\n## {}\n\n", e.id);
        out += &format!(
            "{} ({}). Latency at 48 kHz: {} samples with the defaults, at most {}.\n\n",
            e.name, e.category, e.latency_samples_at_48k, e.max_latency_samples_at_48k
        );
        out += "| # | parameter | unit | range | default | values | taper | automatable | changes latency |\n";
        out += "|---|---|---|---|---|---|---|---|---|\n";
        for (i, p) in e.parameters.iter().enumerate() {
            let unit = if p.unit.is_empty() { "-" } else { p.unit };
            let taper = match p.taper {
                Taper::Linear => "linear",
                Taper::Log => "log",
            };
            let yes_no = |b: bool| if b { "yes" } else { "no" };
            out += &format!(
                "| {i} | `{}` | {unit} | {} .. {} | {} | {} | {taper} | {} | {} |\n",
                p.name,
                markdown_number(p.min),
                markdown_number(p.max),
                markdown_number(p.default),
                markdown_kind(p),
                yes_no(p.automatable),
                yes_no(p.changes_latency)
            );
        }
        out += "\nPresets:\n\n";
        for preset in &e.presets {
            let values: Vec<String> = preset
                .parameters
                .iter()
                .map(|(name, value)| format!("`{name}` {}", markdown_number(*value)))
                .collect();
            let values = if values.is_empty() {
                "the defaults".to_string()
            } else {
                values.join(", ")
            };
            out += &format!("- `{}`: {values}\n", preset.name);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Category;

    #[test]
    fn whole_numbers_print_without_a_fraction_and_others_with_one() {
        let p = parameter_listing(&ParamSpec::log("q", "", 0.1, 18.0, 0.7071));
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains(r#""min":0.1,"max":18,"default":0.7071"#), "{json}");
        assert!(json.contains(r#""taper":"log","changesLatency":false"#), "{json}");
        assert!(!json.contains("values"), "{json}");
    }

    #[test]
    fn presets_list_their_values_as_an_object_in_declared_order() {
        static SPEC: EffectSpec = EffectSpec {
            id: "t",
            name: "T",
            category: Category::Eq,
            params: &[
                ParamSpec::linear("b", "", 0.0, 1.0, 0.0),
                ParamSpec::linear("a", "", 0.0, 1.0, 0.0),
            ],
            presets: &[crate::params::Preset {
                name: "p",
                values: &[("b", 0.5), ("a", 1.0)],
            }],
        };
        let json = serde_json::to_string(&presets_listing(&SPEC)).unwrap();
        assert_eq!(
            json,
            r#"[{"name":"init","parameters":{}},{"name":"p","parameters":{"b":0.5,"a":1}}]"#
        );
    }
}
