//! An agency's tickets of a period as a file a director opens in a spreadsheet: CSV or XLSX,
//! a row per ticket with its dates, category, channel, queue, status, due date, first
//! response, finishing, timeliness and agent; or the LOTAIP annual report, a row per request
//! for public information with how and when it was answered. The requester's name, address,
//! document and phone only for admins who ask for them, and that export is audited.
//!
//! The file is written as the store's pages come (the spreadsheet in constant memory) and
//! stored with the blobs; the caller gets a short-lived download link. A year of a large
//! agency (100,000 tickets) is more than Lambda may answer over HTTP (6 MB).

use std::time::Duration;

use ventanilla_domain::model::agents::{AuditAction, Role};
use ventanilla_domain::model::lang::Lang;
use ventanilla_domain::model::milestones::Reached;
use ventanilla_domain::ports::{AgentDirectory, Blob, BlobStore, StatsStore};
use ventanilla_domain::{
    AgencyCode, BlobKey, Category, FieldError, FieldProblem, Labelled, QueueName, Ticket, Timestamp,
};

use crate::AppError;
use crate::dashboard::{DashboardQuery, Period};
use crate::session::{AgentPorts, Session};

/// How long the download link works.
pub const LINK_VALID_FOR: Duration = Duration::from_secs(15 * 60);

/// An export covers at most this many days (a year).
pub const MAX_DAYS: i64 = 366;

/// A spreadsheet holds 1,048,576 rows, the header's included.
const MAX_XLSX_ROWS: usize = 1_048_575;

/// The file's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
}

/// One of `choices` by its name, in any case; none or an empty one is `choices[0]`.
fn choose<T: Copy>(
    field: &'static str,
    text: Option<&str>,
    choices: &[(&str, T)],
) -> Result<T, AppError> {
    let text = text
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if text.is_empty() {
        return Ok(choices[0].1);
    }
    choices
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, value)| *value)
        .ok_or_else(|| AppError::invalid(FieldError::new(field, FieldProblem::UnknownValue)))
}

impl Format {
    /// `xlsx` (the default) or `csv`.
    pub fn parse(text: Option<&str>) -> Result<Format, AppError> {
        choose(
            "format",
            text,
            &[("xlsx", Format::Xlsx), ("csv", Format::Csv)],
        )
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// What the file lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Report {
    /// Every ticket, a row each (the default).
    Tickets,
    /// The LOTAIP annual report: every request for public information, with how and when
    /// it was answered, the days taken and the extension used.
    Lotaip,
}

impl Report {
    /// `tickets` (the default) or `lotaip`.
    pub fn parse(text: Option<&str>) -> Result<Report, AppError> {
        choose(
            "report",
            text,
            &[("tickets", Report::Tickets), ("lotaip", Report::Lotaip)],
        )
    }

    fn name(self) -> &'static str {
        match self {
            Report::Tickets => "tickets",
            Report::Lotaip => "lotaip",
        }
    }

    fn lists(self, ticket: &Ticket) -> bool {
        match self {
            Report::Tickets => true,
            // A merged duplicate's request is answered on the ticket it joined.
            Report::Lotaip => {
                ticket.category == Category::AccesoInformacion && ticket.merged_into.is_none()
            }
        }
    }
}

/// What an export asks for: a dashboard's scope, a report, a format, and whether the
/// requester's personal data goes in.
#[derive(Debug, Clone, Default)]
pub struct ExportQuery {
    pub scope: DashboardQuery,
    pub report: Option<String>,
    pub format: Option<String>,
    pub personal: bool,
    /// The language of the column names and labels.
    pub lang: Lang,
}

/// A file's contents, as parsed and authorised.
#[derive(Debug, Clone)]
pub struct FileQuery {
    pub agency: AgencyCode,
    pub queue: Option<QueueName>,
    pub period: Period,
    pub report: Report,
    pub format: Format,
    pub personal: bool,
    pub lang: Lang,
}

impl FileQuery {
    /// `AGENCY-report-from-to.ext`.
    pub fn file_name(&self) -> String {
        format!(
            "{}-{}-{}-{}.{}",
            self.agency,
            self.report.name(),
            self.period.from,
            self.period.to,
            self.format.extension()
        )
    }
}

/// The file `query` asks for, and how many tickets it lists: written as the store's pages
/// come. The console's export and `ventanilla-local export` both make it here.
pub async fn write_file(
    store: &(impl StatsStore + AgentDirectory),
    query: &FileQuery,
) -> Result<(Vec<u8>, usize), AppError> {
    let names: std::collections::HashMap<String, String> = store
        .agents(&query.agency)
        .await?
        .into_iter()
        .map(|agent| (agent.id.as_str().to_owned(), agent.name))
        .collect();
    let columns = columns(query.report, query.personal);
    let mut file = File::new(query.format)?;
    file.row(
        columns
            .iter()
            .map(|c| Cell::Text(c.title(query.lang).to_owned())),
    )?;
    let mut rows = 0;
    let mut cursor = None;
    loop {
        let (tickets, next) = store
            .received_tickets(&query.agency, query.period.from, query.period.to, cursor)
            .await?;
        for ticket in tickets
            .iter()
            .filter(|t| query.report.lists(t) && query.queue.as_ref().is_none_or(|q| &t.queue == q))
        {
            if query.format == Format::Xlsx && rows == MAX_XLSX_ROWS {
                return Err(AppError::NotAllowed(
                    "more tickets than a spreadsheet holds: export them as CSV",
                ));
            }
            file.row(columns.iter().map(|c| c.cell(ticket, &names, query.lang)))?;
            rows += 1;
        }
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok((file.finish()?, rows))
}

/// The file made, and where to get it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Export {
    pub file_name: String,
    pub report: Report,
    pub format: Format,
    pub period: Period,
    pub rows: usize,
    pub personal: bool,
    pub url: String,
    pub expires_at: Timestamp,
}

impl<S: AgentPorts, B: BlobStore, M> Session<S, B, M> {
    /// The tickets the agency received in the period (and queue), as a file.
    pub async fn export(&self, query: &ExportQuery) -> Result<Export, AppError> {
        let (agency, queue, period) = self.report_scope(&query.scope)?;
        let format = Format::parse(query.format.as_deref())?;
        let report = Report::parse(query.report.as_deref())?;
        // Personal data goes to the agency's own admins, as a requester's right of access
        // does (`requester_data`): an operator exports another agency's figures, not people.
        if query.personal {
            self.require(Role::Admin)?;
            if agency != self.agent.agency {
                return Err(AppError::Forbidden);
            }
        }
        // A year at most: what one request reads and writes (docs/PERFORMANCE.md).
        if (period.to - period.from).num_days() >= MAX_DAYS {
            return Err(AppError::invalid(FieldError::new(
                "to",
                FieldProblem::InvalidFormat,
            )));
        }
        let file = FileQuery {
            agency,
            queue,
            period,
            report,
            format,
            personal: query.personal,
            lang: query.lang,
        };
        let (bytes, rows) = write_file(&self.desk.store, &file).await?;
        let now = self.site.clock.now();
        let id = uuid::Uuid::now_v7();
        let agency = &file.agency;
        let key = BlobKey::parse(&format!("exports/{agency}/{id}.{}", format.extension()))
            .map_err(|_| AppError::Misconfigured("an export's blob key"))?;
        let file_name = file.file_name();
        self.desk
            .blobs
            .put(
                &key,
                Blob {
                    bytes,
                    content_type: format.content_type().to_owned(),
                },
            )
            .await?;
        if query.personal {
            self.audit(
                AuditAction::ExportPersonalData,
                None,
                format!(
                    "{} de {agency}, recibidos del {} al {}: {rows} filas con datos personales ({})",
                    report.name(),
                    period.from,
                    period.to,
                    format.extension()
                ),
            )
            .await?;
        }
        let url = self
            .desk
            .blobs
            .download_url(&key, &file_name, LINK_VALID_FOR)
            .await?;
        Ok(Export {
            file_name,
            report,
            format,
            period,
            rows,
            personal: query.personal,
            url,
            expires_at: now.plus(chrono::Duration::seconds(
                i64::try_from(LINK_VALID_FOR.as_secs()).unwrap_or(0),
            )),
        })
    }
}

/// A column of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Number,
    Received,
    Category,
    Channel,
    Queue,
    Status,
    DueOn,
    FirstResponse,
    FirstResponseDays,
    Finished,
    FinishedDays,
    OnTime,
    Agent,
    RequesterType,
    Subject,
    Answer,
    Reason,
    Extension,
    Name,
    Email,
    IdDocument,
    Phone,
}

fn columns(report: Report, personal: bool) -> Vec<Column> {
    use Column::*;
    let mut columns = match report {
        Report::Tickets => vec![
            Number,
            Received,
            Category,
            Channel,
            Queue,
            Status,
            DueOn,
            FirstResponse,
            FirstResponseDays,
            Finished,
            FinishedDays,
            OnTime,
            Agent,
        ],
        // What the Defensoría del Pueblo asks of each request (LOTAIP, art. 12).
        Report::Lotaip => vec![
            Number,
            Received,
            RequesterType,
            Channel,
            Status,
            Answer,
            Finished,
            FinishedDays,
            Extension,
            DueOn,
            OnTime,
        ],
    };
    if personal {
        // What the requester wrote, and what the agency wrote about it, may name them.
        if report == Report::Lotaip {
            columns.extend([Subject, Reason]);
        }
        columns.extend([Name, Email, IdDocument, Phone]);
    }
    columns
}

/// A cell: text, or a whole number a spreadsheet can add up.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Text(String),
    Number(u32),
    Empty,
}

impl Column {
    fn title(self, lang: Lang) -> &'static str {
        let (es, en) = match self {
            Column::Number => ("Número", "Number"),
            Column::Received => ("Recibido", "Received"),
            Column::Category => ("Categoría", "Category"),
            Column::Channel => ("Canal", "Channel"),
            Column::Queue => ("Cola", "Queue"),
            Column::Status => ("Estado", "Status"),
            Column::DueOn => ("Vence", "Due date"),
            Column::FirstResponse => ("Primera respuesta", "First response"),
            Column::FirstResponseDays => (
                "Días hábiles a la primera respuesta",
                "Business days to first response",
            ),
            Column::Finished => ("Terminado", "Finished"),
            Column::FinishedDays => ("Días hábiles hasta terminar", "Business days to finish"),
            Column::OnTime => ("A tiempo", "On time"),
            Column::Agent => ("Agente", "Agent"),
            Column::RequesterType => ("Tipo de solicitante", "Requester type"),
            Column::Subject => ("Asunto", "Subject"),
            Column::Answer => ("Respuesta", "Answer"),
            Column::Reason => ("Motivo", "Reason"),
            Column::Extension => ("Prórroga (días)", "Extension (days)"),
            Column::Name => ("Nombre", "Name"),
            Column::Email => ("Correo electrónico", "E-mail"),
            Column::IdDocument => ("Documento de identidad", "ID document"),
            Column::Phone => ("Teléfono", "Phone"),
        };
        match lang {
            Lang::Es => es,
            Lang::En => en,
        }
    }

    fn cell(
        self,
        ticket: &Ticket,
        names: &std::collections::HashMap<String, String>,
        lang: Lang,
    ) -> Cell {
        let text = |s: &str| Cell::Text(s.to_owned());
        let moment =
            |at: Timestamp| Cell::Text(at.in_ecuador().format("%Y-%m-%d %H:%M").to_string());
        let reached = |r: &Option<Reached>| r.as_ref().map_or(Cell::Empty, |r| moment(r.at));
        let days = |r: &Option<Reached>| {
            r.as_ref()
                .map_or(Cell::Empty, |r| Cell::Number(r.business_days))
        };
        let milestones = &ticket.milestones;
        let requester = &ticket.requester;
        match self {
            Column::Number => text(ticket.number.as_str()),
            Column::Received => moment(ticket.created_at),
            Column::Category => text(ticket.category.label(lang)),
            Column::Channel => ticket.channel.map_or(Cell::Empty, |c| text(c.label(lang))),
            Column::Queue => text(ticket.queue.as_str()),
            Column::Status => text(ticket.status.label(lang)),
            Column::DueOn => ticket
                .due_date()
                .map_or(Cell::Empty, |d| Cell::Text(d.to_string())),
            Column::FirstResponse => reached(&milestones.first_response),
            Column::FirstResponseDays => days(&milestones.first_response),
            Column::Finished => reached(&milestones.finished),
            Column::FinishedDays => days(&milestones.finished),
            Column::OnTime => match milestones.finished.as_ref().and_then(|f| f.on_time) {
                Some(true) => text(if lang == Lang::Es { "sí" } else { "yes" }),
                Some(false) => text("no"),
                None => Cell::Empty,
            },
            Column::Agent => {
                let agent = milestones
                    .finished
                    .as_ref()
                    .and_then(|f| f.by.as_ref())
                    .or(ticket.assignee.as_ref());
                agent.map_or(Cell::Empty, |id| {
                    text(names.get(id.as_str()).map_or(id.as_str(), String::as_str))
                })
            }
            Column::RequesterType => requester
                .user_type
                .map_or(Cell::Empty, |t| text(t.label(lang))),
            Column::Subject => text(ticket.subject.as_str()),
            Column::Answer => ticket.information_answer.as_ref().map_or_else(
                || {
                    text(if lang == Lang::Es {
                        "sin registrar"
                    } else {
                        "not recorded"
                    })
                },
                |a| text(a.outcome.label(lang)),
            ),
            Column::Reason => ticket
                .information_answer
                .as_ref()
                .and_then(|a| a.reason.as_deref())
                .map_or(Cell::Empty, text),
            Column::Extension => ticket
                .extended
                .as_ref()
                .map_or(Cell::Number(0), |e| Cell::Number(e.days)),
            Column::Name => text(requester.name.as_str()),
            Column::Email => requester
                .email
                .as_ref()
                .map_or(Cell::Empty, |e| text(e.as_str())),
            Column::IdDocument => requester
                .id_document
                .as_ref()
                .map_or(Cell::Empty, |d| text(d.number())),
            Column::Phone => requester
                .phone
                .as_ref()
                .map_or(Cell::Empty, |p| text(p.as_str())),
        }
    }
}

/// The file being written.
enum File {
    Csv(Box<csv::Writer<Vec<u8>>>),
    Xlsx {
        workbook: Box<rust_xlsxwriter::Workbook>,
        row: u32,
        width: u16,
    },
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            File::Csv(_) => "File::Csv",
            File::Xlsx { .. } => "File::Xlsx",
        })
    }
}

fn xlsx_error(error: rust_xlsxwriter::XlsxError) -> AppError {
    tracing::error!(%error, "spreadsheet not written");
    AppError::Misconfigured("the spreadsheet could not be written")
}

fn csv_error(error: impl std::fmt::Display) -> AppError {
    tracing::error!(%error, "CSV not written");
    AppError::Misconfigured("the CSV file could not be written")
}

impl File {
    fn new(format: Format) -> Result<File, AppError> {
        Ok(match format {
            // A byte-order mark: Excel reads the file as UTF-8 only with one.
            Format::Csv => File::Csv(Box::new(csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec()))),
            Format::Xlsx => {
                let mut workbook = Box::new(rust_xlsxwriter::Workbook::new());
                // Rows go to a temporary file as they are written, not kept in memory.
                let sheet = workbook
                    .add_worksheet_with_constant_memory()
                    .map_err(xlsx_error)?;
                sheet.set_name("Tickets").map_err(xlsx_error)?;
                sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
                File::Xlsx {
                    workbook,
                    row: 0,
                    width: 0,
                }
            }
        })
    }

    fn row(&mut self, cells: impl Iterator<Item = Cell>) -> Result<(), AppError> {
        match self {
            File::Csv(writer) => {
                let record: Vec<String> = cells
                    .map(|cell| match cell {
                        Cell::Text(text) => defused(text),
                        Cell::Number(n) => n.to_string(),
                        Cell::Empty => String::new(),
                    })
                    .collect();
                writer.write_record(&record).map_err(csv_error)
            }
            File::Xlsx {
                workbook,
                row,
                width,
            } => {
                let sheet = workbook.worksheet_from_index(0).map_err(xlsx_error)?;
                let header = *row == 0;
                let bold = rust_xlsxwriter::Format::new().set_bold();
                for (column, cell) in cells.enumerate() {
                    let column = u16::try_from(column).unwrap_or(u16::MAX);
                    *width = (*width).max(column + 1);
                    // A string cell is never a formula: what a citizen typed stays text.
                    match cell {
                        Cell::Text(text) if header => {
                            sheet
                                .set_column_width(column, (text.chars().count() + 4).max(14) as f64)
                                .map_err(xlsx_error)?;
                            sheet
                                .write_string_with_format(*row, column, text, &bold)
                                .map_err(xlsx_error)?;
                        }
                        Cell::Text(text) => {
                            sheet.write_string(*row, column, text).map_err(xlsx_error)?;
                        }
                        Cell::Number(n) => {
                            sheet
                                .write_number(*row, column, f64::from(n))
                                .map_err(xlsx_error)?;
                        }
                        Cell::Empty => {}
                    }
                }
                *row += 1;
                Ok(())
            }
        }
    }

    fn finish(self) -> Result<Vec<u8>, AppError> {
        match self {
            File::Csv(writer) => writer.into_inner().map_err(csv_error),
            File::Xlsx {
                mut workbook,
                row,
                width,
            } => {
                let sheet = workbook.worksheet_from_index(0).map_err(xlsx_error)?;
                if row > 1 && width > 0 {
                    sheet
                        .autofilter(0, 0, row - 1, width - 1)
                        .map_err(xlsx_error)?;
                }
                workbook.save_to_buffer().map_err(xlsx_error)
            }
        }
    }
}

/// A text cell a spreadsheet will not run as a formula when it opens the CSV (OWASP's CSV
/// injection advice): a leading `=`, `+`, `-`, `@`, tab or carriage return gets a `'`.
fn defused(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_typed_by_a_citizen_stay_text_in_a_csv() {
        assert_eq!(defused("=HYPERLINK(\"x\")".into()), "'=HYPERLINK(\"x\")");
        assert_eq!(defused("+593 99 123 4567".into()), "'+593 99 123 4567");
        assert_eq!(defused("@SUM(A1)".into()), "'@SUM(A1)");
        assert_eq!(defused("Rosa Quishpe".into()), "Rosa Quishpe");
    }

    #[test]
    fn formats_are_named_and_unknown_ones_refused() {
        assert_eq!(Format::parse(None).unwrap(), Format::Xlsx);
        assert_eq!(Format::parse(Some(" CSV ")).unwrap(), Format::Csv);
        assert!(matches!(
            Format::parse(Some("pdf")),
            Err(AppError::Invalid(_))
        ));
    }
}
