//! (filled by the monitor_form work)
