//! The deployable artefacts end to end. The four `bootstrap` binaries that
//! `cargo lambda build --release` made (the files `sam build` packages) run against the AWS
//! stand-ins, each polling the Runtime API that `cargo lambda watch` serves on loopback. The
//! requests go through the watch's function URLs (API Gateway v2 payloads) and its Invoke
//! API (the SES receipt event), as on AWS. The whole story passes through them: a ticket
//! opened by the form, its acknowledgement sent, the access link in it followed, the
//! citizen's reply delivered as an SES event with the raw mail in S3, an agent's reply sent
//! and threaded, the status looked up. Then the functions' logs are read: no personal data.
//!
//! The test command (`infra/test.sh`) builds the binaries and says where they and
//! cargo-lambda are (`VENTANILLA_LAMBDA_DIR`, `VENTANILLA_CARGO_LAMBDA`).

#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use ventanilla_domain::model::agents::Role;
use ventanilla_tests::{AwsStandIn, body_text, header, mdt_agent, ses_receipt_event, unique};

const FUNCTIONS: [&str; 4] = [
    "create-ticket",
    "ticket-status",
    "inbound-mail",
    "agent-api",
];

fn required_env(name: &str) -> PathBuf {
    std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
                "{name} is not set: this test runs the release binaries under cargo-lambda. \
             Run it through `infra/test.sh`, which builds them and installs cargo-lambda."
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `cargo lambda watch` and the four functions under it; all stopped (by PID) when dropped.
struct Functions {
    base: String,
    /// The stand-in's name for this test's stack: every call is judged by its policy, and
    /// a refusal fails the test unless it is what the test is about.
    stack: String,
    expects_denials: bool,
    port: u16,
    watch: Child,
    bootstraps: Vec<Child>,
    logs: tempfile::TempDir,
}

impl Drop for Functions {
    fn drop(&mut self) {
        for child in self.bootstraps.iter_mut().chain([&mut self.watch]) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Functions {
    /// Starts the Runtime API and one process per function, configured as `template.yaml`
    /// configures them on AWS (same variables), with the stand-in's table, bucket and domain.
    fn start(aws: &AwsStandIn) -> Self {
        let lambda_dir = required_env("VENTANILLA_LAMBDA_DIR");
        let cargo_lambda = required_env("VENTANILLA_CARGO_LAMBDA");
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let logs = tempfile::tempdir().unwrap();
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");

        let watch_log = std::fs::File::create(logs.path().join("watch.log")).unwrap();
        let watch = Command::new(&cargo_lambda)
            .args(["lambda", "watch", "--only-lambda-apis", "--ignore-changes"])
            .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(port.to_string())
            .args(["--timeout", "60"])
            .current_dir(&workspace)
            .stdin(Stdio::null())
            .stdout(watch_log.try_clone().unwrap())
            .stderr(watch_log)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", cargo_lambda.display()));
        let mut functions = Functions {
            base: base.clone(),
            stack: aws.stack.clone(),
            expects_denials: aws.expects_denials,
            port,
            watch,
            bootstraps: Vec::new(),
            logs,
        };
        functions.wait_for_watch(port);

        for name in FUNCTIONS {
            let binary = lambda_dir.join(name).join("bootstrap");
            assert!(
                binary.is_file(),
                "{} is missing: `cargo lambda build --release` makes it",
                binary.display()
            );
            let log = std::fs::File::create(functions.log_path(name)).unwrap();
            let child = Command::new(&binary)
                .env("AWS_LAMBDA_RUNTIME_API", format!("{base}/.rt/{name}"))
                .env("AWS_LAMBDA_FUNCTION_NAME", name)
                // The function's own credentials: the stand-in judges its calls by its
                // policy in template.yaml, as AWS judges its execution role's.
                .env("AWS_ACCESS_KEY_ID", aws.access_key(name))
                .env("AWS_SECRET_ACCESS_KEY", "stand-in-secret")
                .env("VENTANILLA_SES_CONFIGURATION_SET", &aws.configuration_set)
                .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
                .env("AWS_LAMBDA_LOG_STREAM_NAME", "e2e")
                .env("VENTANILLA_TABLE", aws.store.table())
                .env("VENTANILLA_BUCKET", aws.blobs.bucket())
                .env("VENTANILLA_S3_PATH_STYLE", "true")
                // Read from SSM at cold start, as on AWS.
                .env(
                    "VENTANILLA_LINK_SECRET_PARAMETER",
                    &aws.link_secret_parameter,
                )
                .env_remove("VENTANILLA_LINK_SECRET")
                .env(
                    "VENTANILLA_IDENTIFIER_SECRET_PARAMETER",
                    &aws.identifier_secret_parameter,
                )
                .env_remove("VENTANILLA_IDENTIFIER_SECRET")
                // Links in mails point back at the status function's URL, so the test can
                // follow the one in the acknowledgement.
                .env(
                    "VENTANILLA_PUBLIC_URL",
                    format!("{base}/lambda-url/ticket-status"),
                )
                .env("VENTANILLA_MAIL_DOMAIN", &aws.domain)
                .env(
                    "VENTANILLA_SUPPORT_ADDRESS",
                    format!("soporte@{}", aws.domain),
                )
                .env(
                    "VENTANILLA_NO_REPLY_ADDRESS",
                    format!("no-responder@{}", aws.domain),
                )
                .env("RUST_LOG", "info")
                .env_remove("VENTANILLA_CONFIG")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
            functions.bootstraps.push(child);
        }
        functions
    }

    fn wait_for_watch(&mut self, port: u16) {
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            if let Some(status) = self.watch.try_wait().unwrap() {
                panic!("cargo lambda watch ended ({status}):\n{}", self.logs_text());
            }
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not listen within 60 s:\n{}",
                self.logs_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_path(&self, function: &str) -> PathBuf {
        self.logs.path().join(format!("{function}.log"))
    }

    /// The peak resident memory of a function's process so far (VmHWM), in KiB.
    fn peak_memory_kib(&self, function: &str) -> u64 {
        let index = FUNCTIONS.iter().position(|f| *f == function).unwrap();
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.bootstraps[index].id()))
                .unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    fn log(&self, function: &str) -> String {
        std::fs::read_to_string(self.log_path(function)).unwrap_or_default()
    }

    /// Every log, for failure messages.
    fn logs_text(&self) -> String {
        ["watch"]
            .into_iter()
            .chain(FUNCTIONS)
            .map(|name| format!("--- {name}\n{}", self.log(name)))
            .collect()
    }

    /// An HTTP request to a function's URL, as API Gateway would pass it on.
    async fn http(
        &self,
        function: &str,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}/lambda-url/{function}{path}", self.base);
        let mut request = client()
            .request(method, &url)
            .header("accept", "application/json");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}\n{}", self.logs_text()));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        self.assert_allowed().await;
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn assert_allowed(&self) {
        if !self.expects_denials {
            ventanilla_tests::assert_stack_allowed(&self.stack).await;
        }
    }

    /// An asynchronous-style invocation with an event, as SES's Lambda action makes it.
    async fn invoke(&self, function: &str, event: &Value) -> Value {
        let url = format!("{}/2015-03-31/functions/{function}/invocations", self.base);
        let response = client()
            .post(&url)
            .json(event)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}\n{}", self.logs_text()));
        let status = response.status();
        let text = response.text().await.unwrap();
        self.assert_allowed().await;
        assert!(
            status.is_success(),
            "{status}: {text}\n{}",
            self.logs_text()
        );
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(90))
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_release_binaries_carry_a_ticket_from_the_form_to_the_agents_reply() {
    let aws = AwsStandIn::new(true).await;
    let functions = Functions::start(&aws);
    let citizen = format!("{}@example.com", unique("carmen"));
    let support = format!("soporte@{}", aws.domain);
    let description = "El sistema da error al firmar el contrato electrónico.";
    let follow_up = "Adjunto más datos: uso Firefox 128 en Windows.";
    let answer = "Pruebe con otro navegador, por favor.";

    // 1. The form (create-ticket) opens the ticket.
    let form = json!({
        "agency": "MDT", "category": "problema_tecnico", "nationality": "EC",
        "id_type": "cedula", "id_number": "1710034065", "full_name": "Carmen Guamán",
        "email": citizen, "gender": "femenino", "phone": "0991234567",
        "user_type": "ciudadano", "subject": "No puedo firmar el contrato en línea",
        "description": description,
    });
    let (status, opened) = functions
        .http(
            "create-ticket",
            reqwest::Method::POST,
            "/api/v1/tickets",
            None,
            Some(form.clone()),
        )
        .await;
    assert_eq!(status, 201, "{opened}\n{}", functions.logs_text());
    let number = opened["number"].as_str().unwrap().to_owned();

    // 2. Its acknowledgement went out through SES, with the access link.
    let sent = aws.sent().await;
    assert_eq!(sent.len(), 1, "one acknowledgement");
    let (ack_id, ack) = &sent[0];
    assert!(header(ack, "To").unwrap().contains(&citizen));
    assert!(header(ack, "Subject").unwrap().contains(&number));
    let ack_text = body_text(ack);
    let link_start = ack_text
        .find(&format!(
            "{}/lambda-url/ticket-status/estado/",
            functions.base
        ))
        .unwrap_or_else(|| panic!("no access link in:\n{ack_text}"));
    let link: String = ack_text[link_start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>')
        .collect();

    // 3. The link opens the status page (ticket-status) without asking anything.
    let page = client().get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200, "{link}");
    let page = page.text().await.unwrap();
    assert!(page.contains(&number), "the page names the ticket");
    assert!(page.contains("No puedo firmar el contrato en línea"));

    // 4. The citizen answers the acknowledgement: SES stores the mail in S3 and invokes
    //    inbound-mail with the receipt event.
    let ses_id = unique("ses");
    let raw = format!(
        "From: Carmen Guamán <{citizen}>\r\nTo: {support}\r\n\
         Subject: Re: [{number}] Recibimos su solicitud\r\nMessage-ID: <c1.{citizen}>\r\n\
         In-Reply-To: <{ack_id}@email.amazonses.com>\r\nDate: Mon, 2 Jun 2025 09:00:00 -0500\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{follow_up}\r\n"
    );
    aws.store_received_mail(&ses_id, raw).await;
    let handled = functions
        .invoke("inbound-mail", &ses_receipt_event(&ses_id))
        .await;
    assert_eq!(handled[0]["outcome"], "follow-up", "{handled}");
    assert_eq!(handled[0]["ticket"], number.as_str());

    // 5. An agent of the agency finds it in the queue (agent-api) and replies.
    let token = mdt_agent(&aws.store, Role::Agent).await;
    let (status, queue) = functions
        .http(
            "agent-api",
            reqwest::Method::GET,
            "/api/v1/agent/tickets",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{queue}");
    assert_eq!(queue["tickets"][0]["number"], number.as_str(), "{queue}");
    let (status, replied) = functions
        .http(
            "agent-api",
            reqwest::Method::POST,
            &format!("/api/v1/agent/tickets/{number}/replies"),
            Some(&token),
            Some(json!({"text": answer, "status": "waiting_on_citizen"})),
        )
        .await;
    assert_eq!(status, 201, "{replied}\n{}", functions.logs_text());
    assert_eq!(replied["delivered"], true);

    // The reply reached the citizen, from the support address, in the same conversation.
    let sent = aws.sent().await;
    assert_eq!(sent.len(), 2, "the acknowledgement and the reply");
    let (_, reply) = sent.iter().find(|(id, _)| id != ack_id).unwrap();
    assert!(header(reply, "From").unwrap().contains(&support));
    assert!(header(reply, "To").unwrap().contains(&citizen));
    assert!(
        header(reply, "Subject")
            .unwrap()
            .contains(&format!("[{number}]"))
    );
    assert_eq!(
        header(reply, "In-Reply-To").unwrap(),
        format!("<c1.{citizen}>")
    );
    assert!(body_text(reply).contains(answer));

    // 6. The citizen looks the ticket up (ticket-status) and sees the whole conversation.
    let (status, view) = functions
        .http(
            "ticket-status",
            reqwest::Method::POST,
            "/api/v1/tickets/lookup",
            None,
            Some(json!({"email": citizen, "number": number})),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "waiting_on_citizen");
    let texts: Vec<&str> = view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().trim())
        .collect();
    assert_eq!(texts, [description, follow_up, answer]);

    // 6b. They answer on the status page instead (create-ticket), under the page's token;
    //     the ticket is back in progress.
    let marker = "name=\"access\" value=\"";
    let access_start = page
        .find(marker)
        .expect("the status page has an answer form")
        + marker.len();
    let access = page[access_start..].split('"').next().unwrap().to_owned();
    let web_answer = "Con otro navegador tampoco funciona.";
    let (status, added) = functions
        .http(
            "create-ticket",
            reqwest::Method::POST,
            "/api/v1/tickets/follow-ups",
            None,
            Some(json!({"access": access, "text": web_answer})),
        )
        .await;
    assert_eq!(status, 201, "{added}\n{}", functions.logs_text());
    assert_eq!(added["number"], number.as_str());
    assert_eq!(added["status"], "open");

    // 6c. "Mis trámites": the sign-in link goes out through SES (create-ticket), and opens
    //     the list of the address's tickets once (ticket-status).
    let asked = client()
        .post(format!(
            "{}/lambda-url/create-ticket/mis-tramites",
            functions.base
        ))
        .form(&[("email", citizen.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 200, "{}", functions.logs_text());
    functions.assert_allowed().await;
    let sent = aws.sent().await;
    let sign_in = sent
        .iter()
        .map(|(_, mail)| body_text(mail))
        .find(|text| text.contains("/mis-tramites/"))
        .unwrap_or_else(|| panic!("no sign-in link was sent\n{}", functions.logs_text()));
    let start = sign_in.find("http").unwrap();
    let sign_in_link: String = sign_in[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let opened_link = client().get(&sign_in_link).send().await.unwrap();
    assert_eq!(opened_link.status(), 200, "{}", functions.logs_text());
    functions.assert_allowed().await;
    let list = client().post(&sign_in_link).send().await.unwrap();
    assert_eq!(list.status(), 200, "{}", functions.logs_text());
    assert!(list.text().await.unwrap().contains(&number));
    functions.assert_allowed().await;
    let again = client().post(&sign_in_link).send().await.unwrap();
    assert_eq!(again.status(), 404, "a sign-in link works once");

    // 6d. A second ticket of hers, merged into the first by the agent (agent-api): its number
    //     opens the first on the status page (ticket-status reads where it went on).
    let mut second = form.clone();
    second["subject"] = json!("Otra vez el contrato");
    let (status, duplicate) = functions
        .http(
            "create-ticket",
            reqwest::Method::POST,
            "/api/v1/tickets",
            None,
            Some(second),
        )
        .await;
    assert_eq!(status, 201, "{duplicate}");
    let duplicate = duplicate["number"].as_str().unwrap().to_owned();
    let (status, merged) = functions
        .http(
            "agent-api",
            reqwest::Method::POST,
            &format!("/api/v1/agent/tickets/{duplicate}/merge"),
            Some(&token),
            Some(json!({"into": number})),
        )
        .await;
    assert_eq!(status, 200, "{merged}\n{}", functions.logs_text());
    let (status, view) = functions
        .http(
            "ticket-status",
            reqwest::Method::POST,
            "/api/v1/tickets/lookup",
            None,
            Some(json!({"email": citizen, "number": duplicate})),
        )
        .await;
    assert_eq!(status, 200, "{view}\n{}", functions.logs_text());
    assert_eq!(view["number"], number.as_str());
    assert_eq!(view["merged_from"], duplicate.as_str());

    // 6e. The figures those writes kept: a supervisor's dashboard (agent-api) and the public
    //     statistics (ticket-status, which reads the agencies saved at run time too).
    let supervisor = mdt_agent(&aws.store, Role::Supervisor).await;
    let (status, dashboard) = functions
        .http(
            "agent-api",
            reqwest::Method::GET,
            "/api/v1/agent/dashboard?period=anio",
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(status, 200, "{dashboard}\n{}", functions.logs_text());
    assert!(
        dashboard["totals"]["opened"].as_i64() >= Some(2),
        "{dashboard}"
    );
    let (status, stats) = functions
        .http(
            "ticket-status",
            reqwest::Method::GET,
            "/api/v1/stats",
            None,
            None,
        )
        .await;
    assert_eq!(status, 200, "{stats}\n{}", functions.logs_text());
    assert!(stats.to_string().contains("\"<5\""), "{stats}");
    functions.assert_allowed().await;

    // 7. The functions logged their work, and no personal data: no address, ID number,
    //    phone, name or message text (Ecuador's personal data protection law).
    for name in FUNCTIONS {
        let log = functions.log(name);
        assert!(
            log.lines().any(|line| line.starts_with('{')),
            "{name} wrote no JSON log line:\n{log}"
        );
        for private in [
            citizen.as_str(),
            "1710034065",
            "0991234567",
            "Carmen",
            "Guamán",
            description,
            follow_up,
            answer,
            web_answer,
            link.as_str(),
            sign_in_link.as_str(),
        ] {
            assert!(
                !log.contains(private),
                "{name}'s log holds personal data ({private}):\n{log}"
            );
        }
    }
}

/// `cargo lambda invoke <function> --data-file <event>` against the running binaries: the
/// API Gateway response (or the function's answer) it prints.
fn invoke_sample(functions: &Functions, function: &str, event: &str) -> Value {
    let cargo_lambda = required_env("VENTANILLA_CARGO_LAMBDA");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = Command::new(cargo_lambda)
        .args([
            "lambda",
            "invoke",
            function,
            "--invoke-address",
            "127.0.0.1",
        ])
        .args(["--invoke-port", &functions.port.to_string()])
        .args(["--output-format", "json", "--data-file"])
        .arg(workspace.join("infra/events").join(event))
        .current_dir(&workspace)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cargo lambda invoke {function} {event}: {}\n{stdout}\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        functions.logs_text()
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{event}: {e}: {stdout}"))
}

/// The sample events of `infra/events/` (which docs/DEPLOY.md tells engineers to use) answer
/// as documented, sent with `cargo lambda invoke --data-file`.
#[tokio::test]
async fn the_sample_events_answer_as_the_deploy_guide_says() {
    let aws = AwsStandIn::new(true).await;
    let functions = Functions::start(&aws);
    let status = |answer: &Value| answer["statusCode"].as_u64().unwrap_or_default();

    let form = invoke_sample(&functions, "create-ticket", "create-ticket-get-form.json");
    assert_eq!(status(&form), 200, "{form}");
    assert!(form["body"].as_str().unwrap().contains("<form"));

    let opened = invoke_sample(&functions, "create-ticket", "create-ticket-post-json.json");
    assert_eq!(status(&opened), 201, "{opened}");
    let number = serde_json::from_str::<Value>(opened["body"].as_str().unwrap()).unwrap()["number"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(aws.sent().await.len(), 1, "the acknowledgement");

    // The lookup event names MDT-TEC-2026-00001, the first such ticket of 2026.
    let lookup = invoke_sample(&functions, "ticket-status", "ticket-status-lookup.json");
    let expected = if number == "MDT-TEC-2026-00001" {
        200
    } else {
        404
    };
    assert_eq!(status(&lookup), expected, "opened {number}: {lookup}");

    let page = invoke_sample(&functions, "ticket-status", "ticket-status-get-form.json");
    assert_eq!(status(&page), 200, "{page}");

    // The agent event carries a placeholder instead of a token from `agent add`.
    let listed = invoke_sample(&functions, "agent-api", "agent-api-list-tickets.json");
    assert_eq!(status(&listed), 401, "{listed}");

    aws.store_received_mail(
        "ventanilla0sample0inbound0mail0001",
        &b"From: Rosa Quishpe <rosa@example.com>\r\n\
           To: soporte@ventanilla.example.gob.ec\r\n\
           Subject: No puedo ingresar al sistema\r\n\
           Message-ID: <CAF7x2VxQm3rBn9pLwQ8TzK1@mail.example.com>\r\n\
           Content-Type: text/plain; charset=utf-8\r\n\r\n\
           Mi contrase\xc3\xb1a caduc\xc3\xb3.\r\n"[..],
    )
    .await;
    let handled = invoke_sample(&functions, "inbound-mail", "inbound-mail-ses-receipt.json");
    assert_eq!(handled[0]["outcome"], "new-ticket", "{handled}");
    let again = invoke_sample(&functions, "inbound-mail", "inbound-mail-ses-receipt.json");
    assert_eq!(again[0]["outcome"], "duplicate", "{again}");

    // The retention rule's daily schedule: nothing here is five years old.
    let swept = invoke_sample(
        &functions,
        "inbound-mail",
        "inbound-mail-retention-schedule.json",
    );
    assert_eq!(swept["erased"], serde_json::json!([]), "{swept}");
    assert_eq!(swept["examined"], 0, "{swept}");
    // The mail queue's minute: the acknowledgement went out with its ticket, nothing waits.
    let swept = invoke_sample(
        &functions,
        "inbound-mail",
        "inbound-mail-mail-queue-schedule.json",
    );
    assert_eq!(swept["sent"], 0, "{swept}");
    assert_eq!(swept["parked"], 0, "{swept}");
    // The deadline warnings' morning: a ticket opened today is owed none.
    let warned = invoke_sample(
        &functions,
        "inbound-mail",
        "inbound-mail-deadlines-schedule.json",
    );
    assert_eq!(warned["warned"], 0, "{warned}");
    assert_eq!(warned["mails"], 0, "{warned}");
    aws.assert_no_denials().await;
}

/// A 10 MB mail (three 2.5 MB attachments, base64 in the mail) fits a 128 MB function: the
/// release binary's peak resident memory stays under 128 MB (the template gives inbound-mail
/// 256 MB, for the largest mail SES accepts, and for CPU).
#[tokio::test]
async fn a_ten_megabyte_mail_is_handled_within_128_megabytes() {
    use base64::Engine;
    use rand::RngCore;
    let aws = AwsStandIn::new(true).await;
    let functions = Functions::start(&aws);
    let citizen = format!("{}@example.com", unique("rosa"));
    let mut raw = format!(
        "From: Rosa Quishpe <{citizen}>\r\nTo: soporte@{}\r\n\
         Subject: Planos del local\r\nMessage-ID: <grande.{citizen}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"frontera\"\r\n\r\n\
         --frontera\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Adjunto los planos del local para la inspección.\r\n",
        aws.domain
    );
    let mut bytes = vec![0_u8; 2_500_000];
    for n in 1..=3 {
        rand::rng().fill_bytes(&mut bytes);
        let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
        raw.push_str(&format!(
            "--frontera\r\nContent-Type: application/pdf; name=\"plano-{n}.pdf\"\r\n\
             Content-Disposition: attachment; filename=\"plano-{n}.pdf\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n"
        ));
        for line in encoded.as_bytes().chunks(76) {
            raw.push_str(std::str::from_utf8(line).unwrap());
            raw.push_str("\r\n");
        }
    }
    raw.push_str("--frontera--\r\n");
    assert!(raw.len() > 10_000_000, "{} bytes", raw.len());

    let ses_id = unique("ses");
    aws.store_received_mail(&ses_id, raw).await;
    let handled = functions
        .invoke("inbound-mail", &ses_receipt_event(&ses_id))
        .await;
    assert_eq!(handled[0]["outcome"], "new-ticket", "{handled}");
    let number = handled[0]["ticket"].as_str().unwrap().to_owned();

    let peak_kib = functions.peak_memory_kib("inbound-mail");
    eprintln!("inbound-mail peak resident memory with a 10 MB mail: {peak_kib} KiB");
    assert!(
        peak_kib < 128 * 1024,
        "peak {peak_kib} KiB is over a 128 MB function's memory"
    );

    // All three attachments were stored whole, next to the message.
    let token = mdt_agent(&aws.store, Role::Agent).await;
    let (status, shown) = functions
        .http(
            "agent-api",
            reqwest::Method::GET,
            &format!("/api/v1/agent/tickets/{number}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{shown}");
    let attachments = shown["messages"][0]["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 3, "{shown}");
}

/// Issue 18, point 3: a reply whose References header holds 150,000 ids (10 MB) is read by
/// its newest forty parents, looked up in one batched read, and threads by our anchor, the
/// newest. The release binary's time for it is printed for docs/PERFORMANCE.md.
#[tokio::test]
async fn a_ten_megabyte_references_header_threads_by_its_newest_parents() {
    let aws = AwsStandIn::new(true).await;
    let functions = Functions::start(&aws);
    let citizen = format!("{}@example.com", unique("rosa"));
    let first = format!(
        "From: Rosa Quishpe <{citizen}>\r\nTo: soporte@{}\r\nSubject: Certificado\r\n\
         Message-ID: <inicio.{citizen}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Necesito mi certificado.\r\n",
        aws.domain
    );
    let ses_id = unique("ses");
    aws.store_received_mail(&ses_id, first).await;
    let handled = functions
        .invoke("inbound-mail", &ses_receipt_event(&ses_id))
        .await;
    let number = handled[0]["ticket"].as_str().unwrap().to_owned();
    let anchor = format!(
        "ticket.{}@{}",
        number.to_lowercase(),
        aws.site.settings.mail_domain
    );
    let mut references = String::with_capacity(11_000_000);
    for n in 0..150_000 {
        references.push_str(&format!(
            " <hilo-{n:06}-{}@correo.example>\r\n",
            "x".repeat(40)
        ));
    }
    references.push_str(&format!(" <{anchor}>"));
    let bomb = format!(
        "From: Rosa Quishpe <{citizen}>\r\nTo: soporte@{}\r\nSubject: Re: Certificado\r\n\
         Message-ID: <bomba.{citizen}>\r\nReferences:{references}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nSigo esperando.\r\n",
        aws.domain
    );
    assert!(bomb.len() > 10_000_000, "{} bytes", bomb.len());
    let ses_id = unique("ses");
    aws.store_received_mail(&ses_id, bomb).await;
    let started = Instant::now();
    let handled = functions
        .invoke("inbound-mail", &ses_receipt_event(&ses_id))
        .await;
    eprintln!(
        "inbound-mail with 150,000 References ids (10 MB header): {} ms, invocation included",
        started.elapsed().as_millis()
    );
    assert_eq!(handled[0]["outcome"], "follow-up", "{handled}");
    assert_eq!(handled[0]["ticket"], number.as_str());
}

/// No `bootstrap` links the SDK's SSO provider (the one line of infra/local/Cargo.toml that enables
/// it enables the credential-process one too): the functions take their role's keys from the
/// environment, and what ventanilla-local enables for the operator would cost size and cold start
/// if cargo unified it in (root Cargo.toml, `default-members`).
#[test]
fn no_bootstrap_links_the_operators_credential_providers() {
    let lambda_dir = required_env("VENTANILLA_LAMBDA_DIR");
    // A header only aws-sdk-sso writes.
    let marker: &[u8] = b"x-amz-sso_bearer_token";
    for name in FUNCTIONS {
        let path = lambda_dir.join(name).join("bootstrap");
        let elf = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            !elf.windows(marker.len()).any(|window| window == marker),
            "{name} links the SSO provider"
        );
    }
}

/// Every `bootstrap` is a position-independent executable (ELF type `ET_DYN` with a program
/// interpreter), so that its code lands at a random address: the functions parse hostile
/// mail, forms and images, and hold citizens' data. And it is built for the architecture
/// the stack deploys (`VENTANILLA_LAMBDA_ARCH`, x86_64 in the test command).
#[test]
fn every_bootstrap_is_a_position_independent_executable_of_the_deployed_architecture() {
    const ET_DYN: u16 = 3;
    const PT_INTERP: u32 = 3;
    let lambda_dir = required_env("VENTANILLA_LAMBDA_DIR");
    let architecture = std::env::var("VENTANILLA_LAMBDA_ARCH").unwrap_or("x86_64".into());
    let machine: u16 = match architecture.as_str() {
        "x86_64" => 0x3e,
        "arm64" => 0xb7,
        other => panic!("unknown architecture {other}"),
    };
    for name in FUNCTIONS {
        let path = lambda_dir.join(name).join("bootstrap");
        let elf = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(&elf[..5], b"\x7fELF\x02", "{name}: a 64-bit ELF file");
        let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]);
        let u32_at = |at: usize| u32::from_le_bytes(elf[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().unwrap());
        assert_eq!(
            u16_at(16),
            ET_DYN,
            "{name}: not a PIE (ELF type {})",
            u16_at(16)
        );
        assert_eq!(u16_at(18), machine, "{name}: not built for {architecture}");
        let (phoff, phentsize, phnum) = (u64_at(32) as usize, u16_at(54) as usize, u16_at(56));
        let has_interpreter =
            (0..usize::from(phnum)).any(|i| u32_at(phoff + i * phentsize) == PT_INTERP);
        assert!(
            has_interpreter,
            "{name}: a shared library, not an executable"
        );
    }
}

/// A grant missing from a function's policy shows as AWS shows it: the call is refused with
/// AccessDenied, the function logs it once, naming the action (and no personal data), and
/// the citizen gets the documented 503 problem, not a 500.
#[tokio::test]
async fn an_access_denied_is_logged_once_with_its_action_and_answered_503() {
    let aws = AwsStandIn::without_grants(
        ventanilla_tests::aws_config().await,
        true,
        &["create-ticket|TicketsWrite|dynamodb:UpdateItem"],
    )
    .await;
    let functions = Functions::start(&aws);
    let citizen = format!("{}@example.com", unique("carmen"));
    let form = ventanilla_tests::form_json(&citizen);
    let (status, problem) = functions
        .http(
            "create-ticket",
            reqwest::Method::POST,
            "/api/v1/tickets",
            None,
            Some(form.clone()),
        )
        .await;
    assert_eq!(status, 503, "{problem}\n{}", functions.logs_text());
    assert_eq!(problem["status"], 503, "{problem}");
    assert!(!problem.to_string().contains("AccessDenied"), "{problem}");

    let denials = ventanilla_tests::stack_denials(&aws.stack).await;
    assert_eq!(denials.len(), 1, "{denials:?}");
    assert_eq!(denials[0]["function"], "create-ticket");
    assert_eq!(denials[0]["action"], "dynamodb:UpdateItem");

    let log = functions.log("create-ticket");
    let refusals: Vec<&str> = log.lines().filter(|l| l.contains("AccessDenied")).collect();
    assert_eq!(refusals.len(), 1, "logged once:\n{log}");
    assert!(
        refusals[0].contains("dynamodb:UpdateItem"),
        "{}",
        refusals[0]
    );
    for personal in [&citizen, "Carmen", "1710034065", "0991234567"] {
        assert!(!log.contains(personal), "{personal} in the log:\n{log}");
    }
    assert!(aws.sent().await.is_empty(), "nothing was sent");
}
