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

async function openTicketByApi(subject, description) {
  const response = await fetch(`${local.baseUrl}/api/v1/tickets`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      agency: 'MDT', category: 'queja', nationality: 'EC', id_type: 'cedula',
      id_number: '1710034065', full_name: 'Luis Tipán', email: 'luis@example.com',
      gender: 'masculino', phone: '0991234567', user_type: 'ciudadano', subject, description,
    }),
  });
  assert.equal(response.status, 201);
  return (await response.json()).number;
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
  await page.goto(`${local.baseUrl}/agente`);
  await page.fill('#token', token);
  await page.click('#form-ingreso button[type=submit]');
  await page.waitForSelector(`text=${number}`);
  assert.match(await page.textContent('#quien'), /Ana Agente · MDT · supervisor/);
  assert.deepEqual(await seriousViolations(page), [], 'queue accessibility');

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

  await page.click(`text=${number}`);
  await page.waitForSelector('#t-hilo li');
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
  assert.match(await page.textContent('#t-datos'), /waiting_on_citizen/);
  assert.match(await page.textContent('#t-datos'), /suspendido \(esperando al ciudadano\)/, 'the clock stopped');
  assert.deepEqual(await seriousViolations(page), [], 'ticket accessibility');

  const mails = await outbox();
  const reply = mails.find((m) => m.subject.includes('Re:'));
  assert.ok(reply, 'the answer went out by mail');
  assert.equal(reply.to.value[0].address, 'luis@example.com');
  assert.ok(reply.text.includes('Su trámite fue reasignado'));
  for (const mail of mails) assert.ok(!mail.text.includes('talento humano'), 'a note never leaves');
  await context.close();
});

test('a wrong token is refused and the console stays signed out', async () => {
  const context = await local.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${local.baseUrl}/agente`);
  await page.fill('#token', 'vnt_' + 'A'.repeat(43));
  await page.click('#form-ingreso button[type=submit]');
  await page.waitForFunction(() => document.getElementById('aviso').textContent.length > 0);
  assert.match(await page.textContent('#aviso'), /Token no válido/);
  assert.equal(await page.isVisible('#ingreso'), true);
  assert.equal(await page.isVisible('#cola'), false);
  await context.close();
});
