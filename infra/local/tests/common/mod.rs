//! What the tests of the real `ventanilla-local` binary share: starting it on free ports,
//! and talking to it as a mail client and an HTTP client do.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Server {
    child: Child,
    pub http: String,
    pub smtp: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The form's answers, as JSON, for a ticket of `email`.
pub fn form(email: &str) -> serde_json::Value {
    serde_json::json!({
        "agency": "MDT", "category": "problema_tecnico", "nationality": "EC",
        "id_type": "cedula", "id_number": "1710034065", "full_name": "Carmen Guamán",
        "email": email, "gender": "femenino", "phone": "0991234567", "user_type": "ciudadano",
        "subject": "No puedo firmar el contrato en línea",
        "description": "El sistema da error al firmar."
    })
}

/// The default configuration with each `(from, to)` replaced, written into `dir`: its path.
/// A `from` the file does not hold fails the test (a setting was renamed).
pub fn config_with(dir: &Path, changes: &[(&str, &str)]) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/app/ventanilla.toml"
    ))
    .unwrap();
    for (from, to) in changes {
        assert!(text.contains(from), "the configuration has no {from:?}");
        text = text.replace(from, to);
    }
    let path = dir.join("ventanilla.toml");
    std::fs::write(&path, text).unwrap();
    path
}

impl Server {
    /// SIGKILL, as an out-of-memory killer or a pulled plug stops it: no shutdown at all.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The release build when `VENTANILLA_LOCAL_RELEASE` names one (the test command builds it
/// for the kill test), else the binary cargo built for the tests.
pub fn release_or_test_binary() -> std::ffi::OsString {
    std::env::var_os("VENTANILLA_LOCAL_RELEASE")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_ventanilla-local").into())
}

pub fn start(data_dir: &Path) -> Server {
    start_with(data_dir, &[])
}

/// Started with more arguments (`--config`, …).
pub fn start_with(data_dir: &Path, extra: &[&std::ffi::OsStr]) -> Server {
    start_program(
        env!("CARGO_BIN_EXE_ventanilla-local").as_ref(),
        data_dir,
        extra,
    )
}

/// `program` (a build of `ventanilla-local`) started on the data folder.
pub fn start_program(
    program: &std::ffi::OsStr,
    data_dir: &Path,
    extra: &[&std::ffi::OsStr],
) -> Server {
    let mut child = Command::new(program)
        .args([
            "--addr",
            "127.0.0.1:0",
            "--smtp-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data_dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut http, mut smtp) = (None, None);
    while http.is_none() || smtp.is_none() {
        let line = lines
            .next()
            .expect("the server prints its addresses")
            .unwrap();
        if let Some(url) = line.strip_prefix("Ventanilla listening on ") {
            http = Some(url.trim_start_matches("http://").to_owned());
        }
        if let Some(rest) = line.trim().strip_prefix("mail:") {
            let address = rest.trim().trim_start_matches("smtp://");
            smtp = Some(address.split_whitespace().next().unwrap().to_owned());
        }
    }
    // Keep reading what the server prints, so that it never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Server {
        child,
        http: http.unwrap(),
        smtp: smtp.unwrap(),
    }
}

/// One SMTP conversation, as a mail client has it; returns the server's answer to the mail.
pub fn send_mail(smtp: &str, from: &str, to: &str, mail: &str) -> String {
    let stream = TcpStream::connect(smtp).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut expect = |code: &str| {
        // Multi-line answers (EHLO) end with "code SP".
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert!(line.starts_with(code), "expected {code}, got {line:?}");
            if line.as_bytes().get(3) == Some(&b' ') {
                return line;
            }
        }
    };
    expect("220");
    let mut say = |command: &str| writer.write_all(command.as_bytes()).unwrap();
    say("EHLO cliente.example.com\r\n");
    expect("250");
    say(&format!("MAIL FROM:<{from}>\r\n"));
    expect("250");
    say(&format!("RCPT TO:<{to}>\r\n"));
    expect("250");
    say("DATA\r\n");
    expect("354");
    // Dot-stuffing, as every client does it.
    let body: String = mail
        .split("\r\n")
        .map(|line| {
            if line.starts_with('.') {
                format!(".{line}\r\n")
            } else {
                format!("{line}\r\n")
            }
        })
        .collect();
    say(&body);
    say(".\r\n");
    let answer = expect("250");
    say("QUIT\r\n");
    expect("221");
    answer
}

/// One HTTP/1.1 request with a JSON body (or none), as a browser's fetch sends it: the
/// status and the JSON answer (`null` when there is none).
pub fn http(
    address: &str,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> (u16, serde_json::Value) {
    request(address, method, path, body, "")
}

/// A request of the agents' API, with an agent's token.
pub fn agent_http(
    address: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> (u16, serde_json::Value) {
    let auth = format!("Authorization: Bearer {token}\r\n");
    request(address, method, path, body, &auth)
}

/// `ventanilla-local agent add` on the data folder: the new agent's token.
pub fn add_agent(data_dir: &Path, agency: &str, role: &str, name: &str) -> String {
    let output = Command::new(release_or_test_binary())
        .args([
            "agent", "add", "--agency", agency, "--role", role, "--name", name,
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let out = String::from_utf8(output.stdout).unwrap();
    out.trim().lines().last().unwrap().trim().to_owned()
}

fn request(
    address: &str,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
    headers: &str,
) -> (u16, serde_json::Value) {
    let body = body.map(ToString::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Accept: application/json\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, json) = answer.split_once("\r\n\r\n").unwrap();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {head}"));
    (
        status,
        serde_json::from_str(json).unwrap_or(serde_json::Value::Null),
    )
}

/// The public status of a ticket (`POST /api/v1/tickets/lookup`), which must be found.
pub fn lookup(http_address: &str, email: &str, number: &str) -> serde_json::Value {
    let body = serde_json::json!({"email": email, "number": number});
    let (status, answer) = http(http_address, "POST", "/api/v1/tickets/lookup", Some(&body));
    assert_eq!(status, 200, "{answer}");
    answer
}
