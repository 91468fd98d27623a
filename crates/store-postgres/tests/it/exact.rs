//! Values come back exactly, beyond the conformance suite's edge cases: seeded random decimals
//! at every scale, negative zeros in every decimal column, counts and instants over their whole
//! range; and what a person querying the database sees is the same decimal.

use stockdata_domain::{
    Adjustment, Bar, Decimal, Interval, NewsArticle, Provenance, ProviderId, Quote, Sentiment,
    SentimentLabel, Symbol, TickerSentiment, TimeRange, Timestamp,
};
use stockdata_ports::conformance::fixtures;
use stockdata_ports::{BarsWrite, Dataset, NewsWrite, SeriesKey, Store};
use stockdata_store_postgres::testing::TestServer;

use crate::support::{connect, database};

/// xorshift64: the same values on every run.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A decimal with a random scale (0..=28) and a mantissa of random width (up to 96 bits),
    /// sometimes negative, sometimes a (negative) zero.
    fn decimal(&mut self) -> Decimal {
        let scale = u32::try_from(self.below(29)).unwrap();
        let bits = self.below(97);
        let wide = (u128::from(self.next()) << 64) | u128::from(self.next());
        let mantissa = if bits == 0 { 0 } else { wide >> (128 - bits) };
        let mut d = Decimal::from_i128_with_scale(i128::try_from(mantissa).unwrap(), scale);
        if self.below(3) == 0 {
            d.set_sign_negative(true);
        }
        d
    }

    fn count(&mut self) -> u64 {
        match self.below(4) {
            0 => 0,
            1 => u64::MAX - self.below(3),
            _ => self.next() >> self.below(64),
        }
    }

    fn instant(&mut self) -> Timestamp {
        let (min, max) = (Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
        let span = u64::try_from(max - min).unwrap();
        let second = min + i64::try_from(self.below(span)).unwrap();
        let nanos = i32::try_from(self.below(1_000_000_000)).unwrap();
        Timestamp::new(second, nanos).unwrap_or(Timestamp::MAX)
    }
}

fn negative_zero(scale: u32) -> Decimal {
    let mut d = Decimal::new(0, scale);
    d.set_sign_negative(true);
    d
}

fn everything() -> TimeRange {
    TimeRange::new(Timestamp::MIN, Timestamp::MAX).unwrap()
}

fn debug<T: std::fmt::Debug>(v: &T) -> String {
    format!("{v:?}")
}

#[tokio::test]
async fn random_bars_round_trip_exactly() {
    let Some(url) = database().await else { return };
    let store = connect(&url).await;
    let mut rng = Seeded(0x005e_ed0f_da7a);
    let key = SeriesKey {
        symbol: Symbol::parse("RND").unwrap(),
        interval: Interval::Minute1,
        adjustment: Adjustment::All,
        dataset: Dataset::Market,
    };
    let mut bars: Vec<Bar> = (0..2_000)
        .map(|i| {
            let mut p = Provenance::new(ProviderId::from_static("alpaca"), rng.instant());
            if i % 3 == 0 {
                p = p.with_feed(if i % 2 == 0 { "iex" } else { "" });
            }
            if i % 5 == 0 {
                p.via = Some(ProviderId::from_static("serverless"));
            }
            Bar {
                symbol: key.symbol.clone(),
                interval: key.interval,
                start: rng.instant(),
                open: rng.decimal(),
                high: rng.decimal(),
                low: rng.decimal(),
                close: rng.decimal(),
                volume: rng.count(),
                vwap: (i % 4 != 0).then(|| rng.decimal()),
                trades: (i % 4 != 1).then(|| rng.count()),
                provenance: p,
            }
        })
        .collect();
    // Negative zeros at several scales in each decimal column, alone and together.
    for (i, b) in bars.iter_mut().take(12).enumerate() {
        let z = negative_zero(u32::try_from(i).unwrap() * 2);
        match i % 6 {
            0 => b.open = z,
            1 => b.high = z,
            2 => b.low = z,
            3 => b.close = z,
            4 => b.vwap = Some(z),
            _ => (b.open, b.high, b.low, b.close, b.vwap) = (z, z, z, z, Some(z)),
        }
    }
    bars.sort_by_key(|b| b.start);
    bars.dedup_by_key(|b| b.start);
    store
        .write_bars(BarsWrite {
            key: &key,
            covered: everything(),
            bars: &bars,
            replace: false,
            provider: &ProviderId::from_static("alpaca"),
            fetched_at: Timestamp::MAX,
        })
        .await
        .unwrap();
    let got = store.bars(&key, everything()).await.unwrap();
    assert_eq!(got.len(), bars.len());
    for (g, w) in got.iter().zip(&bars) {
        assert_eq!(debug(g), debug(w));
    }
}

#[tokio::test]
async fn quotes_and_articles_keep_every_decimal_and_count() {
    let Some(url) = database().await else { return };
    let store = connect(&url).await;
    let mut rng = Seeded(0x00dd_ba11);
    for round in 0..40 {
        let fetched = Timestamp::new(1_700_000_000 + round, 0).unwrap();
        let mut d = || rng.decimal();
        let mut q = Quote {
            symbol: Symbol::parse("AAPL").unwrap(),
            price: d(),
            bid: Some(d()),
            bid_size: None,
            ask: Some(d()),
            ask_size: None,
            open: Some(d()),
            high: Some(d()),
            low: Some(d()),
            previous_close: Some(d()),
            change: Some(d()),
            change_percent: Some(d()),
            volume: None,
            as_of: rng.instant(),
            provenance: Provenance::new(ProviderId::from_static("finnhub"), fetched),
        };
        (q.bid_size, q.ask_size, q.volume) = (Some(rng.count()), Some(rng.count()), None);
        // Every decimal field a negative zero, in turn.
        let z = negative_zero(u32::try_from(round % 7).unwrap());
        match round % 10 {
            0 => q.price = z,
            1 => q.bid = Some(z),
            2 => q.ask = Some(z),
            3 => q.open = Some(z),
            4 => q.high = Some(z),
            5 => q.low = Some(z),
            6 => q.previous_close = Some(z),
            7 => q.change = Some(z),
            8 => q.change_percent = Some(z),
            _ => {}
        }
        store
            .write_quotes(Dataset::Market, &[q.clone()])
            .await
            .unwrap();
        let got = store.quote(Dataset::Market, &q.symbol).await.unwrap();
        assert_eq!(debug(&got), debug(&Some(q)), "round {round}");
    }
    let aapl = Symbol::parse("AAPL").unwrap();
    for (i, score) in [negative_zero(4), rng.decimal(), Decimal::new(1, 28)]
        .into_iter()
        .enumerate()
    {
        let article = NewsArticle {
            id: format!("x:{i}"),
            headline: "Nul\0in the middle, and ünïcödé".to_owned(),
            summary: String::new(),
            url: "https://news.invalid/x".to_owned(),
            source: "Wire".to_owned(),
            published_at: rng.instant(),
            symbols: vec![aapl.clone()],
            author: Some(String::new()),
            image: None,
            sentiment: Some(Sentiment {
                score,
                label: SentimentLabel::Other("Mildly\tBullish".to_owned()),
                // Per ticker, the same decimals both ways round, and a random pair.
                tickers: vec![
                    TickerSentiment {
                        symbol: aapl.clone(),
                        relevance: score,
                        score: rng.decimal(),
                        label: SentimentLabel::Other("Mildly\tBearish".to_owned()),
                    },
                    TickerSentiment {
                        symbol: aapl.clone(),
                        relevance: rng.decimal(),
                        score,
                        label: SentimentLabel::SomewhatBearish,
                    },
                ],
            }),
            provenance: Provenance::new(ProviderId::from_static("alpha_vantage"), Timestamp::MIN),
        };
        store
            .write_news(NewsWrite {
                dataset: Dataset::Market,
                symbols: std::slice::from_ref(&aapl),
                covered: TimeRange::new(article.published_at, Timestamp::MAX).unwrap(),
                articles: std::slice::from_ref(&article),
                provider: &ProviderId::from_static("alpha_vantage"),
                fetched_at: Timestamp::MAX,
            })
            .await
            .unwrap();
        let range = TimeRange::new(article.published_at, Timestamp::MAX).unwrap();
        let got = store
            .news(Dataset::Market, std::slice::from_ref(&aapl), range, 100)
            .await
            .unwrap();
        let found = got.iter().find(|a| a.id == article.id).unwrap();
        // PostgreSQL text cannot hold U+0000: it is kept as U+FFFD, everything else exactly.
        let mut want = article.clone();
        want.headline = "Nul\u{FFFD}in the middle, and ünïcödé".to_owned();
        assert_eq!(debug(found), debug(&want));
    }
}

#[tokio::test]
async fn a_person_querying_the_database_sees_the_same_decimals() {
    let Some(url) = database().await else { return };
    let server = TestServer::shared().unwrap();
    let store = connect(&url).await;
    let key = fixtures::daily("AAPL");
    let mut bar = fixtures::some_bars(&key, 0, 1).remove(0);
    bar.open = Decimal::from_str_exact("1.50").unwrap();
    bar.high = Decimal::from_str_exact("79228162514264337593543950335").unwrap();
    bar.low = Decimal::from_str_exact("0.0000000000000000000000000001").unwrap();
    bar.close = Decimal::from_str_exact("-37.630").unwrap();
    bar.volume = u64::MAX;
    bar.start = Timestamp::new(1_704_171_600, 123_456_789).unwrap();
    let covered = TimeRange::new(bar.start, Timestamp::MAX).unwrap();
    fixtures::write(&store, &key, covered, &[bar], Timestamp::now()).await;
    let client = server.client(url.rsplit('/').next().unwrap()).await;
    let row = client
        .query_one(
            "SELECT open::text, high::text, low::text, close::text, volume::text, \
             to_timestamp(start)::text, start_ns FROM stockdata.bars",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<String> = (0..6).map(|i| row.get(i)).collect();
    assert_eq!(
        got,
        [
            "1.50",
            "79228162514264337593543950335",
            "0.0000000000000000000000000001",
            "-37.630",
            "18446744073709551615",
            "2024-01-02 05:00:00+00",
        ]
    );
    assert_eq!(row.get::<_, i32>(6), 123_456_789);
}
