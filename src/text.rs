//! Files nodeprep rewrites keep every byte of the lines it does not own, even bytes that are
//! not UTF-8. The planner works on `String`s, so such a byte travels as one private-use
//! character (U+10FF00 + byte) and becomes the same byte again when the file is written.

const BASE: u32 = 0x10FF00;

/// Bytes → text: valid UTF-8 as it is, each invalid byte as U+10FF00 + byte.
pub fn decode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push(char::from_u32(BASE + u32::from(*b)).unwrap_or('\u{fffd}'));
        }
    }
    out
}

/// The reverse of [`decode`].
pub fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match u32::from(c).checked_sub(BASE) {
            Some(b) if b <= 0xFF => out.push(b as u8),
            _ => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out
}

/// For a person: an escaped byte is shown as `\xNN`.
pub fn display(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match u32::from(c).checked_sub(BASE) {
            Some(b) if b <= 0xFF => out.push_str(&format!("\\x{b:02x}")),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_survives_the_round_trip() {
        let all: Vec<u8> = (0..=255u8)
            .chain(*b"\xef\xbb\xbfkey = 1\n\xff\xfe caf\xc3\xa9")
            .collect();
        assert_eq!(encode(&decode(&all)), all);
        assert_eq!(decode(b"caf\xc3\xa9"), "café");
        assert_eq!(display(&decode(b"a\xffb")), "a\\xffb");
    }
}
