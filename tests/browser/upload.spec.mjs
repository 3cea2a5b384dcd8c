// tests/browser/upload.spec.mjs - the upload page (deploy/www) in headless
// Chromium, against a real stack (nginx + the handler pool) that
// tests/browser/run.sh starts with tests/integration/lib.sh.
//
// A plain node script (no test runner): each case prints PASS/FAIL, the
// last line is "browser: N passed, N failed", the exit status is 0 only
// when every case passed. Screenshots of each end state and the browser's
// console go to OUT_DIR (build/browser/).
//
// Environment (set by run.sh):
//   BASE_URL    http://127.0.0.1:PORT of the stack
//   API_KEY     the stack's key
//   SPOOL       the stack's APP_PATHS__AUDIO_DIR
//   QUEUE       the stack's APP_PATHS__QUEUE_DIR
//   OUT_DIR     where screenshots and logs go
//   MAX_MB      the stack's APP_API__MAX_FILE_SIZE_MB (small, for the 413 case)
//   RETRY_AFTER the stack's APP_API__RETRY_AFTER_S (for the 429 case)
//   CHROMIUM    the browser (default /usr/bin/chromium, Debian's package)
// The stack runs with APP_REDIS__MAX_QUEUE_DEPTH=1, so the 429 case needs
// only one waiting task.

import { chromium } from 'playwright-core';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const FIXTURES = path.join(ROOT, 'tests/fixtures/audio');

function need(name) {
    const v = process.env[name];
    if (!v) {
        console.error(`upload.spec: ${name} is not set (run tests/browser/run.sh)`);
        process.exit(2);
    }
    return v;
}
const BASE_URL = need('BASE_URL');
const API_KEY = need('API_KEY');
const SPOOL = need('SPOOL');
const QUEUE = need('QUEUE');
const OUT_DIR = need('OUT_DIR');
const MAX_MB = Number(need('MAX_MB'));
const RETRY_AFTER = need('RETRY_AFTER');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const WAIT_MS = 15000; // any single wait for the page
const HTTP_TIMEOUT_MS = 10000; // any request from node

// ---- small helpers ---------------------------------------------------------

class Fail extends Error {}
function check(cond, msg) {
    if (!cond) throw new Fail(msg);
}
function eq(actual, expected, what) {
    check(JSON.stringify(actual) === JSON.stringify(expected),
        `${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Resolves with p, or rejects after ms (for cleanup steps that must not hang).
function within(p, ms, what) {
    let t;
    return Promise.race([
        p.finally(() => clearTimeout(t)),
        new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: no answer in ${ms} ms`)), ms); }),
    ]);
}

async function api(pathname, key = API_KEY) {
    const r = await fetch(BASE_URL + pathname, {
        headers: key ? { 'X-API-Key': key } : {},
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    const text = await r.text();
    let body = null;
    try { body = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, body, text };
}

// Task directories in the spool (names that are UUIDs).
async function spoolTasks() {
    const names = await fs.readdir(SPOOL).catch(() => []);
    return names.filter((n) => UUID_RE.test(n)).sort();
}

// What a worker does (see fcgi_upload/taskstore_fs.c): claim the queue
// entry with one rename, then replace task.json atomically with a new status.
async function workerClaim(id) {
    await fs.rename(path.join(QUEUE, 'pending', `${id}.json`), path.join(QUEUE, 'claimed', `${id}.json`));
}
async function workerSetStatus(id, status) {
    const dir = path.join(SPOOL, id);
    const rec = JSON.parse(await fs.readFile(path.join(dir, 'task.json'), 'utf8'));
    rec.status = status;
    const tmp = path.join(dir, '.task.json.browser-test.tmp');
    await fs.writeFile(tmp, JSON.stringify(rec), { mode: 0o600 });
    await fs.rename(tmp, path.join(dir, 'task.json'));
}
async function workerDone(id) {
    await fs.rm(path.join(QUEUE, 'claimed', `${id}.json`), { force: true });
}

// ---- cases -----------------------------------------------------------------

const results = [];
let page = null;
let shotN = 0;

async function shot(name) {
    shotN += 1;
    const file = path.join(OUT_DIR, `${String(shotN).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: WAIT_MS });
    return file;
}

async function runCase(name, fn) {
    const t0 = Date.now();
    try {
        await fn();
        results.push({ name, ok: true });
        console.log(`PASS browser: ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    } catch (e) {
        results.push({ name, ok: false });
        console.log(`    FAIL: ${e instanceof Fail ? e.message : (e && e.stack) || e}`);
        if (page) {
            const f = path.join(OUT_DIR, `FAILED-${name.replace(/[^a-z0-9]+/gi, '-')}.png`);
            await page.screenshot({ path: f, fullPage: true, timeout: 5000 }).catch(() => {});
            const msg = await page.evaluate(() => {
                const g = (id) => document.getElementById(id);
                return `message: ${g('message').hidden ? '(hidden)' : g('message-text').textContent} | ` +
                    `${g('message-detail').textContent} | progress: ${g('progress-text').textContent}`;
            }).catch(() => '');
            if (msg) console.log(`      page: ${msg}`);
            console.log(`      screenshot: ${path.relative(ROOT, f)}`);
        }
        console.log(`FAIL browser: ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    }
}

const text = (sel) => page.locator(sel).textContent({ timeout: WAIT_MS });

// Pick FILE in the file input and press Upload.
async function uploadFile(file) {
    await page.setInputFiles('#file', file, { timeout: WAIT_MS });
    await page.click('#upload-button', { timeout: WAIT_MS });
}

// Wait for the message box to show a text matching re; returns title and detail.
async function waitMessage(re) {
    await page.locator('#message-text').filter({ hasText: re }).waitFor({ timeout: WAIT_MS });
    return { title: await text('#message-text'), detail: await text('#message-detail') };
}

// Wait until the upload finished (button enabled again).
async function waitIdle() {
    await page.locator('#upload-button:not([disabled])').waitFor({ timeout: WAIT_MS });
}

async function waitTaskId() {
    await page.locator('#task-id').filter({ hasText: UUID_RE }).waitFor({ timeout: WAIT_MS });
    return (await text('#task-id')).trim();
}

async function main() {
    await fs.mkdir(OUT_DIR, { recursive: true });
    const tone = await fs.readFile(path.join(FIXTURES, 'tone.wav'));
    const toneSha = sha256(tone);
    const consoleLog = [];
    const pageErrors = [];
    const statusRequests = [];

    // launchServer rather than launch: it gives the browser's PID, written
    // down so run.sh can stop exactly that process if this script is killed.
    // Playwright gives each launch a fresh temporary user-data-dir (under
    // TMPDIR, which run.sh points into the harness's temp directory).
    const server = await chromium.launchServer({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        timeout: 60000,
    });
    const pidFile = path.join(OUT_DIR, 'chromium.pid');
    await fs.writeFile(pidFile, `${server.process().pid}\n`);
    let browser = null;
    try {
        browser = await chromium.connect(server.wsEndpoint(), { timeout: 30000 });
        console.log(`browser: ${browser.version()} (${CHROMIUM}, pid ${server.process().pid})`);
        const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
        page = await context.newPage();
        page.setDefaultTimeout(WAIT_MS);
        page.on('console', (m) => consoleLog.push(`[${m.type()}] ${m.text()}`));
        page.on('pageerror', (e) => { pageErrors.push(String(e)); consoleLog.push(`[pageerror] ${e}`); });
        const uploads = [];
        page.on('request', (r) => {
            if (r.url().includes('/v1/status/')) statusRequests.push(Date.now());
            if (r.url().endsWith('/v1/process')) uploads.push(r.method());
        });

        await runCase('the page loads, every control has a label', async () => {
            const r = await page.goto(`${BASE_URL}/`, { timeout: WAIT_MS });
            eq(r.status(), 200, 'GET /');
            check((await page.title()).includes('Upload'), `title: ${await page.title()}`);
            await page.locator('#service').filter({ hasText: /Service is up/ }).waitFor();
            const unlabeled = await page.evaluate(() => [...document.querySelectorAll('input, select, button, progress')]
                .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') &&
                    !e.getAttribute('aria-labelledby') && !(e.tagName === 'BUTTON' && e.textContent.trim()))
                .map((e) => e.id || e.name || e.outerHTML.slice(0, 60)));
            eq(unlabeled, [], 'controls without an accessible name');
            // only our own origin: no CDN, no other host
            const foreign = await page.evaluate(() => performance.getEntriesByType('resource')
                .map((e) => e.name).filter((u) => !u.startsWith(location.origin)));
            eq(foreign, [], 'resources from another origin');
        });

        await runCase('checks before sending: no key, no file', async () => {
            await page.click('#upload-button');
            await waitMessage(/Enter your API key/);
            eq(await page.evaluate(() => document.activeElement.id), 'api-key', 'focus');
            await page.fill('#api-key', API_KEY);
            await page.click('#upload-button');
            await waitMessage(/Choose an audio file first/);
            eq(uploads, [], 'uploads sent');
        });

        await runCase('a wrong key shows the bad-key message (401)', async () => {
            await page.fill('#api-key', 'f'.repeat(64));
            await uploadFile(path.join(FIXTURES, 'tone.wav'));
            const m = await waitMessage(/API key was not accepted/);
            check(/HTTP 401 UNAUTHORIZED/.test(m.detail), `detail: ${m.detail}`);
            await waitIdle();
            check(await page.locator('#result').isHidden(), 'no task is shown');
            eq(await page.getAttribute('#api-key', 'aria-invalid'), 'true', 'key field marked invalid');
            eq(await spoolTasks(), [], 'spool after a refused key');
            await shot('bad-key');
        });

        let taskId = null;
        await runCase('tone.wav: progress, task id and status; the task exists on the server', async () => {
            await page.fill('#api-key', API_KEY);
            await page.check('#remember-key');
            await page.check('input[name="features"][value="raw_transcript"]');
            await page.selectOption('#asr-backend', 'chunkformer');
            await page.check('#enable-diarization');
            await page.check('#enable-vad');
            await page.fill('#vad-threshold', '0.4');
            await uploadFile(path.join(FIXTURES, 'tone.wav'));
            taskId = await waitTaskId();
            await page.locator('#task-status').filter({ hasText: /\S/ }).waitFor();
            eq((await text('#task-status')).trim(), 'PENDING', 'status shown');
            await page.locator('#message-text').filter({ hasText: /Upload accepted/ }).waitFor();
            eq(await page.evaluate(() => {
                const p = document.getElementById('progress');
                return p.value === p.max && p.max > 0;
            }), true, 'progress bar full');
            eq((await text('#task-sha256')).trim(), toneSha, 'SHA-256 shown');
            eq((await text('#task-mime')).trim(), 'audio/x-wav', 'type shown');
            // the page polls: a status request and a "last checked" note
            await page.locator('#poll-info').filter({ hasText: /last checked/ }).waitFor();
            check(statusRequests.length >= 1, 'the page did not poll /v1/status');

            // the server knows the task, with the options from the form
            const st = await api(`/v1/status/${taskId}`);
            eq(st.status, 200, `GET /v1/status/${taskId}`);
            eq(st.body.task_id, taskId, 'task_id');
            eq(st.body.status, 'PENDING', 'status');
            eq(st.body.sha256, toneSha, 'sha256 in the record');
            eq(st.body.size_bytes, tone.length, 'size_bytes');
            eq([...st.body.features].sort(), ['clean_transcript', 'raw_transcript'], 'features');
            eq(st.body.asr_backend, 'chunkformer', 'asr_backend');
            eq(st.body.enable_diarization, true, 'enable_diarization');
            eq(st.body.enable_vad, true, 'enable_vad');
            eq(st.body.vad_threshold, 0.4, 'vad_threshold');
            eq(st.body.original_filename, 'tone.wav', 'original_filename');
            // and the bytes on disk are the fixture's
            const stored = await fs.readFile(path.join(SPOOL, taskId, 'raw.wav'));
            eq(sha256(stored), toneSha, 'stored file hash');
            await fs.access(path.join(QUEUE, 'pending', `${taskId}.json`));
            await shot('accepted');
        });

        await runCase('the status follows the worker to a final status, then polling stops', async () => {
            check(taskId, 'no task from the previous case');
            await workerClaim(taskId);
            await workerSetStatus(taskId, 'PROCESSING');
            await page.locator('#task-status').filter({ hasText: /^PROCESSING$/ }).waitFor();
            await workerSetStatus(taskId, 'COMPLETE');
            await page.locator('#task-status').filter({ hasText: /^COMPLETE$/ }).waitFor();
            await page.locator('#poll-info').filter({ hasText: /final/ }).waitFor();
            const before = statusRequests.length;
            await sleep(5000); // more than two poll intervals
            eq(statusRequests.length, before, 'status requests after the final status');
            await shot('completed');
            await workerDone(taskId);
        });

        await runCase('the key is remembered for the tab (sessionStorage)', async () => {
            await page.reload({ timeout: WAIT_MS });
            await page.locator('#service').filter({ hasText: /Service is up/ }).waitFor();
            eq(await page.inputValue('#api-key'), API_KEY, 'key after reload');
            eq(await page.isChecked('#remember-key'), true, 'remember box');
        });

        await runCase('a text file named .wav shows the wrong-type message (415)', async () => {
            const before = await spoolTasks();
            await uploadFile(path.join(FIXTURES, 'not-audio.wav'));
            const m = await waitMessage(/not an audio format this service accepts/);
            check(/not-audio\.wav/.test(m.title), `title names the file: ${m.title}`);
            check(/HTTP 415 INVALID_FILE_FORMAT/.test(m.detail), `detail: ${m.detail}`);
            await waitIdle();
            check(await page.locator('#result').isHidden(), 'no task is shown');
            eq(await spoolTasks(), before, 'spool after a 415');
            await shot('not-audio');
        });

        // 1.5 x the limit is refused while it streams (the file part passes
        // the limit); 8 x is over the body limit (file limit + 1 MB of form
        // overhead) and refused from Content-Length before a body byte is
        // read, while the browser is still sending: nginx's lingering close
        // lets the answer reach the page instead of a connection reset.
        for (const [label, factor] of [['while streaming', 1.5], ['from Content-Length', 8]]) {
            await runCase(`a file over ${MAX_MB} MB shows the too-large message with the limit (413, ${label})`, async () => {
                // a WAV header, then filler: audio to libmagic, too big
                const big = path.join(OUT_DIR, 'too-large.wav');
                const bytes = Buffer.concat([tone.subarray(0, 44), Buffer.alloc(Math.round(factor * MAX_MB * 1024 * 1024), 7)]);
                await fs.writeFile(big, bytes);
                const before = await spoolTasks();
                await uploadFile(big);
                const m = await waitMessage(/too large/);
                check(m.title.includes(`up to ${MAX_MB} MB`), `the limit is not in the message: ${m.title}`);
                check(/HTTP 413 FILE_TOO_LARGE/.test(m.detail), `detail: ${m.detail}`);
                await waitIdle();
                eq(await spoolTasks(), before, 'spool after a 413');
                if (factor > 2) await shot('too-large');
                await fs.rm(big, { force: true });
            });
        }

        await runCase('progress moves during a slow upload; Cancel stops it and nothing is kept', async () => {
            // DevTools network throttling slows the upload to ~256 KB/s, so a
            // 900 KB file takes a few seconds: the bar is seen part-way.
            const cdp = await page.context().newCDPSession(page);
            await cdp.send('Network.enable');
            await cdp.send('Network.emulateNetworkConditions', {
                offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 256 * 1024,
            });
            const slow = path.join(OUT_DIR, 'slow.wav');
            try {
                await fs.writeFile(slow, Buffer.concat([tone.subarray(0, 44), Buffer.alloc(900 * 1024, 7)]));
                const before = await spoolTasks();
                await uploadFile(slow);
                await page.locator('#progress-text').filter({ hasText: /Sending: .* \((?:[1-8]\d|9[0-4])%\)/ }).waitFor();
                const part = await page.evaluate(() => {
                    const p = document.getElementById('progress');
                    return p.value / p.max;
                });
                check(part > 0 && part < 1, `progress bar at ${part}`);
                check(await page.isVisible('#cancel-button'), 'Cancel button shown during the upload');
                await shot('uploading');
                await page.click('#cancel-button');
                await waitMessage(/upload was cancelled/);
                await waitIdle();
                check(await page.isHidden('#cancel-button'), 'Cancel button hidden after');
                let now = null;
                for (let i = 0; i < 100; i++) {
                    now = await spoolTasks();
                    if (JSON.stringify(now) === JSON.stringify(before)) break;
                    await sleep(100);
                }
                eq(now, before, 'spool 10 s after the cancelled upload');
            } finally {
                await cdp.send('Network.emulateNetworkConditions', {
                    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
                }).catch(() => {});
                await cdp.detach().catch(() => {});
                await fs.rm(slow, { force: true });
            }
        });

        await runCase('a dropped file is uploaded; a full queue shows when to retry (429)', async () => {
            // drop tone.wav on the drop zone (a real drop event with a File)
            const dt = await page.evaluateHandle((b64) => {
                const bin = atob(b64);
                const u8 = new Uint8Array(bin.length);
                for (let i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
                const d = new DataTransfer();
                d.items.add(new File([u8], 'dropped-tone.wav', { type: 'audio/wav' }));
                return d;
            }, tone.toString('base64'));
            await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer: dt });
            await page.locator('#file-info').filter({ hasText: /dropped-tone\.wav/ }).waitFor();
            await page.click('#upload-button');
            const id = await waitTaskId();
            check(id !== taskId, 'a new task id');
            const st = await api(`/v1/status/${id}`);
            eq(st.status, 200, 'the dropped file\'s task exists');
            eq(st.body.original_filename, 'dropped-tone.wav', 'original_filename');
            await waitIdle();
            // the queue (depth 1) now holds that task: the next upload is refused
            await page.click('#upload-button');
            const m = await waitMessage(/queue is full/);
            check(m.title.includes(`in ${RETRY_AFTER} seconds`), `no retry time in: ${m.title}`);
            check(/HTTP 429 QUEUE_FULL/.test(m.detail) && m.detail.includes(`Retry-After ${RETRY_AFTER}`),
                `detail: ${m.detail}`);
            await waitIdle();
            await shot('queue-full');
        });

        await runCase('every error code of the API has its own sentence', async () => {
            // the codes come from the C table, so a new one needs a message here
            const h = await fs.readFile(path.join(ROOT, 'common/api_errors.h'), 'utf8');
            const rows = [...h.matchAll(/XX\((\w+),\s*(\d+),\s*("(?:[^"\\]|\\.)*")\)/g)]
                .map((m) => ({ code: m[1], status: Number(m[2]), detail: JSON.parse(m[3]) }));
            check(rows.length >= 12, `found only ${rows.length} rows in api_errors.h`);
            const out = await page.evaluate((rows) => {
                const F = window.FcgiUpload;
                const info = { fileName: 'a.wav', fileSize: 123, retryAfter: '30', requestId: 'rid-1', phase: 'upload' };
                return {
                    rows: rows.map((r) => ({ ...r, d: F.describeError(r.status, { detail: r.detail, error_code: r.code }, info) })),
                    unknown: F.describeError(418, { detail: 'Some new problem', error_code: 'NEW_CODE' }, {}),
                    html413: F.describeError(413, null, { fileName: 'a.wav' }),
                    html502: F.describeError(502, null, {}),
                    abort: F.describeTransportError('abort', {}),
                    cut: F.describeTransportError('network', { sent: 1000, total: 5000 }),
                    net: F.describeTransportError('network', {}),
                    timeout: F.describeTransportError('timeout', {}),
                };
            }, rows);
            const titles = new Set();
            for (const r of out.rows) {
                check(r.d.known, `${r.code}: only the fallback message (${r.d.title})`);
                check(r.d.title && r.d.title !== r.detail, `${r.code}: no sentence of its own`);
                check(!titles.has(r.d.title), `${r.code}: same sentence as another code`);
                titles.add(r.d.title);
                check(r.d.detail.includes(`HTTP ${r.status} ${r.code}`), `${r.code}: detail ${r.d.detail}`);
            }
            check(out.unknown.title.includes('Some new problem') && !out.unknown.known, `unknown code: ${out.unknown.title}`);
            check(/too large/.test(out.html413.title), `413 without JSON: ${out.html413.title}`);
            check(/could not get an answer/.test(out.html502.title), `502: ${out.html502.title}`);
            check(/cancelled/.test(out.abort.title), `abort: ${out.abort.title}`);
            check(/1000 bytes of 4\.9 KB/.test(out.cut.title), `cut off: ${out.cut.title}`);
            check(/Could not reach the server/.test(out.net.title), `network: ${out.net.title}`);
            check(/did not answer in time/.test(out.timeout.title), `timeout: ${out.timeout.title}`);
        });

        await runCase('no script errors on the page', async () => {
            eq(pageErrors, [], 'uncaught errors');
            // the refused requests are logged by Chromium as failed resources;
            // any other console error is the page's
            const other = consoleLog.filter((l) => l.startsWith('[error]') && !/Failed to load resource/.test(l));
            eq(other, [], 'console errors');
        });
    } finally {
        await fs.writeFile(path.join(OUT_DIR, 'console.log'), consoleLog.join('\n') + '\n').catch(() => {});
        if (browser) await within(browser.close(), 10000, 'browser.close').catch((e) => console.error(String(e)));
        await within(server.close(), 10000, 'server.close').catch(async (e) => {
            console.error(`${e}: killing the browser (pid ${server.process().pid})`);
            await server.kill().catch(() => {});
        });
        // chromium.pid stays: run.sh waits for the browser's last helper
        // processes (its process group) to exit, then removes the file.
    }
}

let crashed = false;
try {
    await main();
} catch (e) {
    crashed = true;
    console.log(`    FAIL: ${(e && e.stack) || e}`);
}
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed + (crashed ? 1 : 0);
for (const r of results) if (!r.ok) console.log(`   failed: ${r.name}`);
console.log(`screenshots: ${path.relative(ROOT, OUT_DIR) || OUT_DIR}/`);
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
