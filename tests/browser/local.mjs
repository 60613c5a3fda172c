// What the browser suites share: the local server on a fresh data folder, headless Chromium,
// and axe-core. Needs VENTANILLA_LOCAL (the ventanilla-local binary) and CHROMIUM, which
// infra/test.sh provides.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Starts ventanilla-local on free loopback ports and Chromium; `stop()` ends both. */
export async function startLocal() {
  const dataDir = mkdtempSync(join(tmpdir(), 'ventanilla-browser-'));
  const binary = process.env.VENTANILLA_LOCAL;
  assert.ok(binary, 'VENTANILLA_LOCAL names the ventanilla-local binary');
  const server = spawn(
    binary,
    ['--addr', '127.0.0.1:0', '--smtp-addr', '127.0.0.1:0', '--data-dir', dataDir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [baseUrl, smtp] = await new Promise((resolve, reject) => {
    let seen = '';
    server.stdout.on('data', (chunk) => {
      seen += chunk;
      const http = seen.match(/listening on (http:\/\/\S+)/);
      const mail = seen.match(/smtp:\/\/(\S+):(\d+)/);
      if (http && mail) resolve([http[1], { host: mail[1], port: Number(mail[2]) }]);
    });
    server.on('exit', (code) => reject(new Error(`ventanilla-local exited with ${code}`)));
    setTimeout(() => reject(new Error('ventanilla-local did not start')), 30_000);
  });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    baseUrl,
    dataDir,
    browser,
    /** One SMTP conversation with the local support address; the server's last answer. */
    sendMail(from, to, raw) {
      return new Promise((resolve, reject) => {
        const socket = connect(smtp);
        const commands = [
          'EHLO prueba.example.com', `MAIL FROM:<${from}>`, `RCPT TO:<${to}>`, 'DATA',
          raw.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..') + '\r\n.', 'QUIT',
        ];
        let buffer = '';
        let last = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk) => {
          buffer += chunk;
          // A reply is complete at a line "NNN text" (no hyphen after the code).
          while (/^\d{3} .*\r\n/m.test(buffer)) {
            const end = buffer.search(/^\d{3} .*\r\n/m);
            const line = buffer.slice(end).split('\r\n')[0];
            buffer = buffer.slice(end + line.length + 2);
            if (/^[45]/.test(line)) { socket.destroy(); reject(new Error(line)); return; }
            if (commands.length === 1) last = line;
            const next = commands.shift();
            if (next === undefined) { socket.end(); resolve(last); return; }
            socket.write(next + '\r\n');
          }
        });
        socket.on('error', reject);
      });
    },
    /** `ventanilla-local agent add …` on the same data folder; returns the token. */
    addAgent(agency, role, name) {
      const out = execFileSync(binary, [
        'agent', 'add', '--data-dir', dataDir, '--agency', agency, '--role', role, '--name', name,
      ], { encoding: 'utf8' });
      return out.trim().split('\n').pop().trim();
    },
    async stop() {
      await browser.close();
      server.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Serious or critical axe-core violations on the page, one line each. */
export async function seriousViolations(page) {
  await page.addScriptTag({ content: AXE_SOURCE });
  const results = await page.evaluate(() => window.axe.run());
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`);
}
