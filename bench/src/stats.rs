//! Latency samples and percentiles.

/// Nearest-rank percentile (`q` in 0..=100) of `sorted` (ascending); 0 when empty.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// p50 / p99 / mean of a set of samples (milliseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    pub n: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
}

impl Summary {
    pub fn of(mut samples: Vec<f64>) -> Summary {
        samples.retain(|v| v.is_finite());
        samples.sort_by(f64::total_cmp);
        let n = samples.len();
        let mean = if n == 0 {
            0.0
        } else {
            samples.iter().sum::<f64>() / n as f64
        };
        Summary {
            n,
            p50_ms: round3(percentile(&samples, 50.0)),
            p99_ms: round3(percentile(&samples, 99.0)),
            mean_ms: round3(mean),
        }
    }
}

/// Rounds to 3 decimals (JSON readability).
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Rounds to 1 decimal.
pub fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
        let s = Summary::of(vec![3.0, 1.0, 2.0, f64::NAN]);
        assert_eq!((s.n, s.p50_ms, s.mean_ms), (3, 2.0, 2.0));
    }
}
