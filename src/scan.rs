//! Byte searches by the C library's `memchr`, `memrchr` and `memmem`.
//!
//! The `memchr` crate picks its SIMD code by asking the CPU on its first call (std's feature
//! detection: seven `CPUID` instructions here, counted under gdb, each a trap to the
//! hypervisor on a virtual machine; a check's CPU was 0.06 ms less without it), although the
//! C library has asked the same at the process's start and already chose its own AVX2
//! versions. These are those, behind safe signatures.

use nix::libc;

/// The index of the first `byte` in `hay`.
pub fn find_byte(byte: u8, hay: &[u8]) -> Option<usize> {
    if hay.is_empty() {
        // an empty slice's pointer is dangling: C wants a valid one even for no bytes
        return None;
    }
    // SAFETY: memchr reads at most `hay.len()` bytes from `hay`'s start, and returns null or
    // a pointer into that range.
    let at = unsafe { libc::memchr(hay.as_ptr().cast(), byte.into(), hay.len()) };
    offset(hay, at)
}

/// The index of the last `byte` in `hay`.
pub fn rfind_byte(byte: u8, hay: &[u8]) -> Option<usize> {
    if hay.is_empty() {
        return None;
    }
    // SAFETY: as for memchr, from the other end.
    let at = unsafe { libc::memrchr(hay.as_ptr().cast(), byte.into(), hay.len()) };
    offset(hay, at)
}

/// The indices of each `byte` in `hay`, in order.
pub fn each_byte(byte: u8, hay: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        let at = from + find_byte(byte, &hay[from..])?;
        from = at + 1;
        Some(at)
    })
}

/// The indices of the non-overlapping `needle`s in `hay`, in order; none for an empty needle.
pub fn each<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || {
        let rest = &hay[from..];
        // (also keeps an empty `rest`, whose pointer may dangle, away from C)
        if needle.is_empty() || rest.len() < needle.len() {
            return None;
        }
        // SAFETY: memmem reads only within both slices and returns null or a pointer into
        // `rest`.
        let at = unsafe {
            libc::memmem(
                rest.as_ptr().cast(),
                rest.len(),
                needle.as_ptr().cast(),
                needle.len(),
            )
        };
        let at = from + offset(rest, at)?;
        from = at + needle.len();
        Some(at)
    })
}

fn offset(hay: &[u8], at: *mut libc::c_void) -> Option<usize> {
    (!at.is_null()).then(|| at as usize - hay.as_ptr() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Haystacks with the searched bytes at the ends, in the middle, repeated, absent, and
    /// past the lengths where the C library switches to wide loads.
    fn hays() -> Vec<Vec<u8>> {
        let mut hays: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b":".to_vec(),
            b"a".to_vec(),
            b"kernel/net/ipvs/ip_vs.ko: kernel/lib/libcrc32c.ko\n".to_vec(),
            b"::\n\n//ipvsadm vipvsadm v1.31\0".to_vec(),
            vec![0xff; 300],
        ];
        for len in [31, 32, 33, 63, 64, 65, 255, 4097] {
            let mut h: Vec<u8> = (0..len).map(|i| b"ab/:\n\0ipvsadm v"[i % 15]).collect();
            hays.push(h.clone());
            h.retain(|b| *b != b'/');
            hays.push(h);
        }
        hays
    }

    #[test]
    fn byte_searches_agree_with_plain_iteration() {
        for hay in hays() {
            for byte in [b':', b'/', b'\n', 0, b'a', 0xff, b'z'] {
                let all: Vec<usize> = (0..hay.len()).filter(|&i| hay[i] == byte).collect();
                assert_eq!(
                    find_byte(byte, &hay),
                    all.first().copied(),
                    "{hay:?} {byte}"
                );
                assert_eq!(
                    rfind_byte(byte, &hay),
                    all.last().copied(),
                    "{hay:?} {byte}"
                );
                assert_eq!(
                    each_byte(byte, &hay).collect::<Vec<_>>(),
                    all,
                    "{hay:?} {byte}"
                );
                // a subslice: the index is the subslice's, not its parent's
                if hay.len() > 3 {
                    let sub = &hay[2..hay.len() - 1];
                    let in_sub: Vec<usize> = (0..sub.len()).filter(|&i| sub[i] == byte).collect();
                    assert_eq!(each_byte(byte, sub).collect::<Vec<_>>(), in_sub);
                }
            }
        }
    }

    #[test]
    fn substring_searches_agree_with_plain_iteration() {
        // non-overlapping occurrences, left to right, as `str::match_indices`
        fn plain(hay: &[u8], needle: &[u8]) -> Vec<usize> {
            let mut out = Vec::new();
            let mut i = 0;
            while !needle.is_empty() && i + needle.len() <= hay.len() {
                if &hay[i..i + needle.len()] == needle {
                    out.push(i);
                    i += needle.len();
                } else {
                    i += 1;
                }
            }
            out
        }
        for hay in hays() {
            for needle in [
                &b"ipvsadm v"[..],
                b"aa",
                b"a",
                b"\0i",
                b"ab/:\n\0ipvsadm vab",
                b"zz",
            ] {
                let all = plain(&hay, needle);
                assert_eq!(
                    each(&hay, needle).collect::<Vec<_>>(),
                    all,
                    "{hay:?} {needle:?}"
                );
            }
            assert_eq!(each(&hay, b"").count(), 0);
        }
        // overlapping candidates: the next search starts after the whole occurrence
        assert_eq!(each(b"aaaa", b"aa").collect::<Vec<_>>(), [0, 2]);
        assert_eq!(each(b"aaa", b"aa").collect::<Vec<_>>(), [0]);
    }
}
