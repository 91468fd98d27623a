//! Parse + normalize throughput for provider payloads, next to parsing the same bytes into a
//! `serde_json::Value` (the floor any typed parser should beat).
//!
//! Payloads are built in the exact shape of the recorded samples in `tests/fixtures`, scaled up:
//! a 20-year Alpha Vantage daily series, a month of 5-minute intraday bars with extended hours,
//! a 50-article news page, and a 20-year Finnhub candle array.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::civil::{Date, Weekday};
use stockdata_adapters_http::{alpaca, alpha_vantage, finnhub};
use stockdata_domain::{Interval, Provenance, ProviderId, Symbol, Timestamp};

fn weekdays_back(from: Date, count: usize) -> Vec<Date> {
    let mut out = Vec::with_capacity(count);
    let mut d = from;
    while out.len() < count {
        if !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) {
            out.push(d);
        }
        d = d.yesterday().unwrap();
    }
    out
}

fn price(i: usize, offset: usize) -> String {
    let cents = 10_000 + (i * 37 + offset * 11) % 5_000;
    format!("{}.{:02}00", cents / 100, cents % 100)
}

/// 20 years of trading days in TIME_SERIES_DAILY's shape (newest first, 4-decimal strings).
fn av_daily(rows: usize) -> Vec<u8> {
    let mut s = String::from(concat!(
        r#"{"Meta Data": {"#,
        r#""1. Information": "Daily Prices (open, high, low, close) and Volumes", "#,
        r#""2. Symbol": "IBM", "3. Last Refreshed": "2020-05-08", "#,
        r#""4. Output Size": "Full size", "5. Time Zone": "US/Eastern"}, "#,
        r#""Time Series (Daily)": {"#,
    ));
    for (i, d) in weekdays_back("2020-05-08".parse().unwrap(), rows)
        .iter()
        .enumerate()
    {
        if i > 0 {
            s.push(',');
        }
        write!(
            s,
            "\"{d}\": {{\"1. open\": \"{}\", \"2. high\": \"{}\", \"3. low\": \"{}\", \
             \"4. close\": \"{}\", \"5. volume\": \"{}\"}}",
            price(i, 1),
            price(i, 3),
            price(i, 0),
            price(i, 2),
            2_538_547 + i * 13
        )
        .unwrap();
    }
    s.push_str("}}");
    s.into_bytes()
}

/// A month of 5-minute bars, 04:00-19:55 US/Eastern, in TIME_SERIES_INTRADAY's shape.
fn av_intraday_month() -> (Vec<u8>, usize) {
    let mut s = String::from(concat!(
        r#"{"Meta Data": {"#,
        r#""1. Information": "Intraday (5min) open, high, low, close prices and volume", "#,
        r#""2. Symbol": "IBM", "3. Last Refreshed": "2020-05-29 19:55:00", "#,
        r#""4. Interval": "5min", "5. Output Size": "Full size", "#,
        r#""6. Time Zone": "US/Eastern"}, "#,
        r#""Time Series (5min)": {"#,
    ));
    let mut n = 0;
    for d in weekdays_back("2020-05-29".parse().unwrap(), 21) {
        for slot in (0..192).rev() {
            let (h, m) = (4 + slot / 12, (slot % 12) * 5);
            if n > 0 {
                s.push(',');
            }
            write!(
                s,
                "\"{d} {h:02}:{m:02}:00\": {{\"1. open\": \"{}\", \"2. high\": \"{}\", \
                 \"3. low\": \"{}\", \"4. close\": \"{}\", \"5. volume\": \"{}\"}}",
                price(n, 1),
                price(n, 3),
                price(n, 0),
                price(n, 2),
                31_454 + n
            )
            .unwrap();
            n += 1;
        }
    }
    s.push_str("}}");
    (s.into_bytes(), n)
}

/// The recorded NEWS_SENTIMENT page with its 5 articles repeated to 50 (distinct URLs).
fn av_news_page() -> Vec<u8> {
    let sample = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/alphavantage_news_sentiment.json"
    ))
    .unwrap();
    let mut value: serde_json::Value = serde_json::from_slice(&sample).unwrap();
    let feed = value["feed"].as_array().unwrap().clone();
    let mut out = Vec::new();
    for i in 0..50 {
        let mut item = feed[i % feed.len()].clone();
        item["url"] = format!("{}?n={i}", item["url"].as_str().unwrap()).into();
        out.push(item);
    }
    value["feed"] = out.into();
    serde_json::to_vec(&value).unwrap()
}

/// 20 years of daily candles in /stock/candle's parallel-array shape.
fn finnhub_candles(rows: usize) -> Vec<u8> {
    let days = weekdays_back("2020-05-08".parse().unwrap(), rows);
    let list =
        |f: &dyn Fn(usize) -> String| -> String { (0..rows).map(f).collect::<Vec<_>>().join(",") };
    let num = |i: usize, o: usize| {
        price(i, o)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    };
    format!(
        r#"{{"c":[{}],"h":[{}],"l":[{}],"o":[{}],"s":"ok","t":[{}],"v":[{}]}}"#,
        list(&|i| num(i, 2)),
        list(&|i| num(i, 3)),
        list(&|i| num(i, 0)),
        list(&|i| num(i, 1)),
        list(
            &|i| stockdata_domain::time::daily_bar_start(days[rows - 1 - i])
                .as_second()
                .to_string()
        ),
        list(&|i| (33_463_820 + i).to_string()),
    )
    .into_bytes()
}

/// A full 10,000-bar page of /v2/stocks/bars for 4 symbols, in the recorded shape.
fn alpaca_bars_page() -> Vec<u8> {
    let mut s = String::from(r#"{"bars":{"#);
    for (k, sym) in ["AAPL", "MSFT", "NVDA", "TSLA"].iter().enumerate() {
        if k > 0 {
            s.push(',');
        }
        write!(s, r#""{sym}":["#).unwrap();
        for i in 0..2_500usize {
            if i > 0 {
                s.push(',');
            }
            let day = 1_577_854_800 + i as i64 * 86_400;
            let t = jiff::Timestamp::from_second(day).unwrap();
            write!(
                s,
                r#"{{"t":"{t}","o":{},"h":{},"l":{},"c":{},"v":{},"n":{},"vw":{}.{:06}}}"#,
                price(i, 1).trim_end_matches('0').trim_end_matches('.'),
                price(i, 3).trim_end_matches('0').trim_end_matches('.'),
                price(i, 0).trim_end_matches('0').trim_end_matches('.'),
                price(i, 2).trim_end_matches('0').trim_end_matches('.'),
                85_998_033 + i,
                732_412 + i,
                100 + i % 300,
                (i * 7919) % 1_000_000
            )
            .unwrap();
        }
        s.push(']');
    }
    s.push_str(r#"},"next_page_token":"QUFQTHxEfDIwMjItMDItMDJUMDU6MDA6MDAuMDAwMDAwMDAwWg=="}"#);
    s.into_bytes()
}

fn provenance(provider: ProviderId) -> Provenance {
    Provenance::new(provider, Timestamp::UNIX_EPOCH)
}

fn bench_pair(c: &mut Criterion, name: &str, bytes: &[u8], typed: &dyn Fn(&[u8]) -> usize) {
    let mut group = c.benchmark_group(name);
    group
        .throughput(Throughput::Bytes(bytes.len() as u64))
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    group.bench_function("typed parse+normalize", |b| {
        b.iter(|| typed(black_box(bytes)))
    });
    group.bench_function("serde_json::Value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(bytes)).unwrap())
    });
    group.finish();
}

fn parsers(c: &mut Criterion) {
    let ibm = Symbol::parse("IBM").unwrap();

    let daily = av_daily(5_040);
    let av_prov = provenance(stockdata_adapters_http::alpha_vantage::ID);
    bench_pair(c, "alpha_vantage daily 20y (5040 rows)", &daily, &|b| {
        let alpha_vantage::wire::Body::Data(series) = alpha_vantage::wire::parse_series(b).unwrap()
        else {
            unreachable!()
        };
        let mut bars = Vec::new();
        alpha_vantage::daily_bars(&ibm, &series, false, &av_prov, &mut bars).unwrap();
        bars.len()
    });

    let (intraday, rows) = av_intraday_month();
    bench_pair(
        c,
        &format!("alpha_vantage intraday 5min month ({rows} rows)"),
        &intraday,
        &|b| {
            let alpha_vantage::wire::Body::Data(series) =
                alpha_vantage::wire::parse_series(b).unwrap()
            else {
                unreachable!()
            };
            let mut bars = Vec::new();
            alpha_vantage::intraday_bars(&ibm, Interval::Minute5, &series, &av_prov, &mut bars)
                .unwrap();
            bars.len()
        },
    );

    let news = av_news_page();
    bench_pair(c, "alpha_vantage news page (50 articles)", &news, &|b| {
        let alpha_vantage::wire::Body::Data(items) = alpha_vantage::wire::parse_news(b).unwrap()
        else {
            unreachable!()
        };
        items
            .iter()
            .map(|i| alpha_vantage::to_article(i, &av_prov).unwrap())
            .collect::<Vec<_>>()
            .len()
    });

    let candles = finnhub_candles(5_040);
    let fh_prov = provenance(stockdata_adapters_http::finnhub::ID);
    bench_pair(c, "finnhub candles 20y (5040 rows)", &candles, &|b| {
        let wire = finnhub::wire::parse_candles(b).unwrap();
        let mut bars = Vec::new();
        finnhub::candle_bars(&ibm, Interval::Day1, &wire, &fh_prov, &mut bars).unwrap();
        bars.len()
    });
}

fn alpaca(c: &mut Criterion) {
    let page = alpaca_bars_page();
    let prov = provenance(stockdata_adapters_http::alpaca::ID);
    bench_pair(c, "alpaca bars page (10000 bars, 4 symbols)", &page, &|b| {
        let page = alpaca::wire::parse_bars_page(b).unwrap();
        page.bars
            .iter()
            .map(|(sym, rows)| {
                let symbol = Symbol::parse(sym).unwrap();
                rows.iter()
                    .map(|r| alpaca::to_bar(&symbol, Interval::Day1, r.clone(), &prov))
                    .collect::<Vec<_>>()
                    .len()
            })
            .sum()
    });
}

criterion_group!(benches, parsers, alpaca);
criterion_main!(benches);
