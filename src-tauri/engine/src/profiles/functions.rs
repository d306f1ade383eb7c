//! Two SQL functions the profile queries use, because DataFusion's own would scan a number
//! column several times over (measured on 10M rows x 4 number columns, 2 cores: three
//! `approx_percentile_cont` per column 1,267 ms against one digest per column 449 ms; the
//! distinct count of two float columns through their text 651 ms against their bits ~60 ms).
//!
//! - `quire_quartiles(x)`: the 25th, 50th and 75th percentiles from one t-digest (DataFusion's
//!   own [`TDigest`], as `approx_percentile_cont` builds it), as a list of three floats; exact
//!   (as pandas computes them) up to [`EXACT_MAX`] numbers, where the digest's interpolation
//!   between centroids is visibly off (a year's median of 1982.47, a budget's 2.83e6 where
//!   pandas says 3,000,000).
//! - `quire_float_bits(x)`: a float's bits as a BIGINT, so `approx_distinct`, which takes
//!   integers but not floats, counts distinct floats without formatting each as text. `-0.0`
//!   counts as `0.0` and every NaN as one value, as a reader of the profile would count them.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray, ListBuilder,
};
use datafusion::arrow::compute::{cast, filter, is_not_null, sort};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion_functions_aggregate_common::tdigest::TDigest;

pub const QUARTILES: &str = "quire_quartiles";
pub const FLOAT_BITS: &str = "quire_float_bits";

/// Centroids a digest keeps: DataFusion's default for `approx_percentile_cont`.
const DIGEST_SIZE: usize = 100;

/// Up to this many numbers in a column, its quartiles are exact (800 kB of values at most per
/// column and partition while the profile runs).
pub const EXACT_MAX: usize = 100_000;

/// Makes both functions callable in `session`'s queries (idempotent).
pub fn register(session: &crate::tables::SqlSession) {
    session.register_functions(float_bits(), quartiles());
}

pub fn quartiles() -> AggregateUDF {
    AggregateUDF::from(Quartiles {
        signature: Signature::exact(vec![DataType::Float64], Volatility::Immutable),
    })
}

pub fn float_bits() -> ScalarUDF {
    ScalarUDF::from(FloatBits {
        signature: Signature::exact(vec![DataType::Float64], Volatility::Immutable),
    })
}

fn list_of_floats() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Quartiles {
    signature: Signature,
}

impl AggregateUDFImpl for Quartiles {
    fn name(&self) -> &str {
        QUARTILES
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(list_of_floats())
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        // The digest's state as `TDigest::to_scalar_state` writes it.
        let name = |part: &str| format!("{}[{part}]", args.name);
        Ok(vec![
            Arc::new(Field::new(name("max_size"), DataType::UInt64, false)),
            Arc::new(Field::new(name("sum"), DataType::Float64, false)),
            Arc::new(Field::new(name("count"), DataType::Float64, false)),
            Arc::new(Field::new(name("max"), DataType::Float64, false)),
            Arc::new(Field::new(name("min"), DataType::Float64, false)),
            Arc::new(Field::new(name("centroids"), list_of_floats(), false)),
            // Every number while there are at most EXACT_MAX, else null.
            Arc::new(Field::new(name("numbers"), list_of_floats(), true)),
        ])
    }

    fn accumulator(&self, _: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(QuartilesAccumulator {
            digest: TDigest::new(DIGEST_SIZE),
            numbers: Some(Vec::new()),
        }))
    }
}

#[derive(Debug)]
struct QuartilesAccumulator {
    digest: TDigest,
    /// Every number seen, while they are at most [`EXACT_MAX`].
    numbers: Option<Vec<f64>>,
}

impl QuartilesAccumulator {
    fn keep(&mut self, more: &[f64]) {
        match &mut self.numbers {
            Some(kept) if kept.len() + more.len() <= EXACT_MAX => kept.extend_from_slice(more),
            _ => self.numbers = None,
        }
    }
}

/// The `q` quantile of `sorted` (not empty), linear between the two nearest numbers, as pandas
/// and numpy compute it by default.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let at = q * (sorted.len() - 1) as f64;
    let (below, above) = (at.floor() as usize, at.ceil() as usize);
    sorted[below] + (sorted[above] - sorted[below]) * (at - below as f64)
}

impl Accumulator for QuartilesAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let mut values = Arc::clone(&values[0]);
        if values.null_count() > 0 {
            values = filter(&values, &is_not_null(&values)?)?;
        }
        let sorted = sort(&values, None)?;
        let sorted = sorted.as_primitive::<Float64Type>();
        // A NaN would poison every centroid it joins: a quartile of the numbers. (The sort puts
        // a NaN with its sign bit first and the others last; filtering keeps the order.)
        let numbers: Vec<f64> = sorted
            .values()
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .collect();
        self.digest = self.digest.merge_sorted_f64(&numbers);
        self.keep(&numbers);
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let mut digests = vec![self.digest.clone()];
        let (digest, numbers) = states.split_at(6);
        let numbers = numbers[0].as_list::<i32>();
        for row in 0..states.first().map_or(0, |s| s.len()) {
            let state = digest
                .iter()
                .map(|column| ScalarValue::try_from_array(column, row))
                .collect::<Result<Vec<_>>>()?;
            digests.push(TDigest::from_scalar_state(&state));
            match numbers.is_null(row) {
                true => self.numbers = None,
                false => self.keep(numbers.value(row).as_primitive::<Float64Type>().values()),
            }
        }
        self.digest = TDigest::merge_digests(&digests);
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let mut state = self.digest.to_scalar_state();
        let mut list = ListBuilder::new(datafusion::arrow::array::Float64Builder::new());
        match &self.numbers {
            Some(numbers) => {
                list.values().append_slice(numbers);
                list.append(true);
            }
            None => list.append_null(),
        }
        state.push(ScalarValue::List(Arc::new(list.finish())));
        Ok(state)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let mut list = ListBuilder::new(datafusion::arrow::array::Float64Builder::new());
        if self.digest.count() == 0.0 {
            list.append_null();
        } else {
            let exact = self.numbers.as_mut().map(|numbers| {
                numbers.sort_unstable_by(f64::total_cmp);
                &numbers[..]
            });
            let exact = exact.filter(|sorted| !sorted.is_empty());
            for q in [0.25, 0.5, 0.75] {
                list.values().append_value(match exact {
                    Some(sorted) => quantile(sorted, q),
                    None => self.digest.estimate_quantile(q),
                });
            }
            // A fourth value says whether the three are exact (1) or the digest's estimate (0).
            list.values()
                .append_value(if exact.is_some() { 1.0 } else { 0.0 });
            list.append(true);
        }
        let list: ListArray = list.finish();
        Ok(ScalarValue::List(Arc::new(list)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.digest.size() - std::mem::size_of_val(&self.digest)
            + self.numbers.as_ref().map_or(0, |n| n.capacity() * 8)
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct FloatBits {
    signature: Signature,
}

impl ScalarUDFImpl for FloatBits {
    fn name(&self) -> &str {
        FLOAT_BITS
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let bits = |v: f64| -> i64 {
            let v = if v == 0.0 {
                0.0
            } else if v.is_nan() {
                f64::NAN
            } else {
                v
            };
            v.to_bits() as i64
        };
        Ok(match &args.args[0] {
            ColumnarValue::Array(array) => {
                let array = cast(array, &DataType::Float64)?;
                let floats: &Float64Array = array.as_primitive();
                let out: Int64Array = floats.unary(bits);
                ColumnarValue::Array(Arc::new(out))
            }
            ColumnarValue::Scalar(ScalarValue::Float64(v)) => {
                ColumnarValue::Scalar(ScalarValue::Int64(v.map(bits)))
            }
            // The signature casts every argument to a float: nothing else arrives.
            ColumnarValue::Scalar(_) => ColumnarValue::Scalar(ScalarValue::Int64(None)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::SqlSession;

    #[tokio::test]
    async fn quartiles_agree_with_approx_percentile_and_float_bits_count_like_distinct() {
        let session = SqlSession::default();
        register(&session);
        let sql = "WITH t(x) AS (SELECT CAST(value AS DOUBLE) / 7 FROM generate_series(1, 100000) \
                   UNION ALL SELECT NULL UNION ALL SELECT -0.0 UNION ALL SELECT 0.0 \
                   UNION ALL SELECT 'NaN'::double UNION ALL SELECT -('NaN'::double)) \
                   SELECT quire_quartiles(x), \
                     approx_percentile_cont(0.25) WITHIN GROUP (ORDER BY x), \
                     approx_percentile_cont(0.5) WITHIN GROUP (ORDER BY x), \
                     approx_percentile_cont(0.75) WITHIN GROUP (ORDER BY x), \
                     approx_distinct(quire_float_bits(x)), count(DISTINCT x) FROM t";
        let batches = session.run(sql).await.unwrap();
        let row = &batches[0];
        let quartiles = row.column(0).as_list::<i32>().value(0);
        let quartiles = quartiles.as_primitive::<Float64Type>();
        for (i, exact) in [25_000.0 / 7.0, 50_000.0 / 7.0, 75_000.0 / 7.0]
            .iter()
            .enumerate()
        {
            let got = quartiles.value(i);
            // Within 0.5 % of the range, as approx_percentile_cont is.
            assert!(
                (got - exact).abs() < 0.005 * 100_000.0 / 7.0,
                "{i}: {got} vs {exact}"
            );
        }
        // Past EXACT_MAX numbers: the digest's estimate, and said so.
        assert_eq!(quartiles.value(3), 0.0);
        let approx_distinct = row
            .column(4)
            .as_primitive::<datafusion::arrow::datatypes::UInt64Type>()
            .value(0);
        let exact_distinct = row
            .column(5)
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
            .value(0);
        // HyperLogLog: within 2 % of the exact count (100,000 values, one zero, one NaN).
        let error = (approx_distinct as f64 - exact_distinct as f64).abs() / exact_distinct as f64;
        assert!(error < 0.02, "{approx_distinct} vs {exact_distinct}");

        // A NaN with its sign bit set sorts first: the numbers of its batch still count.
        let signed_nan = session
            .run("SELECT quire_quartiles(x) FROM (VALUES (1.0), (-('NaN'::double)), (2.0), (3.0), (4.0), (5.0)) t(x)")
            .await
            .unwrap();
        let median = signed_nan[0].column(0).as_list::<i32>().value(0);
        assert_eq!(median.as_primitive::<Float64Type>().value(1), 3.0);

        // Up to EXACT_MAX numbers the quartiles are pandas' own: 1..=10 gives 3.25, 5.5, 7.75,
        // and a value most rows share is the median, not an interpolation near it.
        for (sql, want) in [
            (
                "SELECT quire_quartiles(CAST(value AS DOUBLE)) FROM generate_series(1, 10)",
                [3.25, 5.5, 7.75],
            ),
            (
                "SELECT quire_quartiles(CASE WHEN value % 3 = 0 THEN 1e6 ELSE 3e6 END) \
                 FROM generate_series(1, 90000)",
                [1e6, 3e6, 3e6],
            ),
            // Two partitions: their numbers meet in the merge.
            (
                "SELECT quire_quartiles(x) FROM (SELECT CAST(value AS DOUBLE) AS x FROM \
                 generate_series(1, 5) UNION ALL SELECT CAST(value AS DOUBLE) FROM \
                 generate_series(6, 10))",
                [3.25, 5.5, 7.75],
            ),
        ] {
            let out = session.run(sql).await.unwrap();
            let got = out[0].column(0).as_list::<i32>().value(0);
            // The fourth value: exact.
            let got = got.as_primitive::<Float64Type>().values();
            assert_eq!(got[..3], want, "{sql}");
            assert_eq!(got[3], 1.0, "{sql}");
        }

        let empty = session
            .run("SELECT quire_quartiles(CAST(NULL AS DOUBLE)), quire_float_bits(CAST(NULL AS DOUBLE))")
            .await
            .unwrap();
        assert!(empty[0].column(0).is_null(0));
        assert!(empty[0].column(1).is_null(0));
    }
}
