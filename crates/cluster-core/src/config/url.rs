//! Masters from URLs, `redis://[[user]:password@]host[:port][/db]` (`rediss://` for TLS, with
//! the TLS settings as query parameters), `node_1` first. Parsed by the `url` crate; errors show
//! the URL with its user info hidden.

use percent_encoding::percent_decode_str;
use url::{Host, Url};

use super::checks::{port_number, unique_addresses};
use super::error::ConfigError;
use super::tls::{CertReqs, TlsCache, TlsOptions};
use super::types::{ClusterConfig, NodeConfig, Secret};
use crate::placement::node_name;

const SHAPE: &str = "expected redis://[[user]:password@]host[:port][/db] (rediss:// for TLS)";
const DEFAULT_PORT: u16 = 6379;

/// Validates the URLs as a whole: each is a master, in placement order.
pub fn parse_urls<S: AsRef<str>>(urls: &[S]) -> Result<ClusterConfig, ConfigError> {
    if urls.is_empty() {
        return Err(ConfigError::EmptyNodes);
    }
    let mut tls_cache = TlsCache::default();
    let masters = urls
        .iter()
        .enumerate()
        .map(|(i, url)| parse_url(node_name(i), url.as_ref(), &mut tls_cache))
        .collect::<Result<Vec<_>, _>>()?;
    let config = ClusterConfig::of_masters(masters);
    unique_addresses(&config)?;
    Ok(config)
}

pub(super) fn parse_url(
    name: String,
    text: &str,
    cache: &mut TlsCache,
) -> Result<NodeConfig, ConfigError> {
    let bad = |reason: &str| ConfigError::BadUrl {
        url: redact_url(text),
        reason: reason.to_owned(),
    };
    let url = Url::parse(text).map_err(|e| bad(&format!("{e} ({SHAPE})")))?;
    let tls = match url.scheme() {
        "redis" => false,
        "rediss" => true,
        _ => return Err(bad(SHAPE)),
    };
    let host = match url.host() {
        Some(Host::Ipv6(address)) => address.to_string(),
        Some(Host::Ipv4(address)) => address.to_string(),
        Some(Host::Domain(domain)) if !domain.is_empty() => {
            decode(domain).ok_or_else(|| bad("bad %-escape in the host"))?
        }
        _ => return Err(bad("no host")),
    };
    let port = port_number(
        &name,
        Some(i64::from(url.port().unwrap_or(DEFAULT_PORT))),
        || "a port outside 1..65535".to_owned(),
    )?;
    let username =
        Some(decode(url.username()).ok_or_else(|| bad("bad %-escape in the user name"))?)
            .filter(|user| !user.is_empty());
    let password = match url.password() {
        Some(password) => {
            Some(decode(password).ok_or_else(|| bad("bad %-escape in the password"))?)
        }
        None => None,
    }
    .filter(|password| !password.is_empty())
    .map(Secret::new);
    let db = match url.path().trim_start_matches('/') {
        "" => 0,
        path => path
            .parse::<i64>()
            .ok()
            .filter(|db| *db >= 0)
            .ok_or_else(|| bad("the path must be a database number"))?,
    };
    let at = format!("node '{name}'");
    let options = tls_options(url.query().unwrap_or(""), &at, &bad)?;
    if options.is_some() && !tls {
        return Err(bad("TLS parameters need a rediss:// URL"));
    }
    let mut node = NodeConfig::new(name, host, port);
    node.db = db;
    node.username = username;
    node.password = password;
    if tls {
        node.tls = Some(
            cache
                .settings(&options.unwrap_or_default())
                .map_err(|problem| ConfigError::Tls { at, problem })?,
        );
    }
    Ok(node)
}

/// The TLS settings given as query parameters (`?ssl_ca_certs=/etc/ca.pem`), `None` when there
/// are none.
fn tls_options(
    query: &str,
    at: &str,
    bad: &dyn Fn(&str) -> ConfigError,
) -> Result<Option<TlsOptions>, ConfigError> {
    let mut options = TlsOptions::default();
    let mut any = false;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(value).ok_or_else(|| bad("bad %-escape in the query"))?;
        match key {
            "ssl_ca_certs" => options.ca_certs = Some(value),
            "ssl_certfile" => options.certfile = Some(value),
            "ssl_keyfile" => options.keyfile = Some(value),
            "ssl_cert_reqs" => {
                options.cert_reqs = CertReqs::parse(&value).ok_or_else(|| ConfigError::Tls {
                    at: at.to_owned(),
                    problem: format!(
                        "'ssl_cert_reqs' must be 'required', 'optional' or 'none', got '{value}'"
                    ),
                })?;
            }
            "ssl_check_hostname" => {
                options.check_hostname = !matches!(value.as_str(), "false" | "0" | "no");
            }
            _ => {
                return Err(bad(&format!(
                    "unknown parameter '{key}' (known: ssl_ca_certs, ssl_certfile, ssl_keyfile, \
                     ssl_cert_reqs, ssl_check_hostname)"
                )));
            }
        }
        any = true;
    }
    Ok(any.then_some(options))
}

/// Percent-decoded text; `None` for a `%` not followed by two hex digits, or bytes that are
/// not UTF-8.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

/// The URL with any user info replaced, so errors never show a password.
pub fn redact_url(url: &str) -> String {
    // Everything before the last '@' may be a password (which may itself hold '/', ':' or an
    // unescaped '@'): keep only a scheme that comes before it.
    let Some(at) = url.rfind('@') else {
        return url.to_owned();
    };
    let scheme_end = url.find("://").map(|i| i + 3).filter(|&end| end <= at);
    format!("{}***{}", &url[..scheme_end.unwrap_or(0)], &url[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_host_port_and_db() {
        let config = parse_urls(&[
            "redis://app:p%40ss%2Fw@10.0.0.1:7000/3",
            "redis://[::1]:7001",
            "redis://:only-password@example.com",
        ])
        .unwrap();
        let [a, b, c] = &config.masters[..] else {
            panic!("three masters")
        };
        assert_eq!((a.host.as_str(), a.port, a.db), ("10.0.0.1", 7000, 3));
        assert_eq!(a.username.as_deref(), Some("app"));
        assert_eq!(a.password.as_ref().map(Secret::expose), Some("p@ss/w"));
        assert_eq!(
            (b.host.as_str(), b.port, b.addr()),
            ("::1", 7001, "[::1]:7001".to_owned())
        );
        assert_eq!((c.port, c.username.as_deref()), (DEFAULT_PORT, None));
        assert_eq!(
            c.password.as_ref().map(Secret::expose),
            Some("only-password")
        );
        assert_eq!([&a.name, &b.name, &c.name], ["node_1", "node_2", "node_3"]);
    }

    #[test]
    fn bad_urls_are_named_without_their_password() {
        for (url, reason) in [
            ("http://h:1", "expected redis://"),
            ("redis://h:1/x", "database number"),
            ("redis://h:1/-1", "database number"),
            ("redis://u:%zz@h:1", "%-escape in the password"),
            ("redis://h:1?ssl_ca_certs=/ca.pem", "need a rediss://"),
            ("rediss://h:1?nope=1", "unknown parameter 'nope'"),
            ("redis://h:99999", "redis://"),
            ("redis://:secret@", "redis://"),
        ] {
            let error = parse_urls(&[url]).unwrap_err().to_string();
            assert!(error.contains(reason), "{url}: {error}");
            assert!(!error.contains("secret"), "{url}: {error}");
        }
    }
}
