//! A fault-injecting HTTP proxy for the tests: forwards every request to the test server, except
//! that chosen records of PutRecordBatch calls are kept back and reported failed, as Firehose
//! does under load (the test server never fails single records).
//!
//! One request per connection, answered with `Connection: close`, so the framing stays simple.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The `x-amz-target` of a PutRecordBatch call.
const PUT_RECORD_BATCH: &str = "Firehose_20150804.PutRecordBatch";
/// The error code of the records the proxy keeps back.
pub const INJECTED_CODE: &str = "ServiceUnavailableException";

/// Which records the proxy keeps back.
#[derive(Clone, Debug)]
pub enum Fault {
    /// In the first PutRecordBatch call, every other record (the 2nd, 4th, …).
    HalfOfFirstCall,
    /// In every call, each record whose data contains this text.
    Poison(String),
}

/// What the proxy saw.
#[derive(Debug, Default)]
struct Counts {
    put_calls: AtomicUsize,
    kept_back: AtomicUsize,
}

/// A running proxy (it lives as long as the test's runtime).
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`, for `endpoint_url`.
    pub url: String,
    counts: Arc<Counts>,
}

impl FaultProxy {
    /// Start a proxy in front of `upstream` (`http://host:port`).
    pub async fn start(upstream: &str, fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the proxy");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("the proxy's address")
        );
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let counts = Arc::new(Counts::default());
        let shared = counts.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let fault = fault.clone();
                let counts = shared.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(socket, &upstream, &fault, &counts).await {
                        eprintln!("fault proxy: {e}");
                    }
                });
            }
        });
        Self { url, counts }
    }

    /// PutRecordBatch calls received.
    pub fn put_calls(&self) -> usize {
        self.counts.put_calls.load(Ordering::SeqCst)
    }

    /// Records reported failed so far.
    pub fn kept_back(&self) -> usize {
        self.counts.kept_back.load(Ordering::SeqCst)
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: &str,
    fault: &Fault,
    counts: &Counts,
) -> io::Result<()> {
    let Some((head, body)) = read_request(&mut client).await? else {
        return Ok(());
    };
    let response = if header(&head, "x-amz-target") == Some(PUT_RECORD_BATCH) {
        let call = counts.put_calls.fetch_add(1, Ordering::SeqCst);
        put_record_batch(upstream, &head, &body, fault, call, counts).await?
    } else {
        close_after(&forward(upstream, &head, &body).await?)
    };
    client.write_all(&response).await?;
    client.shutdown().await
}

/// A PutRecordBatch call: the kept records go to the server, the others are answered as failed,
/// every entry in the position of its record.
async fn put_record_batch(
    upstream: &str,
    head: &str,
    body: &[u8],
    fault: &Fault,
    call: usize,
    counts: &Counts,
) -> io::Result<Vec<u8>> {
    let mut request: Value = serde_json::from_slice(body).map_err(io::Error::other)?;
    let records = request["Records"].as_array().cloned().unwrap_or_default();
    let failing: Vec<bool> = records
        .iter()
        .enumerate()
        .map(|(i, record)| match fault {
            Fault::HalfOfFirstCall => call == 0 && i % 2 == 1,
            Fault::Poison(marker) => record["Data"]
                .as_str()
                .and_then(|data| aws_smithy_types::base64::decode(data).ok())
                .is_some_and(|data| data.windows(marker.len()).any(|w| w == marker.as_bytes())),
        })
        .collect();
    let failed = failing.iter().filter(|f| **f).count();
    if failed == 0 {
        return Ok(close_after(&forward(upstream, head, body).await?));
    }
    counts.kept_back.fetch_add(failed, Ordering::SeqCst);

    let kept: Vec<Value> = records
        .iter()
        .zip(&failing)
        .filter(|(_, failing)| !**failing)
        .map(|(record, _)| record.clone())
        .collect();
    let mut accepted = VecDeque::new();
    if !kept.is_empty() {
        request["Records"] = Value::Array(kept);
        let forwarded = serde_json::to_vec(&request).map_err(io::Error::other)?;
        let response = forward(upstream, head, &forwarded).await?;
        let (status, answer) = split_response(&response);
        if !status.contains(" 200 ") {
            return Ok(close_after(&response));
        }
        let answer: Value = serde_json::from_slice(answer).map_err(io::Error::other)?;
        accepted = answer["RequestResponses"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into();
    }
    let entries: Vec<Value> = failing
        .iter()
        .map(|&failing| {
            if failing {
                json!({
                    "ErrorCode": INJECTED_CODE,
                    "ErrorMessage": "Slow down (injected by the test proxy).",
                })
            } else {
                accepted.pop_front().unwrap_or_else(|| json!({}))
            }
        })
        .collect();
    let answer = json!({
        "FailedPutCount": failed,
        "Encrypted": false,
        "RequestResponses": entries,
    })
    .to_string();
    Ok(format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\
         x-amzn-RequestId: fault-proxy\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    )
    .into_bytes())
}

/// Read one request: its head (request line and headers) and its `Content-Length` body.
async fn read_request(stream: &mut TcpStream) -> io::Result<Option<(String, Vec<u8>)>> {
    let mut data = Vec::new();
    let mut chunk = vec![0_u8; 64 * 1024];
    let head_end = loop {
        if let Some(at) = find(&data, b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        data.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length: usize = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the request body ended early",
            ));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some((head, body)))
}

/// Send a request (its head, with our own length and `Connection: close`) to the server and
/// read the whole answer.
async fn forward(upstream: &str, head: &str, body: &[u8]) -> io::Result<Vec<u8>> {
    let mut request = without_framing(head);
    request.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(request.as_bytes()).await?;
    server.write_all(body).await?;
    let mut response = Vec::new();
    server.read_to_end(&mut response).await?;
    Ok(response)
}

/// The server's answer with `Connection: close`, the body untouched.
fn close_after(response: &[u8]) -> Vec<u8> {
    let Some(head_end) = find(response, b"\r\n\r\n") else {
        return response.to_vec();
    };
    let head = String::from_utf8_lossy(&response[..head_end]);
    let mut out = Vec::with_capacity(response.len() + 20);
    for line in head.split("\r\n") {
        let name = line.split(':').next().unwrap_or_default().trim();
        if !name.eq_ignore_ascii_case("connection") {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&response[head_end + 4..]);
    out
}

/// A head's lines without `Content-Length` and `Connection`, each ended by CRLF.
fn without_framing(head: &str) -> String {
    let mut out = String::with_capacity(head.len() + 64);
    for (i, line) in head.split("\r\n").enumerate() {
        let name = line.split(':').next().unwrap_or_default().trim();
        let framing =
            name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("connection");
        if i == 0 || !framing {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out
}

/// The status line and the body of an answer.
fn split_response(response: &[u8]) -> (String, &[u8]) {
    match find(response, b"\r\n\r\n") {
        Some(at) => {
            let head = String::from_utf8_lossy(&response[..at]);
            let status = head.lines().next().unwrap_or_default().to_string();
            (status, &response[at + 4..])
        }
        None => (String::new(), &response[response.len()..]),
    }
}

/// The value of header `name` (any case) in `head`.
fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then_some(value.trim())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
