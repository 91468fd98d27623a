//! `store export --format parquet --output FILE` (feature `parquet`): the exported bars as one
//! Parquet file, written with the parquet crate's low-level column writer (no arrow, pages
//! uncompressed, strings dictionary-encoded).
//!
//! One row per bar, the CSV export's columns in its order, then two more:
//!
//! | column | Parquet type |
//! | --- | --- |
//! | symbol, interval | BYTE_ARRAY STRING |
//! | start | INT64 TIMESTAMP(NANOS, isAdjustedToUTC) |
//! | open, high, low, close | FIXED_LEN_BYTE_ARRAY(16) DECIMAL(38, S) |
//! | volume | INT64 INTEGER(64, unsigned) |
//! | vwap | optional FIXED_LEN_BYTE_ARRAY(16) DECIMAL(38, S) |
//! | trades | optional INT64 INTEGER(64, unsigned) |
//! | provider | BYTE_ARRAY STRING |
//! | synthetic | BOOLEAN |
//! | adjustment | optional BYTE_ARRAY STRING (`raw`, `split`, `dividend`, `all`) |
//! | fetched_at | INT64 TIMESTAMP(NANOS, isAdjustedToUTC) |
//!
//! Every value is exact. `S` is the largest scale among the exported decimals, found by a first
//! pass over the store, so none is rounded; a decimal that needs more than 38 digits at that
//! scale, or an instant outside what nanoseconds since 1970 hold in 64 bits (1677-09-21 to
//! 2262-04-11), fails the export before the file is created, naming the bar.
//!
//! Memory: one series plus one row group ([`ROWS_PER_GROUP`] bars), whatever the store holds.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use ::parquet::basic::{Compression, LogicalType, Repetition, TimeUnit, Type as Physical};
use ::parquet::column::writer::ColumnWriter;
use ::parquet::data_type::{ByteArray, FixedLenByteArray};
use ::parquet::errors::ParquetError;
use ::parquet::file::properties::WriterProperties;
use ::parquet::file::writer::SerializedFileWriter;
use ::parquet::schema::types::{PrimitiveTypeBuilder, Type};
use stockdata_app::domain::{Bar, Decimal, TimeRange, Timestamp};
use stockdata_app::ports::{SeriesSummary, Store};

/// Rows per row group: a group's columns are built in memory before they are written.
pub(crate) const ROWS_PER_GROUP: usize = 64 * 1024;

/// Digits a FIXED_LEN_BYTE_ARRAY(16) decimal holds.
const PRECISION: u32 = 38;

/// Why an export failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The output file cannot be created: the user's to fix (exit 2).
    Output(String),
    /// Reading the store, a value the schema cannot hold exactly, or writing the file.
    Export(String),
}

impl From<ParquetError> for Failure {
    fn from(e: ParquetError) -> Self {
        Failure::Export(format!("cannot write the parquet file: {e}"))
    }
}

/// What was written.
#[derive(Debug)]
pub(crate) struct Exported {
    /// Bars (rows).
    pub(crate) rows: usize,
    /// The decimal columns' scale.
    pub(crate) scale: u32,
}

/// Writes every bar of `series` to a new Parquet file at `path`. A failure after the file was
/// created removes it (when it is a regular file): no half-written export is left behind.
pub(crate) async fn export(
    store: &dyn Store,
    series: &[SeriesSummary],
    path: &Path,
) -> Result<Exported, Failure> {
    export_grouped(store, series, path, ROWS_PER_GROUP).await
}

/// [`export`] with `rows_per_group` rows in each row group but the last.
async fn export_grouped(
    store: &dyn Store,
    series: &[SeriesSummary],
    path: &Path,
    rows_per_group: usize,
) -> Result<Exported, Failure> {
    let everything = TimeRange::new(Timestamp::MIN, Timestamp::MAX)
        .map_err(|e| Failure::Export(format!("the whole time line is not a range: {e}")))?;
    let scale = survey(store, series, everything).await?;
    let file = File::create(path)
        .map_err(|e| Failure::Output(format!("--output {}: {e}", path.display())))?;
    let written = write(store, series, everything, scale, file, rows_per_group).await;
    if written.is_err() && std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        let _ = std::fs::remove_file(path);
    }
    written.map(|rows| Exported { rows, scale })
}

/// The first pass: the scale every decimal (prices and vwap) fits, after checking that each one
/// fits it and that every instant fits nanoseconds.
async fn survey(
    store: &dyn Store,
    series: &[SeriesSummary],
    everything: TimeRange,
) -> Result<u32, Failure> {
    let mut scale = 0;
    // The decimal with the most digits left of the point, and how many.
    let mut widest: Option<(i64, String)> = None;
    for s in series {
        let bars = store.bars(&s.key, everything).await.map_err(read_failed)?;
        for bar in &bars {
            nanos(bar, "start", bar.start)?;
            nanos(bar, "fetched_at", bar.provenance.fetched_at)?;
            let vwap = bar.vwap.map(|d| ("vwap", d));
            for (column, d) in prices(bar).into_iter().chain(vwap) {
                scale = scale.max(d.scale());
                let whole = digits(d) - i64::from(d.scale());
                if widest.as_ref().is_none_or(|(w, _)| whole > *w) {
                    widest = Some((whole, describe(bar, column, d)));
                }
            }
        }
    }
    if let Some((whole, what)) = widest
        && whole + i64::from(scale) > i64::from(PRECISION)
    {
        return Err(Failure::Export(format!(
            "{what} does not fit DECIMAL({PRECISION}, {scale}) ({scale} being the largest \
             scale among the exported decimals): it needs {whole} digits before the point; \
             export fewer series (--symbol, --interval) or use --format csv"
        )));
    }
    Ok(scale)
}

/// The second pass: the file.
async fn write(
    store: &dyn Store,
    series: &[SeriesSummary],
    everything: TimeRange,
    scale: u32,
    file: File,
    rows_per_group: usize,
) -> Result<usize, Failure> {
    let rows_per_group = rows_per_group.max(1);
    let props = WriterProperties::builder()
        .set_compression(Compression::UNCOMPRESSED)
        .set_created_by(format!("stockdata {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut writer = SerializedFileWriter::new(file, Arc::new(schema(scale)?), Arc::new(props))?;
    let mut pending: Vec<Bar> = Vec::new();
    let mut rows = 0;
    for s in series {
        let bars = store.bars(&s.key, everything).await.map_err(read_failed)?;
        rows += bars.len();
        pending.extend(bars);
        let full = pending.len() - pending.len() % rows_per_group;
        for group in pending[..full].chunks(rows_per_group) {
            row_group(&mut writer, group, scale)?;
        }
        pending.drain(..full);
    }
    if !pending.is_empty() {
        row_group(&mut writer, &pending, scale)?;
    }
    writer.finish()?;
    Ok(rows)
}

fn read_failed(e: impl std::fmt::Display) -> Failure {
    Failure::Export(format!("cannot read the store: {e}"))
}

/// The file's schema, the decimals at `scale`.
fn schema(scale: u32) -> Result<Type, ParquetError> {
    let scale = i32::try_from(scale).map_err(|e| ParquetError::General(e.to_string()))?;
    let precision = i32::try_from(PRECISION).map_err(|e| ParquetError::General(e.to_string()))?;
    let text = |name: &str, repetition| {
        column(
            name,
            Physical::BYTE_ARRAY,
            Some(LogicalType::String),
            repetition,
        )
        .build()
    };
    let instant = |name: &str| {
        let utc_nanos = LogicalType::timestamp(true, TimeUnit::NANOS);
        column(name, Physical::INT64, Some(utc_nanos), Repetition::REQUIRED).build()
    };
    let decimal = |name: &str, repetition| {
        let logical = LogicalType::decimal(scale, precision);
        column(
            name,
            Physical::FIXED_LEN_BYTE_ARRAY,
            Some(logical),
            repetition,
        )
        .with_length(16)
        .with_precision(precision)
        .with_scale(scale)
        .build()
    };
    let count = |name: &str, repetition| {
        let unsigned = LogicalType::integer(64, false);
        column(name, Physical::INT64, Some(unsigned), repetition).build()
    };
    const REQUIRED: Repetition = Repetition::REQUIRED;
    const OPTIONAL: Repetition = Repetition::OPTIONAL;
    let fields = [
        text("symbol", REQUIRED)?,
        text("interval", REQUIRED)?,
        instant("start")?,
        decimal("open", REQUIRED)?,
        decimal("high", REQUIRED)?,
        decimal("low", REQUIRED)?,
        decimal("close", REQUIRED)?,
        count("volume", REQUIRED)?,
        decimal("vwap", OPTIONAL)?,
        count("trades", OPTIONAL)?,
        text("provider", REQUIRED)?,
        column("synthetic", Physical::BOOLEAN, None, REQUIRED).build()?,
        text("adjustment", OPTIONAL)?,
        instant("fetched_at")?,
    ];
    Type::group_type_builder("bar")
        .with_fields(fields.into_iter().map(Arc::new).collect())
        .build()
}

/// A column's builder.
fn column<'a>(
    name: &'a str,
    physical: Physical,
    logical: Option<LogicalType>,
    repetition: Repetition,
) -> PrimitiveTypeBuilder<'a> {
    Type::primitive_type_builder(name, physical)
        .with_repetition(repetition)
        .with_logical_type(logical)
}

/// One column of a row group: its values, and for an optional column the definition levels
/// (1 present, 0 null; the values hold the present ones only).
enum Column {
    Text(Vec<ByteArray>, Option<Vec<i16>>),
    Int(Vec<i64>, Option<Vec<i16>>),
    Fixed(Vec<FixedLenByteArray>, Option<Vec<i16>>),
    Bool(Vec<bool>),
}

/// Values of an optional column, with their definition levels.
struct Optional<T> {
    values: Vec<T>,
    levels: Vec<i16>,
}

impl<T> Optional<T> {
    fn with_capacity(n: usize) -> Self {
        Self {
            values: Vec::with_capacity(n),
            levels: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, value: Option<T>) {
        self.levels.push(i16::from(value.is_some()));
        self.values.extend(value);
    }
}

/// Writes `bars` as one row group.
fn row_group(
    writer: &mut SerializedFileWriter<File>,
    bars: &[Bar],
    scale: u32,
) -> Result<(), Failure> {
    let n = bars.len();
    let mut symbol = Vec::with_capacity(n);
    let mut interval = Vec::with_capacity(n);
    let mut start = Vec::with_capacity(n);
    let mut ohlc: [Vec<FixedLenByteArray>; 4] = std::array::from_fn(|_| Vec::with_capacity(n));
    let mut volume = Vec::with_capacity(n);
    let mut vwap = Optional::with_capacity(n);
    let mut trades = Optional::with_capacity(n);
    let mut provider = Vec::with_capacity(n);
    let mut synthetic = Vec::with_capacity(n);
    let mut adjustment = Optional::with_capacity(n);
    let mut fetched_at = Vec::with_capacity(n);
    for bar in bars {
        symbol.push(ByteArray::from(bar.symbol.as_str()));
        interval.push(ByteArray::from(bar.interval.as_str()));
        start.push(nanos(bar, "start", bar.start)?);
        for ((column, d), out) in prices(bar).into_iter().zip(&mut ohlc) {
            out.push(fixed(bar, column, d, scale)?);
        }
        volume.push(unsigned(bar.volume));
        vwap.push(bar.vwap.map(|d| fixed(bar, "vwap", d, scale)).transpose()?);
        trades.push(bar.trades.map(unsigned));
        provider.push(ByteArray::from(bar.provenance.provider.as_str()));
        synthetic.push(bar.provenance.synthetic);
        adjustment.push(
            bar.provenance
                .adjustment
                .map(|a| ByteArray::from(a.as_str())),
        );
        fetched_at.push(nanos(bar, "fetched_at", bar.provenance.fetched_at)?);
    }
    let [open, high, low, close] = ohlc;
    let columns = [
        Column::Text(symbol, None),
        Column::Text(interval, None),
        Column::Int(start, None),
        Column::Fixed(open, None),
        Column::Fixed(high, None),
        Column::Fixed(low, None),
        Column::Fixed(close, None),
        Column::Int(volume, None),
        Column::Fixed(vwap.values, Some(vwap.levels)),
        Column::Int(trades.values, Some(trades.levels)),
        Column::Text(provider, None),
        Column::Bool(synthetic),
        Column::Text(adjustment.values, Some(adjustment.levels)),
        Column::Int(fetched_at, None),
    ];
    let mut group = writer.next_row_group()?;
    for column in &columns {
        let Some(mut out) = group.next_column()? else {
            return Err(Failure::Export(
                "the schema has fewer columns than a row".into(),
            ));
        };
        let written = match (column, out.untyped()) {
            (Column::Text(v, l), ColumnWriter::ByteArrayColumnWriter(w)) => {
                w.write_batch(v, l.as_deref(), None)
            }
            (Column::Int(v, l), ColumnWriter::Int64ColumnWriter(w)) => {
                w.write_batch(v, l.as_deref(), None)
            }
            (Column::Fixed(v, l), ColumnWriter::FixedLenByteArrayColumnWriter(w)) => {
                w.write_batch(v, l.as_deref(), None)
            }
            (Column::Bool(v), ColumnWriter::BoolColumnWriter(w)) => w.write_batch(v, None, None),
            _ => return Err(Failure::Export("a column does not match the schema".into())),
        };
        written?;
        out.close()?;
    }
    group.close()?;
    Ok(())
}

/// The four prices, named.
fn prices(bar: &Bar) -> [(&'static str, Decimal); 4] {
    [
        ("open", bar.open),
        ("high", bar.high),
        ("low", bar.low),
        ("close", bar.close),
    ]
}

/// Decimal digits of `d`'s mantissa (0 for zero).
fn digits(d: Decimal) -> i64 {
    d.mantissa()
        .unsigned_abs()
        .checked_ilog10()
        .map_or(0, |log| i64::from(log) + 1)
}

fn describe(bar: &Bar, column: &str, d: Decimal) -> String {
    format!(
        "{} {} {} {column} = {d}",
        bar.symbol, bar.interval, bar.start
    )
}

/// `d` as a DECIMAL(38, `scale`): the unscaled value in 16 big-endian two's-complement bytes.
fn fixed(bar: &Bar, column: &str, d: Decimal, scale: u32) -> Result<FixedLenByteArray, Failure> {
    const LIMIT: u128 = 10u128.pow(PRECISION);
    let unscaled = scale
        .checked_sub(d.scale())
        .and_then(|up| 10i128.checked_pow(up))
        .and_then(|factor| d.mantissa().checked_mul(factor))
        .filter(|v| v.unsigned_abs() < LIMIT);
    match unscaled {
        Some(v) => Ok(FixedLenByteArray::from(v.to_be_bytes().to_vec())),
        None => Err(Failure::Export(format!(
            "{} does not fit DECIMAL({PRECISION}, {scale}): the store changed during the \
             export; run it again",
            describe(bar, column, d)
        ))),
    }
}

/// `t` in nanoseconds since 1970 (TIMESTAMP(NANOS) is 64-bit).
fn nanos(bar: &Bar, column: &str, t: Timestamp) -> Result<i64, Failure> {
    i64::try_from(t.as_nanosecond()).map_err(|_| {
        Failure::Export(format!(
            "{} {} {}: {column} {t} is outside what a Parquet TIMESTAMP(NANOS) holds \
             (1677-09-21 to 2262-04-11); use --format csv",
            bar.symbol, bar.interval, bar.start
        ))
    })
}

/// A u64 in an INT64 column annotated unsigned: the same 64 bits.
fn unsigned(n: u64) -> i64 {
    i64::from_ne_bytes(n.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use ::parquet::data_type::Decimal as Stored;
    use ::parquet::file::reader::{FileReader as _, SerializedFileReader};
    use ::parquet::record::Field;
    use stockdata_app::domain::{Adjustment, Interval, Provenance, ProviderId, Symbol};
    use stockdata_app::ports::{BarsWrite, Dataset, SeriesKey};
    use stockdata_store_sqlite::SqliteStore;

    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn key(symbol: &str) -> SeriesKey {
        SeriesKey {
            symbol: Symbol::parse(symbol).unwrap(),
            interval: Interval::Minute1,
            adjustment: Adjustment::Split,
            dataset: Dataset::Market,
        }
    }

    fn bar(key: &SeriesKey, start: &str, prices: [&str; 4], vwap: Option<&str>) -> Bar {
        Bar {
            symbol: key.symbol.clone(),
            interval: key.interval,
            start: at(start),
            open: dec(prices[0]),
            high: dec(prices[1]),
            low: dec(prices[2]),
            close: dec(prices[3]),
            volume: u64::MAX,
            vwap: vwap.map(dec),
            trades: vwap.map(|_| 7),
            provenance: Provenance::new(
                ProviderId::from_static("alpaca"),
                at("2024-03-08T21:30:00.123456789Z"),
            )
            .with_adjustment(key.adjustment),
        }
    }

    async fn store(series: &[(SeriesKey, Vec<Bar>)]) -> (SqliteStore, Vec<SeriesSummary>) {
        let store = SqliteStore::in_memory().unwrap();
        for (key, bars) in series {
            store
                .write_bars(BarsWrite {
                    key,
                    covered: TimeRange::new(Timestamp::MIN, Timestamp::MAX).unwrap(),
                    bars,
                    replace: false,
                    provider: &ProviderId::from_static("alpaca"),
                    fetched_at: Timestamp::UNIX_EPOCH,
                })
                .await
                .unwrap();
        }
        let summaries = store.series().await.unwrap();
        (store, summaries)
    }

    fn unscaled(d: &Stored) -> i128 {
        i128::from_be_bytes(d.data().try_into().unwrap())
    }

    /// Prices at every scale up to 27 and with up to 11 integer digits, absent values, the
    /// largest volume, nanosecond instants; two series over three row groups of two rows.
    #[tokio::test]
    async fn every_value_reads_back_exactly_across_series_and_row_groups() {
        let (a, b) = (key("BRK.B"), key("-A"));
        let series = [
            (
                a.clone(),
                vec![
                    bar(
                        &a,
                        "2024-03-08T14:30:00Z",
                        [
                            "0.000000000000000000000000001",
                            "12345678901",
                            "-0.58",
                            "0.0000",
                        ],
                        Some("123.4500"),
                    ),
                    bar(
                        &a,
                        "2024-03-08T14:31:00.000000001Z",
                        ["1", "-99999999999.5", "189.98", "-0"],
                        None,
                    ),
                    bar(
                        &a,
                        "1970-01-01T00:00:00Z",
                        ["5", "6", "4", "5.5"],
                        Some("5.2"),
                    ),
                ],
            ),
            (
                b.clone(),
                vec![
                    bar(
                        &b,
                        "2262-04-11T23:47:16.854775807Z",
                        ["1", "2", "3", "4"],
                        None,
                    ),
                    bar(
                        &b,
                        "1677-09-21T00:12:43.145224192Z",
                        ["9", "9", "9", "9"],
                        None,
                    ),
                ],
            ),
        ];
        let (store, summaries) = store(&series).await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bars.parquet");
        let done = export_grouped(&store, &summaries, &path, 2).await.unwrap();
        let everything = TimeRange::new(Timestamp::MIN, Timestamp::MAX).unwrap();
        let mut want = Vec::new();
        for s in &summaries {
            want.extend(store.bars(&s.key, everything).await.unwrap());
        }
        assert_eq!(done.rows, 5);
        let scale = want
            .iter()
            .flat_map(prices)
            .map(|(_, d)| d.scale())
            .max()
            .unwrap();
        assert_eq!((done.scale, scale), (27, 27));

        let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        assert_eq!(reader.metadata().num_row_groups(), 3);
        let rows: Vec<_> = reader.into_iter().map(Result::unwrap).collect();
        assert_eq!(rows.len(), want.len());
        for (row, bar) in rows.iter().zip(&want) {
            let cells: Vec<(&String, &Field)> = row.get_column_iter().collect();
            let names: Vec<&str> = cells.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(
                names,
                [
                    "symbol",
                    "interval",
                    "start",
                    "open",
                    "high",
                    "low",
                    "close",
                    "volume",
                    "vwap",
                    "trades",
                    "provider",
                    "synthetic",
                    "adjustment",
                    "fetched_at"
                ]
            );
            let decimal = |field: &Field, d: Decimal| match field {
                Field::Decimal(got) => {
                    assert_eq!((got.precision(), got.scale()), (38, 27));
                    let up = 10i128.pow(27 - d.scale());
                    assert_eq!(unscaled(got), d.mantissa() * up, "{d}");
                }
                other => panic!("{other:?} for {d}"),
            };
            let nanos = |t: Timestamp| i64::try_from(t.as_nanosecond()).unwrap();
            assert_eq!(cells[0].1, &Field::Str(bar.symbol.to_string()));
            assert_eq!(cells[1].1, &Field::Str(bar.interval.as_str().to_owned()));
            assert_eq!(cells[2].1, &Field::Long(nanos(bar.start)));
            for (i, (_, d)) in prices(bar).into_iter().enumerate() {
                decimal(cells[3 + i].1, d);
            }
            assert_eq!(cells[7].1, &Field::ULong(bar.volume));
            match bar.vwap {
                Some(d) => decimal(cells[8].1, d),
                None => assert_eq!(cells[8].1, &Field::Null),
            }
            assert_eq!(cells[9].1, &bar.trades.map_or(Field::Null, Field::ULong));
            assert_eq!(cells[10].1, &Field::Str("alpaca".to_owned()));
            assert_eq!(cells[11].1, &Field::Bool(false));
            assert_eq!(cells[12].1, &Field::Str("split".to_owned()));
            assert_eq!(cells[13].1, &Field::Long(nanos(bar.provenance.fetched_at)));
        }
    }

    #[tokio::test]
    async fn what_cannot_be_exact_fails_before_the_file_is_created() {
        let k = key("IBM");
        let wide = Decimal::MAX.to_string();
        let cases = [
            (
                bar(
                    &k,
                    "2024-03-08T14:30:00Z",
                    [&wide, "1", "1", "0.0000000001"],
                    None,
                ),
                "does not fit DECIMAL(38, 10)",
            ),
            (
                bar(
                    &k,
                    "1677-09-21T00:12:43.145224191Z",
                    ["1", "1", "1", "1"],
                    None,
                ),
                "outside what a Parquet TIMESTAMP(NANOS) holds",
            ),
        ];
        for (bad, message) in cases {
            let (store, summaries) = store(&[(k.clone(), vec![bad])]).await;
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("bars.parquet");
            match export(&store, &summaries, &path).await {
                Err(Failure::Export(e)) => assert!(e.contains(message), "{e}"),
                other => panic!("{other:?}"),
            }
            assert!(!path.exists());
        }
    }

    #[tokio::test]
    async fn the_vwap_counts_for_the_scale() {
        let k = key("IBM");
        let bars = vec![bar(
            &k,
            "2024-03-08T14:30:00Z",
            ["1.5", "2", "1", "1.25"],
            Some("1.123456"),
        )];
        let (store, summaries) = store(&[(k, bars)]).await;
        let dir = tempfile::tempdir().unwrap();
        let done = export(&store, &summaries, &dir.path().join("bars.parquet"))
            .await
            .unwrap();
        assert_eq!((done.rows, done.scale), (1, 6));
    }

    #[test]
    fn decimals_are_rescaled_exactly_or_refused() {
        let k = key("IBM");
        let unscaled = |text: &str, scale| {
            let d = dec(text);
            let b = bar(&k, "2024-03-08T14:30:00Z", [text; 4], None);
            fixed(&b, "open", d, scale)
                .ok()
                .map(|f| i128::from_be_bytes(f.data().try_into().unwrap()))
        };
        assert_eq!(unscaled("189.98", 4), Some(1_899_800));
        assert_eq!(unscaled("-0.58", 2), Some(-58));
        assert_eq!(unscaled("0.0000", 28), Some(0));
        assert_eq!(
            unscaled("1.5", 0),
            None,
            "a scale below the value's would round"
        );
        let max = Decimal::MAX.to_string();
        assert_eq!(
            unscaled(&max, 9),
            Some(Decimal::MAX.mantissa() * 10i128.pow(9))
        );
        assert_eq!(unscaled(&max, 10), None, "39 digits");
        assert_eq!(digits(Decimal::MAX), 29);
        assert_eq!(digits(dec("0.000")), 0);
        assert_eq!(digits(dec("-100.5")), 4);
        assert_eq!(unsigned(u64::MAX), -1);
    }
}
