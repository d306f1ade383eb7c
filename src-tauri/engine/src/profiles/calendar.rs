//! Bins of dates and date-times on the calendar: whole seconds, minutes, hours, days, weeks
//! (from Monday), months, quarters or years, in UTC, so that a bar of a profile is "March 2014"
//! or "the week of 3 June", not 57.87 days from an instant no one chose. The fewest bins of the
//! finest step that covers the column in at most `maxbins`; months and years are counted in SQL
//! from the date's year and month, since they are not all as long.

use chrono::{DateTime, Datelike, NaiveDate};

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;
/// 1970-01-01 was a Thursday: weeks start four days later, on Monday the 5th.
const MONDAY: i64 = 4 * DAY;

/// A bin's width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Milliseconds, from an instant that is a whole number of steps after `origin`.
    Fixed { ms: i64, origin: i64 },
    /// Calendar months (12 a year, 120 a decade), counted from year 0.
    Months(i64),
}

/// Fixed steps in the order tried; a date column starts at days.
const FIXED: &[i64] = &[
    SECOND,
    5 * SECOND,
    15 * SECOND,
    30 * SECOND,
    MINUTE,
    5 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    WEEK,
];
const MONTHS: &[i64] = &[1, 3, 6, 12, 24, 60, 120, 240, 600, 1200, 2400, 6000, 12000];

/// The bins over a column's values from `lo` to `hi` (UTC milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarBins {
    step: Step,
    /// The first bin's start: milliseconds for a fixed step, else months since year 0.
    first: i64,
    count: i64,
}

impl CalendarBins {
    /// `None` when the values span less than a second (or lie where no calendar reaches).
    pub fn over(lo: f64, hi: f64, maxbins: u32, dates: bool) -> Option<CalendarBins> {
        if !(lo.is_finite() && hi.is_finite()) || hi < lo {
            return None;
        }
        let (lo, hi) = (lo.floor() as i64, hi.floor() as i64);
        let maxbins = i64::from(maxbins.max(1));
        if !dates && hi - lo < SECOND {
            return None;
        }
        let fixed = FIXED.iter().filter(|&&ms| !dates || ms >= DAY).map(|&ms| {
            let origin = if ms == WEEK { MONDAY } else { 0 };
            let first = origin + (lo - origin).div_euclid(ms) * ms;
            CalendarBins {
                step: Step::Fixed { ms, origin },
                first,
                count: (hi - first) / ms + 1,
            }
        });
        let (lo_month, hi_month) = (month_of(lo)?, month_of(hi)?);
        let months = MONTHS.iter().map(|&n| {
            let first = lo_month.div_euclid(n) * n;
            CalendarBins {
                step: Step::Months(n),
                first,
                count: (hi_month - first) / n + 1,
            }
        });
        fixed.chain(months).find(|bins| bins.count <= maxbins)
    }

    pub fn count(&self) -> usize {
        self.count as usize
    }

    /// Where bin `i` starts (bin `count` is where the last one ends), in UTC milliseconds.
    pub fn edge(&self, i: usize) -> f64 {
        let i = i as i64;
        match self.step {
            Step::Fixed { ms, .. } => (self.first + i * ms) as f64,
            Step::Months(n) => month_start(self.first + i * n).unwrap_or(f64::NAN),
        }
    }

    /// SQL for the bin of a value: `ms` its UTC milliseconds, `utc` it as a timestamp in UTC.
    pub fn index_sql(&self, ms: &str, utc: &str) -> String {
        match self.step {
            Step::Fixed { ms: step, .. } => {
                format!("floor(({ms} - {}) / {step})", self.first)
            }
            Step::Months(n) => format!(
                "floor((date_part('year', {utc}) * 12 + date_part('month', {utc}) - 1 - {}) / {n})",
                self.first
            ),
        }
    }
}

/// Months since year 0 of the UTC date of an instant.
fn month_of(ms: i64) -> Option<i64> {
    let at = DateTime::from_timestamp_millis(ms)?;
    Some(i64::from(at.year()) * 12 + i64::from(at.month0()))
}

/// The instant the month (counted from year 0) starts, in UTC milliseconds.
fn month_start(month: i64) -> Option<f64> {
    let year = i32::try_from(month.div_euclid(12)).ok()?;
    let day = NaiveDate::from_ymd_opt(year, month.rem_euclid(12) as u32 + 1, 1)?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> f64 {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_millis() as f64
    }

    fn edges(bins: &CalendarBins) -> Vec<String> {
        (0..=bins.count())
            .map(|i| {
                DateTime::from_timestamp_millis(bins.edge(i) as i64)
                    .unwrap()
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn bins_fall_on_the_calendar() {
        // Four years of days (seattle-weather): quarters, 16 bars (months would be 48).
        let b = CalendarBins::over(
            ms("2012-01-01T00:00:00Z"),
            ms("2015-12-31T00:00:00Z"),
            20,
            true,
        )
        .unwrap();
        assert_eq!(b.count(), 16);
        assert_eq!(
            edges(&b)[..3],
            ["2012-01-01 00:00", "2012-04-01 00:00", "2012-07-01 00:00"]
        );
        assert_eq!(edges(&b)[16], "2016-01-01 00:00");
        // 100 days from 1 Jan 2024: weeks, from the Monday before.
        let b = CalendarBins::over(
            ms("2024-01-01T00:00:00Z"),
            ms("2024-04-09T00:00:00Z"),
            20,
            true,
        )
        .unwrap();
        assert_eq!(edges(&b)[..2], ["2024-01-01 00:00", "2024-01-08 00:00"]);
        assert_eq!(b.count(), 15);
        // Three hours of readings: 15-minute bins from the quarter hour.
        let b = CalendarBins::over(
            ms("2024-03-05T09:07:12Z"),
            ms("2024-03-05T12:01:00Z"),
            20,
            false,
        )
        .unwrap();
        assert_eq!(edges(&b)[0], "2024-03-05 09:00");
        assert_eq!(edges(&b)[12], "2024-03-05 12:00");
        assert_eq!(b.count(), 13);
        // One day only, in a date column: one bin of a day.
        let day = ms("2020-02-29T00:00:00Z");
        let b = CalendarBins::over(day, day, 20, true).unwrap();
        assert_eq!(edges(&b), ["2020-02-29 00:00", "2020-03-01 00:00"]);
        // Presidents' terms over 1953 to 2017: 5-year bins from 1950.
        let b = CalendarBins::over(
            ms("1953-01-20T00:00:00Z"),
            ms("2017-01-20T00:00:00Z"),
            20,
            true,
        )
        .unwrap();
        assert_eq!((edges(&b)[0].as_str(), b.count()), ("1950-01-01 00:00", 14));
        // Before 1970, and before year 1.
        let b = CalendarBins::over(
            ms("1969-12-31T23:00:00Z"),
            ms("1970-01-01T01:00:00Z"),
            20,
            false,
        )
        .unwrap();
        assert_eq!(edges(&b)[0], "1969-12-31 23:00");
        assert!(CalendarBins::over(-70_000_000_000_000.0, 0.0, 20, true).is_some());
        // Less than a second of date-times: no calendar step says anything.
        assert_eq!(CalendarBins::over(1000.0, 1500.0, 20, false), None);
    }
}
