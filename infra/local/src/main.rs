//! `ventanilla-local`: every HTTP function's router in one process, on the embedded default
//! (SQLite, a blob folder, an outbox of `.eml` files). What runs here is what runs on Lambda:
//! the same routers, other adapters.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "ventanilla-local", about, version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Args,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Manage agents of the local installation.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Ecuador's national calendar: rest days and business-day terms.
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Due dates of tickets already stored.
    #[command(subcommand)]
    Deadlines(DeadlinesCommand),
    /// The agencies' figures (dashboards, public statistics) against their tickets.
    #[command(subcommand)]
    Stats(StatsCommand),
    /// Writes an agency's tickets of a period, or its LOTAIP annual report, to a CSV or XLSX
    /// file: what the console's "Exportar" makes.
    Export(ExportArgs),
}

#[derive(Debug, clap::Args)]
struct ExportArgs {
    /// The agency's code (MDT, INEC, ...).
    #[arg(long)]
    agency: String,
    /// A whole year, instead of --from and --to.
    #[arg(long, conflicts_with_all = ["from", "to"], required_unless_present = "from")]
    year: Option<i32>,
    /// The first day received (Ecuador's), with --to.
    #[arg(long, requires = "to")]
    from: Option<chrono::NaiveDate>,
    /// The last day received, included.
    #[arg(long, requires = "from")]
    to: Option<chrono::NaiveDate>,
    /// `tickets` (a row per ticket) or `lotaip` (the annual report of requests for public
    /// information).
    #[arg(long, default_value = "tickets")]
    report: String,
    /// With the requesters' name, e-mail, ID document and phone (and, in the LOTAIP report,
    /// the subject and the answer's reason). Not audited: whoever runs this holds the data.
    #[arg(long)]
    personal: bool,
    /// The language of the columns and labels: es or en.
    #[arg(long, default_value = "es")]
    lang: String,
    /// The file to write; its extension (.csv or .xlsx) says the format.
    #[arg(long)]
    output: PathBuf,
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    /// A deployed stack's DynamoDB table instead of the data folder (AWS credentials that may
    /// GetItem and BatchGetItem on it, from the environment).
    #[arg(long)]
    dynamodb_table: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum StatsCommand {
    /// Counts every ticket and says where the kept figures differ; exits 1 if they do.
    Check(StatsPlace),
    /// The same, then adds the differences so that the figures are what the tickets count.
    /// Run it while no ticket is written (a write between count and mend is counted twice;
    /// a second run mends that too).
    Rebuild(StatsPlace),
}

#[derive(Debug, clap::Args)]
struct StatsPlace {
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    /// A deployed stack's DynamoDB table instead of the data folder (a full Scan: AWS
    /// credentials that may Scan and UpdateItem on it, from the environment).
    #[arg(long)]
    dynamodb_table: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum DeadlinesCommand {
    /// Once after an upgrade: gives every unfinished ticket opened before terms were kept the
    /// term of its category, and writes every unfinished ticket again so that the indexes by
    /// due date hold it. Safe to run twice, and while the system serves.
    Backfill {
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
        /// A deployed stack's DynamoDB table instead of the data folder (AWS credentials and
        /// region from the environment); needs the stack's `--config`.
        #[arg(long, requires = "config")]
        dynamodb_table: Option<String>,
        /// The configuration the tickets' agencies, queues and terms come from: the compiled-in
        /// default (the local server's) otherwise.
        #[arg(long, env = "VENTANILLA_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Subcommand)]
enum CalendarCommand {
    /// The national rest days of a year, with the date each holiday falls on when the law
    /// moved its rest.
    Holidays {
        #[arg(value_parser = clap::value_parser!(i32).range(2017..=9999))]
        year: i32,
        #[command(flatten)]
        agency: AgencyCalendar,
    },
    /// The last day of a term of DAYS business (or calendar) days for a request received on
    /// FROM: the term starts the business day after receipt.
    Due {
        /// The day the request was received (YYYY-MM-DD).
        #[arg(long)]
        from: chrono::NaiveDate,
        /// At most ten years of business days: no term the law sets is longer.
        #[arg(long, value_parser = clap::value_parser!(u32).range(0..=2600))]
        days: u32,
        /// `business` (a término, the default) or `calendar` (a plazo).
        #[arg(long, default_value = "business", value_parser = ["business", "calendar"])]
        kind: String,
        #[command(flatten)]
        agency: AgencyCalendar,
    },
}

/// Whose calendar: the national one, or an agency's with the days its admins changed (read
/// from the data folder, or a deployed stack's table).
#[derive(Debug, clap::Args)]
struct AgencyCalendar {
    /// The agency's acronym (MDT, MINTEL, …): its local holidays, decreed days off and
    /// make-up days count too.
    #[arg(long)]
    agency: Option<String>,
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    /// Read a deployed stack's DynamoDB table instead of the data folder.
    #[arg(long)]
    dynamodb_table: Option<String>,
}

impl AgencyCalendar {
    /// The agency asked for and the days it changed from `first` to `last` (none without an
    /// agency).
    async fn read(
        &self,
        first: chrono::NaiveDate,
        last: chrono::NaiveDate,
    ) -> Result<
        (
            Option<ventanilla_domain::AgencyCode>,
            Vec<ventanilla_domain::model::agencies::CalendarDay>,
        ),
        Box<dyn std::error::Error>,
    > {
        let Some(agency) = &self.agency else {
            return Ok((None, Vec::new()));
        };
        let code = ventanilla_domain::AgencyCode::parse(agency)
            .map_err(|_| format!("--agency {agency}: not an agency's acronym"))?;
        let place = match &self.dynamodb_table {
            Some(table) => ventanilla_local::AgentStore::DynamoDb(table),
            None => ventanilla_local::AgentStore::DataDir(&self.data_dir),
        };
        let days = ventanilla_local::calendar_days(place, &code, first, last).await?;
        Ok((Some(code), days))
    }
}

#[derive(Debug, clap::Subcommand)]
enum AgentCommand {
    /// Adds an agent and prints its token (shown once; only its hash is kept).
    Add {
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
        /// Write to a deployed stack's DynamoDB table instead of the data folder (the
        /// stack's TableName output; AWS credentials and region from the environment).
        #[arg(long)]
        dynamodb_table: Option<String>,
        #[arg(long, env = "VENTANILLA_CONFIG")]
        config: Option<PathBuf>,
        /// The agency's acronym, as configured (MDT, MINTEL, …).
        #[arg(long)]
        agency: String,
        /// agent, supervisor or admin.
        #[arg(long, default_value = "agent")]
        role: String,
        /// The person's name, as colleagues see it.
        #[arg(long)]
        name: String,
        /// Where their notices go (deadline warnings); none without it.
        #[arg(long)]
        email: Option<String>,
        /// A stable id (letters, digits, '.', '-', '_'); made from the name if absent.
        #[arg(long)]
        id: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
struct Args {
    /// Where to listen (loopback by default; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// Where the support address takes mail over SMTP (loopback by default).
    #[arg(long, default_value = "127.0.0.1:2525")]
    smtp_addr: SocketAddr,
    /// Where tickets (ventanilla.sqlite3), blobs (blobs/) and sent mail (outbox/) are kept.
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    /// The configuration file (agencies, queues, addresses, limits); the compiled-in
    /// default (shared/app/ventanilla.toml) otherwise.
    #[arg(long, env = "VENTANILLA_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // A sentence for the person at the terminal, not a debug dump.
            eprintln!("ventanilla-local: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    if let Some(Command::Calendar(command)) = &cli.command {
        let text = match command {
            CalendarCommand::Holidays { year, agency } => {
                let (first, last) = ventanilla_app::change_calendar::year_bounds(*year);
                let (code, days) = agency.read(first, last).await?;
                ventanilla_local::calendar::holidays(*year, &days, code.as_ref())
            }
            CalendarCommand::Due {
                from,
                days,
                kind,
                agency,
            } => {
                let kind = ventanilla_domain::model::term::DayKind::parse(kind)
                    .unwrap_or(ventanilla_domain::model::term::DayKind::Business);
                let last = ventanilla_domain::rules::deadline::reach(*from, *days);
                let (code, changed) = agency.read(*from, last).await?;
                let changes = code.map_or_else(Default::default, |code| {
                    ventanilla_domain::model::agencies::calendar_changes(&changed, &code)
                });
                ventanilla_local::calendar::due(*from, *days, kind, &changes)?
            }
        };
        use std::io::Write;
        std::io::stdout().lock().write_all(text.as_bytes())?;
        return Ok(());
    }
    if let Some(Command::Export(args)) = &cli.command {
        use ventanilla_app::export::{FileQuery, Format, Report};
        let (from, to) = match (args.year, args.from, args.to) {
            (Some(year), _, _) => (
                chrono::NaiveDate::from_ymd_opt(year, 1, 1).ok_or("not a year")?,
                chrono::NaiveDate::from_ymd_opt(year, 12, 31).ok_or("not a year")?,
            ),
            (None, Some(from), Some(to)) if from <= to => (from, to),
            _ => return Err("--to comes before --from".into()),
        };
        // The console's bounds: from 2020, a year at most.
        if chrono::Datelike::year(&from) < ventanilla_app::dashboard::FIRST_YEAR
            || chrono::Datelike::year(&to) > 9999
            || (to - from).num_days() >= ventanilla_app::export::MAX_DAYS
        {
            return Err(format!(
                "a period from {} on, of a year at most",
                ventanilla_app::dashboard::FIRST_YEAR
            )
            .into());
        }
        let extension = args
            .output
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .filter(|e| e == "csv" || e == "xlsx")
            .ok_or("the output ends in .csv or .xlsx")?;
        let query = FileQuery {
            agency: ventanilla_domain::AgencyCode::parse(&args.agency)
                .map_err(|_| "not an agency code")?,
            queue: None,
            period: ventanilla_app::dashboard::Period { from, to },
            report: Report::parse(Some(&args.report))?,
            format: Format::parse(Some(&extension))?,
            personal: args.personal,
            lang: match args.lang.as_str() {
                "es" => ventanilla_domain::Lang::Es,
                "en" => ventanilla_domain::Lang::En,
                _ => return Err("--lang is es or en".into()),
            },
        };
        let place = match &args.dynamodb_table {
            Some(table) => ventanilla_local::AgentStore::DynamoDb(table),
            None => ventanilla_local::AgentStore::DataDir(&args.data_dir),
        };
        let (bytes, rows) = ventanilla_local::export_file(place, &query).await?;
        std::fs::write(&args.output, bytes)?;
        use std::io::Write;
        writeln!(
            std::io::stdout().lock(),
            "{rows} tickets written to {}",
            args.output.display()
        )?;
        return Ok(());
    }
    if let Some(Command::Stats(command)) = &cli.command {
        let (place, mend) = match command {
            StatsCommand::Check(place) => (place, false),
            StatsCommand::Rebuild(place) => (place, true),
        };
        let store = match &place.dynamodb_table {
            Some(table) => ventanilla_local::AgentStore::DynamoDb(table),
            None => ventanilla_local::AgentStore::DataDir(&place.data_dir),
        };
        let found = ventanilla_local::check_stats(store, mend).await?;
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let differing: Vec<_> = found.differences.items().collect();
        writeln!(
            out,
            "{} tickets counted; {} figures items differ{}",
            found.tickets,
            differing.len(),
            if mend && !differing.is_empty() {
                " (mended)"
            } else {
                ""
            }
        )?;
        for (key, counts) in &differing {
            for (counter, by) in *counts {
                writeln!(
                    out,
                    "  {} {} {}: {counter} {by:+}",
                    key.agency,
                    key.queue,
                    key.bucket.code()
                )?;
            }
        }
        if !mend && !differing.is_empty() {
            return Err("the figures differ from the tickets: run `stats rebuild`".into());
        }
        return Ok(());
    }
    if let Some(Command::Deadlines(DeadlinesCommand::Backfill {
        data_dir,
        dynamodb_table,
        config,
    })) = &cli.command
    {
        let place = match dynamodb_table {
            Some(table) => ventanilla_local::AgentStore::DynamoDb(table),
            None => ventanilla_local::AgentStore::DataDir(data_dir),
        };
        let done = ventanilla_local::backfill_terms(place, config.as_deref()).await?;
        use std::io::Write;
        writeln!(
            std::io::stdout().lock(),
            "{} unfinished tickets written again; {} of them got a term and a due date.",
            done.written,
            done.given_terms
        )?;
        return Ok(());
    }
    if let Some(Command::Agent(AgentCommand::Add {
        data_dir,
        dynamodb_table,
        config,
        agency,
        role,
        name,
        email,
        id,
    })) = cli.command
    {
        let id = id.unwrap_or_else(|| id_from_name(&name));
        let place = match &dynamodb_table {
            Some(table) => ventanilla_local::AgentStore::DynamoDb(table),
            None => ventanilla_local::AgentStore::DataDir(&data_dir),
        };
        let token = ventanilla_local::add_agent(
            place,
            config.as_deref(),
            &id,
            &name,
            &agency,
            &role,
            email.as_deref(),
        )
        .await?;
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "Agent {id} added to {agency} as {role}. Token (shown only now):"
        )?;
        writeln!(out, "{token}")?;
        return Ok(());
    }
    ventanilla_app::telemetry::init();
    let args = cli.serve;
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let address = listener.local_addr()?;
    let smtp = tokio::net::TcpListener::bind(args.smtp_addr).await?;
    let smtp_address = smtp.local_addr()?;
    let local = ventanilla_local::app(&args.data_dir, args.config.as_deref(), address)?;
    let support = local.mail.site.settings.support.clone();
    tokio::spawn(ventanilla_local::retention(std::sync::Arc::clone(
        &local.mail,
    )));
    tokio::spawn(ventanilla_local::sweep_mail(std::sync::Arc::clone(
        &local.mail,
    )));
    tokio::spawn(ventanilla_local::warn_due(std::sync::Arc::clone(
        &local.mail,
    )));
    tokio::spawn(ventanilla_local::smtp::serve(smtp, local.mail));
    // The one line a person or a script waits for.
    let url = format!("http://{address}");
    let banner = format!(
        "Ventanilla listening on {url}\n  form:   {url}/\n  status: {url}/estado\n  \
         agents: {url}/agente\n  mail:   smtp://{smtp_address} (to {support})\n  outbox: {}\n",
        args.data_dir.join("outbox").display()
    );
    {
        // Best effort: whoever started the server may have stopped reading its output, and
        // that is no reason to stop serving.
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    }
    axum::serve(
        listener,
        local
            .router
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await?;
    Ok(())
}

/// "María José Ñáñez" → "maria.jose.nanez".
fn id_from_name(name: &str) -> String {
    let folded: String = name
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'ä' => 'a',
            'é' | 'è' | 'ë' => 'e',
            'í' | 'ì' | 'ï' => 'i',
            'ó' | 'ò' | 'ö' => 'o',
            'ú' | 'ù' | 'ü' => 'u',
            'ñ' => 'n',
            c if c.is_ascii_alphanumeric() => c,
            _ => ' ',
        })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(".")
}

async fn shutdown() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
