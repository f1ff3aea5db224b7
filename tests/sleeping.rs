//! Sleeping, bypass and latency changes at engine scale: an insert fed silence sleeps once settled and outputs
//! exact zeros, and after waking its output equals an instance that never slept within -100 dB of its peak; a
//! bypassed kernel stops after its fade and re-enables without a dip; a latency change never steps the output
//! by more than the signal's own step plus its peak over the fade length.

mod signals;

use corelogic_dsp::effects::{registry, Effect, EffectEntry, Event, Source};
use corelogic_dsp::params::{ParamKind, ParamSpec};
use signals::noise_f32;

const FS: f64 = 48_000.0;

/// Defaults, each preset, every parameter at its minimum and at its maximum.
fn settings(entry: &EffectEntry) -> Vec<(String, Vec<(&'static str, f64)>)> {
    let spec = entry.spec;
    let mut out: Vec<(String, Vec<(&'static str, f64)>)> = vec![("defaults".into(), vec![])];
    for preset in spec.all_presets() {
        out.push((format!("preset {}", preset.name), preset.values.to_vec()));
    }
    let pick = |max: bool| {
        spec.params
            .iter()
            .map(|p: &ParamSpec| {
                let v = match (p.kind, max) {
                    (ParamKind::Choice(c), false) => c[0].0,
                    (ParamKind::Choice(c), true) => c[c.len() - 1].0,
                    (_, false) => p.min,
                    (_, true) => p.max,
                };
                (p.name, v)
            })
            .collect::<Vec<_>>()
    };
    out.push(("all minimum".into(), pick(false)));
    out.push(("all maximum".into(), pick(true)));
    out
}

/// Noise burst, silence, a second burst starting off the piece grid, then silence.
fn burst_signal() -> (Vec<f32>, Vec<f32>, usize) {
    let burst = 4800;
    // 4 s: a compressor at its default 100 ms release needs about 2 s for its detector to fall 180 dB.
    let gap = 192_000 + 37;
    let total = burst + gap + burst + 72_000;
    let mut left = vec![0.0f32; total];
    let mut right = vec![0.0f32; total];
    let (a, b) = (noise_f32(11, burst), noise_f32(12, burst));
    let wake = burst + gap;
    for k in 0..burst {
        left[k] = 0.5 * a[k];
        right[k] = 0.5 * b[k];
        left[wake + k] = 0.4 * b[k];
        right[wake + k] = 0.4 * a[k];
    }
    (left, right, wake)
}

#[test]
fn asleep_outputs_zeros_and_wakes_within_minus_100_db_of_never_sleeping() {
    let (left, right, wake) = burst_signal();
    assert_ne!(wake % 128, 0, "the wake-up sample must be off the piece grid");
    let mut slept = Vec::new();
    for entry in registry() {
        for (name, values) in settings(entry) {
            let make = || entry.create(FS, None, values.iter().copied()).unwrap();
            let (mut sleeper, mut awake) = (make(), make());
            awake.set_sleep_allowed(false);
            let (mut al, mut ar) = (left.clone(), right.clone());
            let (mut bl, mut br) = (left.clone(), right.clone());
            let mut was_asleep = false;
            let mut start = 0;
            for block in [1000usize, 77, 128, 4096].iter().cycle() {
                if start >= al.len() {
                    break;
                }
                let end = (start + block).min(al.len());
                let asleep_before = sleeper.is_asleep();
                sleeper.process(&mut al[start..end], &mut ar[start..end], &[]);
                awake.process(&mut bl[start..end], &mut br[start..end], &[]);
                if asleep_before && sleeper.is_asleep() {
                    was_asleep = true;
                    assert!(!sleeper.is_kernel_running());
                    assert!(
                        al[start..end].iter().chain(&ar[start..end]).all(|x| *x == 0.0),
                        "{} {name}: asleep but not silent",
                        entry.spec.id
                    );
                }
                start = end;
            }
            let peak = bl.iter().chain(&br).fold(0.0f32, |m, x| m.max(x.abs()));
            let diff = al
                .iter()
                .zip(&bl)
                .chain(ar.iter().zip(&br))
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                diff <= 1e-5 * peak,
                "{} {name}: slept output differs by {diff:e} (peak {peak})",
                entry.spec.id
            );
            if was_asleep {
                slept.push(format!(
                    "{} ({name}): {:.1} dB",
                    entry.spec.id,
                    20.0 * (diff / peak).log10()
                ));
            }
        }
    }
    println!("slept, and the largest difference from never sleeping relative to the peak:");
    for line in &slept {
        println!("  {line}");
    }
    // The effects that judge their state must each fall asleep at their defaults.
    for id in [
        "parametric-eq",
        "low-shelf",
        "high-shelf",
        "high-low-pass",
        "compressor",
        "limiter",
        "expander",
        "gate",
        "saturation",
        "distortion",
        "wave-shaper",
    ] {
        assert!(
            slept.iter().any(|s| s.starts_with(&format!("{id} (defaults)"))),
            "{id} never slept"
        );
    }
}

/// Two instances of one effect, one allowed to sleep, fed the same stereo input and compared as they go.
struct Pair {
    sleeper: Box<dyn Effect>,
    awake: Box<dyn Effect>,
    frame: usize,
    peak: f32,
    diff: f32,
}

impl Pair {
    /// Two instances from `make`; only the first may sleep.
    fn new(make: impl Fn() -> Box<dyn Effect>) -> Self {
        let mut awake = make();
        awake.set_sleep_allowed(false);
        Pair {
            sleeper: make(),
            awake,
            frame: 0,
            peak: 0.0,
            diff: 0.0,
        }
    }

    /// Runs `frames` frames of `input(frame)` (left, and half of it right: mono sums do not cancel) through both, in 4096-frame blocks.
    fn run(&mut self, input: impl Fn(usize) -> f32, frames: usize) {
        let block = 4096;
        let (mut al, mut ar) = (vec![0.0f32; block], vec![0.0f32; block]);
        let (mut bl, mut br) = (vec![0.0f32; block], vec![0.0f32; block]);
        let mut done = 0;
        while done < frames {
            let n = block.min(frames - done);
            for k in 0..n {
                let x = input(self.frame + k);
                (al[k], ar[k], bl[k], br[k]) = (x, 0.5 * x, x, 0.5 * x);
            }
            self.sleeper.process(&mut al[..n], &mut ar[..n], &[]);
            self.awake.process(&mut bl[..n], &mut br[..n], &[]);
            for k in 0..n {
                self.peak = self.peak.max(bl[k].abs()).max(br[k].abs());
                self.diff = self.diff.max((al[k] - bl[k]).abs()).max((ar[k] - br[k]).abs());
            }
            self.frame += n;
            done += n;
        }
    }
}

#[test]
fn long_tails_sleep_once_settled_and_wake_as_if_they_never_slept() {
    // A 5 s delay at 0.95 feedback loses 0.45 dB an echo: about half an hour of audio before its lines are
    // 180 dB down. The other delays at their defaults; the reverbs at their defaults, their longest preset and
    // their longest decay. Signals are streamed and compared block by block.
    type Case = (&'static str, Option<&'static str>, &'static [(&'static str, f64)]);
    let cases: [Case; 13] = [
        (
            "simple-delay",
            None,
            &[("timeMs", 5000.0), ("feedback", 0.95), ("mix", 1.0)],
        ),
        ("ping-pong-delay", None, &[]),
        ("multi-tap-delay", None, &[]),
        ("stereo-delay", None, &[]),
        ("hall-reverb", None, &[]),
        ("hall-reverb", Some("cathedral"), &[("mix", 1.0)]),
        (
            "hall-reverb",
            None,
            &[("decaySeconds", 20.0), ("size", 2.0), ("mix", 1.0)],
        ),
        ("plate-reverb", None, &[]),
        ("plate-reverb", Some("plate"), &[("mix", 1.0)]),
        ("plate-reverb", None, &[("decaySeconds", 10.0), ("mix", 1.0)]),
        ("room-reverb", None, &[]),
        ("room-reverb", Some("medium room"), &[("mix", 1.0)]),
        (
            "room-reverb",
            None,
            &[("decaySeconds", 3.0), ("size", 1.0), ("mix", 1.0)],
        ),
    ];
    for (id, preset, values) in cases {
        let entry = corelogic_dsp::effects::find(id).unwrap();
        let make = || entry.create(FS, preset, values.iter().copied()).unwrap();
        let mut pair = Pair::new(make);
        let burst = noise_f32(21, 4800);
        pair.run(|f| burst.get(f).map_or(0.0, |x| 0.5 * x), 48_000);
        let mut waited_s = 0;
        while !pair.sleeper.is_asleep() {
            pair.run(|_| 0.0, 48_000);
            waited_s += 1;
            assert!(waited_s < 3600, "{id} still awake after an hour of silence");
        }
        pair.run(|_| 0.0, 48_000 + 77);
        let wake = pair.frame;
        assert_ne!(wake % 128, 0);
        pair.run(|f| burst.get(f - wake).map_or(0.0, |x| 0.4 * x), 30 * 48_000);
        let below = -20.0 * (pair.diff / pair.peak).log10();
        println!("{id} {preset:?} {values:?}: asleep after {waited_s} s of silence; after waking within {below:.1} dB of never sleeping");
        assert!(
            pair.diff <= 1e-5 * pair.peak,
            "{id}: difference {:e}, peak {}",
            pair.diff,
            pair.peak
        );
    }
}

#[test]
fn freeverb_sleeps_once_its_combs_settle_wakes_as_if_it_never_slept_and_never_sleeps_frozen() {
    // At the defaults (comb feedback 0.84) the state needs about 5 s of silence to fall below the floor divided
    // by the state-to-output bound (more than the 4 s of the test above); roomSize 1 (feedback 0.98) far longer.
    let cases: [&[(&str, f64)]; 3] = [&[], &[("roomSize", 1.0), ("damping", 0.0)], &[("freeze", 1.0)]];
    for values in cases {
        let frozen = values.contains(&("freeze", 1.0));
        let entry = corelogic_dsp::effects::find("freeverb").unwrap();
        let make = || entry.create(FS, None, values.iter().copied()).unwrap();
        let mut pair = Pair::new(make);
        let burst = noise_f32(31, 4800);
        pair.run(|f| burst.get(f).map_or(0.0, |x| 0.5 * x), 48_000);
        let mut waited_s = 0;
        while !pair.sleeper.is_asleep() && waited_s < 120 {
            pair.run(|_| 0.0, 48_000);
            waited_s += 1;
        }
        if frozen {
            assert!(!pair.sleeper.is_asleep(), "a frozen freeverb fell asleep");
            continue;
        }
        assert!(
            pair.sleeper.is_asleep(),
            "freeverb {values:?} still awake after {waited_s} s of silence"
        );
        pair.run(|_| 0.0, 48_000 + 77);
        let wake = pair.frame;
        assert_ne!(wake % 128, 0);
        pair.run(|f| burst.get(f - wake).map_or(0.0, |x| 0.4 * x), 10 * 48_000);
        let below = -20.0 * (pair.diff / pair.peak).log10();
        println!("freeverb {values:?}: asleep after {waited_s} s of silence; after waking within {below:.1} dB of never sleeping");
        assert!(
            pair.diff <= 1e-5 * pair.peak,
            "freeverb {values:?}: difference {:e}, peak {}",
            pair.diff,
            pair.peak
        );
    }
}

/// The smallest local peak (over windows of `window` frames) within `range`: a dip shows as a low value.
fn lowest_local_peak(x: &[f32], range: std::ops::Range<usize>, window: usize) -> f32 {
    x[range]
        .chunks(window)
        .filter(|c| c.len() == window)
        .map(|c| c.iter().fold(0.0f32, |m, v| m.max(v.abs())))
        .fold(f32::INFINITY, f32::min)
}

#[test]
fn bypassed_kernel_stops_after_its_fade_and_reenables_without_a_dip() {
    // A limiter whose ceiling the sine never reaches: wet equals the input delayed by the lookahead, so with
    // priming the fade-in mixes two equal signals; without it the wet path would be silent for the lookahead.
    for lookahead_ms in [1.0, 5.0, 10.0] {
        let entry = corelogic_dsp::effects::find("limiter").unwrap();
        let mut limiter = entry
            .create(FS, None, [("ceilingDb", 0.0), ("lookaheadMs", lookahead_ms)])
            .unwrap();
        let n = 48_000;
        let sine: Vec<f32> = (0..n)
            .map(|k| 0.5 * (2.0 * std::f32::consts::PI * 1000.0 * k as f32 / FS as f32).sin())
            .collect();
        let (mut l, mut r) = (sine.clone(), sine.clone());
        let (off, on) = (10_000u64, 30_003u64);
        let events = [Event::enable(false, off), Event::enable(true, on)];
        let mut running_while_bypassed = false;
        let mut start = 0;
        while start < n {
            let end = (start + 128).min(n);
            let first = events.partition_point(|e| e.frame < start as u64);
            let last = events.partition_point(|e| e.frame < end as u64);
            limiter.process(&mut l[start..end], &mut r[start..end], &events[first..last]);
            if start >= 15_000 && end as u64 <= on {
                running_while_bypassed |= limiter.is_kernel_running();
            }
            start = end;
        }
        assert!(!running_while_bypassed, "the bypassed kernel kept running");
        let fade = on as usize..on as usize + 960 + 480;
        let lowest = lowest_local_peak(&l, fade, 48);
        println!("lookahead {lookahead_ms} ms: lowest local peak across the re-enable fade {lowest:.4} (0.5 steady)");
        assert!(
            lowest >= 0.5 * 0.99,
            "dip to {lowest} on re-enable at lookahead {lookahead_ms}"
        );
    }
}

/// The largest step between consecutive output samples in `range`, both channels.
fn largest_step(l: &[f32], r: &[f32], range: std::ops::Range<usize>) -> f32 {
    let mut worst = 0.0f32;
    for x in [l, r] {
        for k in range.start.max(1)..range.end {
            worst = worst.max((x[k] - x[k - 1]).abs());
        }
    }
    worst
}

/// An effect id, its settings, the parameter changed and its new value.
type Case = (&'static str, &'static [(&'static str, f64)], &'static str, f64);

#[test]
fn latency_changes_step_no_more_than_the_signal_plus_its_peak_over_the_fade() {
    // (effect, settings, parameter, from, to): the limiter's lookahead and a shaper's oversampling.
    let cases: [Case; 4] = [
        (
            "limiter",
            &[("ceilingDb", 0.0), ("lookaheadMs", 5.0)],
            "lookaheadMs",
            1.0,
        ),
        (
            "limiter",
            &[("ceilingDb", 0.0), ("lookaheadMs", 1.0)],
            "lookaheadMs",
            10.0,
        ),
        ("saturation", &[("oversample", 1.0)], "oversample", 8.0),
        ("distortion", &[("oversample", 4.0)], "oversample", 1.0),
    ];
    let fade_frames = (0.020 * FS) as f32;
    let n = 8000;
    let slope = 0.00024f32;
    for (id, values, param, to) in cases {
        for enabled in [true, false] {
            let entry = corelogic_dsp::effects::find(id).unwrap();
            let make = || {
                let mut e = entry.create(FS, None, values.iter().copied()).unwrap();
                e.set_enabled_immediately(enabled);
                e
            };
            let ramp: Vec<f32> = (0..n).map(|k| (k as f32 * slope).min(0.9)).collect();
            // The same effect without the change: its own largest step is the signal's slope through it.
            let mut steady = make();
            let (mut sl, mut sr) = (ramp.clone(), ramp.clone());
            steady.process(&mut sl, &mut sr, &[]);
            let own_step = largest_step(&sl, &sr, 100..n);
            let mut changed = make();
            let change = Event::set(entry.spec, param, to, 2000, Source::User).unwrap();
            let (mut l, mut r) = (ramp.clone(), ramp);
            let mut start = 0;
            while start < n {
                let end = (start + 100).min(n);
                let events: &[Event] = if (start..end).contains(&2000) { &[change] } else { &[] };
                changed.process(&mut l[start..end], &mut r[start..end], events);
                start = end;
            }
            let peak = l.iter().chain(&r).fold(0.0f32, |m, x| m.max(x.abs()));
            let step = largest_step(&l, &r, 100..n);
            let bound = own_step + peak / fade_frames;
            println!(
                "{id} {param} -> {to}, enabled {enabled}: largest step {step:.6}, bound {bound:.6} (own {own_step:.6})"
            );
            assert!(
                step <= bound * 1.01,
                "{id} {param} -> {to} enabled {enabled}: step {step} > {bound}"
            );
            assert_eq!(changed.latency(), make_latency(entry, values, param, to));
        }
    }
}

fn make_latency(entry: &EffectEntry, values: &[(&str, f64)], param: &'static str, to: f64) -> usize {
    let mut v: Vec<(&str, f64)> = values.iter().copied().filter(|(p, _)| *p != param).collect();
    v.push((param, to));
    entry.create(FS, None, v).unwrap().latency()
}

#[test]
fn deepest_gain_reduction_is_read_and_reset() {
    let entry = corelogic_dsp::effects::find("compressor").unwrap();
    let mut comp = entry
        .create(FS, None, [("thresholdDb", -30.0), ("ratio", 8.0), ("attackMs", 1.0)])
        .unwrap();
    let mut loud: Vec<f32> = noise_f32(5, 9600);
    let mut loud_r = loud.clone();
    comp.process(&mut loud, &mut loud_r, &[]);
    let deepest = comp.take_peak_gain_reduction_db();
    assert!(deepest < -10.0, "deepest {deepest}");
    assert!(deepest <= comp.gain_reduction_db() + 1e-3);
    assert_eq!(comp.take_peak_gain_reduction_db(), 0.0, "read resets");
    let mut bypassed = entry.create(FS, None, [("thresholdDb", -30.0)]).unwrap();
    bypassed.set_enabled_immediately(false);
    let (mut l, mut r) = (noise_f32(6, 4800), noise_f32(7, 4800));
    bypassed.process(&mut l, &mut r, &[]);
    assert_eq!(bypassed.take_peak_gain_reduction_db(), 0.0);
    assert_eq!(bypassed.gain_reduction_db(), 0.0);
}
