//! Dates and date-times written in another layout than ISO 8601 (`01/31/2012`, `31.01.2012
//! 14:05`), as spreadsheets and US or European exports write them. Arrow's CSV reader reads
//! only ISO 8601, so a column found (or chosen) in one of these layouts is rewritten into ISO in
//! the scratch copy the reader reads (see [`super::rewrite`]).
//!
//! Only four-digit years: `25/11/63` could be 1963 or 2063, and a wrong century is worse than
//! text the user can convert knowingly (*Change type → date*).

use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use super::{ColumnSpec, ColumnType};
use crate::tables::TableError;

/// Date layouts, in the order a sniff prefers them when several read every value (the US
/// month-first before the day-first, as DuckDB's sniffer prefers it; the dialog shows which).
/// Month names (`%B` also reads the three-letter abbreviation): vega's stocks.csv writes
/// `Jan 1 2000`, spreadsheets `31-Jan-2012`, statsmodels' elec_equip.csv `Jan-1-1995`.
pub const DATE_LAYOUTS: &[&str] = &[
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%m-%d-%Y",
    "%d-%m-%Y",
    "%Y.%m.%d",
    "%B %d %Y",
    "%B %d, %Y",
    "%d %B %Y",
    "%d-%B-%Y",
    "%B-%d-%Y",
];

const TIMES: &[&str] = &["%H:%M:%S", "%H:%M"];

/// Date-time layouts: each date layout, a space, then a time with or without seconds.
pub static TIMESTAMP_LAYOUTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    DATE_LAYOUTS
        .iter()
        .flat_map(|d| TIMES.iter().map(move |t| format!("{d} {t}")))
        .collect()
});

/// A column's layout: how its values are written, and what they are read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub kind: ColumnType,
    pub format: &'static str,
}

impl Layout {
    /// The value as ISO 8601 text, which arrow reads; None when it is not written so.
    pub fn iso(&self, text: &str) -> Option<String> {
        let text = text.trim();
        match self.kind {
            ColumnType::Date => NaiveDate::parse_from_str(text, self.format)
                .ok()
                .filter(|d| d.year() >= 1000)
                .map(|d| d.format("%Y-%m-%d").to_string()),
            _ => NaiveDateTime::parse_from_str(text, self.format)
                .ok()
                .filter(|t| t.year() >= 1000)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string()),
        }
    }

    /// The layout `spec` asks for: None for ISO 8601 or a type without one.
    pub fn of(spec: &ColumnSpec) -> Result<Option<Layout>, TableError> {
        let Some(format) = spec.layout.as_deref().filter(|f| !f.is_empty()) else {
            return Ok(None);
        };
        let known: Option<&'static str> = match spec.kind {
            ColumnType::Date => DATE_LAYOUTS.iter().copied().find(|&d| d == format),
            ColumnType::Timestamp => TIMESTAMP_LAYOUTS
                .iter()
                .find(|t| t.as_str() == format)
                .map(|t| t.as_str()),
            // A layout left over from a type the user changed: the new type has none.
            _ => return Ok(None),
        };
        match known {
            Some(format) => Ok(Some(Layout {
                kind: spec.kind,
                format,
            })),
            None => Err(TableError::Import {
                line: None,
                message: format!(
                    "the column {} cannot be read as {} written as {format:?}: Quire reads \
                     dates written as {} (or ISO 8601, 2012-01-31)",
                    spec.name,
                    match spec.kind {
                        ColumnType::Date => "dates",
                        _ => "dates and times",
                    },
                    DATE_LAYOUTS.join(", ")
                ),
            }),
        }
    }
}

/// The layout every value of a text column is written in, when there is one (the first of
/// [`DATE_LAYOUTS`], then of [`TIMESTAMP_LAYOUTS`], that reads them all).
pub fn sniff<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Layout> {
    sniff_all(values).into_iter().next()
}

/// Every layout that reads all of `values`, in the order [`sniff`] prefers them: more than one
/// of a kind (`01/02/2012` month or day first) makes the first a guess the user should check.
pub fn sniff_all<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Layout> {
    let mut candidates: Vec<Layout> = DATE_LAYOUTS
        .iter()
        .map(|&format| Layout {
            kind: ColumnType::Date,
            format,
        })
        .chain(TIMESTAMP_LAYOUTS.iter().map(|format| Layout {
            kind: ColumnType::Timestamp,
            format: format.as_str(),
        }))
        .collect();
    let mut seen = false;
    for value in values {
        candidates.retain(|layout| layout.iso(value).is_some());
        if candidates.is_empty() {
            return candidates;
        }
        seen = true;
    }
    if !seen {
        candidates.clear();
    }
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(format: &'static str) -> Layout {
        Layout {
            kind: ColumnType::Date,
            format,
        }
    }

    #[test]
    fn a_column_takes_the_first_layout_that_reads_every_value() {
        // A day past 12 settles the order of day and month.
        assert_eq!(sniff(["01/31/2012", "2/1/2012"]), Some(date("%m/%d/%Y")));
        assert_eq!(sniff(["31/01/2012", "2/1/2012"]), Some(date("%d/%m/%Y")));
        // Neither settles it: the US order, which the dialog names so the user can change it.
        assert_eq!(sniff(["01/02/2012"]), Some(date("%m/%d/%Y")));
        // Month names, abbreviated or not (vega_datasets' stocks.csv).
        assert_eq!(
            sniff(["Jan 1 2000", "Feb 29 2000", "March 1 2000"]),
            Some(date("%B %d %Y"))
        );
        assert_eq!(
            date("%B %d %Y").iso("Dec 31 2009").as_deref(),
            Some("2009-12-31")
        );
        assert_eq!(sniff(["January 31, 2012"]), Some(date("%B %d, %Y")));
        assert_eq!(sniff(["31 Jan 2012", "1 feb 2012"]), Some(date("%d %B %Y")));
        assert_eq!(sniff(["31-Jan-2012"]), Some(date("%d-%B-%Y")));
        assert_eq!(sniff(["Jan-1-1995", "Feb-1-1995"]), Some(date("%B-%d-%Y")));
        assert_eq!(
            sniff_all(["01/02/2012"])[..2],
            [date("%m/%d/%Y"), date("%d/%m/%Y")]
        );
        assert_eq!(sniff_all(["01/31/2012"]), [date("%m/%d/%Y")]);
        assert_eq!(sniff(["31.12.1999", "1.2.2000"]), Some(date("%d.%m.%Y")));
        assert_eq!(sniff(["2012/01/31"]), Some(date("%Y/%m/%d")));
        assert_eq!(
            sniff(["12/31/2020 14:05", "1/2/2021 00:00"]),
            Some(Layout {
                kind: ColumnType::Timestamp,
                format: "%m/%d/%Y %H:%M"
            })
        );
        assert_eq!(
            sniff(["31.12.2020 14:05:09"]).map(|l| l.format),
            Some("%d.%m.%Y %H:%M:%S")
        );
    }

    #[test]
    fn two_digit_years_mixed_layouts_and_other_text_stay_text() {
        // R's baboon data: 25/11/63 is 1963, which a two-digit year cannot say.
        assert_eq!(sniff(["25/11/63", "29/10/63"]), None);
        assert_eq!(sniff(["31/01/2012", "01/31/2012"]), None);
        assert_eq!(sniff(["01/31/2012", "soon"]), None);
        assert_eq!(sniff(["13/13/2012"]), None);
        assert_eq!(sniff(["1/2"]), None);
        assert_eq!(sniff(Vec::<&str>::new()), None);
    }

    #[test]
    fn values_become_iso_text_and_a_bad_one_stays_as_written() {
        assert_eq!(
            date("%m/%d/%Y").iso(" 2/29/2024 ").as_deref(),
            Some("2024-02-29")
        );
        assert_eq!(date("%m/%d/%Y").iso("2/29/2023"), None);
        assert_eq!(date("%d.%m.%Y").iso("31.12.0063"), None);
        let at = Layout {
            kind: ColumnType::Timestamp,
            format: "%d/%m/%Y %H:%M",
        };
        assert_eq!(
            at.iso("31/12/2020 23:59").as_deref(),
            Some("2020-12-31T23:59:00")
        );
    }

    #[test]
    fn a_chosen_layout_must_be_one_quire_knows_and_fit_the_type() {
        let spec = |kind, layout: &str| ColumnSpec {
            name: "day".into(),
            kind,
            layout: Some(layout.into()),
        };
        assert_eq!(
            Layout::of(&spec(ColumnType::Date, "%d.%m.%Y")).unwrap(),
            Some(date("%d.%m.%Y"))
        );
        // A type changed to text keeps no layout.
        assert_eq!(
            Layout::of(&spec(ColumnType::Text, "%d.%m.%Y")).unwrap(),
            None
        );
        let refused = Layout::of(&spec(ColumnType::Date, "%s")).unwrap_err();
        assert!(refused.to_string().contains("day"), "{refused}");
        assert!(Layout::of(&spec(ColumnType::Date, "%d.%m.%Y %H:%M")).is_err());
    }
}

#[cfg(test)]
mod ui_tests {
    use super::*;

    /// The strings of the array literal after `name = [` in the UI's list.
    fn ui_list(name: &str) -> Vec<String> {
        let ui = include_str!("../../../../../ui/src/importLayouts.ts");
        let start = ui.find(&format!("{name} = [")).expect(name) + name.len() + 4;
        let end = start + ui[start..].find(']').unwrap();
        // Every other piece between quotes is a string (a layout may hold a comma).
        ui[start..end]
            .split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_import_dialog_offers_the_layouts_the_engine_reads() {
        assert_eq!(ui_list("IMPORT_DATE_LAYOUTS"), DATE_LAYOUTS);
        assert_eq!(ui_list("IMPORT_TIMES"), TIMES);
    }
}
