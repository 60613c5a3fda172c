//! `GET /estadisticas` and `GET /api/v1/stats`: the public statistics of a year, from the
//! agencies' figures, never from tickets. Kept ten minutes per instance and by browsers, so
//! that a public page costs a few reads however often it is asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Datelike;
use serde::Deserialize;
use ventanilla_app::Desk;
use ventanilla_app::public_stats::{FIRST_YEAR, PublicStats, public_stats, year};
use ventanilla_domain::ports::{AgencyDirectory, StatsStore};
use ventanilla_domain::rules::deadline::day_in_ecuador;
use ventanilla_web::pages::html;
use ventanilla_web::{Problem, RequestLang};

/// How long an instance keeps a year's figures.
const KEPT: Duration = Duration::from_secs(600);

struct Statistics<S, B> {
    desk: Arc<Desk<S, B, ()>>,
    kept: Mutex<HashMap<i32, (Instant, Arc<PublicStats>)>>,
}

pub fn routes<S, B>(desk: Arc<Desk<S, B, ()>>) -> Router
where
    S: StatsStore + AgencyDirectory + 'static,
    B: Send + Sync + 'static,
{
    let state = Arc::new(Statistics {
        desk,
        kept: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/estadisticas", get(page::<S, B>))
        .route("/api/v1/stats", get(json::<S, B>))
        .with_state(state)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Asked {
    year: Option<String>,
}

/// The year's figures, from the instance's copy while it is fresh.
async fn figures<S, B>(
    state: &Statistics<S, B>,
    asked: Option<&str>,
) -> Result<Arc<PublicStats>, ventanilla_app::AppError>
where
    S: StatsStore + AgencyDirectory,
{
    let site = &state.desk.site;
    let year = year(asked, day_in_ecuador(site.clock.now()))?;
    if let Some((at, stats)) = state
        .kept
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&year)
        && at.elapsed() < KEPT
    {
        return Ok(Arc::clone(stats));
    }
    let stats = Arc::new(public_stats(&state.desk.store, site, year).await?);
    state
        .kept
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(year, (Instant::now(), Arc::clone(&stats)));
    Ok(stats)
}

fn cached(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=600"),
    );
    // The page is Spanish or English by the browser's language: a shared cache keeps both.
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    response
}

async fn page<S, B>(
    State(state): State<Arc<Statistics<S, B>>>,
    RequestLang(lang): RequestLang,
    asked: Result<Query<Asked>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem>
where
    S: StatsStore + AgencyDirectory,
{
    let asked = asked.map(|Query(a)| a).unwrap_or_default();
    let stats = figures(&state, asked.year.as_deref())
        .await
        .map_err(|e| Problem::from_app(e, lang))?;
    let this_year = day_in_ecuador(state.desk.site.clock.now()).year();
    let years: Vec<i32> = (FIRST_YEAR..=this_year).rev().collect();
    let page = ventanilla_web::figures::statistics_page(
        &stats,
        &years,
        lang,
        &state.desk.site.settings.site_name,
    );
    Ok(cached(html(StatusCode::OK, &page)))
}

async fn json<S, B>(
    State(state): State<Arc<Statistics<S, B>>>,
    RequestLang(lang): RequestLang,
    asked: Result<Query<Asked>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem>
where
    S: StatsStore + AgencyDirectory,
{
    let Query(asked) = asked.map_err(|r| Problem::bad_request(lang, r.body_text()))?;
    let stats = figures(&state, asked.year.as_deref())
        .await
        .map_err(|e| Problem::from_app(e, lang))?;
    Ok(cached(Json(&*stats).into_response()))
}
