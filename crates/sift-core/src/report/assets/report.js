// sift report: draws the plan, run, shards and selection quality embedded in
// this page.
//
// Everything comes from the JSON in #sift-data (what `sift plan --format json
// --explain`, `sift run --format json`, `sift shard --format json` and `sift
// quality --json` print).
// Data only ever becomes text (textContent, attribute values): never markup.

const SVG = 'http://www.w3.org/2000/svg';
/** Above this many visible tasks the graph draws groups, not tasks. */
const DETAIL_LIMIT = 1000;
const NODE_W = 190;
const NODE_H = 28;
const GAP_X = 60;
const GAP_Y = 10;
const ROW_H = 28;

/** Each status: class, glyph and words; colour is never the only signal. */
const STATUS = {
  kept: { glyph: '▶', label: 'kept' },
  skipped: { glyph: '○', label: 'skipped' },
  succeeded: { glyph: '✓', label: 'succeeded' },
  failed: { glyph: '✗', label: 'failed' },
  needfail: { glyph: '⊘', label: 'need failed' },
  interrupted: { glyph: '■', label: 'interrupted' },
  nothing: { glyph: '∅', label: 'nothing to run' },
};
const STATUS_ORDER = ['failed', 'needfail', 'interrupted', 'kept', 'succeeded', 'nothing', 'skipped'];

// ---------------------------------------------------------------- helpers

function el(tag, attrs, ...kids) {
  return build(document.createElement(tag), attrs, kids);
}

function svg(tag, attrs, ...kids) {
  return build(document.createElementNS(SVG, tag), attrs, kids);
}

function build(node, attrs, kids) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.setAttribute('class', value);
    else if (key === 'text') node.textContent = String(value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return node;
}

const $ = (id) => document.getElementById(id);
const str = (v) => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));
const arr = (v) => (Array.isArray(v) ? v : []);
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const plural = (n, one, many) => `${n.toLocaleString('en')} ${n === 1 ? one : many || one + 's'}`;

function seconds(s) {
  if (s === null) return '–';
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}

function shortSha(sha) {
  return /^[0-9a-f]{40,64}$/.test(str(sha)) ? sha.slice(0, 12) : str(sha);
}

/** At most `max` characters, with an ellipsis when cut. */
function fit(text, max) {
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, Math.max(1, max - 1)).join('') + '…';
}

/** A chain step's label, then a space (so text and screen readers part the words). */
function step(label) {
  return [el('span', { class: 'step', text: label }), ' '];
}

function swatch(status) {
  return el('span', { class: `swatch st-${status}`, 'aria-hidden': 'true', text: STATUS[status].glyph });
}

// ---------------------------------------------------------------- the model

const data = JSON.parse($('sift-data').textContent);
const plan = data.plan && typeof data.plan === 'object' ? data.plan : null;
const run = data.run && typeof data.run === 'object' ? data.run : null;
const shards = data.shards && typeof data.shards === 'object' ? data.shards : null;
const quality = data.quality && typeof data.quality === 'object' ? data.quality : null;
const dryRun = !!(run && run.dry_run);
const evidence = (plan && plan.component_evidence) || {};

const tasks = [];
const byName = new Map();

function taskNamed(name) {
  let t = byName.get(name);
  if (!t) {
    t = { name, index: tasks.length, plan: null, run: null, needs: [], dependents: [], level: 0 };
    tasks.push(t);
    byName.set(name, t);
  }
  return t;
}

for (const p of arr(plan && plan.tasks)) if (p && typeof p.name === 'string') taskNamed(p.name).plan = p;
for (const r of arr(run && run.tasks)) if (r && typeof r.name === 'string') taskNamed(r.name).run = r;

for (const t of tasks) {
  const names = arr(t.plan && t.plan.needs).length ? t.plan.needs : arr(t.run && t.run.needs);
  const seen = new Set();
  for (const n of names) {
    const need = byName.get(n);
    if (need && need !== t && !seen.has(need)) {
      seen.add(need);
      t.needs.push(need);
      need.dependents.push(t);
    }
  }
}

// Levels: a task sits one level right of its deepest need. Kahn's order, so
// a cycle (only in a hand-made document) cannot hang the page.
(function levels() {
  const pending = tasks.map((t) => t.needs.length);
  const queue = tasks.filter((t) => t.needs.length === 0);
  let head = 0;
  while (head < queue.length) {
    const t = queue[head++];
    for (const d of t.dependents) {
      d.level = Math.max(d.level, t.level + 1);
      if (--pending[d.index] === 0) queue.push(d);
    }
  }
  if (queue.length < tasks.length) {
    const top = queue.reduce((m, t) => Math.max(m, t.level), 0) + 1;
    for (const t of tasks) if (pending[t.index] > 0) t.level = top;
  }
})();

for (const t of tasks) {
  t.kept = t.plan ? t.plan.run === true : t.run ? t.run.run !== false : false;
  t.result = !dryRun && t.run ? str(t.run.result) : '';
  t.status = statusOf(t);
}

function statusOf(t) {
  switch (t.result) {
    case 'succeeded': return 'succeeded';
    case 'failed': case 'timed_out': return 'failed';
    case 'skipped': return 'needfail';
    case 'interrupted': return 'interrupted';
    case 'nothing_to_run': return 'nothing';
    default: return t.kept ? 'kept' : 'skipped';
  }
}

function statusLabel(t) {
  if (t.result === 'timed_out') return 'timed out';
  if (t.result === 'skipped') return /^needs /.test(str(t.run.reason)) ? 'need failed' : 'not started';
  if (t.result === 'not_run' && t.kept) return 'other shard';
  return STATUS[t.status].label;
}

function duration(t) {
  if (!t.run) return null;
  if (dryRun) {
    const a = num(t.run.expected_start_s), b = num(t.run.expected_finish_s);
    return a !== null && b !== null ? b - a : null;
  }
  return num(t.run.duration_s);
}

// ---------------------------------------------------------------- state, filter, URL

const state = { q: '', decision: '', result: '', level: null, task: null };

function readFragment() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  state.q = params.get('q') || '';
  state.decision = ['kept', 'skipped'].includes(params.get('decision')) ? params.get('decision') : '';
  state.result = params.get('result') || '';
  const level = Number.parseInt(params.get('level') || '', 10);
  state.level = Number.isFinite(level) ? level : null;
  state.task = params.has('task') ? params.get('task') : null;
}

function writeFragment() {
  const params = new URLSearchParams();
  if (state.task !== null) params.set('task', state.task);
  if (state.q) params.set('q', state.q);
  if (state.decision) params.set('decision', state.decision);
  if (state.result) params.set('result', state.result);
  if (state.level !== null) params.set('level', String(state.level));
  const hash = params.toString();
  if (hash !== location.hash.replace(/^#/, '')) history.replaceState(null, '', hash ? `#${hash}` : location.pathname + location.search);
}

/** Globs separated by spaces or commas; any may match. Without `*` or `?` a
 *  term matches anywhere in the name, ignoring case. */
function nameMatcher(query) {
  const terms = query.split(/[\s,]+/).filter(Boolean);
  if (!terms.length) return () => true;
  const tests = terms.map((term) => {
    if (!/[*?]/.test(term)) {
      const lower = term.toLowerCase();
      return (name) => name.toLowerCase().includes(lower);
    }
    const source = term.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    const re = new RegExp(`^${source}$`, 'u');
    return (name) => re.test(name);
  });
  return (name) => tests.some((test) => test(name));
}

function resultMatches(t, wanted) {
  if (!wanted) return true;
  if (wanted === 'failed') return t.result === 'failed' || t.result === 'timed_out';
  return t.result === wanted;
}

function filtered() {
  const byNameOk = nameMatcher(state.q);
  return tasks.filter((t) =>
    byNameOk(t.name) &&
    (!state.decision || (state.decision === 'kept') === t.kept) &&
    resultMatches(t, state.result) &&
    (state.level === null || t.level === state.level));
}

// ---------------------------------------------------------------- header

function header() {
  const base = plan ? plan.base : run ? run.base : null;
  const head = plan ? plan.head : run ? run.head : null;
  const parts = [];
  if (base || head) parts.push(`base ${shortSha(base) || '(none)'} → head ${shortSha(head) || '(none)'}`);
  if (plan && plan.push) parts.push(`push ${str(plan.push.branch)} #${str(plan.push.number)}`);
  if (plan && !base && !head) parts.push('change from a file list');
  if (dryRun) parts.push('dry run: the expected schedule');
  if (shards) parts.push(`${plural(arr(shards.shards).length, 'shard')}${str(shards.times) ? ` (times: ${str(shards.times)})` : ''}`);
  if (quality) parts.push(`selection quality on ${str(quality.branch)}${pushRange(quality.pushes)}`);
  $('subtitle').textContent = parts.join(' · ');
  $('subtitle').title = [base && `base ${base}`, head && `head ${head}`].filter(Boolean).join('\n');
  document.title = `sift report${base || head ? ` · ${shortSha(head) || shortSha(base)}` : ''}`;

  const counts = $('counts');
  const add = (key, label, value, extra) => {
    counts.append(el('div', { 'data-count': key }, el('dt', { text: label }), el('dd', {}, String(value), extra ? [' ', el('small', { text: extra })] : [])));
  };
  if (plan) {
    const kept = tasks.filter((t) => t.plan && t.kept).length;
    const planned = tasks.filter((t) => t.plan).length;
    add('changed-files', 'Changed files', arr(plan.changed_files).length.toLocaleString('en'));
    const components = arr(plan.components);
    add('components', 'Components', components.length.toLocaleString('en'), components.length ? fit(components.slice(0, 4).join(', ') + (components.length > 4 ? ', …' : ''), 40) : '');
    add('kept', 'Kept', kept.toLocaleString('en'), `of ${planned.toLocaleString('en')}`);
    add('skipped', 'Skipped', (planned - kept).toLocaleString('en'));
    const push = plan.push;
    add('backstop', 'Backstop', !push ? 'not recorded' : push.backstop ? 'backstop push' : push.expanded ? 'expanded push' : 'no', push ? `${str(push.branch)} #${str(push.number)}` : '');
  }
  if (run && !dryRun) {
    const count = (...results) => tasks.filter((t) => results.includes(t.result)).length;
    add('wall', 'Wall time', seconds(wallTime()), num(run.jobs) ? `${run.jobs} slots` : '');
    add('succeeded', 'Succeeded', count('succeeded', 'nothing_to_run').toLocaleString('en'));
    add('failed', 'Failed', count('failed', 'timed_out').toLocaleString('en'));
    add('run-skipped', 'Not started', count('skipped', 'interrupted').toLocaleString('en'));
    const failed = tasks.filter((t) => t.status === 'failed').sort((a, b) => a.name.localeCompare(b.name));
    if (failed.length) {
      const box = $('failed-first');
      box.hidden = false;
      box.append(el('h2', { text: `${plural(failed.length, 'task')} failed:` }));
      failed.slice(0, 50).forEach((t, i) => box.append(i ? ', ' : '', taskButton(t.name, `${t.name} (${statusLabel(t)})`)));
      if (failed.length > 50) box.append(` and ${failed.length - 50} more (filter by result)`);
    }
  }
  if (run && dryRun) add('expected', 'Expected time', seconds(num(run.expected_makespan_s)), num(run.jobs) ? `${run.jobs} slots` : '');
  if (shards) {
    const list = arr(shards.shards);
    const slowest = list.reduce((m, s) => Math.max(m, num(s.expected_seconds) || 0), 0);
    add('shards', 'Shards', list.length);
    add('slowest-shard', 'Slowest shard', seconds(slowest));
    add('lower-bound', 'Lower bound', seconds(num(shards.lower_bound_seconds)));
  }
  if (quality) {
    const p = quality.pushes || {};
    const sel = quality.selection || {};
    const rate = quality.rate || {};
    const reg = quality.regressions || {};
    add('pushes', 'Pushes', (num(p.count) || 0).toLocaleString('en'), `${(num(p.backstop) || 0).toLocaleString('en')} backstop, ${(num(p.shadow) || 0).toLocaleString('en')} shadow`);
    add('saved', 'Task time saved', percent(num(sel.skipped_seconds_share)), `${seconds(num(sel.skipped_seconds))} of ${seconds(num(sel.task_seconds))}`);
    add('skipped-runs', 'Task runs skipped', (num(sel.skipped) || 0).toLocaleString('en'), `of ${(num(sel.tasks) || 0).toLocaleString('en')}`);
    add('false-greens', 'False greens', arr(quality.false_greens).length.toLocaleString('en'), `${(num(reg.caught) || 0).toLocaleString('en')} of ${(num(reg.total) || 0).toLocaleString('en')} regressions caught on their push`);
    const ci = arr(rate.ci95);
    add('false-green-rate', 'False-green rate', percent(num(rate.rate), 1), ci.length === 2 && num(ci[0]) !== null ? `95% CI ${percent(ci[0], 1)}–${percent(ci[1], 1)}` : 'no failing pushes');
  }
  $('generator').textContent = `Made by ${str(data.generator) || 'sift'} from the JSON embedded in this page; it needs no network.`;
}

function percent(share, digits = 0) {
  return share === null || share === undefined || !Number.isFinite(share) ? '–' : `${(share * 100).toFixed(digits)}%`;
}

function pushRange(p) {
  if (!p || num(p.count) === null || !p.count) return ': no pushes';
  return `: pushes #${str(p.first)} to #${str(p.last)}${p.from ? ` (${str(p.from).slice(0, 10)} to ${str(p.to).slice(0, 10)})` : ''}`;
}

function notice(text) {
  $('notices').append(el('li', { text }));
}

function wallTime() {
  const w = num(run.wall_s);
  if (w !== null) return w;
  const spans = timedTasks();
  return spans.reduce((m, s) => Math.max(m, s.end), 0);
}

// ---------------------------------------------------------------- selection

function taskButton(name, label) {
  return el('button', { type: 'button', class: 'linkish', text: label || name, onclick: () => select(name, { reveal: true }) });
}

function select(name, { reveal = false, from = '' } = {}) {
  state.task = name;
  writeFragment();
  showWhy(byName.get(name) || null, name);
  graph.highlight(reveal && from !== 'graph');
  list.highlight(from !== 'list');
  for (const chart of charts) chart.highlight();
}

// ---------------------------------------------------------------- why panel

function showWhy(t, name) {
  const body = $('why-body');
  body.replaceChildren();
  if (!t) {
    body.append(el('p', { class: 'note', text: name === null ? 'Select a task in the graph or the list to see why it runs or is skipped.' : `No task named “${name}” in this report.` }));
    return;
  }
  const p = t.plan;
  const why = p && p.why && typeof p.why === 'object' ? p.why : null;
  body.append(el('h3', { class: 'verdict' }, swatch(t.status), el('span', { text: t.name })));
  const facts = el('dl', { class: 'facts' });
  const fact = (label, ...value) => facts.append(el('dt', { text: label }), el('dd', {}, ...value));
  fact('Decision', t.kept ? 'runs' : 'skipped');
  if (p) fact('Reason', str(p.reason));
  if (why && why.defined_at) fact('Defined at', el('code', { text: str(why.defined_at) }));
  if (t.run && !dryRun) {
    const parts = [statusLabel(t)];
    if (num(t.run.exit_code) !== null) parts.push(`exit code ${t.run.exit_code}`);
    if (num(t.run.duration_s) !== null) parts.push(seconds(t.run.duration_s));
    fact('Result', `${STATUS[t.status].glyph} ${parts.join(', ')}`);
    const said = `exit code ${t.run.exit_code}`;
    if (t.run.reason && (!p || t.run.reason !== p.reason) && t.run.reason !== said) fact('Run', str(t.run.reason));
  }
  if (t.run && dryRun) fact('Expected', `slot ${str(t.run.slot)}, ${seconds(num(t.run.expected_start_s))} → ${seconds(num(t.run.expected_finish_s))}`);
  fact('Needs', t.needs.length ? join(t.needs.map((n) => taskButton(n.name))) : 'nothing');
  fact('Needed by', t.dependents.length ? join(t.dependents.slice(0, 30).map((n) => taskButton(n.name)), t.dependents.length > 30 ? ` and ${t.dependents.length - 30} more` : '') : 'nothing');
  fact('Level', String(t.level));
  body.append(facts);
  body.append(el('h3', { text: 'Chain' }));
  body.append(chain(t, why));
}

function join(nodes, tail) {
  const out = [];
  nodes.forEach((n, i) => out.push(i ? ', ' : '', n));
  if (tail) out.push(tail);
  return out;
}

function chain(t, why) {
  if (!t.plan) return el('p', { class: 'note', text: 'This task is not in the plan of this report.' });
  if (!why) {
    return el('p', { class: 'note' }, 'The plan in this report has the one-line reason only. Make it with ', el('code', { text: 'sift plan --format json --explain' }), ' (or use ', el('code', { text: '--report' }), ') for the full chain: changed files, rules, components, strategy and dependents.');
  }
  switch (why.kind) {
    case 'strategy':
      return evaluation(why.evaluation);
    case 'needed_by': {
      const out = el('div');
      out.append(el('p', {}, step('dependents'), 'Pulled in by kept tasks that need it (its own strategy is not consulted):'));
      const ul = el('ul', { class: 'chain' });
      for (const name of arr(why.needed_by)) {
        const d = byName.get(name);
        ul.append(el('li', {}, taskButton(name), d && d.plan ? `: ${str(d.plan.reason)}` : ''));
      }
      out.append(ul);
      const nearest = arr(why.nearest);
      if (nearest.length) {
        const head = nearest[0];
        const through = nearest.slice(1);
        out.append(el('p', {}, 'Nearest dependent kept by its own decision: ', taskButton(head), through.length ? ` (through ${through.join(' → ')})` : ''));
        // Its own chain (never `needed_by`: it was kept for itself).
        const d = byName.get(head);
        const dw = d && d.plan && d.plan.why;
        if (dw && typeof dw === 'object' && dw.kind !== 'needed_by') out.append(chain(d, dw));
        else if (d && d.plan) out.append(el('p', { text: str(d.plan.reason) }));
      }
      return out;
    }
    case 'no_strategy':
      return el('p', {}, step('strategy'), 'none: a task without a strategy always runs.');
    case 'not_requested':
      return el('p', {}, step('requested'), 'no: --target does not match it, and no kept task needs it.');
    case 'all':
      return el('p', {}, step('all'), '--all: every task runs.');
    case 'schedule_all':
      return el('p', {}, step('change unknown'), str(t.plan.reason));
    case 'backstop':
      return el('p', {}, step('backstop'), `${str(t.plan.reason)}: every task runs on a backstop push, except backstop = false ones.`);
    default:
      return el('p', { text: str(t.plan.reason) });
  }
}

function evaluation(ev) {
  const ol = el('ol', { class: 'chain' });
  if (ev && typeof ev === 'object') ol.append(evaluationItem(ev));
  return ol;
}

function evaluationItem(ev) {
  const li = el('li', {}, step('strategy'), el('code', { text: str(ev.strategy) }), ' → ',
    el('span', { class: ev.keep ? 'keep' : 'skip-word', text: ev.keep ? 'keep' : 'skip' }), `: ${str(ev.summary)}`);
  const inner = el('ul');
  for (const name of arr(ev.affected)) inner.append(componentItem(str(name)));
  if (ev.matched && typeof ev.matched === 'object') {
    inner.append(el('li', {}, step('changed file'), el('code', { text: str(ev.matched.path) }), ' matches ', el('code', { text: str(ev.matched.pattern) })));
  }
  for (const child of arr(ev.children)) if (child && typeof child === 'object') inner.append(evaluationItem(child));
  if (inner.childNodes.length) li.append(inner);
  return li;
}

function componentItem(name) {
  const li = el('li', {}, step('component'), el('code', { text: name }), ' affected by:');
  const proof = Object.prototype.hasOwnProperty.call(evidence, name) ? evidence[name] : null;
  const files = el('ul');
  for (const file of arr(proof && proof.files)) {
    const item = el('li', {}, step('changed file'), el('code', { text: str(file.path) }));
    const rules = el('ul');
    for (const rule of arr(file.rules)) {
      const effect = rule.effect === 'inclusive' ? `inclusive += ${name}` : `exclusive includes ${name}`;
      rules.append(el('li', { class: 'rule' }, step('rule'), el('code', { class: 'loc', text: `${str(rule.file)}:${str(rule.line)}` }), ' ', el('code', { text: str(rule.pattern) }), ` → ${effect}`));
    }
    if (file.every_exclusive) rules.append(el('li', { text: 'no rule sets exclusive for it: every exclusive component applies' }));
    if (rules.childNodes.length) item.append(rules);
    files.append(item);
  }
  if (proof && proof.more_may_exist) files.append(el('li', { class: 'note', text: `(the first ${arr(proof.files).length} files are shown)` }));
  if (!proof) files.append(el('li', { class: 'note', text: 'no evidence in the plan' }));
  li.append(files);
  return li;
}

// ---------------------------------------------------------------- task list (virtual)

const list = (() => {
  const box = $('task-list');
  const space = $('task-list-space');
  let order = [];
  let active = -1;
  const runOrder = run && !dryRun;
  // Kept here rather than read back, so drawing never forces a layout.
  let scrollTop = 0;
  let height = 360;
  const scrollTo = (top) => { scrollTop = Math.max(0, top); box.scrollTop = scrollTop; };

  function set(visible) {
    order = visible.slice().sort((a, b) => {
      if (runOrder) {
        const d = STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status);
        if (d && (a.status === 'failed' || b.status === 'failed' || a.status === 'needfail' || b.status === 'needfail')) return d;
      }
      return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    });
    space.style.height = `${order.length * ROW_H}px`;
    height = Math.max(3, Math.min(13, order.length)) * ROW_H;
    box.style.height = `${height + 2}px`;
    box.setAttribute('aria-label', `Tasks: ${plural(order.length, 'task')}${runOrder ? ', failures first' : ''}`);
    active = Math.min(active, order.length - 1);
    if (scrollTop > Math.max(0, order.length * ROW_H - height)) scrollTo(order.length * ROW_H - height);
    draw();
  }

  /** Draws the rows in view. A row still in place is kept, not made again:
   *  replacing the element under the pointer would swallow its click. */
  function draw() {
    const first = Math.max(0, Math.floor(scrollTop / ROW_H) - 5);
    const last = Math.min(order.length, first + Math.ceil(height / ROW_H) + 10);
    const old = new Map();
    for (const r of space.children) old.set(`${r.id}@${r.dataset.pos}`, r);
    for (let i = first; i < last; i++) {
      const t = order[i];
      const key = `row-${t.index}@${i}`;
      const existing = old.get(key);
      if (existing) {
        old.delete(key);
        existing.classList.toggle('active', i === active);
        existing.setAttribute('aria-selected', String(state.task === t.name));
        existing.setAttribute('aria-setsize', String(order.length));
      } else {
        space.append(row(t, i));
      }
    }
    for (const r of old.values()) r.remove();
    const current = active >= 0 && order[active] ? `row-${order[active].index}` : null;
    if (current && $(current)) box.setAttribute('aria-activedescendant', current);
    else box.removeAttribute('aria-activedescendant');
  }

  function row(t, i) {
    const time = duration(t);
    return el('div', {
      id: `row-${t.index}`, role: 'option', class: `row st-${t.status}${i === active ? ' active' : ''}`, 'data-pos': i,
      'aria-selected': String(state.task === t.name), 'aria-setsize': order.length, 'aria-posinset': i + 1,
      style: `top:${i * ROW_H}px`, 'data-name': t.name,
      onclick: () => { active = i; select(t.name, { from: 'list', reveal: true }); box.focus({ preventScroll: true }); },
    },
    el('span', { class: 'status' }, swatch(t.status), statusLabel(t)),
    el('span', { class: 'name', title: t.name, text: t.name }),
    el('span', { class: 'reason', title: str(t.plan ? t.plan.reason : t.run && t.run.reason), text: str(t.plan ? t.plan.reason : t.run && t.run.reason) }),
    el('span', { class: 'time', text: time === null ? '' : seconds(time) }));
  }

  function move(to) {
    if (!order.length) return;
    active = Math.max(0, Math.min(order.length - 1, to));
    const top = active * ROW_H;
    if (top < scrollTop) scrollTo(top);
    else if (top + ROW_H > scrollTop + height) scrollTo(top + ROW_H - height);
    select(order[active].name, { from: 'list', reveal: true });
  }

  box.addEventListener('scroll', () => { scrollTop = box.scrollTop; requestAnimationFrame(draw); }, { passive: true });
  box.addEventListener('keydown', (e) => {
    const page = Math.max(1, Math.floor(height / ROW_H) - 1);
    const keys = { ArrowDown: active + 1, ArrowUp: active - 1, PageDown: active + page, PageUp: active - page, Home: 0, End: order.length - 1 };
    if (e.key in keys) { e.preventDefault(); move(active < 0 && e.key === 'ArrowDown' ? 0 : keys[e.key]); }
    else if ((e.key === 'Enter' || e.key === ' ') && active >= 0) { e.preventDefault(); select(order[active].name, { from: 'list', reveal: true }); }
  });
  box.addEventListener('focus', () => { if (active < 0 && order.length) { active = 0; draw(); } });

  return {
    set,
    highlight(scroll) {
      const i = order.findIndex((t) => t.name === state.task);
      if (i >= 0) {
        active = i;
        if (scroll) {
          const top = i * ROW_H;
          if (top < scrollTop || top + ROW_H > scrollTop + height) scrollTo(top - height / 2);
        }
      }
      draw();
    },
  };
})();

// ---------------------------------------------------------------- graph

const graph = (() => {
  const host = $('graph');
  const root = svg('svg', { role: 'presentation' });
  const view = svg('g');
  root.append(view);
  host.append(root);
  const camera = { x: 0, y: 0, k: 1 };
  // The drawing area, measured while the page is still empty (cheap) and
  // again on resize: reading it after drawing would force a layout.
  const size = { w: host.clientWidth || 800, h: 460 };
  window.addEventListener('resize', () => { size.w = host.clientWidth || size.w; fitView(true); });
  let bounds = { w: 1, h: 1 };
  let nodes = new Map(); // task index → {el, x, y, t} in detail mode
  let columns = [];
  let edges = [];
  let mode = 'detail';

  function apply() {
    view.setAttribute('transform', `translate(${camera.x} ${camera.y}) scale(${camera.k})`);
  }

  /** Everything in view; with `readable`, never smaller than text can be
   *  read at, starting from the left (level 0) when it does not all fit. */
  function fitView(readable) {
    const { w, h } = size;
    const fits = Math.max(0.02, Math.min(1.2, (w - 40) / bounds.w, (h - 40) / bounds.h));
    const k = readable === true ? Math.max(fits, 0.6) : fits;
    camera.k = k;
    camera.x = k > fits && bounds.w * k > w - 40 ? 20 : (w - bounds.w * k) / 2;
    camera.y = k > fits && bounds.h * k > h - 40 ? 24 : Math.max(20, (h - bounds.h * k) / 2);
    apply();
  }

  function zoom(factor, cx, cy) {
    const { w, h } = size;
    cx = cx === undefined ? w / 2 : cx;
    cy = cy === undefined ? h / 2 : cy;
    const k = Math.max(0.02, Math.min(4, camera.k * factor));
    camera.x = cx - ((cx - camera.x) * k) / camera.k;
    camera.y = cy - ((cy - camera.y) * k) / camera.k;
    camera.k = k;
    apply();
  }

  function revealAt(x, y) {
    const { w, h } = size;
    if (camera.k < 0.5) camera.k = 0.8;
    const sx = camera.x + x * camera.k, sy = camera.y + y * camera.k;
    if (sx < 10 || sx + NODE_W * camera.k > w - 10 || sy < 10 || sy + NODE_H * camera.k > h - 10) {
      camera.x = w / 2 - (x + NODE_W / 2) * camera.k;
      camera.y = h / 2 - (y + NODE_H / 2) * camera.k;
    }
    apply();
  }

  // Pan with a drag, zoom with the wheel.
  let drag = null;
  host.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, cx: camera.x, cy: camera.y, moved: false, id: e.pointerId };
  });
  host.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 5) return;
    if (!drag.moved) { drag.moved = true; host.setPointerCapture(drag.id); host.classList.add('dragging'); }
    camera.x = drag.cx + dx;
    camera.y = drag.cy + dy;
    apply();
  });
  const endDrag = () => {
    if (drag && drag.moved) {
      host.classList.remove('dragging');
      // The click that ends a drag is not a selection.
      host.addEventListener('click', (e) => e.stopPropagation(), { capture: true, once: true });
    }
    drag = null;
  };
  host.addEventListener('pointerup', endDrag);
  host.addEventListener('pointercancel', endDrag);
  host.addEventListener('wheel', (e) => {
    e.preventDefault();
    const box = host.getBoundingClientRect();
    zoom(Math.exp(-e.deltaY * 0.0015), e.clientX - box.left, e.clientY - box.top);
  }, { passive: false });
  $('zoom-in').addEventListener('click', () => zoom(1.25));
  $('zoom-out').addEventListener('click', () => zoom(0.8));
  $('zoom-fit').addEventListener('click', () => fitView());

  host.addEventListener('keydown', (e) => {
    if (e.key === '+' || e.key === '=') { zoom(1.25); e.preventDefault(); return; }
    if (e.key === '-' || e.key === '_') { zoom(0.8); e.preventDefault(); return; }
    if (e.key === '0') { fitView(); e.preventDefault(); return; }
    const item = e.target.closest && e.target.closest('[data-key]');
    if (!item) return;
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); item.dispatchEvent(new MouseEvent('click', { bubbles: true })); return; }
    const next = neighbour(item, e.key);
    if (next) { e.preventDefault(); focusItem(next); }
  });

  function focusItem(item) {
    for (const other of root.querySelectorAll('[tabindex="0"]')) other.setAttribute('tabindex', '-1');
    item.setAttribute('tabindex', '0');
    item.focus({ preventScroll: true });
    revealAt(Number(item.dataset.x), Number(item.dataset.y));
  }

  /** Arrow keys: ← a need, → a dependent, ↑↓ the same column. */
  function neighbour(item, key) {
    const [c, r] = [Number(item.dataset.col), Number(item.dataset.row)];
    const column = columns[c] || [];
    if (key === 'ArrowUp') return column[r - 1] || null;
    if (key === 'ArrowDown') return column[r + 1] || null;
    if (key !== 'ArrowLeft' && key !== 'ArrowRight') return null;
    if (mode === 'detail') {
      const t = tasks[Number(item.dataset.key)];
      const near = (key === 'ArrowLeft' ? t.needs : t.dependents).map((n) => nodes.get(n.index)).filter(Boolean);
      near.sort((a, b) => Math.abs(a.y - Number(item.dataset.y)) - Math.abs(b.y - Number(item.dataset.y)));
      if (near.length) return near[0].el;
    }
    const side = columns[c + (key === 'ArrowLeft' ? -1 : 1)];
    return side && side.length ? side[Math.min(r, side.length - 1)] : null;
  }

  function draw(visible) {
    view.replaceChildren();
    nodes = new Map();
    columns = [];
    edges = [];
    if (!visible.length) {
      bounds = { w: 400, h: 60 };
      view.append(svg('text', { x: 10, y: 30, text: tasks.length ? 'No task matches the filter.' : 'No tasks.' }));
      $('graph-note').textContent = '';
      fitView();
      return;
    }
    if (visible.length > DETAIL_LIMIT) drawGroups(visible);
    else drawDetail(visible);
    // As tall as the drawing needs at full size, within reason.
    size.h = Math.max(220, Math.min(560, bounds.h + 70));
    host.style.height = `${size.h}px`;
    fitView(true);
    highlight(false);
  }

  function drawDetail(visible) {
    mode = 'detail';
    $('graph-note').textContent = visible.length < tasks.length ? `Showing ${plural(visible.length, 'task')} of ${tasks.length.toLocaleString('en')} (the filter hides the others).` : '';
    // Columns by level, long columns wrapped so the graph stays near square.
    const levels = [...new Set(visible.map((t) => t.level))].sort((a, b) => a - b);
    const wrap = Math.max(24, Math.ceil(Math.sqrt(visible.length * 2)));
    const byLevel = new Map(levels.map((l) => [l, []]));
    for (const t of visible.slice().sort((a, b) => (a.name < b.name ? -1 : 1))) byLevel.get(t.level).push(t);
    const pos = new Map();
    for (const col of byLevel.values()) col.forEach((t, i) => pos.set(t.index, i / Math.max(1, col.length)));
    // Barycentre sweeps: order each level by the mean position of its
    // visible needs (left to right), then of its dependents (right to left).
    const mean = (list) => {
      let sum = 0, n = 0;
      for (const x of list) if (pos.has(x.index)) { sum += pos.get(x.index); n++; }
      return n ? sum / n : null;
    };
    for (let sweep = 0; sweep < 4; sweep++) {
      const seq = sweep % 2 ? levels.slice().reverse() : levels;
      for (const level of seq) {
        const col = byLevel.get(level);
        const key = new Map(col.map((t) => [t.index, mean(sweep % 2 ? t.dependents : t.needs)]));
        col.sort((a, b) => {
          const ka = key.get(a.index) ?? pos.get(a.index), kb = key.get(b.index) ?? pos.get(b.index);
          return ka - kb || (a.name < b.name ? -1 : 1);
        });
        col.forEach((t, i) => pos.set(t.index, i / Math.max(1, col.length)));
      }
    }
    let x = 0, height = 0;
    const placed = [];
    const labels = svg('g');
    for (const level of levels) {
      const col = byLevel.get(level);
      const subs = Math.ceil(col.length / wrap);
      const rows = Math.min(col.length, wrap);
      labels.append(svg('text', { class: 'level-label', x, y: -8, text: `level ${level}` }));
      for (let s = 0; s < subs; s++) {
        const part = col.slice(s * wrap, (s + 1) * wrap);
        const colIndex = columns.length;
        columns.push([]);
        part.forEach((t, r) => placed.push({ t, x, y: r * (NODE_H + GAP_Y), col: colIndex, row: r }));
        x += NODE_W + (s + 1 < subs ? 16 : GAP_X);
      }
      height = Math.max(height, rows * (NODE_H + GAP_Y));
    }
    bounds = { w: Math.max(1, x - GAP_X), h: Math.max(1, height) };
    const edgeLayer = svg('g', { class: 'edges' });
    const nodeLayer = svg('g', { class: 'nodes' });
    for (const p of placed) {
      const t = p.t;
      const label = `${STATUS[t.status].glyph} ${fit(t.name, 24)}`;
      const g = svg('g', {
        class: `node st-${t.status}`, role: 'button', tabindex: '-1', 'data-key': t.index,
        'data-col': p.col, 'data-row': p.row, 'data-x': p.x, 'data-y': p.y,
        'aria-label': `${t.name}: ${statusLabel(t)}${t.plan ? `, ${str(t.plan.reason)}` : ''}`,
        transform: `translate(${p.x} ${p.y})`,
        onclick: () => select(t.name, { from: 'graph' }),
      },
      svg('title', { text: `${t.name}\n${statusLabel(t)}${t.plan ? `: ${str(t.plan.reason)}` : ''}` }),
      svg('rect', { width: NODE_W, height: NODE_H, rx: 5 }),
      svg('text', { x: 8, y: 18, text: label }));
      nodeLayer.append(g);
      nodes.set(t.index, { el: g, x: p.x, y: p.y, t });
      columns[p.col].push(g);
    }
    for (const p of placed) {
      for (const need of p.t.needs) {
        const from = nodes.get(need.index);
        if (!from) continue;
        const x1 = from.x + NODE_W, y1 = from.y + NODE_H / 2, x2 = p.x, y2 = p.y + NODE_H / 2;
        const bend = Math.max(20, (x2 - x1) / 2);
        const path = svg('path', { d: `M${x1} ${y1}C${x1 + bend} ${y1} ${x2 - bend} ${y2} ${x2} ${y2}` });
        edgeLayer.append(path);
        edges.push({ from: need.index, to: p.t.index, el: path });
      }
    }
    view.append(labels, edgeLayer, nodeLayer);
    if (columns.length && columns[0].length) columns[0][0].setAttribute('tabindex', '0');
  }

  function drawGroups(visible) {
    mode = 'groups';
    $('graph-note').textContent = `${plural(visible.length, 'task')} are too many to draw one by one: they are grouped by dependency level and status. Select a group, or narrow the filter to ${DETAIL_LIMIT.toLocaleString('en')} tasks or fewer, to see each task.`;
    const groups = new Map();
    for (const t of visible) {
      const key = `${t.level}|${t.status}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { level: t.level, status: t.status, members: [] }));
      g.members.push(t);
    }
    const levels = [...new Set(visible.map((t) => t.level))].sort((a, b) => a - b);
    const GW = 200, GH = 46;
    const place = new Map();
    let height = 0;
    const nodeLayer = svg('g', { class: 'nodes' });
    const labels = svg('g');
    levels.forEach((level, c) => {
      const col = [...groups.values()].filter((g) => g.level === level)
        .sort((a, b) => STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status));
      columns.push([]);
      const x = c * (GW + GAP_X + 20);
      labels.append(svg('text', { class: 'level-label', x, y: -8, text: `level ${level}` }));
      col.forEach((g, r) => {
        const y = r * (GH + 14);
        place.set(`${g.level}|${g.status}`, { x, y });
        height = Math.max(height, y + GH);
        const n = g.members.length;
        const item = svg('g', {
          class: `node group st-${g.status}`, role: 'button', tabindex: '-1', 'data-key': `${g.level}|${g.status}`,
          'data-col': c, 'data-row': r, 'data-x': x, 'data-y': y,
          'aria-label': `level ${level}: ${plural(n, 'task')} ${STATUS[g.status].label}; show them`,
          transform: `translate(${x} ${y})`,
          onclick: () => openGroup(g),
        },
        svg('title', { text: `${plural(n, 'task')} at level ${level}, ${STATUS[g.status].label}:\n${g.members.slice(0, 8).map((t) => t.name).join('\n')}${n > 8 ? '\n…' : ''}` }),
        svg('rect', { width: GW, height: GH, rx: 8 }),
        svg('text', { x: 10, y: 19, text: `${STATUS[g.status].glyph} ${n.toLocaleString('en')} ${STATUS[g.status].label}` }),
        svg('text', { x: 10, y: 36, class: 'level-label', text: fit(`${g.members[0].name}${n > 1 ? ' …' : ''}`, 30) }));
        nodeLayer.append(item);
        columns[c].push(item);
      });
    });
    // Edges between groups, as thick as the log of the needs they carry.
    const counts = new Map();
    const shown = new Set(visible);
    for (const t of visible) {
      for (const need of t.needs) {
        if (!shown.has(need)) continue;
        const key = `${need.level}|${need.status}>${t.level}|${t.status}`;
        counts.set(key, (counts.get(key) || 0) + 1);
      }
    }
    const edgeLayer = svg('g', { class: 'group-edges' });
    for (const [key, n] of counts) {
      const [a, b] = key.split('>');
      const from = place.get(a), to = place.get(b);
      if (!from || !to) continue;
      const x1 = from.x + GW, y1 = from.y + GH / 2, x2 = to.x, y2 = to.y + GH / 2;
      const bend = Math.max(20, (x2 - x1) / 2);
      edgeLayer.append(svg('path', { d: `M${x1} ${y1}C${x1 + bend} ${y1} ${x2 - bend} ${y2} ${x2} ${y2}`, 'stroke-width': Math.min(12, 1 + Math.log2(n)) },
        svg('title', { text: `${plural(n, 'need')}` })));
    }
    bounds = { w: Math.max(1, levels.length * (GW + GAP_X + 20) - GAP_X - 20), h: Math.max(1, height) };
    view.append(labels, edgeLayer, nodeLayer);
    if (columns.length && columns[0].length) columns[0][0].setAttribute('tabindex', '0');
  }

  function openGroup(g) {
    state.level = g.level;
    const decision = { kept: 'kept', skipped: 'skipped' }[g.status];
    const result = { succeeded: 'succeeded', failed: 'failed', needfail: 'skipped', interrupted: 'interrupted', nothing: 'nothing_to_run' }[g.status];
    if (decision) { state.decision = decision; if (run && !dryRun) state.result = g.status === 'skipped' ? 'not_run' : ''; }
    if (result) { state.result = result; state.decision = ''; }
    syncControls();
    refresh();
    writeFragment();
  }

  function highlight(reveal) {
    for (const item of root.querySelectorAll('.selected, .related')) item.classList.remove('selected', 'related');
    for (const e of edges) e.el.classList.remove('hot');
    const t = state.task === null ? null : byName.get(state.task);
    if (!t || mode !== 'detail') return;
    const node = nodes.get(t.index);
    if (!node) return;
    node.el.classList.add('selected');
    for (const other of root.querySelectorAll('[tabindex="0"]')) other.setAttribute('tabindex', '-1');
    node.el.setAttribute('tabindex', '0');
    for (const e of edges) {
      if (e.from === t.index || e.to === t.index) {
        e.el.classList.add('hot');
        e.el.parentNode.append(e.el);
        const other = nodes.get(e.from === t.index ? e.to : e.from);
        if (other) other.el.classList.add('related');
      }
    }
    if (reveal) revealAt(node.x, node.y);
  }

  return { draw, highlight, fit: fitView };
})();

// ---------------------------------------------------------------- Gantt charts

const charts = [];
/** The width a chart can take: a panel's inner width, measured before drawing. */
const chartWidth = ($('tasks-section').clientWidth || 940) - 30;

function timedTasks() {
  const out = [];
  if (!run) return out;
  let origin = null;
  if (!dryRun) {
    for (const t of tasks) {
      if (t.run && num(t.run.start_s) === null && t.run.started_at) {
        const ms = Date.parse(t.run.started_at);
        if (Number.isFinite(ms)) origin = origin === null ? ms : Math.min(origin, ms);
      }
    }
  }
  for (const t of tasks) {
    const r = t.run;
    if (!r) continue;
    let start, end, slot = null;
    if (dryRun) {
      start = num(r.expected_start_s); end = num(r.expected_finish_s); slot = num(r.slot);
    } else {
      const d = num(r.duration_s);
      start = num(r.start_s);
      if (start === null && r.started_at && origin !== null) start = (Date.parse(r.started_at) - origin) / 1000;
      end = start !== null && d !== null ? start + d : null;
    }
    if (start === null || end === null || !Number.isFinite(start) || !Number.isFinite(end)) continue;
    out.push({ t, start, end: Math.max(start, end), slot });
  }
  return out;
}

/** Worker slots: each task on the lowest slot free when it started. Times
 *  are rounded to the millisecond, so a slot ending up to 2 ms after the
 *  next start counts as free; and a run never has more than `jobs` tasks at
 *  once, so past that many slots the one that ends first is taken. */
function assignSlots(spans, jobs) {
  spans.sort((a, b) => a.start - b.start || (a.t.name < b.t.name ? -1 : 1));
  const free = [];
  for (const s of spans) {
    if (s.slot !== null && s.slot >= 1) { free[s.slot - 1] = Math.max(free[s.slot - 1] || 0, s.end); continue; }
    let i = free.findIndex((end) => end <= s.start + 0.002);
    if (i < 0 && jobs && free.length >= jobs) i = free.indexOf(Math.min(...free));
    if (i < 0) i = free.length;
    free[i] = s.end;
    s.slot = i + 1;
  }
  return Math.max(free.length, 1);
}

/** The chain through `needs` with the largest summed duration among the
 *  tasks that ran: no schedule could have ended sooner than it. */
function criticalPath(spans) {
  const span = new Map(spans.map((s) => [s.t.index, s]));
  const best = new Map();
  const order = spans.slice().sort((a, b) => a.t.level - b.t.level || a.start - b.start);
  for (const s of order) {
    let prev = null, base = 0;
    for (const need of s.t.needs) {
      const b = best.get(need.index);
      if (span.has(need.index) && b && b.total > base) { base = b.total; prev = need.index; }
    }
    best.set(s.t.index, { total: base + (s.end - s.start), prev });
  }
  let end = null, top = -1;
  for (const [index, b] of best) if (b.total > top) { top = b.total; end = index; }
  const path = [];
  for (let i = end; i !== null && i !== undefined; i = best.get(i).prev) path.unshift(i);
  return { path, total: Math.max(0, top) };
}

function niceStep(total, ticks) {
  const raw = total / Math.max(1, ticks);
  const p = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) || p * 10;
}

function axis(g, scale, total, x0, y, height) {
  const width = total * scale;
  const step = niceStep(total, Math.max(2, Math.floor(width / 90)));
  const grid = svg('g', { class: 'grid' });
  const ax = svg('g', { class: 'axis' });
  for (let v = 0; v <= total + 1e-9; v += step) {
    const x = x0 + v * scale;
    grid.append(svg('line', { x1: x, x2: x, y1: y, y2: y + height }));
    ax.append(svg('text', { x, y: y - 4, 'text-anchor': 'middle', text: seconds(v) }));
  }
  g.append(grid, ax);
}

function runChart() {
  if (!run) return;
  const section = $('run-section');
  section.hidden = false;
  $('run-title').textContent = dryRun ? 'Expected schedule (dry run)' : 'Run';
  const spans = timedTasks();
  if (!spans.length) {
    $('run-note').textContent = 'No task of this run started.';
    return;
  }
  const slots = assignSlots(spans, dryRun ? null : num(run.jobs));
  const total = Math.max(dryRun ? num(run.expected_makespan_s) || 0 : wallTime(), ...spans.map((s) => s.end)) || 1;
  const crit = criticalPath(spans);
  const onPath = new Set(crit.path);
  const width = Math.max(640, chartWidth);
  const labelW = 70, top = 24, rowH = 28;
  const scale = (width - labelW - 20) / total;
  const height = top + slots * rowH + 10;
  const chart = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'group', 'aria-label': `${dryRun ? 'Expected schedule' : 'Run'}: ${plural(spans.length, 'task')} on ${plural(slots, 'slot')}, ${seconds(total)}; arrow keys move between bars` });
  axis(chart, scale, total, labelW, top, slots * rowH);
  for (let s = 1; s <= slots; s++) chart.append(svg('text', { class: 'level-label', x: 4, y: top + (s - 1) * rowH + 18, text: `slot ${s}` }));
  const bars = [];
  spans.sort((a, b) => a.start - b.start || (a.t.name < b.t.name ? -1 : 1));
  for (const s of spans) {
    const x = labelW + s.start * scale, y = top + (s.slot - 1) * rowH + 3;
    const w = Math.max(2, (s.end - s.start) * scale);
    const critical = onPath.has(s.t.index);
    const words = `${s.t.name}: ${statusLabel(s.t)}, ${seconds(s.start)} → ${seconds(s.end)} (${seconds(s.end - s.start)})${critical ? ', on the critical path' : ''}`;
    const label = `${STATUS[s.t.status].glyph}${critical ? '◆' : ''} ${s.t.name}`;
    const g = svg('g', {
      class: `bar st-${s.t.status}${critical ? ' critical' : ''}`, role: 'button', tabindex: bars.length ? '-1' : '0',
      'data-name': s.t.name, 'aria-label': words, transform: `translate(${x} ${y})`,
      onclick: () => select(s.t.name, { reveal: true }),
    }, svg('title', { text: words }), svg('rect', { width: w, height: rowH - 6, rx: 3 }));
    if (w > 30) g.append(svg('text', { x: 5, y: 15, text: fit(label, Math.floor((w - 8) / 7)) }));
    chart.append(g);
    bars.push(g);
  }
  rove(chart, bars);
  $('run-chart').replaceChildren(chart);
  const names = crit.path.map((i) => tasks[i].name);
  const notes = [];
  if (dryRun) notes.push(`Expected ${seconds(total)} on ${plural(slots, 'slot')}, from each task's last recorded duration (unknown ones count as the median).`);
  else notes.push(`Wall time ${seconds(total)} on ${plural(slots, 'worker slot')}.`);
  if (names.length) notes.push(`Critical path (◆, outlined): ${fit(names.join(' → '), 400)}, ${seconds(crit.total)}${dryRun ? '' : ` of ${seconds(total)}`}.`);
  const waiting = tasks.filter((t) => t.result === 'skipped').length;
  if (waiting) notes.push(`${plural(waiting, 'kept task')} never started (a need failed or the run stopped): filter by result “skipped”.`);
  $('run-note').textContent = notes.join(' ');
  const legend = $('run-legend');
  legend.replaceChildren();
  const shown = new Set(spans.map((s) => s.t.status));
  for (const st of STATUS_ORDER) if (shown.has(st)) legend.append(el('li', {}, swatch(st), STATUS[st].label));
  legend.append(el('li', {}, el('span', { class: 'swatch st-group', style: 'border: 3px solid var(--critical)', 'aria-hidden': 'true', text: '◆' }), 'critical path'));
  charts.push({
    highlight() {
      for (const b of bars) b.classList.toggle('selected', b.dataset.name === state.task);
    },
  });
}

function shardsChart() {
  if (!shards) return;
  const list = arr(shards.shards).filter((s) => s && typeof s === 'object');
  $('shards-section').hidden = false;
  const bound = num(shards.lower_bound_seconds) || 0;
  const slowest = list.reduce((m, s) => Math.max(m, num(s.expected_seconds) || 0), 0);
  const total = Math.max(slowest, bound) || 1;
  const width = Math.max(640, chartWidth);
  const labelW = 80, rightW = 230, top = 34, rowH = 30;
  const scale = (width - labelW - rightW) / total;
  const height = top + list.length * rowH + 10;
  const chart = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${plural(list.length, 'shard')}: the slowest expects ${seconds(slowest)}, the lower bound is ${seconds(bound)}` });
  axis(chart, scale, total, labelW, top, list.length * rowH);
  const testCount = list.reduce((m, s) => m + arr(s.tests).length, 0);
  const segments = testCount <= 5000;
  list.forEach((s, i) => {
    const y = top + i * rowH + 4, h = rowH - 8;
    const expected = num(s.expected_seconds) || 0;
    const g = svg('g', { class: 'shard' });
    g.append(svg('text', { class: 'level-label', x: 4, y: y + 15, text: `shard ${str(s.index)}` }));
    if (segments) {
      let x = labelW;
      arr(s.tests).forEach((test, j) => {
        const secs = num(test && test.seconds);
        if (secs === null || secs <= 0) return;
        const piece = Array.isArray(test.piece) && test.piece[1] > 1 ? ` (piece ${test.piece[0]}/${test.piece[1]})` : '';
        g.append(svg('rect', { class: `segment${j % 2 ? ' alt' : ''}`, x, y, width: secs * scale, height: h }, svg('title', { text: `${str(test.name)}${piece}: ${seconds(secs)}` })));
        x += secs * scale;
      });
    }
    g.append(svg('rect', { class: `shard-frame${expected === slowest ? ' slowest' : ''}`, x: labelW, y, width: Math.max(1, expected * scale), height: h, rx: 2 },
      svg('title', { text: `shard ${str(s.index)}: ${seconds(expected)} expected, ${plural(arr(s.tests).length, 'test')}` })));
    const ratio = bound > 0 ? ` · ${(expected / bound).toFixed(3)}× bound` : '';
    g.append(svg('text', { x: labelW + expected * scale + 6, y: y + 15, text: `${seconds(expected)}${ratio} · ${plural(arr(s.tests).length, 'test')}` }));
    chart.append(g);
  });
  const bx = labelW + bound * scale;
  chart.append(svg('g', { class: 'bound' }, svg('line', { x1: bx, x2: bx, y1: top - 6, y2: height - 4 }),
    svg('text', { x: bx, y: 12, 'text-anchor': 'middle', text: `lower bound ${seconds(bound)}` })));
  $('shards-chart').replaceChildren(chart);
  const unknown = arr(shards.unknown).length;
  const ratio = bound > 0 ? ` (${(slowest / bound).toFixed(3)}× the bound)` : '';
  $('shards-note').textContent = `Each bar is one shard's expected seconds${segments ? ', split into its tests' : ''}; the dashed line is the lower bound, max(total / shards, the longest piece). Slowest shard ${seconds(slowest)}${ratio}.${unknown ? ` ${plural(unknown, 'test')} had no recorded time and count 0 s.` : ''}${str(shards.times) ? ` Times: ${str(shards.times)}.` : ''}`;
}

// ---------------------------------------------------------------- selection quality

/** Pushes drawn one column each up to this many; beyond, columns are bins. */
const PUSH_COLUMNS = 400;

function qualityChart() {
  const sel = quality.selection || {};
  const pushes = arr(sel.per_push).filter((p) => p && typeof p === 'object' && num(p.number) !== null);
  if (!pushes.length) {
    $('quality-note').textContent = 'No pushes with recorded tasks in this range.';
    return;
  }
  pushes.sort((a, b) => a.number - b.number);
  const binSize = Math.ceil(pushes.length / PUSH_COLUMNS);
  const bins = [];
  for (let i = 0; i < pushes.length; i += binSize) {
    const group = pushes.slice(i, i + binSize);
    bins.push({
      first: group[0].number,
      last: group[group.length - 1].number,
      kept: group.reduce((m, p) => m + (num(p.kept) || 0), 0),
      skipped: group.reduce((m, p) => m + (num(p.skipped) || 0), 0),
      backstop: group.filter((p) => p.backstop).length,
      shadow: group.filter((p) => str(p.mode) === 'shadow').length,
    });
  }
  const binOf = (n) => {
    let lo = 0, hi = bins.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (bins[mid].first <= n) lo = mid; else hi = mid - 1;
    }
    return lo;
  };
  const greens = arr(quality.false_greens).filter((g) => g && typeof g === 'object');
  const width = Math.max(640, chartWidth);
  const left = 50, right = 12, top = 40, plot = 160;
  const colW = (width - left - right) / bins.length;
  const most = bins.reduce((m, b) => Math.max(m, b.kept + b.skipped), 0) || 1;
  const scale = plot / most;
  const height = top + plot + 34;
  const chart = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `Task runs kept and skipped on each of ${plural(pushes.length, 'push', 'pushes')}${binSize > 1 ? `, ${binSize} pushes per column` : ''}; ${plural(greens.length, 'false green')} marked` });
  // The task-run axis.
  const step = niceStep(most, 4);
  const grid = svg('g', { class: 'grid' }), ax = svg('g', { class: 'axis' });
  for (let v = 0; v <= most + 1e-9; v += step) {
    const y = top + plot - v * scale;
    grid.append(svg('line', { x1: left, x2: width - right, y1: y, y2: y }));
    ax.append(svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', text: v.toLocaleString('en') }));
  }
  chart.append(grid, ax);
  // False-green windows: the pushes a skipped failure stayed hidden.
  const windows = svg('g', { class: 'fg-windows' });
  greens.forEach((g) => {
    const w = arr(g.window);
    if (w.length !== 2 || num(w[0]) === null || num(w[1]) === null) return;
    const a = binOf(w[0]), b = binOf(w[1]);
    const words = `${str(g.task)}: broken from #${w[0]}, seen failing on #${w[1]}${g.detected_by ? ` (${str(g.detected_by)} run)` : ''}`;
    windows.append(svg('rect', { class: 'fg-window', x: left + a * colW, y: top - 14, width: Math.max(3, (b - a + 1) * colW), height: plot + 14 }, svg('title', { text: words })));
    windows.append(svg('text', { class: 'fg-label', x: left + a * colW + 2, y: top - 4, text: `✗ ${fit(str(g.task), 24)}` }));
  });
  const columns = svg('g', { class: 'pushes' });
  bins.forEach((b, i) => {
    const x = left + i * colW;
    const w = Math.max(0.6, colW - (colW > 4 ? 1 : 0));
    const keptH = b.kept * scale, skippedH = b.skipped * scale;
    const label = b.first === b.last ? `#${b.first}` : `#${b.first}–#${b.last}`;
    const words = `${label}: ${b.kept.toLocaleString('en')} kept, ${b.skipped.toLocaleString('en')} skipped${b.backstop ? binSize > 1 ? `, ${b.backstop} backstop` : ', backstop push' : ''}${b.shadow ? binSize > 1 ? `, ${b.shadow} shadow` : ', shadow mode' : ''}`;
    const g = svg('g', { class: 'push', 'data-push': b.first }, svg('title', { text: words }));
    g.append(svg('rect', { class: 'kept-part', x, y: top + plot - keptH, width: w, height: keptH }));
    g.append(svg('rect', { class: 'skipped-part', x, y: top + plot - keptH - skippedH, width: w, height: skippedH }));
    if (b.backstop) g.append(svg('text', { class: 'mark backstop', x: x + w / 2, y: top + plot + 14, 'text-anchor': 'middle', text: '▲' }));
    else if (b.shadow) g.append(svg('text', { class: 'mark shadow', x: x + w / 2, y: top + plot + 14, 'text-anchor': 'middle', text: '◇' }));
    columns.append(g);
  });
  // The windows go over the columns, translucent, so they show at any width.
  chart.append(columns, windows);
  chart.append(svg('text', { class: 'level-label', x: left, y: height - 4, text: `push #${bins[0].first}` }));
  chart.append(svg('text', { class: 'level-label', x: width - right, y: height - 4, 'text-anchor': 'end', text: `push #${bins[bins.length - 1].last}` }));
  $('quality-chart').replaceChildren(chart);
  const legend = $('quality-legend');
  legend.replaceChildren(
    el('li', {}, el('span', { class: 'swatch st-kept', 'aria-hidden': 'true', text: '▶' }), 'task runs kept'),
    el('li', {}, el('span', { class: 'swatch st-skipped', 'aria-hidden': 'true', text: '○' }), 'task runs skipped'),
    el('li', {}, el('span', { class: 'legend-mark', 'aria-hidden': 'true', text: '▲' }), 'backstop push'),
    el('li', {}, el('span', { class: 'legend-mark', 'aria-hidden': 'true', text: '◇' }), 'shadow mode'),
    el('li', {}, el('span', { class: 'swatch st-failed', 'aria-hidden': 'true', text: '✗' }), 'a false green: the pushes a skipped failure stayed hidden'),
  );
  const parts = [`Each column is ${binSize > 1 ? `${binSize} pushes` : 'one push'}: the task runs it kept (solid) and skipped (light).`];
  const would = num(sel.would_skip), skipped = num(sel.skipped);
  if (would !== null && skipped !== null && would > skipped) parts.push(`The selection alone would have skipped ${would.toLocaleString('en')} (backstops and shadow mode ran the rest).`);
  const unknown = arr(sel.unknown_durations);
  if (unknown.length) parts.push(`${plural(unknown.length, 'task')} never ran in the range, so ${unknown.length === 1 ? 'its' : 'their'} skipped time is unknown: ${fit(unknown.map(str).join(', '), 200)}.`);
  $('quality-note').textContent = parts.join(' ');
}

function falseGreens() {
  const greens = arr(quality.false_greens).filter((g) => g && typeof g === 'object');
  const box = $('quality-greens');
  if (!greens.length) {
    box.replaceChildren(el('p', { class: 'note', text: 'No false greens: every failure in this range showed on the push that caused it (or no task failed).' }));
    return;
  }
  const items = greens.map((g) => {
    const w = arr(g.window);
    const head = el('h4', {}, el('span', { class: 'swatch st-failed', 'aria-hidden': 'true', text: '✗' }), ' ', el('code', { text: str(g.task) }),
      ` broke on #${str(g.push)}, skipped there, first seen failing on #${str(g.detected)}${g.detected_by ? ` (${str(g.detected_by)} run)` : ''}`);
    const skipped = el('ul', { class: 'chain' }, arr(g.skipped_pushes).map((p) => {
      const files = arr(p.changed_files).map(str);
      const more = (num(p.changed_count) || files.length) - files.length;
      return el('li', {}, el('code', { text: `#${str(p.number)} ${shortSha(p.head)}` }), ' ', str(p.reason),
        files.length ? [el('br'), el('span', { class: 'note', text: `changed: ${files.join(', ')}${more > 0 ? ` and ${more} more` : ''}` })] : []);
    }));
    const chain = arr(g.chain);
    const rules = chain.length ? el('div', {}, el('h5', { text: `Rules on #${str(g.push)}` }), el('ul', { class: 'chain' }, chain.map((c) => el('li', {},
      el('code', { text: str(c.path) }), ': ', arr(c.rules).map(str).join('; ') || 'no rule matched', ' → components ', arr(c.components).map(str).join(', ') || 'none')))) : null;
    const sug = g.suggestion && typeof g.suggestion === 'object' ? g.suggestion : null;
    const fix = sug ? el('div', { class: 'suggestion' }, el('h5', { text: 'Suggestion' }), el('p', { class: 'note', text: str(sug.why) }),
      str(sug.toml) ? el('pre', {}, el('code', { text: str(sug.toml) })) : null) : null;
    return el('li', { class: 'false-green', 'data-task': str(g.task), 'aria-label': `false green: ${str(g.task)} from push ${str(w[0])} to ${str(w[1])}` },
      head, el('h5', { text: `Skipped on ${plural(arr(g.skipped_pushes).length, 'push', 'pushes')}` }), skipped, rules, fix);
  });
  box.replaceChildren(el('ol', { class: 'false-greens' }, items));
}

function qualitySection() {
  if (!quality) return;
  $('quality-section').hidden = false;
  $('quality-verdict').textContent = str(quality.verdict);
  qualityChart();
  falseGreens();
  const rate = quality.rate || {};
  const reg = quality.regressions || {};
  const facts = [];
  if (num(rate.failing_pushes) !== null) {
    const ci = arr(rate.ci95);
    facts.push(`False-green rate: ${(num(rate.missed_failing_pushes) || 0).toLocaleString('en')} of ${plural(rate.failing_pushes, 'failing push', 'failing pushes')}${num(rate.rate) !== null ? ` (${percent(rate.rate, 1)}${ci.length === 2 ? `, 95% CI ${percent(num(ci[0]), 1)}–${percent(num(ci[1]), 1)}` : ''})` : ''}, over ${plural(num(rate.truth_known_pushes) || 0, 'push', 'pushes')} with outcomes.`);
  }
  if (num(reg.total) !== null) facts.push(`Regressions: ${reg.total.toLocaleString('en')} (${(num(reg.caught) || 0).toLocaleString('en')} caught on their push, ${(num(reg.missed) || 0).toLocaleString('en')} missed${num(reg.unknown_start) ? `, ${reg.unknown_start} whose start is unknown` : ''}).`);
  $('quality-rate').textContent = facts.join(' ');
  const flaky = arr(quality.flaky).filter((f) => f && typeof f === 'object');
  $('quality-flaky-title').hidden = !flaky.length;
  $('quality-flaky').replaceChildren(...flaky.map((f) => el('li', {}, el('code', { text: str(f.task) }), ` failed, then passed on a retry, on ${arr(f.pushes).map((n) => `#${str(n)}`).join(', ')}`)));
  const tests = quality.tests && typeof quality.tests === 'object' ? quality.tests : null;
  const apfd = tests && tests.apfd ? tests.apfd : {};
  const first = tests && tests.time_to_first_failure_s ? tests.time_to_first_failure_s : {};
  $('quality-tests').textContent = tests
    ? `${plural(num(tests.failing_runs) || 0, 'task run')} with failing tests, of ${(num(tests.runs) || 0).toLocaleString('en')} with test results: APFD ${num(apfd.sift) === null ? '–' : apfd.sift.toFixed(3)} with sift's order, ${num(apfd.baseline) === null ? '–' : apfd.baseline.toFixed(3)} without; first failure after ${seconds(num(first.sift))} vs ${seconds(num(first.baseline))}.`
    : 'No recorded test results to measure the test order with.';
}

/** One tab stop for a set of items; arrow keys move between them. */
function rove(container, items) {
  container.addEventListener('keydown', (e) => {
    const i = items.indexOf(e.target.closest && e.target.closest('[role="button"]'));
    if (i < 0) return;
    let j = null;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') j = Math.min(items.length - 1, i + 1);
    if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') j = Math.max(0, i - 1);
    if (e.key === 'Home') j = 0;
    if (e.key === 'End') j = items.length - 1;
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); items[i].dispatchEvent(new MouseEvent('click', { bubbles: true })); return; }
    if (j === null) return;
    e.preventDefault();
    items[i].setAttribute('tabindex', '-1');
    items[j].setAttribute('tabindex', '0');
    items[j].focus();
  });
}

// ---------------------------------------------------------------- legend, controls, start

function legend() {
  const shown = new Set(tasks.map((t) => t.status));
  const ul = $('legend');
  for (const st of STATUS_ORDER) if (shown.has(st)) ul.append(el('li', {}, swatch(st), STATUS[st].label));
  if (!shown.size) ul.hidden = true;
}

function syncControls() {
  $('filter-name').value = state.q;
  $('filter-decision').value = state.decision;
  $('filter-result').value = state.result;
  $('filter-level').hidden = state.level === null;
  $('filter-level-text').textContent = state.level === null ? '' : `level ${state.level}`;
}

function refresh() {
  const visible = filtered();
  $('filter-count').textContent = `${visible.length.toLocaleString('en')} of ${plural(tasks.length, 'task')} shown`;
  graph.draw(visible);
  list.set(visible);
  list.highlight(false);
}

function controls() {
  if (run && !dryRun) $('filter-result-label').hidden = false;
  let timer = 0;
  $('filter-name').addEventListener('input', (e) => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.q = e.target.value; writeFragment(); refresh(); }, tasks.length > 2000 ? 180 : 60);
  });
  $('filter-decision').addEventListener('change', (e) => { state.decision = e.target.value; writeFragment(); refresh(); });
  $('filter-result').addEventListener('change', (e) => { state.result = e.target.value; writeFragment(); refresh(); });
  $('filter-level-clear').addEventListener('click', () => { state.level = null; syncControls(); writeFragment(); refresh(); });
  $('filter-clear').addEventListener('click', () => {
    Object.assign(state, { q: '', decision: '', result: '', level: null });
    syncControls();
    writeFragment();
    refresh();
  });
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  window.addEventListener('hashchange', () => {
    const task = state.task;
    readFragment();
    syncControls();
    refresh();
    if (state.task !== task) select(state.task, { reveal: true });
  });
}

function start() {
  if (!tasks.length && !plan) {
    // Shards or quality alone: no tasks to filter, draw or explain.
    for (const id of ['filters', 'workspace', 'tasks-section']) $(id).hidden = true;
  }
  readFragment();
  header();
  legend();
  controls();
  syncControls();
  if (tasks.length > DETAIL_LIMIT) notice(`This report holds ${tasks.length.toLocaleString('en')} tasks: the graph groups them by level and status until the filter leaves ${DETAIL_LIMIT.toLocaleString('en')} or fewer, and the list shows the rows in view.`);
  if (plan && tasks.some((t) => t.plan) && !tasks.some((t) => t.plan && t.plan.why)) notice('The plan has no explanations (make it with sift plan --format json --explain): the why panel shows one-line reasons.');
  refresh();
  runChart();
  shardsChart();
  qualitySection();
  if (state.task !== null) select(state.task, { reveal: true });
  $('main').setAttribute('aria-busy', 'false');
  performance.mark('sift-report-drawn');
  // The first frame painted with everything drawn.
  requestAnimationFrame(() => requestAnimationFrame(() => {
    performance.mark('sift-report-painted');
    document.documentElement.dataset.ready = 'true';
  }));
}

window.addEventListener('error', (e) => notice(`The report could not draw everything: ${e.message}`));
start();
