//! (filled by the duty_grid work)
