use proptest::prelude::*;
use stockdata_domain::{Interval, Symbol, SymbolError};

#[track_caller]
fn check(input: &str, expect: Result<&str, &str>) {
    let got = Symbol::parse(input);
    match (got, expect) {
        (Ok(sym), Ok(want)) => assert_eq!(sym.as_str(), want, "input {input:?}"),
        (Err(err), Err(variant)) => {
            let name = format!("{err:?}");
            assert!(
                name.starts_with(variant),
                "input {input:?}: expected {variant}, got {name}"
            );
            if !matches!(err, SymbolError::Empty) {
                let shown = err.to_string();
                let needle = input.trim().chars().take(4).collect::<String>();
                assert!(
                    shown.contains(&needle.escape_debug().to_string()),
                    "error {shown:?} should name the input {input:?}"
                );
            }
        }
        (got, want) => panic!("input {input:?}: got {got:?}, expected {want:?}"),
    }
}

#[test]
fn symbol_acceptance_table() {
    check("AAPL", Ok("AAPL"));
    check("  aapl \t", Ok("AAPL"));
    check("brk.b", Ok("BRK.B"));
    check("BF-B", Ok("BF-B"));
    check("TSCO.LON", Ok("TSCO.LON"));
    check("^GSPC", Ok("^GSPC"));
    check("EURUSD=X", Ok("EURUSD=X"));
    check("BTC/USD", Ok("BTC/USD"));
    check("A", Ok("A"));
    check("ABCDEFGHIJKLMNOPQRSTUVWX", Ok("ABCDEFGHIJKLMNOPQRSTUVWX"));
}

#[test]
fn symbol_rejection_table() {
    check("", Err("Empty"));
    check("   ", Err("Empty"));
    check("AAPL MSFT", Err("InnerWhitespace"));
    check("AAPL\u{00a0}MSFT", Err("InnerWhitespace"));
    check("AA\nPL", Err("ControlCharacter"));
    check("AAPL\0", Err("ControlCharacter"));
    check("AAPL,MSFT", Err("InvalidCharacter"));
    check("AAPL;DROP", Err("InvalidCharacter"));
    check("ÄPPLE", Err("InvalidCharacter"));
    check("ABCDEFGHIJKLMNOPQRSTUVWXY", Err("TooLong"));
    check(&"X".repeat(10_000), Err("TooLong"));
}

#[test]
fn symbol_error_says_what_to_do() {
    let err = Symbol::parse("AAPL MSFT").unwrap_err();
    assert!(
        err.to_string().contains("pass each ticker separately"),
        "{err}"
    );
}

#[test]
fn interval_display_and_aliases() {
    let shown: Vec<String> = Interval::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["1m", "5m", "15m", "30m", "1h", "1d", "1w", "1mo"]);
    assert_eq!("60min".parse::<Interval>().unwrap(), Interval::Hour1);
    assert_eq!("1Day".parse::<Interval>().unwrap(), Interval::Day1);
    assert_eq!("1min".parse::<Interval>().unwrap(), Interval::Minute1);
    let err = "2m".parse::<Interval>().unwrap_err();
    assert!(err.to_string().contains("1m, 5m, 15m"), "{err}");
    assert!(Interval::Hour1.is_intraday() && !Interval::Day1.is_intraday());
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn symbol_round_trips(s in "[A-Za-z0-9^][A-Za-z0-9.^=/_-]{0,23}") {
        let sym = Symbol::parse(&s).unwrap();
        prop_assert_eq!(sym.as_str(), s.to_ascii_uppercase());
        let shown = sym.to_string();
        let again = Symbol::parse(&shown).unwrap();
        prop_assert_eq!(again, sym);
    }

    #[test]
    fn symbol_parse_never_panics(s in "\\PC{0,40}|.{0,40}") {
        let _ = Symbol::parse(&s);
    }

    #[test]
    fn interval_round_trips(i in proptest::sample::select(Interval::ALL.to_vec())) {
        prop_assert_eq!(i.to_string().parse::<Interval>().unwrap(), i);
    }
}
