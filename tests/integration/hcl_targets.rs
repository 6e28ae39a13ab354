//! The Terraform (azurerm 4.x) and Packer (azure-arm 2.x) targets (`terraform/`, `packer/`).
//!
//! What is proven here, for every `examples/*.yaml` and for the extra labs below:
//! - snapshots of every file (the embedded script payload and its hash are redacted, see
//!   [`redact`]; the payload is checked byte for byte instead);
//! - every file parses with hcl-rs, and lab text comes back out of it unchanged (the hostile lab);
//! - the templates never quote around a printed value and never print into a comment;
//! - Terraform: the CustomScriptExtension's `protected_settings` command decodes (base64 →
//!   gunzip) to `powershell/provision.ps1` byte for byte and appears nowhere else; the password is
//!   a sensitive variable without default; the sources variable is required exactly when the lab
//!   lists none; the validation lists equal wcigen's own facts (regions, reserved user names);
//! - Packer: the embedded script decodes to `powershell/provision.ps1` byte for byte and its
//!   SHA-256 is checked on the VM; the build runs it Orchestrated with restarts in between, then
//!   generalizes; Trusted Launch publishes to a gallery, Standard captures a managed image;
//! - "the same lab everywhere": ARM, Terraform and Packer state the same facts, or say why not
//!   ([`Fact::NotStated`]) — see [`same_lab_in_arm_terraform_and_packer`].
//!
//! The real tools (`terraform fmt`, `packer fmt`, `packer validate`, checkov) run from `.ci/`.

use std::collections::BTreeMap;
use std::io::Read as _;

use base64::Engine as _;
use hcl::eval::{Context, Evaluate as _, FuncArgs, FuncDef, ParamType};
use hcl::expr::{Expression, ObjectKey, TraversalOperator};
use hcl::{Block, Body};
use sha2::Digest as _;
use wcigen::view::{LabView, ScriptView};

use crate::common::{
    all_labs, conformance_reference, example_name, examples, file, one_vm_labs, render_file,
    Rendered,
};

const TF_VERSIONS: &str = "terraform/versions.tf";
const TF_VARIABLES: &str = "terraform/variables.tf";
const TF_MAIN: &str = "terraform/main.tf";
const TF_OUTPUTS: &str = "terraform/outputs.tf";
const TF_VARS_EXAMPLE: &str = "terraform/terraform.tfvars.example";
const TF_MODULE: [&str; 4] = [TF_VERSIONS, TF_VARIABLES, TF_MAIN, TF_OUTPUTS];
const PK_LAB: &str = "packer/lab.pkr.hcl";
const PK_VARIABLES: &str = "packer/variables.pkr.hcl";
const PK_VARS_EXAMPLE: &str = "packer/lab.pkrvars.hcl.example";
const PK_TEMPLATE: [&str; 2] = [PK_LAB, PK_VARIABLES];
const ARM: &str = "arm/azuredeploy.json";
const SCRIPT: &str = "powershell/provision.ps1";
/// Every file of the two targets.
const FILES: [&str; 8] = [
    TF_VERSIONS,
    TF_VARIABLES,
    TF_MAIN,
    TF_OUTPUTS,
    TF_VARS_EXAMPLE,
    PK_LAB,
    PK_VARIABLES,
    PK_VARS_EXAMPLE,
];

/// The text with the embedded script payload and its SHA-256 replaced by markers: both change
/// with every edit of the PowerShell template and are checked byte for byte elsewhere.
fn redact(text: &str, script: &[u8]) -> String {
    let embedding = ScriptView::new(script);
    text.replace(
        &embedding.base64_gzip,
        "<gzip+base64 of powershell/provision.ps1>",
    )
    .replace(&embedding.sha256, "<sha256 of powershell/provision.ps1>")
}

#[test]
fn snapshots_of_every_example() {
    for path in examples() {
        let name = example_name(&path);
        let files = render_file(&path);
        let script = &file(&files, SCRIPT).bytes;
        for target in FILES {
            let shown = redact(file(&files, target).text(), script);
            insta::assert_snapshot!(format!("{name}__{}", target.replace('/', "_")), shown);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing and evaluating HCL

fn parse(label: &str, path: &str, text: &str) -> Body {
    hcl::parse(text).unwrap_or_else(|e| panic!("{label}: {path} does not parse as HCL: {e}"))
}

/// The blocks `ident "labels..."` of a body.
fn blocks<'a>(body: &'a Body, ident: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
    body.blocks().filter(move |b| b.identifier() == ident)
}

fn labels(block: &Block) -> Vec<&str> {
    block.labels().iter().map(hcl::BlockLabel::as_str).collect()
}

fn find_block<'a>(body: &'a Body, ident: &str, wanted: &[&str]) -> Option<&'a Block> {
    body.blocks()
        .find(|b| b.identifier() == ident && labels(b) == wanted)
}

fn attr<'a>(body: &'a Body, key: &str) -> Option<&'a Expression> {
    body.attributes()
        .find(|a| a.key() == key)
        .map(hcl::Attribute::expr)
}

fn expect_attr<'a>(body: &'a Body, key: &str) -> &'a Expression {
    attr(body, key).unwrap_or_else(|| panic!("attribute `{key}` is missing"))
}

/// An expression as HCL text (for comparing references such as `var.vm_size`).
fn code(expr: &Expression) -> String {
    hcl::format::to_string(expr).expect("expression formats")
}

/// The declarations of a Terraform module or a Packer template (all its files together) and an
/// evaluation context that knows `var.*` (defaults), `local.*` and the few functions used.
pub(crate) struct Module {
    bodies: Vec<Body>,
    /// Variable name → its block.
    variables: BTreeMap<String, Block>,
}

impl Module {
    fn new(label: &str, files: &[(&str, &str)]) -> Self {
        let bodies: Vec<Body> = files
            .iter()
            .map(|(path, text)| parse(label, path, text))
            .collect();
        let mut variables = BTreeMap::new();
        for body in &bodies {
            for variable in blocks(body, "variable") {
                let name = labels(variable)[0].to_string();
                assert!(
                    variables.insert(name.clone(), variable.clone()).is_none(),
                    "{label}: variable {name} declared twice"
                );
            }
        }
        Self { bodies, variables }
    }

    fn variable(&self, name: &str) -> &Block {
        self.variables
            .get(name)
            .unwrap_or_else(|| panic!("variable `{name}` is not declared"))
    }

    fn all_blocks<'a>(&'a self, ident: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
        self.bodies.iter().flat_map(move |b| blocks(b, ident))
    }

    fn the_block<'a>(&'a self, ident: &'a str, wanted: &[&str]) -> &'a Block {
        let found: Vec<&Block> = self
            .all_blocks(ident)
            .filter(|b| labels(b) == wanted)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "expected one `{ident} {wanted:?}` block in the module"
        );
        found[0]
    }

    pub(crate) fn locals(&self) -> BTreeMap<String, Expression> {
        let mut out = BTreeMap::new();
        for locals in self.all_blocks("locals") {
            for a in locals.body().attributes() {
                out.insert(a.key().to_string(), a.expr().clone());
            }
        }
        out
    }

    /// The evaluation context: `var` holds every variable that has a default (an `env(...)`
    /// default evaluates to ""), `local` every local that evaluates with what is known.
    fn context(&self) -> Context<'static> {
        let mut ctx = base_context();
        let mut vars = hcl::Map::new();
        for (name, variable) in &self.variables {
            if let Some(default) = attr(variable.body(), "default") {
                let value = default
                    .evaluate(&ctx)
                    .unwrap_or_else(|e| panic!("default of var.{name}: {e}"));
                vars.insert(name.clone(), value);
            }
        }
        ctx.declare_var("var", hcl::Value::Object(vars.clone()));
        let locals = self.locals();
        let mut known = hcl::Map::new();
        loop {
            let before = known.len();
            for (name, expr) in &locals {
                if known.contains_key(name) {
                    continue;
                }
                let mut attempt = base_context();
                attempt.declare_var("var", hcl::Value::Object(vars.clone()));
                attempt.declare_var("local", hcl::Value::Object(known.clone()));
                if let Ok(value) = expr.evaluate(&attempt) {
                    known.insert(name.clone(), value);
                }
            }
            if known.len() == before {
                break;
            }
        }
        ctx.declare_var("local", hcl::Value::Object(known));
        ctx
    }
}

/// Functions the templates call, as far as the tests need them.
fn base_context() -> Context<'static> {
    fn merge(args: FuncArgs) -> Result<hcl::Value, String> {
        let mut out = hcl::Map::new();
        for arg in args.into_values() {
            match arg {
                hcl::Value::Object(map) => out.extend(map),
                other => return Err(format!("merge: not an object: {other:?}")),
            }
        }
        Ok(hcl::Value::Object(out))
    }
    fn env(_: FuncArgs) -> Result<hcl::Value, String> {
        Ok(hcl::Value::String(String::new()))
    }
    let mut ctx = Context::new();
    ctx.declare_func(
        "merge",
        FuncDef::builder()
            .variadic_param(ParamType::Any)
            .build(merge),
    );
    ctx.declare_func(
        "env",
        FuncDef::builder().param(ParamType::String).build(env),
    );
    ctx
}

fn eval(expr: &Expression, ctx: &Context<'_>) -> hcl::Value {
    expr.evaluate(ctx)
        .unwrap_or_else(|e| panic!("cannot evaluate `{}`: {e}", code(expr)))
}

pub(crate) fn eval_string(expr: &Expression, ctx: &Context<'_>) -> String {
    match eval(expr, ctx) {
        hcl::Value::String(s) => s,
        hcl::Value::Number(n) => n.to_string(),
        other => panic!("`{}` is not a string: {other:?}", code(expr)),
    }
}

fn value_strings(value: &hcl::Value) -> Vec<String> {
    match value {
        hcl::Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().expect("a string").to_string())
            .collect(),
        other => panic!("not a list: {other:?}"),
    }
}

fn value_map(value: &hcl::Value) -> BTreeMap<String, String> {
    match value {
        hcl::Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("a string").to_string()))
            .collect(),
        other => panic!("not an object: {other:?}"),
    }
}

/// `var.NAME` / `local.NAME` → `NAME` (None for any other expression).
fn reference<'a>(expr: &'a Expression, root: &str) -> Option<&'a str> {
    let Expression::Traversal(traversal) = expr else {
        return None;
    };
    let Expression::Variable(var) = &traversal.expr else {
        return None;
    };
    match traversal.operators.as_slice() {
        [TraversalOperator::GetAttr(name)] if var.as_str() == root => Some(name.as_str()),
        _ => None,
    }
}

/// Every string in every array literal inside an expression (validation lists).
fn array_strings(expr: &Expression, out: &mut Vec<String>) {
    match expr {
        Expression::Array(items) => {
            for item in items {
                if let Expression::String(s) = item {
                    out.push(s.clone());
                } else {
                    array_strings(item, out);
                }
            }
        }
        Expression::FuncCall(call) => call.args.iter().for_each(|a| array_strings(a, out)),
        Expression::Operation(op) => match op.as_ref() {
            hcl::expr::Operation::Unary(u) => array_strings(&u.expr, out),
            hcl::expr::Operation::Binary(b) => {
                array_strings(&b.lhs_expr, out);
                array_strings(&b.rhs_expr, out);
            }
        },
        Expression::Parenthesis(inner) => array_strings(inner, out),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// The embedded script

/// The script bytes inside `FromBase64String('...')` of a command (gzip + base64).
fn decode_payload(base64_gzip: &str) -> Vec<u8> {
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(base64_gzip)
        .expect("valid base64");
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_slice())
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

/// The payload inside `FromBase64String('...')` of the Packer provisioning command.
fn payload_of_command(command: &str) -> &str {
    let start = command
        .find("FromBase64String('")
        .expect("the command embeds the script")
        + "FromBase64String('".len();
    let end = start
        + command[start..]
            .find('\'')
            .expect("the payload literal ends");
    &command[start..end]
}

/// The VM's `user_data` (the gzip + base64 script the extension's command reads back).
pub(crate) fn terraform_user_data(module: &Module) -> String {
    let vm = module.the_block("resource", &["azurerm_windows_virtual_machine", "lab"]);
    eval_string(expect_attr(vm.body(), "user_data"), &Context::new())
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Terraform

pub(crate) fn terraform(lab: &Rendered) -> Module {
    let files: Vec<(&str, &str)> = TF_MODULE.iter().map(|p| (*p, lab.text(p))).collect();
    Module::new(&lab.label, &files)
}

pub(crate) fn packer(lab: &Rendered) -> Module {
    let files: Vec<(&str, &str)> = PK_TEMPLATE.iter().map(|p| (*p, lab.text(p))).collect();
    Module::new(&lab.label, &files)
}

/// The `commandToExecute` inside `protected_settings = jsonencode({ ... })`.
pub(crate) fn terraform_command(module: &Module) -> String {
    let extension = module.the_block(
        "resource",
        &["azurerm_virtual_machine_extension", "provision"],
    );
    assert!(
        attr(extension.body(), "settings").is_none(),
        "the command goes only into protected_settings"
    );
    let Expression::FuncCall(call) = expect_attr(extension.body(), "protected_settings") else {
        panic!("protected_settings is not jsonencode(...)")
    };
    assert_eq!(call.name.name.as_str(), "jsonencode");
    let [Expression::Object(object)] = call.args.as_slice() else {
        panic!("jsonencode takes one object")
    };
    assert_eq!(object.len(), 1, "protected_settings holds the command only");
    let (key, value) = object.iter().next().unwrap();
    assert!(
        matches!(key, ObjectKey::Identifier(id) if id.as_str() == "commandToExecute"),
        "key is commandToExecute"
    );
    eval_string(value, &Context::new())
}

#[test]
fn every_hcl_file_parses_and_lab_text_survives() {
    for lab in all_labs() {
        for path in FILES {
            parse(&lab.label, path, lab.text(path));
        }
        // Tags go through the HCL escaper in both targets: they must come back unchanged.
        let expected: BTreeMap<String, String> = lab
            .view
            .lab
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        for module in [terraform(&lab), packer(&lab)] {
            let ctx = module.context();
            let tags = ctx_local(&ctx, &module, "tags");
            assert_eq!(value_map(&tags), expected, "{}: tags", lab.label);
        }
    }
}

fn ctx_local(ctx: &Context<'_>, module: &Module, name: &str) -> hcl::Value {
    let locals = module.locals();
    eval(
        locals
            .get(name)
            .unwrap_or_else(|| panic!("local.{name} is missing")),
        ctx,
    )
}

#[test]
fn templates_never_quote_around_a_value_nor_print_into_comments() {
    for (name, source) in wcigen::render::TEMPLATES {
        if !(name.starts_with("terraform/") || name.starts_with("packer/")) {
            continue;
        }
        for (n, line) in source.lines().enumerate() {
            for bad in ["'{{", "\"{{", "}}'", "}}\""] {
                assert!(
                    !line.contains(bad),
                    "{name}:{}: a value is quoted by hand: {line}",
                    n + 1
                );
            }
            if line.trim_start().starts_with('#') {
                assert!(
                    !line.contains("{{"),
                    "{name}:{}: lab text printed into a comment: {line}",
                    n + 1
                );
            }
        }
    }
}

#[test]
fn terraform_extension_runs_the_rendered_script_byte_for_byte() {
    // A lab deployed from its baked image runs no script (`same_lab_in_arm_terraform_and_packer`).
    for lab in all_labs().into_iter().filter(|l| !l.view.vm.baked) {
        let module = terraform(&lab);
        let command = terraform_command(&module);
        assert_eq!(
            command,
            ScriptView::new(lab.script()).command_to_execute,
            "{}",
            lab.label
        );
        let user_data = terraform_user_data(&module);
        assert_eq!(
            decode_payload(&user_data),
            lab.script(),
            "{}: decoded script",
            lab.label
        );
        assert!(
            command.ends_with("& $p -Mode Unattended; exit $LASTEXITCODE\""),
            "{}: unattended run",
            lab.label
        );
        // The command reads the script from the VM's user data; the payload is embedded once.
        assert!(
            command.contains("metadata/instance/compute/userData"),
            "{}: the command reads userData",
            lab.label
        );
        let occurrences: usize = TF_MODULE
            .iter()
            .chain([&TF_VARS_EXAMPLE])
            .map(|p| lab.text(p).matches(user_data.as_str()).count())
            .sum();
        assert_eq!(occurrences, 1, "{}: the script is embedded once", lab.label);
        let extension = module.the_block(
            "resource",
            &["azurerm_virtual_machine_extension", "provision"],
        );
        let ctx = Context::new();
        for (key, value) in [
            ("publisher", "Microsoft.Compute"),
            ("type", "CustomScriptExtension"),
            ("type_handler_version", "1.10"),
        ] {
            assert_eq!(
                eval_string(expect_attr(extension.body(), key), &ctx),
                value,
                "{}: extension {key}",
                lab.label
            );
        }
        assert_eq!(
            eval_string(expect_attr(extension.body(), "name"), &ctx),
            lab.view.names.extension
        );
    }
}

/// The Terraform ready step: the same waiting script as Bicep and ARM, after the extension, with
/// the create timeout (which the azurerm provider sends to Azure as `timeoutInSeconds`) equal to
/// Azure's bound in the other targets.
#[test]
fn terraform_ends_with_the_ready_step_after_the_extension() {
    let env = wcigen::render::environment().unwrap();
    for lab in one_vm_labs() {
        let label = &lab.label;
        let module = terraform(&lab);
        let ready = module.the_block(
            "resource",
            &["azurerm_virtual_machine_run_command", "ready"],
        );
        let ctx = Context::new();
        let source = find_block(ready.body(), "source", &[]).expect("a source block");
        assert_eq!(
            eval_string(expect_attr(source.body(), "script"), &ctx),
            wcigen::render::ready_script(&env, &lab.view).unwrap(),
            "{label}: ready script"
        );
        assert_eq!(
            eval_string(expect_attr(ready.body(), "name"), &ctx),
            "wcigen-ready",
            "{label}"
        );
        assert_eq!(
            code(expect_attr(ready.body(), "virtual_machine_id")),
            "azurerm_windows_virtual_machine.lab.id",
            "{label}"
        );
        if lab.view.vm.baked {
            // Ready at first boot: the VM (virtual_machine_id) is its only dependency.
            assert!(attr(ready.body(), "depends_on").is_none(), "{label}");
        } else {
            assert_eq!(
                code(expect_attr(ready.body(), "depends_on"))
                    .split_whitespace()
                    .collect::<String>(),
                "[azurerm_virtual_machine_extension.provision]",
                "{label}: the ready step waits for the extension"
            );
        }
        let timeouts = find_block(ready.body(), "timeouts", &[]).expect("a timeouts block");
        let create = eval_string(expect_attr(timeouts.body(), "create"), &ctx);
        assert_eq!(
            create,
            format!("{}m", wcigen::view::READY_TIMEOUT_MINUTES),
            "{label}: create timeout"
        );
    }
}

#[test]
fn terraform_secrets_and_required_inputs() {
    for lab in all_labs() {
        let module = terraform(&lab);
        let password = module.variable("admin_password").body();
        assert_eq!(
            attr(password, "sensitive"),
            Some(&Expression::Bool(true)),
            "{}: admin_password is sensitive",
            lab.label
        );
        assert!(
            attr(password, "default").is_none(),
            "{}: admin_password has no default",
            lab.label
        );
        for output in module.all_blocks("output") {
            assert!(
                !code(expect_attr(output.body(), "value")).contains("admin_password"),
                "{}: an output shows the password",
                lab.label
            );
        }
        for path in [TF_VARS_EXAMPLE, PK_VARS_EXAMPLE] {
            let body = parse(&lab.label, path, lab.text(path));
            for a in body.attributes() {
                assert!(
                    !a.key().contains("password") && !a.key().contains("secret"),
                    "{}: {path} sets {}",
                    lab.label,
                    a.key()
                );
            }
        }

        // Sources: no variable when no port is open; required exactly when the lab lists none,
        // else the lab's list as the default.
        let ctx = module.context();
        if lab.view.network.inbound_ports.is_empty() {
            assert!(
                !module.variables.contains_key("allowed_source_addresses"),
                "{}: no inbound port, so no sources to ask for",
                lab.label
            );
        } else if lab.view.network.allow_from_parameter {
            let sources = module.variable("allowed_source_addresses").body();
            assert!(
                attr(sources, "default").is_none(),
                "{}: sources must be required",
                lab.label
            );
            let example = parse(&lab.label, TF_VARS_EXAMPLE, lab.text(TF_VARS_EXAMPLE));
            assert!(
                attr(&example, "allowed_source_addresses").is_some(),
                "{}: the example shows how to set the sources",
                lab.label
            );
        } else {
            let sources = module.variable("allowed_source_addresses").body();
            assert_eq!(
                value_strings(&eval(expect_attr(sources, "default"), &ctx)),
                lab.view.network.allow_from,
                "{}",
                lab.label
            );
        }

        // The auto-shutdown time variable and resource exist exactly when the lab enables it.
        let enabled = lab.view.auto_shutdown.enabled;
        assert_eq!(
            module.variables.contains_key("auto_shutdown_time"),
            enabled,
            "{}",
            lab.label
        );
        let schedules = module
            .all_blocks("resource")
            .filter(|b| labels(b)[0] == "azurerm_dev_test_global_vm_shutdown_schedule")
            .count();
        assert_eq!(schedules, usize::from(enabled), "{}", lab.label);

        // The provider: azurerm 4.x from hashicorp/azurerm, subscription from ARM_SUBSCRIPTION_ID.
        let terraform_block = module.the_block("terraform", &[]);
        let providers = terraform_block
            .body()
            .blocks()
            .find(|b| b.identifier() == "required_providers")
            .expect("required_providers");
        let azurerm = value_map(&eval(
            expect_attr(providers.body(), "azurerm"),
            &Context::new(),
        ));
        assert_eq!(azurerm["source"], "hashicorp/azurerm");
        assert_eq!(azurerm["version"], "~> 4.73");
        let provider = module.the_block("provider", &["azurerm"]);
        assert!(
            find_block(provider.body(), "features", &[]).is_some(),
            "features {{}} is required"
        );
        assert!(
            attr(provider.body(), "subscription_id").is_none(),
            "the subscription comes from ARM_SUBSCRIPTION_ID"
        );
    }
}

#[test]
fn terraform_validations_mirror_wcigen_facts() {
    let lab = &all_labs()[0];
    let module = terraform(lab);
    let condition = |variable: &str, needle: &str| -> Vec<String> {
        let validations: Vec<&Block> =
            blocks(module.variable(variable).body(), "validation").collect();
        let mut out = Vec::new();
        for v in validations {
            let expr = expect_attr(v.body(), "condition");
            if code(expr).contains(needle) {
                array_strings(expr, &mut out);
            }
        }
        out
    };
    assert_eq!(
        condition("location", "contains("),
        wcigen::facts::REGIONS,
        "regions"
    );
    assert_eq!(
        condition("admin_username", "lower("),
        wcigen::facts::RESERVED_USERNAMES,
        "reserved user names"
    );
}

/// Every resource that takes tags gets `local.tags`; the others cannot take any.
#[test]
fn terraform_tags_every_taggable_resource() {
    const UNTAGGABLE: &[&str] = &[
        "azurerm_subnet",
        "azurerm_subnet_network_security_group_association",
    ];
    for lab in all_labs() {
        let module = terraform(&lab);
        for resource in module.all_blocks("resource") {
            let kind = labels(resource)[0];
            let tags = attr(resource.body(), "tags");
            if UNTAGGABLE.contains(&kind) {
                assert!(tags.is_none(), "{}: {kind} takes no tags", lab.label);
            } else {
                assert_eq!(
                    tags.and_then(|t| reference(t, "local")),
                    Some("tags"),
                    "{}: {kind} has tags = local.tags",
                    lab.label
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Packer

/// One provisioner of the build, summarized.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// `powershell` with `inline = [local.NAME]`, its environment and valid exit codes.
    Powershell {
        inline: String,
        env: Vec<String>,
        exit_codes: Vec<i64>,
    },
    /// `windows-restart` with its timeout.
    Restart { timeout: String },
}

fn packer_steps(module: &Module) -> Vec<Step> {
    let build = module.the_block("build", &[]);
    let ctx = Context::new();
    build
        .body()
        .blocks()
        .filter(|b| b.identifier() == "provisioner")
        .map(|p| match labels(p)[0] {
            "powershell" => {
                let Expression::Array(inline) = expect_attr(p.body(), "inline") else {
                    panic!("inline is a list")
                };
                let [only] = inline.as_slice() else {
                    panic!("inline holds one local")
                };
                let env = attr(p.body(), "environment_vars")
                    .map_or_else(Vec::new, |e| value_strings(&eval(e, &ctx)));
                let exit_codes = attr(p.body(), "valid_exit_codes").map_or_else(
                    || vec![0],
                    |e| match eval(e, &ctx) {
                        hcl::Value::Array(items) => {
                            items.iter().map(|v| v.as_i64().unwrap()).collect()
                        }
                        other => panic!("valid_exit_codes: {other:?}"),
                    },
                );
                Step::Powershell {
                    inline: reference(only, "local")
                        .expect("inline = [local.X]")
                        .to_string(),
                    env,
                    exit_codes,
                }
            }
            "windows-restart" => Step::Restart {
                timeout: eval_string(expect_attr(p.body(), "restart_timeout"), &ctx),
            },
            other => panic!("unexpected provisioner {other}"),
        })
        .collect()
}

#[test]
fn packer_build_runs_the_rendered_script_then_generalizes() {
    let orchestrated = || vec!["WCIGEN_MODE=Orchestrated".to_string()];
    let run = |exit_codes: Vec<i64>| Step::Powershell {
        inline: "provision".into(),
        env: orchestrated(),
        exit_codes,
    };
    let restart = || Step::Restart {
        timeout: "30m".into(),
    };
    for lab in all_labs() {
        let module = packer(&lab);
        assert_eq!(
            packer_steps(&module),
            vec![
                run(vec![0, 3010]),
                restart(),
                run(vec![0, 3010]),
                restart(),
                run(vec![0]),
                Step::Powershell {
                    inline: "generalize".into(),
                    env: vec![],
                    exit_codes: vec![0]
                },
            ],
            "{}: build steps",
            lab.label
        );

        // The embedded script is powershell/provision.ps1, byte for byte, and its hash is checked.
        let ctx = module.context();
        let payload = ctx_local(&ctx, &module, "script_base64_gzip");
        assert_eq!(
            decode_payload(payload.as_str().unwrap()),
            lab.script(),
            "{}: decoded script",
            lab.label
        );
        let sha = ctx_local(&ctx, &module, "script_sha256");
        assert_eq!(
            sha.as_str().unwrap(),
            sha256_hex(lab.script()),
            "{}",
            lab.label
        );
        assert_eq!(
            lab.text(PK_LAB).matches(payload.as_str().unwrap()).count(),
            1,
            "{}: embedded once",
            lab.label
        );

        let provision = ctx_local(&ctx, &module, "provision");
        let provision = provision.as_str().unwrap();
        assert_eq!(
            payload_of_command(provision),
            payload.as_str().unwrap(),
            "{}",
            lab.label
        );
        assert!(
            provision.contains(&format!("if ($hash -ne '{}')", sha.as_str().unwrap())),
            "{}: hash check",
            lab.label
        );
        assert!(
            provision.contains("$path = Join-Path $dir 'provision.ps1'"),
            "{}",
            lab.label
        );
        assert!(
            provision
                .trim_end()
                .ends_with("& $path\nexit $LASTEXITCODE"),
            "{}: runs the script and passes its exit code",
            lab.label
        );

        let generalize = ctx_local(&ctx, &module, "generalize");
        let generalize = generalize.as_str().unwrap();
        for needle in [
            "'RdAgent', 'WindowsAzureGuestAgent', 'WindowsAzureTelemetryService'",
            "-ErrorAction SilentlyContinue",
            r"& $env:SystemRoot\System32\Sysprep\Sysprep.exe /oobe /generalize /quiet /quit /mode:vm",
            r"'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State'",
            "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE",
        ] {
            assert!(
                generalize.contains(needle),
                "{}: generalize lacks {needle}",
                lab.label
            );
        }
        assert_eq!(
            generalize.contains(r"'ssh\ssh_host_*'"),
            lab.view.network.ssh,
            "{}: SSH host keys removed before capture",
            lab.label
        );
        // Go templates would expand `{{` in provisioner strings: there must be none.
        assert!(
            !provision.contains("{{") && !generalize.contains("{{"),
            "{}",
            lab.label
        );
    }
}

#[test]
fn packer_source_matches_the_security_type_and_keeps_secrets_out() {
    for lab in all_labs() {
        let module = packer(&lab);
        let source = module.the_block("source", &["azure-arm", "lab"]);
        let body = source.body();
        let ctx = module.context();
        let trusted = lab.view.vm.trusted_launch;
        assert_eq!(
            attr(body, "security_type").map(|e| eval_string(e, &ctx)),
            trusted.then(|| "TrustedLaunch".to_string()),
            "{}",
            lab.label
        );
        assert_eq!(
            attr(body, "secure_boot_enabled"),
            trusted.then_some(&Expression::Bool(true)),
            "{}",
            lab.label
        );
        assert_eq!(
            attr(body, "vtpm_enabled"),
            trusted.then_some(&Expression::Bool(true)),
            "{}",
            lab.label
        );
        // Trusted Launch: a gallery only (no managed image); Standard: a managed image.
        assert_eq!(
            find_block(body, "shared_image_gallery_destination", &[]).is_some(),
            trusted,
            "{}",
            lab.label
        );
        for key in ["managed_image_name", "managed_image_resource_group_name"] {
            assert_eq!(attr(body, key).is_some(), !trusted, "{}: {key}", lab.label);
        }
        for (key, value) in [
            ("os_type", "Windows"),
            ("communicator", "winrm"),
            ("winrm_username", "packer"),
            ("winrm_timeout", "30m"),
        ] {
            assert_eq!(
                eval_string(expect_attr(body, key), &ctx),
                value,
                "{}: {key}",
                lab.label
            );
        }
        for key in ["winrm_use_ssl", "winrm_insecure"] {
            assert_eq!(
                attr(body, key),
                Some(&Expression::Bool(true)),
                "{}: {key}",
                lab.label
            );
        }
        assert_eq!(
            reference(expect_attr(body, "azure_tags"), "local"),
            Some("tags")
        );

        // The plugin: azure 2.x.
        let packer_block = module.the_block("packer", &[]);
        let plugins = packer_block
            .body()
            .blocks()
            .find(|b| b.identifier() == "required_plugins")
            .expect("required_plugins");
        let azure = value_map(&eval(expect_attr(plugins.body(), "azure"), &Context::new()));
        assert_eq!(azure["source"], "github.com/hashicorp/azure");
        assert_eq!(azure["version"], "~> 2");

        // Secrets: only as sensitive variables whose default is read from the environment.
        let secret = module.variable("client_secret").body();
        assert_eq!(
            attr(secret, "sensitive"),
            Some(&Expression::Bool(true)),
            "{}",
            lab.label
        );
        assert_eq!(
            code(expect_attr(secret, "default")),
            "env(\"ARM_CLIENT_SECRET\")"
        );
        assert_eq!(
            reference(expect_attr(body, "client_secret"), "var"),
            Some("client_secret")
        );

        // The build VM's WinRM is limited to the lab's sources when the lab lists real ones; a
        // lab without sources makes them a required variable (no default: never a placeholder
        // that leaves Packer waiting for WinRM), validated as IPv4 addresses or CIDRs.
        let variable = module.variable("allowed_inbound_ip_addresses").body();
        let network = &lab.view.network;
        if network.winrm_sources_parameter {
            assert!(
                attr(variable, "default").is_none(),
                "{}: allowed_inbound_ip_addresses must be required",
                lab.label
            );
            assert!(
                code(expect_attr(variable, "description")).contains("Required"),
                "{}: the description says the variable is required",
                lab.label
            );
        } else {
            let allowed = value_strings(&eval(expect_attr(variable, "default"), &ctx));
            let expected = if network.winrm_sources == ["*"] {
                Vec::new()
            } else {
                network.winrm_sources.clone()
            };
            assert_eq!(
                allowed, expected,
                "{}: allowed_inbound_ip_addresses",
                lab.label
            );
        }
        assert!(
            variable.blocks().any(|b| b.identifier() == "validation"),
            "{}: allowed_inbound_ip_addresses is validated",
            lab.label
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The same lab everywhere

/// What a target says about one fact of the lab.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Fact {
    /// The target states this value (as the lab spells it).
    Stated(String),
    /// A deploy-time input without default (the lab left it open).
    Required,
    /// The target cannot state the fact, and why.
    NotStated(&'static str),
}

use Fact::{NotStated, Required, Stated};

const FACTS: [&str; 12] = [
    "location",
    "vm size",
    "image",
    "security type",
    "os disk size",
    "computer name",
    "admin user",
    "inbound rules",
    "sources",
    "auto-shutdown",
    "tags",
    "script",
];

const NO_PORTS: &str = "the lab opens no inbound port, so no rule has sources";
const BAKED_NO_SCRIPT: &str =
    "deployed from the baked image: the image holds what provision.ps1 did, nothing runs it";

/// The image fact of a deployment from the baked image: its id, or a required input.
fn baked_fact(id: Fact) -> Fact {
    match id {
        Stated(id) => Stated(format!("baked image {id}")),
        other => other,
    }
}
const NO_NSG: &str =
    "an image build has no lab NSG: the build VM's only exposure is Packer's WinRM";
const NO_SHUTDOWN: &str =
    "an image has no schedule: VMs deployed from it get theirs from their own template";
const NO_COMPUTER_NAME: &str =
    "Sysprep resets the computer name; each VM deployed from the image sets its own";
const NO_ADMIN: &str =
    "the build signs in as Packer's temporary user; the image holds no lab administrator";

/// The facts of the lab as wcigen understands them.
fn expected_facts(view: &LabView, script: &[u8]) -> BTreeMap<&'static str, Fact> {
    let image = &view.vm.image;
    let sources = if view.network.inbound_ports.is_empty() {
        NotStated(NO_PORTS)
    } else if view.network.allow_from_parameter {
        Required
    } else {
        Stated(view.network.allow_from.join(","))
    };
    BTreeMap::from([
        ("location", Stated(view.azure.location.clone())),
        ("vm size", Stated(view.vm.size.clone())),
        (
            "image",
            Stated(format!(
                "{}:{}:{}:{}",
                image.publisher, image.offer, image.sku, image.version
            )),
        ),
        ("security type", Stated(view.vm.security_type.to_string())),
        ("os disk size", Stated(view.vm.os_disk.size_gb.to_string())),
        ("computer name", Stated(view.vm.computer_name.clone())),
        ("admin user", Stated(view.vm.admin_username.clone())),
        (
            "inbound rules",
            Stated(
                view.network
                    .inbound_ports
                    .iter()
                    .map(|p| format!("{} tcp/{} priority {}", p.rule_name, p.port, p.priority))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ),
        ("sources", sources),
        (
            "auto-shutdown",
            Stated(shutdown_fact(view.auto_shutdown.enabled.then_some((
                &view.auto_shutdown.time_hhmm,
                &view.auto_shutdown.time_zone,
                view.auto_shutdown.notification_email.as_deref(),
            )))),
        ),
        (
            "tags",
            Stated(
                view.lab
                    .tags
                    .iter()
                    .map(|t| format!("{}={}", t.key, t.value))
                    .collect::<Vec<_>>()
                    .join(";"),
            ),
        ),
        ("script", Stated(sha256_hex(script))),
    ])
}

fn shutdown_fact(schedule: Option<(&String, &String, Option<&str>)>) -> String {
    match schedule {
        None => "disabled".into(),
        Some((time, zone, email)) => {
            format!("daily {time} {zone}, notify {}", email.unwrap_or("nobody"))
        }
    }
}

fn tags_fact(tags: &BTreeMap<String, String>) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(";")
}

fn terraform_facts(lab: &Rendered) -> BTreeMap<&'static str, Fact> {
    let module = terraform(lab);
    let ctx = module.context();
    let resource = |kind: &str| {
        module
            .all_blocks("resource")
            .find(|b| labels(b)[0] == kind)
            .map(Block::body)
    };
    let vm = resource("azurerm_windows_virtual_machine").expect("a VM");
    let var_default = |expr: &Expression| -> Fact {
        let name =
            reference(expr, "var").unwrap_or_else(|| panic!("`{}` is not var.X", code(expr)));
        attr(module.variable(name).body(), "default")
            .map_or(Required, |d| Stated(eval_string(d, &ctx)))
    };
    let literal = |expr: &Expression| Stated(eval_string(expr, &ctx));

    let image = match attr(vm, "source_image_id") {
        Some(id) => {
            assert!(find_block(vm, "source_image_reference", &[]).is_none());
            baked_fact(var_default(id))
        }
        None => {
            let image = find_block(vm, "source_image_reference", &[])
                .expect("source_image_reference")
                .body();
            Stated(
                ["publisher", "offer", "sku", "version"]
                    .map(|k| eval_string(expect_attr(image, k), &ctx))
                    .join(":"),
            )
        }
    };
    let security = match (attr(vm, "secure_boot_enabled"), attr(vm, "vtpm_enabled")) {
        (None, None) => "Standard",
        (Some(Expression::Bool(true)), Some(Expression::Bool(true))) => "TrustedLaunch",
        other => panic!(
            "{}: inconsistent Trusted Launch settings {other:?}",
            lab.label
        ),
    };
    let disk = find_block(vm, "os_disk", &[]).expect("os_disk").body();

    let nsg = resource("azurerm_network_security_group").expect("an NSG");
    let mut rules = Vec::new();
    for rule in blocks(nsg, "security_rule") {
        let r = rule.body();
        for (key, value) in [
            ("direction", "Inbound"),
            ("access", "Allow"),
            ("protocol", "Tcp"),
        ] {
            assert_eq!(
                eval_string(expect_attr(r, key), &ctx),
                value,
                "{}: rule {key}",
                lab.label
            );
        }
        // Every rule takes its sources from the variable: one into the singular field (the only
        // one that takes "*"), several into the plural one.
        assert_eq!(
            code(expect_attr(r, "source_address_prefix")),
            "length(var.allowed_source_addresses) == 1 ? var.allowed_source_addresses[0] : null",
            "{}",
            lab.label
        );
        assert_eq!(
            reference(expect_attr(r, "source_address_prefixes"), "local"),
            Some("multiple_sources")
        );
        rules.push(format!(
            "{} tcp/{} priority {}",
            eval_string(expect_attr(r, "name"), &ctx),
            eval_string(expect_attr(r, "destination_port_range"), &ctx),
            eval_string(expect_attr(r, "priority"), &ctx)
        ));
    }
    if !rules.is_empty() {
        assert_eq!(
            code(&module.locals()["multiple_sources"]),
            "length(var.allowed_source_addresses) == 1 ? null : var.allowed_source_addresses",
            "{}",
            lab.label
        );
    }
    // A lab without inbound ports declares no sources variable at all.
    let sources = match module.variables.get("allowed_source_addresses") {
        None => NotStated(NO_PORTS),
        Some(variable) => attr(variable.body(), "default").map_or(Required, |d| {
            Stated(value_strings(&eval(d, &ctx)).join(","))
        }),
    };

    let shutdown = resource("azurerm_dev_test_global_vm_shutdown_schedule").map(|s| {
        assert_eq!(attr(s, "enabled"), Some(&Expression::Bool(true)));
        let Stated(time) = var_default(expect_attr(s, "daily_recurrence_time")) else {
            panic!("the shutdown time has a default")
        };
        let zone = eval_string(expect_attr(s, "timezone"), &ctx);
        let notify = find_block(s, "notification_settings", &[])
            .expect("notification_settings")
            .body();
        let email = attr(notify, "email").map(|e| eval_string(e, &ctx));
        assert_eq!(
            attr(notify, "enabled"),
            Some(&Expression::Bool(email.is_some()))
        );
        if email.is_some() {
            assert_eq!(
                eval_string(expect_attr(notify, "time_in_minutes"), &ctx),
                "30"
            );
        }
        (time, zone, email)
    });

    let location = var_default(expect_attr(
        module
            .the_block("resource", &["azurerm_resource_group", "lab"])
            .body(),
        "location",
    ));
    let tags = value_map(&ctx_local(&ctx, &module, "tags"));
    let script = if attr(vm, "user_data").is_none() {
        assert!(
            module
                .all_blocks("resource")
                .all(|b| labels(b).first() != Some(&"azurerm_virtual_machine_extension")),
            "{}: no extension",
            lab.label
        );
        NotStated(BAKED_NO_SCRIPT)
    } else {
        assert!(terraform_command(&module).contains("userData"));
        Stated(sha256_hex(&decode_payload(&terraform_user_data(&module))))
    };
    BTreeMap::from([
        ("location", location),
        ("vm size", var_default(expect_attr(vm, "size"))),
        ("image", image),
        ("security type", Stated(security.into())),
        ("os disk size", literal(expect_attr(disk, "disk_size_gb"))),
        ("computer name", literal(expect_attr(vm, "computer_name"))),
        ("admin user", var_default(expect_attr(vm, "admin_username"))),
        ("inbound rules", Stated(rules.join(","))),
        ("sources", sources),
        (
            "auto-shutdown",
            Stated(shutdown_fact(
                shutdown.as_ref().map(|(t, z, e)| (t, z, e.as_deref())),
            )),
        ),
        ("tags", Stated(tags_fact(&tags))),
        ("script", script),
    ])
}

fn packer_facts(lab: &Rendered) -> BTreeMap<&'static str, Fact> {
    let module = packer(lab);
    let ctx = module.context();
    let body = module.the_block("source", &["azure-arm", "lab"]).body();
    let var_default = |key: &str| -> Fact {
        let expr = expect_attr(body, key);
        let name =
            reference(expr, "var").unwrap_or_else(|| panic!("`{}` is not var.X", code(expr)));
        attr(module.variable(name).body(), "default")
            .map_or(Required, |d| Stated(eval_string(d, &ctx)))
    };
    let image = [
        "image_publisher",
        "image_offer",
        "image_sku",
        "image_version",
    ]
    .map(|k| eval_string(expect_attr(body, k), &ctx))
    .join(":");
    let security = attr(body, "security_type")
        .map_or_else(|| "Standard".to_string(), |e| eval_string(e, &ctx));
    let tags = value_map(&eval(expect_attr(body, "azure_tags"), &ctx));
    let payload = ctx_local(&ctx, &module, "script_base64_gzip");
    BTreeMap::from([
        ("location", var_default("location")),
        ("vm size", var_default("vm_size")),
        ("image", Stated(image)),
        ("security type", Stated(security)),
        (
            "os disk size",
            Stated(eval_string(expect_attr(body, "os_disk_size_gb"), &ctx)),
        ),
        ("computer name", NotStated(NO_COMPUTER_NAME)),
        ("admin user", NotStated(NO_ADMIN)),
        ("inbound rules", NotStated(NO_NSG)),
        ("sources", NotStated(NO_NSG)),
        ("auto-shutdown", NotStated(NO_SHUTDOWN)),
        ("tags", Stated(tags_fact(&tags))),
        (
            "script",
            Stated(sha256_hex(&decode_payload(payload.as_str().unwrap()))),
        ),
    ])
}

/// ARM values: `[parameters('x')]` → its default (None: required), `[variables('x')]` → the
/// variable, `[[...` → the literal, anything else as written.
struct Arm<'a> {
    template: &'a serde_json::Value,
}

impl Arm<'_> {
    fn resolve(&self, value: &serde_json::Value) -> Option<serde_json::Value> {
        let Some(s) = value.as_str() else {
            return Some(value.clone());
        };
        let call = |name: &str| {
            s.strip_prefix(&format!("[{name}('"))
                .and_then(|r| r.strip_suffix("')]"))
        };
        if let Some(p) = call("parameters") {
            return self.template["parameters"][p].get("defaultValue").cloned();
        }
        if let Some(v) = call("variables") {
            return Some(self.template["variables"][v].clone());
        }
        if let Some(literal) = s.strip_prefix("[[") {
            return Some(serde_json::Value::String(format!("[{literal}")));
        }
        assert!(
            !(s.starts_with('[') && s.ends_with(']')),
            "unexpected ARM expression {s}"
        );
        Some(value.clone())
    }

    fn fact(&self, value: &serde_json::Value) -> Fact {
        self.resolve(value)
            .map_or(Required, |v| Stated(json_text(&v)))
    }

    fn resource(&self, kind: &str) -> Option<&serde_json::Value> {
        self.template["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == kind)
    }
}

fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => {
            items.iter().map(json_text).collect::<Vec<_>>().join(",")
        }
        other => other.to_string(),
    }
}

fn arm_facts(lab: &Rendered) -> BTreeMap<&'static str, Fact> {
    let template: serde_json::Value =
        serde_json::from_str(lab.text(ARM)).unwrap_or_else(|e| panic!("{}: {ARM}: {e}", lab.label));
    let arm = Arm {
        template: &template,
    };
    let vm = &arm
        .resource("Microsoft.Compute/virtualMachines")
        .expect("a VM")["properties"];
    let image = &vm["storageProfile"]["imageReference"];
    let image = if image.get("id").is_some() {
        baked_fact(arm.fact(&image["id"]))
    } else {
        Stated(
            ["publisher", "offer", "sku", "version"]
                .map(|k| json_text(&arm.resolve(&image[k]).unwrap()))
                .join(":"),
        )
    };
    let security = vm["securityProfile"]["securityType"]
        .as_str()
        .unwrap_or("Standard")
        .to_string();

    let nsg = &arm
        .resource("Microsoft.Network/networkSecurityGroups")
        .expect("an NSG")["properties"];
    let mut rules = Vec::new();
    let mut sources = Vec::new();
    for rule in nsg["securityRules"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
    {
        let p = &rule["properties"];
        rules.push(format!(
            "{} tcp/{} priority {}",
            json_text(&rule["name"]),
            json_text(&p["destinationPortRange"]),
            p["priority"]
        ));
        // Sources asked at deploy time: a lone one through the singular field, several through
        // the plural one (azure_targets and engine_bicep check the expressions' meaning).
        if p["sourceAddressPrefix"] == "[variables('singleSource')]" {
            assert!(
                template["parameters"]["allowedSourceAddresses"]
                    .get("defaultValue")
                    .is_none(),
                "{}: deploy-time sources have no default",
                lab.label
            );
            sources.push(Required);
            continue;
        }
        let source = p
            .get("sourceAddressPrefix")
            .or_else(|| p.get("sourceAddressPrefixes"))
            .expect("a source");
        sources.push(arm.fact(source));
    }
    sources.dedup();
    if sources.is_empty() {
        sources.push(NotStated(NO_PORTS));
    }
    assert_eq!(
        sources.len(),
        1,
        "{}: every rule has the same sources",
        lab.label
    );

    let shutdown = arm.resource("Microsoft.DevTestLab/schedules").map(|s| {
        let p = &s["properties"];
        assert_eq!(p["status"], "Enabled");
        let email = p["notificationSettings"]["emailRecipient"]
            .as_str()
            .map(str::to_string);
        (
            json_text(&p["dailyRecurrence"]["time"]),
            json_text(&p["timeZoneId"]),
            email,
        )
    });

    let mut tag_sets: Vec<BTreeMap<String, String>> = Vec::new();
    for resource in template["resources"].as_array().unwrap() {
        let tags = arm.resolve(&resource["tags"]).expect("tags");
        let tags = tags
            .as_object()
            .expect("tags object")
            .iter()
            .map(|(k, v)| {
                // ARM evaluates strings inside variables too: `[[` is a literal `[`.
                let v = v.as_str().unwrap();
                let v = v
                    .strip_prefix("[[")
                    .map_or_else(|| v.to_string(), |r| format!("[{r}"));
                (k.clone(), v)
            })
            .collect();
        tag_sets.push(tags);
    }
    tag_sets.dedup();
    assert_eq!(
        tag_sets.len(),
        1,
        "{}: every ARM resource has the same tags",
        lab.label
    );

    let script = match arm.resource("Microsoft.Compute/virtualMachines/extensions") {
        None => {
            assert!(vm.get("userData").is_none(), "{}: userData", lab.label);
            NotStated(BAKED_NO_SCRIPT)
        }
        Some(extension) => {
            let command = json_text(
                &arm.resolve(&extension["properties"]["protectedSettings"]["commandToExecute"])
                    .unwrap(),
            );
            assert!(command.contains("metadata/instance/compute/userData"));
            let user_data = json_text(&arm.resolve(&vm["userData"]).unwrap());
            Stated(sha256_hex(&decode_payload(&user_data)))
        }
    };
    let os_profile = &vm["osProfile"];
    BTreeMap::from([
        (
            "location",
            arm.fact(&serde_json::Value::String(
                "[parameters('location')]".into(),
            )),
        ),
        ("vm size", arm.fact(&vm["hardwareProfile"]["vmSize"])),
        ("image", image),
        ("security type", Stated(security)),
        (
            "os disk size",
            arm.fact(&vm["storageProfile"]["osDisk"]["diskSizeGB"]),
        ),
        ("computer name", arm.fact(&os_profile["computerName"])),
        ("admin user", arm.fact(&os_profile["adminUsername"])),
        ("inbound rules", Stated(rules.join(","))),
        ("sources", sources.remove(0)),
        (
            "auto-shutdown",
            Stated(shutdown_fact(
                shutdown.as_ref().map(|(t, z, e)| (t, z, e.as_deref())),
            )),
        ),
        ("tags", Stated(tags_fact(&tag_sets[0]))),
        ("script", script),
    ])
}

/// What a deployment target (ARM, Terraform) states instead when the lab starts from its baked
/// image: the image's id (or a required input) and no script; Packer still bakes as before.
fn deployed_fact(view: &LabView, target: &str, fact: &str) -> Option<Fact> {
    let baked = view.vm.baked_image.as_ref()?;
    if target == "packer" {
        return None;
    }
    match fact {
        "image" => Some(baked_fact(baked.id.clone().map_or(Required, Stated))),
        "script" => Some(NotStated(BAKED_NO_SCRIPT)),
        _ => None,
    }
}

/// ARM, Terraform and Packer state the same lab: every fact each target states equals what
/// wcigen makes of the lab file, and what a target cannot state is listed with its reason.
#[test]
fn same_lab_in_arm_terraform_and_packer() {
    /// The facts a target does not state, with the reason (the whole table, for every lab).
    const NOT_STATED: &[(&str, &str, &str)] = &[
        ("packer", "computer name", NO_COMPUTER_NAME),
        ("packer", "admin user", NO_ADMIN),
        ("packer", "inbound rules", NO_NSG),
        ("packer", "sources", NO_NSG),
        ("packer", "auto-shutdown", NO_SHUTDOWN),
    ];
    for lab in one_vm_labs() {
        let expected = expected_facts(&lab.view, lab.script());
        let mut table = String::new();
        let targets = [
            ("arm", arm_facts(&lab)),
            ("terraform", terraform_facts(&lab)),
            ("packer", packer_facts(&lab)),
        ];
        for (target, facts) in &targets {
            assert_eq!(
                facts.keys().copied().collect::<Vec<_>>(),
                {
                    let mut f = FACTS.to_vec();
                    f.sort_unstable();
                    f
                },
                "{target}"
            );
            for fact in FACTS {
                let stated = &facts[fact];
                let excused = NOT_STATED
                    .iter()
                    .find(|(t, f, _)| t == target && *f == fact)
                    .map(|(_, _, why)| NotStated(why));
                match (&excused, stated) {
                    (Some(why), _) => assert_eq!(stated, why, "{}: {target} / {fact}", lab.label),
                    (None, _) => {
                        let want = deployed_fact(&lab.view, target, fact)
                            .unwrap_or_else(|| expected[fact].clone());
                        assert_eq!(stated, &want, "{}: {target} / {fact}", lab.label)
                    }
                }
                let shown = if fact == "script" && stated == &expected[fact] {
                    "Stated(sha256 of powershell/provision.ps1)".to_string()
                } else {
                    format!("{stated:?}")
                };
                table.push_str(&format!("{target:>9} | {fact:<13} | {shown}\n"));
            }
        }
        // The table, for review. The script runs Unattended under ARM and Terraform
        // (CustomScriptExtension) and Orchestrated under Packer (exit 3010 + windows-restart),
        // which `packer_build_runs_the_rendered_script_then_generalizes` proves.
        insta::assert_snapshot!(format!("{}__same_lab", lab.label), table);
    }
}

/// The labs beyond `examples/` (which `conformance::rendered` covers) against the azurerm 4.73.0
/// schema and the azure-arm 2.6.3 field data; on with `WCIGEN_CONFORMANCE=1`.
#[test]
fn conformance_extra_labs_match_the_reference_data() {
    let Some(reference) = conformance_reference() else {
        return;
    };
    for lab in all_labs() {
        let tf: Vec<(String, String)> = TF_MODULE
            .iter()
            .map(|p| ((*p).to_string(), lab.text(p).to_string()))
            .collect();
        let findings: Vec<String> = crate::conformance::terraform::check_terraform(&reference, &tf)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            findings.is_empty(),
            "{} terraform:\n{}",
            lab.label,
            findings.join("\n")
        );
        let source = format!("{}\n{}\n", lab.text(PK_LAB), lab.text(PK_VARIABLES));
        let findings: Vec<String> = crate::conformance::packer::check_packer(&reference, &source)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            findings.is_empty(),
            "{} packer:\n{}",
            lab.label,
            findings.join("\n")
        );
    }
}

/// Every Packer provisioner that runs provision.ps1 runs it elevated with the build's own WinRM
/// credentials (servicing commands are refused in a plain WinRM session, hashicorp/packer#9345);
/// a Trusted Launch build publishes with `target_region`, not the deprecated replication list.
#[test]
fn packer_runs_provision_elevated_and_publishes_with_target_region() {
    for example in ["lab", "trusted-launch", "bare"] {
        let files = crate::common::render_file(
            &crate::common::repo().join(format!("examples/{example}.yaml")),
        );
        let source = crate::common::file(&files, "packer/lab.pkr.hcl")
            .text()
            .to_string();
        let runs = source
            .matches("inline            = [local.provision]")
            .count();
        assert_eq!(runs, 3, "{example}: three provision runs");
        assert_eq!(
            source.matches("elevated_user     = build.User").count(),
            runs,
            "{example}: every provision run is elevated"
        );
        assert_eq!(
            source.matches("elevated_password = build.Password").count(),
            runs,
            "{example}: every provision run is elevated"
        );
        assert!(!source.contains("replication_regions"), "{example}");
        if source.contains("shared_image_gallery_destination") {
            assert!(source.contains("target_region {"), "{example}");
        }
        let example_vars = crate::common::file(&files, "packer/lab.pkrvars.hcl.example").text();
        assert!(
            !example_vars.contains("203.0.113.10"),
            "{example}: no placeholder address that makes Packer wait for WinRM"
        );
    }
}

/// A class in Terraform: every per-student resource is one `for_each` over `local.students`,
/// whose keys are the student ids; the network stays single.
#[test]
fn a_class_is_one_for_each_per_student_resource_in_terraform() {
    let path = crate::common::repo().join("examples/class.yaml");
    let files = render_file(&path);
    let main = file(&files, "terraform/main.tf").text();
    let body: hcl::Body = hcl::from_str(main).unwrap();
    let per_student = [
        "azurerm_public_ip",
        "azurerm_network_interface",
        "azurerm_windows_virtual_machine",
        "azurerm_virtual_machine_extension",
        "azurerm_virtual_machine_run_command",
        "azurerm_dev_test_global_vm_shutdown_schedule",
    ];
    let mut seen = Vec::new();
    for block in body.blocks().filter(|b| b.identifier() == "resource") {
        let ty = block.labels()[0].as_str().to_string();
        let for_each = block
            .body()
            .attributes()
            .find(|a| a.key() == "for_each")
            .map(|a| a.expr().to_string());
        if per_student.contains(&ty.as_str()) {
            assert_eq!(for_each.as_deref(), Some("local.students"), "{ty}");
            seen.push(ty);
        } else {
            assert!(for_each.is_none(), "{ty} is shared");
        }
    }
    assert_eq!(seen.len(), per_student.len(), "{seen:?}");
    let locals = body.blocks().find(|b| b.identifier() == "locals").unwrap();
    let students = locals
        .body()
        .attributes()
        .find(|a| a.key() == "students")
        .unwrap();
    let hcl::Expression::Object(map) = students.expr() else {
        panic!("local.students is an object")
    };
    let ids: Vec<String> = map.keys().map(ToString::to_string).collect();
    assert_eq!(ids, ["alice", "bob", "s03"]);
    for (key, value) in map {
        let id = key.to_string().trim_matches('"').to_string();
        let text = value.to_string();
        assert!(text.contains(&format!("\"wci-{id}\"")), "{id}: {text}");
        assert!(text.contains(&format!("\"wci-{id}-nic\"")), "{id}: {text}");
    }
    let outputs = file(&files, "terraform/outputs.tf").text();
    assert!(outputs.contains("output \"students\""), "{outputs}");
    assert!(
        !outputs.contains("output \"public_ip_address\""),
        "{outputs}"
    );
}

/// Bastion in Terraform: the host (Developer on the virtual network; Basic with its subnet and
/// public IP), no public IP on any lab VM, and the NSG rules open only to Bastion's source.
#[test]
fn bastion_labs_have_no_vm_public_ip_in_terraform() {
    let cases = [
        (
            "bastion".to_string(),
            std::fs::read_to_string(crate::common::repo().join("examples/bastion.yaml")).unwrap(),
        ),
        crate::common::extra_lab("class-bastion-basic"),
    ];
    for (label, text) in cases {
        let files = crate::common::render_text(&label, &text);
        let main = file(&files, "terraform/main.tf").text();
        let body: hcl::Body = hcl::from_str(main).unwrap();
        let resources: Vec<&hcl::Block> = body
            .blocks()
            .filter(|b| b.identifier() == "resource")
            .collect();
        let of = |ty: &str| -> Vec<&hcl::Block> {
            resources
                .iter()
                .copied()
                .filter(|b| b.labels()[0].as_str() == ty)
                .collect()
        };
        let attr = |b: &hcl::Block, key: &str| {
            b.body()
                .attributes()
                .find(|a| a.key() == key)
                .map(|a| a.expr().to_string())
        };
        let host = of("azurerm_bastion_host");
        assert_eq!(host.len(), 1, "{label}");
        let basic = label.contains("basic");
        assert_eq!(
            attr(host[0], "sku").as_deref(),
            Some(if basic { "\"Basic\"" } else { "\"Developer\"" }),
            "{label}"
        );
        let ips: Vec<String> = of("azurerm_public_ip")
            .iter()
            .map(|b| b.labels()[1].as_str().to_string())
            .collect();
        if basic {
            assert_eq!(ips, ["bastion"], "{label}: only the host's public IP");
            assert!(host[0]
                .body()
                .blocks()
                .any(|b| b.identifier() == "ip_configuration"));
            let subnet = of("azurerm_subnet")
                .into_iter()
                .find(|b| b.labels()[1].as_str() == "bastion")
                .unwrap();
            assert_eq!(
                attr(subnet, "name").as_deref(),
                Some("\"AzureBastionSubnet\"")
            );
        } else {
            assert!(ips.is_empty(), "{label}: no public IP at all");
            assert_eq!(
                attr(host[0], "virtual_network_id").as_deref(),
                Some("azurerm_virtual_network.lab.id"),
                "{label}"
            );
        }
        for nic in of("azurerm_network_interface") {
            let config = nic
                .body()
                .blocks()
                .find(|b| b.identifier() == "ip_configuration")
                .unwrap();
            assert!(
                !config
                    .body()
                    .attributes()
                    .any(|a| a.key() == "public_ip_address_id"),
                "{label}: the VM's NIC has no public IP"
            );
        }
        let variables = file(&files, "terraform/variables.tf").text();
        let source = if basic {
            "10.20.1.0/26"
        } else {
            "168.63.129.16"
        };
        assert!(
            variables.contains(&format!("\"{source}\"")),
            "{label}: the NSG's sources default to Bastion's"
        );
        let outputs = file(&files, "terraform/outputs.tf").text();
        assert!(outputs.contains("output \"bastion_name\""), "{label}");
        assert!(!outputs.contains("ip_address"), "{label}: {outputs}");
    }
}
