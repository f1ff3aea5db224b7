//! The `corelogic-dsp` command-line program (cli.md): argument parsing and files only; the DSP, the chain
//! validation and the dither live in the library.

use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand};
use corelogic_dsp::analysis::{self, MAX_PEAK_BUCKETS, MAX_PEAK_LEVELS};
use corelogic_dsp::chain::{self, ChainEntry};
use corelogic_dsp::effects::find;
use corelogic_dsp::listing::{self, EffectListing};
use corelogic_dsp::wav::{self, OutputFormat, WavError, WavOutput, MAX_WAV_BYTES};
use corelogic_dsp::{EffectSpec, Taper};
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod render;

/// Frames read, processed and written per block (effects split it into their own pieces).
const BLOCK_FRAMES: usize = 4096;

/// Inputs longer than this show a progress bar (when stderr is a terminal).
const PROGRESS_MIN_SECONDS: f64 = 10.0;

#[derive(Parser)]
#[command(
    name = "corelogic-dsp",
    version,
    about = "CoreLogic Studio's DSP engine on the command line"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the effects, their parameters and presets.
    Effects {
        /// Print one JSON array (the source for the TypeScript types and the demo's controls).
        #[arg(long)]
        json: bool,
    },
    /// Run one effect or a chain over a WAV file.
    Process(ProcessArgs),
    /// Measure a WAV file: levels, loudness, true peak, spectral features, MFCCs, tempo.
    Analyze {
        /// Input WAV file.
        input: PathBuf,
        /// Print one JSON object (cli.md's keys); levels that do not exist (silence) are null.
        #[arg(long)]
        json: bool,
    },
    /// Waveform min/max per bucket for each channel.
    Peaks(PeaksArgs),
    /// Mix a project (tracks, clips, inserts, sends, buses, master, automation) into a WAV file.
    Render(render::RenderArgs),
}

#[derive(Args)]
struct PeaksArgs {
    /// Input WAV file.
    input: PathBuf,
    /// Buckets across the whole file (the coarsest level).
    #[arg(long, value_name = "N", value_parser = parse_buckets)]
    buckets: usize,
    /// Zoom levels: level k has N x 2^k buckets, each derived from the next finer one.
    #[arg(long, value_name = "L", default_value = "1", value_parser = parse_levels)]
    levels: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn parse_buckets(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_PEAK_BUCKETS).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a whole number of buckets from 1 to {MAX_PEAK_BUCKETS}"
        )),
    }
}

fn parse_levels(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_PEAK_LEVELS).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number of levels from 1 to {MAX_PEAK_LEVELS}")),
    }
}

#[derive(Args)]
struct ProcessArgs {
    /// Input WAV file.
    input: PathBuf,
    /// Output WAV file (stereo, at the input's sample rate; written atomically).
    output: PathBuf,
    /// The effect to run.
    #[arg(long, value_name = "ID")]
    effect: Option<String>,
    /// A parameter of --effect (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// A chain of effects (JSON array of {"effect", "parameters", "enabled", "preset"?}).
    #[arg(long, value_name = "CHAIN.json")]
    chain: Option<PathBuf>,
    /// Seconds of silence fed after the input (the output is that much longer).
    #[arg(long, value_name = "SECONDS", default_value = "0", value_parser = parse_tail_seconds,
          allow_negative_numbers = true)]
    tail: f64,
    /// Tempo in beats per minute for tempo-synced effect times (`syncToTempo`).
    #[arg(long, value_name = "BPM", default_value = "120", value_parser = parse_bpm, allow_negative_numbers = true)]
    bpm: f64,
    /// Output format: 16 or 24 (integer PCM, dithered) or 32 (float).
    #[arg(long, value_name = "16|24|32", default_value = "32", value_parser = parse_bit_depth)]
    bit_depth: OutputFormat,
}

fn parse_tail_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
        _ => Err("expected a number of seconds, 0 or more".to_string()),
    }
}

fn parse_bpm(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(bpm) if bpm.is_finite() && bpm > 0.0 => Ok(bpm),
        _ => Err("expected a tempo in beats per minute, greater than 0".to_string()),
    }
}

fn parse_bit_depth(text: &str) -> Result<OutputFormat, String> {
    text.trim()
        .parse::<u16>()
        .ok()
        .and_then(OutputFormat::from_bits)
        .ok_or_else(|| "expected 16, 24 or 32".to_string())
}

/// A failure, sorted by the exit status it gives.
enum Failure {
    /// Bad input (exit 2).
    Input(String),
    /// An I/O or internal failure (exit 1).
    System(String),
}

impl From<WavError> for Failure {
    fn from(e: WavError) -> Self {
        match e {
            WavError::BadInput(m) => Failure::Input(m),
            WavError::Io(m) => Failure::System(m),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: print as clap does and succeed.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // clap would print the whole help text to stderr; one line says what is missing instead.
            let message = "missing command (effects, process, analyze or peaks); see 'corelogic-dsp --help'";
            return report(Failure::Input(message.to_string()));
        }
        Err(e) => return report(Failure::Input(one_line(&e.render().to_string()))),
    };
    let result = match cli.command {
        Command::Effects { json } => list_effects(json),
        Command::Process(args) => process(&args),
        Command::Analyze { input, json } => analyze(&input, json),
        Command::Peaks(args) => peaks(&args),
        Command::Render(args) => render::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(failure),
    }
}

fn report(failure: Failure) -> ExitCode {
    let (message, code) = match failure {
        Failure::Input(m) => (m, 2),
        Failure::System(m) => (m, 1),
    };
    eprintln!("corelogic-dsp: {}", one_line(&message));
    ExitCode::from(code)
}

/// Squeezes a (clap) message into one line: the first line, without clap's "error: " prefix; when that line
/// announces a list ("...not provided:"), the list's items follow it on the same line.
fn one_line(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("unknown error");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    if first.ends_with(':') {
        let items: Vec<&str> = lines.take_while(|l| !l.starts_with("Usage:")).collect();
        format!("{first} {}", items.join(", "))
    } else {
        first.to_string()
    }
}

// ---- effects ----

fn list_effects(as_json: bool) -> Result<(), Failure> {
    let internal = |e: listing::ListingError| Failure::System(e.to_string());
    if as_json {
        println!("{}", listing::listing_json().map_err(internal)?);
    } else {
        for effect in listing::listing().map_err(internal)? {
            print!("{}", effect_table(&effect));
        }
    }
    Ok(())
}

fn effect_table(effect: &EffectListing) -> String {
    let mut out = format!(
        "{}  {} ({}), latency at 48 kHz: {} samples (at most {})\n",
        effect.id, effect.name, effect.category, effect.latency_samples_at_48k, effect.max_latency_samples_at_48k
    );
    for p in &effect.parameters {
        let unit = if p.unit.is_empty() { "-" } else { p.unit };
        let mut flags = Vec::new();
        if p.integer {
            flags.push("integer".to_string());
        }
        if p.automatable {
            flags.push("automatable".to_string());
        }
        if p.taper == Taper::Log {
            flags.push("log taper".to_string());
        }
        if p.changes_latency {
            flags.push("changes latency".to_string());
        }
        if let Some(values) = &p.values {
            let list: Vec<String> = values.iter().map(|v| format!("{} {}", v.value, v.label)).collect();
            flags.push(format!("values: {}", list.join(", ")));
        }
        out += &format!(
            "    {:<16} {:<6} {:>8} .. {:<8} default {:<8} {}\n",
            p.name,
            unit,
            p.min,
            p.max,
            p.default,
            flags.join("; ")
        );
    }
    let presets: Vec<&str> = effect.presets.iter().map(|p| p.name).collect();
    out += &format!("    presets: {}\n\n", presets.join(", "));
    out
}

// ---- process ----

/// What `process` runs: validated before any audio is read.
struct Job {
    entries: Vec<ChainEntry>,
    /// The transport tempo, for tempo-synced effect times.
    tempo_bpm: f64,
}

fn process(args: &ProcessArgs) -> Result<(), Failure> {
    let job = Job {
        entries: chain_entries(args)?,
        tempo_bpm: args.bpm,
    };
    // Streamed: memory is a block, whatever the input's length.
    let mut input = wav::WavStream::open(&args.input)?;
    let sample_rate_hz = input.sample_rate_hz();
    let mono = input.channels() == 1;
    let mut effects = chain::build_chain(&job.entries, f64::from(sample_rate_hz), job.tempo_bpm)
        .map_err(|e| Failure::Input(e.to_string()))?;
    let tail_frames = (args.tail * f64::from(sample_rate_hz)).round() as u64;
    // Saturating: an absurd --tail must end in the size check below, not in an overflow.
    let total_frames = input.frames().saturating_add(tail_frames);
    if args.bit_depth.file_bytes(total_frames) > MAX_WAV_BYTES {
        return Err(Failure::Input(format!(
            "the output ({total_frames} frames) would exceed the 4 GiB a WAV file can hold; shorten --tail"
        )));
    }
    let mut output = WavOutput::create(&args.output, sample_rate_hz, args.bit_depth)?;
    let progress = progress_bar(total_frames, f64::from(sample_rate_hz));
    let (mut left, mut right) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
    let mut frame = 0u64;
    // A failure mid-way clears the bar before its message is printed (and drops the unfinished output).
    let clear = |bar: Option<indicatif::ProgressBar>| {
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    };
    while frame < total_frames {
        let len = (total_frames - frame).min(BLOCK_FRAMES as u64) as usize;
        // The input's frames, then silence (the tail).
        let read = match input.read(&mut left[..len], &mut right[..len]) {
            Ok(read) => read,
            Err(e) => {
                clear(progress);
                return Err(e.into());
            }
        };
        if mono {
            let (l, r) = (&left[..read], &mut right[..read]);
            r.copy_from_slice(l);
        }
        left[read..len].fill(0.0);
        right[read..len].fill(0.0);
        chain::process_in_series(&mut effects, &mut left[..len], &mut right[..len]);
        if let Err(e) = output.write_block(&left[..len], &right[..len]) {
            clear(progress);
            return Err(e.into());
        }
        frame += len as u64;
        if let Some(bar) = &progress {
            bar.set_position(frame);
        }
    }
    clear(progress);
    output.finish()?;
    Ok(())
}

// ---- analyze ----

/// A level for JSON: null when it does not exist (-inf, silence).
fn json_level(value: f64) -> Value {
    if value.is_finite() {
        json!(value)
    } else {
        Value::Null
    }
}

/// A level for text output.
fn text_level(value: f64, unit: &str) -> String {
    if value.is_finite() {
        format!("{value:.2} {unit}")
    } else {
        format!("-inf {unit}")
    }
}

/// Steps of the progress bar over the analysis (both passes).
const PROGRESS_STEPS: u64 = 1000;

fn analyze(input: &Path, as_json: bool) -> Result<(), Failure> {
    let mut stream = wav::WavStream::open(input)?;
    let sample_rate_hz = f64::from(stream.sample_rate_hz());
    let bar = progress_bar(stream.frames(), sample_rate_hz);
    if let Some(bar) = &bar {
        bar.set_length(PROGRESS_STEPS);
    }
    let result = analysis::analyze_source(&mut stream, |fraction| {
        if let Some(bar) = &bar {
            bar.set_position((fraction * PROGRESS_STEPS as f64) as u64);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let a = result.map_err(|e| Failure::Input(format!("{}: {e}", input.display())))?;
    if as_json {
        let object = json!({
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
        });
        let text = serde_json::to_string_pretty(&object).map_err(|e| Failure::System(e.to_string()))?;
        println!("{text}");
    } else {
        let mfcc: Vec<String> = a.mfcc.iter().map(|v| format!("{v:.2}")).collect();
        println!("peak               {}", text_level(a.peak_db, "dBFS"));
        println!("true peak          {}", text_level(a.true_peak_db, "dBTP"));
        println!("RMS                {}", text_level(a.rms_db, "dBFS"));
        println!("crest factor       {}", text_level(a.crest_db, "dB"));
        println!("integrated         {}", text_level(a.integrated_lufs, "LUFS"));
        match a.loudness_range_lu {
            Some(lra) => println!("loudness range     {lra:.2} LU"),
            None => println!("loudness range     - (nothing above the gates)"),
        }
        println!(
            "spectral centroid  {:.1} Hz (std {:.1} Hz)",
            a.spectral_centroid_mean_hz, a.spectral_centroid_std_hz
        );
        println!("spectral rolloff   {:.1} Hz", a.spectral_rolloff_hz);
        println!("spectral flatness  {:.6}", a.spectral_flatness);
        println!("zero-crossing rate {:.6}", a.zero_crossing_rate);
        println!("MFCC means         {}", mfcc.join(" "));
        println!(
            "band energy        low {:.3}, mid {:.3}, high {:.3}",
            a.band_energy[0], a.band_energy[1], a.band_energy[2]
        );
        match a.tempo_bpm {
            Some(bpm) => println!("tempo              {bpm:.1} BPM"),
            None => println!("tempo              - (no clear beat)"),
        }
    }
    Ok(())
}

// ---- peaks ----

fn peaks(args: &PeaksArgs) -> Result<(), Failure> {
    let finest = args.buckets.checked_mul(1usize << (args.levels - 1));
    if finest.map_or(true, |n| n > MAX_PEAK_BUCKETS) {
        return Err(Failure::Input(format!(
            "--buckets {} with --levels {} asks for more than {MAX_PEAK_BUCKETS} buckets at the finest level",
            args.buckets, args.levels
        )));
    }
    let mut stream = wav::WavStream::open(&args.input)?;
    let channels = usize::from(stream.channels());
    let frames = stream.frames();
    let mut builder = analysis::PeaksBuilder::new(frames, channels, args.buckets, args.levels)
        .map_err(|e| Failure::Input(format!("{}: {e}", args.input.display())))?;
    let (mut left, mut right) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
    loop {
        let n = stream.read(&mut left, &mut right)?;
        if n == 0 {
            break;
        }
        let block: [&[f32]; 2] = [&left[..n], &right[..n]];
        builder
            .push(&block[..channels])
            .map_err(|e| Failure::System(format!("internal error: {e}")))?;
    }
    let levels = builder.finish();
    if args.json {
        let levels: Vec<Value> = levels
            .iter()
            .map(|level| json!({"buckets": level.buckets, "min": level.min, "max": level.max}))
            .collect();
        let object = json!({
            "sampleRate": stream.sample_rate_hz(),
            "channels": channels,
            "frames": frames,
            "levels": levels,
        });
        let text = serde_json::to_string(&object).map_err(|e| Failure::System(e.to_string()))?;
        println!("{text}");
    } else {
        for level in &levels {
            println!(
                "# {} buckets over {frames} frames: bucket, then min max per channel",
                level.buckets
            );
            for i in 0..level.buckets {
                let pairs: Vec<String> = (0..channels)
                    .map(|c| format!("{} {}", level.min[c][i], level.max[c][i]))
                    .collect();
                println!("{i} {}", pairs.join(" "));
            }
        }
    }
    Ok(())
}

fn progress_bar(total_frames: u64, sample_rate_hz: f64) -> Option<indicatif::ProgressBar> {
    let long = total_frames as f64 / sample_rate_hz > PROGRESS_MIN_SECONDS;
    if !(long && std::io::stderr().is_terminal()) {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(total_frames), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {percent:>3}% {elapsed} / {duration}") {
        bar.set_style(style);
    }
    Some(bar)
}

/// The chain to run: from `--effect`/`--set` or from `--chain`, exactly one of them.
fn chain_entries(args: &ProcessArgs) -> Result<Vec<ChainEntry>, Failure> {
    match (&args.effect, &args.chain) {
        (Some(id), None) => Ok(vec![single_effect(id, &args.set)?]),
        (None, Some(path)) if args.set.is_empty() => read_chain(path),
        (None, Some(_)) => Err(Failure::Input(
            "--set applies to --effect only; put a chain's parameters in its JSON".to_string(),
        )),
        (Some(_), Some(_)) => Err(Failure::Input(
            "give either --effect ID or --chain CHAIN.json, not both".to_string(),
        )),
        (None, None) => Err(Failure::Input("give --effect ID or --chain CHAIN.json".to_string())),
    }
}

fn single_effect(id: &str, settings: &[String]) -> Result<ChainEntry, Failure> {
    let effect = find(id).map_err(|e| Failure::Input(e.to_string()))?;
    let parameters = settings
        .iter()
        .map(|setting| parse_setting(effect.spec, setting))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ChainEntry {
        path: format!("--effect {id}"),
        effect,
        preset: None,
        parameters,
        enabled: true,
        curve: None,
    })
}

/// Parses and validates one `--set NAME=VALUE`.
fn parse_setting(spec: &EffectSpec, setting: &str) -> Result<(String, f64), Failure> {
    let bad = |why: String| Failure::Input(format!("--set {setting}: {why}"));
    let (name, text) = setting
        .split_once('=')
        .ok_or_else(|| bad("expected NAME=VALUE".to_string()))?;
    let (name, text) = (name.trim(), text.trim());
    let index = spec.param_index(name).map_err(|e| bad(e.to_string()))?;
    let value: f64 = text.parse().map_err(|_| bad(format!("'{text}' is not a number")))?;
    spec.check(index, value).map_err(|e| bad(e.to_string()))?;
    Ok((name.to_string(), value))
}

fn read_chain(path: &Path) -> Result<Vec<ChainEntry>, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Failure::Input(format!("{}: no such file", path.display())),
        std::io::ErrorKind::InvalidData => Failure::Input(format!("{}: not UTF-8 text", path.display())),
        std::io::ErrorKind::IsADirectory => {
            Failure::Input(format!("{}: is a directory, not a chain file", path.display()))
        }
        _ => Failure::System(format!("{}: cannot read: {e}", path.display())),
    })?;
    chain::parse_chain(&text).map_err(|e| Failure::Input(format!("{}: {e}", path.display())))
}
