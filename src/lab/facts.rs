//! Azure and Windows facts that validation checks a lab against, and the Azure Retail Prices
//! API's price-list URL (which the price reader, the README and the diagnostics share).
//!
//! These are data, not logic, so that a reviewer can compare them with their sources
//! (`../shared/research/anchors.md` §4) and a maintainer can extend them without touching rules.

/// Azure public-cloud region names (`az account list-locations`).
pub const REGIONS: &[&str] = &[
    "australiacentral",
    "australiacentral2",
    "australiaeast",
    "australiasoutheast",
    "austriaeast",
    "belgiumcentral",
    "brazilsouth",
    "brazilsoutheast",
    "canadacentral",
    "canadaeast",
    "centralindia",
    "centralus",
    "chilecentral",
    "denmarkeast",
    "eastasia",
    "eastus",
    "eastus2",
    "francecentral",
    "francesouth",
    "germanynorth",
    "germanywestcentral",
    "indonesiacentral",
    "israelcentral",
    "italynorth",
    "japaneast",
    "japanwest",
    "jioindiacentral",
    "jioindiawest",
    "koreacentral",
    "koreasouth",
    "malaysiawest",
    "mexicocentral",
    "newzealandnorth",
    "northcentralus",
    "northeurope",
    "norwayeast",
    "norwaywest",
    "polandcentral",
    "qatarcentral",
    "southafricanorth",
    "southafricawest",
    "southcentralus",
    "southeastasia",
    "southindia",
    "spaincentral",
    "swedencentral",
    "swedensouth",
    "switzerlandnorth",
    "switzerlandwest",
    "uaecentral",
    "uaenorth",
    "uksouth",
    "ukwest",
    "westcentralus",
    "westeurope",
    "westindia",
    "westus",
    "westus2",
    "westus3",
];

/// The 32 administrator user names Azure refuses for Windows VMs (azurerm
/// `windows_admin_username.go`; `OSProfile.adminUsername` docs). Compared case-insensitively.
pub const RESERVED_USERNAMES: &[&str] = &[
    "administrator",
    "admin",
    "user",
    "user1",
    "test",
    "user2",
    "test1",
    "user3",
    "admin1",
    "1",
    "123",
    "a",
    "actuser",
    "adm",
    "admin2",
    "aspnet",
    "backup",
    "console",
    "david",
    "guest",
    "john",
    "owner",
    "root",
    "server",
    "sql",
    "support",
    "support_388945a0",
    "sys",
    "test2",
    "test3",
    "user4",
    "user5",
];

/// Accounts every Windows Server image already has (besides `administrator` and `guest`, which
/// Azure's list above holds): a VM cannot be created with one of them as its administrator.
/// Compared case-insensitively.
pub const BUILT_IN_ACCOUNTS: &[&str] = &[
    "administrator",
    "guest",
    "defaultaccount",
    "wdagutilityaccount",
];

/// What wcigen knows about a VM size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeInfo {
    /// Accepts Generation 2 images (every lab image is Gen2).
    pub gen2: bool,
    /// Exposes VT-x/EPT to the guest, so the `Hyper-V` feature works inside the VM.
    pub nested_virtualization: bool,
    /// vCPUs.
    pub vcpus: u32,
    /// Memory in GiB.
    pub memory_gib: u32,
}

/// A family of sizes sharing capabilities: `Standard_<prefix><vcpus><suffix>`.
struct Family {
    prefix: &'static str,
    suffix: &'static str,
    vcpus: &'static [u32],
    gib_per_vcpu: u32,
    gen2: bool,
    nested: bool,
}

/// Size families (Microsoft Learn size pages and the Generation 2 support list; Intel v3-v5
/// D/E families document nested virtualization; B, A, F and AMD `a` v4 families do not).
/// Premium-storage `s` v3 sizes take Gen2 images; the plain v3 sizes are Generation 1 only.
const FAMILIES: &[Family] = &[
    Family {
        prefix: "D",
        suffix: "s_v3",
        vcpus: &[2, 4, 8, 16, 32, 48, 64],
        gib_per_vcpu: 4,
        gen2: true,
        nested: true,
    },
    Family {
        prefix: "D",
        suffix: "_v3",
        vcpus: &[2, 4, 8, 16, 32, 48, 64],
        gib_per_vcpu: 4,
        gen2: false,
        nested: true,
    },
    Family {
        prefix: "E",
        suffix: "s_v3",
        vcpus: &[2, 4, 8, 16, 20, 32, 48, 64],
        gib_per_vcpu: 8,
        gen2: true,
        nested: true,
    },
    Family {
        prefix: "E",
        suffix: "_v3",
        vcpus: &[2, 4, 8, 16, 20, 32, 48, 64],
        gib_per_vcpu: 8,
        gen2: false,
        nested: true,
    },
    Family {
        prefix: "D",
        suffix: "_v4",
        vcpus: &[2, 4, 8, 16, 32, 48, 64],
        gib_per_vcpu: 4,
        gen2: true,
        nested: true,
    },
    Family {
        prefix: "D",
        suffix: "s_v4",
        vcpus: &[2, 4, 8, 16, 32, 48, 64],
        gib_per_vcpu: 4,
        gen2: true,
        nested: true,
    },
    Family {
        prefix: "D",
        suffix: "ds_v4",
        vcpus: &[2, 4, 8, 16, 32, 48, 64],
        gib_per_vcpu: 4,
        gen2: true,
        nested: true,
    },
    Family {
        prefix: "E",
        suffix: "_v4",
        vcpus: &[2, 4, 8, 16, 20, 32, 48, 64],
        gib_per_vcpu: 8,
        gen2: true,
        nested: true,
    },
    Family {
        prefix: "E",
        suffix: "s_v4",
        vcpus: &[2, 4, 8, 16, 20, 32, 48, 64],
        gib_per_vcpu: 8,
        gen2: true,
        nested: true,
    },
    Family {
        prefix: "E",
        suffix: "ds_v4",
        vcpus: &[2, 4, 8, 16, 20, 32, 48, 64],
        gib_per_vcpu: 8,
        gen2: true,
        nested: true,
    },
    Family {
        prefix: "D",
        suffix: "_v5",
        vcpus: &[2, 4, 8, 16, 32, 48, 64, 96],
        gib_per_vcpu: 4,
        gen2: true,
        nested: true,
    },
    Family {
        prefix: "D",
        suffix: "s_v5",
        vcpus: &[2, 4, 8, 16, 32, 48, 64, 96],
        gib_per_vcpu: 4,
        gen2: true,
        nested: true,
    },
    Family {
        prefix: "D",
        suffix: "ds_v5",
        vcpus: &[2, 4, 8, 16, 32, 48, 64, 96],
        gib_per_vcpu: 4,
        gen2: true,
        nested: true,
    },
    Family {
        prefix: "E",
        suffix: "_v5",
        vcpus: &[2, 4, 8, 16, 20, 32, 48, 64, 96],
        gib_per_vcpu: 8,
        gen2: true,
        nested: true,
    },
    Family {
        prefix: "E",
        suffix: "s_v5",
        vcpus: &[2, 4, 8, 16, 20, 32, 48, 64, 96],
        gib_per_vcpu: 8,
        gen2: true,
        nested: true,
    },
    Family {
        prefix: "E",
        suffix: "ds_v5",
        vcpus: &[2, 4, 8, 16, 20, 32, 48, 64, 96],
        gib_per_vcpu: 8,
        gen2: true,
        nested: true,
    },
    Family {
        prefix: "E",
        suffix: "as_v4",
        vcpus: &[2, 4, 8, 16, 20, 32, 48, 64, 96],
        gib_per_vcpu: 8,
        gen2: true,
        nested: false,
    },
    Family {
        prefix: "F",
        suffix: "s_v2",
        vcpus: &[2, 4, 8, 16, 32, 48, 64, 72],
        gib_per_vcpu: 2,
        gen2: true,
        nested: false,
    },
    Family {
        prefix: "A",
        suffix: "_v2",
        vcpus: &[1, 2, 4, 8],
        gib_per_vcpu: 2,
        gen2: false,
        nested: false,
    },
];

/// B-series burstable sizes: Gen2, no nested virtualization.
const B_SERIES: &[(&str, u32, u32)] = &[
    ("B1s", 1, 1),
    ("B1ms", 1, 2),
    ("B2s", 2, 4),
    ("B2ms", 2, 8),
    ("B4ms", 4, 16),
    ("B8ms", 8, 32),
    ("B12ms", 12, 48),
    ("B16ms", 16, 64),
    ("B20ms", 20, 80),
];

/// Look a size up in the table (exact, case-sensitive Azure spelling).
#[must_use]
pub fn size_info(size: &str) -> Option<SizeInfo> {
    let rest = size.strip_prefix("Standard_")?;
    for (name, vcpus, memory_gib) in B_SERIES {
        if rest == *name {
            return Some(SizeInfo {
                gen2: true,
                nested_virtualization: false,
                vcpus: *vcpus,
                memory_gib: *memory_gib,
            });
        }
    }
    for family in FAMILIES {
        let Some(middle) = rest
            .strip_prefix(family.prefix)
            .and_then(|r| r.strip_suffix(family.suffix))
        else {
            continue;
        };
        if let Ok(vcpus) = middle.parse::<u32>() {
            if family.vcpus.contains(&vcpus) {
                return Some(SizeInfo {
                    gen2: family.gen2,
                    nested_virtualization: family.nested,
                    vcpus,
                    memory_gib: vcpus * family.gib_per_vcpu,
                });
            }
        }
    }
    None
}

/// Every size in the table, for "did you mean" suggestions.
#[must_use]
pub fn known_sizes() -> Vec<String> {
    let mut sizes: Vec<String> = B_SERIES
        .iter()
        .map(|(n, ..)| format!("Standard_{n}"))
        .collect();
    for family in FAMILIES {
        for vcpus in family.vcpus {
            sizes.push(format!(
                "Standard_{}{vcpus}{}",
                family.prefix, family.suffix
            ));
        }
    }
    sizes
}

/// Windows time zone ids (`tzutil /l`, the ids `timeZoneId` and `timezone` accept).
pub const WINDOWS_TIME_ZONES: &[&str] = &[
    "Dateline Standard Time",
    "UTC-11",
    "Aleutian Standard Time",
    "Hawaiian Standard Time",
    "Marquesas Standard Time",
    "Alaskan Standard Time",
    "UTC-09",
    "Pacific Standard Time (Mexico)",
    "UTC-08",
    "Pacific Standard Time",
    "US Mountain Standard Time",
    "Mountain Standard Time (Mexico)",
    "Mountain Standard Time",
    "Yukon Standard Time",
    "Central America Standard Time",
    "Central Standard Time",
    "Easter Island Standard Time",
    "Central Standard Time (Mexico)",
    "Canada Central Standard Time",
    "SA Pacific Standard Time",
    "Eastern Standard Time (Mexico)",
    "Eastern Standard Time",
    "Haiti Standard Time",
    "Cuba Standard Time",
    "US Eastern Standard Time",
    "Turks And Caicos Standard Time",
    "Paraguay Standard Time",
    "Atlantic Standard Time",
    "Venezuela Standard Time",
    "Central Brazilian Standard Time",
    "SA Western Standard Time",
    "Pacific SA Standard Time",
    "Newfoundland Standard Time",
    "Tocantins Standard Time",
    "E. South America Standard Time",
    "SA Eastern Standard Time",
    "Argentina Standard Time",
    "Greenland Standard Time",
    "Montevideo Standard Time",
    "Magallanes Standard Time",
    "Saint Pierre Standard Time",
    "Bahia Standard Time",
    "UTC-02",
    "Mid-Atlantic Standard Time",
    "Azores Standard Time",
    "Cape Verde Standard Time",
    "UTC",
    "GMT Standard Time",
    "Greenwich Standard Time",
    "Sao Tome Standard Time",
    "Morocco Standard Time",
    "W. Europe Standard Time",
    "Central Europe Standard Time",
    "Romance Standard Time",
    "Central European Standard Time",
    "W. Central Africa Standard Time",
    "Jordan Standard Time",
    "GTB Standard Time",
    "Middle East Standard Time",
    "Egypt Standard Time",
    "E. Europe Standard Time",
    "Syria Standard Time",
    "West Bank Standard Time",
    "South Africa Standard Time",
    "FLE Standard Time",
    "Israel Standard Time",
    "South Sudan Standard Time",
    "Kaliningrad Standard Time",
    "Sudan Standard Time",
    "Libya Standard Time",
    "Namibia Standard Time",
    "Arabic Standard Time",
    "Turkey Standard Time",
    "Arab Standard Time",
    "Belarus Standard Time",
    "Russian Standard Time",
    "E. Africa Standard Time",
    "Volgograd Standard Time",
    "Iran Standard Time",
    "Arabian Standard Time",
    "Astrakhan Standard Time",
    "Azerbaijan Standard Time",
    "Russia Time Zone 3",
    "Mauritius Standard Time",
    "Saratov Standard Time",
    "Georgian Standard Time",
    "Caucasus Standard Time",
    "Afghanistan Standard Time",
    "West Asia Standard Time",
    "Qyzylorda Standard Time",
    "Ekaterinburg Standard Time",
    "Pakistan Standard Time",
    "India Standard Time",
    "Sri Lanka Standard Time",
    "Nepal Standard Time",
    "Central Asia Standard Time",
    "Bangladesh Standard Time",
    "Omsk Standard Time",
    "Myanmar Standard Time",
    "SE Asia Standard Time",
    "Altai Standard Time",
    "W. Mongolia Standard Time",
    "North Asia Standard Time",
    "N. Central Asia Standard Time",
    "Tomsk Standard Time",
    "China Standard Time",
    "North Asia East Standard Time",
    "Singapore Standard Time",
    "W. Australia Standard Time",
    "Taipei Standard Time",
    "Ulaanbaatar Standard Time",
    "Aus Central W. Standard Time",
    "Transbaikal Standard Time",
    "Tokyo Standard Time",
    "North Korea Standard Time",
    "Korea Standard Time",
    "Yakutsk Standard Time",
    "Cen. Australia Standard Time",
    "AUS Central Standard Time",
    "E. Australia Standard Time",
    "AUS Eastern Standard Time",
    "West Pacific Standard Time",
    "Tasmania Standard Time",
    "Vladivostok Standard Time",
    "Lord Howe Standard Time",
    "Bougainville Standard Time",
    "Russia Time Zone 10",
    "Magadan Standard Time",
    "Norfolk Standard Time",
    "Sakhalin Standard Time",
    "Central Pacific Standard Time",
    "Russia Time Zone 11",
    "New Zealand Standard Time",
    "UTC+12",
    "Fiji Standard Time",
    "Kamchatka Standard Time",
    "Chatham Islands Standard Time",
    "UTC+13",
    "Tonga Standard Time",
    "Samoa Standard Time",
    "Line Islands Standard Time",
];

/// The closest candidate to `value` by edit distance, if it is close enough to be a typo.
#[must_use]
pub fn suggest<'a, I>(value: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = value.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        let other = candidate.to_lowercase();
        let similarity = strsim::jaro_winkler(&lower, &other);
        let edits = strsim::osa_distance(&lower, &other);
        let close_by_edits = edits <= (lower.chars().count().max(other.chars().count()) / 3).max(1);
        let score = if close_by_edits {
            similarity.max(0.9) + 0.05
        } else {
            similarity
        };
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.filter(|(score, _)| *score >= 0.85)
        .map(|(_, c)| c.to_string())
}

/// Regions where Microsoft documented the Bastion Developer SKU (the 2023 list, the only
/// explicit one: MicrosoftDocs/azure-docs `includes/bastion-developer-sku-regions.md`; today's
/// docs say "select regions"). Elsewhere wcigen warns rather than refuses.
pub const BASTION_DEVELOPER_REGIONS: [&str; 6] = [
    "centraluseuap",
    "eastus2euap",
    "westcentralus",
    "northcentralus",
    "westus",
    "northeurope",
];

// ---------------------------------------------------------------------------------------------
// The Azure Retail Prices API (what `render --prices` reads; the README and diagnostics give
// the URL)

/// The unauthenticated Azure Retail Prices API.
pub const RETAIL_PRICES_API: &str = "https://prices.azure.com/api/retail/prices";

/// The price-list URL for a VM size in a region: pay-as-you-go meters only, percent-encoded so
/// that it is one word with the same meaning in POSIX shells and PowerShell (`'` is `%27`).
#[must_use]
pub fn price_list_url(size: &str, region: &str) -> String {
    let filter = format!(
        "serviceName eq 'Virtual Machines' and armSkuName eq '{size}' and armRegionName eq '{region}' and priceType eq 'Consumption'"
    );
    format!("{RETAIL_PRICES_API}?$filter={}", percent_encode(&filter))
}

/// Percent-encode everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The output folder

/// Name of the manifest file in the output folder.
pub const MANIFEST: &str = ".wcigen-manifest";

/// The files the generated README tells the user to create beside wcigen's files.
pub const USER_FILES: [&str; 2] = ["terraform/terraform.tfvars", "packer/lab.pkrvars.hcl"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_size_is_gen2_with_nested_virtualization() {
        let info = size_info("Standard_E2s_v3").unwrap();
        assert!(info.gen2 && info.nested_virtualization);
        assert_eq!((info.vcpus, info.memory_gib), (2, 16));
        assert!(!size_info("Standard_D2_v3").unwrap().gen2);
        assert!(!size_info("Standard_B2s").unwrap().nested_virtualization);
        assert!(size_info("Standard_E2s_v9").is_none());
    }

    #[test]
    fn reserved_names_are_the_documented_32() {
        assert_eq!(RESERVED_USERNAMES.len(), 32);
    }

    #[test]
    fn suggestions_catch_typos_only() {
        assert_eq!(
            suggest("estus", REGIONS.iter().copied()).as_deref(),
            Some("eastus")
        );
        assert_eq!(suggest("zzzzzz", REGIONS.iter().copied()), None);
        assert_eq!(
            suggest("rpd", ["rdp", "ssh", "winrm-https"]).as_deref(),
            Some("rdp")
        );
    }
}
