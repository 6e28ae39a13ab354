//! The hourly cost of a lab, from a price list the user fetched from the Azure Retail Prices API.
//!
//! Why this module exists, and why it reads a file instead of shipping a table: list prices
//! change, differ by region, and wcigen is built where the price API cannot be reached, so any
//! table compiled into wcigen would be unverified and silently stale. Instead the generated
//! README gives the exact price-list URL for the lab's size and region ([`price_list_url`]);
//! `wcigen render --prices FILE` reads the answer saved from it and puts the estimate, with its
//! source and effective date, into the README. Only [`estimate`] builds an [`HourlyPrice`], and
//! only for the lab it was checked against.
//!
//! The answer's shape (`Items`, and per item `armSkuName`, `armRegionName`, `type`,
//! `productName`, `skuName`, `unitOfMeasure`, `retailPrice`, `currencyCode`,
//! `effectiveStartDate`) is the one the Retail Prices API documents.

use serde::Deserialize;

use crate::diag::{Diagnostic, DiagnosticKind};
use crate::source::{FieldPath, Position, SourceFile};
use crate::validate::ValidLab;

/// The unauthenticated Azure Retail Prices API.
pub const RETAIL_PRICES_API: &str = "https://prices.azure.com/api/retail/prices";

/// Hours in a month as Azure's pricing calculator counts them.
pub const HOURS_PER_MONTH: u32 = 730;

/// Hours of a lab day, for the per-day figure.
pub const HOURS_PER_LAB_DAY: u32 = 8;

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

/// One answer (page) of the Retail Prices API.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PricePage {
    items: Vec<PriceItem>,
    #[serde(default)]
    next_page_link: Option<String>,
}

/// One price of the answer; fields the estimate does not use are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct PriceItem {
    arm_sku_name: String,
    arm_region_name: String,
    #[serde(rename = "type")]
    price_type: String,
    service_name: String,
    product_name: String,
    sku_name: String,
    unit_of_measure: String,
    retail_price: f64,
    currency_code: String,
    effective_start_date: String,
}

impl PriceItem {
    /// A pay-as-you-go hourly Windows price (licence included) of a regular, evictable-free VM.
    fn is_windows_pay_as_you_go(&self) -> bool {
        self.price_type == "Consumption"
            && self.service_name == "Virtual Machines"
            && self.unit_of_measure == "1 Hour"
            && self.product_name.ends_with(" Windows")
            && !self.sku_name.contains("Spot")
            && !self.sku_name.contains("Low Priority")
    }
}

/// The hourly pay-as-you-go compute price of a lab's VM (Windows licence included).
#[derive(Clone, Debug, PartialEq)]
pub struct HourlyPrice {
    size: String,
    region: String,
    per_hour: f64,
    currency: String,
    effective: String,
}

impl HourlyPrice {
    /// The VM size this price is for.
    #[must_use]
    pub fn size(&self) -> &str {
        &self.size
    }

    /// The region this price is for.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Price of one hour.
    #[must_use]
    pub fn per_hour(&self) -> f64 {
        self.per_hour
    }

    /// ISO 4217 currency code, e.g. `USD`.
    #[must_use]
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// The day the price took effect (`YYYY-MM-DD`).
    #[must_use]
    pub fn effective(&self) -> &str {
        &self.effective
    }
}

/// Find the lab's hourly Windows pay-as-you-go price in a saved Retail Prices API answer.
///
/// # Errors
/// Diagnostics located in the price file: not JSON, not a Retail Prices answer, a matching
/// item with an unusable price, currency or date, no matching item, or two that disagree.
pub fn estimate(source: &SourceFile, lab: &ValidLab) -> Result<HourlyPrice, Vec<Diagnostic>> {
    let spec = lab.spec();
    let size = spec.vm.size.as_str();
    let region = spec.azure.location.as_str();
    let page: PricePage = serde_json::from_str(&source.text).map_err(|e| {
        let position = (e.line() > 0).then(|| Position {
            line: e.line(),
            column: e.column().max(1),
        });
        let kind = if e.is_data() {
            DiagnosticKind::PricesNotRetailPrices {
                reason: strip_position(&e.to_string()),
            }
        } else {
            DiagnosticKind::PricesNotJson {
                reason: strip_position(&e.to_string()),
            }
        };
        vec![Diagnostic::positioned(kind, position)]
    })?;

    let mut matches: Vec<(usize, &PriceItem)> = page
        .items
        .iter()
        .enumerate()
        .filter(|(_, item)| {
            item.is_windows_pay_as_you_go()
                && item.arm_sku_name.eq_ignore_ascii_case(size)
                && item.arm_region_name.eq_ignore_ascii_case(region)
        })
        .collect();
    if matches.is_empty() {
        let mut available: Vec<String> = page
            .items
            .iter()
            .filter(|item| item.is_windows_pay_as_you_go())
            .map(|item| format!("{} in {}", item.arm_sku_name, item.arm_region_name))
            .collect();
        available.sort();
        available.dedup();
        return Err(vec![Diagnostic::at_key(
            FieldPath::root().key("Items"),
            DiagnosticKind::PricesNoMatch {
                size: size.to_string(),
                region: region.to_string(),
                available,
                more_pages: page.next_page_link.is_some_and(|l| !l.is_empty()),
            },
        )]);
    }
    // The newest price is the one in force.
    matches.sort_by(|a, b| b.1.effective_start_date.cmp(&a.1.effective_start_date));
    let (index, item) = matches[0];
    let item_path = FieldPath::root().key("Items").index(index);
    if let Some((other, _)) = matches[1..].iter().find(|(_, o)| {
        o.effective_start_date == item.effective_start_date
            && (o.retail_price != item.retail_price || o.currency_code != item.currency_code)
    }) {
        return Err(vec![Diagnostic::at(
            FieldPath::root().key("Items").index(*other),
            DiagnosticKind::PricesAmbiguous {
                first: index,
                second: *other,
            },
        )]);
    }
    if !(item.retail_price.is_finite() && item.retail_price > 0.0) {
        return Err(vec![Diagnostic::at(
            item_path.key("retailPrice"),
            DiagnosticKind::PricesField {
                field: "retailPrice",
                value: item.retail_price.to_string(),
                expected: "a positive number",
            },
        )]);
    }
    if !(item.currency_code.len() == 3
        && item.currency_code.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(vec![Diagnostic::at(
            item_path.key("currencyCode"),
            DiagnosticKind::PricesField {
                field: "currencyCode",
                value: item.currency_code.clone(),
                expected: "a three-letter currency code such as `USD`",
            },
        )]);
    }
    let Some(effective) = iso_date(&item.effective_start_date) else {
        return Err(vec![Diagnostic::at(
            item_path.key("effectiveStartDate"),
            DiagnosticKind::PricesField {
                field: "effectiveStartDate",
                value: item.effective_start_date.clone(),
                expected: "a date such as `2024-01-01T00:00:00Z`",
            },
        )]);
    };
    Ok(HourlyPrice {
        size: size.to_string(),
        region: region.to_string(),
        per_hour: item.retail_price,
        currency: item.currency_code.clone(),
        effective: effective.to_string(),
    })
}

/// The `YYYY-MM-DD` that starts an ISO 8601 date-time, when it is one.
fn iso_date(text: &str) -> Option<&str> {
    let date = text.get(..10)?;
    let b = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let rest_ok = text.len() == 10 || text.as_bytes()[10] == b'T';
    (digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10) && rest_ok)
        .then_some(date)
}

/// serde_json appends " at line L column C"; the diagnostic states the position itself.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_is_percent_encoded_and_quote_free() {
        let url = price_list_url("Standard_E2s_v3", "westeurope");
        assert_eq!(
            url,
            "https://prices.azure.com/api/retail/prices?$filter=serviceName%20eq%20%27Virtual%20Machines%27%20and%20armSkuName%20eq%20%27Standard_E2s_v3%27%20and%20armRegionName%20eq%20%27westeurope%27%20and%20priceType%20eq%20%27Consumption%27"
        );
        // One word with the same meaning in sh and PowerShell once single-quoted: no quote,
        // no backtick, no whitespace.
        assert!(url
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~%:/?$=".contains(c)));
    }

    #[test]
    fn dates_are_checked() {
        assert_eq!(iso_date("2024-01-01T00:00:00Z"), Some("2024-01-01"));
        assert_eq!(iso_date("2024-01-01"), Some("2024-01-01"));
        assert_eq!(iso_date("2024-1-01T00"), None);
        assert_eq!(iso_date("yesterday"), None);
        assert_eq!(iso_date("2024-01-01 and more"), None);
    }
}
