//! Paths into a value: `subject.reference`, `interpretation[0].coding[0].code`. Parsed once (from a
//! config), then applied to each record without allocating.

use super::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A struct field or a map entry with a string key.
    Field(String),
    /// An array element.
    Index(usize),
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValuePath {
    steps: Vec<Step>,
}

/// The longest path accepted, in steps.
const MAX_STEPS: usize = 64;

impl ValuePath {
    /// Parses `a.b[2].c`. An empty path is the value itself. Errors say what is wrong and where.
    pub fn parse(text: &str) -> Result<ValuePath, String> {
        let mut steps = Vec::new();
        if text.is_empty() {
            return Ok(ValuePath { steps });
        }
        for part in text.split('.') {
            let (name, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if name.is_empty() && (rest.is_empty() || !steps.is_empty()) {
                return Err(format!("path '{text}' has an empty field name"));
            }
            if !name.is_empty() {
                steps.push(Step::Field(name.to_owned()));
            }
            while !rest.is_empty() {
                let close = rest
                    .find(']')
                    .ok_or_else(|| format!("path '{text}' has an unclosed '['"))?;
                let n: usize = rest[1..close]
                    .parse()
                    .map_err(|_| format!("path '{text}' has a non-numeric index"))?;
                steps.push(Step::Index(n));
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(format!("path '{text}' has text after ']'"));
                }
            }
            if steps.len() > MAX_STEPS {
                return Err(format!("path '{text}' is longer than {MAX_STEPS} steps"));
            }
        }
        Ok(ValuePath { steps })
    }

    /// True for the empty path (the value itself).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The value at the path, or None when a step does not exist.
    pub fn get<'a>(&self, mut v: &'a Value) -> Option<&'a Value> {
        for s in &self.steps {
            v = match (s, v) {
                (Step::Field(f), Value::Struct(st)) => st.get(f)?,
                (Step::Field(f), Value::Map(m)) => m.get(f)?,
                (Step::Index(i), Value::Array(a)) => a.get(*i)?,
                _ => return None,
            };
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Map;

    #[test]
    fn paths_reach_into_maps_and_arrays() {
        let mut coding = Map::new();
        coding.insert("code", "HH");
        let mut interp = Map::new();
        interp.insert("coding", Value::Array(vec![Value::Map(coding)]));
        let mut obs = Map::new();
        obs.insert("interpretation", Value::Array(vec![Value::Map(interp)]));
        let v = Value::Map(obs);
        let p = ValuePath::parse("interpretation[0].coding[0].code").unwrap();
        assert_eq!(p.get(&v), Some(&Value::String("HH".into())));
        assert_eq!(ValuePath::parse("interpretation[1]").unwrap().get(&v), None);
        assert_eq!(ValuePath::parse("").unwrap().get(&v), Some(&v));
        for bad in ["a..b", "a[x]", "a[0", "a[0]b", ".a"] {
            assert!(ValuePath::parse(bad).is_err(), "{bad}");
        }
        let long = vec!["a"; 100].join(".");
        assert!(ValuePath::parse(&long).is_err());
    }
}
