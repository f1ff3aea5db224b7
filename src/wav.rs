//! WAV files for the command-line program: reading every format docs/cli.md lists, and writing stereo output
//! atomically (temporary file in the output's directory, renamed into place only on success).
//!
//! Reading: one small RIFF chunk parser handles every accepted format (PCM 8-bit unsigned, 16/24/32-bit
//! integer, 32/64-bit float; plain format tags 1 and 3 and WAVE_FORMAT_EXTENSIBLE; mono or stereo; 8 to
//! 192 kHz). hound is not used for reading: it cannot read 64-bit float and stops silently at truncated data,
//! so the header and the data length must be parsed here anyway, and one decoder for all formats keeps the
//! checks in one place. `process`, `analyze` and `peaks` stream the file in blocks with [`WavStream`];
//! [`read_wav`] reads a whole file into memory (same checks, same messages). Writing streams block by block
//! in the same layout hound writes (hound stays the reference in the tests).

use crate::dither::{IntBits, Quantizer};
use std::fmt;
use std::fs;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The sample rates the program reads (docs/cli.md), in Hz.
pub const SAMPLE_RATE_RANGE_HZ: (u32, u32) = (8_000, 192_000);

const FORMAT_PCM: u16 = 1;
const FORMAT_FLOAT: u16 = 3;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// The 14 bytes after the format tag in every KSDATAFORMAT_SUBTYPE GUID (PCM, IEEE float).
const SUBFORMAT_GUID_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// Why a file could not be read or written. Messages name the file.
#[derive(Debug)]
pub enum WavError {
    /// The user's file is wrong: missing, not a WAV, truncated, or in a format that is not supported.
    BadInput(String),
    /// The system failed: permissions, disk full, a rename that did not happen.
    Io(String),
    /// The reader of standard output closed it (`| head`): not a failure to report.
    OutputClosed,
}

impl fmt::Display for WavError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WavError::BadInput(m) | WavError::Io(m) => f.write_str(m),
            WavError::OutputClosed => f.write_str("standard output: closed by its reader"),
        }
    }
}

impl std::error::Error for WavError {}

/// A decoded input: stereo (mono is duplicated), samples at full scale +/-1.0.
#[derive(Debug, Clone, PartialEq)]
pub struct StereoAudio {
    pub sample_rate_hz: u32,
    /// Channels in the file (1 or 2).
    pub source_channels: u16,
    pub left: Vec<f32>,
    pub right: Vec<f32>,
}

impl StereoAudio {
    pub fn frames(&self) -> usize {
        self.left.len()
    }
}

/// How samples are stored in the data chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Unsigned8,
    Int16,
    Int24,
    Int32,
    Float32,
    Float64,
}

impl Encoding {
    fn bytes(self) -> usize {
        match self {
            Encoding::Unsigned8 => 1,
            Encoding::Int16 => 2,
            Encoding::Int24 => 3,
            Encoding::Int32 | Encoding::Float32 => 4,
            Encoding::Float64 => 8,
        }
    }

    fn is_float(self) -> bool {
        matches!(self, Encoding::Float32 | Encoding::Float64)
    }

    /// Decodes one sample from exactly `bytes()` little-endian bytes; integers divide by 2^(bits-1).
    fn decode(self, b: &[u8]) -> f32 {
        match self {
            Encoding::Unsigned8 => (f64::from(b[0]) - 128.0) as f32 / 128.0,
            Encoding::Int16 => f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0,
            // Place the 24 bits in the top of an i32 and shift back to sign-extend.
            Encoding::Int24 => ((i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f64 / 8_388_608.0) as f32,
            Encoding::Int32 => (f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])) / 2_147_483_648.0) as f32,
            Encoding::Float32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            Encoding::Float64 => f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32,
        }
    }
}

/// The parts of the `fmt ` chunk the reader needs.
#[derive(Debug, Clone, Copy)]
struct Format {
    channels: u16,
    sample_rate_hz: u32,
    block_align: u16,
    encoding: Encoding,
}

fn name(path: &Path) -> String {
    path.display().to_string()
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Reads a WAV file into memory as stereo.
pub fn read_wav(path: &Path) -> Result<StereoAudio, WavError> {
    let bytes = fs::read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => WavError::BadInput(format!("{}: no such file", name(path))),
        io::ErrorKind::IsADirectory => WavError::BadInput(format!("{}: is a directory, not a WAV file", name(path))),
        _ => WavError::Io(format!("{}: cannot read: {e}", name(path))),
    })?;
    decode_wav(&bytes).map_err(|message| WavError::BadInput(format!("{}: {message}", name(path))))
}

/// Decodes a whole WAV file held in memory. Errors are messages without the file name.
pub fn decode_wav(bytes: &[u8]) -> Result<StereoAudio, String> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err("not a WAV file (no RIFF/WAVE header)".to_string());
    }
    let mut format: Option<Format> = None;
    let mut pos = 12;
    loop {
        if pos + 8 > bytes.len() {
            return Err(if format.is_some() {
                "truncated: the file ends before its data chunk".to_string()
            } else {
                "not a valid WAV file: no fmt chunk before the end of the file".to_string()
            });
        }
        let id = &bytes[pos..pos + 4];
        let size = u32_at(bytes, pos + 4) as usize;
        let body = pos + 8;
        let available = bytes.len() - body;
        if id == b"fmt " {
            if size > available {
                return Err("truncated: the fmt chunk is cut off".to_string());
            }
            format = Some(parse_format(&bytes[body..body + size])?);
        } else if id == b"data" {
            let Some(format) = format else {
                return Err("not a valid WAV file: the data chunk comes before the fmt chunk".to_string());
            };
            if size > available {
                return Err(format!(
                    "truncated: the data chunk declares {size} bytes but only {available} are in the file"
                ));
            }
            return decode_data(&bytes[body..body + size], format);
        }
        // Chunks are padded to an even length (RIFF); a pad byte missing at the very end is harmless.
        pos = body + size + (size & 1);
    }
}

fn parse_format(fmt: &[u8]) -> Result<Format, String> {
    if fmt.len() < 16 {
        return Err(format!(
            "not a valid WAV file: fmt chunk of {} bytes (at least 16 expected)",
            fmt.len()
        ));
    }
    let mut tag = u16_at(fmt, 0);
    let channels = u16_at(fmt, 2);
    let sample_rate_hz = u32_at(fmt, 4);
    let block_align = u16_at(fmt, 12);
    let bits = u16_at(fmt, 14);
    if tag == FORMAT_EXTENSIBLE {
        // WAVEFORMATEXTENSIBLE: cbSize (2), valid bits (2), channel mask (4), then the 16-byte subformat GUID
        // whose first two bytes are the real format tag.
        if fmt.len() < 40 || fmt[26..40] != SUBFORMAT_GUID_TAIL {
            return Err("unsupported WAV format: WAVE_FORMAT_EXTENSIBLE with an unknown subformat".to_string());
        }
        tag = u16_at(fmt, 24);
    }
    let encoding = match (tag, bits) {
        (FORMAT_PCM, 8) => Encoding::Unsigned8,
        (FORMAT_PCM, 16) => Encoding::Int16,
        (FORMAT_PCM, 24) => Encoding::Int24,
        (FORMAT_PCM, 32) => Encoding::Int32,
        (FORMAT_FLOAT, 32) => Encoding::Float32,
        (FORMAT_FLOAT, 64) => Encoding::Float64,
        (FORMAT_PCM, _) | (FORMAT_FLOAT, _) => {
            let kind = if tag == FORMAT_PCM { "integer PCM" } else { "float" };
            return Err(format!(
                "unsupported WAV format: {bits}-bit {kind} (supported: 8/16/24/32-bit integer PCM, 32/64-bit float)"
            ));
        }
        _ => {
            return Err(format!(
                "unsupported WAV format: format tag {tag:#06x} (supported: integer PCM and IEEE float)"
            ))
        }
    };
    if channels != 1 && channels != 2 {
        return Err(format!("{channels} channels; only mono and stereo are supported"));
    }
    let (min_hz, max_hz) = SAMPLE_RATE_RANGE_HZ;
    if !(min_hz..=max_hz).contains(&sample_rate_hz) {
        return Err(format!(
            "sample rate {sample_rate_hz} Hz is not supported (allowed: {min_hz} to {max_hz} Hz)"
        ));
    }
    if usize::from(block_align) != usize::from(channels) * encoding.bytes() {
        return Err(format!(
            "not a valid WAV file: block align {block_align} does not match {channels} channel(s) of {bits} bits"
        ));
    }
    Ok(Format {
        channels,
        sample_rate_hz,
        block_align,
        encoding,
    })
}

/// A float WAV must hold finite samples (a float64 beyond f32's range decodes to infinity): the first that
/// is not, named by frame (counted from `first_frame`) and channel.
fn check_finite(left: &[f32], right: &[f32], channels: u16, first_frame: u64) -> Result<(), String> {
    // A sum is non-finite when any term is (inf - inf is NaN): one vectorised pass in the common case.
    // Eight partial sums, so the additions need not wait for each other (a float sum is not reordered for us).
    let all_finite = |xs: &[f32]| {
        let mut lanes = [0.0f32; 8];
        let chunks = xs.chunks_exact(8);
        let rest: f32 = chunks.remainder().iter().map(|&x| x * 0.0).sum();
        for chunk in chunks {
            for (lane, &x) in lanes.iter_mut().zip(chunk) {
                *lane += x * 0.0;
            }
        }
        lanes.iter().sum::<f32>() + rest == 0.0
    };
    let sides: &[&[f32]] = if channels == 2 { &[left, right] } else { &[left] };
    for (c, samples) in sides.iter().enumerate() {
        if all_finite(samples) {
            continue;
        }
        if let Some(i) = samples.iter().position(|x| !x.is_finite()) {
            return Err(format!(
                "frame {}, channel {}: {} (float samples must be finite numbers)",
                first_frame + i as u64,
                c + 1,
                samples[i]
            ));
        }
    }
    Ok(())
}

fn decode_data(data: &[u8], format: Format) -> Result<StereoAudio, String> {
    let frame_bytes = usize::from(format.block_align);
    if data.len() % frame_bytes != 0 {
        return Err(format!(
            "truncated: the data chunk's {} bytes are not a whole number of {frame_bytes}-byte frames",
            data.len()
        ));
    }
    let frames = data.len() / frame_bytes;
    let sample_bytes = format.encoding.bytes();
    let mut left = Vec::with_capacity(frames);
    let mut right = Vec::with_capacity(frames);
    for frame in data.chunks_exact(frame_bytes) {
        let l = format.encoding.decode(&frame[..sample_bytes]);
        let r = if format.channels == 2 {
            format.encoding.decode(&frame[sample_bytes..])
        } else {
            l
        };
        left.push(l);
        right.push(r);
    }
    if format.encoding.is_float() {
        check_finite(&left, &right, format.channels, 0)?;
    }
    Ok(StereoAudio {
        sample_rate_hz: format.sample_rate_hz,
        source_channels: format.channels,
        left,
        right,
    })
}

/// The path that means standard input (as IN) or standard output (as OUT), as sox and ffmpeg take it.
pub const STDIO_PATH: &str = "-";

/// Whether `path` is [`STDIO_PATH`] (a file of that name is still reachable as `./-`).
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == STDIO_PATH
}

/// How a path is named in messages: standard input/output by those words.
fn display_name(path: &Path, stdio: &str) -> String {
    if is_stdio(path) {
        stdio.to_string()
    } else {
        name(path)
    }
}

/// Data chunk sizes that mean "unknown, read to the end": 0xFFFFFFFF (ffmpeg and most streaming writers, ours
/// included) and 0x7FFFF000 (sox's `MS_UNSPEC`, "magic length written when it is not possible to write
/// valid lengths"). A data size of 0 means the same when the RIFF size is 0 or one of these too (a writer that
/// never came back to fill in its header); with a real RIFF size, 0 is an empty data chunk.
const PLACEHOLDER_SIZES: [u32; 2] = [u32::MAX, 0x7FFF_F000];

fn is_placeholder(data_size: u32, riff_size: u32) -> bool {
    PLACEHOLDER_SIZES.contains(&data_size)
        || (data_size == 0 && (riff_size == 0 || PLACEHOLDER_SIZES.contains(&riff_size)))
}

/// The largest `fmt ` chunk read (40 bytes for WAVE_FORMAT_EXTENSIBLE; a stream cannot say how long it is, so a
/// huge declared size must not become a huge allocation).
const MAX_FMT_BYTES: u64 = 1 << 16;

/// Reads until `buf` is full or the stream ends; returns how many bytes were read (a pipe returns short reads).
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Where a [`WavStream`] reads its bytes.
enum Input {
    /// A file, which can seek back for [`WavStream::rewind`].
    File(BufReader<fs::File>),
    /// Standard input, which cannot. With a spool, every data byte read is also written to an unnamed temporary
    /// file, which a rewind then reads instead (the second pass of `analyze`).
    Stdin {
        reader: BufReader<io::StdinLock<'static>>,
        spool: Option<BufWriter<fs::File>>,
    },
}

impl Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::File(file) => read_full(file, buf),
            Input::Stdin { reader, .. } => read_full(reader, buf),
        }
    }
}

/// A WAV file or standard input read in blocks: the header is checked on opening (as [`decode_wav`] checks it),
/// then frames are decoded on demand; [`WavStream::rewind`] goes back to the first frame. Memory: one block of
/// bytes. A data chunk with a placeholder size (0xFFFFFFFF, sox's 0x7FFFF000, or 0 with a placeholder RIFF
/// size) is read to the end of the input.
pub struct WavStream {
    /// The input as messages name it.
    label: String,
    input: Input,
    format: Format,
    data_start: u64,
    /// Frames in the data chunk; None until a stream with a placeholder size has been read to its end.
    frames: Option<u64>,
    position: u64,
    bytes: Vec<u8>,
}

/// What the header says: the format, where the data starts and how many bytes it holds (None: to the end).
struct Header {
    format: Format,
    data_start: u64,
    data_bytes: Option<u64>,
}

/// Reads the RIFF header up to the start of the data chunk, sequentially (a pipe cannot seek); chunks before it
/// are skipped by reading. `length` is the file's, None for a stream. Errors are messages without the name.
fn read_header(reader: &mut impl Read, length: Option<u64>) -> Result<Header, Result<String, io::Error>> {
    let mut header = [0u8; 12];
    let got = read_full(reader, &mut header).map_err(Err)?;
    if got < 12 || &header[0..4] != b"RIFF" || &header[8..12] != b"WAVE" {
        return Err(Ok("not a WAV file (no RIFF/WAVE header)".to_string()));
    }
    let riff_size = u32_at(&header, 4);
    let mut format: Option<Format> = None;
    let mut pos = 12u64;
    loop {
        let mut chunk = [0u8; 8];
        let got = read_full(reader, &mut chunk).map_err(Err)?;
        if got < 8 || length.is_some_and(|l| pos + 8 > l) {
            return Err(Ok(if format.is_some() {
                "truncated: the file ends before its data chunk".to_string()
            } else {
                "not a valid WAV file: no fmt chunk before the end of the file".to_string()
            }));
        }
        let declared = u32_at(&chunk, 4);
        let size = u64::from(declared);
        let body = pos + 8;
        let available = length.map(|l| l - body);
        if &chunk[0..4] == b"fmt " {
            if available.is_some_and(|a| size > a) {
                return Err(Ok("truncated: the fmt chunk is cut off".to_string()));
            }
            if size > MAX_FMT_BYTES {
                return Err(Ok(format!("not a valid WAV file: a fmt chunk of {size} bytes")));
            }
            let mut fmt = vec![0u8; size as usize];
            if read_full(reader, &mut fmt).map_err(Err)? < fmt.len() {
                return Err(Ok("truncated: the fmt chunk is cut off".to_string()));
            }
            format = Some(parse_format(&fmt).map_err(Ok)?);
        } else if &chunk[0..4] == b"data" {
            let Some(format) = format else {
                return Err(Ok(
                    "not a valid WAV file: the data chunk comes before the fmt chunk".to_string()
                ));
            };
            let frame_bytes = u64::from(format.block_align);
            let data_bytes = if is_placeholder(declared, riff_size) {
                // A file's end is known now; a stream's only once it has been read.
                available.map(|a| a - a % frame_bytes)
            } else {
                if available.is_some_and(|a| size > a) {
                    let available = available.unwrap_or(0);
                    return Err(Ok(format!(
                        "truncated: the data chunk declares {size} bytes but only {available} are in the file"
                    )));
                }
                if size % frame_bytes != 0 {
                    return Err(Ok(format!(
                        "truncated: the data chunk's {size} bytes are not a whole number of {frame_bytes}-byte frames"
                    )));
                }
                Some(size)
            };
            return Ok(Header {
                format,
                data_start: body,
                data_bytes,
            });
        } else {
            // Chunks are padded to an even length (RIFF); a pad byte missing at the very end is harmless.
            let skip = size + (size & 1);
            let skipped = io::copy(&mut reader.take(skip), &mut io::sink()).map_err(Err)?;
            if skipped < skip && length.is_none() {
                return Err(Ok("truncated: the stream ends before its data chunk".to_string()));
            }
        }
        pos = body + size + (size & 1);
    }
}

impl WavStream {
    /// Opens and checks a WAV file, or standard input when `path` is `-` ([`WavStream::open_stdin`] without a
    /// spool).
    pub fn open(path: &Path) -> Result<Self, WavError> {
        if is_stdio(path) {
            return Self::open_stdin(false);
        }
        let bad = |m: String| WavError::BadInput(format!("{}: {m}", name(path)));
        let io = |e: io::Error| io_error(path, "cannot read", e);
        let file = fs::File::open(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => WavError::BadInput(format!("{}: no such file", name(path))),
            _ => io_error(path, "cannot read", e),
        })?;
        let meta = file.metadata().map_err(io)?;
        if meta.is_dir() {
            return Err(WavError::BadInput(format!(
                "{}: is a directory, not a WAV file",
                name(path)
            )));
        }
        // A FIFO or a device has no length: read it as a stream.
        let length = meta.is_file().then_some(meta.len());
        let mut file = BufReader::new(file);
        let header = read_header(&mut file, length).map_err(|e| match e {
            Ok(m) => bad(m),
            Err(e) => io(e),
        })?;
        Ok(Self {
            label: name(path),
            input: Input::File(file),
            format: header.format,
            data_start: header.data_start,
            frames: header.data_bytes.map(|b| b / u64::from(header.format.block_align)),
            position: 0,
            bytes: Vec::new(),
        })
    }

    /// Opens standard input, streamed as it arrives. With `spool`, the data is also copied to an unnamed
    /// temporary file as it is read (in the system's temporary directory; the file has no name, so it is gone
    /// when the program ends, however it ends, SIGKILL included), so that [`WavStream::rewind`] works.
    pub fn open_stdin(spool: bool) -> Result<Self, WavError> {
        let label = "standard input".to_string();
        let mut reader = BufReader::new(io::stdin().lock());
        let header = read_header(&mut reader, None).map_err(|e| match e {
            Ok(m) => WavError::BadInput(format!("{label}: {m}")),
            Err(e) => WavError::Io(format!("{label}: cannot read: {e}")),
        })?;
        let spool = if spool {
            Some(BufWriter::new(new_spool(&label)?))
        } else {
            None
        };
        Ok(Self {
            label,
            input: Input::Stdin { reader, spool },
            format: header.format,
            data_start: header.data_start,
            frames: header.data_bytes.map(|b| b / u64::from(header.format.block_align)),
            position: 0,
            bytes: Vec::new(),
        })
    }

    pub fn sample_rate_hz(&self) -> u32 {
        self.format.sample_rate_hz
    }

    /// Channels in the file (1 or 2).
    pub fn channels(&self) -> u16 {
        self.format.channels
    }

    /// Frames in the data chunk, when known: None for a stream whose header has placeholder sizes, until it
    /// has been read to its end (or spooled by [`WavStream::rewind`]).
    pub fn frames(&self) -> Option<u64> {
        self.frames
    }

    /// The input as messages name it (the path, or "standard input").
    pub fn label(&self) -> &str {
        &self.label
    }

    fn io_error(&self, e: io::Error) -> WavError {
        WavError::Io(format!("{}: cannot read: {e}", self.label))
    }

    fn bad(&self, m: impl fmt::Display) -> WavError {
        WavError::BadInput(format!("{}: {m}", self.label))
    }

    /// Decodes the next frames into the front of `left` and `right` (a mono file fills `left` only);
    /// returns how many: fewer than the slices hold only at the end (0 there).
    pub fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, WavError> {
        let room = left.len().min(right.len()) as u64;
        let wanted = match self.frames {
            Some(frames) => room.min(frames - self.position),
            None => room,
        } as usize;
        let frame_bytes = usize::from(self.format.block_align);
        self.bytes.resize(wanted * frame_bytes, 0);
        let got = self.input.read(&mut self.bytes).map_err(|e| self.io_error(e))?;
        if got < self.bytes.len() {
            match self.frames {
                Some(frames) => {
                    let missing = (frames - self.position) * frame_bytes as u64 - got as u64;
                    return Err(self.bad(format!(
                        "truncated: the data ends {missing} bytes before its declared size"
                    )));
                }
                None if got % frame_bytes != 0 => {
                    return Err(self.bad(format!(
                        "truncated: the data ends inside a frame ({} bytes after the last whole {frame_bytes}-byte frame)",
                        got % frame_bytes
                    )));
                }
                // The end of a stream of unknown length: now it is known.
                None => self.frames = Some(self.position + (got / frame_bytes) as u64),
            }
        }
        if let Input::Stdin { spool: Some(spool), .. } = &mut self.input {
            spool
                .write_all(&self.bytes[..got])
                .map_err(|e| WavError::Io(format!("{}: cannot spool to a temporary file: {e}", self.label)))?;
        }
        let n = got / frame_bytes;
        let bytes = &self.bytes[..got];
        let sample_bytes = self.format.encoding.bytes();
        match (self.format.encoding, self.format.channels) {
            // The common case, decoded without a per-sample format dispatch.
            (Encoding::Float32, 2) => {
                // Frames of a constant 8 bytes: a loop the compiler vectorises.
                for ((frame, l), r) in bytes.chunks_exact(8).zip(left.iter_mut()).zip(right.iter_mut()) {
                    *l = f32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]);
                    *r = f32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
                }
            }
            (encoding, channels) => {
                for (i, frame) in bytes.chunks_exact(frame_bytes).enumerate() {
                    left[i] = encoding.decode(&frame[..sample_bytes]);
                    if channels == 2 {
                        right[i] = encoding.decode(&frame[sample_bytes..]);
                    }
                }
            }
        }
        let first = self.position;
        self.position += n as u64;
        if self.format.encoding.is_float() {
            check_finite(&left[..n], &right[..n], self.format.channels, first).map_err(|m| self.bad(m))?;
        }
        Ok(n)
    }

    /// Back to the first frame. A file seeks back; standard input opened with a spool first copies the rest
    /// of its data to the spool (so the length is known afterwards) and reads the spool from then on; without
    /// a spool, a rewind after the first read is an error.
    pub fn rewind(&mut self) -> Result<(), WavError> {
        match &mut self.input {
            Input::File(file) => {
                file.seek(SeekFrom::Start(self.data_start))
                    .map_err(|e| WavError::Io(format!("{}: cannot read: {e}", self.label)))?;
            }
            // Nothing read yet (analyze_source rewinds before it starts): nothing to go back to.
            Input::Stdin { .. } if self.position == 0 => {}
            Input::Stdin { spool: None, .. } => {
                return Err(WavError::Io(format!(
                    "{}: cannot read it twice (internal error: not spooled)",
                    self.label
                )))
            }
            Input::Stdin { .. } => self.switch_to_spool()?,
        }
        self.position = 0;
        Ok(())
    }

    /// Copies what is left of standard input's data to the spool, then reads the spool from its start.
    fn switch_to_spool(&mut self) -> Result<(), WavError> {
        let frame_bytes = u64::from(self.format.block_align);
        let label = self.label.clone();
        let spool_error = |e: io::Error| WavError::Io(format!("{label}: cannot spool to a temporary file: {e}"));
        let Input::Stdin {
            reader,
            spool: Some(spool),
        } = &mut self.input
        else {
            return Ok(());
        };
        let remaining = self.frames.map(|f| (f - self.position) * frame_bytes);
        let copied = match remaining {
            Some(bytes) => io::copy(&mut reader.take(bytes), spool),
            None => io::copy(reader, spool),
        }
        .map_err(|e| WavError::Io(format!("{label}: cannot read or spool it: {e}")))?;
        let total_bytes = self.position * frame_bytes + copied;
        match remaining {
            Some(bytes) if copied < bytes => {
                return Err(WavError::BadInput(format!(
                    "{label}: truncated: the data ends {} bytes before its declared size",
                    bytes - copied
                )))
            }
            None if total_bytes % frame_bytes != 0 => {
                return Err(WavError::BadInput(format!(
                    "{label}: truncated: the data ends inside a frame ({} bytes after the last whole {frame_bytes}-byte frame)",
                    total_bytes % frame_bytes
                )))
            }
            _ => {}
        }
        spool.flush().map_err(spool_error)?;
        let mut file = spool.get_ref().try_clone().map_err(spool_error)?;
        file.seek(SeekFrom::Start(0)).map_err(spool_error)?;
        self.frames = Some(total_bytes / frame_bytes);
        self.data_start = 0;
        self.input = Input::File(BufReader::new(file));
        Ok(())
    }

    /// Makes the length known: standard input of unknown length is spooled to its end and read from the
    /// spool (it must have been opened with one); anything else is left as it is.
    pub fn learn_length(&mut self) -> Result<u64, WavError> {
        if let Some(frames) = self.frames {
            return Ok(frames);
        }
        self.rewind_after_spooling()?;
        self.frames
            .ok_or_else(|| WavError::Io(format!("{}: internal error: length unknown", self.label)))
    }

    fn rewind_after_spooling(&mut self) -> Result<(), WavError> {
        if let Input::Stdin {
            spool: spool @ None, ..
        } = &mut self.input
        {
            if self.position > 0 {
                return Err(WavError::Io(format!(
                    "{}: internal error: its length is needed after reading began without a spool",
                    self.label
                )));
            }
            *spool = Some(BufWriter::new(new_spool(&self.label)?));
        }
        self.switch_to_spool()?;
        self.position = 0;
        Ok(())
    }
}

/// An unnamed temporary file for spooling standard input (see [`WavStream::open_stdin`]).
fn new_spool(label: &str) -> Result<fs::File, WavError> {
    tempfile::tempfile()
        .map_err(|e| WavError::Io(format!("{label}: cannot create a temporary file to spool it to: {e}")))
}

impl crate::analysis::AudioSource for WavStream {
    type Error = WavError;

    fn sample_rate_hz(&self) -> f64 {
        f64::from(self.format.sample_rate_hz)
    }

    fn channels(&self) -> usize {
        usize::from(self.format.channels)
    }

    fn frames(&self) -> u64 {
        // Unknown (a stream of unknown length): 0, which the progress report takes as "no estimate".
        self.frames.unwrap_or(0)
    }

    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, WavError> {
        WavStream::read(self, left, right)
    }

    fn rewind(&mut self) -> Result<(), WavError> {
        WavStream::rewind(self)
    }
}

/// The sample format of the output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// 32-bit IEEE float, samples written as they are.
    Float32,
    /// Integer PCM with TPDF dither (see [`crate::dither`]).
    Int(IntBits),
}

impl OutputFormat {
    /// From `--bit-depth`: 16 and 24 are integer PCM, 32 is float.
    pub fn from_bits(bits: u16) -> Option<Self> {
        match bits {
            16 => Some(OutputFormat::Int(IntBits::Sixteen)),
            24 => Some(OutputFormat::Int(IntBits::TwentyFour)),
            32 => Some(OutputFormat::Float32),
            _ => None,
        }
    }

    pub fn bits(self) -> u16 {
        match self {
            OutputFormat::Float32 => 32,
            OutputFormat::Int(b) => b.bits(),
        }
    }

    /// Bytes a stereo file of `frames` frames takes, header included (hound writes at most 68 header bytes).
    pub fn file_bytes(self, frames: u64) -> u64 {
        frames.saturating_mul(2 * u64::from(self.bits() / 8)).saturating_add(68)
    }
}

/// The largest file a RIFF size field can describe.
pub const MAX_WAV_BYTES: u64 = u32::MAX as u64;

/// The bytes before the samples of a stereo file in `format`, with both size fields 0 (set by
/// [`WavOutput::finish`]), laid out as hound 3.5 lays them out (the reference the tests compare with): the plain
/// 16-byte PCMWAVEFORMAT for 16-bit, WAVE_FORMAT_EXTENSIBLE (required above 16 bits) for 24-bit integer and
/// 32-bit float. Returns the header and the offset of the data chunk's size field.
fn stereo_header(sample_rate_hz: u32, format: OutputFormat) -> (Vec<u8>, usize) {
    const CHANNELS: u16 = 2;
    const FRONT_LEFT_RIGHT: u32 = 0b11;
    let bits = format.bits();
    let block_align = CHANNELS * bits / 8;
    let mut h = Vec::with_capacity(68);
    h.extend_from_slice(b"RIFF\0\0\0\0WAVEfmt ");
    let extensible = bits > 16;
    h.extend_from_slice(&(if extensible { 40u32 } else { 16 }).to_le_bytes());
    let tag = match (extensible, format) {
        (true, _) => FORMAT_EXTENSIBLE,
        (false, OutputFormat::Float32) => FORMAT_FLOAT,
        (false, OutputFormat::Int(_)) => FORMAT_PCM,
    };
    h.extend_from_slice(&tag.to_le_bytes());
    h.extend_from_slice(&CHANNELS.to_le_bytes());
    h.extend_from_slice(&sample_rate_hz.to_le_bytes());
    h.extend_from_slice(&(sample_rate_hz * u32::from(block_align)).to_le_bytes());
    h.extend_from_slice(&block_align.to_le_bytes());
    h.extend_from_slice(&bits.to_le_bytes());
    if extensible {
        // cbSize, valid bits, channel mask, then the subformat GUID: the plain tag and the fixed tail.
        h.extend_from_slice(&22u16.to_le_bytes());
        h.extend_from_slice(&bits.to_le_bytes());
        h.extend_from_slice(&FRONT_LEFT_RIGHT.to_le_bytes());
        let subformat = match format {
            OutputFormat::Float32 => FORMAT_FLOAT,
            OutputFormat::Int(_) => FORMAT_PCM,
        };
        h.extend_from_slice(&subformat.to_le_bytes());
        h.extend_from_slice(&SUBFORMAT_GUID_TAIL);
    }
    h.extend_from_slice(b"data");
    let data_size_at = h.len();
    h.extend_from_slice(&[0; 4]);
    (h, data_size_at)
}

/// The write buffer: it gathers the header; a block (32 KiB of stereo float at the CLI's 4096 frames) is larger
/// and goes to the file directly, without a copy.
const WRITE_BUFFER_BYTES: usize = 8 << 10;

/// A stereo WAV being written to a temporary file beside its destination; [`WavOutput::finish`] renames it
/// into place. Dropped without `finish` (an error anywhere), the temporary file is deleted and the
/// destination is untouched. A destination that exists and is not a regular file (a device such as
/// `/dev/null`, a FIFO) is written directly instead: renaming over it would replace it by a regular file. Samples are encoded a block at a time into one byte buffer (a call per sample
/// through a generic writer was most of the CLI's own time).
pub struct WavOutput {
    destination: PathBuf,
    /// The destination as messages name it.
    label: String,
    file: BufWriter<fs::File>,
    sink: Sink,
    format: OutputFormat,
    data_size_at: usize,
    data_bytes: u64,
    quantizer: Option<Quantizer>,
    interleaved: Vec<i32>,
    bytes: Vec<u8>,
}

/// Where the bytes go until `finish`.
enum Sink {
    /// A temporary file beside the destination, renamed over it by `finish`.
    Temporary {
        temp_path: tempfile::TempPath,
        /// Removes the temporary file if a signal ends the program. Declared after `temp_path`, so it is
        /// dropped after it: the file is never unregistered while it still exists.
        _interrupt: crate::interrupt::Registration,
    },
    /// The destination itself (a device or FIFO), which may not seek: its header's sizes say "unknown"
    /// (0xFFFFFFFF, as streaming writers do) unless `finish` can seek back and fill them in.
    Direct,
    /// Standard output (OUT `-`), streamed like a device. `finish` fills in the sizes only when it is a
    /// regular file the header was written at the start of (`> out.wav`), not one opened for appending.
    Stdout { can_fill_sizes: bool },
}

/// Standard output as a file (a duplicate of descriptor 1), and whether [`WavOutput::finish`] may seek back
/// in it to write the sizes: only at offset 0 of a regular file without O_APPEND (with `>>` a seek would
/// not move the writes, which would land at the end).
#[cfg(unix)]
fn stdout_file() -> io::Result<(fs::File, bool)> {
    use std::os::fd::AsFd;
    let mut file = fs::File::from(io::stdout().as_fd().try_clone_to_owned()?);
    let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
    // SAFETY: F_GETFL on a descriptor we own reads its status flags and changes nothing.
    let flags = unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&file), libc::F_GETFL) };
    let appending = flags < 0 || flags & libc::O_APPEND != 0;
    let at_start = file.stream_position().map(|p| p == 0).unwrap_or(false);
    Ok((file, regular && at_start && !appending))
}

#[cfg(not(unix))]
fn stdout_file() -> io::Result<(fs::File, bool)> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "writing a WAV to standard output needs a Unix system",
    ))
}

/// The value of a RIFF size field whose size is not known (a stream).
const UNKNOWN_SIZE: u32 = u32::MAX;

fn io_error(path: &Path, what: &str, e: impl fmt::Display) -> WavError {
    WavError::Io(format!("{}: {what}: {e}", name(path)))
}

impl WavOutput {
    /// Starts writing `destination` (stereo, at `sample_rate_hz`, in `format`). A directory is bad input; a
    /// device or FIFO is written directly.
    pub fn create(destination: &Path, sample_rate_hz: u32, format: OutputFormat) -> Result<Self, WavError> {
        let (mut header, data_size_at) = stereo_header(sample_rate_hz, format);
        let label = display_name(destination, "standard output");
        let existing = if is_stdio(destination) {
            None
        } else {
            fs::metadata(destination).ok()
        };
        let (file, sink) = match existing {
            _ if is_stdio(destination) => {
                let (file, can_fill_sizes) =
                    stdout_file().map_err(|e| WavError::Io(format!("{label}: cannot write: {e}")))?;
                header[4..8].copy_from_slice(&UNKNOWN_SIZE.to_le_bytes());
                header[data_size_at..data_size_at + 4].copy_from_slice(&UNKNOWN_SIZE.to_le_bytes());
                (file, Sink::Stdout { can_fill_sizes })
            }
            Some(m) if m.is_dir() => {
                return Err(WavError::BadInput(format!(
                    "{}: is a directory; give the path of a file to write",
                    name(destination)
                )))
            }
            Some(m) if !m.is_file() => {
                let file = fs::OpenOptions::new()
                    .write(true)
                    .open(destination)
                    .map_err(|e| io_error(destination, "cannot open for writing", e))?;
                header[4..8].copy_from_slice(&UNKNOWN_SIZE.to_le_bytes());
                header[data_size_at..data_size_at + 4].copy_from_slice(&UNKNOWN_SIZE.to_le_bytes());
                (file, Sink::Direct)
            }
            _ => {
                let directory = match destination.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                let temp = tempfile::Builder::new()
                    .prefix(".corelogic-dsp-")
                    .suffix(".wav.tmp")
                    .tempfile_in(directory)
                    .map_err(|e| io_error(destination, "cannot create a temporary file beside it", e))?;
                let interrupt = crate::interrupt::register(temp.path());
                let (file, temp_path) = temp.into_parts();
                keep_permissions(destination, &file);
                let sink = Sink::Temporary {
                    temp_path,
                    _interrupt: interrupt,
                };
                (file, sink)
            }
        };
        let mut output = WavOutput {
            destination: destination.to_path_buf(),
            label,
            file: BufWriter::with_capacity(WRITE_BUFFER_BYTES, file),
            sink,
            format,
            data_size_at,
            data_bytes: 0,
            quantizer: match format {
                OutputFormat::Float32 => None,
                OutputFormat::Int(bits) => Some(Quantizer::new(bits)),
            },
            interleaved: Vec::new(),
            bytes: Vec::new(),
        };
        output.file.write_all(&header).map_err(|e| output.write_error(e))?;
        Ok(output)
    }

    /// A failed write, named; a reader that closed standard output is [`WavError::OutputClosed`].
    fn write_error(&self, e: io::Error) -> WavError {
        if matches!(self.sink, Sink::Stdout { .. }) && e.kind() == io::ErrorKind::BrokenPipe {
            WavError::OutputClosed
        } else {
            WavError::Io(format!("{}: cannot write: {e}", self.label))
        }
    }

    /// Appends a stereo block.
    pub fn write_block(&mut self, left: &[f32], right: &[f32]) -> Result<(), WavError> {
        let frames = left.len().min(right.len());
        match &mut self.quantizer {
            None => {
                // Sized first and filled in place: a loop the compiler vectorises.
                self.bytes.resize(8 * frames, 0);
                for ((out, l), r) in self.bytes.chunks_exact_mut(8).zip(left).zip(right) {
                    out[..4].copy_from_slice(&l.to_le_bytes());
                    out[4..].copy_from_slice(&r.to_le_bytes());
                }
            }
            Some(quantizer) => {
                self.interleaved.clear();
                quantizer.quantize_stereo(&left[..frames], &right[..frames], &mut self.interleaved);
                // The quantiser's integers are within the bit depth's range: the low bytes are the sample.
                let sample_bytes = usize::from(self.format.bits() / 8);
                self.bytes.resize(sample_bytes * self.interleaved.len(), 0);
                for (out, s) in self.bytes.chunks_exact_mut(sample_bytes).zip(&self.interleaved) {
                    out.copy_from_slice(&s.to_le_bytes()[..sample_bytes]);
                }
            }
        }
        self.data_bytes += self.bytes.len() as u64;
        match self.file.write_all(&self.bytes) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.write_error(e)),
        }
    }

    /// Completes the file (both size fields) and renames it over the destination; a device or FIFO gets its
    /// sizes only if it can seek back (a stream keeps "unknown").
    pub fn finish(mut self) -> Result<(), WavError> {
        if let Sink::Stdout { can_fill_sizes } = self.sink {
            self.file.flush().map_err(|e| self.write_error(e))?;
            // Past 4 GiB the sizes stay "unknown", which every reader of streamed WAVs takes as "to the end".
            let sizes = u32::try_from(self.data_bytes)
                .ok()
                .and_then(|data| data.checked_add(self.data_size_at as u32 - 4).map(|riff| (riff, data)));
            if let (true, Some((riff_bytes, data_bytes))) = (can_fill_sizes, sizes) {
                let file = self.file.get_mut();
                let filled = file
                    .seek(SeekFrom::Start(4))
                    .and_then(|_| file.write_all(&riff_bytes.to_le_bytes()))
                    .and_then(|()| file.seek(SeekFrom::Start(self.data_size_at as u64)))
                    .and_then(|_| file.write_all(&data_bytes.to_le_bytes()))
                    .and_then(|()| file.seek(SeekFrom::End(0)));
                filled.map_err(|e| WavError::Io(format!("{}: cannot write: {e}", self.label)))?;
            }
            return Ok(());
        }
        let (destination, label) = (self.destination, self.label);
        let io_error = |what: &str, e: &dyn fmt::Display| WavError::Io(format!("{label}: {what}: {e}"));
        let too_large = || io_error("cannot write", &"more data than a WAV file can hold");
        let data_bytes = u32::try_from(self.data_bytes).map_err(|_| too_large())?;
        let riff_bytes = data_bytes
            .checked_add(self.data_size_at as u32 - 4)
            .ok_or_else(too_large)?;
        let fill_sizes = |file: &mut BufWriter<fs::File>| -> std::io::Result<()> {
            file.seek(SeekFrom::Start(4))?;
            file.write_all(&riff_bytes.to_le_bytes())?;
            file.seek(SeekFrom::Start(self.data_size_at as u64))?;
            file.write_all(&data_bytes.to_le_bytes())?;
            file.flush()
        };
        match self.sink {
            Sink::Temporary { temp_path, .. } => {
                fill_sizes(&mut self.file).map_err(|e| io_error("cannot write", &e))?;
                temp_path
                    .persist(&destination)
                    .map_err(|e| io_error("cannot rename the finished file into place", &e.error))
            }
            Sink::Direct | Sink::Stdout { .. } => {
                self.file.flush().map_err(|e| io_error("cannot write", &e))?;
                // A stream cannot seek back; its header keeps the sizes it was written with.
                let _ = fill_sizes(&mut self.file);
                Ok(())
            }
        }
    }
}

/// Gives the new file the permissions of the file it replaces, or the usual 0644 for a new one (a temporary
/// file is created private, 0600, which a rename would otherwise carry over to the output).
fn keep_permissions(destination: &Path, file: &fs::File) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let permissions = fs::metadata(destination)
            .map(|m| m.permissions())
            .unwrap_or_else(|_| fs::Permissions::from_mode(0o644));
        // Best effort: a file system without Unix permissions is no reason to fail the render.
        let _ = file.set_permissions(permissions);
    }
    #[cfg(not(unix))]
    let _ = (destination, file);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(tag: u16, channels: u16, rate: u32, bits: u16, data_len: u32) -> Vec<u8> {
        let align = channels * bits / 8;
        let mut b = Vec::new();
        b.extend_from_slice(b"RIFF");
        b.extend_from_slice(&(36 + data_len).to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        for v in [tag, channels] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
        for v in [align, bits] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(b"data");
        b.extend_from_slice(&data_len.to_le_bytes());
        b
    }

    /// Our writer against hound's (the reference the CLI tests read with): the same bytes, header included,
    /// for every output format, over several blocks.
    #[test]
    fn written_files_are_byte_for_byte_what_hound_writes() {
        let dir = tempfile::tempdir().unwrap();
        let left: Vec<f32> = (0..5000).map(|i| 0.9 * (i as f32 * 0.01).sin()).collect();
        let right: Vec<f32> = left.iter().map(|x| -0.5 * x + 0.01).collect();
        for bits in [16u16, 24, 32] {
            let format = OutputFormat::from_bits(bits).unwrap();
            let ours_path = dir.path().join(format!("ours{bits}.wav"));
            let mut ours = WavOutput::create(&ours_path, 44_100, format).unwrap();
            for (l, r) in left.chunks(1234).zip(right.chunks(1234)) {
                ours.write_block(l, r).unwrap();
            }
            ours.finish().unwrap();

            let hound_path = dir.path().join(format!("hound{bits}.wav"));
            let spec = hound::WavSpec {
                channels: 2,
                sample_rate: 44_100,
                bits_per_sample: bits,
                sample_format: if bits == 32 {
                    hound::SampleFormat::Float
                } else {
                    hound::SampleFormat::Int
                },
            };
            let mut reference = hound::WavWriter::create(&hound_path, spec).unwrap();
            match format {
                OutputFormat::Float32 => {
                    for (l, r) in left.iter().zip(&right) {
                        reference.write_sample(*l).unwrap();
                        reference.write_sample(*r).unwrap();
                    }
                }
                OutputFormat::Int(int_bits) => {
                    let mut ints = Vec::new();
                    Quantizer::new(int_bits).quantize_stereo(&left, &right, &mut ints);
                    for s in ints {
                        reference.write_sample(s).unwrap();
                    }
                }
            }
            reference.finalize().unwrap();
            let (a, b) = (fs::read(&ours_path).unwrap(), fs::read(&hound_path).unwrap());
            assert_eq!(a.len(), b.len(), "{bits}-bit: file sizes");
            assert!(
                a == b,
                "{bits}-bit: first difference at byte {:?}",
                a.iter().zip(&b).position(|(x, y)| x != y)
            );
        }
    }

    #[test]
    fn decodes_24_bit_sign_extension_and_8_bit_offset() {
        let mut b = header(1, 1, 48_000, 24, 6);
        b.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x80]);
        let a = decode_wav(&b).unwrap();
        assert_eq!(a.left, vec![-1.0 / 8_388_608.0, -1.0]);
        let mut b = header(1, 2, 8_000, 8, 2);
        b.extend_from_slice(&[0, 255]);
        let a = decode_wav(&b).unwrap();
        assert_eq!((a.left[0], a.right[0]), (-1.0, 127.0 / 128.0));
    }

    #[test]
    fn rejects_truncation_channels_rates_and_formats_with_clear_messages() {
        let mut b = header(1, 2, 48_000, 16, 8);
        b.extend_from_slice(&[0; 6]);
        assert!(decode_wav(&b)
            .unwrap_err()
            .starts_with("truncated: the data chunk declares 8 bytes but only 6"));
        let b = header(1, 6, 48_000, 16, 0);
        assert_eq!(
            decode_wav(&b).unwrap_err(),
            "6 channels; only mono and stereo are supported"
        );
        let b = header(1, 2, 4_000, 16, 0);
        assert!(decode_wav(&b)
            .unwrap_err()
            .starts_with("sample rate 4000 Hz is not supported"));
        let b = header(2, 2, 48_000, 4, 0);
        assert!(decode_wav(&b)
            .unwrap_err()
            .starts_with("unsupported WAV format: format tag 0x0002"));
        assert!(decode_wav(b"hello world, not a wav")
            .unwrap_err()
            .starts_with("not a WAV file"));
    }
}
