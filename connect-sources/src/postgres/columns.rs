//! Debezium's PostgreSQL type table: which Connect schema each column type gets under the handling
//! modes, and how a value in the type's text output form (what pgoutput sends and what a snapshot
//! query returns, both under the session settings in [`SESSION_SETTINGS`]) becomes a Connect value.
//!
//! Conversion errors say which form was expected, never what the value was.

use std::collections::HashMap;

use connect_core::data::{Decimal, Map, Schema, SchemaBuilder, SchemaType, Struct, Value};

use crate::cdc::types::{
    self, binary, days_from_civil, parse_date, parse_hms, BinaryHandling, DecimalHandling,
    TimePrecision,
};

/// Session settings under which every text value is read: the snapshot connection sets them with
/// `SET`, the replication connection as startup options.
pub const SESSION_SETTINGS: &[(&str, &str)] = &[
    ("DateStyle", "ISO, YMD"),
    ("IntervalStyle", "iso_8601"),
    ("TimeZone", "UTC"),
    ("extra_float_digits", "3"),
    ("bytea_output", "hex"),
];

/// `io.debezium.time.MicroDuration`.
pub const MICRO_DURATION: &str = "io.debezium.time.MicroDuration";
/// `io.debezium.time.Interval`.
pub const INTERVAL: &str = "io.debezium.time.Interval";
/// `io.debezium.time.ZonedTime`.
pub const ZONED_TIME: &str = "io.debezium.time.ZonedTime";
/// `io.debezium.data.Uuid`.
pub const UUID: &str = "io.debezium.data.Uuid";
/// `io.debezium.data.Xml`.
pub const XML: &str = "io.debezium.data.Xml";
/// `io.debezium.data.VariableScaleDecimal`.
pub const VARIABLE_SCALE_DECIMAL: &str = "io.debezium.data.VariableScaleDecimal";

/// Debezium's average month length for MicroDuration (365.25 / 12 days).
const DAYS_PER_MONTH_AVG: f64 = 365.25 / 12.0;

/// `hstore.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HstoreHandling {
    /// `json` (default): the pairs as a JSON object text.
    Json,
    /// `map`: a Connect map of strings.
    Map,
}

/// `interval.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalHandling {
    /// `numeric` (default): microseconds (months of 365.25/12 days).
    Numeric,
    /// `string`: ISO-8601 `PnYnMnDTnHnMnS`.
    String,
}

/// The handling modes that choose a column's representation.
#[derive(Debug, Clone)]
pub struct Modes {
    /// `decimal.handling.mode`.
    pub decimal: DecimalHandling,
    /// `time.precision.mode` (`adaptive` by default for PostgreSQL).
    pub time: TimePrecision,
    /// `binary.handling.mode`.
    pub binary: BinaryHandling,
    /// `hstore.handling.mode`.
    pub hstore: HstoreHandling,
    /// `interval.handling.mode`.
    pub interval: IntervalHandling,
    /// `money.fraction.digits`.
    pub money_fraction_digits: u32,
    /// `unavailable.value.placeholder`: stands for an unchanged TOASTed value the server did not send.
    pub placeholder: String,
    /// `include.unknown.datatypes`: columns of types without a mapping are sent as their text bytes
    /// (otherwise left out).
    pub include_unknown: bool,
}

impl Default for Modes {
    fn default() -> Self {
        Modes {
            decimal: DecimalHandling::Precise,
            time: TimePrecision::Adaptive,
            binary: BinaryHandling::Bytes,
            hstore: HstoreHandling::Json,
            interval: IntervalHandling::Numeric,
            money_fraction_digits: 2,
            placeholder: "__debezium_unavailable_value".into(),
            include_unknown: false,
        }
    }
}

/// What the catalog says of a type that is not built in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeInfo {
    /// `pg_type.typname`.
    pub name: String,
    /// `typtype`: `b` base, `e` enum, `d` domain, `c` composite, `r` range.
    pub kind: u8,
    /// `typelem` of an array type (0 otherwise).
    pub element: u32,
    /// `typcategory`: `A` for arrays.
    pub category: u8,
    /// `typbasetype` of a domain.
    pub base: u32,
    /// `typtypmod` of a domain.
    pub base_modifier: i32,
    /// Labels of an enum, in order.
    pub labels: Vec<String>,
}

/// The catalog's types, by OID.
pub type Types = HashMap<u32, TypeInfo>;

/// A column's kind: decides its schema and conversion.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `boolean`, `bit(1)`.
    Bool,
    /// `smallint`.
    Int16,
    /// `integer`.
    Int32,
    /// `bigint`, `oid`.
    Int64,
    /// `real`.
    Float32,
    /// `double precision`.
    Float64,
    /// `numeric(p,s)`, or `numeric` with no scale (variable scale).
    Numeric {
        /// Declared precision.
        precision: Option<u32>,
        /// Declared scale (None: variable).
        scale: Option<u32>,
    },
    /// `money`.
    Money,
    /// Character types, `inet`, `cidr`, `macaddr`, `citext`, `ltree` and the like.
    Text,
    /// `uuid`.
    Uuid,
    /// `json`, `jsonb`.
    Json,
    /// `xml`.
    Xml,
    /// An enum type, with its labels.
    Enum(Vec<String>),
    /// `bytea`.
    Bytea,
    /// `date`.
    Date,
    /// `time(p)`.
    Time(u32),
    /// `timetz(p)`.
    TimeTz(u32),
    /// `timestamp(p)`.
    Timestamp(u32),
    /// `timestamptz(p)`.
    TimestampTz(u32),
    /// `interval`.
    Interval,
    /// `bit(n)` with n > 1, `bit varying(n)`.
    Bits(u32),
    /// `hstore`.
    Hstore,
    /// A one-dimensional array.
    Array(Box<Kind>),
    /// A type with no mapping.
    Unknown,
}

/// Built-in type OIDs (`pg_type.dat`).
mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const XML: u32 = 142;
    pub const CIDR: u32 = 650;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const MACADDR8: u32 = 774;
    pub const MONEY: u32 = 790;
    pub const MACADDR: u32 = 829;
    pub const INET: u32 = 869;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const TIMETZ: u32 = 1266;
    pub const BIT: u32 = 1560;
    pub const VARBIT: u32 = 1562;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
}

fn time_precision(modifier: i32) -> u32 {
    if (0..=6).contains(&modifier) {
        modifier as u32
    } else {
        6
    }
}

impl Kind {
    /// The kind of a column of type `type_oid` with modifier `modifier`, looking up types that are
    /// not built in (enums, domains, arrays, extension types) in `types`.
    pub fn of(type_oid: u32, modifier: i32, types: &Types) -> Kind {
        Self::resolve(type_oid, modifier, types, 0)
    }

    fn resolve(type_oid: u32, modifier: i32, types: &Types, depth: u32) -> Kind {
        match type_oid {
            oid::BOOL => Kind::Bool,
            oid::INT2 => Kind::Int16,
            oid::INT4 => Kind::Int32,
            oid::INT8 | oid::OID => Kind::Int64,
            oid::FLOAT4 => Kind::Float32,
            oid::FLOAT8 => Kind::Float64,
            oid::NUMERIC => {
                if modifier >= 4 {
                    let m = (modifier - 4) as u32;
                    Kind::Numeric {
                        precision: Some((m >> 16) & 0xffff),
                        scale: Some(m & 0xffff),
                    }
                } else {
                    Kind::Numeric {
                        precision: None,
                        scale: None,
                    }
                }
            }
            oid::MONEY => Kind::Money,
            oid::CHAR
            | oid::NAME
            | oid::TEXT
            | oid::BPCHAR
            | oid::VARCHAR
            | oid::INET
            | oid::CIDR
            | oid::MACADDR
            | oid::MACADDR8 => Kind::Text,
            oid::UUID => Kind::Uuid,
            oid::JSON | oid::JSONB => Kind::Json,
            oid::XML => Kind::Xml,
            oid::BYTEA => Kind::Bytea,
            oid::DATE => Kind::Date,
            oid::TIME => Kind::Time(time_precision(modifier)),
            oid::TIMETZ => Kind::TimeTz(time_precision(modifier)),
            oid::TIMESTAMP => Kind::Timestamp(time_precision(modifier)),
            oid::TIMESTAMPTZ => Kind::TimestampTz(time_precision(modifier)),
            oid::INTERVAL => Kind::Interval,
            oid::BIT if modifier <= 1 => Kind::Bool,
            oid::BIT => Kind::Bits(modifier as u32),
            oid::VARBIT => Kind::Bits(if modifier > 0 { modifier as u32 } else { 0 }),
            other => {
                let Some(t) = types.get(&other) else {
                    return Kind::Unknown;
                };
                // Domains of domains and arrays of domains resolve to their base; a cycle (a broken
                // catalog) ends as Unknown.
                if depth > 8 {
                    return Kind::Unknown;
                }
                match t.kind {
                    b'e' => Kind::Enum(t.labels.clone()),
                    b'd' => Self::resolve(t.base, t.base_modifier, types, depth + 1),
                    _ if t.category == b'A' && t.element != 0 => {
                        match Self::resolve(t.element, modifier, types, depth + 1) {
                            Kind::Unknown | Kind::Array(_) => Kind::Unknown,
                            k => Kind::Array(Box::new(k)),
                        }
                    }
                    _ => match t.name.as_str() {
                        "hstore" => Kind::Hstore,
                        "citext" | "ltree" | "lquery" | "isbn" | "tsvector" => Kind::Text,
                        _ => Kind::Unknown,
                    },
                }
            }
        }
    }

    /// Whether the column is sent at all under `modes`.
    pub fn included(&self, modes: &Modes) -> bool {
        !matches!(self, Kind::Unknown) || modes.include_unknown
    }

    fn builder(&self, modes: &Modes) -> SchemaBuilder {
        let named = |ty: SchemaType, name: &str| SchemaBuilder::new(ty).name(name).version(1);
        match self {
            Kind::Bool => SchemaBuilder::new(SchemaType::Boolean),
            Kind::Int16 => SchemaBuilder::new(SchemaType::Int16),
            Kind::Int32 => SchemaBuilder::new(SchemaType::Int32),
            Kind::Int64 => SchemaBuilder::new(SchemaType::Int64),
            Kind::Float32 => SchemaBuilder::new(SchemaType::Float32),
            Kind::Float64 => SchemaBuilder::new(SchemaType::Float64),
            Kind::Numeric { precision, scale } => match (modes.decimal, scale) {
                (DecimalHandling::Precise, Some(s)) => types::decimal(*precision, *s),
                (DecimalHandling::Precise, None) => SchemaBuilder::struct_()
                    .name(VARIABLE_SCALE_DECIMAL)
                    .version(1)
                    .doc("Variable scaled decimal")
                    .field("scale", Schema::int32())
                    .field("value", Schema::bytes()),
                (DecimalHandling::Double, _) => SchemaBuilder::new(SchemaType::Float64),
                (DecimalHandling::String, _) => SchemaBuilder::new(SchemaType::String),
            },
            Kind::Money => match modes.decimal {
                DecimalHandling::Precise => types::decimal(None, modes.money_fraction_digits),
                DecimalHandling::Double => SchemaBuilder::new(SchemaType::Float64),
                DecimalHandling::String => SchemaBuilder::new(SchemaType::String),
            },
            Kind::Text => SchemaBuilder::new(SchemaType::String),
            Kind::Uuid => named(SchemaType::String, UUID),
            Kind::Json => types::json(),
            Kind::Xml => named(SchemaType::String, XML),
            Kind::Enum(labels) => types::enumeration(labels),
            Kind::Bytea => match modes.binary {
                BinaryHandling::Bytes => SchemaBuilder::new(SchemaType::Bytes),
                _ => SchemaBuilder::new(SchemaType::String),
            },
            Kind::Date => match modes.time {
                TimePrecision::Connect => Schema::date(),
                _ => types::date(),
            },
            Kind::Time(p) => match modes.time {
                TimePrecision::Connect => Schema::time(),
                TimePrecision::Adaptive if *p <= 3 => types::time_millis(),
                _ => types::micro_time(),
            },
            Kind::TimeTz(_) => named(SchemaType::String, ZONED_TIME),
            Kind::Timestamp(p) => match modes.time {
                TimePrecision::Connect => Schema::timestamp(),
                _ if *p <= 3 => types::timestamp_millis(),
                _ => types::micro_timestamp(),
            },
            Kind::TimestampTz(_) => types::zoned_timestamp(),
            Kind::Interval => match modes.interval {
                IntervalHandling::Numeric => named(SchemaType::Int64, MICRO_DURATION),
                IntervalHandling::String => named(SchemaType::String, INTERVAL),
            },
            Kind::Bits(n) => types::bits(*n),
            Kind::Hstore => match modes.hstore {
                HstoreHandling::Json => types::json(),
                HstoreHandling::Map => {
                    SchemaBuilder::map(Schema::string(), Schema::optional_string())
                }
            },
            Kind::Array(e) => SchemaBuilder::array(e.builder(modes).optional().build()),
            Kind::Unknown => SchemaBuilder::new(SchemaType::Bytes),
        }
    }

    /// The column's schema.
    pub fn schema(&self, modes: &Modes, optional: bool) -> Schema {
        let b = self.builder(modes);
        if optional {
            b.optional().build()
        } else {
            b.build()
        }
    }

    /// The value a required column takes when the row image does not carry it (the old image of
    /// REPLICA IDENTITY DEFAULT holds only the key): Debezium's fallback for the type.
    pub fn fallback(&self, modes: &Modes) -> Value {
        match self {
            Kind::Bool => Value::Boolean(false),
            Kind::Int16 => Value::Int16(0),
            Kind::Int32 => Value::Int32(0),
            Kind::Int64 => Value::Int64(0),
            Kind::Float32 => Value::Float32(0.0),
            Kind::Float64 => Value::Float64(0.0),
            Kind::Numeric { scale, .. } => match (modes.decimal, scale) {
                (DecimalHandling::Precise, Some(s)) => Value::Decimal(Decimal::new(0, *s as i32)),
                (DecimalHandling::Precise, None) => {
                    variable_scale(&self.schema(modes, false), Decimal::new(0, 0))
                }
                (DecimalHandling::Double, _) => Value::Float64(0.0),
                (DecimalHandling::String, _) => Value::String("0".into()),
            },
            Kind::Money => match modes.decimal {
                DecimalHandling::Precise => {
                    Value::Decimal(Decimal::new(0, modes.money_fraction_digits as i32))
                }
                DecimalHandling::Double => Value::Float64(0.0),
                DecimalHandling::String => Value::String("0".into()),
            },
            Kind::Bytea if modes.binary == BinaryHandling::Bytes => {
                Value::Bytes(Default::default())
            }
            Kind::Bits(_) | Kind::Unknown => Value::Bytes(Default::default()),
            Kind::Date => match modes.time {
                TimePrecision::Connect => Value::Date(0),
                _ => Value::Int32(0),
            },
            Kind::Time(p) => match modes.time {
                TimePrecision::Connect => Value::Time(0),
                TimePrecision::Adaptive if *p <= 3 => Value::Int32(0),
                _ => Value::Int64(0),
            },
            Kind::Timestamp(_) => match modes.time {
                TimePrecision::Connect => Value::Timestamp(0),
                _ => Value::Int64(0),
            },
            Kind::TimestampTz(p) => Value::String(types::zoned_utc(0, 0, *p)),
            Kind::Interval if modes.interval == IntervalHandling::Numeric => Value::Int64(0),
            Kind::Hstore if modes.hstore == HstoreHandling::Map => Value::Map(Map::new()),
            Kind::Hstore => Value::String("{}".into()),
            Kind::Array(_) => Value::Array(vec![]),
            _ => Value::String(String::new()),
        }
    }

    /// What stands for an unchanged TOASTed value: the placeholder where the type can hold text,
    /// otherwise the fallback (or null when the column is optional).
    pub fn placeholder(&self, modes: &Modes, optional: bool) -> Value {
        match self {
            Kind::Text | Kind::Json | Kind::Xml | Kind::Uuid | Kind::Enum(_) => {
                Value::String(modes.placeholder.clone())
            }
            Kind::Hstore if modes.hstore == HstoreHandling::Json => {
                Value::String(modes.placeholder.clone())
            }
            Kind::Bytea | Kind::Unknown => match modes.binary {
                BinaryHandling::Bytes => {
                    Value::Bytes(bytes::Bytes::copy_from_slice(modes.placeholder.as_bytes()))
                }
                _ => Value::String(modes.placeholder.clone()),
            },
            Kind::Array(e)
                if matches!(**e, Kind::Text | Kind::Json | Kind::Uuid | Kind::Enum(_)) =>
            {
                Value::Array(vec![Value::String(modes.placeholder.clone())])
            }
            _ if optional => Value::Null,
            _ => self.fallback(modes),
        }
    }
}

/// A value that is not in the form its type's output function writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}")]
pub struct ConvertError {
    /// The expected form (never the value).
    pub expected: &'static str,
}

fn err<T>(expected: &'static str) -> Result<T, ConvertError> {
    Err(ConvertError { expected })
}

fn variable_scale(schema: &Schema, d: Decimal) -> Value {
    let s = Struct::from_values(
        schema.clone(),
        vec![
            Value::Int32(d.scale()),
            Value::Bytes(bytes::Bytes::from(d.to_be_bytes())),
        ],
    )
    .unwrap_or_else(|_| Struct::new(schema.clone()));
    Value::Struct(s)
}

/// Converts one value in text output form. `schema` is the column's schema (needed for structs).
pub fn convert(
    kind: &Kind,
    text: &str,
    modes: &Modes,
    schema: &Schema,
) -> Result<Value, ConvertError> {
    Ok(match kind {
        Kind::Bool => match text {
            "t" | "1" => Value::Boolean(true),
            "f" | "0" => Value::Boolean(false),
            _ => return err("a boolean (t or f)"),
        },
        Kind::Int16 => Value::Int16(text.parse().or_else(|_| err("a smallint"))?),
        Kind::Int32 => Value::Int32(text.parse().or_else(|_| err("an integer"))?),
        Kind::Int64 => Value::Int64(text.parse().or_else(|_| err("a bigint"))?),
        Kind::Float32 => Value::Float32(parse_float(text).or_else(|_| err("a real"))? as f32),
        Kind::Float64 => Value::Float64(parse_float(text).or_else(|_| err("a double precision"))?),
        Kind::Numeric { scale, .. } => {
            if text == "NaN" || text.ends_with("Infinity") {
                return match modes.decimal {
                    DecimalHandling::Double => Ok(Value::Float64(parse_float(text).or_else(|_| err("a numeric"))?)),
                    DecimalHandling::String => Ok(Value::String(text.to_owned())),
                    // Debezium has no precise form for these.
                    DecimalHandling::Precise => err("a finite numeric (NaN and infinities have no Decimal form; use decimal.handling.mode=double or string)"),
                };
            }
            match modes.decimal {
                DecimalHandling::String => Value::String(text.to_owned()),
                DecimalHandling::Double => {
                    Value::Float64(text.parse().or_else(|_| err("a numeric"))?)
                }
                DecimalHandling::Precise => {
                    let d = Decimal::parse(text).or_else(|_| err("a numeric within 38 digits"))?;
                    match scale {
                        Some(s) => Value::Decimal(
                            d.rescale(*s as i32)
                                .or_else(|_| err("a numeric of the declared scale"))?,
                        ),
                        None => variable_scale(schema, d),
                    }
                }
            }
        }
        Kind::Money => {
            let neg = text.starts_with('-') || text.starts_with('(');
            let digits: String = text
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            if digits.is_empty() {
                return err("a money amount");
            }
            let d = Decimal::parse(&digits).or_else(|_| err("a money amount"))?;
            let d = if neg {
                Decimal::new(-d.unscaled(), d.scale())
            } else {
                d
            };
            match modes.decimal {
                DecimalHandling::Precise => Value::Decimal(
                    d.rescale(modes.money_fraction_digits as i32)
                        .or_else(|_| err("a money amount with money.fraction.digits decimals"))?,
                ),
                DecimalHandling::Double => Value::Float64(d.to_f64()),
                DecimalHandling::String => Value::String(d.to_string()),
            }
        }
        Kind::Text | Kind::Uuid | Kind::Json | Kind::Xml | Kind::Enum(_) => {
            Value::String(text.to_owned())
        }
        Kind::Bytea => {
            let Some(hex) = text.strip_prefix("\\x") else {
                return err("bytea in hex output form (bytea_output=hex)");
            };
            binary(
                &decode_hex(hex).ok_or(ConvertError {
                    expected: "bytea hex digits",
                })?,
                modes.binary,
            )
        }
        Kind::Date => {
            let days = parse_pg_date(text).ok_or(ConvertError {
                expected: "a date as YYYY-MM-DD",
            })?;
            let days = i32::try_from(days).or_else(|_| err("a date within the int32 day range"))?;
            match modes.time {
                TimePrecision::Connect => Value::Date(days),
                _ => Value::Int32(days),
            }
        }
        Kind::Time(p) => {
            let (h, m, s, us) = parse_hms(text).ok_or(ConvertError {
                expected: "a time as HH:MM:SS[.ffffff]",
            })?;
            if h > 24 {
                return err("a time of day");
            }
            let micros = (h * 3600 + m * 60 + s) * 1_000_000 + us;
            match modes.time {
                TimePrecision::Connect => Value::Time((micros / 1000) as i32),
                TimePrecision::Adaptive if *p <= 3 => Value::Int32((micros / 1000) as i32),
                _ => Value::Int64(micros),
            }
        }
        Kind::TimeTz(_) => {
            let (time, offset) = split_offset(text).ok_or(ConvertError {
                expected: "a time with time zone as HH:MM:SS[.ffffff]+HH[:MM]",
            })?;
            let (h, m, s, us) = parse_hms(time).ok_or(ConvertError {
                expected: "a time with time zone as HH:MM:SS[.ffffff]+HH[:MM]",
            })?;
            let secs = (h * 3600 + m * 60 + s - offset).rem_euclid(86_400);
            let mut out = format!(
                "{:02}:{:02}:{:02}",
                secs / 3600,
                secs % 3600 / 60,
                secs % 60
            );
            push_iso_fraction(&mut out, us as u32);
            out.push('Z');
            Value::String(out)
        }
        Kind::Timestamp(p) => {
            let (secs, us) = parse_timestamp(text).ok_or(ConvertError {
                expected: "a timestamp as YYYY-MM-DD HH:MM:SS[.ffffff]",
            })?;
            let micros = secs
                .checked_mul(1_000_000)
                .and_then(|v| v.checked_add(us as i64))
                .ok_or(ConvertError {
                    expected: "a timestamp within range",
                })?;
            match modes.time {
                TimePrecision::Connect => Value::Timestamp(micros.div_euclid(1000)),
                _ if *p <= 3 => Value::Int64(micros.div_euclid(1000)),
                _ => Value::Int64(micros),
            }
        }
        Kind::TimestampTz(p) => {
            if text == "infinity" || text == "-infinity" {
                // Debezium passes PostgreSQL's infinities through as they are.
                return Ok(Value::String(text.to_owned()));
            }
            let (local, offset) = split_offset(text).ok_or(ConvertError {
                expected: "a timestamp with time zone as YYYY-MM-DD HH:MM:SS[.ffffff]+HH",
            })?;
            let (secs, us) = parse_timestamp(local).ok_or(ConvertError {
                expected: "a timestamp with time zone as YYYY-MM-DD HH:MM:SS[.ffffff]+HH",
            })?;
            Value::String(types::zoned_utc(secs - offset, us, *p))
        }
        Kind::Interval => {
            let iv = Interval::parse(text).ok_or(ConvertError {
                expected: "an interval in ISO-8601 form (IntervalStyle=iso_8601)",
            })?;
            match modes.interval {
                IntervalHandling::Numeric => Value::Int64(iv.micros()),
                IntervalHandling::String => Value::String(iv.iso()),
            }
        }
        Kind::Bits(_) => {
            if !text.bytes().all(|b| b == b'0' || b == b'1') {
                return err("a bit string of 0 and 1");
            }
            // Little-endian bytes of the number the bits spell, most significant bit first.
            let n = text.len();
            let mut out = vec![0u8; n.div_ceil(8)];
            for (i, b) in text.bytes().rev().enumerate() {
                if b == b'1' {
                    out[i / 8] |= 1 << (i % 8);
                }
            }
            Value::Bytes(bytes::Bytes::from(out))
        }
        Kind::Hstore => {
            let pairs = parse_hstore(text).ok_or(ConvertError {
                expected: "hstore pairs as \"key\"=>\"value\"",
            })?;
            match modes.hstore {
                HstoreHandling::Map => {
                    let mut m = Map::with_capacity(pairs.len());
                    for (k, v) in pairs {
                        m.push(
                            Value::String(k),
                            v.map(Value::String).unwrap_or(Value::Null),
                        );
                    }
                    Value::Map(m)
                }
                HstoreHandling::Json => {
                    let mut o = serde_json::Map::new();
                    for (k, v) in pairs {
                        o.insert(
                            k,
                            v.map(serde_json::Value::String)
                                .unwrap_or(serde_json::Value::Null),
                        );
                    }
                    Value::String(serde_json::Value::Object(o).to_string())
                }
            }
        }
        Kind::Array(element) => {
            let items = parse_array(text).ok_or(ConvertError {
                expected: "a one-dimensional array literal",
            })?;
            let element_schema = schema
                .value_schema()
                .cloned()
                .unwrap_or_else(Schema::optional_string);
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(match item {
                    None => Value::Null,
                    Some(t) => convert(element, &t, modes, &element_schema)?,
                });
            }
            Value::Array(out)
        }
        Kind::Unknown => Value::Bytes(bytes::Bytes::copy_from_slice(text.as_bytes())),
    })
}

fn parse_float(text: &str) -> Result<f64, ()> {
    match text {
        "NaN" => Ok(f64::NAN),
        "Infinity" => Ok(f64::INFINITY),
        "-Infinity" => Ok(f64::NEG_INFINITY),
        t => t.parse().map_err(|_| ()),
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    let b = hex.as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    b.chunks_exact(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// Days since the epoch of `YYYY-MM-DD` with an optional ` BC` suffix (year 1 BC is year 0).
fn parse_pg_date(text: &str) -> Option<i64> {
    match text.strip_suffix(" BC") {
        Some(t) => era_date(t, true),
        None => era_date(text, false),
    }
}

/// Days since the epoch of `YYYY-MM-DD`, a year of the era before Christ when `bc`.
fn era_date(t: &str, bc: bool) -> Option<i64> {
    if t.len() < 10 {
        return None;
    }
    let (y, m, d) = parse_date(t)?;
    if m == 0 || d == 0 {
        return None;
    }
    let y = if bc { 1 - y } else { y };
    Some(days_from_civil(y, m, d))
}

/// Epoch seconds and microseconds of `YYYY-MM-DD HH:MM:SS[.ffffff][ BC]` (no offset).
fn parse_timestamp(text: &str) -> Option<(i64, u32)> {
    let (t, bc) = match text.strip_suffix(" BC") {
        Some(t) => (t, true),
        None => (text, false),
    };
    let (date, time) = t.split_once(' ')?;
    let days = era_date(date, bc)?;
    let (h, m, s, us) = parse_hms(time)?;
    if h > 23 {
        return None;
    }
    let secs = days
        .checked_mul(86_400)?
        .checked_add(h * 3600 + m * 60 + s)?;
    Some((secs, us as u32))
}

/// Splits a trailing `+HH[:MM[:SS]]` / `-HH...` offset; returns the rest and the offset in seconds.
fn split_offset(text: &str) -> Option<(&str, i64)> {
    if text.ends_with(" BC") {
        // BC instants have no ZonedTimestamp form here.
        return None;
    }
    let t = text;
    // The offset's sign is the last '+' or '-' after the time's colon.
    let colon = t.find(':')?;
    let at = t[colon..].rfind(['+', '-'])? + colon;
    let (local, off) = t.split_at(at);
    let sign = if off.starts_with('-') { -1 } else { 1 };
    let mut parts = off[1..].split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    let s: i64 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    if h > 15 || m > 59 || s > 59 {
        return None;
    }
    Some((local, sign * (h * 3600 + m * 60 + s)))
}

/// Appends `.ffffff` with as few digits as the value needs (none for a whole second), as Java's
/// ISO formatters (Debezium's `ZonedTime`) print fractions.
fn push_iso_fraction(out: &mut String, micros: u32) {
    if micros > 0 {
        let f = format!("{micros:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
}

/// An interval as PostgreSQL keeps it: months, days and microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interval {
    /// Months (years × 12 included).
    pub months: i64,
    /// Days.
    pub days: i64,
    /// Microseconds of the time part.
    pub micros: i64,
}

impl Interval {
    /// Parses the `iso_8601` interval style: `P1Y2M3DT4H5M6.5S`, with signed parts, `PT0S` for zero.
    pub fn parse(text: &str) -> Option<Interval> {
        let rest = text.strip_prefix('P')?;
        let (date, time) = match rest.split_once('T') {
            Some((d, t)) => (d, Some(t)),
            None => (rest, None),
        };
        let mut iv = Interval::default();
        let mut num = String::new();
        for c in date.chars() {
            match c {
                'Y' | 'M' | 'W' | 'D' => {
                    let n: i64 = num.parse().ok()?;
                    num.clear();
                    match c {
                        'Y' => iv.months = iv.months.checked_add(n.checked_mul(12)?)?,
                        'M' => iv.months = iv.months.checked_add(n)?,
                        'W' => iv.days = iv.days.checked_add(n.checked_mul(7)?)?,
                        _ => iv.days = iv.days.checked_add(n)?,
                    }
                }
                c if c.is_ascii_digit() || c == '-' || c == '+' => num.push(c),
                _ => return None,
            }
        }
        if !num.is_empty() {
            return None;
        }
        for c in time.unwrap_or("").chars() {
            match c {
                'H' | 'M' => {
                    let n: i64 = num.parse().ok()?;
                    num.clear();
                    let unit = if c == 'H' { 3_600_000_000 } else { 60_000_000 };
                    iv.micros = iv.micros.checked_add(n.checked_mul(unit)?)?;
                }
                'S' => {
                    let neg = num.starts_with('-');
                    let (whole, frac) = num
                        .trim_start_matches(['-', '+'])
                        .split_once('.')
                        .unwrap_or((num.trim_start_matches(['-', '+']), ""));
                    if frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    let s: i64 = whole.parse().ok()?;
                    let f: i64 = if frac.is_empty() {
                        0
                    } else {
                        format!("{frac:0<6}").parse().ok()?
                    };
                    let v = s.checked_mul(1_000_000)?.checked_add(f)?;
                    iv.micros = iv.micros.checked_add(if neg { -v } else { v })?;
                    num.clear();
                }
                c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => num.push(c),
                _ => return None,
            }
        }
        num.is_empty().then_some(iv)
    }

    /// Debezium's MicroDuration: months of 365.25/12 days, days of 24 hours.
    pub fn micros(&self) -> i64 {
        let days = self.months as f64 * DAYS_PER_MONTH_AVG + self.days as f64;
        (days * 86_400_000_000.0) as i64 + self.micros
    }

    /// Debezium's Interval string: `P<y>Y<m>M<d>DT<h>H<m>M<s>S`, every part present.
    pub fn iso(&self) -> String {
        let (y, mo) = (self.months / 12, self.months % 12);
        let (h, rest) = (self.micros / 3_600_000_000, self.micros % 3_600_000_000);
        let (mi, rest) = (rest / 60_000_000, rest % 60_000_000);
        let (s, us) = (rest / 1_000_000, rest % 1_000_000);
        let seconds = if us == 0 {
            format!("{s}")
        } else {
            let sign = if rest < 0 && s == 0 { "-" } else { "" };
            let frac = format!("{:06}", us.abs());
            format!("{sign}{s}.{}", frac.trim_end_matches('0'))
        };
        format!("P{y}Y{mo}M{}DT{h}H{mi}M{seconds}S", self.days)
    }
}

/// Items of a one-dimensional array literal (`{a,"b c",NULL}`); None for a NULL item.
fn parse_array(text: &str) -> Option<Vec<Option<String>>> {
    // A lower bound prefix (`[0:1]={...}`) is dropped.
    let text = match text.split_once("={") {
        Some((bounds, _)) if bounds.starts_with('[') => &text[bounds.len() + 1..],
        _ => text,
    };
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut items = Vec::new();
    if inner.is_empty() {
        return Some(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        let item = if chars.peek() == Some(&'"') {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next()? {
                    '\\' => s.push(chars.next()?),
                    '"' => break,
                    c => s.push(c),
                }
            }
            Some(s)
        } else {
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '{' || c == '"' {
                    // A nested array or a stray quote: not one-dimensional.
                    return None;
                }
                s.push(c);
                chars.next();
            }
            let s = s.trim().to_owned();
            (!s.eq_ignore_ascii_case("NULL")).then_some(s)
        };
        items.push(item);
        match chars.next() {
            None => return Some(items),
            Some(',') => {}
            Some(_) => return None,
        }
    }
}

/// Pairs of an hstore's text form: `"a"=>"1", "b"=>NULL`.
fn parse_hstore(text: &str) -> Option<Vec<(String, Option<String>)>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let quoted = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Option<String> {
        if chars.next()? != '"' {
            return None;
        }
        let mut s = String::new();
        loop {
            match chars.next()? {
                '\\' => s.push(chars.next()?),
                '"' => return Some(s),
                c => s.push(c),
            }
        }
    };
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let k = quoted(&mut chars)?;
        if chars.next()? != '=' || chars.next()? != '>' {
            return None;
        }
        let v = if chars.peek() == Some(&'"') {
            Some(quoted(&mut chars)?)
        } else {
            let w: String = (0..4).filter_map(|_| chars.next()).collect();
            if w != "NULL" {
                return None;
            }
            None
        };
        out.push((k, v));
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => return Some(out),
            Some(',') => {}
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(kind: Kind, text: &str) -> Value {
        let m = Modes::default();
        let s = kind.schema(&m, true);
        convert(&kind, text, &m, &s).unwrap()
    }

    #[test]
    fn temporal_forms() {
        assert_eq!(conv(Kind::Date, "2020-01-01"), Value::Int32(18_262));
        assert_eq!(
            conv(Kind::Date, "0001-01-01 BC"),
            Value::Int32(days_from_civil(0, 1, 1) as i32)
        );
        assert_eq!(
            conv(Kind::Time(6), "10:15:30.5"),
            Value::Int64(36_930_500_000)
        );
        assert_eq!(conv(Kind::Time(3), "10:15:30.5"), Value::Int32(36_930_500));
        assert_eq!(
            conv(Kind::Timestamp(6), "2020-01-01 10:00:00.000001"),
            Value::Int64(1_577_872_800_000_001)
        );
        assert_eq!(
            conv(Kind::Timestamp(3), "2020-01-01 10:00:00.123"),
            Value::Int64(1_577_872_800_123)
        );
        assert_eq!(
            conv(Kind::Timestamp(6), "0001-01-01 10:00:00.5 BC"),
            Value::Int64((days_from_civil(0, 1, 1) * 86_400 + 36_000) * 1_000_000 + 500_000)
        );
        assert_eq!(
            conv(Kind::TimestampTz(6), "2020-01-01 12:00:00.123+02"),
            Value::String("2020-01-01T10:00:00.123000Z".into())
        );
        assert_eq!(
            conv(Kind::TimestampTz(0), "2020-01-01 00:30:00-05:30"),
            Value::String("2020-01-01T06:00:00Z".into())
        );
        assert_eq!(
            conv(Kind::TimeTz(6), "01:00:00+02"),
            Value::String("23:00:00Z".into())
        );
        assert_eq!(
            conv(Kind::TimeTz(6), "12:34:56.789+02"),
            Value::String("10:34:56.789Z".into()),
            "ZonedTime prints as few fraction digits as the value needs"
        );
        assert_eq!(
            conv(Kind::TimestampTz(6), "infinity"),
            Value::String("infinity".into())
        );
    }

    #[test]
    fn intervals() {
        let iv = Interval::parse("P1Y2M3DT4H5M6.5S").unwrap();
        assert_eq!(iv.iso(), "P1Y2M3DT4H5M6.5S");
        assert_eq!(Interval::parse("PT0S").unwrap().iso(), "P0Y0M0DT0H0M0S");
        assert_eq!(
            Interval::parse("P-1Y-2MT-3H").unwrap(),
            Interval {
                months: -14,
                days: 0,
                micros: -3 * 3_600_000_000
            }
        );
        assert_eq!(Interval::parse("P1D").unwrap().micros(), 86_400_000_000);
        assert_eq!(Interval::parse("P1M").unwrap().micros(), 2_629_800_000_000);
        assert!(Interval::parse("1 day").is_none());
        assert!(Interval::parse("P99999999999999999999Y").is_none());
    }

    #[test]
    fn numbers_money_bits_bytes() {
        assert_eq!(
            conv(
                Kind::Numeric {
                    precision: Some(10),
                    scale: Some(2)
                },
                "12.5"
            ),
            Value::Decimal(Decimal::new(1250, 2))
        );
        let v = conv(
            Kind::Numeric {
                precision: None,
                scale: None,
            },
            "-1.25",
        );
        let Value::Struct(s) = v else { panic!() };
        assert_eq!(s.get("scale"), Some(&Value::Int32(2)));
        assert_eq!(
            conv(Kind::Money, "-$1,234.50"),
            Value::Decimal(Decimal::new(-123_450, 2))
        );
        assert_eq!(
            conv(Kind::Bits(10), "1000000001"),
            Value::Bytes(vec![1u8, 2].into())
        );
        assert_eq!(
            conv(Kind::Bytea, "\\x0aff"),
            Value::Bytes(vec![10u8, 255].into())
        );
        assert!(matches!(conv(Kind::Float64, "NaN"), Value::Float64(f) if f.is_nan()));
    }

    #[test]
    fn arrays_and_hstore() {
        assert_eq!(
            conv(
                Kind::Array(Box::new(Kind::Text)),
                r#"{a,"b c",NULL,"q\"x"}"#
            ),
            Value::Array(vec![
                Value::String("a".into()),
                Value::String("b c".into()),
                Value::Null,
                Value::String("q\"x".into())
            ])
        );
        assert_eq!(
            conv(Kind::Array(Box::new(Kind::Int32)), "{}"),
            Value::Array(vec![])
        );
        assert_eq!(
            conv(Kind::Hstore, r#""a"=>"1", "b"=>NULL"#),
            Value::String(r#"{"a":"1","b":null}"#.into())
        );
    }

    #[test]
    fn errors_never_carry_the_value() {
        let m = Modes::default();
        for (k, t) in [
            (Kind::Int32, "Jane Doe"),
            (Kind::Date, "Jane Doe"),
            (Kind::TimestampTz(6), "Jane Doe"),
            (Kind::Interval, "Jane Doe"),
            (Kind::Array(Box::new(Kind::Int32)), "{Jane Doe}"),
            (Kind::Hstore, "Jane Doe"),
            (Kind::Bytea, "Jane Doe"),
        ] {
            let s = k.schema(&m, true);
            let e = convert(&k, t, &m, &s).unwrap_err().to_string();
            assert!(!e.contains("Jane"), "{e}");
        }
    }

    #[test]
    fn domains_enums_and_arrays_resolve() {
        let mut types = Types::new();
        types.insert(
            50_000,
            TypeInfo {
                name: "mood".into(),
                kind: b'e',
                element: 0,
                category: b'E',
                base: 0,
                base_modifier: -1,
                labels: vec!["sad".into(), "ok".into()],
            },
        );
        types.insert(
            50_001,
            TypeInfo {
                name: "_mood".into(),
                kind: b'b',
                element: 50_000,
                category: b'A',
                base: 0,
                base_modifier: -1,
                labels: vec![],
            },
        );
        types.insert(
            50_002,
            TypeInfo {
                name: "mrn".into(),
                kind: b'd',
                element: 0,
                category: b'S',
                base: oid::VARCHAR,
                base_modifier: 24,
                labels: vec![],
            },
        );
        types.insert(
            50_003,
            TypeInfo {
                name: "loop".into(),
                kind: b'd',
                element: 0,
                category: b'S',
                base: 50_003,
                base_modifier: -1,
                labels: vec![],
            },
        );
        assert_eq!(
            Kind::of(50_000, -1, &types),
            Kind::Enum(vec!["sad".into(), "ok".into()])
        );
        assert_eq!(
            Kind::of(50_001, -1, &types),
            Kind::Array(Box::new(Kind::Enum(vec!["sad".into(), "ok".into()])))
        );
        assert_eq!(Kind::of(50_002, -1, &types), Kind::Text);
        assert_eq!(Kind::of(50_003, -1, &types), Kind::Unknown);
        assert_eq!(
            Kind::of(1700, (10 << 16 | 2) + 4, &types),
            Kind::Numeric {
                precision: Some(10),
                scale: Some(2)
            }
        );
    }
}
