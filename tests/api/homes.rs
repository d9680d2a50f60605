//! (filled by the homes work)
