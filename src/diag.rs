//! Diagnostics: a location plus a kind, and every word the user reads about a bad lab.
//!
//! Validation code builds [`DiagnosticKind`] values and never formats text; this module owns all
//! the wording (message, help, code, severity) in one `match` each, and the two printers (human
//! with a caret under the offending value, and JSON for editors and CI). Keeping wording here
//! makes it reviewable in one place and keeps the snapshots of every rule consistent.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::lab::source::{FieldPath, FileKind, Position, ReadError, SourceFile, SpanIndex};

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The lab is rejected.
    Error,
    /// The lab is accepted; the user should know.
    Warning,
}

/// What is wrong. Every variant's wording lives in [`DiagnosticKind::message`] and
/// [`DiagnosticKind::help`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum DiagnosticKind {
    // --- reading and parsing ---
    FileNotFound,
    FileIsDirectory,
    FileTooLarge {
        bytes: u64,
        limit: u64,
    },
    FileNotUtf8 {
        offset: usize,
    },
    FileUnreadable {
        reason: String,
    },
    FileNotRegular {
        kind: crate::lab::source::FileKind,
    },
    YamlSyntax {
        reason: String,
    },
    YamlNotMapping,
    YamlNonStringKey,
    YamlUnsupportedValue {
        reason: String,
    },
    // --- structure (from the JSON Schema) ---
    UnknownKey {
        key: String,
        parent: String,
        allowed: Vec<String>,
        suggestion: Option<String>,
    },
    MissingKey {
        key: String,
    },
    WrongType {
        expected: String,
        found: String,
    },
    UnknownValue {
        value: String,
        allowed: Vec<String>,
        suggestion: Option<String>,
    },
    PasswordInLab,
    Structure {
        reason: String,
    },
    // --- semantic rules ---
    VersionUnsupported {
        found: u64,
    },
    LabNameInvalid {
        value: String,
    },
    ToolNameInvalid {
        value: String,
    },
    ToolNameDuplicate {
        value: String,
    },
    ToolDirInvalid {
        value: String,
        reason: &'static str,
    },
    ToolDirDuplicate {
        value: String,
    },
    ToolsDirInvalid {
        value: String,
    },
    ToolOptionNotForKind {
        option: &'static str,
        kind: &'static str,
    },
    RegionUnknown {
        value: String,
        suggestion: Option<String>,
    },
    ResourceGroupInvalid {
        value: String,
        reason: &'static str,
    },
    VmNameInvalid {
        value: String,
        reason: &'static str,
    },
    ComputerNameInvalid {
        value: String,
        reason: &'static str,
        from_vm_name: bool,
    },
    VmSizeInvalid {
        value: String,
    },
    VmSizeUnknown {
        value: String,
        suggestion: Option<String>,
    },
    VmSizeNoGen2 {
        value: String,
    },
    VmSizeNoNestedVirtualization {
        value: String,
    },
    ImageFieldInvalid {
        field: &'static str,
        value: String,
    },
    ImageVersionInvalid {
        value: String,
    },
    ImageVersionLatest,
    ImageNotGen2 {
        sku: String,
    },
    // --- the baked image (issue 15) ---
    BakedImageIdInvalid {
        value: String,
    },
    BakedImageKindMismatch {
        kind: &'static str,
        id_kind: &'static str,
    },
    BakedImageManagedTrustedLaunch {
        from_id: bool,
    },
    BakedImageGen1,
    OsDiskTooSmall {
        value: u64,
        minimum: u64,
    },
    OsDiskTooLarge {
        value: u64,
    },
    AdminUsernameInvalid {
        value: String,
        reason: &'static str,
    },
    AdminUsernameReserved {
        value: String,
    },
    ShutdownTimeInvalid {
        value: String,
    },
    TimeZoneUnknown {
        value: String,
        suggestion: Option<String>,
    },
    EmailInvalid {
        value: String,
    },
    CidrInvalid {
        value: String,
        reason: &'static str,
    },
    CidrHostBits {
        value: String,
        network: String,
    },
    AllowFromStarMixed,
    AllowFromAny {
        ports: Vec<String>,
    },
    InboundPortDuplicate {
        value: String,
    },
    NoInboundPorts,
    UrlNotHttps {
        value: String,
    },
    UrlInvalid {
        value: String,
        reason: &'static str,
    },
    Sha256Invalid {
        value: String,
    },
    Sha256MovingUrl {
        url: String,
        why: &'static str,
    },
    FeatureNameInvalid {
        value: String,
    },
    FeatureDuplicate {
        value: String,
    },
    DockerNeedsContainers,
    DockerVersionInvalid {
        value: String,
    },
    ImageRefInvalid {
        value: String,
    },
    TagInvalid {
        key: String,
        reason: &'static str,
    },
    TooManyTags {
        count: usize,
    },
    TextTooLong {
        limit: usize,
    },
    TextControlCharacter,
    TextNotNfc {
        nfc: String,
    },
    TextBidiControl,
    // --- size limits, secrets and what Azure would refuse late (one block: issue 14) ---
    UrlSecretQuery {
        /// The URL with every credential value replaced by `***`.
        value: String,
        parameters: Vec<String>,
    },
    UserDataTooLarge {
        bytes: usize,
        limit: usize,
    },
    CidrDuplicate {
        value: String,
        other: String,
    },
    CidrOverlap {
        value: String,
        other: String,
    },
    TagNameCaseDuplicate {
        key: String,
        other: String,
    },
    TagNameSecret {
        key: String,
    },
    NameStartsWithHyphen {
        field: &'static str,
        value: String,
    },
    ToolFolderForbidden {
        value: String,
        reason: &'static str,
    },
    AdminUsernameBuiltIn {
        value: String,
    },
    // --- the price file of `render --prices` ---
    PricesFileUnreadable {
        reason: String,
    },
    PricesNotJson {
        reason: String,
    },
    PricesNotRetailPrices {
        reason: String,
    },
    PricesNoMatch {
        size: String,
        region: String,
        /// (size, region) of the Windows pay-as-you-go prices the file does have.
        available: Vec<(String, String)>,
        more_pages: bool,
    },
    PricesAmbiguous {
        first: usize,
        second: usize,
        /// The two differ in currency (else in price).
        currencies: bool,
        size: String,
        region: String,
    },
    PricesFieldInvalid {
        field: PriceField,
        value: String,
    },
    PricesFieldMissing {
        field: PriceField,
        item: usize,
    },
    // --- a class (issue 16) ---
    ClassSizeOutOfRange {
        size: u64,
        max: u64,
    },
    ClassStudentIdInvalid {
        value: String,
        max: usize,
    },
    ClassStudentDuplicate {
        value: String,
    },
    ClassNameTooLong {
        name: String,
        what: &'static str,
        limit: usize,
    },
    AccessJitRefused,
    AccessBastionSources,
    AccessBastionPort {
        port: &'static str,
    },
    AccessBastionDeveloperClass,
    AccessBastionDeveloperRegion {
        region: String,
    },
}

/// A finding about a lab file: what, where, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong.
    pub kind: DiagnosticKind,
    /// The field it is about (the document root when none).
    pub path: FieldPath,
    /// A position known without the span index (YAML syntax errors).
    pub position: Option<Position>,
    /// Whether the caret should point at the key rather than the value.
    pub at_key: bool,
}

impl Diagnostic {
    /// A diagnostic about the value at `path`.
    #[must_use]
    pub fn at(path: FieldPath, kind: DiagnosticKind) -> Self {
        Self {
            kind,
            path,
            position: None,
            at_key: false,
        }
    }

    /// A diagnostic about the key at `path` (unknown keys).
    #[must_use]
    pub fn at_key(path: FieldPath, kind: DiagnosticKind) -> Self {
        Self {
            kind,
            path,
            position: None,
            at_key: true,
        }
    }

    /// A diagnostic about the whole file.
    #[must_use]
    pub fn file(kind: DiagnosticKind) -> Self {
        Self {
            kind,
            path: FieldPath::root(),
            position: None,
            at_key: false,
        }
    }

    /// A diagnostic at a known position.
    #[must_use]
    pub fn positioned(kind: DiagnosticKind, position: Option<Position>) -> Self {
        Self {
            kind,
            path: FieldPath::root(),
            position,
            at_key: false,
        }
    }

    /// Severity of this diagnostic.
    #[must_use]
    pub fn severity(&self) -> Severity {
        self.kind.severity()
    }
}

/// The fields of a price item that the estimate reads (defined here, with their wording, so
/// that diagnostics depend on nothing above them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriceField {
    /// `retailPrice`: a positive number.
    RetailPrice,
    /// `currencyCode`: three capital letters.
    CurrencyCode,
    /// `effectiveStartDate`: an ISO 8601 date or date-time.
    EffectiveStartDate,
}

impl PriceField {
    /// The field's name in the answer.
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::RetailPrice => "retailPrice",
            Self::CurrencyCode => "currencyCode",
            Self::EffectiveStartDate => "effectiveStartDate",
        }
    }
}

/// The command that saves a lab's price list (as the generated README gives it).
fn fetch_prices_command(size: &str, region: &str) -> String {
    format!(
        "`curl -sS -o prices.json '{}'`",
        crate::lab::facts::price_list_url(size, region)
    )
}

fn price_field_expectation(field: PriceField) -> &'static str {
    use PriceField as F;
    match field {
        F::RetailPrice => "a positive number of at most 1000000 (per hour)",
        F::CurrencyCode => "a three-letter currency code such as `USD`",
        F::EffectiveStartDate => "a date such as `2024-01-01T00:00:00Z`",
    }
}

/// Why the price file of `render --prices` cannot be read.
#[must_use]
pub fn prices_read_error(error: &crate::lab::source::ReadError) -> Diagnostic {
    use crate::lab::source::ReadError as E;
    let reason = match error {
        E::NotFound => "no such file".to_string(),
        E::IsDirectory => "it is a directory".to_string(),
        E::TooLarge(bytes) => format!(
            "it has {bytes} bytes, more than the {} a filtered price list needs",
            crate::lab::source::MAX_LAB_BYTES
        ),
        E::NotUtf8(offset) => format!("it is not UTF-8 text (byte {offset})"),
        E::NotRegular(kind) => format!("it is {}, not a regular file", file_kind(*kind)),
        E::Io(e) => e.kind().to_string(),
    };
    Diagnostic::file(DiagnosticKind::PricesFileUnreadable { reason })
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn did_you_mean(suggestion: Option<&String>) -> String {
    suggestion.map_or_else(String::new, |s| format!("did you mean `{s}`? "))
}

impl DiagnosticKind {
    /// Stable machine-readable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        use DiagnosticKind as K;
        match self {
            K::FileNotFound => "file-not-found",
            K::FileIsDirectory => "file-is-directory",
            K::FileTooLarge { .. } => "file-too-large",
            K::FileNotUtf8 { .. } => "file-not-utf8",
            K::FileUnreadable { .. } => "file-unreadable",
            K::FileNotRegular { .. } => "file-not-regular",
            K::YamlSyntax { .. } => "yaml-syntax",
            K::YamlNotMapping => "yaml-not-mapping",
            K::YamlNonStringKey => "yaml-non-string-key",
            K::YamlUnsupportedValue { .. } => "yaml-unsupported-value",
            K::UnknownKey { .. } => "unknown-key",
            K::MissingKey { .. } => "missing-key",
            K::WrongType { .. } => "wrong-type",
            K::UnknownValue { .. } => "unknown-value",
            K::PasswordInLab => "password-in-lab",
            K::Structure { .. } => "structure",
            K::VersionUnsupported { .. } => "version-unsupported",
            K::LabNameInvalid { .. } => "lab-name-invalid",
            K::ToolNameInvalid { .. } => "tool-name-invalid",
            K::ToolNameDuplicate { .. } => "tool-name-duplicate",
            K::ToolDirInvalid { .. } => "tool-dir-invalid",
            K::ToolDirDuplicate { .. } => "tool-dir-duplicate",
            K::ToolsDirInvalid { .. } => "tools-dir-invalid",
            K::ToolOptionNotForKind { .. } => "tool-option-not-for-kind",
            K::RegionUnknown { .. } => "region-unknown",
            K::ResourceGroupInvalid { .. } => "resource-group-invalid",
            K::VmNameInvalid { .. } => "vm-name-invalid",
            K::ComputerNameInvalid { .. } => "computer-name-invalid",
            K::VmSizeInvalid { .. } => "vm-size-invalid",
            K::VmSizeUnknown { .. } => "vm-size-unknown",
            K::VmSizeNoGen2 { .. } => "vm-size-no-gen2",
            K::VmSizeNoNestedVirtualization { .. } => "vm-size-no-nested-virtualization",
            K::ImageFieldInvalid { .. } => "image-field-invalid",
            K::ImageVersionInvalid { .. } => "image-version-invalid",
            K::ImageVersionLatest => "image-version-latest",
            K::ImageNotGen2 { .. } => "image-not-gen2",
            K::BakedImageIdInvalid { .. } => "baked-image-id-invalid",
            K::BakedImageKindMismatch { .. } => "baked-image-kind-mismatch",
            K::BakedImageManagedTrustedLaunch { .. } => "baked-image-managed-trusted-launch",
            K::BakedImageGen1 => "baked-image-gen1",
            K::OsDiskTooSmall { .. } => "os-disk-too-small",
            K::OsDiskTooLarge { .. } => "os-disk-too-large",
            K::AdminUsernameInvalid { .. } => "admin-username-invalid",
            K::AdminUsernameReserved { .. } => "admin-username-reserved",
            K::ShutdownTimeInvalid { .. } => "shutdown-time-invalid",
            K::TimeZoneUnknown { .. } => "time-zone-unknown",
            K::EmailInvalid { .. } => "email-invalid",
            K::CidrInvalid { .. } => "cidr-invalid",
            K::CidrHostBits { .. } => "cidr-host-bits",
            K::AllowFromStarMixed => "allow-from-star-mixed",
            K::AllowFromAny { .. } => "allow-from-any",
            K::InboundPortDuplicate { .. } => "inbound-port-duplicate",
            K::NoInboundPorts => "no-inbound-ports",
            K::UrlNotHttps { .. } => "url-not-https",
            K::UrlInvalid { .. } => "url-invalid",
            K::Sha256Invalid { .. } => "sha256-invalid",
            K::Sha256MovingUrl { .. } => "sha256-moving-url",
            K::FeatureNameInvalid { .. } => "feature-name-invalid",
            K::FeatureDuplicate { .. } => "feature-duplicate",
            K::DockerNeedsContainers => "docker-needs-containers",
            K::DockerVersionInvalid { .. } => "docker-version-invalid",
            K::ImageRefInvalid { .. } => "image-ref-invalid",
            K::TagInvalid { .. } => "tag-invalid",
            K::TooManyTags { .. } => "too-many-tags",
            K::TextTooLong { .. } => "text-too-long",
            K::TextControlCharacter => "text-control-character",
            K::TextNotNfc { .. } => "text-not-nfc",
            K::TextBidiControl => "text-bidi-control",
            K::UrlSecretQuery { .. } => "url-secret-query",
            K::UserDataTooLarge { .. } => "user-data-too-large",
            K::CidrDuplicate { .. } => "cidr-duplicate",
            K::CidrOverlap { .. } => "cidr-overlap",
            K::TagNameCaseDuplicate { .. } => "tag-name-case-duplicate",
            K::TagNameSecret { .. } => "tag-name-secret",
            K::NameStartsWithHyphen { .. } => "name-starts-with-hyphen",
            K::ToolFolderForbidden { .. } => "tool-folder-forbidden",
            K::AdminUsernameBuiltIn { .. } => "admin-username-built-in",
            K::PricesFileUnreadable { .. } => "prices-file-unreadable",
            K::PricesNotJson { .. } => "prices-not-json",
            K::PricesNotRetailPrices { .. } => "prices-not-retail-prices",
            K::PricesNoMatch { .. } => "prices-no-match",
            K::PricesAmbiguous { .. } => "prices-ambiguous",
            K::PricesFieldInvalid { .. } => "prices-field-invalid",
            K::PricesFieldMissing { .. } => "prices-field-missing",
            // a class (issue 16)
            K::ClassSizeOutOfRange { .. } => "class-size-out-of-range",
            K::ClassStudentIdInvalid { .. } => "class-student-id-invalid",
            K::ClassStudentDuplicate { .. } => "class-student-duplicate",
            K::ClassNameTooLong { .. } => "class-name-too-long",
            K::AccessJitRefused => "access-jit-refused",
            K::AccessBastionSources => "access-bastion-sources",
            K::AccessBastionPort { .. } => "access-bastion-port",
            K::AccessBastionDeveloperClass => "access-bastion-developer-class",
            K::AccessBastionDeveloperRegion { .. } => "access-bastion-developer-region",
        }
    }

    /// Error or warning.
    #[must_use]
    pub fn severity(&self) -> Severity {
        use DiagnosticKind as K;
        match self {
            K::ImageVersionLatest
            | K::VmSizeUnknown { .. }
            | K::AllowFromAny { .. }
            | K::CidrOverlap { .. }
            | K::NoInboundPorts
            | K::AccessBastionDeveloperRegion { .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// What is wrong, in one line.
    #[must_use]
    #[allow(clippy::too_many_lines)]
    pub fn message(&self) -> String {
        use DiagnosticKind as K;
        match self {
            K::FileNotFound => "lab file not found".into(),
            K::FileIsDirectory => "the lab path is a directory, not a file".into(),
            K::FileTooLarge { bytes, limit } => {
                format!("lab file is {bytes} bytes; labs larger than {limit} bytes are refused")
            }
            K::FileNotUtf8 { offset } => {
                format!("lab file is not UTF-8 text (first bad byte at offset {offset})")
            }
            K::FileUnreadable { reason } => format!("cannot read the lab file: {reason}"),
            K::FileNotRegular { kind } => {
                format!("the lab path is {}, not a regular file", file_kind(*kind))
            }
            K::YamlSyntax { reason } => format!("invalid YAML: {reason}"),
            K::YamlNotMapping => "the lab must be a YAML mapping (key: value pairs)".into(),
            K::YamlNonStringKey => "mapping keys must be strings".into(),
            K::YamlUnsupportedValue { reason } => format!("unsupported YAML value: {reason}"),
            K::UnknownKey { key, parent, .. } => format!("unknown key `{key}` in {parent}"),
            K::MissingKey { key } => format!("missing required key `{key}`"),
            K::WrongType { expected, found } => format!("expected {expected}, found {found}"),
            K::UnknownValue { value, .. } => format!("`{value}` is not an accepted value"),
            K::PasswordInLab => "a lab file must not contain a password".into(),
            K::Structure { reason } => reason.clone(),
            K::VersionUnsupported { found } => {
                format!("lab format version {found} is not supported")
            }
            K::LabNameInvalid { value } => format!("lab name `{value}` is not a valid name"),
            K::ToolNameInvalid { value } => format!("tool name `{value}` is not a valid name"),
            K::ToolNameDuplicate { value } => format!("tool name `{value}` is used more than once"),
            K::ToolDirInvalid { value, reason } => format!("tool folder `{value}` {reason}"),
            K::ToolDirDuplicate { value } => {
                format!("tool folder `{value}` is used by more than one tool")
            }
            K::ToolsDirInvalid { value } => format!("`{value}` is not an absolute Windows folder"),
            K::ToolOptionNotForKind { option, kind } => {
                format!("`{option}` does not apply to a tool of kind `{kind}`")
            }
            K::RegionUnknown { value, .. } => format!("`{value}` is not an Azure region name"),
            K::ResourceGroupInvalid { value, reason } => {
                format!("resource group name `{value}` {reason}")
            }
            K::VmNameInvalid { value, reason } => format!("VM name `{value}` {reason}"),
            K::ComputerNameInvalid {
                value,
                reason,
                from_vm_name: true,
            } => {
                format!("VM name `{value}` cannot be the Windows computer name: it {reason}")
            }
            K::ComputerNameInvalid {
                value,
                reason,
                from_vm_name: false,
            } => {
                format!("computer name `{value}` {reason}")
            }
            K::VmSizeInvalid { value } => format!("`{value}` is not an Azure VM size name"),
            K::VmSizeUnknown { value, .. } => {
                format!("VM size `{value}` is not in wcigen's size table; its Gen2 and nested-virtualization support is unchecked")
            }
            K::VmSizeNoGen2 { value } => {
                format!("VM size `{value}` does not support Generation 2 images")
            }
            K::VmSizeNoNestedVirtualization { value } => {
                format!("VM size `{value}` does not support nested virtualization, which the `Hyper-V` feature needs")
            }
            K::ImageFieldInvalid { field, value } => {
                format!("image {field} `{value}` is not a valid marketplace name")
            }
            K::ImageVersionInvalid { value } => {
                format!("image version `{value}` is neither `latest` nor MAJOR.MINOR.PATCH")
            }
            K::ImageVersionLatest => "image version `latest` makes the lab not reproducible".into(),
            K::ImageNotGen2 { sku } => format!(
                "image SKU `{sku}` is a Generation 1 image; Trusted Launch needs Generation 2"
            ),
            K::BakedImageIdInvalid { value } => format!(
                "`{value}` is neither a gallery image version id nor a managed image id"
            ),
            K::BakedImageKindMismatch { kind, id_kind } => {
                format!("the baked image is said to be a {kind}, but its id names a {id_kind}")
            }
            K::BakedImageManagedTrustedLaunch { from_id } => format!(
                "a Trusted Launch VM cannot start from a managed image{}: Azure supports Trusted Launch only for gallery images",
                if *from_id { " (the id names one)" } else { "" }
            ),
            K::BakedImageGen1 => {
                "a Generation 1 image cannot boot the lab VM, which is Generation 2".into()
            }
            K::OsDiskTooSmall { value, minimum } => {
                format!("OS disk of {value} GiB is smaller than the image ({minimum} GiB)")
            }
            K::OsDiskTooLarge { value } => {
                format!("OS disk of {value} GiB exceeds Azure's 4095 GiB limit for OS disks")
            }
            K::AdminUsernameInvalid { value, reason } => {
                format!("admin username `{value}` {reason}")
            }
            K::AdminUsernameReserved { value } => {
                format!("admin username `{value}` is reserved by Azure")
            }
            K::ShutdownTimeInvalid { value } => format!("`{value}` is not a time of day as HH:MM"),
            K::TimeZoneUnknown { value, .. } => format!("`{value}` is not a Windows time zone id"),
            K::EmailInvalid { value } => format!("`{value}` is not an e-mail address"),
            K::CidrInvalid { value, reason } => {
                format!("`{value}` is not an IP address or CIDR: {reason}")
            }
            K::CidrHostBits { value, .. } => format!("CIDR `{value}` has host bits set"),
            K::AllowFromStarMixed => {
                "`*` (any source) is listed together with other sources".into()
            }
            K::AllowFromAny { ports } => {
                format!(
                    "inbound ports {} are open to any source address on the internet",
                    list(ports)
                )
            }
            K::InboundPortDuplicate { value } => {
                format!("inbound port `{value}` is listed more than once")
            }
            K::NoInboundPorts => {
                "no inbound ports: the VM will not be reachable from outside Azure".into()
            }
            K::UrlNotHttps { value } => format!("`{value}` is not an https:// URL"),
            K::UrlInvalid { value, reason } => format!("`{value}` is not a valid URL: {reason}"),
            K::Sha256Invalid { value } => format!("`{value}` is not a SHA-256 digest"),
            K::Sha256MovingUrl { url, why } => format!(
                "a SHA-256 is pinned for `{url}`, {why}: every deployment fails once it changes"
            ),
            K::FeatureNameInvalid { value } => format!("`{value}` is not a Windows feature name"),
            K::FeatureDuplicate { value } => {
                format!("Windows feature `{value}` is listed more than once")
            }
            K::DockerNeedsContainers => {
                "Docker is enabled but the `Containers` feature is not in `windowsFeatures`".into()
            }
            K::DockerVersionInvalid { value } => {
                format!("Docker version `{value}` is not MAJOR.MINOR.PATCH")
            }
            K::ImageRefInvalid { value } => format!("`{value}` is not a container image reference"),
            K::TagInvalid { key, reason } => format!("tag `{key}` {reason}"),
            K::TooManyTags { count } => {
                format!("{count} tags given; Azure allows at most 50 per resource")
            }
            K::TextTooLong { limit } => format!("text is longer than {limit} characters"),
            K::TextControlCharacter => "text contains a control character".into(),
            K::TextNotNfc { .. } => "text is not in Unicode normal form C: Terraform and Packer would change it, so the targets would disagree".into(),
            K::TextBidiControl => "text contains a bidirectional control character, so what is displayed differs from what runs".into(),
            K::UrlSecretQuery { value, parameters } => format!(
                "`{value}` carries a credential in {} {}: it would be written into the VM's userData, the script on the VM and its log",
                if parameters.len() == 1 { "parameter" } else { "parameters" },
                list(parameters)
            ),
            K::UserDataTooLarge { bytes, limit } => format!(
                "the provisioning script as the VM's userData (gzip, base64) is {bytes} bytes; Azure accepts at most {limit}"
            ),
            K::CidrDuplicate { value, other } if value == other => {
                format!("source `{value}` is listed more than once")
            }
            K::CidrDuplicate { value, other } => {
                format!("source `{value}` is the same range as `{other}`, listed before it")
            }
            K::CidrOverlap { value, other } => {
                format!("source `{value}` overlaps `{other}`, listed before it")
            }
            K::TagNameCaseDuplicate { key, other } => format!(
                "tag `{key}` differs from tag `{other}` only in case; Azure tag names ignore case, so one would replace the other"
            ),
            K::TagNameSecret { key } => format!(
                "tag `{key}` names a secret; tags are readable by everyone who can read the resources"
            ),
            K::NameStartsWithHyphen { field, value } => format!(
                "{field} `{value}` starts with `-`, so a command line would read it as an option"
            ),
            K::ToolFolderForbidden { value, reason } => format!("tool folder `{value}` is {reason}"),
            K::AdminUsernameBuiltIn { value } => format!(
                "admin username `{value}` is a built-in account of Windows Server; Azure cannot create it"
            ),
            K::PricesFileUnreadable { reason } => format!("cannot read the price file: {reason}"),
            K::PricesNotJson { reason } => format!("the price file is not JSON: {reason}"),
            K::PricesNotRetailPrices { reason } => {
                format!("the price file is not an answer of the Azure Retail Prices API: {reason}")
            }
            K::PricesNoMatch { size, region, .. } => format!(
                "the price file has no Windows pay-as-you-go hourly price for `{size}` in `{region}`"
            ),
            K::PricesAmbiguous { first, second, currencies, .. } => format!(
                "`Items[{first}]` and `Items[{second}]` are the lab's VM price from the same date, in {}",
                if *currencies { "two currencies" } else { "two amounts" }
            ),
            K::PricesFieldInvalid { field, value } => format!(
                "`{}` of the lab's price is `{value}`, not {}",
                field.key(),
                price_field_expectation(*field)
            ),
            K::PricesFieldMissing { field, item } => format!(
                "`Items[{item}]`, the lab's price, has no `{}`",
                field.key()
            ),
            // a class (issue 16)
            K::ClassSizeOutOfRange { size, max } => {
                format!("a class of {size} students; a class has 1 to {max}")
            }
            K::ClassStudentIdInvalid { value, max } => format!(
                "student id `{value}` is not lowercase letters, digits and inner hyphens, at most {max} characters"
            ),
            K::ClassStudentDuplicate { value } => {
                format!("student id `{value}` is listed more than once")
            }
            K::ClassNameTooLong { name, what, limit } => format!(
                "the longest derived {what}, `{name}`, is longer than {limit} characters"
            ),
            K::AccessJitRefused => "wcigen does not render just-in-time access: it needs Microsoft Defender for Servers Plan 2 on the subscription, keeps the VM's public IP, and has no Terraform azurerm resource".into(),
            K::AccessBastionSources => "`allowFrom` has no effect with Bastion: the VM has no public IP, and Bastion reaches it from inside the network".into(),
            K::AccessBastionPort { port } => format!("Bastion Basic and Developer connect over RDP and SSH only, not `{port}`"),
            K::AccessBastionDeveloperClass => "the Bastion Developer SKU serves one connection at a time: a class cannot share it".into(),
            K::AccessBastionDeveloperRegion { region } => format!("`{region}` is not in Microsoft's published list of Bastion Developer regions; the deployment fails if the region lacks it"),
        }
    }

    /// How to fix it.
    #[must_use]
    #[allow(clippy::too_many_lines)]
    pub fn help(&self) -> Option<String> {
        use DiagnosticKind as K;
        let text: String = match self {
            K::FileNotFound => "check the path; `wcigen init lab.yaml` writes an example lab".into(),
            K::FileIsDirectory => "pass the lab's YAML file, e.g. `examples/lab.yaml`".into(),
            K::FileTooLarge { .. } => "a lab file is a few kilobytes; pass the lab's YAML file".into(),
            K::FileNotUtf8 { .. } => "save the file as UTF-8".into(),
            K::FileUnreadable { .. } => "check the file's permissions".into(),
            K::FileNotRegular { .. } => "save the lab as a regular file and pass its path (wcigen reads no pipe, device or socket)".into(),
            K::YamlSyntax { .. } => "fix the YAML at this position (indent with spaces, not tabs; quote values containing `: ` or `#`)".into(),
            K::YamlNotMapping => "start from `wcigen init`, which writes a complete example".into(),
            K::YamlNonStringKey => "write the key as a string".into(),
            K::YamlUnsupportedValue { .. } => "write a plain string, number, boolean, list or mapping".into(),
            K::UnknownKey { allowed, suggestion, .. } => {
                format!("{}valid keys here are {}", did_you_mean(suggestion.as_ref()), list(allowed))
            }
            K::MissingKey { key } => format!("add `{key}:`; `wcigen schema` describes every key"),
            K::WrongType { expected, .. } => format!("write {expected} here"),
            K::UnknownValue { allowed, suggestion, .. } => {
                format!("{}accepted values are {}", did_you_mean(suggestion.as_ref()), list(allowed))
            }
            K::PasswordInLab => "remove it: the admin password is supplied at deploy time and never written to a file: \
                Bicep/ARM `--parameters adminPassword=...` (secure parameter; the portal asks for it), \
                Terraform `TF_VAR_admin_password` (sensitive variable), Packer generates its own build password"
                .into(),
            K::Structure { .. } => "`wcigen schema` describes the lab format".into(),
            K::VersionUnsupported { .. } => "write `version: 1`".into(),
            K::LabNameInvalid { .. } | K::ToolNameInvalid { .. } => {
                "use a lowercase letter, then up to 23 lowercase letters, digits, `_` or `-` (pattern ^[a-z][a-z0-9_-]{0,23}$)".into()
            }
            K::ToolNameDuplicate { .. } => "give each tool a unique name".into(),
            K::ToolDirInvalid { .. } => "use one folder name without `\\ / : * ? \" < > |`, not `.`/`..`, not a reserved device name, not ending in a space or dot".into(),
            K::ToolDirDuplicate { .. } => "give each tool its own `dir`".into(),
            K::ToolsDirInvalid { .. } => "write a drive-rooted folder such as 'C:\\bin' (single quotes keep the backslash)".into(),
            K::ToolOptionNotForKind { .. } => "remove the option, or use kind `zip`".into(),
            K::RegionUnknown { suggestion, .. } => {
                format!("{}use a region name such as `eastus`, `westeurope` (`az account list-locations -o table`)", did_you_mean(suggestion.as_ref()))
            }
            K::ResourceGroupInvalid { .. } => "use 1-90 ASCII letters, digits, `_`, `-`, `.`, `(`, `)`, not ending with `.`".into(),
            K::VmNameInvalid { .. } => "use 1-64 letters, digits and hyphens, starting with a letter or digit and not ending with a hyphen".into(),
            K::ComputerNameInvalid { from_vm_name: true, .. } => {
                "set `vm.computerName` to at most 15 letters, digits or hyphens (not all digits, not ending with a hyphen); wcigen never truncates names".into()
            }
            K::ComputerNameInvalid { from_vm_name: false, .. } => {
                "use at most 15 letters, digits or hyphens, not all digits, not ending with a hyphen".into()
            }
            K::VmSizeInvalid { .. } => "write a size such as `Standard_E2s_v3`".into(),
            K::VmSizeUnknown { suggestion, .. } => format!(
                "{}check the size supports Generation 2 (and nested virtualization for Hyper-V) with `az vm list-skus`",
                did_you_mean(suggestion.as_ref())
            ),
            K::VmSizeNoGen2 { .. } => "pick a Gen2-capable size such as `Standard_E2s_v3` or `Standard_D2s_v5`".into(),
            K::VmSizeNoNestedVirtualization { .. } => {
                "pick a size with nested virtualization (Dv3/Dsv3, Ev3/Esv3, Dv4/Dsv4, Ev4/Esv4, Dv5/Dsv5, Ev5/Esv5) or remove `Hyper-V`".into()
            }
            K::ImageFieldInvalid { .. } => "use letters, digits, `.`, `-` and `_` (`az vm image list-skus`)".into(),
            K::ImageVersionInvalid { .. } => "write `latest` or a version listed by `az vm image list --all`".into(),
            K::ImageVersionLatest => "pin one: `az vm image list --publisher MicrosoftWindowsServer --offer WindowsServer --sku 2022-datacenter-azure-edition --all -o table`, then set `vm.image.version` to a listed version".into(),
            K::ImageNotGen2 { .. } => "use a Gen2 SKU (for example `2022-datacenter-azure-edition` or `2022-datacenter-g2`) or `securityType: Standard`".into(),
            K::BakedImageIdInvalid { .. } => "write `/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Compute/galleries/GALLERY/images/DEFINITION/versions/1.0.0` or `/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Compute/images/NAME` (`az sig image-version show` or `az image show` prints it as `id`), or leave `id` out to give it at deploy time".into(),
            K::BakedImageKindMismatch { .. } => "remove `vm.bakedImage.kind` (the id decides) or correct the id".into(),
            K::BakedImageManagedTrustedLaunch { .. } => "publish the bake to a Compute Gallery (this lab's Packer target does so for `securityType: TrustedLaunch`) and use `kind: galleryImageVersion` with its version id, or use `securityType: Standard`".into(),
            K::BakedImageGen1 => "bake on a Generation 2 image (`az sig image-definition create --hyper-v-generation V2`) and set `hyperVGeneration: V2`".into(),
            K::OsDiskTooSmall { minimum, .. } => format!("set `vm.osDisk.sizeGB` to at least {minimum}"),
            K::OsDiskTooLarge { .. } => "set `vm.osDisk.sizeGB` to at most 4095".into(),
            K::AdminUsernameInvalid { .. } => "use 1-20 characters without `\" / \\ [ ] : ; | = , + * ? < > @`, spaces, or a trailing `.`".into(),
            K::AdminUsernameReserved { .. } => format!(
                "pick another name; Azure reserves {}",
                list(&crate::lab::facts::RESERVED_USERNAMES.iter().map(|s| (*s).to_string()).collect::<Vec<_>>())
            ),
            K::ShutdownTimeInvalid { .. } => "write the time quoted, 24-hour, e.g. `time: \"19:00\"`".into(),
            K::TimeZoneUnknown { suggestion, .. } => format!(
                "{}use a Windows time zone id such as `UTC`, `W. Europe Standard Time` or `Pacific Standard Time` (`tzutil /l`)",
                did_you_mean(suggestion.as_ref())
            ),
            K::EmailInvalid { .. } => "write an address like `me@example.com`, or `null`".into(),
            K::CidrInvalid { .. } => "write an address (`203.0.113.7`), a CIDR (`203.0.113.0/24`) or `\"*\"`".into(),
            K::CidrHostBits { network, .. } => format!("did you mean `{network}`?"),
            K::AllowFromStarMixed => "keep either `\"*\"` alone or only specific sources".into(),
            K::AllowFromAny { .. } => "list your own address instead (`curl -s https://ifconfig.me`), or leave `allowFrom: []` to be asked at deploy time".into(),
            K::InboundPortDuplicate { .. } => "list each port once".into(),
            K::NoInboundPorts => "add `rdp`, `ssh` or `winrm-https` to `network.inboundPorts` if you want to connect".into(),
            K::UrlNotHttps { .. } => "downloads run as administrator: use https://".into(),
            K::UrlInvalid { .. } => "write a full https:// URL without spaces or control characters".into(),
            K::Sha256Invalid { .. } => "write the 64 hexadecimal digits printed by `sha256sum` or `Get-FileHash`".into(),
            K::Sha256MovingUrl { .. } => "pin a URL whose content cannot change (a tag or commit archive such as `.../archive/refs/tags/v1.0.zip` or `.../archive/<commit>.zip`, a versioned file), or remove `sha256` and add `verify: authenticode` where the files are signed".into(),
            K::FeatureNameInvalid { .. } => "use a feature name as `Get-WindowsFeature` prints it, e.g. `Containers`, `Hyper-V`".into(),
            K::FeatureDuplicate { .. } => "list each feature once".into(),
            K::DockerNeedsContainers => "add `Containers` to `provisioning.windowsFeatures`, or set `provisioning.docker.enabled: false`".into(),
            K::DockerVersionInvalid { .. } => "write a version such as `25.0.4`".into(),
            K::ImageRefInvalid { .. } => "write an image such as `mcr.microsoft.com/windows/nanoserver:ltsc2022`".into(),
            K::TagInvalid { .. } => "tag names are 1-512 characters without `< > % & \\ ? /`; values at most 256 characters".into(),
            K::TooManyTags { .. } => "remove tags".into(),
            K::TextTooLong { .. } => "shorten the text".into(),
            K::TextControlCharacter => "remove the control character (tabs and line breaks are allowed only in `description`)".into(),
            K::TextNotNfc { nfc } => format!("write the composed form instead: \"{nfc}\""),
            K::TextBidiControl => "remove the invisible direction mark (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069)".into(),
            K::UrlSecretQuery { .. } => "use a URL that needs no credential (a public release asset, or a SAS URL only for the deployment, kept out of the lab file) and pin the file with `sha256`".into(),
            K::UserDataTooLarge { .. } => "remove tools or Windows features, or shorten their URLs and folders, until the script fits".into(),
            K::CidrDuplicate { .. } => "list each source range once (Azure refuses a rule with a duplicate prefix)".into(),
            K::CidrOverlap { .. } => "remove the narrower range: the wider one already admits it".into(),
            K::TagNameCaseDuplicate { .. } => "keep one spelling of the tag name".into(),
            K::TagNameSecret { .. } => "remove the tag: secrets are supplied at deploy time (a secure parameter or a sensitive variable), never in the lab file".into(),
            K::NameStartsWithHyphen { .. } => "start the name with a letter or digit".into(),
            K::ToolFolderForbidden { .. } => "put the tools under a folder of their own on `C:`, such as 'C:\\bin' or 'C:\\tools'".into(),
            K::AdminUsernameBuiltIn { .. } => "pick a name that is not a built-in account (administrator, guest, defaultaccount, wdagutilityaccount)".into(),
            K::PricesFileUnreadable { .. }
            | K::PricesNotJson { .. }
            | K::PricesNotRetailPrices { .. }
            | K::PricesFieldInvalid { .. }
            | K::PricesFieldMissing { .. } => {
                "save the answer of the price-list URL unchanged, as the generated README shows: `curl -sS -o prices.json 'URL'`, or `Invoke-WebRequest -UseBasicParsing -OutFile prices.json -Uri 'URL'` in PowerShell".into()
            }
            K::PricesNoMatch { size, region, available, more_pages } => {
                let mut text = if available.is_empty() {
                    "it holds no Windows pay-as-you-go VM price at all".to_string()
                } else {
                    let pairs: Vec<String> = available
                        .iter()
                        .map(|(s, r)| format!("`{s}` in `{r}`"))
                        .collect();
                    format!("it has prices for {}", pairs.join(", "))
                };
                if *more_pages {
                    text.push_str("; it is one page of a longer answer (`NextPageLink`)");
                }
                format!("{text}; fetch this lab's list: {}", fetch_prices_command(size, region))
            }
            K::PricesAmbiguous { size, region, .. } => format!(
                "one answer of the API gives one price per meter: keep one of the two items, or fetch this lab's list again: {}",
                fetch_prices_command(size, region)
            ),
            // a class (issue 16)
            K::ClassSizeOutOfRange { max, .. } => format!(
                "each student is a whole VM with its own public IP, created by one deployment, and counts against the subscription's regional vCPU quota; give 1 to {max} students, or split a larger class into several labs"
            ),
            K::ClassStudentIdInvalid { .. } => {
                "the id becomes part of the student's Azure and Windows names: use e.g. `alice` or `s07`".into()
            }
            K::ClassStudentDuplicate { .. } => {
                "two students with one id would share every resource name: give each student its own id".into()
            }
            K::ClassNameTooLong { what, .. } => format!(
                "each student's {what} is the lab's with `-ID` appended, and wcigen never truncates names: shorten `vm.computerName` (or `vm.name`) or the student ids"
            ),
            K::AccessJitRefused => "JIT's policy (Microsoft.Security/locations/jitNetworkAccessPolicies) rewrites the NSG rules the template owns, access is requested in the portal or with Start-AzJitNetworkAccessPolicy, and Plan 2 is billed per server outside the lab; use `access: bastion` (no public IP) or `publicIp` with `allowFrom` set to your own address".into(),
            K::AccessBastionSources => "remove `network.allowFrom`; the NSG lets only Bastion reach the VM's ports".into(),
            K::AccessBastionPort { .. } => "remove it from `network.inboundPorts`, or use `access: publicIp`".into(),
            K::AccessBastionDeveloperClass => "use `bastion: basic` (up to 40 concurrent RDP sessions)".into(),
            K::AccessBastionDeveloperRegion { .. } => format!(
                "the list holds {}; check https://aka.ms/bastionsku for today's, or use `bastion: basic`, which every region has",
                crate::lab::facts::BASTION_DEVELOPER_REGIONS.join(", ")
            ),
        };
        Some(text)
    }
}

/// A diagnostic resolved against its file: everything a printer needs.
#[derive(Clone, Debug, Serialize)]
pub struct ResolvedDiagnostic {
    /// Stable code, e.g. `unknown-key`.
    pub code: &'static str,
    /// `error` or `warning`.
    pub severity: Severity,
    /// The lab file.
    pub file: String,
    /// Field path, e.g. `vm.size`.
    pub path: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    #[serde(skip)]
    caret_len: usize,
    /// Whether the source line may be shown (never for a line holding a secret).
    #[serde(skip)]
    show_source: bool,
}

/// Attach file positions to diagnostics, in a stable order (by line, then code).
#[must_use]
pub fn resolve(
    file_label: &str,
    spans: &SpanIndex,
    diagnostics: &[Diagnostic],
) -> Vec<ResolvedDiagnostic> {
    let mut out: Vec<ResolvedDiagnostic> = diagnostics
        .iter()
        .map(|d| {
            let (pos, caret_len) = match d.position {
                Some(p) => (Some(p), 1),
                None => match (spans.exact(&d.path), spans.lookup(&d.path)) {
                    (Some(span), _) => {
                        let (p, len) = if d.at_key {
                            span.key.unwrap_or(span.value)
                        } else {
                            span.value
                        };
                        (Some(p), len)
                    }
                    // The field is not written (its default applies): point at the key of the
                    // nearest parent that is.
                    (None, Some(span)) => {
                        let (p, len) = span.key.unwrap_or(span.value);
                        (Some(p), len)
                    }
                    (None, None) => (None, 1),
                },
            };
            ResolvedDiagnostic {
                code: d.kind.code(),
                severity: d.severity(),
                file: file_label.to_string(),
                path: d.path.to_string(),
                line: pos.map(|p| p.line),
                column: pos.map(|p| p.column),
                message: d.kind.message(),
                help: d.kind.help(),
                caret_len,
                show_source: d.kind != DiagnosticKind::PasswordInLab,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (
            a.line.unwrap_or(0),
            a.column.unwrap_or(0),
            a.severity,
            a.code,
            &a.path,
        )
            .cmp(&(
                b.line.unwrap_or(0),
                b.column.unwrap_or(0),
                b.severity,
                b.code,
                &b.path,
            ))
    });
    out
}

/// Render diagnostics for a person: `error[code]: message`, the location, the source line with a
/// caret under the value, and the fix. ANSI colour only when `color` is set.
#[must_use]
pub fn render_human(
    source: Option<&SourceFile>,
    diagnostics: &[ResolvedDiagnostic],
    color: bool,
) -> String {
    render_human_files(&[(source, diagnostics)], color)
}

/// At most this many diagnostics are printed for people; the summary counts all of them and
/// says how many were left out (a 1 MiB lab can hold tens of thousands of mistakes).
pub const MAX_PRINTED: usize = 50;

/// [`render_human`] for diagnostics about several files (a lab and its `--prices` file), each
/// shown against its own source, with one summary line for all. The first [`MAX_PRINTED`]
/// are printed; the rest are counted.
#[must_use]
pub fn render_human_files(
    files: &[(Option<&SourceFile>, &[ResolvedDiagnostic])],
    color: bool,
) -> String {
    let mut out = String::new();
    let mut budget = MAX_PRINTED;
    for (source, diagnostics) in files {
        let shown = diagnostics.len().min(budget);
        render_entries(&mut out, *source, &diagnostics[..shown], color);
        budget -= shown;
    }
    let all = files.iter().flat_map(|(_, d)| d.iter());
    let total = all.clone().count();
    let errors = all.filter(|d| d.severity == Severity::Error).count();
    let warnings = total - errors;
    let suppressed = total.saturating_sub(MAX_PRINTED);
    if suppressed > 0 {
        let _ = writeln!(
            out,
            "{suppressed} more diagnostic(s) were suppressed: fix these first, or run `wcigen validate --format json` for the complete list"
        );
    }
    if errors > 0 || warnings > 0 {
        let _ = writeln!(out, "{errors} error(s), {warnings} warning(s)");
    }
    out
}

fn render_entries(
    out: &mut String,
    source: Option<&SourceFile>,
    diagnostics: &[ResolvedDiagnostic],
    color: bool,
) {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    // One pass over the text for all the source lines shown (`str::lines` numbering).
    let lines: Vec<&str> = match source {
        Some(src) if diagnostics.iter().any(|d| d.line.is_some()) => src.text.lines().collect(),
        _ => Vec::new(),
    };
    let line = |n: usize| n.checked_sub(1).and_then(|i| lines.get(i).copied());
    // Whether a line names a secret, decided once per line (a long line is folded once).
    let mut secret_lines = std::collections::HashMap::new();
    for d in diagnostics {
        let d = &d.printable();
        let (label, tint) = match d.severity {
            Severity::Error => ("error", "1;31"),
            Severity::Warning => ("warning", "1;33"),
        };
        let _ = writeln!(
            out,
            "{}: {}",
            paint(tint, &format!("{label}[{}]", d.code)),
            paint("1", &d.message)
        );
        let location = match (d.line, d.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", d.file),
            _ => d.file.clone(),
        };
        let gutter = d.line.map_or(String::new(), |l| l.to_string());
        let pad = " ".repeat(gutter.len().max(1));
        let _ = writeln!(out, "{pad}--> {location}");
        if d.path != "(document)" {
            let _ = writeln!(out, "{pad} = field: {}", d.path);
        }
        if let (Some(line_no), Some(col), true) = (d.line, d.column, d.show_source) {
            // A line that names a secret is never printed, nor the line after a secret's key
            // (where a block value starts), whatever the diagnostic is about.
            let mut secret = |n: usize| {
                *secret_lines
                    .entry(n)
                    .or_insert_with(|| line(n).is_some_and(crate::lab::secret::line_names_secret))
            };
            if let Some(text) =
                line(line_no).filter(|_| !secret(line_no) && !secret(line_no.saturating_sub(1)))
            {
                let (shown, caret_at) = source_window(text, col);
                let _ = writeln!(out, "{pad} |");
                let _ = writeln!(out, "{gutter} | {shown}");
                let room = shown.chars().count().saturating_sub(caret_at).max(1);
                let caret = "^".repeat(d.caret_len.clamp(1, room));
                let _ = writeln!(
                    out,
                    "{pad} | {}{}",
                    " ".repeat(caret_at),
                    paint(tint, &caret)
                );
            }
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "{pad} = help: {help}");
        }
        out.push('\n');
    }
}

/// A character a terminal must not receive raw from a file: a control character (an escape
/// sequence could repaint or retitle the terminal) or a bidirectional control (it reorders what
/// is shown).
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A source line longer than this (a one-line JSON answer, a long URL) is cut around the caret.
const SOURCE_LINE_LIMIT: usize = 160;

/// Characters of a cut source line shown around the caret; cuts are marked with `…`.
const SOURCE_WINDOW: usize = 120;

/// The part of a source line to show, with [`hidden`] characters blanked, and the 0-based
/// character offset of the caret (`column` is 1-based) within it.
fn source_window(line: &str, column: usize) -> (String, usize) {
    // Only the shown characters are collected: a 1 MiB one-line file costs one count per
    // diagnostic, not a copy.
    let blank = |c: char| if hidden(c) { ' ' } else { c };
    let at = column.saturating_sub(1);
    let len = line.chars().count();
    if len <= SOURCE_LINE_LIMIT {
        return (line.chars().map(blank).collect(), at);
    }
    let start = at
        .saturating_sub(SOURCE_WINDOW / 3)
        .min(len - SOURCE_WINDOW);
    let end = start + SOURCE_WINDOW;
    let mut shown = String::new();
    let mut caret_at = at - start.min(at);
    if start > 0 {
        shown.push('…');
        caret_at += 1;
    }
    shown.extend(line.chars().skip(start).take(SOURCE_WINDOW).map(blank));
    if end < len {
        shown.push('…');
    }
    (shown, caret_at)
}

/// Text from a lab or price file as a terminal should show it: [`hidden`] characters are
/// written as `\u{X}`.
fn printable(text: &str) -> String {
    if !text.chars().any(hidden) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if hidden(c) {
                format!("\\u{{{:x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl ResolvedDiagnostic {
    /// This diagnostic with every text a file supplied made safe to print on a terminal.
    fn printable(&self) -> Self {
        Self {
            file: printable(&self.file),
            path: printable(&self.path),
            message: printable(&self.message),
            help: self.help.as_deref().map(printable),
            ..self.clone()
        }
    }
}

/// Render diagnostics as a JSON array (for editors and CI).
#[must_use]
pub fn render_json(diagnostics: &[ResolvedDiagnostic]) -> String {
    serde_json::to_string_pretty(diagnostics).unwrap_or_else(|_| "[]".into()) + "\n"
}

// --- the output folder: reading, writing and `render --check` (issue 14) ---

/// What a path that is not a regular file is, as a noun phrase.
#[must_use]
pub fn file_kind(kind: crate::lab::source::FileKind) -> &'static str {
    use crate::lab::source::FileKind as F;
    match kind {
        F::Fifo => "a FIFO (named pipe)",
        F::Socket => "a socket",
        F::Device => "a device",
        F::Symlink => "a symbolic link",
        F::Directory => "a directory",
        F::Other => "a special file",
    }
}

fn read_problem(error: &crate::lab::source::ReadError) -> String {
    use crate::lab::source::ReadError as E;
    match error {
        E::NotFound => "no such file".into(),
        E::IsDirectory => "it is a directory".into(),
        E::NotRegular(kind) => format!("it is {}, not a regular file", file_kind(*kind)),
        E::TooLarge(bytes) => format!(
            "it has {bytes} bytes, more than the {} bytes a manifest may have",
            crate::lab::source::MAX_LAB_BYTES
        ),
        E::NotUtf8(offset) => format!("it is not UTF-8 text (byte {offset})"),
        E::Io(e) => e.kind().to_string(),
    }
}

// The output folder's errors and drift: the data here, with their wording below, so that
// diagnostics depend on nothing above them (`output` re-exports both).

/// Why the output could not be written (or checked). The wording is below.
#[derive(Debug)]
pub enum WriteError {
    /// Files in the way that wcigen did not write (relative paths).
    Foreign(Vec<String>),
    /// An I/O failure at a path.
    Io(PathBuf, std::io::Error),
    /// The output folder is a symbolic link.
    OutDirLink(PathBuf),
    /// The output folder exists and is not a folder.
    OutDirNotFolder(PathBuf),
    /// A path wcigen would write, replace or delete passes through this symbolic link
    /// (the output folder, and the link relative to it).
    Link(PathBuf, String),
    /// The manifest lists a path that is not plain and relative (the folder, the entry).
    ManifestEntry(PathBuf, String),
    /// The manifest cannot be used (not a regular file, too large, not UTF-8...).
    Manifest(PathBuf, ReadError),
    /// Another render holds the output folder's lock.
    Locked(PathBuf),
}

impl std::error::Error for WriteError {}

/// One difference between rendered files and a folder. The wording is below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drift {
    /// The file is missing on disk.
    Missing(String),
    /// The file differs; the first differing line (1-based).
    Changed(String, usize),
    /// An earlier render wrote the file (it is in the manifest) but this one would not.
    Stale(String),
    /// A file the target tools would load that wcigen did not write.
    Extra(String),
    /// A rendered path (or a folder on its way) is not a regular file or folder on disk:
    /// a symbolic link, a FIFO, a device, a directory where a file belongs.
    NotAFile(String, FileKind),
    /// The file could not be read.
    Unreadable(String, std::io::ErrorKind),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::lab::facts::MANIFEST;
        use WriteError as W;
        match self {
            W::Foreign(paths) => write!(
                f,
                "refusing to overwrite files wcigen did not write: {} (use --force to replace them)",
                paths.join(", ")
            ),
            W::Io(path, e) => write!(f, "cannot write {}: {e}", path.display()),
            W::OutDirLink(out) => write!(
                f,
                "the output folder {} is a symbolic link; wcigen writes only into a real folder\n   = help: pass the folder the link points to (`-o \"$(realpath {})\"`) if that is where the files belong, or remove the link",
                out.display(),
                out.display()
            ),
            W::OutDirNotFolder(out) => write!(
                f,
                "the output folder {} exists and is not a folder\n   = help: pass another `-o` folder",
                out.display()
            ),
            W::Link(out, rel) => write!(
                f,
                "refusing to write through {}/{rel}: it is a symbolic link, and wcigen never writes, replaces or deletes anything outside the output folder\n   = help: replace the link with a real folder or file (`--force` does not apply to links)",
                out.display()
            ),
            W::ManifestEntry(out, entry) => write!(
                f,
                "{}/{MANIFEST} lists `{entry}`, a path outside the output folder; refusing to touch anything\n   = help: the manifest was edited; delete it and render again with `--force`",
                out.display()
            ),
            W::Manifest(out, e) => write!(
                f,
                "cannot use {}/{MANIFEST}: {}\n   = help: delete it and render again with `--force`",
                out.display(),
                read_problem(e)
            ),
            W::Locked(out) => write!(
                f,
                "another wcigen is writing into {} (it holds the folder's lock)\n   = help: wait for it to finish and run again",
                out.display()
            ),
        }
    }
}

/// One line of the `render --check` report.
#[must_use]
pub fn drift_line(drift: &Drift) -> String {
    use Drift as D;
    match drift {
        D::Missing(p) => format!("  missing  {p}\n"),
        D::Changed(p, line) => format!("  changed  {p} (first difference at line {line})\n"),
        D::Stale(p) => format!("  stale    {p} (no longer rendered)\n"),
        D::Extra(p) => {
            format!("  extra    {p} (the tools would load it; wcigen did not write it)\n")
        }
        D::NotAFile(p, kind) => format!(
            "  not-file {p} (is {}; wcigen writes regular files)\n",
            file_kind(*kind)
        ),
        D::Unreadable(p, kind) => format!("  unread   {p} ({kind})\n"),
    }
}

/// The closing advice of a failed `render --check`.
#[must_use]
pub fn drift_help(drift: &[Drift], lab: &str, out: &str) -> String {
    let mut text = format!("help: run `wcigen render {lab} -o {out}` and commit the result\n");
    if drift.iter().any(|d| matches!(d, Drift::Extra(_))) {
        text.push_str(&format!(
            "help: remove the extra files from {out} (wcigen allows only {} besides its own)\n",
            crate::lab::facts::USER_FILES
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(" and ")
        ));
    }
    if drift.iter().any(|d| matches!(d, Drift::NotAFile(..))) {
        text.push_str("help: replace links and special files with the rendered files (`wcigen render` refuses to write through links)\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{source_window, SOURCE_LINE_LIMIT, SOURCE_WINDOW};

    #[test]
    fn short_lines_are_shown_whole() {
        assert_eq!(source_window("a:\tb", 4), ("a: b".to_string(), 3));
        let limit = "x".repeat(SOURCE_LINE_LIMIT);
        assert_eq!(source_window(&limit, 150), (limit.clone(), 149));
    }

    #[test]
    fn long_lines_are_cut_around_the_caret() {
        let line: String = (0..500)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        // Near the start: no leading mark.
        let (shown, at) = source_window(&line, 5);
        assert_eq!((shown.chars().count(), at), (SOURCE_WINDOW + 1, 4));
        assert!(shown.ends_with('…') && !shown.starts_with('…'));
        // In the middle: the caret still points at the same character.
        let (shown, at) = source_window(&line, 300);
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(shown.chars().nth(at), line.chars().nth(299));
        // At and past the end: no trailing mark, no panic.
        let (shown, at) = source_window(&line, 500);
        assert!(!shown.ends_with('…'));
        assert_eq!(shown.chars().nth(at), line.chars().nth(499));
        let (_, at) = source_window(&line, 900);
        assert!(at > SOURCE_WINDOW);
    }
}
