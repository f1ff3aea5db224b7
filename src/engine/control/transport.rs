//! The transport's arithmetic: seconds, frames and beats; tempo and time-signature changes; loop wrap; the
//! bar/beat of the UI snapshot; metronome click frames. Pure state and functions: the render side advances a
//! [`Transport`] once per quantum (no allocation).
//!
//! A beat is one unit of the time signature (a quarter note in x/4, an eighth in x/8) at the tempo's BPM.
//! Tempo and signature changes apply from a frame onwards: the beat count continues from where it was (an
//! anchor), so a change never moves audio already played. A signature change starts a new bar at the next whole
//! beat (at once when that beat is a bar line). The transport holds one tempo and one signature (the project
//! format has a single `bpm` and `timeSignature`; changes come from the user while playing): positions before
//! the last change are reported as if the current tempo and signature had always applied from that anchor.
//! Frames are whole: frame = round(seconds x sampleRate).

use super::vocabulary::seconds_to_frame;
pub use super::vocabulary::TimeSignature;

/// Frames per beat at a tempo: sampleRate x 60 / bpm.
pub fn frames_per_beat(sample_rate: f64, bpm: f64) -> f64 {
    sample_rate * 60.0 / bpm
}

/// A loop region in frames, [start, end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopFrames {
    pub start: u64,
    pub end: u64,
}

impl LoopFrames {
    pub fn from_seconds(start_s: f64, end_s: f64, sample_rate: f64) -> Self {
        LoopFrames {
            start: seconds_to_frame(start_s, sample_rate),
            end: seconds_to_frame(end_s, sample_rate),
        }
    }

    /// How many frames of a block starting at `position` play before the loop wraps (the block is split there),
    /// or None when it does not wrap inside `len` frames. A position at or after the end (the playhead started
    /// past the loop) never wraps.
    pub fn frames_before_wrap(&self, position: u64, len: u64) -> Option<u64> {
        (self.end > self.start && position < self.end && position + len >= self.end).then(|| self.end - position)
    }

    /// The position after playing `frames` frames from `position`, wrapping (as often as needed) at the end.
    pub fn advance(&self, position: u64, frames: u64) -> u64 {
        let next = position + frames;
        if self.end <= self.start || position >= self.end || next < self.end {
            return next;
        }
        self.start + (next - self.end) % (self.end - self.start)
    }
}

/// What the UI is sent at 30 Hz or more.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    pub playing: bool,
    pub time_seconds: f64,
    pub sample_frame: u64,
    pub bpm: f64,
    /// 1-based beat within the bar.
    pub beat: u32,
    /// 1-based bar.
    pub bar: u64,
    pub looping: bool,
}

/// A metronome click.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Click {
    pub frame: u64,
    /// The first beat of a bar.
    pub downbeat: bool,
}

/// The transport state: position, play state, tempo map anchor, loop.
#[derive(Debug, Clone, PartialEq)]
pub struct Transport {
    pub sample_rate: f64,
    bpm: f64,
    signature: TimeSignature,
    /// The tempo applies from this frame, where the beat count was `anchor_beats`.
    anchor_frame: f64,
    anchor_beats: f64,
    /// Bars are counted from this beat, where bar number `bar_origin_index` (0-based) starts.
    bar_origin_beats: f64,
    bar_origin_index: u64,
    position: u64,
    playing: bool,
    pub loop_region: Option<LoopFrames>,
}

impl Transport {
    pub fn new(sample_rate: f64, bpm: f64, signature: TimeSignature) -> Self {
        Transport {
            sample_rate,
            bpm,
            signature,
            anchor_frame: 0.0,
            anchor_beats: 0.0,
            bar_origin_beats: 0.0,
            bar_origin_index: 0,
            position: 0,
            playing: false,
            loop_region: None,
        }
    }

    pub fn position(&self) -> u64 {
        self.position
    }
    pub fn is_playing(&self) -> bool {
        self.playing
    }
    pub fn bpm(&self) -> f64 {
        self.bpm
    }
    pub fn signature(&self) -> TimeSignature {
        self.signature
    }

    pub fn play(&mut self) {
        self.playing = true;
    }
    /// Stops where it is.
    pub fn pause(&mut self) {
        self.playing = false;
    }
    /// Stops and returns to zero.
    pub fn stop(&mut self) {
        self.playing = false;
        self.position = 0;
    }
    pub fn seek_frames(&mut self, frame: u64) {
        self.position = frame;
    }
    pub fn seek_seconds(&mut self, seconds: f64) {
        self.position = seconds_to_frame(seconds.max(0.0), self.sample_rate);
    }
    /// Seeks to a beat position (0 = the timeline's start) through the tempo map.
    pub fn seek_beats(&mut self, beats: f64) {
        self.position = self.frame_of_beat(beats).round().max(0.0) as u64;
    }

    /// The beat count at a frame (fractional; beat 0 at frame 0 before any tempo change).
    pub fn beats_at(&self, frame: u64) -> f64 {
        self.anchor_beats + (frame as f64 - self.anchor_frame) / frames_per_beat(self.sample_rate, self.bpm)
    }

    /// The (fractional) frame of a beat count under the current tempo map.
    pub fn frame_of_beat(&self, beats: f64) -> f64 {
        self.anchor_frame + (beats - self.anchor_beats) * frames_per_beat(self.sample_rate, self.bpm)
    }

    /// Changes the tempo from `frame` on (the beat count there is kept).
    pub fn set_tempo(&mut self, bpm: f64, frame: u64) {
        if !(bpm.is_finite() && bpm > 0.0) {
            return;
        }
        self.anchor_beats = self.beats_at(frame);
        self.anchor_frame = frame as f64;
        self.bpm = bpm;
    }

    /// Changes the time signature: a new bar starts at the next whole beat at or after `frame`.
    pub fn set_signature(&mut self, signature: TimeSignature, frame: u64) {
        let start = self.beats_at(frame).ceil();
        let (bar, beat_in_bar) = self.bar_and_beat(start);
        self.bar_origin_index = if beat_in_bar == 0 { bar } else { bar + 1 };
        self.bar_origin_beats = start;
        self.signature = signature;
    }

    /// 0-based bar and 0-based whole beat within it at a beat count.
    fn bar_and_beat(&self, beats: f64) -> (u64, u32) {
        let since = (beats - self.bar_origin_beats).max(0.0).floor() as u64;
        let per_bar = self.signature.beats_per_bar as u64;
        (self.bar_origin_index + since / per_bar, (since % per_bar) as u32)
    }

    /// Plays `frames` frames: the position advances, wrapping at the loop end when looping.
    pub fn advance(&mut self, frames: u64) {
        if !self.playing {
            return;
        }
        self.position = match self.loop_region {
            Some(l) => l.advance(self.position, frames),
            None => self.position + frames,
        };
    }

    /// The UI's snapshot. `latency` is the master's total latency in real time: the audio heard now left the
    /// timeline that many frames ago, so the reported position is behind by it (never below zero).
    pub fn snapshot(&self, latency: u64) -> Snapshot {
        self.snapshot_at(self.position.saturating_sub(latency))
    }

    /// The UI's snapshot with the heard frame given (the engine knows it across loop wraps and jumps).
    pub fn snapshot_at(&self, heard: u64) -> Snapshot {
        let (bar, beat) = self.bar_and_beat(self.beats_at(heard));
        Snapshot {
            playing: self.playing,
            time_seconds: heard as f64 / self.sample_rate,
            sample_frame: heard,
            bpm: self.bpm,
            beat: beat + 1,
            bar: bar + 1,
            looping: self.loop_region.is_some(),
        }
    }

    /// The metronome clicks in frames `start..start + len` (no loop wrap inside: split the block first), in order,
    /// passed to `emit`. Beat k sounds at round(frame of beat k). Allocates nothing.
    pub fn clicks(&self, start: u64, len: u64, mut emit: impl FnMut(Click)) {
        let end = start + len;
        // The first whole beat that could round into the block; stepping on from there.
        let mut k = (self.beats_at(start) - 1.0).floor();
        loop {
            let frame = self.frame_of_beat(k).round();
            if frame >= end as f64 {
                break;
            }
            if frame >= start as f64 {
                let (_, beat) = self.bar_and_beat(k);
                emit(Click {
                    frame: frame as u64,
                    downbeat: beat == 0,
                });
            }
            k += 1.0;
        }
    }
}
