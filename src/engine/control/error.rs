//! The errors of a project: what was wrong ([`Problem`]) and where, as a JSON path such as
//! `tracks[2].inserts[0].parameters.ratio` ([`ProjectError`]).

use crate::effects::CreateError;
use crate::params::ParamError;
use std::fmt;

/// What was wrong with a value of a project.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// The text is not JSON (serde_json's message, with line and column).
    Malformed(String),
    /// A value of the wrong JSON type.
    WrongType {
        expected: &'static str,
        found: &'static str,
    },
    /// A required key is absent (the path is the object's).
    Missing(&'static str),
    /// A number outside its range (inclusive bounds, in the parameter's own unit).
    OutOfRange {
        value: f64,
        min: f64,
        max: f64,
        unit: &'static str,
    },
    /// A number that must be whole.
    NotInteger(f64),
    /// A string that is not one of the allowed values.
    UnknownValue { value: String, allowed: String },
    /// An effect id that is not in the registry.
    Effect(CreateError),
    /// An effect parameter that is unknown, out of range or fractional.
    Param(ParamError),
    /// A wave-shaper curve that is not 2 to 4096 values, or a curve on another effect.
    Curve(String),
    /// An id used twice (tracks and buses share one namespace; inserts and sends are unique per strip).
    DuplicateId { id: String, first: String },
    /// A `routing`, send `destination` or sidechain source that names no bus (or, for a sidechain, no strip).
    UnknownDestination { id: String, known: String },
    /// A `routing` or send `destination` that names a track that is not a bus.
    NotABus { id: String },
    /// A bus's `trackIds` disagrees with a track's `routing`.
    TrackIdsDisagree {
        track: String,
        bus: String,
        routing_path: String,
        routing: String,
    },
    /// The master given twice (a `master-main`/`master` track and the `master` object, or two master tracks).
    MasterTwice { first: String },
    /// A routing cycle, named by its ids: "bus-a -> bus-b -> bus-a".
    Cycle(String),
    /// An automation target (track, bus, send or insert) that does not exist.
    UnknownTarget {
        what: &'static str,
        id: String,
        known: String,
    },
    /// An automation parameter that cannot be automated, with the reason.
    NotAutomatable { parameter: String, reason: String },
    /// A sidechain on an effect that takes no key input.
    NoSidechain { effect: &'static str },
    /// An automation entry with neither points nor an LFO.
    NothingToAutomate,
    /// Keys of which exactly one must be given (an LFO's `rateHz` or `periodBeats`).
    ExactlyOneOf(&'static [&'static str]),
    /// A time that must come after another (a loop's `endTime` after its `startTime`).
    NotAfter {
        value: f64,
        other_key: &'static str,
        other: f64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Malformed(message) => write!(f, "malformed JSON: {message}"),
            Problem::WrongType { expected, found } => write!(f, "expected {expected}, found {found}"),
            Problem::Missing(key) => write!(f, "missing key '{key}'"),
            Problem::OutOfRange { value, min, max, unit } => {
                let unit = if unit.is_empty() {
                    String::new()
                } else {
                    format!(" {unit}")
                };
                write!(f, "{value}{unit} is out of range (allowed: {min} to {max}{unit})")
            }
            Problem::NotInteger(value) => write!(f, "{value} must be a whole number"),
            Problem::UnknownValue { value, allowed } => write!(f, "unknown value '{value}' (allowed: {allowed})"),
            Problem::Effect(e) => e.fmt(f),
            Problem::Param(e) => e.fmt(f),
            Problem::Curve(message) => f.write_str(message),
            Problem::DuplicateId { id, first } => write!(f, "id '{id}' is already used at {first}"),
            Problem::UnknownDestination { id, known } => {
                write!(f, "'{id}' names no bus (allowed: Master, {known})")
            }
            Problem::NotABus { id } => write!(f, "'{id}' is a track, not a bus (route to \"Master\" or a bus id)"),
            Problem::TrackIdsDisagree {
                track,
                bus,
                routing_path,
                routing,
            } => write!(
                f,
                "bus '{bus}' and track '{track}' disagree: the track's routing ({routing_path}) is '{routing}'"
            ),
            Problem::MasterTwice { first } => write!(f, "the master is already given at {first}"),
            Problem::Cycle(cycle) => write!(f, "routing cycle: {cycle}"),
            Problem::UnknownTarget { what, id, known } => write!(f, "no {what} '{id}' (known: {known})"),
            Problem::NotAutomatable { parameter, reason } => {
                write!(f, "parameter '{parameter}' cannot be automated: {reason}")
            }
            Problem::NoSidechain { effect } => write!(
                f,
                "effect '{effect}' takes no sidechain (only compressor, expander and gate do)"
            ),
            Problem::NothingToAutomate => f.write_str("an automation entry needs at least one point or an lfo"),
            Problem::ExactlyOneOf(keys) => write!(f, "give exactly one of {}", keys.join(", ")),
            Problem::NotAfter {
                value,
                other_key,
                other,
            } => {
                write!(f, "{value} s must be after {other_key} ({other} s)")
            }
        }
    }
}

/// A problem with a project at a JSON path (empty when the problem is with the text as a whole).
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectError {
    pub path: String,
    /// Boxed so that results carrying the error stay small.
    pub problem: Box<Problem>,
}

impl ProjectError {
    pub fn at(path: impl Into<String>, problem: Problem) -> Self {
        ProjectError {
            path: path.into(),
            problem: Box::new(problem),
        }
    }
}

impl fmt::Display for ProjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            self.problem.fmt(f)
        } else {
            write!(f, "{}: {}", self.path, self.problem)
        }
    }
}

impl std::error::Error for ProjectError {}

/// Something accepted but worth telling the user (a `vca` track ignored, an unknown plugin type bypassed, an
/// unknown key skipped), at a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}
