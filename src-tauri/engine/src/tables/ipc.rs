//! Arrow IPC: how pages travel to the UI (decoded there by `apache-arrow`), not as JSON.

use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;

use super::TableError;

/// One batch as an Arrow IPC stream (schema message, one record batch, end marker).
pub fn to_stream_bytes(batch: &RecordBatch) -> Result<Vec<u8>, TableError> {
    let mut out = Vec::with_capacity(batch.get_array_memory_size() + 1024);
    {
        let mut writer = StreamWriter::try_new(&mut out, &batch.schema())?;
        writer.write(batch)?;
        writer.finish()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::ipc::reader::StreamReader;

    use super::*;

    #[test]
    fn round_trips() {
        let t = super::super::table::tests::numbers(1000, 300);
        let page = t.page(250, 100).unwrap();
        let bytes = to_stream_bytes(&page).unwrap();
        let mut reader = StreamReader::try_new(&bytes[..], None).unwrap();
        let back = reader.next().unwrap().unwrap();
        assert_eq!(back, page);
        assert!(reader.next().is_none());
    }
}
