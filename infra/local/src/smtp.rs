//! The local support address: an SMTP listener that takes mail from a mail client or `swaks`
//! and hands it to the same mail desk the inbound-mail function runs on Lambda. The protocol
//! is `mailin`'s state machine; this module only moves lines between it and the socket.
//!
//! A mail is answered `250` only after it is stored and decided; a store failure answers
//! `451`, so the client keeps the mail and tries again, as SES would retry the event.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use mailin::{Action, Handler, Response, SessionBuilder};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::LocalMailDesk;

/// The largest mail accepted, as SES's limit for received mail (40 MB).
pub const MAX_MAIL_BYTES: usize = 40 * 1024 * 1024;
/// The longest command or text line read (RFC 5321 allows 1000; clients overshoot).
const MAX_LINE_BYTES: u64 = 64 * 1024;

/// Collects the mail of one SMTP transaction for the loop to deliver.
#[derive(Debug, Default)]
struct Collector {
    state: Arc<Mutex<Transaction>>,
}

#[derive(Debug, Default)]
struct Transaction {
    data: Vec<u8>,
    too_large: bool,
    /// Set when the final `.` arrived: a whole mail waits to be delivered.
    complete: bool,
}

impl Handler for Collector {
    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        if let Ok(mut t) = self.state.lock() {
            *t = Transaction::default();
        }
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Ok(mut t) = self.state.lock() {
            if t.data.len() + buf.len() > MAX_MAIL_BYTES {
                t.too_large = true;
            } else {
                t.data.extend_from_slice(buf);
            }
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Ok(mut t) = self.state.lock() {
            t.complete = true;
        }
        mailin::response::OK
    }
}

/// Accepts connections until the process ends.
pub async fn serve(listener: TcpListener, desk: Arc<LocalMailDesk>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let desk = Arc::clone(&desk);
                tokio::spawn(async move {
                    if let Err(error) = session(stream, peer, &desk).await {
                        tracing::warn!(%error, "SMTP session ended with an error");
                    }
                });
            }
            Err(error) => tracing::warn!(%error, "SMTP accept failed"),
        }
    }
}

async fn session(stream: TcpStream, peer: SocketAddr, desk: &LocalMailDesk) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let collector = Collector::default();
    let transaction = Arc::clone(&collector.state);
    let mut session = SessionBuilder::new("ventanilla-local").build(peer.ip(), collector);
    write(&mut writer, &session.greeting()).await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut line)
            .await?;
        if read == 0 {
            return Ok(());
        }
        let mut response = session.process(&line);
        let finished = transaction
            .lock()
            .map(|mut t| {
                std::mem::take(&mut t.complete).then(|| {
                    (
                        std::mem::take(&mut t.data),
                        std::mem::take(&mut t.too_large),
                    )
                })
            })
            .unwrap_or_default();
        if let Some((mail, too_large)) = finished {
            response = if too_large {
                mailin::response::NO_STORAGE
            } else {
                match desk.accept(mail).await {
                    Ok(outcome) => {
                        let ticket = outcome.ticket().map_or(String::new(), |n| format!(" {n}"));
                        Response::custom(250, format!("OK {}{ticket}", outcome.as_str()))
                    }
                    Err(error) => {
                        tracing::error!(%error, "mail not delivered; the client will retry");
                        mailin::response::INTERNAL_ERROR
                    }
                }
            };
        }
        match response.action {
            Action::NoReply => {}
            Action::Close => {
                write(&mut writer, &response).await?;
                return Ok(());
            }
            Action::Reply | Action::UpgradeTls => write(&mut writer, &response).await?,
        }
    }
}

async fn write(
    writer: &mut (impl AsyncWriteExt + Unpin),
    response: &Response,
) -> std::io::Result<()> {
    let bytes = response.buffer()?;
    writer.write_all(&bytes).await?;
    writer.flush().await
}
