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
  await Promise.all([page.waitForURL('**/api/v1/tickets**'), page.click('button[type=submit]')]);
  const number = (await page.textContent('#ticket-number')).trim();
  assert.match(number, /^MDT-TEC-\d{4}-\d{5}$/);
  return { context, page, number };
}

test('a citizen opens a ticket with a screenshot and follows it from the mail link', async () => {
  const email = 'maria.js@example.com';
  const { context, page, number } = await openTicket({ javaScriptEnabled: true, email });
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
  await Promise.all([page.waitForURL('**/api/v1/tickets**'), page.click('button[type=submit]')]);
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
  const sent = page.waitForURL('**/api/v1/tickets**');
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
  // Back on the form, it can be sent again.
  await page.goBack();
  await page.waitForSelector('button[type=submit]:not([disabled])');
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
  await Promise.all([page.waitForURL('**/api/v1/tickets**'), page.click('button[type=submit]')]);
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
