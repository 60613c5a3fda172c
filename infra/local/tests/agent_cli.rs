//! `ventanilla-local agent add`: the first admin of a local installation, and of a deployed
//! stack (its DynamoDB table, here the stand-in the test command starts).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use ventanilla_adapters::dynamodb::DynamoStore;
use ventanilla_domain::model::agents::{AgentToken, Role};
use ventanilla_domain::ports::AgentDirectory;

fn agent_add(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ventanilla-local"))
        .args(["agent", "add"])
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn an_admin_is_added_to_a_deployed_stacks_table_and_its_token_opens_it() {
    let (store, table) = deployed_table("admin").await;
    let output = agent_add(&[
        "--dynamodb-table",
        &table,
        "--agency",
        "MDT",
        "--role",
        "admin",
        "--name",
        "María José Ñáñez",
    ]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = AgentToken::parse(stdout.lines().last().unwrap()).unwrap();
    let agent = store.agent_by_token(&token.hash()).await.unwrap().unwrap();
    assert_eq!(agent.id.as_str(), "maria.jose.nanez");
    assert_eq!(agent.role, Role::Admin);
    assert!(stdout.contains("Agent maria.jose.nanez added to MDT as admin"));
    // The token is printed once and stored only as its hash.
    assert!(!format!("{agent:?}").contains(&token.expose()[4..]));
}

/// A deployed stack's table on the stand-in, for a test of its own.
async fn deployed_table(test: &str) -> (DynamoStore, String) {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "run through infra/test.sh, which starts the AWS stand-in"
    );
    let config = ventanilla_adapters::aws::load_config().await.unwrap();
    let table = format!("tickets-{test}-{}", std::process::id());
    let store = DynamoStore::new(&config, &table);
    store.create_table().await.unwrap();
    (store, table)
}

/// `agent add` on a deployed table as an operator whose credentials come only from the profile
/// `operator` of `config`: the keys the test command exports and the machine's own files are out
/// of the way (`home` stands for the operator's home folder).
fn agent_add_as_operator(
    table: &str,
    home: &Path,
    config: &str,
    env: &[(&str, String)],
) -> std::process::Output {
    let config_file = home.join("config");
    std::fs::write(&config_file, config).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ventanilla-local"));
    command
        .args(["agent", "add", "--dynamodb-table", table])
        .args(["--agency", "MDT", "--role", "admin", "--name", "Operadora"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", &config_file)
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_PROFILE", "operator");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

/// The token `agent add` printed opens the new agent in the table.
async fn assert_added(store: &DynamoStore, output: &std::process::Output) {
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let token = AgentToken::parse(stdout.lines().last().unwrap()).unwrap();
    let agent = store.agent_by_token(&token.hash()).await.unwrap().unwrap();
    assert_eq!(agent.id.as_str(), "operadora");
}

/// The keys the test command gives the stand-in, handed out by a profile instead.
fn stand_in_keys() -> (String, String) {
    let key = |name: &str| std::env::var(name).unwrap_or_else(|_| "test".into());
    (key("AWS_ACCESS_KEY_ID"), key("AWS_SECRET_ACCESS_KEY"))
}

#[tokio::test]
async fn an_operator_whose_profile_runs_a_credential_process_adds_an_agent() {
    let (store, table) = deployed_table("process").await;
    let home = tempfile::tempdir().unwrap();
    let (key, secret) = stand_in_keys();
    let asked = home.path().join("asked");
    let script = home.path().join("credentials.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ntouch '{}'\necho '{{\"Version\": 1, \"AccessKeyId\": \"{key}\", \"SecretAccessKey\": \"{secret}\"}}'\n",
            asked.display()
        ),
    )
    .unwrap();
    // Run through `sh`: the script has no exec bit (a temporary folder may be mounted noexec).
    let config = format!(
        "[profile operator]\nregion = us-east-1\ncredential_process = sh '{}'\n",
        script.display()
    );
    let output = agent_add_as_operator(&table, home.path(), &config, &[]);
    assert_added(&store, &output).await;
    assert!(asked.exists(), "the credentials came from the process");
}

#[tokio::test]
async fn an_operator_signed_in_through_sso_adds_an_agent() {
    let (store, table) = deployed_table("sso").await;
    let home = tempfile::tempdir().unwrap();
    // The token `aws sso login` leaves in the cache, in a file named by the SHA-1 of the
    // session's name, "ventanilla", as aws-config names it.
    let cache = home.path().join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(
        cache.join("b6d040f57391a2e3d4436f9ed8d97ed40e3342f3.json"),
        r#"{"accessToken": "sso-bearer-token", "expiresAt": "2099-01-01T00:00:00Z",
            "region": "us-east-1", "startUrl": "https://ventanilla.awsapps.com/start"}"#,
    )
    .unwrap();
    // The SSO portal: one GetRoleCredentials, answered with the stand-in's keys.
    let portal = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", portal.local_addr().unwrap());
    let (key, secret) = stand_in_keys();
    let (request_sent, portal_request) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = portal.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            head.push_str(&line);
        }
        let body = format!(
            r#"{{"roleCredentials": {{"accessKeyId": "{key}", "secretAccessKey": "{secret}",
                "sessionToken": "sso-session", "expiration": 4070908800000}}}}"#
        );
        write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        // The test may have failed and gone.
        let _ = request_sent.send(head);
    });
    let config = "[profile operator]\nsso_session = ventanilla\nsso_account_id = 123456789012\n\
                  sso_role_name = VentanillaOperator\nregion = us-east-1\n\n\
                  [sso-session ventanilla]\nsso_start_url = https://ventanilla.awsapps.com/start\n\
                  sso_region = us-east-1\n";
    let output = agent_add_as_operator(
        &table,
        home.path(),
        config,
        &[("AWS_ENDPOINT_URL_SSO", url)],
    );
    assert_added(&store, &output).await;
    // The command has ended: had it not asked the portal, nothing would connect, and waiting
    // for the thread would hang the run.
    let head = portal_request
        .recv_timeout(Duration::from_secs(5))
        .expect("the credentials did not come from the SSO portal")
        .to_lowercase();
    assert!(head.starts_with("get /federation/credentials?"), "{head}");
    assert!(head.contains("role_name=ventanillaoperator"), "{head}");
    assert!(head.contains("account_id=123456789012"), "{head}");
    assert!(
        head.contains("x-amz-sso_bearer_token: sso-bearer-token"),
        "{head}"
    );
}

#[test]
fn a_bad_agency_or_role_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let output = agent_add(&["--data-dir", data, "--agency", "NADA", "--name", "Ana"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no such agency"));
    let output = agent_add(&[
        "--data-dir",
        data,
        "--agency",
        "MDT",
        "--role",
        "jefe",
        "--name",
        "Ana",
    ]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("agent, supervisor, admin or operator")
    );
    let first = agent_add(&["--data-dir", data, "--agency", "MINTEL", "--name", "Ana"]);
    assert!(first.status.success());
    let again = agent_add(&["--data-dir", data, "--agency", "MINTEL", "--name", "Ana"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("taken"));
}
