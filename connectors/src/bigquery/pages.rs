//! The page reader: result pages fetched a page ahead of the pipeline and decoded off the async
//! workers, one batch per page, checked against the row count the server announced.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use tokio::sync::mpsc;

use super::config::{TableRef, SECTION};
use super::rest::{page_failure, parse_page, JobRef, Page, Rest};
use super::rows::PageDecoder;
use crate::{ConnectorError, Result};

/// What the page reader reads.
pub(super) enum Pages {
    /// tabledata.list of a table (`selected`: the selectedFields parameter).
    Table {
        table: TableRef,
        selected: Option<String>,
    },
    /// getQueryResults of a finished job, starting with the page jobs.query returned.
    Query { job: JobRef, first: Option<Page> },
}

/// A page fetched but not yet decoded.
enum Fetched {
    Parsed(Page),
    Raw(Vec<u8>),
}

/// Read every page into `batches` (one batch per page, columns reordered by `order`), a page
/// ahead of the pipeline; an error is delivered as the last item.
pub(super) async fn read(
    rest: Arc<Rest>,
    pages: Pages,
    decoder: PageDecoder,
    order: Option<Vec<usize>>,
    label: String,
    batches: mpsc::Sender<Result<RecordBatch>>,
) {
    if let Err(e) = read_pages(&rest, pages, decoder, order.as_deref(), &label, &batches).await {
        let _ = batches.send(Err(e)).await;
    }
}

async fn read_pages(
    rest: &Rest,
    mut pages: Pages,
    decoder: PageDecoder,
    order: Option<&[usize]>,
    label: &str,
    batches: &mpsc::Sender<Result<RecordBatch>>,
) -> Result<()> {
    let mut decoder = Some(decoder);
    let mut token: Option<String> = None;
    let mut first_row = 0u64;
    let mut page_no = 0u64;
    // The row count the first page announces: paging that ends short of it is an error, not
    // a smaller table.
    let mut expected: Option<u64> = None;
    loop {
        let fetched = match &mut pages {
            Pages::Query { job, first } => match first.take() {
                Some(page) => Fetched::Parsed(page),
                None => Fetched::Raw(rest.query_page(job, token.as_deref()).await?),
            },
            Pages::Table { table, selected } => Fetched::Raw(
                rest.table_page(table, selected.as_deref(), token.as_deref())
                    .await?,
            ),
        };
        // JSON parsing and decoding are CPU work: off the async workers.
        let mut current = decoder.take().ok_or_else(|| {
            ConnectorError::Other(format!("{SECTION}: {label}: the page decoder was lost"))
        })?;
        let owned_label = label.to_string();
        let (current, outcome) = tokio::task::spawn_blocking(move || {
            let outcome = decode_page(&mut current, fetched, first_row, page_no, &owned_label);
            (current, outcome)
        })
        .await
        .map_err(|e| {
            ConnectorError::Other(format!("{SECTION}: {label}: decoding a page stopped: {e}"))
        })?;
        decoder = Some(current);
        let (batch, next, total) = outcome?;
        if expected.is_none() {
            expected = total;
        }
        let rows = batch.num_rows();
        if rows > 0 {
            let batch = match order {
                Some(order) => batch.project(order).map_err(|e| ConnectorError::Arrow {
                    context: format!("{SECTION}: {label}: selecting the columns"),
                    source: e,
                })?,
                None => batch,
            };
            if batches.send(Ok(batch)).await.is_err() {
                // The pipeline stopped reading: nothing more to do.
                return Ok(());
            }
        }
        first_row += rows as u64;
        page_no += 1;
        match next.filter(|t| !t.is_empty()) {
            None => {
                return match expected {
                    Some(total) if total != first_row => Err(ConnectorError::Other(format!(
                        "{SECTION}: {label}: the pages ended after {first_row} rows, but the \
                         server announced {total} (the paging broke off, or the table changed \
                         during the read)"
                    ))),
                    _ => Ok(()),
                }
            }
            Some(next) if token.as_deref() == Some(next.as_str()) => {
                return Err(ConnectorError::Other(format!(
                    "{SECTION}: {label}: the server returned page token {next:?} twice in a row"
                )))
            }
            Some(next) => token = Some(next),
        }
    }
}

/// Parse (if needed) and decode one page: its batch and the next page's token.
fn decode_page(
    decoder: &mut PageDecoder,
    fetched: Fetched,
    first_row: u64,
    page_no: u64,
    label: &str,
) -> Result<(RecordBatch, Option<String>, Option<u64>)> {
    let page = match fetched {
        Fetched::Parsed(page) => page,
        Fetched::Raw(raw) => parse_page(&raw).map_err(|e| {
            ConnectorError::Other(format!("{SECTION}: {label}: page {page_no}: {e}"))
        })?,
    };
    if let Some(message) = page_failure(&page) {
        return Err(ConnectorError::Other(format!(
            "{SECTION}: {label}: page {page_no}: {message}"
        )));
    }
    let rows = page.rows.unwrap_or_default();
    let batch = decoder.decode(&rows).map_err(|e| {
        ConnectorError::Other(format!(
            "{SECTION}: {label}: row {} (row {} of page {page_no}): {}",
            first_row + e.row as u64,
            e.row,
            e.message
        ))
    })?;
    let total = page.total_rows.as_deref().and_then(|t| t.parse().ok());
    Ok((batch, page.page_token, total))
}
