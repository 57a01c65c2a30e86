//! aether.rs: the Rust guest SDK for Aether workflow functions.
//!
//! A workflow function is a WASI reactor that Aether keeps running as a
//! long-lived instance: the engine calls its handlers one event at a time,
//! and its memory persists between events (docs/workflow-protocol.md). This
//! module hides the wire-level ABI: mount it at the crate root, implement
//! [`Function`] for a type that holds the instance's state, and export it.
//!
//! ```ignore
//! #[path = "../sdk/aether.rs"]
//! mod aether;
//!
//! struct Counter { n: u64 }
//!
//! impl aether::Function for Counter {
//!     fn init(_payload: &[u8]) -> Self { Counter { n: 0 } }
//!     fn cast(&mut self, _source: &str, _payload: &[u8]) {
//!         self.n += 1;
//!         let _ = aether::cast("out", self.n.to_string().as_bytes());
//!     }
//!     fn call(&mut self, _source: &str, _payload: &[u8]) -> Vec<u8> {
//!         self.n.to_string().into_bytes()
//!     }
//! }
//!
//! aether::export!(Counter: cast, call);
//! ```
//!
//! `export!(Type: cast, call)` exports `handle_init` (which builds the state
//! with `Type::init`), `handle_stop` (which calls `stop` and drops it), and
//! the event handlers listed after the colon: `cast`, `call`, or both. A
//! handler left out is not exported, as the protocol wants: an event for it
//! fails (counted, no restart). The module must be mounted as `crate::aether`
//! (the macro refers to that path), and `export!` used once per module.
//!
//! Build (Debian's rustc 1.63 and its wasm32-wasi standard library):
//!
//! ```text
//! /usr/bin/rustc --edition 2021 --target wasm32-wasi --crate-type cdylib \
//!     -C opt-level=2 -C strip=debuginfo -C linker=wasm-ld-14 -o f.wasm f.rs
//! ```
//!
//! A panic aborts: it traps, which ends the event and restarts the instance
//! with fresh memory (the panic message goes to stderr, i.e. the engine log).
//! Instances are single-threaded.

#![allow(dead_code)]

use std::fmt;

/// Why a cast, call or delayed cast failed (the protocol's error codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// -1: the output is not mapped in the workflow.
    NoOutput,
    /// -2: the target's mailbox (or the link to its node) is full; dropped.
    Full,
    /// -3: the call got no reply in time.
    Timeout,
    /// -4: the target failed the event (trap, no handler) or is unavailable.
    Failed,
    /// -5: the payload is over the limit (1 MiB).
    TooBig,
    /// A code this SDK does not know.
    Other(i32),
}

impl Error {
    pub fn from_code(code: i32) -> Error {
        match code {
            -1 => Error::NoOutput,
            -2 => Error::Full,
            -3 => Error::Timeout,
            -4 => Error::Failed,
            -5 => Error::TooBig,
            c => Error::Other(c),
        }
    }
    /// The protocol's numeric code (negative).
    pub fn code(self) -> i32 {
        match self {
            Error::NoOutput => -1,
            Error::Full => -2,
            Error::Timeout => -3,
            Error::Failed => -4,
            Error::TooBig => -5,
            Error::Other(c) => c,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoOutput => f.write_str("output not mapped (ENOOUTPUT)"),
            Error::Full => f.write_str("target full (EFULL)"),
            Error::Timeout => f.write_str("call timed out (ETIMEOUT)"),
            Error::Failed => f.write_str("target failed (EFAILED)"),
            Error::TooBig => f.write_str("payload too big (ETOOBIG)"),
            Error::Other(c) => write!(f, "error {}", c),
        }
    }
}

impl std::error::Error for Error {}

/// Log levels for [`log`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

/// The instance's behaviour: one value of the implementing type is the
/// instance's state, created by `init` and kept across events.
pub trait Function: Sized {
    /// Once per instance start, with the init payload (empty when none).
    fn init(payload: &[u8]) -> Self;
    /// An event without a reply (exported only when listed in `export!`).
    fn cast(&mut self, source: &str, payload: &[u8]) {
        let _ = (source, payload);
    }
    /// An event that wants a reply (exported only when listed in `export!`).
    fn call(&mut self, source: &str, payload: &[u8]) -> Vec<u8> {
        let _ = (source, payload);
        Vec::new()
    }
    /// Before the instance is removed (not after a trap).
    fn stop(&mut self) {}
}

mod raw {
    #[link(wasm_import_module = "aether")]
    extern "C" {
        #[link_name = "cast"]
        pub fn aether_cast(out: *const u8, out_len: usize, ptr: *const u8, len: usize) -> i32;
        #[link_name = "call"]
        pub fn aether_call(
            out: *const u8,
            out_len: usize,
            ptr: *const u8,
            len: usize,
            timeout_ms: u32,
        ) -> i32;
        #[link_name = "call_reply"]
        pub fn aether_call_reply(dst: *mut u8, dst_len: usize) -> i32;
        #[link_name = "delayed_cast"]
        pub fn aether_delayed_cast(
            delay_ms: u32,
            out: *const u8,
            out_len: usize,
            ptr: *const u8,
            len: usize,
        ) -> i32;
        #[link_name = "log"]
        pub fn aether_log(level: i32, ptr: *const u8, len: usize);
        #[link_name = "telemetry"]
        pub fn aether_telemetry(name: *const u8, name_len: usize, value: f64);
    }
}

fn status(code: i32) -> Result<(), Error> {
    if code >= 0 {
        Ok(())
    } else {
        Err(Error::from_code(code))
    }
}

/// Sends `payload` to the component mapped to `output`, without waiting.
pub fn cast(output: &str, payload: &[u8]) -> Result<(), Error> {
    status(unsafe {
        raw::aether_cast(output.as_ptr(), output.len(), payload.as_ptr(), payload.len())
    })
}

/// Like [`cast`], delivered after `delay_ms` (at most 24 h).
pub fn delayed_cast(delay_ms: u32, output: &str, payload: &[u8]) -> Result<(), Error> {
    status(unsafe {
        raw::aether_delayed_cast(
            delay_ms,
            output.as_ptr(),
            output.len(),
            payload.as_ptr(),
            payload.len(),
        )
    })
}

/// Sends `payload` to `output` and waits for its reply, at most `timeout_ms`
/// (0 = the instance's event timeout).
pub fn call(output: &str, payload: &[u8], timeout_ms: u32) -> Result<Vec<u8>, Error> {
    let n = unsafe {
        raw::aether_call(output.as_ptr(), output.len(), payload.as_ptr(), payload.len(), timeout_ms)
    };
    if n < 0 {
        return Err(Error::from_code(n));
    }
    let mut reply = vec![0u8; n as usize];
    if n > 0 {
        let got = unsafe { raw::aether_call_reply(reply.as_mut_ptr(), reply.len()) };
        reply.truncate(got.max(0) as usize);
    }
    Ok(reply)
}

/// Writes a line to the engine log (rate-limited there).
pub fn log(level: Level, message: &str) {
    unsafe { raw::aether_log(level as i32, message.as_ptr(), message.len()) }
}

/// Records a named sample (the last value shows in the instance's status and
/// in the engine's /metrics as aether_workflow_telemetry).
pub fn telemetry(name: &str, value: f64) {
    unsafe { raw::aether_telemetry(name.as_ptr(), name.len(), value) }
}

// ---- The exports' plumbing (used by `export!`; not for direct use) ----

/// Memory for a payload the engine passes in: `size` bytes, freed by the
/// handler that receives it (with the same size, which the engine passes
/// back as the length). 0 = out of memory.
#[no_mangle]
pub extern "C" fn aether_alloc(size: usize) -> *mut u8 {
    if size == 0 {
        return std::ptr::NonNull::<u8>::dangling().as_ptr();
    }
    match std::alloc::Layout::from_size_align(size, 1) {
        Ok(layout) => unsafe { std::alloc::alloc(layout) },
        Err(_) => std::ptr::null_mut(),
    }
}

/// An input buffer from `aether_alloc`, freed on drop.
#[doc(hidden)]
pub struct Input {
    ptr: *mut u8,
    len: usize,
}

impl Input {
    #[doc(hidden)]
    pub fn new(ptr: usize, len: usize) -> Input {
        Input { ptr: ptr as *mut u8, len: if ptr == 0 { 0 } else { len } }
    }
    #[doc(hidden)]
    pub fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
        }
    }
    /// The source component's name; "" when it is not UTF-8 (it always is).
    #[doc(hidden)]
    pub fn text(&self) -> &str {
        std::str::from_utf8(self.bytes()).unwrap_or("")
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        if self.len != 0 {
            unsafe {
                std::alloc::dealloc(self.ptr, std::alloc::Layout::from_size_align_unchecked(self.len, 1))
            }
        }
    }
}

/// The state of the instance, in a `static mut` that `export!` defines: the
/// guest is single-threaded and the engine never re-enters a handler.
#[doc(hidden)]
pub fn state<T: Function>(slot: &'static mut Option<T>) -> &'static mut T {
    if slot.is_none() {
        // handle_init is always exported, so this only happens when an event
        // arrives first, which the engine does not do; be safe anyway.
        *slot = Some(T::init(&[]));
    }
    slot.as_mut().unwrap()
}

/// The last reply, kept until the next call (the engine reads it after the
/// handler returns).
#[doc(hidden)]
pub fn pack_reply(keep: &'static mut Vec<u8>, reply: Vec<u8>) -> u64 {
    *keep = reply;
    if keep.is_empty() {
        0
    } else {
        ((keep.as_ptr() as usize as u64) << 32) | keep.len() as u64
    }
}

/// Exports a [`Function`] implementation: `export!(Type: cast, call)`
/// (list the handlers it implements; `init` and `stop` are always exported).
macro_rules! export {
    ($t:ty $(: $($handler:ident),+)?) => {
        #[doc(hidden)]
        static mut AETHER_STATE: Option<$t> = None;

        #[no_mangle]
        pub extern "C" fn handle_init(ptr: usize, len: usize) {
            let payload = crate::aether::Input::new(ptr, len);
            let value = <$t as crate::aether::Function>::init(payload.bytes());
            unsafe { AETHER_STATE = Some(value) };
        }

        #[no_mangle]
        pub extern "C" fn handle_stop() {
            if let Some(mut s) = unsafe { AETHER_STATE.take() } {
                crate::aether::Function::stop(&mut s);
            }
        }

        $($(crate::aether::export!(@handler $t, $handler);)+)?
    };
    (@handler $t:ty, cast) => {
        #[no_mangle]
        pub extern "C" fn handle_cast(src: usize, src_len: usize, ptr: usize, len: usize) {
            let source = crate::aether::Input::new(src, src_len);
            let payload = crate::aether::Input::new(ptr, len);
            let s = crate::aether::state::<$t>(unsafe { &mut AETHER_STATE });
            crate::aether::Function::cast(s, source.text(), payload.bytes());
        }
    };
    (@handler $t:ty, call) => {
        #[no_mangle]
        pub extern "C" fn handle_call(src: usize, src_len: usize, ptr: usize, len: usize) -> u64 {
            static mut AETHER_REPLY: Vec<u8> = Vec::new();
            let source = crate::aether::Input::new(src, src_len);
            let payload = crate::aether::Input::new(ptr, len);
            let s = crate::aether::state::<$t>(unsafe { &mut AETHER_STATE });
            let reply = crate::aether::Function::call(s, source.text(), payload.bytes());
            crate::aether::pack_reply(unsafe { &mut AETHER_REPLY }, reply)
        }
    };
    (@handler $t:ty, $other:ident) => {
        compile_error!(concat!("aether::export!: unknown handler `", stringify!($other),
                               "` (expected cast or call)"));
    };
}
pub(crate) use export;
