//! Parameter tables (the single source for validation, listings and UI controls) and their errors.
//!
//! Every effect describes its parameters as static data: name, unit, range, default, whether the value is an
//! integer, whether it may be automated, enumeration labels and how a change is smoothed. Validation, the
//! CLI's `effects --json`, and later the TypeScript types and the demo's controls are all derived from it.

use serde::Serialize;
use std::fmt;

/// How a UI control maps its travel to a parameter's value (the listing's `taper`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Taper {
    /// Equal travel, equal change of value.
    Linear,
    /// Equal travel, equal ratio of values (needs min > 0): frequencies, times and ratios that span decades.
    Log,
}

/// How a parameter's value is interpreted and how a change reaches the audio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamKind {
    /// A continuous value that glides linearly in its own unit when a user moves it.
    Linear,
    /// A continuous value that glides in the log domain (frequencies, times).
    Log,
    /// A continuous value that cannot glide because it changes the effect's structure or latency
    /// (`lookaheadMs`): a change crossfades the old and new state, or fades out, switches and fades in when
    /// it changes latency ([`ParamSpec::changes_latency`]).
    Structural,
    /// An integer count (`order`, `taps`): a change crossfades.
    Integer,
    /// An enumeration or a switch: integer indices with labels; a change crossfades.
    Enum(&'static [&'static str]),
    /// One of a fixed set of values with labels (`oversample` 1, 2, 4, 8); a change crossfades (or fades out
    /// and in, when it changes latency).
    Choice(&'static [(f64, &'static str)]),
}

/// One parameter of an effect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    pub name: &'static str,
    /// Unit for display and listings: "Hz", "dB", "ms", "s", "ratio", "" (none).
    pub unit: &'static str,
    pub min: f64,
    pub max: f64,
    pub default: f64,
    pub kind: ParamKind,
    pub automatable: bool,
    /// What a UI knob should use. Log for every [`ParamKind::Log`] parameter, and for a few others whose range
    /// spans a large ratio but which glide linearly or crossfade (set with [`ParamSpec::log_taper`]).
    pub taper: Taper,
    /// Whether a change of this parameter changes the effect's latency (the host must re-align; set with
    /// [`ParamSpec::changing_latency`]).
    pub changes_latency: bool,
}

impl ParamSpec {
    /// A continuous parameter, automatable, gliding linearly.
    pub const fn linear(name: &'static str, unit: &'static str, min: f64, max: f64, default: f64) -> Self {
        ParamSpec {
            name,
            unit,
            min,
            max,
            default,
            kind: ParamKind::Linear,
            automatable: true,
            taper: Taper::Linear,
            changes_latency: false,
        }
    }

    /// A continuous parameter, automatable, gliding in the log domain (min must be > 0).
    pub const fn log(name: &'static str, unit: &'static str, min: f64, max: f64, default: f64) -> Self {
        ParamSpec {
            kind: ParamKind::Log,
            taper: Taper::Log,
            ..Self::linear(name, unit, min, max, default)
        }
    }

    /// An enumeration with labels for the values 0, 1, 2, ...; not automatable.
    pub const fn enumeration(name: &'static str, labels: &'static [&'static str], default: f64) -> Self {
        ParamSpec {
            name,
            unit: "",
            min: 0.0,
            max: (labels.len() - 1) as f64,
            default,
            kind: ParamKind::Enum(labels),
            automatable: false,
            taper: Taper::Linear,
            changes_latency: false,
        }
    }

    /// An on/off switch (0 or 1).
    pub const fn switch(name: &'static str, default: f64) -> Self {
        Self::enumeration(name, &["off", "on"], default)
    }

    /// An integer count in `min..=max`; not automatable.
    pub const fn integer(name: &'static str, min: f64, max: f64, default: f64) -> Self {
        ParamSpec {
            name,
            unit: "",
            min,
            max,
            default,
            kind: ParamKind::Integer,
            automatable: false,
            taper: Taper::Linear,
            changes_latency: false,
        }
    }

    /// A continuous parameter that changes latency or structure: crossfaded, not automatable.
    pub const fn structural(name: &'static str, unit: &'static str, min: f64, max: f64, default: f64) -> Self {
        ParamSpec {
            kind: ParamKind::Structural,
            automatable: false,
            ..Self::linear(name, unit, min, max, default)
        }
    }

    /// The same parameter, marked as changing the effect's latency when it changes (`lookaheadMs`,
    /// `oversample`): listed as `changesLatency`, so a host knows to re-align after a change.
    pub const fn changing_latency(self) -> Self {
        ParamSpec {
            changes_latency: true,
            ..self
        }
    }

    /// The same parameter with a logarithmic UI taper (min must be > 0), for a range spanning a large ratio
    /// whose kind is not [`ParamKind::Log`] (a structural time, a linearly gliding spacing).
    pub const fn log_taper(self) -> Self {
        ParamSpec {
            taper: Taper::Log,
            ..self
        }
    }

    /// Whether values must be whole numbers.
    pub fn is_integer(&self) -> bool {
        matches!(
            self.kind,
            ParamKind::Integer | ParamKind::Enum(_) | ParamKind::Choice(_)
        )
    }

    /// Whether a user change glides (smoothed) rather than crossfades.
    pub fn glides(&self) -> bool {
        matches!(self.kind, ParamKind::Linear | ParamKind::Log)
    }

    /// The allowed values with labels, for enumerations, switches and choices.
    pub fn labelled_values(&self) -> Option<Vec<(f64, &'static str)>> {
        match self.kind {
            ParamKind::Enum(labels) => Some(labels.iter().enumerate().map(|(i, l)| (i as f64, *l)).collect()),
            ParamKind::Choice(choices) => Some(choices.to_vec()),
            _ => None,
        }
    }

    /// A human-readable description of the allowed values, used in error messages.
    pub fn allowed(&self) -> String {
        match self.kind {
            ParamKind::Enum(labels) => {
                let list: Vec<String> = labels.iter().enumerate().map(|(i, l)| format!("{i} ({l})")).collect();
                format!("one of {}", list.join(", "))
            }
            ParamKind::Choice(choices) => {
                let list: Vec<String> = choices.iter().map(|(v, _)| format!("{v}")).collect();
                format!("one of {}", list.join(", "))
            }
            ParamKind::Integer => format!("a whole number from {} to {}", self.min, self.max),
            _ => format!("a number from {} to {}", self.min, self.max),
        }
    }

    /// Checks a value against this parameter's range and kind.
    pub fn check(&self, value: f64) -> Result<f64, ParamProblem> {
        if !value.is_finite() {
            return Err(ParamProblem::NotFinite);
        }
        if self.is_integer() && value.fract() != 0.0 {
            return Err(ParamProblem::NotInteger);
        }
        let in_range = match self.kind {
            ParamKind::Choice(choices) => choices.iter().any(|(v, _)| *v == value),
            _ => value >= self.min && value <= self.max,
        };
        if in_range {
            Ok(value)
        } else {
            Err(ParamProblem::OutOfRange)
        }
    }
}

/// A named set of parameter values. Parameters a preset leaves out take their defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    pub name: &'static str,
    pub values: &'static [(&'static str, f64)],
}

/// The category an effect is listed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Eq,
    Dynamics,
    Saturation,
    Delay,
    Reverb,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Eq => "eq",
            Category::Dynamics => "dynamics",
            Category::Saturation => "saturation",
            Category::Delay => "delay",
            Category::Reverb => "reverb",
        }
    }
}

/// The static description of one effect.
#[derive(Debug)]
pub struct EffectSpec {
    pub id: &'static str,
    pub name: &'static str,
    pub category: Category,
    pub params: &'static [ParamSpec],
    /// Named presets besides "init" (which every effect has and which equals the defaults).
    pub presets: &'static [Preset],
}

/// The name of the preset that every effect has and that equals its defaults.
pub const INIT_PRESET: &str = "init";

impl EffectSpec {
    /// The index of a parameter by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }

    /// The index of a parameter by name, or an error naming the effect and the parameters it has.
    pub fn param_index(&self, name: &str) -> Result<usize, ParamError> {
        self.index_of(name).ok_or_else(|| ParamError {
            effect: self.id,
            param: name.to_string(),
            value: None,
            problem: ParamProblem::Unknown,
            allowed: self.params.iter().map(|p| p.name).collect::<Vec<_>>().join(", "),
        })
    }

    /// The default value of every parameter, in table order.
    pub fn defaults(&self) -> Vec<f64> {
        self.params.iter().map(|p| p.default).collect()
    }

    /// Validates one value for the parameter at `index`.
    pub fn check(&self, index: usize, value: f64) -> Result<f64, ParamError> {
        let spec = &self.params[index];
        spec.check(value).map_err(|problem| ParamError {
            effect: self.id,
            param: spec.name.to_string(),
            value: Some(value),
            problem,
            allowed: spec.allowed(),
        })
    }

    /// All presets, "init" first.
    pub fn all_presets(&self) -> impl Iterator<Item = Preset> + '_ {
        std::iter::once(Preset {
            name: INIT_PRESET,
            values: &[],
        })
        .chain(self.presets.iter().copied())
    }

    /// Finds a preset by name ("init" included).
    pub fn preset(&self, name: &str) -> Result<Preset, ParamError> {
        self.all_presets().find(|p| p.name == name).ok_or_else(|| ParamError {
            effect: self.id,
            param: "preset".to_string(),
            value: None,
            problem: ParamProblem::UnknownPreset(name.to_string()),
            allowed: self.all_presets().map(|p| p.name).collect::<Vec<_>>().join(", "),
        })
    }

    /// Builds a complete, validated parameter vector: defaults, then the preset (if any), then `values`.
    pub fn resolve<'a>(
        &self,
        preset: Option<&str>,
        values: impl IntoIterator<Item = (&'a str, f64)>,
    ) -> Result<Vec<f64>, ParamError> {
        let mut out = self.defaults();
        if let Some(name) = preset {
            for (param, value) in self.preset(name)?.values {
                let i = self.param_index(param)?;
                out[i] = self.check(i, *value)?;
            }
        }
        for (param, value) in values {
            let i = self.param_index(param)?;
            out[i] = self.check(i, value)?;
        }
        Ok(out)
    }
}

/// What was wrong with a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamProblem {
    Unknown,
    UnknownPreset(String),
    NotFinite,
    NotInteger,
    OutOfRange,
}

/// A rejected parameter: names the effect, the parameter, the value and the allowed values.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamError {
    pub effect: &'static str,
    pub param: String,
    pub value: Option<f64>,
    pub problem: ParamProblem,
    pub allowed: String,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (effect, param, allowed) = (self.effect, &self.param, &self.allowed);
        let value = self.value.map(|v| format!("{v}")).unwrap_or_default();
        match &self.problem {
            ParamProblem::Unknown => {
                write!(
                    f,
                    "effect '{effect}' has no parameter '{param}' (parameters: {allowed})"
                )
            }
            ParamProblem::UnknownPreset(name) => {
                write!(f, "effect '{effect}' has no preset '{name}' (presets: {allowed})")
            }
            ParamProblem::NotFinite => {
                write!(
                    f,
                    "effect '{effect}': parameter '{param}' = {value} is not a finite number; allowed: {allowed}"
                )
            }
            ParamProblem::NotInteger => {
                write!(
                    f,
                    "effect '{effect}': parameter '{param}' = {value} must be a whole number; allowed: {allowed}"
                )
            }
            ParamProblem::OutOfRange => {
                write!(
                    f,
                    "effect '{effect}': parameter '{param}' = {value} is out of range; allowed: {allowed}"
                )
            }
        }
    }
}

impl std::error::Error for ParamError {}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: &[ParamSpec] = &[
        ParamSpec::linear("gainDb", "dB", -24.0, 24.0, 0.0),
        ParamSpec::integer("order", 1.0, 8.0, 2.0),
        ParamSpec::enumeration("mode", &["highPass", "lowPass"], 0.0),
        ParamSpec {
            kind: ParamKind::Choice(&[(1.0, "1x"), (2.0, "2x"), (4.0, "4x"), (8.0, "8x")]),
            ..ParamSpec::integer("oversample", 1.0, 8.0, 2.0)
        },
    ];
    const SPEC: EffectSpec = EffectSpec {
        id: "test-effect",
        name: "Test",
        category: Category::Eq,
        params: PARAMS,
        presets: &[Preset {
            name: "loud",
            values: &[("gainDb", 12.0)],
        }],
    };

    #[test]
    fn errors_name_effect_parameter_value_and_allowed_values() {
        let e = SPEC.resolve(None, [("gainDb", 30.0)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "effect 'test-effect': parameter 'gainDb' = 30 is out of range; allowed: a number from -24 to 24"
        );
        let e = SPEC.resolve(None, [("order", 2.5)]).unwrap_err();
        assert!(e.to_string().contains("'order' = 2.5 must be a whole number"), "{e}");
        let e = SPEC.resolve(None, [("mode", 2.0)]).unwrap_err();
        assert!(e.to_string().contains("one of 0 (highPass), 1 (lowPass)"), "{e}");
        let e = SPEC.resolve(None, [("oversample", 3.0)]).unwrap_err();
        assert!(e.to_string().contains("one of 1, 2, 4, 8"), "{e}");
        let e = SPEC.resolve(None, [("gainDb", f64::NAN)]).unwrap_err();
        assert!(e.to_string().contains("not a finite number"), "{e}");
        let e = SPEC.resolve(None, [("gain", 1.0)]).unwrap_err();
        assert!(
            e.to_string()
                .contains("has no parameter 'gain' (parameters: gainDb, order"),
            "{e}"
        );
        let e = SPEC.resolve(Some("quiet"), []).unwrap_err();
        assert!(e.to_string().contains("no preset 'quiet' (presets: init, loud)"), "{e}");
    }

    #[test]
    fn resolve_layers_defaults_preset_and_values() {
        assert_eq!(SPEC.resolve(None, []).unwrap(), vec![0.0, 2.0, 0.0, 2.0]);
        assert_eq!(SPEC.resolve(Some("loud"), []).unwrap(), vec![12.0, 2.0, 0.0, 2.0]);
        assert_eq!(
            SPEC.resolve(Some("loud"), [("gainDb", -3.0), ("oversample", 8.0)])
                .unwrap(),
            vec![-3.0, 2.0, 0.0, 8.0]
        );
    }
}
