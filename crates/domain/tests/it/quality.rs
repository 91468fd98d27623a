use stockdata_domain::quality::{Finding, check_bars};
use stockdata_domain::time::daily_bar_start;
use stockdata_domain::{Bar, Decimal, Interval, Provenance, ProviderId, Symbol, Timestamp};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn bar(day: &str, o: &str, h: &str, l: &str, c: &str, v: u64) -> Bar {
    let start = daily_bar_start(day.parse().unwrap());
    Bar {
        symbol: Symbol::parse("AAPL").unwrap(),
        interval: Interval::Day1,
        start,
        open: d(o),
        high: d(h),
        low: d(l),
        close: d(c),
        volume: v,
        vwap: None,
        trades: None,
        provenance: Provenance::new(ProviderId::from_static("alpaca"), Timestamp::UNIX_EPOCH),
    }
}

fn start(day: &str) -> Timestamp {
    daily_bar_start(day.parse().unwrap())
}

#[test]
fn clean_series_has_no_findings() {
    let bars = [
        bar("2024-03-07", "10", "11", "9", "10.5", 100),
        bar("2024-03-08", "10.5", "12", "10", "11", 100),
        // Weekend skipped: not a gap.
        bar("2024-03-11", "11", "11.5", "10.75", "11.25", 100),
    ];
    assert_eq!(check_bars(&bars), []);
}

#[test]
fn each_finding() {
    let cases: Vec<(Vec<Bar>, Vec<Finding>)> = vec![
        (
            vec![bar("2024-03-07", "10", "11", "10.5", "10.75", 1)],
            vec![Finding::LowAboveBody {
                start: start("2024-03-07"),
            }],
        ),
        (
            vec![bar("2024-03-07", "10", "10.5", "9", "11", 1)],
            vec![Finding::HighBelowBody {
                start: start("2024-03-07"),
            }],
        ),
        (
            vec![bar("2024-03-07", "0", "1", "0", "1", 1)],
            vec![Finding::NonPositivePrice {
                start: start("2024-03-07"),
            }],
        ),
        (
            vec![bar("2024-03-07", "10", "11", "9", "10", 0)],
            vec![Finding::ZeroVolume {
                start: start("2024-03-07"),
            }],
        ),
        (
            vec![
                bar("2024-03-07", "10", "11", "9", "10", 1),
                bar("2024-03-07", "10", "11", "9", "10", 1),
            ],
            vec![Finding::DuplicateStart {
                start: start("2024-03-07"),
            }],
        ),
        (
            vec![
                bar("2024-03-08", "10", "11", "9", "10", 1),
                bar("2024-03-07", "10", "11", "9", "10", 1),
            ],
            vec![Finding::OutOfOrder {
                previous: start("2024-03-08"),
                start: start("2024-03-07"),
            }],
        ),
        (
            vec![
                bar("2024-03-07", "10", "11", "9", "10", 1),
                bar("2024-03-12", "10", "11", "9", "10", 1),
            ],
            vec![
                Finding::MissingWeekday {
                    date: "2024-03-08".parse().unwrap(),
                },
                Finding::MissingWeekday {
                    date: "2024-03-11".parse().unwrap(),
                },
            ],
        ),
    ];
    for (bars, want) in cases {
        assert_eq!(check_bars(&bars), want, "bars: {bars:#?}");
    }
}

#[test]
fn empty_and_single_series_are_fine() {
    assert_eq!(check_bars(&[]), []);
    assert_eq!(check_bars(&[bar("2024-03-07", "1", "1", "1", "1", 1)]), []);
}
