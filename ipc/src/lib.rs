//! The Arrow IPC codec at the boundary between the fastlane host and a transform: one stream
//! (schema + batches) each way.
//!
//! Decoding is zero-copy (the arrays point into the received bytes) on both sides:
//! - the host decodes a guest's output with [`decode_untrusted`]: fully validated, as arrow's own
//!   validation would, but with SIMD UTF-8 checks ([`validate_batch`]);
//! - a guest decodes the host's input with [`decode_trusted`]: the host only sends batches it has
//!   validated, so checking them again in (SIMD-less) wasm would be pure cost.
//!
//! (arrow-ipc 60's `StreamDecoder` cannot skip validation for record batches, hence the small
//! message loop here.)

mod validate;

pub use validate::validate_batch;

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_buffer::Buffer;
use arrow_data::UnsafeFlag;
use arrow_ipc::reader::{RecordBatchDecoder, StreamReader};
use arrow_ipc::writer::StreamWriter;
use arrow_ipc::MessageHeader;
use arrow_schema::{ArrowError, SchemaRef};

/// A decoded stream: its schema (`None` for an empty stream) and its batches.
pub type Decoded = (Option<SchemaRef>, Vec<RecordBatch>);

/// Encode `batch` as an IPC stream into `out` (cleared first; its allocation is reused).
pub fn encode_into(batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), ArrowError> {
    out.clear();
    encode_to(batch, &mut *out)
}

/// Encode `batch` as an IPC stream (schema, the batch, end-of-stream) to `out`.
pub fn encode_to(batch: &RecordBatch, out: impl Write) -> Result<(), ArrowError> {
    let mut writer = StreamWriter::try_new(out, &batch.schema())?;
    writer.write(batch)?;
    writer.finish()
}

/// The length of the stream [`encode_to`] writes for `batch`, found by encoding it to a counter:
/// the Arrow buffers are measured, not copied.
pub fn encoded_len(batch: &RecordBatch) -> Result<usize, ArrowError> {
    struct Counter(usize);
    impl Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    encode_to(batch, &mut counter)?;
    Ok(counter.0)
}

/// Decode an untrusted IPC stream (a guest's output) without copying, validating every batch
/// as arrow's full validation would: bad offsets or invalid UTF-8 are an error, never UB.
pub fn decode_untrusted(bytes: Vec<u8>) -> Result<Decoded, ArrowError> {
    decode_untrusted_buffer(Buffer::from_vec(bytes))
}

/// [`decode_untrusted`] from bytes already held in a [`Buffer`] (the arrays share it).
pub fn decode_untrusted_buffer(bytes: Buffer) -> Result<Decoded, ArrowError> {
    // SAFETY: `decode` validates every batch itself when `validate` is true.
    unsafe { decode(bytes, true) }
}

/// Decode an IPC stream without copying and without validating it.
///
/// # Safety
/// The stream must have been encoded from valid record batches (the host's input to a guest);
/// invalid data read this way is undefined behaviour when the arrays are accessed.
pub unsafe fn decode_trusted(bytes: Vec<u8>) -> Result<Decoded, ArrowError> {
    unsafe { decode(Buffer::from_vec(bytes), false) }
}

/// [`decode_trusted`] from bytes already held in a [`Buffer`]: the arrays share its allocation,
/// so once they are dropped a caller holding a clone can take the bytes back
/// ([`Buffer::into_vec`]).
///
/// # Safety
/// As [`decode_trusted`].
pub unsafe fn decode_trusted_buffer(bytes: Buffer) -> Result<Decoded, ArrowError> {
    unsafe { decode(bytes, false) }
}

/// # Safety
/// With `validate` false, as [`decode_trusted`].
unsafe fn decode(buffer: Buffer, validate: bool) -> Result<Decoded, ArrowError> {
    let mut at = 0usize;
    let mut schema: Option<SchemaRef> = None;
    let mut batches = Vec::with_capacity(1);
    let no_dictionaries: HashMap<i64, ArrayRef> = HashMap::new();
    let mut skip = UnsafeFlag::new();
    // SAFETY: batches decoded with the flag are validated below, or the caller vouches for them.
    unsafe { skip.set(true) };
    while let Some((message, body)) = next_message(buffer.as_slice(), &mut at)? {
        match message.header_type() {
            MessageHeader::Schema => {
                let fb = message
                    .header_as_schema()
                    .ok_or_else(|| ArrowError::IpcError("empty schema message".into()))?;
                schema = Some(Arc::new(arrow_ipc::convert::try_fb_to_schema(fb)?));
            }
            MessageHeader::RecordBatch => {
                let fb = message
                    .header_as_record_batch()
                    .ok_or_else(|| ArrowError::IpcError("empty record batch message".into()))?;
                let schema = schema
                    .clone()
                    .ok_or_else(|| ArrowError::IpcError("record batch before the schema".into()))?;
                let version = message.version();
                let body = buffer.slice_with_length(body.start, body.len());
                let batch =
                    RecordBatchDecoder::try_new(&body, fb, schema, &no_dictionaries, &version)?
                        .with_skip_validation(skip.clone())
                        .read_record_batch()?;
                if validate {
                    validate_batch(&batch)?;
                }
                batches.push(batch);
            }
            // Dictionary-encoded streams are rare here: arrow's own (validating) reader takes them.
            MessageHeader::DictionaryBatch => return decode_with_dictionaries(buffer),
            other => {
                return Err(ArrowError::IpcError(format!(
                    "unexpected IPC message {other:?}"
                )))
            }
        }
    }
    Ok((schema, batches))
}

/// The next message (its parsed header and the byte range of its body); `None` at the
/// end-of-stream marker or the end of the bytes.
fn next_message<'a>(
    bytes: &'a [u8],
    at: &mut usize,
) -> Result<Option<(arrow_ipc::Message<'a>, std::ops::Range<usize>)>, ArrowError> {
    let read_u32 = |pos: usize| -> Result<u32, ArrowError> {
        let word = bytes
            .get(pos..pos + 4)
            .ok_or_else(|| ArrowError::IpcError("truncated message length".into()))?;
        Ok(u32::from_le_bytes([word[0], word[1], word[2], word[3]]))
    };
    if *at >= bytes.len() {
        return Ok(None);
    }
    let mut length = read_u32(*at)?;
    *at += 4;
    if length == 0xFFFF_FFFF {
        length = read_u32(*at)?;
        *at += 4;
    }
    if length == 0 {
        return Ok(None);
    }
    let past_end =
        |what: String| ArrowError::IpcError(format!("{what} runs past the end of the stream"));
    let metadata_end = at
        .checked_add(length as usize)
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| past_end(format!("message length {length}")))?;
    let message = arrow_ipc::root_as_message(&bytes[*at..metadata_end])
        .map_err(|e| ArrowError::IpcError(format!("invalid message header: {e}")))?;
    let body_length = usize::try_from(message.bodyLength())
        .map_err(|_| ArrowError::IpcError("negative body length".into()))?;
    let body_end = metadata_end
        .checked_add(body_length)
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| past_end(format!("message body of {body_length} bytes")))?;
    *at = body_end;
    Ok(Some((message, metadata_end..body_end)))
}

fn decode_with_dictionaries(
    buffer: Buffer,
) -> Result<(Option<SchemaRef>, Vec<RecordBatch>), ArrowError> {
    let reader = StreamReader::try_new(buffer.as_slice(), None)?;
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    Ok((Some(schema), batches))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::types::Int8Type;
    use arrow_array::{Array, DictionaryArray, Int32Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    fn batch() -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int32, false),
            Field::new("name", DataType::Utf8, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int32Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("a"), None, Some("😀")])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn encoded_len_is_what_encoding_writes() {
        let mut bytes = Vec::new();
        encode_into(&batch(), &mut bytes).unwrap();
        assert_eq!(encoded_len(&batch()).unwrap(), bytes.len());
        let sliced = batch().slice(1, 1);
        encode_into(&sliced, &mut bytes).unwrap();
        assert_eq!(encoded_len(&sliced).unwrap(), bytes.len());
    }

    #[test]
    fn round_trips_a_batch() {
        let mut bytes = Vec::new();
        encode_into(&batch(), &mut bytes).unwrap();
        let (schema, batches) = decode_untrusted(bytes).unwrap();
        assert_eq!(schema.unwrap(), batch().schema());
        assert_eq!(batches, vec![batch()]);
    }

    #[test]
    fn trusted_decoding_round_trips_too() {
        let mut bytes = Vec::new();
        encode_into(&batch(), &mut bytes).unwrap();
        // SAFETY: encoded just above from a valid batch.
        let (_, batches) = unsafe { decode_trusted(bytes) }.unwrap();
        assert_eq!(batches, vec![batch()]);
    }

    #[test]
    fn reads_dictionary_streams() {
        let dict: DictionaryArray<Int8Type> = vec!["x", "y", "x"].into_iter().collect();
        let schema = Schema::new(vec![Field::new("d", dict.data_type().clone(), false)]);
        let batch = RecordBatch::try_new(Arc::new(schema), vec![Arc::new(dict)]).unwrap();
        let mut bytes = Vec::new();
        encode_into(&batch, &mut bytes).unwrap();
        assert_eq!(decode_untrusted(bytes).unwrap().1, vec![batch]);
    }

    #[test]
    fn refuses_garbage_truncation_and_bad_utf8() {
        assert!(decode_untrusted(b"this is not arrow ipc".to_vec()).is_err());
        let mut bytes = Vec::new();
        encode_into(&batch(), &mut bytes).unwrap();
        assert!(decode_untrusted(bytes[..bytes.len() - 20].to_vec()).is_err());
        // Corrupt the 4-byte emoji in the string values: the stream parses, the data is invalid.
        let at = bytes.windows(4).position(|w| w == "😀".as_bytes()).unwrap();
        bytes[at + 1] = 0xff;
        let err = decode_untrusted(bytes).unwrap_err().to_string();
        assert!(err.contains("UTF-8"), "{err}");
    }
}
