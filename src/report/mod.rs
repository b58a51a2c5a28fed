//! Rendering helpers shared by every report: human units, times, tables.

pub mod units;
