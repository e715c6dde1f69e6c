//! Sprig's date functions and the Go `time.Time` values they pass around.
//!
//! Go formats and parses with reference-time layouts ("2006-01-02T15:04:05Z07:00"), which no
//! Rust crate speaks, so the layout tokenizer, formatter and parser here are our own, written
//! to Go's rules (chunk recognition, `.000`/`.999` fractions, `Z07:00`, `_2`, `__2`, …).
//! chrono does the calendar arithmetic and chrono-tz supplies the tz database for
//! `dateInZone`, so zone names resolve the same way on every machine without depending on
//! the host's zoneinfo.
//!
//! Go's `time.Local` is the host's zone. We pin Local to UTC: the operator runs in a UTC
//! container, the reference `helm template` runs in UTC here, and a render must not depend on
//! the machine it runs on (NFR-002).
//!
//! A time value reaches templates as an [`Object`] whose `%v` is Go's `Time.String()`. Objects
//! cannot be downcast, so a function given a time re-reads it from that string. That loses
//! nothing: the times templates hold are in UTC (`now`, `toDate`) or in a zone made up by
//! parsing, and `String()` spells out their instant, offset, abbreviation and monotonic
//! reading; tz-database zones are only used to format (`dateInZone`).

use std::sync::{Arc, LazyLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chrono::{
    DateTime, Datelike as _, NaiveDate, NaiveDateTime, Offset as _, TimeZone as _, Timelike as _,
};
use chrono_tz::{OffsetName as _, Tz};

use super::{CallContext, FuncError, FuncResult, Function, arity, string_arg};
use crate::gofmt::go_quote;
use crate::value::{Object, Value};

pub fn get(name: &str) -> Option<Function> {
    Some(match name {
        "now" => now,
        "date" => date,
        "dateInZone" | "date_in_zone" => date_in_zone,
        "htmlDate" => html_date,
        "htmlDateInZone" => html_date_in_zone,
        "dateModify" | "date_modify" => date_modify,
        "mustDateModify" => must_date_modify,
        "toDate" => to_date,
        "mustToDate" => must_to_date,
        "unixEpoch" => unix_epoch,
        "ago" => ago,
        "duration" => duration,
        "durationRound" => duration_round,
        _ => return None,
    })
}

const NANOS_PER_SEC: i128 = 1_000_000_000;
/// Seconds from 0001-01-01 (Go's zero time) to the Unix epoch.
const ZERO_TIME_UNIX: i64 = -62_135_596_800;

/// The zone a time is shown in.
#[derive(Debug, Clone, PartialEq)]
enum Zone {
    /// Go's UTC, which is also our Local.
    Utc,
    Named(Tz),
    /// A zone made up by parsing (`FixedZone(name, offset)`); an empty name prints as the
    /// numeric offset.
    Fixed {
        name: String,
        offset: i32,
    },
}

/// A Go `time.Time`.
#[derive(Debug, Clone, PartialEq)]
pub struct Time {
    /// Nanoseconds since the Unix epoch.
    nanos: i128,
    zone: Zone,
    /// The monotonic clock reading that `time.Now` attaches and `String()` prints as `m=±s`.
    mono: Option<i128>,
}

/// A time broken down in its zone.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nano: u32,
    weekday: usize,
    yday: u32,
    offset: i32,
    abbrev: String,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn numeric_zone_name(offset: i32) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let minutes = offset.abs() / 60;
    format!("{sign}{:02}{:02}", minutes / 60, minutes % 60)
}

static PROCESS_START: LazyLock<Instant> = LazyLock::new(Instant::now);

impl Time {
    fn zero() -> Time {
        Time {
            nanos: i128::from(ZERO_TIME_UNIX) * NANOS_PER_SEC,
            zone: Zone::Utc,
            mono: None,
        }
    }

    fn unix(secs: i64) -> Time {
        Time {
            nanos: i128::from(secs) * NANOS_PER_SEC,
            zone: Zone::Utc,
            mono: None,
        }
    }

    fn now() -> Time {
        let start = *PROCESS_START;
        let nanos = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        Time {
            nanos,
            zone: Zone::Utc,
            mono: Some(start.elapsed().as_nanos() as i128),
        }
    }

    fn unix_secs(&self) -> i64 {
        self.nanos.div_euclid(NANOS_PER_SEC) as i64
    }

    fn in_zone(&self, zone: Zone) -> Time {
        Time {
            nanos: self.nanos,
            zone,
            mono: None,
        }
    }

    fn add(&self, d: i128) -> Time {
        Time {
            nanos: self.nanos + d,
            zone: self.zone.clone(),
            mono: self.mono.map(|m| m + d),
        }
    }

    fn civil(&self) -> Civil {
        let secs = self.unix_secs();
        let nano = self.nanos.rem_euclid(NANOS_PER_SEC) as u32;
        let utc = DateTime::from_timestamp(secs, 0)
            .map(|d| d.naive_utc())
            .unwrap_or_default();
        let (offset, abbrev) = match &self.zone {
            Zone::Utc => (0, "UTC".to_string()),
            Zone::Fixed { name, offset } => {
                let name = if name.is_empty() {
                    numeric_zone_name(*offset)
                } else {
                    name.clone()
                };
                (*offset, name)
            }
            Zone::Named(tz) => {
                let off = tz.offset_from_utc_datetime(&utc);
                let secs = off.fix().local_minus_utc();
                let abbrev = match off.abbreviation() {
                    Some(a) => a.to_string(),
                    None if secs % 3600 == 0 => format!(
                        "{}{:02}",
                        if secs < 0 { '-' } else { '+' },
                        secs.abs() / 3600
                    ),
                    None => numeric_zone_name(secs),
                };
                (secs, abbrev)
            }
        };
        let local = utc + chrono::Duration::seconds(i64::from(offset));
        Civil {
            year: i64::from(local.year()),
            month: local.month(),
            day: local.day(),
            hour: local.hour(),
            minute: local.minute(),
            second: local.second(),
            nano,
            weekday: local.weekday().num_days_from_sunday() as usize,
            yday: local.ordinal(),
            offset,
            abbrev,
        }
    }

    /// Go's `Time.String()`.
    fn go_string(&self) -> String {
        let mut s = format(self, "2006-01-02 15:04:05.999999999 -0700 MST");
        if let Some(m) = self.mono {
            let sign = if m < 0 { '-' } else { '+' };
            let m = m.abs();
            s.push_str(&format!(
                " m={sign}{}.{:09}",
                m / NANOS_PER_SEC,
                m % NANOS_PER_SEC
            ));
        }
        s
    }

    /// Reads back a time from its `String()` form (see the module documentation). The zone
    /// abbreviation is taken verbatim, since Go could not parse some of the ones it prints
    /// (`+0530`).
    fn from_go_string(s: &str) -> Option<Time> {
        let (text, mono) = match s.split_once(" m=") {
            Some((t, m)) => (t, parse_mono(m)),
            None => (s, None),
        };
        let (head, name) = text.rsplit_once(' ')?;
        let mut t = parse("2006-01-02 15:04:05.999999999 -0700", head).ok()?;
        let offset = t.civil().offset;
        t.zone = if offset == 0 && name == "UTC" {
            Zone::Utc
        } else if name == numeric_zone_name(offset) {
            Zone::Fixed {
                name: String::new(),
                offset,
            }
        } else {
            Zone::Fixed {
                name: name.to_string(),
                offset,
            }
        };
        t.mono = mono;
        Some(t)
    }
}

fn parse_mono(m: &str) -> Option<i128> {
    let (neg, digits) = match m.split_at_checked(1)? {
        ("-", rest) => (true, rest),
        (_, rest) => (false, rest),
    };
    let (secs, frac) = digits.split_once('.')?;
    let v = secs.parse::<i128>().ok()? * NANOS_PER_SEC + frac.parse::<i128>().ok()?;
    Some(if neg { -v } else { v })
}

impl Object for Time {
    fn type_name(&self) -> &str {
        "time.Time"
    }

    fn field(&self, name: &str) -> Option<Value> {
        let c = self.civil();
        Some(match name {
            "Year" => Value::Int(c.year),
            "Month" => Value::str(MONTHS.get(c.month as usize - 1).copied().unwrap_or("")),
            "Day" => Value::Int(i64::from(c.day)),
            "Hour" => Value::Int(i64::from(c.hour)),
            "Minute" => Value::Int(i64::from(c.minute)),
            "Second" => Value::Int(i64::from(c.second)),
            "Nanosecond" => Value::Int(i64::from(c.nano)),
            "YearDay" => Value::Int(i64::from(c.yday)),
            "Weekday" => Value::str(DAYS.get(c.weekday).copied().unwrap_or("")),
            "Unix" => Value::Int(self.unix_secs()),
            "UnixMilli" => Value::Int(self.nanos.div_euclid(1_000_000) as i64),
            "UnixMicro" => Value::Int(self.nanos.div_euclid(1_000) as i64),
            "UnixNano" => Value::Int(self.nanos as i64),
            "IsZero" => Value::Bool(self.nanos == i128::from(ZERO_TIME_UNIX) * NANOS_PER_SEC),
            "UTC" | "Local" => Value::Object(Arc::new(self.in_zone(Zone::Utc))),
            "String" => Value::from(self.go_string()),
            _ => return None,
        })
    }

    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let result = match (name, args) {
            ("Format", [Value::String(layout)]) => Ok(Value::from(format(self, layout))),
            ("Add", [Value::Int(d)]) => Ok(Value::Object(Arc::new(self.add(i128::from(*d))))),
            ("AddDate", [Value::Int(y), Value::Int(m), Value::Int(d)]) => {
                Ok(Value::Object(Arc::new(self.add_date(*y, *m, *d))))
            }
            ("Before" | "After" | "Equal", [other]) => {
                time_value(other).map_err(|e| e.0).map(|o| {
                    Value::Bool(match name {
                        "Before" => self.nanos < o.nanos,
                        "After" => self.nanos > o.nanos,
                        _ => self.nanos == o.nanos,
                    })
                })
            }
            ("Format" | "Add" | "AddDate" | "Before" | "After" | "Equal", _) => {
                Err(format!("wrong number or type of args for {name}"))
            }
            _ => return None,
        };
        Some(result)
    }

    fn display(&self) -> String {
        self.go_string()
    }

    /// Go's `MarshalJSON`: RFC 3339 with the fraction trimmed.
    fn to_data(&self) -> Value {
        Value::from(format(self, "2006-01-02T15:04:05.999999999Z07:00"))
    }
}

impl Time {
    /// `AddDate` normalises like Go's `Date`: months and days overflow into the next unit.
    fn add_date(&self, years: i64, months: i64, days: i64) -> Time {
        let c = self.civil();
        let month0 = i64::from(c.month) - 1 + months;
        let year = c.year + years + month0.div_euclid(12);
        let month = month0.rem_euclid(12) as u32 + 1;
        let first = i32::try_from(year)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, month, 1));
        let Some(first) = first else {
            return self.clone();
        };
        let day_offset = i64::from(c.day) - 1 + days;
        let date = first + chrono::Duration::days(day_offset);
        let local = date
            .and_hms_opt(c.hour, c.minute, c.second)
            .unwrap_or_default();
        let secs = local.and_utc().timestamp() - i64::from(c.offset);
        Time {
            nanos: i128::from(secs) * NANOS_PER_SEC + i128::from(c.nano),
            zone: self.zone.clone(),
            mono: None,
        }
    }
}

/// A `time.Time` parameter.
fn time_value(v: &Value) -> Result<Time, FuncError> {
    match v {
        Value::Object(o) if o.type_name() == "time.Time" => {
            Time::from_go_string(&o.display()).ok_or_else(|| FuncError::new("invalid time value"))
        }
        other => Err(super::random::wrong_type("time.Time", Some(other))),
    }
}

fn time_object(t: Time) -> Value {
    Value::Object(Arc::new(t))
}

/// Sprig's `interface{}` date argument: a time, or Unix seconds as an integer; anything else
/// (a float from values, a string) silently means "now".
fn date_arg(v: &Value) -> Time {
    match v {
        Value::Int(secs) => Time::unix(*secs),
        Value::Object(o) if o.type_name() == "time.Time" => {
            Time::from_go_string(&o.display()).unwrap_or_else(Time::now)
        }
        _ => Time::now(),
    }
}

/// `time.LoadLocation`, falling back to UTC as Sprig does on an unknown name.
fn load_zone(name: &str) -> Zone {
    match name {
        "" | "UTC" | "Local" => Zone::Utc,
        other => other.parse::<Tz>().map_or(Zone::Utc, Zone::Named),
    }
}

fn now(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("now", args, 0)?;
    Ok(time_object(Time::now()))
}

fn format_in_zone(layout: &str, date: &Value, zone: &str) -> Value {
    Value::from(format(&date_arg(date).in_zone(load_zone(zone)), layout))
}

fn date(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("date", args, 2)?;
    let layout = string_arg(args, 0)?;
    Ok(format_in_zone(layout, &args[1], "Local"))
}

fn date_in_zone(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("dateInZone", args, 3)?;
    let layout = string_arg(args, 0)?;
    let zone = string_arg(args, 2)?;
    Ok(format_in_zone(layout, &args[1], zone))
}

fn html_date(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("htmlDate", args, 1)?;
    Ok(format_in_zone("2006-01-02", &args[0], "Local"))
}

fn html_date_in_zone(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("htmlDateInZone", args, 2)?;
    let zone = string_arg(args, 1)?;
    Ok(format_in_zone("2006-01-02", &args[0], zone))
}

fn modify(name: &str, args: &[Value]) -> Result<Result<Value, FuncError>, FuncError> {
    arity(name, args, 2)?;
    let spec = string_arg(args, 0)?;
    let t = time_value(&args[1])?;
    Ok(match parse_duration(spec) {
        Ok(d) => Ok(time_object(t.add(d))),
        Err(e) => Err(e),
    }
    .or_else(|e| {
        if name == "mustDateModify" {
            Err(e)
        } else {
            Ok(time_object(t))
        }
    }))
}

/// An unparsable duration leaves the date unchanged.
fn date_modify(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    modify("dateModify", args)?
}

fn must_date_modify(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    modify("mustDateModify", args)?
}

/// An unparsable date is Go's zero time.
fn to_date(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("toDate", args, 2)?;
    let layout = string_arg(args, 0)?;
    let text = string_arg(args, 1)?;
    Ok(time_object(
        parse(layout, text).unwrap_or_else(|_| Time::zero()),
    ))
}

fn must_to_date(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("mustToDate", args, 2)?;
    let layout = string_arg(args, 0)?;
    let text = string_arg(args, 1)?;
    parse(layout, text).map(time_object)
}

fn unix_epoch(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("unixEpoch", args, 1)?;
    Ok(Value::from(time_value(&args[0])?.unix_secs().to_string()))
}

/// Time since the date, rounded to the second, as a Go duration string.
fn ago(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("ago", args, 1)?;
    let t = date_arg(&args[0]);
    let since = Time::now().nanos - t.nanos;
    Ok(Value::from(format_duration(round_duration(
        since,
        NANOS_PER_SEC,
    ))))
}

/// Seconds (an int64 or a decimal string) as a Go duration string; anything else is 0s.
/// Helm passes a template literal as Go `int`, which Sprig does not accept (it prints 0s);
/// our values do not tell `int` from `int64`, so every integer counts as seconds here.
fn duration(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("duration", args, 1)?;
    let secs = match &args[0] {
        Value::Int(i) => *i,
        Value::String(s) => s.parse::<i64>().unwrap_or(0),
        _ => 0,
    };
    Ok(Value::from(format_duration(
        i128::from(secs).saturating_mul(NANOS_PER_SEC),
    )))
}

/// The largest whole unit of a duration (`2h30m` → `2h`); a month is 30 days, a year 365.
/// Integers are nanoseconds (see [`duration`] on int vs int64).
fn duration_round(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("durationRound", args, 1)?;
    let d: i128 = match &args[0] {
        Value::String(s) => parse_duration(s).unwrap_or(0),
        Value::Int(i) => i128::from(*i),
        Value::Object(o) if o.type_name() == "time.Time" => {
            Time::from_go_string(&o.display()).map_or(0, |t| Time::now().nanos - t.nanos)
        }
        _ => 0,
    };
    let u = d.unsigned_abs();
    let second = NANOS_PER_SEC as u128;
    let units: [(u128, &str); 6] = [
        (second * 3600 * 24 * 365, "y"),
        (second * 3600 * 24 * 30, "mo"),
        (second * 3600 * 24, "d"),
        (second * 3600, "h"),
        (second * 60, "m"),
        (second, "s"),
    ];
    let out = units
        .iter()
        .find(|(unit, _)| u > *unit)
        .map_or("0s".to_string(), |(unit, suffix)| {
            format!("{}{suffix}", u / unit)
        });
    Ok(Value::from(out))
}

/// `Duration.Round(m)`: halves away from zero.
fn round_duration(d: i128, m: i128) -> i128 {
    let r = d % m;
    if d < 0 {
        if -r + -r < m { d - r } else { d - r - m }
    } else if r + r < m {
        d - r
    } else {
        d + m - r
    }
}

/// Go's `Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
fn format_duration(d: i128) -> String {
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < NANOS_PER_SEC as u128 {
        if u == 0 {
            return "0s".to_string();
        }
        let (scaled, prec, unit) = if u < 1_000 {
            (u, 0, "ns")
        } else if u < 1_000_000 {
            (u, 3, "µs")
        } else {
            (u, 6, "ms")
        };
        out.push_str(&fraction(scaled, prec));
        out.push_str(unit);
    } else {
        let secs = u / NANOS_PER_SEC as u128;
        let frac = u % NANOS_PER_SEC as u128;
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&fraction(s * NANOS_PER_SEC as u128 + frac, 9));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// `v / 10^prec` with the fraction's trailing zeros (and a bare dot) dropped.
fn fraction(v: u128, prec: u32) -> String {
    let p = 10u128.pow(prec);
    let whole = v / p;
    let frac = v % p;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Go's `time.ParseDuration`, in nanoseconds.
fn parse_duration(s: &str) -> Result<i128, FuncError> {
    let invalid = || FuncError(format!("time: invalid duration {}", go_quote(s)));
    let mut rest = s;
    let neg = match rest.chars().next() {
        Some('-') => {
            rest = &rest[1..];
            true
        }
        Some('+') => {
            rest = &rest[1..];
            false
        }
        _ => false,
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(a) => {
                let n = a.bytes().take_while(u8::is_ascii_digit).count();
                a.split_at(n)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(after.len(), |(i, _)| i);
        let (unit, after) = after.split_at(unit_len);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS_PER_SEC,
            "m" => 60 * NANOS_PER_SEC,
            "h" => 3600 * NANOS_PER_SEC,
            "" => {
                return Err(FuncError(format!(
                    "time: missing unit in duration {}",
                    go_quote(s)
                )));
            }
            other => {
                return Err(FuncError(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(other),
                    go_quote(s)
                )));
            }
        };
        let whole: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut value = whole.checked_mul(scale).ok_or_else(invalid)?;
        let mut frac_scale = scale;
        for digit in frac_part.bytes() {
            frac_scale /= 10;
            value += i128::from(digit - b'0') * frac_scale;
        }
        total = total.checked_add(value).ok_or_else(invalid)?;
        if total > i128::from(i64::MAX) {
            return Err(invalid());
        }
        rest = after;
    }
    Ok(if neg { -total } else { total })
}

/// One piece of a Go layout.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    Tz,
    Iso8601Tz,
    Iso8601SecondsTz,
    Iso8601ShortTz,
    Iso8601ColonTz,
    Iso8601ColonSecondsTz,
    NumTz,
    NumSecondsTz,
    NumShortTz,
    NumColonTz,
    NumColonSecondsTz,
    /// `.000`/`,000`: exactly n digits.
    FracZero(usize, char),
    /// `.999`/`,999`: up to n digits, trailing zeros dropped.
    FracNine(usize, char),
}

/// Go's `nextStdChunk`: the literal text before the next layout element, the element, and
/// the rest of the layout.
fn next_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let starts = |i: usize, s: &str| layout[i..].starts_with(s);
    for i in 0..b.len() {
        let found: Option<(Std, usize)> = match b[i] {
            b'J' if starts(i, "Jan") => Some(if starts(i, "January") {
                (Std::LongMonth, 7)
            } else {
                (Std::Month, 3)
            }),
            b'M' if starts(i, "Mon") => Some(if starts(i, "Monday") {
                (Std::LongWeekDay, 6)
            } else {
                (Std::WeekDay, 3)
            }),
            b'M' if starts(i, "MST") => Some((Std::Tz, 3)),
            b'0' => match b.get(i + 1) {
                Some(b'1') => Some((Std::ZeroMonth, 2)),
                Some(b'2') => Some((Std::ZeroDay, 2)),
                Some(b'3') => Some((Std::ZeroHour12, 2)),
                Some(b'4') => Some((Std::ZeroMinute, 2)),
                Some(b'5') => Some((Std::ZeroSecond, 2)),
                Some(b'6') => Some((Std::Year, 2)),
                Some(b'0') if b.get(i + 2) == Some(&b'2') => Some((Std::ZeroYearDay, 3)),
                _ => None,
            },
            b'1' => Some(if b.get(i + 1) == Some(&b'5') {
                (Std::Hour, 2)
            } else {
                (Std::NumMonth, 1)
            }),
            b'2' => Some(if starts(i, "2006") {
                (Std::LongYear, 4)
            } else {
                (Std::Day, 1)
            }),
            b'_' if b.get(i + 1) == Some(&b'2') => {
                if starts(i + 1, "2006") {
                    // `_2006` is a literal underscore followed by the year.
                    return (&layout[..i + 1], Some(Std::LongYear), &layout[i + 5..]);
                }
                Some((Std::UnderDay, 2))
            }
            b'_' if starts(i, "__2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if b.get(i + 1) == Some(&b'M') => Some((Std::PM, 2)),
            b'p' if b.get(i + 1) == Some(&b'm') => Some((Std::Pm, 2)),
            b'-' => [
                ("-070000", Std::NumSecondsTz),
                ("-07:00:00", Std::NumColonSecondsTz),
                ("-0700", Std::NumTz),
                ("-07:00", Std::NumColonTz),
                ("-07", Std::NumShortTz),
            ]
            .into_iter()
            .find(|(p, _)| starts(i, p))
            .map(|(p, s)| (s, p.len())),
            b'Z' => [
                ("Z070000", Std::Iso8601SecondsTz),
                ("Z07:00:00", Std::Iso8601ColonSecondsTz),
                ("Z0700", Std::Iso8601Tz),
                ("Z07:00", Std::Iso8601ColonTz),
                ("Z07", Std::Iso8601ShortTz),
            ]
            .into_iter()
            .find(|(p, _)| starts(i, p))
            .map(|(p, s)| (s, p.len())),
            c @ (b'.' | b',') if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let digit = b[i + 1];
                let mut j = i + 1;
                while b.get(j) == Some(&digit) {
                    j += 1;
                }
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    let n = j - (i + 1);
                    let sep = char::from(c);
                    Some((
                        if digit == b'0' {
                            Std::FracZero(n, sep)
                        } else {
                            Std::FracNine(n, sep)
                        },
                        j - i,
                    ))
                }
            }
            _ => None,
        };
        if let Some((std, len)) = found {
            return (&layout[..i], Some(std), &layout[i + len..]);
        }
    }
    (layout, None, "")
}

fn pad(out: &mut String, v: i64, width: usize) {
    if v < 0 {
        out.push('-');
    }
    out.push_str(&format!("{:0width$}", v.unsigned_abs()));
}

/// Go's `Time.Format`.
fn format(t: &Time, layout: &str) -> String {
    let c = t.civil();
    let mut out = String::new();
    let mut rest = layout;
    loop {
        let (prefix, std, after) = next_chunk(rest);
        out.push_str(prefix);
        let Some(std) = std else { break };
        rest = after;
        let hour12 = match c.hour % 12 {
            0 => 12,
            h => h,
        };
        match std {
            Std::Year => pad(&mut out, (c.year % 100).abs(), 2),
            Std::LongYear => pad(&mut out, c.year, 4),
            Std::Month => out.push_str(&MONTHS[c.month as usize - 1][..3]),
            Std::LongMonth => out.push_str(MONTHS[c.month as usize - 1]),
            Std::NumMonth => out.push_str(&c.month.to_string()),
            Std::ZeroMonth => pad(&mut out, i64::from(c.month), 2),
            Std::WeekDay => out.push_str(&DAYS[c.weekday][..3]),
            Std::LongWeekDay => out.push_str(DAYS[c.weekday]),
            Std::Day => out.push_str(&c.day.to_string()),
            Std::UnderDay => out.push_str(&format!("{:>2}", c.day)),
            Std::ZeroDay => pad(&mut out, i64::from(c.day), 2),
            Std::UnderYearDay => out.push_str(&format!("{:>3}", c.yday)),
            Std::ZeroYearDay => pad(&mut out, i64::from(c.yday), 3),
            Std::Hour => pad(&mut out, i64::from(c.hour), 2),
            Std::Hour12 => out.push_str(&hour12.to_string()),
            Std::ZeroHour12 => pad(&mut out, i64::from(hour12), 2),
            Std::Minute => out.push_str(&c.minute.to_string()),
            Std::ZeroMinute => pad(&mut out, i64::from(c.minute), 2),
            Std::Second => out.push_str(&c.second.to_string()),
            Std::ZeroSecond => pad(&mut out, i64::from(c.second), 2),
            Std::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Std::Tz => out.push_str(&c.abbrev),
            Std::FracZero(n, sep) | Std::FracNine(n, sep) => {
                let digits = format!("{:09}", c.nano);
                let mut frac = digits[..n.min(9)].to_string();
                if matches!(std, Std::FracNine(..)) {
                    frac = frac.trim_end_matches('0').to_string();
                    if frac.is_empty() {
                        continue;
                    }
                }
                out.push(sep);
                out.push_str(&frac);
            }
            tz => {
                let iso = matches!(
                    tz,
                    Std::Iso8601Tz
                        | Std::Iso8601SecondsTz
                        | Std::Iso8601ShortTz
                        | Std::Iso8601ColonTz
                        | Std::Iso8601ColonSecondsTz
                );
                if iso && c.offset == 0 {
                    out.push('Z');
                    continue;
                }
                let abs = c.offset.abs();
                out.push(if c.offset < 0 { '-' } else { '+' });
                pad(&mut out, i64::from(abs / 3600), 2);
                let colon = matches!(
                    tz,
                    Std::Iso8601ColonTz
                        | Std::NumColonTz
                        | Std::Iso8601ColonSecondsTz
                        | Std::NumColonSecondsTz
                );
                if colon {
                    out.push(':');
                }
                if !matches!(tz, Std::NumShortTz | Std::Iso8601ShortTz) {
                    pad(&mut out, i64::from(abs / 60 % 60), 2);
                }
                if matches!(
                    tz,
                    Std::Iso8601SecondsTz
                        | Std::NumSecondsTz
                        | Std::NumColonSecondsTz
                        | Std::Iso8601ColonSecondsTz
                ) {
                    if colon {
                        out.push(':');
                    }
                    pad(&mut out, i64::from(abs % 60), 2);
                }
            }
        }
    }
    out
}

/// What parsing has gathered so far.
#[derive(Default)]
struct Parsed {
    year: i64,
    month: Option<u32>,
    day: Option<u32>,
    yday: Option<u32>,
    hour: u32,
    minute: u32,
    second: u32,
    nano: u32,
    pm: Option<bool>,
    utc: bool,
    offset: Option<i32>,
    zone_name: Option<String>,
}

/// Up to `max` leading digits (at least one; exactly `max` when `fixed`).
fn take_num(s: &str, max: usize, fixed: bool) -> Option<(u32, &str)> {
    let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n == 0 || (fixed && n < max) {
        return None;
    }
    let v = s[..n].parse().ok()?;
    Some((v, &s[n..]))
}

fn take_name<'a>(s: &'a str, names: &[&str], len: Option<usize>) -> Option<(usize, &'a str)> {
    names.iter().enumerate().find_map(|(i, name)| {
        let name = len.map_or(*name, |l| &name[..l]);
        let head = s.get(..name.len())?;
        head.eq_ignore_ascii_case(name)
            .then(|| (i, &s[name.len()..]))
    })
}

/// Go's parse of a zone abbreviation: three to five upper-case letters (and `ChST`/`MeST`).
fn take_zone_name(s: &str) -> Option<(String, &str)> {
    for special in ["ChST", "MeST"] {
        if let Some(rest) = s.strip_prefix(special) {
            return Some((special.to_string(), rest));
        }
    }
    if let Some(rest) = s.strip_prefix("UTC") {
        return Some(("UTC".to_string(), rest));
    }
    if s.starts_with(['+', '-']) {
        // A numeric abbreviation such as `+03`: a signed hour count of at most 12.
        let digits = s[1..].bytes().take_while(u8::is_ascii_digit).count();
        let hours: u32 = s[1..1 + digits].parse().ok()?;
        return (hours <= 12).then(|| (s[..1 + digits].to_string(), &s[1 + digits..]));
    }
    if let Some(rest) = s.strip_prefix("GMT") {
        // `GMT`, or `GMT` with a signed hour offset such as `GMT+3`.
        let sign_len = usize::from(rest.starts_with(['+', '-']));
        let digits = rest[sign_len..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let len = if sign_len == 1 && digits > 0 {
            1 + digits
        } else {
            0
        };
        return Some((format!("GMT{}", &rest[..len]), &rest[len..]));
    }
    let n = s.bytes().take(5).take_while(u8::is_ascii_uppercase).count();
    match n {
        3 => Some((s[..3].to_string(), &s[3..])),
        4 | 5 if s.as_bytes()[n - 1] == b'T' => Some((s[..n].to_string(), &s[n..])),
        4 | 5 if s.as_bytes()[2] == b'T' => Some((s[..3].to_string(), &s[3..])),
        _ => None,
    }
}

fn parse_fraction(s: &str, sep_required: bool) -> Option<(u32, &str)> {
    let b = s.as_bytes();
    if !(b.first() == Some(&b'.') || b.first() == Some(&b',')) {
        return if sep_required { None } else { Some((0, s)) };
    }
    let n = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    let digits = &s[1..1 + n];
    let mut nano = 0u32;
    for (i, d) in digits.bytes().take(9).enumerate() {
        nano += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
    }
    Some((nano, &s[1 + n..]))
}

/// Go's `time.ParseInLocation(layout, value, Local)` with Local being UTC.
fn parse(layout: &str, value: &str) -> Result<Time, FuncError> {
    let fail = |val: &str, elem: &str, extra: &str| {
        FuncError(format!(
            "parsing time {} as {}: cannot parse {} as {}{extra}",
            go_quote(value),
            go_quote(layout),
            go_quote(val),
            go_quote(elem)
        ))
    };
    let range_err = |what: &str| {
        FuncError(format!(
            "parsing time {}: {what} out of range",
            go_quote(value)
        ))
    };
    // Go leaves the year at 0 when the layout has none.
    let mut p = Parsed::default();
    let mut lay = layout;
    let mut val = value;
    loop {
        let (prefix, std, after) = next_chunk(lay);
        let elem = &lay[prefix.len()..lay.len() - after.len()];
        val = val
            .strip_prefix(prefix)
            .ok_or_else(|| fail(val, prefix, ""))?;
        let Some(std) = std else {
            if !val.is_empty() {
                return Err(FuncError(format!(
                    "parsing time {}: extra text: {}",
                    go_quote(value),
                    go_quote(val)
                )));
            }
            break;
        };
        lay = after;
        let here = val;
        let bad = || fail(here, elem, "");
        match std {
            Std::Year => {
                let (y, rest) = take_num(val, 2, true).ok_or_else(bad)?;
                p.year = i64::from(y) + if y >= 69 { 1900 } else { 2000 };
                val = rest;
            }
            Std::LongYear => {
                let (y, rest) = take_num(val, 4, true).ok_or_else(bad)?;
                p.year = i64::from(y);
                val = rest;
            }
            Std::Month | Std::LongMonth => {
                let len = (std == Std::Month).then_some(3);
                let (m, rest) = take_name(val, &MONTHS, len).ok_or_else(bad)?;
                p.month = Some(m as u32 + 1);
                val = rest;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (m, rest) = take_num(val, 2, std == Std::ZeroMonth).ok_or_else(bad)?;
                if !(1..=12).contains(&m) {
                    return Err(range_err("month"));
                }
                p.month = Some(m);
                val = rest;
            }
            Std::WeekDay | Std::LongWeekDay => {
                let len = (std == Std::WeekDay).then_some(3);
                let (_, rest) = take_name(val, &DAYS, len).ok_or_else(bad)?;
                val = rest;
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay {
                    val = val.strip_prefix(' ').unwrap_or(val);
                }
                let (d, rest) = take_num(val, 2, std == Std::ZeroDay).ok_or_else(bad)?;
                p.day = Some(d);
                val = rest;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                if std == Std::UnderYearDay {
                    val = val.trim_start_matches(' ');
                }
                let (d, rest) = take_num(val, 3, std == Std::ZeroYearDay).ok_or_else(bad)?;
                p.yday = Some(d);
                val = rest;
            }
            Std::Hour => {
                let (h, rest) = take_num(val, 2, false).ok_or_else(bad)?;
                if h >= 24 {
                    return Err(range_err("hour"));
                }
                p.hour = h;
                val = rest;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (h, rest) = take_num(val, 2, std == Std::ZeroHour12).ok_or_else(bad)?;
                if h > 12 {
                    return Err(range_err("hour"));
                }
                p.hour = h;
                val = rest;
            }
            Std::Minute | Std::ZeroMinute => {
                let (m, rest) = take_num(val, 2, std == Std::ZeroMinute).ok_or_else(bad)?;
                if m >= 60 {
                    return Err(range_err("minute"));
                }
                p.minute = m;
                val = rest;
            }
            Std::Second | Std::ZeroSecond => {
                let (s, rest) = take_num(val, 2, std == Std::ZeroSecond).ok_or_else(bad)?;
                if s >= 60 {
                    return Err(range_err("second"));
                }
                p.second = s;
                val = rest;
                // Go reads a fraction after the seconds even when the layout has none.
                let next_is_frac = matches!(
                    next_chunk(lay),
                    ("", Some(Std::FracZero(..) | Std::FracNine(..)), _)
                );
                let frac_follows = val.len() > 1
                    && matches!(val.as_bytes()[0], b'.' | b',')
                    && val.as_bytes()[1].is_ascii_digit();
                if !next_is_frac && frac_follows {
                    let (nano, rest) = parse_fraction(val, true).ok_or_else(bad)?;
                    p.nano = nano;
                    val = rest;
                }
            }
            Std::PM | Std::Pm => {
                let (am, pm) = if std == Std::PM {
                    ("AM", "PM")
                } else {
                    ("am", "pm")
                };
                if let Some(rest) = val.strip_prefix(pm) {
                    p.pm = Some(true);
                    val = rest;
                } else if let Some(rest) = val.strip_prefix(am) {
                    p.pm = Some(false);
                    val = rest;
                } else {
                    return Err(bad());
                }
            }
            Std::FracZero(n, _) => {
                let b = val.as_bytes();
                if b.len() < n + 1 || !matches!(b[0], b'.' | b',') {
                    return Err(bad());
                }
                if !b[1..=n].iter().all(u8::is_ascii_digit) {
                    return Err(bad());
                }
                let (nano, _) = parse_fraction(&val[..=n], true).ok_or_else(bad)?;
                p.nano = nano;
                val = &val[n + 1..];
            }
            Std::FracNine(..) => {
                let (nano, rest) = parse_fraction(val, false).ok_or_else(bad)?;
                p.nano = nano;
                val = rest;
            }
            Std::Tz => {
                let (name, rest) = take_zone_name(val).ok_or_else(bad)?;
                if name == "UTC" {
                    p.utc = true;
                }
                p.zone_name = Some(name);
                val = rest;
            }
            tz => {
                let iso = matches!(
                    tz,
                    Std::Iso8601Tz
                        | Std::Iso8601SecondsTz
                        | Std::Iso8601ShortTz
                        | Std::Iso8601ColonTz
                        | Std::Iso8601ColonSecondsTz
                );
                if iso && let Some(rest) = val.strip_prefix('Z') {
                    p.utc = true;
                    val = rest;
                    continue;
                }
                let sign = match val.as_bytes().first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(bad()),
                };
                let colon = matches!(
                    tz,
                    Std::Iso8601ColonTz
                        | Std::NumColonTz
                        | Std::Iso8601ColonSecondsTz
                        | Std::NumColonSecondsTz
                );
                let mut rest = &val[1..];
                let (hh, r) = take_num(rest, 2, true).ok_or_else(bad)?;
                rest = r;
                let mut mm = 0;
                let mut ss = 0;
                if !matches!(tz, Std::NumShortTz | Std::Iso8601ShortTz) {
                    if colon {
                        rest = rest.strip_prefix(':').ok_or_else(bad)?;
                    }
                    let (m, r) = take_num(rest, 2, true).ok_or_else(bad)?;
                    mm = m;
                    rest = r;
                }
                if matches!(
                    tz,
                    Std::Iso8601SecondsTz
                        | Std::NumSecondsTz
                        | Std::NumColonSecondsTz
                        | Std::Iso8601ColonSecondsTz
                ) {
                    if colon {
                        rest = rest.strip_prefix(':').ok_or_else(bad)?;
                    }
                    let (s, r) = take_num(rest, 2, true).ok_or_else(bad)?;
                    ss = s;
                    rest = r;
                }
                if hh > 24 || mm > 60 || ss > 60 {
                    return Err(range_err("time zone offset"));
                }
                p.offset = Some(sign * (hh * 3600 + mm * 60 + ss) as i32);
                val = rest;
            }
        }
    }
    build(p, value)
}

fn build(p: Parsed, value: &str) -> Result<Time, FuncError> {
    let range_err = |what: &str| {
        FuncError(format!(
            "parsing time {}: {what} out of range",
            go_quote(value)
        ))
    };
    let mut hour = p.hour;
    match p.pm {
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    let year = i32::try_from(p.year).map_err(|_| range_err("year"))?;
    let date = match (p.yday, p.month, p.day) {
        (Some(yday), month, day) => {
            let d = NaiveDate::from_yo_opt(year, yday).ok_or_else(|| range_err("day-of-year"))?;
            if month.is_some_and(|m| m != d.month()) || day.is_some_and(|x| x != d.day()) {
                return Err(range_err("day-of-year"));
            }
            d
        }
        (None, month, day) => NaiveDate::from_ymd_opt(year, month.unwrap_or(1), day.unwrap_or(1))
            .ok_or_else(|| range_err("day"))?,
    };
    let local: NaiveDateTime = date
        .and_hms_opt(hour, p.minute, p.second)
        .ok_or_else(|| range_err("hour"))?;
    let local_secs = local.and_utc().timestamp();
    let at = |secs: i64| i128::from(secs) * NANOS_PER_SEC + i128::from(p.nano);
    if p.utc {
        return Ok(Time {
            nanos: at(local_secs),
            zone: Zone::Utc,
            mono: None,
        });
    }
    if let Some(offset) = p.offset {
        let name = p.zone_name.unwrap_or_default();
        // Local (UTC) is used when it matches the offset and the name.
        let zone = if offset == 0 && (name.is_empty() || name == "UTC") {
            Zone::Utc
        } else {
            Zone::Fixed { name, offset }
        };
        return Ok(Time {
            nanos: at(local_secs - i64::from(offset)),
            zone,
            mono: None,
        });
    }
    if let Some(name) = p.zone_name {
        // An unknown abbreviation gets a made-up zone without moving the instant; only
        // `GMT±h` gives it an offset.
        let offset = name
            .strip_prefix("GMT")
            .filter(|r| !r.is_empty())
            .and_then(|r| r.parse::<i32>().ok())
            .map_or(0, |h| h * 3600);
        return Ok(Time {
            nanos: at(local_secs),
            zone: Zone::Fixed { name, offset },
            mono: None,
        });
    }
    Ok(Time {
        nanos: at(local_secs),
        zone: Zone::Utc,
        mono: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::random::tests::call_seeded;
    use super::*;
    use crate::gofmt::format_value;

    fn call(name: &str, args: &[Value]) -> String {
        match call_seeded(b"t", name, args) {
            Ok(v) => format_value(&v),
            Err(e) => format!("error: {}", e.0),
        }
    }

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    fn parsed(layout: &str, text: &str) -> Value {
        call_seeded(b"t", "toDate", &[s(layout), s(text)]).expect("toDate")
    }

    #[test]
    fn formats_every_layout_element_like_go() {
        // Printed by Helm 4.2.3 for `date "<layout>" 1700000123`.
        let layout = "Mon Monday Jan January 1 01 2 02 _2 __2 002 3 03 15 4 04 5 05 06 2006 PM pm .000 .999 ,000 .9 Z07 Z0700 Z07:00 -07 -0700 -07:00 -07:00:00 -070000 MST";
        assert_eq!(
            call("date", &[s(layout), Value::Int(1_700_000_123)]),
            "Tue Tuesday Nov November 11 11 14 14 14 318 318 10 10 22 15 15 23 23 23 2023 PM pm .000  ,000  Z Z Z +00 +0000 +00:00 +00:00:00 +000000 UTC"
        );
    }

    #[test]
    fn zones_come_from_the_tz_database() {
        // Printed by Helm 4.2.3.
        assert_eq!(
            call(
                "dateInZone",
                &[
                    s("2006-01-02 15:04:05 MST -0700 Z07:00"),
                    Value::Int(1_700_000_000),
                    s("America/New_York")
                ]
            ),
            "2023-11-14 17:13:20 EST -0500 -05:00"
        );
        assert_eq!(
            call(
                "dateInZone",
                &[s("15:04 MST"), Value::Int(1_700_000_000), s("Nowhere/X")]
            ),
            "22:13 UTC"
        );
        assert_eq!(
            call(
                "htmlDateInZone",
                &[Value::Int(1_700_000_000), s("Asia/Kolkata")]
            ),
            "2023-11-15"
        );
        assert_eq!(
            call(
                "date_in_zone",
                &[
                    s("Z07:00 -07:00:00"),
                    Value::Int(1_700_000_000),
                    s("Asia/Kathmandu")
                ]
            ),
            "+05:45 +05:45:00"
        );
        let t = parsed(
            "2006-01-02 15:04:05.000000000",
            "2024-07-01 12:00:00.123456789",
        );
        assert_eq!(
            call(
                "dateInZone",
                &[
                    s("2006-01-02T15:04:05.999999999Z07:00 MST"),
                    t,
                    s("Europe/Berlin")
                ]
            ),
            "2024-07-01T14:00:00.123456789+02:00 CEST"
        );
    }

    #[test]
    fn to_date_parses_like_go_and_prints_time_string() {
        // Printed by Helm 4.2.3.
        for (layout, text, want) in [
            ("2006-01-02", "2024-03-05", "2024-03-05 00:00:00 +0000 UTC"),
            ("2006-01-02", "bad", "0001-01-01 00:00:00 +0000 UTC"),
            (
                "2006-01-02 15:04:05.000 -0700",
                "2024-03-05 10:11:12.345 +0530",
                "2024-03-05 10:11:12.345 +0530 +0530",
            ),
            (
                "2006-01-02T15:04:05Z07:00",
                "2024-03-05T10:11:12.5Z",
                "2024-03-05 10:11:12.5 +0000 UTC",
            ),
            (
                "2006-01-02 MST",
                "2024-03-05 PDT",
                "2024-03-05 00:00:00 +0000 PDT",
            ),
            (
                "Jan 2 2006 3:04PM",
                "Mar 5 2024 1:07AM",
                "2024-03-05 01:07:00 +0000 UTC",
            ),
        ] {
            assert_eq!(call("toDate", &[s(layout), s(text)]), want, "{text}");
        }
    }

    /// `dateInZone` results printed by Helm 4.2.3 (`testdata/date_in_zone_oracle.tsv`): epochs
    /// from year 1 to 9999, layouts using every element, zones with odd offsets and DST.
    #[test]
    fn date_in_zone_matches_helm_table() {
        let table = include_str!("testdata/date_in_zone_oracle.tsv");
        let mut failures = Vec::new();
        for line in table.lines().filter(|l| !l.is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            let [epoch, layout, zone, want] = cols[..] else {
                panic!("bad line {line:?}")
            };
            let epoch: i64 = epoch.parse().expect("epoch");
            let got = call("dateInZone", &[s(layout), Value::Int(epoch), s(zone)]);
            if got != want {
                failures.push(format!(
                    "{epoch} {layout:?} {zone}: got {got:?}, want {want:?}"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// `toDate` results printed by Helm 4.2.3 (`testdata/todate_oracle.tsv`).
    #[test]
    fn to_date_matches_helm_table() {
        let table = include_str!("testdata/todate_oracle.tsv");
        for line in table.lines().filter(|l| !l.is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            let [layout, text, want] = cols[..] else {
                panic!("bad line {line:?}")
            };
            assert_eq!(
                call("toDate", &[s(layout), s(text)]),
                want,
                "{layout} | {text}"
            );
        }
    }

    #[test]
    fn time_values_expose_go_methods_and_json() {
        let t = parsed("2006-01-02", "2024-03-05");
        let Value::Object(o) = &t else {
            panic!("not an object")
        };
        assert_eq!(o.type_name(), "time.Time");
        assert_eq!(o.field("Year"), Some(Value::Int(2024)));
        assert_eq!(o.field("Month"), Some(s("March")));
        assert_eq!(o.field("Weekday"), Some(s("Tuesday")));
        assert_eq!(o.call("Format", &[s("Jan _2")]), Some(Ok(s("Mar  5"))));
        assert_eq!(o.to_data(), s("2024-03-05T00:00:00Z"));
        assert_eq!(call("unixEpoch", std::slice::from_ref(&t)), "1709596800");
        assert_eq!(
            call("dateModify", &[s("1h30m"), t.clone()]),
            "2024-03-05 01:30:00 +0000 UTC"
        );
        assert_eq!(
            call("date_modify", &[s("-2h"), t.clone()]),
            "2024-03-04 22:00:00 +0000 UTC"
        );
        assert_eq!(
            call("dateModify", &[s("bad"), t.clone()]),
            "2024-03-05 00:00:00 +0000 UTC"
        );
        assert_eq!(
            call("mustDateModify", &[s("bad"), t]),
            "error: time: invalid duration \"bad\""
        );
    }

    #[test]
    fn made_up_zones_survive_being_passed_on() {
        // Printed by Helm 4.2.3.
        let t = parsed("2006-01-02 -0700", "2024-03-05 +0530");
        assert_eq!(
            call("dateModify", &[s("1h"), t.clone()]),
            "2024-03-05 01:00:00 +0530 +0530"
        );
        assert_eq!(call("unixEpoch", &[t]), "1709577000");
        assert_eq!(
            call("toDate", &[s("2006-01-02 MST"), s("2024-03-05 +03")]),
            "2024-03-05 00:00:00 +0000 +03"
        );
        assert_eq!(
            call("toDate", &[s("2006-01-02 MST"), s("2024-03-05 +0530")]),
            "0001-01-01 00:00:00 +0000 UTC"
        );
    }

    #[test]
    fn now_prints_with_a_monotonic_reading() {
        let out = call("now", &[]);
        assert!(out.contains(" +0000 UTC m=+"), "{out}");
        let Ok(Value::Object(ref o)) = call_seeded(b"t", "now", &[]) else {
            panic!("now is a time")
        };
        let back = Time::from_go_string(&o.display()).expect("reparse");
        assert_eq!(back.go_string(), o.display());
    }

    #[test]
    fn non_integer_dates_mean_now() {
        let year = call("date", &[s("2006"), Value::Float(95.0)]);
        assert_eq!(
            year,
            call(
                "date",
                &[s("2006"), call_seeded(b"t", "now", &[]).expect("now")]
            )
        );
    }

    #[test]
    fn durations_follow_sprig() {
        // Printed by Helm 4.2.3 (integers there are int64 here; see `duration`).
        assert_eq!(call("duration", &[s("95")]), "1m35s");
        assert_eq!(call("duration", &[s("1.5")]), "0s");
        assert_eq!(call("duration", &[Value::Float(95.0)]), "0s");
        assert_eq!(call("duration", &[Value::Int(3725)]), "1h2m5s");
        for (input, want) in [
            ("2h30m", "2h"),
            ("-90s", "1m"),
            ("720h1s", "1mo"),
            ("8761h", "1y"),
            ("x", "0s"),
            ("1s", "0s"),
            ("1.5s", "1s"),
        ] {
            assert_eq!(call("durationRound", &[s(input)]), want, "{input}");
        }
    }

    #[test]
    fn go_duration_strings() {
        for (d, want) in [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (1_500_000, "1.5ms"),
            (90 * NANOS_PER_SEC, "1m30s"),
            (3_600 * NANOS_PER_SEC + 500_000_000, "1h0m0.5s"),
            (-2 * NANOS_PER_SEC, "-2s"),
        ] {
            assert_eq!(format_duration(d), want);
        }
        assert_eq!(parse_duration("1h2m3.5s").ok(), Some(3_723_500_000_000));
        assert_eq!(parse_duration("-1.5h").ok(), Some(-5_400 * NANOS_PER_SEC));
        assert!(parse_duration("1").is_err());
        assert_eq!(round_duration(1_499_999_999, NANOS_PER_SEC), NANOS_PER_SEC);
        assert_eq!(
            round_duration(1_500_000_000, NANOS_PER_SEC),
            2 * NANOS_PER_SEC
        );
    }
}
