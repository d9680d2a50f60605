//! Monitoring rules without I/O: monitor definitions and their validation (`spec`), the
//! per-monitor state machine (`state`), cron schedules (`cron`), the severity → priority table (`severity`), probe errors in Chinese (`probe_error`), duty roster rules (`roster`), and the names the
//! probes' protocols use in a definition (`snmp`, `dns`). The probes in `crate::monitor`
//! do the network work.

pub mod cron;
pub mod dns;
pub mod input;
pub mod probe_error;
pub mod roster;
pub mod severity;
pub mod snmp;
pub mod spec;
pub mod state;
