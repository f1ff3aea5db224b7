//! Sidechain keys at the effect level: a keyed `compressor`, `expander` or `gate` applies to its own input the
//! gain its detector derives from the key, measured against the gain an unkeyed instance of the same effect
//! applies when the key is its input (computed here as output / input, sample by sample); effects without a
//! detector ignore the key; the key is sanitised; a keyed effect does not sleep while its key sounds.

mod common;

use common::engine::{assert_within, gain_from_key, key_signal, peak, steady_input};
use corelogic_dsp::effects::{create, registry, Effect, Event, Source};
use std::f64::consts::PI;

const FS: f64 = 48_000.0;
const FRAMES: usize = 24_000;

fn make(id: &str, params: &[(&str, f64)]) -> Box<dyn Effect> {
    create(id, FS, params.iter().copied()).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `fx` over the signal in blocks of uneven sizes, keyed or not.
fn run(fx: &mut dyn Effect, left: &mut [f32], right: &mut [f32], key: Option<(&[f32], &[f32])>) {
    let mut start = 0;
    for size in [100usize, 128, 37, 1, 500].iter().cycle() {
        if start >= left.len() {
            break;
        }
        let end = (start + size).min(left.len());
        let key = key.map(|(kl, kr)| (&kl[start..end], &kr[start..end]));
        fx.process_keyed(&mut left[start..end], &mut right[start..end], key, &[]);
        start = end;
    }
}

/// Asserts |got - want| <= 1e-5 x the peak of `want` at every sample.
fn assert_matches(got: &[f32], want: &[f64], what: &str) {
    assert_within(got, want, 1e-5 * peak(want), what);
}

const KEYED: [(&str, &[(&str, f64)]); 3] = [
    (
        "compressor",
        &[
            ("thresholdDb", -30.0),
            ("ratio", 8.0),
            ("attackMs", 1.0),
            ("releaseMs", 50.0),
        ],
    ),
    (
        "expander",
        &[
            ("thresholdDb", -30.0),
            ("ratio", 3.0),
            ("attackMs", 1.0),
            ("releaseMs", 50.0),
            ("rangeDb", -40.0),
        ],
    ),
    (
        "gate",
        &[
            ("thresholdDb", -30.0),
            ("holdMs", 10.0),
            ("attackMs", 0.5),
            ("releaseMs", 20.0),
            ("rangeDb", -60.0),
        ],
    ),
];

#[test]
fn a_keyed_dynamics_effect_applies_the_gain_of_its_key_to_its_own_input() {
    let key = key_signal(FRAMES);
    for (id, params) in KEYED {
        let gain = gain_from_key(id, FS, params, &key);
        let (input_l, input_r) = steady_input(FRAMES, FS);
        let mut fx = make(id, params);
        assert!(fx.takes_key(), "{id} takes a key");
        let (mut l, mut r) = (input_l.clone(), input_r.clone());
        run(fx.as_mut(), &mut l, &mut r, Some((&key, &key)));
        let want_l: Vec<f64> = input_l.iter().zip(&gain).map(|(x, g)| f64::from(*x) * g).collect();
        let want_r: Vec<f64> = input_r.iter().zip(&gain).map(|(x, g)| f64::from(*x) * g).collect();
        assert_matches(&l, &want_l, &format!("{id} left"));
        assert_matches(&r, &want_r, &format!("{id} right"));
        // The key made a difference: unkeyed, the effect follows the steady input instead.
        let (mut ul, mut ur) = (input_l.clone(), input_r.clone());
        make(id, params).process(&mut ul, &mut ur, &[]);
        let differs = ul.iter().zip(&l).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            differs > 0.01,
            "{id}: keyed and unkeyed outputs differ by only {differs}"
        );
    }
}

#[test]
fn only_the_compressor_expander_and_gate_take_a_key_and_the_others_ignore_it() {
    let key = key_signal(4_096);
    let (input_l, input_r) = steady_input(4_096, FS);
    for entry in registry() {
        let id = entry.spec.id;
        let mut keyed = make(id, &[]);
        let expected = matches!(id, "compressor" | "expander" | "gate");
        assert_eq!(keyed.takes_key(), expected, "{id}");
        if expected {
            continue;
        }
        let mut plain = make(id, &[]);
        let (mut kl, mut kr) = (input_l.clone(), input_r.clone());
        run(keyed.as_mut(), &mut kl, &mut kr, Some((&key, &key)));
        let (mut pl, mut pr) = (input_l.clone(), input_r.clone());
        run(plain.as_mut(), &mut pl, &mut pr, None);
        assert_eq!(kl, pl, "{id}: the key changed the left output");
        assert_eq!(kr, pr, "{id}: the key changed the right output");
    }
}

#[test]
fn non_finite_key_samples_read_as_silence_and_a_short_key_is_padded_with_silence() {
    let (id, params) = KEYED[0];
    let mut key = key_signal(FRAMES);
    for n in (0..FRAMES).step_by(97) {
        key[n] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][n % 3];
    }
    let clean: Vec<f32> = key.iter().map(|x| if x.is_finite() { *x } else { 0.0 }).collect();
    let (input_l, input_r) = steady_input(FRAMES, FS);
    let (mut dl, mut dr) = (input_l.clone(), input_r.clone());
    run(make(id, params).as_mut(), &mut dl, &mut dr, Some((&key, &key)));
    let (mut cl, mut cr) = (input_l.clone(), input_r.clone());
    run(make(id, params).as_mut(), &mut cl, &mut cr, Some((&clean, &clean)));
    assert_eq!(dl, cl);
    assert_eq!(dr, cr);
    assert!(dl.iter().all(|x| x.is_finite()));
    // A key shorter than the block: the missing frames are silence.
    let (mut sl, mut sr) = (input_l[..256].to_vec(), input_r[..256].to_vec());
    make(id, params).process_keyed(&mut sl, &mut sr, Some((&clean[..100], &clean[..100])), &[]);
    let mut padded = clean[..100].to_vec();
    padded.resize(256, 0.0);
    let (mut pl, mut pr) = (input_l[..256].to_vec(), input_r[..256].to_vec());
    make(id, params).process_keyed(&mut pl, &mut pr, Some((&padded, &padded)), &[]);
    assert_eq!(sl, pl);
    assert_eq!(sr, pr);
}

#[test]
fn a_keyed_effect_stays_awake_while_its_key_sounds_and_wakes_on_it() {
    // The input is silent for the first 0.5 s while the key sounds from 0.2 s: the detector must follow the key
    // then, so that when the input starts the gain already reflects it. Then both fall silent (the effect may
    // sleep), and the key alone returns (the effect wakes).
    let frames = 96_000;
    let key: Vec<f32> = (0..frames)
        .map(|n| {
            let on = (9_600..60_000).contains(&n) || n >= 80_000;
            if on {
                (0.5 * (2.0 * PI * 60.0 * n as f64 / FS).sin()) as f32
            } else {
                0.0
            }
        })
        .collect();
    let (sine_l, sine_r) = steady_input(frames, FS);
    let gate_input = |x: &[f32]| -> Vec<f32> {
        x.iter()
            .enumerate()
            .map(|(n, v)| if (24_000..60_000).contains(&n) { *v } else { 0.0 })
            .collect()
    };
    let (input_l, input_r) = (gate_input(&sine_l), gate_input(&sine_r));
    for (id, params) in KEYED {
        let mut sleepy = make(id, params);
        let mut awake = make(id, params);
        awake.set_sleep_allowed(false);
        let (mut sl, mut sr) = (input_l.clone(), input_r.clone());
        let (mut al, mut ar) = (input_l.clone(), input_r.clone());
        let mut slept = false;
        for start in (0..frames).step_by(128) {
            let end = start + 128;
            let k = (&key[start..end], &key[start..end]);
            sleepy.process_keyed(&mut sl[start..end], &mut sr[start..end], Some(k), &[]);
            awake.process_keyed(&mut al[start..end], &mut ar[start..end], Some(k), &[]);
            let key_sounds = key[start..end].iter().any(|x| *x != 0.0);
            assert!(
                !(key_sounds && sleepy.is_asleep()),
                "{id} asleep at {start} while its key sounds"
            );
            slept |= sleepy.is_asleep();
        }
        assert!(slept, "{id} never slept while input and key were silent");
        let want_l: Vec<f64> = al.iter().map(|x| f64::from(*x)).collect();
        let want_r: Vec<f64> = ar.iter().map(|x| f64::from(*x)).collect();
        assert_matches(&sl, &want_l, &format!("{id} left"));
        assert_matches(&sr, &want_r, &format!("{id} right"));
    }
}

#[test]
fn a_bypassed_keyed_effect_passes_its_input() {
    let key = key_signal(FRAMES);
    let (input_l, input_r) = steady_input(FRAMES, FS);
    for (id, params) in KEYED {
        let mut fx = make(id, params);
        fx.set_enabled_immediately(false);
        let (mut l, mut r) = (input_l.clone(), input_r.clone());
        run(fx.as_mut(), &mut l, &mut r, Some((&key, &key)));
        assert_eq!(l, input_l, "{id}");
        assert_eq!(r, input_r, "{id}");
    }
}

#[test]
fn keyed_by_its_own_input_an_effect_equals_the_unkeyed_one_through_glides_crossfades_bypass_and_reset() {
    // Property: with the key equal to the input, the keyed path must reproduce the unkeyed one exactly, through
    // user glides, the compressor's detector switch (a crossfade between two kernels, both keyed), bypass fades
    // both ways and a reset.
    let (input_l, input_r) = steady_input(FRAMES, FS);
    let key = key_signal(FRAMES);
    // A louder, varying input: the steady sine modulated by the key's bursts.
    let input_l: Vec<f32> = input_l.iter().zip(&key).map(|(x, k)| x * 8.0 * k.abs() + x).collect();
    let input_r: Vec<f32> = input_r.iter().zip(&key).map(|(x, k)| x * 8.0 * k.abs() + x).collect();
    for (id, params) in KEYED {
        let spec = make(id, params).spec();
        let mut events = vec![
            Event::set(spec, "thresholdDb", -40.0, 3_000, Source::User).unwrap(),
            Event::enable(false, 6_000),
            Event::enable(true, 7_000),
            Event::set(spec, "attackMs", 5.0, 11_000, Source::Automation).unwrap(),
        ];
        if id == "compressor" {
            events.push(Event::set(spec, "detector", 1.0, 12_500, Source::User).unwrap());
        }
        let (mut kl, mut kr) = (input_l.clone(), input_r.clone());
        let (mut pl, mut pr) = (input_l.clone(), input_r.clone());
        let (mut keyed, mut plain) = (make(id, params), make(id, params));
        for start in (0..FRAMES).step_by(300) {
            let end = (start + 300).min(FRAMES);
            if start == 18_000 {
                keyed.reset();
                plain.reset();
            }
            let block: Vec<Event> = events
                .iter()
                .filter(|e| (start as u64..end as u64).contains(&e.frame))
                .copied()
                .collect();
            let k = (&input_l[start..end], &input_r[start..end]);
            keyed.process_keyed(&mut kl[start..end], &mut kr[start..end], Some(k), &block);
            plain.process(&mut pl[start..end], &mut pr[start..end], &block);
        }
        assert_eq!(kl, pl, "{id} left");
        assert_eq!(kr, pr, "{id} right");
    }
}
