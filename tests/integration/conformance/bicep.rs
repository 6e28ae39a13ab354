//! Offline checker for generated Bicep files: syntax via tree-sitter-bicep, resource bodies
//! via the Bicep type definitions of bicep-types-az.
//!
//! Why: the Bicep CLI and its linter cannot be installed on the build machines, so a
//! generated `.bicep` file is checked here with the data in `shared/reference/bicep/`
//! (procedure in its `NOTES.md` and section 2 of `shared/reference/README.md`):
//!
//! 1. **Syntax.** The file is parsed with tree-sitter-bicep; every `ERROR` or `MISSING`
//!    node is an error finding at its `line:column` (unclosed braces, strings, `${`, ...).
//! 2. **Resource bodies.** For every `resource sym 'Type@apiVersion' = {...}` — also the
//!    bodies of `= if (cond) {...}`, `= [for ...: {...}]`, and nested `resource`
//!    declarations, whose type is relative to the parent and whose apiVersion defaults to
//!    the parent's — the type is looked up case-insensitively in `index.subset.json`; a
//!    type/apiVersion that is not there is an error. Otherwise the body is checked against
//!    the `ResourceType`'s body type, recursively:
//!    * property names: objects are closed unless they have `additionalProperties`;
//!      `DiscriminatedObjectType`s allow their base properties plus the element chosen
//!      by the (literal) discriminator value; `ReadOnly` properties (flag 2) may not be
//!      written; the resource-level meta properties `parent`, `scope` and `dependsOn`
//!      are always allowed;
//!    * required properties (flag 1 and not ReadOnly) must be present;
//!    * literal values (strings without interpolation, integers, booleans, objects,
//!      arrays, `[for ...]` bodies) must fit `StringType` (length limits), `IntegerType`
//!      (value limits), `BooleanType`, `ObjectType`, `ArrayType`, `StringLiteralType` and
//!      string-literal `UnionType`s. A union with a `StringType` member is an open enum
//!      (any string is accepted); without one it is closed and a miss is an error.
//!    * Non-literal expressions (identifiers, function calls, interpolated strings,
//!      ternaries, property access, operators, ...) may stand for any value and are not
//!      checked; `null` is accepted for any property (it means "not set").
//!    * For `existing` resources only property names are checked.
//!    * A resource whose type cannot be deployed at the file's `targetScope`
//!      (`writableScopes`) and that has no `scope:` is an error.
//!
//! Findings are sorted by position; `path` is `line:column` (1-based, columns count
//! characters) and the message names the resource and the property path.

use super::{load_cached, read_json, sort_findings, unknown_property_message, Finding, LoadCache};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::OnceLock;
use tree_sitter::{Node, Parser};

/// Property flags of bicep-types (`ObjectTypePropertyFlags`).
const FLAG_REQUIRED: u64 = 1;
const FLAG_READ_ONLY: u64 = 2;
/// Members Bicep allows on every resource body besides the type's own properties.
const RESOURCE_META_PROPERTIES: [&str; 3] = ["parent", "scope", "dependsOn"];

/// Checks Bicep `source` against the type data under `shared_reference_dir` (the
/// directory holding `bicep/index.subset.json`). The loaded data is cached per
/// directory for the whole process. Findings are sorted.
pub fn check_bicep(shared_reference_dir: &Path, source: &str) -> Vec<Finding> {
    static CACHE: LoadCache<BicepChecker> = OnceLock::new();
    match load_cached(&CACHE, shared_reference_dir, BicepChecker::load) {
        Ok(checker) => checker.check(source),
        Err(err) => vec![Finding::error(
            "1:1",
            format!("cannot load the Bicep type data: {err}"),
        )],
    }
}

/// A type node: element `index` of the `types.json` array number `file`.
#[derive(Clone, Copy, Debug)]
struct TypeRef {
    file: usize,
    index: usize,
}

/// The Bicep type data of `shared/reference/bicep/`. Load once, check often.
pub struct BicepChecker {
    /// Parsed `types.json` arrays.
    files: Vec<Vec<Value>>,
    /// Lower-cased `Type@apiVersion` -> the `ResourceType` node.
    index: HashMap<String, TypeRef>,
    /// Lower-cased type -> apiVersions present, for messages.
    versions: BTreeMap<String, Vec<String>>,
}

/// How strictly a body is checked.
#[derive(Clone, Copy)]
struct Mode {
    /// The object is a resource body (meta properties and nested resources allowed).
    resource_level: bool,
    /// Only property names are checked (`existing` resources).
    names_only: bool,
}

/// The resource being checked, for messages and nested declarations.
struct ResourceCx {
    label: String,
    full_type: String,
    api_version: String,
}

/// A literal value as far as the type check is concerned.
enum Literal<'t> {
    Str(String),
    Int(i64),
    Bool,
    Null,
    Object(Node<'t>),
    Array(Node<'t>),
    /// `[for x in xs: body]`.
    For(Option<Node<'t>>),
    /// Anything that is only known at deployment time.
    Expression,
}

impl Literal<'_> {
    fn describe(&self) -> &'static str {
        match self {
            Literal::Str(_) => "a string",
            Literal::Int(_) => "an integer",
            Literal::Bool => "a boolean",
            Literal::Null => "null",
            Literal::Object(_) => "an object",
            Literal::Array(_) | Literal::For(_) => "an array",
            Literal::Expression => "an expression",
        }
    }
}

/// Per-check state: the source (for positions and literals) and the findings.
struct Run<'s> {
    source: &'s str,
    target_scope: String,
    findings: Vec<Finding>,
}

impl Run<'_> {
    fn position(&self, node: Node<'_>) -> String {
        let point = node.start_position();
        let line_start = node.start_byte() - point.column;
        let column = self
            .source
            .get(line_start..node.start_byte())
            .map_or(point.column, |prefix| prefix.chars().count());
        format!("{}:{}", point.row + 1, column + 1)
    }

    fn text(&self, node: Node<'_>) -> &str {
        self.source.get(node.byte_range()).unwrap_or_default()
    }

    fn error(&mut self, node: Node<'_>, message: String) {
        let path = self.position(node);
        self.findings.push(Finding::error(path, message));
    }
}

impl BicepChecker {
    /// Loads `<reference_dir>/bicep/index.subset.json` and the `types.json` files it names.
    pub fn load(reference_dir: &Path) -> Result<Self, String> {
        let bicep_dir = reference_dir.join("bicep");
        let index_path = bicep_dir.join("index.subset.json");
        let index_doc = read_json(&index_path)?;
        let resources = index_doc
            .get("resources")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{}: no \"resources\" object", index_path.display()))?;

        let mut file_ids: HashMap<String, usize> = HashMap::new();
        let mut files = Vec::new();
        let mut index = HashMap::new();
        let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, entry) in resources {
            let reference = entry
                .get("$ref")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{}: entry {key} has no \"$ref\"", index_path.display()))?;
            let (file, pointer) = reference
                .split_once("#/")
                .ok_or_else(|| format!("{}: bad reference {reference}", index_path.display()))?;
            let position: usize = pointer
                .parse()
                .map_err(|_| format!("{}: bad reference {reference}", index_path.display()))?;
            let file_id = match file_ids.get(file) {
                Some(id) => *id,
                None => {
                    let path = bicep_dir.join(file);
                    let nodes = match read_json(&path)? {
                        Value::Array(nodes) => nodes,
                        _ => return Err(format!("{}: not a JSON array", path.display())),
                    };
                    files.push(nodes);
                    file_ids.insert(file.to_string(), files.len() - 1);
                    files.len() - 1
                }
            };
            if files[file_id].get(position).is_none() {
                return Err(format!(
                    "{}: {reference} is out of range",
                    index_path.display()
                ));
            }
            index.insert(
                key.to_ascii_lowercase(),
                TypeRef {
                    file: file_id,
                    index: position,
                },
            );
            if let Some((rtype, version)) = key.rsplit_once('@') {
                versions
                    .entry(rtype.to_ascii_lowercase())
                    .or_default()
                    .push(version.to_string());
            }
        }
        for list in versions.values_mut() {
            list.sort();
        }
        Ok(BicepChecker {
            files,
            index,
            versions,
        })
    }

    /// Checks one Bicep file; findings are sorted by position.
    pub fn check(&self, source: &str) -> Vec<Finding> {
        let mut run = Run {
            source,
            target_scope: "resourceGroup".to_string(),
            findings: Vec::new(),
        };
        let mut parser = Parser::new();
        if let Err(err) = parser.set_language(&tree_sitter_bicep::LANGUAGE.into()) {
            return vec![Finding::error(
                "1:1",
                format!("cannot load the Bicep grammar: {err}"),
            )];
        }
        let Some(tree) = parser.parse(source, None) else {
            return vec![Finding::error("1:1", "tree-sitter-bicep returned no tree")];
        };
        let root = tree.root_node();
        if root.has_error() {
            syntax_errors(root, &mut run);
        }
        let mut cursor = root.walk();
        for statement in root.named_children(&mut cursor) {
            if statement.kind() == "target_scope_assignment" {
                if let Some(Literal::Str(scope)) =
                    statement.named_child(0).map(|value| literal(value, &run))
                {
                    run.target_scope = scope;
                }
            }
        }
        // A declaration with a syntax error is not checked further: its tree is a guess.
        let mut cursor = root.walk();
        for statement in root.named_children(&mut cursor) {
            if statement.kind() == "resource_declaration" && !statement.has_error() {
                self.resource(statement, None, &mut run);
            }
        }
        let mut findings = run.findings;
        sort_findings(&mut findings);
        findings
    }

    fn node(&self, reference: TypeRef) -> &Value {
        &self.files[reference.file][reference.index]
    }

    /// Follows a `{"$ref": "#/N"}` of a node of file `from`.
    fn follow(&self, from: TypeRef, reference: Option<&Value>) -> Option<TypeRef> {
        let position = reference?
            .get("$ref")?
            .as_str()?
            .strip_prefix("#/")?
            .parse()
            .ok()?;
        self.files[from.file].get(position)?;
        Some(TypeRef {
            file: from.file,
            index: position,
        })
    }

    fn type_kind(&self, reference: TypeRef) -> &str {
        self.node(reference)
            .get("$type")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    fn resource(&self, decl: Node<'_>, parent: Option<&ResourceCx>, run: &mut Run<'_>) {
        let mut cursor = decl.walk();
        let children: Vec<Node<'_>> = decl.children(&mut cursor).collect();
        let symbol = children
            .iter()
            .find(|n| n.kind() == "identifier")
            .map_or_else(|| "?".to_string(), |n| run.text(*n).to_string());
        let Some(type_node) = children.iter().copied().find(|n| n.kind() == "string") else {
            return; // a syntax error was reported
        };
        let existing = children.iter().any(|n| n.kind() == "existing");
        let body = children.iter().rev().find_map(|n| resource_body(*n));

        let Literal::Str(type_text) = literal(type_node, run) else {
            run.error(
                type_node,
                format!("resource '{symbol}': the type must be a literal string"),
            );
            return;
        };
        let (rtype, version) = match type_text.rsplit_once('@') {
            Some((rtype, version)) => (rtype.to_string(), version.to_string()),
            None => match parent {
                Some(parent) => (type_text.clone(), parent.api_version.clone()),
                None => {
                    run.error(
                        type_node,
                        format!("resource '{symbol}': type '{type_text}' has no @apiVersion"),
                    );
                    return;
                }
            },
        };
        let full_type = match parent {
            Some(parent) if !rtype.split('/').next().is_some_and(|ns| ns.contains('.')) => {
                format!("{}/{rtype}", parent.full_type)
            }
            _ => rtype,
        };
        let cx = ResourceCx {
            label: format!("resource '{symbol}' ({full_type}@{version})"),
            full_type,
            api_version: version,
        };
        let key = format!("{}@{}", cx.full_type, cx.api_version).to_ascii_lowercase();
        let resource_type = self.index.get(&key).copied();
        match resource_type {
            None => {
                let known = self
                    .versions
                    .get(&cx.full_type.to_ascii_lowercase())
                    .map(|v| format!("known apiVersions: {}", v.join(", ")))
                    .unwrap_or_else(|| "type not in the reference data".to_string());
                run.error(
                    type_node,
                    format!(
                        "resource '{symbol}': no Bicep type data for {}@{} ({known})",
                        cx.full_type, cx.api_version
                    ),
                );
            }
            Some(resource_type) => {
                if let Some(body) = body {
                    if parent.is_none() && !existing {
                        self.check_scope(resource_type, body, &cx, run);
                    }
                    let body_type =
                        self.follow(resource_type, self.node(resource_type).get("body"));
                    if let Some(body_type) = body_type {
                        let mode = Mode {
                            resource_level: true,
                            names_only: existing,
                        };
                        self.object(body, body_type, "", mode, &cx, run);
                        return;
                    }
                }
            }
        }
        // Unknown type (or no body type): still visit nested resource declarations.
        if let Some(body) = body {
            let mut cursor = body.walk();
            for property in body.named_children(&mut cursor) {
                if let Some(nested) = property.named_child(0) {
                    if nested.kind() == "resource_declaration" {
                        self.resource(nested, Some(&cx), run);
                    }
                }
            }
        }
    }

    /// `writableScopes` against the file's `targetScope` (unless `scope:` is given).
    fn check_scope(
        &self,
        resource_type: TypeRef,
        body: Node<'_>,
        cx: &ResourceCx,
        run: &mut Run<'_>,
    ) {
        let bit = match run.target_scope.as_str() {
            "tenant" => 1,
            "managementGroup" => 2,
            "subscription" => 4,
            "resourceGroup" => 8,
            _ => return,
        };
        let Some(writable) = self
            .node(resource_type)
            .get("writableScopes")
            .and_then(Value::as_u64)
        else {
            return;
        };
        let mut cursor = body.walk();
        let has_scope = body.named_children(&mut cursor).any(|property| {
            property
                .named_child(0)
                .is_some_and(|key| property_name(key, run).as_deref() == Some("scope"))
        });
        if writable & bit == 0 && !has_scope {
            let scope = run.target_scope.clone();
            run.error(
                body,
                format!("{}: cannot be deployed at targetScope '{scope}'", cx.label),
            );
        }
    }

    /// Checks an object literal against an object-like type.
    fn object(
        &self,
        object: Node<'_>,
        ty: TypeRef,
        path: &str,
        mode: Mode,
        cx: &ResourceCx,
        run: &mut Run<'_>,
    ) {
        let node = self.node(ty);
        let empty = Map::new();
        let mut allowed: Vec<(&str, &Value)> = Vec::new();
        let mut additional = None;
        let mut discriminator = None;
        match self.type_kind(ty) {
            "ObjectType" => {
                let props = node
                    .get("properties")
                    .and_then(Value::as_object)
                    .unwrap_or(&empty);
                allowed.extend(props.iter().map(|(k, v)| (k.as_str(), v)));
                additional = self.follow(ty, node.get("additionalProperties"));
            }
            "DiscriminatedObjectType" => {
                let base = node
                    .get("baseProperties")
                    .and_then(Value::as_object)
                    .unwrap_or(&empty);
                allowed.extend(base.iter().map(|(k, v)| (k.as_str(), v)));
                let key = node
                    .get("discriminator")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let elements = node
                    .get("elements")
                    .and_then(Value::as_object)
                    .unwrap_or(&empty);
                let chosen = object_member(object, key, run).map(|value| literal(value, run));
                match chosen {
                    Some(Literal::Str(value)) => match elements.get(&value) {
                        Some(element) => {
                            if let Some(element) = self.follow(ty, Some(element)) {
                                let props = self
                                    .node(element)
                                    .get("properties")
                                    .and_then(Value::as_object)
                                    .unwrap_or(&empty);
                                allowed.extend(props.iter().map(|(k, v)| (k.as_str(), v)));
                            }
                        }
                        None => {
                            let mut names: Vec<&str> =
                                elements.keys().map(String::as_str).collect();
                            names.sort_unstable();
                            if let Some(value_node) = object_member(object, key, run) {
                                run.error(
                                    value_node,
                                    format!(
                                        "{}: {}: '{value}' is not a known {key} (expected one of: {})",
                                        cx.label,
                                        join_path(path, key),
                                        names.join(", ")
                                    ),
                                );
                            }
                            return;
                        }
                    },
                    // Not a literal: allow the properties of every element.
                    _ => {
                        for element in elements.values() {
                            if let Some(element) = self.follow(ty, Some(element)) {
                                let props = self
                                    .node(element)
                                    .get("properties")
                                    .and_then(Value::as_object)
                                    .unwrap_or(&empty);
                                allowed.extend(props.iter().map(|(k, v)| (k.as_str(), v)));
                            }
                        }
                    }
                }
                discriminator = Some(key);
            }
            "AnyType" => return,
            other => {
                run.error(
                    object,
                    format!(
                        "{}: {}: expected {}, got an object",
                        cx.label,
                        display_path(path),
                        self.describe_type(ty, other)
                    ),
                );
                return;
            }
        }
        let declared: HashMap<&str, &Value> = allowed.iter().copied().collect();

        let mut seen: HashSet<String> = HashSet::new();
        let mut cursor = object.walk();
        for property in object.named_children(&mut cursor) {
            if property.kind() != "object_property" {
                continue; // comments
            }
            let Some(key_node) = property.named_child(0) else {
                continue;
            };
            if key_node.kind() == "resource_declaration" {
                if mode.resource_level {
                    self.resource(key_node, Some(cx), run);
                } else {
                    run.error(
                        key_node,
                        format!(
                            "{}: a nested resource must be declared in a resource body",
                            cx.label
                        ),
                    );
                }
                continue;
            }
            let Some(name) = property_name(key_node, run) else {
                continue; // interpolated key: cannot be checked
            };
            let value = property.named_child(1);
            let at = join_path(path, &name);
            if !seen.insert(name.clone()) {
                run.error(key_node, format!("{}: {at}: duplicate property", cx.label));
                continue;
            }
            match declared.get(name.as_str()) {
                Some(spec) => {
                    let flags = spec.get("flags").and_then(Value::as_u64).unwrap_or(0);
                    if flags & FLAG_READ_ONLY != 0 {
                        run.error(
                            key_node,
                            format!("{}: {at}: read-only property cannot be set", cx.label),
                        );
                    } else if let (Some(value), Some(value_type)) =
                        (value, self.follow(ty, spec.get("type")))
                    {
                        self.value(value, value_type, &at, mode, cx, run);
                    }
                }
                None if mode.resource_level
                    && RESOURCE_META_PROPERTIES.contains(&name.as_str()) => {}
                None => match (additional, value) {
                    (Some(value_type), Some(value)) => {
                        self.value(value, value_type, &at, mode, cx, run);
                    }
                    (Some(_), None) => {}
                    (None, _) => {
                        let mut names: Vec<&str> = allowed
                            .iter()
                            .filter(|(_, spec)| {
                                spec.get("flags").and_then(Value::as_u64).unwrap_or(0)
                                    & FLAG_READ_ONLY
                                    == 0
                            })
                            .map(|(name, _)| *name)
                            .collect();
                        if mode.resource_level {
                            names.extend(RESOURCE_META_PROPERTIES);
                        }
                        names.sort_by_key(|n| n.to_ascii_lowercase());
                        names.dedup();
                        run.error(
                            key_node,
                            format!(
                                "{}: {at}: {}",
                                cx.label,
                                unknown_property_message(&name, &names)
                            ),
                        );
                    }
                },
            }
        }

        if mode.names_only {
            return;
        }
        let mut missing: Vec<&str> = allowed
            .iter()
            .filter(|(name, spec)| {
                let flags = spec.get("flags").and_then(Value::as_u64).unwrap_or(0);
                flags & FLAG_REQUIRED != 0 && flags & FLAG_READ_ONLY == 0 && !seen.contains(*name)
            })
            .map(|(name, _)| *name)
            .collect();
        if let Some(key) = discriminator {
            if !seen.contains(key) {
                missing.push(key);
            }
        }
        missing.sort_unstable();
        missing.dedup();
        for name in missing {
            run.error(
                object,
                format!(
                    "{}: {}: missing required property '{name}'",
                    cx.label,
                    display_path(path)
                ),
            );
        }
    }

    /// Checks one value against a type.
    fn value(
        &self,
        value: Node<'_>,
        ty: TypeRef,
        path: &str,
        mode: Mode,
        cx: &ResourceCx,
        run: &mut Run<'_>,
    ) {
        let value = unparenthesize(value);
        let lit = literal(value, run);
        let kind = self.type_kind(ty).to_string();
        let inner = Mode {
            resource_level: false,
            ..mode
        };
        match (&lit, kind.as_str()) {
            (Literal::Expression | Literal::Null, _) | (_, "AnyType") => {}
            (Literal::Object(object), "ObjectType" | "DiscriminatedObjectType") => {
                self.object(*object, ty, path, inner, cx, run);
            }
            (Literal::Array(array), "ArrayType") => {
                let item_type = self.follow(ty, self.node(ty).get("itemType"));
                let mut cursor = array.walk();
                let items: Vec<Node<'_>> = array
                    .named_children(&mut cursor)
                    .filter(|n| !is_comment(*n))
                    .collect();
                if !mode.names_only {
                    self.check_length(value, ty, items.len(), "items", path, cx, run);
                }
                if let Some(item_type) = item_type {
                    for (i, item) in items.into_iter().enumerate() {
                        self.value(item, item_type, &format!("{path}[{i}]"), inner, cx, run);
                    }
                }
            }
            (Literal::For(body), "ArrayType") => {
                let item_type = self.follow(ty, self.node(ty).get("itemType"));
                if let (Some(body), Some(item_type)) = (body, item_type) {
                    self.value(*body, item_type, &format!("{path}[*]"), inner, cx, run);
                }
            }
            _ if mode.names_only => {}
            (Literal::Str(text), "StringType") => {
                self.check_length(value, ty, text.chars().count(), "characters", path, cx, run);
            }
            (Literal::Str(text), "StringLiteralType") => {
                let expected = self
                    .node(ty)
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if text != expected {
                    run.error(
                        value,
                        format!(
                            "{}: {}: '{text}' is not '{expected}'",
                            cx.label,
                            display_path(path)
                        ),
                    );
                }
            }
            (Literal::Str(text), "UnionType") => {
                let (values, open) = self.union_strings(ty);
                if !open && !values.iter().any(|v| v == text) {
                    let hint = values
                        .iter()
                        .find(|v| v.eq_ignore_ascii_case(text))
                        .map(|v| format!(" (did you mean '{v}'?)"))
                        .unwrap_or_default();
                    run.error(
                        value,
                        format!(
                            "{}: {}: '{text}' is not an allowed value{hint}; expected one of: {}",
                            cx.label,
                            display_path(path),
                            quoted(&values)
                        ),
                    );
                }
            }
            (Literal::Int(number), "IntegerType") => {
                let node = self.node(ty);
                let min = node.get("minValue").and_then(Value::as_i64);
                let max = node.get("maxValue").and_then(Value::as_i64);
                if min.is_some_and(|m| *number < m) || max.is_some_and(|m| *number > m) {
                    run.error(
                        value,
                        format!(
                            "{}: {}: {number} is out of range ({}..{})",
                            cx.label,
                            display_path(path),
                            min.map(|m| m.to_string()).unwrap_or_default(),
                            max.map(|m| m.to_string()).unwrap_or_default()
                        ),
                    );
                }
            }
            (Literal::Bool, "BooleanType") => {}
            (
                _,
                "ObjectType"
                | "DiscriminatedObjectType"
                | "ArrayType"
                | "StringType"
                | "StringLiteralType"
                | "UnionType"
                | "IntegerType"
                | "BooleanType",
            ) => {
                run.error(
                    value,
                    format!(
                        "{}: {}: expected {}, got {}",
                        cx.label,
                        display_path(path),
                        self.describe_type(ty, &kind),
                        lit.describe()
                    ),
                );
            }
            _ => {} // NullType, ResourceType, ...: nothing to check
        }
    }

    /// `minLength`/`maxLength` of a `StringType` or `ArrayType`.
    #[allow(clippy::too_many_arguments)]
    fn check_length(
        &self,
        value: Node<'_>,
        ty: TypeRef,
        length: usize,
        unit: &str,
        path: &str,
        cx: &ResourceCx,
        run: &mut Run<'_>,
    ) {
        let node = self.node(ty);
        let min = node.get("minLength").and_then(Value::as_u64);
        let max = node.get("maxLength").and_then(Value::as_u64);
        let length = length as u64;
        if min.is_some_and(|m| length < m) || max.is_some_and(|m| length > m) {
            run.error(
                value,
                format!(
                    "{}: {}: {length} {unit}, allowed {}..{}",
                    cx.label,
                    display_path(path),
                    min.map(|m| m.to_string()).unwrap_or_default(),
                    max.map(|m| m.to_string()).unwrap_or_default()
                ),
            );
        }
    }

    /// The string literals of a union and whether it is open (has a `StringType` member).
    fn union_strings(&self, ty: TypeRef) -> (Vec<String>, bool) {
        let mut values = Vec::new();
        let mut open = false;
        if let Some(Value::Array(elements)) = self.node(ty).get("elements") {
            for element in elements {
                let Some(member) = self.follow(ty, Some(element)) else {
                    continue;
                };
                match self.type_kind(member) {
                    "StringLiteralType" => {
                        if let Some(v) = self.node(member).get("value").and_then(Value::as_str) {
                            values.push(v.to_string());
                        }
                    }
                    "StringType" | "AnyType" => open = true,
                    _ => {}
                }
            }
        }
        (values, open)
    }

    fn describe_type(&self, ty: TypeRef, kind: &str) -> String {
        match kind {
            "StringType" => "a string".into(),
            "IntegerType" => "an integer".into(),
            "BooleanType" => "a boolean".into(),
            "ArrayType" => "an array".into(),
            "ObjectType" | "DiscriminatedObjectType" => "an object".into(),
            "StringLiteralType" => format!(
                "'{}'",
                self.node(ty)
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ),
            "UnionType" => {
                let (values, open) = self.union_strings(ty);
                if open {
                    "a string".into()
                } else {
                    format!("one of {}", quoted(&values))
                }
            }
            other => other.to_string(),
        }
    }
}

/// Reports `ERROR` and `MISSING` nodes (not descending into an `ERROR`).
fn syntax_errors(node: Node<'_>, run: &mut Run<'_>) {
    if node.is_missing() {
        let what = if node.is_named() {
            node.kind().to_string()
        } else {
            format!("'{}'", node.kind())
        };
        run.error(node, format!("syntax error: missing {what}"));
        return;
    }
    if node.is_error() {
        let text: String = run
            .text(node)
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(40)
            .collect();
        let at_end = run.source[node.end_byte().min(run.source.len())..]
            .trim()
            .is_empty();
        let message = if at_end && node.start_byte() < node.end_byte() {
            format!(
                "syntax error: `{}` is not closed at the end of the file (missing `}}`, `]`, `)` or quote?)",
                text.trim()
            )
        } else {
            format!("syntax error: unexpected `{}`", text.trim())
        };
        run.error(node, message);
        return;
    }
    if !node.has_error() {
        return;
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        syntax_errors(child, run);
    }
}

/// The object literal of a resource declaration's value (`{}`, `if (c) {}`, `[for ...: {}]`).
fn resource_body(node: Node<'_>) -> Option<Node<'_>> {
    match node.kind() {
        "object" => Some(node),
        "if_statement" => {
            let mut cursor = node.walk();
            let body = node
                .named_children(&mut cursor)
                .find(|n| n.kind() == "object");
            body
        }
        "for_statement" => node.child_by_field_name("body").and_then(resource_body),
        _ => None,
    }
}

/// The value node of member `name` of an object literal.
fn object_member<'t>(object: Node<'t>, name: &str, run: &Run<'_>) -> Option<Node<'t>> {
    let mut cursor = object.walk();
    let found = object
        .named_children(&mut cursor)
        .filter(|p| p.kind() == "object_property")
        .find(|p| {
            p.named_child(0)
                .and_then(|key| property_name(key, run))
                .is_some_and(|key| key == name)
        })
        .and_then(|p| p.named_child(1));
    found
}

/// The name of an object key (identifier or non-interpolated string).
fn property_name(key: Node<'_>, run: &Run<'_>) -> Option<String> {
    match key.kind() {
        "string" => match literal(key, run) {
            Literal::Str(name) => Some(name),
            _ => None,
        },
        "resource_declaration" => None,
        _ => Some(run.text(key).to_string()),
    }
}

fn unparenthesize(mut node: Node<'_>) -> Node<'_> {
    while node.kind() == "parenthesized_expression" {
        match node.named_child(0) {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

fn is_comment(node: Node<'_>) -> bool {
    matches!(node.kind(), "comment" | "diagnostic_comment")
}

/// Classifies a value node; strings without interpolation are decoded.
fn literal<'t>(node: Node<'t>, run: &Run<'_>) -> Literal<'t> {
    match node.kind() {
        "string" => string_literal(node, run).map_or(Literal::Expression, Literal::Str),
        "number" => run
            .text(node)
            .parse()
            .map_or(Literal::Expression, Literal::Int),
        "boolean" => Literal::Bool,
        "null" => Literal::Null,
        "object" => Literal::Object(node),
        "array" => Literal::Array(node),
        "for_statement" => Literal::For(node.child_by_field_name("body").map(|body| {
            // `[for x in xs: if (c) {...}]`
            resource_body(body).unwrap_or(body)
        })),
        _ => Literal::Expression,
    }
}

/// The value of a string literal, or `None` when it contains an interpolation.
fn string_literal(node: Node<'_>, run: &Run<'_>) -> Option<String> {
    let mut value = String::new();
    let mut cursor = node.walk();
    for part in node.children(&mut cursor) {
        match part.kind() {
            "interpolation" => return None,
            "string_content" => value.push_str(run.text(part)),
            "escape_sequence" => value.push_str(&unescape(run.text(part))),
            _ => {} // quotes, comments
        }
    }
    // A multi-line string drops the line break right after its opening quotes.
    if run.text(node).starts_with("'''") {
        if let Some(rest) = value
            .strip_prefix("\r\n")
            .or_else(|| value.strip_prefix('\n'))
        {
            value = rest.to_string();
        }
    }
    Some(value)
}

fn unescape(sequence: &str) -> String {
    match sequence {
        "\\n" => "\n".into(),
        "\\r" => "\r".into(),
        "\\t" => "\t".into(),
        "\\\\" => "\\".into(),
        "\\'" => "'".into(),
        "\\$" => "$".into(),
        other => other
            .strip_prefix("\\u{")
            .and_then(|hex| hex.strip_suffix('}'))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .and_then(char::from_u32)
            .map_or_else(|| other.to_string(), String::from),
    }
}

fn join_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "(body)"
    } else {
        path
    }
}

fn quoted(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(" | ")
}
