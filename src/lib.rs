#![recursion_limit = "256"]
//! yunwei: one program for an outsourced government IT operations contract.
//!
//! The library holds everything; `main.rs` only parses the command line.

pub mod accounts;
pub mod app;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod cloud;
pub mod config;
pub mod contract;
pub mod ctx;
pub mod demo;
pub mod desk;
pub mod domain;
pub mod error;
pub mod gate;
pub mod history;
pub mod holidays;
pub mod homes;
pub mod inspect;
pub mod inventory;
pub mod jobs;
pub mod monitor;
pub mod notify;
pub mod ops;
pub mod report;
pub mod requirements;
pub mod selfbackup;
pub mod store;
pub mod team;
pub mod tls;
pub mod transfer;
pub mod web;

pub use app::Application;
pub use clock::Clock;
pub use config::Config;
pub use ctx::Ctx;
