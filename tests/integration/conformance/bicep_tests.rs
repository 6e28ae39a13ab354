//! Tests of the Bicep checker: a realistic lab file passes; mutations fail clearly.

use super::bicep::{check_bicep, BicepChecker};
use super::{errors, render, Finding};
use crate::common::conformance_reference;
use std::sync::OnceLock;
use std::time::Instant;

/// The checker shared by the tests of this binary, or `None` when the conformance
/// tests are switched off (`WCIGEN_CONFORMANCE`, see `common::conformance_reference`).
fn checker() -> Option<&'static BicepChecker> {
    static CHECKER: OnceLock<BicepChecker> = OnceLock::new();
    let dir = conformance_reference()?;
    Some(CHECKER.get_or_init(|| BicepChecker::load(&dir).unwrap_or_else(|err| panic!("{err}"))))
}

/// The lab at resource-group scope, as the generator is expected to write it.
const LAB: &str = r#"targetScope = 'resourceGroup'

@description('Azure region of the lab.')
param location string = resourceGroup().location
param vmName string = 'win2022-lab'
param adminUsername string
@secure()
param adminPassword string
@allowed([
  'Standard_D2s_v5'
  'Standard_D4s_v5'
])
param vmSize string = 'Standard_D2s_v5'
param allowedSourceAddress string = '*'
param autoShutdownTime string = '1900'

var vnetName = '${vmName}-vnet'
var subnetName = 'lab'
var setupCommand = '''
powershell -ExecutionPolicy Bypass -Command "Write-Output 'it''s ready'"
'''

resource nsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: '${vmName}-nsg'
  location: location
  properties: {
    securityRules: [
      {
        name: 'allow-rdp'
        properties: {
          priority: 1000
          access: 'Allow'
          direction: 'Inbound'
          protocol: 'Tcp'
          sourcePortRange: '*'
          destinationPortRange: '3389'
          sourceAddressPrefix: allowedSourceAddress
          destinationAddressPrefix: '*'
        }
      }
      {
        name: 'allow-ssh'
        properties: {
          priority: 1010
          access: 'Allow'
          direction: 'Inbound'
          protocol: 'Tcp'
          sourcePortRange: '*'
          destinationPortRange: '22'
          sourceAddressPrefix: allowedSourceAddress
          destinationAddressPrefix: '*'
        }
      }
    ]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: vnetName
  location: location
  properties: {
    addressSpace: {
      addressPrefixes: [
        '10.10.0.0/16'
      ]
    }
    subnets: [
      {
        name: subnetName
        properties: {
          addressPrefix: '10.10.1.0/24'
          networkSecurityGroup: {
            id: nsg.id
          }
        }
      }
    ]
  }
}

resource pip 'Microsoft.Network/publicIPAddresses@2024-05-01' = {
  name: '${vmName}-pip'
  location: location
  sku: {
    name: 'Standard'
    tier: 'Regional'
  }
  properties: {
    publicIPAllocationMethod: 'Static'
    publicIPAddressVersion: 'IPv4'
    idleTimeoutInMinutes: 4
  }
}

resource nic 'Microsoft.Network/networkInterfaces@2024-05-01' = {
  name: '${vmName}-nic'
  location: location
  properties: {
    ipConfigurations: [
      {
        name: 'ipconfig1'
        properties: {
          privateIPAllocationMethod: 'Dynamic'
          subnet: {
            id: vnet.properties.subnets[0].id
          }
          publicIPAddress: {
            id: pip.id
          }
        }
      }
    ]
  }
}

resource vm 'Microsoft.Compute/virtualMachines@2024-07-01' = {
  name: vmName
  location: location
  tags: {
    purpose: 'windows-internals-lab'
  }
  properties: {
    hardwareProfile: {
      vmSize: vmSize
    }
    storageProfile: {
      imageReference: {
        publisher: 'MicrosoftWindowsServer'
        offer: 'WindowsServer'
        sku: '2022-datacenter-azure-edition'
        version: 'latest'
      }
      osDisk: {
        name: '${vmName}-osdisk'
        createOption: 'FromImage'
        caching: 'ReadWrite'
        diskSizeGB: 128
        managedDisk: {
          storageAccountType: 'StandardSSD_LRS'
        }
      }
    }
    osProfile: {
      computerName: take(vmName, 15)
      adminUsername: adminUsername
      adminPassword: adminPassword
      windowsConfiguration: {
        enableAutomaticUpdates: true
        provisionVMAgent: true
        timeZone: 'UTC'
      }
    }
    networkProfile: {
      networkInterfaces: [
        {
          id: nic.id
        }
      ]
    }
    diagnosticsProfile: {
      bootDiagnostics: {
        enabled: true
      }
    }
  }
}

resource setup 'Microsoft.Compute/virtualMachines/extensions@2024-07-01' = {
  parent: vm
  name: 'lab-setup'
  location: location
  properties: {
    publisher: 'Microsoft.Compute'
    type: 'CustomScriptExtension'
    typeHandlerVersion: '1.10'
    autoUpgradeMinorVersion: true
    settings: {
      commandToExecute: setupCommand
    }
  }
}

resource shutdown 'Microsoft.DevTestLab/schedules@2018-09-15' = {
  name: 'shutdown-computevm-${vmName}'
  location: location
  properties: {
    status: 'Enabled'
    taskType: 'ComputeVmShutdownTask'
    dailyRecurrence: {
      time: autoShutdownTime
    }
    timeZoneId: 'UTC'
    notificationSettings: {
      status: 'Disabled'
      timeInMinutes: 30
    }
    targetResourceId: vm.id
  }
}

output publicIpAddress string = pip.properties.ipAddress
output vmId string = vm.id
"#;

/// `LAB` with the only occurrence of `from` replaced by `to`.
fn lab_with(from: &str, to: &str) -> String {
    assert_eq!(
        LAB.matches(from).count(),
        1,
        "{from:?} must occur exactly once in LAB"
    );
    LAB.replacen(from, to, 1)
}

/// Asserts an error at `line:column` prefix `at` (e.g. `"42:"`) mentioning every needle.
fn assert_error(findings: &[Finding], at: &str, needles: &[&str]) {
    assert!(
        findings.iter().any(|f| f.is_error()
            && f.path.starts_with(at)
            && needles.iter().all(|n| f.message.contains(n))),
        "expected an error at {at} mentioning {needles:?}; got:\n{}",
        render(findings)
    );
}

/// The 1-based line of the only occurrence of `needle` in `source`, as `"N:"`.
fn line_of(source: &str, needle: &str) -> String {
    let offset = source
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not found"));
    format!(
        "{}:",
        source[..offset].lines().count() + usize::from(source[..offset].ends_with('\n'))
    )
}

#[test]
fn lab_file_passes() {
    let Some(checker) = checker() else { return };
    let findings = checker.check(LAB);
    assert!(findings.is_empty(), "{}", render(&findings));
}

#[test]
fn free_function_uses_a_cached_checker() {
    let Some(dir) = conformance_reference() else {
        return;
    };
    assert!(check_bicep(&dir, LAB).is_empty());
    let findings = check_bicep(&dir, &lab_with("diskSizeGB: 128", "diskSizeGB: '128'"));
    assert_eq!(errors(&findings).len(), 1, "{}", render(&findings));
}

#[test]
fn misspelled_properties_fail_at_every_depth() {
    let Some(checker) = checker() else { return };
    // Depth 0: the resource body.
    let source = lab_with("  name: vmName\n", "  nmae: vmName\n");
    let findings = checker.check(&source);
    assert_error(
        &findings,
        &line_of(&source, "nmae"),
        &["resource 'vm'", "nmae", "did you mean 'name'?"],
    );
    // `name` is now missing as well.
    assert_error(&findings, "", &["missing required property 'name'"]);
    // Depth 1: properties.
    let source = lab_with("hardwareProfile: {", "hardwareProfil: {");
    let findings = checker.check(&source);
    assert_error(
        &findings,
        &line_of(&source, "hardwareProfil"),
        &[
            "properties.hardwareProfil",
            "unknown property",
            "did you mean 'hardwareProfile'?",
        ],
    );
    // Depth 4: properties.storageProfile.osDisk.managedDisk.
    let source = lab_with("storageAccountType:", "storageAccountTyp:");
    let findings = checker.check(&source);
    assert_error(
        &findings,
        &line_of(&source, "storageAccountTyp:"),
        &[
            "properties.storageProfile.osDisk.managedDisk.storageAccountTyp",
            "unknown property",
        ],
    );
    // Inside an array item, and in the extension and the schedule.
    let source = lab_with("destinationPortRange: '22'", "destinationPortRanges: '22'");
    let findings = checker.check(&source);
    assert_error(
        &findings,
        &line_of(&source, "destinationPortRanges"),
        &["securityRules[1].properties.destinationPortRanges"],
    );
    let source = lab_with("typeHandlerVersion:", "typeHandlerVer:");
    assert_error(
        &checker.check(&source),
        &line_of(&source, "typeHandlerVer:"),
        &["resource 'setup'", "unknown property"],
    );
    let source = lab_with("targetResourceId:", "targetResourceID:");
    assert_error(
        &checker.check(&source),
        &line_of(&source, "targetResourceID"),
        &["resource 'shutdown'", "unknown property"],
    );
}

#[test]
fn missing_required_properties_fail() {
    let Some(checker) = checker() else { return };
    let source = lab_with("        createOption: 'FromImage'\n", "");
    let findings = checker.check(&source);
    assert_error(
        &findings,
        "",
        &[
            "properties.storageProfile.osDisk",
            "missing required property 'createOption'",
        ],
    );
    let source = lab_with("  location: location\n  tags: {", "  tags: {");
    let findings = checker.check(&source);
    assert_error(
        &findings,
        "",
        &["resource 'vm'", "missing required property 'location'"],
    );
    assert_eq!(errors(&findings).len(), 1, "{}", render(&findings));
}

#[test]
fn wrong_literal_types_fail() {
    let Some(checker) = checker() else { return };
    let source = lab_with("diskSizeGB: 128", "diskSizeGB: '128'");
    let findings = checker.check(&source);
    assert_error(
        &findings,
        &line_of(&source, "diskSizeGB"),
        &["osDisk.diskSizeGB", "expected an integer, got a string"],
    );
    let source = lab_with("priority: 1000", "priority: '1000'");
    assert_error(
        &checker.check(&source),
        &line_of(&source, "priority: '1000'"),
        &["expected an integer"],
    );
    let source = lab_with(
        "enableAutomaticUpdates: true",
        "enableAutomaticUpdates: 'yes'",
    );
    assert_error(
        &checker.check(&source),
        &line_of(&source, "enableAutomaticUpdates"),
        &["expected a boolean"],
    );
    let source = lab_with("timeInMinutes: 30", "timeInMinutes: {}");
    assert_error(
        &checker.check(&source),
        &line_of(&source, "timeInMinutes"),
        &["expected an integer, got an object"],
    );
    let source = lab_with(
        "      addressPrefixes: [\n        '10.10.0.0/16'\n      ]",
        "      addressPrefixes: '10.10.0.0/16'",
    );
    assert_error(
        &checker.check(&source),
        &line_of(&source, "addressPrefixes"),
        &["expected an array, got a string"],
    );
}

#[test]
fn enums_closed_and_open() {
    let Some(checker) = checker() else { return };
    // Closed union: 'None' | 'ReadOnly' | 'ReadWrite'.
    let source = lab_with("caching: 'ReadWrite'", "caching: 'ReadAndWrite'");
    let findings = checker.check(&source);
    assert_error(
        &findings,
        &line_of(&source, "ReadAndWrite"),
        &["'ReadAndWrite' is not an allowed value", "'ReadWrite'"],
    );
    let source = lab_with("caching: 'ReadWrite'", "caching: 'readwrite'");
    assert_error(
        &checker.check(&source),
        &line_of(&source, "readwrite"),
        &["did you mean 'ReadWrite'?"],
    );
    // Open unions accept any string: a v5 size and securityType 'Standard' at 2024-07-01.
    let source = lab_with("vmSize: vmSize", "vmSize: 'Standard_D2s_v5'");
    assert!(
        checker.check(&source).is_empty(),
        "{}",
        render(&checker.check(&source))
    );
    let source = lab_with(
        "    diagnosticsProfile: {",
        "    securityProfile: {\n      securityType: 'Standard'\n    }\n    diagnosticsProfile: {",
    );
    assert!(
        checker.check(&source).is_empty(),
        "{}",
        render(&checker.check(&source))
    );
}

#[test]
fn unknown_type_or_api_version_fails() {
    let Some(checker) = checker() else { return };
    let source = lab_with(
        "virtualMachines@2024-07-01' = {",
        "virtualMachines@2024-07-15' = {",
    );
    let findings = checker.check(&source);
    assert_error(
        &findings,
        &line_of(&source, "2024-07-15"),
        &[
            "no Bicep type data for Microsoft.Compute/virtualMachines@2024-07-15",
            "2024-07-01, 2025-11-01",
        ],
    );
    let source = lab_with(
        "Microsoft.DevTestLab/schedules@",
        "Microsoft.DevTestLab/schedule@",
    );
    assert_error(
        &checker.check(&source),
        &line_of(&source, "schedule@"),
        &["type not in the reference data"],
    );
    let source = lab_with(
        "Microsoft.DevTestLab/schedules@2018-09-15",
        "Microsoft.DevTestLab/schedules",
    );
    assert_error(
        &checker.check(&source),
        &line_of(&source, "DevTestLab"),
        &["has no @apiVersion"],
    );
}

#[test]
fn syntax_errors_are_reported_with_positions() {
    let Some(checker) = checker() else { return };
    // Unclosed brace: the `}` closing the NSG rule's properties is dropped.
    let source = lab_with(
        "          destinationAddressPrefix: '*'\n        }\n      }\n      {",
        "          destinationAddressPrefix: '*'\n      }\n      {",
    );
    let findings = checker.check(&source);
    assert!(
        findings
            .iter()
            .any(|f| f.is_error() && f.message.starts_with("syntax error")),
        "{}",
        render(&findings)
    );
    if std::env::var_os("BICEP_SHOW").is_some() {
        eprintln!("{}", render(&findings));
    }
    // Unclosed string and interpolation.
    let findings = checker.check(&lab_with("name: '${vmName}-pip'", "name: '${vmName-pip'"));
    assert!(
        findings
            .iter()
            .any(|f| f.message.starts_with("syntax error")),
        "{}",
        render(&findings)
    );
    let findings = checker.check("param x string = 'abc\n");
    assert!(
        findings
            .iter()
            .any(|f| f.message.starts_with("syntax error")),
        "{}",
        render(&findings)
    );
    let findings = checker
        .check("resource r 'Microsoft.Network/virtualNetworks@2024-05-01' = {\n  name: 'v'\n");
    assert_error(
        &findings,
        "1:",
        &["syntax error", "not closed at the end of the file"],
    );
}

#[test]
fn read_only_and_meta_properties() {
    let Some(checker) = checker() else { return };
    let source = lab_with(
        "  name: '${vmName}-pip'\n",
        "  name: '${vmName}-pip'\n  etag: 'x'\n",
    );
    assert_error(
        &checker.check(&source),
        &line_of(&source, "etag"),
        &["etag: read-only property"],
    );
    let source = lab_with(
        "      status: 'Disabled'\n",
        "      status: 'Disabled'\n      dependsOn: []\n",
    );
    assert_error(
        &checker.check(&source),
        &line_of(&source, "dependsOn: []"),
        &["unknown property 'dependsOn'"],
    );
    let source = lab_with(
        "  parent: vm\n",
        "  parent: vm\n  dependsOn: [\n    nic\n  ]\n",
    );
    assert!(
        checker.check(&source).is_empty(),
        "{}",
        render(&checker.check(&source))
    );
}

#[test]
fn nested_conditional_loop_and_existing_resources() {
    let Some(checker) = checker() else { return };
    let nested = LAB.replace(
        "resource setup 'Microsoft.Compute/virtualMachines/extensions@2024-07-01' = {\n  parent: vm\n",
        "resource setupOuter 'Microsoft.Compute/virtualMachines/extensions@2024-07-01' = {\n  parent: vm\n",
    );
    assert!(checker.check(&nested).is_empty());
    // The extension declared inside the VM body.
    let inner = "  resource cse 'extensions' = {\n    name: 'cse'\n    location: location\n    properties: {\n      publisher: 'Microsoft.Compute'\n      type: 'CustomScriptExtension'\n      typeHandlerVersion: '1.10'\n    }\n  }\n}\n\nresource setup ";
    let source = lab_with("}\n\nresource setup ", inner);
    assert!(
        checker.check(&source).is_empty(),
        "{}",
        render(&checker.check(&source))
    );
    let typo = source.replacen(
        "      typeHandlerVersion: '1.10'\n    }\n  }",
        "      typeHandlerVersio: '1.10'\n    }\n  }",
        1,
    );
    assert_error(
        &checker.check(&typo),
        &line_of(&typo, "typeHandlerVersio:"),
        &["resource 'cse' (Microsoft.Compute/virtualMachines/extensions@2024-07-01)"],
    );
    // Conditional body.
    let source = lab_with(
        "resource shutdown 'Microsoft.DevTestLab/schedules@2018-09-15' = {",
        "param deploySchedule bool = true\nresource shutdown 'Microsoft.DevTestLab/schedules@2018-09-15' = if (deploySchedule) {",
    );
    assert!(
        checker.check(&source).is_empty(),
        "{}",
        render(&checker.check(&source))
    );
    let typo = source.replacen("taskType:", "taskTyp:", 1);
    assert_error(
        &checker.check(&typo),
        &line_of(&typo, "taskTyp:"),
        &["resource 'shutdown'", "did you mean 'taskType'?"],
    );
    // Loop body.
    let looped = "param ports array = [\n  3389\n  22\n]\nresource rules 'Microsoft.Network/networkSecurityGroups/securityRules@2024-05-01' = [for (port, i) in ports: {\n  parent: nsg\n  name: 'allow-${port}'\n  properties: {\n    priority: 2000 + i\n    access: 'Allow'\n    direction: 'Inbound'\n    protocol: 'Tcp'\n    sourcePortRange: '*'\n    destinationPortRange: string(port)\n    sourceAddressPrefix: '*'\n    destinationAddressPrefix: '*'\n  }\n}]\n";
    let source = format!("{LAB}\n{looped}");
    assert!(
        checker.check(&source).is_empty(),
        "{}",
        render(&checker.check(&source))
    );
    let typo = source.replacen("    access: 'Allow'\n    direction: 'Inbound'\n    protocol: 'Tcp'\n    sourcePortRange: '*'\n    destinationPortRange: string", "    acess: 'Allow'\n    direction: 'Inbound'\n    protocol: 'Tcp'\n    sourcePortRange: '*'\n    destinationPortRange: string", 1);
    let findings = checker.check(&typo);
    assert_error(
        &findings,
        &line_of(&typo, "acess"),
        &["resource 'rules'", "unknown property 'acess'"],
    );
    assert_error(
        &findings,
        "",
        &["resource 'rules'", "missing required property 'access'"],
    );
    // Existing resources: names only.
    let existing = "resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' existing = {\n  name: 'rg-lab'\n  scope: subscription()\n}\n";
    assert!(
        checker.check(existing).is_empty(),
        "{}",
        render(&checker.check(existing))
    );
    let typo = existing.replace("  name:", "  nam:");
    assert_error(&checker.check(&typo), "2:", &["unknown property 'nam'"]);
}

#[test]
fn target_scope_is_respected() {
    let Some(checker) = checker() else { return };
    let rg = "resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {\n  name: 'rg-lab'\n  location: 'westeurope'\n}\n";
    assert_error(
        &checker.check(rg),
        "1:",
        &["cannot be deployed at targetScope 'resourceGroup'"],
    );
    let sub = format!("targetScope = 'subscription'\n{rg}");
    assert!(
        checker.check(&sub).is_empty(),
        "{}",
        render(&checker.check(&sub))
    );
}

#[test]
fn findings_are_sorted_by_position() {
    let Some(checker) = checker() else { return };
    let source = lab_with("caching: 'ReadWrite'", "caching: 'x'").replacen(
        "priority: 1000",
        "priority: 'x'",
        1,
    );
    let findings = checker.check(&source);
    assert_eq!(findings.len(), 2, "{}", render(&findings));
    assert!(
        findings[0].message.contains("priority") && findings[1].message.contains("caching"),
        "{}",
        render(&findings)
    );
}

/// Timing report: `cargo test bicep_timing -- --nocapture --ignored`.
#[test]
#[ignore = "timing report, run on demand"]
fn bicep_timing() {
    let started = Instant::now();
    let Some(dir) = conformance_reference() else {
        return;
    };
    let checker = BicepChecker::load(&dir).unwrap_or_else(|err| panic!("{err}"));
    let loaded = started.elapsed();
    let rounds: u32 = 20;
    let started = Instant::now();
    for _ in 0..rounds {
        assert!(checker.check(LAB).is_empty());
    }
    eprintln!(
        "Bicep: load {loaded:?}, check (lab) {:?}",
        started.elapsed() / rounds
    );
}
