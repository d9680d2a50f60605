//! Monitoring: monitor definitions, the probe engine, the state machine, heartbeats,
//! maintenance, alerts → tickets, intake from other monitors and its sources, the duty
//! roster, and availability from raw results rolled up by hour.
//!
//! The engine runs one task per monitor (jittered start, timeout below the interval, a
//! per-host concurrency cap); results go through a channel to one writer that stores
//! them in batches, steps each monitor's state machine and fires or resolves alerts.
//! State is persisted with every batch, so a restart neither re-notifies nor loses a
//! recovery.

pub mod alerts;
pub mod display;
pub mod duty;
pub mod input;
pub mod intake;
pub mod integrations;
pub mod overview;
pub mod probe;
pub mod screen;
pub mod snmp;

pub use crate::domain::monitor::{cron, spec, state};

mod availability;
mod engine;
mod maintenance;
mod monitors;

pub use availability::*;
pub use engine::*;
pub use maintenance::*;
pub use monitors::*;
