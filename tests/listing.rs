//! The effect listing (`corelogic_dsp::listing`) against the effects themselves: the `changesLatency` flag
//! against measured latencies, `maxLatencySamplesAt48k` against the largest latency a sweep of the parameters reaches, the
//! tapers against the parameter kinds, and the JSON keys against the typed listing.

use corelogic_dsp::effects::{self, limiter};
use corelogic_dsp::listing::{listing, listing_json};
use corelogic_dsp::params::{ParamKind, ParamSpec};
use corelogic_dsp::{Event, Source, Taper};
use serde_json::Value;

const RATE_HZ: f64 = 48_000.0;

/// Points a continuous parameter is tried at, ends included (independent of the listing's own sweep).
const CONTINUOUS_POINTS: usize = 11;

/// Every allowed value of a discrete parameter; evenly spaced points plus the default for a continuous one.
fn sweep(p: &ParamSpec) -> Vec<f64> {
    match p.kind {
        ParamKind::Choice(choices) => choices.iter().map(|(v, _)| *v).collect(),
        ParamKind::Enum(_) | ParamKind::Integer => (p.min as i64..=p.max as i64).map(|v| v as f64).collect(),
        _ => (0..CONTINUOUS_POINTS)
            .map(|i| p.min + (p.max - p.min) * i as f64 / (CONTINUOUS_POINTS - 1) as f64)
            .chain([p.default])
            .collect(),
    }
}

/// The latency at 48 kHz with one parameter set and the others at their defaults.
fn latency_with(id: &str, name: &str, value: f64) -> usize {
    effects::create(id, RATE_HZ, [(name, value)])
        .unwrap_or_else(|e| panic!("{id} {name}={value}: {e}"))
        .latency()
}

#[test]
fn changes_latency_is_set_exactly_where_sweeping_a_parameter_changes_the_latency() {
    let mut flagged = Vec::new();
    for entry in effects::registry() {
        let id = entry.spec.id;
        for p in entry.spec.params {
            let mut latencies: Vec<usize> = sweep(p).iter().map(|v| latency_with(id, p.name, *v)).collect();
            latencies.sort_unstable();
            latencies.dedup();
            let changes = latencies.len() > 1;
            assert_eq!(
                p.changes_latency, changes,
                "{id} {}: flag {} but latencies over its values {latencies:?}",
                p.name, p.changes_latency
            );
            if changes {
                flagged.push(format!("{id}.{}", p.name));
            }
        }
    }
    // The parameters the effect contract names as changing latency (a limiter `truePeak` joins when it exists).
    for known in [
        "limiter.lookaheadMs",
        "saturation.oversample",
        "distortion.oversample",
        "wave-shaper.oversample",
    ] {
        assert!(flagged.iter().any(|f| f == known), "{known} not flagged: {flagged:?}");
    }
}

#[test]
fn a_latency_changing_parameter_set_while_running_reports_the_new_latency() {
    const BLOCK_FRAMES: usize = 256;
    // Well past the ~20 ms crossfade that switches the kernel over.
    const BLOCKS: usize = 16;
    for entry in effects::registry() {
        for p in entry.spec.params.iter().filter(|p| p.changes_latency) {
            let mut effect = entry.create(RATE_HZ, None, []).unwrap();
            let event = Event::set(entry.spec, p.name, p.max, 0, Source::User).unwrap();
            let (mut left, mut right) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
            effect.process(&mut left, &mut right, &[event]);
            for _ in 1..BLOCKS {
                effect.process(&mut left, &mut right, &[]);
            }
            let expected = latency_with(entry.spec.id, p.name, p.max);
            assert_eq!(effect.latency(), expected, "{} {} = {}", entry.spec.id, p.name, p.max);
        }
    }
}

/// The largest latency reached over every combination of an effect's latency-changing parameters (each at
/// the points of [`sweep`], the others at their defaults).
fn swept_max_latency(entry: &effects::EffectEntry) -> usize {
    let changing: Vec<&ParamSpec> = entry.spec.params.iter().filter(|p| p.changes_latency).collect();
    let sweeps: Vec<Vec<f64>> = changing.iter().map(|p| sweep(p)).collect();
    let combinations: usize = sweeps.iter().map(Vec::len).product();
    (0..combinations)
        .map(|mut k| {
            // Combination k in mixed radix: one digit per latency-changing parameter.
            let values: Vec<(&str, f64)> = changing
                .iter()
                .zip(&sweeps)
                .map(|(p, points)| {
                    let v = points[k % points.len()];
                    k /= points.len();
                    (p.name, v)
                })
                .collect();
            entry.create(RATE_HZ, None, values).unwrap().latency()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn max_latency_is_the_largest_latency_the_parameters_reach() {
    let listing = listing().unwrap();
    assert_eq!(
        listing.len(),
        effects::registry().len(),
        "a registered effect is missing here"
    );
    for (effect, entry) in listing.iter().zip(effects::registry()) {
        assert_eq!(effect.id, entry.spec.id);
        let reached = swept_max_latency(entry);
        assert_eq!(effect.max_latency_samples_at_48k, reached, "{}", effect.id);
        assert!(effect.latency_samples_at_48k <= reached, "{}", effect.id);
    }
    // The limiter's latency is its lookahead, round(10 ms x 48 kHz) at most, plus the true-peak detector's
    // fixed delay when `truePeak` is on.
    let limiter = listing.iter().find(|e| e.id == "limiter").unwrap();
    assert_eq!(
        (limiter.latency_samples_at_48k, limiter.max_latency_samples_at_48k),
        (240, 480 + limiter::TRUE_PEAK_EXTRA_LATENCY)
    );
}

#[test]
fn tapers_are_log_for_log_kinds_and_only_where_the_range_is_positive() {
    for entry in effects::registry() {
        for p in entry.spec.params {
            let what = format!("{} {}", entry.spec.id, p.name);
            if p.kind == ParamKind::Log {
                assert_eq!(p.taper, Taper::Log, "{what}");
            }
            if p.taper == Taper::Log {
                assert!(
                    p.min > 0.0 && !p.is_integer(),
                    "{what}: a log taper needs a positive continuous range"
                );
            }
        }
    }
    let taper = |id: &str, name: &str| {
        let spec = effects::find(id).unwrap().spec;
        spec.params[spec.index_of(name).unwrap()].taper
    };
    assert_eq!(taper("limiter", "lookaheadMs"), Taper::Log);
    assert_eq!(taper("multi-tap-delay", "spacingMs"), Taper::Log);
    assert_eq!(
        taper("simple-delay", "timeMs"),
        Taper::Linear,
        "starts at 0: no log taper"
    );
}

#[test]
fn the_json_carries_taper_changes_latency_and_max_latency_for_every_parameter() {
    let json: Value = serde_json::from_str(&listing_json().unwrap()).unwrap();
    let effects = json.as_array().unwrap();
    assert_eq!(effects.len(), effects::registry().len());
    for (effect, entry) in effects.iter().zip(effects::registry()) {
        assert_eq!(effect["id"], entry.spec.id);
        let max = effect["maxLatencySamplesAt48k"].as_u64().unwrap();
        assert!(effect["latencySamplesAt48k"].as_u64().unwrap() <= max);
        let parameters = effect["parameters"].as_array().unwrap();
        assert_eq!(parameters.len(), entry.spec.params.len());
        for (p, spec) in parameters.iter().zip(entry.spec.params) {
            let expected_taper = match spec.taper {
                Taper::Linear => "linear",
                Taper::Log => "log",
            };
            assert_eq!(p["taper"], expected_taper, "{} {}", entry.spec.id, spec.name);
            assert_eq!(
                p["changesLatency"], spec.changes_latency,
                "{} {}",
                entry.spec.id, spec.name
            );
        }
    }
}
