//! The conformance suite: every registered effect is held to the requirements that apply to every effect
//! (the effect contract): block-size independence with user and automation changes, crossfaded integer changes and
//! bypass; no allocation in `process`; the NaN/Inf rule; finite output for hostile inputs; `mix = 0` and
//! bypass equal the input delayed by the reported latency; the tail bound; reset; valid tables and presets.
//! Registering an effect is enough to be tested here.

mod common;
mod signals;
use common::allocations;
use corelogic_dsp::effects::MAX_TAIL_SECONDS;
use corelogic_dsp::effects::{registry, EffectEntry};
use corelogic_dsp::params::{ParamKind, ParamSpec};
use corelogic_dsp::{Action, Effect, Event, Source, Tail};
use signals::Noise;

/// Noise plus a sweep of sines, at about -12 dBFS: exercises filters and dynamics alike.
fn test_signal(frames: usize, sample_rate: f64, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut noise = Noise(seed);
    let mut left = Vec::with_capacity(frames);
    let mut right = Vec::with_capacity(frames);
    for n in 0..frames {
        let t = n as f64 / sample_rate;
        // Loud and quiet passages, so dynamics move.
        let envelope = if (n / 4000) % 2 == 0 { 0.5 } else { 0.05 };
        let sine = (2.0 * std::f64::consts::PI * 220.0 * t * (1.0 + t)).sin() as f32;
        left.push(envelope * (0.5 * sine + 0.3 * noise.next()));
        right.push(envelope * (0.4 * sine + 0.3 * noise.next()));
    }
    (left, right)
}

/// A value well inside the range, different from the default: where a change should be audible.
fn other_value(p: &ParamSpec, fraction: f64) -> f64 {
    match p.kind {
        ParamKind::Choice(choices) => {
            let i = choices.iter().position(|(v, _)| *v == p.default).unwrap_or(0);
            choices[(i + 1) % choices.len()].0
        }
        ParamKind::Enum(_) | ParamKind::Integer => {
            let v = p.min + ((p.max - p.min) * fraction).round();
            if v == p.default {
                if v < p.max {
                    v + 1.0
                } else {
                    v - 1.0
                }
            } else {
                v
            }
        }
        ParamKind::Log => p.min * (p.max / p.min).powf(fraction),
        ParamKind::Linear | ParamKind::Structural => p.min + (p.max - p.min) * fraction,
    }
}

/// Changes of every parameter at frames that are not multiples of 16 (one in the middle of the second 4096
/// block), user and automation alternating, plus a bypass and an enable.
fn hostile_schedule(entry: &EffectEntry) -> Vec<Event> {
    let mut events = Vec::new();
    let mut frame = 1003;
    for (index, p) in entry.spec.params.iter().enumerate() {
        let source = if index % 2 == 0 {
            Source::User
        } else {
            Source::Automation
        };
        let value = other_value(p, 0.35);
        events.push(Event {
            frame,
            action: Action::Set { index, value, source },
        });
        frame += 97;
    }
    events.push(Event::enable(false, 4096 + 2051));
    events.push(Event::enable(true, 4096 + 2051 + 500));
    for (index, p) in entry.spec.params.iter().enumerate().rev() {
        if p.automatable {
            events.push(Event {
                frame: frame + 3,
                action: Action::Set {
                    index,
                    value: other_value(p, 0.8),
                    source: Source::Automation,
                },
            });
            frame += 13;
        }
    }
    events.sort_by_key(|e| e.frame);
    events
}

/// Processes a signal in blocks of `block` frames, passing each block the events that fall in it.
fn run_blocks(
    effect: &mut dyn Effect,
    left: &[f32],
    right: &[f32],
    events: &[Event],
    block: usize,
) -> (Vec<f32>, Vec<f32>) {
    let (mut l, mut r) = (left.to_vec(), right.to_vec());
    let mut start = 0;
    while start < l.len() {
        let end = (start + block).min(l.len());
        let first = events.partition_point(|e| e.frame < start as u64);
        let last = events.partition_point(|e| e.frame < end as u64);
        effect.process(&mut l[start..end], &mut r[start..end], &events[first..last]);
        start = end;
    }
    (l, r)
}

fn create(entry: &EffectEntry, sample_rate: f64) -> Box<dyn Effect> {
    entry.create(sample_rate, None, []).expect("defaults are valid")
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn output_does_not_depend_on_block_size_with_changes_at_odd_frames() {
    let sample_rate = 48_000.0;
    let (left, right) = test_signal(3 * 4096 + 777, sample_rate, 7);
    for entry in registry() {
        let events = hostile_schedule(entry);
        let mut reference = create(entry, sample_rate);
        let (ref_l, ref_r) = run_blocks(reference.as_mut(), &left, &right, &events, 4096);
        for block in [1, 7, 128] {
            let mut effect = create(entry, sample_rate);
            let (l, r) = run_blocks(effect.as_mut(), &left, &right, &events, block);
            let diff = max_abs_diff(&l, &ref_l).max(max_abs_diff(&r, &ref_r));
            assert!(
                diff <= 1e-6,
                "{}: block {block} differs from block 4096 by {diff}",
                entry.spec.id
            );
        }
    }
}

#[test]
fn process_never_allocates_even_during_changes_crossfades_and_bypass() {
    for sample_rate in [44_100.0, 192_000.0] {
        let (left, right) = test_signal(3 * 4096 + 777, sample_rate, 11);
        for entry in registry() {
            let events = hostile_schedule(entry);
            let mut effect = create(entry, sample_rate);
            let (mut l, mut r) = (left.clone(), right.clone());
            let mut long = vec![0.1f32; 10_000];
            let mut long_r = long.clone();
            let before = allocations();
            let mut start = 0;
            for block in [128, 1, 4096, 7, 4096, 4096, 4096].iter().cycle() {
                if start >= l.len() {
                    break;
                }
                let end = (start + block).min(l.len());
                let first = events.partition_point(|e| e.frame < start as u64);
                let last = events.partition_point(|e| e.frame < end as u64);
                effect.process(&mut l[start..end], &mut r[start..end], &events[first..last]);
                start = end;
            }
            // A slice longer than the largest block is split inside, and reset is real-time safe too.
            effect.process(&mut long, &mut long_r, &[]);
            effect.reset();
            let _ = (effect.latency(), effect.tail(), effect.gain_reduction_db());
            let after = allocations();
            assert_eq!(
                after - before,
                0,
                "{} allocated in process at {sample_rate} Hz",
                entry.spec.id
            );
        }
    }
}

/// Parameter sets that stress an effect: defaults, each preset, every parameter at its minimum, at its maximum.
fn stress_settings(entry: &EffectEntry) -> Vec<(String, Vec<(&'static str, f64)>)> {
    let spec = entry.spec;
    let mut out: Vec<(String, Vec<(&'static str, f64)>)> = vec![("defaults".into(), vec![])];
    for preset in spec.all_presets() {
        out.push((format!("preset {}", preset.name), preset.values.to_vec()));
    }
    let extreme = |pick: fn(&ParamSpec) -> f64| spec.params.iter().map(|p| (p.name, pick(p))).collect::<Vec<_>>();
    let min = |p: &ParamSpec| match p.kind {
        ParamKind::Choice(c) => c[0].0,
        _ => p.min,
    };
    let max = |p: &ParamSpec| match p.kind {
        ParamKind::Choice(c) => c[c.len() - 1].0,
        _ => p.max,
    };
    out.push(("all minimum".into(), extreme(min)));
    out.push(("all maximum".into(), extreme(max)));
    out
}

#[test]
fn non_finite_input_samples_are_taken_as_zero() {
    let sample_rate = 48_000.0;
    let (left, right) = test_signal(9000, sample_rate, 3);
    let (mut bad_l, mut bad_r) = (left.clone(), right.clone());
    let (mut zeroed_l, mut zeroed_r) = (left, right);
    for (i, x) in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::NAN]
        .iter()
        .enumerate()
    {
        for n in [100 + i, 4000 + 7 * i, 8000 + i] {
            bad_l[n] = *x;
            bad_r[n + 1] = *x;
            zeroed_l[n] = 0.0;
            zeroed_r[n + 1] = 0.0;
        }
    }
    for entry in registry() {
        for (name, values) in stress_settings(entry) {
            let mut a = entry.create(sample_rate, None, values.iter().copied()).unwrap();
            let mut b = entry.create(sample_rate, None, values.iter().copied()).unwrap();
            let (out_l, out_r) = run_blocks(a.as_mut(), &bad_l, &bad_r, &[], 128);
            let (exp_l, exp_r) = run_blocks(b.as_mut(), &zeroed_l, &zeroed_r, &[], 128);
            let diff = max_abs_diff(&out_l, &exp_l).max(max_abs_diff(&out_r, &exp_r));
            assert!(
                diff <= 1e-6,
                "{} ({name}): NaN/Inf input differs from zeros by {diff}",
                entry.spec.id
            );
        }
    }
}

#[test]
fn output_stays_finite_for_hostile_inputs_at_every_setting_and_rate() {
    let frames = 6000;
    let mut noise = Noise(99);
    let hot: Vec<f32> = (0..frames).map(|_| 15.85 * noise.next()).collect(); // +24 dBFS
    let inputs: Vec<(&str, Vec<f32>)> = vec![
        ("silence", vec![0.0; frames]),
        ("DC", vec![1.0; frames]),
        (
            "full-scale square",
            (0..frames)
                .map(|n| if (n / 20) % 2 == 0 { 1.0 } else { -1.0 })
                .collect(),
        ),
        ("+24 dB noise", hot),
        (
            "denormal level",
            (0..frames).map(|n| if n % 2 == 0 { 1e-40 } else { -3e-39 }).collect(),
        ),
    ];
    for sample_rate in [8_000.0, 44_100.0, 192_000.0] {
        for entry in registry() {
            for (setting, values) in stress_settings(entry) {
                for (name, input) in &inputs {
                    let mut effect = entry.create(sample_rate, None, values.iter().copied()).unwrap();
                    let (l, r) = run_blocks(effect.as_mut(), input, input, &[], 512);
                    let finite = l.iter().chain(&r).all(|x| x.is_finite());
                    assert!(
                        finite,
                        "{} ({setting}) at {sample_rate} Hz: non-finite output for {name}",
                        entry.spec.id
                    );
                    let peak = l.iter().chain(&r).fold(0.0f32, |m, x| m.max(x.abs()));
                    assert!(
                        peak < 1e4,
                        "{} ({setting}): {name} gave a runaway peak {peak}",
                        entry.spec.id
                    );
                }
            }
        }
    }
}

fn delayed(x: &[f32], latency: usize) -> Vec<f32> {
    (0..x.len())
        .map(|n| if n >= latency { x[n - latency] } else { 0.0 })
        .collect()
}

#[test]
fn mix_zero_equals_the_input_delayed_by_the_latency() {
    let sample_rate = 48_000.0;
    let (left, right) = test_signal(10_000, sample_rate, 5);
    for entry in registry().iter().filter(|e| e.spec.index_of("mix").is_some()) {
        for (setting, mut values) in stress_settings(entry) {
            values.retain(|(n, _)| *n != "mix");
            values.push(("mix", 0.0));
            let mut effect = entry.create(sample_rate, None, values.iter().copied()).unwrap();
            let latency = effect.latency();
            let (l, r) = run_blocks(effect.as_mut(), &left, &right, &[], 128);
            let diff = max_abs_diff(&l, &delayed(&left, latency)).max(max_abs_diff(&r, &delayed(&right, latency)));
            assert!(
                diff <= 1e-6,
                "{} ({setting}): mix 0 differs from the delayed input by {diff}",
                entry.spec.id
            );
        }
    }
}

#[test]
fn bypass_passes_the_input_delayed_by_the_latency_and_fades_without_a_jump() {
    let sample_rate = 48_000.0;
    let frames = 12_000;
    let (left, right) = test_signal(frames, sample_rate, 13);
    for entry in registry() {
        let mut effect = create(entry, sample_rate);
        let latency = effect.latency();
        let events = [Event::enable(false, 0)];
        let (l, r) = run_blocks(effect.as_mut(), &left, &right, &events, 128);
        // The fade from the first frame takes 20 ms; after it the output is exactly the delayed input.
        let settled = (0.02 * sample_rate) as usize + 1;
        let (dl, dr) = (delayed(&left, latency), delayed(&right, latency));
        let diff = max_abs_diff(&l[settled..], &dl[settled..]).max(max_abs_diff(&r[settled..], &dr[settled..]));
        assert!(
            diff == 0.0,
            "{}: bypassed output differs from the delayed input by {diff}",
            entry.spec.id
        );

        // Toggling bypass on a steady tone: the output moves from one path to the other linearly over 20 ms,
        // so no sample is further from both paths than the paths are from each other.
        let tone: Vec<f32> = (0..frames).map(|n| 0.5 * (n as f32 * 0.05).sin()).collect();
        let mut wet = create(entry, sample_rate);
        let (wet_l, _) = run_blocks(wet.as_mut(), &tone, &tone, &[], 128);
        let mut toggled = create(entry, sample_rate);
        let events = [Event::enable(false, 6001)];
        let (out_l, _) = run_blocks(toggled.as_mut(), &tone, &tone, &events, 128);
        let dry = delayed(&tone, latency);
        for n in 0..frames {
            let (lo, hi) = (wet_l[n].min(dry[n]), wet_l[n].max(dry[n]));
            assert!(
                out_l[n] >= lo - 1e-6 && out_l[n] <= hi + 1e-6,
                "{}: frame {n} of a bypass fade leaves the span of the two paths",
                entry.spec.id
            );
        }
    }
}

#[test]
fn the_reported_tail_bounds_the_impulse_response() {
    for sample_rate in [8_000.0, 48_000.0, 192_000.0] {
        for entry in registry() {
            for (setting, values) in stress_settings(entry) {
                let mut effect = entry.create(sample_rate, None, values.iter().copied()).unwrap();
                let Tail::Samples(tail) = effect.tail() else {
                    continue;
                };
                // the effect contract caps the reported tail at 30 s: a tail at the cap (a 5 s delay at 0.95 feedback rings
                // for minutes) is the cap, not a bound, so there is nothing to check beyond it.
                if tail >= (MAX_TAIL_SECONDS * sample_rate) as u64 {
                    continue;
                }
                let end = effect.latency() + tail as usize;
                let frames = end + 2048;
                if frames > 4_000_000 {
                    continue;
                }
                let mut impulse = vec![0.0f32; frames];
                impulse[0] = 0.5;
                let (l, r) = run_blocks(effect.as_mut(), &impulse, &impulse, &[], 4096);
                let peak = l.iter().chain(&r).fold(0.0f32, |m, x| m.max(x.abs()));
                let after = l[end + 1..]
                    .iter()
                    .chain(&r[end + 1..])
                    .fold(0.0f32, |m, x| m.max(x.abs()));
                assert!(
                    after <= peak * 1e-5 + 1e-7,
                    "{} ({setting}) at {sample_rate} Hz: {after} after the tail of {tail} samples (peak {peak})",
                    entry.spec.id
                );
            }
        }
    }
}

#[test]
fn reset_clears_all_audio_state() {
    let sample_rate = 48_000.0;
    let (left, right) = test_signal(8000, sample_rate, 21);
    for entry in registry() {
        for (setting, values) in stress_settings(entry) {
            let mut effect = entry.create(sample_rate, None, values.iter().copied()).unwrap();
            let _ = run_blocks(effect.as_mut(), &left, &right, &[], 256);
            effect.reset();
            let silence = vec![0.0f32; 4000];
            let (l, r) = run_blocks(effect.as_mut(), &silence, &silence, &[], 256);
            let peak = l.iter().chain(&r).fold(0.0f32, |m, x| m.max(x.abs()));
            assert_eq!(peak, 0.0, "{} ({setting}): sound after reset", entry.spec.id);
        }
    }
}

#[test]
fn tables_are_consistent_and_presets_valid() {
    for entry in registry() {
        let spec = entry.spec;
        let mut names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), spec.params.len(), "{}: duplicate parameter names", spec.id);
        for (i, p) in spec.params.iter().enumerate() {
            assert!(p.min < p.max, "{}.{}: empty range", spec.id, p.name);
            spec.check(i, p.default)
                .unwrap_or_else(|e| panic!("default rejected: {e}"));
            if p.is_integer() {
                assert!(
                    !p.automatable || p.name == "freeze",
                    "{}.{}: integers do not glide",
                    spec.id,
                    p.name
                );
            }
        }
        for preset in spec.all_presets() {
            spec.resolve(Some(preset.name), [])
                .unwrap_or_else(|e| panic!("preset invalid: {e}"));
        }
        assert_eq!(spec.all_presets().next().unwrap().name, "init");
    }
}
