//! Keeping credentials in URLs out of what sift prints: HTTP clients and
//! object stores put request URLs in their errors, and those may carry
//! `user:password@` or a signed query string (presigned S3 URLs, Azure SAS
//! tokens, GitHub's signed log links).

const REDACTED: &str = "[redacted]";

/// `text` with the user info and the query string of every URL replaced by
/// `[redacted]`. A URL runs from its scheme to the next whitespace, quote,
/// angle bracket, backtick or closing parenthesis.
pub fn scrub_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        // The URL runs to the next whitespace or quote.
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`' | ')'))
            .unwrap_or(after.len());
        let (url, tail) = after.split_at(end);
        let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let (authority, path) = url.split_at(authority_end);
        match authority.rfind('@') {
            Some(at) => {
                out.push_str(REDACTED);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        match path.find('?') {
            Some(q) => {
                out.push_str(&path[..q]);
                out.push('?');
                out.push_str(REDACTED);
            }
            None => out.push_str(path),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::scrub_urls;

    #[test]
    fn user_info_and_queries_are_removed() {
        assert_eq!(
            scrub_urls(
                "Error performing GET http://AKIA:hunter2@127.0.0.1:9000/b/k?X-Amz-Signature=abc&sig=z in 3ms"
            ),
            "Error performing GET http://[redacted]@127.0.0.1:9000/b/k?[redacted] in 3ms"
        );
        assert_eq!(
            scrub_urls("error sending request for url (https://blob.example/log?sig=abc&se=1)"),
            "error sending request for url (https://blob.example/log?[redacted])"
        );
        assert_eq!(
            scrub_urls("see https://host/a/b, then"),
            "see https://host/a/b, then"
        );
        assert_eq!(scrub_urls("no urls here"), "no urls here");
    }
}
