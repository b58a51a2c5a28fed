//! A tiny Go heap-dump writer, shared by the `heapdump_structured` fuzz
//! target and `tests/fuzz_regressions.rs`: each method appends one record
//! in the layout `runtime/heapdump.go` writes.
#![allow(dead_code)]

/// A dump being written: header, then records; [`Writer::finish`] adds EOF.
pub struct Writer {
    pub out: Vec<u8>,
    pub ptr_size: u64,
    pub big_endian: bool,
}

impl Writer {
    /// The header and a params record.
    pub fn new(ptr_size: u64, big_endian: bool) -> Writer {
        let mut w = Writer { out: b"go1.7 heap dump\n".to_vec(), ptr_size, big_endian };
        w.uv(6);
        w.uv(big_endian as u64);
        w.uv(ptr_size);
        w.uv(0xc000000000);
        w.uv(0xc004000000);
        w.str(b"amd64");
        w.str(b"go1.26.6");
        w.uv(2);
        w
    }

    pub fn uv(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    pub fn str(&mut self, s: &[u8]) {
        self.uv(s.len() as u64);
        self.out.extend_from_slice(s);
    }

    /// A pointer-sized word in the dump's byte order.
    pub fn word(&self, v: u64) -> Vec<u8> {
        match (self.ptr_size, self.big_endian) {
            (8, false) => v.to_le_bytes().to_vec(),
            (8, true) => v.to_be_bytes().to_vec(),
            (_, false) => (v as u32).to_le_bytes().to_vec(),
            (_, true) => (v as u32).to_be_bytes().to_vec(),
        }
    }

    pub fn fields(&mut self, offs: &[u64]) {
        for &o in offs {
            self.uv(1);
            self.uv(o);
        }
        self.uv(0);
    }

    pub fn object(&mut self, addr: u64, contents: &[u8], ptrs: &[u64]) {
        self.uv(1);
        self.uv(addr);
        self.str(contents);
        self.fields(ptrs);
    }

    pub fn goroutine(&mut self, addr: u64, goid: u64, ctxt: u64, wait_reason: &[u8]) {
        self.uv(4);
        for v in [addr, 0x7000, goid, 0x401000, 4, 0, 0, 5] {
            self.uv(v);
        }
        self.str(wait_reason);
        for v in [ctxt, 0, 0, 0] {
            self.uv(v);
        }
    }

    pub fn frame(&mut self, depth: u64, contents: &[u8], func: &[u8], ptrs: &[u64]) {
        self.uv(5);
        for v in [0x7000 + depth * 64, depth, 0] {
            self.uv(v);
        }
        self.str(contents);
        for v in [0x401000, 0x401010, 0] {
            self.uv(v);
        }
        self.str(func);
        self.fields(ptrs);
    }

    /// tag 12 (data) or 13 (bss).
    pub fn segment(&mut self, tag: u64, addr: u64, contents: &[u8], ptrs: &[u64]) {
        self.uv(tag);
        self.uv(addr);
        self.str(contents);
        self.fields(ptrs);
    }

    pub fn finalizer(&mut self, queued: bool, obj: u64, fn_: u64) {
        self.uv(if queued { 11 } else { 7 });
        for v in [obj, fn_, 0x402000, 0, 0] {
            self.uv(v);
        }
    }

    pub fn defer(&mut self, addr: u64, g: u64, fnv: u64) {
        self.uv(14);
        for v in [addr, g, 0x7000, 0x401000, fnv, 0, 0] {
            self.uv(v);
        }
    }

    pub fn panic(&mut self, addr: u64, g: u64, data: u64) {
        self.uv(15);
        for v in [addr, g, 0x500000, data, 0, 0] {
            self.uv(v);
        }
    }

    /// A memprof bucket: frames are (function, file, line), innermost first.
    pub fn memprof(&mut self, id: u64, size: u64, frames: &[(&[u8], &[u8], u64)]) {
        self.uv(16);
        self.uv(id);
        self.uv(size);
        self.uv(frames.len() as u64);
        for (f, file, line) in frames {
            self.str(f);
            self.str(file);
            self.uv(*line);
        }
        self.uv(10);
        self.uv(2);
    }

    pub fn alloc_sample(&mut self, addr: u64, bucket: u64) {
        self.uv(17);
        self.uv(addr);
        self.uv(bucket);
    }

    /// The EOF record; returns the dump.
    pub fn finish(mut self) -> Vec<u8> {
        self.uv(0);
        self.out
    }
}
