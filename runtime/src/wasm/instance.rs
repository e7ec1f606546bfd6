//! One transform worker's sandbox: a wasmtime store and instance with its limits, reused across
//! batches, discarded after any trap.

use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::buffer::Buffer;
use wasmtime::component::{Func, ResourceTable};
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::abi::{self, IpcInput, IpcOutput};
use super::bindings::{GuestError, Level, TransformInfo, Transformer, TransformerImports};
use super::engine::TransformComponent;
use super::limits::{GuestLimiter, Limit, LimitExceeded};
use super::stdio::CapturedOutput;
use super::{Interrupt, TransformError};

/// Per-store host state: WASI with nothing granted, the limiter, the guest's name for logs,
/// and when the call in progress must end.
pub(crate) struct InstanceState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: GuestLimiter,
    name: String,
    /// The current call's deadline (`transform.limits.call_timeout_ms` after it started).
    call_deadline: Instant,
    /// Raised when the run stops at once: every call in progress traps at the next epoch tick.
    interrupt: Interrupt,
}

/// What a call traps with when the run is stopping at once (a second Ctrl-C, a failed stage).
#[derive(Debug)]
struct RunStopping;

impl std::fmt::Display for RunStopping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped: the run is stopping")
    }
}

impl std::error::Error for RunStopping {}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl TransformerImports for InstanceState {
    fn log(&mut self, level: Level, message: String) {
        let name = self.name.as_str();
        match level {
            Level::Trace => tracing::trace!(transform = name, "{message}"),
            Level::Debug => tracing::debug!(transform = name, "{message}"),
            Level::Info => tracing::info!(transform = name, "{message}"),
            Level::Warn => tracing::warn!(transform = name, "{message}"),
            Level::Error => tracing::error!(transform = name, "{message}"),
        }
    }
}

impl super::bindings::fastlane::transform::types::Host for InstanceState {}

/// A sandboxed instance of a transform component.
pub struct TransformInstance {
    component: TransformComponent,
    store: Store<InstanceState>,
    bindings: Transformer,
    /// The `transform` export, called through [`IpcInput`] / [`IpcOutput`] rather than the
    /// bindings' `list<u8>` (see `abi.rs`).
    transform_export: Func,
    stdout: CapturedOutput,
    stderr: CapturedOutput,
    /// Set after a trap: the instance's state is undefined and it must never run again.
    poisoned: bool,
}

type TransformExport<'a> = (IpcInput<'a>,);
type TransformResult = (Result<IpcOutput, GuestError>,);

impl TransformInstance {
    pub(crate) fn new(component: TransformComponent) -> Result<Self, TransformError> {
        let loaded = &component.inner;
        let stdio_limit = usize::try_from(loaded.limits.max_stdio_bytes).unwrap_or(usize::MAX);
        let stdout = CapturedOutput::new(stdio_limit);
        let stderr = CapturedOutput::new(stdio_limit);
        // Nothing is granted: no preopened directories, no env, no args, no sockets, no stdin.
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let state = InstanceState {
            wasi,
            table: ResourceTable::new(),
            limiter: GuestLimiter::new(loaded.limits.memory_bytes()),
            name: loaded.name.clone(),
            call_deadline: Instant::now() + call_timeout(&loaded.limits),
            interrupt: loaded.interrupt.clone(),
        };
        let mut store = Store::new(loaded.pre.engine(), state);
        store.limiter(|state| &mut state.limiter);
        // Checked at every epoch tick: the run stopping ends a call at once; past its deadline
        // a call traps with `Interrupt`, which `describe_trap` reports as a timeout.
        store.epoch_deadline_callback(|store| {
            let state = store.data();
            if state.interrupt.is_raised() {
                return Err(RunStopping.into());
            }
            if Instant::now() >= state.call_deadline {
                return Ok(UpdateDeadline::Interrupt);
            }
            Ok(UpdateDeadline::Continue(1))
        });
        store.set_epoch_deadline(1);
        let load_error = |e: wasmtime::Error| TransformError::Load {
            path: loaded.path.clone(),
            message: format!("cannot be instantiated: {e:#}"),
        };
        let instance = loaded
            .pre
            .instance_pre()
            .instantiate(&mut store)
            .map_err(load_error)?;
        let bindings = Transformer::new(&mut store, &instance).map_err(load_error)?;
        let transform_export = instance
            .get_func(&mut store, "transform")
            .ok_or_else(|| load_error(wasmtime::format_err!("no `transform` export")))?;
        transform_export
            .typed::<TransformExport<'_>, TransformResult>(&store)
            .map_err(load_error)?;
        Ok(Self {
            component,
            store,
            bindings,
            transform_export,
            stdout,
            stderr,
            poisoned: false,
        })
    }

    /// The component this instance was made from.
    pub fn component(&self) -> &TransformComponent {
        &self.component
    }

    /// The name used in logs and errors.
    pub fn name(&self) -> &str {
        &self.store.data().name
    }

    /// Use `name` (from `describe`) in logs and errors from now on.
    pub fn set_name(&mut self, name: &str) {
        self.store.data_mut().name = name.to_string();
    }

    /// Largest linear memory this instance has grown to, in bytes.
    pub fn peak_memory(&self) -> usize {
        self.store.data().limiter.peak_memory
    }

    /// Whether the instance has grown past the recycling threshold and should be replaced.
    pub fn should_recycle(&self) -> bool {
        self.component
            .inner
            .limits
            .recycle_above_bytes()
            .is_some_and(|limit| self.peak_memory() > limit)
    }

    /// Call `describe`.
    pub fn describe(&mut self) -> Result<TransformInfo, TransformError> {
        let call = "describe".to_string();
        let info = self.call(&call, |b, s| b.call_describe(s))?;
        let config_schema =
            serde_json::from_str(&info.config_schema).map_err(|e| TransformError::Output {
                transform: info.name.clone(),
                call,
                message: format!("config schema is not JSON: {e}"),
            })?;
        Ok(TransformInfo {
            name: info.name,
            version: info.version,
            description: info.description,
            config_schema,
        })
    }

    /// Call `init` with the transform's JSON config.
    pub fn init(&mut self, config: &str) -> Result<(), TransformError> {
        let call = "init".to_string();
        let result = self.call(&call, |b, s| b.call_init(s, config))?;
        result.map_err(|e| self.guest_error(call, e))
    }

    /// Transform one batch (sequence number `seq`). `None`: the guest returned no output at all.
    pub fn transform(
        &mut self,
        seq: u64,
        batch: &RecordBatch,
    ) -> Result<Option<RecordBatch>, TransformError> {
        let call = format!("batch {seq}");
        let input = IpcInput::new(batch).map_err(|e| TransformError::Output {
            transform: self.name().to_string(),
            call: call.clone(),
            message: format!("cannot encode the input batch as Arrow IPC: {e}"),
        })?;
        let export = self.transform_export;
        let cap = self.component.inner.limits.max_output_bytes();
        let result = self.call(&call, |_, s| {
            // The signature was checked at instantiation; checking it again per call costs
            // microseconds and keeps this free of `unsafe`.
            let typed = export.typed::<TransformExport<'_>, TransformResult>(&*s)?;
            abi::with_output_cap(cap, || Ok(typed.call(s, (input,))?.0))
        })?;
        let output = result.map_err(|e| self.guest_error(call.clone(), e))?;
        self.decode(&call, output)
    }

    /// Call `finish` at the end of the stream; may return buffered rows.
    pub fn finish(&mut self) -> Result<Option<RecordBatch>, TransformError> {
        let call = "finish".to_string();
        let result = self.call(&call, |b, s| b.call_finish(s))?;
        match result.map_err(|e| self.guest_error(call.clone(), e))? {
            Some(output) => self.decode(&call, IpcOutput::Bytes(Buffer::from_vec(output))),
            None => Ok(None),
        }
    }

    /// Run one export with a fresh deadline, drain the guest's stdio into the log, and turn
    /// traps into errors that say what happened (deadline, memory cap, panic).
    fn call<R>(
        &mut self,
        call: &str,
        f: impl FnOnce(&Transformer, &mut Store<InstanceState>) -> wasmtime::Result<R>,
    ) -> Result<R, TransformError> {
        let name = self.name().to_string();
        if self.poisoned {
            return Err(TransformError::Trap {
                transform: name,
                call: call.to_string(),
                message: "instance was discarded after an earlier trap".into(),
            });
        }
        let timeout = call_timeout(&self.component.inner.limits);
        self.store.data_mut().call_deadline = Instant::now() + timeout;
        self.store.set_epoch_deadline(1);
        let result = f(&self.bindings, &mut self.store);
        let stderr_tail = self.drain_stdio();
        result.map_err(|e| {
            self.poisoned = true;
            let detail = if stderr_tail.is_empty() {
                String::new()
            } else {
                format!("; guest stderr: {stderr_tail}")
            };
            match self.limit_exceeded(&e) {
                Some(exceeded) => TransformError::Limit {
                    transform: name,
                    call: call.to_string(),
                    exceeded,
                    detail,
                },
                None => {
                    let message = if e.downcast_ref::<RunStopping>().is_some() {
                        RunStopping.to_string()
                    } else {
                        format!("trapped: {}", first_line(&e))
                    };
                    TransformError::Trap {
                        transform: name,
                        call: call.to_string(),
                        message: message + &detail,
                    }
                }
            }
        })
    }

    /// The limit a trap came from: a refused memory growth, or the call's deadline.
    fn limit_exceeded(&self, e: &wasmtime::Error) -> Option<LimitExceeded> {
        if let Some(exceeded) = &self.store.data().limiter.exceeded {
            return Some(exceeded.clone());
        }
        if e.downcast_ref::<RunStopping>().is_none()
            && matches!(e.downcast_ref::<Trap>(), Some(Trap::Interrupt))
        {
            return Some(LimitExceeded {
                limit: Limit::CallTime,
                used: None,
                max: self.component.inner.limits.call_timeout_ms,
            });
        }
        None
    }

    /// Log what the guest printed; return the last stderr line for error messages.
    fn drain_stdio(&mut self) -> String {
        let name = self.name().to_string();
        let mut last_err = String::new();
        for (stream, out) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let (text, dropped) = out.take();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                tracing::info!(transform = %name, stream, "{line}");
                if stream == "stderr" {
                    last_err = line.trim().to_string();
                }
            }
            if dropped > 0 {
                tracing::warn!(transform = %name, stream, "dropped {dropped} bytes of guest output past transform.limits.max_stdio_bytes");
            }
        }
        last_err
    }

    fn guest_error(&self, call: String, e: GuestError) -> TransformError {
        let (kind, message) = match e {
            GuestError::InvalidConfig(m) => ("invalid-config", m),
            GuestError::InvalidInput(m) => ("invalid-input", m),
            GuestError::Failed(m) => ("failed", m),
        };
        TransformError::Guest {
            transform: self.name().to_string(),
            call,
            kind,
            message,
        }
    }

    fn decode(&self, call: &str, output: IpcOutput) -> Result<Option<RecordBatch>, TransformError> {
        let err = |message: String| TransformError::Output {
            transform: self.name().to_string(),
            call: call.to_string(),
            message,
        };
        let limits = &self.component.inner.limits;
        let past_cap = |len: usize| TransformError::Limit {
            transform: self.name().to_string(),
            call: call.to_string(),
            exceeded: LimitExceeded {
                limit: Limit::Output,
                used: Some(len as u64),
                max: limits.max_output_bytes() as u64,
            },
            detail: String::new(),
        };
        let output = match output {
            IpcOutput::Bytes(bytes) if bytes.len() <= limits.max_output_bytes() => bytes,
            IpcOutput::Bytes(bytes) => return Err(past_cap(bytes.len())),
            IpcOutput::TooLarge(len) => return Err(past_cap(len)),
        };
        if output.is_empty() {
            return Ok(None);
        }
        let (schema, mut batches) = fastlane_ipc::decode_untrusted_buffer(output).map_err(|e| {
            err(format!(
                "returned bytes that are not a valid Arrow IPC stream: {e}"
            ))
        })?;
        let Some(schema) = schema else {
            return Ok(None);
        };
        let not_ipc =
            |e: arrow::error::ArrowError| err(format!("cannot combine the returned batches: {e}"));
        let batch = match batches.len() {
            // A schema with no batch is zero rows out: keep the schema, as for an empty batch.
            0 => RecordBatch::new_empty(schema),
            1 => batches.pop().expect("one batch"),
            _ => arrow::compute::concat_batches(&schema, &batches).map_err(not_ipc)?,
        };
        Ok(Some(batch))
    }
}

fn call_timeout(limits: &super::SandboxLimits) -> Duration {
    Duration::from_millis(limits.call_timeout_ms.max(1))
}

fn first_line(e: &wasmtime::Error) -> String {
    let text = format!("{e:#}");
    text.lines().next().unwrap_or_default().to_string()
}
