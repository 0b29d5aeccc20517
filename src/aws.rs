//! AWS set-up: region, credentials and endpoints for the Kinesis and DynamoDB clients, from the
//! typed configuration (`configuration.md` §3–4).
//!
//! Java's provider names map onto `aws-config`'s providers; a chain of several is tried in order.
//! The effective endpoint of each client is logged at start; credentials never are. This module
//! builds clients and does nothing else with them.

use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::provider_config::ProviderConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_kinesis::config::SharedHttpClient;
use aws_smithy_http_client::tls;
use tracing::info;

use crate::config::{ClientSettings, Config, CredentialsProvider, CredentialsSpec};

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
}

/// The HTTP client every AWS call of the process goes through, credential providers included:
/// hyper with rustls (ring crypto) and the system's root certificates. The SDK's default is the
/// same client with aws-lc crypto; ring does the same job with far less code in the binary.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// `aws_config::defaults` with this process's HTTP client. Every `SdkConfig` must come from here:
/// no HTTP client is compiled into the SDK, so a config without one fails on its first call.
pub fn defaults(http: &SharedHttpClient) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(http.clone())
}

/// Builds the Kinesis and DynamoDB clients.
pub async fn clients(config: &Config) -> Result<AwsClients, AwsSetupError> {
    let http = http_client();
    let kinesis_conf = client_config(
        "Kinesis",
        &config.kinesis_client,
        &config.credentials.kinesis,
        "KINESIS",
        &http,
    )
    .await?;
    let dynamodb_conf = client_config(
        "DynamoDB",
        &config.dynamodb_client,
        &config.credentials.dynamodb,
        "DYNAMODB",
        &http,
    )
    .await?;
    let kinesis = aws_sdk_kinesis::Client::from_conf(
        aws_sdk_kinesis::config::Builder::from(&kinesis_conf).build(),
    );
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&dynamodb_conf).build(),
    );
    Ok(AwsClients { kinesis, dynamodb })
}

/// The shared configuration of one client: region, credentials, endpoint.
async fn client_config(
    client: &'static str,
    settings: &ClientSettings,
    credentials: &CredentialsSpec,
    env_suffix: &str,
    http: &SharedHttpClient,
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
                .connect_timeout(std::time::Duration::from_secs(10))
                .operation_attempt_timeout(std::time::Duration::from_secs(30))
                .build(),
        )
        .stalled_stream_protection(
            aws_config::stalled_stream_protection::StalledStreamProtectionConfig::disabled(),
        );
    if let Some(endpoint) = &settings.endpoint {
        loader = loader.endpoint_url(endpoint.clone());
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
