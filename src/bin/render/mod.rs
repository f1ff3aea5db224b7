//! `corelogic-dsp render PROJECT.json OUT.wav` (docs/render.md): plays each track's clips from its WAV files (docs/engine.md's
//! clip formula, [`ClipFrames`]), runs the engine over them in blocks, and writes the timeline-aligned mix.
//! Memory is bounded by the session (its decoded clip files), not by the render's length: the mix is streamed
//! to the output a block at a time.

use super::{progress_bar, Failure};
use clap::Args;
use corelogic_dsp::engine::control::project::{parse_project, seconds_to_frame, ClipFrames, ProjectPlan, TrackKind};
use corelogic_dsp::engine::{Command, Engine, TrackInput, TransportCommand};
use corelogic_dsp::wav::{self, OutputFormat, StereoAudio, WavOutput, MAX_WAV_BYTES};
use rubato::{FftFixedIn, Resampler};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Frames mixed and written per block (the engine cuts them into its own 128-frame quanta).
const BLOCK_FRAMES: usize = 4096;

#[derive(Args)]
pub struct RenderArgs {
    /// The project (JSON; clip paths are relative to its folder).
    project: PathBuf,
    /// Output WAV file (stereo; written atomically; `-`: standard output, streamed).
    output: PathBuf,
    /// Start of the render in seconds on the timeline (a cold start, as after a seek).
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    start: Option<f64>,
    /// End of the render in seconds (default: the end of the last clip plus the longest tail along any path,
    /// at most 10 s).
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    end: Option<f64>,
    /// Output sample rate in Hz, 8000 to 192000 (default: the project's `sampleRate`); files at another rate
    /// are resampled.
    #[arg(long, value_name = "HZ", value_parser = parse_sample_rate)]
    sample_rate: Option<u32>,
    /// Output format: 16 or 24 (integer PCM, dithered) or 32 (float); default: the project's `bitDepth`, else 32.
    #[arg(long, value_name = "16|24|32", value_parser = super::parse_bit_depth)]
    bit_depth: Option<OutputFormat>,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
        _ => Err("expected a number of seconds, 0 or more".to_string()),
    }
}

fn parse_sample_rate(text: &str) -> Result<u32, String> {
    let (min, max) = wav::SAMPLE_RATE_RANGE_HZ;
    match text.trim().parse::<u32>() {
        Ok(hz) if (min..=max).contains(&hz) => Ok(hz),
        _ => Err(format!("expected a sample rate in Hz from {min} to {max}")),
    }
}

/// A clip ready to play: its frames on the grid and its file's audio at the render rate.
struct Clip {
    frames: ClipFrames,
    audio: usize,
}

/// A track's clips and its buffers for one block.
struct TrackSource {
    clips: Vec<Clip>,
    mono: bool,
    left: Vec<f32>,
    right: Vec<f32>,
}

pub fn run(args: &RenderArgs) -> Result<(), Failure> {
    let text = std::fs::read_to_string(&args.project)
        .map_err(|e| Failure::Input(format!("{}: cannot read the project: {e}", args.project.display())))?;
    let base_dir = match args.project.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let plan = parse_project(&text, &base_dir).map_err(|e| Failure::Input(e.to_string()))?;
    for w in &plan.warnings {
        eprintln!("corelogic-dsp: warning: {}: {}", w.path, w.message);
    }
    let sample_rate_hz = args.sample_rate.unwrap_or(plan.sample_rate.round() as u32);
    let sample_rate = f64::from(sample_rate_hz);
    let format = match (args.bit_depth, plan.bit_depth) {
        (Some(f), _) => f,
        (None, Some(bits)) => OutputFormat::from_bits(bits as u16).unwrap_or(OutputFormat::Float32),
        (None, None) => OutputFormat::Float32,
    };
    let (audio, mut tracks) = load_clips(&plan, sample_rate_hz)?;
    let mut engine = Engine::new(plan, sample_rate).map_err(|e| Failure::Input(e.to_string()))?;
    for (i, t) in tracks.iter().enumerate() {
        if t.mono {
            engine
                .apply(Command::MonoSource { track: i, mono: true })
                .map_err(|e| Failure::System(e.to_string()))?;
        }
    }
    let start = args.start.map_or(0, |s| seconds_to_frame(s, sample_rate));
    let end = match args.end {
        Some(e) => seconds_to_frame(e, sample_rate),
        None => {
            let last_clip = tracks
                .iter()
                .flat_map(|t| t.clips.iter().map(|c| c.frames.start + c.frames.duration))
                .max()
                .unwrap_or(0);
            last_clip + engine.render_tail_frames()
        }
    };
    if end <= start {
        return Err(Failure::Input(format!(
            "--end ({end} frames) must be after --start ({start} frames)"
        )));
    }
    let frames = end - start;
    if format.file_bytes(frames) > MAX_WAV_BYTES {
        return Err(Failure::Input(format!(
            "the output ({frames} frames) would exceed the 4 GiB a WAV file can hold; render a shorter range"
        )));
    }
    // An offline render applies no transport fades (docs/engine.md); it never jumps anyway.
    engine
        .apply(Command::Transport(TransportCommand::Fades { enabled: false }))
        .map_err(|e| Failure::System(e.to_string()))?;
    engine.seek(start);
    let latency = engine.latency() as u64;
    let mut output = WavOutput::create(&args.output, sample_rate_hz, format)?;
    let progress = progress_bar(frames, sample_rate);
    let (mut out_l, mut out_r) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
    // Input timeline position; the output lags it by the latency, whose first frames are dropped.
    let mut position = start;
    let total = frames + latency;
    let mut written = 0u64;
    while position < start + total {
        let n = (start + total - position).min(BLOCK_FRAMES as u64) as usize;
        for t in tracks.iter_mut() {
            fill_track(t, &audio, position, n);
        }
        let inputs: Vec<TrackInput> = tracks
            .iter()
            .map(|t| TrackInput::Stereo(&t.left[..n], &t.right[..n]))
            .collect();
        engine.render(n, &inputs, &mut out_l[..n], &mut out_r[..n]);
        // Output frame k of this block is timeline frame position + k - latency.
        let skip = (start + latency).saturating_sub(position).min(n as u64) as usize;
        if skip < n {
            if let Err(e) = output.write_block(&out_l[skip..n], &out_r[skip..n]) {
                if let Some(bar) = progress {
                    bar.finish_and_clear();
                }
                return Err(e.into());
            }
            written += (n - skip) as u64;
        }
        position += n as u64;
        if let Some(bar) = &progress {
            bar.set_position(written);
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    output.finish()?;
    Ok(())
}

/// Decodes every clip file once (resampled to the render rate when its rate differs) and puts each clip on
/// the frame grid. A missing or bad file is an error naming the clip's JSON path.
fn load_clips(plan: &ProjectPlan, sample_rate_hz: u32) -> Result<(Vec<StereoAudio>, Vec<TrackSource>), Failure> {
    let mut files: HashMap<PathBuf, usize> = HashMap::new();
    let mut audio: Vec<StereoAudio> = Vec::new();
    let mut tracks = Vec::with_capacity(plan.tracks.len());
    for t in &plan.tracks {
        let mut clips = Vec::new();
        let mut all_mono = !t.clips.is_empty();
        if t.kind != TrackKind::Midi {
            for clip in &t.clips {
                let index = match files.get(&clip.file) {
                    Some(&i) => i,
                    None => {
                        let decoded = load_file(&clip.file, sample_rate_hz)
                            .map_err(|m| Failure::Input(format!("{}.path: {m}", clip.path)))?;
                        audio.push(decoded);
                        files.insert(clip.file.clone(), audio.len() - 1);
                        audio.len() - 1
                    }
                };
                all_mono &= audio[index].source_channels == 1;
                let file_frames = audio[index].frames() as u64;
                clips.push(Clip {
                    frames: ClipFrames::new(clip, f64::from(sample_rate_hz), file_frames),
                    audio: index,
                });
            }
        }
        tracks.push(TrackSource {
            clips,
            mono: all_mono,
            left: vec![0.0; BLOCK_FRAMES],
            right: vec![0.0; BLOCK_FRAMES],
        });
    }
    Ok((audio, tracks))
}

fn load_file(path: &Path, sample_rate_hz: u32) -> Result<StereoAudio, String> {
    let decoded = wav::read_wav(path).map_err(|e| e.to_string())?;
    if decoded.sample_rate_hz == sample_rate_hz {
        return Ok(decoded);
    }
    let (left, right) = resample(&decoded, sample_rate_hz)?;
    Ok(StereoAudio {
        sample_rate_hz,
        source_channels: decoded.source_channels,
        left,
        right,
    })
}

/// Resamples a file with rubato's FFT resampler (synchronous, fixed ratio), dropping its delay so that frame 0
/// stays frame 0, to round(frames x out / in) frames.
fn resample(audio: &StereoAudio, out_hz: u32) -> Result<(Vec<f32>, Vec<f32>), String> {
    let chunk = 1024;
    let mut resampler = FftFixedIn::<f64>::new(audio.sample_rate_hz as usize, out_hz as usize, chunk, 2, 2)
        .map_err(|e| format!("cannot resample: {e}"))?;
    let input: [Vec<f64>; 2] = [
        audio.left.iter().map(|&x| f64::from(x)).collect(),
        audio.right.iter().map(|&x| f64::from(x)).collect(),
    ];
    let wanted = (audio.frames() as f64 * f64::from(out_hz) / f64::from(audio.sample_rate_hz)).round() as usize;
    let delay = resampler.output_delay();
    let (mut left, mut right) = (Vec::with_capacity(wanted + delay), Vec::with_capacity(wanted + delay));
    let mut at = 0;
    let error = |e: rubato::ResampleError| format!("cannot resample: {e}");
    while left.len() < wanted + delay {
        let need = resampler.input_frames_next();
        let out = if at + need <= audio.frames() {
            let block = [&input[0][at..at + need], &input[1][at..at + need]];
            at += need;
            resampler.process(&block, None).map_err(error)?
        } else if at < audio.frames() {
            let block = [&input[0][at..], &input[1][at..]];
            at = audio.frames();
            resampler.process_partial(Some(&block), None).map_err(error)?
        } else {
            resampler.process_partial::<&[f64]>(None, None).map_err(error)?
        };
        left.extend(out[0].iter().map(|&x| x as f32));
        right.extend(out[1].iter().map(|&x| x as f32));
    }
    left.drain(..delay);
    right.drain(..delay);
    left.truncate(wanted);
    right.truncate(wanted);
    Ok((left, right))
}

/// Mixes a track's clips for timeline frames `position..position + n` into its buffers: each clip frame's file
/// sample times the clip gain at that frame (docs/engine.md: `10^(gain/20) x min(1, n / Fi, (d - n) / Fo)`);
/// overlapping clips add.
fn fill_track(track: &mut TrackSource, audio: &[StereoAudio], position: u64, n: usize) {
    let (left, right) = (&mut track.left[..n], &mut track.right[..n]);
    left.fill(0.0);
    right.fill(0.0);
    let end = position + n as u64;
    for clip in &track.clips {
        let c = &clip.frames;
        let (from, to) = (position.max(c.start), end.min(c.start + c.duration));
        let file = &audio[clip.audio];
        for f in from..to {
            let k = (f - c.start) as usize;
            let source = c.offset as usize + k;
            let Some((&l, &r)) = file.left.get(source).zip(file.right.get(source)) else {
                break;
            };
            let gain = c.gain_at(k as u64);
            let at = (f - position) as usize;
            left[at] += (f64::from(l) * gain) as f32;
            right[at] += (f64::from(r) * gain) as f32;
        }
    }
}
