//! A token that cannot leak by accident: no `Display`, a redacting `Debug`,
//! and a helper that scrubs it from any text sift is about to print.

use std::fmt;

/// A personal access token or API token.
///
/// Tokens end up in CI logs if anything prints them, so this type has no
/// `Display` and its `Debug` says `Secret(***)`. The raw value is only
/// reachable inside this crate, where it goes into an `Authorization` header
/// that reqwest marks as sensitive.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a token. Surrounding whitespace (a trailing newline from a file
    /// or `echo`) is not part of the token.
    pub fn new(token: impl Into<String>) -> Secret {
        Secret(token.into().trim().to_owned())
    }

    /// True when the token is empty (an unset secret in CI often expands to "").
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the token replaced by `***`: for
    /// server-provided text (error bodies) that sift shows to the user.
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() < 4 {
            // Replacing a one- or two-letter "token" would mangle every message.
            return text.to_owned();
        }
        text.replace(&self.0, "***")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let secret = Secret::new("s3cr3t-pat-value\n");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(
            format!("{:#?}", Some(&secret)),
            "Some(\n    Secret(***),\n)"
        );
        assert_eq!(secret.expose(), "s3cr3t-pat-value");
    }

    #[test]
    fn redacts_server_text() {
        let secret = Secret::new("s3cr3t-pat-value");
        assert_eq!(
            secret.redact("bad token s3cr3t-pat-value!"),
            "bad token ***!"
        );
        assert!(Secret::new("  ").is_empty());
    }
}
