//! (filled by the demo_history work)
