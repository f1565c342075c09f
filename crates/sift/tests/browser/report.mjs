// Drives Debian's Chromium through playwright-core over a `sift report` page
// and checks what the Rust test (crates/sift/tests/it/report.rs) expects.
//
//   node report.mjs SPEC.json
//
// SPEC: {"report": "/abs/page.html", "steps": [{"op": ..., ...}, ...]}.
// Every step either checks something or records a fact; any failed check,
// console error, page error or dialog makes the script print why and exit 1.
// Environment: SIFT_TEST_PLAYWRIGHT (the playwright-core package folder),
// SIFT_TEST_CHROMIUM (the browser, default /usr/bin/chromium).

import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const require = createRequire(import.meta.url);
const { chromium } = require(join(process.env.SIFT_TEST_PLAYWRIGHT, 'index.js'));

const problems = [];
const facts = {};
function check(ok, message) {
  if (!ok) problems.push(message);
  return ok;
}

const browser = await chromium.launch({
  executablePath: process.env.SIFT_TEST_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // As root in a container, without network: no sandbox, no GPU, nothing
  // that phones home (the machine refuses those connections).
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

let context;
let page;
async function open(fragment = '', options = {}) {
  if (context) await context.close();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: options.dark ? 'dark' : 'light' });
  // Anything that would prove injected markup ran.
  await context.addInitScript(() => {
    window.__pwned = 0;
    const mark = () => { window.__pwned += 1; };
    window.alert = mark; window.confirm = mark; window.prompt = mark;
  });
  page = await context.newPage();
  page.on('console', (msg) => { if (msg.type() === 'error' || msg.type() === 'warning') check(false, `console ${msg.type()}: ${msg.text()}`); });
  page.on('pageerror', (error) => check(false, `page error: ${error.message}`));
  page.on('dialog', async (dialog) => { check(false, `a dialog opened: ${dialog.message()}`); await dialog.dismiss(); });
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith('file:') && !url.startsWith('data:')) check(false, `the page requested ${url}`);
  });
  const url = `file://${spec.report}${fragment ? `#${fragment}` : ''}`;
  await page.goto(url);
  await page.waitForSelector('html[data-ready="true"]', { timeout: 30000 });
}

const text = (selector) => page.locator(selector).first().textContent();
const whyText = () => page.locator('#why-body').innerText();

/** The names on the task list's rendered rows (all rows when the list is short). */
const rowNames = () => page.$$eval('#task-list .row', (rows) => rows.map((r) => r.dataset.name));
/** The names of the tasks drawn one by one in the graph. */
const nodeNames = () => page.$$eval('#graph .node:not(.group)', (nodes) => nodes.map((n) => n.querySelector('title').textContent.split('\n')[0]));

const sorted = (list) => [...list].sort();
const same = (a, b) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));

async function graphNode(name) {
  const all = await page.$$('#graph .node:not(.group)');
  for (const node of all) {
    const title = await node.$eval('title', (t) => t.textContent.split('\n')[0]);
    if (title === name) return node;
  }
  return null;
}

const steps = {
  async open(step) {
    await open(step.fragment || '', step);
  },

  async counts(step) {
    for (const [key, want] of Object.entries(step.expect)) {
      const got = await page.locator(`[data-count="${key}"] dd`).first().textContent().catch(() => null);
      check(got !== null && got.split(' ')[0] === want, `header count ${key}: want ${want}, got ${JSON.stringify(got)}`);
    }
  },

  async title(step) {
    const got = await text('#subtitle');
    for (const want of step.contains) check(got.includes(want), `subtitle ${JSON.stringify(got)} lacks ${JSON.stringify(want)}`);
  },

  async select(step) {
    if (step.via === 'list') {
      await page.fill('#filter-name', step.task);
      // The filter applies after a short debounce, writing the fragment and
      // redrawing the list in one go: wait until the fragment holds it, or
      // the click may land on a row that then moves.
      await page.waitForFunction((n) => new URLSearchParams(location.hash.slice(1)).get('q') === n
        && [...document.querySelectorAll('#task-list .row')].some((r) => r.dataset.name === n), step.task);
      await page.locator('#task-list .row').filter({ has: page.locator(`.name[title="${step.task.replace(/["\\]/g, '\\$&')}"]`) }).first().click();
      // Leave the filter as it was.
      await page.fill('#filter-name', '');
      await page.waitForFunction(() => !new URLSearchParams(location.hash.slice(1)).has('q'));
    } else {
      const node = await graphNode(step.task);
      if (!check(node, `no graph node for ${step.task}`)) return;
      await node.click();
    }
    const why = await whyText();
    for (const want of step.why_contains || []) check(why.includes(want), `why panel of ${step.task} lacks ${JSON.stringify(want)}:\n${why}`);
    const heading = await text('#why-body h3');
    check(heading.includes(step.task), `why heading ${JSON.stringify(heading)} is not ${step.task}`);
    const hash = await page.evaluate(() => location.hash);
    check(new URLSearchParams(hash.slice(1)).get('task') === step.task, `fragment ${hash} does not hold task=${step.task}`);
  },

  async keyboard(step) {
    // Tab into the list, arrow down, and the why panel follows.
    await page.focus('#task-list');
    for (let i = 0; i < step.down; i++) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const heading = await text('#why-body h3');
    check(heading.includes(step.expect), `after ${step.down} × ArrowDown the why panel shows ${JSON.stringify(heading)}, not ${step.expect}`);
    // In the graph: focus the selected node, then → to a dependent.
    if (step.graph_right) {
      await page.locator('#graph .node.selected').focus();
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('Enter');
      const after = await text('#why-body h3');
      const wanted = [].concat(step.graph_right);
      check(wanted.some((w) => after.includes(w)), `→ then Enter in the graph shows ${JSON.stringify(after)}, not one of ${wanted}`);
    }
  },

  async filter(step) {
    await page.fill('#filter-name', step.q || '');
    await page.selectOption('#filter-decision', step.decision || '');
    if (step.result !== undefined) await page.selectOption('#filter-result', step.result);
    // The name filter applies after a debounce; it has when the fragment holds it.
    await page.waitForFunction((q) => (new URLSearchParams(location.hash.slice(1)).get('q') || '') === q, step.q || '');
    await page.waitForTimeout(400);
    if (step.rows) {
      const rows = await rowNames();
      check(same(rows, step.rows), `filter ${JSON.stringify(step)}: list shows ${JSON.stringify(rows)}`);
    }
    if (step.nodes) {
      const nodes = await nodeNames();
      check(same(nodes, step.nodes), `filter ${JSON.stringify(step)}: graph shows ${JSON.stringify(nodes)}`);
    }
    if (step.count) {
      const got = await text('#filter-count');
      check(got.startsWith(step.count), `filter count ${JSON.stringify(got)}, want ${step.count}`);
    }
    const hash = await page.evaluate(() => location.hash);
    if (step.q) check(new URLSearchParams(hash.slice(1)).get('q') === step.q, `fragment ${hash} does not keep q=${step.q}`);
  },

  async fragment(step) {
    // A link to one task, filtered: the page opens on it.
    await open(step.fragment);
    const heading = await text('#why-body h3');
    check(heading.includes(step.task), `opening #${step.fragment} shows ${JSON.stringify(heading)}`);
    check((await page.inputValue('#filter-name')) === (step.q || ''), 'the filter box does not show the fragment\'s q');
    if (step.rows) {
      const rows = await rowNames();
      check(same(rows, step.rows), `#${step.fragment}: list shows ${JSON.stringify(rows)}`);
    }
  },

  async graph(step) {
    const groups = await page.$$eval('#graph .node.group', (n) => n.length);
    const nodes = await page.$$eval('#graph .node:not(.group)', (n) => n.length);
    if (step.grouped !== undefined) check(step.grouped ? groups > 0 && nodes === 0 : groups === 0, `graph: ${groups} groups, ${nodes} nodes (grouped: ${step.grouped})`);
    if (step.nodes !== undefined) check(nodes === step.nodes, `graph draws ${nodes} nodes, want ${step.nodes}`);
    if (step.edges !== undefined) {
      const edges = await page.$$eval('#graph .edges path', (n) => n.length);
      check(edges === step.edges, `graph draws ${edges} edges, want ${step.edges}`);
    }
    if (step.note) check((await text('#graph-note')).includes(step.note), `graph note lacks ${JSON.stringify(step.note)}`);
    // Every interactive part has a label.
    const unlabelled = await page.$$eval('#graph [role="button"], #run-chart [role="button"]', (n) => n.filter((e) => !e.getAttribute('aria-label')).length);
    check(unlabelled === 0, `${unlabelled} interactive graph parts have no aria-label`);
  },

  async panzoom() {
    // The graph's camera is the transform of its one top group.
    const camera = async () => {
      const t = await page.$eval('#graph svg > g', (g) => g.getAttribute('transform'));
      const m = /translate\(([-\d.e]+) ([-\d.e]+)\) scale\(([-\d.e]+)\)/.exec(t || '');
      return m ? { x: Number(m[1]), y: Number(m[2]), k: Number(m[3]) } : null;
    };
    const fitted = await camera();
    if (!check(fitted, 'the graph has no camera transform')) return;
    await page.click('#zoom-in');
    const zoomed = await camera();
    check(zoomed.k > fitted.k * 1.05, `zoom in: scale ${fitted.k} → ${zoomed.k}`);
    await page.click('#zoom-out');
    await page.click('#zoom-out');
    const out = await camera();
    check(out.k < zoomed.k, `zoom out: scale ${zoomed.k} → ${out.k}`);
    // Drag on an empty part of the graph pans it.
    const box = await page.locator('#graph').boundingBox();
    await page.mouse.move(box.x + box.width - 12, box.y + box.height - 12);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width - 92, box.y + box.height - 52, { steps: 8 });
    await page.mouse.up();
    const panned = await camera();
    check(Math.abs(panned.x - out.x - -80) < 2 && Math.abs(panned.y - out.y - -40) < 2,
      `dragging by (-80, -40) moved the view from (${out.x}, ${out.y}) to (${panned.x}, ${panned.y})`);
    // The wheel zooms too; Fit puts everything back in view.
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -300);
    // Give a loaded machine time to deliver the wheel event (the check below says what happened).
    await page.waitForFunction((k) => {
      const m = /scale\(([-\d.e]+)\)/.exec(document.querySelector('#graph svg > g').getAttribute('transform') || '');
      return m && Number(m[1]) > k;
    }, panned.k, { timeout: 5000 }).catch(() => {});
    const wheeled = await camera();
    check(wheeled.k > panned.k, `the wheel did not zoom in: ${panned.k} → ${wheeled.k}`);
    await page.click('#zoom-fit');
    const back = await camera();
    check(Math.abs(back.k - fitted.k) < 1e-6 && Math.abs(back.x - fitted.x) < 0.5 && Math.abs(back.y - fitted.y) < 0.5,
      `Fit gave ${JSON.stringify(back)}, not the first view ${JSON.stringify(fitted)}`);
  },

  async open_group(step) {
    await page.locator('#graph .node.group').first().click();
    await page.waitForTimeout(300);
    const nodes = await page.$$eval('#graph .node:not(.group)', (n) => n.length);
    check(nodes > 0 && nodes <= step.max_nodes, `opening a group draws ${nodes} tasks`);
    check(!(await page.isHidden('#filter-level')), 'the level chip is not shown');
  },

  async gantt(step) {
    const bars = await page.$$eval('#run-chart .bar', (b) => b.map((e) => ({ name: e.dataset.name, cls: e.getAttribute('class') })));
    check(bars.length === step.bars, `run chart: ${bars.length} bars, want ${step.bars}`);
    const critical = bars.filter((b) => b.cls.includes('critical')).map((b) => b.name);
    if (step.critical) check(JSON.stringify(sorted(critical)) === JSON.stringify(sorted(step.critical)), `critical path ${JSON.stringify(critical)}, want ${JSON.stringify(step.critical)}`);
    const failed = bars.filter((b) => b.cls.includes('st-failed')).map((b) => b.name);
    if (step.failed) check(same(failed, step.failed), `failed bars ${JSON.stringify(failed)}, want ${JSON.stringify(step.failed)}`);
    if (step.slots) {
      const labels = await page.$$eval('#run-chart .level-label', (l) => l.map((e) => e.textContent).filter((t) => t.startsWith('slot ')));
      check(labels.length === step.slots, `run chart: ${labels.length} slots, want ${step.slots}`);
    }
    if (step.failed_first) {
      const box = await text('#failed-first');
      for (const name of step.failed_first) check(box.includes(name), `the failed box lacks ${name}: ${box}`);
    }
    const note = await text('#run-note');
    for (const want of step.note_contains || []) check(note.includes(want), `run note lacks ${JSON.stringify(want)}: ${note}`);
  },

  async shards(step) {
    const frames = await page.$$eval('#shards-chart .shard-frame', (f) => f.length);
    check(frames === step.bars, `shards chart: ${frames} bars, want ${step.bars}`);
    const bound = await text('#shards-chart .bound text');
    check(bound === step.bound, `bound label ${JSON.stringify(bound)}, want ${JSON.stringify(step.bound)}`);
    // The bound line sits where the scale puts it: left of (or at) every bar's end.
    const geometry = await page.evaluate(() => {
      const x = Number(document.querySelector('#shards-chart .bound line').getAttribute('x1'));
      const ends = [...document.querySelectorAll('#shards-chart .shard-frame')].map((r) => Number(r.getAttribute('x')) + Number(r.getAttribute('width')));
      return { x, max: Math.max(...ends) };
    });
    check(geometry.x <= geometry.max + 0.5, `the lower bound (x=${geometry.x}) is right of the slowest shard (x=${geometry.max})`);
  },

  async quality(step) {
    const columns = await page.$$eval('#quality-chart .push', (c) => c.length);
    check(columns === step.columns, `quality chart: ${columns} push columns, want ${step.columns}`);
    const backstops = await page.$$eval('#quality-chart .mark.backstop', (m) => m.length);
    check(backstops === step.backstops, `quality chart: ${backstops} backstop marks, want ${step.backstops}`);
    const windows = await page.$$eval('#quality-chart .fg-window', (w) => w.length);
    check(windows === step.windows, `quality chart: ${windows} false-green windows, want ${step.windows}`);
    const greens = await page.$$eval('#quality-greens .false-green', (g) => g.map((e) => e.dataset.task));
    check(JSON.stringify(greens) === JSON.stringify(step.greens), `false greens listed ${JSON.stringify(greens)}, want ${JSON.stringify(step.greens)}`);
    // Each column's height is its task runs: kept + skipped in pixels, in proportion.
    const heights = await page.$$eval('#quality-chart .push', (cols) => cols.map((c) => [...c.querySelectorAll('rect')].reduce((m, r) => m + Number(r.getAttribute('height')), 0)));
    check(heights.every((h) => h > 0), 'a push column has no height');
  },

  async text(step) {
    const body = await page.evaluate(() => document.body.innerText);
    for (const want of step.contains) check(body.includes(want), `the page does not show ${JSON.stringify(want)} as text`);
  },

  async safe() {
    const found = await page.evaluate(() => ({
      pwned: window.__pwned,
      scripts: document.scripts.length,
      imgs: document.querySelectorAll('img').length,
      handlers: [...document.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length,
    }));
    check(found.pwned === 0, 'injected script ran');
    check(found.scripts === 2, `${found.scripts} script elements, want 2`);
    check(found.imgs === 0, `${found.imgs} img elements appeared`);
    check(found.handlers === 0, `${found.handlers} elements carry inline event handlers`);
  },

  async timing() {
    // First contentful paint and the moment the page finished drawing, as
    // Chromium measured them (a benchmark: reported, not asserted).
    const t = await page.evaluate(() => {
      const paint = performance.getEntriesByName('first-contentful-paint')[0];
      const drawn = performance.getEntriesByName('sift-report-drawn')[0];
      const painted = performance.getEntriesByName('sift-report-painted')[0];
      const ms = (entry) => (entry ? Math.round(entry.startTime) : null);
      return { first_contentful_paint_ms: ms(paint), drawn_ms: ms(drawn), painted_ms: ms(painted) };
    });
    Object.assign(facts, t);
  },

  async screenshot(step) {
    mkdirSync(dirname(step.path), { recursive: true });
    if (step.select) await page.locator(step.select).first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: step.path, fullPage: !!step.full_page });
  },
};

try {
  await open();
  for (const step of spec.steps) {
    if (!steps[step.op]) throw new Error(`unknown step ${step.op}`);
    await steps[step.op](step);
  }
} catch (error) {
  problems.push(`step failed: ${error.stack || error}`);
} finally {
  await browser.close();
}
console.log(JSON.stringify({ facts, problems }));
process.exit(problems.length ? 1 : 0);
