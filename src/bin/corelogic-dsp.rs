//! The `corelogic-dsp` command-line program (its contract is `docs/cli.md`): argument parsing and files only;
//! the DSP, the chain validation and the dither live in the library.

use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand};
use corelogic_dsp::analysis::{self, MAX_PEAK_BUCKETS, MAX_PEAK_LEVELS};
use corelogic_dsp::chain::{self, ChainEntry};
use corelogic_dsp::effects::find;
use corelogic_dsp::listing::{self, EffectListing};
use corelogic_dsp::params::ParamKind;
use corelogic_dsp::wav::{self, OutputFormat, WavError, WavOutput, MAX_WAV_BYTES};
use corelogic_dsp::{EffectSpec, Taper};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod render;

/// Frames read, processed and written per block (effects split it into their own pieces).
const BLOCK_FRAMES: usize = 16384;

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
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Print the effect reference as Markdown (the repository's docs/effects.md is this output).
        #[arg(long)]
        markdown: bool,
    },
    /// Run one effect or a chain over a WAV file.
    Process(ProcessArgs),
    /// Measure a WAV file: levels, loudness, true peak, spectral features, MFCCs, tempo.
    Analyze {
        /// Input WAV file (`-`: standard input, spooled to a temporary file if a second pass needs it).
        input: PathBuf,
        /// Print one JSON object (keys as in docs/cli.md); levels that do not exist (silence) are null.
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
    /// Input WAV file (`-`: standard input).
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
    /// Input WAV file (`-`: standard input, streamed).
    input: PathBuf,
    /// Output WAV file (stereo, at the input's sample rate; written atomically; `-`: standard output, streamed).
    output: PathBuf,
    /// The effect to run.
    #[arg(long, value_name = "ID")]
    effect: Option<String>,
    /// A parameter of --effect (repeatable, once per parameter): a number, or a label of an enumeration.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// A preset of --effect to start from (the --set values override it); `effects` lists the presets.
    #[arg(long, value_name = "NAME")]
    preset: Option<String>,
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
    /// Standard output was closed by its reader (`| head`): the program ends quietly, with exit 0.
    StdoutClosed,
}

/// A failure writing standard output: a reader that closed the pipe is not an error worth reporting (Rust
/// ignores SIGPIPE, so the write returns EPIPE instead of killing the program).
fn stdout_failure(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Failure::StdoutClosed
    } else {
        Failure::System(format!("cannot write to standard output: {e}"))
    }
}

/// Writes the whole text to standard output and flushes it.
fn print_out(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(stdout_failure)
}

impl From<WavError> for Failure {
    fn from(e: WavError) -> Self {
        match e {
            WavError::BadInput(m) => Failure::Input(m),
            WavError::Io(m) => Failure::System(m),
            WavError::OutputClosed => Failure::StdoutClosed,
        }
    }
}

fn main() -> ExitCode {
    // Before any output file is created: an interrupted run leaves no temporary file behind.
    corelogic_dsp::interrupt::remove_unfinished_outputs_on_interrupt();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: print as clap does and succeed (quietly too when stdout is closed).
            let _ = print_out(&e.render().to_string());
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // clap would print the whole help text to stderr; one line says what is missing instead.
            let message = "missing command (effects, process, analyze or peaks); see 'corelogic-dsp --help'";
            return report(Failure::Input(message.to_string()));
        }
        Err(e) => return report(Failure::Input(clap_one_line(&e.render().to_string()))),
    };
    let result = match cli.command {
        Command::Effects { json, markdown } => list_effects(json, markdown),
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
        Failure::StdoutClosed => return ExitCode::SUCCESS,
    };
    // Best effort: with stderr closed too there is nobody to tell, and eprintln! would panic.
    let _ = writeln!(std::io::stderr(), "corelogic-dsp: {}", escape_controls(&message));
    ExitCode::from(code)
}

/// Escapes control characters (a newline in a path, a NUL in an effect id) so that a message stays one line
/// and writes no raw control bytes to a terminal: `\n`, `\r`, `\t`, others as `\u{XX}` (Rust's escapes).
fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Squeezes a clap message into one line: its first paragraph (clap ends it with a blank line before the
/// usage), without the "error: " prefix; when its first line announces a list ("...not provided:"), the
/// list's items follow on the same line. Newlines inside a quoted value stay, escaped by [`report`].
fn clap_one_line(text: &str) -> String {
    let text = text.trim();
    let text = text.strip_prefix("error: ").unwrap_or(text);
    let paragraph = text.split("\n\n").next().unwrap_or("unknown error");
    let mut lines = paragraph.lines();
    let first = lines.next().unwrap_or("unknown error");
    if first.ends_with(':') {
        let items: Vec<&str> = lines.map(str::trim).filter(|l| !l.is_empty()).collect();
        format!("{first} {}", items.join(", "))
    } else {
        paragraph.to_string()
    }
}

// ---- effects ----

fn list_effects(as_json: bool, as_markdown: bool) -> Result<(), Failure> {
    let internal = |e: listing::ListingError| Failure::System(e.to_string());
    if as_markdown {
        print_out(&listing::effects_markdown().map_err(internal)?)
    } else if as_json {
        print_out(&(listing::listing_json().map_err(internal)? + "\n"))
    } else {
        let tables: String = listing::listing().map_err(internal)?.iter().map(effect_table).collect();
        print_out(&tables)
    }
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
    // Saturating: an absurd --tail must end in the size check below, not in an overflow. A stream of
    // unknown length (standard input) is checked when the output is finished instead; standard output,
    // which keeps "unknown" sizes, has no such limit.
    let total_frames = input.frames().map(|frames| frames.saturating_add(tail_frames));
    if let Some(total_frames) = total_frames {
        if !wav::is_stdio(&args.output) && args.bit_depth.file_bytes(total_frames) > MAX_WAV_BYTES {
            return Err(Failure::Input(format!(
                "the output ({total_frames} frames) would exceed the 4 GiB a WAV file can hold; shorten --tail"
            )));
        }
    }
    let mut output = WavOutput::create(&args.output, sample_rate_hz, args.bit_depth)?;
    let progress = total_frames.and_then(|total| progress_bar(total, f64::from(sample_rate_hz)));
    let (mut left, mut right) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
    let mut frame = 0u64;
    // A failure mid-way clears the bar before its message is printed (and drops the unfinished output).
    let clear = |bar: Option<indicatif::ProgressBar>| {
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    };
    let (mut input_ended, mut tail_left) = (false, tail_frames);
    loop {
        // The input's frames, then silence (the tail): blocks of BLOCK_FRAMES whatever the input's length is
        // known to be, so a stream and a file of the same samples are processed identically.
        let read = if input_ended {
            0
        } else {
            match input.read(&mut left, &mut right) {
                Ok(read) => read,
                Err(e) => {
                    clear(progress);
                    return Err(e.into());
                }
            }
        };
        input_ended = input_ended || read < BLOCK_FRAMES;
        let tail_now = ((BLOCK_FRAMES - read) as u64).min(tail_left) as usize;
        tail_left -= tail_now as u64;
        let len = read + tail_now;
        if len == 0 {
            break;
        }
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
    // Standard input is spooled as it is read, in case the analysis needs a second pass.
    let mut stream = if wav::is_stdio(input) {
        wav::WavStream::open_stdin(true)?
    } else {
        wav::WavStream::open(input)?
    };
    let sample_rate_hz = f64::from(stream.sample_rate_hz());
    let bar = stream.frames().and_then(|frames| progress_bar(frames, sample_rate_hz));
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
    let a = result.map_err(|e| Failure::Input(format!("{}: {e}", stream.label())))?;
    if as_json {
        let object = corelogic_dsp::analysis::json::analysis_json(&a);
        let text = serde_json::to_string_pretty(&object).map_err(|e| Failure::System(e.to_string()))?;
        print_out(&(text + "\n"))
    } else {
        let mut text = String::new();
        // Writing to a String cannot fail.
        macro_rules! outln {
            ($($arg:tt)*) => {{
                use std::fmt::Write as _;
                let _ = writeln!(text, $($arg)*);
            }};
        }
        let mfcc: Vec<String> = a.mfcc.iter().map(|v| format!("{v:.2}")).collect();
        outln!("peak               {}", text_level(a.peak_db, "dBFS"));
        outln!("true peak          {}", text_level(a.true_peak_db, "dBTP"));
        outln!("RMS                {}", text_level(a.rms_db, "dBFS"));
        outln!("crest factor       {}", text_level(a.crest_db, "dB"));
        outln!("integrated         {}", text_level(a.integrated_lufs, "LUFS"));
        match a.loudness_range_lu {
            Some(lra) => outln!("loudness range     {lra:.2} LU"),
            None => outln!("loudness range     - (nothing above the gates)"),
        }
        outln!(
            "spectral centroid  {:.1} Hz (std {:.1} Hz)",
            a.spectral_centroid_mean_hz,
            a.spectral_centroid_std_hz
        );
        outln!("spectral rolloff   {:.1} Hz", a.spectral_rolloff_hz);
        outln!("spectral flatness  {:.6}", a.spectral_flatness);
        outln!("zero-crossing rate {:.6}", a.zero_crossing_rate);
        outln!("MFCC means         {}", mfcc.join(" "));
        outln!(
            "band energy        low {:.3}, mid {:.3}, high {:.3}",
            a.band_energy[0],
            a.band_energy[1],
            a.band_energy[2]
        );
        match a.tempo_bpm {
            Some(bpm) => outln!("tempo              {bpm:.1} BPM"),
            None => outln!("tempo              - (no clear beat)"),
        }
        print_out(&text)
    }
}

// ---- peaks ----

/// The most numbers `peaks` outputs (a min and a max per bucket per channel, all levels together): 2^25, so
/// the pyramid it holds is at most 128 MiB of f32 and its JSON a few hundred MB.
const MAX_PEAK_VALUES: u64 = 1 << 25;

/// Checks a `peaks` request against the file before anything is allocated: the finest level may not have more
/// buckets than the file has frames (an empty bucket says nothing; an empty file takes one bucket), and all the
/// levels together at most [`MAX_PEAK_VALUES`] numbers. So memory is bounded by the file, whatever is asked.
fn check_peaks_request(buckets: usize, levels: usize, frames: u64, channels: usize) -> Result<(), String> {
    let request = format!("--buckets {buckets} with --levels {levels}");
    let finest = (buckets as u64)
        .checked_mul(1u64 << (levels - 1))
        .filter(|&n| n <= MAX_PEAK_BUCKETS as u64)
        .ok_or_else(|| format!("{request} asks for more than {MAX_PEAK_BUCKETS} buckets at the finest level"))?;
    if finest > frames.max(1) {
        return Err(format!(
            "{request} asks for {finest} buckets at the finest level, more than the file's {frames} frames \
             (a bucket holds at least one frame)"
        ));
    }
    // Levels halve: finest x (1 + 1/2 + ...) buckets in all, 2 numbers per bucket per channel.
    let values = (finest * 2 - (finest >> (levels - 1))) * 2 * channels as u64;
    if values > MAX_PEAK_VALUES {
        return Err(format!(
            "{request} asks for {values} numbers, more than the {MAX_PEAK_VALUES} peaks prints; ask for fewer"
        ));
    }
    Ok(())
}

fn peaks(args: &PeaksArgs) -> Result<(), Failure> {
    // The buckets need the length first: standard input of unknown length is spooled to its end.
    let mut stream = wav::WavStream::open(&args.input)?;
    let channels = usize::from(stream.channels());
    let frames = stream.learn_length()?;
    check_peaks_request(args.buckets, args.levels, frames, channels)
        .map_err(|e| Failure::Input(format!("{}: {e}", stream.label())))?;
    let mut builder = analysis::PeaksBuilder::new(frames, channels, args.buckets, args.levels)
        .map_err(|e| Failure::Input(format!("{}: {e}", stream.label())))?;
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
    // Streamed level by level (never the whole text in memory).
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let io = |e: std::io::Error| stdout_failure(e);
    if args.json {
        analysis::json::write_peaks_json(&mut out, f64::from(stream.sample_rate_hz()), channels, frames, &levels)
            .map_err(io)?;
        out.write_all(b"\n").map_err(io)?;
    } else {
        for level in &levels {
            writeln!(
                out,
                "# {} buckets over {frames} frames: bucket, then min max per channel",
                level.buckets
            )
            .map_err(io)?;
            for i in 0..level.buckets {
                write!(out, "{i}").map_err(io)?;
                for c in 0..channels {
                    write!(out, " {} {}", level.min[c][i], level.max[c][i]).map_err(io)?;
                }
                out.write_all(b"\n").map_err(io)?;
            }
        }
    }
    out.flush().map_err(io)
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
        (Some(id), None) => Ok(vec![single_effect(id, args.preset.as_deref(), &args.set)?]),
        (None, Some(path)) if args.set.is_empty() && args.preset.is_none() => read_chain(path),
        (None, Some(_)) if args.preset.is_none() => Err(Failure::Input(
            "--set applies to --effect only; put a chain's parameters in its JSON".to_string(),
        )),
        (None, Some(_)) => Err(Failure::Input(
            "--preset applies to --effect only; put a chain entry's \"preset\" in its JSON".to_string(),
        )),
        (Some(_), Some(_)) => Err(Failure::Input(
            "give either --effect ID or --chain CHAIN.json, not both".to_string(),
        )),
        (None, None) => Err(Failure::Input("give --effect ID or --chain CHAIN.json".to_string())),
    }
}

/// The `--set` name that chooses a preset instead of a parameter (as a chain entry's "preset" key does).
const PRESET_SETTING: &str = "preset";

fn single_effect(id: &str, preset_option: Option<&str>, settings: &[String]) -> Result<ChainEntry, Failure> {
    let effect = find(id).map_err(|e| Failure::Input(e.to_string()))?;
    let mut preset = preset_option.map(|name| ("--preset".to_string(), name.to_string()));
    let mut parameters: Vec<(String, f64)> = Vec::with_capacity(settings.len());
    for setting in settings {
        match parse_setting(effect.spec, setting)? {
            Setting::Preset(name) => {
                if let Some((given, _)) = &preset {
                    return Err(Failure::Input(format!(
                        "--set {setting}: the preset is already chosen by {given}; give it once"
                    )));
                }
                preset = Some((format!("--set {setting}"), name));
            }
            Setting::Value(name, value) => {
                if parameters.iter().any(|(seen, _)| *seen == name) {
                    return Err(Failure::Input(format!(
                        "--set {setting}: parameter '{name}' is set more than once; give each parameter once"
                    )));
                }
                parameters.push((name, value));
            }
        }
    }
    if let Some((given, name)) = &preset {
        effect
            .spec
            .preset(name)
            .map_err(|e| Failure::Input(format!("{given}: {e}")))?;
    }
    Ok(ChainEntry {
        path: format!("--effect {id}"),
        effect,
        preset: preset.map(|(_, name)| name),
        parameters,
        enabled: true,
        curve: None,
    })
}

/// What one `--set` asks for.
enum Setting {
    /// `preset=NAME`.
    Preset(String),
    /// A parameter and its validated value.
    Value(String, f64),
}

/// Parses and validates one `--set NAME=VALUE`: VALUE is a number, or for a parameter with labelled values
/// (enumerations, switches, choices) one of the labels, compared case-insensitively.
fn parse_setting(spec: &EffectSpec, setting: &str) -> Result<Setting, Failure> {
    let bad = |why: String| Failure::Input(format!("--set {setting}: {why}"));
    let (name, text) = setting
        .split_once('=')
        .ok_or_else(|| bad("expected NAME=VALUE".to_string()))?;
    let (name, text) = (name.trim(), text.trim());
    if name == PRESET_SETTING && spec.index_of(name).is_none() {
        return Ok(Setting::Preset(text.to_string()));
    }
    let index = spec.param_index(name).map_err(|e| bad(e.to_string()))?;
    let param = &spec.params[index];
    let labelled = param.labelled_values();
    let value = match text.parse::<f64>() {
        Ok(value) => value,
        Err(_) => match labelled.as_ref().and_then(|values| find_label(values, text)) {
            Some(value) => value,
            None => {
                let allowed = match &labelled {
                    Some(values) => describe_labelled(values),
                    None => param.allowed(),
                };
                return Err(bad(format!("'{text}' is not a number; allowed: {allowed}")));
            }
        },
    };
    spec.check(index, value).map_err(|e| match (&labelled, param.kind) {
        // The table's message lists a choice's numbers only; a user who may type labels sees them too.
        (Some(values), ParamKind::Choice(_)) => bad(format!("{e} (labels: {})", describe_labelled(values))),
        _ => bad(e.to_string()),
    })?;
    Ok(Setting::Value(name.to_string(), value))
}

/// The value whose label is `text`, ignoring ASCII case.
fn find_label(values: &[(f64, &'static str)], text: &str) -> Option<f64> {
    values
        .iter()
        .find(|(_, label)| label.eq_ignore_ascii_case(text))
        .map(|(value, _)| *value)
}

/// "0 (lowPass), 1 (highPass)": every allowed value with its label.
fn describe_labelled(values: &[(f64, &'static str)]) -> String {
    let list: Vec<String> = values
        .iter()
        .map(|(value, label)| format!("{value} ({label})"))
        .collect();
    list.join(", ")
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
