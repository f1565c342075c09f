//! The one HTTP client both providers use: authentication, timeouts, and the
//! classification of every failure into "bad token", "try again" or "give
//! up". Retrying itself is the follow loop's job (`follow.rs`), so the policy
//! lives in one place.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::Secret;

/// Why a request to the CI service did not give sift what it needed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The token is missing or rejected, or the service answered with a
    /// sign-in page. Retrying cannot help, so this is reported at once.
    #[error("{message}")]
    Auth { message: String, hint: String },
    /// Worth trying again: a connection failure, a timeout, 429 or 5xx.
    #[error("{message}")]
    Transient {
        message: String,
        /// How long the service asked us to wait (`Retry-After`, rate-limit reset).
        retry_after: Option<Duration>,
        /// The request certainly had no effect (it never connected, or the
        /// service said 429/503), so even a request that creates something,
        /// like queueing a build, may be sent again without creating two.
        repeatable: bool,
    },
    /// An answer that asking again will not change: 400, 404, a body that
    /// is not what the documented API returns.
    #[error("{message}")]
    Fatal {
        message: String,
        hint: Option<String>,
    },
}

impl ApiError {
    pub(crate) fn fatal(message: impl Into<String>) -> ApiError {
        ApiError::Fatal {
            message: message.into(),
            hint: None,
        }
    }

    /// The hint to show below the message, if any.
    pub fn hint(&self) -> Option<&str> {
        match self {
            ApiError::Auth { hint, .. } => Some(hint),
            ApiError::Fatal { hint, .. } => hint.as_deref(),
            ApiError::Transient { .. } => None,
        }
    }

    pub fn is_auth(&self) -> bool {
        matches!(self, ApiError::Auth { .. })
    }
}

/// How the token goes into the `Authorization` header.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AuthScheme {
    /// Azure DevOps: HTTP Basic with an empty user name and the PAT as password.
    Basic,
    /// GitHub: `Bearer <token>`.
    Bearer,
}

pub(crate) struct Http {
    client: reqwest::Client,
    secret: Secret,
    scheme: AuthScheme,
    /// Shown under every authentication error, e.g. which variable to set.
    auth_hint: String,
    request_timeout: Duration,
    /// The `Accept` value for JSON requests (GitHub has its own media type).
    json_accept: &'static str,
}

impl Http {
    pub(crate) fn new(
        secret: Secret,
        scheme: AuthScheme,
        auth_hint: String,
        request_timeout: Duration,
        headers: HeaderMap,
        json_accept: &'static str,
    ) -> Result<Http, ApiError> {
        // Whichever of ring or aws-lc-rs is linked first wins; a second call is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(concat!("sift/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .timeout(request_timeout)
            .connect_timeout(request_timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| {
                ApiError::fatal(format!("cannot set up the HTTP client: {}", chain(&e)))
            })?;
        Ok(Http {
            client,
            secret,
            scheme,
            auth_hint,
            request_timeout,
            json_accept,
        })
    }

    /// A request with the token attached.
    pub(crate) fn request(&self, method: Method, url: &str) -> RequestBuilder {
        let request = self.client.request(method, url);
        match self.scheme {
            AuthScheme::Basic => request.basic_auth("", Some(self.secret.expose())),
            AuthScheme::Bearer => request.bearer_auth(self.secret.expose()),
        }
    }

    fn auth(&self, message: String) -> ApiError {
        ApiError::Auth {
            message,
            hint: self.auth_hint.clone(),
        }
    }

    /// Sends a request and classifies anything but a 2xx answer. `what`
    /// completes "cannot ..." in messages, e.g. "queue the build".
    pub(crate) async fn send(
        &self,
        request: RequestBuilder,
        what: &str,
    ) -> Result<Response, ApiError> {
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Err(self.transport_error(what, &error)),
        };
        let status = response.status();
        if status == StatusCode::NON_AUTHORITATIVE_INFORMATION {
            // Azure DevOps's answer to a bad or expired PAT on GET and POST:
            // 203 and an HTML sign-in page, not 401.
            return Err(self.auth(format!(
                "cannot {what}: the service answered 203 with a sign-in page, so it did not accept the token"
            )));
        }
        if status.is_success() || status.is_redirection() {
            return Ok(response);
        }
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        let detail = self.server_message(&body);
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        };
        let retry_after = retry_after(&headers);
        let code = status.as_u16();
        Err(match status {
            StatusCode::UNAUTHORIZED => self.auth(format!(
                "cannot {what}: the service rejected the token (401){detail}"
            )),
            StatusCode::FORBIDDEN if retry_after.is_none() && !rate_limited(&headers) => {
                self.auth(format!(
                    "cannot {what}: the token is not allowed to do this (403){detail}"
                ))
            }
            StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS => ApiError::Transient {
                message: format!("cannot {what}: rate limited ({code}){detail}"),
                retry_after,
                repeatable: true,
            },
            StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => ApiError::Transient {
                message: format!("cannot {what}: the service is unavailable ({code}){detail}"),
                retry_after,
                repeatable: true,
            },
            _ if status.is_server_error() => ApiError::Transient {
                message: format!("cannot {what}: server error ({code}){detail}"),
                retry_after,
                // The service may have acted before failing.
                repeatable: false,
            },
            _ => ApiError::Fatal {
                message: format!("cannot {what}: the service answered {code}{detail}"),
                hint: (status == StatusCode::NOT_FOUND).then(|| {
                    "check the organization/project/definition (Azure) or repository/workflow (GitHub), and that the token can see them".to_owned()
                }),
            },
        })
    }

    fn transport_error(&self, what: &str, error: &reqwest::Error) -> ApiError {
        if error.is_timeout() {
            ApiError::Transient {
                message: format!(
                    "cannot {what}: no answer within {} (--request-timeout)",
                    crate::seconds(self.request_timeout)
                ),
                retry_after: None,
                repeatable: false,
            }
        } else {
            ApiError::Transient {
                // reqwest names the URL, and a redirect target (GitHub's
                // job logs) carries its signature in the query.
                message: format!(
                    "cannot {what}: {}",
                    sift_core::redact::scrub_urls(&chain(error))
                ),
                retry_after: None,
                // A failed connect never reached the service.
                repeatable: error.is_connect(),
            }
        }
    }

    /// The `message` field of a JSON error body (both Azure DevOps and
    /// GitHub use one), else the start of the body; never the token.
    fn server_message(&self, body: &str) -> String {
        let text = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| {
                if looks_like_html(body) {
                    String::new()
                } else {
                    body.trim().chars().take(200).collect()
                }
            });
        self.secret.redact(text.trim())
    }

    /// Sends a request and decodes a JSON answer. A 2xx answer that is not
    /// JSON is how Azure DevOps presents its sign-in page, so it counts as
    /// an authentication failure.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        what: &str,
    ) -> Result<T, ApiError> {
        let response = self
            .send(request.header("Accept", self.json_accept), what)
            .await?;
        let content_type = content_type(&response);
        let body = response
            .text()
            .await
            .map_err(|e| self.transport_error(what, &e))?;
        if content_type.contains("html") || looks_like_html(&body) {
            return Err(self.auth(format!(
                "cannot {what}: the service answered with an HTML page (a sign-in page) instead of JSON, so it did not accept the token"
            )));
        }
        serde_json::from_str(&body).map_err(|e| ApiError::Fatal {
            message: format!("cannot {what}: unexpected answer from the service ({e})"),
            hint: Some("is --org-url / --api-url the service's API address?".to_owned()),
        })
    }

    /// Sends a request whose answer body does not matter.
    pub(crate) async fn empty(&self, request: RequestBuilder, what: &str) -> Result<(), ApiError> {
        let response = self.send(request, what).await?;
        if content_type(&response).contains("html") {
            return Err(self.auth(format!(
                "cannot {what}: the service answered with an HTML page (a sign-in page), so it did not accept the token"
            )));
        }
        Ok(())
    }

    /// Sends a request for plain text (a log).
    pub(crate) async fn text(
        &self,
        request: RequestBuilder,
        what: &str,
    ) -> Result<String, ApiError> {
        let response = self
            .send(request.header("Accept", "text/plain"), what)
            .await?;
        if content_type(&response).contains("html") {
            return Err(self.auth(format!(
                "cannot {what}: the service answered with an HTML page (a sign-in page) instead of the log, so it did not accept the token"
            )));
        }
        response
            .text()
            .await
            .map_err(|e| self.transport_error(what, &e))
    }
}

fn content_type(response: &Response) -> String {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn looks_like_html(body: &str) -> bool {
    let start = body
        .trim_start()
        .get(..15)
        .unwrap_or("")
        .to_ascii_lowercase();
    start.starts_with("<!doctype html") || start.starts_with("<html") || start.starts_with("<?xml")
}

/// `Retry-After` in seconds (the HTTP-date form is rare for APIs and falls
/// back to sift's own backoff), else GitHub's rate-limit reset time.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    // A hostile or broken header (`1e20`) must neither panic nor park sift for
    // years: waits are capped; --timeout still bounds the whole run.
    const LONGEST: Duration = Duration::from_secs(600);
    if let Some(seconds) = value("retry-after").and_then(|v| v.trim().parse::<f64>().ok())
        && seconds >= 0.0
    {
        return Some(Duration::try_from_secs_f64(seconds).map_or(LONGEST, |d| d.min(LONGEST)));
    }
    // RFC 9110 also allows a date; a date in the past means "now".
    if let Some(date) = value("retry-after").and_then(|v| httpdate::parse_http_date(v.trim()).ok())
    {
        return Some(
            date.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO),
        );
    }
    if rate_limited(headers) {
        let reset = value("x-ratelimit-reset")?.trim().parse::<u64>().ok()?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
        // GitHub's limits reset within the hour; a bogus value must not park sift.
        let wait = reset.saturating_sub(now).saturating_add(1).min(3600);
        return Some(Duration::from_secs(wait));
    }
    None
}

/// GitHub answers an exhausted rate limit with 403 and
/// `x-ratelimit-remaining: 0`; that is not a token problem.
fn rate_limited(headers: &HeaderMap) -> bool {
    headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0")
}

/// An error and its sources, one after the other: reqwest's top-level message
/// alone ("error sending request") does not say what went wrong.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        // A date in the past: retry now.
        headers.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        // A date a minute ahead.
        let ahead = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(60));
        headers.insert("retry-after", HeaderValue::from_str(&ahead).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        headers.insert("retry-after", HeaderValue::from_static("1e20"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(600)));
        headers.insert("retry-after", HeaderValue::from_static("inf"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(600)));
        headers.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn html_detection() {
        assert!(looks_like_html("\n  <!DOCTYPE html><html>"));
        assert!(looks_like_html("<html><body>Sign in"));
        assert!(!looks_like_html("{\"id\": 1}"));
        assert!(!looks_like_html(""));
    }
}
