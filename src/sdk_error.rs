//! SDK errors in our words: the service's error code, if any, and one line of text for logs and
//! messages. Each AWS adapter (`lease::dynamo`, `retrieval::kinesis`) classifies the code into its
//! own error enum; this module knows no service.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The error code the service answered with (empty if none) and one line describing the error.
/// A 403 whose body the SDK could not read counts as `AccessDeniedException`.
pub fn code_and_text<E>(e: &SdkError<E, HttpResponse>) -> (String, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let Some(forbidden) = forbidden_without_code(e) {
        return ("AccessDeniedException".to_owned(), forbidden);
    }
    (e.code().unwrap_or_default().to_owned(), describe(e))
}

/// One line for an SDK error, for logs and the final error message: the service's code and
/// message when it answered, else what went wrong on the way (each cause once, no dump of the
/// raw response).
fn describe<E>(e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let Some(code) = e.code() {
        return match e.message() {
            Some(message) => format!("{code}: {message}"),
            None => code.to_owned(),
        };
    }
    let head = match e {
        SdkError::ResponseError(r) => format!("unreadable response (HTTP {})", r.raw().status()),
        other => other.to_string(),
    };
    crate::with_causes(head, std::error::Error::source(e))
}

/// An HTTP 403 whose body the SDK could not read as the service's error (an endpoint that
/// answers authentication failures in XML, as moto does), described briefly: the status and the
/// body's `<Code>` and `<Message>` if it has them. `None` for anything else.
fn forbidden_without_code<E: ProvideErrorMetadata>(
    e: &SdkError<E, HttpResponse>,
) -> Option<String> {
    if e.code().is_some() {
        return None;
    }
    let raw = e.raw_response()?;
    if raw.status().as_u16() != 403 {
        return None;
    }
    let body = raw
        .body()
        .bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let element = |tag: &str| {
        let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
        let end = start + body[start..].find(&format!("</{tag}>"))?;
        Some(body[start..end].to_owned())
    };
    Some(match (element("Code"), element("Message")) {
        (Some(code), Some(message)) => format!("HTTP 403 Forbidden: {code}: {message}"),
        _ => format!(
            "HTTP 403 Forbidden: {}",
            body.chars().take(200).collect::<String>()
        ),
    })
}
