//! GetRecords as one signed HTTP request, beside the SDK rather than through it.
//!
//! Why: an idle worker polls each shard every `idleTimeBetweenReadsInMillis`, and the SDK's
//! request pipeline (runtime plugins, config bags, interceptors, endpoint rules, retry machinery)
//! costs several times the work of the request itself on every call, which at several polls a
//! second per shard dominates an idle worker's CPU (`docs/retrieval.md`, "Direct GetRecords").
//! This path builds the same request the SDK builds: the awsJson1.1 body, SigV4 by `aws-sigv4`
//! (the SDK's own signer), sent to the endpoint the SDK's own rules resolve, with credentials from
//! the client's own provider, cached until shortly before they expire.
//!
//! What it leaves to the SDK: everything it does not understand. A transport error, a timeout, a
//! 5xx, an authentication error or a body that does not parse sends the same call through the
//! SDK (which retries, corrects clock skew, refreshes credentials and words the error). If the SDK
//! then succeeds where this path got a 4xx — or, for any other failure, three times in a row —
//! this path is wrong for this environment and is switched off for the rest of the process with
//! one WARN. Service errors that prove the request
//! was read and authenticated (expired iterator, throttling, not found, ...) are answered here.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use serde::Deserialize;
use tracing::{info, warn};

use super::{response, Batch, KinesisError};

/// The awsJson1.1 target of GetRecords.
const TARGET: &str = "Kinesis_20131202.GetRecords";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The SigV4 signing name of Kinesis.
const SERVICE: &str = "kinesis";
/// A request (connect, send, whole body) that takes longer is abandoned, as the SDK's attempts are.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Credentials are fetched again this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);
/// Credentials that carry no expiry (environment, profile files) are read again this often, as
/// the SDK's credentials cache does.
const REFRESH_UNEXPIRING: Duration = Duration::from_secs(900);
/// Calls in a row that failed here for reasons not this path's own (transport, 5xx) and then
/// succeeded through the SDK, after which this path is switched off anyway.
const RESCUES_BEFORE_GIVING_UP: u32 = 3;

/// The outcome of one direct attempt.
#[derive(Debug)]
pub enum Attempt {
    /// Kinesis answered and the answer was understood: the batch or a classified service error.
    Done(Result<Batch, KinesisError>),
    /// Make the same call through the SDK. `suspect`: the failure may be this path's own (a 4xx
    /// other than a known service error), so an SDK success afterwards switches this path off.
    Fallback { reason: String, suspect: bool },
}

/// Credentials, as the signer takes them, and when they were fetched.
#[derive(Debug, Clone)]
struct Cached {
    identity: Identity,
    expiry: Option<SystemTime>,
    fetched: SystemTime,
}

/// Whether credentials fetched at `fetched`, expiring at `expiry`, must be fetched again at `now`.
fn needs_refresh(fetched: SystemTime, expiry: Option<SystemTime>, now: SystemTime) -> bool {
    match expiry {
        Some(expiry) => now + REFRESH_BEFORE_EXPIRY >= expiry,
        None => now >= fetched + REFRESH_UNEXPIRING || now < fetched,
    }
}

/// GetRecords for one Kinesis endpoint.
#[derive(Debug)]
pub struct DirectGetRecords {
    http: Box<dyn HttpConnector>,
    url: String,
    region: String,
    provider: SharedCredentialsProvider,
    /// `kcl-bridge/<version> app/<aws::app_name>`.
    user_agent: String,
    cached: tokio::sync::Mutex<Option<Cached>>,
    enabled: AtomicBool,
    /// Calls in a row the SDK completed after this path failed.
    rescues: AtomicU32,
}

impl DirectGetRecords {
    /// `url`: the endpoint as the SDK resolves it for GetRecords; `region`: the signing region.
    pub fn new(
        http: Box<dyn HttpConnector>,
        url: String,
        region: String,
        provider: SharedCredentialsProvider,
        user_agent: String,
    ) -> Self {
        info!(
            endpoint = %url,
            "GetRecords is sent as one signed request; other Kinesis calls, and any GetRecords this path cannot complete, go through the SDK"
        );
        DirectGetRecords {
            http,
            url,
            region,
            provider,
            user_agent,
            cached: tokio::sync::Mutex::new(None),
            enabled: AtomicBool::new(true),
            rescues: AtomicU32::new(0),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// The SDK completed a call this path failed. A failure that may be this path's own
    /// (`suspect`, a 4xx) switches it off at once; any other after [`RESCUES_BEFORE_GIVING_UP`]
    /// in a row.
    pub fn rescued(&self, reason: &str, suspect: bool) {
        let in_a_row = self.rescues.fetch_add(1, Ordering::Relaxed) + 1;
        if suspect || in_a_row >= RESCUES_BEFORE_GIVING_UP {
            self.disable(reason);
        }
    }

    /// Switches this path off for the rest of the process: the SDK did what it could not.
    fn disable(&self, reason: &str) {
        if self.enabled.swap(false, Ordering::Relaxed) {
            warn!(
                reason,
                "a GetRecords failed when sent directly but succeeded through the SDK: every GetRecords now goes through the SDK (correct, at a higher CPU cost per call)"
            );
        }
    }

    /// The credentials to sign with (converted for the signer once, not on every call).
    async fn credentials(&self) -> Result<Identity, String> {
        let mut cached = self.cached.lock().await;
        let now = SystemTime::now();
        if let Some(c) = cached.as_ref() {
            if !needs_refresh(c.fetched, c.expiry, now) {
                return Ok(c.identity.clone());
            }
        }
        let credentials: Credentials = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| format!("no credentials: {e}"))?;
        let expiry = credentials.expiry();
        let identity = Identity::from(credentials);
        *cached = Some(Cached {
            identity: identity.clone(),
            expiry,
            fetched: now,
        });
        Ok(identity)
    }

    /// Forgets the cached credentials: the next call fetches them again.
    async fn forget_credentials(&self) {
        *self.cached.lock().await = None;
    }

    /// One GetRecords attempt.
    pub async fn get_records(&self, iterator: &str, limit: u32) -> Attempt {
        let credentials = match self.credentials().await {
            Ok(c) => c,
            Err(reason) => {
                return Attempt::Fallback {
                    reason,
                    suspect: false,
                }
            }
        };
        let request = match self.signed_request(iterator, limit, credentials) {
            Ok(r) => r,
            Err(reason) => {
                return Attempt::Fallback {
                    reason,
                    suspect: true,
                }
            }
        };
        let sent = tokio::time::timeout(ATTEMPT_TIMEOUT, async {
            let response = self
                .http
                .call(request)
                .await
                .map_err(|e| format!("HTTP: {e}"))?;
            let status = response.status().as_u16();
            let error_type = response
                .headers()
                .get("x-amzn-errortype")
                .map(str::to_owned);
            let body = ByteStream::new(response.into_body())
                .collect()
                .await
                .map_err(|e| format!("reading the response: {e}"))?
                .into_bytes();
            Ok::<_, String>((status, error_type, body))
        })
        .await;
        let (status, error_type, body) = match sent {
            Ok(Ok(r)) => r,
            Ok(Err(reason)) => {
                return Attempt::Fallback {
                    reason,
                    suspect: false,
                }
            }
            Err(_) => {
                return Attempt::Fallback {
                    reason: format!("no response within {ATTEMPT_TIMEOUT:?}"),
                    suspect: false,
                }
            }
        };
        let attempt = answer(status, error_type.as_deref(), &body);
        if matches!(attempt, Attempt::Done(_)) {
            self.rescues.store(0, Ordering::Relaxed);
        }
        if matches!(attempt, Attempt::Fallback { suspect: true, .. }) {
            // Perhaps the credentials were rotated early: fetch them anew next time.
            self.forget_credentials().await;
        }
        attempt
    }

    fn signed_request(
        &self,
        iterator: &str,
        limit: u32,
        identity: Identity,
    ) -> Result<HttpRequest, String> {
        let body = request_body(iterator, limit);
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SERVICE)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("signing: {e}"))?
            .into();
        let headers = [("content-type", CONTENT_TYPE), ("x-amz-target", TARGET)];
        // Not signed, as the SDK does not sign it either.
        let unsigned = [("user-agent", self.user_agent.as_str())];
        let signable = SignableRequest::new(
            "POST",
            self.url.as_str(),
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| format!("signing: {e}"))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| format!("signing: {e}"))?
            .into_parts();
        let mut request = HttpRequest::new(SdkBody::from(body));
        request
            .set_method("POST")
            .map_err(|e| format!("request: {e}"))?;
        request
            .set_uri(self.url.as_str())
            .map_err(|e| format!("request: {e}"))?;
        let extra = instructions
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        for (k, v) in headers
            .iter()
            .chain(&unsigned)
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .chain(extra)
        {
            request
                .headers_mut()
                .try_insert(k, v)
                .map_err(|e| format!("request: {e}"))?;
        }
        Ok(request)
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetRecordsInput<'a> {
    shard_iterator: &'a str,
    limit: u32,
}

/// The JSON body of a GetRecords call.
fn request_body(iterator: &str, limit: u32) -> Vec<u8> {
    serde_json::to_vec(&GetRecordsInput {
        shard_iterator: iterator,
        limit,
    })
    .unwrap_or_default()
}

/// What a response means: status, `x-amzn-errortype` header and body.
fn answer(status: u16, error_type: Option<&str>, body: &bytes::Bytes) -> Attempt {
    if status == 200 {
        return match response::decode(body, response::now_millis()) {
            Ok(batch) => Attempt::Done(Ok(batch)),
            Err(e) => Attempt::Fallback {
                reason: format!("unreadable GetRecords response: {e}"),
                suspect: true,
            },
        };
    }
    let code = error_code(error_type, body);
    let message = error_message(body);
    if (400..500).contains(&status) {
        if let Some(code) = code.as_deref().filter(|c| proves_authenticated(c)) {
            return Attempt::Done(Err(KinesisError::classify(
                code,
                format!("{code}: {message}"),
            )));
        }
    }
    Attempt::Fallback {
        reason: format!(
            "HTTP {status} {}: {message}",
            code.as_deref().unwrap_or("(no error type)")
        ),
        suspect: (400..500).contains(&status),
    }
}

/// Service errors Kinesis gives only to a request it has authenticated and read: answered as
/// the SDK path answers them, with no second call.
fn proves_authenticated(code: &str) -> bool {
    matches!(
        code,
        "ExpiredIteratorException"
            | "ProvisionedThroughputExceededException"
            | "LimitExceededException"
            | "ResourceNotFoundException"
            | "InvalidArgumentException"
            | "KMSAccessDeniedException"
            | "KMSDisabledException"
            | "KMSInvalidStateException"
            | "KMSNotFoundException"
            | "KMSOptInRequired"
            | "KMSThrottlingException"
    )
}

/// The error's short name, from the body's `__type` or the `x-amzn-errortype` header, either of
/// which may carry a namespace before `#` or a URL after `:`.
fn error_code(header: Option<&str>, body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorBody<'a> {
        #[serde(rename = "__type", borrow)]
        kind: Option<Cow<'a, str>>,
    }
    let from_body = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.kind.map(Cow::into_owned));
    let raw = from_body.or_else(|| header.map(str::to_owned))?;
    let short = raw.rsplit('#').next().unwrap_or(&raw);
    let short = short.split(':').next().unwrap_or(short).trim();
    (!short.is_empty()).then(|| short.to_owned())
}

/// The error's message: the JSON body's `message`, or else the start of the body as text.
fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        #[serde(alias = "Message")]
        message: Option<String>,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { message: Some(m) }) => m,
        _ => String::from_utf8_lossy(body).chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`super::answer`] for a body given as a literal.
    fn answer(status: u16, error_type: Option<&str>, body: &'static [u8]) -> Attempt {
        super::answer(status, error_type, &bytes::Bytes::from_static(body))
    }

    #[test]
    fn the_request_body_is_what_the_sdk_sends() {
        let body = request_body("AAAA/+b==", 10000);
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"ShardIterator":"AAAA/+b==","Limit":10000}"#
        );
    }

    #[test]
    fn a_200_is_a_batch() {
        let body = br#"{"Records":[{"Data":"aGVsbG8=","PartitionKey":"pk","SequenceNumber":"4959"}],"NextShardIterator":"next","MillisBehindLatest":42}"#;
        let Attempt::Done(Ok(batch)) = answer(200, None, body) else {
            panic!("not a batch")
        };
        assert_eq!(&batch.records[0].data.to_bytes()[..], b"hello");
        assert_eq!(batch.next_iterator.as_deref(), Some("next"));
    }

    #[test]
    fn known_service_errors_are_answered_here() {
        let expired = br#"{"__type":"ExpiredIteratorException","message":"Iterator expired"}"#;
        assert!(matches!(
            answer(400, None, expired),
            Attempt::Done(Err(KinesisError::ExpiredIterator))
        ));
        let throttled =
            br#"{"__type":"com.amazonaws.kinesis.v20131202#ProvisionedThroughputExceededException","message":"Rate exceeded"}"#;
        match answer(400, None, throttled) {
            Attempt::Done(Err(KinesisError::Throttled(text))) => {
                assert!(text.contains("Rate exceeded"), "{text}")
            }
            other => panic!("{other:?}"),
        }
        let header_only = answer(
            400,
            Some("ResourceNotFoundException:http://internal.amazon.com/"),
            b"",
        );
        assert!(matches!(
            header_only,
            Attempt::Done(Err(KinesisError::NotFound(_)))
        ));
    }

    #[test]
    fn anything_else_goes_through_the_sdk() {
        let signature = br#"{"__type":"InvalidSignatureException","message":"The request signature we calculated does not match"}"#;
        match answer(400, None, signature) {
            Attempt::Fallback { reason, suspect } => {
                assert!(suspect);
                assert!(reason.contains("InvalidSignatureException"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        match answer(403, None, b"<html>forbidden</html>") {
            Attempt::Fallback { reason, suspect } => {
                assert!(suspect);
                assert_eq!(reason, "HTTP 403 (no error type): <html>forbidden</html>");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            answer(500, None, br#"{"__type":"InternalFailure"}"#),
            Attempt::Fallback { suspect: false, .. }
        ));
        assert!(matches!(
            answer(503, Some("ServiceUnavailable"), b""),
            Attempt::Fallback { suspect: false, .. }
        ));
        // A 200 this path cannot read is a reason to doubt it.
        assert!(matches!(
            answer(
                200,
                None,
                br#"{"Records":[{"Data":"@@@","SequenceNumber":"1"}]}"#
            ),
            Attempt::Fallback { suspect: true, .. }
        ));
        assert!(matches!(
            answer(200, None, b"not json"),
            Attempt::Fallback { suspect: true, .. }
        ));
    }

    #[derive(Debug)]
    struct NoHttp;

    impl HttpConnector for NoHttp {
        fn call(
            &self,
            _: HttpRequest,
        ) -> aws_smithy_runtime_api::client::http::HttpConnectorFuture {
            unreachable!("no request in this test")
        }
    }

    fn direct() -> DirectGetRecords {
        DirectGetRecords::new(
            Box::new(NoHttp),
            "http://127.0.0.1:1".into(),
            "us-east-1".into(),
            SharedCredentialsProvider::new(Credentials::new("id", "secret", None, None, "test")),
            "kcl-bridge/test".into(),
        )
    }

    #[test]
    fn a_4xx_the_sdk_got_past_switches_the_path_off_at_once() {
        let d = direct();
        d.rescued("HTTP 403", true);
        assert!(!d.enabled());
    }

    #[test]
    fn other_failures_switch_it_off_only_when_the_sdk_keeps_succeeding() {
        let d = direct();
        d.rescued("HTTP 500", false);
        d.rescued("timeout", false);
        assert!(d.enabled());
        // A call this path completed starts the count again.
        d.rescues.store(0, Ordering::Relaxed);
        d.rescued("HTTP 500", false);
        d.rescued("HTTP 500", false);
        assert!(d.enabled());
        d.rescued("HTTP 500", false);
        assert!(!d.enabled());
    }

    #[test]
    fn credentials_are_fetched_again_before_they_expire() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let hour = Duration::from_secs(3600);
        // Expiring in an hour: kept until five minutes before.
        assert!(!needs_refresh(t0, Some(t0 + hour), t0));
        assert!(!needs_refresh(
            t0,
            Some(t0 + hour),
            t0 + hour - REFRESH_BEFORE_EXPIRY - Duration::from_secs(1)
        ));
        assert!(needs_refresh(
            t0,
            Some(t0 + hour),
            t0 + hour - REFRESH_BEFORE_EXPIRY
        ));
        assert!(needs_refresh(t0, Some(t0 + hour), t0 + 2 * hour));
        // No expiry: read again every fifteen minutes, and at once if the clock went back.
        assert!(!needs_refresh(
            t0,
            None,
            t0 + REFRESH_UNEXPIRING - Duration::from_secs(1)
        ));
        assert!(needs_refresh(t0, None, t0 + REFRESH_UNEXPIRING));
        assert!(needs_refresh(t0, None, t0 - Duration::from_secs(1)));
    }
}
