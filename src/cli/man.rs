//! Manual pages, generated from the same clap definition as `--help`, so the two cannot drift.
//!
//! clap_mangen renders the name, synopsis, description and options; its catch-all "EXTRA"
//! section would run the examples together as one filled paragraph, so the examples are
//! written here as a no-fill block, and the exit codes get the conventional EXIT STATUS section.

use clap::Command;
use roff::{bold, roman, Roff};

/// The line of the top-level help that starts the exit-code summary.
const EXIT_CODES_PREFIX: &str = "Exit codes:";

const EXIT_STATUS: [(&str, &str); 4] = [
    ("0", "Success; warnings may have been printed."),
    (
        "1",
        "The lab or the --prices file is invalid, the output folder differs from the lab (--check), or a file cannot be read or written.",
    ),
    ("2", "Usage error: an unknown command, option or value."),
    ("3", "Internal error: a defect in wcigen; please report it."),
];

/// The manual page (roff source) of `root`, or of its subcommand `sub`.
///
/// `root` must be the complete command; the page names are `wcigen` and `wcigen-SUB`.
pub(crate) fn page(root: Command, sub: Option<&str>) -> String {
    let mut root = root.disable_help_subcommand(true);
    root.build();
    let siblings: Vec<String> = root
        .get_subcommands()
        .map(|s| format!("{}-{}", root.get_name(), s.get_name()))
        .collect();
    let cmd = match sub {
        Some(name) => root
            .find_subcommand(name)
            .cloned()
            .unwrap_or_else(|| root.clone()),
        None => root.clone(),
    };
    let this = cmd
        .get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_owned();
    let man = clap_mangen::Man::new(cmd.clone())
        .source(format!("wcigen {}", env!("CARGO_PKG_VERSION")))
        .manual("wcigen manual");

    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        let _ = man.render_options_section(&mut out);
    }
    if cmd.has_subcommands() {
        let _ = man.render_subcommands_section(&mut out);
    }

    let mut roff = Roff::new();
    let after_help = cmd
        .get_after_help()
        .map(|h| h.to_string())
        .unwrap_or_default();
    let examples: Vec<&str> = after_help
        .lines()
        .take_while(|l| !l.starts_with(EXIT_CODES_PREFIX))
        .filter(|l| !l.starts_with("Example"))
        .map(str::trim_end)
        .collect();
    let examples: Vec<&str> = trim_blank_lines(&examples).to_vec();
    if !examples.is_empty() {
        roff.control("SH", ["EXAMPLES"]);
        roff.control("nf", []);
        for line in examples {
            roff.text([roman(line.trim_start())]);
        }
        roff.control("fi", []);
    }
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_STATUS {
        roff.control("TP", []);
        roff.text([bold(code)]);
        roff.text([roman(meaning)]);
    }
    roff.control("SH", ["ENVIRONMENT"]);
    roff.control("TP", []);
    roff.text([bold("NO_COLOR")]);
    roff.text([roman(
        "When set to a non-empty value, diagnostics are printed without colour. Colour is only used when standard error is a terminal.",
    )]);
    roff.control("SH", ["SEE ALSO"]);
    let mut see_also: Vec<String> = std::iter::once(root.get_name().to_owned())
        .chain(siblings)
        .filter(|name| *name != this)
        .map(|name| format!("{name}(1)"))
        .collect();
    see_also.sort();
    roff.text([roman(see_also.join(", "))]);
    out.extend_from_slice(roff.render().as_bytes());
    String::from_utf8_lossy(&out).into_owned()
}

fn trim_blank_lines<'a, 'b>(lines: &'b [&'a str]) -> &'b [&'a str] {
    let start = lines
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(start, |e| e + 1);
    &lines[start..end]
}
