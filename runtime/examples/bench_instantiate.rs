//! Benchmark: pooled instance start of a transform component on a precompiled-cache hit.
//! Usage: `bench_instantiate path/to/component.wasm [iterations] [config-json]`; prints one JSON
//! object. The config (default `{}`) is what `init` gets in the instantiate+init measurement.

use std::time::{Duration, Instant};

use fastlane::wasm::{SandboxLimits, TransformRuntime};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let wasm = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: bench_instantiate COMPONENT.wasm [ITERATIONS]"))?;
    let iterations: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(2000);
    let config = args.next().unwrap_or_else(|| "{}".to_string());
    let limits = SandboxLimits::default();
    let runtime = TransformRuntime::new(1, &limits, None)?;
    // The first load fills the cache (if needed); the second is the cache hit we measure.
    runtime.load(wasm.as_ref(), limits.clone())?;
    let started = Instant::now();
    let component = runtime.load(wasm.as_ref(), limits)?;
    let load = started.elapsed();
    let mut samples: Vec<Duration> = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        let instance = component.instantiate()?;
        samples.push(t.elapsed());
        drop(instance);
    }
    let mut with_init: Vec<Duration> = Vec::with_capacity(iterations / 10);
    for _ in 0..iterations / 10 {
        let t = Instant::now();
        let mut instance = component.instantiate()?;
        instance.init(&config)?;
        with_init.push(t.elapsed());
    }
    samples.sort();
    with_init.sort();
    let pct = |v: &[Duration], p: f64| v[((v.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
    println!(
        "{}",
        serde_json::json!({
            "component": wasm,
            "cache_hit": component.from_cache(),
            "cached_load_ms": load.as_secs_f64() * 1e3,
            "instantiate_us_p50": pct(&samples, 0.5),
            "instantiate_us_p99": pct(&samples, 0.99),
            "instantiate_plus_init_us_p50": pct(&with_init, 0.5),
            "iterations": iterations,
        })
    );
    Ok(())
}
