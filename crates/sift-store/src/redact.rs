//! Keeping credentials out of everything sift prints.
//!
//! object_store's errors include the request URL and the server's response
//! body. Signed S3 requests carry their signature in headers, but an endpoint
//! may hold `user:password@`, an Azure SAS token or a presigned URL travels in
//! the query string, and a misbehaving server may echo a key back. So every
//! message from a store passes through [`scrub`] before anyone sees it.

/// Environment variables whose values are secrets (or identify one).
pub const SECRET_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_MASTER_KEY",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_TOKEN",
    "AZURE_CLIENT_SECRET",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
];

const REDACTED: &str = "[redacted]";

/// [`scrub_with`] using the secrets in the process environment.
pub fn scrub(text: &str) -> String {
    let secrets: Vec<String> = SECRET_VARS
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .collect();
    scrub_with(text, &secrets)
}

/// Removes URL user info (`//user:pass@`) and query strings (`?sig=...`) from
/// every URL in `text`, then replaces each known secret value. Values shorter
/// than 4 characters are not replaced: they would mangle ordinary words and
/// cannot be real credentials.
pub fn scrub_with(text: &str, secrets: &[String]) -> String {
    let mut out = sift_core::redact::scrub_urls(text);
    let mut secrets: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| s.len() >= 4)
        .collect();
    // Longest first, so a secret containing another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        if out.contains(secret) {
            out = out.replace(secret, REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_and_queries_are_removed() {
        assert_eq!(
            scrub_with(
                "Error performing GET http://AKIA:hunter2@127.0.0.1:9000/b/k?X-Amz-Signature=abc&sig=z in 3ms",
                &[]
            ),
            "Error performing GET http://[redacted]@127.0.0.1:9000/b/k?[redacted] in 3ms"
        );
        assert_eq!(
            scrub_with("see https://host/a/b, then", &[]),
            "see https://host/a/b, then"
        );
        assert_eq!(scrub_with("no urls here", &[]), "no urls here");
    }

    #[test]
    fn known_secret_values_are_replaced() {
        let secrets = vec!["wJalrXUtnFEMI".to_owned(), "ab".to_owned()];
        assert_eq!(
            scrub_with("body: <Key>wJalrXUtnFEMI</Key> ab", &secrets),
            "body: <Key>[redacted]</Key> ab"
        );
    }
}
