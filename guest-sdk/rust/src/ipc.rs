//! The Arrow IPC stream codec used at the boundary with the host.
//!
//! Every `transform` call receives one IPC *stream* (a schema message, then zero or more
//! record batches, optionally dictionary batches; LZ4 body compression is accepted with the
//! default `lz4` feature) and returns one uncompressed IPC stream. These helpers are what
//! [`Transform::transform_ipc`] uses; they are public for transforms that work on bytes and
//! for native unit tests.

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::SchemaRef;

use crate::{Error, Transform};

/// Reads the record batches of one IPC stream, one at a time, without copying the input.
pub struct BatchReader {
    schema: Option<SchemaRef>,
    batches: std::vec::IntoIter<RecordBatch>,
    error: Option<Error>,
}

impl BatchReader {
    /// A reader over the bytes of one IPC stream (as the host sends them).
    pub fn new(input: Vec<u8>) -> Self {
        Self::from_buffer(Buffer::from_vec(input))
    }

    fn from_buffer(input: Buffer) -> Self {
        // SAFETY: the input comes from the fastlane host, which encodes it from record batches
        // it has already validated (its own sources, or guest output it checked on the way
        // out). Validating it again would re-scan every string in slow, SIMD-less wasm on
        // every batch for nothing.
        match unsafe { fastlane_ipc::decode_trusted_buffer(input) } {
            Ok((schema, batches)) => BatchReader {
                schema,
                batches: batches.into_iter(),
                error: None,
            },
            Err(e) => BatchReader {
                schema: None,
                batches: Vec::new().into_iter(),
                error: Some(bad_input(e)),
            },
        }
    }

    /// The next batch, or `None` at the end of the stream.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>, Error> {
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(self.batches.next()),
        }
    }

    /// The stream's schema.
    pub fn schema(&self) -> Result<SchemaRef, Error> {
        self.schema
            .clone()
            .ok_or_else(|| Error::InvalidInput("IPC stream has no schema message".into()))
    }
}

fn bad_input(e: arrow_schema::ArrowError) -> Error {
    Error::InvalidInput(format!("cannot read the Arrow IPC input: {e}"))
}

/// Decodes a whole IPC stream into its schema and batches.
pub fn decode(input: Vec<u8>) -> Result<(SchemaRef, Vec<RecordBatch>), Error> {
    let mut reader = BatchReader::new(input);
    let mut batches = Vec::new();
    while let Some(batch) = reader.next_batch()? {
        batches.push(batch);
    }
    Ok((reader.schema()?, batches))
}

/// Encodes `batches` (all of schema `schema`) as one uncompressed IPC stream.
pub fn encode(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>, Error> {
    let capacity = batches
        .iter()
        .map(|b| b.get_array_memory_size())
        .sum::<usize>()
        + 1024;
    let mut writer = OutputStream::with_capacity(capacity);
    writer.start(schema)?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.finish()
}

/// Writes the batches a transform returns for one call into one IPC stream.
///
/// Zero-row batches are skipped, except that a stream with no rows at all still carries the
/// schema and one empty batch, so a host reading "the batch" of a call always finds one.
struct OutputStream {
    writer: Option<(StreamWriter<Vec<u8>>, SchemaRef)>,
    capacity: usize,
    batches_written: usize,
    empty: Option<RecordBatch>,
}

impl OutputStream {
    fn with_capacity(capacity: usize) -> Self {
        OutputStream {
            writer: None,
            capacity,
            batches_written: 0,
            empty: None,
        }
    }

    fn start(&mut self, schema: &SchemaRef) -> Result<(), Error> {
        if self.writer.is_none() {
            let sink = Vec::with_capacity(self.capacity);
            let writer = StreamWriter::try_new(sink, schema).map_err(cannot_encode)?;
            self.writer = Some((writer, schema.clone()));
        }
        Ok(())
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        self.start(batch.schema_ref())?;
        let Some((writer, schema)) = self.writer.as_mut() else {
            return Err(Error::Failed("IPC writer missing".into()));
        };
        if !SchemaRef::ptr_eq(schema, batch.schema_ref()) && **schema != **batch.schema_ref() {
            return Err(Error::Failed(format!(
                "the transform returned batches with different schemas in one call: {schema:?} then {:?}",
                batch.schema_ref()
            )));
        }
        if batch.num_rows() == 0 {
            self.empty.get_or_insert_with(|| batch.clone());
            return Ok(());
        }
        writer.write(batch).map_err(cannot_encode)?;
        self.batches_written += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<u8>, Error> {
        let Some((mut writer, _)) = self.writer.take() else {
            return Ok(Vec::new());
        };
        if self.batches_written == 0 {
            if let Some(empty) = self.empty.take() {
                writer.write(&empty).map_err(cannot_encode)?;
            }
        }
        writer.finish().map_err(cannot_encode)?;
        writer.into_inner().map_err(cannot_encode)
    }
}

fn cannot_encode(e: arrow_schema::ArrowError) -> Error {
    Error::Failed(format!("cannot write the Arrow IPC output: {e}"))
}

/// The default [`Transform::transform_ipc`]: decodes `input`, calls
/// [`Transform::transform`] on each batch in order and encodes every output into one stream.
///
/// An empty `input` gives an empty output. A stream holding a schema but no batch is
/// transformed as one empty batch of that schema, so the output still carries the output
/// schema.
///
/// When the input is one batch and the transform returns it unchanged (the same arrays: a
/// passthrough, a filter keeping every row), the input bytes are returned as they came: the
/// output is the same stream, and encoding it again would copy every byte for nothing.
pub fn transform_stream<T: Transform>(transform: &mut T, input: Vec<u8>) -> Result<Vec<u8>, Error> {
    if input.is_empty() {
        return Ok(Vec::new());
    }
    let input = Buffer::from_vec(input);
    // The output is usually about as large as the input.
    let mut output = OutputStream::with_capacity(input.len());
    let mut reader = BatchReader::from_buffer(input.clone());
    let mut batches_read = 0usize;
    while let Some(batch) = reader.next_batch()? {
        batches_read += 1;
        let transformed = transform.transform(batch.clone())?;
        if batches_read == 1 && reader.batches.len() == 0 && unchanged(&batch, &transformed) {
            // Every array pointing into `input` is dropped here, so the bytes are ours again.
            drop((batch, transformed, reader));
            return match input.into_vec::<u8>() {
                Ok(bytes) => Ok(bytes),
                Err(input) => reencode(input),
            };
        }
        output.write(&transformed)?;
    }
    if batches_read == 0 {
        let empty = RecordBatch::new_empty(reader.schema()?);
        output.write(&transform.transform(empty)?)?;
    }
    output.finish()
}

/// The returned batch is the input batch: same schema, and every column the same arrays.
fn unchanged(input: &RecordBatch, output: &RecordBatch) -> bool {
    let same_schema = SchemaRef::ptr_eq(input.schema_ref(), output.schema_ref())
        || input.schema() == output.schema();
    same_schema
        && input.num_rows() == output.num_rows()
        && input
            .columns()
            .iter()
            .zip(output.columns())
            .all(|(a, b)| a.to_data().ptr_eq(&b.to_data()))
}

/// The stream in `input` encoded again: only when its bytes cannot be taken back (not expected:
/// the decoded arrays were their only other owners).
fn reencode(input: Buffer) -> Result<Vec<u8>, Error> {
    let mut reader = BatchReader::from_buffer(input);
    let schema = reader.schema()?;
    let mut output = OutputStream::with_capacity(0);
    output.start(&schema)?;
    while let Some(batch) = reader.next_batch()? {
        output.write(&batch)?;
    }
    output.finish()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;
    use crate::Info;

    fn batch(values: &[i64]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(values.to_vec()))]).unwrap()
    }

    /// Keeps even values, renamed as strings: changes the schema and drops rows.
    struct Evens;

    impl Transform for Evens {
        fn describe() -> Info {
            Info::new("evens", "0", "")
        }
        fn init(_: &str) -> Result<Self, Error> {
            Ok(Evens)
        }
        fn transform(&mut self, batch: RecordBatch) -> Result<RecordBatch, Error> {
            let v = batch
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            let out: StringArray = v
                .iter()
                .flatten()
                .filter(|x| x % 2 == 0)
                .map(|x| Some(x.to_string()))
                .collect();
            let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
            Ok(RecordBatch::try_new(schema, vec![Arc::new(out)])?)
        }
    }

    #[test]
    fn round_trip() {
        let b = batch(&[1, 2, 3]);
        let bytes = encode(b.schema_ref(), &[b.clone(), b.clone()]).unwrap();
        let (schema, batches) = decode(bytes).unwrap();
        assert_eq!(schema, b.schema());
        assert_eq!(batches, vec![b.clone(), b]);
    }

    #[test]
    fn several_batches_in_one_stream_out() {
        let input = encode(
            &batch(&[]).schema(),
            &[batch(&[1, 2]), batch(&[3]), batch(&[4])],
        )
        .unwrap();
        let out = transform_stream(&mut Evens, input).unwrap();
        let (schema, batches) = decode(out).unwrap();
        assert_eq!(schema.field(0).name(), "s");
        let rows: Vec<usize> = batches.iter().map(|b| b.num_rows()).collect();
        assert_eq!(rows, vec![1, 1]);
    }

    #[test]
    fn zero_rows_out_keeps_the_schema() {
        let input = encode(&batch(&[]).schema(), &[batch(&[1, 3])]).unwrap();
        let (schema, batches) = decode(transform_stream(&mut Evens, input).unwrap()).unwrap();
        assert_eq!(schema.field(0).name(), "s");
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].num_rows(), 0);
    }

    /// Returns its input; `Keep` optionally re-slices it (new arrays over the same buffers).
    struct Keep(bool);

    impl Transform for Keep {
        fn describe() -> Info {
            Info::new("keep", "0", "")
        }
        fn init(_: &str) -> Result<Self, Error> {
            Ok(Keep(false))
        }
        fn transform(&mut self, batch: RecordBatch) -> Result<RecordBatch, Error> {
            Ok(if self.0 {
                batch.slice(0, batch.num_rows())
            } else {
                batch
            })
        }
    }

    #[test]
    fn an_unchanged_batch_returns_the_input_bytes() {
        let input = encode(&batch(&[]).schema(), &[batch(&[1, 2, 3])]).unwrap();
        for reslice in [false, true] {
            let out = transform_stream(&mut Keep(reslice), input.clone()).unwrap();
            assert_eq!(out, input, "reslice {reslice}");
        }
        // Several batches in one stream go through the encoder, and still round-trip.
        let two = encode(&batch(&[]).schema(), &[batch(&[1]), batch(&[2])]).unwrap();
        let (_, batches) = decode(transform_stream(&mut Keep(false), two).unwrap()).unwrap();
        assert_eq!(batches, vec![batch(&[1]), batch(&[2])]);
        // A changed batch is encoded.
        let out = transform_stream(&mut Evens, input.clone()).unwrap();
        assert_ne!(out, input);
    }

    #[test]
    fn schema_only_input_gives_the_output_schema() {
        let input = encode(&batch(&[]).schema(), &[]).unwrap();
        let (schema, _) = decode(transform_stream(&mut Evens, input).unwrap()).unwrap();
        assert_eq!(schema.field(0).name(), "s");
    }

    #[test]
    fn garbage_is_invalid_input() {
        let err = transform_stream(&mut Evens, b"this is not arrow ipc".to_vec()).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    }
}
