//! `ventanilla-local agent add`: the first admin of a local installation, and of a deployed
//! stack (its DynamoDB table, here the stand-in the test command starts).

#![allow(clippy::unwrap_used)]

use std::process::Command;

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
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "run through infra/test.sh, which starts the AWS stand-in"
    );
    let config = ventanilla_adapters::aws::load_config().await.unwrap();
    let table = format!("tickets-{}", std::process::id());
    let store = DynamoStore::new(&config, &table);
    store.create_table().await.unwrap();
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
