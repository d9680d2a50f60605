//! Inspections (巡检): templates of check items with normal ranges, readings and their
//! verdicts, the task life cycle with review, and the indicators the reports show. Pure:
//! the service (`crate::inspect`, to come) stores them and turns findings into tickets.

pub mod builtin;
pub mod plan;
pub mod reading;
pub mod stats;
pub mod task;
pub mod template;
