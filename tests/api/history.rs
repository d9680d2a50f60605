//! (filled by the history work)
