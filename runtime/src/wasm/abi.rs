//! The two `list<u8>` crossings of a `transform` call, done as plain memory copies.
//!
//! wasmtime lowers a `&[u8]` argument and lifts a `Vec<u8>` result one element at a time (its
//! own source says the loops do not vectorise), into a fresh allocation on the way out. A batch
//! is megabytes, so those loops were most of a passthrough call. These two types take the place
//! of `list<u8>` in the `transform` signature and do the same job with fewer passes over memory:
//!
//! - [`IpcInput`] encodes the record batch as an Arrow IPC stream straight into the buffer the
//!   guest allocates for the argument (no host-side copy of the stream first);
//! - [`IpcOutput`] copies the guest's result out with one `memcpy` into a 64-byte aligned Arrow
//!   buffer, which the host then decodes and validates without copying again. The buffers come
//!   from a small per-worker pool and go back to it when the last batch pointing into them is
//!   dropped (by the target), so the copy lands in memory that is already mapped instead of
//!   fresh pages the kernel must zero on every call. A result longer than the output cap
//!   ([`with_output_cap`]) is not copied at all.
//!
//! The canonical ABI is unchanged (the component sees an ordinary `list<u8>`); the type check
//! is `list<u8>`'s own. The traits' ABI methods are wasmtime's semver-exempt internals (what its
//! `bindgen!` output implements), which is why wasmtime is pinned to one major version.

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, Weak};

use arrow::array::RecordBatch;
use arrow::buffer::{Buffer, MutableBuffer};
use arrow::error::ArrowError;
use wasmtime::component::__internal::{
    CanonicalAbiInfo, InstanceType, InterfaceType, LiftContext, LowerContext,
};
use wasmtime::component::{ComponentType, Lift, Lower};
use wasmtime::{format_err, Result, ValRaw};

/// A record batch passed to the guest as the bytes of a one-batch Arrow IPC stream.
pub(crate) struct IpcInput<'a> {
    batch: &'a RecordBatch,
    len: usize,
}

impl<'a> IpcInput<'a> {
    /// Measure the stream `batch` encodes to (nothing is copied), so that encoding problems
    /// are reported before the call and the guest is asked for exactly the bytes needed.
    pub(crate) fn new(batch: &'a RecordBatch) -> Result<Self, ArrowError> {
        let len = fastlane_ipc::encoded_len(batch)?;
        Ok(Self { batch, len })
    }

    /// Allocate the argument in the guest and encode the stream into it.
    fn lower<T>(&self, cx: &mut LowerContext<'_, T>) -> Result<(usize, usize)> {
        let ptr = cx.realloc(0, 0, 1, self.len)?;
        let memory = cx.as_slice_mut();
        let mut window = memory
            .get_mut(ptr..)
            .and_then(|m| m.get_mut(..self.len))
            .ok_or_else(|| format_err!("the guest allocated the input outside its memory"))?;
        fastlane_ipc::encode_to(self.batch, &mut window).map_err(|e| format_err!("{e}"))?;
        if !window.is_empty() {
            return Err(format_err!(
                "the input batch encoded to fewer bytes than measured"
            ));
        }
        Ok((ptr, self.len))
    }
}

// SAFETY: the ABI is `list<u8>`'s (a pointer and a length), and `typecheck` is `[u8]`'s, so
// the component can only be called through this type where a `list<u8>` is expected.
unsafe impl ComponentType for IpcInput<'_> {
    type Lower = [ValRaw; 2];
    const ABI: CanonicalAbiInfo = <[u8] as ComponentType>::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> Result<()> {
        <[u8] as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: writes a pointer and length the guest's own `realloc` returned (bounds-checked above),
// laid out as wasmtime lays out a lowered list: two i64-written flat values, or two little-endian
// u32s in memory.
unsafe impl Lower for IpcInput<'_> {
    fn linear_lower_to_flat<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        _ty: InterfaceType,
        dst: &mut MaybeUninit<[ValRaw; 2]>,
    ) -> Result<()> {
        let (ptr, len) = self.lower(cx)?;
        dst.write([ValRaw::i64(ptr as i64), ValRaw::i64(len as i64)]);
        Ok(())
    }

    fn linear_lower_to_memory<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        _ty: InterfaceType,
        offset: usize,
    ) -> Result<()> {
        let (ptr, len) = self.lower(cx)?;
        *cx.get::<4>(offset) = u32::try_from(ptr)?.to_le_bytes();
        *cx.get::<4>(offset + 4) = u32::try_from(len)?.to_le_bytes();
        Ok(())
    }
}

/// The guest's result: its bytes, copied out of its memory into an aligned Arrow buffer, or
/// only their length when that is past the output cap.
pub(crate) enum IpcOutput {
    Bytes(Buffer),
    TooLarge(usize),
}

thread_local! {
    /// The output cap of the call running on this thread (see [`with_output_cap`]).
    static OUTPUT_CAP: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Run `call` with results longer than `cap` bytes left in the guest (as
/// [`IpcOutput::TooLarge`]) instead of copied out.
pub(crate) fn with_output_cap<R>(cap: usize, call: impl FnOnce() -> R) -> R {
    let previous = OUTPUT_CAP.replace(cap);
    let result = call();
    OUTPUT_CAP.set(previous);
    result
}

impl IpcOutput {
    fn copy(cx: &LiftContext<'_>, ptr: u32, len: u32) -> Result<Self> {
        let (ptr, len) = (ptr as usize, len as usize);
        let bytes = cx
            .memory()
            .get(ptr..)
            .and_then(|m| m.get(..len))
            .ok_or_else(|| format_err!("the returned list lies outside the guest's memory"))?;
        if len > OUTPUT_CAP.get() {
            return Ok(Self::TooLarge(len));
        }
        Ok(Self::Bytes(POOL.with(|pool| pool.copy(bytes))))
    }
}

/// Idle output buffers of one transform worker (at most [`BufferPool::KEEP`]).
#[derive(Default)]
struct BufferPool(Mutex<Vec<MutableBuffer>>);

thread_local! {
    static POOL: Arc<BufferPool> = Arc::default();
}

impl BufferPool {
    const KEEP: usize = 2;

    /// `bytes` in a pooled buffer that returns here when the Arrow buffer is dropped.
    fn copy(self: &Arc<Self>, bytes: &[u8]) -> Buffer {
        let len = bytes.len();
        // A buffer more than twice the size would hold memory the batch does not need while
        // it waits in the queues (a filter's small outputs, say): take fresh memory then.
        let mut buffer = self
            .idle()
            .pop()
            .filter(|b| b.capacity() >= len && b.capacity() / 2 <= len)
            .unwrap_or_else(|| MutableBuffer::with_capacity(len));
        buffer.clear();
        buffer.extend_from_slice(bytes);
        let ptr = NonNull::new(buffer.as_mut_ptr()).expect("a buffer's pointer is never null");
        let owner = Arc::new(Pooled {
            buffer,
            pool: Arc::downgrade(self),
        });
        // SAFETY: `ptr` points at the `len` initialised bytes of `owner.buffer`, whose heap
        // allocation does not move with the `MutableBuffer` and lives as long as `owner`.
        unsafe { Buffer::from_custom_allocation(ptr, len, owner) }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<MutableBuffer>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Owns a pooled buffer while Arrow arrays point into it.
struct Pooled {
    buffer: MutableBuffer,
    pool: Weak<BufferPool>,
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            let mut idle = pool.idle();
            if idle.len() < BufferPool::KEEP {
                idle.push(std::mem::replace(&mut self.buffer, MutableBuffer::new(0)));
            }
        }
    }
}

// SAFETY: as for `IpcInput`: `list<u8>`'s ABI and type check.
unsafe impl ComponentType for IpcOutput {
    type Lower = [ValRaw; 2];
    const ABI: CanonicalAbiInfo = <[u8] as ComponentType>::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> Result<()> {
        <[u8] as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: reads a lowered list as wasmtime does (pointer then length, flat or as two
// little-endian u32s) and bounds-checks it against the guest's memory before copying.
unsafe impl Lift for IpcOutput {
    fn linear_lift_from_flat(
        cx: &mut LiftContext<'_>,
        _ty: InterfaceType,
        src: &[ValRaw; 2],
    ) -> Result<Self> {
        Self::copy(cx, src[0].get_u32(), src[1].get_u32())
    }

    fn linear_lift_from_memory(
        cx: &mut LiftContext<'_>,
        _ty: InterfaceType,
        bytes: &[u8],
    ) -> Result<Self> {
        let word = |at: usize| -> Result<u32> {
            let raw = bytes
                .get(at..at + 4)
                .ok_or_else(|| format_err!("truncated list in the guest's result"))?;
            Ok(u32::from_le_bytes(raw.try_into()?))
        };
        Self::copy(cx, word(0)?, word(4)?)
    }
}
