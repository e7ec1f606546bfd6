//! Benchmark: the cost of one transform call on a batch of generated orders, uncontended.
//! The call includes encoding the batch into the guest's memory and copying the result out;
//! `host_encode_ms` is encoding the same batch alone into host memory, for scale.
//! Usage: `bench_call COMPONENT.wasm [ROWS_PER_BATCH] [CALLS]`; prints one JSON object.

use std::time::Instant;

use fastlane::connectors::{registry, SourceContext};
use fastlane::wasm::{SandboxLimits, TransformRuntime};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let wasm = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: bench_call COMPONENT.wasm [ROWS] [CALLS]"))?;
    let rows: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(65536);
    let calls: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(100);
    let config = serde_json::json!({ "rows": rows, "batch_size": rows });
    let mut source = registry::open_source("generate", &config, SourceContext::default()).await?;
    let batch = source
        .extract()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no batch"))?;

    let limits = SandboxLimits::default();
    let runtime = TransformRuntime::new(1, &limits, None)?;
    let component = runtime.load(wasm.as_ref(), limits)?;
    let mut instance = component.instantiate()?;
    instance.init("{}")?;

    let mut encoded = Vec::new();
    fastlane_ipc::encode_into(&batch, &mut encoded)?;
    let t = Instant::now();
    for _ in 0..calls {
        fastlane_ipc::encode_into(&batch, &mut encoded)?;
    }
    let encode_ms = t.elapsed().as_secs_f64() * 1e3 / calls as f64;
    instance.transform(0, &batch)?;
    let t = Instant::now();
    for seq in 0..calls {
        instance.transform(seq as u64, &batch)?;
    }
    let call_ms = t.elapsed().as_secs_f64() * 1e3 / calls as f64;
    println!(
        "{}",
        serde_json::json!({
            "component": wasm,
            "rows": rows,
            "ipc_bytes": encoded.len(),
            "host_encode_ms": encode_ms,
            "call_ms": call_ms,
            "call_mb_per_s": encoded.len() as f64 / 1e3 / call_ms,
        })
    );
    Ok(())
}
