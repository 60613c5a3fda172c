//! A proxy in front of the AWS stand-ins that answers chosen calls with the faults AWS gives
//! (DynamoDB throttling and cancelled transactions, S3 server errors, SES throttling) and
//! forwards everything else. The SDK reaches it as its endpoint, so the
//! faults travel the real wire protocols and meet the SDK's own retries first.

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// A kind of call, as the proxy tells them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// A DynamoDB operation, by name (`TransactWriteItems`, `GetItem`, …).
    DynamoDb(&'static str),
    S3Get,
    S3Put,
    SesSend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// DynamoDB's ThrottlingException, S3's 503 SlowDown, SES's 429: retried by the SDK.
    Throttled,
    /// A 500 from the service: retried by the SDK.
    ServerError,
    /// DynamoDB's TransactionCanceledException with the first item's condition failed: what
    /// a lost race for a ticket number or a version looks like.
    ConditionFailed,
    /// DynamoDB's TransactionConflictException: what a single write gets while a transaction
    /// holds its item. Not retried by the SDK.
    TransactionConflict,
    /// The call goes through and lands, but its answer is lost on the way back (a 500
    /// instead): the SDK tries again a write that was made.
    AnswerLost,
}

#[derive(Debug)]
struct Rule {
    call: Call,
    remaining: usize,
    fault: Fault,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    injected: usize,
}

#[derive(Debug, Clone)]
struct Upstream {
    aws: String,
    ses: String,
    client: reqwest::Client,
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
pub struct FaultProxy {
    pub url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Listens on a free loopback port, in front of the stand-ins the test command started.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let upstream = Upstream {
            aws: ventanilla_tests::aws_endpoint(),
            ses: ventanilla_tests::ses_endpoint(),
            client: reqwest::Client::new(),
            state: Arc::clone(&state),
        };
        let app = axum::Router::new().fallback(move |request: Request<Body>| {
            let upstream = upstream.clone();
            async move { upstream.answer(request).await }
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FaultProxy { url, state, task }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next `times` calls of this kind get `fault`.
    pub fn fail(&self, call: Call, times: usize, fault: Fault) {
        self.state().rules.push(Rule {
            call,
            remaining: times,
            fault,
        });
    }

    /// No more faults; returns how many were answered.
    pub fn heal(&self) -> usize {
        let mut state = self.state();
        state.rules.clear();
        state.injected
    }
}

const DYNAMODB_TARGET: &str = "DynamoDB_20120810.";

fn classify(method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Call> {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let operation = target.strip_prefix(DYNAMODB_TARGET)?;
        return [
            "TransactWriteItems",
            "GetItem",
            "BatchGetItem",
            "PutItem",
            "UpdateItem",
            "Query",
        ]
        .into_iter()
        .find(|known| *known == operation)
        .map(Call::DynamoDb);
    }
    if uri.path().starts_with("/v2/email/outbound-emails") {
        return Some(Call::SesSend);
    }
    match *method {
        Method::GET => Some(Call::S3Get),
        Method::PUT => Some(Call::S3Put),
        _ => None,
    }
}

fn fault_response(call: &Call, fault: Fault) -> Response {
    let json = |status: StatusCode, kind: &str, extra: &str| {
        let body =
            format!("{{\"__type\":\"{kind}\",\"message\":\"injected by the fault proxy\"{extra}}}");
        (
            status,
            [
                ("content-type", "application/x-amz-json-1.0"),
                ("x-amzn-errortype", kind),
            ],
            body,
        )
            .into_response()
    };
    let xml = |status: StatusCode, code: &str| {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>injected by the fault proxy</Message></Error>"
        );
        (status, [("content-type", "application/xml")], body).into_response()
    };
    match (call, fault) {
        (Call::DynamoDb(_), Fault::Throttled) => json(
            StatusCode::BAD_REQUEST,
            "com.amazonaws.dynamodb.v20120810#ThrottlingException",
            "",
        ),
        (Call::DynamoDb(_), Fault::TransactionConflict) => json(
            StatusCode::BAD_REQUEST,
            "com.amazonaws.dynamodb.v20120810#TransactionConflictException",
            "",
        ),
        (Call::DynamoDb(_), Fault::ConditionFailed) => json(
            StatusCode::BAD_REQUEST,
            "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            ",\"CancellationReasons\":[{\"Code\":\"ConditionalCheckFailed\"}]",
        ),
        (Call::DynamoDb(_), _) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            "com.amazonaws.dynamodb.v20120810#InternalServerError",
            "",
        ),
        (Call::S3Get | Call::S3Put, Fault::Throttled) => {
            xml(StatusCode::SERVICE_UNAVAILABLE, "SlowDown")
        }
        (Call::S3Get | Call::S3Put, _) => xml(StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
        (Call::SesSend, Fault::Throttled) => json(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "",
        ),
        (Call::SesSend, _) => json(StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure", ""),
    }
}

impl Upstream {
    async fn answer(&self, request: Request<Body>) -> Response {
        let (parts, body) = request.into_parts();
        let call = classify(&parts.method, &parts.uri, &parts.headers);
        let mut lost = None;
        if let Some(call) = &call {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let rule = state
                .rules
                .iter_mut()
                .find(|r| &r.call == call && r.remaining > 0);
            if let Some(rule) = rule {
                rule.remaining -= 1;
                let fault = rule.fault;
                state.injected += 1;
                if fault != Fault::AnswerLost {
                    return fault_response(call, fault);
                }
                lost = Some(call.clone());
            }
        }
        let bytes: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let base = if call == Some(Call::SesSend) || parts.uri.path().starts_with("/v2/email") {
            &self.ses
        } else {
            &self.aws
        };
        let target = format!(
            "{base}{}",
            parts.uri.path_and_query().map_or("/", |p| p.as_str())
        );
        let mut forwarded = self.client.request(parts.method.clone(), target);
        for (name, value) in &parts.headers {
            if name != "host" && name != "content-length" {
                forwarded = forwarded.header(name, value);
            }
        }
        let answer = match forwarded.body(bytes).send().await {
            Ok(answer) => answer,
            Err(error) => {
                return (StatusCode::BAD_GATEWAY, error.to_string()).into_response();
            }
        };
        if let Some(call) = lost {
            return fault_response(&call, Fault::ServerError);
        }
        let mut response = Response::builder().status(answer.status().as_u16());
        for (name, value) in answer.headers() {
            if !matches!(
                name.as_str(),
                "transfer-encoding" | "content-length" | "connection"
            ) {
                response = response.header(name, value);
            }
        }
        let body = answer.bytes().await.unwrap_or_default();
        response.body(Body::from(body)).unwrap()
    }
}
