//! The routing graph of a mix: strips (tracks, buses, the master) joined by their outputs, their sends and
//! sidechain keys; cycle detection that names the cycle, a render order, and latency planning.
//!
//! Latency planning (docs/engine.md, "Latency compensation"). Every strip aligns its inputs: the audio reaching a
//! strip along each input edge is as late as the latest of them, so each edge carries a compensation delay of
//! (alignment - the source's output latency). A strip's output latency is its alignment plus its inserts'
//! latencies. A sidechain key feeding insert k of a strip must arrive as late as the main signal at that insert
//! (alignment + latencies of inserts 0..k-1); when a key is later than that, the strip's alignment is raised
//! (its own inputs, a track's timeline input included, are delayed more). The same plan computed with every
//! insert at its `max_latency` bounds every delay, so compensation delay lines can be sized up front: an edge's
//! delay never exceeds the alignment of its destination computed with maximum latencies (the alignment only
//! grows with the latencies, and a delay is at most the alignment). Everything timeline-dependent at a point of
//! the graph is evaluated at the input position minus the latency upstream of that point
//! ([`NodeLatency::upstream_of_insert`], [`NodeLatency::output`]).

use super::error::{Problem, ProjectError};
use super::plan::{Destination, ProjectPlan, StripRef};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Node positions and edge ends of a [`RoutingGraph`] (see `RoutingGraph::lookup`).
struct Lookup {
    /// Node positions by [`dense_key`].
    at: Vec<usize>,
    tracks: usize,
    /// The edges (indices into `edges`) into each node.
    incoming: Vec<Vec<usize>>,
    /// Each edge's (source, destination) node positions.
    ends: Vec<(usize, usize)>,
}

/// What an edge carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// A strip's output into a bus or the master.
    Output,
    /// A send (index into the source's sends), tapped before or after the fader.
    Send { send: usize, pre_fader: bool },
    /// A sidechain key from the source's output into the detector of insert `insert` of the destination.
    Sidechain { insert: usize },
}

/// An edge of the routing graph, with the JSON path that made it (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: StripRef,
    pub to: StripRef,
    pub kind: EdgeKind,
    pub path: String,
}

/// A strip's place in a table of a graph's `nodes` strips with `tracks` tracks (tracks, then buses, then the
/// master): the graph's nodes are numbered this way, so each has its own place.
fn dense_key(strip: StripRef, tracks: usize, nodes: usize) -> usize {
    match strip {
        StripRef::Track(i) => i,
        StripRef::Bus(b) => tracks + b,
        StripRef::Master => nodes - 1,
    }
}

impl Lookup {
    /// A node's position in the graph's `nodes`.
    fn node(&self, strip: StripRef) -> usize {
        self.at[dense_key(strip, self.tracks, self.at.len())]
    }
}

/// Strips and the edges between them.
#[derive(Debug, Clone, Default)]
pub struct RoutingGraph {
    pub nodes: Vec<StripRef>,
    /// The id of each node, for naming cycles.
    pub ids: Vec<String>,
    pub edges: Vec<Edge>,
}

impl RoutingGraph {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_node(&mut self, strip: StripRef, id: impl Into<String>) {
        self.nodes.push(strip);
        self.ids.push(id.into());
    }

    pub fn add_edge(&mut self, from: StripRef, to: StripRef, kind: EdgeKind, path: impl Into<String>) {
        self.edges.push(Edge {
            from,
            to,
            kind,
            path: path.into(),
        });
    }

    /// The graph of a project: every track, bus and the master; outputs, sends (enabled or not: enabling a send
    /// later must not create a cycle) and sidechain keys, in that order (the keys after every other edge).
    pub fn from_plan(plan: &ProjectPlan) -> Self {
        let mut graph = RoutingGraph::new();
        let destination = |d: Destination| match d {
            Destination::Master => StripRef::Master,
            Destination::Bus(b) => StripRef::Bus(b),
        };
        let strips = (0..plan.tracks.len())
            .map(StripRef::Track)
            .chain((0..plan.buses.len()).map(StripRef::Bus))
            .chain([StripRef::Master]);
        for strip in strips {
            graph.add_node(strip, plan.strip_id(strip));
        }
        for (i, t) in plan.tracks.iter().enumerate() {
            let from = StripRef::Track(i);
            graph.add_edge(
                from,
                destination(t.routing),
                EdgeKind::Output,
                format!("{}.routing", t.path),
            );
        }
        for (i, b) in plan.buses.iter().enumerate() {
            let from = StripRef::Bus(i);
            graph.add_edge(
                from,
                destination(b.routing),
                EdgeKind::Output,
                format!("{}.routing", b.path),
            );
        }
        for &from in &graph.nodes.clone() {
            for (s, send) in plan.sends(from).iter().enumerate() {
                let kind = EdgeKind::Send {
                    send: s,
                    pre_fader: send.pre_fader,
                };
                graph.add_edge(
                    from,
                    StripRef::Bus(send.destination),
                    kind,
                    format!("{}.destination", send.path),
                );
            }
        }
        // Sidechain keys come last, so that adding or removing a keyed insert leaves every other edge's index
        // as it was (the engine rebuilds only the key edges then).
        for &to in &graph.nodes.clone() {
            for (k, insert) in plan.inserts(to).iter().enumerate() {
                if let Some(source) = insert.sidechain.as_ref().and_then(|s| s.source) {
                    let kind = EdgeKind::Sidechain { insert: k };
                    graph.add_edge(source, to, kind, format!("{}.sidechain", insert.path));
                }
            }
        }
        graph
    }

    /// Every node's position and incoming edges, computed once (O(nodes + edges)) so that a plan over a large
    /// session does not search the node list per edge.
    fn lookup(&self) -> Lookup {
        let tracks = self.nodes.iter().filter(|s| matches!(s, StripRef::Track(_))).count();
        let mut at = vec![usize::MAX; self.nodes.len()];
        for (i, &strip) in self.nodes.iter().enumerate() {
            at[dense_key(strip, tracks, self.nodes.len())] = i;
        }
        let mut lookup = Lookup {
            at,
            tracks,
            incoming: vec![Vec::new(); self.nodes.len()],
            ends: Vec::with_capacity(self.edges.len()),
        };
        for (e, edge) in self.edges.iter().enumerate() {
            let (from, to) = (lookup.node(edge.from), lookup.node(edge.to));
            lookup.incoming[to].push(e);
            lookup.ends.push((from, to));
        }
        lookup
    }

    /// The nodes in an order where every edge's source comes before its destination (Kahn's algorithm, taking
    /// the earliest ready node first, so the order is stable: tracks, then buses, then the master where the
    /// edges allow). A cycle is an error at the path of one of its edges, naming the cycle by ids.
    pub fn render_order(&self) -> Result<Vec<StripRef>, ProjectError> {
        let n = self.nodes.len();
        let mut indegree = vec![0usize; n];
        let edge_ends = self.lookup().ends;
        let mut outgoing = vec![Vec::new(); n];
        for &(from, to) in &edge_ends {
            indegree[to] += 1;
            outgoing[from].push(to);
        }
        let mut done = vec![false; n];
        let mut order = Vec::with_capacity(n);
        // The ready nodes, earliest first.
        let mut ready: BinaryHeap<Reverse<usize>> = (0..n).filter(|&i| indegree[i] == 0).map(Reverse).collect();
        while let Some(Reverse(next)) = ready.pop() {
            done[next] = true;
            order.push(self.nodes[next]);
            for &to in &outgoing[next] {
                indegree[to] -= 1;
                if indegree[to] == 0 {
                    ready.push(Reverse(to));
                }
            }
        }
        if order.len() == n {
            return Ok(order);
        }
        let (cycle, path) = self.find_cycle(&edge_ends, &done);
        Err(ProjectError::at(path, Problem::Cycle(cycle)))
    }

    /// A cycle among the nodes Kahn's algorithm could not place (each has an incoming edge from another such
    /// node): walk backwards along those edges until a node repeats.
    fn find_cycle(&self, edge_ends: &[(usize, usize)], done: &[bool]) -> (String, String) {
        let start = (0..self.nodes.len()).find(|&i| !done[i]).expect("a cycle is left");
        // walk[k] is a node whose incoming edge (from an unplaced node) leads back to walk[k+1].
        let mut walk = vec![start];
        let mut via: Vec<usize> = Vec::new();
        loop {
            let current = *walk.last().expect("walk is never empty");
            let e = edge_ends
                .iter()
                .position(|&(from, to)| to == current && !done[from])
                .expect("an unplaced node has an unplaced predecessor");
            let previous = edge_ends[e].0;
            via.push(e);
            if let Some(at) = walk.iter().position(|&w| w == previous) {
                // walk[at..] then previous closes the loop; reverse it into edge direction.
                let mut cycle: Vec<usize> = walk[at..].to_vec();
                cycle.push(previous);
                cycle.reverse();
                let names: Vec<&str> = cycle.iter().map(|&i| self.ids[i].as_str()).collect();
                let first_edge = via[via.len() - 1];
                return (names.join(" -> "), self.edges[first_edge].path.clone());
            }
            walk.push(previous);
        }
    }
}

/// The insert latencies of every node of a project's graph (parallel to `graph.nodes`, each strip's inserts in
/// chain order), from a function that reads them (typically `Effect::latency` and `Effect::max_latency` of the
/// created effects; 0 and 0 for an insert that runs no effect).
pub fn insert_latencies(
    graph: &RoutingGraph,
    plan: &ProjectPlan,
    latency_of: impl Fn(StripRef, usize) -> InsertLatency,
) -> Vec<Vec<InsertLatency>> {
    graph
        .nodes
        .iter()
        .map(|&strip| (0..plan.inserts(strip).len()).map(|k| latency_of(strip, k)).collect())
        .collect()
}

/// The most tail a render adds after the last clip (docs/render.md: the tails along a path added up, capped at 10 s).
pub const RENDER_TAIL_CAP_S: f64 = 10.0;

/// The longest tail along any signal path from a track to the master: each path's inserts' tails (in frames;
/// `None` for an infinite tail, such as a frozen reverb) added up, the longest path taken, capped at `cap`.
/// Sidechain keys carry no audio to the master and are not paths. `tails` is parallel to `graph.nodes`.
pub fn render_tail(graph: &RoutingGraph, order: &[StripRef], tails: &[Vec<Option<u64>>], cap: u64) -> u64 {
    // longest[n]: the longest tail sum of a path from a track through node n's inserts (None: no track reaches n).
    let lookup = graph.lookup();
    let mut longest: Vec<Option<u64>> = vec![None; graph.nodes.len()];
    for &strip in order {
        let n = lookup.node(strip);
        let own = tails[n]
            .iter()
            .try_fold(0u64, |sum, t| t.map(|t| sum.saturating_add(t)))
            .unwrap_or(cap);
        let upstream = lookup.incoming[n]
            .iter()
            .filter(|&&e| !matches!(graph.edges[e].kind, EdgeKind::Sidechain { .. }))
            .filter_map(|&e| longest[lookup.ends[e].0])
            .max();
        let start = match strip {
            StripRef::Track(_) => Some(upstream.unwrap_or(0)),
            _ => upstream,
        };
        longest[n] = start.map(|s| s.saturating_add(own).min(cap));
    }
    longest[lookup.node(StripRef::Master)].unwrap_or(0).min(cap)
}

/// The latency of one insert: what it has now and the most it can have at this sample rate (`Effect::latency`
/// and `Effect::max_latency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InsertLatency {
    pub current: usize,
    pub max: usize,
}

/// The latency plan of one strip.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeLatency {
    /// How late the strip's aligned input is (frames behind the timeline): the latest of its inputs.
    pub alignment: usize,
    /// The same with every insert at its maximum latency: the most any input of this strip is ever delayed.
    pub alignment_max: usize,
    /// Latency before each insert: alignment + the latencies of the inserts before it.
    pub before_insert: Vec<usize>,
    /// The strip's output latency: alignment + all its inserts (sends, fader and pan sit at this latency).
    pub output: usize,
    /// The output latency with every insert at its maximum.
    pub output_max: usize,
    /// The delay of a track's own (timeline) input: equal to the alignment; 0 for buses and the master.
    pub input_delay: usize,
}

impl NodeLatency {
    /// The latency upstream of insert k (its timeline position is the input position minus this).
    pub fn upstream_of_insert(&self, k: usize) -> usize {
        self.before_insert.get(k).copied().unwrap_or(self.output)
    }
}

/// The compensation delay of one edge, and the most it can ever need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EdgeDelay {
    pub delay: usize,
    pub capacity: usize,
}

/// Latency compensation for a whole graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyPlan {
    /// Parallel to [`RoutingGraph::nodes`].
    pub nodes: Vec<NodeLatency>,
    /// Parallel to [`RoutingGraph::edges`].
    pub edges: Vec<EdgeDelay>,
    /// The master's output latency: an offline render runs this many frames longer and drops as many.
    pub total: usize,
    pub total_max: usize,
}

/// Plans latency compensation. `latencies[i]` holds the inserts of `graph.nodes[i]`, in chain order; `order`
/// is [`RoutingGraph::render_order`]'s. Pure: the same inputs give the same plan.
pub fn plan_latency(graph: &RoutingGraph, order: &[StripRef], latencies: &[Vec<InsertLatency>]) -> LatencyPlan {
    let lookup = graph.lookup();
    let mut nodes = align(graph, &lookup, order, latencies, |l| l.current, true);
    let max = align(graph, &lookup, order, latencies, |l| l.max, false);
    let edges = graph
        .edges
        .iter()
        .zip(&lookup.ends)
        .map(|(e, &(from, to))| {
            let arrival = |plan: &[NodeLatency]| match e.kind {
                EdgeKind::Sidechain { insert } => plan[to].upstream_of_insert(insert),
                _ => plan[to].alignment,
            };
            let capacity = match e.kind {
                // The largest plan keeps no per-insert latencies: the key's arrival is the alignment plus the
                // largest latencies of the inserts before the keyed one.
                EdgeKind::Sidechain { insert } => max[to].alignment + prefix(&latencies[to], insert, |l| l.max),
                _ => max[to].alignment,
            };
            EdgeDelay {
                delay: arrival(&nodes) - nodes[from].output,
                capacity,
            }
        })
        .collect();
    for (node, m) in nodes.iter_mut().zip(&max) {
        node.alignment_max = m.alignment;
        node.output_max = m.output;
    }
    let master = lookup.node(StripRef::Master);
    LatencyPlan {
        total: nodes[master].output,
        total_max: nodes[master].output_max,
        nodes,
        edges,
    }
}

/// The latency of the first `k` inserts of a chain, with the latencies `pick` selects.
fn prefix(chain: &[InsertLatency], k: usize, pick: impl Fn(&InsertLatency) -> usize) -> usize {
    chain.iter().take(k).map(pick).sum()
}

/// Alignment and output latency of every node with the insert latencies `pick` selects, and with
/// `per_insert` the latency before each insert too.
fn align(
    graph: &RoutingGraph,
    lookup: &Lookup,
    order: &[StripRef],
    latencies: &[Vec<InsertLatency>],
    pick: impl Fn(&InsertLatency) -> usize + Copy,
    per_insert: bool,
) -> Vec<NodeLatency> {
    let mut plan = vec![NodeLatency::default(); graph.nodes.len()];
    for &strip in order {
        let n = lookup.node(strip);
        let chain = &latencies[n];
        let mut alignment = 0usize;
        for &edge in &lookup.incoming[n] {
            let e = &graph.edges[edge];
            let source_output = plan[lookup.ends[edge].0].output;
            let needed = match e.kind {
                // Latency of the chain before the keyed insert, relative to the strip's input.
                EdgeKind::Sidechain { insert } => source_output.saturating_sub(prefix(chain, insert, pick)),
                _ => source_output,
            };
            alignment = alignment.max(needed);
        }
        let before_insert: Vec<usize> = if per_insert {
            chain
                .iter()
                .scan(alignment, |at, l| {
                    let before = *at;
                    *at += pick(l);
                    Some(before)
                })
                .collect()
        } else {
            Vec::new()
        };
        plan[n] = NodeLatency {
            alignment,
            alignment_max: alignment,
            before_insert,
            output: alignment + prefix(chain, chain.len(), pick),
            output_max: 0,
            input_delay: if matches!(strip, StripRef::Track(_)) {
                alignment
            } else {
                0
            },
        };
    }
    plan
}
