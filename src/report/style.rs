//! Text helpers every renderer shares: ANSI styling, signed values, and the
//! Markdown "Next steps" list.

use std::io::{self, Write};

use crate::units;

/// ANSI styling, on only for a terminal without `NO_COLOR`.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Emit escape codes.
    pub color: bool,
}

impl Style {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    /// `s` styled bold, when colour is on.
    pub fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    /// `s` styled red, when colour is on.
    pub fn red(&self, s: &str) -> String {
        self.wrap("1;31", s)
    }
    /// `s` styled green, when colour is on.
    pub fn green(&self, s: &str) -> String {
        self.wrap("1;32", s)
    }
    /// `s` styled dim, when colour is on.
    pub fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    /// `v` signed, red for growth and green for shrinkage, when colour is on.
    pub fn delta(&self, v: i64, unit: &str) -> String {
        let s = signed(v, unit);
        if v > 0 {
            self.wrap("31", &s)
        } else if v < 0 {
            self.wrap("32", &s)
        } else {
            s
        }
    }
}

/// `+1.50 MiB`, `-300 B`, `0 B`.
pub fn signed(v: i64, unit: &str) -> String {
    let h = units::human(v, unit);
    if v > 0 {
        format!("+{h}")
    } else {
        h
    }
}

/// The numbered "Next steps" section of a Markdown report.
pub fn markdown_next_steps(steps: &[String], out: &mut dyn Write) -> io::Result<()> {
    if !steps.is_empty() {
        writeln!(out, "\n### Next steps\n")?;
        for (i, s) in steps.iter().enumerate() {
            writeln!(out, "{}. {s}", i + 1)?;
        }
    }
    Ok(())
}
