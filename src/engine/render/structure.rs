//! Tracks, buses, sends and routing changed while running (docs/engine.md, "Changing the mix while playing").
//!
//! A structure command edits a copy of the plan by id, validates it as a loaded project is validated
//! ([`resolve`]: unique ids, known destinations, sidechain sources, cycles named), and only then rebuilds the
//! graph, the render order and the latency plan. Strips, compensation delays and input delays are matched to the
//! old ones by id, so everything that did not change keeps its state (effects, meters, glides, delay contents):
//! a playing track does not restart when another is added. A removed strip leaves the graph at once and dips
//! out (its chain's [`crate::engine::render::fade::DipFade`]) through the delay lines it had; it is freed between quanta.
//! A path that a route change or a removed send leaves on a strip that stays fades out linearly over the same 5 ms
//! (a [`LeavingPath`]) while a new output path fades in.
//!
//! Track indices shift like the app's `tracks` array: removing track i moves every later track down by one at
//! once. While a removed track dips out (5 ms) it reads its input at index `track count + k` (k its order among
//! the tracks still departing); a host that wants a click-free removal keeps feeding its audio there.

use super::{load_input, CommandError, Engine, TrackInputs};
use crate::engine::control::plan::{BusPlan, Destination, ProjectPlan, SendPlan, StripRef, TargetParam, TrackPlan};
use crate::engine::control::project::resolve;
use crate::engine::control::routing::{EdgeKind, RoutingGraph};
use crate::engine::render::delay::CompensationDelay;
use crate::engine::render::param::Param;
use crate::engine::render::strip::{KeyInput, SendSlot, Strip};
use std::collections::HashMap;

/// The level a new send glides in from (silence), so adding a send does not step.
const SEND_ENTRY_DB: f64 = -144.0;

/// A change of the mix's structure.
#[derive(Debug, Clone)]
pub enum StructureChange {
    /// A track (the project format's track object, parsed), at an index or at the end.
    AddTrack {
        at: Option<usize>,
        track: Box<TrackPlan>,
    },
    RemoveTrack {
        track: usize,
    },
    AddBus {
        bus: Box<BusPlan>,
    },
    /// Refused while a track or bus routes to it, sends to it or keys from it (the error names them).
    RemoveBus {
        bus: usize,
    },
    AddSend {
        strip: StripRef,
        send: SendPlan,
    },
    RemoveSend {
        strip: StripRef,
        send: usize,
    },
    /// Routes a track's or bus's output to the master (`"Master"`/`"master"`) or a bus by id.
    Route {
        strip: StripRef,
        to: String,
    },
}

/// A removed strip dipping out: its output and sends keep their delay lines into their destinations.
pub struct Departing {
    pub strip: Strip,
    /// Where its output and each send go (new node indices), through the path's delay line.
    paths: Vec<DepartingPath>,
    /// A track's input delay.
    input_delay: Option<CompensationDelay>,
    pub done: bool,
}

/// An output or send path that a route change or a removed send left, on a strip that stays: it fades out
/// linearly over the change fade into its old destination (while the new output path fades in over the same
/// frames, so the two sum to the signal), then runs until its delay line is empty, and is freed between quanta.
pub struct LeavingPath {
    /// Source and destination nodes.
    from: usize,
    to: usize,
    pre_fader: bool,
    /// The path's gain when it left (a send's level and its strip's audible gain; 1 for an output).
    gain: f32,
    /// Frames into the fade.
    done: usize,
    delay: CompensationDelay,
    finished: bool,
}

struct DepartingPath {
    to: usize,
    /// `None`: the output; else the send's index.
    send: Option<usize>,
    delay: CompensationDelay,
}

impl Engine {
    /// Applies a structure change: validates the edited plan, then moves every surviving strip, delay line and
    /// automation lane into the new graph. Nothing changes when it fails. Between quanta: allocates.
    pub(super) fn change_structure(&mut self, change: StructureChange) -> Result<(), CommandError> {
        let mut plan = self.plan.clone();
        let mut removed: Option<StripRef> = None;
        match change {
            StructureChange::AddTrack { at, track } => {
                let at = at.unwrap_or(plan.tracks.len());
                if at > plan.tracks.len() {
                    return Err(CommandError(format!(
                        "addTrack: index {at} is past the end ({} tracks)",
                        plan.tracks.len()
                    )));
                }
                plan.tracks.insert(at, *track);
            }
            StructureChange::RemoveTrack { track } => {
                if track >= plan.tracks.len() {
                    return Err(CommandError(format!("removeTrack: no track {track}")));
                }
                check_unused(&plan, StripRef::Track(track))?;
                plan.tracks.remove(track);
                removed = Some(StripRef::Track(track));
            }
            StructureChange::AddBus { bus } => plan.buses.push(*bus),
            StructureChange::RemoveBus { bus } => {
                if bus >= plan.buses.len() {
                    return Err(CommandError(format!("removeBus: no bus {bus}")));
                }
                check_unused(&plan, StripRef::Bus(bus))?;
                plan.buses.remove(bus);
                removed = Some(StripRef::Bus(bus));
            }
            StructureChange::AddSend { strip, send } => {
                let sends = sends_mut(&mut plan, strip)?;
                if sends.iter().any(|s| s.id == send.id) {
                    return Err(CommandError(format!(
                        "addSend: send id '{}' is already used on {strip:?}",
                        send.id
                    )));
                }
                sends.push(send);
            }
            StructureChange::RemoveSend { strip, send } => {
                let sends = sends_mut(&mut plan, strip)?;
                if send >= sends.len() {
                    return Err(CommandError(format!(
                        "removeSend: no send {send} (the strip has {})",
                        sends.len()
                    )));
                }
                sends.remove(send);
            }
            StructureChange::Route { strip, to } => match strip {
                StripRef::Track(i) if i < plan.tracks.len() => plan.tracks[i].routing_id = to,
                StripRef::Bus(b) if b < plan.buses.len() => plan.buses[b].routing_id = to,
                _ => return Err(CommandError(format!("route: no track or bus {strip:?}"))),
            },
        }
        // `Track.routing` is the source of truth once the mix changes (docs/engine.md, "Mixer").
        for bus in &mut plan.buses {
            bus.track_ids = None;
        }
        resolve(&mut plan)?;
        self.remap_automation(&mut plan, removed);
        self.install(plan)
    }

    /// Points each automation curve at its strip, send and insert in the edited plan (by id); curves of a
    /// removed strip or send go.
    fn remap_automation(&self, plan: &mut ProjectPlan, removed: Option<StripRef>) {
        let old = &self.plan;
        plan.automation.retain_mut(|curve| {
            if Some(curve.target.strip) == removed {
                return false;
            }
            let strip = match curve.target.strip {
                StripRef::Master => StripRef::Master,
                s => match plan_strip_by_id(old.strip_id(s), &plan.tracks, &plan.buses) {
                    Some(strip) => strip,
                    None => return false,
                },
            };
            if let TargetParam::SendLevel(s) = curve.target.param {
                let id = &old.sends(curve.target.strip)[s].id;
                match sends_of(&plan.tracks, &plan.buses, strip)
                    .iter()
                    .position(|p| &p.id == id)
                {
                    Some(n) => curve.target.param = TargetParam::SendLevel(n),
                    None => return false,
                }
            }
            curve.target.strip = strip;
            true
        });
    }

    /// Swaps in the graph of a validated plan, keeping the state of every strip and path that survives.
    fn install(&mut self, plan: ProjectPlan) -> Result<(), CommandError> {
        let graph = RoutingGraph::from_plan(&plan);
        let order_refs = graph.render_order()?;
        let new_node = |s: StripRef| node_index(&plan, s);
        // Old node -> new node, by id (a track id and a bus id never collide: resolve checks).
        let ids: HashMap<&str, StripRef> = (0..plan.tracks.len())
            .map(StripRef::Track)
            .chain((0..plan.buses.len()).map(StripRef::Bus))
            .map(|strip| (plan.strip_id(strip), strip))
            .collect();
        // The edges each node's rewiring looks at: those it sends along and the keys into it, in edge order.
        let mut touching: Vec<Vec<usize>> = vec![Vec::new(); graph.nodes.len()];
        for (e, edge) in graph.edges.iter().enumerate() {
            touching[new_node(edge.from)].push(e);
            if matches!(edge.kind, EdgeKind::Sidechain { .. }) && edge.to != edge.from {
                touching[new_node(edge.to)].push(e);
            }
        }
        let new_of_old: Vec<Option<usize>> = self
            .graph
            .nodes
            .iter()
            .map(|&old| match old {
                StripRef::Master => Some(graph.nodes.len() - 1),
                _ => {
                    let id = self.plan.strip_id(old);
                    ids.get(id).copied().map(new_node)
                }
            })
            .collect();
        let mut old_of = vec![None; graph.nodes.len()];
        for (o, &n) in new_of_old.iter().enumerate() {
            if let Some(n) = n {
                old_of[n] = Some(o);
            }
        }
        let old_of_new = |n: usize| old_of[n];
        // The old edges by their ends (old node indices), so that matching a new edge looks at only a few.
        let mut old_edges_between: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
        for (e, old) in self.graph.edges.iter().enumerate() {
            let ends = (node_index(&self.plan, old.from), node_index(&self.plan, old.to));
            old_edges_between.entry(ends).or_default().push(e);
        }
        let (sample_rate, max_frames) = (self.sample_rate, self.max_frames);
        // New strips first (creating an effect can fail): nothing has changed yet if one does.
        let mut built: Vec<Option<Strip>> = Vec::with_capacity(graph.nodes.len());
        for (n, &kind) in graph.nodes.iter().enumerate() {
            built.push(match old_of_new(n) {
                Some(_) => None,
                None => Some(super::build_strip(&plan, &graph, kind, sample_rate, max_frames)?),
            });
        }
        let mut old_strips: Vec<Option<Strip>> = std::mem::take(&mut self.strips).into_iter().map(Some).collect();
        let mut old_delays: Vec<Option<CompensationDelay>> =
            std::mem::take(&mut self.edge_delays).into_iter().map(Some).collect();
        let mut old_inputs: Vec<Option<CompensationDelay>> =
            std::mem::take(&mut self.input_delays).into_iter().map(Some).collect();
        // Each new edge takes the delay line of the same old path (same ends, same send id or keyed insert id).
        let mut entering = vec![false; graph.nodes.len()];
        let edge_delays: Vec<CompensationDelay> = graph
            .edges
            .iter()
            .map(|edge| {
                let (Some(from), Some(to)) = (old_of_new(new_node(edge.from)), old_of_new(new_node(edge.to))) else {
                    return CompensationDelay::new(0, 0, sample_rate);
                };
                let found = old_edges_between.get(&(from, to)).and_then(|candidates| {
                    candidates.iter().copied().find(|&e| {
                        let old = &self.graph.edges[e];
                        same_path(&self.plan, old.from, old.kind, &plan, edge.from, edge.kind)
                    })
                });
                match found.and_then(|e| old_delays[e].take()) {
                    Some(delay) => delay,
                    None => {
                        // A surviving strip's output newly routed: it fades in as the old path fades out.
                        entering[new_node(edge.from)] |= edge.kind == EdgeKind::Output;
                        CompensationDelay::new(0, 0, sample_rate)
                    }
                }
            })
            .collect();
        // Paths of surviving strips that no new edge took (a route changed, a send removed) fade out.
        for l in &mut self.leaving {
            match (new_of_old[l.from], new_of_old[l.to]) {
                (Some(from), Some(to)) => (l.from, l.to) = (from, to),
                _ => l.finished = true,
            }
        }
        for (e, edge) in self.graph.edges.iter().enumerate() {
            let (o_from, o_to) = (node_index(&self.plan, edge.from), node_index(&self.plan, edge.to));
            let (Some(from), Some(to)) = (new_of_old[o_from], new_of_old[o_to]) else {
                continue;
            };
            let (pre_fader, gain) = match edge.kind {
                EdgeKind::Sidechain { .. } => continue,
                EdgeKind::Output => (false, 1.0),
                EdgeKind::Send { send, pre_fader } => {
                    let slot = old_strips[o_from].as_ref().and_then(|s| s.sends.get(send));
                    (pre_fader, slot.map_or(0.0, |s| s.last_gain))
                }
            };
            if let Some(delay) = old_delays[e].take() {
                self.leaving.push(LeavingPath {
                    from,
                    to,
                    pre_fader,
                    gain,
                    done: 0,
                    delay,
                    finished: false,
                });
            }
        }
        let mut strips = Vec::with_capacity(graph.nodes.len());
        let mut fresh = vec![false; graph.nodes.len()];
        for (n, &kind) in graph.nodes.iter().enumerate() {
            fresh[n] = old_of_new(n).is_none();
            let strip = match old_of_new(n).and_then(|o| old_strips[o].take().map(|s| (o, s))) {
                Some((o, mut strip)) => {
                    let old_kind = self.graph.nodes[o];
                    strip.kind = kind;
                    let edges = &touching[n];
                    rewire(
                        &mut strip,
                        (&self.plan, old_kind),
                        &plan,
                        &graph,
                        edges,
                        sample_rate,
                        max_frames,
                    );
                    strip
                }
                None => match built[n].take() {
                    Some(strip) => strip,
                    None => super::build_strip(&plan, &graph, kind, sample_rate, max_frames)?,
                },
            };
            strips.push(strip);
        }
        for (n, strip) in strips.iter_mut().enumerate() {
            if entering[n] && old_of_new(n).is_some() {
                strip.output_entering = Some(0);
            }
        }
        let input_delays = (0..plan.tracks.len())
            .map(|i| {
                old_of_new(i)
                    .and_then(|o| match self.graph.nodes[o] {
                        StripRef::Track(t) => old_inputs[t].take(),
                        _ => None,
                    })
                    .unwrap_or_else(|| CompensationDelay::new(0, 0, sample_rate))
            })
            .collect();
        // Destinations of strips still departing from an earlier change move with their nodes.
        for d in &mut self.departing {
            for p in &mut d.paths {
                match new_of_old.get(p.to).copied().flatten() {
                    Some(to) => p.to = to,
                    // Its destination left too: route what is left to the master.
                    None => p.to = graph.nodes.len() - 1,
                }
            }
        }
        // Strips that left: dip out through the paths they had.
        for (o, slot) in old_strips.iter_mut().enumerate() {
            let Some(mut strip) = slot.take() else { continue };
            let old_kind = self.graph.nodes[o];
            let mut paths = Vec::new();
            for (e, edge) in self.graph.edges.iter().enumerate() {
                if edge.from != old_kind || matches!(edge.kind, EdgeKind::Sidechain { .. }) {
                    continue;
                }
                let Some(to) = new_of_old[node_index(&self.plan, edge.to)] else {
                    continue;
                };
                let send = match edge.kind {
                    EdgeKind::Send { send, .. } => Some(send),
                    _ => None,
                };
                if let Some(delay) = old_delays[e].take() {
                    paths.push(DepartingPath { to, send, delay });
                }
            }
            let input_delay = match old_kind {
                StripRef::Track(t) => old_inputs[t].take(),
                _ => None,
            };
            strip.chain_fade.begin(0);
            strip.key_edges.clear();
            self.departing.push(Departing {
                strip,
                paths,
                input_delay,
                done: false,
            });
        }
        self.order = order_refs.iter().map(|&s| new_node(s)).collect();
        self.strips = strips;
        self.mark_leaving_pre_taps();
        self.edge_delays = edge_delays;
        self.input_delays = input_delays;
        self.graph = graph;
        self.plan = plan;
        self.update_audible(false);
        // A new strip sounds (or is solo-muted) from its first sample, as in an engine built with it.
        for (strip, _) in self.strips.iter_mut().zip(&fresh).filter(|(_, &f)| f) {
            let audible = strip.audible.target();
            strip.audible.set_immediately(audible);
        }
        self.replan_latency(true);
        Ok(())
    }

    /// Renders the strips that are dipping out (before the live strips, into their destinations' sums). Never
    /// allocates.
    pub(super) fn render_departing(&mut self, offset: usize, n: usize, inputs: &(impl TrackInputs + ?Sized)) {
        let tracks = self.plan.tracks.len();
        let mut k = 0;
        let position = self.transport.position();
        for d in &mut self.departing {
            // Counted before skipping a finished one: indices hold until the finished are freed between quanta.
            let input_index = if matches!(d.strip.kind, StripRef::Track(_)) {
                k += 1;
                Some(tracks + k - 1)
            } else {
                None
            };
            if d.done {
                continue;
            }
            if d.strip.chain_fade.take_switch() || !d.strip.chain_fade.is_active() {
                d.done = true;
                continue;
            }
            let strip = &mut d.strip;
            let silent = match (input_index, &mut d.input_delay) {
                (Some(i), Some(delay)) => {
                    let (l, r) = (&mut strip.in_left[..n], &mut strip.in_right[..n]);
                    let silent = self.transport.inputs_closed() || load_input(inputs.input(i), offset, l, r);
                    let silent = self.transport.gate_input(l, r, silent);
                    delay.process(l, r, silent)
                }
                _ => true,
            };
            strip.render(n, position, silent);
            for p in &mut d.paths {
                let (tap_pre, gain, constant) = match p.send {
                    None => (false, &[][..], Some(1.0)),
                    Some(s) => {
                        let send = &strip.sends[s];
                        (send.pre_fader, &send.gain[..n], send.gain_constant)
                    }
                };
                let tap_silent = strip.asleep || (!tap_pre && strip.out_silent) || constant == Some(0.0);
                let (sl, sr) = (&mut self.scratch_left[..n], &mut self.scratch_right[..n]);
                if tap_silent {
                    sl.fill(0.0);
                    sr.fill(0.0);
                } else {
                    let (tl, tr) = strip.tap(tap_pre);
                    for i in 0..n {
                        let g = constant.unwrap_or_else(|| gain[i]);
                        sl[i] = tl[i] * g;
                        sr[i] = tr[i] * g;
                    }
                }
                if p.delay.process(sl, sr, tap_silent) {
                    continue;
                }
                self.strips[p.to].add_to_input(sl, sr);
            }
        }
    }

    /// Frees the strips whose dip has ended (between quanta).
    pub(super) fn drop_departed(&mut self) {
        self.departing.retain(|d| !d.done);
        self.leaving.retain(|l| !l.finished);
        self.mark_leaving_pre_taps();
    }

    /// Tells each strip whether a pre-fader send that left it is still fading out (it then keeps its pre-fader
    /// tap).
    fn mark_leaving_pre_taps(&mut self) {
        for (n, strip) in self.strips.iter_mut().enumerate() {
            strip.leaving_pre_tap = self.leaving.iter().any(|l| l.from == n && l.pre_fader && !l.finished);
        }
    }

    /// Renders the paths leaving node `node` (after its live edges, into their old destinations' sums). Never
    /// allocates.
    pub(super) fn distribute_leaving(&mut self, node: usize, n: usize) {
        let frames = self.change_fade_frames;
        for l in self.leaving.iter_mut().filter(|l| l.from == node && !l.finished) {
            let strip = &self.strips[node];
            let fading = l.done < frames;
            let tap_silent = !fading || strip.asleep || (!l.pre_fader && strip.out_silent) || l.gain == 0.0;
            let (sl, sr) = (&mut self.scratch_left[..n], &mut self.scratch_right[..n]);
            if tap_silent {
                sl.fill(0.0);
                sr.fill(0.0);
            } else {
                let (tl, tr) = strip.tap(l.pre_fader);
                for i in 0..n {
                    let g = l.gain * (1.0 - ((l.done + i) as f32 / frames as f32).min(1.0));
                    sl[i] = tl[i] * g;
                    sr[i] = tr[i] * g;
                }
            }
            l.done = (l.done + n).min(frames);
            if l.delay.process(sl, sr, tap_silent) {
                // Faded out and nothing left in flight.
                l.finished = !fading;
                continue;
            }
            self.strips[l.to].add_to_input(sl, sr);
        }
    }

    /// How many track inputs the engine reads: the tracks, then the removed tracks still dipping out (a host
    /// sizes its input buffers by it after a structure command).
    pub fn input_count(&self) -> usize {
        let departing = self
            .departing
            .iter()
            .filter(|d| matches!(d.strip.kind, StripRef::Track(_)))
            .count();
        self.plan.tracks.len() + departing
    }
}

/// Refuses to remove a strip that another strip still routes to, sends to or keys from, naming them.
fn check_unused(plan: &ProjectPlan, strip: StripRef) -> Result<(), CommandError> {
    let id = plan.strip_id(strip).to_string();
    let mut users = Vec::new();
    let strips = (0..plan.tracks.len())
        .map(StripRef::Track)
        .chain((0..plan.buses.len()).map(StripRef::Bus))
        .chain([StripRef::Master]);
    for s in strips {
        let name = plan.strip_id(s);
        let routing = match s {
            StripRef::Track(i) => Some(plan.tracks[i].routing),
            StripRef::Bus(b) => Some(plan.buses[b].routing),
            StripRef::Master => None,
        };
        if let (Some(Destination::Bus(b)), StripRef::Bus(me)) = (routing, strip) {
            if b == me {
                users.push(format!("'{name}' routes to it"));
            }
        }
        for send in plan.sends(s) {
            if StripRef::Bus(send.destination) == strip {
                users.push(format!("'{name}' sends to it ({})", send.id));
            }
        }
        for insert in plan.inserts(s) {
            if insert.sidechain.as_ref().and_then(|c| c.source) == Some(strip) {
                users.push(format!("'{name}' keys insert '{}' from it", insert.id));
            }
        }
    }
    if users.is_empty() {
        return Ok(());
    }
    Err(CommandError(format!(
        "'{id}' is still in use: {} (reroute or remove those first)",
        users.join(", ")
    )))
}

fn sends_mut(plan: &mut ProjectPlan, strip: StripRef) -> Result<&mut Vec<SendPlan>, CommandError> {
    match strip {
        StripRef::Track(i) if i < plan.tracks.len() => Ok(&mut plan.tracks[i].sends),
        StripRef::Bus(b) if b < plan.buses.len() => Ok(&mut plan.buses[b].sends),
        StripRef::Master => Err(CommandError("the master has no sends".into())),
        _ => Err(CommandError(format!("no track or bus {strip:?}"))),
    }
}

/// A strip by id among tracks and buses (the master is found by its own kind).
fn plan_strip_by_id(id: &str, tracks: &[TrackPlan], buses: &[BusPlan]) -> Option<StripRef> {
    if let Some(i) = tracks.iter().position(|t| t.id == id) {
        return Some(StripRef::Track(i));
    }
    if let Some(b) = buses.iter().position(|b| b.id == id) {
        return Some(StripRef::Bus(b));
    }
    None
}

fn sends_of<'a>(tracks: &'a [TrackPlan], buses: &'a [BusPlan], strip: StripRef) -> &'a [SendPlan] {
    match strip {
        StripRef::Track(i) => &tracks[i].sends,
        StripRef::Bus(b) => &buses[b].sends,
        StripRef::Master => &[],
    }
}

/// A strip's node in the graph of `plan` ([`RoutingGraph::from_plan`] numbers tracks, then buses, then the
/// master).
fn node_index(plan: &ProjectPlan, strip: StripRef) -> usize {
    match strip {
        StripRef::Track(i) => i,
        StripRef::Bus(b) => plan.tracks.len() + b,
        StripRef::Master => plan.tracks.len() + plan.buses.len(),
    }
}

/// Whether two edges (of the old and the new plan, with matching ends) carry the same path: the output, the
/// send with the same id, the key of the insert with the same id.
fn same_path(
    old: &ProjectPlan,
    old_from: StripRef,
    old_kind: EdgeKind,
    new: &ProjectPlan,
    new_from: StripRef,
    new_kind: EdgeKind,
) -> bool {
    match (old_kind, new_kind) {
        (EdgeKind::Output, EdgeKind::Output) => true,
        (EdgeKind::Send { send: a, pre_fader: pa }, EdgeKind::Send { send: b, pre_fader: pb }) => {
            pa == pb && old.sends(old_from)[a].id == new.sends(new_from)[b].id
        }
        // Keys are matched by the destination's insert id; the key's source is the edge's `from`.
        (EdgeKind::Sidechain { .. }, EdgeKind::Sidechain { .. }) => true,
        _ => false,
    }
}

/// Points a surviving strip (its old plan and place given) at the new graph's edges (`edges`: those leaving it
/// and the keys into it, in edge order): its output, its sends (kept by id, with their glides; a new send glides in from silence), the keys it
/// feeds and the keys its inserts read.
fn rewire(
    strip: &mut Strip,
    (old, old_kind): (&ProjectPlan, StripRef),
    plan: &ProjectPlan,
    graph: &RoutingGraph,
    edges: &[usize],
    sample_rate: f64,
    max_frames: usize,
) {
    let kind = strip.kind;
    strip.output_edge = None;
    strip.key_edges.clear();
    let mut old_sends: Vec<Option<SendSlot>> = std::mem::take(&mut strip.sends).into_iter().map(Some).collect();
    for &e in edges {
        let edge = &graph.edges[e];
        if edge.from == kind {
            match edge.kind {
                EdgeKind::Output => strip.output_edge = Some(e),
                EdgeKind::Send { send, pre_fader } => {
                    let p = &plan.sends(kind)[send];
                    let kept = old
                        .sends(old_kind)
                        .iter()
                        .position(|o| o.id == p.id)
                        .and_then(|o| old_sends.get_mut(o).and_then(Option::take));
                    let slot = match kept {
                        Some(mut slot) => {
                            slot.edge = e;
                            slot.pre_fader = pre_fader;
                            slot
                        }
                        None => {
                            let mut level = Param::new(SEND_ENTRY_DB, sample_rate, max_frames);
                            level.set(p.level_db);
                            SendSlot {
                                edge: e,
                                pre_fader,
                                enabled: p.enabled,
                                level,
                                gain: vec![0.0; max_frames],
                                gain_constant: None,
                                last_gain: 0.0,
                            }
                        }
                    };
                    strip.sends.push(slot);
                }
                EdgeKind::Sidechain { .. } => strip.key_edges.push(e),
            }
        }
        if let (true, EdgeKind::Sidechain { insert }) = (edge.to == kind, edge.kind) {
            if let Some(slot) = strip.planned_slot(insert) {
                let key = slot.key.get_or_insert_with(|| KeyInput::new(e, max_frames));
                key.edge = e;
            }
        }
    }
}
