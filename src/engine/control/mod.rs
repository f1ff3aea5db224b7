//! The control side of the engine: everything that validates and plans, in plain Rust. It may allocate (it runs
//! when a project is loaded or a command is applied, between quanta); what it produces is read by the render
//! side without allocating ([`automation`]'s block evaluators in particular).

pub mod automation;
pub mod error;
mod json;
pub mod plan;
pub mod project;
pub mod routing;
pub mod transport;
pub mod vocabulary;

pub use error::{Problem, ProjectError, Warning};
pub use json::Range;
