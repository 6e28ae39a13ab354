//! The template context: a validated lab flattened into what templates need, every key present.
//!
//! Templates should not compute: derived values (resource names, port numbers, the shutdown time
//! as `HHmm`, full tool folders) are computed once here, so every target states the same facts.
//! Every field serializes (absence is `none`, never undefined), because the template
//! environment runs with strict undefined behaviour.

use serde::Serialize;

use crate::lab::model::{
    Access, BakedImageKind, BastionSku, InboundPort, LabSpec, SecurityType, ToolKind, Verify,
};
use crate::lab::validate::{port_name, ValidLab};

/// Everything a template may read.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabView {
    /// Lab identity.
    pub lab: LabInfo,
    /// Azure placement.
    pub azure: AzureView,
    /// The VM.
    pub vm: VmView,
    /// Derived Azure resource names.
    pub names: Names,
    /// Inbound exposure.
    pub network: NetworkView,
    /// Auto-shutdown.
    pub auto_shutdown: ShutdownView,
    /// Provisioning inside the VM.
    pub provisioning: ProvisioningView,
    /// The generator.
    pub generator: Generator,
    /// Pinned Azure API versions.
    pub api: ApiVersions,
    /// The class: one VM per student (none for a one-VM lab).
    pub class: Option<ClassView>,
}

/// A class: the students and each one's resource names, derived from the lab's names.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassView {
    /// The students, in lab order.
    pub students: Vec<StudentView>,
    /// How many.
    pub size: usize,
    /// Whether the students' VMs have fixed private addresses (some student has own sources,
    /// which the shared NSG admits to that address only).
    pub static_ips: bool,
}

/// One student's resources.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StudentView {
    /// The student id.
    pub id: String,
    /// VM (Azure resource) name.
    pub vm_name: String,
    /// Windows computer name.
    pub computer_name: String,
    /// Public IP name.
    pub public_ip_name: String,
    /// Network interface name.
    pub nic_name: String,
    /// OS disk name.
    pub os_disk_name: String,
    /// Auto-shutdown schedule name (Azure requires exactly this name).
    pub shutdown_schedule_name: String,
    /// The VM's fixed private address when the class has them (`10.20.0.4` on).
    pub private_ip: Option<String>,
    /// The student's own sources.
    pub allow_from: Vec<String>,
}

/// An NSG rule that admits one student's own sources to that student's VM only.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StudentRuleView {
    /// Rule name: `allow-PORT-ID`.
    pub rule_name: String,
    /// Human description.
    pub description: String,
    /// NSG priority (2000 on, after the lab's rules).
    pub priority: u16,
    /// TCP port.
    pub port: u16,
    /// The student's sources.
    pub sources: Vec<String>,
    /// The student's VM's private address.
    pub destination: String,
}

impl ClassView {
    fn new(valid: &ValidLab) -> Option<Self> {
        valid.spec().class.as_ref()?;
        let all = valid.students();
        let static_ips = all.iter().any(|s| !s.allow_from.is_empty());
        let students: Vec<StudentView> = all
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let [public_ip_name, nic_name, os_disk_name, shutdown_schedule_name] =
                    vm_resource_names(&s.vm_name);
                StudentView {
                    private_ip: static_ips.then(|| format!("10.20.0.{}", 4 + i)),
                    allow_from: s.allow_from,
                    public_ip_name,
                    nic_name,
                    os_disk_name,
                    shutdown_schedule_name,
                    id: s.id,
                    vm_name: s.vm_name,
                    computer_name: s.computer_name,
                }
            })
            .collect();
        Some(Self {
            size: students.len(),
            students,
            static_ips,
        })
    }
}

/// The one pinned table of Azure API versions every ARM/Bicep resource uses. Each
/// `type@apiVersion` must exist in the official schemas (`../shared/reference`); stable
/// (non-preview) and no older than about two years, as the Bicep linter and arm-ttk require.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiVersions {
    /// `Microsoft.Compute/virtualMachines` and `.../extensions`.
    pub compute: &'static str,
    /// `Microsoft.Network/*` (virtual networks, NSGs, public IPs, NICs).
    pub network: &'static str,
    /// `Microsoft.DevTestLab/schedules` (2018-09-15 is its only GA version).
    pub dev_test_lab: &'static str,
}

/// The pinned API versions.
pub const API_VERSIONS: ApiVersions = ApiVersions {
    compute: "2025-11-01",
    network: "2024-05-01",
    dev_test_lab: "2018-09-15",
};

/// Lab identity.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabInfo {
    /// Lab name.
    pub name: String,
    /// Description, if any.
    pub description: Option<String>,
    /// Tags, sorted by key.
    pub tags: Vec<Tag>,
}

/// One tag.
#[derive(Clone, Debug, Serialize)]
pub struct Tag {
    /// Tag name.
    pub key: String,
    /// Tag value.
    pub value: String,
}

/// Azure placement.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureView {
    /// Region.
    pub location: String,
    /// Resource group.
    pub resource_group: String,
}

/// The VM.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VmView {
    /// Azure resource name.
    pub name: String,
    /// Windows computer name.
    pub computer_name: String,
    /// Size.
    pub size: String,
    /// `Standard` or `TrustedLaunch`.
    pub security_type: &'static str,
    /// Whether Trusted Launch (Secure Boot + vTPM) is on.
    pub trusted_launch: bool,
    /// Image reference.
    pub image: ImageView,
    /// Admin user name.
    pub admin_username: String,
    /// OS disk.
    pub os_disk: OsDiskView,
    /// Whether the VM starts from the baked image (no extension, no restart).
    pub baked: bool,
    /// The baked image, when the lab starts from it.
    pub baked_image: Option<BakedImageView>,
}

/// The baked image a deployment starts from.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BakedImageView {
    /// The image's resource id from the lab (the parameter's default), or none: a required
    /// deploy-time parameter.
    pub id: Option<String>,
    /// `galleryImageVersion` or `managedImage` (as written, from the id, or from the security
    /// type: what this lab's Packer target publishes).
    pub kind: &'static str,
    /// Whether it is a Compute Gallery image version.
    pub gallery: bool,
}

/// Image reference.
#[derive(Clone, Debug, Serialize)]
pub struct ImageView {
    /// Publisher.
    pub publisher: String,
    /// Offer.
    pub offer: String,
    /// SKU.
    pub sku: String,
    /// Version or `latest`.
    pub version: String,
}

/// OS disk.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OsDiskView {
    /// Storage type (Azure spelling).
    pub storage_account_type: &'static str,
    /// Size in GiB.
    #[serde(rename = "sizeGB")]
    pub size_gb: u64,
}

/// Names of the Azure resources, derived from the lab and VM names.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Names {
    /// Virtual network.
    pub vnet: String,
    /// Subnet.
    pub subnet: String,
    /// Network security group.
    pub nsg: String,
    /// Public IP address.
    pub public_ip: String,
    /// Network interface.
    pub nic: String,
    /// OS disk.
    pub os_disk: String,
    /// The provisioning extension.
    pub extension: String,
    /// The auto-shutdown schedule (Azure requires exactly this name).
    pub shutdown_schedule: String,
}

/// One inbound rule.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortView {
    /// Lab name of the port (`rdp`, `ssh`, `winrm-https`).
    pub name: &'static str,
    /// TCP port.
    pub port: u16,
    /// NSG priority (unique, ascending in lab order).
    pub priority: u16,
    /// NSG rule name.
    pub rule_name: String,
    /// Human description of the rule.
    pub description: String,
}

/// Inbound exposure.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkView {
    /// RDP open.
    pub rdp: bool,
    /// SSH open (OpenSSH server installed).
    pub ssh: bool,
    /// WinRM HTTPS open (listener created).
    pub winrm_https: bool,
    /// Inbound rules, in lab order.
    pub inbound_ports: Vec<PortView>,
    /// Source prefixes written in the lab (may be `["*"]`).
    pub allow_from: Vec<String>,
    /// Whether the sources are a required deploy-time parameter (the lab listed none).
    pub allow_from_parameter: bool,
    /// Virtual network address space.
    pub address_space: &'static str,
    /// Subnet prefix.
    pub subnet_prefix: &'static str,
    /// Whether the VM has its own public IP (`access: publicIp`).
    pub public_ip: bool,
    /// The sources of the Packer build VM's WinRM port: the lab's own `allowFrom`, also when
    /// Bastion is the lab's way in (`allowFrom` then holds Bastion's source for the NSG).
    pub winrm_sources: Vec<String>,
    /// Whether Packer asks for them (the lab lists none).
    pub winrm_sources_parameter: bool,
    /// Azure Bastion, when the lab is reached through it.
    pub bastion: Option<BastionView>,
    /// A class's rules for students' own sources, after the lab's rules.
    pub student_rules: Vec<StudentRuleView>,
}

/// Azure Bastion: the host that reaches the VM's RDP and SSH ports from inside the network.
/// With it the VM has no public IP, and the NSG admits the inbound ports only from Bastion:
/// from `AzureBastionSubnet` (Basic) or from 168.63.129.16, the platform address the shared
/// Developer host connects from (MicrosoftDocs `bastion/quickstart-developer-sku.md`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BastionView {
    /// `Basic` or `Developer` (the API's spelling).
    pub sku: &'static str,
    /// Whether it is the dedicated Basic host (subnet, public IP, hourly bill).
    pub basic: bool,
    /// Name of the Bastion host.
    pub name: String,
    /// Name of its public IP (Basic).
    pub public_ip_name: String,
    /// Its subnet's prefix (Basic): `AzureBastionSubnet` must be /26 or larger.
    pub subnet_prefix: &'static str,
    /// The one source the VM's NSG rules admit.
    pub source: &'static str,
}

/// Auto-shutdown.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShutdownView {
    /// Enabled.
    pub enabled: bool,
    /// `HH:MM`.
    pub time: String,
    /// `HHmm`, as the schedule resource wants it.
    #[serde(rename = "timeHHmm")]
    pub time_hhmm: String,
    /// Windows time zone id.
    pub time_zone: String,
    /// Notification e-mail, if any.
    pub notification_email: Option<String>,
}

/// Provisioning inside the VM.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningView {
    /// Windows features.
    pub windows_features: Vec<String>,
    /// Docker.
    pub docker: DockerView,
    /// Tools root folder.
    pub tools_dir: String,
    /// Tools.
    pub tools: Vec<ToolView>,
}

/// Docker.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DockerView {
    /// Install Docker.
    pub enabled: bool,
    /// Version.
    pub version: String,
    /// Install script URL.
    pub install_script_url: String,
    /// Install script SHA-256 (lowercase).
    pub install_script_sha256: String,
    /// Smoke-test image.
    pub smoke_test_image: String,
}

/// One tool.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolView {
    /// Name.
    pub name: String,
    /// `zip` or `appinstaller`.
    pub kind: &'static str,
    /// Download URL.
    pub url: String,
    /// SHA-256 (lowercase), if pinned.
    pub sha256: Option<String>,
    /// Full install folder (zips) or the tools root (appinstaller).
    pub dir: String,
    /// Put on the machine PATH.
    pub add_to_path: bool,
    /// Require valid Authenticode signatures.
    pub verify_authenticode: bool,
}

/// The generator.
#[derive(Clone, Debug, Serialize)]
pub struct Generator {
    /// `wcigen`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

fn port_number(port: InboundPort) -> u16 {
    match port {
        InboundPort::Rdp => 3389,
        InboundPort::Ssh => 22,
        InboundPort::WinrmHttps => 5986,
    }
}

fn port_description(port: InboundPort) -> &'static str {
    match port {
        InboundPort::Rdp => "Remote Desktop (TCP 3389)",
        InboundPort::Ssh => "OpenSSH (TCP 22)",
        InboundPort::WinrmHttps => "WinRM over HTTPS (TCP 5986)",
    }
}

impl LabView {
    /// Build the context of a validated lab.
    #[must_use]
    pub fn new(valid: &ValidLab) -> Self {
        let spec = valid.spec();
        let [public_ip, nic, os_disk, shutdown_schedule] = vm_resource_names(&spec.vm.name);
        let bastion = bastion_view(spec);
        Self {
            lab: lab_info(spec),
            azure: AzureView {
                location: spec.azure.location.clone(),
                resource_group: spec.azure.resource_group.clone(),
            },
            vm: vm_view(valid),
            names: Names {
                vnet: format!("{}-vnet", spec.name),
                subnet: "default".into(),
                nsg: format!("{}-nsg", spec.name),
                public_ip,
                nic,
                os_disk,
                extension: "wcigen-provision".into(),
                shutdown_schedule,
            },
            network: network_view(valid, bastion),
            auto_shutdown: ShutdownView {
                enabled: spec.auto_shutdown.enabled,
                time: spec.auto_shutdown.time.clone(),
                time_hhmm: spec.auto_shutdown.time.replace(':', ""),
                time_zone: spec.auto_shutdown.time_zone.clone(),
                notification_email: spec.auto_shutdown.notification_email.clone(),
            },
            provisioning: provisioning_view(spec),
            generator: Generator {
                name: "wcigen",
                version: env!("CARGO_PKG_VERSION"),
            },
            api: API_VERSIONS,
            class: ClassView::new(valid),
        }
    }
}

/// The names of a VM's own resources, from its name: public IP, NIC, OS disk and the
/// auto-shutdown schedule (whose name Azure fixes as `shutdown-computevm-<VM name>`).
fn vm_resource_names(vm_name: &str) -> [String; 4] {
    [
        format!("{vm_name}-pip"),
        format!("{vm_name}-nic"),
        format!("{vm_name}-osdisk"),
        format!("shutdown-computevm-{vm_name}"),
    ]
}

/// The lab's own name, description and tags.
fn lab_info(spec: &LabSpec) -> LabInfo {
    LabInfo {
        name: spec.name.clone(),
        description: spec.description.clone(),
        tags: spec
            .azure
            .tags
            .iter()
            .map(|(k, v)| Tag {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
    }
}

/// The VM: names, size, security type, image (or the baked image), admin user and OS disk.
fn vm_view(valid: &ValidLab) -> VmView {
    let spec = valid.spec();
    let vm = &spec.vm;
    VmView {
        name: vm.name.clone(),
        computer_name: valid.computer_name().to_string(),
        size: vm.size.clone(),
        security_type: match vm.security_type {
            SecurityType::Standard => "Standard",
            SecurityType::TrustedLaunch => "TrustedLaunch",
        },
        trusted_launch: vm.security_type == SecurityType::TrustedLaunch,
        image: ImageView {
            publisher: vm.image.publisher.clone(),
            offer: vm.image.offer.clone(),
            sku: vm.image.sku.clone(),
            version: vm.image.version.clone(),
        },
        admin_username: vm.admin_username.clone(),
        os_disk: OsDiskView {
            storage_account_type: vm.os_disk.storage_account_type.as_str(),
            size_gb: vm.os_disk.size_gb,
        },
        baked: vm.baked_image.is_some(),
        baked_image: vm.baked_image.as_ref().map(|b| {
            let gallery = crate::lab::validate::baked_image_kind(spec)
                == Some(BakedImageKind::GalleryImageVersion);
            BakedImageView {
                id: b.id.clone(),
                kind: if gallery {
                    "galleryImageVersion"
                } else {
                    "managedImage"
                },
                gallery,
            }
        }),
    }
}

/// The Bastion host of a lab reached through Azure Bastion, or `None`.
fn bastion_view(spec: &LabSpec) -> Option<BastionView> {
    (spec.network.access == Access::Bastion).then(|| {
        let basic = spec.network.bastion == BastionSku::Basic;
        BastionView {
            sku: if basic { "Basic" } else { "Developer" },
            basic,
            name: format!("{}-bastion", spec.name),
            public_ip_name: format!("{}-bastion-pip", spec.name),
            subnet_prefix: "10.20.1.0/26",
            source: if basic {
                "10.20.1.0/26"
            } else {
                "168.63.129.16"
            },
        }
    })
}

/// The network: inbound ports and their rules, the sources, the address plan, Bastion.
fn network_view(valid: &ValidLab, bastion: Option<BastionView>) -> NetworkView {
    let spec = valid.spec();
    let ports = &spec.network.inbound_ports;
    NetworkView {
        rdp: ports.contains(&InboundPort::Rdp),
        ssh: ports.contains(&InboundPort::Ssh),
        winrm_https: ports.contains(&InboundPort::WinrmHttps),
        inbound_ports: ports
            .iter()
            .enumerate()
            .map(|(i, p)| PortView {
                name: port_name(*p),
                port: port_number(*p),
                priority: 1000 + 10 * u16::try_from(i).unwrap_or(0),
                rule_name: format!("allow-{}", port_name(*p)),
                description: port_description(*p).into(),
            })
            .collect(),
        allow_from: bastion.as_ref().map_or_else(
            || spec.network.allow_from.clone(),
            |b| vec![b.source.to_string()],
        ),
        allow_from_parameter: bastion.is_none() && spec.network.allow_from.is_empty(),
        address_space: "10.20.0.0/16",
        subnet_prefix: "10.20.0.0/24",
        public_ip: bastion.is_none(),
        winrm_sources: spec.network.allow_from.clone(),
        winrm_sources_parameter: spec.network.allow_from.is_empty(),
        student_rules: student_rules(valid),
        bastion,
    }
}

/// What the script provisions: features, Docker, and the tools with their folders.
fn provisioning_view(spec: &LabSpec) -> ProvisioningView {
    let tools_root = normalize_dir(&spec.provisioning.tools_dir);
    ProvisioningView {
        windows_features: spec.provisioning.windows_features.clone(),
        docker: DockerView {
            enabled: spec.provisioning.docker.enabled,
            version: spec.provisioning.docker.version.clone(),
            install_script_url: spec.provisioning.docker.install_script.url.clone(),
            install_script_sha256: spec
                .provisioning
                .docker
                .install_script
                .sha256
                .to_lowercase(),
            smoke_test_image: spec.provisioning.docker.smoke_test_image.clone(),
        },
        tools_dir: tools_root.clone(),
        tools: spec
            .provisioning
            .tools
            .iter()
            .map(|t| ToolView {
                name: t.name.clone(),
                kind: match t.kind {
                    ToolKind::Zip => "zip",
                    ToolKind::AppInstaller => "appinstaller",
                },
                url: t.url.clone(),
                sha256: t.sha256.as_ref().map(|s| s.to_lowercase()),
                dir: match t.kind {
                    ToolKind::Zip => join_dir(&tools_root, t.dir.as_deref().unwrap_or(&t.name)),
                    ToolKind::AppInstaller => tools_root.clone(),
                },
                add_to_path: t.add_to_path,
                verify_authenticode: t.verify == Some(Verify::Authenticode),
            })
            .collect(),
    }
}

/// The NSG rules of students' own sources: one per student with sources and open port, each
/// admitting those sources to that student's fixed private address only.
fn student_rules(valid: &ValidLab) -> Vec<StudentRuleView> {
    let Some(class) = ClassView::new(valid) else {
        return Vec::new();
    };
    let ports = &valid.spec().network.inbound_ports;
    let mut rules = Vec::new();
    for student in class.students.iter().filter(|s| !s.allow_from.is_empty()) {
        for port in ports {
            let priority = 2000 + 10 * u16::try_from(rules.len()).unwrap_or(0);
            rules.push(StudentRuleView {
                rule_name: format!("allow-{}-{}", port_name(*port), student.id),
                description: format!("{} for {}", port_description(*port), student.id),
                priority,
                port: port_number(*port),
                sources: student.allow_from.clone(),
                destination: student.private_ip.clone().unwrap_or_default(),
            });
        }
    }
    rules
}

/// `C:\bin\` → `C:\bin`; a drive root keeps its backslash (`C:\`).
fn normalize_dir(dir: &str) -> String {
    let trimmed = dir.trim_end_matches('\\');
    if trimmed.ends_with(':') {
        format!("{trimmed}\\")
    } else {
        trimmed.to_string()
    }
}

fn join_dir(root: &str, name: &str) -> String {
    if root.ends_with('\\') {
        format!("{root}{name}")
    } else {
        format!("{root}\\{name}")
    }
}

/// The provisioning script as the IaC targets embed it.
///
/// Every IaC target runs exactly `powershell/provision.ps1` (unless the lab starts from its baked
/// image, `vm.bakedImage`: then only Packer runs it, and the others embed nothing). Bicep, ARM and Terraform send it as
/// the VM's `userData` (gzip, then base64: about a third of the 64 KiB limit, and updatable
/// without recreating the VM), and the CustomScriptExtension's short `commandToExecute` reads it
/// back from the instance metadata service, decodes and decompresses it in memory, and compares
/// its SHA-256 with the script's, which the command carries. Only when they are equal does it
/// write the bytes to `C:\ProgramData\wcigen\provision.ps1` and run it (`-Mode Unattended`,
/// exiting with the script's exit code); an empty, whitespace-only, truncated or altered
/// `userData` (or one from another lab) makes it throw, naming the SHA-256 it expected, with
/// nothing written and nothing run, so the extension reports a failure. (.NET decodes base64 cut
/// at a 4-character boundary and decompresses a truncated gzip stream without an error: only the
/// hash tells.) Embedding the payload in the command itself would make it about 19,000
/// characters: over `cmd.exe`'s 8,191-character line limit, which the extension's command goes
/// through (so the command holds no `"`, `%`, `|`, `<`, `>` or `^` either).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptView {
    /// Where the VM keeps the script (`%ProgramData%\wcigen\provision.ps1`).
    pub vm_path: &'static str,
    /// SHA-256 of the script file's bytes (lowercase hex), e.g. for `forceUpdateTag`.
    pub sha256: String,
    /// gzip of the script file's bytes, base64-encoded.
    pub base64_gzip: String,
    /// The VM's `userData`: the same gzip + base64 payload.
    pub user_data: String,
    /// The complete command for a CustomScriptExtension's `commandToExecute` (unattended mode).
    pub command_to_execute: String,
    /// Size of the script in bytes.
    pub size: usize,
}

/// Instance metadata endpoint of the VM's `userData` (IMDS; reachable only from inside the VM).
const USER_DATA_URL: &str =
    "http://169.254.169.254/metadata/instance/compute/userData?api-version=2021-01-01&format=text";

impl ScriptView {
    /// Build the embedding of the script's exact bytes (including its BOM).
    #[must_use]
    pub fn new(script: &[u8]) -> Self {
        use base64::Engine as _;
        use sha2::Digest as _;
        use std::io::Write as _;

        let mut gz = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::fast());
        // Writing into a Vec cannot fail.
        let _ = gz.write_all(script);
        let compressed = gz.finish().unwrap_or_default();
        let base64_gzip = base64::engine::general_purpose::STANDARD.encode(compressed);
        let sha256 = sha2::Sha256::digest(script)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let command_to_execute = format!(
            "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command \"\
$ErrorActionPreference = 'Stop'; $h = '{sha256}'; \
$u = ([string](Invoke-RestMethod -UseBasicParsing -Headers @{{Metadata = 'true'}} -Uri '{USER_DATA_URL}')).Trim(); \
try {{ $m = New-Object IO.MemoryStream; \
$z = New-Object IO.Compression.GZipStream((New-Object IO.MemoryStream(,[Convert]::FromBase64String($u))), [IO.Compression.CompressionMode]::Decompress); \
$z.CopyTo($m); $z.Close(); $b = $m.ToArray(); \
$s = 'its SHA-256 is ' + [BitConverter]::ToString([Security.Cryptography.SHA256]::Create().ComputeHash($b)).Replace('-', '') }} \
catch {{ $b = $null; $s = 'it does not decode: ' + $_.Exception.Message }} \
if ($s -ne ('its SHA-256 is ' + $h)) {{ throw ('userData ({{0}} characters) does not hold this lab''s provision.ps1 (SHA-256 {{1}}); {{2}}. Nothing was written or run.' -f $u.Length, $h, $s) }} \
$d = Join-Path $env:ProgramData 'wcigen'; $null = New-Item -ItemType Directory -Force -Path $d; \
$p = Join-Path $d 'provision.ps1'; [IO.File]::WriteAllBytes($p, $b); \
& $p -Mode Unattended; exit $LASTEXITCODE\""
        );
        Self {
            vm_path: r"C:\ProgramData\wcigen\provision.ps1",
            sha256,
            user_data: base64_gzip.clone(),
            base64_gzip,
            command_to_execute,
            size: script.len(),
        }
    }
}

/// What a template receives: the lab view plus the embedded script.
#[derive(Clone, Debug, Serialize)]
pub struct TemplateContext {
    /// The lab.
    #[serde(flatten)]
    pub view: LabView,
    /// The provisioning script as embedded by the IaC targets.
    pub script: ScriptView,
    /// Which targets this render writes (for the generated README).
    pub rendered: RenderedTargets,
    /// What the lab costs (for the generated README).
    pub cost: CostView,
    /// The ready step that ends every IaC deployment.
    pub ready: ReadyView,
}

/// The ready step: a managed Run Command (`Microsoft.Compute/virtualMachines/runCommands`,
/// Terraform `azurerm_virtual_machine_run_command`) that every IaC target deploys after the
/// CustomScriptExtension, running `powershell/ready.ps1.j2` inline (`source.script`, about
/// 4 KB). It waits until `state.json` says the whole of `provision.ps1` completed (exit 0), and
/// exits 1 naming the failed step with the log's last lines when provisioning failed or did not
/// finish within [`READY_WAIT_MINUTES`]; `treatFailureAsDeploymentFailure` turns that exit code
/// into a failed deployment.
///
/// Why these numbers: the extension returns when phase 1 is done and a restart is scheduled (in
/// 10 s, so that it comes before this Run Command starts: one that a restart interrupts is never
/// run again); phase 2 (the Docker install, its service, the smoke test's image pull, one retry)
/// runs from the startup task after the restart and takes 5 to 20 minutes. The script's own
/// bound (60 min) comes before Azure's (`timeoutInSeconds`, 70 min), so a lab that hangs fails
/// with the script's report rather than Azure's bare timeout. The azurerm provider sends its
/// create timeout as `timeoutInSeconds` and always sets `treatFailureAsDeploymentFailure` and a
/// synchronous run (`virtual_machine_run_command_resource.go`), so Terraform states the same
/// bound as `timeouts { create = "70m" }`.
///
/// The script only reads `state.json` and the log, so a restart that stops it and an agent that
/// runs it again after the restart both end with the same answer.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadyView {
    /// Name of the Run Command resource.
    pub name: &'static str,
    /// The rendered waiting script (PowerShell, inline in `source.script`).
    pub script: String,
    /// Whether the VM starts from a baked image (the state is the bake's).
    pub baked: bool,
    /// The script's own bound, in minutes.
    pub wait_minutes: u32,
    /// Seconds between two reads of `state.json`.
    pub poll_seconds: u32,
    /// Lines of `provision.log` in a failure report.
    pub log_lines: u32,
    /// Azure's bound on the Run Command (`timeoutInSeconds`).
    pub timeout_seconds: u32,
    /// The same bound as a Terraform duration (`timeouts.create`).
    pub terraform_timeout: String,
}

/// How long the ready step waits for provisioning to complete.
pub const READY_WAIT_MINUTES: u32 = 60;
/// Azure's bound on the ready step: ten minutes more than the script's own.
pub const READY_TIMEOUT_MINUTES: u32 = READY_WAIT_MINUTES + 10;

impl ReadyView {
    /// The ready step of a lab, around its rendered waiting `script`.
    #[must_use]
    pub fn new(script: String, baked: bool) -> Self {
        Self {
            name: "wcigen-ready",
            script,
            baked,
            wait_minutes: READY_WAIT_MINUTES,
            poll_seconds: 15,
            log_lines: 15,
            timeout_seconds: READY_TIMEOUT_MINUTES * 60,
            terraform_timeout: format!("{READY_TIMEOUT_MINUTES}m"),
        }
    }
}

/// What the lab costs: where its price is listed, and the estimate when a price list was given.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostView {
    /// The Retail Prices API URL listing the VM's pay-as-you-go prices in the lab's region.
    pub prices_url: String,
    /// The estimate from `render --prices`, or none.
    pub estimate: Option<EstimateView>,
}

/// An hourly estimate, formatted for reading.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EstimateView {
    /// ISO 4217 currency code.
    pub currency: String,
    /// Price of one hour, as listed (at most six decimals).
    pub per_hour: String,
    /// Hours of a lab day.
    pub day_hours: u32,
    /// Price of a lab day, to the cent.
    pub per_day: String,
    /// Hours of a month (Azure's pricing calculator counts 730).
    pub month_hours: u32,
    /// Price of a month left running, to the cent.
    pub per_month: String,
    /// The day the price took effect.
    pub effective: String,
    /// The whole class's price (every student's VM running), or none without a class.
    pub class: Option<ClassCostView>,
}

/// What a class costs while all its VMs run.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassCostView {
    /// How many VMs.
    pub students: usize,
    /// Price of one hour of the class (at most six decimals).
    pub per_hour: String,
    /// Price of a lab day of the class, to the cent.
    pub per_day: String,
    /// Price of a month of the class left running, to the cent.
    pub per_month: String,
}

impl CostView {
    /// The cost of `lab`, with `price` (already matched to the lab by [`crate::render::prices::estimate`]).
    #[must_use]
    pub fn new(lab: &ValidLab, price: Option<&crate::render::prices::HourlyPrice>) -> Self {
        let spec = lab.spec();
        let estimate = price.map(|p| {
            let (day, month) = (
                crate::render::prices::HOURS_PER_LAB_DAY,
                crate::render::prices::HOURS_PER_MONTH,
            );
            EstimateView {
                currency: p.currency().to_string(),
                per_hour: p.per_hour_text(),
                day_hours: day,
                per_day: p.for_hours_text(day),
                month_hours: month,
                per_month: p.for_hours_text(month),
                effective: p.effective().to_string(),
                class: lab.spec().class.as_ref().map(|_| {
                    let students = lab.students().len();
                    let all = p.times(students as u64);
                    ClassCostView {
                        students,
                        per_hour: all.per_hour_text(),
                        per_day: all.for_hours_text(day),
                        per_month: all.for_hours_text(month),
                    }
                }),
            }
        });
        Self {
            prices_url: crate::render::prices::price_list_url(&spec.vm.size, &spec.azure.location),
            estimate,
        }
    }
}

/// The targets of one render.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RenderedTargets {
    /// `powershell/provision.ps1` is written.
    pub powershell: bool,
    /// `bicep/` is written.
    pub bicep: bool,
    /// `arm/` is written.
    pub arm: bool,
    /// `terraform/` is written.
    pub terraform: bool,
    /// `packer/` is written.
    pub packer: bool,
    /// Every file written (besides the README), in order.
    pub files: Vec<&'static str>,
}
