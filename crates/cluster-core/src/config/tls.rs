//! TLS settings for a node: redis-py's `ssl*` options turned into a rustls client
//! configuration once, when the config is validated (so a missing or bad certificate file is a
//! config error, not a failure on first use), and shared by every connection to the node. The
//! encrypted stream itself is the node layer's (`node/stream.rs`).

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore};

/// How much of the server's certificate is checked (redis-py's `ssl_cert_reqs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertReqs {
    /// Signed by a trusted CA and, with `check_hostname`, issued for the host.
    Required,
    /// Anything is accepted: encryption without authentication (test setups only).
    None,
}

impl CertReqs {
    /// redis-py's `ssl_cert_reqs` ("required", "none", or `ssl.CERT_*` given as text).
    pub fn parse(text: &str) -> Option<CertReqs> {
        match text.to_ascii_lowercase().as_str() {
            // On a client, "optional" verifies a certificate exactly as "required" does (the
            // server always presents one).
            "required" | "cert_required" | "optional" | "cert_optional" => Some(CertReqs::Required),
            "none" | "cert_none" => Some(CertReqs::None),
            _ => None,
        }
    }
}

/// redis-py's `ssl*` options for a node, as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM file of the CAs to trust; the system's store when absent.
    pub ca_certs: Option<String>,
    /// Client certificate (and its key, unless `keyfile` is given).
    pub certfile: Option<String>,
    pub keyfile: Option<String>,
    pub cert_reqs: CertReqs,
    pub check_hostname: bool,
}

impl Default for TlsOptions {
    /// redis-py's defaults: the certificate is required and must name the host.
    fn default() -> TlsOptions {
        TlsOptions {
            ca_certs: None,
            certfile: None,
            keyfile: None,
            cert_reqs: CertReqs::Required,
            check_hostname: true,
        }
    }
}

/// A node's TLS options and the rustls configuration built from them.
#[derive(Clone)]
pub struct TlsSettings {
    pub options: TlsOptions,
    client: Arc<ClientConfig>,
}

impl PartialEq for TlsSettings {
    fn eq(&self, other: &TlsSettings) -> bool {
        self.options == other.options
    }
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.options.fmt(f)
    }
}

/// The settings built while reading one config: nodes with the same options share one
/// rustls configuration, so the files are read (and the system's CA store loaded) once, not
/// once per node.
#[derive(Default)]
pub struct TlsCache(Vec<TlsSettings>);

impl TlsCache {
    pub fn settings(&mut self, options: &TlsOptions) -> Result<TlsSettings, String> {
        if let Some(built) = self.0.iter().find(|built| &built.options == options) {
            return Ok(built.clone());
        }
        let built = TlsSettings::build(options.clone())?;
        self.0.push(built.clone());
        Ok(built)
    }
}

impl TlsSettings {
    /// Reads the certificate files and builds the client configuration. The error says which
    /// setting and file is wrong.
    pub fn build(options: TlsOptions) -> Result<TlsSettings, String> {
        let TlsOptions {
            ca_certs,
            certfile,
            keyfile,
            cert_reqs,
            check_hostname,
        } = &options;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?;
        let verifier: Arc<dyn ServerCertVerifier> = match *cert_reqs {
            CertReqs::None => Arc::new(AcceptAnyCertificate(Arc::clone(&provider))),
            CertReqs::Required => {
                let roots = Arc::new(root_store(ca_certs.as_deref())?);
                let webpki =
                    WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                        .build()
                        .map_err(|e| format!("'ssl_ca_certs': {e}"))?;
                if *check_hostname {
                    webpki
                } else {
                    Arc::new(AnyHostName(webpki))
                }
            }
        };
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let client = match (certfile, keyfile) {
            (None, None) => builder.with_no_client_auth(),
            (Some(cert), key) => {
                let chain = CertificateDer::pem_file_iter(cert)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| format!("'ssl_certfile' {cert}: {e}"))?;
                if chain.is_empty() {
                    return Err(format!("'ssl_certfile' {cert}: no certificate in it"));
                }
                // redis-py takes the key from the certificate file when no key file is given.
                let key_path = key.as_deref().unwrap_or(cert);
                let key = PrivateKeyDer::from_pem_file(key_path)
                    .map_err(|e| format!("'ssl_keyfile' {key_path}: {e}"))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("'ssl_certfile'/'ssl_keyfile': {e}"))?
            }
            (None, Some(_)) => {
                return Err("'ssl_keyfile' is given without 'ssl_certfile'".to_owned());
            }
        };
        Ok(TlsSettings {
            options,
            client: Arc::new(client),
        })
    }

    /// The rustls configuration every connection to the node shares.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        Arc::clone(&self.client)
    }
}

/// The CAs to trust: the file given, or the system's store.
fn root_store(ca_certs: Option<&str>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    match ca_certs {
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("'ssl_ca_certs' {path}: {e}"))?
            {
                let cert = cert.map_err(|e| format!("'ssl_ca_certs' {path}: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("'ssl_ca_certs' {path}: {e}"))?;
            }
            if roots.is_empty() {
                return Err(format!("'ssl_ca_certs' {path}: no certificate in it"));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(
                    "no 'ssl_ca_certs' given and the system has no CA certificates".to_owned(),
                );
            }
        }
    }
    Ok(roots)
}

/// `ssl_check_hostname=False`: the chain must still be valid, but the name is not checked.
#[derive(Debug)]
struct AnyHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `ssl_cert_reqs='none'`: any certificate (the handshake's signatures are still checked).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
