// fraudnet viewer: plain JavaScript over the JSON API, Cytoscape.js for the canvas.
// No build step. Every text from the server goes through textContent (never innerHTML).
'use strict';

(function () {
  const KINDS = ['person', 'phone', 'account', 'device', 'wallet', 'place', 'org'];
  const LINK_KINDS = ['call', 'sms', 'transfer', 'owns', 'uses', 'device_of', 'recruited', 'financed', 'smuggled',
    'colleague', 'relative', 'member_of', 'travelled_with', 'same_address'];
  const KIND_COLOURS = { person: '#1f5fbf', phone: '#2e9e6b', account: '#d98c1f', device: '#7d5ab5', wallet: '#c0392b',
    place: '#5a6578', org: '#16a2b8' };
  const CRIMINAL = ['boss', 'financier', 'manager', 'team_leader', 'member', 'recruiter', 'smuggler', 'launderer',
    'cash_out', 'usdt_dealer', 'card_dealer', 'mule', 'suspect', 'returnee'];
  const ROLE_COLOURS = { boss: '#7b0000', financier: '#b30000', recruiter: '#e55b00', smuggler: '#e58e00', manager: '#c2185b',
    team_leader: '#d81b60', member: '#ef5350', returnee: '#f06292', mule: '#8e44ad', card_farmer: '#9b59b6', victim: '#2e9e6b',
    launderer: '#6d4c41', cash_out: '#795548', usdt_dealer: '#5d4037', card_dealer: '#8d6e63', suspect: '#ff7043' };
  const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22',
    '#17becf', '#393b79', '#637939', '#8c6d31', '#843c39', '#7b4173', '#3182bd', '#e6550d', '#31a354', '#756bb1', '#636363'];

  const S = {
    lang: localStorage.getItem('fraudnet.lang') || 'zh',
    me: null,
    cy: null,
    map: null,          // {id, version, status, owner, name} of the open case map
    queries: [],        // request bodies that built the canvas
    leads: [],
    pending: 0,
    pendingSince: 0,
    colourBy: 'kind',
    run: null,          // the community run the canvas is coloured by (null: the latest)
    runShown: null,
    timeRange: null,    // [min, max] unix seconds over links on the canvas
    reviewMap: null,
  };

  // ------------------------------------------------------------------------------------------
  // Small helpers
  // ------------------------------------------------------------------------------------------
  const $ = (sel) => document.querySelector(sel);
  const $$ = (sel) => Array.from(document.querySelectorAll(sel));
  const t = (k) => (window.I18N[S.lang] && window.I18N[S.lang][k]) || window.I18N.en[k] || k;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else e.setAttribute(k, v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function applyI18n() {
    document.documentElement.lang = S.lang === 'zh' ? 'zh-CN' : 'en';
    $$('[data-i18n]').forEach((e) => { e.textContent = t(e.dataset.i18n); });
    $$('[data-i18n-ph]').forEach((e) => { e.placeholder = t(e.dataset.i18nPh); });
    document.title = t('app_title');
    renderLegend();
  }

  function toast(msg, isErr) {
    const e = $('#toast');
    e.textContent = msg;
    e.className = 'show' + (isErr ? ' err' : '');
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { e.className = ''; }, isErr ? 5000 : 2500);
  }

  // A run computed by `fraudnet cluster`: its processes × workers.
  const clusterMark = (r) => r.cluster ? ' · cluster ' + r.cluster.processes + '×' + r.cluster.workers : '';
  const fmtTime = (s) => (s === null || s === undefined) ? '' :
    new Date(s * 1000).toLocaleString(S.lang === 'zh' ? 'zh-CN' : 'en-GB', { timeZone: 'Asia/Shanghai', hour12: false });
  // Amounts in minor units (fen, or USDT cents on a trace's wallet legs).
  const fmtYuan = (fen, unit) => (fen === null || fen === undefined) ? '' :
    (unit === 'USDT' ? 'USDT ' : '¥') + (fen / 100).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const kindOf = (ref) => String(ref).split(':')[0];
  const keyOf = (ref) => String(ref).slice(String(ref).indexOf(':') + 1);

  function download(name, blob) {
    const a = el('a', { href: URL.createObjectURL(blob), download: name });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  // ------------------------------------------------------------------------------------------
  // API
  // ------------------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }

  function progress(delta) {
    S.pending += delta;
    if (S.pending > 0 && delta > 0 && S.pending === 1) S.pendingSince = performance.now();
    $('#progress').hidden = S.pending === 0;
  }
  setInterval(() => {
    if (S.pending > 0) $('#progress-time').textContent = ((performance.now() - S.pendingSince) / 1000).toFixed(1) + ' s';
  }, 100);

  async function api(method, path, body, opts) {
    opts = opts || {};
    const init = { method, headers: {}, credentials: 'same-origin' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (!opts.quiet) progress(1);
    try {
      const r = await fetch(path, init);
      if (opts.raw && r.ok) return r;
      const text = await r.text();
      let data = null;
      try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
      if (!r.ok) {
        const err = (data && data.error) || { code: 'http_' + r.status, message: r.statusText };
        if (r.status === 401 && !opts.login) showLogin();
        throw new ApiError(r.status, err.code, err.message);
      }
      if (data && typeof data === 'object' && data.generation !== undefined && data.generation !== null) {
        $('#generation').textContent = t('generation') + ' #' + data.generation;
      }
      return data;
    } finally {
      if (!opts.quiet) progress(-1);
    }
  }

  function fail(e) {
    console.error(e);
    toast(t('error') + ': ' + (e.message || e), true);
  }

  // ------------------------------------------------------------------------------------------
  // Login
  // ------------------------------------------------------------------------------------------
  function showLogin() {
    S.me = null;
    $('#app').hidden = true;
    $('#login-screen').hidden = false;
    $('#login-user').focus();
  }

  async function enterApp(me) {
    S.me = me;
    $('#login-screen').hidden = true;
    $('#app').hidden = false;
    $('#whoami').textContent = me.user + ' (' + me.role + ')';
    $$('#tabs [data-roles]').forEach((b) => { b.hidden = !b.dataset.roles.split(' ').includes(me.role); });
    if (!S.cy) initCy();
    S.cy.resize();
    selectTab('search');
    api('GET', '/api/status', undefined, { quiet: true }).then((s) => {
      $('#generation').textContent = s.loaded ? t('generation') + ' #' + s.generation : t('no_graph');
    }).catch(() => {});
  }

  $('#login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('#login-error').textContent = '';
    try {
      const me = await api('POST', '/api/login', { user: $('#login-user').value.trim(), password: $('#login-password').value },
        { login: true });
      $('#login-password').value = '';
      await enterApp(me);
    } catch (e) {
      $('#login-error').textContent = e.status === 429 ? t('rate_limited') : (e.status === 401 ? t('login_failed') : e.message);
    }
  });

  $('#logout').addEventListener('click', async () => {
    try { await api('POST', '/api/logout'); } catch (_) { /* already gone */ }
    resetCanvas();
    newMap();
    showLogin();
  });

  $$('.lang-toggle').forEach((b) => b.addEventListener('click', () => {
    S.lang = S.lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('fraudnet.lang', S.lang);
    applyI18n();
  }));

  // ------------------------------------------------------------------------------------------
  // Tabs
  // ------------------------------------------------------------------------------------------
  function selectTab(name) {
    $$('#tabs button').forEach((b) => b.classList.toggle('active', b.dataset.tab === name));
    $$('.tab').forEach((s) => { s.hidden = s.id !== 'tab-' + name; });
    if (name === 'maps') loadMaps();
    if (name === 'review') loadReview();
    if (name === 'audit') loadAudit();
    if (name === 'communities') loadRuns();
  }
  $$('#tabs button').forEach((b) => b.addEventListener('click', () => selectTab(b.dataset.tab)));

  // ------------------------------------------------------------------------------------------
  // Canvas
  // ------------------------------------------------------------------------------------------
  function nodeColour(n) {
    if (S.colourBy === 'role') {
      const roles = n.data('roles') || [];
      for (const r of Object.keys(ROLE_COLOURS)) if (roles.includes(r)) return ROLE_COLOURS[r];
      return '#c5cbd6';
    }
    if (S.colourBy === 'community') {
      const c = n.data('community');
      return (c === undefined || c === null) ? '#c5cbd6' : PALETTE[Math.abs(Number(c)) % PALETTE.length];
    }
    return KIND_COLOURS[n.data('kind')] || '#888';
  }

  function initCy() {
    S.cy = cytoscape({
      container: $('#cy'),
      wheelSensitivity: 0.3,
      minZoom: 0.05,
      maxZoom: 2.5,
      boxSelectionEnabled: true,
      selectionType: 'additive',
      style: [
        { selector: 'node', style: {
          'background-color': nodeColour, label: 'data(display)', 'font-size': 10, color: '#1d2433',
          'text-valign': 'bottom', 'text-margin-y': 3, width: 'data(size)', height: 'data(size)',
          'border-width': 1, 'border-color': '#fff' } },
        { selector: 'node[kind="phone"]', style: { shape: 'round-rectangle' } },
        { selector: 'node[kind="account"]', style: { shape: 'diamond' } },
        { selector: 'node[kind="device"]', style: { shape: 'hexagon' } },
        { selector: 'node[kind="wallet"]', style: { shape: 'star' } },
        { selector: 'node.seed', style: { 'border-width': 4, 'border-color': '#ffb300' } },
        { selector: 'node.hub', style: { 'border-style': 'dashed', 'border-color': '#7a8599', 'border-width': 2 } },
        { selector: 'node:selected', style: { 'border-width': 4, 'border-color': '#1d2433' } },
        { selector: 'edge', style: {
          width: 'data(w)', 'line-color': '#b8c2d3', 'curve-style': 'bezier', 'target-arrow-shape': 'none',
          'font-size': 8, color: '#5a6578', 'text-rotation': 'autorotate' } },
        { selector: 'edge[?directed]', style: { 'target-arrow-shape': 'triangle', 'target-arrow-color': '#b8c2d3' } },
        { selector: 'edge[kind="transfer"]', style: { 'line-color': '#e0a040', 'target-arrow-color': '#e0a040' } },
        { selector: 'edge[kind="call"], edge[kind="sms"]', style: { 'line-color': '#7fb89a', 'target-arrow-color': '#7fb89a' } },
        { selector: 'edge.flow', style: { label: 'data(flowLabel)', 'line-color': '#d35400', 'target-arrow-color': '#d35400' } },
        { selector: 'edge:selected', style: { 'line-color': '#1d2433', 'target-arrow-color': '#1d2433', width: 4 } },
        { selector: '.faded', style: { opacity: 0.15 } },
        { selector: '.hl', style: { opacity: 1 } },
        { selector: 'edge.hl', style: { 'line-color': '#ff3d00', 'target-arrow-color': '#ff3d00', width: 4 } },
        { selector: 'node.hl', style: { 'border-width': 4, 'border-color': '#ff3d00' } },
        { selector: '.time-hidden', style: { display: 'none' } },
      ],
      layout: { name: 'preset' },
    });
    S.cy.on('tap', 'node', (ev) => showEntity(ev.target.id()));
    S.cy.on('dbltap', 'node', (ev) => expandNode(ev.target.id()));
    S.cy.on('tap', 'edge', (ev) => showLink(ev.target));
    S.cy.on('tap', (ev) => { if (ev.target === S.cy) clearHighlight(); });
  }

  function display(ref, label) {
    const k = keyOf(ref);
    return label && label !== k ? label : (k.length > 14 ? k.slice(0, 6) + '…' + k.slice(-4) : k);
  }

  function addNode(ent, extra) {
    const ref = ent.ref;
    let n = S.cy.getElementById(ref);
    const data = {
      id: ref, ref, kind: ent.kind || kindOf(ref), label: ent.label || '', display: display(ref, ent.label),
      roles: ent.roles || [], flags: ent.flags || [], size: 22,
    };
    if (ent.community !== undefined && ent.community !== null) data.community = ent.community;
    Object.assign(data, extra || {});
    if (data.score !== undefined) data.size = 18 + Math.min(26, Math.sqrt(Math.max(0, data.score)) * 26);
    if (n.nonempty()) {
      const cur = n.data();
      for (const [k, v] of Object.entries(data)) {
        if (v === '' || (Array.isArray(v) && v.length === 0)) continue;
        if (k === 'size' && cur.size > v) continue;
        n.data(k, v);
      }
      return n;
    }
    n = S.cy.add({ group: 'nodes', data, position: extra && extra.position });
    return n;
  }

  function linkId(l) { return l.from + '|' + l.kind + '|' + l.to; }

  function addLink(l) {
    if (!l || !l.from || !l.to || l.from === l.to) return null;
    for (const r of [l.from, l.to]) if (S.cy.getElementById(r).empty()) addNode({ ref: r });
    const id = linkId(l);
    let e = S.cy.getElementById(id);
    const data = {
      id, source: l.from, target: l.to, kind: l.kind, count: l.count || 0, amount_fen: l.amount_fen,
      duration_s: l.duration_s, first: l.first, last: l.last, directed: !!l.directed ||
        ['call', 'sms', 'transfer', 'recruited', 'financed', 'smuggled'].includes(l.kind),
      w: 1 + Math.min(6, Math.log2(1 + (l.count || 1))),
    };
    if (e.nonempty()) { e.data(data); return e; }
    e = S.cy.add({ group: 'edges', data });
    return e;
  }

  function runLayout(fit) {
    if (!S.cy || S.cy.nodes().empty()) return;
    if (S.colourBy === 'community') loadMembership();
    const n = S.cy.nodes().length;
    S.cy.layout({ name: n > 400 ? 'grid' : 'cose', animate: false, randomize: false, nodeRepulsion: () => 8000,
      idealEdgeLength: () => 70, fit: fit !== false, padding: 30, numIter: n > 150 ? 400 : 1000 }).run();
  }

  function refreshStyle() { if (S.cy) S.cy.style().update(); renderLegend(); }

  function renderLegend() {
    const lg = $('#legend');
    if (!lg) return;
    lg.textContent = '';
    if (S.colourBy === 'kind') {
      for (const k of KINDS) lg.append(el('span', { class: 'swatch', style: 'background:' + KIND_COLOURS[k] }), t('kind_' + k));
    } else if (S.colourBy === 'role') {
      for (const r of Object.keys(ROLE_COLOURS)) lg.append(el('span', { class: 'swatch', style: 'background:' + ROLE_COLOURS[r] }), r);
    } else {
      lg.append(el('span', { class: 'muted', text: t('by_community') + (S.runShown ? ' · ' + t('run') + ' #' + S.runShown : '') }));
    }
  }

  function resetCanvas() {
    if (S.cy) S.cy.elements().remove();
    S.queries = [];
    S.leads = [];
    renderLeads(null);
    $('#details').textContent = '';
    updateTimeRange();
  }

  function clearHighlight() {
    if (S.cy) S.cy.elements().removeClass('faded hl');
  }

  function highlight(refs, edgeIds) {
    clearHighlight();
    const col = S.cy.collection();
    refs.forEach((r) => col.merge(S.cy.getElementById(r)));
    edgeIds.forEach((id) => col.merge(S.cy.getElementById(id)));
    S.cy.elements().addClass('faded');
    col.removeClass('faded').addClass('hl');
    if (col.nonempty()) S.cy.animate({ fit: { eles: col, padding: 60 } }, { duration: 300 });
  }

  $('#layout-btn').addEventListener('click', () => runLayout(true));
  $('#colour-by').addEventListener('change', async (ev) => {
    S.colourBy = ev.target.value;
    if (S.colourBy === 'community') await loadMembership();
    else refreshStyle();
  });
  $('#clear-btn').addEventListener('click', resetCanvas);
  $('#remove-btn').addEventListener('click', () => { S.cy.$(':selected').remove(); updateTimeRange(); });

  // ------------------------------------------------------------------------------------------
  // Time filter
  // ------------------------------------------------------------------------------------------
  function updateTimeRange() {
    if (!S.cy) return;
    let lo = Infinity, hi = -Infinity;
    S.cy.edges().forEach((e) => {
      const f = e.data('first'), l = e.data('last');
      if (typeof f === 'number') lo = Math.min(lo, f);
      if (typeof l === 'number') hi = Math.max(hi, l);
    });
    S.timeRange = lo <= hi ? [lo, hi] : null;
    $('#t-from').value = 0;
    $('#t-to').value = 1000;
    applyTimeFilter();
  }

  function sliderTime(v) {
    const [lo, hi] = S.timeRange;
    return lo + (hi - lo) * (Number(v) / 1000);
  }

  function applyTimeFilter() {
    if (!S.cy) return;
    if (!S.timeRange) {
      S.cy.elements().removeClass('time-hidden');
      $('#t-label').textContent = t('all_times');
      return;
    }
    let a = Number($('#t-from').value), b = Number($('#t-to').value);
    if (a > b) [a, b] = [b, a];
    const from = sliderTime(a), to = sliderTime(b);
    const full = a === 0 && b === 1000;
    S.cy.edges().forEach((e) => {
      const f = e.data('first'), l = e.data('last');
      const hide = !full && typeof f === 'number' && typeof l === 'number' && (l < from || f > to);
      e.toggleClass('time-hidden', hide);
    });
    $('#t-label').textContent = full ? t('all_times') : fmtTime(from) + ' – ' + fmtTime(to);
  }
  $('#t-from').addEventListener('input', applyTimeFilter);
  $('#t-to').addEventListener('input', applyTimeFilter);

  // ------------------------------------------------------------------------------------------
  // Search
  // ------------------------------------------------------------------------------------------
  $('#search-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const q = $('#search-input').value.trim();
    if (!q) return;
    selectTab('search');
    const box = $('#search-results');
    box.textContent = '';
    try {
      const r = await api('GET', '/api/search?q=' + encodeURIComponent(q) + '&limit=50');
      const groups = (r && r.groups) || [];
      if (!groups.length || groups.every((g) => !g.items.length)) { box.append(el('p', { class: 'muted', text: t('no_results') })); return; }
      for (const g of groups) {
        if (!g.items.length) continue;
        const div = el('div', { class: 'group' }, el('h4', { text: t('kind_' + g.kind) + ' (' + g.items.length + ')' }));
        for (const it of g.items) {
          div.append(el('div', {
            class: 'item search-item', dataset: { ref: it.ref },
            onclick: () => { const n = addNode(it, { seed: true }); n.addClass('seed'); placeNew(); S.cy.$(':selected').unselect(); n.select(); showEntity(it.ref); },
          }, it.label || keyOf(it.ref), el('small', { text: it.ref + (it.roles && it.roles.length ? ' · ' + it.roles.join(', ') : '') })));
        }
        box.append(div);
      }
    } catch (e) { fail(e); }
  });

  function placeNew() {
    const fresh = S.cy.nodes().filter((n) => n.position('x') === 0 && n.position('y') === 0);
    if (fresh.length === S.cy.nodes().length) runLayout(true);
    else if (fresh.nonempty()) {
      const bb = S.cy.nodes().difference(fresh).boundingBox();
      fresh.forEach((n, i) => n.position({ x: bb.x2 + 60 + (i % 5) * 40, y: bb.y1 + Math.floor(i / 5) * 40 }));
      runLayout(false);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Entity and link details
  // ------------------------------------------------------------------------------------------
  function kv(label, value) {
    return el('div', {}, el('span', { class: 'muted', text: label + ': ' }), value);
  }

  function roleTags(roles) {
    return (roles || []).map((r) => el('span', { class: 'tag' + (CRIMINAL.includes(r) ? ' crim' : ''), text: r }));
  }

  async function showEntity(ref) {
    const box = $('#details');
    box.textContent = '';
    const n = S.cy.getElementById(ref);
    box.append(el('h4', { text: (n.data('label') || keyOf(ref)) }), el('div', { class: 'muted', text: ref }));
    const lead = S.leads.find((l) => l.ref === ref);
    if (lead) renderLeadDetail(lead, box);
    try {
      const r = await api('GET', '/api/entity/' + encodeURIComponent(ref) + '?links=200');
      const e = r.entity || {};
      addNode(e);
      box.append(kv(t('roles'), el('span', {}, roleTags(e.roles))));
      if (e.flags && e.flags.length) box.append(kv(t('flags'), e.flags.join(', ')));
      if (e.degree !== undefined) box.append(kv(t('links'), String(e.degree)));
      if (e.community !== undefined && e.community !== null) box.append(kv(t('by_community'), String(e.community)));
      const tbl = el('table', {}, el('tr', {}, el('th', { text: t('links') }), el('th', { text: t('count') }), el('th', { text: t('amount') })));
      for (const l of (r.links || []).slice(0, 100)) {
        const other = l.from === ref ? l.to : l.from;
        tbl.append(el('tr', { class: 'item', onclick: () => { addLink(l); placeNew(); updateTimeRange(); } },
          el('td', {}, (l.from === ref ? '→ ' : '← ') + l.kind + ' ', el('small', { text: other })),
          el('td', { text: String(l.count || '') }), el('td', { text: fmtYuan(l.amount_fen) })));
      }
      box.append(el('h3', { text: t('links') + ' (' + (r.links || []).length + (r.truncated ? '+' : '') + ')' }), tbl);
    } catch (e) { if (e.status !== 503) fail(e); }
  }

  async function expandNode(ref) {
    try {
      const r = await api('GET', '/api/entity/' + encodeURIComponent(ref) + '?links=50');
      for (const nb of r.neighbours || []) addNode(nb);
      for (const l of r.links || []) addLink(l);
      S.queries.push({ entity: ref });
      placeNew();
      updateTimeRange();
      refreshStyle();
    } catch (e) { fail(e); }
  }
  $('#expand-node-btn').addEventListener('click', () => {
    const sel = S.cy.nodes(':selected');
    if (sel.empty()) { toast(t('select_one'), true); return; }
    sel.forEach((n) => expandNode(n.id()));
  });

  async function showLink(edge) {
    const d = edge.data();
    const box = $('#details');
    box.textContent = '';
    box.append(el('h4', { text: d.kind }), el('div', { class: 'muted', text: d.source + ' → ' + d.target }));
    box.append(kv(t('count'), String(d.count || 0)));
    if (d.amount_fen !== undefined && d.amount_fen !== null) box.append(kv(t('amount'), fmtYuan(d.amount_fen)));
    if (d.duration_s) box.append(kv(t('duration'), d.duration_s + ' s'));
    if (d.first) box.append(kv(t('time'), fmtTime(d.first) + ' – ' + fmtTime(d.last)));
    box.append(el('h3', { text: t('evidence') }));
    try {
      const q = '/api/evidence?from=' + encodeURIComponent(d.source) + '&to=' + encodeURIComponent(d.target) +
        '&kind=' + encodeURIComponent(d.kind) + '&limit=200';
      const r = await api('GET', q);
      const tbl = el('table', { id: 'evidence-table' }, el('tr', {}, el('th', { text: t('time') }), el('th', { text: t('amount') + '/' + t('duration') }),
        el('th', { text: t('source') })));
      for (const ev of r.records || []) {
        const val = d.kind === 'transfer' ? fmtYuan(ev.value) : (ev.value !== undefined && ev.value !== null ? ev.value + ' s' : '');
        tbl.append(el('tr', {}, el('td', { text: fmtTime(ev.time) }), el('td', { text: val }),
          el('td', { text: (ev.source || '') + (ev.record ? ' #' + ev.record : '') })));
      }
      box.append(tbl);
      if (r.truncated) box.append(el('div', { class: 'muted', text: '…' }));
    } catch (e) { fail(e); }
  }

  // ------------------------------------------------------------------------------------------
  // Expansion and leads
  // ------------------------------------------------------------------------------------------
  function buildFilters() {
    const kinds = $$('#f-kinds input:checked').map((i) => i.value);
    const linkKinds = $$('#f-link-kinds input:checked').map((i) => i.value);
    const body = { hops: Number($('#f-hops').value) || 3, limit: Number($('#f-limit').value) || 100 };
    if (kinds.length && kinds.length < KINDS.length) body.kinds = kinds;
    if (linkKinds.length && linkKinds.length < LINK_KINDS.length) body.link_kinds = linkKinds;
    const from = $('#f-from').value, to = $('#f-to').value;
    if (from) body.from = Math.floor(Date.parse(from + 'T00:00:00+08:00') / 1000);
    if (to) body.to = Math.floor(Date.parse(to + 'T23:59:59+08:00') / 1000);
    const mc = Number($('#f-min-count').value);
    if (mc > 0) body.min_count = mc;
    const ma = Number($('#f-min-amount').value);
    if (ma > 0) body.min_amount_fen = Math.round(ma * 100);
    return body;
  }

  async function expand() {
    let seeds = S.cy.nodes(':selected').map((n) => n.id());
    if (!seeds.length) seeds = S.cy.nodes('.seed').map((n) => n.id());
    if (!seeds.length) { toast(t('select_one'), true); return; }
    const body = Object.assign({ seeds }, buildFilters());
    selectTab('leads');
    try {
      const r = await api('POST', '/api/expand', body);
      S.queries.push({ expand: body });
      for (const s of r.seeds || []) addNode(s).addClass('seed');
      S.leads = r.leads || [];
      for (const l of S.leads) addNode(l, { score: l.score });
      for (const h of r.hubs || []) addNode(h).addClass('hub');
      for (const l of r.links || []) addLink(l);
      for (const lead of S.leads) for (const p of lead.paths || []) for (const st of p) addLink(st);
      runLayout(true);
      updateTimeRange();
      refreshStyle();
      renderLeads(r);
    } catch (e) { fail(e); }
  }
  $('#expand-btn').addEventListener('click', expand);

  function renderLeads(r) {
    const list = $('#leads-list');
    list.textContent = '';
    $('#leads-hubs').textContent = '';
    if (!r) { list.append(el('li', { class: 'muted', text: t('leads_none') })); return; }
    if (r.hubs && r.hubs.length) $('#leads-hubs').textContent = t('hubs') + ': ' + r.hubs.map((h) => h.label || h.ref).join(', ');
    for (const l of S.leads) {
      list.append(el('li', { class: 'item lead', dataset: { ref: l.ref }, onclick: (ev) => openLead(l, ev.currentTarget) },
        el('span', { class: 'score', text: Number(l.score).toFixed(3) }),
        l.label || keyOf(l.ref), ' ', roleTags(l.roles),
        el('small', { text: l.ref + ' · ' + l.hops + ' ' + t('hops') + (l.reasons && l.reasons.length ? ' · ' + l.reasons[0] : '') })));
    }
  }

  function stepRefs(path) {
    const refs = new Set(), edges = [];
    for (const st of path) { refs.add(st.from); refs.add(st.to); edges.push(linkId(st)); }
    return [Array.from(refs), edges];
  }

  function openLead(lead, li) {
    $$('#leads-list .item').forEach((x) => x.classList.toggle('active', x === li));
    const box = $('#details');
    box.textContent = '';
    box.append(el('h4', { text: lead.label || keyOf(lead.ref) }), el('div', { class: 'muted', text: lead.ref }));
    renderLeadDetail(lead, box);
    S.cy.$(':selected').unselect();
    S.cy.getElementById(lead.ref).select();
    const all = { refs: new Set([lead.ref]), edges: [] };
    for (const p of lead.paths || []) { const [r, e] = stepRefs(p); r.forEach((x) => all.refs.add(x)); all.edges.push(...e); }
    highlight(Array.from(all.refs), all.edges);
  }

  function renderLeadDetail(lead, box) {
    const d = el('div', { id: 'lead-detail' });
    d.append(kv(t('score'), Number(lead.score).toFixed(4)), kv(t('hops'), String(lead.hops)), kv(t('roles'), el('span', {}, roleTags(lead.roles))));
    d.append(el('h3', { text: t('reasons') }), el('ul', {}, (lead.reasons || []).map((x) => el('li', { text: x }))));
    d.append(el('h3', { text: t('paths') }));
    (lead.paths || []).forEach((p) => {
      const div = el('div', { class: 'path explanation-path', onclick: () => { const [r, e] = stepRefs(p); highlight(r, e); } });
      p.forEach((st, i) => {
        if (i === 0) div.append(el('b', { text: display(st.from, labelOf(st.from)) }));
        let ev = ' —' + st.kind;
        if (st.count) ev += ' ×' + st.count;
        if (st.amount_fen) ev += ' ' + fmtYuan(st.amount_fen);
        if (st.last) ev += ' @' + fmtTime(st.last).split(' ')[0];
        if (st.source) ev += ' [' + st.source + ']';
        div.append(el('span', { class: 'muted', text: ev + '→ ' }), el('b', { text: display(st.to, labelOf(st.to)) }));
      });
      d.append(div);
    });
    box.append(d);
  }

  function labelOf(ref) { const n = S.cy.getElementById(ref); return n.nonempty() ? n.data('label') : ''; }

  // ------------------------------------------------------------------------------------------
  // Paths and money flow
  // ------------------------------------------------------------------------------------------
  $('#path-btn').addEventListener('click', async () => {
    const sel = S.cy.nodes(':selected');
    if (sel.length !== 2) { toast(t('select_two'), true); return; }
    const body = { from: sel[0].id(), to: sel[1].id(), k: 3, max_len: 6 };
    try {
      const r = await api('POST', '/api/path', body);
      S.queries.push({ path: body });
      const paths = r.paths || [];
      if (!paths.length) { toast(t('no_results'), true); return; }
      paths.forEach((p) => p.forEach((st) => addLink(st)));
      placeNew();
      updateTimeRange();
      const box = $('#details');
      box.textContent = '';
      box.append(el('h4', { text: t('path') }));
      paths.forEach((p) => {
        box.append(el('div', { class: 'path', onclick: () => { const [rr, e] = stepRefs(p); highlight(rr, e); } },
          p.map((st, i) => (i === 0 ? display(st.from, labelOf(st.from)) : '') + ' —' + st.kind + '→ ' + display(st.to, labelOf(st.to))).join('')));
      });
      const [rr, e] = stepRefs(paths[0]);
      highlight(rr, e);
    } catch (e) { fail(e); }
  });

  async function trace(direction) {
    const sel = S.cy.nodes(':selected').filter((n) => n.data('kind') === 'account');
    if (sel.length !== 1) { toast(t('select_account'), true); return; }
    const body = { account: sel[0].id(), direction, hops: 6, limit: 500 };
    try {
      const r = await api('POST', '/api/trace', body);
      S.queries.push({ trace: body });
      for (const e of r.entities || []) addNode(e);
      const edges = [];
      for (const f of r.flows || []) {
        const e = addLink({ from: f.from, to: f.to, kind: 'transfer', count: 1, amount_fen: f.amount_fen, first: f.time, last: f.time, directed: true });
        if (e) { e.addClass('flow'); e.data('flowLabel', fmtYuan(f.amount_fen, f.unit) + ' ' + fmtTime(f.time).split(' ')[1]); edges.push(e.id()); }
      }
      placeNew();
      updateTimeRange();
      const box = $('#details');
      box.textContent = '';
      box.append(el('h4', { text: t('flow') + ' · ' + body.account }));
      const tbl = el('table', { id: 'flow-table' }, el('tr', {}, el('th', { text: t('depth') }), el('th', { text: t('from') }),
        el('th', { text: t('to') }), el('th', { text: t('amount') }), el('th', { text: t('time') })));
      for (const f of r.flows || []) {
        tbl.append(el('tr', {}, el('td', { text: String(f.depth) }), el('td', { text: keyOf(f.from) }), el('td', { text: keyOf(f.to) }),
          el('td', { text: fmtYuan(f.amount_fen, f.unit) }), el('td', { text: fmtTime(f.time) })));
      }
      box.append(tbl, el('h3', { text: t('sinks') }));
      const ul = el('ul', {});
      for (const s of r.sinks || []) ul.append(el('li', { text: s.ref + ' ' + fmtYuan(s.amount_fen, s.unit) }));
      box.append(ul);
      const refs = new Set([body.account]);
      (r.flows || []).forEach((f) => { refs.add(f.from); refs.add(f.to); });
      highlight(Array.from(refs), edges);
    } catch (e) { fail(e); }
  }
  $('#trace-fwd-btn').addEventListener('click', () => trace('forward'));
  $('#trace-bwd-btn').addEventListener('click', () => trace('backward'));

  // ------------------------------------------------------------------------------------------
  // Communities
  // ------------------------------------------------------------------------------------------
  // S.run: the run the canvas is coloured by (null: the latest).
  async function loadMembership() {
    const refs = S.cy.nodes().map((n) => n.id()).slice(0, 10000);
    if (!refs.length) return;
    try {
      const r = await api('POST', '/api/communities/membership', { run: S.run ? String(S.run) : 'latest', refs });
      const m = r.communities || {};
      S.runShown = r.run;
      S.cy.nodes().forEach((n) => { if (m[n.id()] !== undefined) n.data('community', m[n.id()]); });
      refreshStyle();
    } catch (e) { fail(e); }
  }

  async function colourByRun(id) {
    clearHighlight();
    S.run = id;
    S.colourBy = 'community';
    $('#colour-by').value = 'community';
    await loadMembership();
  }

  async function loadRuns() {
    const ul = $('#runs-list');
    ul.textContent = '';
    try {
      const r = await api('GET', '/api/communities/runs');
      const runs = r.runs || [];
      for (const run of runs) {
        ul.append(el('li', { class: 'item', 'data-run': String(run.run), onclick: () => openRun(run.run) },
          '#' + run.run + ' · ' + (run.algo || '') + clusterMark(run) + ' · ' + run.graph,
          el('small', { text: run.community_count + ' · Q=' + Number(run.modularity).toFixed(3) + ' · ' + fmtTime(run.time) })));
      }
      if (!runs.length) ul.append(el('li', { class: 'muted', text: t('no_runs') }));
      else if (!$('#run-detail').childElementCount) openRun(S.run || runs[0].run);
    } catch (e) { if (e.status !== 503) fail(e); else ul.append(el('li', { class: 'muted', text: e.message })); }
  }

  // Puts a key person on the canvas (or finds them there), selects them and shows their details.
  function jumpTo(p, community) {
    clearHighlight();
    const had = S.cy.getElementById(p.ref).nonempty();
    const n = addNode(Object.assign({ community }, p));
    if (!had) placeNew();
    S.cy.$(':selected').unselect();
    n.select();
    S.cy.animate({ center: { eles: n }, zoom: Math.max(S.cy.zoom(), 1) }, { duration: 300 });
    showEntity(p.ref);
  }

  async function openRun(id) {
    const box = $('#run-detail');
    box.textContent = '';
    $$('#runs-list li').forEach((li) => li.classList.toggle('active', li.dataset.run === String(id)));
    try {
      const r = await api('GET', '/api/communities/runs/' + encodeURIComponent(id) + '?limit=30&min_size=3');
      box.append(el('div', { class: 'group' },
        el('h4', { text: t('run') + ' #' + r.run + ' · ' + r.algo + clusterMark(r) + ' · Q=' + Number(r.modularity).toFixed(3) }),
        el('button', { id: 'colour-run-btn', onclick: () => colourByRun(r.run), text: t('colour_by_run') })));
      for (const c of r.communities || []) {
        const roles = Object.entries(c.roles || {}).sort((a, b) => b[1] - a[1]).slice(0, 4)
          .map(([k, v]) => k + ' ' + v).join(', ');
        const div = el('div', { class: 'group community', 'data-community': String(c.id) },
          el('h4', {},
            el('span', { class: 'swatch', style: 'background:' + PALETTE[Math.abs(Number(c.id)) % PALETTE.length] }),
            '#' + c.id + ' · ' + t('size') + ' ' + c.size),
          el('small', { text: (roles ? roles + ' · ' : '') + t('money_in') + ' ' + fmtYuan(c.money_in_fen) + ' · ' +
            t('money_out') + ' ' + fmtYuan(c.money_out_fen) }));
        for (const p of c.key_people || []) {
          div.append(el('div', { class: 'item key-person', onclick: () => jumpTo(p, c.id) },
            el('span', { class: 'tag', text: t('why_' + p.why) }), ' ', p.label || keyOf(p.ref), ' ', roleTags(p.roles),
            el('small', { text: p.ref })));
        }
        if ((c.links || []).length) {
          div.append(el('small', { class: 'muted', text: t('linked_to') + ' ' +
            c.links.map((l) => '#' + l.community + ' (' + Math.round(l.weight) + ')').join(', ') }));
        }
        const groups = (r.groups || []).filter((g) => g.community === c.id).slice(0, 3);
        if (groups.length) {
          div.append(el('small', { class: 'muted', text: t('linked_groups') + ' ' +
            groups.map((g) => 'G' + g.id + ' (' + g.size + ' · ' + g.parts.length + ' ' + t('sub_communities') + ')').join(', ') }));
        }
        box.append(div);
      }
    } catch (e) { fail(e); }
  }

  // ------------------------------------------------------------------------------------------
  // Case maps
  // ------------------------------------------------------------------------------------------
  function currentContent() {
    const entities = S.cy.nodes().map((n) => {
      const d = n.data(), p = n.position();
      const e = { ref: d.ref, label: d.label || '', x: Math.round(p.x * 10) / 10, y: Math.round(p.y * 10) / 10, roles: d.roles || [] };
      if (d.community !== undefined && d.community !== null) e.community = Number(d.community);
      return e;
    });
    const links = S.cy.edges().map((e) => {
      const d = e.data();
      const l = { from: d.source, to: d.target, kind: d.kind, count: d.count || 0 };
      for (const k of ['amount_fen', 'duration_s', 'first', 'last']) if (typeof d[k] === 'number') l[k] = d[k];
      return l;
    });
    return { entities, links, notes: $('#map-notes').value, queries: S.queries.slice(-400) };
  }

  function loadContent(content) {
    resetCanvas();
    for (const e of content.entities || []) addNode(e, { position: { x: e.x || 0, y: e.y || 0 } });
    for (const l of content.links || []) addLink(l);
    S.queries = content.queries || [];
    $('#map-notes').value = content.notes || '';
    S.cy.fit(undefined, 30);
    updateTimeRange();
    refreshStyle();
  }

  function statusTag(s) { return el('span', { class: 'status ' + s, text: t('status_' + s) }); }

  function renderMapInfo(meta, box) {
    box.textContent = '';
    if (!meta) return;
    box.append(el('div', { id: 'map-status-line' }, meta.name + ' · ' + t('version') + ' ' + meta.version + ' · ',
      el('span', { id: 'map-status', dataset: { status: meta.status } }, statusTag(meta.status)), ' · ' + t('owner') + ' ' + meta.owner));
    if (meta.comments && meta.comments.length) {
      box.append(el('h3', { text: t('comments') }));
      for (const c of meta.comments) {
        box.append(el('div', { class: 'comment' }, el('b', { text: c.user }), ' (' + c.role + ', v' + c.version + ') ',
          el('small', { class: 'muted', text: fmtTime(c.time) }), el('div', { text: c.text })));
      }
    }
    if (meta.history && meta.history.length) {
      box.append(el('h3', { text: t('history') }));
      box.append(el('ul', {}, meta.history.map((h) => el('li', { text: fmtTime(h.time) + ' ' + h.user + ': ' + t('status_' + h.from) + ' → ' + t('status_' + h.to) }))));
    }
  }

  function setMap(meta) {
    S.map = meta ? { id: meta.id, version: meta.version, status: meta.status, owner: meta.owner, name: meta.name } : null;
    if (meta) $('#map-name').value = meta.name;
    renderMapInfo(meta, $('#map-info'));
  }

  function newMap() {
    S.map = null;
    $('#map-name').value = '';
    $('#map-notes').value = '';
    $('#map-info').textContent = '';
  }
  $('#map-new').addEventListener('click', () => { newMap(); resetCanvas(); });

  async function saveMap() {
    const name = $('#map-name').value.trim();
    if (!name) { $('#map-name').focus(); toast(t('map_name'), true); return null; }
    const content = currentContent();
    try {
      let meta;
      if (S.map && S.map.owner === S.me.user && ['draft', 'returned'].includes(S.map.status)) {
        meta = await api('PUT', '/api/casemaps/' + encodeURIComponent(S.map.id), Object.assign({ name, base_version: S.map.version }, content));
      } else {
        meta = await api('POST', '/api/casemaps', Object.assign({ name }, content));
      }
      setMap(meta);
      toast(t('saved') + ' · ' + t('version') + ' ' + meta.version);
      loadMaps();
      return meta;
    } catch (e) { fail(e); return null; }
  }
  $('#map-save').addEventListener('click', saveMap);

  $('#map-submit').addEventListener('click', async () => {
    if (!S.map) { toast(t('save_first'), true); return; }
    try {
      const meta = await api('POST', '/api/casemaps/' + encodeURIComponent(S.map.id) + '/submit');
      setMap(meta);
      toast(t('submitted'));
      loadMaps();
    } catch (e) { fail(e); }
  });

  async function loadMaps() {
    const ul = $('#maps-list');
    try {
      const maps = await api('GET', '/api/casemaps', undefined, { quiet: true });
      ul.textContent = '';
      for (const m of maps) {
        ul.append(el('li', { class: 'item map-item', dataset: { id: m.id }, onclick: () => openMap(m.id) },
          m.name + ' ', statusTag(m.status), el('small', { text: m.owner + ' · v' + m.version + ' · ' + fmtTime(m.updated) })));
      }
    } catch (e) { fail(e); }
  }

  async function openMap(id, version) {
    try {
      const r = await api('GET', '/api/casemaps/' + encodeURIComponent(id) + (version ? '/versions/' + version : ''));
      loadContent(r.content);
      setMap(r.meta);
      const sel = el('select', { id: 'map-version', onchange: (ev) => openMap(id, Number(ev.target.value)) });
      for (let v = r.meta.version; v >= 1; v--) sel.append(el('option', { value: String(v), text: t('version') + ' ' + v }));
      sel.value = String(r.version);
      $('#map-info').append(el('div', { class: 'row' }, sel));
      return r;
    } catch (e) { fail(e); return null; }
  }

  $('#export-png').addEventListener('click', () => {
    const png = S.cy.png({ full: true, bg: '#ffffff', scale: 2, output: 'blob' });
    download((S.map ? S.map.id : 'fraudnet') + '.png', png);
  });
  $$('.export').forEach((b) => b.addEventListener('click', async () => {
    const m = S.map || S.reviewMap;
    if (!m) { toast(t('save_first'), true); return; }
    try {
      const r = await api('GET', '/api/casemaps/' + encodeURIComponent(m.id) + '/export?format=' + b.dataset.format + '&version=' + m.version,
        undefined, { raw: true });
      const ext = { graphml: 'graphml', gexf: 'gexf', i2csv: 'csv', ftm: 'ftm.jsonl' }[b.dataset.format];
      download(m.id + '-v' + m.version + '.' + ext, await r.blob());
    } catch (e) { fail(e); }
  }));

  // ------------------------------------------------------------------------------------------
  // Review (supervisors)
  // ------------------------------------------------------------------------------------------
  async function loadReview() {
    const ul = $('#review-list');
    try {
      const maps = await api('GET', '/api/casemaps?status=submitted', undefined, { quiet: true });
      ul.textContent = '';
      if (!maps.length) ul.append(el('li', { class: 'muted', text: t('review_none') }));
      for (const m of maps) {
        ul.append(el('li', { class: 'item review-item', dataset: { id: m.id }, onclick: () => openReview(m.id) },
          m.name + ' ', statusTag(m.status), el('small', { text: m.owner + ' · v' + m.version + ' · ' + fmtTime(m.updated) })));
      }
    } catch (e) { fail(e); }
  }
  $('#review-refresh').addEventListener('click', loadReview);

  async function openReview(id) {
    try {
      const r = await api('GET', '/api/casemaps/' + encodeURIComponent(id));
      loadContent(r.content);
      S.map = null;
      showReview(r.meta);
    } catch (e) { fail(e); }
  }

  function showReview(meta) {
    S.reviewMap = { id: meta.id, version: meta.version, status: meta.status };
    $('#review-panel').hidden = false;
    renderMapInfo(meta, $('#review-info'));
    const submitted = meta.status === 'submitted';
    $('#approve-btn').disabled = !submitted;
    $('#return-btn').disabled = !submitted;
  }

  async function reviewAction(path, body) {
    if (!S.reviewMap) return;
    try {
      const meta = await api('POST', '/api/casemaps/' + encodeURIComponent(S.reviewMap.id) + path, body);
      $('#comment-text').value = '';
      showReview(meta);
      toast(t('status_' + meta.status));
      loadReview();
    } catch (e) { fail(e); }
  }
  $('#comment-add').addEventListener('click', () => {
    const text = $('#comment-text').value.trim();
    if (text) reviewAction('/comments', { text });
  });
  $('#approve-btn').addEventListener('click', () => reviewAction('/approve', { text: $('#comment-text').value.trim() || null }));
  $('#return-btn').addEventListener('click', () => reviewAction('/return', { text: $('#comment-text').value.trim() || null }));

  // ------------------------------------------------------------------------------------------
  // Audit (admins, supervisors)
  // ------------------------------------------------------------------------------------------
  async function loadAudit() {
    const params = new URLSearchParams({ limit: '200' });
    if ($('#audit-user').value.trim()) params.set('user', $('#audit-user').value.trim());
    if ($('#audit-ref').value.trim()) params.set('ref', $('#audit-ref').value.trim());
    const tb = $('#audit-list');
    try {
      const entries = await api('GET', '/api/audit?' + params.toString(), undefined, { quiet: true });
      tb.textContent = '';
      for (const e of entries) {
        tb.append(el('tr', { class: 'audit-row', dataset: { action: e.action } }, el('td', { text: String(e.seq) }), el('td', { text: fmtTime(e.time) }),
          el('td', { text: e.user }), el('td', { text: e.action + (e.detail ? ' · ' + e.detail : '') }), el('td', { text: (e.refs || []).slice(0, 3).join(' ') })));
      }
    } catch (e) { fail(e); }
  }
  $('#audit-refresh').addEventListener('click', loadAudit);
  $('#audit-verify').addEventListener('click', async () => {
    try {
      const r = await api('GET', '/api/audit/verify');
      const box = $('#audit-verify-result');
      box.textContent = (r.ok ? t('chain_ok') : t('chain_broken') + ' @' + r.first_bad + ' ' + (r.reason || '')) + ' (' + r.entries + ')';
      box.className = r.ok ? '' : 'error';
    } catch (e) { fail(e); }
  });

  // ------------------------------------------------------------------------------------------
  // Start
  // ------------------------------------------------------------------------------------------
  function buildChecks() {
    const fk = $('#f-kinds');
    for (const k of KINDS) fk.append(el('label', {}, el('input', { type: 'checkbox', value: k, checked: 'checked' }), el('span', { 'data-i18n': 'kind_' + k })));
    const fl = $('#f-link-kinds');
    for (const k of LINK_KINDS) fl.append(el('label', {}, el('input', { type: 'checkbox', value: k, checked: 'checked' }), el('span', { text: k })));
  }

  buildChecks();
  applyI18n();
  // A page reload keeps the session: ask who we are.
  api('GET', '/api/me', undefined, { quiet: true, login: true }).then(enterApp).catch(() => showLogin());
  window.fraudnet = S; // for debugging and the browser test
})();
