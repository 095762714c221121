//! A small, versioned binary encoding for stored values: fixed-width big-endian integers and
//! length-prefixed strings. Every decoder checks lengths and reports corruption instead of panicking.

use super::CorruptionError;

#[derive(Default)]
pub(crate) struct Enc(pub(crate) Vec<u8>);

impl Enc {
    pub(crate) fn with_tag(tag: u8) -> Enc {
        Enc(vec![tag])
    }
    pub(crate) fn u8(&mut self, v: u8) -> &mut Enc {
        self.0.push(v);
        self
    }
    pub(crate) fn u16(&mut self, v: u16) -> &mut Enc {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u32(&mut self, v: u32) -> &mut Enc {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u64(&mut self, v: u64) -> &mut Enc {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn i64(&mut self, v: i64) -> &mut Enc {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// A string with a u32 length prefix.
    pub(crate) fn str(&mut self, s: &str) -> &mut Enc {
        let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
        self.u32(len);
        self.0.extend_from_slice(&s.as_bytes()[..len as usize]);
        self
    }
    pub(crate) fn f64(&mut self, v: f64) -> &mut Enc {
        self.u64(v.to_bits())
    }
    /// An unsigned LEB128 varint (1 byte below 128).
    pub(crate) fn var(&mut self, mut v: u64) -> &mut Enc {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
        self
    }
    pub(crate) fn opt_str(&mut self, s: Option<&str>) -> &mut Enc {
        self.str(s.unwrap_or(""))
    }
    pub(crate) fn finish(self) -> Vec<u8> {
        self.0
    }
}

pub(crate) struct Dec<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Dec<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Dec<'a> {
        Dec { buf, what }
    }

    /// Checks the leading version tag.
    pub(crate) fn tag(
        buf: &'a [u8],
        what: &'static str,
        expected: u8,
    ) -> Result<Dec<'a>, CorruptionError> {
        let mut d = Dec::new(buf, what);
        let t = d.u8()?;
        if t != expected {
            return Err(CorruptionError::new(
                what,
                format!("unknown value version {t}"),
            ));
        }
        Ok(d)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CorruptionError> {
        if self.buf.len() < n {
            return Err(CorruptionError::new(self.what, "value too short"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], CorruptionError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    pub(crate) fn u8(&mut self) -> Result<u8, CorruptionError> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16, CorruptionError> {
        Ok(u16::from_be_bytes(self.arr()?))
    }
    pub(crate) fn u32(&mut self) -> Result<u32, CorruptionError> {
        Ok(u32::from_be_bytes(self.arr()?))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, CorruptionError> {
        Ok(u64::from_be_bytes(self.arr()?))
    }
    pub(crate) fn i64(&mut self) -> Result<i64, CorruptionError> {
        Ok(i64::from_be_bytes(self.arr()?))
    }
    pub(crate) fn f64(&mut self) -> Result<f64, CorruptionError> {
        Ok(f64::from_bits(self.u64()?))
    }
    pub(crate) fn var(&mut self) -> Result<u64, CorruptionError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CorruptionError::new(self.what, "varint too long"))
    }
    /// A varint that must fit in u32.
    pub(crate) fn var32(&mut self) -> Result<u32, CorruptionError> {
        u32::try_from(self.var()?)
            .map_err(|_| CorruptionError::new(self.what, "value out of range"))
    }
    pub(crate) fn str(&mut self) -> Result<String, CorruptionError> {
        let n = self.u32()? as usize;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec())
            .map_err(|_| CorruptionError::new(self.what, "string is not UTF-8"))
    }
    pub(crate) fn opt_str(&mut self) -> Result<Option<String>, CorruptionError> {
        let s = self.str()?;
        Ok((!s.is_empty()).then_some(s))
    }
    pub(crate) fn end(&self) -> Result<(), CorruptionError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(CorruptionError::new(self.what, "trailing bytes"))
        }
    }
}

/// Maps an i64 to bytes whose unsigned order is the signed order (flip the sign bit).
pub(crate) fn ordered_i64(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1 << 63)).to_be_bytes()
}

pub(crate) fn from_ordered_i64(b: [u8; 8]) -> i64 {
    (u64::from_be_bytes(b) ^ (1 << 63)) as i64
}
