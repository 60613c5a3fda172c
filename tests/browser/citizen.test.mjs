// The citizen's path in a real browser: headless Chromium opens a ticket on the local server
// (with a screenshot, with and without JavaScript), reads the number, opens the access link
// from the acknowledgement in the outbox and sees the ticket; axe-core checks both pages.
//
// The server and browser come from local.mjs.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { seriousViolations, startLocal } from './local.mjs';

// A real 1×1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==',
  'base64',
);

let local;
let baseUrl;
let dataDir;
let browser;

before(async () => {
  local = await startLocal();
  ({ baseUrl, dataDir, browser } = local);
});

after(async () => {
  await local?.stop();
});

async function fillTicketForm(page, email) {
  await page.selectOption('#agency', 'MDT');
  await page.selectOption('#category', 'problema_tecnico');
  await page.selectOption('#nationality', 'EC');
  await page.selectOption('#id_type', 'cedula');
  await page.fill('#id_number', '1710034065');
  await page.fill('#full_name', 'María José Pérez');
  await page.fill('#email', email);
  await page.selectOption('#gender', 'femenino');
  await page.fill('#phone', '0991234567');
  await page.selectOption('#user_type', 'ciudadano');
  await page.fill('#subject', 'No puedo descargar el certificado');
  await page.fill('#description', 'Al pulsar "Descargar" aparece un error. Adjunto la captura.');
  await page.setInputFiles('#screenshots', { name: 'captura.png', mimeType: 'image/png', buffer: PNG });
}

/** The acknowledgement sent to `email`, parsed. */
async function acknowledgementFor(email) {
  const outbox = join(dataDir, 'outbox');
  for (const file of readdirSync(outbox).filter((f) => f.endsWith('.eml'))) {
    const mail = await simpleParser(readFileSync(join(outbox, file)));
    if (mail.to?.value?.[0]?.address === email) return mail;
  }
  assert.fail(`no acknowledgement for ${email} in the outbox`);
}

async function openTicket({ javaScriptEnabled, email }) {
  // bypassCSP only lets the test inject axe-core; the pages themselves run under the CSP.
  const context = await browser.newContext({ javaScriptEnabled, bypassCSP: true, locale: 'es-EC' });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/`);
  await fillTicketForm(page, email);
  // Either way (by XMLHttpRequest for its progress bar, or posted by the browser) the form
  // is sent on to the confirmation's own address.
  await Promise.all([page.waitForURL('**/recibido?**'), page.click('button[type=submit]')]);
  const number = (await page.textContent('#ticket-number')).trim();
  assert.match(number, /^MDT-TEC-\d{4}-\d{5}$/);
  return { context, page, number };
}

test('a citizen opens a ticket with a screenshot and follows it from the mail link', async () => {
  const email = 'maria.js@example.com';
  const { context, page, number } = await openTicket({ javaScriptEnabled: true, email });
  assert.deepEqual(await seriousViolations(page), [], 'confirmation accessibility');
  const mail = await acknowledgementFor(email);
  assert.ok(mail.subject.includes(`[${number}]`), mail.subject);
  assert.equal(mail.headers.get('auto-submitted'), 'auto-replied');
  const link = mail.text.match(/http:\/\/127\.0\.0\.1:\d+\/estado\/\S+/)?.[0];
  assert.ok(link, 'the acknowledgement carries an access link');

  // The acknowledgement says the date the agency has to answer by (issue 21), in words.
  const promised = mail.text.match(/Le responderemos hasta el ([a-zé]+ \d{1,2} de [a-z]+ de \d{4})/)?.[1];
  assert.ok(promised, mail.text);

  await page.goto(link);
  assert.equal((await page.textContent('#ticket-number')).trim(), number);
  // The status page shows the same date.
  assert.equal((await page.textContent('#ticket-due')).trim(), promised);
  assert.equal((await page.textContent('#ticket-subject')).trim(), 'No puedo descargar el certificado');
  const download = page.locator('a', { hasText: 'captura.png' });
  const href = await download.getAttribute('href');
  const screenshot = await page.request.get(href);
  assert.equal(screenshot.status(), 200);
  assert.deepEqual(Buffer.from(await screenshot.body()), PNG);
  assert.deepEqual(await seriousViolations(page), [], 'status page accessibility');
  await context.close();
});

test('the same form works with JavaScript disabled', async () => {
  const email = 'sin.js@example.com';
  const { context, page, number } = await openTicket({ javaScriptEnabled: false, email });
  assert.ok(await page.isVisible(`text=${number}`));
  // The status page by e-mail + number, as a plain form post.
  await page.goto(`${baseUrl}/estado`);
  await page.fill('#email', email);
  await page.fill('#number', number);
  await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
  assert.equal((await page.textContent('#ticket-number')).trim(), number);
  await context.close();
});

test('screenshots past the limits are stopped in the browser, before a gateway would refuse them', async () => {
  const context = await browser.newContext({ locale: 'es-EC' });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/`);
  await fillTicketForm(page, 'grande@example.com');
  // Two files of 2.2 MB: 4.4 MB in all, past the 4 MB the form takes.
  const large = Buffer.concat([PNG, Buffer.alloc(2_200_000)]);
  await page.setInputFiles('#screenshots', [
    { name: 'a.png', mimeType: 'image/png', buffer: large },
    { name: 'b.png', mimeType: 'image/png', buffer: large },
  ]);
  await page.click('button[type=submit]');
  await page.waitForSelector('#screenshots-limit:not([hidden])');
  assert.match(await page.textContent('#screenshots-limit'), /más de 4 MB/);
  assert.equal(await page.getAttribute('#screenshots', 'aria-invalid'), 'true');
  assert.equal(new URL(page.url()).pathname, '/', 'the form was not sent');
  // Four files: too many, whatever their size.
  await page.setInputFiles('#screenshots', [1, 2, 3, 4].map((n) => (
    { name: `c${n}.png`, mimeType: 'image/png', buffer: PNG })));
  assert.match(await page.textContent('#screenshots-limit'), /como máximo 3 archivos/);
  // Within the limits again, the message goes and the form is sent.
  await page.setInputFiles('#screenshots', { name: 'captura.png', mimeType: 'image/png', buffer: PNG });
  assert.ok(await page.isHidden('#screenshots-limit'));
  await Promise.all([page.waitForSelector('#ticket-number'), page.click('button[type=submit]')]);
  assert.match((await page.textContent('#ticket-number')).trim(), /^MDT-TEC-\d{4}-\d{5}$/);
  await context.close();
});

// Both run under the pages' real Content-Security-Policy (no bypass): the thumbnails' blob:
// URLs and the check's fetch must pass it.
test('the chosen screenshots are listed with their sizes, and a slow form is sent once however often it is pressed', async () => {
  const context = await browser.newContext({ locale: 'es-EC' });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/`);
  const email = 'paciente@example.com';
  await fillTicketForm(page, email);
  const large = Buffer.concat([PNG, Buffer.alloc(1_500_000)]);
  await page.setInputFiles('#screenshots', [
    { name: 'captura.png', mimeType: 'image/png', buffer: PNG },
    { name: 'grande.png', mimeType: 'image/png', buffer: large },
  ]);
  const items = page.locator('#screenshots-preview li');
  assert.equal(await items.count(), 2);
  assert.match(await items.nth(0).textContent(), /^captura\.png \(\d+ B\)$/);
  assert.match(await items.nth(1).textContent(), /^grande\.png \(1,4 MB\)$/, 'Spanish decimals');
  await page.waitForFunction(() => {
    const picture = document.querySelectorAll('#screenshots-preview img')[1];
    return picture && picture.complete && picture.naturalWidth > 0;
  });
  // A slow network: the answer takes two seconds; the citizen presses three times.
  let posts = 0;
  await page.route(/\/api\/v1\/tickets\?/, async (route) => {
    posts += 1;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await route.continue().catch(() => {});
  });
  const sent = page.waitForSelector('#ticket-number', { timeout: 20_000 });
  // Three presses of the mouse, a moment apart, before any answer.
  await page.locator('button[type=submit]').scrollIntoViewIfNeeded();
  const box = await page.locator('button[type=submit]').boundingBox();
  for (let press = 0; press < 3; press += 1) {
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  await sent;
  assert.match((await page.textContent('#ticket-number')).trim(), /^MDT-TEC-\d{4}-\d{5}$/);
  assert.equal(posts, 1, 'one request');
  await context.close();
});

test('a field says what the server would as soon as the citizen leaves it', async () => {
  const context = await browser.newContext({ locale: 'es-EC' });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/`);
  await fillTicketForm(page, 'campo@example.com');
  // A cédula whose check digit is wrong (…065 is right).
  await page.fill('#id_number', '1710034066');
  await page.locator('#id_number').blur();
  await page.waitForSelector('#id_number-error');
  const said = (await page.textContent('#id_number-error')).trim();
  assert.ok(said.length > 0);
  assert.equal(await page.getAttribute('#id_number', 'aria-invalid'), 'true');
  assert.match(await page.getAttribute('#id_number', 'aria-describedby'), /id_number-error/);
  // A screen reader hears it though the citizen is on the next field already.
  assert.ok((await page.textContent('form[data-check] > p.sr-only')).endsWith(said));
  assert.equal(await page.locator('#email-error').count(), 0, 'a right field is not marked');
  await page.fill('#email', 'sin-arroba@');
  await page.locator('#email').blur();
  await page.waitForSelector('#email-error');
  // Corrected: the marks go.
  await page.fill('#email', 'campo@example.com');
  await page.locator('#email').blur();
  await page.waitForSelector('#email-error', { state: 'detached' });
  assert.equal(await page.getAttribute('#email', 'aria-invalid'), null);
  // Sent as it is, the server's page says the same words at the same field.
  await Promise.all([page.waitForSelector('#error-summary'), page.click('button[type=submit]')]);
  assert.equal((await page.textContent('#id_number-error')).trim(), said);
  await context.close();
});

test('a wrong field comes back marked, with what was typed kept', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/?lang=en`);
  await fillTicketForm(page, 'wrong.phone@example.com');
  // A phone the browser lets through (type=tel has no format) but libphonenumber refuses.
  await page.fill('#phone', '12');
  await page.click('button[type=submit]');
  await page.waitForSelector('#phone-error');
  assert.equal(await page.inputValue('#full_name'), 'María José Pérez');
  assert.equal(await page.inputValue('#phone'), '12');
  assert.match(await page.textContent('#phone-error'), /format/);
  assert.equal(await page.getAttribute('#phone', 'aria-invalid'), 'true');
  await context.close();
});

test('the form and status pages have no serious or critical accessibility violation', async () => {
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  for (const path of ['/', '/?lang=en', '/estado']) {
    await page.goto(`${baseUrl}${path}`);
    assert.deepEqual(await seriousViolations(page), [], `${path} accessibility`);
  }
  await context.close();
});

/** Opens a ticket for `email` through the API; its number and its status page's link. */
async function openByApi(email, subject) {
  const response = await fetch(`${baseUrl}/api/v1/tickets`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({
      agency: 'MDT', category: 'queja', nationality: 'EC', id_type: 'cedula',
      id_number: '1710034065', full_name: 'Rosa Chela', email, gender: 'femenino',
      phone: '0991234567', user_type: 'ciudadano', subject, description: 'Primer mensaje.',
    }),
  });
  assert.equal(response.status, 201);
  const body = await response.json();
  return { number: body.number, link: body.access_url };
}

test('a citizen answers on the status page with a file, with and without JavaScript, and the agent reads both', async () => {
  const { number, link } = await openByApi('rosa@example.com', 'Respuesta por la web');
  for (const javaScriptEnabled of [true, false]) {
    const context = await browser.newContext({ javaScriptEnabled, bypassCSP: true, locale: 'es-EC' });
    const page = await context.newPage();
    await page.goto(link);
    if (javaScriptEnabled) assert.deepEqual(await seriousViolations(page), [], 'status page with its answer form');
    const text = javaScriptEnabled ? 'Adjunto la captura (con JavaScript).' : 'Otra captura, sin JavaScript.';
    const file = javaScriptEnabled ? 'con-js.png' : 'sin-js.png';
    await page.fill('#text', text);
    await page.setInputFiles('#attachments', { name: file, mimeType: 'image/png', buffer: PNG });
    if (javaScriptEnabled) {
      assert.match(await page.textContent('#attachments-preview li'), /^con-js\.png \(\d+ B\)$/);
    }
    await Promise.all([page.waitForSelector('#answer-notice'), page.click('#answer-form button[type=submit]')]);
    assert.equal((await page.textContent('#answer-notice')).trim(), 'Su mensaje se añadió a la solicitud.');
    const last = page.locator('ol.thread li.citizen').last();
    assert.match(await last.textContent(), new RegExp(text.replace(/[().]/g, '\\$&')));
    const href = await last.locator('a', { hasText: file }).getAttribute('href');
    const download = await page.request.get(href);
    assert.deepEqual(Buffer.from(await download.body()), PNG);
    await context.close();
  }
  // The agent sees both answers and their files in the console.
  const token = local.addAgent('MDT', 'agent', 'Rita Agente');
  const context = await browser.newContext({ locale: 'es-EC' });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/agente`);
  await page.fill('#token', token);
  await page.click('#form-ingreso button[type=submit]');
  await page.waitForSelector(`#tickets a[href="#${number}"]`);
  await page.click(`#tickets a[href="#${number}"]`);
  await page.waitForSelector('#t-hilo li');
  const thread = await page.textContent('#t-hilo');
  assert.match(thread, /Adjunto la captura \(con JavaScript\)/);
  assert.match(thread, /Otra captura, sin JavaScript/);
  assert.match(thread, /con-js\.png/);
  assert.match(thread, /sin-js\.png/);
  await context.close();
});

test('a slow upload shows how much is sent', async () => {
  const context = await browser.newContext({ locale: 'es-EC' });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/`);
  await fillTicketForm(page, 'lenta@example.com');
  await page.setInputFiles('#screenshots', {
    name: 'grande.png', mimeType: 'image/png', buffer: Buffer.concat([PNG, Buffer.alloc(1_200_000)]),
  });
  // A slow mobile line: 400 KB/s up, so the 1.2 MB take about three seconds.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 150, downloadThroughput: 400 * 1024, uploadThroughput: 400 * 1024,
  });
  await page.click('button[type=submit]');
  // The bar shows, and moves through the middle before the page is answered.
  await page.waitForFunction(() => {
    const bar = document.getElementById('screenshots-progress');
    return bar && !bar.hidden && bar.value > 5 && bar.value < 95;
  }, null, { timeout: 15_000, polling: 50 });
  assert.equal(await page.isDisabled('button[type=submit]'), true);
  assert.equal(await page.getAttribute('#screenshots-progress', 'aria-label'), 'Enviando');
  await page.waitForSelector('#ticket-number', { timeout: 30_000 });
  await context.close();
});

/** The "Mis trámites" mail sent to `email`, parsed. */
async function signInMailFor(email) {
  const outbox = join(dataDir, 'outbox');
  for (const file of readdirSync(outbox).filter((f) => f.endsWith('.eml'))) {
    const mail = await simpleParser(readFileSync(join(outbox, file)));
    if (mail.to?.value?.[0]?.address === email && mail.text.includes('/mis-tramites/')) return mail;
  }
  assert.fail(`no sign-in link for ${email} in the outbox`);
}

test('"Mis trámites" lists a citizen\'s tickets from the link in their mail, once', async () => {
  const email = 'varios@example.com';
  const first = await openByApi(email, 'Mi primera consulta');
  const second = await openByApi(email, 'Mi segunda consulta');
  const context = await browser.newContext({ bypassCSP: true, locale: 'es-EC' });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/`);
  await page.click('nav >> text=Mis trámites');
  assert.deepEqual(await seriousViolations(page), [], '"Mis trámites" accessibility');
  await page.fill('#email', email);
  await Promise.all([page.waitForSelector('#mine-sent'), page.click('main button[type=submit]')]);
  assert.deepEqual(await seriousViolations(page), [], 'link sent accessibility');
  const mail = await signInMailFor(email);
  const link = mail.text.match(/http:\/\/127\.0\.0\.1:\d+\/mis-tramites\/\S+/)?.[0];
  assert.ok(link, mail.text);
  // The link's page spends nothing (a mail scanner may open it first); its button lists.
  await page.goto(link);
  assert.deepEqual(await seriousViolations(page), [], 'link page accessibility');
  await Promise.all([page.waitForSelector('#mine-list'), page.click('main form button[type=submit]')]);
  const rows = page.locator('#mine-list li');
  assert.equal(await rows.count(), 2);
  assert.match(await rows.nth(0).textContent(), new RegExp(second.number));
  assert.match(await rows.nth(1).textContent(), new RegExp(first.number));
  assert.deepEqual(await seriousViolations(page), [], 'list accessibility');
  await rows.nth(1).locator('a').click();
  await page.waitForSelector('#ticket-number');
  assert.equal((await page.textContent('#ticket-number')).trim(), first.number);
  // The link works once.
  await page.goto(link);
  assert.match(await page.textContent('main'), /ya se usó/);
  // The status page found by address and number writes nothing: it says to open the link.
  await page.goto(`${baseUrl}/estado`);
  await page.fill('#email', email);
  await page.fill('#number', first.number);
  await Promise.all([page.waitForSelector('#answer-by-link'), page.click('main button[type=submit]')]);
  assert.equal(await page.locator('#answer-form').count(), 0);
  await context.close();
});

test('the public statistics show charts and tables, hide small counts and work without JavaScript', async () => {
  for (let i = 0; i < 2; i += 1) await openByApi(`estadistica${i}@example.com`, 'Consulta estadística');
  for (const javaScriptEnabled of [false, true]) {
    const context = await browser.newContext({ javaScriptEnabled, bypassCSP: true, locale: 'es-EC' });
    const page = await context.newPage();
    await page.goto(`${baseUrl}/`);
    await page.click('nav >> text=Estadísticas');
    await page.waitForURL('**/estadisticas**');
    const mdt = page.locator('section', { has: page.locator('h2', { hasText: 'Ministerio' }) }).first();
    assert.ok(await mdt.locator('svg[role=img]').count() >= 1, 'a chart per agency');
    const cells = await page.$$eval('table td', (tds) => tds.map((td) => td.textContent));
    assert.ok(cells.includes('<5') || cells.some((c) => /^\d/.test(c)), JSON.stringify(cells));
    const text = await page.textContent('main');
    assert.doesNotMatch(text, /example\.com|Consulta estadística/, 'nothing personal, no subjects');
    // axe-core is a script: it runs on the page with JavaScript.
    if (javaScriptEnabled) assert.deepEqual(await seriousViolations(page), [], 'statistics accessibility');
    await context.close();
  }
  const json = await (await fetch(`${baseUrl}/api/v1/stats`)).json();
  assert.ok(json.agencies.some((a) => a.agency === 'MDT'));
});

/** The text of the mail to `email` that asks for a rating, once it is in the outbox. */
async function ratingMailFor(email) {
  const outbox = join(dataDir, 'outbox');
  for (let i = 0; i < 50; i += 1) {
    for (const file of readdirSync(outbox).filter((f) => f.endsWith('.eml'))) {
      const mail = await simpleParser(readFileSync(join(outbox, file)));
      if (mail.to?.value?.[0]?.address === email && mail.text?.includes('/valorar/')) return mail.text;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`no mail asking ${email} for a rating`);
}

test('a citizen rates a resolved ticket from the link in its mail, once, with and without JavaScript', async () => {
  const email = 'valora@example.com';
  // Opened by mail: the tests above spent this source's openings of the form for the hour.
  const opened = await local.sendMail(email, 'soporte@ventanilla.example.gob.ec', [
    `From: Valeria Ortiz <${email}>`, 'To: soporte@ventanilla.example.gob.ec',
    'Subject: No puedo descargar el certificado', 'Message-ID: <valora-1@example.com>',
    'Content-Type: text/plain; charset=utf-8', '', 'Al pulsar "Descargar" aparece un error.',
  ].join('\n'));
  const number = opened.trim().split(/\s+/).pop();
  assert.match(number, /^MDT-/, opened);
  const token = local.addAgent('MDT', 'agent', 'Raúl Agente');
  const reply = await fetch(`${baseUrl}/api/v1/agent/tickets/${number}/replies`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ text: 'Listo: el certificado ya se descarga.', status: 'resolved' }),
  });
  assert.equal(reply.status, 201, await reply.text());
  const text = await ratingMailFor(email);
  const links = [...text.matchAll(/^(\d) - [^:]+: (\S+\/valorar\/\S+)\s*$/gm)].map((m) => [m[1], m[2]]);
  assert.deepEqual(links.map(([score]) => score), ['5', '4', '3', '2', '1'], text);
  const four = links[1][1];

  const context = await browser.newContext({ bypassCSP: true, locale: 'es-EC' });
  const page = await context.newPage();
  await page.goto(four);
  assert.equal(await page.isChecked('#score-4'), true, 'the score of the link clicked is chosen');
  assert.match(await page.textContent('main'), new RegExp(number));
  assert.deepEqual(await seriousViolations(page), [], 'rating form');
  await page.check('#score-5');
  await page.fill('#comment', 'Rápido y amable.');
  await Promise.all([page.waitForSelector('#rating-said'), page.click('#rating-form button[type=submit]')]);
  assert.equal((await page.textContent('#rating-said')).trim(), 'Gracias. Su valoración quedó registrada.');
  assert.match(await page.textContent('#rating-given'), /5 · Muy buena/);
  assert.deepEqual(await seriousViolations(page), [], 'rating thanks');
  await context.close();

  // Another link of the same mail, in a browser without JavaScript: rated already.
  const plain = await browser.newContext({ javaScriptEnabled: false, locale: 'es-EC' });
  const again = await plain.newPage();
  await again.goto(links[4][1]);
  assert.match(await again.textContent('#rating-said'), /ya fue valorada/);
  assert.equal(await again.locator('#rating-form').count(), 0);
  await plain.close();

  // The agent reads it on the ticket.
  const shown = await (await fetch(`${baseUrl}/api/v1/agent/tickets/${number}`, {
    headers: { Authorization: `Bearer ${token}` },
  })).json();
  assert.deepEqual([shown.rating.score, shown.rating.comment], [5, 'Rápido y amable.']);
});
