//! Rendering: a validated lab → the files of each target, in memory.
//!
//! Templates are embedded in the binary and run in a minijinja environment that starts empty
//! (no `safe`, `tojson` or `escape` to opt out with), fails on anything undefined, and sends every
//! printed value through one formatter. The formatter picks the escaper from the template's
//! folder (`powershell/`, `bicep/`, ...), so a template writes `name = {{ vm.name }}` and the output
//! holds a complete, correctly quoted literal. Nothing here touches the disk.
//!
//! The stage: `ValidLab ─view─▶ LabView (+ prices: the cost) ─templates + escape─▶ files`.
//! May import: `lab` (it renders only a `ValidLab`) and `diag`. Never `output` or the CLI.

pub mod escape;
pub mod prices;
pub mod view;

use std::fmt;

use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State, UndefinedBehavior, Value};
use serde::Serialize;

use crate::lab::validate::ValidLab;
use crate::render::prices::HourlyPrice;
use crate::render::view::{
    CostView, LabView, ReadyView, RenderedTargets, ScriptView, TemplateContext,
};

/// A deployable form of the lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// `powershell/provision.ps1`: the VM's whole set-up, run by every other target.
    Powershell,
    /// `bicep/main.bicep` + parameters: `az deployment group create`.
    Bicep,
    /// `arm/azuredeploy.json` + parameters: the portal's "Deploy a custom template".
    Arm,
    /// `terraform/*.tf` (azurerm 4.x): `terraform init && terraform apply`.
    Terraform,
    /// `packer/lab.pkr.hcl` (azure-arm): `packer build` bakes the lab into an image.
    Packer,
}

impl Target {
    /// Every target wcigen renders, in output order.
    pub const ALL: &'static [Target] = &[
        Target::Powershell,
        Target::Bicep,
        Target::Arm,
        Target::Terraform,
        Target::Packer,
    ];

    /// The target's folder in the output directory.
    #[must_use]
    pub fn dir(self) -> &'static str {
        match self {
            Target::Powershell => "powershell",
            Target::Bicep => "bicep",
            Target::Arm => "arm",
            Target::Terraform => "terraform",
            Target::Packer => "packer",
        }
    }

    /// (output path, template name, encoding) of each file of the target.
    fn files(self) -> &'static [(&'static str, &'static str, Encoding)] {
        match self {
            Target::Powershell => &[(
                "powershell/provision.ps1",
                "powershell/provision.ps1.j2",
                Encoding::Utf8Bom,
            )],
            Target::Bicep => &[
                ("bicep/main.bicep", "bicep/main.bicep.j2", Encoding::Utf8),
                (
                    "bicep/main.parameters.json",
                    "bicep/main.parameters.json.j2",
                    Encoding::Utf8,
                ),
                (
                    "bicep/main.bicepparam",
                    "bicep/main.bicepparam.j2",
                    Encoding::Utf8,
                ),
            ],
            Target::Arm => &[
                (
                    "arm/azuredeploy.json",
                    "arm/azuredeploy.json.j2",
                    Encoding::Utf8,
                ),
                (
                    "arm/azuredeploy.parameters.json",
                    "arm/azuredeploy.parameters.json.j2",
                    Encoding::Utf8,
                ),
            ],
            Target::Terraform => &[
                (
                    "terraform/versions.tf",
                    "terraform/versions.tf.j2",
                    Encoding::Utf8,
                ),
                (
                    "terraform/variables.tf",
                    "terraform/variables.tf.j2",
                    Encoding::Utf8,
                ),
                ("terraform/main.tf", "terraform/main.tf.j2", Encoding::Utf8),
                (
                    "terraform/outputs.tf",
                    "terraform/outputs.tf.j2",
                    Encoding::Utf8,
                ),
                (
                    "terraform/terraform.tfvars.example",
                    "terraform/terraform.tfvars.example.j2",
                    Encoding::Utf8,
                ),
            ],
            Target::Packer => &[
                (
                    "packer/lab.pkr.hcl",
                    "packer/lab.pkr.hcl.j2",
                    Encoding::Utf8,
                ),
                (
                    "packer/variables.pkr.hcl",
                    "packer/variables.pkr.hcl.j2",
                    Encoding::Utf8,
                ),
                (
                    "packer/lab.pkrvars.hcl.example",
                    "packer/lab.pkrvars.hcl.example.j2",
                    Encoding::Utf8,
                ),
            ],
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dir())
    }
}

/// How a file's text becomes bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    /// UTF-8 without BOM (JSON, Bicep, HCL: the HCL spec forbids a BOM).
    Utf8,
    /// UTF-8 with BOM: Windows PowerShell 5.1 reads BOM-less scripts in the ANSI code page,
    /// where UTF-8 continuation bytes can turn into quote characters.
    Utf8Bom,
}

/// The embedded templates: (name, source). A test checks this matches `templates/`.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "powershell/provision.ps1.j2",
        include_str!("../../templates/powershell/provision.ps1.j2"),
    ),
    (
        "powershell/helpers/log-state.ps1.j2",
        include_str!("../../templates/powershell/helpers/log-state.ps1.j2"),
    ),
    (
        "powershell/helpers/paths.ps1.j2",
        include_str!("../../templates/powershell/helpers/paths.ps1.j2"),
    ),
    (
        "powershell/helpers/download.ps1.j2",
        include_str!("../../templates/powershell/helpers/download.ps1.j2"),
    ),
    (
        "powershell/helpers/native-command.ps1.j2",
        include_str!("../../templates/powershell/helpers/native-command.ps1.j2"),
    ),
    (
        "powershell/helpers/firewall.ps1.j2",
        include_str!("../../templates/powershell/helpers/firewall.ps1.j2"),
    ),
    (
        "powershell/helpers/machine-path.ps1.j2",
        include_str!("../../templates/powershell/helpers/machine-path.ps1.j2"),
    ),
    (
        "powershell/helpers/script-files.ps1.j2",
        include_str!("../../templates/powershell/helpers/script-files.ps1.j2"),
    ),
    (
        "powershell/steps/continuation.ps1.j2",
        include_str!("../../templates/powershell/steps/continuation.ps1.j2"),
    ),
    (
        "powershell/steps/preflight.ps1.j2",
        include_str!("../../templates/powershell/steps/preflight.ps1.j2"),
    ),
    (
        "powershell/steps/feature.ps1.j2",
        include_str!("../../templates/powershell/steps/feature.ps1.j2"),
    ),
    (
        "powershell/steps/openssh-server.ps1.j2",
        include_str!("../../templates/powershell/steps/openssh-server.ps1.j2"),
    ),
    (
        "powershell/steps/winrm-https.ps1.j2",
        include_str!("../../templates/powershell/steps/winrm-https.ps1.j2"),
    ),
    (
        "powershell/steps/tool-zip.ps1.j2",
        include_str!("../../templates/powershell/steps/tool-zip.ps1.j2"),
    ),
    (
        "powershell/steps/tool-appinstaller.ps1.j2",
        include_str!("../../templates/powershell/steps/tool-appinstaller.ps1.j2"),
    ),
    (
        "powershell/steps/tool.ps1.j2",
        include_str!("../../templates/powershell/steps/tool.ps1.j2"),
    ),
    (
        "powershell/steps/reboot.ps1.j2",
        include_str!("../../templates/powershell/steps/reboot.ps1.j2"),
    ),
    (
        "powershell/steps/docker-install.ps1.j2",
        include_str!("../../templates/powershell/steps/docker-install.ps1.j2"),
    ),
    (
        "powershell/steps/docker-service.ps1.j2",
        include_str!("../../templates/powershell/steps/docker-service.ps1.j2"),
    ),
    (
        "powershell/steps/docker-smoke-test.ps1.j2",
        include_str!("../../templates/powershell/steps/docker-smoke-test.ps1.j2"),
    ),
    (
        "powershell/helpers/run-state.ps1.j2",
        include_str!("../../templates/powershell/helpers/run-state.ps1.j2"),
    ),
    (
        "powershell/helpers/run-lock.ps1.j2",
        include_str!("../../templates/powershell/helpers/run-lock.ps1.j2"),
    ),
    (
        "powershell/ready.ps1.j2",
        include_str!("../../templates/powershell/ready.ps1.j2"),
    ),
    (
        "bicep/main.bicep.j2",
        include_str!("../../templates/bicep/main.bicep.j2"),
    ),
    (
        "bicep/parts/parameters.bicep.j2",
        include_str!("../../templates/bicep/parts/parameters.bicep.j2"),
    ),
    (
        "bicep/parts/variables.bicep.j2",
        include_str!("../../templates/bicep/parts/variables.bicep.j2"),
    ),
    (
        "bicep/parts/network.bicep.j2",
        include_str!("../../templates/bicep/parts/network.bicep.j2"),
    ),
    (
        "bicep/parts/vm.bicep.j2",
        include_str!("../../templates/bicep/parts/vm.bicep.j2"),
    ),
    (
        "bicep/parts/provision.bicep.j2",
        include_str!("../../templates/bicep/parts/provision.bicep.j2"),
    ),
    (
        "bicep/parts/shutdown.bicep.j2",
        include_str!("../../templates/bicep/parts/shutdown.bicep.j2"),
    ),
    (
        "bicep/parts/outputs.bicep.j2",
        include_str!("../../templates/bicep/parts/outputs.bicep.j2"),
    ),
    (
        "bicep/main.parameters.json.j2",
        include_str!("../../templates/bicep/main.parameters.json.j2"),
    ),
    (
        "bicep/main.bicepparam.j2",
        include_str!("../../templates/bicep/main.bicepparam.j2"),
    ),
    (
        "arm/azuredeploy.json.j2",
        include_str!("../../templates/arm/azuredeploy.json.j2"),
    ),
    (
        "arm/parts/params.json.j2",
        include_str!("../../templates/arm/parts/params.json.j2"),
    ),
    (
        "arm/parts/variables.json.j2",
        include_str!("../../templates/arm/parts/variables.json.j2"),
    ),
    (
        "arm/parts/network.json.j2",
        include_str!("../../templates/arm/parts/network.json.j2"),
    ),
    (
        "arm/parts/vm.json.j2",
        include_str!("../../templates/arm/parts/vm.json.j2"),
    ),
    (
        "arm/parts/provision.json.j2",
        include_str!("../../templates/arm/parts/provision.json.j2"),
    ),
    (
        "arm/parts/shutdown.json.j2",
        include_str!("../../templates/arm/parts/shutdown.json.j2"),
    ),
    (
        "arm/parts/outputs.json.j2",
        include_str!("../../templates/arm/parts/outputs.json.j2"),
    ),
    (
        "arm/azuredeploy.parameters.json.j2",
        include_str!("../../templates/arm/azuredeploy.parameters.json.j2"),
    ),
    (
        "terraform/versions.tf.j2",
        include_str!("../../templates/terraform/versions.tf.j2"),
    ),
    (
        "terraform/variables.tf.j2",
        include_str!("../../templates/terraform/variables.tf.j2"),
    ),
    (
        "terraform/main.tf.j2",
        include_str!("../../templates/terraform/main.tf.j2"),
    ),
    (
        "terraform/parts/locals.tf.j2",
        include_str!("../../templates/terraform/parts/locals.tf.j2"),
    ),
    (
        "terraform/parts/network.tf.j2",
        include_str!("../../templates/terraform/parts/network.tf.j2"),
    ),
    (
        "terraform/parts/vm.tf.j2",
        include_str!("../../templates/terraform/parts/vm.tf.j2"),
    ),
    (
        "terraform/parts/provision.tf.j2",
        include_str!("../../templates/terraform/parts/provision.tf.j2"),
    ),
    (
        "terraform/parts/shutdown.tf.j2",
        include_str!("../../templates/terraform/parts/shutdown.tf.j2"),
    ),
    (
        "terraform/outputs.tf.j2",
        include_str!("../../templates/terraform/outputs.tf.j2"),
    ),
    (
        "terraform/terraform.tfvars.example.j2",
        include_str!("../../templates/terraform/terraform.tfvars.example.j2"),
    ),
    (
        "packer/lab.pkr.hcl.j2",
        include_str!("../../templates/packer/lab.pkr.hcl.j2"),
    ),
    (
        "packer/variables.pkr.hcl.j2",
        include_str!("../../templates/packer/variables.pkr.hcl.j2"),
    ),
    (
        "packer/lab.pkrvars.hcl.example.j2",
        include_str!("../../templates/packer/lab.pkrvars.hcl.example.j2"),
    ),
    (
        "readme/README.md.j2",
        include_str!("../../templates/readme/README.md.j2"),
    ),
    (
        "readme/parts/intro.md.j2",
        include_str!("../../templates/readme/parts/intro.md.j2"),
    ),
    (
        "readme/parts/class.md.j2",
        include_str!("../../templates/readme/parts/class.md.j2"),
    ),
    (
        "readme/parts/what-is-here.md.j2",
        include_str!("../../templates/readme/parts/what-is-here.md.j2"),
    ),
    (
        "readme/parts/security-type.md.j2",
        include_str!("../../templates/readme/parts/security-type.md.j2"),
    ),
    (
        "readme/parts/before-first-deployment.md.j2",
        include_str!("../../templates/readme/parts/before-first-deployment.md.j2"),
    ),
    (
        "readme/parts/deploy-bicep.md.j2",
        include_str!("../../templates/readme/parts/deploy-bicep.md.j2"),
    ),
    (
        "readme/parts/deploy-arm.md.j2",
        include_str!("../../templates/readme/parts/deploy-arm.md.j2"),
    ),
    (
        "readme/parts/deploy-terraform.md.j2",
        include_str!("../../templates/readme/parts/deploy-terraform.md.j2"),
    ),
    (
        "readme/parts/ready.md.j2",
        include_str!("../../templates/readme/parts/ready.md.j2"),
    ),
    (
        "readme/parts/packer.md.j2",
        include_str!("../../templates/readme/parts/packer.md.j2"),
    ),
    (
        "readme/parts/connect.md.j2",
        include_str!("../../templates/readme/parts/connect.md.j2"),
    ),
    (
        "readme/parts/watch.md.j2",
        include_str!("../../templates/readme/parts/watch.md.j2"),
    ),
    (
        "readme/parts/costs.md.j2",
        include_str!("../../templates/readme/parts/costs.md.j2"),
    ),
    (
        "readme/parts/stop-paying.md.j2",
        include_str!("../../templates/readme/parts/stop-paying.md.j2"),
    ),
    (
        "readme/fetch-prices.ps1.j2",
        include_str!("../../templates/readme/fetch-prices.ps1.j2"),
    ),
];

/// One rendered file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedFile {
    /// Path relative to the output folder, with `/` separators.
    pub path: String,
    /// File content.
    pub bytes: Vec<u8>,
}

impl RenderedFile {
    /// The content as text (without a BOM).
    #[must_use]
    pub fn text(&self) -> &str {
        let bytes = self
            .bytes
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(&self.bytes);
        std::str::from_utf8(bytes).unwrap_or("")
    }
}

/// A template failed to render (a defect in wcigen, never in the lab).
#[derive(Debug)]
pub struct RenderError {
    /// The template.
    pub template: String,
    /// minijinja's description, with the template line.
    pub detail: String,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "internal error rendering {}: {}",
            self.template, self.detail
        )
    }
}

impl std::error::Error for RenderError {}

/// Which escaper a template's output needs, by its folder and file name.
///
/// A `.ps1.j2` template is PowerShell wherever it is: the generated README includes
/// `readme/fetch-prices.ps1.j2` for its PowerShell command, which minijinja renders with that
/// template's own escaper.
fn escape_mode(name: &str) -> AutoEscape {
    if name.ends_with(".ps1.j2") {
        return AutoEscape::Custom("powershell");
    }
    let mode = match name.split('/').next().unwrap_or("") {
        "powershell" => "powershell",
        "bicep" if name.ends_with(".json.j2") => "json",
        "bicep" => "bicep",
        "arm" if name.ends_with("parameters.json.j2") => "json",
        "arm" => "arm",
        "terraform" | "packer" => "hcl",
        "readme" => "shell",
        _ => "unknown",
    };
    AutoEscape::Custom(mode)
}

/// The single place where template values become output text.
fn format_value(
    out: &mut minijinja::Output<'_>,
    state: &State<'_, '_>,
    value: &Value,
) -> Result<(), Error> {
    let AutoEscape::Custom(mode) = state.auto_escape() else {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "auto-escaping was turned off; wcigen templates cannot print raw values",
        ));
    };
    if value.is_safe() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "safe strings are not allowed in wcigen templates",
        ));
    }
    if let Some(PropertyName(name)) = value.downcast_object_ref::<PropertyName>() {
        let text = match mode {
            "bicep" => escape::bicep_property_name(name),
            "arm" => escape::arm_property_name(name),
            "json" => escape::json_string(name),
            "hcl" => escape::hcl(name),
            "powershell" => escape::powershell(name),
            _ => return Err(unknown_mode(mode)),
        };
        return out
            .write_str(&text)
            .map_err(|_| Error::new(ErrorKind::WriteFailure, "write failed"));
    }
    let text = match value.kind() {
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default();
            match mode {
                "powershell" => escape::powershell(s),
                "bicep" => escape::bicep(s),
                "arm" => escape::arm_string(s),
                "json" => escape::json_string(s),
                "hcl" => escape::hcl(s),
                "shell" => escape::shell_word(s),
                _ => return Err(unknown_mode(mode)),
            }
        }
        ValueKind::Bool => {
            let b = value.is_true();
            match mode {
                "powershell" => if b { "$true" } else { "$false" }.to_string(),
                "bicep" | "arm" | "json" | "hcl" | "shell" => b.to_string(),
                _ => return Err(unknown_mode(mode)),
            }
        }
        ValueKind::None => match mode {
            "powershell" => "$null".into(),
            "bicep" | "arm" | "json" | "hcl" => "null".into(),
            "shell" => String::new(),
            _ => return Err(unknown_mode(mode)),
        },
        ValueKind::Number => match i64::try_from(value.clone()) {
            Ok(n) => n.to_string(),
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "only integers can be printed",
                ))
            }
        },
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "cannot print a {} value; loop over it in the template",
                    value.kind()
                ),
            ))
        }
    };
    out.write_str(&text)
        .map_err(|_| Error::new(ErrorKind::WriteFailure, "write failed"))
}

fn unknown_mode(mode: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("template folder has no escaper (mode `{mode}`)"),
    )
}

/// A value printed as an object property name: `{{ tag.key|property_name }}`. The filter only
/// marks the role; the formatter writes the name as the template's language wants it (bare when
/// Bicep allows, else quoted), so the escaping stays in one place.
#[derive(Debug)]
struct PropertyName(String);

impl minijinja::value::Object for PropertyName {}

fn property_name_filter(name: String) -> Value {
    Value::from_object(PropertyName(name))
}

/// Build the template environment (see the module docs for why each setting).
///
/// # Errors
/// A template that does not compile.
pub fn environment() -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::empty();
    // The escape mode is fixed when a template is added: set the callback first.
    env.set_auto_escape_callback(escape_mode);
    env.set_formatter(format_value);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_debug(true);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.add_test("none", |v: Value| v.is_none());
    env.add_test("defined", |v: Value| !v.is_undefined());
    env.add_filter("property_name", property_name_filter);
    for (name, source) in TEMPLATES {
        env.add_template(name, source).map_err(|e| RenderError {
            template: (*name).to_string(),
            detail: format!("{e:#}"),
        })?;
    }
    Ok(env)
}

/// Render one template to text.
fn render_template(
    env: &Environment<'_>,
    template: &str,
    context: &impl Serialize,
) -> Result<String, RenderError> {
    let wrap = |e: Error| RenderError {
        template: template.to_string(),
        detail: format!("{e:#}"),
    };
    env.get_template(template)
        .map_err(wrap)?
        .render(context)
        .map_err(wrap)
}

fn encode(text: &str, encoding: Encoding) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len() + 3);
    if encoding == Encoding::Utf8Bom {
        bytes.extend_from_slice(b"\xEF\xBB\xBF");
    }
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// The bytes of `powershell/provision.ps1` for a lab (what every IaC target embeds).
///
/// # Errors
/// A template defect.
pub fn provision_script(env: &Environment<'_>, view: &LabView) -> Result<Vec<u8>, RenderError> {
    Ok(encode(
        &render_template(env, "powershell/provision.ps1.j2", &script_context(view))?,
        Encoding::Utf8Bom,
    ))
}

/// Azure's limit of a VM's `userData`, the base64 text: "The size can't exceed 64 KB"
/// (Microsoft Learn, "User Data for Azure Virtual Machine").
pub const USER_DATA_LIMIT: usize = 64 * 1024;

/// The last check of a lab, which only rendering can make: the `userData` the IaC targets send
/// (the lab's `provision.ps1`, gzip, base64: [`ScriptView`]) fits Azure's limit. It lives here,
/// not in `validate`, because it renders the script (the lab stage never imports a later one).
///
/// # Errors
/// The lab's warnings and a `user-data-too-large` error with the size.
pub fn check_user_data(lab: ValidLab) -> Result<ValidLab, Vec<crate::diag::Diagnostic>> {
    let bytes = environment()
        .ok()
        .and_then(|env| provision_script(&env, &LabView::new(&lab)).ok())
        .map(|script| ScriptView::new(&script).user_data.len());
    match bytes {
        Some(bytes) if bytes > USER_DATA_LIMIT => {
            let mut out = lab.warnings().to_vec();
            out.push(crate::diag::Diagnostic::at(
                crate::lab::source::FieldPath::parse("provisioning"),
                crate::diag::DiagnosticKind::UserDataTooLarge {
                    bytes,
                    limit: USER_DATA_LIMIT,
                },
            ));
            Err(out)
        }
        _ => Ok(lab),
    }
}

/// The text of the ready step's waiting script (see [`ReadyView`]), which the IaC targets send
/// inline; the PowerShell escaper writes its lab values, the target's escaper then quotes it.
///
/// # Errors
/// A template defect.
pub fn ready_script(env: &Environment<'_>, view: &LabView) -> Result<String, RenderError> {
    render_template(env, "powershell/ready.ps1.j2", &script_context(view))
}

/// What a script template sees: the same context shape as every other template.
fn script_context(view: &LabView) -> TemplateContext {
    TemplateContext {
        view: view.clone(),
        script: ScriptView::new(b""),
        rendered: RenderedTargets::default(),
        cost: CostView {
            prices_url: String::new(),
            estimate: None,
        },
        ready: ReadyView::new(String::new(), false),
    }
}

/// Render the given targets of a validated lab, in a stable order, plus `README.md`, the guide
/// to the rendered tree.
///
/// # Errors
/// A template defect.
pub fn render(lab: &ValidLab, targets: &[Target]) -> Result<Vec<RenderedFile>, RenderError> {
    render_with_price(lab, targets, None)
}

/// [`render`], with the lab's hourly price (from [`crate::render::prices::estimate`]) stated in the
/// generated README.
///
/// # Errors
/// A template defect, or a price that is not the lab's (size and region must match).
pub fn render_with_price(
    lab: &ValidLab,
    targets: &[Target],
    price: Option<&HourlyPrice>,
) -> Result<Vec<RenderedFile>, RenderError> {
    if let Some(p) = price {
        let spec = lab.spec();
        if p.size() != spec.vm.size || p.region() != spec.azure.location {
            return Err(RenderError {
                template: "readme/README.md.j2".into(),
                detail: format!(
                    "the price is for {} in {}, the lab is {} in {}",
                    p.size(),
                    p.region(),
                    spec.vm.size,
                    spec.azure.location
                ),
            });
        }
    }
    let env = environment()?;
    let view = LabView::new(lab);
    let script = provision_script(&env, &view)?;
    let ready = ReadyView::new(ready_script(&env, &view)?, view.vm.baked);
    let mut targets = targets.to_vec();
    targets.sort();
    targets.dedup();
    let rendered = RenderedTargets {
        powershell: targets.contains(&Target::Powershell),
        bicep: targets.contains(&Target::Bicep),
        arm: targets.contains(&Target::Arm),
        terraform: targets.contains(&Target::Terraform),
        packer: targets.contains(&Target::Packer),
        files: targets
            .iter()
            .flat_map(|t| t.files().iter().map(|(path, ..)| *path))
            .collect(),
    };
    let context = TemplateContext {
        view,
        script: ScriptView::new(&script),
        rendered,
        cost: CostView::new(lab, price),
        ready,
    };
    let mut files = Vec::new();
    for target in targets {
        for (path, template, encoding) in target.files() {
            let bytes = if *template == "powershell/provision.ps1.j2" {
                script.clone()
            } else {
                encode(&render_template(&env, template, &context)?, *encoding)
            };
            files.push(RenderedFile {
                path: (*path).to_string(),
                bytes,
            });
        }
    }
    let readme = render_template(&env, "readme/README.md.j2", &context)?;
    files.push(RenderedFile {
        path: "README.md".into(),
        bytes: encode(&readme, Encoding::Utf8),
    });
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::environment;

    /// The README's PowerShell command is rendered by the PowerShell escaper, not the README's
    /// shell one, even though the README includes it: `'` is doubled, `$` stays literal.
    #[test]
    fn an_included_ps1_template_keeps_its_own_escaper() {
        let mut env = environment().unwrap();
        env.add_template(
            "readme/probe.md.j2",
            "{{ cost.pricesUrl }}\n{% include \"readme/fetch-prices.ps1.j2\" %}",
        )
        .unwrap();
        let ctx = minijinja::context! { cost => minijinja::context! { pricesUrl => "u?$f='x'" } };
        let text = env
            .get_template("readme/probe.md.j2")
            .unwrap()
            .render(ctx)
            .unwrap();
        assert_eq!(
            text,
            "\"u?\\$f='x'\"\nInvoke-WebRequest -UseBasicParsing -OutFile prices.json -Uri 'u?$f=''x'''\n"
        );
    }
}
