//! `percentile_cont` that interpolates exactly. DataFusion 55's cuts the interpolation weight to
//! six decimals, so a percentile between two far-apart values is off in the sixth digit
//! (analyst session: 9109.702683 where DuckDB and numpy give 9109.704283). This one collects
//! the values as DataFusion's does (the same state, so partitions merge alike) and
//! interpolates as numpy's `linear` method and DuckDB do: `lower + (upper - lower) * fraction`.
//! DISTINCT and types other than DOUBLE (which every number is coerced to) go to DataFusion's.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, ListArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::functions_aggregate::percentile_cont::PercentileCont;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature,
};
use datafusion::physical_expr::expressions::Literal;

/// The `percentile_cont` a session registers in place of DataFusion's.
pub fn udaf() -> AggregateUDF {
    AggregateUDF::new_from_impl(ExactPercentile::default())
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ExactPercentile {
    inner: PercentileCont,
}

impl Default for ExactPercentile {
    fn default() -> Self {
        Self {
            inner: PercentileCont::new(),
        }
    }
}

fn exact(args: &AccumulatorArgs) -> bool {
    !args.is_distinct && args.expr_fields[0].data_type() == &DataType::Float64
}

/// The fraction asked for, as DataFusion reads it (a descending order asks for `1 - p`).
fn fraction(args: &AccumulatorArgs) -> Option<f64> {
    let literal = args.exprs.get(1)?.as_ref().downcast_ref::<Literal>()?;
    let &ScalarValue::Float64(Some(p)) = literal.value() else {
        return None;
    };
    let descending = args.order_bys.first().is_some_and(|o| o.options.descending);
    Some(if descending { 1.0 - p } else { p })
}

impl AggregateUDFImpl for ExactPercentile {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner.state_fields(args)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        // DataFusion's checks the fraction (a literal between 0 and 1) and says what is wrong.
        let theirs = self.inner.accumulator(args.clone())?;
        match (exact(&args), fraction(&args)) {
            (true, Some(p)) => Ok(Box::new(Values {
                values: Vec::new(),
                p,
            })),
            _ => Ok(theirs),
        }
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        // Groups get one exact accumulator each.
        !exact(&args) && self.inner.groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        self.inner.create_groups_accumulator(args)
    }

    fn simplify(
        &self,
    ) -> Option<datafusion::logical_expr::function::AggregateFunctionSimplification> {
        self.inner.simplify()
    }

    fn supports_within_group_clause(&self) -> bool {
        self.inner.supports_within_group_clause()
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

/// Every value seen (not missing), and the fraction asked for.
#[derive(Debug)]
struct Values {
    values: Vec<f64>,
    p: f64,
}

impl Accumulator for Values {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let values = values[0].as_primitive::<Float64Type>();
        self.values.extend(values.iter().flatten());
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for i in 0..lists.len() {
            if lists.is_valid(i) {
                self.update_batch(&[lists.value(i)])?;
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let values = Float64Array::from(std::mem::take(&mut self.values));
        let list = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Float64, true)),
            OffsetBuffer::from_lengths([values.len()]),
            Arc::new(values),
            None,
        );
        Ok(vec![ScalarValue::List(Arc::new(list))])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Float64(percentile(&mut self.values, self.p)))
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.values.capacity() * size_of::<f64>()
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        // A sliding window frame: each value leaving it goes once.
        for v in values[0].as_primitive::<Float64Type>().iter().flatten() {
            if let Some(at) = self.values.iter().position(|x| x.total_cmp(&v).is_eq()) {
                self.values.swap_remove(at);
            }
        }
        Ok(())
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }
}

/// The `p` quantile of `values` by linear interpolation between the two closest ranks.
fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let at = p * (values.len() - 1) as f64;
    let (below, above) = (at.floor() as usize, at.ceil() as usize);
    let (_, low, rest) = values.select_nth_unstable_by(below, f64::total_cmp);
    let low = *low;
    if above == below {
        return Some(low);
    }
    // The next rank is the smallest of those after it.
    let high = rest.iter().copied().min_by(f64::total_cmp).unwrap_or(low);
    Some(low + (high - low) * (at - below as f64))
}
