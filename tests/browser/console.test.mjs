// The console in a real browser (Debian's chromium, headless, driven by playwright-core): the
// conversation list, a conversation's Gantt bars and DAG against the API and the known plans,
// redriving a dead letter until its conversation is answered, pending approvals approved and
// rejected with the page's buttons (the answers arriving live), and a new question appearing in
// the list live (server-sent events, no reload).
//
// Environment:
//   CONSOLE_URL     the console's base URL (http://127.0.0.1:PORT/)
//   EXPECTED_FILE   JSON the harness wrote (or EXPECTED_JSON, the same inline):
//                   {"conversations": [{"id", "question", "steps": [{"id", "tool", "dependsOn"}]}],
//                    "deadLetter": {"address", "key"},
//                    "approvals": [{"conversationId", "question", "turn", "step", "tool",
//                                   "decide": "approve" | "reject"}],
//                    "newQuestion": "..."}
//   SCREENSHOT      where to save a PNG of a conversation page (default: none)
//   CHROMIUM        the browser (default /usr/bin/chromium)
// Exit: 0 pass, 1 fail (with the failing step), 77 no browser (or no playwright-core).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SKIP = 77;
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const base = (process.env.CONSOLE_URL || '').replace(/\/?$/, '/');
const screenshot = process.env.SCREENSHOT || '';

function skip(why) { console.log(`skipped: ${why}`); process.exit(SKIP); }
class Failure extends Error {}
function check(cond, msg) { if (!cond) throw new Failure(msg); }
const same = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
const show = (a) => JSON.stringify([...a].sort());

if (!process.env.CONSOLE_URL) { console.error('FAIL: CONSOLE_URL is not set'); process.exit(1); }
const expected = JSON.parse(process.env.EXPECTED_JSON ||
  (process.env.EXPECTED_FILE ? fs.readFileSync(process.env.EXPECTED_FILE, 'utf8') : '{}'));
if (!fs.existsSync(chromiumPath)) skip(`no browser at ${chromiumPath}`);
let chromium;
try { ({ chromium } = await import('playwright-core')); }
catch (e) { skip(`playwright-core is not installed (npm ci in tests/browser): ${e.message}`); }

// The test's own view of the API, to compare the page with.
async function api(p, init) {
  const res = await fetch(new URL(p, base), init);
  const body = await res.json();
  check(res.ok, `${init?.method || 'GET'} ${p}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

// Polls fn (async, in this process) until it returns a truthy value or `ms` pass.
async function waitFor(what, fn, ms = 15000) {
  const until = Date.now() + ms;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) {
      if (e instanceof Failure) throw e; // a definite failure, not "not yet"
      last = e.message;
    }
    if (Date.now() > until) throw new Failure(`timed out after ${ms} ms waiting for ${what}` +
      (last ? ` (last: ${typeof last === 'string' ? last : JSON.stringify(last)})` : ''));
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Dependencies of a step of the harness's known plan.
const knownEdges = (steps) => steps.flatMap((s) => (s.dependsOn || []).map((d) => `${d}->${s.id}`));

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'eventide-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    timeout: 60000,
  });
} catch (e) {
  fs.rmSync(profile, { recursive: true, force: true });
  skip(`chromium at ${chromiumPath} does not start: ${e.message.split('\n')[0]}`);
}

// Every `record` message the page's EventSource gets, kept in window.__records: proof that what
// the page shows after a click came through the stream. (Only wraps the constructor; the page's
// own listeners are untouched.)
await context.addInitScript(() => {
  const Native = window.EventSource;
  if (!Native) return;
  window.__records = [];
  window.EventSource = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('record', (e) => {
        try { window.__records.push(JSON.parse(e.data)); } catch (err) { /* not JSON */ }
      });
    }
  };
});

const pageErrors = [];
let current = 'start';
async function step(name, fn) {
  current = name;
  const t0 = Date.now();
  await fn();
  console.log(`ok: ${name} (${Date.now() - t0} ms)`);
}

let rc = 0;
try {
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // (Chromium logs every 4xx answer as an error: the refused question below is one on purpose.)
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
  });
  // Rows of the list as the page shows them.
  const listRows = () => page.$$eval('[data-testid="conversation-row"]', (rows) => rows.map((r) => ({
    id: r.getAttribute('data-id'), state: r.getAttribute('data-state'),
    question: r.querySelector('[data-testid="conversation-link"]').textContent,
    markup: r.querySelectorAll('img, b, script, i').length,
  })));

  await step('the conversation list shows the known conversations', async () => {
    await page.goto(base + '#/');
    const known = expected.conversations || [];
    check(known.length > 0, 'the expected data names no conversation');
    const rows = await waitFor('every known conversation in the list', async () => {
      const r = await listRows();
      return known.every((k) => r.some((x) => x.id === k.id)) && r;
    });
    for (const k of known) {
      const row = rows.find((x) => x.id === k.id);
      check(row.question === k.question, `row ${k.id} shows question ${JSON.stringify(row.question)}, expected ${JSON.stringify(k.question)}`);
      check(row.markup === 0, `row ${k.id}: text from the API became markup`);
    }
    const title = await page.title();
    check(title === 'Eventide console', `the page title changed to ${JSON.stringify(title)} (injected script?)`);
    await waitFor('the live stream to connect', () => page.getAttribute('[data-testid="live"]', 'data-state').then((s) => s === 'live'));
  });

  // Every known conversation with steps: the page's Gantt bars and DAG against the API's view
  // of it (fetched here) and the harness's known plan. The biggest one is photographed.
  const withSteps = (expected.conversations || []).filter((k) => (k.steps || []).length);
  check(withSteps.length > 0, 'the expected data has no conversation with plan steps');
  // (The photographed one is the biggest answered one: the README shows a plan that worked.)
  const answered = [];
  for (const k of withSteps)
    if ((await api('/api/conversations/' + encodeURIComponent(k.id))).state === 'answered') answered.push(k);
  const biggest = (answered.length ? answered : withSteps)
    .reduce((a, b) => (b.steps.length > a.steps.length ? b : a));
  for (const k of withSteps) {
    await step(`conversation ${k.id}: ${k.steps.length} Gantt bars and DAG nodes, ${knownEdges(k.steps).length} edges`, async () => {
      await page.goto(base + '#/c/' + encodeURIComponent(k.id));
      const conv = await api('/api/conversations/' + encodeURIComponent(k.id));
      const turn = conv.turns[conv.turns.length - 1];
      const sel = `[data-testid="turn"][data-turn="${turn.turn}"]`;
      await waitFor(`the Gantt chart of turn ${turn.turn}`, () =>
        page.$$eval(`${sel} [data-testid="gantt-bar"]`, (b) => b.length).then((n) => n === turn.steps.length));
      const bars = await page.$$eval(`${sel} [data-testid="gantt-bar"]`, (els) => els.map((b) => ({
        step: b.getAttribute('data-step'), status: b.getAttribute('data-status'),
        critical: b.getAttribute('data-critical') === 'true', x: Number(b.getAttribute('x')),
        cls: b.getAttribute('class') })));
      const nodes = await page.$$eval(`${sel} [data-testid="dag-node"]`, (els) => els.map((n) => ({
        step: n.getAttribute('data-step'), depth: Number(n.getAttribute('data-depth')) })));
      const edges = await page.$$eval(`${sel} [data-testid="dag-edge"]`, (els) => els.map((e) =>
        `${e.getAttribute('data-from')}->${e.getAttribute('data-to')}`));

      const apiSteps = turn.steps.map((s) => s.id);
      const apiEdges = turn.steps.flatMap((s) => (s.dependsOn || []).map((d) => `${d}->${s.id}`));
      const knownSteps = k.steps.map((s) => s.id);
      check(same(apiSteps, knownSteps), `the API's steps ${show(apiSteps)} are not the known plan's ${show(knownSteps)}`);
      check(same(apiEdges, knownEdges(k.steps)), `the API's dependencies ${show(apiEdges)} are not the known plan's ${show(knownEdges(k.steps))}`);
      const barSteps = bars.map((b) => b.step);
      check(barSteps.length === new Set(barSteps).size, `a step has two Gantt bars: ${show(barSteps)}`);
      check(same(barSteps, apiSteps), `Gantt bars ${show(barSteps)} != steps ${show(apiSteps)}`);
      check(same(nodes.map((n) => n.step), apiSteps), `DAG nodes ${show(nodes.map((n) => n.step))} != steps ${show(apiSteps)}`);
      check(edges.length === apiEdges.length && same(edges, apiEdges), `DAG edges ${show(edges)} != dependencies ${show(apiEdges)}`);
      for (const s of turn.steps) {
        const b = bars.find((x) => x.step === s.id);
        check(b.status === s.status && b.cls.split(' ').includes(s.status), `bar ${s.id} shows ${b.status} (${b.cls}), the API says ${s.status}`);
      }
      const critical = bars.filter((b) => b.critical).map((b) => b.step);
      const path = turn.criticalPath || [];
      check(same(critical, path), `critical bars ${show(critical)} != critical path ${show(path)}`);
      check(bars.filter((b) => b.critical).every((b) => b.cls.split(' ').includes('critical')), 'a critical bar lacks the critical class');
      // The layout follows the plan: a step starts no earlier and sits one layer right of what it needs.
      for (const e of apiEdges) {
        const [from, to] = e.split('->');
        const bf = bars.find((b) => b.step === from), bt = bars.find((b) => b.step === to);
        check(bt.x >= bf.x, `bar ${to} starts before the bar of its dependency ${from}`);
        const nf = nodes.find((n) => n.step === from), nt = nodes.find((n) => n.step === to);
        check(nt.depth > nf.depth, `DAG node ${to} (layer ${nt.depth}) is not right of ${from} (layer ${nf.depth})`);
      }
      // The raw events: as many rows as the API has, each cause link pointing at a row here.
      const events = await api('/api/conversations/' + encodeURIComponent(k.id) + '/events');
      await waitFor('the events table', () => page.$$eval('[data-testid="event-row"]', (r) => r.length).then((n) => n === events.events.length));
      const dangling = await page.$$eval('[data-testid="cause-link"]', (links) => links.filter((a) =>
        ![...document.querySelectorAll('[data-testid="event-row"]')].some((r) => r.getAttribute('data-event-id') === a.getAttribute('data-target'))).length);
      check(dangling === 0, `${dangling} causation links lead nowhere`);
      if (k === biggest && screenshot) {
        await page.screenshot({ path: screenshot, fullPage: true });
        console.log(`screenshot: ${screenshot}`);
      }
    });
  }

  if (expected.deadLetter) {
    const dl = expected.deadLetter;
    await step(`redrive dead letter ${dl.address}: conversation ${dl.key} gets answered`, async () => {
      await page.goto(base + '#/dead-letters');
      const row = `[data-testid="dead-letter"][data-address="${dl.address}"]`;
      await page.waitForSelector(row, { timeout: 15000 });
      const redriven = await page.getAttribute(row, 'data-redriven');
      check(redriven === 'false', `dead letter ${dl.address} was redriven before the test (to ${await page.textContent(`${row} [data-testid="redriven-to"]`)})`);
      await page.click(`${row} [data-testid="redrive"]`);
      await waitFor('the redrive result', async () => {
        const outcome = await page.getAttribute('[data-testid="redrive-result"]', 'data-outcome');
        if (outcome === 'error') throw new Failure(`redrive failed: ${await page.textContent('[data-testid="redrive-result"]')}`);
        return outcome === 'ok';
      });
      console.log(`  ${await page.textContent('[data-testid="redrive-result"]')}`);
      await waitFor('the dead letter marked redriven', () => page.getAttribute(row, 'data-redriven').then((v) => v === 'true'));
      await page.goto(base + '#/');
      await waitFor(`conversation ${dl.key} answered in the list`, async () => {
        const r = (await listRows()).find((x) => x.id === dl.key);
        if (!r || r.state !== 'answered') throw new Error(r ? `state ${r.state}` : 'no row');
        return true;
      }, 45000);
    });
  }

  // Approvals: #/approvals lists exactly the harness's waiting purchases; on each one's page the
  // Approve or Reject button decides (as the console's default user, who asked), and the page
  // shows, live, the decision and the answer: the approved purchase done, the rejected one's
  // order undone. Then nothing is pending.
  const approvals = expected.approvals || [];
  const approvalRows = () => page.$$eval('[data-testid="approvals-view"] [data-testid="approval"]', (rows) => rows.map((r) => ({
    conversationId: r.getAttribute('data-conversation'), step: r.getAttribute('data-step'),
    turn: r.cells[1].textContent, tool: r.cells[3].textContent,
    link: r.querySelector('a') && r.querySelector('a').getAttribute('href'),
    buttons: [...r.querySelectorAll('button')].map((b) => b.getAttribute('data-testid')) })));
  if (approvals.length) {
    await step(`#/approvals lists the ${approvals.length} pending approvals`, async () => {
      await page.goto(base + '#/');
      await waitFor('the waiting purchases in the list as waiting', async () => {
        const r = await listRows();
        const bad = approvals.map((a) => r.find((x) => x.id === a.conversationId))
          .filter((x, i) => !x || x.state !== 'waiting' || x.question !== approvals[i].question);
        if (bad.length) throw new Error(`rows ${JSON.stringify(bad)}`);
        return true;
      });
      await page.goto(base + '#/approvals');
      const rows = await waitFor(`${approvals.length} approval rows`, async () => {
        const r = await approvalRows();
        return r.length === approvals.length && r;
      });
      const fromApi = (await api('/api/approvals')).approvals;
      check(fromApi.length === approvals.length, `the API lists ${fromApi.length} approvals: ${JSON.stringify(fromApi)}`);
      for (const a of approvals) {
        const row = rows.find((x) => x.conversationId === a.conversationId);
        check(row, `no approval row for conversation ${a.conversationId}: ${JSON.stringify(rows)}`);
        check(row.step === a.step && row.tool === a.tool && row.turn === String(a.turn),
          `approval row of ${a.conversationId}: turn ${row.turn} step ${row.step} tool ${row.tool}, expected turn ${a.turn} step ${a.step} tool ${a.tool}`);
        check(row.link === '#/c/' + encodeURIComponent(a.conversationId), `approval row of ${a.conversationId} links to ${row.link}`);
        check(same(row.buttons, ['approve', 'reject']), `approval row of ${a.conversationId} has buttons ${show(row.buttons)}`);
      }
    });

    for (const a of approvals) {
      const approve = a.decide === 'approve';
      await step(`conversation ${a.conversationId}: ${approve ? 'Approve' : 'Reject'} ${a.step} (${a.tool}), answered live`, async () => {
        await page.goto(base + '#/c/' + encodeURIComponent(a.conversationId));
        const view = '[data-testid="conversation-view"]';
        const turn = `${view} [data-testid="turn"][data-turn="${a.turn}"]`;
        const item = `${turn} [data-testid="approval"][data-step="${a.step}"]`;
        await page.waitForSelector(item, { timeout: 15000 });
        check(await page.getAttribute(view, 'data-state') === 'waiting', `conversation ${a.conversationId} is ${await page.getAttribute(view, 'data-state')}, not waiting`);
        check(await page.getAttribute(item, 'data-decision') === 'pending', `approval ${a.step} is ${await page.getAttribute(item, 'data-decision')}, not pending`);
        const label = await page.textContent(`${item} .mono`);
        check(label === `${a.step} ${a.tool}`, `approval ${a.step} shows ${JSON.stringify(label)}`);
        check(await page.isVisible(`${item} [data-testid="approve"]`) && await page.isVisible(`${item} [data-testid="reject"]`),
          `approval ${a.step} has no Approve and Reject buttons`);
        check(!(await page.$(`${turn} [data-testid="answer"]`)), 'the waiting turn already shows an answer');
        // A reload would lose this mark; the records list shows what came through the stream.
        await page.evaluate(() => { window.__sameDocument = true; window.__records.length = 0; });
        await page.click(`${item} [data-testid="${a.decide}"]`);
        await waitFor('the decision posted', async () => {
          const r = await page.$eval(`${item} [data-testid="decision-result"]`, (e) => ({ text: e.textContent, error: e.classList.contains('error') }))
            .catch(() => ({ text: 'gone' })); // the page already redrew the decided approval
          if (r.error) throw new Failure(`the decision failed: ${r.text}`);
          return r.text && r.text !== '';
        });
        const decided = approve ? 'granted' : 'denied';
        const state = approve ? 'answered' : 'failed';
        const answer = await waitFor(`the turn ${state} with the decision ${decided}, live`, async () => {
          const s = await page.getAttribute(view, 'data-state');
          const d = await page.getAttribute(item, 'data-decision');
          const text = await page.$eval(`${turn} [data-testid="answer"]`, (e) => e.textContent).catch(() => null);
          if (s !== state || d !== decided || !text) throw new Error(`state ${s}, decision ${d}, answer ${JSON.stringify(text)}`);
          return text;
        }, 30000);
        console.log(`  ${answer.split('\n')[0]}`);
        if (approve) {
          check(answer.startsWith('Done: ordered 1 x Nimbus Pro'), `the approved purchase answered ${JSON.stringify(answer)}`);
        } else {
          check(/^I could not complete this request: step s2 \(chargePayment\) was not run: approval denied by [^ ]+/.test(answer),
            `the rejected purchase does not say the approval was denied: ${JSON.stringify(answer)}`);
          check(/Undone: cancelled order o-\d+ \(items back in stock\)/.test(answer),
            `the rejected purchase does not say the order was undone: ${JSON.stringify(answer)}`);
        }
        check(!(await page.$(`${item} button`)), `the decided approval ${a.step} still has buttons`);
        const conv = await api('/api/conversations/' + encodeURIComponent(a.conversationId));
        const t = conv.turns.find((x) => x.turn === a.turn);
        check(conv.state === state && t.answer === answer, `the API says ${conv.state}: ${JSON.stringify(t.answer)}`);
        check(same(t.approvals.map((x) => `${x.step}:${x.decision}`), [`${a.step}:${decided}`]), `the API's approvals ${JSON.stringify(t.approvals)}`);
        const streamed = await page.evaluate((id) => window.__records.filter((r) => r.conversationId === id).map((r) => r.type), a.conversationId);
        const want = approve ? 'ApprovalGranted' : 'ApprovalDenied';
        check(streamed.includes(want) && streamed.includes('FinalAnswerSynthesized'),
          `the stream did not bring ${want} and the answer: ${show(streamed)}`);
        check(await page.evaluate(() => window.__sameDocument === true), 'the page reloaded: the answer did not come live');
      });
    }

    await step('#/approvals shows none pending', async () => {
      await page.goto(base + '#/approvals');
      await waitFor('the empty approvals list', async () => {
        const r = await approvalRows();
        if (r.length) throw new Error(`${r.length} rows`);
        return page.$eval('[data-testid="approvals-view"] tbody', (b) => b.rows.length === 1 && /nothing waits/.test(b.textContent));
      });
      const fromApi = (await api('/api/approvals')).approvals;
      check(fromApi.length === 0, `the API still lists ${JSON.stringify(fromApi)}`);
    });
  }

  await step('a question the server refuses shows its message', async () => {
    await page.goto(base + '#/');
    await page.fill('[data-testid="ask-input"]', 'x'.repeat(4001));
    await page.click('[data-testid="ask-submit"]');
    await waitFor('the error message', () => page.$eval('[data-testid="ask-result"]', (e) =>
      e.classList.contains('error') && e.textContent.length > 4 && e.textContent));
  });

  await step('a new question appears in the list live and gets answered', async () => {
    const question = expected.newQuestion || 'What is 17*3?';
    await page.goto(base + '#/');
    await page.waitForSelector('[data-testid="conversation-row"]');
    // A reload would lose this mark: the row must come through the open stream.
    await page.evaluate(() => { window.__sameDocument = true; });
    const before = new Set((await listRows()).map((r) => r.id));
    await page.fill('[data-testid="ask-input"]', question);
    await page.click('[data-testid="ask-submit"]');
    const id = await waitFor('the POST answer', () => page.$eval('[data-testid="ask-conversation"]', (a) => a.textContent).catch(() => null));
    check(!before.has(id), `conversation ${id} was listed before it was asked`);
    await waitFor(`conversation ${id} in the list`, async () => (await listRows()).some((r) => r.id === id));
    const rows = await listRows();
    check(rows[0].id === id, `the new conversation is not first (newest): ${rows[0].id}`);
    check(rows[0].question === question, `the new row shows ${JSON.stringify(rows[0].question)}`);
    await waitFor(`conversation ${id} answered, live`, async () => {
      const r = (await listRows()).find((x) => x.id === id);
      if (!r || r.state !== 'answered') throw new Error(r ? `state ${r.state}` : 'no row');
      return true;
    }, 45000);
    check(await page.evaluate(() => window.__sameDocument === true), 'the page reloaded: the row did not come live');
  });

  await step('metrics and approvals pages render', async () => {
    await page.goto(base + '#/metrics');
    await page.waitForSelector('[data-testid="tool-latency"]', { timeout: 15000 });
    const m = await api('/api/metrics');
    const tools = await page.$$eval('[data-testid="tool-latency-bar"]', (b) => [...new Set(b.map((x) => x.getAttribute('data-name')))]);
    check(same(tools, Object.keys(m.tools || {})), `tool latency bars ${show(tools)} != tools ${show(Object.keys(m.tools || {}))}`);
    const lag = await page.$$eval('[data-testid="consumer-lag-bar"]', (b) => b.map((x) => x.getAttribute('data-name')));
    check(same(lag, Object.keys(m.consumerLag || {})), `consumer lag bars ${show(lag)} != groups ${show(Object.keys(m.consumerLag || {}))}`);
    await page.goto(base + '#/approvals');
    await page.waitForSelector('[data-testid="approvals-view"] tbody tr', { timeout: 15000 });
    const error = await page.$('[data-testid="error"]');
    check(!error, `the approvals page shows an error: ${error && await error.textContent()}`);
  });

  check(pageErrors.length === 0, `the page logged errors: ${pageErrors.join(' | ')}`);
  console.log('console browser test: ok');
} catch (e) {
  rc = 1;
  console.error(`FAIL: ${current}: ${e instanceof Failure ? e.message : e.stack || e}`);
  if (pageErrors.length) console.error(`page errors: ${pageErrors.join(' | ')}`);
} finally {
  await context.close().catch(() => {});
  fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(rc);
