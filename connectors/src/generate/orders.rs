//! The synthetic `orders` table: its schema and the rows of any id range.
//!
//! Every value of row `id` is derived from a hash of `(seed, id)`, so a batch depends only on
//! the seed and its id range: batches can be built independently (and in any order) and the
//! same seed always yields the same rows, whatever the batch size. Columns are written straight
//! into Arrow buffers: no per-row allocation, no `format!`.

use std::sync::{Arc, OnceLock};

use arrow::array::builder::BooleanBufferBuilder;
use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
    StringArray, TimestampMicrosecondArray,
};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

const FIRST_NAMES: [&str; 16] = [
    "Alice",
    "Bob",
    "Chloé",
    "David",
    "Emma",
    "François",
    "Grace",
    "Hiroshi",
    "Ingrid",
    "José",
    "Kateřina",
    "Liam",
    "Mia",
    "Noah",
    "Zoë",
    "Jo😀",
];
const LAST_NAMES: [&str; 16] = [
    "Smith",
    "Müller",
    "García",
    "Nguyễn",
    "O'Brien",
    "Kowalski",
    "Øvergaard",
    "Rossi",
    "Dubois",
    "Silva",
    "Tanaka",
    "Ivanova",
    "Schäfer",
    "Johnson",
    "Łukasiewicz",
    "Brown",
];
const COUNTRIES: [&str; 16] = [
    "US", "DE", "FR", "GB", "ES", "IT", "NL", "PL", "SE", "NO", "JP", "BR", "CA", "AU", "IN", "VN",
];
const NOTES: [&str; 8] = [
    "Leave at the door",
    "Call before delivery",
    "Gift — please wrap",
    "Fragile",
    "Deliver after 6pm",
    "Use the side entrance",
    "Contains batteries",
    "Second attempt",
];

/// 2024-01-01T00:00:00Z in microseconds since the epoch.
const FIRST_ORDER_AT_US: i64 = 1_704_067_200_000_000;
/// Orders arrive every ~3 s on average.
const ORDER_SPACING_US: u64 = 3_000_000;
const DAY_US: i64 = 86_400_000_000;

/// Schema of the `orders` table (`id` is the ascending natural key).
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("id", DataType::Int64, false),
                Field::new("customer_id", DataType::Int32, false),
                Field::new("email", DataType::Utf8, false),
                Field::new("name", DataType::Utf8, false),
                Field::new("country", DataType::Utf8, true),
                Field::new("amount", DataType::Decimal128(12, 2), false),
                Field::new("quantity", DataType::Int32, false),
                Field::new("unit_price", DataType::Float64, false),
                Field::new("paid", DataType::Boolean, false),
                Field::new(
                    "created_at",
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    false,
                ),
                Field::new("ship_date", DataType::Date32, true),
                Field::new("note", DataType::Utf8, true),
            ]))
        })
        .clone()
}

/// The rows with ids `first_id .. first_id + len`, for `seed`.
pub fn batch(seed: u64, first_id: u64, len: usize) -> RecordBatch {
    let key = mix(seed);
    let mut ids = Vec::with_capacity(len);
    let mut customers = Vec::with_capacity(len);
    let mut emails = Utf8Column::with_capacity(len, 24);
    let mut names = Utf8Column::with_capacity(len, 14);
    let mut countries = Utf8Column::with_capacity(len, 2);
    let mut country_valid = BooleanBufferBuilder::new(len);
    let mut amounts = Vec::with_capacity(len);
    let mut quantities = Vec::with_capacity(len);
    let mut prices = Vec::with_capacity(len);
    let mut paid = BooleanBufferBuilder::new(len);
    let mut created = Vec::with_capacity(len);
    let mut ship_dates = Vec::with_capacity(len);
    let mut ship_valid = BooleanBufferBuilder::new(len);
    let mut notes = Utf8Column::with_capacity(len, 12);
    let mut note_valid = BooleanBufferBuilder::new(len);

    for id in first_id..first_id + len as u64 {
        // Three independent 64-bit draws per row, split into 32-bit picks.
        let h1 = mix(key ^ id);
        let h2 = mix(h1);
        let h3 = mix(h2);
        let (a, b, c, d, e, f) = (
            h1 as u32,
            (h1 >> 32) as u32,
            h2 as u32,
            (h2 >> 32) as u32,
            h3 as u32,
            (h3 >> 32) as u32,
        );

        ids.push(id as i64);
        let customer = 1 + pick(a, 100_000);
        customers.push(customer as i32);

        emails.push_parts(&["user"]);
        emails.push_u32(customer);
        emails.finish_with("@example.com");

        names.push_parts(&[FIRST_NAMES[pick(b, 16) as usize], " "]);
        names.finish_with(LAST_NAMES[(b & 15) as usize]);

        // ~2% of orders have no country.
        let has_country = pick(c, 50) != 0;
        country_valid.append(has_country);
        countries.finish_with(if has_country {
            COUNTRIES[(c & 15) as usize]
        } else {
            ""
        });

        let quantity = 1 + pick(d, 10);
        let cents = 99 + pick(e, 100_000);
        quantities.push(quantity as i32);
        prices.push(f64::from(cents) / 100.0);
        amounts.push(i128::from(quantity) * i128::from(cents));

        // ~80% paid.
        paid.append(f < 3_435_973_837);

        let offset = id
            .wrapping_mul(ORDER_SPACING_US)
            .wrapping_add(u64::from(pick(f.rotate_left(16), 3_000_000)));
        let at = FIRST_ORDER_AT_US.wrapping_add(offset as i64);
        created.push(at);
        // Shipped 1–7 days after the order; ~10% not shipped yet.
        ship_valid.append(pick(d.rotate_left(16), 10) != 0);
        ship_dates.push((at / DAY_US) as i32 + 1 + pick(e.rotate_left(16), 7) as i32);

        // ~30% without a note.
        let has_note = pick(b.rotate_left(16), 10) >= 3;
        note_valid.append(has_note);
        notes.finish_with(if has_note {
            NOTES[(c >> 16) as usize & 7]
        } else {
            ""
        });
    }

    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids)),
        Arc::new(Int32Array::from(customers)),
        Arc::new(emails.finish(None)),
        Arc::new(names.finish(None)),
        Arc::new(countries.finish(Some(country_valid))),
        Arc::new(
            Decimal128Array::from(amounts)
                .with_precision_and_scale(12, 2)
                .expect("12,2 is a valid decimal precision and scale"),
        ),
        Arc::new(Int32Array::from(quantities)),
        Arc::new(Float64Array::from(prices)),
        Arc::new(BooleanArray::new(paid.finish(), None)),
        Arc::new(TimestampMicrosecondArray::from(created).with_timezone("UTC")),
        Arc::new(Date32Array::new(
            ScalarBuffer::from(ship_dates),
            Some(NullBuffer::new(ship_valid.finish())),
        )),
        Arc::new(notes.finish(Some(note_valid))),
    ];
    RecordBatch::try_new(schema(), columns).expect("columns are built to match the orders schema")
}

/// A Utf8 column written directly into its offsets and bytes.
struct Utf8Column {
    offsets: Vec<i32>,
    bytes: Vec<u8>,
}

impl Utf8Column {
    fn with_capacity(rows: usize, bytes_per_row: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Self {
            offsets,
            bytes: Vec::with_capacity(rows * bytes_per_row),
        }
    }

    /// Append to the current value.
    fn push_parts(&mut self, parts: &[&str]) {
        for part in parts {
            self.bytes.extend_from_slice(part.as_bytes());
        }
    }

    /// Append `n` in decimal to the current value.
    fn push_u32(&mut self, mut n: u32) {
        let mut digits = [0u8; 10];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.bytes.extend_from_slice(&digits[i..]);
    }

    /// Append `last` and end the current value.
    fn finish_with(&mut self, last: &str) {
        self.bytes.extend_from_slice(last.as_bytes());
        let end = i32::try_from(self.bytes.len())
            .expect("a generated batch stays far below 2 GiB of text");
        self.offsets.push(end);
    }

    fn finish(self, valid: Option<BooleanBufferBuilder>) -> StringArray {
        let nulls = valid.map(|mut v| NullBuffer::new(v.finish()));
        StringArray::new(
            OffsetBuffer::new(ScalarBuffer::from(self.offsets)),
            Buffer::from_vec(self.bytes),
            nulls,
        )
    }
}

/// splitmix64's finalizer: a fast, well-mixed 64-bit hash.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A value in `0..n` from 32 random bits (multiply-shift, no division).
fn pick(bits: u32, n: u32) -> u32 {
    ((u64::from(bits) * u64::from(n)) >> 32) as u32
}
