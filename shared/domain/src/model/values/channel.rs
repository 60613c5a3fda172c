//! How a request reached the agency: the form and the support address on their own, and the
//! ways an agent registers it for a citizen (a call, a visit to the counter, a letter).

use crate::model::field::choice;

choice! {
    pub enum Channel in "channel" {
        Formulario => ("Formulario web", "Web form"),
        Correo => ("Correo electrónico", "E-mail"),
        Telefono => ("Teléfono", "Phone"),
        Presencial => ("Presencial (ventanilla)", "In person (counter)"),
        Oficio => ("Oficio (carta)", "Letter"),
    }
}

impl Channel {
    /// The channels an agent registers a ticket from: all but the form, which opens its own
    /// (`correo` for a mail that reached an agent's own mailbox rather than the support
    /// address).
    pub fn for_agents(self) -> bool {
        !matches!(self, Channel::Formulario)
    }
}
