//! Rendering helpers shared by every report: human units, times, tables.

pub mod diff;
pub mod reconcile;
pub mod render;
pub mod trend;
pub mod units;
