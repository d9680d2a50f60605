//! (filled by the screen work)
