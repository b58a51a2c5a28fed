//! Rendering helpers shared by every report: human units, times, tables.

pub mod diff;
pub mod dot;
pub mod fleet;
pub mod heap;
pub mod heap_html;
pub mod heap_render;
pub mod html;
pub mod reconcile;
pub mod render;
pub mod trend;
pub mod units;
