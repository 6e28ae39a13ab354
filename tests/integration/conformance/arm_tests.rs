//! Tests of the ARM JSON checker: the quickstart sample (positive control), its broken
//! copy, and a lab-like template with mutations (see `shared/reference/arm/MUTATIONS.md`).

use super::arm::{check_arm_template, is_arm_expression, ArmChecker};
use super::{errors, render, Finding, Severity};
use crate::common::conformance_reference;
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Instant;

/// The checker shared by the tests of this binary, or `None` when the conformance
/// tests are switched off (`WCIGEN_CONFORMANCE`, see `common::conformance_reference`).
fn checker() -> Option<&'static ArmChecker> {
    static CHECKER: OnceLock<ArmChecker> = OnceLock::new();
    let dir = conformance_reference()?;
    Some(CHECKER.get_or_init(|| ArmChecker::load(&dir).unwrap_or_else(|err| panic!("{err}"))))
}

fn sample(name: &str) -> Value {
    let dir = conformance_reference().expect("only called when conformance tests are on");
    let path = dir.join("arm/samples").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// A small resource-group template shaped like the lab output (Compute 2024-07-01,
/// Network 2024-05-01, DevTestLab 2018-09-15).
const LAB_TEMPLATE: &str = r#"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "location": { "type": "string", "defaultValue": "[resourceGroup().location]" },
    "vmName": { "type": "string", "defaultValue": "win2022-lab" },
    "adminUsername": { "type": "string" },
    "adminPassword": { "type": "securestring" },
    "vmSize": { "type": "string", "defaultValue": "Standard_D2s_v5" },
    "rdpPriority": { "type": "int", "defaultValue": 1000 },
    "osDiskType": { "type": "string", "defaultValue": "StandardSSD_LRS" }
  },
  "variables": {
    "vnetName": "lab-vnet",
    "subnetName": "lab-subnet",
    "nsgName": "lab-nsg",
    "pipName": "lab-pip",
    "nicName": "lab-nic"
  },
  "resources": [
    {
      "type": "Microsoft.Network/networkSecurityGroups",
      "apiVersion": "2024-05-01",
      "name": "[variables('nsgName')]",
      "location": "[parameters('location')]",
      "properties": {
        "securityRules": [
          {
            "name": "allow-rdp",
            "properties": {
              "priority": "[parameters('rdpPriority')]",
              "access": "Allow",
              "direction": "Inbound",
              "protocol": "Tcp",
              "sourcePortRange": "*",
              "destinationPortRange": "3389",
              "sourceAddressPrefix": "*",
              "destinationAddressPrefix": "*"
            }
          },
          {
            "name": "allow-ssh",
            "properties": {
              "priority": 1010,
              "access": "Allow",
              "direction": "Inbound",
              "protocol": "Tcp",
              "sourcePortRange": "*",
              "destinationPortRange": "22",
              "sourceAddressPrefix": "*",
              "destinationAddressPrefix": "*"
            }
          }
        ]
      }
    },
    {
      "type": "Microsoft.Network/virtualNetworks",
      "apiVersion": "2024-05-01",
      "name": "[variables('vnetName')]",
      "location": "[parameters('location')]",
      "dependsOn": [
        "[resourceId('Microsoft.Network/networkSecurityGroups', variables('nsgName'))]"
      ],
      "properties": {
        "addressSpace": { "addressPrefixes": ["10.10.0.0/16"] },
        "subnets": [
          {
            "name": "[variables('subnetName')]",
            "properties": {
              "addressPrefix": "10.10.1.0/24",
              "networkSecurityGroup": {
                "id": "[resourceId('Microsoft.Network/networkSecurityGroups', variables('nsgName'))]"
              }
            }
          }
        ]
      }
    },
    {
      "type": "Microsoft.Network/publicIPAddresses",
      "apiVersion": "2024-05-01",
      "name": "[variables('pipName')]",
      "location": "[parameters('location')]",
      "sku": { "name": "Standard", "tier": "Regional" },
      "properties": {
        "publicIPAllocationMethod": "Static",
        "publicIPAddressVersion": "IPv4",
        "idleTimeoutInMinutes": 4
      }
    },
    {
      "type": "Microsoft.Network/networkInterfaces",
      "apiVersion": "2024-05-01",
      "name": "[variables('nicName')]",
      "location": "[parameters('location')]",
      "dependsOn": [
        "[resourceId('Microsoft.Network/virtualNetworks', variables('vnetName'))]",
        "[resourceId('Microsoft.Network/publicIPAddresses', variables('pipName'))]"
      ],
      "properties": {
        "ipConfigurations": [
          {
            "name": "ipconfig1",
            "properties": {
              "privateIPAllocationMethod": "Dynamic",
              "subnet": {
                "id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', variables('vnetName'), variables('subnetName'))]"
              },
              "publicIPAddress": {
                "id": "[resourceId('Microsoft.Network/publicIPAddresses', variables('pipName'))]"
              }
            }
          }
        ]
      }
    },
    {
      "type": "Microsoft.Compute/virtualMachines",
      "apiVersion": "2024-07-01",
      "name": "[parameters('vmName')]",
      "location": "[parameters('location')]",
      "tags": { "purpose": "windows-internals-lab" },
      "dependsOn": [
        "[resourceId('Microsoft.Network/networkInterfaces', variables('nicName'))]"
      ],
      "properties": {
        "hardwareProfile": { "vmSize": "[parameters('vmSize')]" },
        "storageProfile": {
          "imageReference": {
            "publisher": "MicrosoftWindowsServer",
            "offer": "WindowsServer",
            "sku": "2022-datacenter-azure-edition",
            "version": "latest"
          },
          "osDisk": {
            "name": "[format('{0}-osdisk', parameters('vmName'))]",
            "createOption": "FromImage",
            "caching": "ReadWrite",
            "diskSizeGB": 128,
            "managedDisk": { "storageAccountType": "[parameters('osDiskType')]" }
          }
        },
        "osProfile": {
          "computerName": "win2022lab",
          "adminUsername": "[parameters('adminUsername')]",
          "adminPassword": "[parameters('adminPassword')]",
          "windowsConfiguration": {
            "enableAutomaticUpdates": true,
            "provisionVMAgent": true,
            "timeZone": "UTC"
          }
        },
        "networkProfile": {
          "networkInterfaces": [
            { "id": "[resourceId('Microsoft.Network/networkInterfaces', variables('nicName'))]" }
          ]
        },
        "diagnosticsProfile": { "bootDiagnostics": { "enabled": true } }
      }
    },
    {
      "type": "Microsoft.Compute/virtualMachines/extensions",
      "apiVersion": "2024-07-01",
      "name": "[format('{0}/{1}', parameters('vmName'), 'lab-setup')]",
      "location": "[parameters('location')]",
      "dependsOn": [
        "[resourceId('Microsoft.Compute/virtualMachines', parameters('vmName'))]"
      ],
      "properties": {
        "publisher": "Microsoft.Compute",
        "type": "CustomScriptExtension",
        "typeHandlerVersion": "1.10",
        "autoUpgradeMinorVersion": true,
        "settings": {
          "commandToExecute": "powershell -ExecutionPolicy Bypass -File setup.ps1"
        },
        "protectedSettings": {}
      }
    },
    {
      "type": "Microsoft.DevTestLab/schedules",
      "apiVersion": "2018-09-15",
      "name": "[format('shutdown-computevm-{0}', parameters('vmName'))]",
      "location": "[parameters('location')]",
      "dependsOn": [
        "[resourceId('Microsoft.Compute/virtualMachines', parameters('vmName'))]"
      ],
      "properties": {
        "status": "Enabled",
        "taskType": "ComputeVmShutdownTask",
        "dailyRecurrence": { "time": "1900" },
        "timeZoneId": "UTC",
        "notificationSettings": { "status": "Disabled", "timeInMinutes": 30 },
        "targetResourceId": "[resourceId('Microsoft.Compute/virtualMachines', parameters('vmName'))]"
      }
    }
  ],
  "outputs": {
    "publicIp": {
      "type": "string",
      "value": "[reference(resourceId('Microsoft.Network/publicIPAddresses', variables('pipName'))).ipAddress]"
    }
  }
}"#;

fn lab() -> Value {
    serde_json::from_str(LAB_TEMPLATE).expect("LAB_TEMPLATE is valid JSON")
}

/// `lab()` with the value at `pointer` replaced by `f`.
fn mutated(pointer: &str, f: impl FnOnce(&mut Value)) -> Value {
    let mut template = lab();
    let target = template
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in LAB_TEMPLATE"));
    f(target);
    template
}

/// `lab()` with the member `from` of the object at `pointer` renamed to `to`.
fn renamed(pointer: &str, from: &str, to: &str) -> Value {
    mutated(pointer, |object| {
        let map = object.as_object_mut().expect("an object");
        let value = map
            .remove(from)
            .unwrap_or_else(|| panic!("no member {from} at {pointer}"));
        map.insert(to.to_string(), value);
    })
}

/// Asserts an error at exactly `path` whose message contains `needle`.
fn assert_error(findings: &[Finding], path: &str, needle: &str) {
    assert!(
        findings
            .iter()
            .any(|f| f.is_error() && f.path == path && f.message.contains(needle)),
        "expected an error at {path} mentioning {needle:?}; got:\n{}",
        render(findings)
    );
}

fn assert_no_errors(findings: &[Finding]) {
    assert!(
        errors(findings).is_empty(),
        "unexpected errors:\n{}",
        render(findings)
    );
}

#[test]
fn expression_detection() {
    assert!(is_arm_expression("[parameters('x')]"));
    assert!(is_arm_expression("[]"));
    assert!(!is_arm_expression("[[literal]"));
    assert!(!is_arm_expression("[parameters('x')"));
    assert!(!is_arm_expression("plain"));
    assert!(!is_arm_expression("["));
}

#[test]
fn quickstart_sample_is_valid() {
    let Some(checker) = checker() else { return };
    let template = sample("vm-simple-windows.azuredeploy.json");
    let findings = checker.check(&template);
    assert_no_errors(&findings);
    // The sample feeds every enum from parameters, so not even a warning is expected.
    assert!(findings.is_empty(), "{}", render(&findings));
}

#[test]
fn broken_sample_is_rejected() {
    let Some(checker) = checker() else { return };
    let findings = checker.check(&sample("vm-simple-windows.broken.json"));
    assert_error(
        &findings,
        "/resources/5/properties/hardwareProfil",
        "unknown property 'hardwareProfil' (did you mean 'hardwareProfile'?)",
    );
    assert_error(
        &findings,
        "/resources/5/properties/storageProfile/dataDisks/0/diskSizeGB",
        "is not of type \"integer\"",
    );
    assert_eq!(errors(&findings).len(), 2, "{}", render(&findings));
}

#[test]
fn free_function_uses_a_cached_checker() {
    let Some(dir) = conformance_reference() else {
        return;
    };
    let template = sample("vm-simple-windows.azuredeploy.json");
    let findings = check_arm_template(&dir, &template);
    assert!(findings.is_empty(), "{}", render(&findings));
    // The second call reuses the cached checker.
    let findings = check_arm_template(&dir, &sample("vm-simple-windows.broken.json"));
    assert_eq!(errors(&findings).len(), 2, "{}", render(&findings));
}

#[test]
fn lab_template_is_valid() {
    let Some(checker) = checker() else { return };
    assert_no_errors(&checker.check(&lab()));
    assert!(
        checker.check(&lab()).is_empty(),
        "{}",
        render(&checker.check(&lab()))
    );
}

#[test]
fn expressions_stand_for_any_value() {
    let Some(checker) = checker() else { return };
    // An expression on an integer field, an enum field, an object and an array.
    let mut template = lab();
    let rule = "/resources/0/properties/securityRules/1/properties";
    let vm = "/resources/4/properties";
    for (pointer, value) in [
        (format!("{rule}/priority"), "[parameters('rdpPriority')]"),
        (format!("{rule}/access"), "[parameters('location')]"),
        (
            format!("{vm}/storageProfile/osDisk/diskSizeGB"),
            "[variables('x')]",
        ),
        (format!("{vm}/diagnosticsProfile"), "[variables('diag')]"),
        (
            format!("{vm}/networkProfile/networkInterfaces"),
            "[variables('nics')]",
        ),
        ("/resources/2/sku".to_string(), "[variables('sku')]"),
    ] {
        *template.pointer_mut(&pointer).expect(&pointer) = json!(value);
    }
    let findings = checker.check(&template);
    assert!(findings.is_empty(), "{}", render(&findings));
}

#[test]
fn property_iteration_copy_is_allowed() {
    let Some(checker) = checker() else { return };
    let mut template = lab();
    template["resources"][4]["properties"]["storageProfile"]["copy"] = json!([{
        "name": "dataDisks",
        "count": 2,
        "input": {
            "lun": "[copyIndex('dataDisks')]",
            "createOption": "Empty",
            "diskSizeGB": 64
        }
    }]);
    let findings = checker.check(&template);
    assert!(findings.is_empty(), "{}", render(&findings));
    template["resources"][4]["properties"]["storageProfile"]["copy"][0]["inputs"] = json!({});
    let findings = checker.check(&template);
    assert_error(
        &findings,
        "/resources/4/properties/storageProfile/copy/0/inputs",
        "unknown property",
    );
}

#[test]
fn property_name_typos_fail_at_every_depth() {
    let Some(checker) = checker() else { return };
    // Depth 0: a resource member.
    let findings = checker.check(&renamed("/resources/4", "dependsOn", "dependOn"));
    assert_error(
        &findings,
        "/resources/4/dependOn",
        "did you mean 'dependsOn'?",
    );
    // Depth 1: inside the VM's properties.
    let findings = checker.check(&renamed("/resources/4/properties", "osProfile", "osProfil"));
    assert_error(
        &findings,
        "/resources/4/properties/osProfil",
        "unknown property 'osProfil'",
    );
    // Depth 4: osDisk.managedDisk.
    let findings = checker.check(&renamed(
        "/resources/4/properties/storageProfile/osDisk/managedDisk",
        "storageAccountType",
        "storageAccountTyp",
    ));
    assert_error(
        &findings,
        "/resources/4/properties/storageProfile/osDisk/managedDisk/storageAccountTyp",
        "did you mean 'storageAccountType'?",
    );
    // Inside an array item of an inline child (NSG rule), and in the extension / schedule.
    let findings = checker.check(&renamed(
        "/resources/0/properties/securityRules/1/properties",
        "destinationPortRange",
        "destinationPortRang",
    ));
    assert_error(
        &findings,
        "/resources/0/properties/securityRules/1/properties/destinationPortRang",
        "unknown property",
    );
    let findings = checker.check(&renamed(
        "/resources/5/properties",
        "autoUpgradeMinorVersion",
        "autoUpgradeMinorVer",
    ));
    assert_error(
        &findings,
        "/resources/5/properties/autoUpgradeMinorVer",
        "unknown property",
    );
    let findings = checker.check(&renamed(
        "/resources/6/properties",
        "targetResourceId",
        "targetResourceID",
    ));
    assert_error(
        &findings,
        "/resources/6/properties/targetResourceID",
        "unknown property",
    );
    // Template level (closed by the published schema itself).
    let findings = checker.check(&renamed("", "parameters", "parameter"));
    assert!(
        errors(&findings).iter().any(|f| f.path == "/parameter"),
        "{}",
        render(&findings)
    );
}

#[test]
fn wrong_types_and_missing_required_fail() {
    let Some(checker) = checker() else { return };
    let vm = "/resources/4/properties";
    let findings = checker.check(&mutated(
        &format!("{vm}/storageProfile/osDisk/diskSizeGB"),
        |v| *v = json!("128"),
    ));
    assert_error(
        &findings,
        &format!("{vm}/storageProfile/osDisk/diskSizeGB"),
        "integer",
    );
    let findings = checker.check(&mutated(
        &format!("{vm}/diagnosticsProfile/bootDiagnostics/enabled"),
        |v| *v = json!("true"),
    ));
    assert_error(
        &findings,
        &format!("{vm}/diagnosticsProfile/bootDiagnostics/enabled"),
        "boolean",
    );
    // A broken expression (missing `]`) is just a string.
    let rule = "/resources/0/properties/securityRules/0/properties";
    let findings = checker.check(&mutated(&format!("{rule}/priority"), |v| {
        *v = json!("[parameters('rdpPriority')")
    }));
    assert_error(&findings, &format!("{rule}/priority"), "integer");
    let findings = checker.check(&mutated(&format!("{vm}/storageProfile/osDisk"), |v| {
        v.as_object_mut().map(|m| m.remove("createOption"));
    }));
    assert_error(
        &findings,
        &format!("{vm}/storageProfile/osDisk"),
        "createOption",
    );
    let findings = checker.check(&mutated(rule, |v| {
        v.as_object_mut().map(|m| m.remove("direction"));
    }));
    assert_error(&findings, rule, "direction");
    let findings = checker.check(&mutated("/resources/5/properties", |v| {
        v.as_object_mut().map(|m| m.remove("typeHandlerVersion"));
    }));
    assert_error(&findings, "/resources/5/properties", "typeHandlerVersion");
    let findings = checker.check(&mutated(
        "/resources/6/properties/dailyRecurrence/time",
        |v| *v = json!(1900),
    ));
    assert_error(
        &findings,
        "/resources/6/properties/dailyRecurrence/time",
        "string",
    );
}

#[test]
fn enum_misses_are_warnings() {
    let Some(checker) = checker() else { return };
    let vm_size = "/resources/4/properties/hardwareProfile/vmSize";
    let findings = checker.check(&mutated(vm_size, |v| *v = json!("Standard_D2s_v5")));
    assert_no_errors(&findings);
    assert!(
        findings
            .iter()
            .any(|f| f.severity == Severity::Warning && f.path == vm_size),
        "{}",
        render(&findings)
    );
    // securityType 'Standard' is documented only from Compute 2025-11-01.
    let findings = checker.check(&mutated("/resources/4/properties", |v| {
        v["securityProfile"] = json!({"securityType": "Standard"});
    }));
    assert_no_errors(&findings);
    assert_eq!(findings.len(), 1, "{}", render(&findings));
    let mut newer = lab();
    newer["resources"][4]["apiVersion"] = json!("2025-11-01");
    newer["resources"][4]["properties"]["securityProfile"] = json!({"securityType": "Standard"});
    let findings = checker.check(&newer);
    assert!(findings.is_empty(), "{}", render(&findings));
    // Casing: ARM accepts it, the schema's enum does not.
    let findings = checker.check(&mutated(
        "/resources/0/properties/securityRules/0/properties/direction",
        |v| *v = json!("inbound"),
    ));
    assert_no_errors(&findings);
    assert_eq!(findings.len(), 1, "{}", render(&findings));
}

#[test]
fn resources_without_local_schema_are_errors() {
    let Some(checker) = checker() else { return };
    let findings = checker.check(&mutated("/resources/4/apiVersion", |v| {
        *v = json!("2024-03-15")
    }));
    assert_error(
        &findings,
        "/resources/4",
        "no local schema for Microsoft.Compute/virtualMachines@2024-03-15",
    );
    assert_eq!(findings.len(), 1, "{}", render(&findings));
    let findings = checker.check(&mutated("/resources/4/type", |v| {
        *v = json!("Microsoft.Compute/virtualMachine")
    }));
    assert_error(&findings, "/resources/4", "type not in the local subset");
    let mut template = lab();
    template["resources"]
        .as_array_mut()
        .expect("resources array")
        .push(json!({
            "type": "Microsoft.Storage/storageAccounts",
            "apiVersion": "2024-01-01",
            "name": "labdiag",
            "location": "westeurope",
            "sku": {"name": "Standard_LRS"},
            "kind": "StorageV2"
        }));
    let findings = checker.check(&template);
    assert_error(&findings, "/resources/7", "local apiVersions: 2022-05-01");
}

#[test]
fn nested_children_and_deployments_are_checked() {
    let Some(checker) = checker() else { return };
    // The extension as a nested child of the VM.
    let mut template = lab();
    let resources = template["resources"]
        .as_array_mut()
        .expect("resources array");
    let mut extension = resources.remove(5);
    extension["type"] = json!("extensions");
    extension["name"] = json!("lab-setup");
    extension.as_object_mut().map(|m| m.remove("dependsOn"));
    resources[4]["resources"] = json!([extension]);
    let findings = checker.check(&template);
    assert!(findings.is_empty(), "{}", render(&findings));
    template["resources"][4]["resources"][0]["properties"]["typeHandlerVer"] = json!("1.10");
    let findings = checker.check(&template);
    assert_error(
        &findings,
        "/resources/4/resources/0/properties/typeHandlerVer",
        "unknown property",
    );
    template["resources"][4]["resources"][0]["apiVersion"] = json!("2019-01-01");
    let findings = checker.check(&template);
    assert_error(
        &findings,
        "/resources/4/resources/0",
        "nested resource: no local schema",
    );

    // A subscription-scope template creating the resource group and deploying the lab into it.
    let mut inner = lab();
    let sub = json!({
        "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.Resources/resourceGroups",
                "apiVersion": "2024-03-01",
                "name": "rg-lab",
                "location": "westeurope",
                "properties": {}
            },
            {
                "type": "Microsoft.Resources/deployments",
                "apiVersion": "2024-03-01",
                "name": "lab",
                "resourceGroup": "rg-lab",
                "dependsOn": ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', 'rg-lab')]"],
                "properties": {
                    "mode": "Incremental",
                    "expressionEvaluationOptions": {"scope": "Inner"},
                    "parameters": {"adminUsername": {"value": "labadmin"}, "adminPassword": {"value": "[parameters('pw')]"}},
                    "template": inner.clone()
                }
            }
        ]
    });
    let findings = checker.check(&sub);
    assert!(findings.is_empty(), "{}", render(&findings));
    inner["resources"][4]["properties"]["storageProfile"]["osDisk"]
        .as_object_mut()
        .map(|m| m.remove("createOption"));
    let mut broken = sub.clone();
    broken["resources"][1]["properties"]["template"] = inner;
    let findings = checker.check(&broken);
    assert_error(
        &findings,
        "/resources/1/properties/template/resources/4/properties/storageProfile/osDisk",
        "createOption",
    );
    let mut no_props = sub;
    no_props["resources"][0]
        .as_object_mut()
        .map(|m| m.remove("properties"));
    let findings = checker.check(&no_props);
    assert_error(&findings, "/resources/0", "properties");
}

#[test]
fn findings_are_sorted_and_stable() {
    let Some(checker) = checker() else { return };
    let mut template = renamed("/resources/4/properties", "osProfile", "osProfil");
    template["resources"][0]["properties"]["securityRules"][1]["properties"]["priority"] =
        json!("x");
    template["resources"][4]["properties"]["hardwareProfile"]["vmSize"] = json!("Standard_D2s_v5");
    let first = checker.check(&template);
    let second = checker.check(&template);
    assert_eq!(first, second);
    let mut sorted = first.clone();
    sorted.sort();
    assert_eq!(first, sorted);
    assert!(first.len() >= 3, "{}", render(&first));
}

/// Timing report: `cargo test arm_timing -- --nocapture --ignored`.
#[test]
#[ignore = "timing report, run on demand"]
fn arm_timing() {
    let started = Instant::now();
    let Some(dir) = conformance_reference() else {
        return;
    };
    let checker = ArmChecker::load(&dir).unwrap_or_else(|err| panic!("{err}"));
    let loaded = started.elapsed();
    let template = lab();
    let started = Instant::now();
    assert!(checker.check(&template).is_empty());
    let first = started.elapsed();
    let rounds: u32 = 20;
    let started = Instant::now();
    for _ in 0..rounds {
        assert!(checker.check(&template).is_empty());
    }
    let per_check = started.elapsed() / rounds;
    let broken = sample("vm-simple-windows.broken.json");
    assert!(!checker.check(&broken).is_empty());
    let started = Instant::now();
    for _ in 0..rounds {
        assert!(!checker.check(&broken).is_empty());
    }
    let per_broken = started.elapsed() / rounds;
    let started = Instant::now();
    checker.warm_up().unwrap_or_else(|err| panic!("{err}"));
    let warmed = started.elapsed();
    eprintln!(
        "ARM: load {loaded:?}; first lab check (compiles its validators) {first:?}; \
         then per check: valid lab {per_check:?}, broken sample {per_broken:?}; \
         compiling all remaining validators {warmed:?}"
    );
}

/// Expected outcome of a mutation, as in the "strict" column of `arm/MUTATIONS.md`.
#[derive(Debug, PartialEq)]
enum Outcome {
    Error,
    Warning,
    Missed,
}

fn outcome(findings: &[Finding]) -> Outcome {
    if findings.iter().any(Finding::is_error) {
        Outcome::Error
    } else if findings.is_empty() {
        Outcome::Missed
    } else {
        Outcome::Warning
    }
}

#[test]
fn published_mutation_table_on_the_quickstart() {
    let Some(checker) = checker() else { return };
    type Mutation = fn(&mut Value);
    fn rename(v: &mut Value, pointer: &str, from: &str, to: &str) {
        let map = v
            .pointer_mut(pointer)
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("no object at {pointer}"));
        let value = map
            .remove(from)
            .unwrap_or_else(|| panic!("no {from} at {pointer}"));
        map.insert(to.to_string(), value);
    }
    let cases: Vec<(&str, Mutation, Outcome)> = vec![
        (
            "M01",
            |v| {
                rename(
                    v,
                    "/resources/5/properties",
                    "hardwareProfile",
                    "hardwareProfil",
                )
            },
            Outcome::Error,
        ),
        (
            "M02",
            |v| {
                rename(
                    v,
                    "/resources/5/properties/storageProfile/osDisk",
                    "createOption",
                    "createOptions",
                )
            },
            Outcome::Error,
        ),
        (
            "M03",
            |v| {
                rename(
                    v,
                    "/resources/5/properties/diagnosticsProfile/bootDiagnostics",
                    "enabled",
                    "enable",
                )
            },
            Outcome::Error,
        ),
        (
            "M04",
            |v| {
                v["resources"][5]["properties"]["storageProfile"]["dataDisks"][0]["diskSizeGB"] =
                    json!("1023")
            },
            Outcome::Error,
        ),
        (
            "M05",
            |v| {
                v["resources"][5]["properties"]["diagnosticsProfile"]["bootDiagnostics"]
                    ["enabled"] = json!("true")
            },
            Outcome::Error,
        ),
        (
            "M06",
            |v| {
                v["resources"][2]["properties"]["securityRules"][0]["properties"]["priority"] =
                    json!("1000")
            },
            Outcome::Error,
        ),
        (
            "M07",
            |v| {
                v["resources"][2]["properties"]["securityRules"][0]["properties"]["access"] =
                    json!("Permit")
            },
            Outcome::Warning,
        ),
        (
            "M08",
            |v| {
                v["resources"][2]["properties"]["securityRules"][0]["properties"]["direction"] =
                    json!("inbound")
            },
            Outcome::Warning,
        ),
        (
            "M09",
            |v| {
                v["resources"][2]["properties"]["securityRules"][0]["properties"]["priority"] =
                    json!(99999)
            },
            Outcome::Missed,
        ),
        (
            "M10",
            |v| v["resources"][5]["apiVersion"] = json!("2022-03-15"),
            Outcome::Error,
        ),
        (
            "M11",
            |v| v["resources"][5]["type"] = json!("Microsoft.Compute/virtualMachine"),
            Outcome::Error,
        ),
        (
            "M12",
            |v| rename(v, "/resources/5", "dependsOn", "dependOn"),
            Outcome::Error,
        ),
        (
            "M13",
            |v| {
                rename(
                    v,
                    "/resources/4/properties/ipConfigurations/0/properties",
                    "privateIPAllocationMethod",
                    "privateIpAllocationMethod",
                )
            },
            Outcome::Error,
        ),
        (
            "M14",
            |v| {
                v["resources"][5]
                    .as_object_mut()
                    .map(|m| m.remove("properties"));
            },
            Outcome::Error,
        ),
        (
            "M15",
            |v| {
                v["resources"][5]
                    .as_object_mut()
                    .map(|m| m.remove("location"));
            },
            Outcome::Missed,
        ),
    ];
    let mut report = String::new();
    for (id, mutate, expected) in cases {
        let mut template = sample("vm-simple-windows.azuredeploy.json");
        mutate(&mut template);
        let findings = checker.check(&template);
        let got = outcome(&findings);
        if std::env::var_os("ARM_SHOW").is_some() {
            eprintln!("{id}:\n{}", render(&findings));
        }
        if got != expected {
            report.push_str(&format!(
                "{id}: expected {expected:?}, got {got:?}\n{}",
                render(&findings)
            ));
        }
    }
    assert!(report.is_empty(), "{report}");
}
