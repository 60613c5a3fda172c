//! `POST /exports`: the agency's tickets of a period, or its LOTAIP report, as CSV or XLSX
//! (supervisors and admins; the requesters' personal data for admins who ask for it).
//! Answers with a short-lived link to the file.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use ventanilla_app::dashboard::DashboardQuery;
use ventanilla_app::export::ExportQuery;
use ventanilla_app::session::AgentPorts;
use ventanilla_domain::ports::BlobStore;
use ventanilla_web::{Caller, Problem};

use super::{JsonBody, bad_json};
use crate::problem;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ExportRequest {
    agency: Option<String>,
    queue: Option<String>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    report: Option<String>,
    format: Option<String>,
    personal: bool,
}

pub(crate) async fn create<S: AgentPorts, B: BlobStore, M>(
    Caller { session, lang }: Caller<S, B, M>,
    body: JsonBody<ExportRequest>,
) -> Result<Response, Problem> {
    let Json(asked) = body.map_err(bad_json(lang))?;
    let query = ExportQuery {
        scope: DashboardQuery {
            agency: asked.agency,
            queue: asked.queue,
            period: asked.period,
            from: asked.from,
            to: asked.to,
        },
        report: asked.report,
        format: asked.format,
        personal: asked.personal,
        lang,
    };
    let export = session.export(&query).await.map_err(|e| problem(e, lang))?;
    Ok((StatusCode::CREATED, Json(export)).into_response())
}
