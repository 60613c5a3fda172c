//! Opening a ticket, by either door: the form (and a program's JSON) and the support
//! address. Both end in [`open`], which writes the ticket with the requester's first message.

use std::time::Duration;

use ventanilla_domain::BlobKey;
use ventanilla_domain::Choice;
use ventanilla_domain::model::agencies::calendar_changes;
use ventanilla_domain::model::agents::{AlertEvent, AuditAction, Role};
use ventanilla_domain::model::mail_queue::{MailIntent, MailState, Notice};
use ventanilla_domain::model::screenshots::Screenshot;
use ventanilla_domain::model::term::Term;
use ventanilla_domain::model::ticket::{IdempotencyClaim, IdempotencyKey, MailMeta, TicketDraft};
use ventanilla_domain::ports::{
    AgencyDirectory, AgentDirectory, Blob, BlobError, BlobStore, Clock, IdSource, MailQueue,
    Mailer, Opened, StoreError, Throttle, ThrottleKey, TicketStore,
};
use ventanilla_domain::rules::deadline::{day_in_ecuador, due_date, kept_window};
use ventanilla_domain::{
    AgencyCode, AttachmentRef, Author, Body, Category, Channel, FieldError, FieldErrors,
    FieldProblem, Lang, Message, MessageId, MessageKind, QueueName, Requester, Subject, Ticket,
    TicketNumber,
};

use crate::sending::{SHOWN_LINK, access_path, access_url};
use crate::session::{AgentPorts, Session};
use crate::{AppError, Desk, Site, attachments};

/// How long an idempotency key keeps returning its first ticket.
pub const IDEMPOTENCY_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// A request to open a ticket, already parsed into typed values.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub agency: AgencyCode,
    pub queue: QueueName,
    pub category: Category,
    pub requester: Requester,
    pub subject: Subject,
    pub description: Body,
    pub attachments: Vec<AttachmentRef>,
    pub mail: Option<MailMeta>,
    pub idempotency_key: Option<IdempotencyKey>,
    pub linked_to: Option<TicketNumber>,
    pub channel: Channel,
    /// The acknowledgement to queue with the ticket ([`Site::mail_intent`]); [`open`] makes
    /// it about the first message, whatever it said before.
    pub acknowledgement: Option<MailIntent>,
    /// The agents' alert of the new ticket ([`Site::alert_intent`]), made about the first
    /// message like the acknowledgement.
    pub alert: Option<MailIntent>,
    /// The term the agency has to answer it (`Settings::term`): the ticket's due date is
    /// counted from its opening.
    pub term: Option<Term>,
}

/// Opens a ticket with the requester's first message. A repeated idempotency key within
/// [`IDEMPOTENCY_WINDOW`] returns the first ticket.
pub async fn open(
    store: &(impl TicketStore + AgencyDirectory),
    clock: &(impl Clock + ?Sized),
    ids: &(impl IdSource + ?Sized),
    new: NewTicket,
) -> Result<Opened, StoreError> {
    let now = clock.now();
    // Counted on its agency's calendar as it stands now; kept with the term.
    let term = match new.term {
        Some(term) => {
            let (first, last) = kept_window(day_in_ecuador(now));
            let days = store.calendar_days(&new.agency, first, last).await?;
            Some(Term {
                calendar: calendar_changes(&days, &new.agency),
                ..term
            })
        }
        None => None,
    };
    let first_message = Message {
        id: ids.message_id(),
        at: now,
        kind: MessageKind::CitizenMessage,
        author: Author::Requester,
        body: new.description,
        attachments: new.attachments,
        mail: new.mail,
    };
    let mails = new
        .acknowledgement
        .into_iter()
        .chain(new.alert)
        .map(|intent| MailIntent {
            about: first_message.id,
            ..intent
        })
        .collect();
    let draft = TicketDraft {
        agency: new.agency,
        queue: new.queue,
        category: new.category,
        requester: new.requester,
        subject: new.subject,
        opened_at: now,
        first_message,
        idempotency: new.idempotency_key.map(|key| IdempotencyClaim {
            key,
            expires_at: now.plus(IDEMPOTENCY_WINDOW),
        }),
        linked_to: new.linked_to,
        channel: new.channel,
        mails,
        due_on: term.as_ref().map(|term| due_date(term, now)),
        term,
    };
    store.open(draft).await
}

/// How long an opening counts against its source's allowance.
const HOUR: Duration = Duration::from_secs(3600);

/// A ticket asked for at the form or by a program, every field already parsed.
#[derive(Debug)]
pub struct FormRequest {
    /// Without attachments (the screenshots are stored first) and with the key the client
    /// sent, as it sent it: scoped to the requester here.
    pub ticket: NewTicket,
    pub screenshots: Vec<Screenshot>,
}

/// The ticket a request got.
#[derive(Debug)]
pub struct FormOpened {
    pub ticket: Ticket,
    /// The signed link that opens its status page, as mailed.
    pub access_url: String,
    /// Its status page for the browser that sent the form, for a day
    /// (`sending::SHOWN_LINK`).
    pub shown_path: String,
    /// The idempotency key was used before: this is the first request's ticket.
    pub replayed: bool,
}

impl<S, B, M> Desk<S, B, M>
where
    S: TicketStore + AgencyDirectory + AgentDirectory + Throttle + MailQueue,
    B: BlobStore,
    M: Mailer,
{
    /// Opens the ticket a citizen asked for at `source` (the client's address), stores its
    /// screenshots and acknowledges it by mail. `site` is the site as it stands for this
    /// request (`Site::current`).
    pub async fn open_from_form(
        &self,
        site: &Site,
        source: &str,
        request: FormRequest,
        lang: Lang,
    ) -> Result<FormOpened, AppError> {
        // Spam control counts tickets opened, not forms refused: an opening is taken from
        // the source's allowance before any work (atomically, so parallel requests cannot
        // all pass) and given back when no ticket comes of it.
        // The form's ticket is followed through its mails and link: it has an address.
        let Some(email) = request.ticket.requester.email.clone() else {
            let mut errors = FieldErrors::new();
            errors.push(FieldError::new("email", FieldProblem::Required));
            return Err(AppError::Invalid(errors));
        };
        let now = site.clock.now();
        let source_key = ThrottleKey::personal("open", source, &self.identifiers);
        let limit = site.settings.limits.openings_per_source_per_hour;
        if !self.store.take(&source_key, HOUR, now, limit).await? {
            tracing::warn!("ticket opening throttled for a source");
            return Err(AppError::TooMany { retry_after: HOUR });
        }
        let give_back = || async {
            if let Err(error) = self.store.release(&source_key, HOUR, now).await {
                tracing::error!(%error, "an opening could not be given back");
            }
        };

        let attachments = match store_screenshots(&self.blobs, request.screenshots).await {
            Ok(attachments) => attachments,
            Err(error) => {
                give_back().await;
                return Err(error.into());
            }
        };
        // Deleted again if no ticket of this request comes to refer to them.
        let files: Vec<BlobKey> = attachments.iter().map(|a| a.blob.clone()).collect();
        // A key is scoped to the requester, so that one citizen's key cannot return another
        // citizen's ticket; keyed like every personal identifier in a store key.
        let mut new = request.ticket;
        new.attachments = attachments;
        // Anyone can type any address into the form: the acknowledgement carries nothing
        // they typed, only the number and the link (issue 18, point 11).
        new.term = site.settings.term(&new.agency, new.category);
        let ack = Notice::Acknowledgement { quote: false };
        new.acknowledgement =
            Some(site.mail_intent(site.new_mail_id(), ack, MessageId::UNSET, lang, None));
        new.alert = Some(site.alert_intent(AlertEvent::NewTicket, None));
        new.idempotency_key = new.idempotency_key.map(|key| {
            let pseudonym =
                self.identifiers
                    .pseudonym(&format!("{}\n{}", email.match_key(), key.as_str()));
            IdempotencyKey::parse(&pseudonym)
                .unwrap_or_else(|_| unreachable!("32 hex digits are a valid key"))
        });
        let acknowledgement = new.acknowledgement.clone();
        let opened = match open(&self.store, site.clock.as_ref(), site.ids.as_ref(), new).await {
            Ok(opened) => opened,
            Err(error) => {
                give_back().await;
                // Only when it surely was not opened: after the store's failure it may have
                // been (a lost answer), and its screenshots must stay; the lifecycle rule
                // sweeps them otherwise.
                if !matches!(error, StoreError::Unavailable(_)) {
                    attachments::discard(&self.blobs, &files).await;
                }
                return Err(error.into());
            }
        };
        let (ticket, first) = match opened {
            Opened::Created(ticket, first) => (ticket, Some(first)),
            Opened::Replayed(ticket) => (ticket, None),
        };
        let access_url = access_url(site, &ticket.number, &email);
        let shown_path = access_path(site, &ticket.number, &email, SHOWN_LINK);
        match &first {
            None => {
                tracing::info!(ticket = %ticket.number, "idempotent replay");
                give_back().await;
                // The first request's screenshots are the ticket's; these are nobody's.
                attachments::discard(&self.blobs, &files).await;
            }
            Some(first) => {
                tracing::info!(ticket = %ticket.number, "ticket opened");
                if let Some(ack) = &acknowledgement {
                    let ack = MailIntent {
                        about: first.id,
                        ..ack.clone()
                    };
                    self.send_queued(site, &ticket, &ack, Some(first)).await;
                }
            }
        }
        Ok(FormOpened {
            ticket,
            access_url,
            shown_path,
            replayed: first.is_none(),
        })
    }
}

/// A ticket an agent registers for a citizen who phoned, came to the counter or wrote a
/// letter, every field already parsed (`ticket_fields::parse` with `Address::Optional`).
#[derive(Debug)]
pub struct CallerTicket {
    pub agency: AgencyCode,
    pub category: Category,
    pub requester: Requester,
    pub subject: Subject,
    pub description: Body,
    pub channel: Channel,
}

/// The ticket opened for a caller, and its acknowledgement's state: `None` when the caller
/// gave no address (the agent hands them the printed receipt).
#[derive(Debug)]
pub struct CallerOpened {
    pub ticket: Ticket,
    pub acknowledgement: Option<MailState>,
}

impl<S, B, M> Session<S, B, M>
where
    S: AgentPorts,
    B: BlobStore,
    M: Mailer,
{
    /// Opens `request` in the agent's agency (an operator's in any), in the queue and with
    /// the term of its category, as the form would; the citizen with an address gets the
    /// acknowledgement and its link.
    pub async fn open_for_caller(&self, request: CallerTicket) -> Result<CallerOpened, AppError> {
        if request.agency != self.agent().agency && self.agent().role != Role::Operator {
            return Err(AppError::Forbidden);
        }
        if !request.channel.for_agents() {
            let mut errors = FieldErrors::new();
            errors.push(FieldError::new("channel", FieldProblem::UnknownValue));
            return Err(AppError::Invalid(errors));
        }
        let site = self.site();
        let settings = &site.settings;
        let Some(agency) = settings.agency(&request.agency) else {
            return Err(AppError::NotFound);
        };
        // Said without the words typed for the caller: the address may have been misheard.
        // Due to the sweeper at once: an acknowledgement counts against the address's daily
        // notices, which only the functions holding the identifier secret may count, and the
        // agents' function does not hold it.
        let acknowledgement = request.requester.email.is_some().then(|| {
            let ack = Notice::Acknowledgement { quote: false };
            let intent =
                site.mail_intent(site.new_mail_id(), ack, MessageId::UNSET, Lang::Es, None);
            MailIntent {
                writer_until: intent.queued_at,
                ..intent
            }
        });
        let new = NewTicket {
            agency: agency.code.clone(),
            queue: agency.queue_for(request.category).clone(),
            category: request.category,
            requester: request.requester,
            subject: request.subject,
            description: request.description,
            attachments: Vec::new(),
            mail: None,
            idempotency_key: None,
            linked_to: None,
            channel: request.channel,
            acknowledgement: acknowledgement.clone(),
            alert: Some(site.alert_intent(AlertEvent::NewTicket, Some(&self.agent.reference()))),
            term: settings.term(&agency.code, request.category),
        };
        let desk = &*self.desk;
        let ticket = match open(&desk.store, site.clock.as_ref(), site.ids.as_ref(), new).await? {
            Opened::Created(ticket, _) => ticket,
            // Without an idempotency key every opening is new.
            Opened::Replayed(_) => return Err(AppError::Store(StoreError::AlreadyExists)),
        };
        tracing::info!(ticket = %ticket.number, channel = request.channel.wire(), "ticket opened for a caller");
        self.audit(
            AuditAction::OpenForCaller,
            Some(&ticket.number),
            format!("channel {}", request.channel.wire()),
        )
        .await?;
        // Queued with the ticket; the sweeper (every minute) sends it.
        Ok(CallerOpened {
            ticket,
            acknowledgement: acknowledgement.map(|_| MailState::Pending),
        })
    }
}

/// Stores the screenshots under an id of their own (the ticket has no number yet), all or
/// none.
pub(crate) async fn store_screenshots(
    blobs: &impl BlobStore,
    screenshots: Vec<Screenshot>,
) -> Result<Vec<AttachmentRef>, BlobError> {
    let batch = uuid::Uuid::now_v7();
    let mut stored = Vec::with_capacity(screenshots.len());
    for (index, screenshot) in screenshots.into_iter().enumerate() {
        let key = BlobKey::parse(&format!("attachments/{batch}/{index}"))
            .unwrap_or_else(|_| unreachable!("a uuid and a digit make a valid key"));
        let size = screenshot.bytes.len() as u64;
        let blob = Blob {
            bytes: screenshot.bytes,
            content_type: screenshot.content_type.to_owned(),
        };
        if let Err(error) = blobs.put(&key, blob).await {
            tracing::error!(%error, "screenshots could not be stored");
            // The ones stored before it would belong to no ticket.
            let keys: Vec<BlobKey> = stored
                .iter()
                .map(|a: &AttachmentRef| a.blob.clone())
                .collect();
            attachments::discard(blobs, &keys).await;
            return Err(error);
        }
        stored.push(AttachmentRef::new(
            &screenshot.file_name,
            screenshot.content_type,
            size,
            key,
        ));
    }
    Ok(stored)
}
