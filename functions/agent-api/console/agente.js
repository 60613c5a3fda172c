// The agent console: plain JavaScript over the agent API. Citizen text is only ever set
// with textContent, never parsed as HTML.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const api = "/api/v1/agent";
  let token = sessionStorage.getItem("ventanilla-token") || "";
  let cursor = null;
  let current = null;
  // The words for the API's codes (status, priority, role, category), from /me in the
  // console's language: Spanish, or English under ?lang=en.
  const lang = new URLSearchParams(location.search).get("lang") === "en" ? "en" : "es";
  let labels = { status: [], priority: [], role: [], category: [], channel: [], nationality: [] };
  let agencies = [];
  let watching = null;
  const word = (kind, code) => (labels[kind].find((l) => l.code === code) || { label: code }).label;
  const codes = (kind) => labels[kind].map((l) => l.code);

  function say(text) { $("aviso").textContent = text; }

  async function call(method, path, body) {
    const response = await fetch(api + path, {
      method,
      headers: Object.assign({ Authorization: "Bearer " + token, Accept: "application/json", "Accept-Language": lang },
        body ? { "Content-Type": "application/json" } : {}),
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) { signOut(); throw new Error("Token no válido o desactivado."); }
    if (!response.ok) {
      const fields = (data.errors || []).map((e) => e.field + ": " + e.detail).join("; ");
      const error = new Error((data.title || response.statusText) + (fields ? " (" + fields + ")" : ""));
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function show(section) {
    for (const id of ["ingreso", "cola", "nuevo", "plantillas", "avisos", "recibo", "ticket", "indicadores"]) $(id).hidden = id !== section;
    if (section !== "ticket" && watching) { clearInterval(watching); watching = null; }
  }

  // Who else has this ticket open: the console says it has it open every 20 s (the note
  // lasts a minute) and is told the others.
  // Not while the tab is hidden (overnight, behind another): the note lapses in a minute.
  async function seeOthers(number) {
    if (document.hidden) return;
    const data = await call("PUT", "/tickets/" + encodeURIComponent(number) + "/viewing");
    if (!current || current.number !== number) return;
    const names = data.others.map((o) => o.name);
    const text = names.length ? "También tiene este ticket abierto: " + names.join(", ") + "." : "";
    // Written only when it changes: a live region says it again at every write.
    if ($("t-otros").textContent !== text) $("t-otros").textContent = text;
  }

  function watch(number) {
    if (watching) clearInterval(watching);
    const look = () => seeOthers(number).catch(() => {});
    look();
    watching = setInterval(look, 20000);
  }

  function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); return td; }

  async function loadQueue(more) {
    const params = new URLSearchParams();
    if ($("f-cola").value) params.set("queue", $("f-cola").value);
    if ($("f-estado").value) params.set("status", $("f-estado").value);
    // A due filter lists the soonest due first, whatever the order chosen.
    const due = $("f-vence").value;
    const order = due ? "due" : $("f-orden").value;
    if (due) params.set("due", due);
    params.set("order", order);
    $("t-orden").textContent = order === "due" ? "Tickets abiertos, el que vence primero arriba" :
      order === "oldest" ? "Tickets por actividad, la más antigua arriba" : "Tickets por última actividad";
    if (more && cursor) params.set("cursor", cursor);
    const data = await call("GET", "/tickets?" + params);
    listTickets(data.tickets, more);
    cursor = data.next_cursor;
    $("mas").hidden = !cursor;
    show("cola");
  }

  // A search's answer in the queue's table: by number, the requester's address, a
  // document number or words.
  async function search() {
    const q = $("f-buscar").value.trim();
    if (!q) return loadQueue(false);
    const data = await call("GET", "/search?q=" + encodeURIComponent(q));
    $("t-orden").textContent = "Resultados de la búsqueda «" + q + "»: " + data.tickets.length;
    listTickets(data.tickets, false);
    cursor = null;
    $("mas").hidden = true;
    show("cola");
  }

  function listTickets(tickets, more) {
    const body = $("tickets");
    if (!more) body.textContent = "";
    for (const t of tickets) {
      const row = document.createElement("tr");
      const link = document.createElement("a");
      link.href = "#" + t.number;
      link.textContent = t.number;
      link.addEventListener("click", (e) => { e.preventDefault(); openTicket(t.number).catch((err) => say(err.message)); });
      cell(row, "").appendChild(link);
      cell(row, t.subject); cell(row, age(t.created_at)); cell(row, word("status", t.status));
      cell(row, word("priority", t.priority)); cell(row, t.queue);
      const term = dueText(t);
      cell(row, term.text).className = term.kind;
      cell(row, new Date(t.last_activity).toLocaleString("es-EC"));
      body.appendChild(row);
    }
  }

  // How long ago a ticket was opened, in days.
  function age(at) {
    const days = Math.floor((Date.now() - new Date(at).getTime()) / 86400000);
    if (days < 1) return lang === "en" ? "today" : "hoy";
    if (lang === "en") return days === 1 ? "1 day" : days + " days";
    return days === 1 ? "1 día" : days + " días";
  }

  // The due date and what is left of the term, in words (the colour only repeats them).
  function dueText(t) {
    if (!t.due_on) return { text: "—", kind: "" };
    const finished = t.status === "resolved" || t.status === "closed";
    const left = t.business_days_left;
    if (finished || left === undefined) return { text: t.due_on, kind: "" };
    if (t.suspended_since) return { text: t.due_on + " · suspendido (esperando al ciudadano)", kind: "suspendido" };
    if (left < 0) return { text: t.due_on + " · vencido hace " + (-left) + (left === -1 ? " día hábil" : " días hábiles"), kind: "vencido" };
    if (left === 0) return { text: t.due_on + " · vence hoy", kind: "vence-pronto" };
    return { text: t.due_on + " · " + left + (left === 1 ? " día hábil" : " días hábiles"), kind: left <= 2 ? "vence-pronto" : "" };
  }

  async function openTicket(number) {
    const another = !current || current.number !== number || !watching;
    current = await call("GET", "/tickets/" + encodeURIComponent(number));
    $("t-titulo").textContent = current.number + " · " + current.subject;
    const facts = $("t-datos");
    facts.textContent = "";
    const r = current.requester;
    for (const [label, value] of [["Estado", word("status", current.status)], ["Prioridad", word("priority", current.priority)],
      ["Categoría", word("category", current.category)], ["Cola", current.agency + " / " + current.queue],
      ["Abierto", new Date(current.created_at).toLocaleString("es-EC") + " (" + age(current.created_at) + ")"],
      ["Fecha límite", dueText(current).text],
      ["Base legal", current.term ? current.term.basis + (current.term.extended ? " · ampliado " + current.term.extended.days + " días: " + current.term.extended.reason : "") : "—"],
      ["Canal", current.channel ? word("channel", current.channel) : "—"],
      ["Ciudadano", r.name], ["Correo", r.email || "Sin correo: se le comunica por teléfono o en ventanilla"],
      ["Identificación", r.id_number || "—"], ["Teléfono", r.phone || "—"]]) {
      const dt = document.createElement("dt"); dt.textContent = label;
      const dd = document.createElement("dd"); dd.textContent = value;
      facts.append(dt, dd);
    }
    const numbers = (label, list) => {
      if (!list.length) return;
      const dt = document.createElement("dt"); dt.textContent = label;
      const dd = document.createElement("dd");
      for (const number of list) {
        const link = document.createElement("a");
        link.href = "#" + number; link.textContent = number;
        link.addEventListener("click", (e) => { e.preventDefault(); openTicket(number).catch((err) => say(err.message)); });
        dd.append(link, " ");
      }
      facts.append(dt, dd);
    };
    // A request for public information: how it was answered, for the LOTAIP report.
    $("c-acceso").hidden = current.category !== "acceso_informacion";
    const answer = current.information_answer;
    const outcome = answer && $("c-respuesta").querySelector(`option[value="${answer.outcome}"]`);
    $("c-respuesta").value = outcome ? answer.outcome : "";
    $("c-motivo").value = answer ? answer.reason || "" : "";
    if (answer) {
      const dt = document.createElement("dt"); dt.textContent = "Respuesta (LOTAIP)";
      const dd = document.createElement("dd");
      dd.textContent = (outcome ? outcome.textContent : answer.outcome) + (answer.reason ? ": " + answer.reason : "");
      facts.append(dt, dd);
    }
    // The citizen's rating, once given.
    if (current.rating) {
      const words = ["", "Muy mala", "Mala", "Regular", "Buena", "Muy buena"];
      const dt = document.createElement("dt"); dt.textContent = "Valoración del ciudadano";
      const dd = document.createElement("dd"); dd.id = "t-valoracion";
      dd.textContent = current.rating.score + " · " + words[current.rating.score] + (current.rating.comment ? ": «" + current.rating.comment + "»" : "");
      facts.append(dt, dd);
    }
    numbers("Relacionados", current.related || []);
    numbers("Unido al ticket (se trabaja allí)", current.merged_into ? [current.merged_into] : []);
    numbers("Tickets unidos a este", current.merged || []);
    $("r-texto").labels[0].textContent = r.email ? "Respuesta (llega al ciudadano por correo)" :
      "Respuesta (el ciudadano no dejó correo: se guarda en el ticket para comunicársela)";
    // Supervisors extend a term once, while it allows it (the API checks again).
    const extendable = current.term && current.term.extendable_by;
    $("ampliacion").hidden = !extendable;
    if (extendable) $("a-regla").textContent = "Se puede ampliar una vez, en " + current.term.extendable_by + " días, antes de que venza.";
    const thread = $("t-hilo");
    thread.textContent = "";
    renderMessages(thread, current.messages, current.older, false);
    // Filled in afresh at every reading: the due date may have moved.
    loadCanned(current.number).catch(() => {});
    show("ticket");
    if (another) {
      $("t-otros").textContent = "";
      watch(current.number);
      // Keyboard users land on the ticket they opened; after an action on it, they stay.
      $("t-titulo").focus();
    }
  }

  // The newest page of the thread; "Mensajes anteriores" fetches the page before and puts
  // it on top, as often as there is one.
  function renderMessages(thread, messages, older, onTop) {
    const items = [];
    for (const m of messages) {
      const item = document.createElement("li");
      item.className = m.kind;
      item.dataset.id = m.id;
      const meta = document.createElement("p");
      meta.className = "meta";
      const kinds = { citizen_message: "Ciudadano", public_reply: "Respuesta", internal_note: "Nota interna", system_event: "Sistema" };
      meta.textContent = kinds[m.kind] + " · " + m.author + " · " + new Date(m.at).toLocaleString("es-EC") +
        (m.delivered === false ? " · NO ENTREGADA (se reintenta)" : "") +
        (m.sender_unverified ? " · REMITENTE NO VERIFICADO" : "") +
        (m.merged_from ? " · del ticket " + m.merged_from : "");
      const text = document.createElement("div");
      text.textContent = m.text;
      item.append(meta, text);
      // The history a citizen's mail quoted, one click away.
      if (m.quoted) {
        const history = document.createElement("details");
        const summary = document.createElement("summary");
        summary.textContent = "Historial citado";
        const quoted = document.createElement("pre");
        quoted.className = "citado";
        quoted.textContent = m.quoted;
        history.append(summary, quoted);
        item.appendChild(history);
      }
      for (const a of m.attachments) {
        const link = document.createElement("a");
        link.href = a.url; link.textContent = a.name;
        item.appendChild(link);
      }
      items.push(item);
    }
    const previous = thread.querySelector("li.anteriores");
    if (previous) previous.remove();
    if (onTop) thread.prepend(...items); else thread.append(...items);
    if (older) {
      const more = document.createElement("li");
      more.className = "anteriores";
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Mensajes anteriores";
      button.addEventListener("click", async () => {
        try {
          const page = await call("GET", "/tickets/" + encodeURIComponent(current.number) + "?before=" + encodeURIComponent(older));
          renderMessages(thread, page.messages, page.older, true);
        } catch (error) { say(error.message); }
      });
      more.appendChild(button);
      thread.prepend(more);
    }
  }

  // The agency's canned responses, filled in for this ticket by the API.
  // Emptied before each load and filled only if the ticket is still the one shown: never
  // another ticket's citizen's name in this one's answer.
  let canned = [];
  async function loadCanned(number) {
    canned = [];
    const select = $("r-predefinida");
    select.length = 1;
    $("r-predefinidas-campo").hidden = true;
    const loaded = (await call("GET", "/tickets/" + encodeURIComponent(number) + "/canned-responses")).canned_responses;
    if (!current || current.number !== number) return;
    canned = loaded;
    for (const c of canned) {
      const option = document.createElement("option");
      option.value = c.id; option.textContent = c.title;
      select.appendChild(option);
    }
    $("r-predefinidas-campo").hidden = canned.length === 0;
  }

  async function act(work, done) {
    try { await work(); say(done); await openTicket(current.number); } catch (error) { say(error.message); }
  }

  // Answers never cross: a reply or a note carries the version of the ticket the agent saw.
  // If it moved since (another agent's reply, the citizen's mail), the API says 409: the
  // console shows the ticket as it is, marks what is new, and keeps the text; sending it
  // again sends it against the ticket as it now is.
  async function actAsSeen(work, done) {
    try { await work(); say(done); await openTicket(current.number); return; } catch (error) {
      // Anything else (a reply stored whose mail waits) is said, and the ticket read again
      // so that the next action carries its version.
      if (error.status !== 409) { say(error.message); await openTicket(current.number).catch(() => {}); return; }
    }
    try {
      const shown = new Set(current.messages.map((m) => m.id));
      await openTicket(current.number);
      const fresh = current.messages.filter((m) => !shown.has(m.id));
      let first = null;
      for (const item of $("t-hilo").querySelectorAll("li[data-id]")) {
        if (fresh.some((m) => m.id === item.dataset.id)) {
          item.classList.add("nuevo");
          const mark = document.createElement("strong");
          mark.textContent = "Nuevo mientras escribía · ";
          item.querySelector(".meta").prepend(mark);
          first = first || item;
        }
      }
      // The keyboard user is taken to what is new; their text waits in its form.
      if (first) { first.tabIndex = -1; first.focus(); }
      say("El ticket cambió mientras escribía" + (fresh.length ? " (" + fresh.length + (fresh.length === 1 ? " mensaje nuevo, marcado" : " mensajes nuevos, marcados") + ")" : "") +
        ". No se envió nada: su texto sigue en el formulario; revíselo y vuelva a enviarlo.");
    } catch (error) { say(error.message); }
  }

  function signOut() { token = ""; sessionStorage.removeItem("ventanilla-token"); $("quien").textContent = ""; show("ingreso"); }

  // A select's options after its first ("all", "no change"), from codes and their words.
  function fill(select, codes, kind) {
    select.length = 1;
    for (const code of codes) {
      const option = document.createElement("option");
      option.value = code; option.textContent = kind ? word(kind, code) : code;
      select.appendChild(option);
    }
  }

  // The transfer lists the other agencies, and the queues of the one chosen.
  async function loadAgencies(own) {
    agencies = (await call("GET", "/agencies")).agencies.filter((a) => a.code !== own);
    const select = $("x-agencia");
    select.length = 1;
    for (const a of agencies) {
      const option = document.createElement("option");
      option.value = a.code; option.textContent = a.code + " · " + a.name;
      select.appendChild(option);
    }
    fill($("x-cola"), []);
  }

  async function signIn() {
    const me = await call("GET", "/me");
    labels = me.labels;
    $("quien").textContent = me.name + " · " + me.agency + " · " + word("role", me.role);
    const statuses = codes("status");
    fill($("f-estado"), statuses, "status");
    fill($("r-estado"), ["waiting_on_citizen", "resolved"], "status");
    fill($("c-estado"), statuses.filter((s) => s !== "new"), "status");
    fill($("c-prioridad"), codes("priority"), "priority");
    fill($("o-canal"), codes("channel").filter((c) => c !== "formulario"), "channel");
    // Admins write the agency's canned responses; the API checks the role again.
    $("plantillas-abrir").hidden = !["admin", "operator"].includes(me.role);
    // Supervisors and up read the agency's figures; the API checks the role again.
    $("indicadores-abrir").hidden = !["supervisor", "admin", "operator"].includes(me.role);
    $("e-personales-campo").hidden = !["admin", "operator"].includes(me.role);
    fill($("i-cola"), me.queues);
    fill($("o-categoria"), codes("category"), "category");
    // Every country by its name, Ecuador first (as the citizen's form lists them).
    fill($("o-nacionalidad"), codes("nationality"), "nationality");
    $("o-nacionalidad").value = "EC";
    await loadAgencies(me.agency);
    fill($("f-cola"), me.queues);
    await loadQueue(false);
    // A warning's link names the ticket: /agente#MDT-QUE-2027-00001.
    const linked = location.hash.slice(1);
    if (/^[A-Z0-9-]{5,40}$/.test(linked)) await openTicket(linked);
  }

  $("form-ingreso").addEventListener("submit", (e) => {
    e.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem("ventanilla-token", token);
    signIn().catch((err) => say(err.message));
  });
  $("filtros").addEventListener("submit", (e) => { e.preventDefault(); loadQueue(false).catch((err) => say(err.message)); });
  $("f-relacion").addEventListener("submit", (e) => {
    e.preventDefault();
    const number = current.number;
    call("POST", "/tickets/" + encodeURIComponent(number) + "/related", { number: $("rel-numero").value.trim() })
      .then(() => { $("f-relacion").reset(); say("Tickets relacionados."); return openTicket(number); })
      .catch((err) => say(err.message));
  });
  $("f-union").addEventListener("submit", (e) => {
    e.preventDefault();
    const number = current.number;
    call("POST", "/tickets/" + encodeURIComponent(number) + "/merge", { into: $("union-numero").value.trim() })
      .then((survivor) => { $("f-union").reset(); say("Ticket " + number + " unido a " + survivor.number + "."); return openTicket(survivor.number); })
      .catch((err) => say(err.message));
  });
  $("busqueda").addEventListener("submit", (e) => { e.preventDefault(); search().catch((err) => say(err.message)); });
  $("mas").addEventListener("click", () => loadQueue(true).catch((err) => say(err.message)));
  $("salir").addEventListener("click", signOut);
  $("volver").addEventListener("click", () => loadQueue(false).then(() => $("cola-titulo").focus()).catch((err) => say(err.message)));
  $("x-agencia").addEventListener("change", () => {
    const chosen = agencies.find((a) => a.code === $("x-agencia").value);
    fill($("x-cola"), chosen ? chosen.queues : []);
  });
  // A request registered for a caller: the API checks it as the form does; the receipt is
  // what the agent prints or reads out.
  $("nuevo-abrir").addEventListener("click", () => { show("nuevo"); $("nuevo-titulo").focus(); });
  for (const back of document.querySelectorAll(".volver-cola")) {
    back.addEventListener("click", () => { show("cola"); $("cola-titulo").focus(); });
  }
  $("imprimir").addEventListener("click", () => window.print());

  // The agency's figures: the server draws the charts and tables (escaped), the console
  // only places them.
  async function loadFigures() {
    const query = new URLSearchParams({ period: $("i-periodo").value, lang });
    if ($("i-periodo").value === "personalizado") { query.set("from", $("i-desde").value); query.set("to", $("i-hasta").value); }
    if ($("i-cola").value) query.set("queue", $("i-cola").value);
    const response = await fetch(api + "/dashboard?" + query, { headers: { Authorization: "Bearer " + token, Accept: "text/html" } });
    if (response.status === 401) { signOut(); throw new Error("Token no válido o desactivado."); }
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      const fields = (data.errors || []).map((e) => e.field + ": " + e.detail).join("; ");
      throw new Error((data.title || response.statusText) + (fields ? " (" + fields + ")" : ""));
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    $("i-figuras").replaceChildren(...page.body.childNodes);
  }
  $("indicadores-abrir").addEventListener("click", () => {
    show("indicadores");
    $("indicadores-titulo").focus();
    loadFigures().catch((err) => say(err.message));
  });
  $("f-indicadores").addEventListener("submit", (e) => { e.preventDefault(); loadFigures().catch((err) => say(err.message)); });
  // The period's tickets as a file: the answer is a short-lived link, offered and followed.
  $("f-exportar").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { period: $("i-periodo").value, report: $("e-informe").value, format: $("e-formato").value, personal: $("e-personales").checked };
    if (body.period === "personalizado") { body.from = $("i-desde").value; body.to = $("i-hasta").value; }
    if ($("i-cola").value) body.queue = $("i-cola").value;
    say("Preparando la exportación…");
    call("POST", "/exports", body).then((made) => {
      const link = $("e-enlace");
      link.href = made.url; link.textContent = "Descargar " + made.file_name + " (" + made.rows + " tickets)"; link.hidden = false;
      say("Exportación lista: " + made.rows + " tickets.");
      link.focus();
    }).catch((err) => say(err.message));
  });

  // The agency's canned responses, for its admins: listed as written, edited in one form.
  async function loadTemplates() {
    const list = (await call("GET", "/canned-responses")).canned_responses;
    const body = $("plantillas-lista");
    body.textContent = "";
    for (const c of list) {
      const row = document.createElement("tr");
      cell(row, c.title);
      cell(row, c.id);
      const actions = cell(row, "");
      const edit = document.createElement("button");
      edit.type = "button"; edit.textContent = "Editar"; edit.setAttribute("aria-label", "Editar " + c.title);
      edit.addEventListener("click", () => {
        $("p-id").value = c.id; $("p-titulo").value = c.title; $("p-texto").value = c.text; $("p-titulo").focus();
      });
      const remove = document.createElement("button");
      remove.type = "button"; remove.textContent = "Eliminar"; remove.setAttribute("aria-label", "Eliminar " + c.title);
      remove.addEventListener("click", () => {
        call("DELETE", "/canned-responses/" + encodeURIComponent(c.id))
          .then(() => { say("Respuesta predefinida eliminada."); return loadTemplates(); })
          .catch((err) => say(err.message));
      });
      actions.append(edit, " ", remove);
      body.appendChild(row);
    }
  }
  // The agent's own alerts: their address, each event on or off, the queues they watch.
  const deliveries = [["immediately", "Al momento"], ["daily", "Resumen diario"], ["off", "Nunca"]];
  async function loadAlerts() {
    const me = await call("GET", "/me");
    $("a-correo").value = me.pending_email || me.email || "";
    askCode(me.pending_email);
    for (const select of document.querySelectorAll(".a-evento")) {
      select.textContent = "";
      for (const [code, text] of deliveries) select.add(new Option(text, code));
      select.value = me.alerts.events[select.id.slice(2)];
    }
    $("a-por-rol").checked = me.alerts.watches_by_role;
    const box = $("a-colas");
    box.textContent = "";
    for (const queue of me.queues) {
      const wrap = document.createElement("div");
      wrap.className = "field";
      const input = document.createElement("input");
      input.type = "checkbox"; input.id = "a-cola-" + queue; input.value = queue;
      input.checked = (me.alerts.queues || []).includes(queue);
      input.disabled = me.alerts.watches_by_role;
      const label = document.createElement("label");
      label.htmlFor = input.id; label.textContent = queue;
      wrap.append(input, " ", label);
      box.appendChild(wrap);
    }
    return me;
  }
  $("a-por-rol").addEventListener("change", () => {
    for (const input of $("a-colas").querySelectorAll("input")) input.disabled = $("a-por-rol").checked;
  });
  $("avisos-abrir").addEventListener("click", () => {
    loadAlerts().then(() => { show("avisos"); $("avisos-titulo").focus(); }).catch((err) => say(err.message));
  });
  $("f-avisos").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = {
      queues: $("a-por-rol").checked ? null
        : [...$("a-colas").querySelectorAll("input:checked")].map((i) => i.value),
    };
    for (const select of document.querySelectorAll(".a-evento")) body[select.id.slice(2)] = select.value;
    try {
      const me = await call("GET", "/me");
      const typed = $("a-correo").value.trim() || null;
      let pending = me.pending_email;
      if (typed !== (me.pending_email || me.email || null)) {
        pending = (await call("PUT", "/agents/" + encodeURIComponent(me.id) + "/email", { email: typed })).pending_email;
      }
      await call("PUT", "/me/alerts", body);
      askCode(pending);
      say(pending ? "Avisos guardados. Escriba el código que enviamos a " + pending + "." : "Avisos guardados.");
    } catch (error) { say(error.message); }
  });
  // A new address is the agent's once they type the code mailed to it.
  function askCode(pending) {
    $("f-codigo").hidden = !pending;
    if (pending) $("a-codigo-etiqueta").textContent = "Código enviado a " + pending;
  }
  $("f-codigo").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const agent = await call("POST", "/me/email/confirm", { code: $("a-codigo").value });
      $("f-codigo").reset();
      askCode(null);
      say("Dirección confirmada: " + agent.email + ".");
    } catch (error) { say(error.message); }
  });
  $("plantillas-abrir").addEventListener("click", () => {
    loadTemplates().then(() => { show("plantillas"); $("plantillas-titulo").focus(); }).catch((err) => say(err.message));
  });
  $("f-plantilla").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { title: $("p-titulo").value, text: $("p-texto").value };
    call("PUT", "/canned-responses/" + encodeURIComponent($("p-id").value), body)
      .then(() => { $("f-plantilla").reset(); say("Respuesta predefinida guardada."); return loadTemplates(); })
      .catch((err) => say(err.message));
  });
  $("f-nuevo").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = {
      channel: $("o-canal").value, category: $("o-categoria").value, full_name: $("o-nombre").value,
      id_type: $("o-tipo-id").value, id_number: $("o-numero-id").value, nationality: $("o-nacionalidad").value,
      user_type: $("o-tipo-usuario").value, email: $("o-correo").value, phone: $("o-telefono").value,
      subject: $("o-asunto").value, description: $("o-descripcion").value,
    };
    // One press, one ticket: the button waits for the answer.
    const button = $("f-nuevo").querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const opened = await call("POST", "/tickets", body);
      $("f-nuevo").reset();
      const receipt = opened.receipt;
      const facts = $("recibo-datos");
      facts.textContent = "";
      for (const [label, value] of [["Número de ticket", receipt.number], ["Institución", receipt.agency],
        ["Registrado el", receipt.opened_on], ["Fecha límite de respuesta", receipt.due_on || "—"]]) {
        const dt = document.createElement("dt"); dt.textContent = label;
        const dd = document.createElement("dd"); dd.textContent = value;
        facts.append(dt, dd);
      }
      $("recibo-seguir").textContent = receipt.how_to_follow;
      $("recibo-ticket").href = "#" + receipt.number;
      say("Solicitud registrada: " + receipt.number + (opened.acknowledgement ? ". El acuse sale por correo en un minuto." : "."));
      show("recibo");
      $("recibo-titulo").focus();
    } catch (error) { say(error.message); } finally { button.disabled = false; }
  });
  $("recibo-ticket").addEventListener("click", (e) => {
    e.preventDefault();
    openTicket($("recibo-ticket").hash.slice(1)).catch((err) => say(err.message));
  });
  $("r-predefinida").addEventListener("change", () => {
    const chosen = canned.find((c) => c.id === $("r-predefinida").value);
    if (!chosen) return;
    const box = $("r-texto");
    // Added after what the agent already wrote, never over it.
    box.value = box.value.trim() ? box.value.trimEnd() + "\n\n" + chosen.text : chosen.text;
    box.focus();
  });
  $("f-respuesta").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { text: $("r-texto").value, version: current.version };
    if ($("r-estado").value) body.status = $("r-estado").value;
    actAsSeen(async () => {
      const answer = await call("POST", "/tickets/" + encodeURIComponent(current.number) + "/replies", body);
      $("r-texto").value = "";
      $("r-predefinida").value = "";
      if (answer.delivered === null) throw new Error("Respuesta guardada. El ciudadano no dejó correo: comuníquesela por teléfono o en ventanilla.");
      if (!answer.delivered) throw new Error("Respuesta guardada; el correo no salió todavía y se reintentará.");
    }, "Respuesta enviada.");
  });
  $("f-nota").addEventListener("submit", (e) => {
    e.preventDefault();
    actAsSeen(async () => {
      await call("POST", "/tickets/" + encodeURIComponent(current.number) + "/notes", { text: $("n-texto").value, version: current.version });
      $("n-texto").value = "";
    }, "Nota añadida.");
  });
  $("f-cambio").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { version: current.version };
    if ($("c-estado").value) body.status = $("c-estado").value;
    if ($("c-prioridad").value) body.priority = $("c-prioridad").value;
    // The answer is sent when it changed (its outcome or its reason).
    const was = current.information_answer || { outcome: "", reason: "" };
    if ($("c-respuesta").value && ($("c-respuesta").value !== was.outcome || $("c-motivo").value !== (was.reason || ""))) {
      body.information_answer = $("c-respuesta").value;
      if ($("c-motivo").value.trim()) body.information_reason = $("c-motivo").value;
    }
    act(() => call("PATCH", "/tickets/" + encodeURIComponent(current.number), body), "Cambios guardados.");
  });
  $("f-ampliacion").addEventListener("submit", (e) => {
    e.preventDefault();
    act(async () => {
      await call("POST", "/tickets/" + encodeURIComponent(current.number) + "/extension", { reason: $("a-motivo").value });
      $("a-motivo").value = "";
    }, current.requester.email ? "Plazo ampliado." : "Plazo ampliado. El ciudadano no dejó correo: comuníqueselo por teléfono o en ventanilla.");
  });
  $("f-transferencia").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { agency: $("x-agencia").value, note: $("x-nota").value };
    if ($("x-cola").value) body.queue = $("x-cola").value;
    call("POST", "/tickets/" + encodeURIComponent(current.number) + "/transfer", body)
      .then(() => { say("Ticket transferido."); return loadQueue(false); })
      .catch((err) => say(err.message));
  });

  if (token) signIn().catch((err) => { say(err.message); show("ingreso"); }); else show("ingreso");
})();
