//! One measurement and the two ways it is printed: a table for people, JSON lines for tools.

use serde::Serialize;

/// `{"suite","measure","value","unit","baseline","ratio"}`: `measure` is a stable snake_case id
/// that issues and notes refer to; `ratio` is defined per measure (see each suite's docs), and
/// both `baseline` and `ratio` are null when a measure has no baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Measure {
    pub suite: &'static str,
    pub measure: &'static str,
    pub value: f64,
    pub unit: &'static str,
    pub baseline: Option<f64>,
    pub ratio: Option<f64>,
}

impl Measure {
    pub fn value(
        suite: &'static str,
        measure: &'static str,
        value: f64,
        unit: &'static str,
    ) -> Self {
        Measure {
            suite,
            measure,
            value,
            unit,
            baseline: None,
            ratio: None,
        }
    }

    /// A measure with its same-run baseline; `ratio` = baseline / value, so above 1 means
    /// Quire took less than the baseline.
    pub fn against(
        suite: &'static str,
        measure: &'static str,
        value: f64,
        baseline: f64,
        unit: &'static str,
    ) -> Self {
        Self::with_baseline(
            suite,
            measure,
            value,
            baseline,
            unit,
            (value > 0.0).then(|| baseline / value),
        )
    }

    /// A measure whose ratio is defined the other way round: value / baseline (e.g. how much
    /// slower under load than idle; below or near 1 is good).
    pub fn relative(
        suite: &'static str,
        measure: &'static str,
        value: f64,
        baseline: f64,
        unit: &'static str,
    ) -> Self {
        Self::with_baseline(
            suite,
            measure,
            value,
            baseline,
            unit,
            (baseline > 0.0).then(|| value / baseline),
        )
    }

    fn with_baseline(
        suite: &'static str,
        measure: &'static str,
        value: f64,
        baseline: f64,
        unit: &'static str,
        ratio: Option<f64>,
    ) -> Self {
        Measure {
            suite,
            measure,
            value,
            unit,
            baseline: Some(baseline),
            ratio,
        }
    }
}

pub fn table(measures: &[Measure]) -> String {
    let mut out = format!(
        "{:<10} {:<32} {:>14} {:<6} {:>14} {:>8}\n",
        "suite", "measure", "value", "unit", "baseline", "ratio"
    );
    for m in measures {
        let opt =
            |v: Option<f64>, prec: usize| v.map_or("-".to_string(), |v| format!("{v:.prec$}"));
        out.push_str(&format!(
            "{:<10} {:<32} {:>14.3} {:<6} {:>14} {:>8}\n",
            m.suite,
            m.measure,
            m.value,
            m.unit,
            opt(m.baseline, 3),
            opt(m.ratio, 2)
        ));
    }
    out
}

pub fn json_lines(measures: &[Measure]) -> String {
    measures
        .iter()
        .map(|m| serde_json::to_string(m).expect("a Measure always serialises") + "\n")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_has_the_agreed_fields() {
        let line = json_lines(&[Measure::against("smoke", "x_p50_us", 2.0, 4.0, "us")]);
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(v["suite"], "smoke");
        assert_eq!(v["measure"], "x_p50_us");
        assert_eq!(v["value"], 2.0);
        assert_eq!(v["unit"], "us");
        assert_eq!(v["baseline"], 4.0);
        assert_eq!(v["ratio"], 2.0);
        let plain = json_lines(&[Measure::value("smoke", "y_ms", 1.0, "ms")]);
        let v: serde_json::Value = serde_json::from_str(plain.trim()).unwrap();
        assert!(v["baseline"].is_null() && v["ratio"].is_null());
    }
}
