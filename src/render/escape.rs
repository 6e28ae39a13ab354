//! One escaper per output language: each turns a string into a complete, quoted literal.
//!
//! These are the only functions that put lab text into generated code, so injection safety is
//! decided here and nowhere else (templates never quote). Each escaper is pure and has a
//! round-trip test against a real parser of its language in the integration tests.

/// PowerShell: a single-quoted literal. Inside `'...'` nothing is interpreted except the quote
/// itself, and PowerShell treats the typographic quotes U+2018–U+201B as quotes too, so every
/// one of them is doubled.
///
/// ```
/// assert_eq!(wcigen::render::escape::powershell("it's"), "'it''s'");
/// assert_eq!(wcigen::render::escape::powershell("a\u{2019}b"), "'a\u{2019}\u{2019}b'");
/// ```
#[must_use]
pub fn powershell(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// Bicep: a single-quoted string with `\\`, `\'`, `\n`, `\r`, `\t`, `\$` escaped (the last
/// defuses `${` interpolation) and other control characters as `\u{X}`.
///
/// ```
/// assert_eq!(wcigen::render::escape::bicep("a'${b}"), r"'a\'\${b}'");
/// ```
#[must_use]
pub fn bicep(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' => out.push_str("\\$"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:X}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// JSON as ARM reads it: a JSON string, where a value that starts with `[` and ends with `]`
/// gets a second leading `[` so ARM reads it as a literal rather than an expression.
///
/// ```
/// assert_eq!(wcigen::render::escape::arm_string("[concat('a')]"), r#""[[concat('a')]""#);
/// assert_eq!(wcigen::render::escape::arm_string("x\"y"), r#""x\"y""#);
/// ```
#[must_use]
pub fn arm_string(value: &str) -> String {
    if value.starts_with('[') && value.ends_with(']') {
        json_string(&format!("[{value}"))
    } else {
        json_string(value)
    }
}

/// ARM object property name: a JSON string as [`arm_string`] writes it (ARM evaluates property
/// names like values), except a name the engine reads as a keyword inside an object: `copy` in
/// any case is a copy loop once its value is an array (Azure/bicep#7241), so it is written as
/// the Bicep compiler writes it, the expression `[string('copy')]`, which yields the name as
/// text.
///
/// ```
/// use wcigen::render::escape::arm_property_name;
/// assert_eq!(arm_property_name("Copy"), r#""[string('Copy')]""#);
/// assert_eq!(arm_property_name("[x]"), r#""[[x]""#);
/// assert_eq!(arm_property_name("name"), r#""name""#);
/// ```
#[must_use]
pub fn arm_property_name(name: &str) -> String {
    if name.eq_ignore_ascii_case("copy") {
        json_string(&format!("[string('{name}')]"))
    } else {
        arm_string(name)
    }
}

/// Bicep words that cannot name an object property bare (`bicep build`: BCP022 "Expected a
/// property name"); every other keyword can, and the linter's `prefer-unquoted-property-names`
/// wants it bare.
const BICEP_KEYWORDS: &[&str] = &["false", "null", "true"];

/// Bicep object property name: a plain identifier (`[A-Za-z_][A-Za-z0-9_]*`, not a keyword, at
/// most 255 characters) is written bare, as the Bicep linter's `prefer-unquoted-property-names`
/// wants; anything else is a [`bicep`] string.
///
/// ```
/// use wcigen::render::escape::bicep_property_name;
/// assert_eq!(bicep_property_name("series"), "series");
/// assert_eq!(bicep_property_name("cost-center"), "'cost-center'");
/// assert_eq!(bicep_property_name("true"), "'true'");
/// assert_eq!(bicep_property_name("type"), "type");
/// ```
#[must_use]
pub fn bicep_property_name(name: &str) -> String {
    let mut chars = name.chars();
    let identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 255
        && !BICEP_KEYWORDS.contains(&name);
    if identifier {
        name.to_string()
    } else {
        bicep(name)
    }
}

/// A plain JSON string (parameter files, where values are not evaluated as expressions).
#[must_use]
pub fn json_string(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "\"\"".into())
}

/// HCL (Terraform and Packer): a double-quoted template literal with `\\`, `\"`, `\n`, `\r`,
/// `\t`, other control characters as `\uNNNN`, and the template markers `${` → `$${` and
/// `%{` → `%%{` so no interpolation or directive can start.
///
/// ```
/// assert_eq!(wcigen::render::escape::hcl("${x} %{y}"), r#""$${x} %%{y}""#);
/// ```
#[must_use]
pub fn hcl(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// POSIX shell word, for the commands in the generated README: a value made only of
/// characters the shell never interprets is written as is. A value holding `'` (and no `!`,
/// which interactive bash and zsh expand even inside double quotes) is double-quoted with `$`,
/// backquote, `"` and `\` backslash-escaped, so an OData filter stays readable; anything else is
/// single-quoted, each `'` written as `'\''`. Validation keeps line breaks and direction marks
/// out of every value that reaches the README, so a word never spans lines (and cannot end a
/// Markdown code fence) and reads as it runs.
///
/// ```
/// use wcigen::render::escape::shell_word;
/// assert_eq!(shell_word("krnl-rg_1"), "krnl-rg_1");
/// assert_eq!(shell_word("rg (x)"), "'rg (x)'");
/// assert_eq!(shell_word("$filter=a eq 'b'"), r#""\$filter=a eq 'b'""#);
/// assert_eq!(shell_word("it's!"), r"'it'\''s!'");
/// ```
#[must_use]
pub fn shell_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@%+=,".contains(c));
    if plain {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    if value.contains('\'') && !value.contains('!') {
        out.push('"');
        for c in value.chars() {
            if matches!(c, '$' | '`' | '"' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        return out;
    }
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inverse of [`powershell`], as PowerShell's tokenizer reads a single-quoted string.
    fn unquote_powershell(literal: &str) -> Option<String> {
        let quote = |c: char| matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}');
        let mut chars = literal.chars().peekable();
        if !quote(chars.next()?) {
            return None;
        }
        let mut out = String::new();
        while let Some(c) = chars.next() {
            if quote(c) {
                match chars.peek() {
                    Some(&next) if quote(next) => {
                        chars.next();
                        out.push(c);
                    }
                    None => return Some(out),
                    Some(_) => return None, // the string ended early: an injection
                }
            } else {
                out.push(c);
            }
        }
        None
    }

    /// The inverse of [`bicep`], following Bicep's lexer escapes.
    fn unquote_bicep(literal: &str) -> Option<String> {
        let body = literal.strip_prefix('\'')?.strip_suffix('\'')?;
        let mut out = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next()? {
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    '\\' => out.push('\\'),
                    '\'' => out.push('\''),
                    '$' => out.push('$'),
                    'u' => {
                        let rest: String = chars.by_ref().take_while(|c| *c != '}').collect();
                        out.push(char::from_u32(
                            u32::from_str_radix(rest.trim_start_matches('{'), 16).ok()?,
                        )?);
                    }
                    _ => return None,
                },
                '\'' => return None,
                '$' if chars.clone().next() == Some('{') => return None,
                c => out.push(c),
            }
        }
        Some(out)
    }

    const SAMPLES: &[&str] = &[
        "",
        "plain",
        "it's ‘a’ ‚b‛ “c”",
        "'; Remove-Item C:\\ -Recurse #",
        "$(whoami) `n ${x} %{y} $${z}",
        "[concat('a')]",
        "line1\nline2\r\n\ttab\u{7}bell\u{1b}esc",
        "rtl \u{202e}mark and 4-byte 😀",
        "back\\slash\\",
    ];

    #[test]
    fn powershell_round_trips() {
        for s in SAMPLES {
            assert_eq!(
                unquote_powershell(&powershell(s)).as_deref(),
                Some(*s),
                "{s:?}"
            );
        }
    }

    #[test]
    fn bicep_round_trips() {
        for s in SAMPLES {
            assert_eq!(unquote_bicep(&bicep(s)).as_deref(), Some(*s), "{s:?}");
        }
    }

    #[test]
    fn arm_round_trips_through_json() {
        for s in SAMPLES {
            let parsed: String = serde_json::from_str(&arm_string(s)).unwrap();
            let literal = if parsed.starts_with("[[") {
                parsed[1..].to_string()
            } else {
                parsed
            };
            assert_eq!(literal, *s);
        }
    }

    #[test]
    fn hcl_escapes_control_characters_as_unicode_escapes() {
        assert_eq!(hcl("\u{8}\u{c}"), "\"\\u0008\\u000C\"");
        assert_eq!(hcl("100%"), "\"100%\"");
    }
}
