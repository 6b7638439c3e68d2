//! A rows event's rows decoded straight into values.
//!
//! mysql_common's row iterator describes every column of every row as it decodes it (the schema,
//! table and column names copied into a `Column` per value), which this connector never reads: the
//! table's columns come from the schema history. Here the event's layout is read once per event
//! (each column's type, metadata and signedness from the table map, which columns each image
//! carries), and each row is its null bitmap and its values, decoded by mysql_common's
//! `BinlogValue` exactly as its iterator decodes them. MySQL's partial JSON updates
//! (`PARTIAL_UPDATE_ROWS_EVENT`, with a shared image before the after image) go through
//! mysql_common's iterator.

use std::io;

use mysql_async::binlog::events::{
    OptionalMetaExtractor, RowsEventData, RowsEventRows, TableMapEvent,
};
use mysql_async::binlog::value::BinlogValue;
use mysql_async::consts::ColumnType;
use mysql_common::io::ParseBuf;

/// One image of a row: the values of the columns the event carries, in table order.
pub(crate) type RowImage<'a> = Vec<BinlogValue<'a>>;

/// How one column's values are encoded.
pub(crate) struct ColumnLayout<'a> {
    ty: ColumnType,
    meta: &'a [u8],
    unsigned: bool,
}

/// Which columns an image carries, and how many.
pub(crate) struct ImageColumns {
    present: Vec<bool>,
    count: usize,
}

impl ImageColumns {
    fn of(bits: impl Fn(usize) -> bool, n: usize) -> ImageColumns {
        let present: Vec<bool> = (0..n).map(bits).collect();
        let count = present.iter().filter(|p| **p).count();
        ImageColumns { present, count }
    }
}

/// The rows of one rows event: before and after images (`None` where the event kind has none).
pub(crate) enum Rows<'a> {
    /// Decoded here.
    Direct {
        columns: Vec<ColumnLayout<'a>>,
        before: Option<ImageColumns>,
        after: Option<ImageColumns>,
        buf: ParseBuf<'a>,
    },
    /// A partial JSON update, through mysql_common's iterator.
    Partial(RowsEventRows<'a>),
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// The rows of `event`, whose table map is `tme`.
pub(crate) fn rows<'a>(
    event: &'a RowsEventData<'a>,
    tme: &'a TableMapEvent<'a>,
) -> io::Result<Rows<'a>> {
    if matches!(event, RowsEventData::PartialUpdateRowsEvent(_)) {
        return Ok(Rows::Partial(event.rows(tme)));
    }
    let n = usize::try_from(event.num_columns())
        .map_err(|_| invalid("a rows event with more columns than memory"))?;
    // The table map's count is backed by a type byte per column in its event, so bounding the rows
    // event's count by it bounds what the layout allocates; fewer columns read as mysql_common does.
    if event.num_columns() > tme.columns_count() {
        return Err(invalid(format!(
            "a rows event of {n} columns for a table map of {}",
            tme.columns_count()
        )));
    }
    let meta = OptionalMetaExtractor::new(tme.iter_optional_meta())?;
    let mut signedness = meta.iter_signedness();
    let mut columns = Vec::with_capacity(n);
    for i in 0..n {
        let ty = tme
            .get_column_type(i)
            .map_err(invalid)?
            .ok_or_else(|| invalid("no column type"))?;
        let unsigned = ty
            .is_numeric_type()
            .then(|| signedness.next())
            .flatten()
            .unwrap_or_default();
        columns.push(ColumnLayout {
            ty,
            meta: tme.get_column_metadata(i).unwrap_or(&[]),
            unsigned,
        });
    }
    let before = event
        .columns_before_image()
        .map(|bits| ImageColumns::of(|i| bits.get(i).is_some_and(|b| *b), n));
    let after = event
        .columns_after_image()
        .map(|bits| ImageColumns::of(|i| bits.get(i).is_some_and(|b| *b), n));
    Ok(Rows::Direct {
        columns,
        before,
        after,
        buf: ParseBuf(event.rows_data()),
    })
}

/// One image: its null bitmap, then the values of its columns that are not null.
fn image<'a>(
    columns: &[ColumnLayout<'a>],
    which: &ImageColumns,
    buf: &mut ParseBuf<'a>,
) -> io::Result<RowImage<'a>> {
    let nulls: &[u8] = buf.parse(which.count.div_ceil(8))?;
    let mut values = Vec::with_capacity(which.count);
    let mut at = 0usize;
    for (c, present) in columns.iter().zip(&which.present) {
        if !present {
            continue;
        }
        let null = nulls.get(at / 8).is_none_or(|b| b >> (at % 8) & 1 == 1);
        values.push(if null {
            BinlogValue::Value(mysql_async::Value::NULL)
        } else {
            buf.parse::<BinlogValue<'a>>((c.ty, c.meta, c.unsigned, false))?
        });
        at += 1;
    }
    Ok(values)
}

impl<'a> Iterator for Rows<'a> {
    type Item = io::Result<(Option<RowImage<'a>>, Option<RowImage<'a>>)>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Rows::Partial(rows) => rows
                .next()
                .map(|r| r.map(|(b, a)| (b.map(|b| b.unwrap()), a.map(|a| a.unwrap())))),
            Rows::Direct {
                columns,
                before,
                after,
                buf,
            } => {
                if buf.is_empty() {
                    return None;
                }
                let mut row = || -> io::Result<_> {
                    let b = before
                        .as_ref()
                        .map(|w| image(columns, w, buf))
                        .transpose()?;
                    let a = after.as_ref().map(|w| image(columns, w, buf)).transpose()?;
                    Ok((b, a))
                };
                let r = row();
                if r.is_err() {
                    // A row that cannot be decoded leaves no position to go on from.
                    *buf = ParseBuf(&[]);
                }
                Some(r)
            }
        }
    }
}
