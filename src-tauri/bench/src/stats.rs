//! Timing helpers: run a closure many times and summarise the samples.

use std::time::{Duration, Instant};

/// Samples of one operation, in microseconds.
pub struct Samples(Vec<f64>);

impl Samples {
    /// Runs `op` `warmup` times unmeasured, then `n` times measured.
    pub fn collect(warmup: usize, n: usize, mut op: impl FnMut()) -> Samples {
        for _ in 0..warmup {
            op();
        }
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let start = Instant::now();
            op();
            v.push(micros(start.elapsed()));
        }
        Samples(v)
    }

    pub fn from(micros: Vec<f64>) -> Samples {
        Samples(micros)
    }

    /// All samples of several runs as one.
    pub fn merge(runs: Vec<Samples>) -> Samples {
        Samples(runs.into_iter().flat_map(|s| s.0).collect())
    }

    /// The q-quantile (0..=1), nearest-rank.
    pub fn quantile(&self, q: f64) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1]
    }

    pub fn p50(&self) -> f64 {
        self.quantile(0.5)
    }
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let s = Samples((1..=100).map(f64::from).collect());
        assert_eq!(s.p50(), 50.0);
        assert_eq!(s.quantile(0.99), 99.0);
        assert_eq!(s.quantile(1.0), 100.0);
        assert_eq!(s.quantile(0.0), 1.0);
    }
}
