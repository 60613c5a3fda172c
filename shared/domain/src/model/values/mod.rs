//! Typed values. Each is built only by its `parse`, which names the field it refuses, so
//! that a value of the type is valid wherever it travels ("parse, don't validate").

mod agency;
mod blob_key;
mod category;
mod channel;
mod email;
mod id_document;
mod person;
mod phone;
mod text;
mod ticket_number;

pub use agency::{AgencyCode, AgentId, QueueName};
pub use blob_key::BlobKey;
pub use category::Category;
pub use channel::Channel;
pub use email::Email;
pub use id_document::{Cedula, IdDocument, IdType, Passport};
pub use person::{Gender, Nationality, PersonName, UserType};
pub use phone::Phone;
pub use text::{Body, Subject};
pub use ticket_number::TicketNumber;

/// Implements `Serialize` as the canonical text and `Deserialize` through `parse`, so that
/// a value read back from a store or a request is checked like any other input.
macro_rules! text_serde {
    ($type:ty, $field:literal) => {
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                <$type>::parse(&text).map_err(serde::de::Error::custom)
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $type {
            type Err = $crate::FieldError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                <$type>::parse(text)
            }
        }
    };
}
pub(crate) use text_serde;
