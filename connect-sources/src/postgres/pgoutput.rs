//! Decoding of the `pgoutput` logical decoding messages (protocol version 1) that carry row changes:
//! Relation, Type, Insert, Update, Delete, Truncate and Origin. Begin, Commit and logical decoding
//! messages are decoded by the transport ([`pgwire_replication`]).
//!
//! Every length and count comes from the network, so each is checked against the bytes that are
//! actually there before anything is allocated from it; a malformed message is an error naming the
//! message and what was wrong, never a panic.

use bytes::Bytes;

/// A message that does not follow the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed pgoutput {message} message: {problem}")]
pub struct DecodeError {
    /// The message kind.
    pub message: &'static str,
    /// What was wrong.
    pub problem: &'static str,
}

/// One column of a Relation message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    /// Part of the replica identity (the key for REPLICA IDENTITY DEFAULT).
    pub key: bool,
    /// Column name.
    pub name: String,
    /// Type OID.
    pub type_oid: u32,
    /// Type modifier (-1: none).
    pub type_modifier: i32,
}

/// A table's description, sent before the first change of the table in a session and again after
/// its definition changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The table's OID.
    pub id: u32,
    /// Schema name.
    pub namespace: String,
    /// Table name.
    pub name: String,
    /// `d` (default), `n` (nothing), `f` (full), `i` (index).
    pub replica_identity: u8,
    /// Columns in order.
    pub columns: Vec<RelationColumn>,
}

/// One column value of a tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// An unchanged TOASTed value the server did not send.
    Unchanged,
    /// The value in the type's text output form.
    Text(Bytes),
}

/// A row image.
pub type Tuple = Vec<Cell>;

/// A decoded change message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A table description.
    Relation(Relation),
    /// A user-defined type's name (`oid`, namespace, name).
    Type {
        /// The type's OID.
        oid: u32,
        /// Its schema.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// A new row.
    Insert {
        /// Table OID.
        relation: u32,
        /// The row.
        new: Tuple,
    },
    /// A changed row: the old key (`K`, the replica identity changed) or old row (`O`, REPLICA
    /// IDENTITY FULL) when sent, and the new row.
    Update {
        /// Table OID.
        relation: u32,
        /// The old image, when the server sent one.
        old: Option<Tuple>,
        /// Whether `old` holds only the replica identity's columns.
        old_is_key: bool,
        /// The new row.
        new: Tuple,
    },
    /// A deleted row: its replica identity columns (or the whole row with FULL).
    Delete {
        /// Table OID.
        relation: u32,
        /// The old image.
        old: Tuple,
        /// Whether `old` holds only the replica identity's columns.
        old_is_key: bool,
    },
    /// Tables truncated together.
    Truncate {
        /// Table OIDs.
        relations: Vec<u32>,
        /// CASCADE / RESTART IDENTITY bits.
        options: u8,
    },
    /// The origin of a replicated transaction (ignored).
    Origin,
}

struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
    message: &'static str,
}

impl<'a> Reader<'a> {
    fn fail<T>(&self, problem: &'static str) -> Result<T, DecodeError> {
        Err(DecodeError {
            message: self.message,
            problem,
        })
    }
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return self.fail("truncated");
        }
        let s = &self.buf.as_ref()[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn i16(&mut self) -> Result<i16, DecodeError> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self) -> Result<i32, DecodeError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(self.i32()? as u32)
    }
    fn string(&mut self) -> Result<String, DecodeError> {
        let rest = &self.buf.as_ref()[self.pos..];
        let Some(end) = rest.iter().position(|&b| b == 0) else {
            return self.fail("a name without its terminating zero byte");
        };
        let Ok(s) = std::str::from_utf8(&rest[..end]) else {
            return self.fail("a name that is not UTF-8");
        };
        self.pos += end + 1;
        Ok(s.to_owned())
    }
    fn tuple(&mut self) -> Result<Tuple, DecodeError> {
        let n = self.i16()?;
        // Each column takes at least its one-byte kind: a count beyond the bytes left is a lie.
        if n < 0 || n as usize > self.remaining() {
            return self.fail("a column count larger than the message");
        }
        let mut cells = Vec::with_capacity(n as usize);
        for _ in 0..n {
            cells.push(match self.u8()? {
                b'n' => Cell::Null,
                b'u' => Cell::Unchanged,
                b't' => {
                    let len = self.i32()?;
                    if len < 0 || len as usize > self.remaining() {
                        return self.fail("a value length beyond the message");
                    }
                    let start = self.pos;
                    self.pos += len as usize;
                    Cell::Text(self.buf.slice(start..self.pos))
                }
                b'b' => return self.fail("a binary value (the connector asks for text output)"),
                _ => return self.fail("an unknown column kind"),
            });
        }
        Ok(cells)
    }
}

/// Decodes one message (the payload of an XLogData frame).
pub fn decode(data: &Bytes) -> Result<Message, DecodeError> {
    let Some(&tag) = data.first() else {
        return Err(DecodeError {
            message: "empty",
            problem: "no message type",
        });
    };
    let name = match tag {
        b'R' => "Relation",
        b'Y' => "Type",
        b'I' => "Insert",
        b'U' => "Update",
        b'D' => "Delete",
        b'T' => "Truncate",
        b'O' => "Origin",
        _ => {
            return Err(DecodeError {
                message: "unknown",
                problem: "a message type this protocol version does not have",
            })
        }
    };
    let mut r = Reader {
        buf: data,
        pos: 1,
        message: name,
    };
    let m = match tag {
        b'R' => {
            let id = r.u32()?;
            let namespace = r.string()?;
            let name = r.string()?;
            let replica_identity = r.u8()?;
            let n = r.i16()?;
            if n < 0 || n as usize > r.remaining() {
                return r.fail("a column count larger than the message");
            }
            let mut columns = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let flags = r.u8()?;
                let name = r.string()?;
                let type_oid = r.u32()?;
                let type_modifier = r.i32()?;
                columns.push(RelationColumn {
                    key: flags & 1 != 0,
                    name,
                    type_oid,
                    type_modifier,
                });
            }
            Message::Relation(Relation {
                id,
                namespace,
                name,
                replica_identity,
                columns,
            })
        }
        b'Y' => Message::Type {
            oid: r.u32()?,
            namespace: r.string()?,
            name: r.string()?,
        },
        b'I' => {
            let relation = r.u32()?;
            if r.u8()? != b'N' {
                return r.fail("no new tuple");
            }
            Message::Insert {
                relation,
                new: r.tuple()?,
            }
        }
        b'U' => {
            let relation = r.u32()?;
            let (old, old_is_key) = match r.u8()? {
                k @ (b'K' | b'O') => {
                    let old = r.tuple()?;
                    if r.u8()? != b'N' {
                        return r.fail("no new tuple after the old one");
                    }
                    (Some(old), k == b'K')
                }
                b'N' => (None, false),
                _ => return r.fail("an unknown tuple marker"),
            };
            Message::Update {
                relation,
                old,
                old_is_key,
                new: r.tuple()?,
            }
        }
        b'D' => {
            let relation = r.u32()?;
            let old_is_key = match r.u8()? {
                b'K' => true,
                b'O' => false,
                _ => return r.fail("an unknown tuple marker"),
            };
            Message::Delete {
                relation,
                old: r.tuple()?,
                old_is_key,
            }
        }
        b'T' => {
            let n = r.i32()?;
            let options = r.u8()?;
            if n < 0 || (n as usize).saturating_mul(4) > r.remaining() {
                return r.fail("a relation count larger than the message");
            }
            let mut relations = Vec::with_capacity(n as usize);
            for _ in 0..n {
                relations.push(r.u32()?);
            }
            Message::Truncate { relations, options }
        }
        _ => Message::Origin,
    };
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation_bytes() -> Vec<u8> {
        let mut b = vec![b'R'];
        b.extend(16_384u32.to_be_bytes());
        b.extend(b"public\0patient\0");
        b.push(b'd');
        b.extend(2i16.to_be_bytes());
        b.push(1);
        b.extend(b"id\0");
        b.extend(20u32.to_be_bytes());
        b.extend((-1i32).to_be_bytes());
        b.push(0);
        b.extend(b"name\0");
        b.extend(1043u32.to_be_bytes());
        b.extend(104i32.to_be_bytes());
        b
    }

    #[test]
    fn relation_and_changes_decode() {
        let m = decode(&Bytes::from(relation_bytes())).unwrap();
        let Message::Relation(r) = m else { panic!() };
        assert_eq!(
            (r.namespace.as_str(), r.name.as_str()),
            ("public", "patient")
        );
        assert!(r.columns[0].key && !r.columns[1].key);
        assert_eq!(r.columns[1].type_modifier, 104);

        let mut u = vec![b'U'];
        u.extend(16_384u32.to_be_bytes());
        u.push(b'O');
        u.extend(2i16.to_be_bytes());
        u.push(b't');
        u.extend(1i32.to_be_bytes());
        u.push(b'7');
        u.push(b'n');
        u.push(b'N');
        u.extend(2i16.to_be_bytes());
        u.push(b't');
        u.extend(1i32.to_be_bytes());
        u.push(b'7');
        u.push(b'u');
        let Message::Update {
            old,
            old_is_key,
            new,
            ..
        } = decode(&Bytes::from(u)).unwrap()
        else {
            panic!()
        };
        assert!(!old_is_key);
        assert_eq!(old.unwrap()[1], Cell::Null);
        assert_eq!(new[0], Cell::Text(Bytes::from_static(b"7")));
        assert_eq!(new[1], Cell::Unchanged);
    }

    #[test]
    fn lies_about_lengths_are_errors_not_allocations() {
        // A value length of 2 GiB in a 20-byte message.
        let mut i = vec![b'I'];
        i.extend(1u32.to_be_bytes());
        i.push(b'N');
        i.extend(1i16.to_be_bytes());
        i.push(b't');
        i.extend(i32::MAX.to_be_bytes());
        assert!(decode(&Bytes::from(i)).is_err());
        // A column count of 32 767 with nothing after it.
        let mut i = vec![b'I'];
        i.extend(1u32.to_be_bytes());
        i.push(b'N');
        i.extend(i16::MAX.to_be_bytes());
        assert!(decode(&Bytes::from(i)).is_err());
        // A truncate of 2^31-1 relations.
        let mut t = vec![b'T'];
        t.extend(i32::MAX.to_be_bytes());
        t.push(0);
        assert!(decode(&Bytes::from(t)).is_err());
        // Every prefix of a valid message is an error, never a panic.
        let full = relation_bytes();
        for n in 0..full.len() {
            assert!(decode(&Bytes::copy_from_slice(&full[..n])).is_err(), "{n}");
        }
    }
}
