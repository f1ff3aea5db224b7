//! Prints a benchmark session of the mixing engine as project JSON, for the wasm engine benchmark
//! (`benches/wasm/engine.mjs`), which builds the same session as `benches/engine.rs`.
//!
//! Usage: `engine_session TRACKS BUSES` prints the bus session; `engine_session added` prints the 16 `addInsert`
//! commands of the insert-adding benchmark as a JSON array.

#[allow(dead_code)]
#[path = "../benches/common/session.rs"]
mod session;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [added] if added == "added" => Some(serde_json::Value::from(session::added_inserts())),
        [tracks, buses] => match (tracks.parse(), buses.parse()) {
            (Ok(t), Ok(b)) => Some(session::bus_session(t, b)),
            _ => None,
        },
        _ => None,
    };
    match parsed {
        Some(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("usage: engine_session TRACKS BUSES | engine_session added");
            ExitCode::from(2)
        }
    }
}
