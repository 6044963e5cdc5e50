//! TLS for a node: redis-py's `ssl*` options turned into a rustls client configuration once,
//! when the config is validated (so a missing or bad certificate file is a config error, not a
//! failure on first use), and shared by every connection to the node.

use std::io;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};

/// How much of the server's certificate is checked (redis-py's `ssl_cert_reqs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertReqs {
    /// Signed by a trusted CA and, with `check_hostname`, issued for the host.
    Required,
    /// Anything is accepted: encryption without authentication (test setups only).
    None,
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

/// The stream a connection reads and writes: plain TCP or TLS over it.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => &tls.sock,
        }
    }
}

/// How long a pub/sub reader holds a shared TLS session while waiting for data, at most: the
/// longest a write (SUBSCRIBE, ...) waits for its turn.
const SHARED_POLL: Duration = Duration::from_millis(20);

impl Stream {
    /// The stream as a reader for one thread and a writer for another (pub/sub). Plain TCP is
    /// cloned; a TLS session cannot be, so both halves share it behind a lock and the reader
    /// polls with a short timeout, giving writes their turn. The reader returns an error
    /// once `closing` is set.
    pub fn split(self, closing: Arc<AtomicBool>) -> io::Result<(SplitReader, SplitWriter)> {
        match self {
            Stream::Plain(tcp) => {
                tcp.set_read_timeout(None)?;
                let writer = tcp.try_clone()?;
                Ok((SplitReader::Plain(tcp), SplitWriter::Plain(writer)))
            }
            tls @ Stream::Tls(_) => {
                tls.tcp().set_read_timeout(Some(SHARED_POLL))?;
                let shared = Arc::new(Mutex::new(tls));
                Ok((
                    SplitReader::Shared {
                        stream: Arc::clone(&shared),
                        closing,
                    },
                    SplitWriter::Shared(shared),
                ))
            }
        }
    }
}

/// The reading half of a split stream.
pub enum SplitReader {
    Plain(TcpStream),
    Shared {
        stream: Arc<Mutex<Stream>>,
        closing: Arc<AtomicBool>,
    },
}

impl io::Read for SplitReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            SplitReader::Plain(tcp) => tcp.read(buf),
            SplitReader::Shared { stream, closing } => loop {
                let result = stream.lock().unwrap_or_else(|p| p.into_inner()).read(buf);
                match result {
                    // Nothing yet: let a writer in, then wait again (the parser above never
                    // sees these, so a reply split across polls is read whole).
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) && !closing.load(Ordering::SeqCst) =>
                    {
                        std::thread::yield_now();
                    }
                    other => return other,
                }
            },
        }
    }
}

/// The writing half of a split stream.
pub enum SplitWriter {
    Plain(TcpStream),
    Shared(Arc<Mutex<Stream>>),
}

impl SplitWriter {
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        use io::Write;
        match self {
            SplitWriter::Plain(tcp) => tcp.write_all(bytes),
            SplitWriter::Shared(shared) => shared
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .write_all(bytes),
        }
    }

    /// Ends the connection; the reader sees the end of its stream.
    pub fn shutdown(&self) {
        match self {
            SplitWriter::Plain(tcp) => {
                let _ = tcp.shutdown(Shutdown::Both);
            }
            SplitWriter::Shared(shared) => {
                let stream = shared.lock().unwrap_or_else(|p| p.into_inner());
                let _ = stream.tcp().shutdown(Shutdown::Both);
            }
        }
    }
}

impl io::Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.read(buf),
            Stream::Tls(tls) => tls.read(buf),
        }
    }
}

impl io::Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Tls(tls) => tls.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.write_all(buf),
            // rustls buffers the records; flushing sends them in as few writes as it can.
            Stream::Tls(tls) => {
                tls.write_all(buf)?;
                tls.flush()
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.flush(),
            Stream::Tls(tls) => tls.flush(),
        }
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

    /// TLS over an open TCP connection; the handshake happens on first use, within the
    /// stream's timeouts.
    pub fn wrap(&self, tcp: TcpStream, host: &str) -> io::Result<Stream> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("TLS: {e}")))?;
        let session = ClientConnection::new(Arc::clone(&self.client), name)
            .map_err(|e| io::Error::other(format!("TLS: {e}")))?;
        let mut stream = StreamOwned::new(session, tcp);
        // Handshake now, so a refused certificate is a connect error naming TLS.
        while stream.conn.is_handshaking() {
            stream
                .conn
                .complete_io(&mut stream.sock)
                .map_err(|e| io::Error::new(e.kind(), format!("TLS handshake: {e}")))?;
        }
        Ok(Stream::Tls(Box::new(stream)))
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
