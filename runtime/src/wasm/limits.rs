//! Sandbox limits of a transform instance, set in the pipeline's `transform.limits` section.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Limits applied to every transform instance. The defaults are safe for untrusted guests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxLimits {
    /// Largest linear memory a guest may grow to, in MiB (a 32-bit guest addresses 4096 at
    /// most). Growing past it traps the call.
    #[schemars(range(min = 1, max = 4096))]
    pub memory_mb: u64,
    /// Longest a single call (`init`, `transform`, `finish`) may run, in milliseconds (at most
    /// a day).
    #[schemars(range(min = 1, max = 86_400_000))]
    pub call_timeout_ms: u64,
    /// Largest output a single call may return, in MiB.
    #[schemars(range(min = 1, max = 4096))]
    pub max_output_mb: u64,
    /// Once a guest's linear memory has grown past this many MiB, the instance is discarded
    /// after the current batch and a fresh one (with `init` called again) takes its place.
    /// 0 disables recycling (needed for transforms that keep state across batches).
    #[schemars(range(min = 0, max = 4096))]
    pub recycle_above_mb: u64,
    /// Bytes of guest stdout/stderr kept per call; the rest is dropped and counted.
    #[schemars(range(min = 0, max = 67_108_864))]
    pub max_stdio_bytes: u64,
    /// Largest component file read, in MiB: anything bigger is refused before it is read or
    /// compiled (the largest guests built here, Python and JavaScript, are about 20 MiB).
    #[schemars(range(min = 1, max = 4096))]
    pub max_component_mb: u64,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            memory_mb: 512,
            call_timeout_ms: 30_000,
            max_output_mb: 256,
            recycle_above_mb: 256,
            max_stdio_bytes: 64 * 1024,
            max_component_mb: 256,
        }
    }
}

impl SandboxLimits {
    pub(crate) fn memory_bytes(&self) -> usize {
        mib(self.memory_mb)
    }
    pub(crate) fn max_output_bytes(&self) -> usize {
        mib(self.max_output_mb)
    }
    pub(crate) fn max_component_bytes(&self) -> u64 {
        self.max_component_mb.saturating_mul(1024 * 1024)
    }
    pub(crate) fn recycle_above_bytes(&self) -> Option<usize> {
        (self.recycle_above_mb > 0).then(|| mib(self.recycle_above_mb))
    }
}

fn mib(n: u64) -> usize {
    usize::try_from(n.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
}

/// The per-store resource limiter: caps each linear memory and remembers its high-water mark.
pub(crate) struct GuestLimiter {
    memory_cap: usize,
    /// Largest size any linear memory of this instance has grown to.
    pub(crate) peak_memory: usize,
    /// Set when a growth was refused: the trap that follows is a memory-cap error.
    pub(crate) hit_memory_cap: bool,
}

impl GuestLimiter {
    pub(crate) fn new(memory_cap: usize) -> Self {
        Self {
            memory_cap,
            peak_memory: 0,
            hit_memory_cap: false,
        }
    }
}

impl wasmtime::ResourceLimiter for GuestLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            self.hit_memory_cap = true;
            // Returning an error traps right here, so the guest cannot swallow the failure.
            wasmtime::bail!("linear memory would grow to {desired} bytes, past the cap");
        }
        self.peak_memory = self.peak_memory.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 10_000_000)
    }
}
