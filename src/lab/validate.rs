//! Semantic rules: what a structurally correct lab must also satisfy before anything renders.
//!
//! Renderers accept only [`ValidLab`], whose constructor is private to this module, so no
//! target can ever see a lab that skipped these checks. Every rule reports through
//! [`DiagnosticKind`] (wording lives in `diag.rs`) and all rules run, so the user gets the
//! complete list at once. Warnings travel with the valid lab.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::diag::{Diagnostic, DiagnosticKind, Severity};
use crate::lab::facts;
use crate::lab::model::{
    Access, BakedImageKind, BastionSku, HyperVGeneration, InboundPort, LabSpec, SecurityType,
    Students, ToolKind,
};
use crate::lab::source::FieldPath;

/// A lab that passed every rule. Only [`validate`] creates one.
#[derive(Clone, Debug)]
pub struct ValidLab {
    spec: LabSpec,
    warnings: Vec<Diagnostic>,
}

impl ValidLab {
    /// The validated lab.
    #[must_use]
    pub fn spec(&self) -> &LabSpec {
        &self.spec
    }

    /// Warnings found while validating (the lab is still valid).
    #[must_use]
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// The Windows computer name: `vm.computerName`, else the VM name.
    #[must_use]
    pub fn computer_name(&self) -> &str {
        self.spec.vm.effective_computer_name()
    }

    /// The students of the lab's class, in lab order (none without a class).
    #[must_use]
    pub fn students(&self) -> Vec<Student> {
        students(&self.spec, self.computer_name())
    }
}

/// One student of a class: the id and the names derived from the lab's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Student {
    /// The student's id (`01` when the class is a count).
    pub id: String,
    /// Azure name of the student's VM: the VM name, `-`, the id.
    pub vm_name: String,
    /// Windows computer name: the lab's computer name, `-`, the id.
    pub computer_name: String,
    /// The student's own sources (beside the lab's).
    pub allow_from: Vec<String>,
}

/// Largest class: each student is a whole VM (its vCPUs count against the subscription's
/// regional vCPU quota) with its own Standard public IP, and one deployment creates them all;
/// beyond this, split the class into several labs.
pub const MAX_CLASS_SIZE: u64 = 50;

/// Longest student id.
pub const MAX_STUDENT_ID_LEN: usize = 8;

fn student_ids(spec: &LabSpec) -> Vec<String> {
    match spec.class.as_ref().map(|c| &c.students) {
        None => Vec::new(),
        Some(Students::Count(n)) => (1..=(*n).min(MAX_CLASS_SIZE))
            .map(|i| format!("{i:02}"))
            .collect(),
        Some(Students::Ids(ids)) => ids.iter().map(|s| s.id().to_string()).collect(),
    }
}

fn students(spec: &LabSpec, computer_name: &str) -> Vec<Student> {
    let own: Vec<Vec<String>> = match spec.class.as_ref().map(|c| &c.students) {
        Some(Students::Ids(ids)) => ids.iter().map(|s| s.allow_from().to_vec()).collect(),
        _ => Vec::new(),
    };
    student_ids(spec)
        .into_iter()
        .enumerate()
        .map(|(i, id)| Student {
            vm_name: format!("{}-{id}", spec.vm.name),
            computer_name: format!("{computer_name}-{id}"),
            allow_from: own.get(i).cloned().unwrap_or_default(),
            id,
        })
        .collect()
}

/// Student ids: a lowercase letter or digit first and last, hyphens only inside.
fn student_id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_STUDENT_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

/// The class rules: its size, its ids, and the longest names derived from them.
fn check_class(lab: &LabSpec, out: &mut Vec<Diagnostic>) {
    use DiagnosticKind as K;
    let Some(class) = &lab.class else {
        return;
    };
    let mut err = |path: FieldPath, kind: DiagnosticKind| out.push(Diagnostic::at(path, kind));
    let size = match &class.students {
        Students::Count(n) => *n,
        Students::Ids(ids) => ids.len() as u64,
    };
    if size == 0 || size > MAX_CLASS_SIZE {
        err(
            p("class.students"),
            K::ClassSizeOutOfRange {
                size,
                max: MAX_CLASS_SIZE,
            },
        );
        return;
    }
    let mut bad_id = false;
    if let Students::Ids(ids) = &class.students {
        let mut seen = BTreeSet::new();
        for (i, student) in ids.iter().enumerate() {
            let id = student.id();
            let path = p("class.students").index(i);
            if let crate::lab::model::Student::WithSources(own) = student {
                let sources = path.clone().key("allowFrom");
                if lab.network.access == Access::Bastion {
                    err(sources.clone(), K::AccessBastionSources);
                }
                check_source_list(
                    &own.allow_from,
                    false,
                    &sources,
                    &lab.network.inbound_ports,
                    &mut err,
                );
            }
            if !student_id_ok(id) {
                bad_id = true;
                err(
                    path,
                    K::ClassStudentIdInvalid {
                        value: id.to_string(),
                        max: MAX_STUDENT_ID_LEN,
                    },
                );
            } else if !seen.insert(id) {
                bad_id = true;
                err(
                    path,
                    K::ClassStudentDuplicate {
                        value: id.to_string(),
                    },
                );
            }
        }
    }
    if bad_id || computer_name_problem(lab.vm.effective_computer_name()).is_some() {
        return;
    }
    check_class_name_lengths(lab, &mut err);
}

/// The longest names a class derives (the lab's names plus `-ID`) within Azure's limits.
/// Distinct valid ids after the same prefix give distinct names, so only the lengths remain.
fn check_class_name_lengths(lab: &LabSpec, err: &mut impl FnMut(FieldPath, DiagnosticKind)) {
    use DiagnosticKind as K;
    let computer_name = lab.vm.effective_computer_name();
    let all = students(lab, computer_name);
    if let Some(longest) = all.iter().max_by_key(|s| s.computer_name.len()) {
        if longest.computer_name.len() > 15 {
            let at = if lab.vm.computer_name.is_some() {
                "vm.computerName"
            } else {
                "vm.name"
            };
            err(
                p(at),
                K::ClassNameTooLong {
                    name: longest.computer_name.clone(),
                    what: "Windows computer name",
                    limit: 15,
                },
            );
        }
    }
    if let Some(longest) = all.iter().max_by_key(|s| s.vm_name.len()) {
        // The other names add at most `-osdisk` (Azure allows 80) to the VM name.
        if longest.vm_name.len() > 64 {
            err(
                p("vm.name"),
                K::ClassNameTooLong {
                    name: longest.vm_name.clone(),
                    what: "VM name",
                    limit: 64,
                },
            );
        }
    }
}

/// The access rules: what Bastion can reach, and why just-in-time access is refused.
fn check_access(lab: &LabSpec, out: &mut Vec<Diagnostic>) {
    use DiagnosticKind as K;
    let mut err = |path: FieldPath, kind: DiagnosticKind| out.push(Diagnostic::at(path, kind));
    match lab.network.access {
        Access::PublicIp => {}
        Access::Jit => err(p("network.access"), K::AccessJitRefused),
        Access::Bastion => {
            if !lab.network.allow_from.is_empty() {
                err(p("network.allowFrom"), K::AccessBastionSources);
            }
            for (i, port) in lab.network.inbound_ports.iter().enumerate() {
                if *port == InboundPort::WinrmHttps {
                    err(
                        p("network.inboundPorts").index(i),
                        K::AccessBastionPort {
                            port: port_name(*port),
                        },
                    );
                }
            }
            if lab.network.bastion == BastionSku::Developer {
                if lab.class.is_some() {
                    err(p("network.bastion"), K::AccessBastionDeveloperClass);
                } else if !facts::BASTION_DEVELOPER_REGIONS.contains(&lab.azure.location.as_str()) {
                    err(
                        p("network.bastion"),
                        K::AccessBastionDeveloperRegion {
                            region: lab.azure.location.clone(),
                        },
                    );
                }
            }
        }
    }
}

/// Check a parsed lab against every rule.
///
/// # Errors
/// All diagnostics (errors and warnings) when at least one is an error.
pub fn validate(spec: LabSpec) -> Result<ValidLab, Vec<Diagnostic>> {
    let mut out = Vec::new();
    check(&spec, &mut out);
    if out.iter().any(|d| d.severity() == Severity::Error) {
        return Err(out);
    }
    Ok(ValidLab {
        spec,
        warnings: out,
    })
}

fn p(dotted: &str) -> FieldPath {
    FieldPath::parse(dotted)
}

/// Every semantic rule, one family at a time, in a fixed order (the order of the report).
fn check(lab: &LabSpec, out: &mut Vec<Diagnostic>) {
    let mut err = |path: FieldPath, kind: DiagnosticKind| out.push(Diagnostic::at(path, kind));
    check_lab_identity(lab, &mut err);
    check_azure(lab, &mut err);
    check_vm_names(lab, &mut err);
    check_vm_size(lab, &mut err);
    check_vm_image(lab, &mut err);
    check_vm_admin(lab, &mut err);
    check_network(lab, &mut err);
    check_auto_shutdown(lab, &mut err);
    check_features_and_docker(lab, &mut err);
    check_tools(lab, &mut err);
    check_class(lab, out);
    check_access(lab, out);
}

/// The lab's own fields: version, name, description, and every free-text value's spelling.
fn check_lab_identity(lab: &LabSpec, err: &mut impl FnMut(FieldPath, DiagnosticKind)) {
    use DiagnosticKind as K;
    if lab.version != 1 {
        err(p("version"), K::VersionUnsupported { found: lab.version });
    }
    if !is_short_name(&lab.name) {
        err(
            p("name"),
            K::LabNameInvalid {
                value: lab.name.clone(),
            },
        );
    }
    if let Some(description) = &lab.description {
        if description.chars().count() > 1024 {
            err(p("description"), K::TextTooLong { limit: 1024 });
        }
        if description
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            err(p("description"), K::TextControlCharacter);
        }
    }

    // Free text: one Unicode spelling, and no invisible direction overrides in one-line values.
    for (path, value, multiline) in free_text_fields(lab) {
        if let Some(kind) = text_problem(value, multiline) {
            err(path, kind);
        }
    }
}

/// Azure placement: region, resource group, tags.
fn check_azure(lab: &LabSpec, err: &mut impl FnMut(FieldPath, DiagnosticKind)) {
    use DiagnosticKind as K;
    if !facts::REGIONS.contains(&lab.azure.location.as_str()) {
        err(
            p("azure.location"),
            K::RegionUnknown {
                value: lab.azure.location.clone(),
                suggestion: facts::suggest(
                    &lab.azure.location.replace([' ', '-'], ""),
                    facts::REGIONS.iter().copied(),
                ),
            },
        );
    }
    if lab.azure.resource_group.starts_with('-') {
        err(
            p("azure.resourceGroup"),
            K::NameStartsWithHyphen {
                field: "resource group name",
                value: lab.azure.resource_group.clone(),
            },
        );
    } else if let Some(reason) = resource_group_problem(&lab.azure.resource_group) {
        err(
            p("azure.resourceGroup"),
            K::ResourceGroupInvalid {
                value: lab.azure.resource_group.clone(),
                reason,
            },
        );
    }
    if lab.azure.tags.len() > 50 {
        err(
            p("azure.tags"),
            K::TooManyTags {
                count: lab.azure.tags.len(),
            },
        );
    }
    let mut tag_names = BTreeMap::new();
    for (key, value) in &lab.azure.tags {
        let path = p("azure.tags").key(key);
        if let Some(other) = tag_names.insert(key.to_lowercase(), key) {
            err(
                path.clone(),
                K::TagNameCaseDuplicate {
                    key: key.clone(),
                    other: other.clone(),
                },
            );
        }
        if crate::lab::secret::is_secret_name(key) {
            err(path.clone(), K::TagNameSecret { key: key.clone() });
        }
        // Terraform's azurerm provider counts UTF-8 bytes (Go `len`), Azure characters.
        let reason = if key.is_empty() || key.len() > 512 {
            Some("must be 1-512 bytes long (UTF-8, as Terraform counts)")
        } else if key.chars().any(|c| "<>%&\\?/".contains(c)) {
            Some("contains a character Azure refuses in tag names (< > % & \\ ? /)")
        } else if key.to_lowercase().starts_with("microsoft")
            || key.to_lowercase().starts_with("azure")
            || key.to_lowercase().starts_with("windows")
        {
            Some("starts with a prefix Azure reserves (microsoft, azure, windows)")
        } else if value.len() > 256 {
            Some("has a value longer than 256 bytes (UTF-8, as Terraform counts)")
        } else if key.chars().chain(value.chars()).any(char::is_control) {
            Some("contains a control character")
        } else {
            None
        };
        if let Some(reason) = reason {
            err(
                path,
                K::TagInvalid {
                    key: key.clone(),
                    reason,
                },
            );
        }
    }
}

/// The VM's resource and computer names.
fn check_vm_names(lab: &LabSpec, err: &mut impl FnMut(FieldPath, DiagnosticKind)) {
    use DiagnosticKind as K;
    let vm = &lab.vm;
    if let Some(reason) = vm_name_problem(&vm.name) {
        err(
            p("vm.name"),
            K::VmNameInvalid {
                value: vm.name.clone(),
                reason,
            },
        );
    }
    match &vm.computer_name {
        Some(name) if name.starts_with('-') => err(
            p("vm.computerName"),
            K::NameStartsWithHyphen {
                field: "computer name",
                value: name.clone(),
            },
        ),
        Some(name) => {
            if let Some(reason) = computer_name_problem(name) {
                err(
                    p("vm.computerName"),
                    K::ComputerNameInvalid {
                        value: name.clone(),
                        reason,
                        from_vm_name: false,
                    },
                );
            }
        }
        None => {
            if vm_name_problem(&vm.name).is_none() {
                if let Some(reason) = computer_name_problem(&vm.name) {
                    err(
                        p("vm.name"),
                        K::ComputerNameInvalid {
                            value: vm.name.clone(),
                            reason,
                            from_vm_name: true,
                        },
                    );
                }
            }
        }
    }
}

/// The VM's size: a known size that takes Gen2 images, and nested virtualization for Hyper-V.
fn check_vm_size(lab: &LabSpec, err: &mut impl FnMut(FieldPath, DiagnosticKind)) {
    use DiagnosticKind as K;
    let vm = &lab.vm;
    let hyper_v = lab
        .provisioning
        .windows_features
        .iter()
        .any(|f| f.eq_ignore_ascii_case("Hyper-V"));
    if is_size_name(&vm.size) {
        match facts::size_info(&vm.size) {
            Some(info) => {
                if !info.gen2 {
                    err(
                        p("vm.size"),
                        K::VmSizeNoGen2 {
                            value: vm.size.clone(),
                        },
                    );
                }
                if hyper_v && !info.nested_virtualization {
                    err(
                        p("vm.size"),
                        K::VmSizeNoNestedVirtualization {
                            value: vm.size.clone(),
                        },
                    );
                }
            }
            None => {
                let sizes = facts::known_sizes();
                err(
                    p("vm.size"),
                    K::VmSizeUnknown {
                        value: vm.size.clone(),
                        suggestion: facts::suggest(&vm.size, sizes.iter().map(String::as_str)),
                    },
                );
            }
        }
    } else {
        err(
            p("vm.size"),
            K::VmSizeInvalid {
                value: vm.size.clone(),
            },
        );
    }
}

/// The VM's image, baked image, security type and OS disk.
fn check_vm_image(lab: &LabSpec, err: &mut impl FnMut(FieldPath, DiagnosticKind)) {
    use DiagnosticKind as K;
    let vm = &lab.vm;
    for (field, value) in [
        ("publisher", &vm.image.publisher),
        ("offer", &vm.image.offer),
        ("sku", &vm.image.sku),
    ] {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !ok {
            err(
                p("vm.image").key(field),
                K::ImageFieldInvalid {
                    field,
                    value: value.clone(),
                },
            );
        }
    }
    if vm.image.version == "latest" {
        err(p("vm.image.version"), K::ImageVersionLatest);
    } else if !is_dotted_version(&vm.image.version) {
        err(
            p("vm.image.version"),
            K::ImageVersionInvalid {
                value: vm.image.version.clone(),
            },
        );
    }
    if let Some(baked) = &vm.baked_image {
        let id_kind = baked.id.as_deref().map(baked_image_kind_of);
        if let (Some(None), Some(id)) = (id_kind, &baked.id) {
            err(
                p("vm.bakedImage.id"),
                K::BakedImageIdInvalid { value: id.clone() },
            );
        }
        let id_kind = id_kind.flatten();
        if let (Some(kind), Some(found)) = (baked.kind, id_kind) {
            if kind != found {
                err(
                    p("vm.bakedImage.kind"),
                    K::BakedImageKindMismatch {
                        kind: baked_image_kind_name(kind),
                        id_kind: baked_image_kind_name(found),
                    },
                );
            }
        }
        if vm.security_type == SecurityType::TrustedLaunch
            && baked_image_kind(lab) == Some(BakedImageKind::ManagedImage)
        {
            let from_id = baked.kind.is_none();
            let at = if from_id {
                "vm.bakedImage.id"
            } else {
                "vm.bakedImage.kind"
            };
            err(p(at), K::BakedImageManagedTrustedLaunch { from_id });
        }
        if baked.hyper_v_generation == HyperVGeneration::V1 {
            err(p("vm.bakedImage.hyperVGeneration"), K::BakedImageGen1);
        }
    }
    if vm.security_type == SecurityType::TrustedLaunch && !is_gen2_sku(&vm.image.sku) {
        err(
            p("vm.image.sku"),
            K::ImageNotGen2 {
                sku: vm.image.sku.clone(),
            },
        );
    }
    let minimum_disk = if vm.image.sku.contains("smalldisk") {
        30
    } else {
        127
    };
    if vm.os_disk.size_gb < minimum_disk {
        err(
            p("vm.osDisk.sizeGB"),
            K::OsDiskTooSmall {
                value: vm.os_disk.size_gb,
                minimum: minimum_disk,
            },
        );
    } else if vm.os_disk.size_gb > 4095 {
        err(
            p("vm.osDisk.sizeGB"),
            K::OsDiskTooLarge {
                value: vm.os_disk.size_gb,
            },
        );
    }
}

/// The local administrator's user name.
fn check_vm_admin(lab: &LabSpec, err: &mut impl FnMut(FieldPath, DiagnosticKind)) {
    use DiagnosticKind as K;
    let vm = &lab.vm;
    let user = &vm.admin_username;
    if user.starts_with('-') {
        err(
            p("vm.adminUsername"),
            K::NameStartsWithHyphen {
                field: "admin username",
                value: user.clone(),
            },
        );
    } else if let Some(reason) = username_problem(user) {
        err(
            p("vm.adminUsername"),
            K::AdminUsernameInvalid {
                value: user.clone(),
                reason,
            },
        );
    } else if facts::RESERVED_USERNAMES
        .iter()
        .any(|r| r.eq_ignore_ascii_case(user))
    {
        err(
            p("vm.adminUsername"),
            K::AdminUsernameReserved {
                value: user.clone(),
            },
        );
    } else if facts::BUILT_IN_ACCOUNTS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(user))
    {
        err(
            p("vm.adminUsername"),
            K::AdminUsernameBuiltIn {
                value: user.clone(),
            },
        );
    }
}

/// Inbound ports and the source addresses allowed to reach them.
fn check_network(lab: &LabSpec, err: &mut impl FnMut(FieldPath, DiagnosticKind)) {
    use DiagnosticKind as K;
    let mut seen_ports = BTreeSet::new();
    for (i, port) in lab.network.inbound_ports.iter().enumerate() {
        if !seen_ports.insert(*port) {
            err(
                p("network.inboundPorts").index(i),
                K::InboundPortDuplicate {
                    value: port_name(*port).into(),
                },
            );
        }
    }
    if lab.network.inbound_ports.is_empty() {
        err(p("network.inboundPorts"), K::NoInboundPorts);
    }
    let sources = &lab.network.allow_from;
    if sources.iter().any(|s| s == "*") {
        if sources.len() > 1 {
            err(p("network.allowFrom"), K::AllowFromStarMixed);
        } else if !lab.network.inbound_ports.is_empty() {
            let ports = lab
                .network
                .inbound_ports
                .iter()
                .map(|p| port_name(*p).to_string())
                .collect();
            err(p("network.allowFrom[0]"), K::AllowFromAny { ports });
        }
    }
    check_source_list(
        sources,
        true,
        &p("network.allowFrom"),
        &lab.network.inbound_ports,
        err,
    );
}

/// The daily auto-shutdown schedule.
fn check_auto_shutdown(lab: &LabSpec, err: &mut impl FnMut(FieldPath, DiagnosticKind)) {
    use DiagnosticKind as K;
    let shutdown = &lab.auto_shutdown;
    if !is_hh_mm(&shutdown.time) {
        err(
            p("autoShutdown.time"),
            K::ShutdownTimeInvalid {
                value: shutdown.time.clone(),
            },
        );
    }
    if !facts::WINDOWS_TIME_ZONES.contains(&shutdown.time_zone.as_str()) {
        err(
            p("autoShutdown.timeZone"),
            K::TimeZoneUnknown {
                value: shutdown.time_zone.clone(),
                suggestion: facts::suggest(
                    &shutdown.time_zone,
                    facts::WINDOWS_TIME_ZONES.iter().copied(),
                ),
            },
        );
    }
    if let Some(email) = &shutdown.notification_email {
        if !is_email(email) {
            err(
                p("autoShutdown.notificationEmail"),
                K::EmailInvalid {
                    value: email.clone(),
                },
            );
        }
    }
}

/// Windows features, and the Docker install and smoke test.
fn check_features_and_docker(lab: &LabSpec, err: &mut impl FnMut(FieldPath, DiagnosticKind)) {
    use DiagnosticKind as K;
    let prov = &lab.provisioning;
    let mut seen_features = BTreeSet::new();
    for (i, feature) in prov.windows_features.iter().enumerate() {
        let path = p("provisioning.windowsFeatures").index(i);
        let ok = !feature.is_empty()
            && feature.len() <= 128
            && feature.starts_with(|c: char| c.is_ascii_alphanumeric())
            && feature
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        if !ok {
            err(
                path,
                K::FeatureNameInvalid {
                    value: feature.clone(),
                },
            );
        } else if !seen_features.insert(feature.to_lowercase()) {
            err(
                path,
                K::FeatureDuplicate {
                    value: feature.clone(),
                },
            );
        }
    }
    let docker = &prov.docker;
    if docker.enabled && !seen_features.contains("containers") {
        err(p("provisioning.docker.enabled"), K::DockerNeedsContainers);
    }
    if !is_dotted_version(&docker.version) {
        err(
            p("provisioning.docker.version"),
            K::DockerVersionInvalid {
                value: docker.version.clone(),
            },
        );
    }
    check_url(
        &docker.install_script.url,
        &p("provisioning.docker.installScript.url"),
        err,
    );
    if !is_sha256(&docker.install_script.sha256) {
        err(
            p("provisioning.docker.installScript.sha256"),
            K::Sha256Invalid {
                value: docker.install_script.sha256.clone(),
            },
        );
    } else if let Some(why) = moving_content(&docker.install_script.url) {
        err(
            p("provisioning.docker.installScript.sha256"),
            K::Sha256MovingUrl {
                url: docker.install_script.url.clone(),
                why,
            },
        );
    }
    if !is_image_ref(&docker.smoke_test_image) {
        err(
            p("provisioning.docker.smokeTestImage"),
            K::ImageRefInvalid {
                value: docker.smoke_test_image.clone(),
            },
        );
    }
}

/// The tools folder and each tool (zip or appinstaller): names, folders, URLs, hashes, options.
fn check_tools(lab: &LabSpec, err: &mut impl FnMut(FieldPath, DiagnosticKind)) {
    use DiagnosticKind as K;
    let prov = &lab.provisioning;
    let tools_dir_ok = is_windows_abs_dir(&prov.tools_dir);
    if !tools_dir_ok {
        err(
            p("provisioning.toolsDir"),
            K::ToolsDirInvalid {
                value: prov.tools_dir.clone(),
            },
        );
    } else if let Some(reason) = forbidden_tool_folder(&prov.tools_dir) {
        err(
            p("provisioning.toolsDir"),
            K::ToolFolderForbidden {
                value: prov.tools_dir.clone(),
                reason,
            },
        );
    }
    let mut names = BTreeMap::new();
    let mut dirs = BTreeMap::new();
    for (i, tool) in prov.tools.iter().enumerate() {
        let base = p("provisioning.tools").index(i);
        let mut name_reported = false;
        if !is_short_name(&tool.name) {
            err(
                base.key("name"),
                K::ToolNameInvalid {
                    value: tool.name.clone(),
                },
            );
            name_reported = true;
        } else if names.insert(tool.name.clone(), i).is_some() {
            err(
                base.key("name"),
                K::ToolNameDuplicate {
                    value: tool.name.clone(),
                },
            );
            name_reported = true;
        }
        check_url(&tool.url, &base.key("url"), err);
        if let Some(sha) = &tool.sha256 {
            if !is_sha256(sha) {
                err(base.key("sha256"), K::Sha256Invalid { value: sha.clone() });
            } else if let Some(why) = moving_content(&tool.url) {
                err(
                    base.key("sha256"),
                    K::Sha256MovingUrl {
                        url: tool.url.clone(),
                        why,
                    },
                );
            }
        }
        match tool.kind {
            ToolKind::Zip => {
                let dir = tool.dir.as_deref().unwrap_or(&tool.name);
                if tool.dir.is_none() && name_reported {
                    // The folder is the name, already reported.
                } else if let Some(reason) = folder_name_problem(dir) {
                    let path = if tool.dir.is_some() {
                        base.key("dir")
                    } else {
                        base.key("name")
                    };
                    err(
                        path,
                        K::ToolDirInvalid {
                            value: dir.to_string(),
                            reason,
                        },
                    );
                } else if dirs.insert(dir.to_lowercase(), i).is_some() {
                    err(
                        base.key("dir"),
                        K::ToolDirDuplicate {
                            value: dir.to_string(),
                        },
                    );
                } else if tools_dir_ok && forbidden_tool_folder(&prov.tools_dir).is_none() {
                    let full = format!("{}\\{dir}", prov.tools_dir.trim_end_matches('\\'));
                    if let Some(reason) = forbidden_tool_folder(&full) {
                        let path = if tool.dir.is_some() {
                            base.key("dir")
                        } else {
                            base.key("name")
                        };
                        err(
                            path,
                            K::ToolFolderForbidden {
                                value: full,
                                reason,
                            },
                        );
                    }
                }
            }
            ToolKind::AppInstaller => {
                for (option, set) in [
                    ("dir", tool.dir.is_some()),
                    ("addToPath", tool.add_to_path),
                    ("verify", tool.verify.is_some()),
                ] {
                    if set {
                        err(
                            base.key(option),
                            K::ToolOptionNotForKind {
                                option,
                                kind: "appinstaller",
                            },
                        );
                    }
                }
            }
        }
    }
}

/// Why the file behind an `https://` URL changes over time, when its form says so: a pinned
/// SHA-256 for it holds only until upstream moves on.
fn moving_content(url: &str) -> Option<&'static str> {
    let lower = url.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path.split(['?', '#']).next().unwrap_or("");
    if ["aka.ms", "go.microsoft.com", "bit.ly", "tinyurl.com"].contains(&host) {
        Some("a short link that redirects to whatever is current")
    } else if host == "download.sysinternals.com" {
        Some("Sysinternals' download, always the newest release")
    } else if path.contains("/archive/refs/heads/")
        || [
            "/archive/master.zip",
            "/archive/main.zip",
            "/archive/head.zip",
        ]
        .iter()
        .any(|b| path.ends_with(b))
    {
        Some("an archive of a branch, which changes with every commit")
    } else if path.contains("/releases/latest/") || path.split('/').any(|s| s == "latest") {
        Some("the latest release, which changes with every release")
    } else {
        None
    }
}

fn check_url(url: &str, path: &FieldPath, err: &mut impl FnMut(FieldPath, DiagnosticKind)) {
    let parameters = crate::lab::secret::secret_parameters(url);
    if !parameters.is_empty() {
        err(
            path.clone(),
            DiagnosticKind::UrlSecretQuery {
                value: crate::lab::secret::redact_url(url),
                parameters,
            },
        );
    }
    let lower = url.to_ascii_lowercase();
    if !lower.starts_with("https://") {
        err(
            path.clone(),
            DiagnosticKind::UrlNotHttps {
                value: crate::lab::secret::redact_url(url),
            },
        );
        return;
    }
    let rest = &url["https://".len()..];
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let reason = if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("it contains whitespace or a control character")
    } else if url.len() > 2048 {
        Some("it is longer than 2048 characters")
    } else if host.is_empty() || host.contains('@') {
        Some("it has no host name (or embeds credentials)")
    } else if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
    {
        Some("its host name has characters a host name cannot have")
    } else {
        None
    };
    if let Some(reason) = reason {
        err(
            path.clone(),
            DiagnosticKind::UrlInvalid {
                value: crate::lab::secret::redact_url(url),
                reason,
            },
        );
    }
}

/// wcigen's own folder on the VM (`templates/powershell/provision.ps1.j2`: `$StateDir`), in
/// lowercase: the script, its log and state live there.
const WORK_FOLDER: &str = r"c:\programdata\wcigen";

/// Why tools must not go to `folder` (an absolute Windows folder), if they must not: the
/// script replaces a tool's folder and sets its permissions, so it must be a folder of its own
/// on the OS disk.
fn forbidden_tool_folder(folder: &str) -> Option<&'static str> {
    let lower = folder.trim_end_matches('\\').to_ascii_lowercase();
    let under = |root: &str| {
        lower == root
            || lower
                .strip_prefix(root)
                .is_some_and(|rest| rest.starts_with('\\'))
    };
    if lower.starts_with("d:") {
        Some("on the temporary disk `D:`, which Azure wipes when the VM is redeployed, resized or deallocated")
    } else if !lower.starts_with("c:") {
        Some("on a drive the lab VM does not have (it has the OS disk `C:` and the temporary disk `D:`)")
    } else if under(r"c:\windows") {
        Some("inside `C:\\Windows`, which belongs to Windows")
    } else if under(WORK_FOLDER) || WORK_FOLDER.starts_with(&format!("{lower}\\")) {
        Some("wcigen's own folder `C:\\ProgramData\\wcigen` or one that holds it")
    } else if lower.split('\\').any(|segment| {
        segment
            .split_once('~')
            .is_some_and(|(_, rest)| rest.starts_with(|c: char| c.is_ascii_digit()))
    }) {
        Some("written with a short 8.3 name (`~1`), which can stand for any folder")
    } else {
        None
    }
}

/// Lab and tool names: `^[a-z][a-z0-9_-]{0,23}$`.
fn is_short_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name.len() <= 24
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Resource group names: 1-90 characters of `-`, `_`, `.`, `(`, `)`, letters and digits, not
/// ending with `.`. Azure's pattern `^[-\w\._\(\)]+$` takes Unicode letters and digits, but the
/// Terraform target's azurerm provider checks the same pattern with Go's ASCII-only `\w` (and
/// counts bytes), so a name with any other character would fail at `terraform plan`.
fn resource_group_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 90 {
        return Some("must be 1-90 characters long");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.()".contains(c))
    {
        return Some("may contain only ASCII letters and digits, `_`, `-`, `.`, `(` and `)`: Terraform's azurerm provider refuses any other character (Azure itself would take other letters)");
    }
    if name.ends_with('.') {
        return Some("must not end with a period");
    }
    None
}

/// VM resource names (as every target derives other names from it): 1-64 letters, digits,
/// hyphens; starting with a letter or digit; not ending with a hyphen.
fn vm_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 64 {
        return Some("must be 1-64 characters long");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Some("may contain only letters, digits and hyphens");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("must not start or end with a hyphen");
    }
    None
}

/// Windows computer names: at most 15 letters, digits or hyphens, not all digits, no trailing `-`.
fn computer_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 15 {
        return Some("is longer than 15 characters");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Some("may contain only letters, digits and hyphens");
    }
    if name.chars().all(|c| c.is_ascii_digit()) {
        return Some("must not be all digits");
    }
    if name.ends_with('-') {
        return Some("must not end with a hyphen");
    }
    None
}

fn username_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 20 {
        return Some("must be 1-20 bytes long (UTF-8, as Terraform's azurerm provider counts)");
    }
    if name.ends_with('.') {
        return Some("must not end with a period");
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "\"/\\[]:;|=,+*?<>@%".contains(c))
    {
        return Some("contains a character Windows user names cannot have");
    }
    None
}

/// What a baked image id names: a gallery image version or a managed image (`None`: neither).
#[must_use]
pub fn baked_image_kind_of(id: &str) -> Option<BakedImageKind> {
    let segments: Vec<&str> = id.split('/').collect();
    let named = |s: &&&str| !s.is_empty() && !s.chars().any(char::is_whitespace);
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match segments.as_slice() {
        ["", subs, sub, groups, rg, providers, ns, images, name]
            if eq(subs, "subscriptions")
                && eq(groups, "resourceGroups")
                && eq(providers, "providers")
                && eq(ns, "Microsoft.Compute")
                && eq(images, "images")
                && [sub, rg, name].iter().all(named) =>
        {
            Some(BakedImageKind::ManagedImage)
        }
        ["", subs, sub, groups, rg, providers, ns, galleries, gallery, images, definition, versions, version]
            if eq(subs, "subscriptions")
                && eq(groups, "resourceGroups")
                && eq(providers, "providers")
                && eq(ns, "Microsoft.Compute")
                && eq(galleries, "galleries")
                && eq(images, "images")
                && eq(versions, "versions")
                && [sub, rg, gallery, definition, version].iter().all(named) =>
        {
            Some(BakedImageKind::GalleryImageVersion)
        }
        _ => None,
    }
}

/// The kind of a lab's baked image: as written, else what its id names, else what the lab's
/// Packer target publishes (a managed image for Standard, a gallery version for Trusted Launch).
#[must_use]
pub fn baked_image_kind(lab: &LabSpec) -> Option<BakedImageKind> {
    let baked = lab.vm.baked_image.as_ref()?;
    Some(
        baked
            .kind
            .or_else(|| baked.id.as_deref().and_then(baked_image_kind_of))
            .unwrap_or(match lab.vm.security_type {
                SecurityType::Standard => BakedImageKind::ManagedImage,
                SecurityType::TrustedLaunch => BakedImageKind::GalleryImageVersion,
            }),
    )
}

fn baked_image_kind_name(kind: BakedImageKind) -> &'static str {
    match kind {
        BakedImageKind::GalleryImageVersion => "gallery image version",
        BakedImageKind::ManagedImage => "managed image",
    }
}

fn is_size_name(size: &str) -> bool {
    size.strip_prefix("Standard_").is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() <= 48
            && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn is_gen2_sku(sku: &str) -> bool {
    let sku = sku.to_ascii_lowercase();
    sku.contains("azure-edition")
        || sku.ends_with("-g2")
        || sku.contains("-g2-")
        || sku.starts_with("2025-")
}

fn is_dotted_version(version: &str) -> bool {
    let parts: Vec<&str> = version.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 10 && p.chars().all(|c| c.is_ascii_digit()))
}

fn is_hh_mm(time: &str) -> bool {
    let bytes = time.as_bytes();
    bytes.len() == 5
        && bytes[2] == b':'
        && time[..2]
            .parse::<u8>()
            .is_ok_and(|h| h < 24 && bytes[0].is_ascii_digit() && bytes[1].is_ascii_digit())
        && time[3..]
            .parse::<u8>()
            .is_ok_and(|m| m < 60 && bytes[3].is_ascii_digit() && bytes[4].is_ascii_digit())
}

fn is_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && email.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c))
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
}

fn is_sha256(value: &str) -> bool {
    value.len() == 64 && value.chars().all(|c| c.is_ascii_hexdigit())
}

fn is_image_ref(image: &str) -> bool {
    !image.is_empty()
        && image.len() <= 255
        && image.starts_with(|c: char| c.is_ascii_alphanumeric())
        && image
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c))
}

/// One Windows folder name (no separators), as used for `toolsDir` segments and tool `dir`s.
fn folder_name_problem(name: &str) -> Option<&'static str> {
    const RESERVED: &[&str] = &[
        "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
        "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
        // Windows reserves the superscript digits too, and the console's own names.
        "com¹", "com²", "com³", "lpt¹", "lpt²", "lpt³", "conin$", "conout$",
    ];
    if name.is_empty() || name.chars().count() > 128 {
        return Some("must be 1-128 characters long");
    }
    if name == "." || name == ".." {
        return Some("must not be `.` or `..`");
    }
    if name
        .chars()
        .any(|c| c.is_control() || "\\/:*?\"<>|".contains(c))
    {
        return Some("contains a character Windows folder names cannot have");
    }
    if name.contains(';') {
        return Some("contains `;`, which separates the entries of PATH");
    }
    if name.chars().any(|c| matches!(c, '[' | ']' | '`')) {
        return Some("contains `[`, `]` or a backtick, which PowerShell reads as wildcard or escape characters in paths");
    }
    if name.ends_with(' ') || name.ends_with('.') {
        return Some("must not end with a space or a period");
    }
    let stem = name
        .split('.')
        .next()
        .unwrap_or(name)
        .trim_end()
        .to_lowercase();
    if RESERVED.contains(&stem.as_str()) {
        return Some("is a reserved Windows device name");
    }
    None
}

fn is_windows_abs_dir(path: &str) -> bool {
    let bytes = path.as_bytes();
    if bytes.len() < 3
        || !bytes[0].is_ascii_alphabetic()
        || bytes[1] != b':'
        || bytes[2] != b'\\'
        || path.len() > 200
    {
        return false;
    }
    let rest = path[3..].trim_end_matches('\\');
    rest.is_empty()
        || rest
            .split('\\')
            .all(|segment| folder_name_problem(segment).is_none())
}

/// `Ok(None)`: a valid address or CIDR. `Ok(Some(net))`: a CIDR with host bits set.
fn parse_cidr(value: &str) -> Result<Option<String>, &'static str> {
    let (address, prefix) = match value.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (value, None),
    };
    let ip: IpAddr = address
        .parse()
        .map_err(|_| "the address part is not an IPv4 or IPv6 address")?;
    let Some(prefix) = prefix else {
        return Ok(None);
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits: u32 = prefix
        .parse()
        .ok()
        .filter(|b| *b <= max && prefix.chars().all(|c| c.is_ascii_digit()))
        .ok_or("the prefix length is not a number in range")?;
    let network = match ip {
        IpAddr::V4(v4) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    };
    if network == ip {
        Ok(None)
    } else {
        Ok(Some(format!("{network}/{bits}")))
    }
}

/// The addresses an IPv4 address or CIDR (already valid, no host bits) stands for, first and
/// last.
fn ipv4_range(value: &str) -> Option<(u32, u32)> {
    let (address, bits) = match value.split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok()?),
        None => (value, 32),
    };
    let start = u32::from(address.parse::<Ipv4Addr>().ok()?);
    let size = if bits == 0 {
        u32::MAX
    } else {
        (1u32 << (32 - bits)) - 1
    };
    Some((start, start | size))
}

/// A list of sources (`network.allowFrom`, a student's own `allowFrom`) at `at`: each an IPv4
/// address or CIDR without host bits (`"*"` is skipped where the caller judges it, and
/// otherwise invalid like any other word), then
/// duplicates, overlaps and a set that admits every IPv4 address, over the whole list.
fn check_source_list(
    sources: &[String],
    star_judged: bool,
    at: &FieldPath,
    ports: &[InboundPort],
    err: &mut impl FnMut(FieldPath, DiagnosticKind),
) {
    use DiagnosticKind as K;
    let mut ranges = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        if star_judged && source == "*" {
            continue;
        }
        let path = at.clone().index(i);
        match parse_cidr(source) {
            Err(reason) => err(
                path,
                K::CidrInvalid {
                    value: source.clone(),
                    reason,
                },
            ),
            Ok(Some(network)) => err(
                path,
                K::CidrHostBits {
                    value: source.clone(),
                    network,
                },
            ),
            Ok(None) if source.contains(':') => err(
                path,
                K::CidrInvalid {
                    value: source.clone(),
                    reason:
                        "the VM's public IP address is IPv4, so an IPv6 source can never reach it",
                },
            ),
            Ok(None) => {
                if let Some(range) = ipv4_range(source) {
                    ranges.push((range, i));
                }
            }
        }
    }
    check_source_ranges(&ranges, sources, at, ports, err);
}

/// Duplicate and overlapping source ranges, and whether together they admit every IPv4
/// address (as `"*"` does). Sorting first keeps this O(n log n) for any number of sources.
fn check_source_ranges(
    ranges: &[((u32, u32), usize)],
    sources: &[String],
    at: &FieldPath,
    ports: &[InboundPort],
    err: &mut impl FnMut(FieldPath, DiagnosticKind),
) {
    let mut sorted = ranges.to_vec();
    // By start, the widest first, then in lab order.
    sorted.sort_by_key(|&((start, end), i)| (start, std::cmp::Reverse(end), i));
    let mut widest: Option<((u32, u32), usize)> = None;
    // The end of the addresses admitted from 0.0.0.0 on without a gap, if any.
    let mut reach: Option<u32> = None;
    for &((start, end), i) in &sorted {
        if let Some(((w_start, w_end), w)) = widest {
            if start <= w_end {
                let path = at.clone().index(i);
                let (value, other) = (sources[i].clone(), sources[w].clone());
                if (start, end) == (w_start, w_end) {
                    err(path, DiagnosticKind::CidrDuplicate { value, other });
                } else {
                    err(path, DiagnosticKind::CidrOverlap { value, other });
                }
            }
        }
        if widest.is_none_or(|((_, w_end), _)| end > w_end) {
            widest = Some(((start, end), i));
        }
        reach = match reach {
            None if start == 0 => Some(end),
            Some(r) if u64::from(start) <= u64::from(r) + 1 => Some(r.max(end)),
            other => other,
        };
    }
    if reach == Some(u32::MAX) && !ports.is_empty() {
        err(
            at.clone(),
            DiagnosticKind::AllowFromAny {
                ports: ports.iter().map(|p| port_name(*p).to_string()).collect(),
            },
        );
    }
}

/// Every free-text value of a lab with its path; `true` where line breaks are allowed.
fn free_text_fields(lab: &LabSpec) -> Vec<(FieldPath, &str, bool)> {
    let mut out = Vec::new();
    if let Some(description) = &lab.description {
        out.push((p("description"), description.as_str(), true));
    }
    out.push((
        p("azure.resourceGroup"),
        lab.azure.resource_group.as_str(),
        false,
    ));
    for (key, value) in &lab.azure.tags {
        out.push((p("azure.tags").key(key), key.as_str(), false));
        // A secret's value is refused with its tag and never quoted in a message.
        if !crate::lab::secret::is_secret_name(key) {
            out.push((p("azure.tags").key(key), value.as_str(), false));
        }
    }
    out.push((p("vm.adminUsername"), lab.vm.admin_username.as_str(), false));
    if let Some(email) = &lab.auto_shutdown.notification_email {
        out.push((p("autoShutdown.notificationEmail"), email.as_str(), false));
    }
    let prov = &lab.provisioning;
    out.push((p("provisioning.toolsDir"), prov.tools_dir.as_str(), false));
    out.push((
        p("provisioning.docker.installScript.url"),
        prov.docker.install_script.url.as_str(),
        false,
    ));
    for (i, tool) in prov.tools.iter().enumerate() {
        let base = p("provisioning.tools").index(i);
        out.push((base.key("url"), tool.url.as_str(), false));
        if let Some(dir) = &tool.dir {
            out.push((base.key("dir"), dir.as_str(), false));
        }
    }
    out
}

/// Text that is not in Unicode NFC (Terraform and Packer normalize it, the other targets do not,
/// so one tag would name two different tags), or a one-line value with a bidirectional control
/// character (what is displayed would differ from what runs).
fn text_problem(value: &str, multiline: bool) -> Option<DiagnosticKind> {
    use unicode_normalization::{is_nfc, UnicodeNormalization as _};
    if !is_nfc(value) {
        let nfc: String = value.nfc().collect();
        return Some(DiagnosticKind::TextNotNfc {
            nfc: escape_non_ascii(&crate::lab::secret::redact_url(&nfc)),
        });
    }
    let bidi = |c: char| matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if !multiline && value.chars().any(bidi) {
        return Some(DiagnosticKind::TextBidiControl);
    }
    None
}

/// Characters outside printable ASCII written as `\u{...}`, so a composed and a decomposed
/// spelling (which look the same on a terminal) can be told apart.
fn escape_non_ascii(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c.to_string()
            } else {
                format!("\\u{{{:X}}}", c as u32)
            }
        })
        .collect()
}

/// The name a port has in the lab file.
#[must_use]
pub fn port_name(port: InboundPort) -> &'static str {
    match port {
        InboundPort::Rdp => "rdp",
        InboundPort::Ssh => "ssh",
        InboundPort::WinrmHttps => "winrm-https",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules() {
        assert!(is_short_name("wci") && is_short_name("a_b-1"));
        assert!(!is_short_name("Wci") && !is_short_name("1x") && !is_short_name(&"a".repeat(25)));
        assert!(computer_name_problem("wci-ws2022").is_none());
        assert!(computer_name_problem("wci-ws2022-long-name").is_some());
        assert!(computer_name_problem("12345").is_some());
        assert!(resource_group_problem("krnl-yourname-wci").is_none());
        assert!(resource_group_problem("rg.").is_some());
        // Azure would take it; the Terraform target's azurerm provider would not.
        assert!(resource_group_problem("grupo-ñandú(1)").is_some());
        assert!(resource_group_problem("grupo-nandu(1)").is_none());
        assert!(resource_group_problem(&"r".repeat(90)).is_none());
        assert!(resource_group_problem(&"r".repeat(91)).is_some());
        // Terraform counts bytes: 20 characters but 40 bytes.
        assert!(username_problem(&"é".repeat(20)).is_some());
        assert!(username_problem(&"é".repeat(10)).is_none());
    }

    #[test]
    fn forbidden_tool_folders() {
        for folder in [
            r"D:\tools",
            r"E:\tools",
            r"C:\Windows",
            r"c:\WINDOWS\System32\x",
            r"C:\ProgramData\wcigen",
            r"C:\ProgramData\WCIGEN\tools",
            r"C:\ProgramData",
            r"C:\",
            r"C:\PROGRA~3\wcigen",
        ] {
            assert!(forbidden_tool_folder(folder).is_some(), "{folder}");
        }
        for folder in [
            r"C:\bin",
            r"C:\tools\x",
            r"C:\Windows2",
            r"C:\ProgramData\wcigen2",
            r"C:\a~b",
        ] {
            assert!(forbidden_tool_folder(folder).is_none(), "{folder}");
        }
        for name in [
            "CON", "con.txt", "Com1.zip", "LPT9", "COM¹", "conin$", "nul .x",
        ] {
            assert!(folder_name_problem(name).is_some(), "{name}");
        }
    }

    fn source_codes(sources: &[&str]) -> Vec<(&'static str, String)> {
        let sources: Vec<String> = sources.iter().map(|s| (*s).to_string()).collect();
        let ranges: Vec<_> = sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| ipv4_range(s).map(|r| (r, i)))
            .collect();
        let mut out = Vec::new();
        let at = p("network.allowFrom");
        check_source_ranges(
            &ranges,
            &sources,
            &at,
            &[InboundPort::Rdp],
            &mut |path, kind| {
                out.push((kind.code(), path.to_string()));
            },
        );
        out.sort();
        out
    }

    #[test]
    fn source_ranges() {
        assert_eq!(ipv4_range("0.0.0.0/0"), Some((0, u32::MAX)));
        assert_eq!(ipv4_range("10.0.0.0/8"), Some((0x0A00_0000, 0x0AFF_FFFF)));
        assert_eq!(ipv4_range("203.0.113.7"), ipv4_range("203.0.113.7/32"));
        assert!(source_codes(&["203.0.113.0/24", "198.51.100.7"]).is_empty());
        assert_eq!(
            source_codes(&["0.0.0.0/0"]),
            [("allow-from-any", "network.allowFrom".to_string())]
        );
        assert_eq!(
            source_codes(&["0.0.0.0/1", "128.0.0.0/1"]),
            [("allow-from-any", "network.allowFrom".to_string())]
        );
        assert!(source_codes(&["0.0.0.0/1", "128.0.0.0/2"]).is_empty());
        assert_eq!(
            source_codes(&["203.0.113.7", "203.0.113.7/32"]),
            [("cidr-duplicate", "network.allowFrom[1]".to_string())]
        );
        assert_eq!(
            source_codes(&["203.0.113.7", "203.0.113.0/24"]),
            [("cidr-overlap", "network.allowFrom[0]".to_string())]
        );
        // Many sources, each listed twice: one finding per second listing.
        let many: Vec<String> = (0..20_000)
            .map(|i| format!("10.0.{}.{}", i / 2 / 256, i / 2 % 256))
            .collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let codes = source_codes(&refs);
        assert_eq!(codes.len(), 10_000);
        assert!(codes.iter().all(|(code, _)| *code == "cidr-duplicate"));
    }

    #[test]
    fn cidr_rules() {
        assert_eq!(parse_cidr("203.0.113.0/24"), Ok(None));
        assert_eq!(parse_cidr("203.0.113.7"), Ok(None));
        assert_eq!(
            parse_cidr("203.0.113.7/24"),
            Ok(Some("203.0.113.0/24".into()))
        );
        assert!(parse_cidr("203.0.113.0/33").is_err());
        assert!(parse_cidr("example.com").is_err());
        assert_eq!(parse_cidr("2001:db8::/32"), Ok(None));
    }

    #[test]
    fn time_and_paths() {
        assert!(is_hh_mm("19:00") && is_hh_mm("00:59"));
        assert!(
            !is_hh_mm("24:00") && !is_hh_mm("7:00") && !is_hh_mm("19:60") && !is_hh_mm("+1:00")
        );
        assert!(is_windows_abs_dir(r"C:\bin") && is_windows_abs_dir(r"D:\tools\x"));
        assert!(
            !is_windows_abs_dir("bin")
                && !is_windows_abs_dir(r"C:\a\..\b")
                && !is_windows_abs_dir(r"C:\a|b")
        );
    }
}
