//! The Bicep and ARM JSON targets (`bicep/`, `arm/`).
//!
//! What is proven here, for every `examples/*.yaml` and for extra labs built below:
//! - snapshots of the four files (the embedded script payload and its SHA-256 are redacted, see
//!   [`redact`]);
//! - `main.bicep` parses with tree-sitter-bicep without ERROR or MISSING nodes;
//! - the ARM template is what `bicep build` makes of `main.bicep`: a small compiler for the Bicep
//!   subset wcigen writes ([`BicepModel`]) turns the Bicep file into ARM JSON, which must equal
//!   `azuredeploy.json` (parameters, variables, resources with dependsOn, outputs, metadata);
//! - both files embed `powershell/provision.ps1` byte for byte (base64 → gunzip);
//! - no password can be written: secure parameters have no default, parameter files never name
//!   them, outputs never reference them;
//! - the lab is stated faithfully: NSG rules, sources, tags on every resource, location only in
//!   the parameter default, security type, shutdown schedule, pinned API versions.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;

use base64::Engine as _;
use serde_json::{json, Map, Value};
use wcigen::view::{LabView, ScriptView};

use crate::common::{
    all_labs, bicep_unescape, example_name, examples, extra_lab, file, one_vm_labs, render_file,
    render_text, valid_lab_from_text,
};

const BICEP: &str = "bicep/main.bicep";
const BICEP_PARAMS: &str = "bicep/main.parameters.json";
const BICEPPARAM: &str = "bicep/main.bicepparam";
const ARM: &str = "arm/azuredeploy.json";
const ARM_PARAMS: &str = "arm/azuredeploy.parameters.json";
/// What Bicep and ARM say when a deploy-time source list mixes `*` with other sources.
const STAR_MIXED: &str =
    "The source * (any source) cannot be combined with other sources in allowedSourceAddresses.";
const FILES: [&str; 5] = [BICEP, BICEP_PARAMS, BICEPPARAM, ARM, ARM_PARAMS];

/// `type@apiVersion` pairs that exist in the reference data (`../shared/reference`): Compute
/// 2024-07-01 and 2025-11-01, Network 2024-05-01, `DevTestLab` 2018-09-15.
const KNOWN_API_VERSIONS: &[(&str, &[&str])] = &[
    (
        "Microsoft.Compute/virtualMachines",
        &["2024-07-01", "2025-11-01"],
    ),
    (
        "Microsoft.Compute/virtualMachines/extensions",
        &["2024-07-01", "2025-11-01"],
    ),
    (
        "Microsoft.Compute/virtualMachines/runCommands",
        &["2024-07-01", "2025-11-01"],
    ),
    ("Microsoft.Network/virtualNetworks", &["2024-05-01"]),
    ("Microsoft.Network/bastionHosts", &["2024-05-01"]),
    ("Microsoft.Network/networkSecurityGroups", &["2024-05-01"]),
    ("Microsoft.Network/publicIPAddresses", &["2024-05-01"]),
    ("Microsoft.Network/networkInterfaces", &["2024-05-01"]),
    ("Microsoft.DevTestLab/schedules", &["2018-09-15"]),
];

// ---------------------------------------------------------------------------------------------
// Rendering

/// The text with the embedded script payload and its SHA-256 (which the extension's command
/// checks) replaced by markers: both change with every edit of the PowerShell template and are
/// checked byte for byte by [`both_files_embed_the_provisioning_script_byte_for_byte`].
fn redact(text: &str, script: &[u8]) -> String {
    let embedding = ScriptView::new(script);
    // A lab deployed from its baked image embeds no script (and runs no extension).
    assert!(
        text.contains(&embedding.base64_gzip) || !text.contains("CustomScriptExtension"),
        "the script payload is not embedded verbatim"
    );
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
        let script = &file(&files, "powershell/provision.ps1").bytes;
        for target in FILES {
            let text = file(&files, target).text();
            let shown = if target == BICEP || target == ARM {
                redact(text, script)
            } else {
                text.to_string()
            };
            insta::assert_snapshot!(format!("{name}__{}", target.replace('/', "_")), shown);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bicep: parsing, literals, and a compiler for the subset wcigen writes

fn parse_bicep(source: &str) -> tree_sitter::Tree {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_bicep::LANGUAGE.into())
        .expect("tree-sitter-bicep loads");
    parser
        .parse(source, None)
        .expect("tree-sitter returns a tree")
}

/// Every ERROR or MISSING node, as `line:column kind`.
fn syntax_problems(tree: &tree_sitter::Tree) -> Vec<String> {
    fn walk(node: tree_sitter::Node<'_>, out: &mut Vec<String>) {
        if node.is_error() || node.is_missing() {
            let p = node.start_position();
            out.push(format!(
                "{}:{} {}{}",
                p.row + 1,
                p.column + 1,
                if node.is_missing() { "MISSING " } else { "" },
                node.kind()
            ));
        }
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            walk(child, out);
        }
    }
    let mut out = Vec::new();
    walk(tree.root_node(), &mut out);
    out
}

/// An ARM expression string literal (`'...'`, quotes doubled).
fn arm_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A JSON string as ARM reads it: a literal that looks like an expression gets a second `[`.
fn arm_literal(s: &str) -> Value {
    if s.starts_with('[') && s.ends_with(']') {
        Value::String(format!("[{s}"))
    } else {
        Value::String(s.to_string())
    }
}

/// A converted Bicep expression: a literal value or an ARM expression (without its brackets).
#[derive(Clone, Debug)]
enum Conv {
    Literal(Value),
    Expr(String),
}

impl Conv {
    /// As an ARM JSON value.
    fn json(&self) -> Value {
        match self {
            Conv::Literal(Value::String(s)) => arm_literal(s),
            Conv::Literal(v) => v.clone(),
            Conv::Expr(e) => Value::String(format!("[{e}]")),
        }
    }

    /// As an argument inside an ARM expression.
    fn arg(&self) -> String {
        match self {
            Conv::Literal(Value::String(s)) => arm_quote(s),
            Conv::Literal(Value::Number(n)) => n.to_string(),
            Conv::Literal(Value::Bool(b)) => format!("{b}()"),
            Conv::Literal(Value::Null) => "null()".into(),
            Conv::Literal(Value::Array(items)) => format!(
                "createArray({})",
                items
                    .iter()
                    .map(|item| Conv::Literal(item.clone()).arg())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Conv::Expr(e) => e.clone(),
            Conv::Literal(v) => panic!("no ARM expression for the literal {v}"),
        }
    }
}

/// What a resource symbol stands for in ARM expressions.
#[derive(Clone, Debug)]
struct ResourceSymbol {
    /// The ARM name expression (`variables('vmName')`), for a child without its parent part.
    name: String,
    /// `resourceId(...)`.
    id: String,
}

/// The ARM JSON a Bicep file compiles to, for the subset wcigen writes (languageVersion 1.0:
/// parameters with decorators, variables, resources with `parent`, outputs, metadata).
///
/// Conventions of `bicep build` it follows: a symbolic reference (`x.id`, `x.name`,
/// `x.properties.y`, `parent: x`) becomes an entry of `dependsOn`, in order of first use;
/// `x.properties.y` becomes `reference(resourceId(...)).y` (wcigen leaves out the API version
/// argument that `bicep build` adds: ARM takes the version of the resource deployed in the same
/// template); interpolation becomes `format()`.
#[derive(Debug, Default)]
struct BicepModel {
    metadata: Map<String, Value>,
    parameters: Map<String, Value>,
    variables: Map<String, Value>,
    resources: Vec<Value>,
    outputs: Map<String, Value>,
}

struct Compiler<'s> {
    src: &'s str,
    params: BTreeSet<String>,
    vars: BTreeSet<String>,
    symbols: BTreeMap<String, ResourceSymbol>,
    /// Inside a `[for (item, index) in source: ...]` loop (a class): the item's name, the
    /// index's name and the ARM expression of the source array.
    loop_vars: Option<(String, Option<String>, String)>,
}

fn named_children(node: tree_sitter::Node<'_>) -> Vec<tree_sitter::Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .filter(|n| !matches!(n.kind(), "comment" | "diagnostic_comment"))
        .collect()
}

impl<'s> Compiler<'s> {
    fn text(&self, node: tree_sitter::Node<'_>) -> &'s str {
        node.utf8_text(self.src.as_bytes()).unwrap()
    }

    /// The resource symbol a node names: `vm`, or `vm[i]` inside a loop over the same source
    /// (every looped resource is named from the loop's item, so `vm[i]` is this copy's `vm`).
    fn symbol_of(&self, node: tree_sitter::Node<'_>) -> Option<&'s str> {
        match node.kind() {
            "identifier" if self.symbols.contains_key(self.text(node)) => Some(self.text(node)),
            "subscript_expression" => {
                let object = node.child_by_field_name("object")?;
                let index = self.text(node.child_by_field_name("index")?);
                let (_, loop_index, _) = self.loop_vars.as_ref()?;
                (loop_index.as_deref() == Some(index)).then_some(())?;
                self.symbol_of(object)
            }
            _ => None,
        }
    }

    /// A `[for ...: body]` loop: enters it (item, index, source) and returns its body.
    fn enter_loop<'t>(&mut self, node: tree_sitter::Node<'t>) -> tree_sitter::Node<'t> {
        let kids = named_children(node);
        let (item, index) = if kids[0].kind() == "for_loop_parameters" {
            let vars = named_children(kids[0]);
            (
                self.text(vars[0]).to_string(),
                vars.get(1).map(|v| self.text(*v).to_string()),
            )
        } else {
            (self.text(kids[0]).to_string(), None)
        };
        let source = self.expr(kids[1], &mut Vec::new()).arg();
        self.loop_vars = Some((item, index, source));
        node.child_by_field_name("body").expect("a loop body")
    }

    /// The `copy` count of the loop being compiled.
    fn loop_count(&self) -> String {
        let (_, _, source) = self.loop_vars.as_ref().expect("in a loop");
        format!("[length({source})]")
    }

    /// A string node: a literal, or `format()` when it interpolates.
    fn string(&mut self, node: tree_sitter::Node<'_>, deps: &mut Vec<String>) -> Conv {
        let raw = self.text(node);
        assert!(
            !raw.starts_with("'''"),
            "wcigen writes no multi-line strings: {raw}"
        );
        let (start, end) = (node.start_byte() + 1, node.end_byte() - 1);
        let mut parts = Vec::new();
        let mut args = Vec::new();
        let mut at = start;
        for child in named_children(node)
            .into_iter()
            .filter(|c| c.kind() == "interpolation")
        {
            parts.push(
                bicep_unescape(&self.src[at..child.start_byte()]).expect("a valid Bicep string"),
            );
            let inner = named_children(child);
            assert_eq!(inner.len(), 1, "one expression per interpolation");
            args.push(self.expr(inner[0], deps));
            at = child.end_byte();
        }
        parts.push(bicep_unescape(&self.src[at..end]).expect("a valid Bicep string"));
        if args.is_empty() {
            return Conv::Literal(Value::String(parts.remove(0)));
        }
        let mut format = String::new();
        for (i, part) in parts.iter().enumerate() {
            format.push_str(&part.replace('{', "{{").replace('}', "}}"));
            if i < args.len() {
                format.push('{');
                format.push_str(&i.to_string());
                format.push('}');
            }
        }
        let args: Vec<String> = args.iter().map(Conv::arg).collect();
        Conv::Expr(format!(
            "format({}, {})",
            arm_quote(&format),
            args.join(", ")
        ))
    }

    fn object(
        &mut self,
        node: tree_sitter::Node<'_>,
        deps: &mut Vec<String>,
    ) -> Map<String, Value> {
        let mut map = Map::new();
        for property in named_children(node) {
            assert_eq!(
                property.kind(),
                "object_property",
                "objects hold properties only"
            );
            let parts = named_children(property);
            assert_eq!(parts.len(), 2, "key and value: {}", self.text(property));
            let key = match parts[0].kind() {
                "identifier" => self.text(parts[0]).to_string(),
                "string" => match self.string(parts[0], deps) {
                    Conv::Literal(Value::String(s)) => s,
                    other => panic!("an interpolated key: {other:?}"),
                },
                other => panic!("unexpected key kind {other}"),
            };
            // `bicep build` writes a key ARM reads as a keyword (`copy`, Azure/bicep#7241) as
            // an expression that yields it.
            let key = if key.eq_ignore_ascii_case("copy") {
                format!("[string({})]", arm_quote(&key))
            } else {
                key
            };
            let value = self.expr(parts[1], deps).json();
            assert!(
                map.insert(key.clone(), value).is_none(),
                "duplicate key {key}"
            );
        }
        map
    }

    fn expr(&mut self, node: tree_sitter::Node<'_>, deps: &mut Vec<String>) -> Conv {
        let use_symbol = |deps: &mut Vec<String>, name: &str| {
            if !deps.iter().any(|d| d == name) {
                deps.push(name.to_string());
            }
        };
        match node.kind() {
            "string" => self.string(node, deps),
            "number" => Conv::Literal(json!(self.text(node).parse::<i64>().unwrap())),
            "boolean" => Conv::Literal(Value::Bool(self.text(node) == "true")),
            "null" => Conv::Literal(Value::Null),
            "object" => Conv::Literal(Value::Object(self.object(node, deps))),
            "array" => Conv::Literal(Value::Array(
                named_children(node)
                    .into_iter()
                    .map(|item| self.expr(item, deps).json())
                    .collect(),
            )),
            "identifier" => {
                let name = self.text(node);
                if let Some((item, index, source)) = &self.loop_vars {
                    if name == item {
                        return Conv::Expr(format!("{source}[copyIndex()]"));
                    }
                    if index.as_deref() == Some(name) {
                        return Conv::Expr("copyIndex()".into());
                    }
                }
                if self.params.contains(name) {
                    Conv::Expr(format!("parameters({})", arm_quote(name)))
                } else if self.vars.contains(name) {
                    Conv::Expr(format!("variables({})", arm_quote(name)))
                } else {
                    panic!("unknown or bare identifier {name}")
                }
            }
            "member_expression" => {
                let object = node.child_by_field_name("object").unwrap();
                let property = self.text(node.child_by_field_name("property").unwrap());
                // `symbol.id`, `symbol.name`, `symbol.properties.x`
                if let Some(symbol) = self.symbol_of(object) {
                    let info = self.symbols[symbol].clone();
                    use_symbol(deps, symbol);
                    return match property {
                        "id" => Conv::Expr(info.id),
                        "name" => Conv::Expr(info.name),
                        other => panic!("{symbol}.{other} is outside the subset"),
                    };
                }
                if object.kind() == "member_expression" {
                    let inner = object.child_by_field_name("object").unwrap();
                    let middle = self.text(object.child_by_field_name("property").unwrap());
                    if let Some(symbol) = self.symbol_of(inner).filter(|_| middle == "properties") {
                        let id = self.symbols[symbol].id.clone();
                        use_symbol(deps, symbol);
                        return Conv::Expr(format!("reference({id}).{property}"));
                    }
                }
                match self.expr(object, deps) {
                    Conv::Expr(e) => Conv::Expr(format!("{e}.{property}")),
                    Conv::Literal(v) => panic!("property of a literal {v}"),
                }
            }
            "ternary_expression" => {
                let [condition, consequence, alternative] =
                    ["condition", "consequence", "alternative"]
                        .map(|f| self.expr(node.child_by_field_name(f).unwrap(), deps).arg());
                Conv::Expr(format!("if({condition}, {consequence}, {alternative})"))
            }
            "binary_expression" => {
                let function = match self.text(node.child_by_field_name("operator").unwrap()) {
                    "==" => "equals",
                    "&&" => "and",
                    other => panic!("operator {other} is outside the subset"),
                };
                let [left, right] = ["left", "right"]
                    .map(|f| self.expr(node.child_by_field_name(f).unwrap(), deps).arg());
                Conv::Expr(format!("{function}({left}, {right})"))
            }
            "parenthesized_expression" => self.expr(named_children(node)[0], deps),
            "subscript_expression" => {
                let object = self.expr(node.child_by_field_name("object").unwrap(), deps);
                let index = self.expr(node.child_by_field_name("index").unwrap(), deps);
                Conv::Expr(format!("{}[{}]", object.arg(), index.arg()))
            }
            "unary_expression" if self.text(node).starts_with('!') => {
                let operand = self.expr(named_children(node)[0], deps).arg();
                Conv::Expr(format!("not({operand})"))
            }
            "call_expression" => {
                let function = self.text(node.child_by_field_name("function").unwrap());
                let args: Vec<String> =
                    named_children(node.child_by_field_name("arguments").unwrap())
                        .into_iter()
                        .map(|a| self.expr(a, deps).arg())
                        .collect();
                Conv::Expr(format!("{function}({})", args.join(", ")))
            }
            other => panic!(
                "{other} is outside the Bicep subset wcigen writes: {}",
                self.text(node)
            ),
        }
    }

    /// `@name(args)` decorators → (name, converted arguments).
    fn decorators(&mut self, node: tree_sitter::Node<'_>) -> Vec<(String, Vec<Conv>)> {
        named_children(node)
            .into_iter()
            .map(|decorator| {
                let call = named_children(decorator)[0];
                let name = self
                    .text(call.child_by_field_name("function").unwrap())
                    .to_string();
                let mut deps = Vec::new();
                let args = named_children(call.child_by_field_name("arguments").unwrap())
                    .into_iter()
                    .map(|a| self.expr(a, &mut deps))
                    .collect();
                assert!(deps.is_empty(), "decorators reference no resource");
                (name, args)
            })
            .collect()
    }

    fn compile(src: &'s str, tree: &tree_sitter::Tree) -> BicepModel {
        let mut c = Compiler {
            src,
            params: BTreeSet::new(),
            vars: BTreeSet::new(),
            symbols: BTreeMap::new(),
            loop_vars: None,
        };
        let mut model = BicepModel::default();
        let mut pending: Vec<(String, Vec<Conv>)> = Vec::new();
        for statement in named_children(tree.root_node()) {
            let parts = named_children(statement);
            match statement.kind() {
                "decorators" => pending = c.decorators(statement),
                "metadata_declaration" => {
                    let name = c.text(parts[0]).to_string();
                    let value = c.expr(parts[1], &mut Vec::new()).json();
                    model.metadata.insert(name, value);
                }
                "parameter_declaration" => {
                    let name = c.text(parts[0]).to_string();
                    let mut definition = Map::new();
                    // A typed array (`string[]`) is an ARM `array`: languageVersion 1.0 has no
                    // `items` (bicep build switches to 2.0 for it; engine_bicep.rs compares).
                    let mut ty = c.text(parts[1]).to_string();
                    if ty.ends_with("[]") {
                        ty = "array".into();
                    }
                    let decorators = std::mem::take(&mut pending);
                    if decorators.iter().any(|(d, _)| d == "secure") {
                        ty = format!("secure{ty}");
                    }
                    definition.insert("type".into(), json!(ty));
                    if let Some(default) = parts.get(2) {
                        let value = c.expr(*default, &mut Vec::new()).json();
                        definition.insert("defaultValue".into(), value);
                    }
                    for (decorator, args) in decorators {
                        match decorator.as_str() {
                            "secure" => {}
                            "description" => {
                                definition.insert(
                                    "metadata".into(),
                                    json!({ "description": args[0].json() }),
                                );
                            }
                            "minLength" | "maxLength" | "minValue" | "maxValue" => {
                                definition.insert(decorator, args[0].json());
                            }
                            "allowed" => {
                                definition.insert("allowedValues".into(), args[0].json());
                            }
                            other => panic!("decorator @{other} is outside the subset"),
                        }
                    }
                    c.params.insert(name.clone());
                    model.parameters.insert(name, Value::Object(definition));
                }
                "variable_declaration" => {
                    // `@description` only: bicep build writes no variable metadata.
                    let decorators = std::mem::take(&mut pending);
                    assert!(
                        decorators.iter().all(|(d, _)| d == "description"),
                        "only @description on variables"
                    );
                    let name = c.text(parts[0]).to_string();
                    let value = c.expr(parts[1], &mut Vec::new()).json();
                    c.vars.insert(name.clone());
                    model.variables.insert(name, value);
                }
                "resource_declaration" => {
                    assert!(pending.is_empty(), "no decorators on resources");
                    let symbol = c.text(parts[0]).to_string();
                    let Conv::Literal(Value::String(type_version)) =
                        c.string(parts[1], &mut Vec::new())
                    else {
                        panic!("resource type of {symbol} is not a literal");
                    };
                    let (ty, api_version) = type_version.split_once('@').expect("Type@apiVersion");
                    // A class loops over its students; wcigen writes no conditions.
                    let looped = parts[2].kind() == "for_statement";
                    let body_node = if looped {
                        c.enter_loop(parts[2])
                    } else {
                        parts[2]
                    };
                    assert_eq!(
                        body_node.kind(),
                        "object",
                        "{symbol}: wcigen writes no conditions"
                    );
                    let mut deps = Vec::new();
                    // `parent` first: it decides the name and the first dependency.
                    let mut parent: Option<String> = None;
                    for property in named_children(body_node) {
                        let kv = named_children(property);
                        if c.text(kv[0]) == "parent" {
                            let p = c.symbol_of(kv[1]).unwrap_or(c.text(kv[1])).to_string();
                            assert!(c.symbols.contains_key(&p), "{symbol}: unknown parent {p}");
                            deps.push(p.clone());
                            parent = Some(p);
                        }
                    }
                    let mut body = Map::new();
                    // An explicit `dependsOn: [symbol, ...]` comes first in the ARM dependsOn,
                    // before the parent and the implicit dependencies (as bicep build writes it).
                    let mut explicit: Vec<String> = Vec::new();
                    for property in named_children(body_node) {
                        let kv = named_children(property);
                        let key = c.text(kv[0]).to_string();
                        if key == "parent" {
                            continue;
                        }
                        if key == "dependsOn" {
                            // One symbol a line; tree-sitter-bicep reads `provision[i]` on its
                            // own line as two items (`provision`, `[i]`), so read the lines.
                            let text = c.text(kv[1]);
                            let lines = text.trim().trim_start_matches('[').trim_end_matches(']');
                            for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
                                let index = c.loop_vars.as_ref().and_then(|(_, i, _)| i.clone());
                                let d = index
                                    .and_then(|i| line.strip_suffix(&format!("[{i}]")))
                                    .unwrap_or(line)
                                    .to_string();
                                assert!(
                                    c.symbols.contains_key(&d),
                                    "{symbol}: unknown dependency {d}"
                                );
                                explicit.push(d);
                            }
                            continue;
                        }
                        let value = c.expr(kv[1], &mut deps);
                        body.insert(key, value.json());
                    }
                    deps.retain(|d| !explicit.contains(d));
                    explicit.append(&mut deps);
                    let mut deps = explicit;
                    let name_value = body.remove("name").expect("every resource has a name");
                    let name_expr = match name_value {
                        Value::String(s) if s.starts_with('[') && !s.starts_with("[[") => {
                            s[1..s.len() - 1].to_string()
                        }
                        other => panic!(
                            "{symbol}: wcigen names resources through variables, not {other}"
                        ),
                    };
                    let (arm_name, id) = match &parent {
                        None => (
                            format!("[{name_expr}]"),
                            format!("resourceId({}, {name_expr})", arm_quote(ty)),
                        ),
                        Some(p) => {
                            let parent_name = c.symbols[p].name.clone();
                            (
                                format!("[format('{{0}}/{{1}}', {parent_name}, {name_expr})]"),
                                format!(
                                    "resourceId({}, {parent_name}, {name_expr})",
                                    arm_quote(ty)
                                ),
                            )
                        }
                    };
                    let mut resource = Map::new();
                    if looped {
                        resource.insert(
                            "copy".into(),
                            json!({ "name": symbol, "count": c.loop_count() }),
                        );
                        c.loop_vars = None;
                    }
                    resource.insert("type".into(), json!(ty));
                    resource.insert("apiVersion".into(), json!(api_version));
                    resource.insert("name".into(), json!(arm_name));
                    resource.extend(body);
                    deps.retain(|d| d != &symbol);
                    if !deps.is_empty() {
                        let ids: Vec<Value> = deps
                            .iter()
                            .map(|d| json!(format!("[{}]", c.symbols[d].id)))
                            .collect();
                        resource.insert("dependsOn".into(), Value::Array(ids));
                    }
                    c.symbols.insert(
                        symbol,
                        ResourceSymbol {
                            name: name_expr,
                            id,
                        },
                    );
                    model.resources.push(Value::Object(resource));
                }
                "output_declaration" => {
                    let name = c.text(parts[0]).to_string();
                    let ty = c.text(parts[1]).to_string();
                    let mut output = Map::new();
                    output.insert("type".into(), json!(ty));
                    for (decorator, args) in std::mem::take(&mut pending) {
                        assert_eq!(decorator, "description", "only @description on outputs");
                        output.insert("metadata".into(), json!({ "description": args[0].json() }));
                    }
                    if parts[2].kind() == "for_statement" {
                        // A class's connect list: an output copy loop.
                        let body = c.enter_loop(parts[2]);
                        let input = c.expr(body, &mut Vec::new()).json();
                        output.insert(
                            "copy".into(),
                            json!({ "count": c.loop_count(), "input": input }),
                        );
                        c.loop_vars = None;
                    } else {
                        let value = c.expr(parts[2], &mut Vec::new()).json();
                        output.insert("value".into(), value);
                    }
                    model.outputs.insert(name, Value::Object(output));
                }
                other => panic!("{other} is outside the Bicep subset wcigen writes"),
            }
        }
        assert!(pending.is_empty(), "decorators without a declaration");
        model
    }
}

fn compile_bicep(label: &str, source: &str) -> BicepModel {
    let tree = parse_bicep(source);
    let problems = syntax_problems(&tree);
    assert!(
        problems.is_empty(),
        "{label}: main.bicep does not parse: {problems:?}"
    );
    Compiler::compile(source, &tree)
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn bicep_parses_without_error_or_missing_nodes() {
    for lab in all_labs() {
        let tree = parse_bicep(lab.text(BICEP));
        let problems = syntax_problems(&tree);
        assert!(
            problems.is_empty(),
            "{}: {problems:?}\n{}",
            lab.label,
            lab.text(BICEP)
        );
    }
}

#[test]
fn templates_never_quote_around_a_printed_value() {
    // Every Bicep and ARM template, the partials under bicep/parts/ and arm/parts/ included.
    let mut checked = 0;
    for (name, _) in wcigen::render::TEMPLATES {
        if !(name.starts_with("bicep/") || name.starts_with("arm/")) {
            continue;
        }
        checked += 1;
        let source =
            std::fs::read_to_string(crate::common::repo().join("templates").join(name)).unwrap();
        for bad in ["'{{", "\"{{", "}}'", "}}\""] {
            assert!(
                !source.contains(bad),
                "templates/{name} quotes around a value ({bad})"
            );
        }
    }
    // The 5 main templates and the 7 Bicep and 7 ARM partials at least.
    assert!(
        checked >= 19,
        "only {checked} Bicep and ARM templates checked"
    );
}

#[test]
fn arm_template_is_what_bicep_build_makes_of_main_bicep() {
    for lab in all_labs() {
        let model = compile_bicep(&lab.label, lab.text(BICEP));
        let arm = lab.json(ARM);
        let label = &lab.label;
        assert_eq!(
            arm["$schema"],
            json!(
                "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
            ),
            "{label}"
        );
        assert_eq!(arm["contentVersion"], json!("1.0.0.0"), "{label}");
        assert!(
            arm.get("languageVersion").is_none(),
            "{label}: languageVersion 1.0 (resources as an array)"
        );
        let mut metadata = arm["metadata"].as_object().cloned().unwrap();
        assert_eq!(
            metadata.remove("_generator"),
            Some(json!({ "name": "wcigen", "version": env!("CARGO_PKG_VERSION") }))
        );
        assert_eq!(metadata, model.metadata, "{label}: metadata");
        assert_eq!(
            arm["parameters"],
            Value::Object(model.parameters.clone()),
            "{label}: parameters"
        );
        assert_eq!(
            arm["variables"],
            Value::Object(model.variables.clone()),
            "{label}: variables"
        );
        let resources = arm["resources"].as_array().expect("resources is an array");
        assert_eq!(
            resources.len(),
            model.resources.len(),
            "{label}: resource count"
        );
        for (a, b) in resources.iter().zip(&model.resources) {
            assert_eq!(a, b, "{label}: resource {}", a["type"]);
        }
        assert_eq!(
            arm["outputs"],
            Value::Object(model.outputs.clone()),
            "{label}: outputs"
        );
        let keys: BTreeSet<&str> = arm
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "$schema",
                "contentVersion",
                "metadata",
                "parameters",
                "variables",
                "resources",
                "outputs"
            ]),
            "{label}"
        );
    }
}

/// The script in a VM's `userData`, decoded (base64 → gunzip).
fn embedded_script(user_data: &str) -> Vec<u8> {
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(user_data)
        .expect("valid base64");
    let mut script = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_end(&mut script)
        .expect("valid gzip");
    script
}

fn virtual_machine(resources: &[Value]) -> &Value {
    let found: Vec<&Value> = resources
        .iter()
        .filter(|r| r["type"] == "Microsoft.Compute/virtualMachines")
        .collect();
    assert_eq!(found.len(), 1, "exactly one VM");
    found[0]
}

fn extension(resources: &[Value]) -> &Value {
    let found: Vec<&Value> = resources
        .iter()
        .filter(|r| r["type"] == "Microsoft.Compute/virtualMachines/extensions")
        .collect();
    assert_eq!(found.len(), 1, "exactly one VM extension");
    found[0]
}

#[test]
fn both_files_embed_the_provisioning_script_byte_for_byte() {
    for lab in all_labs() {
        let label = &lab.label;
        let script = lab.script();
        assert!(
            script.starts_with(b"\xEF\xBB\xBF"),
            "{label}: the script keeps its BOM"
        );
        let expected_command = ScriptView::new(script).command_to_execute;
        let arm = lab.json(ARM);
        let model = compile_bicep(label, lab.text(BICEP));
        if lab.view.vm.baked {
            // Started from the baked image: no extension, no userData, no script at all.
            for (which, resources) in [
                ("arm", arm["resources"].as_array().unwrap().clone()),
                ("bicep", model.resources.clone()),
            ] {
                assert!(
                    !resources
                        .iter()
                        .any(|r| r["type"] == "Microsoft.Compute/virtualMachines/extensions"),
                    "{label} {which}: no extension"
                );
                assert!(
                    virtual_machine(&resources)["properties"]
                        .get("userData")
                        .is_none(),
                    "{label} {which}: no userData"
                );
            }
            let embedding = ScriptView::new(script);
            assert!(!lab.text(ARM).contains(&embedding.base64_gzip), "{label}");
            assert!(!lab.text(BICEP).contains(&embedding.base64_gzip), "{label}");
            continue;
        }
        for (which, resources) in [
            ("arm", arm["resources"].as_array().unwrap().clone()),
            ("bicep", model.resources.clone()),
        ] {
            let ext = &extension(&resources)["properties"];
            assert_eq!(ext["publisher"], "Microsoft.Compute", "{label} {which}");
            assert_eq!(ext["type"], "CustomScriptExtension", "{label} {which}");
            assert_eq!(ext["typeHandlerVersion"], "1.10", "{label} {which}");
            assert_eq!(ext["autoUpgradeMinorVersion"], true, "{label} {which}");
            // Public settings are sent in clear text: none at all.
            assert!(
                ext.get("settings").is_none(),
                "{label} {which}: nothing in public settings"
            );
            let protected = ext["protectedSettings"].as_object().unwrap();
            assert_eq!(
                protected.keys().collect::<Vec<_>>(),
                ["commandToExecute"],
                "{label} {which}"
            );
            // JSON value as ARM reads it: the command never looks like an expression.
            let command = protected["commandToExecute"].as_str().unwrap();
            assert_eq!(
                command, expected_command,
                "{label} {which}: the command is the view's"
            );
            assert!(
                command.contains("metadata/instance/compute/userData"),
                "{label} {which}: the command reads the VM's userData"
            );
            let user_data = virtual_machine(&resources)["properties"]["userData"]
                .as_str()
                .expect("the VM carries userData");
            assert!(
                embedded_script(user_data) == script,
                "{label} {which}: the decoded script differs from powershell/provision.ps1"
            );
            // userData is limited to 64 KiB (base64).
            assert!(
                user_data.len() < 64 * 1024,
                "{label} {which}: userData too large"
            );
            // CreateProcess takes at most 32,767 characters.
            assert!(
                command.chars().count() < 32_767,
                "{label} {which}: command of {} characters",
                command.len()
            );
        }
    }
}

/// The ready step in both files: the lab's rendered waiting script inline, run synchronously
/// after the CustomScriptExtension (an explicit dependency, so it never starts before the
/// provisioning it waits for), with Azure's bound above the script's own and a non-zero exit
/// failing the deployment.
#[test]
fn both_files_end_with_the_ready_step_after_the_extension() {
    let env = wcigen::render::environment().unwrap();
    for lab in all_labs() {
        let label = &lab.label;
        let script = wcigen::render::ready_script(&env, &lab.view).unwrap();
        assert!(
            script.contains("$WaitMinutes = 60\n"),
            "{label}: the stated bound"
        );
        // source.script is sent inline: keep it far below any request limit.
        assert!(
            script.len() < 8 * 1024,
            "{label}: ready script is {} bytes",
            script.len()
        );
        let arm = lab.json(ARM);
        let model = compile_bicep(label, lab.text(BICEP));
        for (which, resources) in [
            ("arm", arm["resources"].as_array().unwrap().clone()),
            ("bicep", model.resources.clone()),
        ] {
            let found: Vec<&Value> = resources
                .iter()
                .filter(|r| r["type"] == "Microsoft.Compute/virtualMachines/runCommands")
                .collect();
            assert_eq!(found.len(), 1, "{label} {which}: one run command");
            let ready = found[0];
            // A class's VM name is its student's: the one copy per student of the loop.
            let vm_name = if lab.view.class.is_some() {
                "variables('students')[copyIndex()].vmName"
            } else {
                "variables('vmName')"
            };
            assert_eq!(
                ready["name"],
                json!(format!(
                    "[format('{{0}}/{{1}}', {vm_name}, variables('readyName'))]"
                )),
                "{label} {which}"
            );
            assert_eq!(
                ready["properties"],
                json!({
                    "source": { "script": script },
                    "asyncExecution": false,
                    "timeoutInSeconds": wcigen::view::READY_TIMEOUT_MINUTES * 60,
                    "treatFailureAsDeploymentFailure": true,
                }),
                "{label} {which}: ready step properties"
            );
            let vm = json!(format!(
                "[resourceId('Microsoft.Compute/virtualMachines', {vm_name})]"
            ));
            if lab.view.vm.baked {
                // The baked VM is ready at first boot: the ready step needs only the VM.
                assert_eq!(ready["dependsOn"], json!([vm]), "{label} {which}");
                assert!(script.contains("$Baked = $true\n"), "{label}");
                continue;
            }
            assert!(script.contains("$Baked = $false\n"), "{label}");
            assert_eq!(
                ready["dependsOn"],
                json!([
                    format!("[resourceId('Microsoft.Compute/virtualMachines/extensions', {vm_name}, variables('extensionName'))]"),
                    vm
                ]),
                "{label} {which}: the ready step waits for the extension"
            );
            // The resource after the extension in the file, too.
            let position = |ty: &str| resources.iter().position(|r| r["type"] == ty).unwrap();
            assert!(
                position("Microsoft.Compute/virtualMachines/runCommands")
                    > position("Microsoft.Compute/virtualMachines/extensions"),
                "{label} {which}"
            );
        }
        assert_eq!(
            arm["variables"]["readyName"],
            json!("wcigen-ready"),
            "{label}"
        );
    }
}

#[test]
fn no_password_can_be_written() {
    for lab in all_labs() {
        let label = &lab.label;
        let arm = lab.json(ARM);
        let secure: Vec<(&String, &Value)> = arm["parameters"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, p)| {
                p["type"].as_str().is_some_and(|t| {
                    t.eq_ignore_ascii_case("securestring") || t.eq_ignore_ascii_case("secureobject")
                })
            })
            .collect();
        assert_eq!(
            secure.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["adminPassword"],
            "{label}"
        );
        for (name, p) in &secure {
            assert!(
                p.get("defaultValue").is_none(),
                "{label}: {name} has a default"
            );
        }
        assert_eq!(
            arm["parameters"]["adminPassword"]["minLength"], 12,
            "{label}"
        );
        // adminPassword is only ever a parameter reference, set on the OS profile.
        let text = lab.text(ARM);
        assert_eq!(
            text.matches("adminPassword").count(),
            3,
            "{label}: the declaration and one use"
        );
        assert!(
            text.contains("\"adminPassword\": \"[parameters('adminPassword')]\""),
            "{label}"
        );
        let outputs = serde_json::to_string(&arm["outputs"]).unwrap();
        assert!(
            !outputs.contains("adminPassword"),
            "{label}: an output references the password"
        );
        // Bicep: declared @secure() without a default, used once.
        let bicep = lab.text(BICEP);
        assert!(
            bicep.contains(
                "@secure()\n@minLength(12)\n@maxLength(123)\nparam adminPassword string\n"
            ),
            "{label}"
        );
        assert_eq!(
            bicep.matches("adminPassword").count(),
            3,
            "{label}: the declaration and one use"
        );
        assert!(
            bicep.contains("      adminPassword: adminPassword\n"),
            "{label}"
        );
        // Parameter files never name it.
        for params in [BICEP_PARAMS, ARM_PARAMS] {
            assert!(
                !lab.text(params).to_lowercase().contains("password"),
                "{label}: {params} names a password"
            );
        }
    }
}

#[test]
fn parameter_files_set_only_non_secret_parameters_at_the_lab_values() {
    for lab in all_labs() {
        let label = &lab.label;
        assert_eq!(
            lab.text(BICEP_PARAMS),
            lab.text(ARM_PARAMS),
            "{label}: the two parameter files differ"
        );
        let params = lab.json(ARM_PARAMS);
        assert_eq!(
            params["$schema"],
            json!(
                "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
            )
        );
        assert_eq!(params["contentVersion"], json!("1.0.0.0"));
        let v = &lab.view;
        let mut expected = json!({
            "location": { "value": v.azure.location },
            "vmSize": { "value": v.vm.size },
            "adminUsername": { "value": v.vm.admin_username },
        });
        // A baked image id given in the lab is a value too; one left out is asked for.
        if let Some(id) = v.vm.baked_image.as_ref().and_then(|b| b.id.as_ref()) {
            expected["bakedImageId"] = json!({ "value": id });
        }
        assert_eq!(params["parameters"], expected, "{label}");
        // Every value names a template parameter and equals its default.
        let arm = lab.json(ARM);
        for (name, value) in params["parameters"].as_object().unwrap() {
            assert_eq!(
                arm["parameters"][name]["defaultValue"], value["value"],
                "{label}: {name}"
            );
        }
    }
}

#[test]
fn parameters_are_described_used_and_required_only_where_the_lab_is_silent() {
    for lab in all_labs() {
        let label = &lab.label;
        let arm = lab.json(ARM);
        let text = lab.text(ARM);
        let params = arm["parameters"].as_object().unwrap();
        for (name, p) in params {
            let description = p["metadata"]["description"].as_str().unwrap_or_default();
            assert!(
                description.len() > 20,
                "{label}: {name} has no useful description"
            );
            assert!(
                text.contains(&format!("parameters('{name}')")),
                "{label}: {name} is never used"
            );
            for bound in ["minValue", "maxValue"] {
                assert!(
                    p.get(bound).is_none_or(Value::is_i64),
                    "{label}: {name}.{bound} is a number"
                );
            }
        }
        let required: Vec<&str> = params
            .iter()
            .filter(|(_, p)| p.get("defaultValue").is_none())
            .map(|(n, _)| n.as_str())
            .collect();
        let v = &lab.view;
        let sources_parameter =
            v.network.allow_from_parameter && !v.network.inbound_ports.is_empty();
        let mut expected = vec!["adminPassword"];
        match &v.vm.baked_image {
            Some(baked) if baked.id.is_none() => {
                expected.push("bakedImageId");
                assert_eq!(params["bakedImageId"]["minLength"], 1, "{label}");
            }
            Some(baked) => assert_eq!(
                params["bakedImageId"]["defaultValue"],
                json!(baked.id),
                "{label}"
            ),
            None => assert!(!params.contains_key("bakedImageId"), "{label}"),
        }
        if sources_parameter {
            expected.push("allowedSourceAddresses");
            let p = &params["allowedSourceAddresses"];
            assert_eq!(p["type"], "array", "{label}");
            assert_eq!(p["minLength"], 1, "{label}");
        }
        assert_eq!(required, expected, "{label}");
        assert_eq!(
            params["location"]["defaultValue"],
            json!(v.azure.location),
            "{label}"
        );
        assert_eq!(
            params["vmSize"]["defaultValue"],
            json!(v.vm.size),
            "{label}"
        );
        assert_eq!(
            params["adminUsername"]["defaultValue"],
            json!(v.vm.admin_username),
            "{label}"
        );
    }
}

fn resources_of<'a>(arm: &'a Value, ty: &str) -> Vec<&'a Value> {
    arm["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == ty)
        .collect()
}

fn one<'a>(arm: &'a Value, ty: &str) -> &'a Value {
    let found = resources_of(arm, ty);
    assert_eq!(found.len(), 1, "one {ty}");
    found[0]
}

#[test]
fn arm_states_the_lab() {
    for lab in one_vm_labs()
        .into_iter()
        .filter(|l| l.view.network.public_ip)
    {
        let label = &lab.label;
        let v = &lab.view;
        let arm = lab.json(ARM);
        let vars = &arm["variables"];

        // Names, all through variables.
        for (var, expected) in [
            ("vnetName", &v.names.vnet),
            ("subnetName", &v.names.subnet),
            ("nsgName", &v.names.nsg),
            ("publicIpName", &v.names.public_ip),
            ("nicName", &v.names.nic),
            ("vmName", &v.vm.name),
            ("computerName", &v.vm.computer_name),
            ("osDiskName", &v.names.os_disk),
        ] {
            assert_eq!(vars[var], arm_literal(expected), "{label}: {var}");
        }
        if v.vm.baked {
            assert!(vars.get("extensionName").is_none(), "{label}: no extension");
        } else {
            assert_eq!(
                vars["extensionName"],
                arm_literal(&v.names.extension),
                "{label}: extensionName"
            );
        }

        // Tags on every resource, location only through the parameter. A key ARM reads as a
        // keyword (`copy`, any case: a copy loop once its value is an array, Azure/bicep#7241)
        // is written as the compiler writes it, an expression that yields the literal key.
        let tags: Map<String, Value> = v
            .lab
            .tags
            .iter()
            .map(|t| {
                let key = if t.key.eq_ignore_ascii_case("copy") {
                    format!("[string('{}')]", t.key)
                } else {
                    arm_literal(&t.key).as_str().unwrap().to_string()
                };
                (key, arm_literal(&t.value))
            })
            .collect();
        assert_eq!(vars["tags"], Value::Object(tags), "{label}: tags");
        for r in arm["resources"].as_array().unwrap() {
            assert_eq!(
                r["tags"], "[variables('tags')]",
                "{label}: {} has the lab tags",
                r["type"]
            );
            assert_eq!(
                r["location"], "[parameters('location')]",
                "{label}: {} location",
                r["type"]
            );
        }

        // Network.
        let vnet = one(&arm, "Microsoft.Network/virtualNetworks");
        assert_eq!(
            vnet["properties"]["addressSpace"]["addressPrefixes"],
            json!([v.network.address_space])
        );
        let subnets = vnet["properties"]["subnets"].as_array().unwrap();
        assert_eq!(subnets.len(), 1, "{label}");
        assert_eq!(
            subnets[0]["properties"]["addressPrefix"],
            json!(v.network.subnet_prefix)
        );
        assert_eq!(
            subnets[0]["properties"]["networkSecurityGroup"]["id"],
            "[resourceId('Microsoft.Network/networkSecurityGroups', variables('nsgName'))]",
            "{label}: the NSG guards the subnet"
        );
        let pip = one(&arm, "Microsoft.Network/publicIPAddresses");
        assert_eq!(pip["sku"]["name"], "Standard", "{label}");
        assert_eq!(
            pip["properties"]["publicIPAllocationMethod"], "Static",
            "{label}"
        );

        // NSG rules: exactly the lab's inbound ports, from the lab's sources or the parameter.
        let nsg = one(&arm, "Microsoft.Network/networkSecurityGroups");
        // No inbound port: no rule list at all (arm-ttk rejects empty arrays).
        let no_rules = Vec::new();
        let rules = nsg["properties"]
            .get("securityRules")
            .map_or(&no_rules, |r| r.as_array().unwrap());
        assert_eq!(
            nsg["properties"].get("securityRules").is_none(),
            v.network.inbound_ports.is_empty(),
            "{label}"
        );
        assert_eq!(
            rules.len(),
            v.network.inbound_ports.len(),
            "{label}: one rule per inbound port"
        );
        for (rule, port) in rules.iter().zip(&v.network.inbound_ports) {
            let p = &rule["properties"];
            assert_eq!(rule["name"], json!(port.rule_name), "{label}");
            assert_eq!(p["priority"], json!(port.priority), "{label}");
            assert_eq!(
                p["destinationPortRange"],
                json!(port.port.to_string()),
                "{label}"
            );
            assert_eq!(p["description"], json!(port.description), "{label}");
            assert_eq!(
                (&p["direction"], &p["access"], &p["protocol"]),
                (&json!("Inbound"), &json!("Allow"), &json!("Tcp"))
            );
            assert_eq!(
                (&p["sourcePortRange"], &p["destinationAddressPrefix"]),
                (&json!("*"), &json!("*"))
            );
            let sources = &v.network.allow_from;
            if v.network.allow_from_parameter {
                // A lone source (`*` included: Azure takes it only there) goes into the
                // singular field, several into the plural one, as in Terraform; `*` with others
                // stops the deployment with fail() (engine_bicep evaluates all three).
                assert_eq!(
                    p["sourceAddressPrefix"], "[variables('singleSource')]",
                    "{label}"
                );
                assert_eq!(
                    p["sourceAddressPrefixes"],
                    "[if(equals(length(parameters('allowedSourceAddresses')), 1), createArray(), parameters('allowedSourceAddresses'))]",
                    "{label}"
                );
                assert_eq!(
                    arm["variables"]["singleSource"],
                    format!("[if(equals(length(parameters('allowedSourceAddresses')), 1), parameters('allowedSourceAddresses')[0], if(contains(parameters('allowedSourceAddresses'), '*'), fail('{STAR_MIXED}'), null()))]"),
                    "{label}"
                );
            } else if sources.len() == 1 {
                assert_eq!(p["sourceAddressPrefix"], json!(sources[0]), "{label}");
                assert!(p.get("sourceAddressPrefixes").is_none());
            } else {
                assert_eq!(p["sourceAddressPrefixes"], json!(sources), "{label}");
                assert!(p.get("sourceAddressPrefix").is_none());
            }
        }
        if !v.network.allow_from.iter().any(|s| s == "*") {
            assert!(
                !serde_json::to_string(nsg).unwrap().contains("\"*\"]"),
                "{label}: no source is *"
            );
            for rule in rules {
                assert_ne!(
                    rule["properties"]["sourceAddressPrefix"], "*",
                    "{label}: * only when the lab wrote it"
                );
            }
        }

        // The VM.
        let vm = one(&arm, "Microsoft.Compute/virtualMachines");
        let props = &vm["properties"];
        assert_eq!(props["hardwareProfile"]["vmSize"], "[parameters('vmSize')]");
        assert_eq!(
            props["osProfile"]["computerName"],
            "[variables('computerName')]"
        );
        assert_eq!(
            props["osProfile"]["adminUsername"],
            "[parameters('adminUsername')]"
        );
        let image = &props["storageProfile"]["imageReference"];
        if v.vm.baked {
            assert_eq!(
                image,
                &json!({ "id": "[parameters('bakedImageId')]" }),
                "{label}"
            );
        } else {
            assert_eq!(
                image,
                &json!({ "publisher": v.vm.image.publisher, "offer": v.vm.image.offer, "sku": v.vm.image.sku, "version": v.vm.image.version })
            );
        }
        let os_disk = &props["storageProfile"]["osDisk"];
        assert_eq!(os_disk["createOption"], "FromImage");
        assert_eq!(
            os_disk["diskSizeGB"],
            json!(v.vm.os_disk.size_gb),
            "{label}"
        );
        assert_eq!(
            os_disk["managedDisk"]["storageAccountType"],
            json!(v.vm.os_disk.storage_account_type),
            "{label}"
        );
        let compute_version = vm["apiVersion"].as_str().unwrap();
        if v.vm.trusted_launch {
            assert_eq!(
                props["securityProfile"],
                json!({ "securityType": "TrustedLaunch", "uefiSettings": { "secureBootEnabled": true, "vTpmEnabled": true } }),
                "{label}"
            );
        } else if compute_version >= "2025-11-01" {
            // `Standard` is a documented value from 2025-11-01: say it, so no default can win.
            assert_eq!(
                props["securityProfile"],
                json!({ "securityType": "Standard" }),
                "{label}"
            );
        } else {
            // Before 2025-11-01 `Standard` is not documented: a Standard VM has no security profile.
            assert!(props.get("securityProfile").is_none(), "{label}");
        }

        // Auto-shutdown.
        let schedules = resources_of(&arm, "Microsoft.DevTestLab/schedules");
        if v.auto_shutdown.enabled {
            assert_eq!(schedules.len(), 1, "{label}");
            let s = schedules[0];
            assert_eq!(
                vars["shutdownScheduleName"],
                json!(v.names.shutdown_schedule),
                "{label}"
            );
            assert_eq!(
                v.names.shutdown_schedule,
                format!("shutdown-computevm-{}", v.vm.name)
            );
            let mut expected = json!({
                "status": "Enabled",
                "taskType": "ComputeVmShutdownTask",
                "dailyRecurrence": { "time": v.auto_shutdown.time_hhmm },
                "timeZoneId": v.auto_shutdown.time_zone,
                "targetResourceId": "[resourceId('Microsoft.Compute/virtualMachines', variables('vmName'))]",
                "notificationSettings": { "status": "Disabled" },
            });
            if let Some(email) = &v.auto_shutdown.notification_email {
                expected["notificationSettings"] =
                    json!({ "status": "Enabled", "timeInMinutes": 30, "emailRecipient": email });
            }
            assert_eq!(s["properties"], expected, "{label}");
            assert_eq!(
                s["dependsOn"],
                json!(["[resourceId('Microsoft.Compute/virtualMachines', variables('vmName'))]"])
            );
        } else {
            assert!(
                schedules.is_empty(),
                "{label}: no schedule when auto-shutdown is off"
            );
            assert!(vars.get("shutdownScheduleName").is_none(), "{label}");
        }

        // Outputs: the address and one command per open remote-access port, nothing secret.
        let outputs: BTreeSet<&str> = arm["outputs"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = BTreeSet::from(["publicIpAddress"]);
        for (open, name) in [
            (v.network.rdp, "rdpCommand"),
            (v.network.ssh, "sshCommand"),
            (v.network.winrm_https, "winrmCommand"),
        ] {
            if open {
                expected.insert(name);
            }
        }
        assert_eq!(outputs, expected, "{label}");
        for output in arm["outputs"].as_object().unwrap().values() {
            assert_eq!(output["type"], "string");
        }
    }
}

#[test]
fn conformance_api_versions_come_from_one_pinned_table_and_exist_in_the_reference_data() {
    let reference_index = crate::common::conformance_reference().map(|dir| {
        let text = std::fs::read_to_string(dir.join("bicep/index.subset.json")).unwrap();
        let index: Value = serde_json::from_str(&text).unwrap();
        index["resources"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.to_lowercase())
            .collect::<BTreeSet<String>>()
    });
    for lab in all_labs() {
        let label = &lab.label;
        let arm = lab.json(ARM);
        let mut by_provider: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in arm["resources"].as_array().unwrap() {
            let ty = r["type"].as_str().unwrap();
            let version = r["apiVersion"].as_str().unwrap();
            let known = KNOWN_API_VERSIONS
                .iter()
                .find(|(t, _)| *t == ty)
                .unwrap_or_else(|| panic!("{label}: unexpected type {ty}"));
            assert!(
                known.1.contains(&version),
                "{label}: {ty}@{version} is not in the reference data"
            );
            if let Some(index) = &reference_index {
                assert!(
                    index.contains(&format!("{ty}@{version}").to_lowercase()),
                    "{label}: {ty}@{version} missing from index.subset.json"
                );
            }
            let provider = ty.split('/').next().unwrap().to_string();
            by_provider
                .entry(provider)
                .or_default()
                .insert(version.to_string());
        }
        for (provider, versions) in &by_provider {
            assert_eq!(
                versions.len(),
                1,
                "{label}: {provider} uses one API version, not {versions:?}"
            );
        }
    }
}

#[test]
fn hostile_lab_text_round_trips_into_both_files() {
    let (label, text) = extra_lab("hostile-trusted-launch");
    let (label, text) = (label.as_str(), text.as_str());
    let view = LabView::new(&valid_lab_from_text(label, text));
    let files = render_text(label, text);
    let arm: Value = serde_json::from_str(file(&files, ARM).text()).unwrap();
    let model = compile_bicep(label, file(&files, BICEP).text());
    let description = view.lab.description.clone().unwrap();
    assert!(
        description.contains("${y}") && description.contains('\n'),
        "the fixture is hostile"
    );
    // ARM reads `[[` as a literal `[`; the compiled Bicep agrees.
    assert_eq!(arm["metadata"]["description"], arm_literal(&description));
    assert_eq!(model.metadata["description"], arm_literal(&description));
    for tag in &view.lab.tags {
        let key = arm_literal(&tag.key);
        assert_eq!(
            arm["variables"]["tags"][key.as_str().unwrap()],
            arm_literal(&tag.value),
            "tag {}",
            tag.key
        );
    }
    // No interpolation can start in the Bicep file: every `${` there is one wcigen wrote.
    let bicep = file(&files, BICEP).text();
    let interpolations = bicep.matches("${").count() - bicep.matches("\\${").count();
    assert_eq!(
        interpolations, 0,
        "nothing interpolates (the connect outputs quote the user name with format())"
    );
}

#[test]
fn arm_template_has_no_blank_values() {
    // arm-ttk "Template Should Not Contain Blanks": no empty string, array or object, except an
    // empty `properties` (an NSG without rules) and the lab's tags when it has none.
    let blank = |v: &Value| {
        matches!(v, Value::String(s) if s.is_empty()) || v == &json!([]) || v == &json!({})
    };
    fn walk(path: &str, v: &Value, blank: &dyn Fn(&Value) -> bool, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let p = format!("{path}.{k}");
                    if blank(child) && k != "properties" && p != "$.variables.tags" {
                        out.push(p.clone());
                    }
                    walk(&p, child, blank, out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(&format!("{path}[{i}]"), child, blank, out);
                }
            }
            Value::Null => out.push(format!("{path} (null)")),
            _ => {}
        }
    }
    for lab in all_labs() {
        let mut found = Vec::new();
        walk("$", &lab.json(ARM), &blank, &mut found);
        assert!(found.is_empty(), "{}: blank values at {found:?}", lab.label);
    }
}

/// The Windows Custom Script Extension runs `commandToExecute` through `cmd.exe` (its
/// documentation redirects output with `>>` and warns about `cmd.exe` AutoRun), and `cmd.exe`
/// refuses command lines over 8,191 characters: the script travels as `userData` instead.
#[test]
fn command_to_execute_fits_a_cmd_exe_line() {
    for lab in all_labs().into_iter().filter(|l| !l.view.vm.baked) {
        let arm = lab.json(ARM);
        let resources = arm["resources"].as_array().unwrap();
        let command = extension(resources)["properties"]["protectedSettings"]["commandToExecute"]
            .as_str()
            .unwrap();
        assert!(
            command.chars().count() <= 8_191,
            "{}: {} characters",
            lab.label,
            command.chars().count()
        );
    }
}

/// The offline conformance checkers (`conformance::arm`, `conformance::bicep`) on every lab here,
/// including the extra ones; on with `WCIGEN_CONFORMANCE=1`. Warnings are printed (stale closed
/// enums of the ARM schemas), errors fail.
#[test]
fn conformance_every_lab_matches_the_reference_schemas_and_types() {
    let Some(reference) = crate::common::conformance_reference() else {
        return;
    };
    let mut errors = Vec::new();
    for lab in all_labs() {
        let arm = crate::conformance::arm::check_arm_template(&reference, &lab.json(ARM));
        let bicep = crate::conformance::bicep::check_bicep(&reference, lab.text(BICEP));
        for (which, findings) in [(ARM, arm), (BICEP, bicep)] {
            for finding in findings {
                eprintln!("{} {which}: {finding}", lab.label);
                if finding.is_error() {
                    errors.push(format!("{} {which}: {finding}", lab.label));
                }
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // The checkers do look: a misspelled property is an error in both files.
    let lab = &all_labs()[0];
    let typo = |text: &str| text.replace("publicIPAllocationMethod", "publicIpAllocationMetod");
    let arm: Value = serde_json::from_str(&typo(lab.text(ARM))).unwrap();
    assert!(
        crate::conformance::arm::check_arm_template(&reference, &arm)
            .iter()
            .any(|f| f.is_error())
    );
    assert!(
        crate::conformance::bicep::check_bicep(&reference, &typo(lab.text(BICEP)))
            .iter()
            .any(|f| f.is_error())
    );
}

// ---------------------------------------------------------------------------------------------
// A class: one copy per student (issue 16)

/// The ARM resources a class makes once per student, by type, and the copy loop's name.
const PER_STUDENT: [(&str, &str); 6] = [
    ("Microsoft.Network/publicIPAddresses", "publicIp"),
    ("Microsoft.Network/networkInterfaces", "nic"),
    ("Microsoft.Compute/virtualMachines", "vm"),
    ("Microsoft.Compute/virtualMachines/extensions", "provision"),
    ("Microsoft.Compute/virtualMachines/runCommands", "ready"),
    ("Microsoft.DevTestLab/schedules", "shutdownSchedule"),
];

fn class_lab(students: &str) -> String {
    let base = std::fs::read_to_string(crate::common::repo().join("examples/class.yaml")).unwrap();
    let (head, _) = base.split_once("\nclass:").unwrap();
    format!("{head}\nclass:\n  students: {students}\n")
}

#[test]
fn a_class_copies_each_students_resources_and_shares_the_network() {
    for (label, text, ids) in [
        (
            "class.yaml",
            std::fs::read_to_string(crate::common::repo().join("examples/class.yaml")).unwrap(),
            vec!["alice".to_string(), "bob".into(), "s03".into()],
        ),
        (
            "class of 12",
            class_lab("12"),
            (1..=12).map(|i| format!("{i:02}")).collect(),
        ),
    ] {
        let files = render_text(label, &text);
        let arm: Value = serde_json::from_str(file(&files, "arm/azuredeploy.json").text()).unwrap();
        let students = arm["variables"]["students"].as_array().unwrap();
        let got: Vec<String> = students
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, ids, "{label}: the students, in lab order");
        for s in students {
            let id = s["id"].as_str().unwrap();
            assert_eq!(s["vmName"], json!(format!("wci-{id}")), "{label}");
            assert_eq!(s["computerName"], json!(format!("wci-{id}")), "{label}");
            assert!(s["computerName"].as_str().unwrap().len() <= 15, "{label}");
            assert_eq!(s["nicName"], json!(format!("wci-{id}-nic")), "{label}");
            assert_eq!(s["publicIpName"], json!(format!("wci-{id}-pip")), "{label}");
            assert_eq!(
                s["osDiskName"],
                json!(format!("wci-{id}-osdisk")),
                "{label}"
            );
            assert_eq!(
                s["shutdownScheduleName"],
                json!(format!("shutdown-computevm-wci-{id}")),
                "{label}"
            );
        }
        let bicep = file(&files, "bicep/main.bicep").text();
        for r in arm["resources"].as_array().unwrap() {
            let ty = r["type"].as_str().unwrap();
            match PER_STUDENT.iter().find(|(t, _)| *t == ty) {
                Some((_, symbol)) => {
                    assert_eq!(
                        r["copy"],
                        json!({"name": symbol, "count": "[length(variables('students'))]"}),
                        "{label}: {ty} is one copy per student"
                    );
                    assert!(
                        r["name"]
                            .as_str()
                            .unwrap()
                            .contains("variables('students')[copyIndex()]"),
                        "{label}: {ty} is named after its student"
                    );
                    let declaration = bicep
                        .lines()
                        .find(|l| l.starts_with(&format!("resource {symbol} '{ty}@")))
                        .unwrap_or_else(|| panic!("{label}: no Bicep resource {symbol}"));
                    assert!(
                        declaration.ends_with("= [for (student, i) in students: {")
                            || declaration.ends_with("= [for student in students: {"),
                        "{label}: {symbol} is a Bicep loop: {declaration}"
                    );
                }
                None => assert!(r.get("copy").is_none(), "{label}: {ty} is shared"),
            }
            // Every student's VM carries the one script and the one (never written) password.
            if ty == "Microsoft.Compute/virtualMachines" {
                assert_eq!(
                    r["properties"]["osProfile"]["adminPassword"],
                    json!("[parameters('adminPassword')]"),
                    "{label}"
                );
            }
        }
        let types: Vec<&str> = arm["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["type"].as_str().unwrap())
            .collect();
        for (ty, _) in PER_STUDENT {
            assert_eq!(
                types.iter().filter(|t| **t == ty).count(),
                1,
                "{label}: {ty}"
            );
        }
        for shared in [
            "Microsoft.Network/virtualNetworks",
            "Microsoft.Network/networkSecurityGroups",
        ] {
            assert_eq!(types.iter().filter(|t| **t == shared).count(), 1, "{label}");
        }
        // The ready step of a student waits for that student's extension.
        let ready = resources_of(&arm, "Microsoft.Compute/virtualMachines/runCommands")[0];
        assert!(
            ready["dependsOn"].as_array().unwrap().contains(&json!(
                "[resourceId('Microsoft.Compute/virtualMachines/extensions', variables('students')[copyIndex()].vmName, variables('extensionName'))]"
            )),
            "{label}: {ready}"
        );
        // The connect list: one output, one entry per student.
        let out = &arm["outputs"]["students"];
        assert_eq!(out["type"], json!("array"), "{label}");
        assert_eq!(
            out["copy"]["count"],
            json!("[length(variables('students'))]"),
            "{label}"
        );
        assert!(out["copy"]["input"]["rdpCommand"].is_string(), "{label}");
        assert!(arm["outputs"].get("publicIpAddress").is_none(), "{label}");
        assert!(
            bicep.contains("output students array = [for (student, i) in students: {"),
            "{label}"
        );
        // A student's own sources: a rule per port to that student's fixed private address.
        let rules = one(&arm, "Microsoft.Network/networkSecurityGroups")["properties"]
            ["securityRules"]
            .as_array()
            .unwrap()
            .clone();
        let own: Vec<&Value> = rules
            .iter()
            .filter(|r| r["name"].as_str().unwrap().ends_with("-bob"))
            .collect();
        let nic = resources_of(&arm, "Microsoft.Network/networkInterfaces")[0];
        let allocation = &nic["properties"]["ipConfigurations"][0]["properties"];
        if label == "class.yaml" {
            assert_eq!(own.len(), 2, "{label}: rdp and ssh for bob");
            for r in own {
                assert_eq!(
                    r["properties"]["sourceAddressPrefix"],
                    json!("203.0.113.7/32")
                );
                assert_eq!(
                    r["properties"]["destinationAddressPrefix"],
                    json!("10.20.0.5")
                );
                assert!(r["properties"]["priority"].as_u64().unwrap() >= 2000);
            }
            assert_eq!(students[1]["privateIp"], json!("10.20.0.5"), "{label}");
            assert_eq!(allocation["privateIPAllocationMethod"], json!("Static"));
            assert_eq!(
                allocation["privateIPAddress"],
                json!("[variables('students')[copyIndex()].privateIp]")
            );
        } else {
            assert!(own.is_empty(), "{label}");
            assert_eq!(allocation["privateIPAllocationMethod"], json!("Dynamic"));
        }
    }
}

/// Bastion in ARM (and, through the compiler above, Bicep): the host with its SKU, no public IP
/// on the VMs, every NSG rule open only to Bastion's source.
#[test]
fn bastion_labs_have_no_vm_public_ip_in_arm() {
    let cases = [
        (
            "bastion".to_string(),
            std::fs::read_to_string(crate::common::repo().join("examples/bastion.yaml")).unwrap(),
        ),
        extra_lab("class-bastion-basic"),
    ];
    for (label, text) in cases {
        let files = render_text(&label, &text);
        let arm: Value = serde_json::from_str(file(&files, ARM).text()).unwrap();
        let basic = label.contains("basic");
        let host = one(&arm, "Microsoft.Network/bastionHosts");
        assert_eq!(
            host["sku"]["name"],
            json!(if basic { "Basic" } else { "Developer" }),
            "{label}"
        );
        let ips = resources_of(&arm, "Microsoft.Network/publicIPAddresses");
        if basic {
            assert_eq!(ips.len(), 1, "{label}: only the host's public IP");
            assert_eq!(ips[0]["name"], json!("[variables('bastionPublicIpName')]"));
            let subnets = &one(&arm, "Microsoft.Network/virtualNetworks")["properties"]["subnets"];
            assert_eq!(subnets[1]["name"], json!("AzureBastionSubnet"), "{label}");
            assert_eq!(
                subnets[1]["properties"]["addressPrefix"],
                json!("10.20.1.0/26"),
                "{label}: /26, the smallest Bastion subnet"
            );
        } else {
            assert!(ips.is_empty(), "{label}: no public IP at all");
            assert_eq!(
                host["properties"]["virtualNetwork"]["id"],
                json!("[resourceId('Microsoft.Network/virtualNetworks', variables('vnetName'))]"),
                "{label}"
            );
        }
        let nic = one(&arm, "Microsoft.Network/networkInterfaces");
        assert!(
            nic["properties"]["ipConfigurations"][0]["properties"]
                .get("publicIPAddress")
                .is_none(),
            "{label}"
        );
        let source = if basic {
            "10.20.1.0/26"
        } else {
            "168.63.129.16"
        };
        let nsg = one(&arm, "Microsoft.Network/networkSecurityGroups");
        for rule in nsg["properties"]["securityRules"].as_array().unwrap() {
            assert_eq!(
                rule["properties"]["sourceAddressPrefix"],
                json!(source),
                "{label}"
            );
        }
        assert!(
            arm["parameters"].get("allowedSourceAddresses").is_none(),
            "{label}"
        );
        assert_eq!(
            arm["outputs"]["bastionName"]["value"],
            json!("[variables('bastionName')]"),
            "{label}"
        );
        let readme = file(&files, "README.md").text();
        assert!(readme.contains("Connect > Bastion"), "{label}");
        assert!(
            readme.contains("the Standard or Premium SKU"),
            "{label}: the README says why az network bastion rdp does not apply"
        );
    }
}
