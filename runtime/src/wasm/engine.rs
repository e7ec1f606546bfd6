//! The process-wide wasmtime engine, the epoch ticker and compiled components.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::bindings::TransformerPre;
use super::cache::{CacheOutcome, ComponentCache};
use super::instance::{InstanceState, TransformInstance};
use super::{SandboxLimits, TransformError};

/// How often the epoch advances; call deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// One wasmtime engine per process, with the pooling allocator sized for the run.
#[derive(Clone)]
pub struct TransformRuntime {
    engine: Engine,
    cache: Arc<ComponentCache>,
    /// Largest component file read (`transform.limits.max_component_mb`).
    max_component_bytes: u64,
    /// Raised to end every call in progress of this runtime's instances.
    interrupt: Interrupt,
}

/// A switch that, once raised, makes every call in progress of the instances it was given to
/// trap at the next epoch tick (within [`EPOCH_TICK`]), and every later call trap at once: how
/// a run stops at once even while a guest is stuck in a long call.
#[derive(Clone, Debug, Default)]
pub struct Interrupt(Arc<std::sync::atomic::AtomicBool>);

impl Interrupt {
    /// End every call in progress, and all later ones.
    pub fn raise(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    /// Whether [`Interrupt::raise`] was called.
    pub fn is_raised(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl TransformRuntime {
    /// An engine able to run `instances` concurrent transform instances, each capped by `limits`.
    /// `cache_dir`: where precompiled components are kept (`None`: the default directory).
    pub fn new(
        instances: usize,
        limits: &SandboxLimits,
        cache_dir: Option<PathBuf>,
    ) -> Result<Self, TransformError> {
        let load_err = |e: wasmtime::Error| TransformError::Load {
            path: "engine".into(),
            message: format!("{e:#}"),
        };
        // Room for every worker plus instances being recycled, describe() and validation.
        let slots =
            u32::try_from(instances.saturating_mul(2).saturating_add(4)).unwrap_or(u32::MAX);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(slots)
            // Components built by componentize-py/-js hold several core instances and memories.
            .total_core_instances(slots.saturating_mul(8))
            .total_memories(slots.saturating_mul(4))
            .total_tables(slots.saturating_mul(8))
            .total_stacks(slots)
            .max_memory_size(limits.memory_bytes());
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            // Linear memories start as a copy of their data segments, not as copy-on-write
            // mappings of a sealed memfd image: sealing fails now and then with EBUSY while the
            // kernel holds a transient reference to one of its pages (memory compaction or
            // monitoring), which failed a run before any data moved. The copy costs
            // milliseconds once per instance (one per transform worker).
            .memory_init_cow(false)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(load_err)?;
        spawn_epoch_ticker(&engine);
        let dir = cache_dir.or_else(ComponentCache::default_dir);
        Ok(Self {
            engine,
            cache: Arc::new(ComponentCache::new(dir)),
            max_component_bytes: limits.max_component_bytes(),
            interrupt: Interrupt::default(),
        })
    }

    /// Read, compile (or load from the cache) and link a transform component.
    ///
    /// A component that does not implement the `fastlane:transform/transformer` world is refused
    /// here, before any data moves.
    pub fn load(
        &self,
        path: &Path,
        limits: SandboxLimits,
    ) -> Result<TransformComponent, TransformError> {
        let shown = path.display().to_string();
        let err = |message: String| TransformError::Load {
            path: shown.clone(),
            message,
        };
        let (component, digest, outcome) = self.compile(path)?;
        let mut linker = Linker::<InstanceState>::new(&self.engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| err(format!("{e:#}")))?;
        super::bindings::Transformer::add_to_linker::<_, wasmtime::component::HasSelf<InstanceState>>(
            &mut linker,
            |state| state,
        )
        .map_err(|e| err(format!("{e:#}")))?;
        let pre = linker.instantiate_pre(&component).map_err(|e| {
            err(format!(
                "cannot be linked: it imports something the sandbox does not provide \
                 (only `log` and WASI without files, env or network are available): {e:#}"
            ))
        })?;
        let pre = TransformerPre::new(pre).map_err(|e| {
            err(format!(
                "does not implement the world `fastlane:transform/transformer@0.1.0` \
                 (see wit/README.md): {e:#}"
            ))
        })?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("transform")
            .to_string();
        Ok(TransformComponent {
            inner: Arc::new(Loaded {
                pre,
                limits,
                digest,
                name,
                outcome,
                path: shown,
                interrupt: self.interrupt.clone(),
            }),
        })
    }
}

impl TransformRuntime {
    /// Read and compile (or load from the cache) a component, without linking it.
    fn compile(&self, path: &Path) -> Result<(Component, String, CacheOutcome), TransformError> {
        let shown = path.display().to_string();
        let err = |message: String| TransformError::Load {
            path: shown.clone(),
            message,
        };
        let wasm = super::component_file::read(path, self.max_component_bytes).map_err(err)?;
        let started = Instant::now();
        let loaded = self.cache.load(&self.engine, &wasm).map_err(|e| {
            err(format!(
                "not a valid WebAssembly component: {}",
                clip_message(&format!("{e:#}"))
            ))
        })?;
        tracing::debug!(path = %shown, outcome = ?loaded.2, elapsed = ?started.elapsed(), "component ready");
        Ok(loaded)
    }

    /// What a component imports and exports, read from its type before any linking, so a
    /// component of the wrong world can still be described.
    pub fn interface(&self, path: &Path) -> Result<ComponentInterface, TransformError> {
        let (component, digest, _) = self.compile(path)?;
        let ty = component.component_type();
        let imports = ty
            .imports(&self.engine)
            .map(|(name, item)| (name.to_string(), item_kind(&item.ty).to_string()))
            .collect();
        let exports = ty
            .exports(&self.engine)
            .map(|(name, item)| (name.to_string(), item_kind(&item.ty).to_string()))
            .collect();
        Ok(ComponentInterface {
            imports,
            exports,
            digest,
        })
    }
}

/// A component's imports and exports as `(name, kind)` pairs, and its SHA-256.
#[derive(Clone, Debug)]
pub struct ComponentInterface {
    /// What the component needs from the host (`log`, `wasi:cli/stdout@0.2.6`, ...).
    pub imports: Vec<(String, String)>,
    /// What the component provides (`describe`, `transform`, ...).
    pub exports: Vec<(String, String)>,
    /// SHA-256 of the component's bytes (hex).
    pub digest: String,
}

fn item_kind(item: &ComponentItem) -> &'static str {
    match item {
        ComponentItem::ComponentFunc(_) => "function",
        ComponentItem::CoreFunc(_) => "core function",
        ComponentItem::Module(_) => "core module",
        ComponentItem::Component(_) => "component",
        ComponentItem::ComponentInstance(_) => "interface",
        ComponentItem::Type(_) => "type",
        ComponentItem::Resource(_) => "resource",
    }
}

/// Advance the engine's epoch every [`EPOCH_TICK`] for as long as the engine lives.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the wasm epoch thread, call deadlines will not fire: {e}");
    }
}

pub(crate) struct Loaded {
    pub(crate) pre: TransformerPre<InstanceState>,
    pub(crate) limits: SandboxLimits,
    pub(crate) digest: String,
    pub(crate) name: String,
    pub(crate) outcome: CacheOutcome,
    pub(crate) path: String,
    pub(crate) interrupt: Interrupt,
}

/// A compiled and linked transform component; cheap to clone, instantiated once per worker.
#[derive(Clone)]
pub struct TransformComponent {
    pub(crate) inner: Arc<Loaded>,
}

impl TransformComponent {
    /// SHA-256 of the component's bytes (hex).
    pub fn digest(&self) -> &str {
        &self.inner.digest
    }
    /// Name used in logs and errors until `describe` tells the real one (the file stem).
    pub fn file_name(&self) -> &str {
        &self.inner.name
    }
    /// Whether the compiled code came from the on-disk cache.
    pub fn from_cache(&self) -> bool {
        self.inner.outcome == CacheOutcome::Hit
    }
    /// The path the component was loaded from.
    pub fn path(&self) -> &str {
        &self.inner.path
    }
    /// The switch that stops every call of this component's instances.
    pub fn interrupt(&self) -> Interrupt {
        self.inner.interrupt.clone()
    }
    /// A fresh sandboxed instance (not yet initialised).
    pub fn instantiate(&self) -> Result<TransformInstance, TransformError> {
        TransformInstance::new(self.clone())
    }
}

/// An engine's message cut to its first lines and a few hundred characters: a broken binary
/// must not flood the terminal.
fn clip_message(text: &str) -> String {
    const MAX_CHARS: usize = 400;
    let mut out: String = text.lines().take(3).collect::<Vec<_>>().join("; ");
    if out.chars().count() > MAX_CHARS {
        out = out.chars().take(MAX_CHARS).collect::<String>() + "…";
    }
    out
}
