//! `GET /dashboard`: the agency's figures for a period (supervisors and admins; operators
//! name any agency). JSON, or with `Accept: text/html` the charts and tables the console
//! shows as they are.

use axum::Json;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use ventanilla_app::dashboard::DashboardQuery;
use ventanilla_app::session::AgentPorts;
use ventanilla_web::{Caller, Problem};

use super::{QueryParams, bad_query};
use crate::problem;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Asked {
    agency: Option<String>,
    queue: Option<String>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

pub(crate) async fn dashboard<S: AgentPorts, B, M>(
    Caller { session, lang }: Caller<S, B, M>,
    headers: HeaderMap,
    asked: QueryParams<Asked>,
) -> Result<Response, Problem>
where
    B: ventanilla_domain::ports::BlobStore,
    M: ventanilla_domain::ports::Mailer,
{
    let Query(asked) = asked.map_err(bad_query(lang))?;
    let query = DashboardQuery {
        agency: asked.agency,
        queue: asked.queue,
        period: asked.period,
        from: asked.from,
        to: asked.to,
    };
    let figures = session
        .dashboard(&query)
        .await
        .map_err(|e| problem(e, lang))?;
    let html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if html {
        let fragment = ventanilla_web::figures::dashboard(&figures, lang);
        return Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            fragment,
        )
            .into_response());
    }
    Ok(Json(figures).into_response())
}
