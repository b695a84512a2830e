//! Property tests of PackStream: every value the crate can hold — each scalar, every Bolt
//! structure, unknown structures, lists and dictionaries nested in each other, and values big
//! enough to need every size of header — encodes, decodes back to itself, and takes exactly
//! the bytes `encoded_len` says; RUN messages carrying such values survive the trip too.

use grafter_bolt::handshake::Version;
use grafter_bolt::message::Request;
use grafter_bolt::packstream::value::{
    Date, DateTime, DateTimeZoneId, Duration, LegacyDateTimeZoneId, LocalDateTime, LocalTime, Node, Path, Point2D,
    Point3D, Relationship, Structure, Time, UnboundRelationship,
};
use grafter_bolt::packstream::{decode_value, encode_value, encoded_len};
use grafter_bolt::{BoltMap, BoltValue, StructFormat};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

/// Doubles that equal themselves (NaN is tested on its own, by its bits).
fn double() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("NaN never equals itself", |x| !x.is_nan())
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z]{0,3}", "\\PC{0,40}"]
}

fn properties() -> impl Strategy<Value = BoltMap> {
    btree_map(text(), scalar(), 0..4)
}

fn scalar() -> impl Strategy<Value = BoltValue> {
    prop_oneof![
        Just(BoltValue::Null),
        any::<bool>().prop_map(BoltValue::Boolean),
        any::<i64>().prop_map(BoltValue::Integer),
        // Each integer encoding's edges.
        prop::sample::select(vec![-17i64, -16, 127, 128, -128, -129, 32_767, 32_768, -32_769, 2_147_483_648, i64::MIN])
            .prop_map(BoltValue::Integer),
        double().prop_map(BoltValue::Float),
        vec(any::<u8>(), 0..300).prop_map(BoltValue::Bytes),
        text().prop_map(BoltValue::String),
    ]
}

/// Node, relationship and path, with element ids as `format` carries them (Bolt 4.4 has
/// none: they read back as the numeric id).
fn graph(format: StructFormat) -> impl Strategy<Value = BoltValue> {
    let v5 = format == StructFormat::Bolt5;
    let element = move |id: i64, given: String| if v5 { given } else { id.to_string() };
    let node = (any::<i64>(), vec("[A-Z][a-z]{0,6}", 0..3), properties(), text())
        .prop_map(move |(id, labels, properties, e)| Node { id, labels, properties, element_id: element(id, e) })
        .boxed();
    let unbound = (any::<i64>(), "[A-Z_]{1,8}", properties(), text())
        .prop_map(move |(id, rel_type, properties, e)| UnboundRelationship {
            id,
            rel_type,
            properties,
            element_id: element(id, e),
        })
        .boxed();
    let relationship = (any::<i64>(), any::<i64>(), any::<i64>(), "[A-Z_]{1,8}", properties(), text(), text(), text())
        .prop_map(move |(id, start, end, rel_type, properties, e, s, t)| Relationship {
            id,
            start_node_id: start,
            end_node_id: end,
            rel_type,
            properties,
            element_id: element(id, e),
            start_node_element_id: element(start, s),
            end_node_element_id: element(end, t),
        });
    prop_oneof![
        node.clone().prop_map(BoltValue::Node),
        relationship.prop_map(BoltValue::Relationship),
        unbound.clone().prop_map(BoltValue::UnboundRelationship),
        (vec(node, 0..3), vec(unbound, 0..3), vec(any::<i64>(), 0..6))
            .prop_map(|(nodes, rels, indices)| BoltValue::Path(Path { nodes, rels, indices })),
    ]
}

/// Temporal and spatial values; zoned date-times in the form `format` has.
fn temporal(format: StructFormat) -> impl Strategy<Value = BoltValue> {
    // Bolt 4.4 writes wall-clock seconds (UTC + offset): keep the sum inside i64.
    let seconds = -(1i64 << 60)..(1i64 << 60);
    let offset = -64_800i64..=64_800;
    let nanos = 0i64..1_000_000_000;
    let zoned = match format {
        StructFormat::Bolt5 => (seconds.clone(), nanos.clone(), "[A-Z][a-z]{2,8}/[A-Z][a-z]{2,8}")
            .prop_map(|(seconds, nanoseconds, tz_id)| {
                BoltValue::DateTimeZoneId(DateTimeZoneId { seconds, nanoseconds, tz_id })
            })
            .boxed(),
        StructFormat::Bolt4 => (seconds.clone(), nanos.clone(), "[A-Z][a-z]{2,8}/[A-Z][a-z]{2,8}")
            .prop_map(|(local_seconds, nanoseconds, tz_id)| {
                BoltValue::LegacyDateTimeZoneId(LegacyDateTimeZoneId { local_seconds, nanoseconds, tz_id })
            })
            .boxed(),
    };
    prop_oneof![
        any::<i64>().prop_map(|days| BoltValue::Date(Date { days })),
        (0i64..86_400_000_000_000, offset.clone())
            .prop_map(|(nanoseconds, tz_offset_seconds)| BoltValue::Time(Time { nanoseconds, tz_offset_seconds })),
        (0i64..86_400_000_000_000).prop_map(|nanoseconds| BoltValue::LocalTime(LocalTime { nanoseconds })),
        (seconds.clone(), nanos.clone(), offset).prop_map(|(seconds, nanoseconds, tz_offset_seconds)| {
            BoltValue::DateTime(DateTime { seconds, nanoseconds, tz_offset_seconds })
        }),
        zoned,
        (any::<i64>(), nanos)
            .prop_map(|(seconds, nanoseconds)| BoltValue::LocalDateTime(LocalDateTime { seconds, nanoseconds })),
        (any::<i64>(), any::<i64>(), any::<i64>(), any::<i64>()).prop_map(|(months, days, seconds, nanoseconds)| {
            BoltValue::Duration(Duration { months, days, seconds, nanoseconds })
        }),
        (any::<i64>(), double(), double()).prop_map(|(srid, x, y)| BoltValue::Point2D(Point2D { srid, x, y })),
        (any::<i64>(), double(), double(), double()).prop_map(|(srid, x, y, z)| BoltValue::Point3D(Point3D {
            srid,
            x,
            y,
            z
        })),
    ]
}

/// Every value, nested: lists, dictionaries and structures Bolt does not define hold any of
/// them, a few levels deep.
fn value(format: StructFormat) -> impl Strategy<Value = BoltValue> {
    let leaf = prop_oneof![4 => scalar(), 1 => graph(format), 2 => temporal(format)];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..8).prop_map(BoltValue::List),
            btree_map(text(), inner.clone(), 0..8).prop_map(BoltValue::Dictionary),
            // Tags Bolt leaves free come back as generic structures, fields and all.
            (prop::sample::select(vec![0x01u8, 0x20, 0x30, 0x41, 0x7A]), vec(inner, 0..4))
                .prop_map(|(tag, fields)| BoltValue::Structure(Structure { tag, fields })),
        ]
    })
}

fn round_trip(value: &BoltValue, format: StructFormat) -> Result<(), TestCaseError> {
    let mut bytes = Vec::new();
    encode_value(value, format, &mut bytes).map_err(|e| TestCaseError::fail(format!("encode: {e}")))?;
    prop_assert_eq!(encoded_len(value, format).map_err(|e| TestCaseError::fail(e.to_string()))?, bytes.len());
    let decoded = decode_value(&bytes, format).map_err(|e| TestCaseError::fail(format!("decode: {e}")))?;
    prop_assert_eq!(&decoded, value);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_bolt5_value_round_trips(value in value(StructFormat::Bolt5)) {
        round_trip(&value, StructFormat::Bolt5)?;
    }

    #[test]
    fn every_bolt4_value_round_trips(value in value(StructFormat::Bolt4)) {
        round_trip(&value, StructFormat::Bolt4)?;
    }

    #[test]
    fn run_messages_carry_any_parameters(query in text(), parameters in btree_map(text(), value(StructFormat::Bolt5), 0..6)) {
        let run = Request::Run { query, parameters, extra: vec![("db".to_owned(), BoltValue::from("shop"))] };
        let mut bytes = Vec::new();
        run.encode(Version::V5_7, &mut bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let decoded = Request::decode(&bytes, Version::V5_7).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(decoded, run);
    }

    #[test]
    fn nan_keeps_its_bits(bits in any::<u64>().prop_map(|b| b | 0x7ff0_0000_0000_0001)) {
        let nan = f64::from_bits(bits);
        let mut bytes = Vec::new();
        encode_value(&BoltValue::Float(nan), StructFormat::Bolt5, &mut bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        match decode_value(&bytes, StructFormat::Bolt5) {
            Ok(BoltValue::Float(back)) => prop_assert_eq!(back.to_bits(), bits),
            other => prop_assert!(false, "{other:?}"),
        }
    }
}

/// Sizes at and beyond each header's reach: 8-, 16- and 32-bit lengths for strings, bytes,
/// lists and dictionaries, and one value of several megabytes.
#[test]
fn huge_values_take_every_header_size() {
    for n in [15, 16, 255, 256, 65_535, 65_536, 70_000] {
        let values = [
            BoltValue::String("é".repeat(n / 2) + &"x".repeat(n % 2)),
            BoltValue::Bytes(vec![0xA5; n]),
            BoltValue::List((0..n as i64).map(BoltValue::Integer).collect()),
            BoltValue::Dictionary((0..n).map(|i| (format!("k{i}"), BoltValue::Integer(i as i64))).collect()),
        ];
        for value in &values {
            round_trip(value, StructFormat::Bolt5).unwrap_or_else(|e| panic!("{} of {n}: {e}", value.type_name()));
        }
    }
    let nested = BoltValue::List(
        (0..2_000)
            .map(|i| BoltValue::Dictionary(BoltMap::from([(format!("row{i}"), BoltValue::String("v".repeat(1_000)))])))
            .collect(),
    );
    round_trip(&nested, StructFormat::Bolt5).expect("a 2 MB list of dictionaries");
}
