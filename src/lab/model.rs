//! The lab file contract: the serde model that `lab.yaml` deserializes into.
//!
//! This module exists so that one set of types is both the parser and the published JSON Schema
//! (`schemas/lab.schema.json` is generated from these derives; doc comments become the schema's
//! descriptions). It holds no rules beyond shape and defaults: the semantic checks live in
//! [`crate::lab::validate`], which turns a [`LabSpec`] into a [`crate::lab::validate::ValidLab`].
//!
//! Key names are the public contract: additions are welcome, renames are not.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Windows-internals lab: one Azure VM and everything provisioned inside it.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "wcigen lab")]
pub struct LabSpec {
    /// Version of the lab file format. Only `1` exists.
    pub version: u64,
    /// Short lab name: lowercase letter first, then lowercase letters, digits, `_` or `-`
    /// (at most 24 characters). Used to name the rendered Azure resources.
    pub name: String,
    /// Free-text description of the lab, shown in the rendered templates' metadata.
    #[serde(default)]
    pub description: Option<String>,
    /// Where the lab is deployed in Azure.
    pub azure: Azure,
    /// The lab virtual machine.
    pub vm: Vm,
    /// Inbound network exposure of the VM.
    #[serde(default)]
    pub network: Network,
    /// Daily auto-shutdown (a `Microsoft.DevTestLab/schedules` resource).
    #[serde(default)]
    pub auto_shutdown: AutoShutdown,
    /// What `provision.ps1` sets up inside the VM.
    #[serde(default)]
    pub provisioning: Provisioning,
    /// A class: one identical VM per student instead of one lab VM. Absent means one VM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<Class>,
}

/// A class: the lab's VM once per student, each with its own public IP, network interface,
/// OS disk, auto-shutdown schedule, provisioning extension and ready step; the virtual network,
/// subnet and network security group stay shared. Resource names are the lab's with `-ID`
/// appended (the VM, and the Windows computer name, which must stay within 15 characters).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Class {
    /// The students: a number (1-50; the students are then `01`, `02`, ...), or a list of
    /// student ids (1-50 of them).
    pub students: Students,
}

/// The students of a class.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum Students {
    /// How many students (1-50); their ids are `01`, `02`, ... (two digits).
    Count(u64),
    /// The students: each an id (lowercase letters and digits, a hyphen inside, at most 8
    /// characters; it becomes part of the student's resource names), or an id with the
    /// student's own source addresses.
    Ids(Vec<Student>),
}

/// One student of a class.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum Student {
    /// Just the id.
    Id(String),
    /// The id and the student's own sources.
    WithSources(StudentWithSources),
}

/// A student with their own source addresses.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StudentWithSources {
    /// The student id (as in the plain list).
    pub id: String,
    /// IPv4 addresses or CIDRs that may reach this student's VM (its inbound ports) besides the
    /// lab's `network.allowFrom`, e.g. the student's home address. The VM gets a fixed private
    /// address so that the shared NSG can name it.
    pub allow_from: Vec<String>,
}

impl Student {
    /// The student id.
    #[must_use]
    pub fn id(&self) -> &str {
        match self {
            Self::Id(id) => id,
            Self::WithSources(s) => &s.id,
        }
    }

    /// The student's own sources (none for a plain id).
    #[must_use]
    pub fn allow_from(&self) -> &[String] {
        match self {
            Self::Id(_) => &[],
            Self::WithSources(s) => &s.allow_from,
        }
    }
}

/// Azure placement of the lab.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Azure {
    /// Azure region name, e.g. `eastus` or `westeurope`.
    pub location: String,
    /// Name of the resource group that holds every lab resource (created when missing).
    pub resource_group: String,
    /// Tags put on every Azure resource of the lab.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// The lab virtual machine.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Vm {
    /// Azure resource name of the VM (1-64 letters, digits and hyphens). It is also the
    /// Windows computer name unless `computerName` is set.
    pub name: String,
    /// Windows computer name (NetBIOS): at most 15 letters, digits or hyphens, not all digits.
    /// Defaults to the VM name; required when the VM name cannot serve as one.
    #[serde(default)]
    pub computer_name: Option<String>,
    /// Azure VM size. It must support Generation 2 images.
    #[serde(default = "defaults::vm_size")]
    pub size: String,
    /// `Standard` (UEFI without Secure Boot or vTPM) or `TrustedLaunch` (Secure Boot + vTPM).
    #[serde(default)]
    pub security_type: SecurityType,
    /// Marketplace image of the OS disk (a Generation 2 image).
    #[serde(default)]
    pub image: Image,
    /// Local administrator user name. The password is never part of the lab file: it is
    /// supplied at deploy time as a secure parameter or sensitive variable.
    pub admin_username: String,
    /// The managed OS disk.
    #[serde(default)]
    pub os_disk: OsDisk,
    /// Start the VM from the image the Packer target baked (a Compute Gallery image version or
    /// a managed image) instead of the marketplace image: the VM is ready at its first boot, so
    /// the Bicep, ARM and Terraform targets run no provisioning extension and no restart; their
    /// ready step checks the baked state instead. Leave it out to provision at deployment.
    #[serde(default)]
    pub baked_image: Option<BakedImage>,
}

impl Vm {
    /// The Windows computer name: `computerName`, else the VM name.
    #[must_use]
    pub fn effective_computer_name(&self) -> &str {
        self.computer_name.as_deref().unwrap_or(&self.name)
    }
}

/// The baked image an IaC deployment starts from.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BakedImage {
    /// Azure resource id of the image: a gallery image version
    /// (`/subscriptions/…/providers/Microsoft.Compute/galleries/G/images/D/versions/1.0.0`) or a
    /// managed image (`/subscriptions/…/providers/Microsoft.Compute/images/NAME`). Leave it out
    /// to give it at deploy time (a required parameter or variable).
    #[serde(default)]
    pub id: Option<String>,
    /// `galleryImageVersion` or `managedImage`. Defaults to what `id` names, else to what this
    /// lab's Packer target publishes (a managed image for `Standard`, a gallery image version
    /// for `TrustedLaunch`).
    #[serde(default)]
    pub kind: Option<BakedImageKind>,
    /// Hyper-V generation of the image (its gallery image definition's `hyperVGeneration`).
    /// The lab VM is Generation 2, so only `V2` works.
    #[serde(default)]
    pub hyper_v_generation: HyperVGeneration,
}

/// Where a baked image is published.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum BakedImageKind {
    /// A version of an Azure Compute Gallery image definition (any security type).
    GalleryImageVersion,
    /// A managed image (`Microsoft.Compute/images`): Standard security type only, as Azure
    /// does not support Trusted Launch for managed images.
    ManagedImage,
}

/// Hyper-V generation of an image.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum HyperVGeneration {
    /// Generation 1 (BIOS): cannot boot a Generation 2 VM.
    V1,
    /// Generation 2 (UEFI).
    #[default]
    V2,
}

/// Security type of the VM.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum SecurityType {
    /// A Generation 2 VM without Secure Boot and vTPM (kernel debugging works unchanged).
    #[default]
    Standard,
    /// A Generation 2 VM with Secure Boot and a virtual TPM.
    TrustedLaunch,
}

/// A marketplace image reference.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Image {
    /// Image publisher.
    #[serde(default = "defaults::image_publisher")]
    pub publisher: String,
    /// Image offer.
    #[serde(default = "defaults::image_offer")]
    pub offer: String,
    /// Image SKU (plan).
    #[serde(default = "defaults::image_sku")]
    pub sku: String,
    /// Image version: `latest`, or a pinned `MAJOR.MINOR.PATCH` version for a reproducible lab.
    #[serde(default = "defaults::image_version")]
    pub version: String,
}

/// The managed OS disk.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OsDisk {
    /// Storage type of the managed disk.
    #[serde(default)]
    pub storage_account_type: StorageAccountType,
    /// Size of the OS disk in GiB (at least the image size: 127 for full images).
    #[serde(rename = "sizeGB", default = "defaults::os_disk_size_gb")]
    pub size_gb: u64,
}

/// Managed disk storage type.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum StorageAccountType {
    /// Premium SSD, locally redundant.
    #[default]
    #[serde(rename = "Premium_LRS")]
    PremiumLrs,
    /// Standard SSD, locally redundant.
    #[serde(rename = "StandardSSD_LRS")]
    StandardSsdLrs,
    /// Standard HDD, locally redundant.
    #[serde(rename = "Standard_LRS")]
    StandardLrs,
}

impl StorageAccountType {
    /// The Azure spelling of the storage type.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PremiumLrs => "Premium_LRS",
            Self::StandardSsdLrs => "StandardSSD_LRS",
            Self::StandardLrs => "Standard_LRS",
        }
    }
}

/// Inbound network exposure.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Network {
    /// Inbound ports opened on the VM: `rdp` (TCP 3389), `ssh` (TCP 22, the OpenSSH server is
    /// installed), `winrm-https` (TCP 5986, an HTTPS listener is created).
    #[serde(default = "defaults::inbound_ports")]
    pub inbound_ports: Vec<InboundPort>,
    /// Source IPv4 addresses or CIDRs allowed to reach the inbound ports (the public IP is IPv4).
    /// Empty means a required deploy-time parameter; `"*"` (any source) only when written.
    #[serde(default)]
    pub allow_from: Vec<String>,
    /// How people reach the VM: `publicIp` (its own public IP, the inbound ports open to
    /// `allowFrom`), `bastion` (no public IP on the VM; RDP and SSH through Azure Bastion in the
    /// portal) or `jit` (Defender for Cloud just-in-time access, which wcigen refuses and explains).
    #[serde(default)]
    pub access: Access,
    /// The Azure Bastion SKU when `access` is `bastion`: `basic` (a dedicated host: an
    /// `AzureBastionSubnet` and a public IP, billed hourly, up to 40 RDP sessions) or `developer`
    /// (free, shared, one connection at a time, select regions).
    #[serde(default)]
    pub bastion: BastionSku,
}

/// How people reach the VM.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum Access {
    /// The VM's own static public IP; the inbound ports are open to `allowFrom`.
    #[default]
    #[serde(rename = "publicIp")]
    PublicIp,
    /// No public IP on the VM: Azure Bastion reaches its RDP and SSH ports inside the network.
    #[serde(rename = "bastion")]
    Bastion,
    /// Just-in-time VM access (Microsoft Defender for Cloud): refused, with the reasons.
    #[serde(rename = "jit")]
    Jit,
}

/// The Azure Bastion SKU.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum BastionSku {
    /// A dedicated Basic host: `AzureBastionSubnet` (/26) and a Standard public IP; billed hourly.
    #[default]
    #[serde(rename = "basic")]
    Basic,
    /// The free, shared Developer host: no subnet, no public IP, one connection at a time.
    #[serde(rename = "developer")]
    Developer,
}

/// A named inbound port.
#[derive(
    Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord,
)]
pub enum InboundPort {
    /// Remote Desktop, TCP 3389.
    #[serde(rename = "rdp")]
    Rdp,
    /// OpenSSH server, TCP 22.
    #[serde(rename = "ssh")]
    Ssh,
    /// WinRM over HTTPS, TCP 5986.
    #[serde(rename = "winrm-https")]
    WinrmHttps,
}

/// Daily auto-shutdown of the VM.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoShutdown {
    /// Whether the VM is shut down (deallocated) every day.
    #[serde(default = "defaults::yes")]
    pub enabled: bool,
    /// Time of day as `HH:MM` (24-hour clock).
    #[serde(default = "defaults::shutdown_time")]
    pub time: String,
    /// Windows time zone id of `time`, e.g. `UTC` or `W. Europe Standard Time`.
    #[serde(default = "defaults::time_zone")]
    pub time_zone: String,
    /// E-mail address notified 30 minutes before the shutdown, or `null` for none.
    #[serde(default)]
    pub notification_email: Option<String>,
}

/// What the provisioning script sets up inside the VM.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Provisioning {
    /// Windows Server features to install (e.g. `Containers`, `Hyper-V`); a reboot follows when
    /// any of them needs one.
    #[serde(default = "defaults::windows_features")]
    pub windows_features: Vec<String>,
    /// Docker CE, installed with Microsoft's install-docker-ce.ps1.
    #[serde(default)]
    pub docker: Docker,
    /// Absolute Windows folder under which each tool gets its own folder.
    #[serde(default = "defaults::tools_dir")]
    pub tools_dir: String,
    /// Tools to download and install.
    #[serde(default = "defaults::tools")]
    pub tools: Vec<Tool>,
}

/// Docker CE installation.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Docker {
    /// Whether Docker is installed (requires the `Containers` feature).
    #[serde(default = "defaults::yes")]
    pub enabled: bool,
    /// Docker CE version passed to the install script as `-DockerVersion`.
    #[serde(default = "defaults::docker_version")]
    pub version: String,
    /// The pinned install script.
    #[serde(default)]
    pub install_script: InstallScript,
    /// Image run by the smoke test (`docker run --rm IMAGE cmd /c ver`); it must match the host
    /// build for process isolation (ltsc2022 on Windows Server 2022).
    #[serde(default = "defaults::smoke_test_image")]
    pub smoke_test_image: String,
}

/// A script downloaded and verified before it runs.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstallScript {
    /// HTTPS URL of the script, pinned to a commit.
    #[serde(default = "defaults::docker_script_url")]
    pub url: String,
    /// SHA-256 of the script (64 hex digits); checked before it runs.
    #[serde(default = "defaults::docker_script_sha256")]
    pub sha256: String,
}

/// A tool downloaded into the VM.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tool {
    /// Tool name: lowercase letter first, then lowercase letters, digits, `_` or `-` (≤ 24).
    pub name: String,
    /// `zip` (unzipped into `toolsDir\dir`) or `appinstaller` (an MSIX `.appinstaller` file
    /// whose main bundle is provisioned for all users).
    pub kind: ToolKind,
    /// HTTPS URL of the download.
    pub url: String,
    /// SHA-256 of the download (64 hex digits); checked before it is used.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Folder under `toolsDir` for a zip (default: the tool's name). A single top-level folder
    /// in the archive is flattened.
    #[serde(default)]
    pub dir: Option<String>,
    /// Add the tool's folder to the machine PATH.
    #[serde(default)]
    pub add_to_path: bool,
    /// Extra verification of the unpacked files: `authenticode` requires every `.exe`, `.dll`
    /// and `.sys` to carry a valid Authenticode signature.
    #[serde(default)]
    pub verify: Option<Verify>,
}

/// How a tool is installed.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum ToolKind {
    /// A zip archive unpacked into a folder.
    #[serde(rename = "zip")]
    Zip,
    /// An `.appinstaller` file whose MSIX main bundle is provisioned for all users.
    #[serde(rename = "appinstaller")]
    AppInstaller,
}

/// Extra verification of a tool's files.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum Verify {
    /// Every `.exe`, `.dll` and `.sys` must have a valid Authenticode signature.
    #[serde(rename = "authenticode")]
    Authenticode,
}

impl Default for Image {
    fn default() -> Self {
        Self {
            publisher: defaults::image_publisher(),
            offer: defaults::image_offer(),
            sku: defaults::image_sku(),
            version: defaults::image_version(),
        }
    }
}

impl Default for OsDisk {
    fn default() -> Self {
        Self {
            storage_account_type: StorageAccountType::default(),
            size_gb: defaults::os_disk_size_gb(),
        }
    }
}

impl Default for Network {
    fn default() -> Self {
        Self {
            inbound_ports: defaults::inbound_ports(),
            allow_from: Vec::new(),
            access: Access::default(),
            bastion: BastionSku::default(),
        }
    }
}

impl Default for AutoShutdown {
    fn default() -> Self {
        Self {
            enabled: true,
            time: defaults::shutdown_time(),
            time_zone: defaults::time_zone(),
            notification_email: None,
        }
    }
}

impl Default for Provisioning {
    fn default() -> Self {
        Self {
            windows_features: defaults::windows_features(),
            docker: Docker::default(),
            tools_dir: defaults::tools_dir(),
            tools: defaults::tools(),
        }
    }
}

impl Default for Docker {
    fn default() -> Self {
        Self {
            enabled: true,
            version: defaults::docker_version(),
            install_script: InstallScript::default(),
            smoke_test_image: defaults::smoke_test_image(),
        }
    }
}

impl Default for InstallScript {
    fn default() -> Self {
        Self {
            url: defaults::docker_script_url(),
            sha256: defaults::docker_script_sha256(),
        }
    }
}

/// Default values of optional keys: the Windows Containers Internals lab.
mod defaults {
    use super::{InboundPort, Tool, ToolKind};

    pub(super) fn yes() -> bool {
        true
    }
    pub(super) fn vm_size() -> String {
        "Standard_E2s_v3".into()
    }
    pub(super) fn image_publisher() -> String {
        "MicrosoftWindowsServer".into()
    }
    pub(super) fn image_offer() -> String {
        "WindowsServer".into()
    }
    pub(super) fn image_sku() -> String {
        "2022-datacenter-azure-edition".into()
    }
    pub(super) fn image_version() -> String {
        "latest".into()
    }
    pub(super) fn os_disk_size_gb() -> u64 {
        127
    }
    pub(super) fn inbound_ports() -> Vec<InboundPort> {
        vec![InboundPort::Rdp, InboundPort::Ssh]
    }
    pub(super) fn shutdown_time() -> String {
        "19:00".into()
    }
    pub(super) fn time_zone() -> String {
        "UTC".into()
    }
    pub(super) fn windows_features() -> Vec<String> {
        vec!["Containers".into()]
    }
    pub(super) fn docker_version() -> String {
        "25.0.4".into()
    }
    pub(super) fn docker_script_url() -> String {
        "https://raw.githubusercontent.com/microsoft/Windows-Containers/86af3b6b0f9e6928c3888d29fb601596a3211f60/helpful_tools/Install-DockerCE/install-docker-ce.ps1".into()
    }
    pub(super) fn docker_script_sha256() -> String {
        "eaa8a351e1186f2eb3e9dc29da44e16200b82f615ba3b8a23b927ace57d35eb4".into()
    }
    pub(super) fn smoke_test_image() -> String {
        "mcr.microsoft.com/windows/nanoserver:ltsc2022".into()
    }
    pub(super) fn tools_dir() -> String {
        r"C:\bin".into()
    }
    pub(super) fn tools() -> Vec<Tool> {
        let tool = |name: &str, kind, url: &str, add_to_path| Tool {
            name: name.into(),
            kind,
            url: url.into(),
            sha256: None,
            dir: None,
            add_to_path,
            verify: None,
        };
        vec![
            tool(
                "sysinternals",
                ToolKind::Zip,
                "https://download.sysinternals.com/files/SysinternalsSuite.zip",
                true,
            ),
            tool(
                "pavel_tools",
                ToolKind::Zip,
                "https://github.com/zodiacon/AllTools/archive/refs/heads/master.zip",
                true,
            ),
            tool(
                "windbg",
                ToolKind::AppInstaller,
                "https://aka.ms/windbg/download",
                false,
            ),
        ]
    }
}
