//! Offline conformance checker for the generated Packer template (`azure-arm`, HCL2).
//!
//! Why: the only Packer that installs on CI is Debian's 1.6.6, which predates the
//! `packer { required_plugins }` block and 19 arguments of the azure plugin 2.x
//! that the lab may use (`license_type`, `security_type`, ...). So two checks:
//!
//! * [`check_packer`] checks the *whole* template against the field data of the
//!   azure plugin **2.6.3** and Packer **1.16.0** provisioners in
//!   `shared/reference/packer-azure-arm-fields.json` (README §4): the `packer`
//!   block's `required_plugins` shape; every `source "azure-arm"` argument and block
//!   name (recursively) with a rough type check of literals and a duration check of
//!   literal timeouts; the builder's own `Prepare()` rules that need no Azure (one
//!   complete image source, one complete output, `os_type`, `communicator`); every
//!   `powershell` / `windows-restart` / `file` provisioner argument (own fields plus
//!   Packer core's common ones) and their "exactly one of" rules; `build` sources
//!   that name a declared source; `var.X` / `local.X` / `data.T.N` references,
//!   including those inside `${...}` templates.
//! * [`blank_for_packer_166`] makes a copy that Packer 1.6.6 can `packer validate`:
//!   it blanks the `packer {}` block, `required_version`, and the arguments/blocks
//!   named in [`PACKER_166_UNSUPPORTED_AZURE_ARM`], keeping every other line where it
//!   was so that validate's line numbers still point into the original.
//!
//! Not checked here: values that only Azure knows (SKUs, sizes, regions), script
//! files' existence (`packer validate` does that), post-processor arguments (no data).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use hcl::edit::structure as edit;
use hcl::edit::Span as _;
use hcl::expr::{Expression, TraversalOperator};
use hcl::{Block, Body, Structure};
use serde_json::Value;

/// The finding type is shared with the Terraform checker (re-exported for callers).
pub use super::terraform::HclFinding;
use super::terraform::{
    collect_refs, did_you_mean, finding, labels, literal_type_mismatch, object_key_name, sorted,
    Reference,
};

/// File name of the Packer field data inside the reference directory.
pub const PACKER_FIELDS_FILE: &str = "packer-azure-arm-fields.json";

/// `azure-arm` arguments (and the `spot` block) of plugin 2.x that Packer 1.6.6's
/// built-in azure-arm builder rejects as "Unsupported argument" (measured, see
/// `shared/research/validators.md`).
pub const PACKER_166_UNSUPPORTED_AZURE_ARM: &[&str] = &[
    "skip_create_image",
    "metadata_host",
    "client_cert_password",
    "keep_os_disk",
    "temp_nic_name",
    "build_key_vault_secret_name",
    "disk_encryption_set_id",
    "custom_data",
    "user_data_file",
    "user_data",
    "custom_script",
    "winrm_expiration_time",
    "temp_os_disk_name",
    "license_type",
    "secure_boot_enabled",
    "encryption_at_host",
    "vtpm_enabled",
    "security_type",
    "spot",
];

const BUILDER: &str = "azure-arm";
/// Communicators of the Packer SDK.
const COMMUNICATORS: &[&str] = &["none", "ssh", "winrm"];
/// Arguments that Packer parses as Go durations (`"10m"`, `"1h30m"`), besides the
/// common `pause_before` / `timeout` that the data types as "duration string".
const DURATION_ARGUMENTS: &[&str] = &[
    "winrm_timeout",
    "ssh_timeout",
    "ssh_wait_timeout",
    "ssh_keep_alive_interval",
    "ssh_read_write_timeout",
    "polling_duration_timeout",
    "shared_image_gallery_timeout",
    "pause_before_connecting",
    "restart_timeout",
    "start_retry_timeout",
    "pause_after",
];

/// Checks a Packer HCL2 template (one `.pkr.hcl` file) against the azure-arm 2.6.3
/// and Packer 1.16.0 field data. Returns findings sorted by path and message (their
/// `file` is empty); empty means conformant.
pub fn check_packer(reference_dir: &Path, source: &str) -> Vec<HclFinding> {
    let mut out = Vec::new();
    let schema = match PackerSchema::load(&reference_dir.join(PACKER_FIELDS_FILE)) {
        Ok(schema) => schema,
        Err(message) => {
            out.push(finding("", "", message));
            return out;
        }
    };
    let body = match hcl::parse(source) {
        Ok(body) => body,
        Err(err) => {
            out.push(finding("", "", format!("HCL parse error: {err}")));
            return out;
        }
    };
    let decls = Declarations::collect(&body, &mut out);
    let mut checker = PackerChecker {
        schema: &schema,
        decls: &decls,
        out: &mut out,
    };
    checker.check_file(&body);
    sorted(out)
}

/// Returns `source` with the constructs that Packer 1.6.6 predates replaced by empty
/// lines: the `packer { ... }` block, every top-level `required_version`, and, inside
/// `source "azure-arm"` blocks and `build { source "source.azure-arm.X" {} }`
/// blocks, every argument or nested block named in
/// [`PACKER_166_UNSUPPORTED_AZURE_ARM`]. The line count and every other line stay
/// as they were. A construct that shares a line with other code is blanked with
/// spaces instead. Input that does not parse is returned unchanged (validate will
/// report it).
pub fn blank_for_packer_166(source: &str) -> String {
    let Ok(body) = hcl::edit::parser::parse_body(source) else {
        return source.to_string();
    };
    let mut spans = Vec::new();
    for structure in body {
        match structure {
            edit::Structure::Attribute(attr) => {
                if attr.key.as_str() == "required_version" {
                    spans.extend(attr.span());
                }
            }
            edit::Structure::Block(block) => {
                let ident = block.ident.as_str();
                let label0 = block.labels.first().map(edit::BlockLabel::as_str);
                if ident == "packer" {
                    spans.extend(block.span());
                } else if ident == "source" && label0 == Some(BUILDER) {
                    spans.extend(unsupported_spans(&block.body));
                } else if ident == "build" {
                    for inner in block.body.iter().filter_map(|s| s.as_block()) {
                        let is_azure = inner
                            .labels
                            .first()
                            .is_some_and(|l| l.as_str().starts_with("source.azure-arm."));
                        if inner.ident.as_str() == "source" && is_azure {
                            spans.extend(unsupported_spans(&inner.body));
                        }
                    }
                }
            }
        }
    }
    blank_spans(source, &spans)
}

/// Packer 1.6.6 could publish to a Compute Gallery only through a managed image: a
/// `source "azure-arm"` with `shared_image_gallery_destination` and no `managed_image_name`
/// fails its `Prepare()` ("A capture_container_name or managed_image_name must be specified",
/// ...), while plugin 2.x builds exactly that for Trusted Launch (which cannot be captured to a
/// managed image at all). After [`blank_for_packer_166`], this writes a dummy managed image
/// output onto the first two empty lines inside such a source block (blank separator lines, or
/// the blanked `security_type` / `secure_boot_enabled` / `vtpm_enabled` lines), so that validate
/// checks everything else; line numbers stay as they were. Idempotent. Panics when the block has
/// fewer than two empty lines.
pub fn add_managed_image_for_packer_166(blanked: &str) -> String {
    let Ok(body) = hcl::edit::parser::parse_body(blanked) else {
        return blanked.to_string();
    };
    let mut lines: Vec<String> = blanked.split('\n').map(str::to_string).collect();
    for block in body.iter().filter_map(|s| s.as_block()) {
        let is_azure = block.ident.as_str() == "source"
            && block.labels.first().map(edit::BlockLabel::as_str) == Some(BUILDER);
        let gallery = block.body.iter().any(|s| {
            s.as_block()
                .is_some_and(|b| b.ident.as_str() == "shared_image_gallery_destination")
        });
        let managed = block.body.iter().any(|s| {
            s.as_attribute()
                .is_some_and(|a| a.key.as_str() == "managed_image_name")
        });
        if !(is_azure && gallery && !managed) {
            continue;
        }
        let Some(span) = block.span() else { continue };
        let first = blanked[..span.start].matches('\n').count();
        let last = blanked[..span.end].matches('\n').count();
        let empty: Vec<usize> = (first + 1..last)
            .filter(|&i| lines[i].trim().is_empty())
            .take(2)
            .collect();
        assert_eq!(
            empty.len(),
            2,
            "no room for a dummy managed image output in the source block"
        );
        lines[empty[0]] = "  managed_image_name = \"packer-1-6-6-validate\"".into();
        lines[empty[1]] = "  managed_image_resource_group_name = \"packer-1-6-6-validate\"".into();
        // The gallery block's blanked target_region lines take 1.6.6's required list.
        let gallery = block
            .body
            .iter()
            .filter_map(|s| s.as_block())
            .find(|b| b.ident.as_str() == "shared_image_gallery_destination")
            .and_then(hcl::edit::Span::span);
        if let Some(g) = gallery {
            let first = blanked[..g.start].matches('\n').count();
            let last = blanked[..g.end].matches('\n').count();
            let has_list = lines[first..last]
                .iter()
                .any(|l| l.trim_start().starts_with("replication_regions"));
            if let Some(i) = (first + 1..last).find(|&i| lines[i].trim().is_empty()) {
                if !has_list {
                    lines[i] = "    replication_regions = [\"packer-1-6-6-validate\"]".into();
                }
            }
        }
    }
    lines.join("\n")
}

fn unsupported_spans(body: &edit::Body) -> Vec<std::ops::Range<usize>> {
    // Plugin 2.x's `target_region` blocks (1.6.6 knows only the `replication_regions` list,
    // which add_managed_image_for_packer_166 writes instead).
    let target_regions = body
        .iter()
        .filter_map(|s| s.as_block())
        .filter(|b| b.ident.as_str() == "shared_image_gallery_destination")
        .flat_map(|b| b.body.iter())
        .filter_map(|s| s.as_block())
        .filter(|b| b.ident.as_str() == "target_region")
        .filter_map(hcl::edit::Span::span);
    body.iter()
        .filter(|s| {
            let name = match s {
                edit::Structure::Attribute(a) => a.key.as_str(),
                edit::Structure::Block(b) => b.ident.as_str(),
            };
            PACKER_166_UNSUPPORTED_AZURE_ARM.contains(&name)
        })
        .filter_map(hcl::edit::Span::span)
        .chain(target_regions)
        .collect()
}

/// Blanks byte ranges of `source`: whole lines when the range is alone on its lines
/// (apart from whitespace and a trailing comment), otherwise just the range's
/// characters (with spaces). Newlines are kept, so line numbers do not move.
fn blank_spans(source: &str, spans: &[std::ops::Range<usize>]) -> String {
    let bytes = source.as_bytes();
    let mut blank = vec![false; bytes.len()];
    for span in spans {
        let line_start = source[..span.start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[span.end..]
            .find('\n')
            .map_or(source.len(), |i| span.end + i);
        let before = &source[line_start..span.start];
        let after = source[span.end..line_end].trim();
        let alone = before.trim().is_empty()
            && (after.is_empty() || after.starts_with('#') || after.starts_with("//"));
        let range = if alone {
            line_start..line_end
        } else {
            span.clone()
        };
        for flag in &mut blank[range] {
            *flag = true;
        }
    }
    let mut out = String::with_capacity(source.len());
    let mut line = String::new();
    let mut touched = false;
    for (i, ch) in source.char_indices() {
        if ch == '\n' {
            out.push_str(if touched && line.trim().is_empty() {
                ""
            } else {
                &line
            });
            out.push('\n');
            line.clear();
            touched = false;
        } else if blank[i] {
            if ch != '\r' {
                line.push(' ');
            }
            touched = true;
        } else {
            line.push(ch);
        }
    }
    out.push_str(if touched && line.trim().is_empty() {
        ""
    } else {
        &line
    });
    out
}

// ---------------------------------------------------------------------------------
// Reference data
// ---------------------------------------------------------------------------------

/// Argument types and nested blocks of one body.
#[derive(Debug, Default)]
struct Fields {
    attributes: BTreeMap<String, String>,
    blocks: BTreeMap<String, NestedFields>,
}

#[derive(Debug)]
struct NestedFields {
    single: bool,
    body: Fields,
}

impl Fields {
    fn from_json(value: &Value) -> Fields {
        let mut fields = Fields::default();
        for (name, a) in value
            .get("attributes")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let ty = a.get("type").and_then(Value::as_str).unwrap_or("");
            fields.attributes.insert(name.clone(), ty.to_string());
        }
        for (name, b) in value
            .get("blocks")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let single = b.get("nesting").and_then(Value::as_str) == Some("single");
            fields.blocks.insert(
                name.clone(),
                NestedFields {
                    single,
                    body: Fields::from_json(b),
                },
            );
        }
        fields
    }
}

#[derive(Debug)]
struct PackerSchema {
    builder: Fields,
    provisioners: BTreeMap<String, Fields>,
    /// `packer_*` fields that Packer core sets itself.
    internal: BTreeSet<String>,
    /// Arguments Packer core accepts on every provisioner -> type.
    provisioner_common: BTreeMap<String, String>,
    plugin_source: String,
    top_level_blocks: BTreeSet<String>,
    build_attributes: BTreeSet<String>,
    build_blocks: BTreeSet<String>,
    variable_attributes: BTreeSet<String>,
    variable_blocks: BTreeSet<String>,
    packer_attributes: BTreeSet<String>,
    packer_blocks: BTreeSet<String>,
    plugin_keys: BTreeSet<String>,
}

impl PackerSchema {
    fn load(path: &Path) -> Result<PackerSchema, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read reference {}: {e}", path.display()))?;
        let root: Value = serde_json::from_str(&text)
            .map_err(|e| format!("cannot parse reference {}: {e}", path.display()))?;
        let builder_json = root
            .pointer("/builders/azure-arm")
            .ok_or("reference has no builders.azure-arm")?;
        let strings = |pointer: &str| -> BTreeSet<String> {
            match root.pointer(pointer) {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                Some(Value::Object(map)) => map.keys().cloned().collect(),
                _ => BTreeSet::new(),
            }
        };
        let mut internal = strings("/builders/azure-arm/packer_internal");
        internal.extend(
            builder_json["attributes"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
                .filter(|k| k.starts_with("packer_"))
                .cloned(),
        );
        let provisioners = root
            .get("provisioners")
            .and_then(Value::as_object)
            .ok_or("reference has no provisioners")?
            .iter()
            .map(|(name, v)| (name.clone(), Fields::from_json(v)))
            .collect();
        let provisioner_common = root
            .pointer("/packer_core/provisioner_common_attributes")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        let plugin_source = root
            .pointer("/plugin/required_plugins_entry/azure/source")
            .and_then(Value::as_str)
            .unwrap_or("github.com/hashicorp/azure")
            .to_string();
        Ok(PackerSchema {
            builder: Fields::from_json(builder_json),
            provisioners,
            internal,
            provisioner_common,
            plugin_source,
            top_level_blocks: strings("/packer_core/top_level_blocks"),
            build_attributes: strings("/packer_core/build_block/attributes"),
            build_blocks: strings("/packer_core/build_block/blocks"),
            variable_attributes: strings("/packer_core/variable_block/attributes"),
            variable_blocks: strings("/packer_core/variable_block/blocks"),
            packer_attributes: strings("/packer_core/packer_block/attributes"),
            packer_blocks: strings("/packer_core/packer_block/blocks"),
            plugin_keys: strings("/packer_core/packer_block/required_plugins_object_keys"),
        })
    }
}

// ---------------------------------------------------------------------------------
// Declarations
// ---------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Declarations {
    variables: BTreeSet<String>,
    locals: BTreeSet<String>,
    /// `TYPE.NAME` of every `source` block
    sources: BTreeSet<String>,
    /// `TYPE.NAME` of every `data` block
    data: BTreeSet<String>,
}

impl Declarations {
    fn collect(body: &Body, out: &mut Vec<HclFinding>) -> Declarations {
        let mut d = Declarations::default();
        let declare =
            |set: &mut BTreeSet<String>, prefix: &str, name: String, out: &mut Vec<HclFinding>| {
                if !set.insert(name.clone()) {
                    out.push(finding(
                        "",
                        &format!("{prefix}.{name}"),
                        "duplicate declaration",
                    ));
                }
            };
        for block in body.blocks() {
            match (block.identifier(), labels(block).as_slice()) {
                ("variable", [name]) => declare(&mut d.variables, "var", name.clone(), out),
                ("variables", []) => {
                    for attr in block.body().attributes() {
                        declare(&mut d.variables, "var", attr.key().to_string(), out);
                    }
                }
                ("locals", []) => {
                    for attr in block.body().attributes() {
                        declare(&mut d.locals, "local", attr.key().to_string(), out);
                    }
                }
                ("local", [name]) => declare(&mut d.locals, "local", name.clone(), out),
                ("source", [ty, name]) => {
                    declare(&mut d.sources, "source", format!("{ty}.{name}"), out)
                }
                ("data", [ty, name]) => declare(&mut d.data, "data", format!("{ty}.{name}"), out),
                _ => {}
            }
        }
        d
    }
}

// ---------------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------------

/// Where an expression is: decides which reference roots are valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// variables, locals, sources, data: `var`, `local`, `data`, `packer`, `path`
    Global,
    /// inside `build`: additionally `source` and `build`
    Build,
}

struct PackerChecker<'a> {
    schema: &'a PackerSchema,
    decls: &'a Declarations,
    out: &'a mut Vec<HclFinding>,
}

impl PackerChecker<'_> {
    fn report(&mut self, path: &str, message: impl Into<String>) {
        self.out.push(finding("", path, message));
    }

    fn check_file(&mut self, body: &Body) {
        let mut build_index = 0;
        let mut has_packer_block = false;
        for structure in body {
            let block = match structure {
                Structure::Attribute(attr) => {
                    self.report(
                        attr.key(),
                        "arguments are not allowed at the top level of a Packer template",
                    );
                    continue;
                }
                Structure::Block(block) => block,
            };
            let labels = labels(block);
            let kind = block.identifier();
            match (kind, labels.as_slice()) {
                ("packer", []) => {
                    has_packer_block = true;
                    self.check_packer_block(block);
                }
                ("source", [ty, name]) => {
                    let path = format!("source.{ty}.{name}");
                    if ty == BUILDER {
                        self.check_builder(block.body(), &path, false);
                    } else {
                        self.report(&path, format!("builder type `{ty}` has no local schema (only `{BUILDER}` can be checked)"));
                    }
                    self.check_refs_in_body(block.body(), &path, Scope::Global);
                }
                ("variable", [name]) => {
                    let path = format!("var.{name}");
                    let (attrs, blocks) = (
                        &self.schema.variable_attributes,
                        &self.schema.variable_blocks,
                    );
                    self.check_names(block.body(), &path, attrs, blocks);
                    for attr in block.body().attributes().filter(|a| a.key() != "type") {
                        self.check_expr(
                            attr.expr(),
                            &format!("{path}.{}", attr.key()),
                            Scope::Global,
                        );
                    }
                    for inner in block.body().blocks() {
                        self.check_refs_in_body(
                            inner.body(),
                            &format!("{path}.{}", inner.identifier()),
                            Scope::Global,
                        );
                    }
                }
                ("variables" | "locals", []) | ("local" | "data", _) => {
                    let path = std::iter::once(kind.to_string())
                        .chain(labels.iter().cloned())
                        .collect::<Vec<_>>()
                        .join(".");
                    self.check_refs_in_body(block.body(), &path, Scope::Global);
                }
                ("build", []) => {
                    self.check_build(block, &format!("build[{build_index}]"));
                    build_index += 1;
                }
                _ if self.schema.top_level_blocks.contains(kind) => {
                    if !matches!(kind, "hcp_packer_registry" | "communicator") {
                        self.report(
                            kind,
                            format!(
                                "`{kind}` block has the wrong number of labels ({})",
                                labels.len()
                            ),
                        );
                    }
                }
                _ => {
                    let hint = did_you_mean(
                        kind,
                        self.schema.top_level_blocks.iter().map(String::as_str),
                    );
                    self.report(kind, format!("unknown top-level block type `{kind}`{hint}"));
                }
            }
        }
        let uses_azure = self
            .decls
            .sources
            .iter()
            .any(|s| s.starts_with("azure-arm."));
        if uses_azure && !has_packer_block {
            self.report(
                "packer",
                format!("no `packer {{ required_plugins {{ azure = {{ source = \"{}\", version = ... }} }} }}` block", self.schema.plugin_source),
            );
        }
        if build_index == 0 && !self.decls.sources.is_empty() {
            self.report("build", "no `build` block: no source would be built");
        }
    }

    fn check_packer_block(&mut self, block: &Block) {
        let (attrs, blocks) = (&self.schema.packer_attributes, &self.schema.packer_blocks);
        self.check_names(block.body(), "packer", attrs, blocks);
        let mut has_azure = false;
        for plugins in block
            .body()
            .blocks()
            .filter(|b| b.identifier() == "required_plugins")
        {
            for structure in plugins.body() {
                let attr = match structure {
                    Structure::Attribute(attr) => attr,
                    Structure::Block(b) => {
                        let name = b.identifier();
                        self.report(
                            &format!("packer.required_plugins.{name}"),
                            format!(
                                "write `{name} = {{ source = ..., version = ... }}`, not a block"
                            ),
                        );
                        continue;
                    }
                };
                let path = format!("packer.required_plugins.{}", attr.key());
                let Expression::Object(object) = attr.expr() else {
                    self.report(
                        &path,
                        "expected an object `{ source = ..., version = ... }`",
                    );
                    continue;
                };
                let mut keys = BTreeSet::new();
                for (key, value) in object {
                    let Some(key) = object_key_name(key) else {
                        continue;
                    };
                    if !self.schema.plugin_keys.contains(&key) {
                        let hint =
                            did_you_mean(&key, self.schema.plugin_keys.iter().map(String::as_str));
                        self.report(
                            &format!("{path}.{key}"),
                            format!("unknown key `{key}`{hint}"),
                        );
                    }
                    if key == "source" && attr.key() == "azure" {
                        has_azure = true;
                        if let Expression::String(s) = value {
                            if s != &self.schema.plugin_source {
                                self.report(
                                    &format!("{path}.source"),
                                    format!(
                                        "expected \"{}\", got \"{s}\"",
                                        self.schema.plugin_source
                                    ),
                                );
                            }
                        }
                    }
                    keys.insert(key);
                }
                for key in &self.schema.plugin_keys {
                    if !keys.contains(key) {
                        self.report(&path, format!("missing `{key}`"));
                    }
                }
            }
        }
        let uses_azure = self
            .decls
            .sources
            .iter()
            .any(|s| s.starts_with("azure-arm."));
        if uses_azure && !has_azure {
            self.report(
                "packer.required_plugins",
                format!(
                    "`azure-arm` sources need `azure = {{ source = \"{}\", ... }}`",
                    self.schema.plugin_source
                ),
            );
        }
    }

    /// The azure-arm builder body. `in_build` is set for a build-level
    /// `source "source.azure-arm.X" {}` block, which may also set `name` and only
    /// adds to the top-level source, so the completeness rules are not applied.
    fn check_builder(&mut self, body: &Body, path: &str, in_build: bool) {
        let schema = self.schema;
        self.check_fields(body, &schema.builder, path, &|name| {
            in_build && name == "name"
        });
        if in_build {
            return;
        }
        let attrs: BTreeMap<&str, &Expression> =
            body.attributes().map(|a| (a.key(), a.expr())).collect();
        let has = |name: &str| attrs.contains_key(name);
        let has_block = |name: &str| body.blocks().any(|b| b.identifier() == name);

        // One image source (the plugin's Prepare() rules).
        let marketplace = ["image_publisher", "image_offer", "image_sku"];
        let custom = [
            "custom_managed_image_name",
            "custom_managed_image_resource_group_name",
        ];
        let any_marketplace = marketplace.iter().any(|n| has(n));
        let any_custom = custom.iter().any(|n| has(n));
        let sources = [
            any_marketplace,
            has("image_url"),
            any_custom,
            has_block("shared_image_gallery"),
        ];
        match sources.iter().filter(|s| **s).count() {
            0 => self.report(path, "no image source: set image_publisher + image_offer + image_sku, image_url, custom_managed_image_name + custom_managed_image_resource_group_name, or a shared_image_gallery block"),
            1 => {}
            _ => self.report(path, "more than one image source (marketplace image, image_url, custom managed image, shared_image_gallery): set exactly one"),
        }
        let group = if any_marketplace {
            &marketplace[..]
        } else if any_custom {
            &custom[..]
        } else {
            &[][..]
        };
        for name in group.iter().filter(|n| !has(n)) {
            self.report(
                path,
                format!(
                    "missing `{name}` (the image source needs {})",
                    group.join(" + ")
                ),
            );
        }

        // At least one output.
        let managed = ["managed_image_name", "managed_image_resource_group_name"];
        let vhd = ["capture_container_name", "capture_name_prefix"];
        let skip_image = matches!(attrs.get("skip_create_image"), Some(Expression::Bool(true)));
        let any_managed = managed.iter().any(|n| has(n));
        let any_vhd = vhd.iter().any(|n| has(n));
        if !(any_managed || any_vhd || has_block("shared_image_gallery_destination") || skip_image)
        {
            self.report(path, "no output: set managed_image_name + managed_image_resource_group_name, capture_container_name + capture_name_prefix, or a shared_image_gallery_destination block");
        }
        for group in [&managed[..], &vhd[..]] {
            if group.iter().any(|n| has(n)) {
                for name in group.iter().filter(|n| !has(n)) {
                    self.report(
                        path,
                        format!("missing `{name}` (the output needs {})", group.join(" + ")),
                    );
                }
            }
        }

        match attrs.get("os_type") {
            None => self.report(path, "missing `os_type` (\"Windows\" or \"Linux\")"),
            Some(Expression::String(s))
                if !s.eq_ignore_ascii_case("windows") && !s.eq_ignore_ascii_case("linux") =>
            {
                self.report(
                    &format!("{path}.os_type"),
                    format!("os_type must be \"Windows\" or \"Linux\", got \"{s}\""),
                );
            }
            Some(_) => {}
        }
        if let Some(Expression::String(s)) = attrs.get("communicator") {
            if !COMMUNICATORS.contains(&s.as_str()) {
                self.report(
                    &format!("{path}.communicator"),
                    format!("communicator must be one of {COMMUNICATORS:?}, got \"{s}\""),
                );
            }
        }
    }

    /// Names, nesting and literal types of a body against field data. `extra` accepts
    /// additional argument names (Packer core's).
    fn check_fields(
        &mut self,
        body: &Body,
        fields: &Fields,
        path: &str,
        extra: &dyn Fn(&str) -> bool,
    ) {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for structure in body {
            match structure {
                Structure::Attribute(attr) => {
                    let key = attr.key();
                    let attr_path = format!("{path}.{key}");
                    if extra(key) {
                        continue;
                    }
                    if self.schema.internal.contains(key) {
                        self.report(
                            &attr_path,
                            format!("`{key}` is set by Packer itself and must not be written"),
                        );
                    } else if let Some(ty) = fields.attributes.get(key) {
                        self.check_value(attr.expr(), ty, key, &attr_path);
                    } else if fields.blocks.contains_key(key) {
                        self.report(
                            &attr_path,
                            format!("`{key}` is a block, not an argument: write `{key} {{ ... }}`"),
                        );
                    } else {
                        let hint = did_you_mean(
                            key,
                            fields
                                .attributes
                                .keys()
                                .map(String::as_str)
                                .filter(|k| !k.starts_with("packer_")),
                        );
                        self.report(&attr_path, format!("unknown argument `{key}`{hint}"));
                    }
                }
                Structure::Block(block) => {
                    let name = block.identifier();
                    let Some((schema_name, nested)) = fields.blocks.get_key_value(name) else {
                        let block_path = format!("{path}.{name}");
                        if fields.attributes.contains_key(name) {
                            self.report(
                                &block_path,
                                format!(
                                    "`{name}` is an argument, not a block: write `{name} = ...`"
                                ),
                            );
                        } else {
                            let hint = did_you_mean(name, fields.blocks.keys().map(String::as_str));
                            self.report(&block_path, format!("unknown block type `{name}`{hint}"));
                        }
                        continue;
                    };
                    let count = counts.entry(schema_name.as_str()).or_default();
                    let block_path = if nested.single {
                        format!("{path}.{name}")
                    } else {
                        format!("{path}.{name}[{count}]")
                    };
                    *count += 1;
                    if !block.labels().is_empty() {
                        self.report(&block_path, format!("block `{name}` takes no labels"));
                    }
                    self.check_fields(block.body(), &nested.body, &block_path, &|_| false);
                }
            }
        }
        for (name, count) in counts {
            if fields.blocks[name].single && count > 1 {
                self.report(
                    path,
                    format!("block `{name}` may appear at most once (found {count})"),
                );
            }
        }
    }

    fn check_value(&mut self, expr: &Expression, ty: &str, key: &str, path: &str) {
        let is_duration = ty.contains("duration") || DURATION_ARGUMENTS.contains(&key);
        let ty = if ty.contains("duration") {
            "string"
        } else {
            ty
        };
        if let Some(problem) = literal_type_mismatch(expr, ty) {
            self.report(path, format!("type mismatch: `{key}` is {ty}; {problem}"));
            return;
        }
        let literal = match expr {
            Expression::String(s) => s.clone(),
            Expression::Number(n) => n.to_string(),
            _ => return,
        };
        if is_duration && !is_go_duration(&literal) {
            self.report(
                path,
                format!("`{key}` is not a duration such as \"10m\" or \"1h30m\": {literal:?}"),
            );
        }
    }

    fn check_build(&mut self, block: &Block, path: &str) {
        let body = block.body();
        let (attrs, blocks) = (&self.schema.build_attributes, &self.schema.build_blocks);
        self.check_names(body, path, attrs, blocks);
        let mut built = 0;
        for attr in body.attributes() {
            let attr_path = format!("{path}.{}", attr.key());
            if attr.key() == "sources" {
                match attr.expr() {
                    Expression::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            built += 1;
                            self.check_source_reference(item, &format!("{attr_path}[{i}]"));
                        }
                    }
                    _ => self.report(
                        &attr_path,
                        "expected a list such as [\"source.azure-arm.NAME\"]",
                    ),
                }
            } else {
                self.check_expr(attr.expr(), &attr_path, Scope::Build);
            }
        }
        let mut provisioner_index = 0;
        for inner in body.blocks() {
            let labels = labels(inner);
            match inner.identifier() {
                "source" => {
                    built += 1;
                    let source_path = format!("{path}.source");
                    match labels.as_slice() {
                        [reference] => {
                            let source_path = format!("{path}.{reference}");
                            self.check_source_reference(
                                &Expression::String(reference.clone()),
                                &source_path,
                            );
                            if reference.starts_with("source.azure-arm.") {
                                self.check_builder(inner.body(), &source_path, true);
                            }
                            self.check_refs_in_body(inner.body(), &source_path, Scope::Build);
                        }
                        _ => self.report(
                            &source_path,
                            "a build `source` block takes one label, \"source.TYPE.NAME\"",
                        ),
                    }
                }
                "provisioner" | "error-cleanup-provisioner" => {
                    let prov_path = format!("{path}.{}[{provisioner_index}]", inner.identifier());
                    provisioner_index += 1;
                    match labels.as_slice() {
                        [ty] => self.check_provisioner(inner.body(), ty, &prov_path),
                        _ => {
                            self.report(&prov_path, "a provisioner block takes one label, its type")
                        }
                    }
                    self.check_refs_in_body(inner.body(), &prov_path, Scope::Build);
                }
                other => {
                    let other_path = format!("{path}.{other}");
                    self.check_refs_in_body(inner.body(), &other_path, Scope::Build);
                }
            }
        }
        if built == 0 {
            self.report(
                path,
                "the build names no source (`sources = [\"source.azure-arm.NAME\"]`)",
            );
        }
    }

    fn check_source_reference(&mut self, expr: &Expression, path: &str) {
        let text = match expr {
            Expression::String(s) => s.clone(),
            Expression::Traversal(t) => match &t.expr {
                Expression::Variable(root) => std::iter::once(root.as_str().to_string())
                    .chain(t.operators.iter().filter_map(|op| match op {
                        TraversalOperator::GetAttr(id) => Some(id.to_string()),
                        _ => None,
                    }))
                    .collect::<Vec<_>>()
                    .join("."),
                _ => return,
            },
            _ => return,
        };
        let declared = text
            .strip_prefix("source.")
            .is_some_and(|rest| self.decls.sources.contains(rest));
        if !declared {
            let known: Vec<String> = self
                .decls
                .sources
                .iter()
                .map(|s| format!("source.{s}"))
                .collect();
            let hint = did_you_mean(&text, known.iter().map(String::as_str));
            self.report(path, format!("`{text}` is not a declared source{hint}"));
        }
    }

    fn check_provisioner(&mut self, body: &Body, ty: &str, path: &str) {
        let Some(fields) = self.schema.provisioners.get(ty) else {
            let hint = did_you_mean(ty, self.schema.provisioners.keys().map(String::as_str));
            self.report(
                path,
                format!("provisioner type `{ty}` has no local schema{hint}"),
            );
            return;
        };
        let schema = self.schema;
        for attr in body.attributes() {
            if let Some(ty) = schema.provisioner_common.get(attr.key()) {
                self.check_value(
                    attr.expr(),
                    ty,
                    attr.key(),
                    &format!("{path}.{}", attr.key()),
                );
            }
        }
        self.check_fields(body, fields, path, &|name| {
            schema.provisioner_common.contains_key(name)
        });
        let set: BTreeSet<&str> = body.attributes().map(hcl::Attribute::key).collect();
        let count = |names: &[&str]| names.iter().filter(|n| set.contains(*n)).count();
        match ty {
            "powershell" => {
                if count(&["inline", "script", "scripts"]) != 1 {
                    self.report(
                        path,
                        "powershell needs exactly one of `inline`, `script`, `scripts`",
                    );
                }
                if set.contains("elevated_user") != set.contains("elevated_password") {
                    self.report(
                        path,
                        "`elevated_user` and `elevated_password` must be set together",
                    );
                }
            }
            "file" => {
                if !set.contains("destination") {
                    self.report(path, "file needs `destination`");
                }
                if count(&["source", "sources", "content"]) != 1 {
                    self.report(
                        path,
                        "file needs exactly one of `source`, `sources`, `content`",
                    );
                }
            }
            _ => {}
        }
    }

    fn check_names(
        &mut self,
        body: &Body,
        path: &str,
        arguments: &BTreeSet<String>,
        blocks: &BTreeSet<String>,
    ) {
        for structure in body {
            let (name, allowed, kind) = match structure {
                Structure::Attribute(a) => (a.key(), arguments, "argument"),
                Structure::Block(b) => (b.identifier(), blocks, "block"),
            };
            if !allowed.contains(name) {
                let hint = did_you_mean(name, allowed.iter().map(String::as_str));
                self.report(
                    &format!("{path}.{name}"),
                    format!("unknown {kind} `{name}`{hint}"),
                );
            }
        }
    }

    fn check_refs_in_body(&mut self, body: &Body, path: &str, scope: Scope) {
        for structure in body {
            match structure {
                Structure::Attribute(attr) => {
                    self.check_expr(attr.expr(), &format!("{path}.{}", attr.key()), scope)
                }
                Structure::Block(block) => {
                    self.check_refs_in_body(
                        block.body(),
                        &format!("{path}.{}", block.identifier()),
                        scope,
                    );
                }
            }
        }
    }

    fn check_expr(&mut self, expr: &Expression, path: &str, scope: Scope) {
        let mut refs = Vec::new();
        let mut errors = Vec::new();
        collect_refs(expr, &mut Vec::new(), &mut refs, &mut errors);
        for error in errors {
            self.report(path, error);
        }
        for r in &refs {
            if let Some(problem) = self.resolve(r, scope) {
                self.report(path, problem);
            }
        }
    }

    fn resolve(&self, r: &Reference, scope: Scope) -> Option<String> {
        let attrs: Vec<&str> = r.attr_steps().collect();
        let first = attrs.first().copied();
        match (r.root.as_str(), first) {
            ("packer" | "path", _) => None,
            ("source" | "build", _) if scope == Scope::Build => None,
            ("var", Some(name)) if self.decls.variables.contains(name) => None,
            ("var", Some(name)) => Some(format!(
                "reference to undeclared variable `var.{name}`{}",
                did_you_mean(name, self.decls.variables.iter().map(String::as_str))
            )),
            ("local", Some(name)) if self.decls.locals.contains(name) => None,
            ("local", Some(name)) => Some(format!(
                "reference to undeclared local `local.{name}`{}",
                did_you_mean(name, self.decls.locals.iter().map(String::as_str))
            )),
            ("data", Some(ty)) => {
                let address = format!("{ty}.{}", attrs.get(1).copied().unwrap_or(""));
                (!self.decls.data.contains(&address)).then(|| format!("reference to undeclared data source `data.{address}`"))
            }
            ("source" | "build", _) => Some(format!("`{}` is only available inside a build block", r.root)),
            (root, _) => Some(format!("unknown symbol `{root}` (Packer knows var, local, data, source, build, packer, path)")),
        }
    }
}

/// A Go `time.ParseDuration` string: "0", or signed sequence of decimal numbers with
/// units ns, us, µs, ms, s, m, h ("300ms", "1.5h", "2h45m").
fn is_go_duration(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..digits];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return false;
        }
        rest = &rest[digits..];
        // "ms" before "m" and "s", so that the longest unit wins
        let unit = ["ns", "us", "µs", "ms", "s", "m", "h"]
            .iter()
            .find(|u| rest.starts_with(**u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// The reference data, or `None` when conformance tests are switched off
    /// (`WCIGEN_CONFORMANCE` unset): every test returns early then.
    fn reference() -> Option<PathBuf> {
        crate::common::conformance_reference()
    }

    fn reference_dir() -> PathBuf {
        reference().expect("conformance tests are on")
    }

    fn check(source: &str) -> Vec<HclFinding> {
        check_packer(&reference_dir(), source)
    }

    fn mutate(text: &str, from: &str, to: &str) -> String {
        assert_eq!(
            text.matches(from).count(),
            1,
            "mutation anchor must occur once: {from:?}"
        );
        text.replacen(from, to, 1)
    }

    fn render(findings: &[HclFinding]) -> String {
        findings.iter().map(|f| format!("  {f}\n")).collect()
    }

    /// Asserts that the mutated template has a finding at `path` containing `message`.
    fn assert_mutation(from: &str, to: &str, path: &str, message: &str) {
        let findings = check(&mutate(LAB_PKR_HCL, from, to));
        assert!(
            findings
                .iter()
                .any(|f| f.path == path && f.message.contains(message)),
            "{from:?} -> {to:?}: expected a finding at {path:?} containing {message:?}, got:\n{}",
            render(&findings)
        );
    }

    #[test]
    fn lab_template_is_conformant() {
        if reference().is_none() {
            return;
        }
        let findings = check(LAB_PKR_HCL);
        assert!(
            findings.is_empty(),
            "unexpected findings:\n{}",
            render(&findings)
        );
    }

    #[test]
    fn builder_argument_typo() {
        if reference().is_none() {
            return;
        }
        assert_mutation(
            "  image_offer     = \"WindowsServer\"",
            "  image_ofer      = \"WindowsServer\"",
            "source.azure-arm.lab.image_ofer",
            "unknown argument `image_ofer` (did you mean `image_offer`?)",
        );
    }

    #[test]
    fn builder_nested_block_argument_typo_and_duplicate_single_block() {
        if reference().is_none() {
            return;
        }
        let sig = "  shared_image_gallery_destination {\n    gallery_name   = \"sig_wci\"\n    image_name     = \"wci-lab\"\n    image_version  = var.image_version\n    resource_group = var.image_resource_group\n    target_region {\n      nme = var.location\n    }\n  }\n";
        assert_mutation(
            "  azure_tags = local.tags\n",
            &format!("  azure_tags = local.tags\n{sig}"),
            "source.azure-arm.lab.shared_image_gallery_destination.target_region[0].nme",
            "did you mean `name`?",
        );
        assert_mutation(
            "  azure_tags = local.tags\n",
            "  azure_tags = local.tags\n  plan_info {}\n  plan_info {}\n",
            "source.azure-arm.lab",
            "block `plan_info` may appear at most once (found 2)",
        );
    }

    #[test]
    fn argument_written_as_block_and_block_as_argument() {
        if reference().is_none() {
            return;
        }
        assert_mutation(
            "  azure_tags = local.tags\n",
            "  azure_tags {\n    lab = \"wci\"\n  }\n",
            "source.azure-arm.lab.azure_tags",
            "is an argument, not a block",
        );
        assert_mutation(
            "  azure_tags = local.tags\n",
            "  azure_tags = local.tags\n  spot = {}\n",
            "source.azure-arm.lab.spot",
            "is a block, not an argument",
        );
    }

    #[test]
    fn literal_types_and_durations() {
        if reference().is_none() {
            return;
        }
        assert_mutation(
            "os_disk_size_gb = 128",
            "os_disk_size_gb = \"big\"",
            "source.azure-arm.lab.os_disk_size_gb",
            "type mismatch: `os_disk_size_gb` is number; got a string",
        );
        assert_mutation(
            "winrm_use_ssl  = true",
            "winrm_use_ssl  = [true]",
            "source.azure-arm.lab.winrm_use_ssl",
            "is bool; got a list",
        );
        assert_mutation(
            "winrm_timeout  = \"10m\"",
            "winrm_timeout  = \"ten\"",
            "source.azure-arm.lab.winrm_timeout",
            "not a duration",
        );
        assert_mutation(
            "winrm_timeout  = \"10m\"",
            "winrm_timeout  = 10   ",
            "source.azure-arm.lab.winrm_timeout",
            "not a duration",
        );
        assert_mutation(
            "valid_exit_codes = [0, 3010]",
            "valid_exit_codes = [0, \"ok\"]",
            "build[0].provisioner[0].valid_exit_codes",
            "is list(number); element 1: got a string",
        );
        assert_mutation(
            "pause_before      = \"10s\"",
            "pause_before      = \"10 s\"",
            "build[0].provisioner[2].pause_before",
            "not a duration",
        );
    }

    #[test]
    fn builder_prepare_rules() {
        if reference().is_none() {
            return;
        }
        assert_mutation(
            "  os_type         = \"Windows\"\n",
            "",
            "source.azure-arm.lab",
            "missing `os_type`",
        );
        assert_mutation(
            "  os_type         = \"Windows\"\n",
            "  os_type         = \"Win\"\n",
            "source.azure-arm.lab.os_type",
            "must be \"Windows\" or \"Linux\"",
        );
        assert_mutation(
            "  image_sku       = \"2022-datacenter-g2\"\n",
            "",
            "source.azure-arm.lab",
            "missing `image_sku`",
        );
        assert_mutation(
            "  managed_image_resource_group_name = var.image_resource_group\n",
            "",
            "source.azure-arm.lab",
            "missing `managed_image_resource_group_name`",
        );
        assert_mutation(
            "  communicator   = \"winrm\"",
            "  communicator   = \"rdp\"  ",
            "source.azure-arm.lab.communicator",
            "communicator must be one of",
        );
        assert_mutation(
            "  use_azure_cli_auth = true\n",
            "  use_azure_cli_auth = true\n  packer_debug       = true\n",
            "source.azure-arm.lab.packer_debug",
            "set by Packer itself",
        );
    }

    #[test]
    fn provisioner_arguments() {
        if reference().is_none() {
            return;
        }
        assert_mutation(
            "restart_timeout = \"15m\"",
            "restart_timout = \"15m\" ",
            "build[0].provisioner[1].restart_timout",
            "did you mean `restart_timeout`?",
        );
        assert_mutation(
            "    max_retries       = 2\n",
            "    max_retries       = 2\n    inline            = [\"hostname\"]\n",
            "build[0].provisioner[2]",
            "exactly one of `inline`, `script`, `scripts`",
        );
        assert_mutation(
            "    elevated_password = \"\"\n",
            "",
            "build[0].provisioner[2]",
            "`elevated_user` and `elevated_password` must be set together",
        );
        assert_mutation(
            "    destination = \"C:\\\\lab\\\\README.txt\"\n",
            "",
            "build[0].provisioner[3]",
            "file needs `destination`",
        );
        assert_mutation("provisioner \"windows-restart\"", "provisioner \"windows-reboot\"", "build[0].provisioner[1]", "provisioner type `windows-reboot` has no local schema (did you mean `windows-restart`?)");
    }

    #[test]
    fn build_sources_and_references() {
        if reference().is_none() {
            return;
        }
        assert_mutation("sources = [\"source.azure-arm.lab\"]", "sources = [\"source.azure-arm.lba\"]", "build[0].sources[0]", "`source.azure-arm.lba` is not a declared source (did you mean `source.azure-arm.lab`?)");
        assert_mutation(
            "\"IMAGE_VERSION=${var.image_version}\"",
            "\"IMAGE_VERSION=${var.image_ver}\"",
            "build[0].provisioner[0].environment_vars",
            "reference to undeclared variable `var.image_ver`",
        );
        assert_mutation(
            "managed_image_name                = local.image_name",
            "managed_image_name                = local.name",
            "source.azure-arm.lab.managed_image_name",
            "undeclared local `local.name`",
        );
        assert_mutation(
            "managed_image_name                = local.image_name",
            "managed_image_name                = source.name",
            "source.azure-arm.lab.managed_image_name",
            "only available inside a build block",
        );
    }

    #[test]
    fn packer_block_shape() {
        if reference().is_none() {
            return;
        }
        assert_mutation(
            "      version = \">= 2.6.3\"\n",
            "",
            "packer.required_plugins.azure",
            "missing `version`",
        );
        assert_mutation(
            "      version = \">= 2.6.3\"\n",
            "      versoin = \">= 2.6.3\"\n",
            "packer.required_plugins.azure.versoin",
            "unknown key `versoin` (did you mean `version`?)",
        );
        assert_mutation(
            "source  = \"github.com/hashicorp/azure\"",
            "source  = \"github.com/hashicorp/azurerm\"",
            "packer.required_plugins.azure.source",
            "expected \"github.com/hashicorp/azure\"",
        );
        let start = LAB_PKR_HCL.find("variable").unwrap();
        let findings = check(&LAB_PKR_HCL[start..]);
        assert!(
            findings
                .iter()
                .any(|f| f.path == "packer" && f.message.contains("required_plugins")),
            "{}",
            render(&findings)
        );
    }

    #[test]
    fn parse_error_is_a_finding() {
        if reference().is_none() {
            return;
        }
        let findings = check(&mutate(
            LAB_PKR_HCL,
            "  azure_tags = local.tags\n}",
            "  azure_tags = local.tags\n",
        ));
        assert_eq!(findings.len(), 1, "{}", render(&findings));
        assert!(findings[0].message.starts_with("HCL parse error"));
    }

    #[test]
    fn unsupported_name_list_matches_reference() {
        if reference().is_none() {
            return;
        }
        let names: BTreeSet<&str> = PACKER_166_UNSUPPORTED_AZURE_ARM.iter().copied().collect();
        assert_eq!(names.len(), 19);
        let schema = PackerSchema::load(&reference_dir().join(PACKER_FIELDS_FILE)).unwrap();
        for name in names {
            assert!(
                schema.builder.attributes.contains_key(name)
                    || schema.builder.blocks.contains_key(name),
                "{name}"
            );
        }
    }

    #[test]
    fn blanking_for_packer_166_keeps_lines() {
        if reference().is_none() {
            return;
        }
        let extra = "  custom_script = <<EOT\nWrite-Host 'a'\nEOT\n  spot {\n    eviction_policy = \"Delete\"\n  }\n  security_type = \"TrustedLaunch\" # not for Standard\n";
        let source = mutate(
            LAB_PKR_HCL,
            "  azure_tags = local.tags\n",
            &format!("  azure_tags = local.tags\n{extra}"),
        );
        let source = format!(
            "{source}\nvariable \"user_data\" {{\n  type    = string\n  default = \"\"\n}}\n"
        );
        let blanked = blank_for_packer_166(&source);
        let (before, after): (Vec<&str>, Vec<&str>) =
            (source.lines().collect(), blanked.lines().collect());
        assert_eq!(before.len(), after.len());
        for (b, a) in before.iter().zip(&after) {
            assert!(a == b || a.is_empty(), "changed line {b:?} -> {a:?}");
        }
        assert!(!blanked.contains("required_plugins") && !blanked.contains("required_version"));
        for gone in [
            "license_type",
            "custom_script",
            "Write-Host",
            "spot {",
            "eviction_policy",
            "security_type",
        ] {
            assert!(!blanked.contains(gone), "{gone} left in:\n{blanked}");
        }
        // only azure-arm arguments are touched: a variable of that name stays
        assert!(blanked.contains("variable \"user_data\""));
        // the result is still HCL, and its checks no longer see the removed names
        let findings = check(&blanked);
        assert!(
            findings.iter().all(|f| f.path == "packer"),
            "{}",
            render(&findings)
        );
        assert_eq!(blank_for_packer_166(&blanked), blanked);
    }

    #[test]
    fn blanking_inline_constructs_uses_spaces() {
        let source = "source \"azure-arm\" \"x\" { license_type = \"None\" }\nbuild {\n  sources = [\"source.azure-arm.x\"]\n}\n";
        let blanked = blank_for_packer_166(source);
        assert_eq!(blanked.lines().count(), source.lines().count());
        assert!(!blanked.contains("license_type"));
        assert!(hcl::parse(&blanked).is_ok(), "{blanked}");
        assert_eq!(blank_for_packer_166("not { valid"), "not { valid");
    }

    #[test]
    fn go_durations() {
        for ok in ["0", "10m", "1h30m", "1.5h", "300ms", "-2s", "5us"] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["", "10", "ten", "10 m", "m", "1.2.3s", "1d"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }

    const LAB_PKR_HCL: &str = r#"packer {
  required_version = ">= 1.9.0"
  required_plugins {
    azure = {
      source  = "github.com/hashicorp/azure"
      version = ">= 2.6.3"
    }
  }
}

variable "subscription_id" {
  type        = string
  description = "Azure subscription for the build."
}

variable "location" {
  type    = string
  default = "westeurope"
}

variable "image_resource_group" {
  type    = string
  default = "rg-wci-images"
}

variable "image_version" {
  type    = string
  default = "1.0.0"
}

locals {
  image_name = "wci-lab-ws2022-${var.image_version}"
  tags = {
    project = "wcigen"
    lab     = "wci-lab"
  }
}

source "azure-arm" "lab" {
  use_azure_cli_auth = true
  subscription_id    = var.subscription_id
  location           = var.location
  vm_size            = "Standard_D2s_v5"

  os_type         = "Windows"
  image_publisher = "MicrosoftWindowsServer"
  image_offer     = "WindowsServer"
  image_sku       = "2022-datacenter-g2"
  image_version   = "latest"
  os_disk_size_gb = 128
  license_type    = "Windows_Server"

  managed_image_name                = local.image_name
  managed_image_resource_group_name = var.image_resource_group

  communicator   = "winrm"
  winrm_use_ssl  = true
  winrm_insecure = true
  winrm_timeout  = "10m"
  winrm_username = "packer"

  azure_tags = local.tags
}

build {
  name    = "wci-lab"
  sources = ["source.azure-arm.lab"]

  provisioner "powershell" {
    script           = "scripts/01-features.ps1"
    environment_vars = ["LAB_NAME=wci-lab", "IMAGE_VERSION=${var.image_version}"]
    valid_exit_codes = [0, 3010]
  }

  provisioner "windows-restart" {
    restart_timeout = "15m"
  }

  provisioner "powershell" {
    scripts           = ["scripts/02-tools.ps1", "scripts/03-symbols.ps1"]
    elevated_user     = "SYSTEM"
    elevated_password = ""
    pause_before      = "10s"
    max_retries       = 2
  }

  provisioner "file" {
    source      = "files/lab-readme.txt"
    destination = "C:\\lab\\README.txt"
  }

  provisioner "powershell" {
    inline = [
      "while ((Get-Service RdAgent).Status -ne 'Running') { Start-Sleep -s 5 }",
      "while ((Get-Service WindowsAzureGuestAgent).Status -ne 'Running') { Start-Sleep -s 5 }",
      "& $env:SystemRoot\\System32\\Sysprep\\Sysprep.exe /oobe /generalize /quiet /quit /mode:vm",
      "while ($true) { $imageState = Get-ItemProperty HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State | Select ImageState; if ($imageState.ImageState -ne 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE') { Write-Output $imageState.ImageState; Start-Sleep -s 10 } else { break } }",
    ]
  }
}
"#;
}
