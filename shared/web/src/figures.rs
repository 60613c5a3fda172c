//! The figures people read: an agency's dashboard (a fragment the console shows) and the
//! public statistics page. Each figure is a chart and a table of the same numbers, with
//! Spanish (or English) labels and Ecuador's number and date formats.

use askama::Template;
use chrono::NaiveDate;
use ventanilla_app::dashboard::Dashboard;
use ventanilla_app::public_stats::{PublicStats, Shown};
use ventanilla_domain::rules::stats::{MAX_DAYS, counter, days_quantile};
use ventanilla_domain::{Category, Channel, Choice, Labelled, Lang, Status};

use crate::charts::{self, average, count, percent};
use crate::pages::{Frame, SelectOption};

/// A table of a figure's numbers, its first column naming each row.
#[derive(Debug, Clone)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// One figure: a title, a chart (SVG drawn by plotters, which escapes the labels it is
/// given), and its table.
#[derive(Debug, Clone)]
pub struct Figure {
    pub id: String,
    pub title: String,
    pub chart: Option<String>,
    pub table: Table,
}

fn es_en(lang: Lang, es: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Es => es,
        Lang::En => en,
    }
}

fn short_date(day: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Es => day
            .format_localized("%-d %b %Y", chrono::Locale::es_EC)
            .to_string(),
        Lang::En => day.format("%-d %b %Y").to_string(),
    }
}

fn month_name(month: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Es => month
            .format_localized("%B %Y", chrono::Locale::es_EC)
            .to_string(),
        Lang::En => month.format("%B %Y").to_string(),
    }
}

fn days(days: Option<u32>, lang: Lang) -> String {
    match days {
        None => "—".to_owned(),
        Some(d) if d > MAX_DAYS => format!("{} {MAX_DAYS}", es_en(lang, "más de", "more than")),
        Some(d) => count(d.into(), lang),
    }
}

/// A bar figure of labelled counts, with its table (label, count).
fn bar_figure(
    id: &str,
    title: String,
    column: &str,
    rows: Vec<(String, i64)>,
    lang: Lang,
) -> Figure {
    let chart = (!rows.is_empty()).then(|| charts::bars(&format!("{id}-t"), &rows, lang));
    Figure {
        id: id.to_owned(),
        title,
        chart,
        table: Table {
            headers: vec![
                column.to_owned(),
                es_en(lang, "Tickets", "Tickets").to_owned(),
            ],
            rows: rows
                .into_iter()
                .map(|(label, n)| vec![label, count(n, lang)])
                .collect(),
        },
    }
}

#[derive(Debug, Template)]
#[template(path = "dashboard.html")]
pub struct DashboardView {
    pub lang: Lang,
    pub heading: String,
    pub summary: Vec<(String, String)>,
    pub figures: Vec<Figure>,
}

/// The dashboard as an HTML fragment for the console.
pub fn dashboard(d: &Dashboard, lang: Lang) -> String {
    let get = |name: &str| d.totals.get(name).copied().unwrap_or(0);
    let t = |es, en| es_en(lang, es, en).to_owned();
    let on_time = get(counter::FINISHED_ON_TIME);
    let late = get(counter::FINISHED_LATE);
    let follow_ups = get(counter::FOLLOW_UPS);
    #[allow(clippy::cast_precision_loss)]
    let share = |part: i64, whole: i64| {
        if whole > 0 {
            percent(part as f64 / whole as f64, lang)
        } else {
            "—".to_owned()
        }
    };
    let mut summary = vec![
        (
            t("Recibidos", "Received"),
            count(get(counter::OPENED), lang),
        ),
        (
            t("Finalizados", "Finished"),
            count(get(counter::FINISHED), lang),
        ),
        (
            t("Finalizados dentro del plazo", "Finished within the term"),
            share(on_time, on_time + late),
        ),
        (
            t(
                "Primera respuesta, mediana (días hábiles)",
                "First response, median (business days)",
            ),
            days(days_quantile(&d.totals, "response_days", 0.5), lang),
        ),
        (
            t(
                "Primera respuesta, percentil 90",
                "First response, 90th percentile",
            ),
            days(days_quantile(&d.totals, "response_days", 0.9), lang),
        ),
        (
            t(
                "Resolución, mediana (días hábiles)",
                "Resolution, median (business days)",
            ),
            days(days_quantile(&d.totals, "resolution_days", 0.5), lang),
        ),
        (
            t("Resolución, percentil 90", "Resolution, 90th percentile"),
            days(days_quantile(&d.totals, "resolution_days", 0.9), lang),
        ),
        (
            t("Reabiertos", "Reopened"),
            count(get(counter::REOPENED), lang),
        ),
        (
            t(
                "Seguimientos del ciudadano por correo",
                "Citizen follow-ups by mail",
            ),
            share(get(counter::MAIL_FOLLOW_UPS), follow_ups),
        ),
    ];
    let (rated, rating_average) = ventanilla_app::public_stats::ratings(&d.totals);
    summary.push((
        t(
            "Valoración media de los ciudadanos (1 a 5)",
            "Citizens' average rating (1 to 5)",
        ),
        rating_average.map_or_else(
            || "—".to_owned(),
            |a| {
                format!(
                    "{} ({} {})",
                    average(a, lang),
                    count(rated, lang),
                    es_en(lang, "valoraciones", "ratings")
                )
            },
        ),
    ));
    let week_labels: Vec<String> = d.weeks.iter().map(|w| short_date(w.starts, lang)).collect();
    let weekly = Figure {
        id: "semanas".into(),
        title: t(
            "Recibidos y finalizados por semana",
            "Received and finished per week",
        ),
        chart: Some(charts::lines(
            "semanas-t",
            &week_labels,
            &[
                (
                    es_en(lang, "Recibidos", "Received"),
                    d.weeks.iter().map(|w| w.opened).collect(),
                ),
                (
                    es_en(lang, "Finalizados", "Finished"),
                    d.weeks.iter().map(|w| w.finished).collect(),
                ),
            ],
            lang,
        )),
        table: Table {
            headers: vec![
                t("Semana desde", "Week from"),
                t("Recibidos", "Received"),
                t("Finalizados", "Finished"),
            ],
            rows: d
                .weeks
                .iter()
                .zip(&week_labels)
                .map(|(w, label)| {
                    vec![
                        label.clone(),
                        count(w.opened, lang),
                        count(w.finished, lang),
                    ]
                })
                .collect(),
        },
    };
    let categories = Category::ALL
        .iter()
        .map(|c| (c.label(lang).to_owned(), get(&counter::category(*c))))
        .filter(|(_, n)| *n != 0)
        .collect();
    let channels = Channel::ALL
        .iter()
        .map(|c| (c.label(lang).to_owned(), get(&counter::channel(*c))))
        .filter(|(_, n)| *n != 0)
        .collect();
    let statuses = Status::ALL
        .iter()
        .map(|s| (s.agent_label(lang).to_owned(), get(&counter::status(*s))))
        .filter(|(_, n)| *n != 0)
        .collect();
    let timeliness = vec![
        (t("Dentro del plazo", "Within the term"), on_time),
        (t("Fuera del plazo", "Past the term"), late),
    ];
    let backlog = d
        .backlog
        .iter()
        .map(|(month, n)| (month_name(*month, lang), *n))
        .collect();
    let agent_name = |w: &ventanilla_app::dashboard::Workload| match (&w.name, w.agent.as_str()) {
        (_, "-") => t("Sin asignar", "Unassigned"),
        (Some(name), id) => format!("{name} ({id})"),
        (None, id) => id.to_owned(),
    };
    let workload = Figure {
        id: "agentes".into(),
        title: t("Carga de trabajo por agente", "Workload per agent"),
        chart: (!d.workload.is_empty()).then(|| {
            let rows: Vec<(String, i64)> =
                d.workload.iter().map(|w| (agent_name(w), w.open)).collect();
            charts::bars("agentes-t", &rows, lang)
        }),
        table: Table {
            headers: vec![
                t("Agente", "Agent"),
                t("Finalizados en el período", "Finished in the period"),
                t("Abiertos ahora", "Open now"),
            ],
            rows: d
                .workload
                .iter()
                .map(|w| vec![agent_name(w), count(w.finished, lang), count(w.open, lang)])
                .collect(),
        },
    };
    let column = |es, en| es_en(lang, es, en);
    let figures = vec![
        weekly,
        bar_figure(
            "categorias",
            t("Recibidos por categoría", "Received by category"),
            column("Categoría", "Category"),
            categories,
            lang,
        ),
        bar_figure(
            "canales",
            t("Recibidos por canal", "Received by channel"),
            column("Canal", "Channel"),
            channels,
            lang,
        ),
        bar_figure(
            "estados",
            t(
                "Estado actual de los recibidos",
                "Current status of those received",
            ),
            column("Estado", "Status"),
            statuses,
            lang,
        ),
        bar_figure(
            "plazos",
            t(
                "Finalizados dentro y fuera del plazo",
                "Finished within and past the term",
            ),
            column("Plazo", "Term"),
            timeliness,
            lang,
        ),
        bar_figure(
            "antiguedad",
            t(
                "Abiertos ahora, por mes de recepción",
                "Open now, by month received",
            ),
            column("Recibidos en", "Received in"),
            backlog,
            lang,
        ),
        workload,
        bar_figure(
            "valoraciones",
            t("Valoraciones de los ciudadanos", "Citizens' ratings"),
            column("Valoración", "Rating"),
            ventanilla_domain::model::rating::SCORES
                .rev()
                .map(|score| {
                    let label = ventanilla_domain::model::rating::Rating::label(score, lang);
                    (format!("{score} · {label}"), get(&counter::rating(score)))
                })
                .filter(|(_, n)| *n != 0)
                .collect(),
            lang,
        ),
    ];
    let heading = format!(
        "{} {}{} · {} – {}",
        es_en(lang, "Indicadores de", "Figures of"),
        d.agency,
        d.queue
            .as_ref()
            .map(|q| format!(" / {q}"))
            .unwrap_or_default(),
        short_date(d.period.from, lang),
        short_date(d.period.to, lang),
    );
    let view = DashboardView {
        lang,
        heading,
        summary,
        figures,
    };
    view.render().unwrap_or_else(|error| {
        tracing::error!(%error, "the dashboard did not render");
        String::new()
    })
}

/// A published count: exact, or "<5".
fn shown(value: Shown, lang: Lang) -> String {
    match value {
        Shown::Exact(n) => count(n, lang),
        Shown::Fewer => "<5".to_owned(),
        Shown::Hidden => "*".to_owned(),
    }
}

/// One agency's part of the public page.
#[derive(Debug, Clone)]
pub struct AgencyStats {
    pub name: String,
    pub code: String,
    pub figures: Vec<Figure>,
}

#[derive(Debug, Template)]
#[template(path = "statistics.html")]
pub struct StatisticsPage {
    pub frame: Frame,
    pub year: i32,
    pub years: Vec<SelectOption>,
    pub agencies: Vec<AgencyStats>,
}

/// The public statistics page of a year.
pub fn statistics_page(
    stats: &PublicStats,
    years: &[i32],
    lang: Lang,
    site_name: &str,
) -> StatisticsPage {
    let t = |es, en| es_en(lang, es, en).to_owned();
    let agencies = stats
        .agencies
        .iter()
        .map(|agency| {
            let code = agency.agency.as_str().to_lowercase();
            let month_label = |m: &str| {
                NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
                    .map(|d| month_name(d, lang))
                    .unwrap_or_else(|_| m.to_owned())
            };
            let received: Vec<i64> = agency
                .months
                .iter()
                .map(|m| match m.received {
                    Shown::Exact(n) => n,
                    Shown::Fewer | Shown::Hidden => 0,
                })
                .collect();
            let answered: Vec<i64> = agency
                .months
                .iter()
                .map(|m| match m.answered {
                    Shown::Exact(n) => n,
                    Shown::Fewer | Shown::Hidden => 0,
                })
                .collect();
            let labels: Vec<String> = agency
                .months
                .iter()
                .map(|m| month_label(&m.month))
                .collect();
            let monthly = Figure {
                id: format!("{code}-meses"),
                title: t(
                    "Solicitudes recibidas y atendidas por mes",
                    "Requests received and answered per month",
                ),
                chart: Some(charts::lines(
                    &format!("{code}-meses-t"),
                    &labels,
                    &[
                        (es_en(lang, "Recibidas", "Received"), received),
                        (es_en(lang, "Atendidas", "Answered"), answered),
                    ],
                    lang,
                )),
                table: Table {
                    headers: vec![
                        t("Mes", "Month"),
                        t("Recibidas", "Received"),
                        t("Atendidas", "Answered"),
                        t(
                            "Atendidas dentro del plazo legal",
                            "Answered within the legal term",
                        ),
                        t(
                            "Mediana de días hábiles para atender",
                            "Median business days to answer",
                        ),
                        t("Valoraciones de los ciudadanos", "Citizens' ratings"),
                        t("Valoración media (1 a 5)", "Average rating (1 to 5)"),
                    ],
                    rows: agency
                        .months
                        .iter()
                        .map(|m| {
                            vec![
                                month_label(&m.month),
                                shown(m.received, lang),
                                shown(m.answered, lang),
                                m.on_time_share
                                    .map_or_else(|| "—".to_owned(), |s| percent(s, lang)),
                                days(m.median_days, lang),
                                shown(m.rated, lang),
                                m.rating_average
                                    .map_or_else(|| "—".to_owned(), |a| average(a, lang)),
                            ]
                        })
                        .collect(),
                },
            };
            let mut headers = vec![t("Mes", "Month")];
            let categories: Vec<Category> = Category::ALL
                .iter()
                .copied()
                .filter(|c| {
                    agency
                        .months
                        .iter()
                        .any(|m| m.by_category.iter().any(|(w, _)| *w == c.wire()))
                })
                .collect();
            headers.extend(categories.iter().map(|c| c.label(lang).to_owned()));
            let by_category = Figure {
                id: format!("{code}-categorias"),
                title: t(
                    "Solicitudes recibidas por categoría",
                    "Requests received by category",
                ),
                chart: None,
                table: Table {
                    headers,
                    rows: agency
                        .months
                        .iter()
                        .map(|m| {
                            let mut row = vec![month_label(&m.month)];
                            row.extend(categories.iter().map(|c| {
                                m.by_category
                                    .iter()
                                    .find(|(w, _)| *w == c.wire())
                                    .map_or_else(|| count(0, lang), |(_, n)| shown(*n, lang))
                            }));
                            row
                        })
                        .collect(),
                },
            };
            AgencyStats {
                name: agency.name.clone(),
                code,
                figures: vec![monthly, by_category],
            }
        })
        .collect();
    let title = format!(
        "{} {}",
        es_en(lang, "Estadísticas de atención", "Service statistics"),
        stats.year
    );
    let mut frame = Frame::new(lang, site_name, "/estadisticas", title);
    frame.other_lang_href = format!(
        "/estadisticas?year={}&lang={}",
        stats.year, frame.t.other_language
    );
    StatisticsPage {
        frame,
        year: stats.year,
        years: years
            .iter()
            .map(|y| SelectOption {
                value: y.to_string(),
                label: y.to_string(),
                selected: *y == stats.year,
            })
            .collect(),
        agencies,
    }
}
