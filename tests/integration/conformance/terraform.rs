//! Offline conformance checker for generated Terraform (azurerm) files.
//!
//! Why: `terraform validate` needs the azurerm provider binary, and no registry that
//! CI reaches ships it. `terraform fmt` (Terraform 1.0.3, see `.ci/tools.sh`) checks
//! syntax and formatting only. This module checks what `validate` would, from data:
//! the argument schema of azurerm **4.73.0** in
//! `shared/reference/terraform-azurerm-subset.json` (README §3).
//!
//! [`check_terraform`] parses every file with `hcl-rs`, collects the declarations of
//! the whole module (all files together, as Terraform does), then reports:
//!
//! * `resource "TYPE" "NAME"`: TYPE in the reference subset; every argument and
//!   nested block name known (recursively); every `required`/`doc_required` argument
//!   and block present; `nesting: single` blocks at most once; arguments not written
//!   as blocks and blocks not written as arguments (except the two attribute-as-block
//!   fields, NSG `security_rule` and virtual network `subnet`, which accept both); `id` (and other
//!   provider-computed fields) not set; literal values roughly of the declared type;
//!   meta-arguments (`count`, `for_each`, `depends_on`, `provider`, `lifecycle`,
//!   `provisioner`, `connection`) and `dynamic` blocks accepted.
//! * `provider "azurerm"` against `_provider`; `features {}` is required.
//!   `subscription_id` (also `doc_required`) is *not* demanded: it may come from
//!   `ARM_SUBSCRIPTION_ID`. Any `azurerm_*` resource needs a `provider "azurerm"` block.
//! * References in every expression, including `${...}` inside strings and heredocs:
//!   `var.X` to a declared variable, `local.X` to a declared local, `data.T.N` /
//!   `module.N` to declared ones, `TYPE.NAME.ATTR` to a declared resource and, for
//!   subset types, ATTR among its `computed_attributes`, arguments or blocks.
//! * `variable` / `output` blocks: known argument names; duplicates of any declaration.
//!
//! Not checked: enum values and ranges (prose only in the docs), provider-side
//! conflicts (`ConflictsWith`), function names and argument counts, and `data`
//! source arguments (no data-source schema in the reference).
//!
//! The shared helpers (expression walking, rough literal type check, "did you mean")
//! are `pub(super)` so that the sibling `packer` module can use them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use hcl::expr::{Expression, ObjectKey, TraversalOperator};
use hcl::template::{Directive, Element, Template};
use hcl::{Block, Body, Structure};
use serde_json::Value;

/// One problem found in an HCL file (Terraform or Packer).
///
/// `path` names the construct, e.g. `azurerm_windows_virtual_machine.vm.os_disk.caching`,
/// `provider.azurerm`, `var.location`, `source.azure-arm.lab.image_sku`,
/// `build.provisioner[2].inline`; it is empty for whole-file problems (parse errors).
/// Lists are sorted by (`file`, `path`, `message`) and free of duplicates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HclFinding {
    pub file: String,
    pub path: String,
    pub message: String,
}

impl fmt::Display for HclFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.file.is_empty(), self.path.is_empty()) {
            (true, true) => write!(f, "{}", self.message),
            (true, false) => write!(f, "{}: {}", self.path, self.message),
            (false, true) => write!(f, "{}: {}", self.file, self.message),
            (false, false) => write!(f, "{}: {}: {}", self.file, self.path, self.message),
        }
    }
}

/// File name of the azurerm schema subset inside the reference directory.
pub const TERRAFORM_SUBSET_FILE: &str = "terraform-azurerm-subset.json";

/// Resource meta-arguments written as `name = ...`.
const META_ATTRIBUTES: &[&str] = &["count", "for_each", "depends_on", "provider"];
/// Resource meta-arguments written as blocks.
const META_BLOCKS: &[&str] = &["lifecycle", "provisioner", "connection"];
/// Nested fields that the provider declares with `ConfigModeAttr`: they may be written
/// as repeated blocks or as `name = [ { ... } ]`.
const ATTRIBUTE_AS_BLOCK: &[(&str, &str)] = &[
    ("azurerm_network_security_group", "security_rule"),
    ("azurerm_virtual_network", "subnet"),
];
/// Reference roots that are always valid in a resource context.
const BUILTIN_ROOTS: &[&str] = &["path", "terraform", "count", "each", "self"];
/// Top-level block types of the Terraform language (1.x).
const TOP_LEVEL_BLOCKS: &[&str] = &[
    "resource",
    "data",
    "variable",
    "output",
    "locals",
    "terraform",
    "provider",
    "module",
    "moved",
    "import",
    "check",
    "removed",
];
const VARIABLE_ARGUMENTS: &[&str] = &[
    "type",
    "default",
    "description",
    "sensitive",
    "nullable",
    "ephemeral",
];
const VARIABLE_BLOCKS: &[&str] = &["validation"];
const OUTPUT_ARGUMENTS: &[&str] = &[
    "value",
    "description",
    "sensitive",
    "depends_on",
    "ephemeral",
];
const OUTPUT_BLOCKS: &[&str] = &["precondition"];
const DYNAMIC_ARGUMENTS: &[&str] = &["for_each", "iterator", "labels"];

/// Checks a Terraform module (all its `.tf` files) against the azurerm 4.73.0 subset.
///
/// `files` holds `(file name, contents)` pairs; the file name is only used in findings.
/// Returns the findings sorted by file, path and message; empty means conformant.
pub fn check_terraform(reference_dir: &Path, files: &[(String, String)]) -> Vec<HclFinding> {
    let mut out = Vec::new();
    let schema = match TfSchema::load(&reference_dir.join(TERRAFORM_SUBSET_FILE)) {
        Ok(schema) => schema,
        Err(message) => {
            out.push(finding(TERRAFORM_SUBSET_FILE, "", message));
            return out;
        }
    };

    let mut parsed = Vec::new();
    for (name, text) in files {
        match hcl::parse(text) {
            Ok(body) => parsed.push((name.as_str(), body)),
            Err(err) => out.push(finding(name, "", format!("HCL parse error: {err}"))),
        }
    }

    let module = Declarations::collect(&parsed, &mut out);
    for (file, body) in &parsed {
        let mut checker = TfChecker {
            schema: &schema,
            decls: &module,
            file,
            out: &mut out,
        };
        checker.check_file(body);
    }
    let uses_azurerm = module.resources.keys().any(|t| t.starts_with("azurerm_"));
    if uses_azurerm && !module.azurerm_provider {
        let file = parsed.first().map_or("", |(f, _)| *f);
        out.push(finding(
            file,
            "provider.azurerm",
            "azurerm resources are declared but there is no `provider \"azurerm\"` block (it needs `features {}`)",
        ));
    }
    sorted(out)
}

// ---------------------------------------------------------------------------------
// Reference schema
// ---------------------------------------------------------------------------------

/// The argument schema of one block body (resource, provider or nested block).
#[derive(Debug, Default)]
struct BlockSchema {
    attributes: BTreeMap<String, AttrSchema>,
    blocks: BTreeMap<String, NestedSchema>,
}

#[derive(Debug)]
struct AttrSchema {
    /// `required` or `doc_required` in the reference.
    required: bool,
    /// Terraform type, e.g. `string`, `list(string)`, `map(string)`.
    ty: String,
    /// Optional+computed field that the reference marks "never set it in HCL" (`id`).
    computed_only: bool,
}

#[derive(Debug)]
struct NestedSchema {
    required: bool,
    single: bool,
    body: BlockSchema,
}

#[derive(Debug)]
struct ResourceSchema {
    body: BlockSchema,
    /// Everything readable as `TYPE.NAME.ATTR`.
    readable: BTreeSet<String>,
}

#[derive(Debug)]
struct TfSchema {
    version: String,
    provider: BlockSchema,
    resources: BTreeMap<String, ResourceSchema>,
}

impl TfSchema {
    fn load(path: &Path) -> Result<TfSchema, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read reference {}: {e}", path.display()))?;
        let root: Value = serde_json::from_str(&text)
            .map_err(|e| format!("cannot parse reference {}: {e}", path.display()))?;
        let root = root.as_object().ok_or("reference root is not an object")?;
        let version = root
            .get("_meta")
            .and_then(|m| m.get("provider_version"))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let provider_json = root.get("_provider").ok_or("reference has no _provider")?;
        let mut provider = BlockSchema::from_json(provider_json);
        // `_provider.doc_required` lists fields the provider docs call Required. Blocks
        // (`features`) are enforced; attributes (`subscription_id`) may come from the
        // environment (ARM_SUBSCRIPTION_ID) and are not.
        for name in provider_json
            .get("doc_required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if let Some(block) = provider.blocks.get_mut(name) {
                block.required = true;
            }
        }
        let mut resources = BTreeMap::new();
        // The lab's resources beyond the shared subset, in its format, with their provenance.
        let supplement_path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/reference/azurerm-supplement.json");
        let supplement: Value = std::fs::read_to_string(&supplement_path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .ok_or_else(|| format!("cannot read {}", supplement_path.display()))?;
        let supplement = supplement.as_object().cloned().unwrap_or_default();
        for (name, value) in root
            .iter()
            .chain(supplement.iter())
            .filter(|(k, _)| !k.starts_with('_'))
        {
            let body = BlockSchema::from_json(value);
            let mut readable: BTreeSet<String> = value
                .get("computed_attributes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            readable.extend(body.attributes.keys().cloned());
            readable.extend(body.blocks.keys().cloned());
            resources.insert(name.clone(), ResourceSchema { body, readable });
        }
        Ok(TfSchema {
            version,
            provider,
            resources,
        })
    }
}

impl BlockSchema {
    fn from_json(value: &Value) -> BlockSchema {
        let flag = |v: &Value, key: &str| v.get(key).and_then(Value::as_bool).unwrap_or(false);
        let mut schema = BlockSchema::default();
        if let Some(attrs) = value.get("attributes").and_then(Value::as_object) {
            for (name, a) in attrs {
                let required = flag(a, "required") || flag(a, "doc_required");
                schema.attributes.insert(
                    name.clone(),
                    AttrSchema {
                        required,
                        ty: a
                            .get("type")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        computed_only: !required && a.get("note").is_some(),
                    },
                );
            }
        }
        if let Some(blocks) = value.get("blocks").and_then(Value::as_object) {
            for (name, b) in blocks {
                schema.blocks.insert(
                    name.clone(),
                    NestedSchema {
                        required: flag(b, "required") || flag(b, "doc_required"),
                        single: b.get("nesting").and_then(Value::as_str) == Some("single"),
                        body: BlockSchema::from_json(b),
                    },
                );
            }
        }
        schema
    }
}

// ---------------------------------------------------------------------------------
// Declarations of the module (all files)
// ---------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Declarations {
    /// resource type -> names
    resources: BTreeMap<String, BTreeSet<String>>,
    /// data source type -> names
    data: BTreeMap<String, BTreeSet<String>>,
    variables: BTreeSet<String>,
    locals: BTreeSet<String>,
    modules: BTreeSet<String>,
    azurerm_provider: bool,
}

impl Declarations {
    fn collect(files: &[(&str, Body)], out: &mut Vec<HclFinding>) -> Declarations {
        let mut d = Declarations::default();
        // first declaration of each address -> file, to report duplicates
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut declare = |address: String, file: &str, out: &mut Vec<HclFinding>| {
            if let Some(first) = seen.get(&address) {
                out.push(finding(
                    file,
                    &address,
                    format!("duplicate declaration (first in {first})"),
                ));
            } else {
                seen.insert(address, file.to_string());
            }
        };
        for (file, body) in files {
            for block in body.blocks() {
                let labels = labels(block);
                match (block.identifier(), labels.as_slice()) {
                    ("resource", [ty, name]) => {
                        declare(format!("{ty}.{name}"), file, out);
                        d.resources
                            .entry(ty.clone())
                            .or_default()
                            .insert(name.clone());
                    }
                    ("data", [ty, name]) => {
                        declare(format!("data.{ty}.{name}"), file, out);
                        d.data.entry(ty.clone()).or_default().insert(name.clone());
                    }
                    ("variable", [name]) => {
                        declare(format!("var.{name}"), file, out);
                        d.variables.insert(name.clone());
                    }
                    ("module", [name]) => {
                        declare(format!("module.{name}"), file, out);
                        d.modules.insert(name.clone());
                    }
                    ("output", [name]) => declare(format!("output.{name}"), file, out),
                    ("locals", []) => {
                        for attr in block.body().attributes() {
                            declare(format!("local.{}", attr.key()), file, out);
                            d.locals.insert(attr.key().to_string());
                        }
                    }
                    ("provider", [name]) if name == "azurerm" => d.azurerm_provider = true,
                    _ => {}
                }
            }
        }
        d
    }
}

// ---------------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------------

struct TfChecker<'a> {
    schema: &'a TfSchema,
    decls: &'a Declarations,
    file: &'a str,
    out: &'a mut Vec<HclFinding>,
}

impl TfChecker<'_> {
    fn report(&mut self, path: &str, message: impl Into<String>) {
        self.out.push(finding(self.file, path, message));
    }

    fn check_file(&mut self, body: &Body) {
        for structure in body {
            let block = match structure {
                Structure::Attribute(attr) => {
                    self.report(
                        attr.key(),
                        "arguments are not allowed at the top level of a Terraform file",
                    );
                    continue;
                }
                Structure::Block(block) => block,
            };
            let labels = labels(block);
            let kind = block.identifier();
            match (kind, labels.as_slice()) {
                ("resource", [ty, name]) => self.check_resource(block, ty, name),
                ("data", [ty, name]) => {
                    let path = format!("data.{ty}.{name}");
                    self.check_refs_in_body(block.body(), &path, &mut Vec::new());
                }
                ("provider", [name]) => self.check_provider(block, name),
                ("variable", [name]) => self.check_variable(block, name),
                ("output", [name]) => self.check_output(block, name),
                ("locals", []) => self.check_refs_in_body(block.body(), "locals", &mut Vec::new()),
                ("module", [name]) => {
                    let path = format!("module.{name}");
                    for attr in block.body().attributes() {
                        if !matches!(attr.key(), "source" | "version" | "providers") {
                            self.check_expr(attr.expr(), &format!("{path}.{}", attr.key()), &[]);
                        }
                    }
                }
                // Version constraints, backends, refactoring and import blocks hold no
                // references that this checker can resolve.
                ("terraform" | "moved" | "import" | "removed", []) | ("check", [_]) => {}
                _ if TOP_LEVEL_BLOCKS.contains(&kind) => self.report(
                    kind,
                    format!(
                        "`{kind}` block has the wrong number of labels ({})",
                        labels.len()
                    ),
                ),
                _ => self.report(
                    kind,
                    format!(
                        "unknown top-level block type `{kind}`{}",
                        did_you_mean(kind, TOP_LEVEL_BLOCKS.iter().copied())
                    ),
                ),
            }
        }
    }

    fn check_resource(&mut self, block: &Block, ty: &str, name: &str) {
        let path = format!("{ty}.{name}");
        match self.schema.resources.get(ty) {
            Some(resource) => {
                self.check_body(block.body(), &resource.body, &path, Some(ty));
            }
            None => {
                let what = if ty.starts_with("azurerm_") {
                    format!(
                        "unknown resource type `{ty}` (not in the azurerm {} reference subset)",
                        self.schema.version
                    )
                } else {
                    format!("resource type `{ty}` has no local schema (only azurerm resources of the reference subset can be checked)")
                };
                let hint = did_you_mean(ty, self.schema.resources.keys().map(String::as_str));
                self.report(&path, format!("{what}{hint}"));
            }
        }
        self.check_refs_in_body(block.body(), &path, &mut Vec::new());
    }

    fn check_provider(&mut self, block: &Block, name: &str) {
        let path = format!("provider.{name}");
        if name == "azurerm" {
            let schema = &self.schema.provider;
            self.check_body(block.body(), schema, &path, None);
        }
        self.check_refs_in_body(block.body(), &path, &mut Vec::new());
    }

    fn check_variable(&mut self, block: &Block, name: &str) {
        let path = format!("var.{name}");
        self.check_names(block.body(), &path, VARIABLE_ARGUMENTS, VARIABLE_BLOCKS);
        for structure in block.body() {
            match structure {
                // `type` is a type expression (`list(string)`), not a value
                Structure::Attribute(attr) if attr.key() != "type" => {
                    self.check_expr(attr.expr(), &format!("{path}.{}", attr.key()), &[]);
                }
                Structure::Block(b) => {
                    let block_path = format!("{path}.{}", b.identifier());
                    self.check_refs_in_body(b.body(), &block_path, &mut Vec::new());
                }
                Structure::Attribute(_) => {}
            }
        }
    }

    fn check_output(&mut self, block: &Block, name: &str) {
        let path = format!("output.{name}");
        self.check_names(block.body(), &path, OUTPUT_ARGUMENTS, OUTPUT_BLOCKS);
        if !block.body().attributes().any(|a| a.key() == "value") {
            self.report(&path, "missing required argument `value`");
        }
        self.check_refs_in_body(block.body(), &path, &mut Vec::new());
    }

    /// Name check for the fixed-shape blocks of the language (variable, output).
    fn check_names(&mut self, body: &Body, path: &str, arguments: &[&str], blocks: &[&str]) {
        for structure in body {
            let (name, allowed, kind) = match structure {
                Structure::Attribute(a) => (a.key(), arguments, "argument"),
                Structure::Block(b) => (b.identifier(), blocks, "block"),
            };
            if !allowed.contains(&name) {
                let hint = did_you_mean(name, allowed.iter().copied());
                self.report(
                    &format!("{path}.{name}"),
                    format!("unknown {kind} `{name}`{hint}"),
                );
            }
        }
    }

    /// Checks one body against its schema: names, required fields, nesting, literal types.
    /// `resource_type` is set for the top-level body of a resource only: it enables
    /// the meta-arguments and the attribute-as-block fields of that resource type.
    fn check_body(
        &mut self,
        body: &Body,
        schema: &BlockSchema,
        path: &str,
        resource_type: Option<&str>,
    ) {
        let meta = resource_type.is_some();
        let mut present_attrs = BTreeSet::new();
        let mut block_counts: BTreeMap<String, usize> = BTreeMap::new();
        for structure in body {
            match structure {
                Structure::Attribute(attr) => {
                    let key = attr.key();
                    present_attrs.insert(key.to_string());
                    let attr_path = format!("{path}.{key}");
                    if meta && META_ATTRIBUTES.contains(&key) {
                        continue;
                    }
                    if let Some(a) = schema.attributes.get(key) {
                        if a.computed_only {
                            self.report(
                                &attr_path,
                                format!("`{key}` is computed by the provider and must not be set"),
                            );
                        }
                        if let Some(problem) = literal_type_mismatch(attr.expr(), &a.ty) {
                            self.report(
                                &attr_path,
                                format!("type mismatch: `{key}` is {}; {problem}", a.ty),
                            );
                        }
                    } else if let Some(nested) = schema.blocks.get(key) {
                        let as_attribute =
                            resource_type.is_some_and(|ty| ATTRIBUTE_AS_BLOCK.contains(&(ty, key)));
                        if as_attribute {
                            *block_counts.entry(key.to_string()).or_default() += 1;
                            self.check_attribute_as_block(attr.expr(), &nested.body, &attr_path);
                        } else {
                            self.report(
                                &attr_path,
                                format!(
                                    "`{key}` is a block, not an argument: write `{key} {{ ... }}`"
                                ),
                            );
                        }
                    } else {
                        let hint = did_you_mean(key, schema.attributes.keys().map(String::as_str));
                        self.report(&attr_path, format!("unknown argument `{key}`{hint}"));
                    }
                }
                Structure::Block(block) => {
                    let ident = block.identifier();
                    if meta && META_BLOCKS.contains(&ident) {
                        continue;
                    }
                    let (name, content, is_dynamic) = if ident == "dynamic"
                        && !schema.blocks.contains_key("dynamic")
                    {
                        let labels = labels(block);
                        let Some(name) = labels.first().cloned() else {
                            self.report(
                                &format!("{path}.dynamic"),
                                "`dynamic` block needs the name of the block it generates",
                            );
                            continue;
                        };
                        let dyn_path = format!("{path}.dynamic.{name}");
                        self.check_names(block.body(), &dyn_path, DYNAMIC_ARGUMENTS, &["content"]);
                        if !block.body().attributes().any(|a| a.key() == "for_each") {
                            self.report(&dyn_path, "missing required argument `for_each`");
                        }
                        let content = block.body().blocks().find(|b| b.identifier() == "content");
                        if content.is_none() {
                            self.report(&dyn_path, "`dynamic` block has no `content` block");
                        }
                        (name, content, true)
                    } else {
                        (ident.to_string(), Some(block), false)
                    };
                    let index = block_counts.get(name.as_str()).copied().unwrap_or(0);
                    let Some(nested) = schema.blocks.get(&name) else {
                        let block_path = format!("{path}.{name}");
                        if schema.attributes.contains_key(&name) {
                            self.report(
                                &block_path,
                                format!(
                                    "`{name}` is an argument, not a block: write `{name} = ...`"
                                ),
                            );
                        } else {
                            let hint =
                                did_you_mean(&name, schema.blocks.keys().map(String::as_str));
                            self.report(&block_path, format!("unknown block type `{name}`{hint}"));
                        }
                        continue;
                    };
                    *block_counts.entry(name.clone()).or_default() += 1;
                    let block_path = if nested.single {
                        format!("{path}.{name}")
                    } else {
                        format!("{path}.{name}[{index}]")
                    };
                    if !is_dynamic && !block.labels().is_empty() {
                        self.report(&block_path, format!("block `{name}` takes no labels"));
                    }
                    if let Some(content) = content {
                        self.check_body(content.body(), &nested.body, &block_path, None);
                    }
                }
            }
        }
        for (name, a) in &schema.attributes {
            if a.required && !present_attrs.contains(name) {
                self.report(path, format!("missing required argument `{name}`"));
            }
        }
        for (name, b) in &schema.blocks {
            let count = block_counts.get(name.as_str()).copied().unwrap_or(0);
            if b.required && count == 0 {
                self.report(path, format!("missing required block `{name}`"));
            }
            if b.single && count > 1 {
                self.report(
                    path,
                    format!("block `{name}` may appear at most once (found {count})"),
                );
            }
        }
    }

    /// `security_rule = [ { ... } ]` (or `[for ... : { ... }]`) form of an
    /// attribute-as-block field: each literal object is checked like a block body.
    fn check_attribute_as_block(&mut self, expr: &Expression, schema: &BlockSchema, path: &str) {
        let items: Vec<(String, &Expression)> = match expr {
            Expression::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, e)| (format!("{path}[{i}]"), e))
                .collect(),
            Expression::ForExpr(f) if f.key_expr.is_none() => {
                vec![(format!("{path}[for]"), &f.value_expr)]
            }
            other => {
                if literal_type_mismatch(other, "list(object)").is_some() {
                    self.report(path, "expected a list of objects");
                }
                return;
            }
        };
        for (item_path, item) in items {
            let Expression::Object(object) = item else {
                if literal_type_mismatch(item, "object").is_some() {
                    self.report(&item_path, "expected an object");
                }
                continue;
            };
            let keys: BTreeSet<String> = object.keys().filter_map(object_key_name).collect();
            for key in &keys {
                if !schema.attributes.contains_key(key) {
                    let hint = did_you_mean(key, schema.attributes.keys().map(String::as_str));
                    self.report(
                        &format!("{item_path}.{key}"),
                        format!("unknown argument `{key}`{hint}"),
                    );
                }
            }
            for (name, a) in &schema.attributes {
                if a.required && !keys.contains(name) {
                    self.report(&item_path, format!("missing required argument `{name}`"));
                }
            }
        }
    }

    /// Walks every expression of a body (recursively) and checks its references.
    /// `bound` holds names bound by enclosing `dynamic` blocks.
    fn check_refs_in_body(&mut self, body: &Body, path: &str, bound: &mut Vec<String>) {
        for structure in body {
            match structure {
                Structure::Attribute(attr) => {
                    // `provider = azurerm.alias` names a provider configuration, and
                    // `ignore_changes = [tags]` names arguments: neither are references.
                    if matches!(attr.key(), "provider" | "ignore_changes") {
                        continue;
                    }
                    self.check_expr(attr.expr(), &format!("{path}.{}", attr.key()), bound);
                }
                Structure::Block(block) if block.identifier() == "dynamic" => {
                    let labels = labels(block);
                    let dyn_path = format!(
                        "{path}.dynamic.{}",
                        labels.first().map_or("", String::as_str)
                    );
                    let iterator = block
                        .body()
                        .attributes()
                        .find(|a| a.key() == "iterator")
                        .and_then(|a| match a.expr() {
                            Expression::Variable(v) => Some(v.as_str().to_string()),
                            _ => None,
                        })
                        .or_else(|| labels.first().cloned())
                        .unwrap_or_default();
                    for attr in block.body().attributes() {
                        if attr.key() != "iterator" {
                            self.check_expr(
                                attr.expr(),
                                &format!("{dyn_path}.{}", attr.key()),
                                bound,
                            );
                        }
                    }
                    bound.push(iterator);
                    for inner in block.body().blocks() {
                        let inner_path = format!("{dyn_path}.{}", inner.identifier());
                        self.check_refs_in_body(inner.body(), &inner_path, bound);
                    }
                    bound.pop();
                }
                Structure::Block(block) => {
                    let inner_path = format!("{path}.{}", block.identifier());
                    self.check_refs_in_body(block.body(), &inner_path, bound);
                }
            }
        }
    }

    fn check_expr(&mut self, expr: &Expression, path: &str, bound: &[String]) {
        let mut refs = Vec::new();
        let mut errors = Vec::new();
        collect_refs(expr, &mut bound.to_vec(), &mut refs, &mut errors);
        for error in errors {
            self.report(path, error);
        }
        for r in refs {
            if let Some(problem) = self.resolve(&r) {
                self.report(path, problem);
            }
        }
    }

    /// Returns a message if the reference does not resolve.
    fn resolve(&self, r: &Reference) -> Option<String> {
        let attrs: Vec<&str> = r.attr_steps().collect();
        let first = attrs.first().copied();
        match r.root.as_str() {
            root if BUILTIN_ROOTS.contains(&root) => None,
            "var" => match first {
                Some(name) if self.decls.variables.contains(name) => None,
                Some(name) => Some(format!(
                    "reference to undeclared variable `var.{name}`{}",
                    did_you_mean(name, self.decls.variables.iter().map(String::as_str))
                )),
                None => Some("`var` must be followed by a variable name".into()),
            },
            "local" => match first {
                Some(name) if self.decls.locals.contains(name) => None,
                Some(name) => Some(format!(
                    "reference to undeclared local value `local.{name}`{}",
                    did_you_mean(name, self.decls.locals.iter().map(String::as_str))
                )),
                None => Some("`local` must be followed by a local value name".into()),
            },
            "module" => match first {
                Some(name) if self.decls.modules.contains(name) => None,
                Some(name) => Some(format!("reference to undeclared module `module.{name}`")),
                None => Some("`module` must be followed by a module name".into()),
            },
            "data" => match (attrs.first(), attrs.get(1)) {
                (Some(ty), Some(name))
                    if self.decls.data.get(*ty).is_some_and(|n| n.contains(*name)) =>
                {
                    None
                }
                (Some(ty), Some(name)) => Some(format!(
                    "reference to undeclared data source `data.{ty}.{name}`"
                )),
                _ => Some("`data` must be followed by a data source type and name".into()),
            },
            ty => {
                let Some(names) = self.decls.resources.get(ty) else {
                    let known_type =
                        ty.starts_with("azurerm_") || self.schema.resources.contains_key(ty);
                    return Some(match first {
                        Some(name) if known_type => format!("reference to undeclared resource `{ty}.{name}`"),
                        Some(name) => format!(
                            "reference `{ty}.{name}` to unknown symbol `{ty}` (not a declared resource type, iterator or built-in)"
                        ),
                        None => format!("unknown symbol `{ty}`"),
                    });
                };
                let name = first?;
                if !names.contains(name) {
                    return Some(format!("reference to undeclared resource `{ty}.{name}`"));
                }
                let attr = attrs.get(1)?;
                let schema = self.schema.resources.get(ty)?;
                if schema.readable.contains(*attr) {
                    None
                } else {
                    let hint = did_you_mean(attr, schema.readable.iter().map(String::as_str));
                    Some(format!("`{ty}.{name}` has no attribute `{attr}`{hint}"))
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// Shared helpers (also used by `packer`)
// ---------------------------------------------------------------------------------

pub(super) fn finding(file: &str, path: &str, message: impl Into<String>) -> HclFinding {
    HclFinding {
        file: file.to_string(),
        path: path.to_string(),
        message: message.into(),
    }
}

/// Sorts findings by file, path, message and drops duplicates.
pub(super) fn sorted(mut findings: Vec<HclFinding>) -> Vec<HclFinding> {
    findings.sort();
    findings.dedup();
    findings
}

/// Block labels as plain strings.
pub(super) fn labels(block: &Block) -> Vec<String> {
    block
        .labels()
        .iter()
        .map(|l| l.as_str().to_string())
        .collect()
}

/// An object key written as a bare identifier or a literal string.
pub(super) fn object_key_name(key: &ObjectKey) -> Option<String> {
    match key {
        ObjectKey::Identifier(id) => Some(id.to_string()),
        ObjectKey::Expression(Expression::Variable(v)) => Some(v.as_str().to_string()),
        ObjectKey::Expression(Expression::String(s)) => Some(s.clone()),
        _ => None,
    }
}

/// One step after the root of a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    Attr(String),
    /// `[expr]`, `.0`, `[*]` or `.*`
    Index,
}

/// A reference such as `var.location` or `azurerm_subnet.lab.id` found in an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reference {
    pub root: String,
    pub steps: Vec<Step>,
}

impl Reference {
    /// The attribute names of the reference, skipping index and splat steps.
    pub(super) fn attr_steps(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().filter_map(|s| match s {
            Step::Attr(a) => Some(a.as_str()),
            Step::Index => None,
        })
    }
}

/// Collects every reference in `expr` whose root is not bound by an enclosing `for`
/// expression or template `%{ for }` directive (names in `bound` count as bound).
/// Template strings (`"a-${var.x}"`, heredocs) are parsed and walked; a template that
/// does not parse adds a message to `errors`.
pub(super) fn collect_refs(
    expr: &Expression,
    bound: &mut Vec<String>,
    refs: &mut Vec<Reference>,
    errors: &mut Vec<String>,
) {
    match expr {
        Expression::Null | Expression::Bool(_) | Expression::Number(_) | Expression::String(_) => {}
        Expression::Array(items) => {
            for item in items {
                collect_refs(item, bound, refs, errors);
            }
        }
        Expression::Object(object) => {
            for (key, value) in object {
                if let ObjectKey::Expression(key) = key {
                    // a bare word as key is a literal name, not a reference
                    if !matches!(key, Expression::Variable(_)) {
                        collect_refs(key, bound, refs, errors);
                    }
                }
                collect_refs(value, bound, refs, errors);
            }
        }
        Expression::TemplateExpr(template) => match Template::from_expr(template) {
            Ok(template) => collect_template_refs(&template, bound, refs, errors),
            Err(err) => errors.push(format!("invalid template string: {err}")),
        },
        Expression::Variable(v) => push_ref(v.as_str(), Vec::new(), bound, refs),
        Expression::Traversal(traversal) => {
            let mut steps = Vec::new();
            for op in &traversal.operators {
                match op {
                    TraversalOperator::GetAttr(id) => steps.push(Step::Attr(id.to_string())),
                    TraversalOperator::Index(index) => {
                        collect_refs(index, bound, refs, errors);
                        steps.push(Step::Index);
                    }
                    TraversalOperator::LegacyIndex(_)
                    | TraversalOperator::AttrSplat
                    | TraversalOperator::FullSplat => steps.push(Step::Index),
                }
            }
            match &traversal.expr {
                Expression::Variable(v) => push_ref(v.as_str(), steps, bound, refs),
                other => collect_refs(other, bound, refs, errors),
            }
        }
        Expression::FuncCall(call) => {
            for arg in &call.args {
                collect_refs(arg, bound, refs, errors);
            }
        }
        Expression::Parenthesis(inner) => collect_refs(inner, bound, refs, errors),
        Expression::Conditional(c) => {
            collect_refs(&c.cond_expr, bound, refs, errors);
            collect_refs(&c.true_expr, bound, refs, errors);
            collect_refs(&c.false_expr, bound, refs, errors);
        }
        Expression::Operation(op) => match op.as_ref() {
            hcl::expr::Operation::Unary(u) => collect_refs(&u.expr, bound, refs, errors),
            hcl::expr::Operation::Binary(b) => {
                collect_refs(&b.lhs_expr, bound, refs, errors);
                collect_refs(&b.rhs_expr, bound, refs, errors);
            }
        },
        Expression::ForExpr(f) => {
            collect_refs(&f.collection_expr, bound, refs, errors);
            let depth = bound.len();
            bound.extend(f.key_var.iter().map(ToString::to_string));
            bound.push(f.value_var.to_string());
            for e in [
                f.key_expr.as_ref(),
                Some(&f.value_expr),
                f.cond_expr.as_ref(),
            ]
            .into_iter()
            .flatten()
            {
                collect_refs(e, bound, refs, errors);
            }
            bound.truncate(depth);
        }
        // `Expression` is non-exhaustive; future variants hold no known references.
        _ => {}
    }
}

fn collect_template_refs(
    template: &Template,
    bound: &mut Vec<String>,
    refs: &mut Vec<Reference>,
    errors: &mut Vec<String>,
) {
    for element in template.elements() {
        match element {
            Element::Literal(_) => {}
            Element::Interpolation(i) => collect_refs(&i.expr, bound, refs, errors),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(d) => {
                    collect_refs(&d.cond_expr, bound, refs, errors);
                    collect_template_refs(&d.true_template, bound, refs, errors);
                    if let Some(f) = &d.false_template {
                        collect_template_refs(f, bound, refs, errors);
                    }
                }
                Directive::For(d) => {
                    collect_refs(&d.collection_expr, bound, refs, errors);
                    let depth = bound.len();
                    bound.extend(d.key_var.iter().map(ToString::to_string));
                    bound.push(d.value_var.to_string());
                    collect_template_refs(&d.template, bound, refs, errors);
                    bound.truncate(depth);
                }
            },
        }
    }
}

fn push_ref(root: &str, steps: Vec<Step>, bound: &[String], refs: &mut Vec<Reference>) {
    if !bound.iter().any(|b| b == root) {
        refs.push(Reference {
            root: root.to_string(),
            steps,
        });
    }
}

/// Rough cty conversion check of a *literal* value against a declared type such as
/// `string`, `number`, `bool`, `list(string)`, `set(number)`, `map(string)`, `object`.
/// Non-literal expressions (references, function calls, ...) are never reported.
/// Follows Terraform/Packer conversion rules: numbers and bools convert to strings,
/// numeric strings to numbers, `"true"`/`"false"` to bools. Returns what is wrong,
/// e.g. `got a string` or `element 1: got a string`.
pub(super) fn literal_type_mismatch(expr: &Expression, ty: &str) -> Option<String> {
    let ty = ty.trim();
    let (outer, inner) = match ty.split_once('(') {
        Some((outer, rest)) => (outer.trim(), rest.strip_suffix(')').unwrap_or(rest).trim()),
        None => (ty, ""),
    };
    let found = match expr {
        Expression::Null => return None,
        Expression::Bool(_) => "a bool",
        Expression::Number(_) => "a number",
        Expression::String(_) | Expression::TemplateExpr(_) => "a string",
        Expression::Array(_) => "a list",
        Expression::Object(_) => "an object",
        _ => return None,
    };
    let ok = match (outer, expr) {
        ("string", Expression::Array(_) | Expression::Object(_)) => false,
        ("string", _) => true,
        ("number", Expression::Number(_) | Expression::TemplateExpr(_)) => true,
        ("number", Expression::String(s)) => s.trim().parse::<f64>().is_ok(),
        ("number", _) => false,
        ("bool", Expression::Bool(_) | Expression::TemplateExpr(_)) => true,
        ("bool", Expression::String(s)) => s == "true" || s == "false",
        ("bool", _) => false,
        ("list" | "set", Expression::Array(items)) if !inner.is_empty() => {
            return items.iter().enumerate().find_map(|(i, item)| {
                literal_type_mismatch(item, inner).map(|p| format!("element {i}: {p}"))
            });
        }
        ("list" | "set", Expression::Array(_)) => true,
        ("list" | "set", _) => false,
        ("map", Expression::Object(object)) if !inner.is_empty() => {
            return object.iter().find_map(|(key, value)| {
                let key = object_key_name(key).unwrap_or_else(|| "(expression)".into());
                literal_type_mismatch(value, inner).map(|p| format!("key `{key}`: {p}"))
            });
        }
        ("map" | "object", _) => matches!(expr, Expression::Object(_)),
        _ => true, // unknown type name: do not guess
    };
    (!ok).then(|| format!("got {found}"))
}

/// ` (did you mean `x`?)` for the closest candidate within a small edit distance, or "".
pub(super) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    let limit = (name.chars().count() / 3).clamp(1, 4);
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map_or_else(String::new, |(_, c)| format!(" (did you mean `{c}`?)"))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
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

    fn check(main: &str, variables: &str) -> Vec<HclFinding> {
        let files = [
            ("main.tf".to_string(), main.to_string()),
            ("variables.tf".to_string(), variables.to_string()),
        ];
        check_terraform(&reference_dir(), &files)
    }

    /// Replaces exactly one occurrence of `from` (so a test cannot silently go stale).
    fn mutate(text: &str, from: &str, to: &str) -> String {
        assert_eq!(
            text.matches(from).count(),
            1,
            "mutation anchor must occur once: {from:?}"
        );
        text.replacen(from, to, 1)
    }

    /// Asserts that some finding has exactly `path` and a message containing `message`.
    fn assert_finding(findings: &[HclFinding], path: &str, message: &str) {
        assert!(
            findings
                .iter()
                .any(|f| f.path == path && f.message.contains(message)),
            "expected a finding at {path:?} containing {message:?}, got:\n{}",
            render(findings)
        );
    }

    fn render(findings: &[HclFinding]) -> String {
        findings.iter().map(|f| format!("  {f}\n")).collect()
    }

    #[test]
    fn lab_module_is_conformant() {
        if reference().is_none() {
            return;
        }
        let findings = check(LAB_MAIN_TF, LAB_VARIABLES_TF);
        assert!(
            findings.is_empty(),
            "unexpected findings:\n{}",
            render(&findings)
        );
    }

    #[test]
    fn typo_in_top_level_argument() {
        if reference().is_none() {
            return;
        }
        let main = mutate(
            LAB_MAIN_TF,
            "  allocation_method   = \"Static\"",
            "  allocaton_method    = \"Static\"",
        );
        let findings = check(&main, LAB_VARIABLES_TF);
        assert_finding(
            &findings,
            "azurerm_public_ip.lab.allocaton_method",
            "unknown argument `allocaton_method` (did you mean `allocation_method`?)",
        );
        assert_finding(
            &findings,
            "azurerm_public_ip.lab",
            "missing required argument `allocation_method`",
        );
    }

    #[test]
    fn typo_in_nested_argument() {
        if reference().is_none() {
            return;
        }
        let main = mutate(
            LAB_MAIN_TF,
            "storage_account_type = \"Premium_LRS\"",
            "storage_acount_type = \"Premium_LRS\"",
        );
        let findings = check(&main, LAB_VARIABLES_TF);
        assert_finding(
            &findings,
            "azurerm_windows_virtual_machine.lab.os_disk.storage_acount_type",
            "unknown argument",
        );
    }

    #[test]
    fn typo_in_nested_list_block_argument() {
        if reference().is_none() {
            return;
        }
        let main = mutate(
            LAB_MAIN_TF,
            "    destination_port_range     = \"22\"",
            "    destination_port_rage      = \"22\"",
        );
        let findings = check(&main, LAB_VARIABLES_TF);
        assert_finding(
            &findings,
            "azurerm_network_security_group.lab.security_rule[1].destination_port_rage",
            "did you mean `destination_port_range`?",
        );
    }

    #[test]
    fn missing_required_argument() {
        if reference().is_none() {
            return;
        }
        let main = mutate(
            LAB_MAIN_TF,
            "  size                  = \"Standard_D2s_v5\"\n",
            "",
        );
        let findings = check(&main, LAB_VARIABLES_TF);
        assert_eq!(findings.len(), 1, "{}", render(&findings));
        assert_finding(
            &findings,
            "azurerm_windows_virtual_machine.lab",
            "missing required argument `size`",
        );
    }

    #[test]
    fn missing_doc_required_argument_in_nested_block() {
        if reference().is_none() {
            return;
        }
        let main = mutate(LAB_MAIN_TF, "    priority                   = 110\n", "");
        let findings = check(&main, LAB_VARIABLES_TF);
        assert_finding(
            &findings,
            "azurerm_network_security_group.lab.security_rule[1]",
            "missing required argument `priority`",
        );
    }

    #[test]
    fn missing_required_block() {
        if reference().is_none() {
            return;
        }
        let block = "  notification_settings {\n    enabled         = false\n    time_in_minutes = 30\n  }\n";
        let main = mutate(LAB_MAIN_TF, block, "");
        let findings = check(&main, LAB_VARIABLES_TF);
        assert_finding(
            &findings,
            "azurerm_dev_test_global_vm_shutdown_schedule.lab",
            "missing required block `notification_settings`",
        );
    }

    #[test]
    fn duplicate_single_block() {
        if reference().is_none() {
            return;
        }
        let main = mutate(
            LAB_MAIN_TF,
            "  boot_diagnostics {}\n",
            "  boot_diagnostics {}\n  boot_diagnostics {}\n",
        );
        let findings = check(&main, LAB_VARIABLES_TF);
        assert_finding(
            &findings,
            "azurerm_windows_virtual_machine.lab",
            "block `boot_diagnostics` may appear at most once (found 2)",
        );
    }

    #[test]
    fn unknown_resource_type() {
        if reference().is_none() {
            return;
        }
        let main = mutate(
            LAB_MAIN_TF,
            "resource \"azurerm_dev_test_global_vm_shutdown_schedule\" \"lab\"",
            "resource \"azurerm_devtest_global_vm_shutdown_schedule\" \"lab\"",
        );
        let findings = check(&main, LAB_VARIABLES_TF);
        assert_finding(
            &findings,
            "azurerm_devtest_global_vm_shutdown_schedule.lab",
            "unknown resource type `azurerm_devtest_global_vm_shutdown_schedule` (not in the azurerm 4.73.0 reference subset) (did you mean `azurerm_dev_test_global_vm_shutdown_schedule`?)",
        );
    }

    #[test]
    fn reference_to_undeclared_variable() {
        if reference().is_none() {
            return;
        }
        let main = mutate(
            LAB_MAIN_TF,
            "  location = var.location\n",
            "  location = var.region\n",
        );
        let findings = check(&main, LAB_VARIABLES_TF);
        assert_eq!(findings.len(), 1, "{}", render(&findings));
        assert_finding(
            &findings,
            "azurerm_resource_group.lab.location",
            "reference to undeclared variable `var.region`",
        );
    }

    #[test]
    fn undeclared_references_inside_templates_are_found() {
        if reference().is_none() {
            return;
        }
        let main = mutate(
            LAB_MAIN_TF,
            "Value '${azurerm_windows_virtual_machine.lab.computer_name}'",
            "Value '${var.computer}'",
        );
        let findings = check(&main, LAB_VARIABLES_TF);
        assert_finding(
            &findings,
            "azurerm_virtual_machine_extension.setup.protected_settings",
            "undeclared variable `var.computer`",
        );

        let main = mutate(
            LAB_MAIN_TF,
            "name     = \"rg-${local.prefix}\"",
            "name     = \"rg-${local.prefx}\"",
        );
        let findings = check(&main, LAB_VARIABLES_TF);
        assert_finding(
            &findings,
            "azurerm_resource_group.lab.name",
            "undeclared local value `local.prefx` (did you mean `prefix`?)",
        );
    }

    #[test]
    fn references_to_resources_and_attributes_are_checked() {
        if reference().is_none() {
            return;
        }
        let main = mutate(
            LAB_MAIN_TF,
            "value = azurerm_public_ip.lab.ip_address",
            "value = azurerm_public_ip.lab.ip_adress",
        );
        let findings = check(&main, LAB_VARIABLES_TF);
        assert_finding(
            &findings,
            "output.public_ip_address.value",
            "`azurerm_public_ip.lab` has no attribute `ip_adress` (did you mean `ip_address`?)",
        );

        let main = mutate(
            LAB_MAIN_TF,
            "subnet_id                 = azurerm_subnet.lab.id",
            "subnet_id                 = azurerm_subnet.lab2.id",
        );
        let findings = check(&main, LAB_VARIABLES_TF);
        assert_finding(
            &findings,
            "azurerm_subnet_network_security_group_association.lab.subnet_id",
            "reference to undeclared resource `azurerm_subnet.lab2`",
        );
    }

    #[test]
    fn provider_needs_features_block() {
        if reference().is_none() {
            return;
        }
        let main = mutate(LAB_MAIN_TF, "  features {}\n", "");
        assert_finding(
            &check(&main, LAB_VARIABLES_TF),
            "provider.azurerm",
            "missing required block `features`",
        );

        let main = mutate(
            LAB_MAIN_TF,
            "  features {}\n",
            "  features {}\n  skip_provider_registraton = true\n",
        );
        assert_finding(
            &check(&main, LAB_VARIABLES_TF),
            "provider.azurerm.skip_provider_registraton",
            "unknown argument",
        );

        let without = mutate(
            LAB_MAIN_TF,
            "provider \"azurerm\" {\n  features {}\n  subscription_id = var.subscription_id\n}\n",
            "",
        );
        assert_finding(
            &check(&without, LAB_VARIABLES_TF),
            "provider.azurerm",
            "there is no `provider \"azurerm\"` block",
        );
    }

    #[test]
    fn arguments_and_blocks_must_use_their_own_syntax() {
        if reference().is_none() {
            return;
        }
        let main = mutate(
            LAB_MAIN_TF,
            "  boot_diagnostics {}\n",
            "  boot_diagnostics = {}\n",
        );
        assert_finding(
            &check(&main, LAB_VARIABLES_TF),
            "azurerm_windows_virtual_machine.lab.boot_diagnostics",
            "is a block, not an argument",
        );

        let main = mutate(
            LAB_MAIN_TF,
            "  tags     = local.tags\n}",
            "  tags {\n    a = \"b\"\n  }\n}",
        );
        assert_finding(
            &check(&main, LAB_VARIABLES_TF),
            "azurerm_resource_group.lab.tags",
            "is an argument, not a block",
        );
    }

    #[test]
    fn id_and_literal_types_are_checked() {
        if reference().is_none() {
            return;
        }
        let main = mutate(
            LAB_MAIN_TF,
            "  tags     = local.tags\n}",
            "  tags     = local.tags\n  id       = \"x\"\n}",
        );
        assert_finding(
            &check(&main, LAB_VARIABLES_TF),
            "azurerm_resource_group.lab.id",
            "must not be set",
        );

        let main = mutate(
            LAB_MAIN_TF,
            "network_interface_ids = [azurerm_network_interface.lab.id]",
            "network_interface_ids = \"nic\"",
        );
        assert_finding(
            &check(&main, LAB_VARIABLES_TF),
            "azurerm_windows_virtual_machine.lab.network_interface_ids",
            "type mismatch",
        );

        let main = mutate(
            LAB_MAIN_TF,
            "priority                   = 110",
            "priority                   = \"high\"",
        );
        assert_finding(
            &check(&main, LAB_VARIABLES_TF),
            "azurerm_network_security_group.lab.security_rule[1].priority",
            "is number; got a string",
        );
    }

    #[test]
    fn duplicate_declarations_across_files() {
        if reference().is_none() {
            return;
        }
        let vars = format!("{LAB_VARIABLES_TF}\nvariable \"location\" {{\n  type = string\n}}\n");
        assert_finding(
            &check(LAB_MAIN_TF, &vars),
            "var.location",
            "duplicate declaration (first in variables.tf)",
        );
    }

    #[test]
    fn parse_errors_are_findings() {
        if reference().is_none() {
            return;
        }
        let main = mutate(LAB_MAIN_TF, "  features {}\n", "  features {\n");
        let findings = check(&main, LAB_VARIABLES_TF);
        assert!(
            findings.iter().any(|f| f.file == "main.tf"
                && f.path.is_empty()
                && f.message.starts_with("HCL parse error")),
            "{}",
            render(&findings)
        );
    }

    #[test]
    fn dynamic_blocks_for_expressions_and_attribute_syntax_are_understood() {
        if reference().is_none() {
            return;
        }
        let nsg = r#"
resource "azurerm_network_security_group" "dyn" {
  name                = "nsg-dyn"
  location            = var.location
  resource_group_name = azurerm_resource_group.lab.name

  dynamic "security_rule" {
    for_each = local.inbound_rules
    iterator = rule
    content {
      name                       = "allow-${rule.key}"
      priority                   = rule.value.priority
      direction                  = "Inbound"
      access                     = "Allow"
      protocol                   = "Tcp"
      destination_port_range     = rule.value.port
      source_address_prefix      = var.allowed_source_prefix
      source_port_range          = "*"
      destination_address_prefix = "*"
    }
  }
}

resource "azurerm_network_security_group" "attr" {
  count               = 1
  name                = "nsg-attr-${count.index}"
  location            = var.location
  resource_group_name = azurerm_resource_group.lab.name
  security_rule = [for k, r in local.inbound_rules : {
    name      = k
    priority  = r.priority
    direction = "Inbound"
    access    = "Allow"
    protocol  = "Tcp"
  }]
  lifecycle {
    ignore_changes = [tags]
  }
}

output "nsg_ids" {
  value = azurerm_network_security_group.attr[*].id
}
"#;
        let main = format!("{LAB_MAIN_TF}{nsg}");
        let findings = check(&main, LAB_VARIABLES_TF);
        assert!(
            findings.is_empty(),
            "unexpected findings:\n{}",
            render(&findings)
        );

        let broken = mutate(
            &main,
            "      priority                   = rule.value.priority\n",
            "      priority                   = rules.value.priority\n",
        );
        assert_finding(
            &check(&broken, LAB_VARIABLES_TF),
            "azurerm_network_security_group.dyn.dynamic.security_rule.content.priority",
            "reference `rules.value` to unknown symbol `rules`",
        );

        let broken = mutate(
            &main,
            "    direction = \"Inbound\"\n    access    = \"Allow\"\n",
            "    direction = \"Inbound\"\n    acess     = \"Allow\"\n",
        );
        let findings = check(&broken, LAB_VARIABLES_TF);
        assert_finding(
            &findings,
            "azurerm_network_security_group.attr.security_rule[for].acess",
            "unknown argument `acess` (did you mean `access`?)",
        );
        assert_finding(
            &findings,
            "azurerm_network_security_group.attr.security_rule[for]",
            "missing required argument `access`",
        );
    }

    #[test]
    fn dynamic_block_shape_is_checked() {
        if reference().is_none() {
            return;
        }
        let dynamic = "  dynamic \"security_rule\" {\n    for_each = local.inbound_rules\n    iterater = rule\n    content {\n      name = rule.key\n    }\n  }\n";
        let main = mutate(LAB_MAIN_TF, "  tags = local.tags\n}\n\nresource \"azurerm_subnet_network_security_group_association\"", &format!("{dynamic}  tags = local.tags\n}}\n\nresource \"azurerm_subnet_network_security_group_association\""));
        let findings = check(&main, LAB_VARIABLES_TF);
        assert_finding(
            &findings,
            "azurerm_network_security_group.lab.dynamic.security_rule.iterater",
            "unknown argument `iterater` (did you mean `iterator`?)",
        );
        // without `iterator`, the block name is the iterator: `rule` is unknown
        assert_finding(
            &findings,
            "azurerm_network_security_group.lab.dynamic.security_rule.content.name",
            "unknown symbol `rule`",
        );
        assert_finding(
            &findings,
            "azurerm_network_security_group.lab.security_rule[2]",
            "missing required argument `priority`",
        );
    }

    #[test]
    fn findings_are_sorted_and_deterministic() {
        if reference().is_none() {
            return;
        }
        let main = mutate(
            LAB_MAIN_TF,
            "  location = var.location\n",
            "  location = var.region\n  colour   = 1\n",
        );
        let first = check(&main, LAB_VARIABLES_TF);
        assert!(first.len() >= 2);
        assert!(first.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(first, check(&main, LAB_VARIABLES_TF));
    }

    const LAB_MAIN_TF: &str = r#"terraform {
  required_version = ">= 1.0.3"
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.73"
    }
  }
}

provider "azurerm" {
  features {}
  subscription_id = var.subscription_id
}

locals {
  prefix = "wci-lab"
  tags = {
    project = "wcigen"
    lab     = local.prefix
  }
  inbound_rules = {
    rdp = { priority = 100, port = "3389" }
    ssh = { priority = 110, port = "22" }
  }
}

resource "azurerm_resource_group" "lab" {
  name     = "rg-${local.prefix}"
  location = var.location
  tags     = local.tags
}

resource "azurerm_virtual_network" "lab" {
  name                = "vnet-${local.prefix}"
  location            = azurerm_resource_group.lab.location
  resource_group_name = azurerm_resource_group.lab.name
  address_space       = ["10.20.0.0/16"]
  tags                = local.tags
}

resource "azurerm_subnet" "lab" {
  name                 = "snet-${local.prefix}"
  resource_group_name  = azurerm_resource_group.lab.name
  virtual_network_name = azurerm_virtual_network.lab.name
  address_prefixes     = ["10.20.1.0/24"]
}

resource "azurerm_network_security_group" "lab" {
  name                = "nsg-${local.prefix}"
  location            = azurerm_resource_group.lab.location
  resource_group_name = azurerm_resource_group.lab.name

  security_rule {
    name                       = "allow-rdp"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "3389"
    source_address_prefix      = var.allowed_source_prefix
    destination_address_prefix = "*"
  }

  security_rule {
    name                       = "allow-ssh"
    priority                   = 110
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "22"
    source_address_prefix      = var.allowed_source_prefix
    destination_address_prefix = "*"
  }

  tags = local.tags
}

resource "azurerm_subnet_network_security_group_association" "lab" {
  subnet_id                 = azurerm_subnet.lab.id
  network_security_group_id = azurerm_network_security_group.lab.id
}

resource "azurerm_public_ip" "lab" {
  name                = "pip-${local.prefix}"
  location            = azurerm_resource_group.lab.location
  resource_group_name = azurerm_resource_group.lab.name
  allocation_method   = "Static"
  sku                 = "Standard"
  tags                = local.tags
}

resource "azurerm_network_interface" "lab" {
  name                = "nic-${local.prefix}"
  location            = azurerm_resource_group.lab.location
  resource_group_name = azurerm_resource_group.lab.name

  ip_configuration {
    name                          = "ipconfig1"
    subnet_id                     = azurerm_subnet.lab.id
    private_ip_address_allocation = "Dynamic"
    public_ip_address_id          = azurerm_public_ip.lab.id
  }

  tags = local.tags
}

resource "azurerm_windows_virtual_machine" "lab" {
  name                  = "vm-wcilab"
  computer_name         = "wcilab"
  location              = azurerm_resource_group.lab.location
  resource_group_name   = azurerm_resource_group.lab.name
  size                  = "Standard_D2s_v5"
  admin_username        = var.admin_username
  admin_password        = var.admin_password
  network_interface_ids = [azurerm_network_interface.lab.id]
  patch_mode            = "AutomaticByOS"

  os_disk {
    name                 = "osdisk-${local.prefix}"
    caching              = "ReadWrite"
    storage_account_type = "Premium_LRS"
    disk_size_gb         = 128
  }

  source_image_reference {
    publisher = "MicrosoftWindowsServer"
    offer     = "WindowsServer"
    sku       = "2022-datacenter-g2"
    version   = "latest"
  }

  boot_diagnostics {}

  tags = local.tags

  depends_on = [azurerm_subnet_network_security_group_association.lab]
}

resource "azurerm_virtual_machine_extension" "setup" {
  name                       = "lab-setup"
  virtual_machine_id         = azurerm_windows_virtual_machine.lab.id
  publisher                  = "Microsoft.Compute"
  type                       = "CustomScriptExtension"
  type_handler_version       = "1.10"
  auto_upgrade_minor_version = true

  protected_settings = jsonencode({
    commandToExecute = "powershell.exe -NoProfile -ExecutionPolicy Bypass -Command \"Set-Content -Path C:\\lab\\ready.txt -Value '${azurerm_windows_virtual_machine.lab.computer_name}'\""
  })

  tags = local.tags
}

resource "azurerm_dev_test_global_vm_shutdown_schedule" "lab" {
  virtual_machine_id    = azurerm_windows_virtual_machine.lab.id
  location              = azurerm_resource_group.lab.location
  enabled               = true
  daily_recurrence_time = "1900"
  timezone              = "W. Europe Standard Time"

  notification_settings {
    enabled         = false
    time_in_minutes = 30
  }

  tags = local.tags
}

output "public_ip_address" {
  value = azurerm_public_ip.lab.ip_address
}

output "rdp_rules" {
  value = [for name, rule in local.inbound_rules : "${name}:${rule.port}"]
}

output "vm_id" {
  value = azurerm_windows_virtual_machine.lab.id
}
"#;

    const LAB_VARIABLES_TF: &str = r#"variable "subscription_id" {
  type        = string
  description = "Azure subscription that receives the lab."
}

variable "location" {
  type    = string
  default = "westeurope"
}

variable "admin_username" {
  type    = string
  default = "labadmin"
}

variable "admin_password" {
  type      = string
  sensitive = true
}

variable "allowed_source_prefix" {
  type    = string
  default = "203.0.113.0/24"
}
"#;
}
