//! Paths to a part of a message: `PID-3.1`, `PID.3.1`, `PID-3(2).1`, `OBX(3)-5`, `MSH-9.2`.

use std::fmt;

/// The largest field number a path or a structured message may name.
pub const MAX_FIELD: usize = 1000;
/// The largest repetition (of a segment or a field) a path may name.
pub const MAX_REPETITION: usize = 1000;
/// The largest component or subcomponent number a path may name.
pub const MAX_COMPONENT: usize = 100;

/// A parsed path. Repetitions and positions are 1-based, as HL7 numbers them, and bounded
/// ([`MAX_FIELD`], [`MAX_REPETITION`], [`MAX_COMPONENT`]): writing to a path creates the parts before
/// it, so an unbounded number would be an unbounded allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// Segment name, e.g. `PID`.
    pub segment: String,
    /// Which occurrence of the segment (`OBX(3)` = the third OBX).
    pub segment_rep: usize,
    /// Field number.
    pub field: usize,
    /// Which repetition of the field (`PID-3(2)` = the second identifier).
    pub field_rep: usize,
    /// Component number, if any.
    pub component: Option<usize>,
    /// Subcomponent number, if any.
    pub subcomponent: Option<usize>,
}

fn num_with_rep(s: &str, what: &str, path: &str) -> Result<(usize, usize), String> {
    let (n, rep) = match s.split_once('(') {
        Some((n, r)) => {
            let r = r
                .strip_suffix(')')
                .ok_or_else(|| format!("'{path}': unclosed repetition after {what}"))?;
            (n, Some(r))
        }
        None => (s, None),
    };
    let parse = |t: &str| -> Result<usize, String> {
        t.trim()
            .parse::<usize>()
            .ok()
            .filter(|v| *v >= 1)
            .ok_or_else(|| format!("'{path}': {what} '{t}' is not a number from 1"))
    };
    Ok((parse(n)?, rep.map(parse).transpose()?.unwrap_or(1)))
}

impl Path {
    /// Parses a path; the error says what is wrong with it.
    pub fn parse(path: &str) -> Result<Path, String> {
        let p = path.trim();
        if p.len() < 3 {
            return Err(format!(
                "'{path}': a path starts with a segment name, e.g. PID-3"
            ));
        }
        let (seg_part, rest) = match p.find(['-', '.']) {
            Some(i) if i >= 3 => (&p[..i], &p[i + 1..]),
            _ => return Err(format!("'{path}': expected SEG-FIELD, e.g. PID-3")),
        };
        let (segment, segment_rep) = match seg_part.split_once('(') {
            Some((name, _)) => (
                name,
                num_with_rep(
                    &format!("1({}", &seg_part[name.len() + 1..]),
                    "segment repetition",
                    path,
                )?
                .1,
            ),
            None => (seg_part, 1),
        };
        if segment.len() != 3 || !segment.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!(
                "'{path}': segment name '{segment}' must be 3 letters or digits"
            ));
        }
        let mut parts = rest.split('.');
        let (field, field_rep) = num_with_rep(parts.next().unwrap_or(""), "field", path)?;
        let component = parts
            .next()
            .map(|c| num_with_rep(c, "component", path).map(|x| x.0))
            .transpose()?;
        let subcomponent = parts
            .next()
            .map(|c| num_with_rep(c, "subcomponent", path).map(|x| x.0))
            .transpose()?;
        if parts.next().is_some() {
            return Err(format!("'{path}': too many parts"));
        }
        let p = Path {
            segment: segment.to_ascii_uppercase(),
            segment_rep,
            field,
            field_rep,
            component,
            subcomponent,
        };
        p.check_limits().map_err(|e| format!("'{path}': {e}"))?;
        Ok(p)
    }

    /// Checks the positions against the documented limits (paths built by hand skip `parse`).
    pub fn check_limits(&self) -> Result<(), String> {
        let checks = [
            ("segment repetition", self.segment_rep, MAX_REPETITION),
            ("field", self.field, MAX_FIELD),
            ("field repetition", self.field_rep, MAX_REPETITION),
            ("component", self.component.unwrap_or(1), MAX_COMPONENT),
            (
                "subcomponent",
                self.subcomponent.unwrap_or(1),
                MAX_COMPONENT,
            ),
        ];
        for (what, n, max) in checks {
            if n > max {
                return Err(format!("{what} {n} is beyond the limit of {max}"));
            }
        }
        Ok(())
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.segment)?;
        if self.segment_rep != 1 {
            write!(f, "({})", self.segment_rep)?;
        }
        write!(f, "-{}", self.field)?;
        if self.field_rep != 1 {
            write!(f, "({})", self.field_rep)?;
        }
        if let Some(c) = self.component {
            write!(f, ".{c}")?;
        }
        if let Some(s) = self.subcomponent {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notations() {
        let p = Path::parse("PID-3.1").unwrap();
        assert_eq!(
            (p.segment.as_str(), p.field, p.component),
            ("PID", 3, Some(1))
        );
        assert_eq!(Path::parse("PID.3.1").unwrap(), p);
        let p = Path::parse("PID-3(2).1").unwrap();
        assert_eq!((p.field_rep, p.component), (2, Some(1)));
        let p = Path::parse("OBX(3)-5").unwrap();
        assert_eq!((p.segment_rep, p.field, p.component), (3, 5, None));
        let p = Path::parse("obx(2).5(3).1.2").unwrap();
        assert_eq!(p.to_string(), "OBX(2)-5(3).1.2");
        for bad in [
            "",
            "PI",
            "PID",
            "PID-",
            "PID-x",
            "PID-0",
            "PID-3.1.2.3",
            "PID-3(2",
            "TOOLONG-1",
            "PID-4000000000",
            "PID-3(4000000000)",
            "PID-3.101",
            "PID-3.1.101",
            "OBX(1001)-5",
            "PID-99999999999999999999999",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }
}
