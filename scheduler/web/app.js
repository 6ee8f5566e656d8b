/* mlq dashboard: plain JavaScript, no build step, no framework.
 *
 * Every piece of data reaches the DOM through textContent or attributes set
 * with setAttribute on elements made here (el()); never innerHTML, so job
 * names, argv, log text and error messages from the API cannot inject markup.
 *
 * The token lives in sessionStorage (this tab only, gone when it closes) and
 * goes with every request as "Authorization: Bearer". A 401 sends the user
 * back to the login form.
 *
 * Views are chosen by the URL hash (#/queue?state=RUNNING, #/job/ID, ...).
 * Each view registers its timers through every(); they all stop when the
 * route changes, so a page left open polls for one view only.
 */
'use strict';

const API = '/api/v1';
const TOKEN_KEY = 'mlq-token';
const STATES = ['PENDING', 'ASSIGNED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);
const QUEUE_REFRESH_MS = 3000;
const LOG_POLL_MS = 1000;
const LOG_CHUNK = 256 * 1024;
/* The log pane keeps the last 2 MiB of text: a browser tab stays responsive
 * however much a job writes; the full log stays available through the API. */
const LOG_KEEP_CHARS = 2 * 1024 * 1024;
const USAGE_SAMPLE_MS = 10000;
const GPU_IDLE_MARK_S = 600;
/* /api/v1/usage walks at most 50 pages of 1,000 jobs per state, so its
 * counts stop there: shown as "50000+", not as the queue's size. */
const USAGE_COUNT_CAP = 50000;
const USAGE_CAP_NOTE = '/api/v1/usage counts at most 50,000 jobs per state';
const USAGE_MAX_SAMPLES = 720; /* two hours at one sample per 10 s */

/* ------------------------------------------------------------ helpers */

/* el('a', {href: '#/x', class: 'y'}, 'text', child...): element with
 * attributes and children; strings become text nodes. */
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'on') {
        for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
      } else {
        e.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

function shortId(id) {
  return typeof id === 'string' ? id.slice(0, 8) : '';
}

function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return String(iso);
  const now = new Date();
  const hms = d.toLocaleTimeString([], {hour12: false});
  if (d.toDateString() === now.toDateString()) return hms;
  return d.toISOString().slice(0, 10) + ' ' + hms;
}

function fmtDur(ms) {
  if (ms === null || ms === undefined || !isFinite(ms) || ms < 0) return '';
  let s = Math.round(ms / 1000);
  if (s < 60) return s + 's';
  let m = Math.floor(s / 60);
  s %= 60;
  if (m < 60) return m + 'm' + String(s).padStart(2, '0') + 's';
  const h = Math.floor(m / 60);
  m %= 60;
  if (h < 48) return h + 'h' + String(m).padStart(2, '0') + 'm';
  return Math.floor(h / 24) + 'd' + (h % 24) + 'h';
}

function fmtBytes(n) {
  if (typeof n !== 'number' || !isFinite(n)) return '';
  const u = ['B', 'K', 'M', 'G', 'T', 'P'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return (i && n < 10 ? n.toFixed(1) : Math.round(n)) + u[i];
}

function fmtNum(n, digits) {
  if (typeof n !== 'number' || !isFinite(n)) return '';
  return Number.isInteger(n) ? String(n) : n.toFixed(digits === undefined ? 1 : digits);
}

/* argv as a shell would need it typed: words with anything but safe
 * characters in single quotes. */
function shellJoin(argv) {
  return (argv || []).map((w) => (/^[A-Za-z0-9_@%+=:,.\/-]+$/.test(w) ? w : "'" + String(w).replace(/'/g, "'\\''") + "'")).join(' ');
}

function stateBadge(s) {
  return el('span', {class: 'state st-' + String(s || '').toLowerCase()}, s || '?');
}

function jobLink(id, text) {
  return el('a', {href: '#/job/' + encodeURIComponent(id), 'data-id': id}, text || shortId(id));
}

function setStatus(text, isError) {
  const s = document.getElementById('status');
  s.textContent = text || '';
  s.classList.toggle('error', !!isError);
}

/* ------------------------------------------------------------ API */

class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

/* Turns a failed response into an ApiError carrying the API's one-line
 * message ({"error": {"code", "message"}}) when there is one. */
async function failure(res) {
  let msg = res.status + ' ' + res.statusText;
  let body = null;
  try {
    body = await res.json();
    if (body && body.error && body.error.message) msg = String(body.error.message);
  } catch (e) {
    /* not JSON: keep the status line */
  }
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin('The token was refused (' + msg + '). Log in again.');
  }
  return new ApiError(res.status, msg, body);
}

async function request(path, opts) {
  const o = Object.assign({}, opts || {});
  o.headers = Object.assign({Authorization: 'Bearer ' + token()}, o.headers || {});
  o.cache = 'no-store';
  return fetch(path.startsWith('/') && !path.startsWith(API) && path !== '/metrics' ? API + path : path, o);
}

async function api(path, opts) {
  const res = await request(path, opts);
  if (!res.ok) throw await failure(res);
  return res.json();
}

function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) p.set(k, v);
  const s = p.toString();
  return s ? '?' + s : '';
}

/* ------------------------------------------------------------ routing */

let timers = [];
let routeGen = 0;

/* every(fn, ms): runs fn now and then every ms until the route changes;
 * never two runs of fn at once (a slow server is not piled on). */
function every(fn, ms) {
  const gen = routeGen;
  let busy = false;
  const tick = async () => {
    if (busy || gen !== routeGen) return;
    busy = true;
    try {
      await fn();
    } catch (e) {
      if (gen === routeGen && !(e && e.name === 'AbortError')) setStatus(String(e.message || e), true);
    } finally {
      busy = false;
    }
  };
  tick();
  timers.push(setInterval(tick, ms));
}

function stopView() {
  routeGen++;
  timers.forEach(clearInterval);
  timers = [];
}

function parseHash() {
  const h = location.hash.replace(/^#\/?/, '');
  const q = h.indexOf('?');
  /* A hand-edited hash may hold a bad %-escape: kept as typed then. */
  const dec = (x) => {
    try {
      return decodeURIComponent(x);
    } catch (e) {
      return x;
    }
  };
  const path = (q < 0 ? h : h.slice(0, q)).split('/').map(dec);
  const params = new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
  return {path, params};
}

function showLogin(message) {
  stopView();
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('view').hidden = true;
  document.getElementById('login').hidden = false;
  document.getElementById('login-error').textContent = message || '';
  setStatus('');
  /* The next token may be someone else's: nothing of this one's data stays. */
  usageSamples.length = 0;
  clear(document.getElementById('view'));
  document.getElementById('token').focus();
}

function route() {
  if (!token()) {
    showLogin();
    return;
  }
  stopView();
  document.getElementById('login').hidden = true;
  document.getElementById('nav').hidden = false;
  document.getElementById('logout').hidden = false;
  const view = clear(document.getElementById('view'));
  view.hidden = false;
  setStatus('');
  const {path, params} = parseHash();
  const name = path[0] || 'queue';
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.dataset.route === name || (name === 'job' && a.dataset.route === 'queue'));
  }
  const views = {queue: viewQueue, job: viewJob, workers: viewWorkers, usage: viewUsage, schedules: viewSchedules};
  (views[name] || viewQueue)(view, params, path);
}

/* ------------------------------------------------------------ queue */

/* Live counts by state. The list endpoint pages, so it cannot count 100,000
 * jobs cheaply. Counts come, in this order, from the list reply's "counts"
 * (if a server sends them), from the jobs-by-state gauge of /metrics (every
 * state, whole cluster), or from /api/v1/usage (pending and running only,
 * per user). The bar says which, and never shows the counts of one page as
 * if they were the queue's. */
async function fetchCounts(listReply, user, pool) {
  if (listReply && listReply.counts && typeof listReply.counts === 'object') return {counts: listReply.counts, src: 'api'};
  const res = await request('/metrics').catch(() => null);
  if (res && res.ok) {
    const text = await res.text();
    const counts = {};
    let seen = false;
    for (const line of text.split('\n')) {
      const m = /^mlq_jobs(?:_by_state)?\{([^}]*)\}\s+([0-9.eE+-]+)/.exec(line);
      if (!m) continue;
      const st = /(?:^|,)state="([A-Z_]+)"/.exec(m[1]);
      if (!st) continue;
      const pl = /(?:^|,)pool="((?:[^"\\]|\\.)*)"/.exec(m[1]);
      if (pool && (!pl || pl[1] !== pool)) continue;
      counts[st[1]] = (counts[st[1]] || 0) + Number(m[2]);
      seen = true;
    }
    if (seen) return {counts, src: 'metrics'};
  }
  const u = await api('/usage').catch(() => null);
  if (u && Array.isArray(u.users)) {
    const counts = {PENDING: 0, RUNNING: 0};
    for (const r of u.users) {
      if (user && r.user !== user) continue;
      counts.PENDING += r.pending || 0;
      counts.RUNNING += r.running || 0;
    }
    return {counts, src: 'usage'};
  }
  return null;
}

function viewQueue(view, params) {
  const filt = {
    user: params.get('user') || '',
    state: params.get('state') || '',
    pool: params.get('pool') || '',
    name: params.get('name') || '',
  };
  const limit = Math.min(Math.max(parseInt(params.get('limit'), 10) || 50, 10), 500);
  /* Cursors of the pages seen so far: [null (first page), next1, next2...]. */
  const cursors = [null];
  let page = 0;
  let countsOk = true;
  let countsSrc = '';
  let countsAt = 0;

  const input = (k, label, ph) =>
    el('label', null, label, el('input', {name: k, value: filt[k], placeholder: ph, size: 12, spellcheck: 'false'}));
  const stateSel = el('select', {name: 'state'}, el('option', {value: ''}, 'any'),
    STATES.map((s) => el('option', {value: s, selected: s === filt.state}, s)));
  const form = el('form', {class: 'filters', id: 'filters'},
    input('user', 'User ', 'anyone'), el('label', null, 'State ', stateSel), input('pool', 'Pool ', 'any'),
    input('name', 'Name ', 'any'), el('button', {type: 'submit'}, 'Filter'),
    el('a', {href: '#/queue', class: 'reset'}, 'reset'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const p = {};
    for (const k of ['user', 'state', 'pool', 'name']) p[k] = (fd.get(k) || '').trim();
    if (limit !== 50) p.limit = limit;
    location.hash = '#/queue' + qs(p);
  });

  const counts = el('div', {class: 'counts', id: 'counts'});
  const tbody = el('tbody');
  const table = el('table', {class: 'jobs', id: 'jobs'},
    el('thead', null, el('tr', null, ['ID', 'Name', 'User', 'State', 'Worker', 'Res.', 'Submitted', 'Waited / ran', 'Exit']
      .map((h) => el('th', null, h)))), tbody);
  const prev = el('button', {type: 'button', id: 'prev', disabled: true}, '\u2190 Newer');
  const next = el('button', {type: 'button', id: 'next', disabled: true}, 'Older \u2192');
  const pageInfo = el('span', {class: 'pageinfo', id: 'pageinfo'});
  const pager = el('div', {class: 'pager'}, prev, pageInfo, next);
  /* The pager sits above the table: it stays in view with a full page. */
  view.append(el('h1', null, 'Queue'), form, counts, pager, table);

  const fillCounts = (c) => {
    clear(counts);
    if (!c) {
      counts.append(el('span', {class: 'muted'}, 'Counts by state are not available from this server.'));
      return;
    }
    let total = 0;
    const shown = c.src === 'usage' ? ['PENDING', 'RUNNING'] : STATES;
    for (const s of shown) total += c.counts[s] || 0;
    for (const s of shown) {
      const n = c.counts[s] || 0;
      const capped = c.src === 'usage' && n >= USAGE_COUNT_CAP;
      const p = Object.assign({}, filt, {state: s === filt.state ? '' : s});
      counts.append(el('a', {href: '#/queue' + qs(p), class: 'count' + (s === filt.state ? ' on' : ''), 'data-state': s},
        stateBadge(s), ' ', el('b', {'data-count': s, title: capped ? USAGE_CAP_NOTE : null}, String(n) + (capped ? '+' : ''))));
    }
    counts.append(el('span', {class: 'muted', id: 'counts-src'}, c.src === 'usage'
      ? ' ' + total + ' active jobs' + (filt.user ? ' of ' + filt.user : '') + ' (from /api/v1/usage: pending and running only; other filters not applied)'
      : ' ' + total + (total === 1 ? ' job' : ' jobs') + (c.src === 'metrics' ? ' (from /metrics' + (filt.pool ? ', pool ' + filt.pool : ', all pools') +
        ', all users; ended states count since the scheduler started)' : '')));
  };

  const fillRows = (jobs) => {
    const now = Date.now();
    const rows = jobs.map((j) => {
      const sub = Date.parse(j.submit_time);
      const st = Date.parse(j.start_time);
      const en = Date.parse(j.end_time);
      let times = '';
      if (!isNaN(st)) times = fmtDur(st - sub) + ' / ' + fmtDur((isNaN(en) ? now : en) - st);
      else if (!isNaN(sub)) times = fmtDur(now - sub) + ' waiting';
      const res = [j.cpus ? fmtNum(j.cpus) + 'c' : '', j.mem ? fmtBytes(j.mem) : '', j.gpus ? j.gpus + 'g' : '']
        .filter(Boolean).join(' ');
      return el('tr', {'data-id': j.id, 'data-state': j.state},
        el('td', {class: 'mono'}, jobLink(j.id)),
        el('td', {class: 'name', title: shellJoin(j.argv)}, (j.name || shellJoin(j.argv)) +
          (j.array_id && j.array_index !== null && j.array_index !== undefined ? ' [' + j.array_index + ']' : '')),
        el('td', null, j.owner || ''),
        el('td', {title: j.reason || ''}, stateBadge(j.state)),
        el('td', null, j.worker || ''),
        el('td', {class: 'mono'}, res),
        el('td', null, fmtTime(j.submit_time)),
        el('td', null, times),
        el('td', null, j.exit_code !== null && j.exit_code !== undefined ? String(j.exit_code)
          : j.signal ? 'sig ' + j.signal : ''));
    });
    clear(tbody);
    if (rows.length === 0) tbody.append(el('tr', null, el('td', {colspan: 9, class: 'muted'}, 'No jobs match.')));
    else tbody.append(...rows);
  };

  const load = async () => {
    const q = Object.assign({}, filt, {limit, cursor: cursors[page]});
    const r = await api('/jobs' + qs(q));
    fillRows(Array.isArray(r.jobs) ? r.jobs : []);
    if (typeof r.next === 'string' && r.next) cursors[page + 1] = r.next;
    else cursors.length = page + 1;
    prev.disabled = page === 0;
    next.disabled = cursors.length <= page + 1;
    pageInfo.textContent = 'page ' + (page + 1) + ' \u00b7 ' + limit + ' per page';
    /* For tests and the load-time bench: when the table was last filled,
     * and when first (epoch ms, comparable with performance.timeOrigin). */
    table.setAttribute('data-loaded', String(Date.now()));
    if (!table.hasAttribute('data-first')) table.setAttribute('data-first', table.getAttribute('data-loaded'));
    setStatus('updated ' + fmtTime(new Date().toISOString()));
    /* /api/v1/usage walks the active jobs page by page on the server:
     * asked for counts at most every 15 s, not at every refresh. */
    if (countsOk && !(countsSrc === 'usage' && Date.now() - countsAt < 15000)) {
      const c = await fetchCounts(r, filt.user, filt.pool).catch(() => null);
      if (!c) countsOk = false;
      countsSrc = c ? c.src : '';
      countsAt = Date.now();
      fillCounts(c);
    }
  };
  prev.addEventListener('click', () => {
    if (page > 0) page--;
    load().catch((e) => setStatus(e.message, true));
  });
  next.addEventListener('click', () => {
    if (cursors.length > page + 1) page++;
    load().catch((e) => setStatus(e.message, true));
  });
  every(load, QUEUE_REFRESH_MS);
}

/* ------------------------------------------------------------ one job */

function defList(pairs) {
  const dl = el('dl', {class: 'kv'});
  for (const [k, v] of pairs) {
    if (v === null || v === undefined || v === '') continue;
    dl.append(el('dt', null, k), el('dd', null, v));
  }
  return dl;
}

function viewJob(view, params, path) {
  const id = path[1] || '';
  const head = el('h1', null, 'Job ', el('span', {class: 'mono'}, shortId(id)));
  const actions = el('div', {class: 'actions'});
  const spec = el('div', {class: 'spec', id: 'spec'});
  const why = el('div', {class: 'why', id: 'why'});
  const attempts = el('div', {id: 'attempts'});
  const streamSel = el('select', {id: 'log-stream'}, el('option', {value: 'stdout'}, 'stdout'),
    el('option', {value: 'stderr'}, 'stderr'));
  const follow = el('input', {type: 'checkbox', id: 'log-follow', checked: true});
  const logInfo = el('span', {class: 'muted', id: 'log-info'});
  const logPre = el('pre', {class: 'log', id: 'log'});
  view.append(head, actions, el('div', {class: 'cols'}, el('div', null, spec, why),
    el('div', null, el('h2', null, 'Attempts'), attempts)),
  el('h2', {id: 'log-head'}, 'Log ', streamSel, el('label', {class: 'small'}, follow, ' follow'), ' ', logInfo), logPre);

  let job = null;
  const gen = routeGen;

  const render = (j) => {
    job = j;
    clear(head).append('Job ', el('span', {class: 'mono'}, j.id), ' ', stateBadge(j.state));
    head.setAttribute('data-state', j.state);
    clear(spec).append(defList([
      ['Name', j.name],
      ['Owner', j.owner],
      ['Command', el('code', null, shellJoin(j.argv))],
      ['Workdir', j.workdir],
      ['Resources', [fmtNum(j.cpus) + ' CPUs', fmtBytes(j.mem) + ' memory', (j.gpus || 0) + ' GPUs'].join(', ')],
      ['Pool', j.pool],
      ['Reason', j.reason],
      ['Submitted', fmtTime(j.submit_time)],
      ['Started', fmtTime(j.start_time)],
      ['Ended', fmtTime(j.end_time)],
      ['Worker', j.worker],
      ['GPU ids', (j.gpu_ids || []).length ? j.gpu_ids.join(', ') : ''],
      ['Exit', j.exit_code !== null && j.exit_code !== undefined ? String(j.exit_code) : j.signal ? 'signal ' + j.signal : ''],
      ['Retries', j.retries ? (j.retries_used || 0) + ' of ' + j.retries : ''],
      ['Time limit', j.time_limit ? fmtDur(j.time_limit * 1000) : ''],
      ['Not before', fmtTime(j.not_before)],
      ['Array', j.array_id ? el('span', null, el('a', {href: '#/queue' + qs({name: j.name || ''})}, shortId(j.array_id)), ' [' + j.array_index + ']') : ''],
      ['After', (j.deps || []).length ? el('span', null, j.deps.map((d) => {
        const did = typeof d === 'string' ? d : d && (d.id || d.job_id);
        return did ? el('span', null, jobLink(did), ' ') : JSON.stringify(d) + ' ';
      })) : ''],
    ]));
    const rows = (j.attempts || []).map((a) => el('tr', null,
      el('td', null, String(a.num)), el('td', null, a.worker || ''), el('td', null, stateBadge(a.state)),
      el('td', null, fmtTime(a.start_time)), el('td', null, fmtTime(a.end_time)),
      el('td', null, a.exit_code !== null && a.exit_code !== undefined ? String(a.exit_code) : a.signal ? 'sig ' + a.signal : ''),
      el('td', null, a.detail || '')));
    clear(attempts).append(rows.length
      ? el('table', {class: 'small'}, el('thead', null, el('tr', null,
        ['#', 'Worker', 'State', 'Started', 'Ended', 'Exit', 'Detail'].map((h) => el('th', null, h)))), el('tbody', null, rows))
      : el('p', {class: 'muted'}, j.attempts === null ? 'Attempts not sent for this job.' : 'No attempt yet.'));
    clear(actions);
    if (!TERMINAL.has(j.state)) {
      /* The server decides who may cancel (owner or admin); a refusal shows
       * its message. */
      const btn = el('button', {type: 'button', id: 'cancel', class: 'danger'}, 'Cancel job');
      btn.addEventListener('click', async () => {
        if (!confirm('Cancel job ' + shortId(j.id) + '?')) return;
        btn.disabled = true;
        try {
          await api('/jobs/' + encodeURIComponent(j.id) + '/cancel', {method: 'POST'});
          setStatus('cancel sent');
          refresh();
        } catch (e) {
          setStatus('cancel: ' + e.message, true);
          btn.disabled = false;
        }
      });
      actions.append(btn);
    }
  };

  /* An array id shows the array: its size, its tasks by state, and a link
   * to its tasks in the queue (they carry the array's name). */
  const renderArray = (x) => {
    clear(head).append('Array ', el('span', {class: 'mono'}, x.id), ' ',
      x.done ? stateBadge(x.succeeded ? 'SUCCEEDED' : 'FAILED') : stateBadge('RUNNING'));
    head.setAttribute('data-state', x.done ? (x.succeeded ? 'SUCCEEDED' : 'FAILED') : 'ACTIVE');
    const counts = el('span', null, STATES.filter((st) => x.counts[st]).map((st) =>
      el('span', {class: 'run'}, stateBadge(st), ' ' + x.counts[st])));
    clear(spec).append(defList([
      ['Name', x.name ? el('a', {href: '#/queue' + qs({name: x.name})}, x.name) : ''],
      ['Owner', x.owner],
      ['Command', el('code', null, shellJoin(x.argv))],
      ['Tasks', String(x.size)],
      ['By state', counts],
      ['At most running', x.max_running !== null && x.max_running !== undefined ? String(x.max_running) : ''],
      ['Submitted', fmtTime(x.submit_time)],
      ['Failed', x.failed],
    ]));
    clear(actions);
    clear(attempts).append(el('p', {class: 'muted'}, 'An array: open one of its tasks for its attempts and log.'));
    logPre.hidden = true;
    document.getElementById('log-head').hidden = true;
    eof = true;
  };

  const refresh = async () => {
    let j;
    try {
      j = await api('/jobs/' + encodeURIComponent(id));
    } catch (e) {
      if (e.status === 404) {
        clear(spec).append(el('p', {class: 'error'}, 'No job ' + id + ' (' + e.message + ').'));
        stopView();
        return;
      }
      throw e;
    }
    if (gen !== routeGen) return;
    if (j && typeof j.size === 'number' && j.counts && typeof j.counts === 'object') {
      renderArray(j);
      return;
    }
    render(j);
    if (j.state === 'PENDING') {
      const w = await api('/jobs/' + encodeURIComponent(j.id) + '/why').catch(() => null);
      clear(why);
      if (w) {
        why.append(el('h2', null, 'Why it waits'), el('p', null, w.text || w.blocker || ''),
          defList([['Blocker', w.blocker], ['Closest worker', w.closest_worker],
            ['Lacks', w.lacks && typeof w.lacks === 'object' ? JSON.stringify(w.lacks) : w.lacks],
            ['Jobs ahead', w.ahead !== undefined && w.ahead !== null ? String(w.ahead) : '']]));
      }
    } else {
      clear(why);
    }
  };
  every(refresh, 2000);

  /* The log, by offset polling: each read asks for the bytes after the
   * ones already shown (the server's X-Mlq-Next-Offset says where the next
   * read starts). Bytes are counted on the raw body; a multi-byte character
   * split between two reads is joined by the streaming TextDecoder. Polling
   * stops when the server says X-Mlq-Eof: 1 (the job ended and nothing
   * follows). */
  let offset = 0;
  let decoder = new TextDecoder('utf-8');
  let stream = 'stdout';
  let logGen = 0;
  let eof = false;
  const logTick = async () => {
    /* Not before the job is known: an array's id has no log. */
    if (eof || !job || (!follow.checked && offset > 0)) return;
    const myGen = logGen;
    for (let i = 0; i < 16; i++) {
      const res = await request('/jobs/' + encodeURIComponent(id) + '/logs' + qs({stream, offset, max: LOG_CHUNK}));
      if (myGen !== logGen) return;
      if (res.status === 404 || res.status === 409) {
        logInfo.textContent = 'no log yet';
        return;
      }
      if (res.status === 403) {
        /* Someone else's job: its output is its owner's (and admins'). */
        logInfo.textContent = 'this log is not yours to read';
        eof = true;
        return;
      }
      if (!res.ok) throw await failure(res);
      const buf = new Uint8Array(await res.arrayBuffer());
      if (myGen !== logGen) return;
      const nextHdr = parseInt(res.headers.get('X-Mlq-Next-Offset'), 10);
      eof = res.headers.get('X-Mlq-Eof') === '1';
      if (buf.length > 0) {
        let text = logPre.textContent + decoder.decode(buf, {stream: !eof});
        if (text.length > LOG_KEEP_CHARS) text = '\u2026(earlier output not shown)\n' + text.slice(text.length - LOG_KEEP_CHARS);
        const atBottom = logPre.scrollTop + logPre.clientHeight >= logPre.scrollHeight - 4;
        logPre.textContent = text;
        if (atBottom) logPre.scrollTop = logPre.scrollHeight;
      }
      offset = Number.isFinite(nextHdr) && nextHdr >= offset ? nextHdr : offset + buf.length;
      logInfo.textContent = offset + ' bytes' + (eof ? ', job ended' : ', following');
      logPre.setAttribute('data-offset', String(offset));
      if (eof) logPre.setAttribute('data-eof', '1');
      if (eof || buf.length < LOG_CHUNK) break;
    }
  };
  streamSel.addEventListener('change', () => {
    stream = streamSel.value;
    offset = 0;
    eof = false;
    logPre.removeAttribute('data-eof');
    logGen++;
    decoder = new TextDecoder('utf-8');
    logPre.textContent = '';
    logTick().catch((e) => setStatus(e.message, true));
  });
  every(logTick, LOG_POLL_MS);
}

/* ------------------------------------------------------------ workers */

/* Utilisation fields as workers report them (only where the worker measured
 * them, e.g. NVML; absent otherwise, and then the cell stays empty). */
function gpuUtil(g) {
  return typeof g.util === 'number' ? g.util : null;
}

function bar(used, total, label) {
  const pct = total > 0 ? Math.min(100, (100 * used) / total) : 0;
  return el('span', {class: 'bar', title: label},
    el('span', {class: 'fill', style: null, 'data-pct': String(Math.round(pct))}), el('span', {class: 'barlabel'}, label));
}

/* Widths are set through the CSSOM (not a style attribute): the page's CSP
 * allows no inline style attributes. */
function sizeBars(root) {
  for (const f of root.querySelectorAll('.bar .fill')) f.style.width = f.dataset.pct + '%';
}

function viewWorkers(view) {
  const summary = el('div', {class: 'counts', id: 'worker-summary'});
  const box = el('div', {id: 'workers'});
  view.append(el('h1', null, 'Workers'), summary, box);
  every(async () => {
    const r = await api('/workers');
    const ws = Array.isArray(r.workers) ? r.workers : [];
    let gpus = 0, used = 0, up = 0, drained = 0, bad = 0;
    for (const w of ws) {
      gpus += w.gpus || 0;
      used += w.gpus_used || 0;
      if (w.state === 'UP') up++;
      if (w.draining) drained++;
      if (w.unhealthy) bad++;
    }
    clear(summary).append(el('span', null, ws.length + ' workers, ' + up + ' up, ' + drained + ' draining, ' + bad +
      ' unhealthy \u00b7 GPUs ' + used + ' of ' + gpus + ' allocated'));
    const rows = [];
    for (const w of ws) {
      const flags = [];
      if (w.draining) flags.push(el('span', {class: 'flag drain', title: w.drain_reason || ''}, 'draining' + (w.drain_reason ? ': ' + w.drain_reason : '')));
      if (w.unhealthy) flags.push(el('span', {class: 'flag bad', title: w.health || ''}, 'unhealthy' + (w.health ? ': ' + w.health : '')));
      rows.push(el('tr', {'data-worker': w.name},
        el('td', null, el('b', null, w.name)), el('td', null, stateBadge(w.state)),
        el('td', {class: 'addr'}, w.addr || ''), el('td', null, w.pool || ''),
        el('td', null, bar(w.cpus_used || 0, w.cpus || 0, fmtNum(w.cpus_used || 0) + ' / ' + fmtNum(w.cpus || 0))),
        el('td', null, bar(w.mem_used || 0, w.mem || 0, fmtBytes(w.mem_used || 0) + ' / ' + fmtBytes(w.mem || 0))),
        el('td', null, bar(w.gpus_used || 0, w.gpus || 0, (w.gpus_used || 0) + ' / ' + (w.gpus || 0))),
        el('td', null, String(w.running || 0)),
        el('td', null, fmtTime(w.last_seen)),
        el('td', null, flags, (w.labels || []).map((l) => el('span', {class: 'label'}, l)))));
      const gl = Array.isArray(w.gpu_list) ? w.gpu_list : [];
      if (gl.length) {
        const cells = gl.map((g) => {
          const u = gpuUtil(g);
          const mu = typeof g.mem_used === 'number' ? g.mem_used : null;
          /* Seconds a held GPU has read 0% (idle_seconds, where the worker
           * reads NVML); marked IDLE from 10 minutes on, as `mlq workers
           * --gpus` marks it. */
          const idle = typeof g.idle_seconds === 'number' ? g.idle_seconds : null;
          const isIdle = !!g.job_id && idle !== null && idle >= GPU_IDLE_MARK_S;
          return el('div', {class: 'gpu' + (g.job_id ? ' busy' : '') + (isIdle ? ' idle' : '')},
            el('div', null, el('b', null, 'GPU ' + g.index), ' ', g.type || g.model || ''),
            el('div', {class: 'muted'}, g.mem ? fmtBytes(g.mem) : ''),
            el('div', null, g.job_id ? jobLink(g.job_id) : el('span', {class: 'muted'}, 'free')),
            el('div', null, u !== null ? 'util ' + fmtNum(u, 0) + '%' : el('span', {class: 'muted'}, 'util not reported')),
            mu !== null ? el('div', {class: 'muted'}, 'mem ' + fmtBytes(mu)) : null,
            isIdle ? el('div', {class: 'flag drain', 'data-idle': String(idle)}, 'IDLE ' + fmtDur(idle * 1000)) : null);
        });
        rows.push(el('tr', {class: 'gpurow'}, el('td', {colspan: 10}, el('div', {class: 'gpus'}, cells))));
      }
    }
    const table = el('table', {class: 'workers'},
      el('thead', null, el('tr', null, ['Name', 'State', 'Address', 'Pool', 'CPUs', 'Memory', 'GPUs', 'Running', 'Last seen', '']
        .map((h) => el('th', null, h)))),
      el('tbody', null, rows.length ? rows : el('tr', null, el('td', {colspan: 10, class: 'muted'}, 'No workers.'))));
    clear(box).append(table);
    sizeBars(box);
    setStatus('updated ' + fmtTime(new Date().toISOString()));
  }, 5000);
}

/* ------------------------------------------------------------ usage */

/* Usage per user comes from /api/v1/usage (fair-share use, running and
 * pending jobs, CPUs and GPUs held, per user, now). Usage per pool comes
 * from /api/v1/workers (CPUs and GPUs allocated and jobs running, summed over
 * each pool's workers, now). Neither gives history, so the chart is drawn
 * from samples this page takes while it is open; the note under the title
 * says so. The samples are kept for the tab's life (not per view), so going
 * to another page and back keeps them. */
const usageSamples = [];

function poolRows(workers) {
  const m = new Map();
  for (const w of workers) {
    const k = w.pool || 'default';
    const r = m.get(k) || {pool: k, workers: 0, running: 0, cpus_used: 0, cpus: 0, gpus_used: 0, gpus: 0};
    r.workers++;
    r.running += w.running || 0;
    r.cpus_used += w.cpus_used || 0;
    r.cpus += w.cpus || 0;
    r.gpus_used += w.gpus_used || 0;
    r.gpus += w.gpus || 0;
    m.set(k, r);
  }
  return [...m.values()].sort((x, y) => (x.pool < y.pool ? -1 : 1));
}

const USAGE_MODES = {
  user: {key: 'user', metrics: ['gpus', 'cpus', 'mem', 'running', 'pending', 'core_seconds', 'penalty'], pref: 'gpus',
    src: '/api/v1/usage', label: {gpus: 'GPUs held', cpus: 'CPUs held', mem: 'memory held', running: 'running jobs',
      pending: 'pending jobs', core_seconds: 'fair-share use (decayed weighted core-seconds)', penalty: 'fair-share priority penalty'}},
  pool: {key: 'pool', metrics: ['gpus_used', 'cpus_used', 'running', 'gpus', 'cpus', 'workers'], pref: 'gpus_used',
    src: '/api/v1/workers', label: {gpus_used: 'GPUs allocated', cpus_used: 'CPUs allocated', running: 'running jobs', gpus: 'GPUs in the pool', cpus: 'CPUs in the pool', workers: 'workers'}},
};

function viewUsage(view) {
  const metricSel = el('select', {id: 'usage-metric'});
  const byUser = el('input', {type: 'radio', name: 'by', value: 'user', checked: true, id: 'by-user'});
  const byPool = el('input', {type: 'radio', name: 'by', value: 'pool', id: 'by-pool'});
  const note = el('p', {class: 'muted', id: 'usage-note'});
  const canvas = el('canvas', {id: 'usage-chart', width: 900, height: 280});
  const legend = el('div', {class: 'legend'});
  const tableBox = el('div', {id: 'usage-table'});
  view.append(el('h1', null, 'Usage'),
    el('div', {class: 'filters'}, el('label', null, byUser, ' per user'), el('label', null, byPool, ' per pool'),
      el('label', null, 'Show ', metricSel)),
    note, canvas, legend, tableBox);

  const mode = () => USAGE_MODES[byPool.checked ? 'pool' : 'user'];
  const fillMetrics = () => {
    const md = mode();
    clear(metricSel).append(...md.metrics.map((m) => el('option', {value: m}, md.label[m])));
    metricSel.value = md.pref;
  };

  const draw = () => {
    const md = mode();
    const metric = metricSel.value;
    /* One series per user (or pool); a key missing from a sample is 0 then
     * (a user with no jobs is not listed by /usage). */
    const names = new Set();
    for (const s of usageSamples) for (const row of s[md.key]) names.add(row[md.key]);
    const keys = [...names].sort();
    const series = usageSamples.map((s) => {
      const m = new Map();
      for (const row of s[md.key]) if (typeof row[metric] === 'number') m.set(row[md.key], row[metric]);
      return {t: s.t, m};
    });
    const ctx = canvas.getContext('2d');
    const dpr = window.devicePixelRatio || 1;
    const W = canvas.clientWidth || 900, H = canvas.clientHeight || 280;
    canvas.width = W * dpr;
    canvas.height = H * dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const L = 56, R = 10, T = 10, B = 24;
    let max = 0;
    for (const s of series) for (const v of s.m.values()) max = Math.max(max, v);
    if (max <= 0) max = 1;
    const t0 = series.length ? series[0].t : Date.now();
    const t1 = series.length > 1 ? series[series.length - 1].t : t0 + USAGE_SAMPLE_MS;
    const x = (t) => L + ((W - L - R) * (t - t0)) / Math.max(1, t1 - t0);
    const y = (v) => H - B - ((H - T - B) * v) / max;
    ctx.strokeStyle = '#ccc';
    ctx.fillStyle = '#555';
    ctx.font = '11px sans-serif';
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      ctx.beginPath();
      ctx.moveTo(L, y(v));
      ctx.lineTo(W - R, y(v));
      ctx.stroke();
      ctx.fillText(fmtNum(v, max <= 4 ? 2 : v < 10 ? 1 : 0), 4, y(v) + 4);
    }
    ctx.fillText(fmtTime(new Date(t0).toISOString()), L, H - 6);
    const endLabel = fmtTime(new Date(t1).toISOString());
    ctx.fillText(endLabel, W - R - ctx.measureText(endLabel).width, H - 6);
    clear(legend);
    keys.forEach((k, i) => {
      const colour = 'hsl(' + ((i * 137) % 360) + ',65%,42%)';
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2;
      ctx.beginPath();
      series.forEach((s, n) => {
        const v = s.m.get(k) || 0;
        if (n === 0) ctx.moveTo(x(s.t), y(v));
        else ctx.lineTo(x(s.t), y(v));
      });
      if (series.length === 1) ctx.lineTo(x(t1), y(series[0].m.get(k) || 0));
      ctx.stroke();
      const sw = el('span', {class: 'swatch'});
      sw.style.background = colour;
      legend.append(el('span', {class: 'legend-item', 'data-series': k}, sw, k));
    });
    canvas.setAttribute('data-samples', String(series.length));
    canvas.setAttribute('data-series', String(keys.length));
  };

  const fillTable = () => {
    const md = mode();
    const last = usageSamples[usageSamples.length - 1];
    const rows = last ? last[md.key] : [];
    const cols = [md.key, ...md.metrics];
    clear(tableBox).append(el('h2', null, 'Now (' + md.src + ')'), el('table', {class: 'small'},
      el('thead', null, el('tr', null, cols.map((c) => el('th', null, md.label[c] || c)))),
      el('tbody', null, rows.length ? rows.map((r) => el('tr', null, cols.map((c) =>
        el('td', null, typeof r[c] === 'number' ? (c === 'mem' ? fmtBytes(r[c]) : fmtNum(r[c], 2))
          : String(r[c] === undefined || r[c] === null ? '' : r[c])))))
        : el('tr', null, el('td', {colspan: cols.length, class: 'muted'}, 'Nothing to show.')))));
  };

  const redraw = () => {
    const md = mode();
    note.textContent = 'Per ' + md.key + ', from ' + md.src + ', which reports the present only. The chart is sampled by ' +
      'this page every ' + USAGE_SAMPLE_MS / 1000 + ' s while it is open' +
      (usageSamples.length ? ' (since ' + fmtTime(new Date(usageSamples[0].t).toISOString()) + ', ' + usageSamples.length +
        ' samples)' : '') + '; it shows nothing from before and nothing while the page was closed.';
    fillTable();
    draw();
  };

  const sample = async () => {
    const [u, w] = await Promise.all([api('/usage'), api('/workers')]);
    usageSamples.push({
      t: Date.now(),
      user: (u && Array.isArray(u.users) ? u.users : []).filter((r) => r && typeof r.user === 'string'),
      pool: poolRows(w && Array.isArray(w.workers) ? w.workers : []),
    });
    if (usageSamples.length > USAGE_MAX_SAMPLES) usageSamples.splice(0, usageSamples.length - USAGE_MAX_SAMPLES);
    redraw();
    setStatus('updated ' + fmtTime(new Date().toISOString()));
  };
  fillMetrics();
  metricSel.addEventListener('change', redraw);
  byUser.addEventListener('change', () => { fillMetrics(); redraw(); });
  byPool.addEventListener('change', () => { fillMetrics(); redraw(); });
  every(sample, USAGE_SAMPLE_MS);
}

/* ------------------------------------------------------------ schedules */

function viewSchedules(view) {
  const box = el('div', {id: 'schedules'});
  view.append(el('h1', null, 'Schedules'), box);
  every(async () => {
    const r = await api('/schedules');
    const ss = Array.isArray(r.schedules) ? r.schedules : [];
    const now = Date.now();
    const rows = ss.map((s) => {
      const fires = (s.next_fires || []).slice(0, 3).map((f) => {
        const t = Date.parse(f);
        return el('div', null, fmtTime(f), el('span', {class: 'muted'}, isNaN(t) ? '' : ' in ' + fmtDur(t - now)));
      });
      const runs = (s.runs || []).slice(-5).map((x) => el('span', {class: 'run'}, jobLink(x.job_id), ' ', stateBadge(x.state)));
      return el('tr', {'data-schedule': s.name},
        el('td', null, el('b', null, s.name || '')), el('td', {class: 'mono'}, s.cron || ''), el('td', null, s.timezone || ''),
        el('td', null, s.paused ? el('span', {class: 'flag drain'}, 'paused') : 'active'),
        el('td', {title: shellJoin(s.argv)}, s.job_name || shellJoin(s.argv)),
        el('td', null, s.paused ? el('span', {class: 'muted'}, 'paused') : fires),
        el('td', null, runs));
    });
    clear(box).append(el('table', null,
      el('thead', null, el('tr', null, ['Name', 'Cron', 'Zone', 'State', 'Job', 'Next fires', 'Recent runs'].map((h) => el('th', null, h)))),
      el('tbody', null, rows.length ? rows : el('tr', null, el('td', {colspan: 7, class: 'muted'}, 'No schedules.')))));
    setStatus('updated ' + fmtTime(new Date().toISOString()));
  }, 10000);
}

/* ------------------------------------------------------------ start */

document.getElementById('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const t = document.getElementById('token').value.trim();
  const err = document.getElementById('login-error');
  err.textContent = '';
  if (!t) return;
  /* Check the token before keeping it: one cheap authenticated request. */
  try {
    const res = await fetch(API + '/workers', {headers: {Authorization: 'Bearer ' + t}, cache: 'no-store'});
    if (res.status === 401) {
      err.textContent = 'That token was refused.';
      return;
    }
  } catch (e) {
    err.textContent = 'Cannot reach the scheduler: ' + e.message;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, t);
  document.getElementById('token').value = '';
  if (!location.hash || location.hash === '#/login') location.hash = '#/queue';
  else route();
});

document.getElementById('logout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin('Logged out.');
});

window.addEventListener('hashchange', route);
route();
