//! Reading parameters (positional or named); a bad one is refused by name (`errors`).

use super::*;

/// Refuses parameters given to a method that takes none.
pub(super) fn no_params(params: &Params<'_>) -> Result<(), ErrorObjectOwned> {
    match params.as_str().map(str::trim) {
        None | Some("[]") | Some("{}") | Some("null") => Ok(()),
        Some(_) => Err(unexpected_params()),
    }
}

/// The device's record, or 4004 naming it.
pub(super) fn registered_device(s: &State, id: &DeviceId) -> RpcResult<Device> {
    s.device(id)
        .ok_or_else(|| not_found(format!("device {id} is not registered")))
}

/// The call's parameters by name: positional ones take `names` in order, named ones must be
/// among `names`. Absent parameters are simply missing from the map.
pub(super) fn named(
    params: &Params<'_>,
    names: &[&str],
) -> Result<Map<String, Value>, ErrorObjectOwned> {
    let expected = || format!("expected [{}] or {{\"name\": value}}", names.join(", "));
    let value: Value = if params.as_str().is_none() {
        Value::Array(Vec::new())
    } else {
        params
            .parse::<Value>()
            .map_err(|_| invalid("params", expected()))?
    };
    match value {
        Value::Array(items) => {
            if items.len() > names.len() {
                return Err(invalid(
                    "params",
                    format!(
                        "{} given, at most {}: {}",
                        items.len(),
                        names.len(),
                        expected()
                    ),
                ));
            }
            Ok(names
                .iter()
                .zip(items)
                .filter(|(_, v)| !v.is_null())
                .map(|(n, v)| (n.to_string(), v))
                .collect())
        }
        Value::Object(map) => {
            if let Some(unknown) = map.keys().find(|k| !names.contains(&k.as_str())) {
                return Err(invalid(
                    unknown,
                    format!("unknown parameter; {}", expected()),
                ));
            }
            Ok(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        _ => Err(invalid("params", expected())),
    }
}

pub(super) fn optional<T: DeserializeOwned>(
    map: &Map<String, Value>,
    name: &str,
) -> Result<Option<T>, ErrorObjectOwned> {
    map.get(name)
        .map(|v| serde_json::from_value(v.clone()).map_err(|e| invalid(name, e)))
        .transpose()
}

pub(super) fn required<T: DeserializeOwned>(
    map: &Map<String, Value>,
    name: &str,
) -> Result<T, ErrorObjectOwned> {
    optional(map, name)?.ok_or_else(|| invalid(name, "missing"))
}

/// Reads the single parameter `name`, positional or named.
pub(super) fn param<T: DeserializeOwned>(
    params: &Params<'_>,
    name: &str,
) -> Result<T, ErrorObjectOwned> {
    required(&named(params, &[name])?, name)
}

pub(super) fn parse_address(
    map: &Map<String, Value>,
    name: &str,
) -> Result<Address, ErrorObjectOwned> {
    required::<String>(map, name)?
        .parse()
        .map_err(|e| invalid(name, e))
}

pub(super) fn parse_device(
    map: &Map<String, Value>,
    name: &str,
) -> Result<DeviceId, ErrorObjectOwned> {
    required::<String>(map, name)?
        .parse()
        .map_err(|e| invalid(name, e))
}

pub(super) fn optional_address(
    map: &Map<String, Value>,
    name: &str,
) -> Result<Option<Address>, ErrorObjectOwned> {
    map.contains_key(name)
        .then(|| parse_address(map, name))
        .transpose()
}

pub(super) fn optional_device(
    map: &Map<String, Value>,
    name: &str,
) -> Result<Option<DeviceId>, ErrorObjectOwned> {
    map.contains_key(name)
        .then(|| parse_device(map, name))
        .transpose()
}

/// An H3 cell of any resolution, as hex or decimal.
pub(super) fn parse_area(text: &str) -> Result<CellIndex, ErrorObjectOwned> {
    groundwork_primitives::cell::parse_h3_index(text)
        .and_then(|r| CellIndex::try_from(r).ok())
        .ok_or_else(|| invalid("cell", format!("{text:?} is not an H3 cell index")))
}

// ---- JSON views of records ------------------------------------------------------------------
