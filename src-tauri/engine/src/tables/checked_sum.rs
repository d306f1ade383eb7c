//! `sum` of whole numbers that says so when the total is past what a whole number holds.
//! DataFusion's own `sum` of BIGINT wraps around (`add_wrapping`): the sum of squares of
//! gapminder's populations came out as the true total minus 2^64, a plausible wrong number
//! (analyst session). DuckDB sums into a 128-bit integer; so does this, and the total that does
//! not fit BIGINT is an error in words. Every other type, DISTINCT and window frames go to
//! DataFusion's `sum` as they are.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Decimal128Array, Int64Array,
};
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Field, FieldRef, Int64Type, DECIMAL128_MAX_PRECISION,
};
use datafusion::common::{exec_datafusion_err, Result, ScalarValue};
use datafusion::functions_aggregate::sum::Sum;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{format_state_name, AggregateOrderSensitivity};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator,
    ReversedUDAF, SetMonotonicity, Signature,
};

/// The `sum` a session registers in place of DataFusion's.
pub fn udaf() -> AggregateUDF {
    AggregateUDF::new_from_impl(CheckedSum::default())
}

#[derive(Debug, Default, PartialEq, Eq, Hash)]
struct CheckedSum {
    inner: Sum,
}

/// Partial totals travel between partitions as 128-bit integers.
const STATE: DataType = DataType::Decimal128(DECIMAL128_MAX_PRECISION, 0);

fn checked(args: &AccumulatorArgs) -> bool {
    !args.is_distinct && args.return_field.data_type() == &DataType::Int64
}

fn too_big() -> datafusion::error::DataFusionError {
    exec_datafusion_err!(
        "the sum is past the largest whole number (9,223,372,036,854,775,807): CAST the \
         values to DOUBLE, or to DECIMAL(38, 0) for an exact total, before summing"
    )
}

impl AggregateUDFImpl for CheckedSum {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        match checked(&args) {
            true => Ok(Box::new(Total::default())),
            false => self.inner.accumulator(args),
        }
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        if args.is_distinct || args.return_type() != &DataType::Int64 {
            return self.inner.state_fields(args);
        }
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "sum"),
            STATE,
            true,
        ))])
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.inner.groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        match checked(&args) {
            true => Ok(Box::new(Totals::default())),
            false => self.inner.create_groups_accumulator(args),
        }
    }

    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.inner.create_sliding_accumulator(args)
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        ReversedUDAF::Identical
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Insensitive
    }

    fn set_monotonicity(&self, data_type: &DataType) -> SetMonotonicity {
        self.inner.set_monotonicity(data_type)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

/// The values' total, added up from every array of whole numbers or partial totals.
fn add_values(total: &mut i128, any: &mut bool, values: &ArrayRef) {
    if let Some(ints) = values.as_primitive_opt::<Int64Type>() {
        for v in ints.iter().flatten() {
            *total += i128::from(v);
            *any = true;
        }
    } else if let Some(partial) = values.as_primitive_opt::<Decimal128Type>() {
        for v in partial.iter().flatten() {
            *total += v;
            *any = true;
        }
    }
}

/// One total (no GROUP BY).
#[derive(Debug, Default)]
struct Total {
    total: i128,
    any: bool,
}

impl Accumulator for Total {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        add_values(&mut self.total, &mut self.any, &values[0]);
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        add_values(&mut self.total, &mut self.any, &states[0]);
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Decimal128(
            self.any.then_some(self.total),
            DECIMAL128_MAX_PRECISION,
            0,
        )])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        match self.any {
            false => Ok(ScalarValue::Int64(None)),
            true => i64::try_from(self.total)
                .map(|v| ScalarValue::Int64(Some(v)))
                .map_err(|_| too_big()),
        }
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

/// A total per group.
#[derive(Debug, Default)]
struct Totals {
    totals: Vec<i128>,
    any: Vec<bool>,
}

impl Totals {
    fn add(
        &mut self,
        values: &ArrayRef,
        group_indices: &[usize],
        filter: Option<&BooleanArray>,
        groups: usize,
    ) {
        self.totals.resize(groups, 0);
        self.any.resize(groups, false);
        let passes = |row: usize| filter.is_none_or(|f| f.is_valid(row) && f.value(row));
        let ints = values.as_primitive_opt::<Int64Type>();
        let partial = values.as_primitive_opt::<Decimal128Type>();
        for (row, &group) in group_indices.iter().enumerate() {
            if !passes(row) || values.is_null(row) {
                continue;
            }
            let v = match (ints, partial) {
                (Some(ints), _) => i128::from(ints.value(row)),
                (_, Some(partial)) => partial.value(row),
                _ => continue,
            };
            self.totals[group] += v;
            self.any[group] = true;
        }
    }
}

impl GroupsAccumulator for Totals {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.add(&values[0], group_indices, opt_filter, total_num_groups);
        Ok(())
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.add(&values[0], group_indices, None, total_num_groups);
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        // Each row its own partial total: a filtered-out row is none.
        let ints = values[0]
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| exec_datafusion_err!("sum: whole numbers expected"))?;
        let partial: Decimal128Array = (0..ints.len())
            .map(|row| {
                let passes = opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row));
                (passes && ints.is_valid(row)).then(|| i128::from(ints.value(row)))
            })
            .collect();
        Ok(vec![Arc::new(
            partial.with_precision_and_scale(DECIMAL128_MAX_PRECISION, 0)?,
        )])
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let totals = emit_to.take_needed(&mut self.totals);
        let any = emit_to.take_needed(&mut self.any);
        let out = totals
            .into_iter()
            .zip(any)
            .map(|(total, any)| match any {
                false => Ok(None),
                true => i64::try_from(total).map(Some).map_err(|_| too_big()),
            })
            .collect::<Result<Int64Array>>()?;
        Ok(Arc::new(out))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let totals = emit_to.take_needed(&mut self.totals);
        let any = emit_to.take_needed(&mut self.any);
        let partial: Decimal128Array = totals
            .into_iter()
            .zip(any)
            .map(|(total, any)| any.then_some(total))
            .collect();
        Ok(vec![Arc::new(
            partial.with_precision_and_scale(DECIMAL128_MAX_PRECISION, 0)?,
        )])
    }

    fn size(&self) -> usize {
        self.totals.capacity() * std::mem::size_of::<i128>() + self.any.capacity()
    }
}
