//! A TCP proxy for the tests, in front of a real server: it forwards bytes both ways and can
//! behave like the networks that hurt long runs — dropping a connection idle for longer than
//! a limit (a NAT, a load balancer, a server's `wait_timeout`), or cutting every connection
//! at once (a failover).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

/// A running proxy (it lives as long as the runtime it was started on).
pub struct TcpProxy {
    /// The loopback port to connect to instead of the server's.
    pub port: u16,
    idle_dropped: Arc<AtomicUsize>,
    cut: watch::Sender<u64>,
}

impl TcpProxy {
    /// Forward `127.0.0.1:port` to `upstream` (`host:port`); with `idle_limit`, a connection
    /// that carries no byte either way for that long is closed.
    pub async fn start(upstream: String, idle_limit: Option<Duration>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the proxy");
        let port = listener.local_addr().expect("the proxy's address").port();
        let idle_dropped = Arc::new(AtomicUsize::new(0));
        let (cut, _) = watch::channel(0u64);
        let (dropped, cuts) = (idle_dropped.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (dropped, cuts) = (dropped.clone(), cuts.subscribe());
                tokio::spawn(forward(client, server, idle_limit, dropped, cuts));
            }
        });
        Self {
            port,
            idle_dropped,
            cut,
        }
    }

    /// Connections closed because they were idle.
    pub fn idle_dropped(&self) -> usize {
        self.idle_dropped.load(Ordering::SeqCst)
    }

    /// Close every connection open now.
    pub fn cut_all(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}

async fn forward(
    client: TcpStream,
    server: TcpStream,
    idle_limit: Option<Duration>,
    dropped: Arc<AtomicUsize>,
    mut cuts: watch::Receiver<u64>,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let (mut up, mut down) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    let mut last = Instant::now();
    let limit = idle_limit.unwrap_or(Duration::from_secs(365 * 86_400));
    loop {
        tokio::select! {
            n = client_read.read(&mut up) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if server_write.write_all(&up[..n]).await.is_err() { break }
                    last = Instant::now();
                }
            },
            n = server_read.read(&mut down) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if client_write.write_all(&down[..n]).await.is_err() { break }
                    last = Instant::now();
                }
            },
            _ = tokio::time::sleep_until(last + limit) => {
                dropped.fetch_add(1, Ordering::SeqCst);
                break;
            }
            _ = cuts.changed() => break,
        }
    }
}
