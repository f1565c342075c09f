//! Everything sift writes to stderr: diagnostics, warnings, notes. Data goes
//! to stdout elsewhere. Color only on a terminal, never with `NO_COLOR` and
//! never in CI (`CI` set) or on a dumb terminal: their logs get plain text.

use std::io::IsTerminal;

use miette::{GraphicalReportHandler, GraphicalTheme};
use sift_core::Diagnostics;

pub fn color() -> bool {
    let unset = |name: &str| std::env::var_os(name).is_none_or(|v| v.is_empty());
    unset("NO_COLOR")
        && unset("CI")
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        && std::io::stderr().is_terminal()
}

fn paint(code: &str, text: &str) -> String {
    if color() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

pub fn error(message: &str, hint: Option<&str>) {
    eprintln!("{}: {message}", paint("1;31", "error"));
    if let Some(hint) = hint {
        eprintln!("  {}: {hint}", paint("1;36", "hint"));
    }
}

pub fn warning(message: &str) {
    eprintln!("{}: {message}", paint("1;33", "warning"));
}

pub fn note(message: &str) {
    eprintln!("{}: {message}", paint("1", "note"));
}

/// Renders configuration diagnostics with their source snippets
/// (`╭─[file:line:col]`), warnings and errors alike.
pub fn print_diagnostics(diagnostics: &Diagnostics) {
    let theme = if color() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    for diagnostic in &diagnostics.items {
        let mut rendered = String::new();
        let report = diagnostic.report();
        if handler.render_report(&mut rendered, &report).is_err() {
            rendered = diagnostic.to_plain();
        }
        eprintln!("{}", rendered.trim_end());
    }
}
