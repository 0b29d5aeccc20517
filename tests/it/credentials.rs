//! Credential providers other than the environment, end to end: the worker gets its credentials
//! from a local instance-metadata (IMDS) server, a local container-credentials server, and STS
//! AssumeRole on moto, then consumes a stream. Every provider makes HTTP calls of its own through
//! the process's one HTTP client; a provider left without it fails on its first call, and then no
//! record arrives. Nothing here reaches a non-loopback address.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::emulator::{create_stream, eventually, put_records, Daemon, Moto};
use crate::harness::{self, workdir};
use crate::proxy::ForwardProxy;

/// A tiny HTTP/1.1 server on loopback answering from a route table; it records each request as
/// "METHOD path".
struct FakeCredentialServer {
    endpoint: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FakeCredentialServer {
    /// `routes`: (method, path, response headers, body).
    fn start(routes: Vec<(&'static str, &'static str, &'static str, String)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).unwrap_or(0) == 0 {
                    continue;
                }
                let mut length = 0usize;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap_or_default();
                let mut parts = request.split_whitespace();
                let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                log.lock().unwrap().push(format!("{method} {path}"));
                let response = match routes.iter().find(|r| r.0 == method && r.1 == path) {
                    Some((_, _, headers, body)) => format!(
                        "HTTP/1.1 200 OK\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    ),
                    None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_owned(),
                };
                conn.write_all(response.as_bytes()).unwrap_or_default();
            }
        });
        FakeCredentialServer { endpoint, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// Temporary credentials in the shape both IMDS and the container endpoint return.
fn credentials_json(key: &str) -> String {
    format!(
        r#"{{"Code":"Success","LastUpdated":"2026-11-23T00:00:00Z","Type":"AWS-HMAC","AccessKeyId":"{key}","SecretAccessKey":"secret","Token":"token","Expiration":"2099-01-01T00:00:00Z","RoleArn":"arn:aws:iam::123456789012:role/r"}}"#
    )
}

/// Runs the worker with `provider` as `AwsCredentialsProvider` and no credentials in the
/// environment or in profile files, and checks that it consumes 3 records and stops cleanly.
async fn consumes_with(moto: &Moto, name: &str, provider: &str, env: &[(&str, String)]) {
    let k = moto.kinesis();
    create_stream(&k, name, 1).await;
    put_records(&k, name, 0..3).await;
    consume(moto, name, provider, env).await;
}

/// Runs the worker on the existing 3-record stream `name` until it consumed all three, then
/// stops it; returns its log.
async fn consume(moto: &Moto, name: &str, provider: &str, env: &[(&str, String)]) -> String {
    let dir = workdir();
    let out = dir.path().join("received.tsv");
    let props = dir.path().join("app.properties");
    std::fs::write(
        &props,
        format!(
            "executableName = {} {}\napplicationName = {name}\nstreamName = {name}\n\
             AwsCredentialsProvider = {provider}\nregionName = us-east-1\n\
             kinesisEndpoint = {ep}\ndynamoDBEndpoint = {ep}\ninitialPositionInStream = TRIM_HORIZON\n\
             idleTimeBetweenReadsInMillis = 200\nshutdownGraceMillis = 10000\nprocessingLanguage = python/3.11\n",
            harness::venv_python().display(),
            harness::repo().join("tests/apps/kclpy_app.py").display(),
            ep = moto.endpoint,
        ),
    )
    .unwrap();
    let mut cmd = Command::new(harness::bin());
    cmd.arg(&props)
        .current_dir(dir.path())
        .env("KCLB_SCENARIO", "normal")
        .env("KCLB_RECORDS_OUT", &out)
        .env("KCL_BRIDGE_LOG", "info");
    for k in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "NO_PROXY",
        "no_proxy",
    ]
    .into_iter()
    .chain(kcl_bridge::aws::PROXY_VARIABLES)
    {
        cmd.env_remove(k);
    }
    let missing = dir.path().join("no-such-file");
    cmd.env("AWS_CONFIG_FILE", &missing)
        .env("AWS_SHARED_CREDENTIALS_FILE", &missing)
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut w = Daemon::spawn(cmd, dir.path().join("worker.log"));
    eventually(
        Duration::from_secs(30),
        &format!("3 records consumed with {provider}"),
        || async { lines(&out) >= 3 },
    )
    .await;
    w.stop(Duration::from_secs(20));
    assert_eq!(lines(&out), 3, "each record once");
    w.log()
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_from_imds_container_endpoint_sts_and_the_default_chain() {
    let moto = Moto::start();

    // EC2 instance metadata, IMDSv2: a session token first, then the role's credentials.
    let imds = FakeCredentialServer::start(vec![
        (
            "PUT",
            "/latest/api/token",
            "x-aws-ec2-metadata-token-ttl-seconds: 21600\r\n",
            "imds-session-token".to_owned(),
        ),
        (
            "GET",
            "/latest/meta-data/iam/security-credentials/",
            "",
            "the-role".to_owned(),
        ),
        (
            "GET",
            "/latest/meta-data/iam/security-credentials/the-role",
            "",
            credentials_json("ASIAFROMIMDS"),
        ),
    ]);
    consumes_with(
        &moto,
        "creds-imds",
        "InstanceProfileCredentialsProvider",
        &[
            ("AWS_EC2_METADATA_DISABLED", "false".to_owned()),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint.clone()),
        ],
    )
    .await;
    assert!(
        imds.seen()
            .contains(&"GET /latest/meta-data/iam/security-credentials/the-role".to_owned()),
        "credentials were fetched from IMDS: {:?}",
        imds.seen()
    );

    // ECS/EKS container credentials endpoint (a loopback full URI is allowed).
    let container = FakeCredentialServer::start(vec![(
        "GET",
        "/credentials",
        "Content-Type: application/json\r\n",
        credentials_json("ASIAFROMCONTAINER"),
    )]);
    consumes_with(
        &moto,
        "creds-container",
        "ContainerCredentialsProvider",
        &[(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{}/credentials", container.endpoint),
        )],
    )
    .await;
    assert_eq!(
        container.seen().first().map(String::as_str),
        Some("GET /credentials"),
        "credentials were fetched from the container endpoint"
    );

    // The default chain with credentials in the environment and regionName set asks nothing of
    // instance metadata (neither credentials nor the region).
    let idle_imds = FakeCredentialServer::start(vec![]);
    consumes_with(
        &moto,
        "creds-default",
        "DefaultCredentialsProvider",
        &[
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "false".to_owned()),
            (
                "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                idle_imds.endpoint.clone(),
            ),
        ],
    )
    .await;
    assert_eq!(idle_imds.seen(), Vec::<String>::new(), "no IMDS call");

    // STS AssumeRole on moto, with the STS endpoint from the properties and the source
    // credentials from the environment.
    consumes_with(
        &moto,
        "creds-sts",
        &format!(
            "StsAssumeRoleCredentialsProvider|arn:aws:iam::123456789012:role/consumer|kcl-bridge-test|endpoint={}^us-east-1",
            moto.endpoint
        ),
        &[
            ("AWS_ACCESS_KEY_ID", "source".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "source".to_owned()),
        ],
    )
    .await;
}

/// The signatures themselves, checked: moto verifies SigV4 once `INITIAL_NO_AUTH_ACTION_COUNT`
/// is set (it recomputes each request's signature from the IAM user's secret). Every call the
/// worker makes — DynamoDB and Kinesis through the SDK, GetRecords sent directly
/// (`retrieval::direct`) — must pass, and the direct path must stay on: a GetRecords it got
/// wrong and the SDK then got right switches it off with a WARN.
#[tokio::test(flavor = "multi_thread")]
async fn every_request_is_signed_correctly_and_get_records_goes_direct() {
    // The first three calls (the IAM set-up below) are free; every later one is checked.
    let moto = Moto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let setup = r#"
import sys, boto3
ep = sys.argv[1]
iam = boto3.client("iam", endpoint_url=ep, region_name="us-east-1",
                   aws_access_key_id="setup", aws_secret_access_key="setup")
iam.create_user(UserName="consumer")
iam.put_user_policy(UserName="consumer", PolicyName="all", PolicyDocument=
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}')
key = iam.create_access_key(UserName="consumer")["AccessKey"]
k = boto3.client("kinesis", endpoint_url=ep, region_name="us-east-1",
                 aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
k.create_stream(StreamName="signed", ShardCount=1)
k.get_waiter("stream_exists").wait(StreamName="signed", WaiterConfig={"Delay": 0.1})
for i in range(3):
    k.put_record(StreamName="signed", Data=b"record-%d" % i, PartitionKey="pk")
try:
    boto3.client("kinesis", endpoint_url=ep, region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                 aws_secret_access_key="wrong").list_streams()
    print("moto accepted a wrong secret", file=sys.stderr)
    sys.exit(1)
except Exception as e:
    assert "signature" in str(e).lower(), e
print(key["AccessKeyId"], key["SecretAccessKey"])
"#;
    let out = Command::new(harness::venv_python())
        .args(["-c", setup, &moto.endpoint])
        .output()
        .expect("run the IAM set-up");
    assert!(
        out.status.success(),
        "IAM set-up failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let (id, secret) = stdout.trim().split_once(' ').expect("key id and secret");
    let log = consume(
        &moto,
        "signed",
        "DefaultCredentialsProvider",
        &[
            ("AWS_ACCESS_KEY_ID", id.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", secret.to_owned()),
        ],
    )
    .await;
    assert!(
        log.contains("GetRecords is sent as one signed request"),
        "the direct GetRecords path was set up:\n{log}"
    );
    assert!(
        !log.contains("succeeded through the SDK"),
        "no GetRecords had to be rescued by the SDK:\n{log}"
    );
    assert!(
        !log.contains(secret),
        "the secret key never reaches the log"
    );
}

/// `ProfileCredentialsProvider|name`, Java's form with its parameter: the named profile of the
/// shared credentials file is used. The file has no default profile, so nothing else could have
/// supplied the credentials; the secret stays out of the log.
#[tokio::test(flavor = "multi_thread")]
async fn a_named_profile_supplies_the_credentials() {
    let moto = Moto::start();
    let dir = workdir();
    let file = dir.path().join("credentials");
    std::fs::write(
        &file,
        "[consumer]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret-4711\n",
    )
    .unwrap();
    let k = moto.kinesis();
    create_stream(&k, "creds-profile", 1).await;
    put_records(&k, "creds-profile", 0..3).await;
    let log = consume(
        &moto,
        "creds-profile",
        "ProfileCredentialsProvider|consumer",
        &[("AWS_SHARED_CREDENTIALS_FILE", file.display().to_string())],
    )
    .await;
    assert!(!log.contains("profile-secret-4711"), "{log}");
}

/// Java's `proxy*` keys have no equivalent; the environment's `HTTP(S)_PROXY` does the job
/// (`docs/configuration.md`, "Proxy"). Every AWS call, GetRecords sent directly among them, goes
/// through the proxy, with its credentials, and the log never shows them.
#[tokio::test(flavor = "multi_thread")]
async fn aws_calls_go_through_the_proxy_the_environment_names() {
    let moto = Moto::start();
    let proxy = ForwardProxy::start();
    let k = moto.kinesis();
    create_stream(&k, "proxied", 1).await;
    put_records(&k, "proxied", 0..3).await;
    let with_password = proxy
        .endpoint
        .replace("http://", "http://proxyuser:proxypassword@");
    let log = consume(
        &moto,
        "proxied",
        "DefaultCredentialsProvider",
        &[
            ("AWS_ACCESS_KEY_ID", "key".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "secret".to_owned()),
            ("HTTP_PROXY", with_password),
        ],
    )
    .await;
    let seen = proxy.seen();
    let origin = format!("POST {}/", moto.endpoint);
    for target in [
        "DynamoDB_20120810.CreateTable",
        "DynamoDB_20120810.UpdateItem",
        "Kinesis_20131202.ListShards",
        "Kinesis_20131202.GetRecords",
    ] {
        assert!(
            seen.iter()
                .any(|r| r.starts_with(&origin) && r.contains(target)),
            "{target} went through the proxy; it saw:\n{}",
            seen.join("\n")
        );
    }
    assert!(
        seen.iter().all(|r| r.ends_with(" true")),
        "every request carried the proxy's credentials:\n{}",
        seen.join("\n")
    );
    // Every call names kcl-bridge and the processingLanguage of the properties (python/3.11).
    for r in proxy.requests() {
        assert!(
            r.user_agent.contains("kcl-bridge_python-3.11"),
            "{}: user agent {:?}",
            r.line,
            r.user_agent
        );
    }
    assert!(
        log.contains("GetRecords is sent as one signed request")
            && !log.contains("succeeded through the SDK"),
        "GetRecords went direct, through the proxy:\n{log}"
    );
    assert!(log.contains("AWS calls go through the proxy"), "{log}");
    assert!(!log.contains("proxypassword"), "{log}");
}
