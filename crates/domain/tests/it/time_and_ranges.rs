use stockdata_domain::time::{
    daily_bar_start, new_york_date, new_york_day_bounds, new_york_to_utc,
};
use stockdata_domain::{Date, DateRange, TimeRange, Timestamp};

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn daily_bars_open_at_new_york_midnight_winter_and_summer() {
    // The providers' own stamps (Alpaca fixtures).
    assert_eq!(
        daily_bar_start(date("2022-03-09")),
        ts("2022-03-09T05:00:00Z")
    );
    assert_eq!(
        daily_bar_start(date("2022-06-08")),
        ts("2022-06-08T04:00:00Z")
    );
    assert_eq!(
        daily_bar_start(date("2022-02-01")),
        ts("2022-02-01T05:00:00Z")
    );
    assert_eq!(
        daily_bar_start(date("2023-09-27")),
        ts("2023-09-27T04:00:00Z")
    );
    // Finnhub candle sample: 1569297600 = 2019-09-24T04:00Z.
    assert_eq!(
        daily_bar_start(date("2019-09-24")).as_second(),
        1_569_297_600
    );
}

#[test]
fn dst_switch_days() {
    // 2024-03-10: clocks go forward at 02:00 EST. Midnight is still EST.
    assert_eq!(
        daily_bar_start(date("2024-03-10")),
        ts("2024-03-10T05:00:00Z")
    );
    assert_eq!(
        daily_bar_start(date("2024-03-11")),
        ts("2024-03-11T04:00:00Z")
    );
    // 2024-11-03: clocks go back at 02:00 EDT.
    assert_eq!(
        daily_bar_start(date("2024-11-03")),
        ts("2024-11-03T04:00:00Z")
    );
    assert_eq!(
        daily_bar_start(date("2024-11-04")),
        ts("2024-11-04T05:00:00Z")
    );
    let (start, end) = new_york_day_bounds(date("2024-03-10"));
    assert_eq!(end.as_second() - start.as_second(), 23 * 3600);
    let (start, end) = new_york_day_bounds(date("2024-11-03"));
    assert_eq!(end.as_second() - start.as_second(), 25 * 3600);
}

#[test]
fn intraday_wall_times_convert_with_dst() {
    // Alpha Vantage intraday key "2020-05-08 14:05:00" US/Eastern (EDT, UTC-4).
    let wall = "2020-05-08T14:05:00".parse().unwrap();
    assert_eq!(new_york_to_utc(wall), ts("2020-05-08T18:05:00Z"));
    // December 2017 (EST, UTC-5).
    let wall = "2017-12-18T14:56:00".parse().unwrap();
    assert_eq!(new_york_to_utc(wall), ts("2017-12-18T19:56:00Z"));
    // A late-evening UTC instant is still the same New York trading date.
    assert_eq!(
        new_york_date(ts("2024-03-09T03:30:00Z")),
        date("2024-03-08")
    );
}

#[test]
fn date_range_validates_and_includes_the_end_day() {
    let r = DateRange::new(date("2024-03-08"), date("2024-03-11")).unwrap();
    assert_eq!(r.days(), 4);
    let t = r.to_time_range();
    assert_eq!(t.start(), ts("2024-03-08T05:00:00Z"));
    // 2024-03-12 00:00 EDT: the range includes all of the 11th (DST started on the 10th).
    assert_eq!(t.end(), ts("2024-03-12T04:00:00Z"));
    assert!(t.contains(ts("2024-03-11T20:00:00Z")));
    assert!(!t.contains(ts("2024-03-12T04:00:00Z")));

    let single = DateRange::new(date("2024-03-08"), date("2024-03-08")).unwrap();
    assert_eq!(single.days(), 1);

    let err = DateRange::new(date("2024-03-12"), date("2024-03-11")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "start 2024-03-12 is after end 2024-03-11: the start must be on or before the end"
    );
}

#[test]
fn time_range_validates() {
    assert!(TimeRange::new(ts("2024-01-01T00:00:00Z"), ts("2024-01-01T00:00:00Z")).is_ok());
    let err = TimeRange::new(ts("2024-01-02T00:00:00Z"), ts("2024-01-01T00:00:00Z")).unwrap_err();
    assert!(err.to_string().contains("is after end"), "{err}");
}
