// The agent's path in a real browser: a supervisor added with `ventanilla-local agent add`
// signs in to the console with the token, finds a citizen's ticket in the queue, reads the
// thread (citizen text shown as text, never run), adds a note and answers; the answer is in
// the outbox, the note is not; axe-core checks the console.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { seriousViolations, startLocal } from './local.mjs';

let local;

before(async () => {
  local = await startLocal();
});

after(async () => {
  await local?.stop();
});

async function openTicketByApi(subject, description, category = 'queja') {
  const response = await fetch(`${local.baseUrl}/api/v1/tickets`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      agency: 'MDT', category, nationality: 'EC', id_type: 'cedula',
      id_number: '1710034065', full_name: 'Luis Tipán', email: 'luis@example.com',
      gender: 'masculino', phone: '0991234567', user_type: 'ciudadano', subject, description,
    }),
  });
  assert.equal(response.status, 201);
  return (await response.json()).number;
}

/** Opens the console and signs in with `token` (`query`: `?lang=en`). */
async function signIn(page, token, query = '') {
  await page.goto(`${local.baseUrl}/agente${query}`);
  await page.fill('#token', token);
  await page.click('#form-ingreso button[type=submit]');
}

async function outbox() {
  const dir = join(local.dataDir, 'outbox');
  return Promise.all(readdirSync(dir).map((f) => simpleParser(readFileSync(join(dir, f)))));
}

test('an agent signs in, reads a ticket, notes and answers it from the console', async () => {
  const token = local.addAgent('MDT', 'supervisor', 'Ana Agente');
  assert.match(token, /^vnt_[A-Za-z0-9_-]{43}$/);
  const hostile = '<img src=x onerror="window.pwned=1">Demora';
  const number = await openTicketByApi(hostile, 'Texto con <script>window.pwned=2</script> dentro.');

  const context = await local.browser.newContext({ bypassCSP: true, locale: 'es-EC' });
  const page = await context.newPage();
  await signIn(page, token);
  await page.waitForSelector(`text=${number}`);
  assert.match(await page.textContent('#quien'), /Ana Agente · MDT · Supervisor$/);
  assert.equal(await page.isVisible('#plantillas-abrir'), false, 'canned responses are written by admins');
  // Codes are words: the status, the priority, the ticket's age.
  const row = page.locator(`#tickets tr:has-text("${number}")`);
  assert.match(await row.textContent(), /hoy\s*Nuevo\s*Normal/);
  assert.doesNotMatch(await row.textContent(), /\bnew\b|\bnormal\b/);
  assert.deepEqual(
    await page.locator('#f-estado option').allTextContents(),
    ['Todos', 'Nuevo', 'En atención', 'Esperando al ciudadano', 'Resuelto', 'Cerrado'],
  );
  assert.deepEqual(await seriousViolations(page), [], 'queue accessibility');

  // A search by the citizen's words finds it; one for words nobody wrote finds nothing.
  await page.fill('#f-buscar', 'texto dentro');
  await page.click('#busqueda button[type=submit]');
  await page.waitForFunction(() => document.getElementById('t-orden').textContent.startsWith('Resultados'));
  assert.equal(await page.locator('#tickets tr').count(), 1);
  assert.equal(await page.locator(`#tickets tr:has-text("${number}")`).count(), 1);
  await page.fill('#f-buscar', 'palabrasquenadieescribio');
  await page.click('#busqueda button[type=submit]');
  await page.waitForFunction(() => document.getElementById('t-orden').textContent.endsWith(': 0'));
  await page.fill('#f-buscar', '');

  // The queue by due date: a queja has the COA's 30 business days, said in words.
  await page.selectOption('#f-vence', '10');
  await page.click('#filtros button[type=submit]');
  await page.waitForFunction(() => document.getElementById('t-orden').textContent.includes('vence primero'));
  assert.equal(await page.locator(`#tickets tr:has-text("${number}")`).count(), 0, 'not due within 10 days');
  await page.selectOption('#f-vence', '');
  await page.selectOption('#f-orden', 'due');
  await page.click('#filtros button[type=submit]');
  await page.waitForSelector(`#tickets tr:has-text("${number}")`);
  assert.match(await page.textContent(`#tickets tr:has-text("${number}")`), /\d{4}-\d{2}-\d{2} · 3\d días hábiles/);
  assert.deepEqual(await seriousViolations(page), [], 'queue by due date accessibility');

  // Without a mouse: the ticket's link from the keyboard, and the focus on its title.
  await page.focus(`#tickets a[href="#${number}"]`);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#t-hilo li');
  assert.equal(await page.evaluate(() => document.activeElement.id), 't-titulo');
  assert.match(await page.textContent('#t-datos'), /CategoríaQueja/);
  // The transfer offers the other agencies and, once one is chosen, its queues.
  const agencies = await page.locator('#x-agencia option').allTextContents();
  assert.ok(agencies.some((a) => a.startsWith('MINTEL · ')), agencies.join(', '));
  assert.ok(!agencies.some((a) => a.startsWith('MDT · ')), 'not its own agency');
  await page.selectOption('#x-agencia', 'MINTEL');
  assert.ok((await page.locator('#x-cola option').count()) > 1, 'MINTEL queues listed');
  assert.ok((await page.textContent('#t-titulo')).includes(hostile), 'the subject is shown as typed');
  assert.ok((await page.textContent('#t-hilo')).includes('<script>window.pwned=2</script>'));
  assert.equal(await page.evaluate(() => window.pwned), undefined, 'citizen text never runs');

  await page.fill('#n-texto', 'Consultar con talento humano');
  await page.click('#f-nota button[type=submit]');
  await page.waitForSelector('#t-hilo li.internal_note');

  await page.fill('#r-texto', 'Su trámite fue reasignado; le escribiremos en dos días.');
  await page.selectOption('#r-estado', 'waiting_on_citizen');
  await page.click('#f-respuesta button[type=submit]');
  await page.waitForSelector('#t-hilo li.public_reply');
  assert.equal(await page.textContent('#aviso'), 'Respuesta enviada.');
  assert.match(await page.textContent('#t-datos'), /EstadoEsperando al ciudadano/);
  assert.match(await page.textContent('#t-datos'), /suspendido \(esperando al ciudadano\)/, 'the clock stopped');
  assert.deepEqual(await seriousViolations(page), [], 'ticket accessibility');

  // The same citizen asked again: the agent relates the two, and each lists the other.
  const again = await openTicketByApi('Otra vez la demora', 'Sigo esperando.');
  await page.fill('#rel-numero', again);
  await page.click('#f-relacion button[type=submit]');
  await page.waitForFunction(() => document.getElementById('aviso').textContent === 'Tickets relacionados.');
  await page.click(`#t-datos a:has-text("${again}")`);
  await page.waitForFunction((n) => document.getElementById('t-titulo').textContent.startsWith(n), again);
  assert.match(await page.textContent('#t-datos'), new RegExp(`Relacionados${number}`));
  assert.match(await page.textContent('#t-hilo'), new RegExp(`Relacionado con el ticket ${number}`));
  // It is a duplicate: merged into the first, whose thread now shows its message.
  await page.fill('#union-numero', number);
  await page.click('#f-union button[type=submit]');
  await page.waitForFunction((n) => document.getElementById('t-titulo').textContent.startsWith(n), number);
  assert.equal(await page.textContent('#aviso'), `Ticket ${again} unido a ${number}.`);
  assert.match(await page.textContent('#t-datos'), new RegExp(`Tickets unidos a este${again}`));
  const moved = page.locator('#t-hilo li:has-text("Sigo esperando.")');
  assert.match(await moved.locator('.meta').textContent(), new RegExp(`del ticket ${again}`));
  assert.deepEqual(await seriousViolations(page), [], 'merged ticket accessibility');

  const mails = await outbox();
  const reply = mails.find((m) => m.subject.includes('Re:'));
  assert.ok(reply, 'the answer went out by mail');
  assert.equal(reply.to.value[0].address, 'luis@example.com');
  assert.ok(reply.text.includes('Su trámite fue reasignado'));
  for (const mail of mails) assert.ok(!mail.text.includes('talento humano'), 'a note never leaves');
  await context.close();
});

test('an answer that would cross a colleague\'s is held, what is new is shown, and the second press sends it', async () => {
  const token = local.addAgent('MDT', 'agent', 'Eva Agente');
  const colleague = local.addAgent('MDT', 'agent', 'Raúl Agente');
  const number = await openTicketByApi('Sin acceso', 'No puedo ingresar al sistema.');
  // Raúl has the ticket open in his console; Eva opens it and is told.
  const theirs = await local.browser.newContext({ bypassCSP: true });
  const raul = await theirs.newPage();
  await signIn(raul, colleague);
  await raul.click(`text=${number}`);
  await raul.waitForSelector('#t-hilo li');
  const context = await local.browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await signIn(page, token);
  await page.click(`text=${number}`);
  await page.waitForSelector('#t-hilo li');
  await page.waitForFunction(() => document.getElementById('t-otros').textContent.length > 0);
  assert.equal(await page.textContent('#t-otros'), 'También tiene este ticket abierto: Raúl Agente.');
  await theirs.close();
  // While Eva reads, Raúl answers.
  const answered = await fetch(`${local.baseUrl}/api/v1/agent/tickets/${number}/replies`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${colleague}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ text: 'Ya le enviamos un enlace para ingresar.' }),
  });
  assert.equal(answered.status, 201);
  await page.fill('#r-texto', 'Pruebe restablecer su clave.');
  await page.click('#f-respuesta button[type=submit]');
  await page.waitForFunction(() => document.getElementById('aviso').textContent.includes('cambió mientras escribía'));
  assert.match(await page.textContent('#aviso'), /1 mensaje nuevo, marcado/);
  assert.equal(await page.inputValue('#r-texto'), 'Pruebe restablecer su clave.', 'the text is kept');
  assert.equal(await page.locator('#t-hilo li.nuevo').count(), 1);
  assert.ok(await page.evaluate(() => document.activeElement.classList.contains('nuevo')), 'the focus is on what is new');
  assert.match(await page.textContent('#t-hilo li.nuevo'), /Ya le enviamos un enlace/);
  assert.deepEqual(await seriousViolations(page), [], 'conflict accessibility');
  const replies = async () => (await outbox()).filter((m) => m.subject.includes('Re: Sin acceso'));
  assert.equal((await replies()).length, 1, 'only the colleague\'s answer left');
  // Read, and sent on purpose: against the ticket as it now is.
  await page.click('#f-respuesta button[type=submit]');
  await page.waitForFunction(() => document.getElementById('aviso').textContent === 'Respuesta enviada.');
  assert.equal((await replies()).length, 2);
  await context.close();
});

test('a citizen\'s inline answers are read in order, the history they quoted one click away', async () => {
  const token = local.addAgent('MDT', 'agent', 'Iris Agente');
  const answer = await local.sendMail('marta@example.com', 'soporte@ventanilla.example.gob.ec', [
    'From: Marta Chicaiza <marta@example.com>', 'To: soporte@ventanilla.example.gob.ec',
    'Subject: Re: Datos para su trámite', 'Message-ID: <en-linea-1@example.com>',
    'In-Reply-To: <consulta-1@mdt.gob.ec>',
    'Content-Type: text/plain; charset=utf-8', '',
    'Buenos días:', '',
    'El 3 mar 2025, a las 10:00, Mesa de ayuda <ayuda@mdt.gob.ec> escribió:', '',
    '> ¿Cuál es su número de cédula?', '', '1710034065', '',
    '> ¿En qué fecha hizo el trámite?', '', 'El 28 de febrero.', '',
    '> Saludos cordiales,', '> Mesa de ayuda del MDT',
  ].join('\n'));
  const number = answer.trim().split(/\s+/).pop();
  assert.match(number, /^MDT-/, answer);
  const context = await local.browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await signIn(page, token);
  await page.click(`text=${number}`);
  await page.waitForSelector('#t-hilo li.citizen_message');
  const first = page.locator('#t-hilo li.citizen_message').first();
  const text = await first.locator('div').textContent();
  assert.ok(text.indexOf('1710034065') < text.indexOf('¿En qué fecha') && text.includes('El 28 de febrero.'), text);
  assert.ok(!text.includes('escribió'), 'the attribution is history');
  const history = first.locator('details');
  assert.equal(await history.getAttribute('open'), null, 'collapsed');
  assert.equal(await history.locator('pre').isVisible(), false);
  await history.locator('summary').focus();
  await page.keyboard.press('Enter');
  assert.equal(await history.locator('pre').isVisible(), true);
  assert.match(await history.locator('pre').textContent(), /escribió:[\s\S]*Mesa de ayuda del MDT/);
  assert.deepEqual(await seriousViolations(page), [], 'quoted history accessibility');
  await context.close();
});

test('a caller without e-mail is registered, gets a printed receipt, and follows the ticket with their cédula', async () => {
  const token = local.addAgent('MDT', 'agent', 'Olga Agente');
  const context = await local.browser.newContext({ bypassCSP: true, locale: 'es-EC' });
  const page = await context.newPage();
  await signIn(page, token);
  await page.waitForSelector('#cola:not([hidden])');
  await page.click('#nuevo-abrir');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'nuevo-titulo');
  assert.deepEqual(
    await page.locator('#o-canal option').allTextContents(),
    ['Elija el canal', 'Correo electrónico', 'Teléfono', 'Presencial (ventanilla)', 'Oficio (carta)'],
  );
  assert.deepEqual(await seriousViolations(page), [], 'registration form accessibility');
  // A wrong cédula is named, and nothing is registered.
  await page.selectOption('#o-canal', 'telefono');
  await page.selectOption('#o-categoria', 'requerimiento');
  await page.fill('#o-nombre', 'Segundo Guamán');
  await page.fill('#o-numero-id', '1714307104');
  // The nationality by its name, Ecuador chosen already.
  assert.equal(await page.inputValue('#o-nacionalidad'), 'EC');
  assert.equal(await page.locator('#o-nacionalidad option:checked').textContent(), 'Ecuador');
  await page.fill('#o-asunto', 'Certificado de no adeudar');
  await page.fill('#o-descripcion', 'Pide el certificado por teléfono; no tiene correo.');
  await page.click('#f-nuevo button[type=submit]');
  await page.waitForFunction(() => document.getElementById('aviso').textContent.includes('id_number'));
  await page.fill('#o-numero-id', '171430710-3');
  await page.click('#f-nuevo button[type=submit]');
  await page.waitForSelector('#recibo:not([hidden])');
  const receipt = await page.textContent('#recibo');
  const number = receipt.match(/MDT-REQ-\d{4}-\d{5}/)[0];
  assert.match(receipt, /Fecha límite de respuesta\S*\s*\S+/);
  assert.match(await page.textContent('#recibo-seguir'), /\/estado con el número del ticket y su número de cédula o pasaporte/);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'recibo-titulo');
  assert.deepEqual(await seriousViolations(page), [], 'receipt accessibility');
  // Printed: the receipt alone, without the console's header and buttons.
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.isVisible('#recibo-datos'), true);
  assert.equal(await page.isVisible('#imprimir'), false);
  assert.equal(await page.isVisible('header'), false);
  await page.emulateMedia({ media: 'screen' });
  // The ticket says how it came and that there is no address to write to.
  await page.click('#recibo-ticket');
  await page.waitForSelector('#t-hilo li');
  assert.match(await page.textContent('#t-datos'), /CanalTeléfono/);
  assert.match(await page.textContent('#t-datos'), /CorreoSin correo/);
  await context.close();

  // The citizen, at home, with the number and the cédula as printed on it.
  const citizen = await local.browser.newContext({ locale: 'es-EC' });
  const status = await citizen.newPage();
  await status.goto(`${local.baseUrl}/estado`);
  await status.fill('#number', number);
  await status.fill('#id_number', '1714307103');
  await Promise.all([status.waitForLoadState('load'), status.click('button[type=submit]')]);
  assert.equal((await status.textContent('#ticket-number')).trim(), number);
  // Without an address they answer on the page, under a token bound to their cédula.
  await status.fill('#text', 'Ya tengo el número de trámite anterior: 2024-118.');
  await Promise.all([status.waitForLoadState('load'), status.click('#answer-form button[type=submit]')]);
  await status.waitForFunction(() => document.querySelector('main')?.textContent.includes('Su mensaje se añadió'));
  // The same number with someone else's cédula finds nothing.
  await status.goto(`${local.baseUrl}/estado`);
  await status.fill('#number', number);
  await status.fill('#id_number', '0102030405');
  await Promise.all([status.waitForLoadState('load'), status.click('button[type=submit]')]);
  assert.equal(await status.locator('#ticket-number').count(), 0);
  await citizen.close();
});

test('an admin writes a canned response in the console; it is chosen, filled in for the ticket, and sent as written', async () => {
  const admin = local.addAgent('MDT', 'admin', 'Rita Admin');
  const number = await openTicketByApi('Datos enviados', 'Envío los datos que faltaban.');
  const context = await local.browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await signIn(page, admin);
  await page.click('#plantillas-abrir');
  await page.waitForSelector('#plantillas:not([hidden])');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'plantillas-titulo');
  // A misspelt placeholder is refused and named.
  await page.fill('#p-id', 'datos-completos');
  await page.fill('#p-titulo', 'Datos completos');
  await page.fill('#p-texto', 'Estimado/a {nobre}: recibimos los datos.');
  await page.click('#f-plantilla button[type=submit]');
  await page.waitForFunction(() => document.getElementById('aviso').textContent.includes('text'));
  await page.fill('#p-texto', 'Estimado/a {nombre}: recibimos los datos de {numero}.');
  await page.click('#f-plantilla button[type=submit]');
  await page.waitForSelector('#plantillas-lista tr:has-text("Datos completos")');
  assert.deepEqual(await seriousViolations(page), [], 'canned responses page accessibility');
  await page.click('#plantillas .volver-cola');
  await page.click(`text=${number}`);
  await page.waitForSelector('#r-predefinidas-campo:not([hidden])');
  await page.fill('#r-texto', 'Buenos días.');
  await page.selectOption('#r-predefinida', 'datos-completos');
  assert.equal(await page.inputValue('#r-texto'), `Buenos días.\n\nEstimado/a Luis Tipán: recibimos los datos de ${number}.`);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'r-texto');
  assert.deepEqual(await seriousViolations(page), [], 'canned response accessibility');
  await page.click('#f-respuesta button[type=submit]');
  await page.waitForFunction(() => document.getElementById('aviso').textContent === 'Respuesta enviada.');
  const reply = (await outbox()).find((m) => m.subject.includes('Re: Datos enviados'));
  assert.ok(reply.text.includes('Estimado/a Luis Tipán: recibimos los datos de'), reply.text);
  await context.close();
});

test('an agent chooses their alerts in the console, is told of a new ticket by mail and answers it from their mailbox', async () => {
  const token = local.addAgent('MDT', 'agent', 'Lucía Paredes');
  const address = 'eva.agente@mdt.example.gob.ec';
  const context = await local.browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await signIn(page, token);
  await page.click('#avisos-abrir');
  await page.waitForSelector('#avisos:not([hidden])');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'avisos-titulo');
  // An agent watches no queue until they choose: the queues wait for the choice.
  assert.equal(await page.isChecked('#a-por-rol'), true);
  assert.equal(await page.isDisabled('#a-cola-atencion-ciudadana'), true);
  await page.fill('#a-correo', address);
  await page.uncheck('#a-por-rol');
  await page.check('#a-cola-atencion-ciudadana');
  await page.selectOption('#a-transferred', 'off');
  assert.deepEqual(await seriousViolations(page), [], 'alerts page accessibility');
  await page.click('#f-avisos button[type=submit]');
  // The address is theirs once they type the code mailed to it.
  await page.waitForSelector('#f-codigo:not([hidden])');
  const codeMail = (await outbox()).find((m) => m.to?.text.includes(address));
  assert.ok(codeMail, 'the code');
  const code = codeMail.text.match(/\b\d{8}\b/)[0];
  await page.fill('#a-codigo', '00000000' === code ? '11111111' : '00000000');
  await page.click('#f-codigo button[type=submit]');
  await page.waitForFunction(() => document.getElementById('aviso').textContent.includes('code'));
  await page.fill('#a-codigo', code);
  assert.deepEqual(await seriousViolations(page), [], 'address code accessibility');
  await page.click('#f-codigo button[type=submit]');
  await page.waitForFunction((a) => document.getElementById('aviso').textContent === `Dirección confirmada: ${a}.`, address);
  await context.close();

  // A citizen writes; within the local sweep (30 s) the agent is told.
  const number = await openTicketByApi('Trámite detenido', 'Mi trámite no avanza desde marzo.');
  let alert;
  for (let tries = 0; tries < 100 && !alert; tries += 1) {
    alert = (await outbox()).find((m) => m.to?.text.includes(address) && m.subject.includes(number));
    if (!alert) await new Promise((done) => setTimeout(done, 500));
  }
  assert.ok(alert, 'the alert');
  assert.ok(alert.text.startsWith(`Nueva solicitud ${number}`), alert.text);
  assert.ok(alert.text.includes('> Mi trámite no avanza desde marzo.'), alert.text);
  assert.equal(alert.headers.get('auto-submitted'), 'auto-generated');

  // The agent answers from their mail client; the citizen gets it from the support address.
  const answer = await local.sendMail(address, 'soporte@ventanilla.example.gob.ec', [
    `From: Lucía Paredes <${address}>`, 'To: soporte@ventanilla.example.gob.ec',
    `Subject: Re: ${alert.subject}`, '<eva-respuesta-1@mdt.example.gob.ec>'.replace(/^/, 'Message-ID: '),
    `In-Reply-To: ${alert.messageId}`, `References: ${alert.messageId}`,
    'Content-Type: text/plain; charset=utf-8', '',
    'Buenos días, su trámite fue aprobado ayer.', '',
    'El mié., Ventanilla escribió:', `> Nueva solicitud ${number}`, '',
  ].join('\n'));
  assert.match(answer, /^250/);
  const reply = (await outbox()).find((m) => m.to?.text.includes('luis@example.com') && m.text.includes('fue aprobado'));
  assert.ok(reply, 'the citizen got the answer');
  assert.ok(reply.from.text.includes('soporte@'), reply.from.text);
  assert.ok(!reply.text.includes('Nueva solicitud'), reply.text);
});

test('under ?lang=en the codes are English words', async () => {
  const token = local.addAgent('MDT', 'agent', 'Tom Agent');
  const number = await openTicketByApi('Slow answer', 'Nobody answered me.');
  const context = await local.browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await signIn(page, token, '?lang=en');
  await page.waitForSelector(`text=${number}`);
  assert.match(await page.textContent('#quien'), /Tom Agent · MDT · Agent$/);
  assert.match(await page.locator(`#tickets tr:has-text("${number}")`).textContent(), /today\s*New\s*Normal/);
  assert.deepEqual(await seriousViolations(page), [], 'English queue accessibility');
  await context.close();
});

test('a wrong token is refused and the console stays signed out', async () => {
  const context = await local.browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'vnt_' + 'A'.repeat(43));
  await page.waitForFunction(() => document.getElementById('aviso').textContent.length > 0);
  assert.match(await page.textContent('#aviso'), /Token no válido/);
  assert.equal(await page.isVisible('#ingreso'), true);
  assert.equal(await page.isVisible('#cola'), false);
  await context.close();
});

test('a supervisor reads the agency\'s figures in the console: charts with their tables, accessible', async () => {
  const token = local.addAgent('MDT', 'supervisor', 'Sofía Supervisora');
  const agentToken = local.addAgent('MDT', 'agent', 'Pedro Agente');
  await openTicketByApi('Demora en la atención', 'Primer mensaje.');
  await openTicketByApi('Otra demora', 'Segundo mensaje.');
  const context = await local.browser.newContext({ bypassCSP: true, locale: 'es-EC' });
  const page = await context.newPage();
  await signIn(page, token);
  await page.click('#indicadores-abrir');
  await page.waitForSelector('#i-figuras svg[role=img]');
  const charts = await page.$$eval('#i-figuras figure', (figures) => figures.map((f) => ({
    caption: f.querySelector('figcaption').textContent,
    chart: !!f.querySelector('svg[role=img]'),
    rows: f.querySelectorAll('tbody tr').length,
  })));
  const byCategory = charts.find((c) => c.caption === 'Recibidos por categoría');
  assert.ok(byCategory && byCategory.chart && byCategory.rows >= 1, JSON.stringify(charts));
  assert.ok(charts.find((c) => c.caption === 'Recibidos y finalizados por semana').chart);
  const received = await page.$eval('#i-figuras .summary dd', (dd) => Number(dd.textContent.replace(/\./g, '')));
  assert.ok(received >= 2, `received ${received}`);
  assert.deepEqual(await seriousViolations(page), [], 'dashboard accessibility');
  // The period's tickets as CSV, through the link the console offers; a supervisor is not
  // offered the requesters' personal data.
  assert.equal(await page.isVisible('#e-personales'), false);
  await page.selectOption('#e-formato', 'csv');
  await page.click('#f-exportar button[type=submit]');
  await page.waitForSelector('#e-enlace:not([hidden])');
  assert.match(await page.textContent('#e-enlace'), /^Descargar MDT-tickets-.*\.csv \(\d+ tickets\)$/);
  const bytes = Buffer.from(await (await fetch(await page.getAttribute('#e-enlace', 'href'))).arrayBuffer());
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'a byte-order mark for Excel');
  const csv = bytes.subarray(3).toString('utf8');
  assert.match(csv.split('\n')[0], /^Número,Recibido,Categoría/);
  assert.ok(csv.split('\n').length >= 3, csv);
  assert.ok(!csv.includes('@'), 'nothing personal: ' + csv);
  // A custom period with its end before its start is named, not drawn.
  await page.selectOption('#i-periodo', 'personalizado');
  await page.fill('#i-desde', '2026-03-10');
  await page.fill('#i-hasta', '2026-03-01');
  await page.click('#f-indicadores button[type=submit]');
  await page.waitForFunction(() => /to/.test(document.querySelector('#aviso').textContent));
  await context.close();

  // An agent has no button, and the API says no.
  const agentContext = await local.browser.newContext({ locale: 'es-EC' });
  const agentPage = await agentContext.newPage();
  await signIn(agentPage, agentToken);
  await agentPage.waitForSelector('#cola:not([hidden])');
  assert.equal(await agentPage.isVisible('#indicadores-abrir'), false);
  await agentContext.close();
});

test('an agent records how a request for public information was answered, for the LOTAIP report', async () => {
  const token = local.addAgent('MDT', 'supervisor', 'Inés Informante');
  const request = await openTicketByApi('Presupuesto ejecutado', 'Solicito el presupuesto ejecutado.', 'acceso_informacion');
  const complaint = await openTicketByApi('Otra demora', 'Tercer mensaje.');
  const context = await local.browser.newContext({ bypassCSP: true, locale: 'es-EC' });
  const page = await context.newPage();
  await signIn(page, token);
  await page.waitForSelector(`#tickets a[href="#${complaint}"]`);
  await page.click(`#tickets a[href="#${complaint}"]`);
  await page.waitForSelector('#t-hilo li');
  assert.equal(await page.isVisible('#c-respuesta'), false, 'a complaint has no LOTAIP answer');
  await page.click('#volver');
  await page.waitForSelector(`#tickets a[href="#${request}"]`);
  await page.click(`#tickets a[href="#${request}"]`);
  await page.waitForFunction((n) => document.getElementById('t-titulo').textContent.startsWith(n), request);
  assert.equal(await page.isVisible('#c-respuesta'), true);
  // A denial without its reason is refused, with the field named.
  await page.selectOption('#c-respuesta', 'denied');
  await page.click('#f-cambio button[type=submit]');
  await page.waitForFunction(() => /information_reason/.test(document.querySelector('#aviso').textContent));
  await page.fill('#c-motivo', 'Información reservada (art. 17)');
  await page.selectOption('#c-estado', 'resolved');
  await page.click('#f-cambio button[type=submit]');
  await page.waitForFunction(() => /Respuesta \(LOTAIP\)Negada: Información reservada/.test(document.querySelector('#t-datos').textContent));
  assert.deepEqual(await seriousViolations(page), [], 'ticket with its LOTAIP answer');
  await context.close();
});
