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

/// One of the sandbox's limits, as `transform.limits` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// `memory_mb`: the largest linear memory (bytes).
    Memory,
    /// `call_timeout_ms`: the longest call (milliseconds).
    CallTime,
    /// `max_output_mb`: the largest output of one call (bytes).
    Output,
    /// `max_component_mb`: the largest component file (bytes).
    ComponentSize,
}

impl Limit {
    /// Its key in the config.
    pub fn key(self) -> &'static str {
        match self {
            Limit::Memory => "transform.limits.memory_mb",
            Limit::CallTime => "transform.limits.call_timeout_ms",
            Limit::Output => "transform.limits.max_output_mb",
            Limit::ComponentSize => "transform.limits.max_component_mb",
        }
    }
}

/// A guest went past a limit of its sandbox: which one, how far it went (`used`, `None` when
/// it is not known) and the limit (`max`), in the limit's unit — bytes, or milliseconds for
/// [`Limit::CallTime`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct LimitExceeded {
    /// The limit.
    pub limit: Limit,
    /// How far the guest went.
    pub used: Option<u64>,
    /// The limit's value.
    pub max: u64,
}

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        let (key, max) = (self.limit.key(), self.max);
        match (self.limit, self.used) {
            (Limit::Memory, used) => {
                write!(f, "exceeded the memory cap of {:.0} MiB ({key})", mib(max))?;
                match used {
                    Some(used) => write!(f, ": it asked for {:.1} MiB", mib(used)),
                    None => Ok(()),
                }
            }
            (Limit::CallTime, _) => {
                write!(f, "exceeded the call deadline of {max} ms ({key})")
            }
            (Limit::Output, used) => write!(
                f,
                "returned {}, more than the output cap of {:.0} MiB ({key})",
                used.map_or("more".to_string(), |b| format!("{b} bytes")),
                mib(max)
            ),
            (Limit::ComponentSize, used) => write!(
                f,
                "is {}, more than the {:.0} MiB a component may be ({key})",
                used.map_or("larger".to_string(), |b| format!("{:.1} MiB", mib(b))),
                mib(max)
            ),
        }
    }
}

/// The per-store resource limiter: caps each linear memory and remembers its high-water mark.
pub(crate) struct GuestLimiter {
    memory_cap: usize,
    /// Largest size any linear memory of this instance has grown to.
    pub(crate) peak_memory: usize,
    /// Set when a growth was refused: the trap that follows is this error.
    pub(crate) exceeded: Option<LimitExceeded>,
}

impl GuestLimiter {
    pub(crate) fn new(memory_cap: usize) -> Self {
        Self {
            memory_cap,
            peak_memory: 0,
            exceeded: None,
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
            let exceeded = LimitExceeded {
                limit: Limit::Memory,
                used: Some(desired as u64),
                max: self.memory_cap as u64,
            };
            self.exceeded = Some(exceeded.clone());
            // Returning an error traps right here, so the guest cannot swallow the failure.
            return Err(exceeded.into());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_says_its_value_its_key_and_how_far_the_guest_went() {
        let exceeded = |limit, used, max| LimitExceeded { limit, used, max }.to_string();
        assert_eq!(
            exceeded(Limit::Memory, Some(80 << 20), 64 << 20),
            "exceeded the memory cap of 64 MiB (transform.limits.memory_mb): it asked for 80.0 MiB"
        );
        assert_eq!(
            exceeded(Limit::CallTime, None, 300),
            "exceeded the call deadline of 300 ms (transform.limits.call_timeout_ms)"
        );
        assert_eq!(
            exceeded(Limit::Output, Some(9_000_000), 8 << 20),
            "returned 9000000 bytes, more than the output cap of 8 MiB (transform.limits.max_output_mb)"
        );
        assert_eq!(
            exceeded(Limit::ComponentSize, Some(8 << 30), 256 << 20),
            "is 8192.0 MiB, more than the 256 MiB a component may be (transform.limits.max_component_mb)"
        );
    }

    #[test]
    fn the_limiter_refuses_growth_past_the_cap_and_keeps_the_error() {
        use wasmtime::ResourceLimiter;
        let mut limiter = GuestLimiter::new(64 << 20);
        assert!(limiter.memory_growing(0, 32 << 20, None).unwrap());
        assert_eq!(limiter.peak_memory, 32 << 20);
        let err = limiter
            .memory_growing(32 << 20, 65 << 20, None)
            .unwrap_err();
        let kept = limiter.exceeded.clone().unwrap();
        assert_eq!(
            (kept.limit, kept.used, kept.max),
            (Limit::Memory, Some(65 << 20), 64 << 20)
        );
        assert_eq!(err.downcast_ref::<LimitExceeded>(), Some(&kept));
    }
}
