//! Whole-buffer gzip inflation for inputs that are small once inflated.
//!
//! Why: a trend decodes hundreds or thousands of snapshots of about a
//! megabyte each, and inflating was a fifth of its CPU time. libdeflate
//! inflates a whole gzip member into a buffer sized from the member's
//! trailer 1.3-1.4x faster than zlib-rs streaming through a buffer (same
//! files, same run; benches/RESULTS.md, twelfth round), and the decoder
//! then reads one slice instead of refilling a stream.
//!
//! Only a file whose trailer says it inflates to at most a few MiB takes
//! this path, so the buffer stays small (one per decoding thread, reused);
//! larger inputs stream as before, in bounded memory. Anything this path
//! does not accept cleanly (corrupt data, more than one member, bytes
//! after the member, a size other than the trailer's) is left to the
//! streaming decoder, which gives the one error message for it.

use std::cell::RefCell;
use std::ptr::NonNull;

use libdeflate_sys::{
    libdeflate_alloc_decompressor, libdeflate_decompressor, libdeflate_free_decompressor,
    libdeflate_gzip_decompress_ex, libdeflate_result_LIBDEFLATE_SUCCESS,
};

/// The most inflated bytes a file may have to be inflated whole: typical
/// Go heap profiles (well under a megabyte compressed) are; the large
/// synthetic profiles of the diff benches (tens of MiB) stream.
pub const WHOLE_MAX: u64 = 8 << 20;

/// A libdeflate decompressor, freed on drop.
struct Decompressor(NonNull<libdeflate_decompressor>);

impl Decompressor {
    fn new() -> Option<Decompressor> {
        // SAFETY: allocates a decompressor or returns null (out of memory).
        NonNull::new(unsafe { libdeflate_alloc_decompressor() }).map(Decompressor)
    }
}

impl Drop for Decompressor {
    fn drop(&mut self) {
        // SAFETY: the pointer came from libdeflate_alloc_decompressor and is
        // freed once, here.
        unsafe { libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

thread_local! {
    /// Each thread's decompressor and output buffer, reused from one input
    /// to the next (taken out while in use).
    static STATE: RefCell<Option<(Decompressor, Vec<u8>)>> = const { RefCell::new(None) };
}

/// Calls `f` with the inflated bytes of `gz` when `gz` is exactly one gzip
/// member that inflates cleanly to the size its trailer gives, of at most
/// `max` bytes; else returns `None` without calling it.
pub fn with_inflated<T>(gz: &[u8], max: u64, f: impl FnOnce(&[u8]) -> T) -> Option<T> {
    // A gzip member is at least a 10-byte header and an 8-byte trailer.
    let trailer = gz.len().checked_sub(4).filter(|_| gz.len() >= 18)?;
    let size = u32::from_le_bytes(gz[trailer..].try_into().ok()?) as usize;
    if size as u64 > max {
        return None;
    }
    let (d, mut buf) = match STATE.with(|s| s.borrow_mut().take()) {
        Some(state) => state,
        None => (Decompressor::new()?, Vec::new()),
    };
    if buf.len() < size {
        buf.resize(size, 0);
    }
    let (mut used, mut made) = (0usize, 0usize);
    // SAFETY: `d` is a live decompressor used by this thread alone; the
    // input and output pointers and lengths come from slices that outlive
    // the call; libdeflate writes at most `size` bytes to the output and
    // stores the two counts.
    let r = unsafe {
        libdeflate_gzip_decompress_ex(
            d.0.as_ptr(),
            gz.as_ptr().cast(),
            gz.len(),
            buf.as_mut_ptr().cast(),
            size,
            &mut used,
            &mut made,
        )
    };
    let out = (r == libdeflate_result_LIBDEFLATE_SUCCESS && used == gz.len() && made == size).then(|| f(&buf[..size]));
    STATE.with(|s| *s.borrow_mut() = Some((d, buf)));
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn inflates_one_member_and_refuses_the_rest() {
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let gz = gzip(&data);
        assert_eq!(with_inflated(&gz, WHOLE_MAX, |b| b.to_vec()).as_deref(), Some(&data[..]));
        // Over the size limit: left to the streaming decoder.
        assert_eq!(with_inflated(&gz, data.len() as u64 - 1, |b| b.len()), None);
        // Two members (`cat a.gz a.gz`): streaming reads both.
        let two = [&gz[..], &gz[..]].concat();
        assert_eq!(with_inflated(&two, WHOLE_MAX, |b| b.len()), None);
        // Bytes after the member.
        let mut junk = gz.clone();
        junk.extend_from_slice(b"junk");
        assert_eq!(with_inflated(&junk, WHOLE_MAX, |b| b.len()), None);
        // A wrong trailer size, a corrupt CRC, a cut file, too short.
        let mut size = gz.clone();
        let n = size.len();
        size[n - 4] ^= 1;
        assert_eq!(with_inflated(&size, WHOLE_MAX, |b| b.len()), None);
        let mut crc = gz.clone();
        crc[n - 8] ^= 1;
        assert_eq!(with_inflated(&crc, WHOLE_MAX, |b| b.len()), None);
        assert_eq!(with_inflated(&gz[..n / 2], WHOLE_MAX, |b| b.len()), None);
        assert_eq!(with_inflated(&gz[..17], WHOLE_MAX, |b| b.len()), None);
        // The reused buffer is cut to each input's own size.
        let small = gzip(b"abc");
        assert_eq!(with_inflated(&small, WHOLE_MAX, |b| b.to_vec()).as_deref(), Some(&b"abc"[..]));
        // Empty content is one valid member.
        assert_eq!(with_inflated(&gzip(b""), WHOLE_MAX, |b| b.len()), Some(0));
    }
}
