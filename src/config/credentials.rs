//! The `AwsCredentialsProvider*` value grammar (`docs/configuration.md`, "Credentials") parsed
//! into typed provider specs: `item ("," item)*`, `item = name ("|" arg)*`.
//!
//! Every argument is treated as secret-bearing: it is stored as [`Redacted`], never appears in
//! `Debug` output, warnings or errors, and [`CredentialsSpec::redacted`] shows only provider names.
//! This module builds no credentials, reads no environment and does no I/O.

use std::fmt;

/// A string that must not be printed (credentials arguments). `Debug` shows `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted(String);

impl Redacted {
    pub fn new(s: impl Into<String>) -> Self {
        Redacted(s.into())
    }
    /// The real value, for building the provider.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `endpoint=<url>^<signingRegion>` of the STS assume-role provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsEndpoint {
    /// With `https://` added when the value had no scheme (as Java does).
    pub url: Redacted,
    pub signing_region: Redacted,
}

/// One provider of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialsProvider {
    /// `DefaultCredentialsProvider` (v1: `DefaultAWSCredentialsProviderChain`).
    Default,
    /// `EnvironmentVariableCredentialsProvider`.
    Environment,
    /// `SystemPropertyCredentialsProvider` (v1: `SystemPropertiesCredentialsProvider`): there are no
    /// JVM system properties, so this reads the environment like [`Self::Environment`].
    SystemProperty,
    /// `ProfileCredentialsProvider[|profile]`.
    Profile { profile: Option<Redacted> },
    /// `WebIdentityTokenFileCredentialsProvider` (v1: `WebIdentityTokenCredentialsProvider`).
    WebIdentityTokenFile,
    /// `ContainerCredentialsProvider` (v1 alias `EC2ContainerCredentialsProviderWrapper`).
    Container,
    /// `InstanceProfileCredentialsProvider` (EC2 IMDS).
    InstanceProfile,
    /// `AnonymousCredentialsProvider`: unsigned requests.
    Anonymous,
    /// `StsAssumeRoleCredentialsProvider|roleArn|sessionName[|endpointRegion=r][|endpoint=url^r][|externalId=x]`
    /// and its aliases. Source credentials are the default chain, as in Java.
    StsAssumeRole {
        role_arn: Redacted,
        session_name: Redacted,
        endpoint_region: Option<Redacted>,
        endpoint: Option<StsEndpoint>,
        external_id: Option<Redacted>,
    },
}

impl CredentialsProvider {
    /// The SDK v2 / KCL 3.x name of this provider.
    pub fn name(&self) -> &'static str {
        match self {
            CredentialsProvider::Default => "DefaultCredentialsProvider",
            CredentialsProvider::Environment => "EnvironmentVariableCredentialsProvider",
            CredentialsProvider::SystemProperty => "SystemPropertyCredentialsProvider",
            CredentialsProvider::Profile { .. } => "ProfileCredentialsProvider",
            CredentialsProvider::WebIdentityTokenFile => "WebIdentityTokenFileCredentialsProvider",
            CredentialsProvider::Container => "ContainerCredentialsProvider",
            CredentialsProvider::InstanceProfile => "InstanceProfileCredentialsProvider",
            CredentialsProvider::Anonymous => "AnonymousCredentialsProvider",
            CredentialsProvider::StsAssumeRole { .. } => "KclStsAssumeRoleCredentialsProvider",
        }
    }

    fn has_args(&self) -> bool {
        match self {
            CredentialsProvider::Profile { profile } => profile.is_some(),
            CredentialsProvider::StsAssumeRole { .. } => true,
            _ => false,
        }
    }

    /// `Name` or `Name|<redacted>`: safe to print.
    pub fn redacted(&self) -> String {
        if self.has_args() {
            format!("{}|<redacted>", self.name())
        } else {
            self.name().to_owned()
        }
    }
}

/// Which client a credentials key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialsTarget {
    Kinesis,
    DynamoDb,
    CloudWatch,
}

impl CredentialsTarget {
    /// Canonical key spelling.
    pub fn key(self) -> &'static str {
        match self {
            CredentialsTarget::Kinesis => "AwsCredentialsProvider",
            CredentialsTarget::DynamoDb => "AwsCredentialsProviderDynamoDB",
            CredentialsTarget::CloudWatch => "AwsCredentialsProviderCloudWatch",
        }
    }
}

/// Java's key rule (KCL ≥ 2.7): a key whose lower-cased form starts with
/// `awscredentialsprovider` is a credentials key; the suffix stays case-sensitive.
/// Returns `Some(Ok(target))` for a known suffix, `Some(Err(suffix))` for an unknown one.
pub fn credentials_key(key: &str) -> Option<Result<CredentialsTarget, &str>> {
    const PREFIX: &str = "awscredentialsprovider";
    let head = key.get(..PREFIX.len())?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let suffix = key.get(PREFIX.len()..).unwrap_or("");
    Some(match suffix {
        "" => Ok(CredentialsTarget::Kinesis),
        "DynamoDB" => Ok(CredentialsTarget::DynamoDb),
        "CloudWatch" => Ok(CredentialsTarget::CloudWatch),
        other => Err(other),
    })
}

/// The parsed value of one credentials key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialsSpec {
    /// The key as written (`AWSCredentialsProvider`, …), or the Kinesis key when inherited.
    pub key: String,
    /// Line of the key in the file.
    pub line: Option<usize>,
    /// The chain, in order: the first provider that yields credentials wins.
    pub providers: Vec<CredentialsProvider>,
    /// True for DynamoDB/CloudWatch specs copied from `AwsCredentialsProvider` (no own key).
    pub inherited: bool,
}

impl CredentialsSpec {
    /// `A, B|<redacted>`: provider names only, safe to print.
    pub fn redacted(&self) -> String {
        self.providers
            .iter()
            .map(CredentialsProvider::redacted)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What parsing found, besides the providers. Messages never contain argument values.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Findings {
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
}

/// Known provider names → (kind, SDK v1 alias?). Matched after removing a known package prefix.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Default,
    Environment,
    SystemProperty,
    Profile,
    WebIdentity,
    Container,
    Instance,
    Anonymous,
    Sts,
}

fn lookup(name: &str) -> Option<(Kind, bool)> {
    // Fully qualified names: strip the packages Java searches (and the v1 ones).
    let v2_packages = [
        "software.amazon.awssdk.auth.credentials.",
        "software.amazon.kinesis.multilang.auth.",
        "software.amazon.awssdk.services.sts.auth.",
    ];
    let v1_packages = [
        "com.amazonaws.auth.profile.",
        "com.amazonaws.auth.",
        "com.amazonaws.services.securitytoken.auth.",
    ];
    let mut short = name;
    let mut v1_package = false;
    if let Some(rest) = v2_packages.iter().find_map(|p| name.strip_prefix(p)) {
        short = rest;
    } else if let Some(rest) = v1_packages.iter().find_map(|p| name.strip_prefix(p)) {
        short = rest;
        v1_package = true;
    }
    let (kind, v1_name) = match short {
        "DefaultCredentialsProvider" => (Kind::Default, false),
        "DefaultAWSCredentialsProviderChain" => (Kind::Default, true),
        "EnvironmentVariableCredentialsProvider" => (Kind::Environment, false),
        "SystemPropertyCredentialsProvider" => (Kind::SystemProperty, false),
        "SystemPropertiesCredentialsProvider" => (Kind::SystemProperty, true),
        "ProfileCredentialsProvider" => (Kind::Profile, false),
        "WebIdentityTokenFileCredentialsProvider" => (Kind::WebIdentity, false),
        "WebIdentityTokenCredentialsProvider" => (Kind::WebIdentity, true),
        "ContainerCredentialsProvider" => (Kind::Container, false),
        "EC2ContainerCredentialsProviderWrapper" => (Kind::Container, true),
        "InstanceProfileCredentialsProvider" => (Kind::Instance, false),
        "AnonymousCredentialsProvider" => (Kind::Anonymous, false),
        "StsAssumeRoleCredentialsProvider" | "KclStsAssumeRoleCredentialsProvider" => {
            (Kind::Sts, false)
        }
        "KclSTSAssumeRoleSessionCredentialsProvider"
        | "STSAssumeRoleSessionCredentialsProvider" => (Kind::Sts, true),
        _ => return None,
    };
    Some((kind, v1_name || v1_package))
}

/// The names we accept, for error messages.
pub const SUPPORTED: &str = "DefaultCredentialsProvider, EnvironmentVariableCredentialsProvider, \
SystemPropertyCredentialsProvider, ProfileCredentialsProvider[|profile], \
WebIdentityTokenFileCredentialsProvider, ContainerCredentialsProvider, \
InstanceProfileCredentialsProvider, AnonymousCredentialsProvider, \
StsAssumeRoleCredentialsProvider|roleArn|sessionName[|endpointRegion=…][|endpoint=…][|externalId=…]";

/// Parses a credentials value. Unknown names and malformed STS arguments are errors naming the
/// item (by position and provider name, never by argument).
pub fn parse(value: &str) -> (Vec<CredentialsProvider>, Findings) {
    let mut providers = Vec::new();
    let mut f = Findings::default();
    let items: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        f.errors.push(format!(
            "no credentials provider given; supported: {SUPPORTED}"
        ));
    }
    for (index, item) in items.iter().enumerate() {
        let n = index + 1;
        let mut parts = item.split('|');
        let name = parts.next().unwrap_or("").trim();
        let args: Vec<&str> = parts.collect();
        let Some((kind, v1)) = lookup(name) else {
            f.errors.push(unknown_name_message(n, name));
            continue;
        };
        if v1 {
            f.warnings.push(format!(
                "item {n}: \"{name}\" is an AWS SDK for Java v1 name (KCL 3.x no longer accepts it); \
                 accepted for compatibility as {}",
                canonical(kind)
            ));
        }
        let provider = match kind {
            Kind::Default => CredentialsProvider::Default,
            Kind::Environment => CredentialsProvider::Environment,
            Kind::SystemProperty => {
                f.warnings.push(format!(
                    "item {n}: {name} reads JVM system properties; there is no JVM, so the \
                     environment (AWS_ACCESS_KEY_ID, …) is read instead"
                ));
                CredentialsProvider::SystemProperty
            }
            Kind::Profile => {
                if args.len() > 1 {
                    f.warnings.push(format!(
                        "item {n}: {name} takes at most one argument (the profile name); the \
                         {} extra argument(s) are ignored, as Java's create() fallback would \
                         use the default profile instead",
                        args.len() - 1
                    ));
                    CredentialsProvider::Profile { profile: None }
                } else {
                    CredentialsProvider::Profile {
                        profile: args.first().map(|p| Redacted::new(*p)),
                    }
                }
            }
            Kind::WebIdentity => CredentialsProvider::WebIdentityTokenFile,
            Kind::Container => CredentialsProvider::Container,
            Kind::Instance => CredentialsProvider::InstanceProfile,
            Kind::Anonymous => CredentialsProvider::Anonymous,
            Kind::Sts => match parse_sts(n, name, &args, &mut f) {
                Some(p) => p,
                None => continue,
            },
        };
        if !args.is_empty() && !matches!(kind, Kind::Profile | Kind::Sts) {
            f.warnings.push(format!(
                "item {n}: {name} takes no arguments; {} argument(s) ignored",
                args.len()
            ));
        }
        providers.push(provider);
    }
    (providers, f)
}

fn canonical(kind: Kind) -> &'static str {
    match kind {
        Kind::Default => "DefaultCredentialsProvider",
        Kind::Environment => "EnvironmentVariableCredentialsProvider",
        Kind::SystemProperty => "SystemPropertyCredentialsProvider",
        Kind::Profile => "ProfileCredentialsProvider",
        Kind::WebIdentity => "WebIdentityTokenFileCredentialsProvider",
        Kind::Container => "ContainerCredentialsProvider",
        Kind::Instance => "InstanceProfileCredentialsProvider",
        Kind::Anonymous => "AnonymousCredentialsProvider",
        Kind::Sts => "StsAssumeRoleCredentialsProvider",
    }
}

fn unknown_name_message(n: usize, name: &str) -> String {
    // Provider class names are not secret; print them so the user can find the typo.
    let known_unsupported = [
        "ProcessCredentialsProvider",
        "ClasspathPropertiesFileCredentialsProvider",
        "StaticCredentialsProvider",
        "STSAssumeRoleWithWebIdentitySessionCredentialsProvider",
        "PropertiesFileCredentialsProvider",
    ];
    let short = name.rsplit('.').next().unwrap_or(name);
    if known_unsupported.contains(&short) {
        format!("item {n}: \"{name}\" is a Java credentials provider kcl-bridge does not support; supported: {SUPPORTED}")
    } else if name.is_empty() {
        format!("item {n}: empty provider name; supported: {SUPPORTED}")
    } else {
        format!("item {n}: unknown credentials provider \"{name}\" (custom Java classes cannot be loaded); supported: {SUPPORTED}")
    }
}

/// `roleArn|sessionName[|key=value…]`.
fn parse_sts(n: usize, name: &str, args: &[&str], f: &mut Findings) -> Option<CredentialsProvider> {
    if args.len() < 2 {
        f.errors.push(format!(
            "item {n}: {name} needs two arguments, {name}|<role ARN>|<session name> \
             (Java silently skips it)"
        ));
        return None;
    }
    let (role_arn, session_name) = (args[0], args[1]);
    let mut ok = true;
    if !is_role_arn(role_arn) {
        f.errors.push(format!(
            "item {n}: {name}: argument 1 is not an IAM role ARN \
             (arn:aws:iam::<12-digit account id>:role/<name>)"
        ));
        ok = false;
    }
    if !is_session_name(session_name) {
        f.errors.push(format!(
            "item {n}: {name}: argument 2 is not a valid role session name \
             (2–64 of letters, digits and _+=,.@-)"
        ));
        ok = false;
    }
    let mut endpoint_region = None;
    let mut endpoint = None;
    let mut external_id = None;
    for (i, arg) in args.iter().enumerate().skip(2) {
        let pos = i + 1;
        let parts: Vec<&str> = arg.split('=').collect();
        let [key, val] = parts.as_slice() else {
            if parts.len() > 2 {
                f.warnings.push(format!(
                    "item {n}: {name}: argument {pos} is malformed (more than one '='); ignored, as in Java"
                ));
            } else {
                f.warnings.push(format!(
                    "item {n}: {name}: argument {pos} is not a key=value argument; ignored, as in Java"
                ));
            }
            continue;
        };
        match *key {
            "endpointRegion" => {
                if super::values::check_region(val) == super::values::RegionCheck::Malformed {
                    f.errors.push(format!(
                        "item {n}: {name}: endpointRegion is not a region name (like us-east-1)"
                    ));
                    ok = false;
                }
                endpoint_region = Some(Redacted::new(*val));
            }
            "endpoint" => match val.split_once('^') {
                Some((url, region)) if !url.is_empty() && !region.is_empty() => {
                    let url = if url.contains("://") {
                        (*url).to_owned()
                    } else {
                        format!("https://{url}")
                    };
                    endpoint = Some(StsEndpoint {
                        url: Redacted::new(url),
                        signing_region: Redacted::new(region),
                    });
                }
                _ => {
                    f.errors.push(format!(
                        "item {n}: {name}: endpoint must be <url>^<signing region>"
                    ));
                    ok = false;
                }
            },
            "externalId" => external_id = Some(Redacted::new(*val)),
            other => f.warnings.push(format!(
                "item {n}: {name}: unsupported nested argument \"{other}\"; ignored \
                 (supported: endpointRegion, endpoint, externalId)"
            )),
        }
    }
    ok.then(|| CredentialsProvider::StsAssumeRole {
        role_arn: Redacted::new(role_arn),
        session_name: Redacted::new(session_name),
        endpoint_region,
        endpoint,
        external_id,
    })
}

fn is_role_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", "", account, resource] => {
            partition.starts_with("aws")
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource
                    .strip_prefix("role/")
                    .is_some_and(|r| !r.is_empty())
        }
        _ => false,
    }
}

fn is_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::123456789012:role/reader";

    fn ok(value: &str) -> Vec<CredentialsProvider> {
        let (p, f) = parse(value);
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        p
    }

    #[test]
    fn grammar_list_items_and_trimming() {
        assert_eq!(
            ok(" DefaultCredentialsProvider ,, EnvironmentVariableCredentialsProvider,"),
            vec![
                CredentialsProvider::Default,
                CredentialsProvider::Environment
            ]
        );
        assert_eq!(
            ok("software.amazon.awssdk.auth.credentials.InstanceProfileCredentialsProvider, ContainerCredentialsProvider, AnonymousCredentialsProvider, WebIdentityTokenFileCredentialsProvider"),
            vec![
                CredentialsProvider::InstanceProfile,
                CredentialsProvider::Container,
                CredentialsProvider::Anonymous,
                CredentialsProvider::WebIdentityTokenFile
            ]
        );
        assert_eq!(
            ok("ProfileCredentialsProvider|dev"),
            vec![CredentialsProvider::Profile {
                profile: Some(Redacted::new("dev"))
            }]
        );
        assert_eq!(
            ok("ProfileCredentialsProvider"),
            vec![CredentialsProvider::Profile { profile: None }]
        );
    }

    #[test]
    fn sts_positional_and_nested_args() {
        let p = ok(&format!(
            "KclStsAssumeRoleCredentialsProvider|{ROLE}|sess|endpointRegion=us-west-2|endpoint=sts.example.com^us-west-2|externalId=spartacus"
        ));
        assert_eq!(
            p,
            vec![CredentialsProvider::StsAssumeRole {
                role_arn: Redacted::new(ROLE),
                session_name: Redacted::new("sess"),
                endpoint_region: Some(Redacted::new("us-west-2")),
                endpoint: Some(StsEndpoint {
                    url: Redacted::new("https://sts.example.com"),
                    signing_region: Redacted::new("us-west-2"),
                }),
                external_id: Some(Redacted::new("spartacus")),
            }]
        );
        // StsAssumeRoleCredentialsProvider is replaced by the KCL one, no warning.
        let (p, f) = parse(&format!("StsAssumeRoleCredentialsProvider|{ROLE}|s1"));
        assert!(f.warnings.is_empty() && f.errors.is_empty());
        assert_eq!(p[0].name(), "KclStsAssumeRoleCredentialsProvider");
        // Unknown nested key and malformed args: warnings, values not printed.
        let (p, f) = parse(&format!(
            "KclStsAssumeRoleCredentialsProvider|{ROLE}|sess|durationSeconds=900|externalId=a=b|plain"
        ));
        assert_eq!(p.len(), 1);
        assert_eq!(f.warnings.len(), 3, "{:?}", f.warnings);
        assert!(f
            .warnings
            .iter()
            .all(|w| !w.contains("a=b") && !w.contains("900")));
        assert!(matches!(
            &p[0],
            CredentialsProvider::StsAssumeRole {
                external_id: None,
                ..
            }
        ));
    }

    #[test]
    fn sts_errors_do_not_leak_arguments() {
        for value in [
            "KclStsAssumeRoleCredentialsProvider|arn:aws:iam::123456789012:role/r".to_owned(),
            "KclStsAssumeRoleCredentialsProvider|not-an-arn|sess".to_owned(),
            format!("KclStsAssumeRoleCredentialsProvider|{ROLE}|s"),
            format!("KclStsAssumeRoleCredentialsProvider|{ROLE}|sess|endpointRegion=Nowhere"),
            format!("KclStsAssumeRoleCredentialsProvider|{ROLE}|sess|endpoint=secrethost"),
        ] {
            let (p, f) = parse(&value);
            assert!(p.is_empty(), "{value}");
            assert_eq!(f.errors.len(), 1, "{value}: {:?}", f.errors);
            assert!(f.errors[0].starts_with("item 1: KclStsAssumeRoleCredentialsProvider"));
            for secret in ["123456789012", "not-an-arn", "Nowhere", "secrethost", "|s"] {
                assert!(!f.errors[0].contains(secret), "{}", f.errors[0]);
            }
        }
    }

    #[test]
    fn sdk_v1_aliases_are_accepted_with_a_warning() {
        for (v1, want) in [
            (
                "DefaultAWSCredentialsProviderChain",
                CredentialsProvider::Default,
            ),
            (
                "SystemPropertiesCredentialsProvider",
                CredentialsProvider::SystemProperty,
            ),
            (
                "WebIdentityTokenCredentialsProvider",
                CredentialsProvider::WebIdentityTokenFile,
            ),
            (
                "EC2ContainerCredentialsProviderWrapper",
                CredentialsProvider::Container,
            ),
            (
                "com.amazonaws.auth.InstanceProfileCredentialsProvider",
                CredentialsProvider::InstanceProfile,
            ),
            (
                "com.amazonaws.auth.profile.ProfileCredentialsProvider|p",
                CredentialsProvider::Profile {
                    profile: Some(Redacted::new("p")),
                },
            ),
        ] {
            let (p, f) = parse(v1);
            assert_eq!(p, vec![want], "{v1}");
            assert!(f.errors.is_empty());
            assert!(
                f.warnings.iter().any(|w| w.contains("SDK for Java v1")),
                "{v1}: {:?}",
                f.warnings
            );
        }
        let (p, f) = parse(&format!(
            "STSAssumeRoleSessionCredentialsProvider|{ROLE}|sess"
        ));
        assert_eq!(p[0].name(), "KclStsAssumeRoleCredentialsProvider");
        assert!(f.warnings[0].contains("v1"));
        let (p, _) = parse(&format!(
            "KclSTSAssumeRoleSessionCredentialsProvider|{ROLE}|sess|externalId=x"
        ));
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn unknown_names_are_errors_naming_the_item() {
        let (p, f) = parse(
            "DefaultCredentialsProvider, com.example.MyProvider, ProcessCredentialsProvider|cmd",
        );
        assert_eq!(p, vec![CredentialsProvider::Default]);
        assert_eq!(f.errors.len(), 2);
        assert!(f.errors[0]
            .starts_with("item 2: unknown credentials provider \"com.example.MyProvider\""));
        assert!(f.errors[1]
            .starts_with("item 3: \"ProcessCredentialsProvider\" is a Java credentials provider"));
        assert!(!f.errors[1].contains("cmd"));
        let (p, f) = parse(" , ");
        assert!(p.is_empty());
        assert_eq!(f.errors.len(), 1);
        // Case matters for class names.
        assert_eq!(parse("defaultcredentialsprovider").1.errors.len(), 1);
    }

    #[test]
    fn redaction() {
        let p = ok(&format!(
            "KclStsAssumeRoleCredentialsProvider|{ROLE}|sess-xyz|externalId=spartacus, ProfileCredentialsProvider|devprofile, DefaultCredentialsProvider"
        ));
        let spec = CredentialsSpec {
            key: "AwsCredentialsProvider".into(),
            line: Some(1),
            providers: p,
            inherited: false,
        };
        assert_eq!(
            spec.redacted(),
            "KclStsAssumeRoleCredentialsProvider|<redacted>, ProfileCredentialsProvider|<redacted>, DefaultCredentialsProvider"
        );
        let debug = format!("{spec:?}");
        for secret in ["spartacus", "123456789012", "sess-xyz", "devprofile"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }

    #[test]
    fn credentials_key_rule() {
        use CredentialsTarget::*;
        assert_eq!(credentials_key("AwsCredentialsProvider"), Some(Ok(Kinesis)));
        assert_eq!(credentials_key("AWSCredentialsProvider"), Some(Ok(Kinesis)));
        assert_eq!(credentials_key("awscredentialsprovider"), Some(Ok(Kinesis)));
        assert_eq!(
            credentials_key("AWSCredentialsProviderDynamoDB"),
            Some(Ok(DynamoDb))
        );
        assert_eq!(
            credentials_key("awsCredentialsProviderCloudWatch"),
            Some(Ok(CloudWatch))
        );
        assert_eq!(
            credentials_key("AwsCredentialsProviderDynamoDb"),
            Some(Err("DynamoDb"))
        );
        assert_eq!(credentials_key("regionName"), None);
        assert_eq!(credentials_key("Aws"), None);
        assert_eq!(credentials_key("éééééééééééééééééééééééééé"), None);
    }
}
