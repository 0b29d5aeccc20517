//! AWS set-up: region, credentials and endpoints for the Kinesis and DynamoDB clients, from the
//! typed configuration (`docs/configuration.md`, "Credentials", "Region and endpoints").
//!
//! Java's provider names map onto `aws-config`'s providers; a chain of several is tried in order.
//! The effective endpoint of each client is logged at start; credentials never are. This module
//! builds clients and does nothing else with them.

use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::provider_config::ProviderConfig;
use aws_config::{AppName, BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_kinesis::config::SharedHttpClient;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::{tls, ConnectorBuilder};
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info};

use crate::config::{ClientSettings, Config, CredentialsProvider, CredentialsSpec};
use crate::retrieval::direct::DirectGetRecords;

/// Why the AWS clients could not be set up. Each names the key to change.
#[derive(Debug, thiserror::Error)]
pub enum AwsSetupError {
    #[error(
        "no AWS region for the {client} client: set regionName in the properties file, or AWS_REGION in the environment"
    )]
    NoRegion { client: &'static str },
    #[error("{key}: AnonymousCredentialsProvider cannot be combined with other providers")]
    AnonymousInChain { key: String },
    #[error("{key}: the credentials chain is empty")]
    EmptyChain { key: String },
}

/// The clients the worker uses.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub kinesis: aws_sdk_kinesis::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// GetRecords without the SDK's pipeline, on the Kinesis client's endpoint and credentials;
    /// `None` where that endpoint or those credentials cannot be used directly.
    pub direct_get_records: Option<Arc<DirectGetRecords>>,
}

/// The HTTP client every AWS call of the process goes through, credential providers included:
/// hyper with rustls (ring crypto) and the system's root certificates, through the proxy the
/// environment names. The SDK's default is the same client with aws-lc crypto; ring does the same
/// job with far less code in the binary.
pub fn http_client() -> SharedHttpClient {
    let proxy = proxy_from_env();
    aws_smithy_http_client::Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(TLS);
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(proxy.clone()));
        connector.build()
    })
}

/// The proxy variables, read as the SDK's own default client and curl read them.
pub const PROXY_VARIABLES: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// `HTTPS_PROXY`, `HTTP_PROXY` or `ALL_PROXY` (either case) with `NO_PROXY`, as the SDK's own
/// default client takes them (Java's `proxy*` keys have no equivalent: `docs/configuration.md`,
/// "Proxy"). Without any of them, no proxy, and no per-request proxy lookup either.
fn proxy_from_env() -> ProxyConfig {
    if !proxy_variables_set().is_empty() {
        ProxyConfig::from_env()
    } else {
        ProxyConfig::disabled()
    }
}

/// Which of [`PROXY_VARIABLES`] the environment sets (to something).
fn proxy_variables_set() -> Vec<&'static str> {
    PROXY_VARIABLES
        .into_iter()
        .filter(|v| std::env::var_os(v).is_some_and(|value| !value.is_empty()))
        .collect()
}

/// Logs, once, whether AWS calls go through a proxy (never the proxy's address: it may carry a
/// user name and password).
fn log_proxy() {
    let named = proxy_variables_set();
    if !named.is_empty() {
        info!(
            variables = %named.join(", "),
            no_proxy = std::env::var_os("NO_PROXY").or_else(|| std::env::var_os("no_proxy")).is_some(),
            "AWS calls go through the proxy the environment names"
        );
    }
}

const TLS: tls::Provider = tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring);
/// As Java: a connection not made within 10 s, or a request not answered within 30 s, is
/// abandoned and retried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// `aws_config::defaults` with this process's HTTP client. Every `SdkConfig` must come from here:
/// no HTTP client is compiled into the SDK, so a config without one fails on its first call.
pub fn defaults(http: &SharedHttpClient) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(http.clone())
}

/// The application name every AWS call's user agent carries (`app/…`): `kcl-bridge`, then the
/// `processingLanguage` of the properties if set (the Java daemon meant to add it:
/// `docs/configuration.md`, "User agent"), with characters a user-agent token cannot hold made `-`:
/// `kcl-bridge_python-3.8`.
pub fn app_name(processing_language: Option<&str>) -> Option<AppName> {
    let mut name = String::from("kcl-bridge");
    if let Some(language) = processing_language.filter(|l| !l.is_empty()) {
        name.push('_');
        name.extend(language.chars().map(|c| {
            if c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c) {
                c
            } else {
                '-'
            }
        }));
    }
    name.truncate(50); // ASCII only, so on a character boundary
    AppName::new(name).ok()
}

/// Builds the Kinesis and DynamoDB clients.
pub async fn clients(config: &Config) -> Result<AwsClients, AwsSetupError> {
    log_proxy();
    let http = http_client();
    let app = app_name(config.processing_language.as_deref());
    let kinesis_conf = client_config(
        "Kinesis",
        &config.kinesis_client,
        &config.credentials.kinesis,
        "KINESIS",
        &http,
        app.as_ref(),
    )
    .await?;
    let dynamodb_conf = client_config(
        "DynamoDB",
        &config.dynamodb_client,
        &config.credentials.dynamodb,
        "DYNAMODB",
        &http,
        app.as_ref(),
    )
    .await?;
    let direct_get_records = direct_get_records(&kinesis_conf).await.map(Arc::new);
    let kinesis = aws_sdk_kinesis::Client::from_conf(
        aws_sdk_kinesis::config::Builder::from(&kinesis_conf).build(),
    );
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&dynamodb_conf).build(),
    );
    Ok(AwsClients {
        kinesis,
        dynamodb,
        direct_get_records,
    })
}

/// The Kinesis endpoint URL the SDK's client takes from `conf`: one set in code (the properties
/// file) wins; else `AWS_ENDPOINT_URL_KINESIS` or a profile's `services` section; else
/// `AWS_ENDPOINT_URL`. The same order as `aws_sdk_kinesis::config::Builder::from(&SdkConfig)`.
fn kinesis_endpoint_url(conf: &SdkConfig) -> Option<String> {
    if conf.get_origin("endpoint_url").is_client_config() {
        return conf.endpoint_url().map(str::to_owned);
    }
    let key = aws_types::service_config::ServiceConfigKey::builder()
        .service_id("Kinesis")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()?;
    conf.service_config()
        .and_then(|c| c.load_config(key))
        .or_else(|| conf.endpoint_url().map(str::to_owned))
}

/// GetRecords sent directly, on the endpoint the SDK's own rules give GetRecords for `conf`;
/// `None` without credentials (anonymous) or where the endpoint asks for anything but plain
/// SigV4 in the client's region.
async fn direct_get_records(conf: &SdkConfig) -> Option<DirectGetRecords> {
    use aws_sdk_kinesis::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
    let provider = conf.credentials_provider()?;
    let region = conf.region()?.to_string();
    let params = Params::builder()
        .region(region.clone())
        .set_use_fips(conf.use_fips())
        .set_use_dual_stack(conf.use_dual_stack())
        .set_endpoint(kinesis_endpoint_url(conf))
        .account_id_endpoint_mode(
            conf.account_id_endpoint_mode()
                .cloned()
                .unwrap_or_default()
                .to_string(),
        )
        .operation_type("data")
        .build()
        .ok()?;
    let endpoint = match DefaultResolver::new().resolve_endpoint(&params).await {
        Ok(e) => e,
        Err(e) => {
            debug!(error = %e, "no endpoint for direct GetRecords: the SDK sends every call");
            return None;
        }
    };
    if endpoint.headers().next().is_some() || !endpoint.properties().is_empty() {
        debug!(
            ?endpoint,
            "the Kinesis endpoint has properties of its own: the SDK sends every call"
        );
        return None;
    }
    // No read timeout here: `DirectGetRecords` bounds each whole attempt itself, and a second
    // timer per request costs a runtime wake-up on every idle poll.
    let http = aws_smithy_http_client::Connector::builder()
        .connector_settings(
            aws_smithy_runtime_api::client::http::HttpConnectorSettings::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .build(),
        )
        .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
        .proxy_config(proxy_from_env())
        .tls_provider(TLS)
        .build();
    let user_agent = match conf.app_name() {
        Some(app) => format!("kcl-bridge/{} app/{app}", env!("CARGO_PKG_VERSION")),
        None => format!("kcl-bridge/{}", env!("CARGO_PKG_VERSION")),
    };
    Some(DirectGetRecords::new(
        Box::new(http),
        endpoint.url().to_owned(),
        region,
        provider,
        user_agent,
    ))
}

/// The shared configuration of one client: region, credentials, endpoint.
async fn client_config(
    client: &'static str,
    settings: &ClientSettings,
    credentials: &CredentialsSpec,
    env_suffix: &str,
    http: &SharedHttpClient,
    app: Option<&AppName>,
) -> Result<SdkConfig, AwsSetupError> {
    let providers = ProviderConfig::without_region().with_http_client(http.clone());
    let region = match &settings.region {
        Some(r) => Region::new(r.clone()),
        None => defaults(http)
            .load()
            .await
            .region()
            .cloned()
            .ok_or(AwsSetupError::NoRegion { client })?,
    };
    let providers = providers.with_region(Some(region.clone()));
    // As Java: a request that takes over 30 s is abandoned and retried. Stalled-stream protection
    // is off: the per-attempt timeout covers hung responses, and it costs CPU on every request.
    let mut loader = defaults(http)
        .region(region.clone())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        )
        .stalled_stream_protection(
            aws_config::stalled_stream_protection::StalledStreamProtectionConfig::disabled(),
        );
    if let Some(endpoint) = &settings.endpoint {
        loader = loader.endpoint_url(endpoint.clone());
    }
    if let Some(app) = app {
        loader = loader.app_name(app.clone());
    }
    let anonymous = credentials
        .providers
        .iter()
        .any(|p| matches!(p, CredentialsProvider::Anonymous));
    if anonymous {
        if credentials.providers.len() > 1 {
            return Err(AwsSetupError::AnonymousInChain {
                key: credentials.key.clone(),
            });
        }
        loader = loader.no_credentials();
    } else {
        loader = loader.credentials_provider(chain(credentials, &region, &providers, http).await?);
    }
    let endpoint = settings
        .endpoint
        .clone()
        .or_else(|| std::env::var(format!("AWS_ENDPOINT_URL_{env_suffix}")).ok())
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .unwrap_or_else(|| "the regional AWS endpoint".to_owned());
    let providers: Vec<String> = credentials
        .providers
        .iter()
        .map(CredentialsProvider::redacted)
        .collect();
    info!(
        client,
        region = %region,
        endpoint = %endpoint,
        credentials = %providers.join(", "),
        "AWS client"
    );
    Ok(loader.load().await)
}

/// The credentials chain of one key, providers tried in the order written.
async fn chain(
    spec: &CredentialsSpec,
    region: &Region,
    providers: &ProviderConfig,
    http: &SharedHttpClient,
) -> Result<SharedCredentialsProvider, AwsSetupError> {
    let mut chain: Option<CredentialsProviderChain> = None;
    for p in &spec.providers {
        let provider = single(p, region, providers, http).await;
        let name = p.name();
        chain = Some(match chain {
            None => CredentialsProviderChain::first_try(name, provider),
            Some(c) => c.or_else(name, provider),
        });
    }
    chain
        .map(SharedCredentialsProvider::new)
        .ok_or_else(|| AwsSetupError::EmptyChain {
            key: spec.key.clone(),
        })
}

/// One provider. Each is given the process's HTTP client and the client's region through
/// `providers` (or an `SdkConfig` made by [`defaults`]).
async fn single(
    p: &CredentialsProvider,
    region: &Region,
    providers: &ProviderConfig,
    http: &SharedHttpClient,
) -> SharedCredentialsProvider {
    use aws_config::{ecs, environment, imds, profile, sts, web_identity_token};
    match p {
        CredentialsProvider::Default | CredentialsProvider::Anonymous => {
            SharedCredentialsProvider::new(
                aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                    .configure(providers.clone())
                    // Its own region setting: without it the chain looks the region up again.
                    .region(region.clone())
                    .build()
                    .await,
            )
        }
        // No JVM system properties exist here: both read the environment.
        CredentialsProvider::Environment | CredentialsProvider::SystemProperty => {
            SharedCredentialsProvider::new(
                environment::credentials::EnvironmentVariableCredentialsProvider::new(),
            )
        }
        CredentialsProvider::Profile { profile } => {
            let mut b = profile::ProfileFileCredentialsProvider::builder().configure(providers);
            if let Some(name) = profile {
                b = b.profile_name(name.expose());
            }
            SharedCredentialsProvider::new(b.build())
        }
        CredentialsProvider::WebIdentityTokenFile => SharedCredentialsProvider::new(
            web_identity_token::WebIdentityTokenCredentialsProvider::builder()
                .configure(providers)
                .build(),
        ),
        CredentialsProvider::Container => SharedCredentialsProvider::new(
            ecs::EcsCredentialsProvider::builder()
                .configure(providers)
                .build(),
        ),
        CredentialsProvider::InstanceProfile => SharedCredentialsProvider::new(
            imds::credentials::ImdsCredentialsProvider::builder()
                .configure(providers)
                .build(),
        ),
        CredentialsProvider::StsAssumeRole {
            role_arn,
            session_name,
            endpoint_region,
            endpoint,
            external_id,
        } => {
            let mut b = sts::AssumeRoleProvider::builder(role_arn.expose())
                .session_name(session_name.expose());
            if let Some(id) = external_id {
                b = b.external_id(id.expose());
            }
            let sts_region = endpoint
                .as_ref()
                .map(|e| e.signing_region.expose().to_owned())
                .or_else(|| endpoint_region.as_ref().map(|r| r.expose().to_owned()));
            if let Some(r) = &sts_region {
                b = b.region(Region::new(r.clone()));
            }
            // The STS client: the endpoint given in the properties or the default one, in the
            // region named for STS or else the client's own; its source credentials are the
            // default chain's.
            let mut sts_conf = defaults(http).region(region.clone());
            if let Some(e) = endpoint {
                sts_conf = sts_conf.endpoint_url(e.url.expose());
            }
            b = b.configure(&sts_conf.load().await);
            SharedCredentialsProvider::new(b.build().await)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::app_name;

    #[test]
    fn the_processing_language_joins_the_app_name() {
        let name = |l| app_name(l).map(|a| a.to_string());
        assert_eq!(name(None).as_deref(), Some("kcl-bridge"));
        assert_eq!(name(Some("")).as_deref(), Some("kcl-bridge"));
        assert_eq!(
            name(Some("python/3.8")).as_deref(),
            Some("kcl-bridge_python-3.8")
        );
        assert_eq!(
            name(Some("nodejs/0.10 (beta)")).as_deref(),
            Some("kcl-bridge_nodejs-0.10--beta-")
        );
        let long = name(Some(&"x".repeat(80))).unwrap_or_default();
        assert_eq!(long.len(), 50, "{long}");
    }
}
