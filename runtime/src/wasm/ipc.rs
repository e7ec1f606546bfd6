//! The Arrow IPC codec between the host and a guest: one stream (schema + batch) each way.
//!
//! Decoding a guest's output is on the hot path of every wasm transform, so it is zero-copy: the
//! arrays point into the bytes the guest returned. arrow's own validation of those arrays is
//! replaced by [`validate_batch`](super::validate::validate_batch), which is equivalent but checks
//! UTF-8 with SIMD. (arrow-ipc 60's `StreamDecoder` cannot skip validation for record batches,
//! hence the small message loop here.)

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::buffer::Buffer;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::ipc::reader::{RecordBatchDecoder, StreamReader};
use arrow::ipc::writer::StreamWriter;
use arrow::ipc::MessageHeader;

use super::validate::validate_batch;

/// Encode `batch` as an IPC stream into `out` (cleared first; its allocation is reused).
pub(crate) fn encode_into(batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), ArrowError> {
    out.clear();
    let mut writer = StreamWriter::try_new(&mut *out, &batch.schema())?;
    writer.write(batch)?;
    writer.finish()
}

/// Decode and fully validate an untrusted IPC stream. Returns the schema (`None` for a stream
/// without one) and the batches.
pub(crate) fn decode_untrusted(
    bytes: Vec<u8>,
) -> Result<(Option<SchemaRef>, Vec<RecordBatch>), ArrowError> {
    let buffer = Buffer::from_vec(bytes);
    let mut at = 0usize;
    let mut schema: Option<SchemaRef> = None;
    let mut batches = Vec::with_capacity(1);
    let no_dictionaries: HashMap<i64, ArrayRef> = HashMap::new();
    // SAFETY (of the flag): every batch decoded with it is passed to `validate_batch`, arrow's
    // full validation with a faster UTF-8 check, before it is returned or read.
    let mut skip = arrow_data::UnsafeFlag::new();
    unsafe { skip.set(true) };
    while let Some((metadata, body)) = next_message(&buffer, &mut at)? {
        let message = arrow::ipc::root_as_message(&buffer.as_slice()[metadata.clone()])
            .map_err(|e| ArrowError::IpcError(format!("invalid message header: {e}")))?;
        match message.header_type() {
            MessageHeader::Schema => {
                let fb = message
                    .header_as_schema()
                    .ok_or_else(|| ArrowError::IpcError("empty schema message".into()))?;
                schema = Some(Arc::new(arrow::ipc::convert::try_fb_to_schema(fb)?));
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
                validate_batch(&batch)?;
                batches.push(batch);
            }
            // Dictionary-encoded output is rare: take arrow's own (validating) reader for it.
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

/// Byte ranges of one IPC message in the stream: its flatbuffer metadata and its body.
type MessageRanges = (std::ops::Range<usize>, std::ops::Range<usize>);

/// The next message's metadata and body ranges; `None` at the end-of-stream marker or the end.
fn next_message(buffer: &Buffer, at: &mut usize) -> Result<Option<MessageRanges>, ArrowError> {
    let bytes = buffer.as_slice();
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
    let metadata = *at..at
        .checked_add(length as usize)
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| {
            ArrowError::IpcError(format!(
                "message length {length} runs past the end of the stream"
            ))
        })?;
    let message = arrow::ipc::root_as_message(&bytes[metadata.clone()])
        .map_err(|e| ArrowError::IpcError(format!("invalid message header: {e}")))?;
    let body_length = usize::try_from(message.bodyLength())
        .map_err(|_| ArrowError::IpcError("negative body length".into()))?;
    let body = metadata.end
        ..metadata
            .end
            .checked_add(body_length)
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| {
                ArrowError::IpcError(format!(
                    "message body of {body_length} bytes runs past the end of the stream"
                ))
            })?;
    *at = body.end;
    Ok(Some((metadata, body)))
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
    use arrow::array::{Array, DictionaryArray, Int32Array, StringArray};
    use arrow::datatypes::{DataType, Field, Int8Type, Schema};

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
    fn round_trips_a_batch() {
        let mut bytes = Vec::new();
        encode_into(&batch(), &mut bytes).unwrap();
        let (schema, batches) = decode_untrusted(bytes).unwrap();
        assert_eq!(schema.unwrap(), batch().schema());
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
