//! The committed JSON Schema is the model's, describes every field, and accepts every example.

use serde_json::Value;

use crate::common::{examples, repo};

#[test]
fn committed_schema_is_current() {
    let path = repo().join("schemas/lab.schema.json");
    let generated = wcigen::load::lab_schema_text();
    if std::env::var_os("WCIGEN_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/lab.schema.json is stale: run `cargo run -q -- schema > schemas/lab.schema.json` \
         (or WCIGEN_UPDATE_SCHEMA=1 cargo test) and commit it"
    );
}

fn check_descriptions(node: &Value, path: &str, missing: &mut Vec<String>) {
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            let has = prop
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| !d.trim().is_empty());
            if !has {
                missing.push(format!("{path}.{name}"));
            }
        }
    }
    if let Some(defs) = node.get("$defs").and_then(Value::as_object) {
        for (name, def) in defs {
            if def.get("description").is_none() {
                missing.push(format!("$defs.{name}"));
            }
            check_descriptions(def, &format!("$defs.{name}"), missing);
        }
    }
}

#[test]
fn every_field_has_a_description() {
    let schema = wcigen::load::lab_schema();
    let mut missing = Vec::new();
    check_descriptions(&schema, "", &mut missing);
    assert!(
        missing.is_empty(),
        "fields without a description: {missing:?}"
    );
}

#[test]
fn every_example_is_valid_under_the_committed_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schemas/lab.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    for example in examples() {
        let yaml: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&example).unwrap()).unwrap();
        let json = serde_json::to_value(yaml).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", example.display());
    }
}

#[test]
fn schema_rejects_unknown_keys_and_password() {
    let schema = wcigen::load::lab_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let lab = serde_json::json!({
        "version": 1, "name": "x",
        "azure": {"location": "eastus", "resourceGroup": "rg"},
        "vm": {"name": "v", "adminUsername": "u", "adminPassword": "x"}
    });
    assert!(!validator.is_valid(&lab));
}
