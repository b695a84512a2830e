//! CSV and NDJSON directories end to end: files written by the test, mappings with
//! transforms turning text into numbers and dates, a relationship between two files, and the
//! graph checked through `grafter query` against the data the test wrote.

use crate::common;

use common::Project;
use serde_json::{Value, json};

/// (id, name, born, city id) of the people in `people.csv`.
const PEOPLE: [(i64, &str, &str, i64); 4] = [
    (1, "Ann", "1990-01-31", 10),
    (2, "Bob, Jr.", "1985-12-01", 20),
    (3, "Åse", "1970-06-15", 10),
    (4, "Dee", "2000-02-29", 30),
];

/// (id, name) of the cities in `cities.csv`.
const CITIES: [(i64, &str); 3] = [(10, "Oslo"), (20, "Bergen"), (30, "Tromsø")];

#[test]
fn csv_directory_loads_typed_properties_and_relationships() {
    let project = Project::new();
    let mut people = String::from("id,name,born,city_id\n");
    for (id, name, born, city) in PEOPLE {
        let name = if name.contains(',') { format!("\"{name}\"") } else { name.to_owned() };
        people.push_str(&format!("{id},{name},{born},{city}\n"));
    }
    project.write("data/people.csv", people);
    let mut cities = String::from("id,name\n");
    for (id, name) in CITIES {
        cities.push_str(&format!("{id},{name}\n"));
    }
    project.write("data/cities.csv", cities);
    project.write(
        "grafter.toml",
        r#"
[source]
url = "csv:data"

[[nodes]]
label = "Person"
table = "people"
key = "id"
exclude = ["city_id"]
[nodes.transform]
id = "int(id)"
born = "parse_date(born, '%Y-%m-%d')"

[[nodes]]
label = "City"
table = "cities"
key = "id"
[nodes.transform]
id = "int(id)"

[[relationships]]
name = "lives_in"
type = "LIVES_IN"
table = "people"
start = { label = "Person", key = "int(id)" }
end = { label = "City", key = "int(city_id)" }
"#,
    );
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    assert!(summary.mappings().iter().all(|m| m.rejected == 0), "{}", summary.json);

    let rows = project.query(
        "MATCH (p:Person)-[:LIVES_IN]->(c:City) \
         RETURN p.id AS id, p.name AS name, p.born AS born, c.id AS city_id, c.name AS city ORDER BY id",
    );
    let expected: Vec<Value> = PEOPLE
        .iter()
        .map(|(id, name, born, city_id)| {
            let city = CITIES.iter().find(|(c, _)| c == city_id).unwrap().1;
            json!({"id": id, "name": name, "born": born, "city_id": city_id, "city": city})
        })
        .collect();
    assert_eq!(rows.into_iter().map(Value::Object).collect::<Vec<_>>(), expected);

    // parse_date made dates, not text: every birth date compares as a date.
    let dates = project.query_int("MATCH (p:Person) WHERE p.born >= date('0001-01-01') RETURN count(p) AS n");
    assert_eq!(dates, PEOPLE.len() as i64);
    assert_eq!(project.query_int("MATCH (c:City) RETURN count(c) AS n"), CITIES.len() as i64);
    assert_eq!(project.query_int("MATCH ()-[r:LIVES_IN]->() RETURN count(r) AS n"), PEOPLE.len() as i64);
}

/// (sku, title, price, stock, added) of `products.ndjson`; price and stock arrive as text.
const PRODUCTS: [(&str, &str, &str, &str, &str); 3] = [
    ("A1", "Lamp", "12.50", "3", "2023-01-05"),
    ("B2", "Desk \"Pro\"", "99.00", "1", "2023-02-10"),
    ("C3", "Chair", "45.25", "0", "2023-03-15"),
];

/// (order number, sku, quantity) of `orders.jsonl`: one product per order.
const ORDERS: [(i64, &str, i64); 4] = [(1, "A1", 2), (2, "B2", 1), (3, "A1", 5), (4, "C3", 4)];

#[test]
fn ndjson_directory_loads_typed_properties_and_relationships() {
    let project = Project::new();
    let products: String = PRODUCTS
        .iter()
        .map(|(sku, title, price, stock, added)| {
            let mut line = json!({"sku": sku, "title": title, "price": price, "stock": stock, "added": added});
            // Lines need not share their keys: a field only some products have is fine.
            if *sku == "B2" {
                line["tags"] = json!(["office"]);
            }
            format!("{line}\n")
        })
        .collect();
    project.write("data/products.ndjson", products);
    let orders: String = ORDERS
        .iter()
        .map(|(order, sku, qty)| format!("{}\n", json!({"order_no": order, "sku": sku, "qty": qty})))
        .collect();
    project.write("data/orders.jsonl", orders);
    project.write(
        "grafter.toml",
        r#"
[source]
url = "ndjson:data"

[[nodes]]
label = "Product"
table = "products"
key = "sku"
columns = ["sku", "title"]
[nodes.transform]
price = "float(price)"
stock = "int(stock)"
added = "parse_date(added, '%Y-%m-%d')"

[[nodes]]
label = "Order"
table = "orders"
key = "order_no"
columns = ["order_no"]

[[relationships]]
name = "order_lines"
type = "CONTAINS"
table = "orders"
start = { label = "Order", key = "order_no" }
end = { label = "Product", key = "sku" }
columns = ["qty"]
"#,
    );
    let summary = project.run(&[]);
    summary.assert_every_row_accounted_for();
    assert!(summary.mappings().iter().all(|m| m.rejected == 0), "{}", summary.json);
    assert_eq!(project.query_int("MATCH (o:Order) RETURN count(o) AS n"), ORDERS.len() as i64);

    let products = project.query(
        "MATCH (p:Product) \
         RETURN p.sku AS sku, p.title AS title, p.price AS price, p.stock AS stock, p.added AS added ORDER BY sku",
    );
    let expected: Vec<Value> = PRODUCTS
        .iter()
        .map(|(sku, title, price, stock, added)| {
            json!({
                "sku": sku,
                "title": title,
                "price": price.parse::<f64>().unwrap(),
                "stock": stock.parse::<i64>().unwrap(),
                "added": added,
            })
        })
        .collect();
    assert_eq!(products.into_iter().map(Value::Object).collect::<Vec<_>>(), expected);
    let dates = project.query_int("MATCH (p:Product) WHERE p.added >= date('0001-01-01') RETURN count(p) AS n");
    assert_eq!(dates, PRODUCTS.len() as i64, "parse_date made dates, not text");

    let lines = project.query(
        "MATCH (o:Order)-[r:CONTAINS]->(p:Product) \
         RETURN o.order_no AS order_no, p.sku AS sku, r.qty AS qty ORDER BY order_no, sku",
    );
    let expected: Vec<Value> =
        ORDERS.iter().map(|(order, sku, qty)| json!({"order_no": order, "sku": sku, "qty": qty})).collect();
    assert_eq!(lines.into_iter().map(Value::Object).collect::<Vec<_>>(), expected);
}

#[test]
fn a_csv_delimiter_that_is_not_one_ascii_character_is_refused_naming_its_line() {
    // It used to be accepted: `§` (U+00A7) was taken as the byte 0xA7, which splits its own
    // UTF-8 encoding, and the run failed on "the header name is not valid UTF-8" (exit 3);
    // a character above U+00FF silently became `,`.
    let project = Project::new();
    project.write("data/cities.csv", "id§name\n10§Oslo\n");
    let config = r#"
[source]
url = "csv:data"

[source.csv]
delimiter = "§"

[[nodes]]
label = "City"
table = "cities"
key = "id"
"#;
    project.write("grafter.toml", config);
    let line = common::line_of(config, "delimiter = ");
    for command in ["plan", "run"] {
        let output = project.grafter().arg(command).output().unwrap();
        let (stdout, stderr) = common::output_text(&output);
        assert_eq!(output.status.code(), Some(2), "grafter {command}:\nstdout: {stdout}\nstderr: {stderr}");
        assert!(stderr.contains(&format!("grafter.toml:{line}")), "the line is named:\n{stderr}");
        assert!(stderr.contains("one ASCII character"), "the rule is named:\n{stderr}");
    }
    assert!(!project.file("grafter.grafeo").exists(), "a config error must not create the graph store");
}
