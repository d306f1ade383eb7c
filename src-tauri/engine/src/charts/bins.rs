//! Vega's bin boundaries (`vega-statistics`' `bin`), computed here so the engine bins in SQL
//! exactly where Vega-Lite would have binned the raw rows in the webview.

/// Nice bin boundaries: `start`, `stop` and `step`, with `stop - start` a whole number of steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bins {
    pub start: f64,
    pub stop: f64,
    pub step: f64,
}

/// Vega adds this before flooring so a value on a boundary lands in the bin it starts.
pub const EPSILON: f64 = 1e-14;

impl Bins {
    /// Vega's algorithm for the extent `[min, max]`: the largest step of the form 10^k, 10^k/2 or
    /// 10^k/5 that gives at most `maxbins` bins, or the given `step`; the ends rounded out to it.
    pub fn nice(min: f64, max: f64, maxbins: u32, step: Option<f64>) -> Bins {
        let maxb = f64::from(maxbins.max(1));
        let base = 10f64;
        let logb = base.ln();
        let span = match max - min {
            s if s > 0.0 => s,
            _ if min.abs() > 0.0 => min.abs(),
            _ => 1.0,
        };
        let step = match step.filter(|s| s.is_finite() && *s > 0.0) {
            Some(step) => step,
            None => {
                let level = (maxb.ln() / logb).ceil();
                let mut step = base.powf((span.ln() / logb).round() - level);
                while (span / step).ceil() > maxb {
                    step *= base;
                }
                for div in [5.0, 2.0] {
                    let v = step / div;
                    if span / v <= maxb {
                        step = v;
                    }
                }
                step
            }
        };
        let v = step.ln();
        let precision = if v >= 0.0 {
            0.0
        } else {
            (-v / logb).trunc() + 1.0
        };
        let eps = base.powf(-precision - 1.0);
        let floor = (min / step + eps).floor() * step;
        let start = if min < floor { floor - step } else { floor };
        let stop = (max / step).ceil() * step;
        Bins {
            start,
            stop: if stop == start { start + step } else { stop },
            step,
        }
    }

    /// Decimals that write any boundary exactly (Vega's precision for this step).
    pub fn precision(&self) -> i32 {
        let v = self.step.log10();
        if v >= 0.0 {
            0
        } else {
            (-v).trunc() as i32 + 1
        }
    }

    /// Boundary `i` (`start` is 0), rounded to the step's precision: `0.6`, not
    /// `0.6000000000000001`, so a filter on it keeps exactly the bin's values.
    pub fn edge(&self, i: u64) -> f64 {
        let raw = self.start + self.step * i as f64;
        let scale = 10f64.powi(self.precision() + 2);
        (raw * scale).round() / scale
    }

    /// How many bins lie between `start` and `stop`.
    pub fn count(&self) -> u64 {
        ((self.stop - self.start) / self.step).round().max(1.0) as u64
    }

    /// The bin a value falls in, as Vega's bin transform computes it (values past `stop` go in
    /// the last bin): the SQL expression of its start, over `value` as a DOUBLE.
    pub fn start_sql(&self, value: &str) -> String {
        let (start, step, last) = (self.start, self.step, self.stop - self.step);
        format!(
            "({start:?} + {step:?} * floor({EPSILON:?} + (least(greatest({value}, {start:?}), {last:?}) - {start:?}) / {step:?}))"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Figures from Vega itself (`vega.bin({maxbins, extent})` in vega 6).
    #[test]
    fn matches_vega() {
        let b = Bins::nice(0.0, 100.0, 10, None);
        assert_eq!((b.start, b.stop, b.step), (0.0, 100.0, 10.0));
        let b = Bins::nice(1.3, 97.2, 10, None);
        assert_eq!((b.start, b.stop, b.step), (0.0, 100.0, 10.0));
        let b = Bins::nice(0.0, 1.0, 50, None);
        assert_eq!(b.step, 0.02);
        let b = Bins::nice(-3.5, 12.25, 20, None);
        assert_eq!((b.start, b.stop, b.step), (-4.0, 13.0, 1.0));
        let b = Bins::nice(5.0, 5.0, 10, None);
        // One value: the span is |5|, so steps of 0.5 and the single bin [5, 5.5).
        assert_eq!((b.start, b.stop, b.step), (5.0, 5.5, 0.5));
        let b = Bins::nice(0.0, 10.0, 10, Some(3.0));
        assert_eq!((b.start, b.stop, b.step), (0.0, 12.0, 3.0));
    }

    #[test]
    fn edges_are_written_as_their_step_allows() {
        let b = Bins::nice(0.0, 1.0, 5, None);
        assert_eq!(b.step, 0.2);
        assert_eq!(
            (0..=5).map(|i| b.edge(i)).collect::<Vec<_>>(),
            [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        );
        let b = Bins::nice(-3.5, 12.25, 20, None);
        assert_eq!(b.edge(3), -1.0);
    }

    #[test]
    fn never_yields_zero_or_too_many_bins() {
        for (min, max, maxbins) in [
            (0.0, 0.0, 10),
            (-1e9, 1e9, 7),
            (1e-9, 2e-9, 50),
            (3.0, 1e15, 200),
        ] {
            let b = Bins::nice(min, max, maxbins, None);
            assert!(b.step > 0.0 && b.start <= min && b.stop >= max, "{b:?}");
            assert!(
                b.count() >= 1 && b.count() <= u64::from(maxbins) + 1,
                "{b:?}"
            );
        }
    }
}
