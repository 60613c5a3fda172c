//! The support address's Lambda function: SES receipt events (each mail already stored in S3
//! by the receipt rule) and the retention rule's daily schedule, dispatched to the use cases
//! of `ventanilla_app::receive_mail` and `ventanilla_app::retention`. An error makes Lambda
//! retry the event, then hand it to the on-failure destination.

pub mod retention;
pub mod ses;

pub use retention::handle;
