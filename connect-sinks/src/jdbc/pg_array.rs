//! One column of a PostgreSQL statement's rows, as the array parameter `unnest` reads: numbers,
//! booleans, dates and timestamps in binary when every value of the column is of that kind (the
//! server then parses nothing), text borrowed from the rows otherwise.

use std::error::Error;

use bytes::{BufMut, BytesMut};
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

use super::cell::PgCell;

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
const PG_EPOCH_MICROS: i64 = PG_EPOCH_DAYS * 86_400_000_000;

/// A `date` in PostgreSQL's binary form: days since 2000-01-01.
#[derive(Debug, Clone, Copy)]
pub struct PgDate(i32);

/// A `timestamp` or `timestamptz` in PostgreSQL's binary form: microseconds since 2000-01-01 (the
/// wall clock for `timestamp`, UTC for `timestamptz`).
#[derive(Debug, Clone, Copy)]
pub struct PgTimestamp(i64);

impl ToSql for PgDate {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.put_i32(self.0);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::DATE
    }

    to_sql_checked!();
}

impl ToSql for PgTimestamp {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.put_i64(self.0);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMP || *ty == Type::TIMESTAMPTZ
    }

    to_sql_checked!();
}

/// A column's values as one array parameter.
#[derive(Debug)]
pub enum PgArray<'a> {
    /// Text, borrowed from the rows.
    Text(Vec<Option<&'a str>>),
    /// A column of mixed kinds (a number for a text column in one row, say): all as text.
    Mixed(Vec<Option<String>>),
    /// `int8[]`.
    Int(Vec<Option<i64>>),
    /// `float8[]`.
    Float(Vec<Option<f64>>),
    /// `bool[]`.
    Bool(Vec<Option<bool>>),
    /// `date[]`.
    Date(Vec<Option<PgDate>>),
    /// `timestamp[]`: wall clocks.
    Timestamp(Vec<Option<PgTimestamp>>),
    /// `timestamptz[]`: instants.
    TimestampTz(Vec<Option<PgTimestamp>>),
}

/// The cell's kind, to tell whether a column holds one kind only.
fn kind(cell: &PgCell<'_>) -> Option<u8> {
    Some(match cell {
        PgCell::Null => return None,
        PgCell::Text(_) => 0,
        PgCell::Int(_) => 1,
        PgCell::Float(_) => 2,
        PgCell::Bool(_) => 3,
        PgCell::Date(_) => 4,
        PgCell::Timestamp(_) => 5,
        PgCell::TimestampTz(_) => 6,
    })
}

impl<'a> PgArray<'a> {
    /// The array of one column's cells, in row order.
    pub fn of<I>(cells: I) -> PgArray<'a>
    where
        I: Iterator<Item = &'a PgCell<'a>> + Clone,
    {
        let mut kinds = cells.clone().filter_map(kind);
        let first = kinds.next();
        if kinds.any(|k| Some(k) != first) {
            return PgArray::Mixed(cells.map(PgCell::to_text).collect());
        }
        macro_rules! collect {
            ($variant:ident, $pat:pat => $v:expr) => {
                PgArray::$variant(
                    cells
                        .map(|c| match c {
                            $pat => Some($v),
                            _ => None,
                        })
                        .collect(),
                )
            };
        }
        match first {
            None | Some(0) => collect!(Text, PgCell::Text(t) => t.as_ref()),
            Some(1) => collect!(Int, PgCell::Int(i) => *i),
            Some(2) => collect!(Float, PgCell::Float(f) => *f),
            Some(3) => collect!(Bool, PgCell::Bool(b) => *b),
            // The cells were range-checked (years 1 to 9999), so the shifts cannot overflow.
            Some(4) => collect!(Date, PgCell::Date(d) => PgDate((*d - PG_EPOCH_DAYS) as i32)),
            Some(5) => {
                collect!(Timestamp, PgCell::Timestamp(us) => PgTimestamp(*us - PG_EPOCH_MICROS))
            }
            _ => {
                collect!(TimestampTz, PgCell::TimestampTz(us) => PgTimestamp(*us - PG_EPOCH_MICROS))
            }
        }
    }

    /// The element type the statement declares for the parameter.
    pub fn element_type(&self) -> &'static str {
        match self {
            PgArray::Text(_) | PgArray::Mixed(_) => "text",
            PgArray::Int(_) => "int8",
            PgArray::Float(_) => "float8",
            PgArray::Bool(_) => "bool",
            PgArray::Date(_) => "date",
            PgArray::Timestamp(_) => "timestamp",
            PgArray::TimestampTz(_) => "timestamptz",
        }
    }

    /// The parameter.
    pub fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            PgArray::Text(v) => v,
            PgArray::Mixed(v) => v,
            PgArray::Int(v) => v,
            PgArray::Float(v) => v,
            PgArray::Bool(v) => v,
            PgArray::Date(v) => v,
            PgArray::Timestamp(v) | PgArray::TimestampTz(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    #[test]
    fn one_kind_goes_binary_and_mixed_kinds_go_as_text() {
        let cells = [
            PgCell::Date(0),
            PgCell::Null,
            PgCell::Date(PG_EPOCH_DAYS + 1),
        ];
        let refs: Vec<&PgCell<'_>> = cells.iter().collect();
        let a = PgArray::of(refs.iter().copied());
        assert_eq!(a.element_type(), "date");
        let PgArray::Date(v) = a else { panic!("{a:?}") };
        assert_eq!(
            v.iter().map(|d| d.map(|d| d.0)).collect::<Vec<_>>(),
            [Some(-10_957), None, Some(1)]
        );
        let mut buf = BytesMut::new();
        PgTimestamp(1).to_sql(&Type::TIMESTAMPTZ, &mut buf).unwrap();
        assert_eq!(&buf[..], &[0, 0, 0, 0, 0, 0, 0, 1]);

        let cells = [
            PgCell::TimestampTz(1_500_000),
            PgCell::Text(Cow::Borrowed("2026-11-01 01:30:00-04")),
            PgCell::Null,
        ];
        let refs: Vec<&PgCell<'_>> = cells.iter().collect();
        let a = PgArray::of(refs.iter().copied());
        assert_eq!(a.element_type(), "text");
        let PgArray::Mixed(v) = a else {
            panic!("{a:?}")
        };
        assert_eq!(
            v,
            [
                Some("1970-01-01 00:00:01.500000+00:00".to_owned()),
                Some("2026-11-01 01:30:00-04".to_owned()),
                None
            ]
        );
        assert_eq!(PgArray::of([].iter()).element_type(), "text");
    }
}
