//! The golden placement vectors (`tests/vectors/placement.json`), shared with the Python and
//! PHP suites.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub struct Vector {
    pub kind: String,
    pub key: Vec<u8>,
    pub route: Vec<u8>,
    pub stored: Vec<u8>,
    pub tagged: bool,
    /// `nodes[n - 1]` = expected node number with `n` masters.
    pub nodes: Vec<usize>,
}

pub fn load() -> Vec<Vector> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/placement.json"
    );
    let text = std::fs::read_to_string(path).expect("read tests/vectors/placement.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("placement.json is JSON");
    let b64 = |row: &serde_json::Value, field: &str| {
        STANDARD
            .decode(
                row[field]
                    .as_str()
                    .unwrap_or_else(|| panic!("{field} in {row}")),
            )
            .expect("base64")
    };
    json["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .map(|row| Vector {
            kind: row["kind"].as_str().expect("kind").to_owned(),
            key: b64(row, "key_b64"),
            route: b64(row, "route_b64"),
            stored: b64(row, "stored_b64"),
            tagged: row["tagged"].as_bool().expect("tagged"),
            nodes: row["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .map(|n| n.as_u64().expect("node number") as usize)
                .collect(),
        })
        .collect()
}

/// One opt-in placement of `tests/vectors/placement_modes.json`: the config fragment that
/// chooses it and its vectors.
pub struct Mode {
    pub name: String,
    pub config: serde_json::Value,
    pub vectors: Vec<ModeVector>,
}

pub struct ModeVector {
    pub kind: String,
    pub key: Vec<u8>,
    pub route: Vec<u8>,
    pub stored: Vec<u8>,
    /// The 0-based index of the routing rule that placed the key, if one did.
    pub rule: Option<usize>,
    pub nodes: Vec<usize>,
}

pub fn load_modes() -> Vec<Mode> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/placement_modes.json"
    );
    let text = std::fs::read_to_string(path).expect("read tests/vectors/placement_modes.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("placement_modes.json");
    let b64 = |row: &serde_json::Value, field: &str| {
        STANDARD
            .decode(row[field].as_str().expect("base64 field"))
            .expect("base64")
    };
    json["modes"]
        .as_array()
        .expect("modes")
        .iter()
        .map(|mode| Mode {
            name: mode["name"].as_str().expect("name").to_owned(),
            config: mode["config"].clone(),
            vectors: mode["vectors"]
                .as_array()
                .expect("vectors")
                .iter()
                .map(|row| ModeVector {
                    kind: row["kind"].as_str().expect("kind").to_owned(),
                    key: b64(row, "key_b64"),
                    route: b64(row, "route_b64"),
                    stored: b64(row, "stored_b64"),
                    rule: row["rule"].as_u64().map(|r| r as usize),
                    nodes: row["nodes"]
                        .as_array()
                        .expect("nodes")
                        .iter()
                        .map(|n| n.as_u64().expect("node number") as usize)
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

/// `tests/vectors/distributions.json`: keys, and per compatible distribution the config and
/// the node the peer itself put each key on.
pub struct Distributions {
    pub keys: Vec<Vec<u8>>,
    pub kinds: Vec<String>,
    pub cases: Vec<DistributionCase>,
}

pub struct DistributionCase {
    pub name: String,
    pub peer: String,
    pub config: serde_json::Value,
    /// `nodes[j]` = the node number the peer chose for `keys[j]`.
    pub nodes: Vec<usize>,
}

pub fn load_distributions() -> Distributions {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/distributions.json"
    );
    let text = std::fs::read_to_string(path).expect("read tests/vectors/distributions.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("distributions.json is JSON");
    let strings = |field: &str| -> Vec<String> {
        json[field]
            .as_array()
            .unwrap_or_else(|| panic!("{field}"))
            .iter()
            .map(|v| v.as_str().expect("text").to_owned())
            .collect()
    };
    Distributions {
        keys: strings("keys_b64")
            .iter()
            .map(|k| STANDARD.decode(k).expect("base64"))
            .collect(),
        kinds: strings("kinds"),
        cases: json["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .map(|case| DistributionCase {
                name: case["name"].as_str().expect("name").to_owned(),
                peer: case["peer"].as_str().expect("peer").to_owned(),
                config: case["config"].clone(),
                nodes: case["nodes"]
                    .as_str()
                    .expect("nodes")
                    .bytes()
                    .map(|d| (d - b'0') as usize)
                    .collect(),
            })
            .collect(),
    }
}
