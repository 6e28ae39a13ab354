//! From lab file text to a [`LabSpec`], reporting every structural problem at once.
//!
//! serde stops at the first error, but a user fixing a lab wants the whole list. So the text is
//! first parsed to a generic YAML value (syntax, duplicate keys, alias bombs and nesting limits
//! are serde_yaml's), converted to JSON, and checked against the lab's own JSON Schema, which
//! yields every unknown key, wrong type, missing key and unknown enum value together. Only a
//! document that passes is deserialized into the model, so serde never has to report anything.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::JsonType;
use serde_json::Value;

use crate::diag::{Diagnostic, DiagnosticKind};
use crate::lab::model::LabSpec;
use crate::lab::source::{FieldPath, Position, Segment, SourceFile};

/// The lab's JSON Schema, generated from the model.
#[must_use]
pub fn lab_schema() -> Value {
    let schema = schemars::schema_for!(LabSpec);
    serde_json::to_value(&schema).unwrap_or(Value::Null)
}

/// The lab's JSON Schema as committed in `schemas/lab.schema.json` (pretty, trailing newline).
#[must_use]
pub fn lab_schema_text() -> String {
    serde_json::to_string_pretty(&lab_schema()).unwrap_or_default() + "\n"
}

fn schema_validator() -> Option<&'static jsonschema::Validator> {
    static VALIDATOR: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| jsonschema::validator_for(&lab_schema()).ok())
        .as_ref()
}

/// Parse a lab file into the model, or report every structural problem.
///
/// # Errors
/// The diagnostics (all errors) when the text is not a structurally valid lab.
pub fn parse(source: &SourceFile) -> Result<LabSpec, Vec<Diagnostic>> {
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(&source.text).map_err(|e| vec![yaml_error(&e)])?;
    let json = yaml_to_json(&yaml, &FieldPath::root())?;
    if !json.is_object() {
        return Err(vec![Diagnostic::file(DiagnosticKind::YamlNotMapping)]);
    }
    let mut diagnostics = Vec::new();
    find_passwords(&json, &FieldPath::root(), &mut diagnostics);
    // serde accepts exactly what the schema's structural keywords accept (the schema is derived
    // from the same types), so a lab serde takes needs no schema pass; the schema is compiled
    // only to list every problem of a lab that is wrong.
    if diagnostics.is_empty() {
        if let Ok(spec) = serde_json::from_value::<LabSpec>(json.clone()) {
            return Ok(spec);
        }
    }
    let Some(validator) = schema_validator() else {
        return Err(vec![Diagnostic::file(DiagnosticKind::Structure {
            reason: "internal error: the lab schema does not compile".into(),
        })]);
    };
    let schema = lab_schema();
    for error in validator.iter_errors(&json) {
        let path = to_field_path(error.instance_path().iter());
        structural(
            &schema,
            &path,
            error.kind(),
            error.instance(),
            &mut diagnostics,
        );
    }
    diagnostics.dedup();
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    serde_json::from_value(json).map_err(|e| {
        vec![Diagnostic::file(DiagnosticKind::Structure {
            reason: e.to_string(),
        })]
    })
}

fn yaml_error(error: &serde_yaml::Error) -> Diagnostic {
    let position = error.location().map(|l| Position {
        line: l.line(),
        column: l.column(),
    });
    let mut reason = error.to_string();
    // serde_yaml appends " at line L column C"; the position is shown separately.
    if let Some(i) = reason.find(" at line ") {
        reason.truncate(i);
    }
    Diagnostic::positioned(DiagnosticKind::YamlSyntax { reason }, position)
}

fn yaml_to_json(value: &serde_yaml::Value, path: &FieldPath) -> Result<Value, Vec<Diagnostic>> {
    use serde_yaml::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::from(u)
            } else if let Some(i) = n.as_i64() {
                Value::from(i)
            } else {
                match n.as_f64().and_then(serde_json::Number::from_f64) {
                    Some(f) => Value::Number(f),
                    None => {
                        return Err(vec![Diagnostic::at(
                            path.clone(),
                            DiagnosticKind::YamlUnsupportedValue {
                                reason: "a non-finite number".into(),
                            },
                        )])
                    }
                }
            }
        }
        Y::String(s) => Value::String(s.clone()),
        Y::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(yaml_to_json(item, &path.index(i))?);
            }
            Value::Array(out)
        }
        Y::Mapping(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let Y::String(key) = k else {
                    return Err(vec![Diagnostic::at(
                        path.clone(),
                        DiagnosticKind::YamlNonStringKey,
                    )]);
                };
                out.insert(key.clone(), yaml_to_json(v, &path.key(key))?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            return Err(vec![Diagnostic::at(
                path.clone(),
                DiagnosticKind::YamlUnsupportedValue {
                    reason: format!("the YAML tag `{}`", tagged.tag),
                },
            )])
        }
    })
}

/// Any key that looks like a password ([`crate::lab::secret::is_password_key`]) is refused,
/// wherever it is.
fn find_passwords(value: &Value, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if crate::lab::secret::is_password_key(k) {
                    out.push(Diagnostic::at_key(
                        path.key(k),
                        DiagnosticKind::PasswordInLab,
                    ));
                }
                find_passwords(v, &path.key(k), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                find_passwords(v, &path.index(i), out);
            }
        }
        _ => {}
    }
}

fn to_field_path<'a>(
    segments: impl Iterator<Item = jsonschema::paths::LocationSegment<'a>>,
) -> FieldPath {
    use jsonschema::paths::LocationSegment as L;
    FieldPath(
        segments
            .map(|segment| match segment {
                L::Property(p) => Segment::Key(p.into_owned()),
                L::Index(i) => Segment::Index(i),
            })
            .collect(),
    )
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn expected_type_name(kind: &jsonschema::error::TypeKind) -> String {
    use jsonschema::error::TypeKind;
    let describe = |t: JsonType| match t {
        JsonType::Null => "null",
        JsonType::Boolean => "a boolean (true or false)",
        JsonType::Integer => "a whole number",
        JsonType::Number => "a number",
        JsonType::String => "a string",
        JsonType::Array => "a list",
        JsonType::Object => "a mapping",
    };
    match kind {
        TypeKind::Single(t) => describe(*t).to_string(),
        TypeKind::Multiple(set) => {
            let all = [
                JsonType::Boolean,
                JsonType::Integer,
                JsonType::Number,
                JsonType::String,
                JsonType::Array,
                JsonType::Object,
                JsonType::Null,
            ];
            all.into_iter()
                .filter(|t| set.contains(*t))
                .map(describe)
                .collect::<Vec<_>>()
                .join(" or ")
        }
    }
}

/// Where an object's schema lives for the instance at `path` (following `$ref`s, `properties`,
/// `items` and `additionalProperties`); used to list the keys a mapping accepts.
fn schema_at<'s>(root: &'s Value, path: &FieldPath) -> Option<&'s Value> {
    let mut node = resolve(root, root)?;
    for segment in &path.0 {
        node = match segment {
            Segment::Key(k) => {
                let props = node.get("properties");
                match props.and_then(|p| p.get(k)) {
                    Some(s) => resolve(root, s)?,
                    None => resolve(root, node.get("additionalProperties")?)?,
                }
            }
            Segment::Index(_) => resolve(root, node.get("items")?)?,
        };
    }
    Some(node)
}

fn resolve<'s>(root: &'s Value, mut node: &'s Value) -> Option<&'s Value> {
    for _ in 0..16 {
        if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            node = root.pointer(reference.strip_prefix('#')?)?;
            continue;
        }
        // `Option<T>` of a referenced type: `anyOf: [{$ref}, {type: null}]`.
        if let Some(branches) = node.get("anyOf").and_then(Value::as_array) {
            if let Some(first) = branches
                .iter()
                .find(|b| b.get("type").and_then(Value::as_str) != Some("null"))
            {
                node = first;
                continue;
            }
        }
        return Some(node);
    }
    None
}

fn allowed_keys(schema: &Value, path: &FieldPath) -> Vec<String> {
    schema_at(schema, path)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn parent_label(path: &FieldPath) -> String {
    if path.0.is_empty() {
        "the lab".into()
    } else {
        format!("`{path}`")
    }
}

fn structural(
    schema: &Value,
    path: &FieldPath,
    kind: &ValidationErrorKind,
    instance: &Value,
    out: &mut Vec<Diagnostic>,
) {
    match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            unknown_keys(schema, path, unexpected, out);
        }
        ValidationErrorKind::Required { property } => {
            let key = property.as_str().unwrap_or_default().to_string();
            let full = if path.0.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            out.push(Diagnostic::at_key(
                path.clone(),
                DiagnosticKind::MissingKey { key: full },
            ));
        }
        ValidationErrorKind::Type { kind } => out.push(Diagnostic::at(
            path.clone(),
            DiagnosticKind::WrongType {
                expected: expected_type_name(kind),
                found: json_type_name(instance).into(),
            },
        )),
        ValidationErrorKind::Enum { options } => {
            let allowed: Vec<String> = options
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o.as_str().map(String::from))
                .collect();
            out.push(unknown_value(path, instance, allowed));
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            alternatives(schema, path, context, instance, out);
        }
        // Unsigned integers carry `minimum: 0` in the schema.
        ValidationErrorKind::Minimum { .. } if instance.as_i64().is_some_and(|n| n < 0) => out
            .push(Diagnostic::at(
                path.clone(),
                DiagnosticKind::WrongType {
                    expected: "a whole number of at least 0".into(),
                    found: "a negative number".into(),
                },
            )),
        // Patterns, lengths and ranges are checked by `validate` with specific wording.
        _ => {}
    }
}

/// Keys the schema does not know, each with the keys allowed there and a "did you mean".
fn unknown_keys(
    schema: &Value,
    path: &FieldPath,
    unexpected: &[String],
    out: &mut Vec<Diagnostic>,
) {
    let allowed = allowed_keys(schema, path);
    for key in unexpected {
        if crate::lab::secret::is_password_key(key) {
            continue; // reported by `find_passwords` with deploy-time instructions
        }
        let suggestion = crate::lab::facts::suggest(key, allowed.iter().map(String::as_str));
        out.push(Diagnostic::at_key(
            path.key(key),
            DiagnosticKind::UnknownKey {
                key: key.clone(),
                parent: parent_label(path),
                allowed: allowed.clone(),
                suggestion,
            },
        ));
    }
}

/// A value outside a list of choices: "unknown value" with the choices, or a wrong type when
/// the value is not a string at all.
fn unknown_value(path: &FieldPath, instance: &Value, allowed: Vec<String>) -> Diagnostic {
    match instance.as_str() {
        Some(value) => Diagnostic::at(
            path.clone(),
            DiagnosticKind::UnknownValue {
                value: value.to_string(),
                suggestion: crate::lab::facts::suggest(value, allowed.iter().map(String::as_str)),
                allowed,
            },
        ),
        None => Diagnostic::at(
            path.clone(),
            DiagnosticKind::WrongType {
                expected: "a string".into(),
                found: json_type_name(instance).into(),
            },
        ),
    }
}

/// `anyOf`/`oneOf`: a documented enum (a `oneOf` of `const`s) is one "unknown value" with the
/// choices; an optional value (`T` or null) reports the non-null branch's problems.
fn alternatives(
    schema: &Value,
    path: &FieldPath,
    context: &[Vec<jsonschema::ValidationError<'_>>],
    instance: &Value,
    out: &mut Vec<Diagnostic>,
) {
    let consts: Vec<String> = context
        .iter()
        .flatten()
        .filter_map(|e| match e.kind() {
            ValidationErrorKind::Constant { expected_value } => {
                expected_value.as_str().map(String::from)
            }
            _ => None,
        })
        .collect();
    let only_consts_or_types = context.iter().flatten().all(|e| {
        matches!(
            e.kind(),
            ValidationErrorKind::Constant { .. } | ValidationErrorKind::Type { .. }
        )
    });
    if !consts.is_empty() && only_consts_or_types {
        out.push(unknown_value(path, instance, consts));
        return;
    }
    for branch in context {
        let null_only = branch.iter().all(|e| {
            matches!(
                e.kind(),
                ValidationErrorKind::Type {
                    kind: jsonschema::error::TypeKind::Single(JsonType::Null)
                }
            )
        });
        if null_only {
            continue;
        }
        for e in branch {
            let p = to_field_path(e.instance_path().iter());
            structural(schema, &p, e.kind(), e.instance(), out);
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<LabSpec, Vec<Diagnostic>> {
        parse(&SourceFile {
            path: "t.yaml".into(),
            text: text.into(),
        })
    }

    const MINIMAL: &str = "version: 1\nname: x\nazure: {location: eastus, resourceGroup: rg}\nvm: {name: v, adminUsername: u}\n";

    #[test]
    fn minimal_lab_gets_defaults() {
        let lab = parse_text(MINIMAL).unwrap();
        assert_eq!(lab.vm.size, "Standard_E2s_v3");
        assert_eq!(lab.provisioning.tools.len(), 3);
    }

    #[test]
    fn every_structural_problem_is_reported() {
        let text = MINIMAL.replace("vm: {", "vm: {sizee: 1, osDisk: {sizeGB: big}, ")
            + "network: {inboundPorts: [rpd]}\n";
        let errors = parse_text(&text).unwrap_err();
        let codes: Vec<_> = errors.iter().map(|d| d.kind.code()).collect();
        assert!(codes.contains(&"unknown-key"), "{errors:?}");
        assert!(codes.contains(&"wrong-type"), "{errors:?}");
        assert!(codes.contains(&"unknown-value"), "{errors:?}");
        let unknown = errors
            .iter()
            .find(|d| d.kind.code() == "unknown-key")
            .unwrap();
        assert!(
            matches!(&unknown.kind, DiagnosticKind::UnknownKey { suggestion: Some(s), .. } if s == "size")
        );
    }

    #[test]
    fn passwords_are_refused_anywhere() {
        let text = MINIMAL.replace(
            "adminUsername: u",
            "adminUsername: u, adminPassword: hunter2",
        );
        let errors = parse_text(&text).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].kind, DiagnosticKind::PasswordInLab);
    }
}
