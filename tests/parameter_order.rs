//! Pins every effect's parameter names in table order. The WebAssembly interface and the generated
//! TypeScript address a parameter by its index, so a reorder or a rename breaks saved projects and the UI:
//! this literal list (checked against the parameter tables of the effect contract when it was written) must then
//! fail. A new parameter is appended to its effect, and to its list here.

/// Every effect id in registry order, with its parameter names in index order.
const PARAMETER_ORDER: &[(&str, &[&str])] = &[
    (
        "parametric-eq",
        &[
            "b1Type",
            "b1FrequencyHz",
            "b1GainDb",
            "b1Q",
            "b2Type",
            "b2FrequencyHz",
            "b2GainDb",
            "b2Q",
            "b3Type",
            "b3FrequencyHz",
            "b3GainDb",
            "b3Q",
            "b4Type",
            "b4FrequencyHz",
            "b4GainDb",
            "b4Q",
            "b5Type",
            "b5FrequencyHz",
            "b5GainDb",
            "b5Q",
            "b6Type",
            "b6FrequencyHz",
            "b6GainDb",
            "b6Q",
            "b7Type",
            "b7FrequencyHz",
            "b7GainDb",
            "b7Q",
            "b8Type",
            "b8FrequencyHz",
            "b8GainDb",
            "b8Q",
            "outputGainDb",
        ],
    ),
    ("low-shelf", &["frequencyHz", "gainDb", "q"]),
    ("high-shelf", &["frequencyHz", "gainDb", "q"]),
    ("high-low-pass", &["mode", "frequencyHz", "order"]),
    (
        "compressor",
        &[
            "thresholdDb",
            "ratio",
            "attackMs",
            "releaseMs",
            "kneeDb",
            "makeupDb",
            "mix",
            "detector",
        ],
    ),
    (
        "limiter",
        &["ceilingDb", "releaseMs", "lookaheadMs", "inputGainDb", "truePeak"],
    ),
    (
        "expander",
        &["thresholdDb", "ratio", "attackMs", "releaseMs", "rangeDb"],
    ),
    (
        "gate",
        &[
            "thresholdDb",
            "hysteresisDb",
            "attackMs",
            "holdMs",
            "releaseMs",
            "rangeDb",
        ],
    ),
    (
        "saturation",
        &["driveDb", "asymmetry", "toneHz", "outputDb", "mix", "oversample"],
    ),
    (
        "distortion",
        &["mode", "driveDb", "toneHz", "outputDb", "mix", "oversample"],
    ),
    ("wave-shaper", &["curve", "drive", "thresholdDb", "mix", "oversample"]),
    (
        "simple-delay",
        &[
            "timeMs",
            "feedback",
            "mix",
            "lowCutHz",
            "highCutHz",
            "syncToTempo",
            "noteValue",
        ],
    ),
    (
        "ping-pong-delay",
        &[
            "timeMs",
            "feedback",
            "width",
            "mix",
            "lowCutHz",
            "highCutHz",
            "syncToTempo",
            "noteValue",
        ],
    ),
    (
        "multi-tap-delay",
        &[
            "taps",
            "spacingMs",
            "feedback",
            "mix",
            "tap1Level",
            "tap2Level",
            "tap3Level",
            "tap4Level",
            "tap5Level",
            "tap6Level",
            "tap7Level",
            "tap8Level",
            "spread",
            "lowCutHz",
            "highCutHz",
            "syncToTempo",
            "noteValue",
        ],
    ),
    (
        "stereo-delay",
        &[
            "timeLeftMs",
            "timeRightMs",
            "feedback",
            "crossFeedback",
            "mix",
            "lowCutHz",
            "highCutHz",
            "syncToTempo",
            "noteValue",
            "noteValueRight",
        ],
    ),
    ("freeverb", &["roomSize", "damping", "wet", "dry", "width", "freeze"]),
    (
        "hall-reverb",
        &[
            "decaySeconds",
            "preDelayMs",
            "size",
            "highDampingHz",
            "lowCutHz",
            "mix",
            "width",
        ],
    ),
    (
        "plate-reverb",
        &["decaySeconds", "preDelayMs", "damping", "diffusion", "mix", "width"],
    ),
    (
        "room-reverb",
        &["decaySeconds", "preDelayMs", "size", "damping", "mix", "width"],
    ),
];

#[test]
fn every_effect_lists_its_parameters_in_the_frozen_order() {
    let registered: Vec<&str> = corelogic_dsp::registry().iter().map(|e| e.spec.id).collect();
    let pinned: Vec<&str> = PARAMETER_ORDER.iter().map(|(id, _)| *id).collect();
    assert_eq!(registered, pinned, "effect ids or their order changed");
    for (entry, (id, names)) in corelogic_dsp::registry().iter().zip(PARAMETER_ORDER) {
        let listed: Vec<&str> = entry.spec.params.iter().map(|p| p.name).collect();
        assert_eq!(&listed, names, "parameter names or order of '{id}' changed");
    }
}

#[test]
fn the_json_listing_keeps_the_frozen_order() {
    let listing = corelogic_dsp::listing::listing().unwrap();
    assert_eq!(listing.len(), PARAMETER_ORDER.len());
    for (effect, (id, names)) in listing.iter().zip(PARAMETER_ORDER) {
        assert_eq!(effect.id, *id);
        let listed: Vec<&str> = effect.parameters.iter().map(|p| p.name).collect();
        assert_eq!(&listed, names, "listing of '{id}'");
    }
}
