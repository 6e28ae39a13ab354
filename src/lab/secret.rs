//! What looks like a secret: the one place that decides which keys, lines and URL parameters
//! wcigen treats as secrets, so the loader (password keys), validation (token URLs, tag names)
//! and the diagnostic printer (source lines) agree.
//!
//! Names are compared after [`fold`]: compatibility forms (fullwidth letters, ligatures),
//! Cyrillic and Greek letters that look like Latin ones, combining marks and invisible
//! characters (zero-width spaces and joiners, soft hyphens, direction marks) are all reduced to
//! plain lowercase ASCII, so `ａｄｍｉｎPassword`, `раssword` (Cyrillic `р` and `а`) or
//! `pass\u{200B}word` are caught like `password`.

use unicode_normalization::UnicodeNormalization as _;

/// A character that is invisible or only decorates the one before it.
fn ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{E0000}'..='\u{E0FFF}'
        // combining marks
        | '\u{0300}'..='\u{036F}' | '\u{0483}'..='\u{0489}' | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// The Latin letter a Cyrillic or Greek letter is drawn like, if any.
fn latin_look_alike(c: char) -> Option<char> {
    Some(match c {
        'а' | 'А' | 'α' | 'Α' => 'a',
        'В' | 'Β' | 'ь' => 'b',
        'с' | 'С' | 'ϲ' => 'c',
        'ԁ' => 'd',
        'е' | 'Е' | 'ё' | 'Ё' | 'ε' | 'Ε' => 'e',
        'Н' | 'Η' | 'һ' => 'h',
        'і' | 'І' | 'ι' | 'Ι' | 'ı' | 'ӏ' => 'i',
        'ј' | 'Ј' => 'j',
        'к' | 'К' | 'κ' | 'Κ' => 'k',
        'М' | 'Μ' => 'm',
        'п' | 'Ν' | 'η' => 'n',
        'о' | 'О' | 'ο' | 'Ο' | 'σ' => 'o',
        'р' | 'Р' | 'ρ' | 'Ρ' => 'p',
        'ԛ' => 'q',
        'г' => 'r',
        'ѕ' | 'Ѕ' => 's',
        'т' | 'Т' | 'τ' | 'Τ' => 't',
        'υ' | 'ц' => 'u',
        'ν' | 'ѵ' => 'v',
        'ш' | 'ԝ' | 'ω' | 'ѡ' => 'w',
        'х' | 'Х' | 'χ' | 'Χ' => 'x',
        'у' | 'У' | 'Υ' | 'ү' | 'Ү' | 'γ' => 'y',
        'Ζ' => 'z',
        _ => return None,
    })
}

/// `text` reduced to what it spells: compatibility-decomposed, look-alikes replaced by the
/// Latin letter, invisible characters and combining marks dropped, lowercase. Punctuation is
/// kept (callers split on it).
#[must_use]
pub fn fold(text: &str) -> String {
    text.nfkd()
        .filter(|c| !ignorable(*c))
        .map(|c| latin_look_alike(c).unwrap_or(c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Only the letters and digits of a folded name, with the digits and symbols people put in
/// place of letters read as those letters (`passw0rd`, `p@ssword`, `pa$$word`).
fn letters(name: &str) -> String {
    fold(name)
        .chars()
        .filter_map(|c| match c {
            '0' => Some('o'),
            '@' => Some('a'),
            '$' => Some('s'),
            c if c.is_ascii_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// Spellings of "password" (and its abbreviations) that make a key a password key, wherever
/// they occur in it: `adminPassword`, `admin_passwd`, `AdminPassWord`, `rootPwd`.
const PASSWORD_WORDS: &[&str] = &["passw", "pasw", "pwd", "passphrase", "passcode"];

/// Words that make a key, a tag name or a URL parameter name hold a secret.
const SECRET_WORDS: &[&str] = &[
    "secret",
    "token",
    "credential",
    "signature",
    "auth",
    "bearer",
    "cookie",
    "session",
    "private",
    "connectionstring",
];

/// URL parameters that carry a credential under a short name: a SAS or signed-URL signature
/// (`sig`), an OAuth authorization `code`.
const SECRET_PARAMETERS: &[&str] = &["sig", "code", "sas", "jwt", "otp"];

/// A key that names a password, in any spelling (see the module docs).
#[must_use]
pub fn is_password_key(key: &str) -> bool {
    let name = letters(key);
    PASSWORD_WORDS.iter().any(|w| name.contains(w))
}

/// Kinds of key (the cryptographic kind) that make a tag name name a secret.
const KEY_WORDS: &[&str] = &[
    "apikey",
    "accesskey",
    "accountkey",
    "privatekey",
    "secretkey",
    "sshkey",
    "signingkey",
    "sharedkey",
    "masterkey",
    "subscriptionkey",
    "encryptionkey",
];

/// A name that names a secret: a password, a token, a credential, a signature, an API or
/// private key... (`plain key` or `monkey` do not).
#[must_use]
pub fn is_secret_name(name: &str) -> bool {
    let folded = letters(name);
    is_password_key(name)
        || SECRET_WORDS.iter().any(|w| folded.contains(w))
        || KEY_WORDS.iter().any(|w| folded.contains(w))
        || folded == "key"
        || SECRET_PARAMETERS.contains(&folded.as_str())
}

/// A key of a lab file line or a URL parameter that may hold a secret: a secret name, or any
/// name with `key` in it. Broader than [`is_secret_name`]: hiding a line too many costs
/// nothing.
fn is_secret_key(name: &str) -> bool {
    is_secret_name(name) || letters(name).contains("key")
}

/// A URL query (or fragment) parameter that carries a credential: a secret name, or one of
/// the signed-URL families (`X-Amz-…`, `X-Goog-…`).
#[must_use]
pub fn is_secret_parameter(name: &str) -> bool {
    let folded = fold(name);
    folded.starts_with("x-amz-") || folded.starts_with("x-goog-") || is_secret_key(name)
}

/// The names of the parameters in `url`'s query and fragment that carry a credential.
#[must_use]
pub fn secret_parameters(url: &str) -> Vec<String> {
    let Some(at) = url.find(['?', '#']) else {
        return Vec::new();
    };
    url[at + 1..]
        .split(['?', '#', '&', ';'])
        .filter_map(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            (!name.is_empty() && is_secret_parameter(name)).then(|| name.to_string())
        })
        .collect()
}

/// `url` with the value of every credential parameter replaced by `***`, for messages.
#[must_use]
pub fn redact_url(url: &str) -> String {
    let Some(at) = url.find(['?', '#']) else {
        return url.to_string();
    };
    let mut out = url[..=at].to_string();
    let rest = &url[at + 1..];
    let mut start = 0;
    for (i, c) in rest
        .char_indices()
        .chain(std::iter::once((rest.len(), '&')))
    {
        if matches!(c, '?' | '#' | '&' | ';') {
            let pair = &rest[start..i];
            match pair.split_once('=') {
                Some((name, _)) if is_secret_parameter(name) => {
                    out.push_str(name);
                    out.push_str("=***");
                }
                _ => out.push_str(pair),
            }
            if i < rest.len() {
                out.push(c);
            }
            start = i + c.len_utf8();
        }
    }
    out
}

/// Whether a line of a lab file names a secret: some `name:` or `name=` on it (a YAML or
/// JSON key, a URL query parameter), or a YAML explicit key `? name`, is a secret name. Such a
/// line is never printed (and the diagnostics also hide the line after it).
#[must_use]
pub fn line_names_secret(line: &str) -> bool {
    let folded = fold(line);
    // A YAML explicit key (`? name`, its value on the next line as `: value`) names its key
    // without a separator after it.
    if let Some(key) = folded.trim_start().strip_prefix('?') {
        let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
        if !key.is_empty() && is_secret_key(key) {
            return true;
        }
    }
    let mut name = String::new();
    let mut last_separator_at_name_end = false;
    for c in folded.chars() {
        if c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | '$') {
            if last_separator_at_name_end {
                name.clear();
                last_separator_at_name_end = false;
            }
            name.push(c);
        } else if c == ':' || c == '=' {
            if !name.is_empty() && is_secret_key(&name) {
                return true;
            }
            name.clear();
        } else if matches!(c, '"' | '\'' | ' ' | '\t') && !name.is_empty() {
            // `"key" :` and `key :` still name `key`; a new word starts a new name.
            last_separator_at_name_end = true;
        } else {
            name.clear();
            last_separator_at_name_end = false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_keys_in_every_spelling() {
        for key in [
            "adminPassword",
            "adminPasswd",
            "admin_password",
            "AdminPassWord",
            "PASSWORD",
            "myPasswordHint",
            "rootPwd",
            "passw0rd",
            "ａｄｍｉｎＰａｓｓｗｏｒｄ",
            "аdminРаssword",
            "pass\u{200B}word",
            "pa\u{0301}ssword",
            "pass-word",
        ] {
            assert!(is_password_key(key), "{key}");
        }
        for key in ["adminUsername", "name", "url", "toolsDir", "sha256"] {
            assert!(!is_password_key(key), "{key}");
        }
    }

    #[test]
    fn secret_names() {
        for name in [
            "apiToken",
            "SECRET",
            "sshKey",
            "ｔｏｋｅｎ",
            "ѕecret",
            "sig",
            "X-Amz-Signature",
            "key",
            "api_key",
        ] {
            assert!(is_secret_name(name) || is_secret_parameter(name), "{name}");
        }
        for name in [
            "series",
            "owner",
            "cost-center",
            "v",
            "sv",
            "se",
            "plain key",
            "monkey",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn urls() {
        let sas = "https://a.blob.core.windows.net/c/t.zip?sv=2022-11-02&se=2030&sp=r&sig=abc%3D";
        assert_eq!(secret_parameters(sas), ["sig"]);
        assert_eq!(
            redact_url(sas),
            "https://a.blob.core.windows.net/c/t.zip?sv=2022-11-02&se=2030&sp=r&sig=***"
        );
        assert_eq!(
            secret_parameters("https://x/y?X-Amz-Credential=a&X-Amz-Signature=b"),
            ["X-Amz-Credential", "X-Amz-Signature"]
        );
        assert_eq!(
            redact_url("https://x/cb#access_token=abc&state=1"),
            "https://x/cb#access_token=***&state=1"
        );
        assert!(secret_parameters("https://x/t.zip?download=1&v=2").is_empty());
        assert_eq!(redact_url("https://x/t.zip"), "https://x/t.zip");
    }

    #[test]
    fn lines() {
        for line in [
            "  adminPassword: hunter2",
            "vm: {name: v, apiToken: abc}",
            "  \"secret\" : x",
            "      url: https://x/t.zip?sig=abc",
            "  ｐａｓｓｗｏｒｄ: x",
            "  раsswd: x",
            "  api\u{200B}Key: x",
        ] {
            assert!(line_names_secret(line), "{line}");
        }
        for line in [
            "  url: https://download.sysinternals.com/files/SysinternalsSuite.zip",
            "  toolsDir: 'C:\\bin'",
            "  time: \"19:00\"",
            "    - name: monkey",
        ] {
            assert!(!line_names_secret(line), "{line}");
        }
    }
}
