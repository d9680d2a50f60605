//! (filled by the search work)
