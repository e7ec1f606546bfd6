//! The Storage Read API (gRPC, `google.cloud.bigquery.storage.v1.BigQueryRead`, the client
//! gcp-bigquery-client generates): one read session in Arrow format split into up to
//! `concurrency` streams, each read by its own task.
//!
//! The session carries the Arrow schema once (an IPC schema message); every `ReadRowsResponse`
//! carries one IPC record-batch message without it. Each stream's decoder is primed with the
//! schema message, then fed the batch messages; [`super::conform`] brings every batch to the
//! source's schema. A stream broken by `UNAVAILABLE`/`INTERNAL` is resumed at the row it
//! reached (ReadRows' `offset`), a few times.

use std::sync::Arc;
use std::time::Duration;

use arrow::buffer::Buffer;
use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamDecoder;
use arrow::record_batch::RecordBatch;
use gcp_bigquery_client::google::cloud::bigquery::storage::v1 as bqs;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use super::auth::Credentials;
use super::config::{TableRef, SECTION};
use super::conform;
use crate::error::chain;
use crate::{ConnectorError, Result};

type ReadClient = bqs::big_query_read_client::BigQueryReadClient<Channel>;

/// Largest ReadRows message accepted (BigQuery sends at most 100 MiB per response).
const MAX_MESSAGE_BYTES: usize = 128 << 20;
/// Times a broken stream is resumed.
const RESUMES: u32 = 3;

/// What to read through the Storage Read API.
pub(super) struct ReadRequest<'a> {
    /// gRPC endpoint (`https://bigquerystorage.googleapis.com`).
    pub url: &'a str,
    /// Project billed for the session.
    pub billing_project: &'a str,
    pub table: &'a TableRef,
    /// Top-level columns to read (empty: all).
    pub selected_fields: Vec<String>,
    /// SQL filter (empty: none).
    pub row_restriction: String,
    /// Most streams.
    pub streams: usize,
    pub timeout: Duration,
}

/// An open read session, ready to be read.
pub(super) struct Session {
    client: ReadClient,
    /// Stream names.
    pub streams: Vec<String>,
    shared: Arc<Shared>,
}

/// What every stream reader needs.
struct Shared {
    credentials: Credentials,
    /// The IPC schema message the batch messages refer to.
    schema_message: Vec<u8>,
    /// The source's schema, and where each of its columns is in the session's.
    expected: SchemaRef,
    columns: Vec<usize>,
    label: String,
    /// How long a stream may go without sending anything.
    timeout: Duration,
}

/// Create a read session for `request`, checking that its schema converts exactly to
/// `expected`. The error says why the Storage Read API cannot serve the read (unreachable,
/// refused, a type it sends differently, …).
pub(super) async fn open(
    request: ReadRequest<'_>,
    credentials: &Credentials,
    expected: SchemaRef,
    label: &str,
) -> std::result::Result<Session, String> {
    let url = request.url;
    let mut endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|e| format!("{url} is not a usable gRPC endpoint: {}", chain(&e)))?
        .connect_timeout(request.timeout.min(Duration::from_secs(10)))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    if url.starts_with("https://") {
        endpoint = endpoint
            .tls_config(ClientTlsConfig::new().with_enabled_roots())
            .map_err(|e| format!("TLS for {url}: {}", chain(&e)))?;
    }
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {url}: {}", chain(&e)))?;
    let mut client = ReadClient::new(channel).max_decoding_message_size(MAX_MESSAGE_BYTES);

    let table = request.table;
    let table_path = format!(
        "projects/{}/datasets/{}/tables/{}",
        table.project, table.dataset, table.table
    );
    let message = bqs::CreateReadSessionRequest {
        parent: format!("projects/{}", request.billing_project),
        read_session: Some(bqs::ReadSession {
            table: table_path.clone(),
            data_format: bqs::DataFormat::Arrow as i32,
            read_options: Some(bqs::read_session::TableReadOptions {
                selected_fields: request.selected_fields,
                row_restriction: request.row_restriction,
                ..Default::default()
            }),
            ..Default::default()
        }),
        max_stream_count: i32::try_from(request.streams).unwrap_or(i32::MAX),
        preferred_min_stream_count: 0,
    };
    let message = authorized(
        message,
        credentials,
        format!("read_session.table={}", percent_encode(&table_path)),
    )
    .await
    .map_err(|e| e.to_string())?;
    let session = tokio::time::timeout(request.timeout, client.create_read_session(message))
        .await
        .map_err(|_| {
            format!(
                "CreateReadSession got no answer within {:?}",
                request.timeout
            )
        })?
        .map_err(|status| {
            format!(
                "CreateReadSession failed ({:?}): {}",
                status.code(),
                status.message()
            )
        })?
        .into_inner();

    let streams: Vec<String> = session.streams.into_iter().map(|s| s.name).collect();
    let serialized = match session.schema {
        Some(bqs::read_session::Schema::ArrowSchema(schema)) => schema.serialized_schema,
        Some(bqs::read_session::Schema::AvroSchema(_)) => {
            return Err("the read session is in Avro, not Arrow".into())
        }
        None if streams.is_empty() => Vec::new(),
        None => return Err("the read session carries no schema".into()),
    };
    let (schema_message, columns) = if serialized.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let received = arrow::ipc::convert::try_schema_from_ipc_buffer(&serialized)
            .map_err(|e| format!("the read session's Arrow schema is unreadable: {e}"))?;
        let columns = conform::plan(&received, &expected)?;
        (schema_message(&serialized)?, columns)
    };
    Ok(Session {
        client,
        streams,
        shared: Arc::new(Shared {
            credentials: credentials.clone(),
            schema_message,
            expected,
            columns,
            label: label.to_string(),
            timeout: request.timeout,
        }),
    })
}

/// Start one reader task per stream, all sending to `batches`.
pub(super) fn spawn(
    session: Session,
    batches: &mpsc::Sender<Result<RecordBatch>>,
    readers: &mut JoinSet<()>,
) {
    for stream in session.streams {
        let client = session.client.clone();
        let shared = session.shared.clone();
        let batches = batches.clone();
        readers.spawn(async move {
            if let Err(e) = read_stream(client, &shared, &stream, &batches).await {
                let _ = batches.send(Err(e)).await;
            }
        });
    }
}

/// Read one stream to its end, resuming it where it broke.
async fn read_stream(
    mut client: ReadClient,
    shared: &Shared,
    stream: &str,
    batches: &mpsc::Sender<Result<RecordBatch>>,
) -> Result<()> {
    let fail = |what: String| {
        ConnectorError::Other(format!(
            "{SECTION}: {}: Storage Read stream {stream}: {what}",
            shared.label
        ))
    };
    let mut decoder = StreamDecoder::new();
    let mut primer = Buffer::from(shared.schema_message.clone());
    decoder
        .decode(&mut primer)
        .map_err(|e| fail(format!("the session's schema: {e}")))?;
    let mut offset: i64 = 0;
    let mut resumes = 0;
    'session: loop {
        let request = authorized(
            bqs::ReadRowsRequest {
                read_stream: stream.to_string(),
                offset,
            },
            &shared.credentials,
            format!("read_stream={}", percent_encode(stream)),
        )
        .await?;
        let mut responses = match client.read_rows(request).await {
            Ok(responses) => responses.into_inner(),
            Err(status) if resumable(&status) && resumes < RESUMES => {
                resumes += 1;
                tokio::time::sleep(Duration::from_secs(1 << resumes)).await;
                continue 'session;
            }
            Err(status) => {
                return Err(fail(format!(
                    "ReadRows failed ({:?}): {}",
                    status.code(),
                    status.message()
                )))
            }
        };
        loop {
            let next = tokio::time::timeout(shared.timeout, responses.message()).await;
            let Ok(next) = next else {
                return Err(fail(format!(
                    "ReadRows sent nothing for {} s at row {offset} (timeout_s)",
                    shared.timeout.as_secs()
                )));
            };
            let response = match next {
                Ok(Some(response)) => response,
                Ok(None) => return Ok(()),
                Err(status) if resumable(&status) && resumes < RESUMES => {
                    resumes += 1;
                    tracing::info!(
                        "{SECTION}: {}: stream {stream} broke at row {offset} ({}); resuming",
                        shared.label,
                        status.message()
                    );
                    tokio::time::sleep(Duration::from_secs(1 << resumes)).await;
                    continue 'session;
                }
                Err(status) => {
                    return Err(fail(format!(
                        "ReadRows failed at row {offset} ({:?}): {}",
                        status.code(),
                        status.message()
                    )))
                }
            };
            let serialized = match response.rows {
                Some(bqs::read_rows_response::Rows::ArrowRecordBatch(batch)) => {
                    batch.serialized_record_batch
                }
                Some(bqs::read_rows_response::Rows::AvroRows(_)) => {
                    return Err(fail("the stream sends Avro, not Arrow".into()))
                }
                None => continue,
            };
            let mut buffer = Buffer::from(serialized);
            let batch = decoder
                .decode(&mut buffer)
                .map_err(|e| fail(format!("undecodable record batch at row {offset}: {e}")))?
                .ok_or_else(|| fail(format!("an incomplete record batch at row {offset}")))?;
            offset += batch.num_rows() as i64;
            let batch = conform::batch(&batch, &shared.expected, &shared.columns)
                .map_err(|e| fail(format!("rows before {offset}: {e}")))?;
            if batches.send(Ok(batch)).await.is_err() {
                // The pipeline stopped reading: nothing more to do.
                return Ok(());
            }
        }
    }
}

/// A failure worth resuming the stream after.
fn resumable(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unavailable | tonic::Code::Internal
    )
}

/// `message` as a request with the routing header and, if any, the credentials.
async fn authorized<T>(
    message: T,
    credentials: &Credentials,
    routing: String,
) -> Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    let header = |e: tonic::metadata::errors::InvalidMetadataValue| {
        ConnectorError::Other(format!("{SECTION}: a gRPC header is not ASCII: {e}"))
    };
    request.metadata_mut().insert(
        "x-goog-request-params",
        AsciiMetadataValue::try_from(routing).map_err(header)?,
    );
    if let Some(bearer) = credentials.bearer().await? {
        request.metadata_mut().insert(
            "authorization",
            AsciiMetadataValue::try_from(bearer).map_err(header)?,
        );
    }
    Ok(request)
}

/// The first IPC message of `serialized` (the schema; an emulator may append an
/// end-of-stream marker, which must not reach the decoders).
fn schema_message(serialized: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let (header, length_at) = if serialized.starts_with(&[0xff; 4]) {
        (8, 4)
    } else {
        (4, 0)
    };
    let length = serialized
        .get(length_at..length_at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(i32::from_le_bytes)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or("the read session's Arrow schema is truncated")?;
    serialized
        .get(..header + length)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| "the read session's Arrow schema is truncated".to_string())
}

/// Percent-encoding of a routing-header value (unreserved characters kept).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::ipc::writer::StreamWriter;

    use super::*;

    /// A schema message and a batch message as separate buffers, the way the Storage Read API
    /// sends them (here cut out of one IPC stream).
    fn ipc_parts(batch: &RecordBatch) -> (Vec<u8>, Vec<u8>) {
        let mut stream = Vec::new();
        {
            let mut writer = StreamWriter::try_new(&mut stream, &batch.schema()).unwrap();
            writer.write(batch).unwrap();
            writer.finish().unwrap();
        }
        let schema_len = schema_message(&stream).unwrap().len();
        // What is left: the batch message, then the 8-byte end-of-stream marker.
        let batch_message = stream[schema_len..stream.len() - 8].to_vec();
        (stream, batch_message)
    }

    #[test]
    fn a_primed_decoder_reads_bare_batch_messages() {
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
            (
                "s",
                Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef,
            ),
        ])
        .unwrap();
        // The whole stream (schema + batch + end marker) stands for what an emulator sends as
        // its "schema": only the schema message must be kept.
        let (whole_stream, batch_message) = ipc_parts(&batch);
        let schema = arrow::ipc::convert::try_schema_from_ipc_buffer(&whole_stream).unwrap();
        assert_eq!(&schema, batch.schema().as_ref());
        let primer = schema_message(&whole_stream).unwrap();
        let mut decoder = StreamDecoder::new();
        assert!(decoder.decode(&mut Buffer::from(primer)).unwrap().is_none());
        for _ in 0..2 {
            let decoded = decoder
                .decode(&mut Buffer::from(batch_message.clone()))
                .unwrap()
                .unwrap();
            assert_eq!(decoded, batch);
        }
        let expected = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
        let columns = conform::plan(&schema, &expected).unwrap();
        assert_eq!(columns, [1]);
    }

    #[test]
    fn routing_values_are_percent_encoded() {
        assert_eq!(
            percent_encode("projects/p-1/datasets/d_2/tables/t.3"),
            "projects%2Fp-1%2Fdatasets%2Fd_2%2Ftables%2Ft.3"
        );
        assert_eq!(
            schema_message(&[0xff, 0xff, 0xff, 0xff, 1]),
            Err("the read session's Arrow schema is truncated".into())
        );
    }
}
