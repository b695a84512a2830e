//! TLS for the `+s` and `+ssc` schemes, with rustls (ring provider).
//!
//! `+s` checks the server's certificate chain against the Mozilla roots (webpki-roots) and
//! its name against the host in the URL. `+ssc` ("self-signed certificate") encrypts but
//! accepts any certificate, as the official drivers do for that scheme: the handshake
//! signatures are still verified, so the peer must hold the key of the certificate it shows,
//! but nobody vouches for that certificate.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::config::Security;
use crate::error::BoltError;

/// Wraps `stream` in TLS for `host` as `security` asks.
pub(crate) async fn connect(
    stream: TcpStream,
    host: &str,
    address: &str,
    security: Security,
) -> Result<TlsStream<TcpStream>, BoltError> {
    let tls_error = |message: String| BoltError::Tls { address: address.to_owned(), message };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(format!("cannot set up TLS: {e}")))?;
    let config = match security {
        Security::SelfSigned => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
        Security::Verified | Security::Plain => {
            let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| tls_error(format!("`{host}` is not a valid TLS server name: {e}")))?;
    TlsConnector::from(Arc::new(config)).connect(name, stream).await.map_err(|e| tls_error(e.to_string()))
}

/// The `+ssc` verifier: any certificate chain is accepted; signatures are still checked.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
