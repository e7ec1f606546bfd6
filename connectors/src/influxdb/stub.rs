//! A loopback HTTP server standing in for InfluxDB in the tests, for what the real test server
//! cannot do: refuse a write with a chosen status, fail on demand, show the requests it got.
//! One request per connection, answered with `Connection: close`, so the framing stays simple.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Each request received: its head and its body.
type Log = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A loopback HTTP server standing in for InfluxDB: `/ping` answers 204; write requests get
/// the `answers` in turn, then are forwarded to `upstream` (or answered 204).
pub struct Stub {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Each write request received: its head (request line and headers) and its body.
    requests: Log,
    task: tokio::task::JoinHandle<()>,
}

/// A stub's answer to one write request.
#[derive(Clone, Debug)]
pub enum Answer {
    /// This status, extra header lines (each ending with CRLF) and body.
    Status(u16, &'static str, &'static str),
}

impl Stub {
    /// Listen on a loopback port; write requests get `answers` in turn, then go to `upstream`.
    pub async fn start(answers: Vec<Answer>, upstream: Option<String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(VecDeque::from(answers)));
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (seen, answers, upstream) = (seen.clone(), answers.clone(), upstream.clone());
                tokio::spawn(async move {
                    if let Err(e) = serve(socket, &seen, &answers, upstream.as_deref()).await {
                        eprintln!("stub: {e}");
                    }
                });
            }
        });
        Self {
            url,
            requests,
            task,
        }
    }

    /// The write requests received so far.
    pub fn requests(&self) -> Vec<(String, Vec<u8>)> {
        self.requests.lock().expect("the stub's log").clone()
    }

    /// Stop listening: connections are refused from now on.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn serve(
    mut socket: TcpStream,
    seen: &Mutex<Vec<(String, Vec<u8>)>>,
    answers: &Mutex<VecDeque<Answer>>,
    upstream: Option<&str>,
) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&mut socket).await? else {
        return Ok(());
    };
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (status, headers, reply) = if target.starts_with("/ping") {
        (204, "", String::new())
    } else {
        seen.lock()
            .expect("the stub's log")
            .push((head, body.clone()));
        let answer = answers.lock().expect("the stub's answers").pop_front();
        match (answer, upstream) {
            (Some(Answer::Status(code, headers, reply)), _) => (code, headers, reply.to_string()),
            (None, None) => (204, "", String::new()),
            (None, Some(upstream)) => {
                let answer = reqwest::Client::new()
                    .post(format!("{upstream}{target}"))
                    .body(body)
                    .send()
                    .await
                    .map_err(std::io::Error::other)?;
                (
                    answer.status().as_u16(),
                    "",
                    answer.text().await.unwrap_or_default(),
                )
            }
        }
    };
    let response = format!(
        "HTTP/1.1 {status} Stub\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reply.len()
    );
    socket.write_all(response.as_bytes()).await?;
    socket.shutdown().await
}

/// One request: its head and its `Content-Length` body (`None` if the client left first).
async fn read_request(socket: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut data = Vec::new();
    let mut chunk = vec![0_u8; 64 * 1024];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        data.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some((head, body)))
}
