//! The hourly cost of a lab, from a price list the user fetched from the Azure Retail Prices API.
//!
//! Why this module exists, and why it reads a file instead of shipping a table: list prices
//! change, differ by region, and wcigen is built where the price API cannot be reached, so any
//! table compiled into wcigen would be unverified and silently stale. Instead the generated
//! README gives the exact price-list URL for the lab's size and region ([`price_list_url`], an
//! Azure fact kept in `facts`);
//! `wcigen render --prices FILE` reads the answer saved from it and puts the estimate, with its
//! source and effective date, into the README. Only [`estimate`] builds an [`HourlyPrice`], and
//! only for the lab it was checked against.
//!
//! The answer's shape (`Items`, and per item `armSkuName`, `armRegionName`, `type`,
//! `productName`, `skuName`, `unitOfMeasure`, `retailPrice`, `currencyCode`,
//! `effectiveStartDate`) is the one the Retail Prices API documents.

use serde::Deserialize;

use crate::diag::{Diagnostic, DiagnosticKind, PriceField};
pub use crate::lab::facts::{price_list_url, RETAIL_PRICES_API};
use crate::lab::source::{FieldPath, Position, SourceFile};
use crate::lab::validate::ValidLab;

/// Hours in a month as Azure's pricing calculator counts them.
pub const HOURS_PER_MONTH: u32 = 730;

/// Hours of a lab day, for the per-day figure.
pub const HOURS_PER_LAB_DAY: u32 = 8;

/// One answer (page) of the Retail Prices API.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PricePage {
    items: Vec<PriceItem>,
    #[serde(default)]
    next_page_link: Option<String>,
}

/// One price of the answer; fields the estimate does not use are ignored. The fields that
/// identify a meter default to empty (such an item just never matches); the three the estimate
/// reads are optional so that a missing one is reported as missing.
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
    retail_price: Option<f64>,
    currency_code: Option<String>,
    effective_start_date: Option<String>,
}

impl PriceItem {
    /// A pay-as-you-go hourly Windows price (licence included) of a regular (not evictable) VM.
    fn is_windows_pay_as_you_go(&self) -> bool {
        self.price_type == "Consumption"
            && self.service_name == "Virtual Machines"
            && self.unit_of_measure == "1 Hour"
            && self.product_name.ends_with(" Windows")
            && !self.sku_name.contains("Spot")
            && !self.sku_name.contains("Low Priority")
    }

    /// The list holds placeholder meters priced 0 (sizes not yet generally available); a
    /// price must be positive to count.
    fn has_positive_price(&self) -> bool {
        self.retail_price.is_some_and(|p| p.is_finite() && p > 0.0)
    }

    fn start_date(&self) -> &str {
        self.effective_start_date.as_deref().unwrap_or_default()
    }
}

/// The highest hourly price accepted, in any currency.
pub const MAX_PRICE_PER_HOUR: f64 = 1_000_000.0;

/// Millionths of a currency unit: the list states prices to six decimals.
const MICROS: u64 = 1_000_000;

/// The hourly pay-as-you-go compute price of a lab's VM (Windows licence included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HourlyPrice {
    size: String,
    region: String,
    micros_per_hour: u64,
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

    /// Price of one hour in millionths of the currency unit (the list's precision).
    #[must_use]
    pub fn micros_per_hour(&self) -> u64 {
        self.micros_per_hour
    }

    /// Price of one hour as listed: at most six decimals, no trailing zeros (`0.218`, `2`).
    #[must_use]
    pub fn per_hour_text(&self) -> String {
        let (units, fraction) = (self.micros_per_hour / MICROS, self.micros_per_hour % MICROS);
        if fraction == 0 {
            return units.to_string();
        }
        let fraction = format!("{fraction:06}");
        format!("{units}.{}", fraction.trim_end_matches('0'))
    }

    /// Price of `hours` hours, rounded half up to the cent (`4.00`).
    #[must_use]
    pub fn for_hours_text(&self, hours: u32) -> String {
        let cents = (self.micros_per_hour * u64::from(hours) + MICROS / 200) / (MICROS / 100);
        format!("{}.{:02}", cents / 100, cents % 100)
    }

    /// The price of `vms` VMs of this size running together (a class), as one hourly price.
    #[must_use]
    pub fn times(&self, vms: u64) -> Self {
        Self {
            micros_per_hour: self.micros_per_hour * vms,
            ..self.clone()
        }
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

/// Find the lab's hourly Windows pay-as-you-go price in a saved Retail Prices API answer: among
/// the items for the lab's size and region, the pay-as-you-go Windows meter with a positive
/// price and the newest effective date.
///
/// # Errors
/// Diagnostics located in the price file: not JSON, not a Retail Prices answer, no matching
/// item, two matching items of the same date that disagree, or a missing or unusable price,
/// currency or date.
pub fn estimate(source: &SourceFile, lab: &ValidLab) -> Result<HourlyPrice, Vec<Diagnostic>> {
    let spec = lab.spec();
    let size = spec.vm.size.as_str();
    let region = spec.azure.location.as_str();
    let page: PricePage = serde_json::from_str(&source.text).map_err(|e| {
        let position = (e.line() > 0).then(|| byte_position(source, e.line(), e.column()));
        let reason = strip_position(&e.to_string());
        let kind = if e.is_data() {
            DiagnosticKind::PricesNotRetailPrices { reason }
        } else {
            DiagnosticKind::PricesNotJson { reason }
        };
        vec![Diagnostic::positioned(kind, position)]
    })?;
    let items = FieldPath::root().key("Items");

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
        let mut available: Vec<(String, String)> = page
            .items
            .iter()
            .filter(|item| item.is_windows_pay_as_you_go())
            .map(|item| (item.arm_sku_name.clone(), item.arm_region_name.clone()))
            .collect();
        available.sort();
        available.dedup();
        return Err(vec![Diagnostic::at_key(
            items,
            DiagnosticKind::PricesNoMatch {
                size: size.to_string(),
                region: region.to_string(),
                available,
                more_pages: page.next_page_link.is_some_and(|l| !l.is_empty()),
            },
        )]);
    }
    // The newest price is the one in force; placeholders priced 0 only when nothing else is.
    matches.sort_by(|a, b| {
        (b.1.has_positive_price(), b.1.start_date())
            .cmp(&(a.1.has_positive_price(), a.1.start_date()))
    });
    let (index, item) = matches[0];
    let item_path = items.index(index);
    let field_problem = |field: PriceField, value: Option<String>| {
        let path = item_path.key(field.key());
        match value {
            Some(value) => {
                Diagnostic::at(path, DiagnosticKind::PricesFieldInvalid { field, value })
            }
            None => Diagnostic::at(
                item_path.clone(),
                DiagnosticKind::PricesFieldMissing { field, item: index },
            ),
        }
    };
    if !item.has_positive_price() {
        return Err(vec![field_problem(
            PriceField::RetailPrice,
            item.retail_price.map(|p| p.to_string()),
        )]);
    }
    // A figure no VM costs (the largest cost some hundred dollars an hour, a few hundred thousand
    // in the weakest currency the API offers) is a broken file, not a price to cap.
    if item.retail_price.is_some_and(|p| p > MAX_PRICE_PER_HOUR) {
        return Err(vec![field_problem(
            PriceField::RetailPrice,
            item.retail_price.map(|p| format!("{p:e}")),
        )]);
    }
    if let Some((other, o)) = matches[1..].iter().find(|(_, o)| {
        o.has_positive_price()
            && o.start_date() == item.start_date()
            && (o.retail_price != item.retail_price || o.currency_code != item.currency_code)
    }) {
        return Err(vec![Diagnostic::at(
            items.index(*other),
            DiagnosticKind::PricesAmbiguous {
                first: index,
                second: *other,
                currencies: o.currency_code != item.currency_code,
                size: size.to_string(),
                region: region.to_string(),
            },
        )]);
    }
    let currency = match &item.currency_code {
        Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => c.clone(),
        other => return Err(vec![field_problem(PriceField::CurrencyCode, other.clone())]),
    };
    let Some(effective) = item.effective_start_date.as_deref().and_then(iso_date) else {
        return Err(vec![field_problem(
            PriceField::EffectiveStartDate,
            item.effective_start_date.clone(),
        )]);
    };
    // Positive and finite (checked above); the list states six decimals at most.
    let micros = (item.retail_price.unwrap_or_default() * 1e6).round();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let micros_per_hour = micros.min(1e15) as u64;
    Ok(HourlyPrice {
        size: size.to_string(),
        region: region.to_string(),
        micros_per_hour,
        currency,
        effective: effective.to_string(),
    })
}

/// serde_json counts columns in bytes; diagnostics count characters.
fn byte_position(source: &SourceFile, line: usize, byte_column: usize) -> Position {
    let line_start: usize = source
        .text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let mut offset = (line_start + byte_column.saturating_sub(1)).min(source.text.len());
    while !source.text.is_char_boundary(offset) {
        offset -= 1;
    }
    source.position_of_byte(offset)
}

/// The `YYYY-MM-DD` that starts an ISO 8601 date-time, when it is a real date.
fn iso_date(text: &str) -> Option<&str> {
    let date = text.get(..10)?;
    let rest_ok = text.len() == 10 || text.as_bytes()[10] == b'T';
    let b = date.as_bytes();
    if !(rest_ok && b[4] == b'-' && b[7] == b'-') {
        return None;
    }
    let number = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &date[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&day).then_some(date)
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
        assert_eq!(iso_date("2024-99-99T00:00:00Z"), None);
        assert_eq!(iso_date("2023-02-29"), None);
        assert_eq!(iso_date("2024-02-29"), Some("2024-02-29"));
        assert_eq!(iso_date("2024-04-31"), None);
        assert_eq!(iso_date("2024-00-10"), None);
        assert_eq!(iso_date("+024-01-01"), None);
        assert_eq!(iso_date("2024-01-0\u{e9}"), None);
    }

    fn price(micros: u64) -> HourlyPrice {
        HourlyPrice {
            size: "Standard_E2s_v3".into(),
            region: "eastus".into(),
            micros_per_hour: micros,
            currency: "USD".into(),
            effective: "2024-01-01".into(),
        }
    }

    #[test]
    fn figures_are_exact_decimal_arithmetic() {
        assert_eq!(price(500_000).per_hour_text(), "0.5");
        assert_eq!(price(2_000_000).per_hour_text(), "2");
        assert_eq!(price(176_346).per_hour_text(), "0.176346");
        assert_eq!(price(500_000).for_hours_text(8), "4.00");
        // Half a cent rounds up (binary floating point would give 92.34 and 8.39).
        assert_eq!(price(126_500).for_hours_text(730), "92.35");
        assert_eq!(price(11_500).for_hours_text(730), "8.40");
        assert_eq!(price(1).for_hours_text(1), "0.00");
    }

    #[test]
    fn byte_columns_become_character_columns() {
        let source = SourceFile {
            path: "p.json".into(),
            text: "{\n  \"a\": \"\u{e9}\u{e9}\", x\n}".into(),
        };
        // serde_json reports the `x` at byte column 16 of line 2; it is character 14.
        let err = serde_json::from_str::<serde_json::Value>(&source.text).unwrap_err();
        assert_eq!((err.line(), err.column()), (2, 16));
        assert_eq!(
            byte_position(&source, 2, 16),
            Position {
                line: 2,
                column: 14
            }
        );
    }
}
