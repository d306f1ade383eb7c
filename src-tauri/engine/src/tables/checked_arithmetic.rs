//! `+`, `-` and `*` of whole numbers that say so when the result is past what the type holds.
//! DataFusion adds and multiplies integers with wrapping kernels (its `BinaryExpr` can check,
//! but nothing in SQL planning asks it to), so `pop * pop` over gapminder's populations gave a
//! plausible negative number (analyst session). DuckDB and PostgreSQL refuse such a result; so
//! does Quire: after type coercion, every integer `a op b` becomes a function that computes
//! with arrow's checked kernels, named exactly as the expression was, so result columns and
//! the names an aggregate gives keep their spelling.
//!
//! The same rule makes a CAST of a float to a whole number round to the nearest, halves to
//! even, as DuckDB, PostgreSQL and numpy do for a DOUBLE, where DataFusion cuts the fraction
//! off (`CAST(12.8 AS BIGINT)` was 12; "Change type → integer" said 13). And it refuses a
//! CAST of a whole number to a date or date-time, which arrow reads as a count since 1970
//! (co2.csv's 19580329 became the year 55,579), as DuckDB and PostgreSQL refuse it.

use std::sync::Arc;

use datafusion::arrow::compute::kernels::numeric;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::arrow::error::ArrowError;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{exec_datafusion_err, DFSchema, Result};
use datafusion::logical_expr::expr::{Cast, ScalarFunction, TryCast};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, ExprSchemable, LogicalPlan, Operator, ReturnFieldArgs,
    ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::AnalyzerRule;
use datafusion::physical_expr_common::datum::apply;
use datafusion::prelude::SessionContext;

/// Makes every plan of `ctx` compute whole-number `+`, `-` and `*` checked.
pub fn install(ctx: &SessionContext) {
    ctx.add_analyzer_rule(Arc::new(CheckIntegerArithmetic));
}

/// `expr` (type-coerced, over `schema`) with its whole-number `+`, `-` and `*` checked: for an
/// expression evaluated outside a plan (a transform's "set column").
pub fn checked(expr: Expr, schema: &DFSchema) -> Result<Expr> {
    expr.transform_up(|e| to_checked(e, schema)).map(|t| t.data)
}

fn to_checked(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let (inner, field) = match &expr {
        Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field }) => {
            (Some(expr), Some(field))
        }
        _ => (None, None),
    };
    if let (Some(inner), Some(field)) = (inner, field) {
        if matches!(
            field.data_type(),
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)
        ) && inner.get_type(schema).is_ok_and(|t| t.is_numeric())
        {
            // Arrow reads 20120131 as days (or nanoseconds) since 1970: the year 57,000, where
            // DuckDB and PostgreSQL refuse the cast.
            // A column by the name the user wrote; an expression as what it stands for.
            let inner = match inner.as_ref() {
                Expr::Column(c) => super::name::ident(&c.name),
                _ => "the number".to_string(),
            };
            return datafusion::common::plan_err!(
                "a number is not a date: {inner} would be read as a count of days (or \
                 nanoseconds) since 1970. to_date(CAST({inner} AS VARCHAR), '%Y%m%d') reads \
                 20120131 as the day it spells; to_timestamp({inner}) reads seconds since 1970"
            );
        }
        if !field.data_type().is_integer() {
            return Ok(Transformed::no(expr));
        }
        // A float is rounded halves to even first (see [`Rounded`]); a decimal is cast to a
        // whole decimal, which arrow rounds halves away from zero as PostgreSQL and DuckDB
        // round a NUMERIC (2.5 is 3). Cast straight, the fraction of either was cut off.
        let rounded: Box<dyn Fn(Box<Expr>) -> Box<Expr>> = match inner.get_type(schema).ok() {
            Some(DataType::Float32 | DataType::Float64) => Box::new(|inner| {
                Box::new(Expr::ScalarFunction(ScalarFunction::new_udf(
                    Arc::new(ScalarUDF::new_from_impl(Rounded::default())),
                    vec![*inner],
                )))
            }),
            Some(DataType::Decimal128(p, s)) if s > 0 => {
                let whole = DataType::Decimal128((p - s as u8 + 1).min(38), 0);
                Box::new(move |inner| Box::new(Expr::Cast(Cast::new(inner, whole.clone()))))
            }
            Some(DataType::Decimal256(p, s)) if s > 0 => {
                let whole = DataType::Decimal256((p - s as u8 + 1).min(76), 0);
                Box::new(move |inner| Box::new(Expr::Cast(Cast::new(inner, whole.clone()))))
            }
            _ => return Ok(Transformed::no(expr)),
        };
        return Ok(Transformed::yes(match expr {
            Expr::Cast(Cast { expr, field }) => {
                Expr::Cast(Cast::new_from_field(rounded(expr), field))
            }
            Expr::TryCast(TryCast { expr, field }) => {
                Expr::TryCast(TryCast::new_from_field(rounded(expr), field))
            }
            other => other,
        }));
    }
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &expr else {
        return Ok(Transformed::no(expr));
    };
    if !matches!(op, Operator::Plus | Operator::Minus | Operator::Multiply) {
        return Ok(Transformed::no(expr));
    }
    // An expression the schema cannot type stays as it is (DataFusion's own would fail first).
    let (Ok(l), Ok(r)) = (left.get_type(schema), right.get_type(schema)) else {
        return Ok(Transformed::no(expr));
    };
    if l != r || !l.is_integer() {
        return Ok(Transformed::no(expr));
    }
    let udf = ScalarUDF::new_from_impl(Checked::new(*op));
    let Expr::BinaryExpr(BinaryExpr { left, right, .. }) = expr else {
        unreachable!("matched above")
    };
    Ok(Transformed::yes(Expr::ScalarFunction(
        ScalarFunction::new_udf(Arc::new(udf), vec![*left, *right]),
    )))
}

#[derive(Debug)]
struct CheckIntegerArithmetic;

impl AnalyzerRule for CheckIntegerArithmetic {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| {
            let schema = match &plan {
                // A scan's filters are over the table itself.
                LogicalPlan::TableScan(scan) => {
                    let mut schema = merge_schema(&plan.inputs());
                    schema.merge(&DFSchema::try_from_qualified_schema(
                        scan.table_name.clone(),
                        &scan.source.schema(),
                    )?);
                    schema
                }
                _ => merge_schema(&plan.inputs()),
            };
            let names = NamePreserver::new(&plan);
            plan.map_expressions(|expr| {
                let name = names.save(&expr);
                Ok(checked(expr, &schema)?).map(|e| Transformed::yes(name.restore(e)))
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "quire_check_integer_arithmetic"
    }
}

/// One checked operator over two whole numbers of the same type.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Checked {
    op: Operator,
    signature: Signature,
}

impl Checked {
    fn new(op: Operator) -> Self {
        Self {
            op,
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Checked {
    fn name(&self) -> &str {
        match self.op {
            Operator::Plus => "quire_checked_add",
            Operator::Minus => "quire_checked_subtract",
            _ => "quire_checked_multiply",
        }
    }

    /// As DataFusion names `a * b`, so a column or an aggregate over it keeps its name.
    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        Ok(format!(
            "{} {} {}",
            args[0].schema_name(),
            self.op,
            args[1].schema_name()
        ))
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[0].clone())
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let nullable = args.arg_fields.iter().any(|f| f.is_nullable());
        let data_type = args.arg_fields[0].data_type().clone();
        Ok(Arc::new(Field::new(self.name(), data_type, nullable)))
    }

    fn is_strict(&self) -> bool {
        true
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if let Some(fast) = unchecked_when_safe(self.op, &args.args[0], &args.args[1]) {
            return Ok(ColumnarValue::Array(fast));
        }
        let kernel = match self.op {
            Operator::Plus => numeric::add,
            Operator::Minus => numeric::sub,
            _ => numeric::mul,
        };
        let data_type = args.return_type().clone();
        apply(&args.args[0], &args.args[1], kernel).map_err(|e| match e.find_root() {
            datafusion::error::DataFusionError::ArrowError(inner, _) => match inner.as_ref() {
                ArrowError::ArithmeticOverflow(what) => past_the_largest(what, &data_type),
                _ => e,
            },
            _ => e,
        })
    }
}

/// `a op b` over BIGINT arrays (or an array and a constant) as wrapping arithmetic, when no
/// slot can have wrapped; `None` for other types, two constants, or when one may have, and
/// then arrow's checked kernels (which stop at each value, a loop that cannot vectorise: twice
/// the time of the whole query in the bench) find whether one did, in a valid row. The test is
/// on the sign bits for `+` and `-`, and for `*` that both sides fit in 32 bits; it reads every
/// slot, null ones too, so a null slot's value can only send the work to the checked kernels.
fn unchecked_when_safe(
    op: Operator,
    left: &ColumnarValue,
    right: &ColumnarValue,
) -> Option<datafusion::arrow::array::ArrayRef> {
    use datafusion::arrow::array::{Array, AsArray, Int64Array};
    use datafusion::arrow::buffer::NullBuffer;
    use datafusion::arrow::datatypes::Int64Type;
    use datafusion::common::ScalarValue;

    let array = |v: &ColumnarValue| match v {
        ColumnarValue::Array(a) if a.data_type() == &DataType::Int64 => {
            Some(a.as_primitive::<Int64Type>().clone())
        }
        _ => None,
    };
    let constant = |v: &ColumnarValue| match v {
        ColumnarValue::Scalar(ScalarValue::Int64(Some(x))) => Some(*x),
        _ => None,
    };
    let (a, b): (Int64Array, Int64Array) = match (array(left), array(right)) {
        (Some(a), Some(b)) => (a, b),
        (Some(a), None) => {
            let b = Int64Array::from_value(constant(right)?, a.len());
            (a, b)
        }
        (None, Some(b)) => {
            let a = Int64Array::from_value(constant(left)?, b.len());
            (a, b)
        }
        (None, None) => return None,
    };
    if a.len() != b.len() {
        return None;
    }
    let (x, y) = (a.values(), b.values());
    // The flag is not 0 once a slot may have wrapped (for `+` and `-` its sign bit, for `*`
    // the bits above 32 of a side that does not fit in them): each step is plain arithmetic
    // the compiler vectorises.
    let (values, wrapped) = match op {
        Operator::Plus => wrapping(x, y, |x, y| {
            let r = x.wrapping_add(y);
            (r, ((x ^ r) & (y ^ r)) as u64 >> 63)
        }),
        Operator::Minus => wrapping(x, y, |x, y| {
            let r = x.wrapping_sub(y);
            (r, ((x ^ y) & (x ^ r)) as u64 >> 63)
        }),
        Operator::Multiply => wrapping(x, y, |x, y| {
            let big = (x as u64).wrapping_add(1 << 31) | (y as u64).wrapping_add(1 << 31);
            (x.wrapping_mul(y), big >> 32)
        }),
        _ => return None,
    };
    if wrapped != 0 {
        return None;
    }
    let nulls = NullBuffer::union(a.nulls(), b.nulls());
    Some(Arc::new(Int64Array::new(values.into(), nulls)))
}

/// `step` over the pairs of `x` and `y`: the results, and their flags or-ed together.
fn wrapping(x: &[i64], y: &[i64], step: impl Fn(i64, i64) -> (i64, u64)) -> (Vec<i64>, u64) {
    let mut flags = 0u64;
    let values = x
        .iter()
        .zip(y)
        .map(|(&x, &y)| {
            let (r, flag) = step(x, y);
            flags |= flag;
            r
        })
        .collect();
    (values, flags)
}

/// Arrow's "Overflow happened on: 9223372036854775807 * 2", in words with the way out.
fn past_the_largest(what: &str, data_type: &DataType) -> datafusion::error::DataFusionError {
    let values = what.trim_start_matches("Overflow happened on:").trim();
    let (range, wider) = match data_type {
        DataType::Int8 => ("-128 to 127", "BIGINT"),
        DataType::Int16 => ("-32,768 to 32,767", "BIGINT"),
        DataType::Int32 => ("-2,147,483,648 to 2,147,483,647", "BIGINT"),
        DataType::UInt8 => ("0 to 255", "BIGINT"),
        DataType::UInt16 => ("0 to 65,535", "BIGINT"),
        DataType::UInt32 => ("0 to 4,294,967,295", "BIGINT"),
        DataType::UInt64 => ("0 to 18,446,744,073,709,551,615", "DECIMAL(38, 0)"),
        _ => (
            "-9,223,372,036,854,775,808 to 9,223,372,036,854,775,807",
            "DECIMAL(38, 0)",
        ),
    };
    // DataFusion may compute an expression for rows a WHERE then leaves out (it moves some
    // projections below the filter): CASE computes it only where its condition holds.
    exec_datafusion_err!(
        "a whole-number result is out of range: {values} is not within {range}; CAST a side to \
         {wider} (or DOUBLE) first. If it happens in rows the query leaves out, compute it only \
         where it fits: CASE WHEN <condition> THEN <expression> END"
    )
}

/// A float rounded to the nearest whole value, halves to even (DuckDB's and PostgreSQL's
/// `rint`: -0.5 is 0, 2.5 is 2), named as its argument (a CAST keeps its argument's name).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Rounded {
    signature: Signature,
}

impl Default for Rounded {
    fn default() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Rounded {
    fn name(&self) -> &str {
        "quire_round_for_cast"
    }

    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        Ok(args[0].schema_name().to_string())
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[0].clone())
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            self.name(),
            args.arg_fields[0].data_type().clone(),
            args.arg_fields[0].is_nullable(),
        )))
    }

    fn is_strict(&self) -> bool {
        true
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::array::{Array, AsArray};
        use datafusion::arrow::datatypes::{Float32Type, Float64Type};
        let round = |array: &dyn Array| -> Result<datafusion::arrow::array::ArrayRef> {
            Ok(match array.data_type() {
                DataType::Float64 => Arc::new(
                    array
                        .as_primitive::<Float64Type>()
                        .unary::<_, Float64Type>(f64::round_ties_even),
                ),
                DataType::Float32 => Arc::new(
                    array
                        .as_primitive::<Float32Type>()
                        .unary::<_, Float32Type>(f32::round_ties_even),
                ),
                other => {
                    return Err(datafusion::common::exec_datafusion_err!(
                        "cannot round {other} before a cast"
                    ))
                }
            })
        };
        match &args.args[0] {
            ColumnarValue::Array(a) => Ok(ColumnarValue::Array(round(a.as_ref())?)),
            ColumnarValue::Scalar(v) => {
                let rounded = round(v.to_array()?.as_ref())?;
                Ok(ColumnarValue::Scalar(
                    datafusion::common::ScalarValue::try_from_array(&rounded, 0)?,
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, ArrayRef, Int64Array};
    use proptest::prelude::*;

    use super::*;

    /// Values near the edges as often as small ones.
    fn value() -> impl Strategy<Value = Option<i64>> {
        prop_oneof![
            3 => (-1000i64..1000).prop_map(Some),
            2 => prop_oneof![
                Just(i64::MAX),
                Just(i64::MIN),
                Just(1i64 << 31),
                Just(-(1i64 << 31)),
                Just((1i64 << 31) - 1),
                Just(3_037_000_500),
                Just(-3_037_000_500),
                any::<i64>(),
            ]
            .prop_map(Some),
            1 => Just(None),
        ]
    }

    proptest! {
        /// Whatever the fast path answers is what arrow's checked kernels answer, and it
        /// answers nothing where they find a wrapped value.
        #[test]
        fn the_fast_path_agrees_with_the_checked_kernels(
            pairs in proptest::collection::vec((value(), value()), 1..40),
            op in prop_oneof![Just(Operator::Plus), Just(Operator::Minus), Just(Operator::Multiply)],
            constant in any::<bool>(),
        ) {
            let a: Int64Array = pairs.iter().map(|p| p.0).collect();
            let b: Int64Array = match constant {
                true => Int64Array::from_value(pairs[0].1.unwrap_or(7), pairs.len()),
                false => pairs.iter().map(|p| p.1).collect(),
            };
            let left = ColumnarValue::Array(Arc::new(a.clone()));
            let right = match constant {
                true => ColumnarValue::Scalar(datafusion::common::ScalarValue::Int64(Some(b.value(0)))),
                false => ColumnarValue::Array(Arc::new(b.clone())),
            };
            let checked = match op {
                Operator::Plus => numeric::add(&a, &b),
                Operator::Minus => numeric::sub(&a, &b),
                _ => numeric::mul(&a, &b),
            };
            match (unchecked_when_safe(op, &left, &right), checked) {
                (Some(fast), Ok(sure)) => {
                    let sure: ArrayRef = sure;
                    prop_assert_eq!(fast.to_data(), sure.to_data());
                }
                (Some(fast), Err(e)) => prop_assert!(false, "{:?} where arrow says {}", fast, e),
                (None, _) => {}
            }
        }
    }

    #[test]
    fn ordinary_values_take_the_fast_path() {
        let a = ColumnarValue::Array(Arc::new(Int64Array::from(vec![
            Some(1),
            None,
            Some(-40_000),
        ])));
        let b = ColumnarValue::Scalar(datafusion::common::ScalarValue::Int64(Some(2_000_000_000)));
        for op in [Operator::Plus, Operator::Minus, Operator::Multiply] {
            assert!(unchecked_when_safe(op, &a, &b).is_some(), "{op}");
        }
        let big = ColumnarValue::Scalar(datafusion::common::ScalarValue::Int64(Some(i64::MAX)));
        assert!(unchecked_when_safe(Operator::Plus, &a, &big).is_none());
        assert!(unchecked_when_safe(Operator::Multiply, &a, &big).is_none());
    }
}
