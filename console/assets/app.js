// The Eventide console: one page over the HTTP API (docs/http-api.md), hash-routed, no build
// step and no library. Everything the API returns is hostile text: it only ever reaches the
// page through textContent and setAttribute (the el() helper), never through innerHTML.
'use strict';

(function () {
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var STATES = ['running', 'waiting', 'answered', 'failed', 'cancelled'];

  // -- DOM helpers --------------------------------------------------------------------------

  // el('tag.class', {attr: value, onclick: fn}, child, ...): children are nodes or text.
  function build(ns, spec, attrs, kids) {
    var parts = spec.split('.');
    var node = ns ? document.createElementNS(ns, parts[0]) : document.createElement(parts[0]);
    if (parts.length > 1) node.setAttribute('class', parts.slice(1).join(' '));
    for (var k in attrs || {}) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, String(v));
    }
    append(node, kids);
    return node;
  }
  function append(node, kids) {
    for (var i = 0; i < kids.length; i++) {
      var c = kids[i];
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) append(node, c);
      else node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    }
  }
  function el(spec, attrs) { return build(null, spec, attrs, [].slice.call(arguments, 2)); }
  function svg(spec, attrs) { return build(SVG_NS, spec, attrs, [].slice.call(arguments, 2)); }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  // -- formatting ---------------------------------------------------------------------------

  function pad(n, w) { n = String(n); while (n.length < (w || 2)) n = '0' + n; return n; }
  function fmtTime(ms) {
    if (ms === null || ms === undefined) return '';
    var d = new Date(ms);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  function fmtClock(ms) {
    var d = new Date(ms);
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' +
      pad(d.getMilliseconds(), 3);
  }
  function fmtMs(ms) {
    if (ms === null || ms === undefined) return '';
    return (Math.round(ms * 10) / 10) + ' ms';
  }
  function stateBadge(state) {
    return el('span.badge.state-' + cssName(state), { 'data-testid': 'state' }, state);
  }
  // Only [a-z-] from the API may become part of a class name.
  function cssName(s) { return String(s || '').toLowerCase().replace(/[^a-z-]/g, ''); }
  function convHref(id) { return '#/c/' + encodeURIComponent(id); }

  // -- API ----------------------------------------------------------------------------------

  // Resolves to the JSON answer; rejects with an Error carrying the API's one-line message.
  function api(method, path, body) {
    var init = { method: method, headers: {} };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      return res.text().then(function (text) {
        var json = null;
        try { json = text ? JSON.parse(text) : null; } catch (e) { /* not JSON */ }
        if (!res.ok) {
          var msg = json && json.message ? json.message : (text || res.statusText);
          var err = new Error(res.status + ' ' + (json && json.error ? json.error + ': ' : '') + msg);
          err.status = res.status;
          throw err;
        }
        return json;
      });
    });
  }

  // -- live stream --------------------------------------------------------------------------

  // One EventSource at a time, asking for what the current view shows (its `stream` query:
  // docs/http-api.md, GET /api/stream); the view gets its records and conversations.
  var view = null;
  var es = null, esQuery = null;
  var liveBadge = document.querySelector('[data-testid="live"]');
  function setLive(state) {
    liveBadge.textContent = state;
    liveBadge.setAttribute('data-state', state);
  }
  function connect(query) {
    if (!window.EventSource) { setLive('no stream'); return; }
    if (es && esQuery === query) return;
    if (es) es.close();
    esQuery = query;
    es = new EventSource('/api/stream' + (query ? '?' + query : ''));
    var dropped = false;
    es.addEventListener('open', function () {
      setLive('live');
      // Messages were lost while disconnected: the view reads its data again.
      if (dropped && view && view.reload) view.reload();
      dropped = false;
    });
    es.addEventListener('error', function () { dropped = true; setLive('reconnecting'); });
    es.addEventListener('record', function (e) {
      var rec = parse(e.data);
      if (rec && view && view.onRecord) view.onRecord(rec);
    });
    es.addEventListener('conversation', function (e) {
      var c = parse(e.data);
      if (c && view && view.onConversation) view.onConversation(c);
    });
  }
  function parse(text) { try { return JSON.parse(text); } catch (e) { return null; } }

  // Runs fn at most once per `ms`, trailing: bursts of records cause one refresh.
  function throttle(fn, ms) {
    var timer = null;
    return function () {
      if (timer) return;
      timer = setTimeout(function () { timer = null; fn(); }, ms);
    };
  }

  // -- router -------------------------------------------------------------------------------

  var app = document.getElementById('app');
  function route() {
    if (view && view.leave) view.leave();
    var hash = location.hash || '#/';
    var m, nav;
    if ((m = /^#\/c\/(.+)$/.exec(hash))) { view = conversationView(decodeURIComponent(m[1])); nav = 'list'; }
    else if (hash === '#/dead-letters') { view = deadLettersView(); nav = 'dead-letters'; }
    else if (hash === '#/metrics') { view = metricsView(); nav = 'metrics'; }
    else if (hash === '#/approvals') { view = approvalsView(); nav = 'approvals'; }
    else { view = listView(); nav = 'list'; }
    var links = document.querySelectorAll('[data-nav]');
    for (var i = 0; i < links.length; i++)
      links[i].classList.toggle('active', links[i].getAttribute('data-nav') === nav);
    clear(app).appendChild(view.root);
    connect(view.stream || '');
    view.reload();
  }

  function errorBox(err) {
    return el('p.error', { 'data-testid': 'error' }, String(err && err.message ? err.message : err));
  }

  // -- #/ conversation list -----------------------------------------------------------------

  function listView() {
    var state = sessionStorage.getItem('eventide.state') || '';
    var next = null;
    var rows = {}; // id -> {tr, c}
    var tbody = el('tbody', { 'data-testid': 'conversation-list' });
    var total = el('span.muted', { 'data-testid': 'total' });
    var older = el('button', { type: 'button', 'data-testid': 'older', hidden: true, onclick: loadOlder }, 'older');
    var message = el('div.message');

    var select = el('select', { 'data-testid': 'state-filter', onchange: function () {
      state = select.value;
      sessionStorage.setItem('eventide.state', state);
      reload();
    } }, el('option', { value: '' }, 'all'), STATES.map(function (s) {
      return el('option', { value: s }, s);
    }));
    select.value = state;

    var input = el('input', { type: 'text', name: 'question', 'data-testid': 'ask-input', required: true,
      placeholder: 'Ask a question, e.g. What is 2+3?', autocomplete: 'off' });
    var askResult = el('span.ask-result', { 'data-testid': 'ask-result', role: 'status' });
    var form = el('form.ask', { 'data-testid': 'ask-form', onsubmit: function (e) {
      e.preventDefault();
      askResult.className = 'ask-result';
      askResult.textContent = 'asking...';
      api('POST', '/api/conversations', { question: input.value }).then(function (r) {
        input.value = '';
        clear(askResult).appendChild(el('span', null, 'asked: ',
          el('a', { href: convHref(r.conversationId), 'data-testid': 'ask-conversation' }, r.conversationId)));
      }, function (err) {
        askResult.className = 'ask-result error';
        askResult.setAttribute('data-testid', 'ask-result');
        askResult.textContent = err.message;
      });
    } }, input, el('button', { type: 'submit', 'data-testid': 'ask-submit' }, 'Ask'), askResult);

    var root = el('section.view', { 'data-testid': 'conversations-view' },
      el('h1', null, 'Conversations ', total),
      form,
      el('div.toolbar', null, el('label', null, 'state ', select)),
      message,
      el('table.list', null,
        el('thead', null, el('tr', null, el('th', null, 'state'), el('th', null, 'question'),
          el('th.num', null, 'latency (ms)'), el('th.num', null, 'plan (steps)'),
          el('th', null, 'started'))),
        tbody),
      el('div.more', null, older));

    function row(c) {
      return el('tr', { 'data-testid': 'conversation-row', 'data-id': c.id, 'data-state': c.state },
        el('td', null, stateBadge(c.state)),
        el('td.question', null, el('a', { href: convHref(c.id), 'data-testid': 'conversation-link' }, c.question || '(no question)')),
        el('td.num', { 'data-testid': 'latency' }, c.latencyMs === null || c.latencyMs === undefined ? '' : c.latencyMs),
        el('td.num', { 'data-testid': 'plan-steps' }, c.planSteps),
        el('td.time', { title: c.id }, fmtTime(c.startedAt)));
    }
    function add(list) {
      list.forEach(function (c) {
        if (rows[c.id]) return;
        rows[c.id] = { tr: row(c), c: c };
        tbody.appendChild(rows[c.id].tr);
      });
    }
    function showTotal(n) { total.textContent = '(' + n + ')'; total.setAttribute('data-total', n); }
    function query(cursor) {
      var q = ['limit=50'];
      if (state) q.push('state=' + encodeURIComponent(state));
      if (cursor) q.push('cursor=' + encodeURIComponent(cursor));
      return '/api/conversations?' + q.join('&');
    }
    function reload() {
      return api('GET', query(null)).then(function (page) {
        clear(tbody); clear(message); rows = {};
        add(page.conversations);
        next = page.next;
        older.hidden = !next;
        showTotal(page.total);
      }, function (err) { clear(message).appendChild(errorBox(err)); });
    }
    function loadOlder() {
      if (!next) return;
      api('GET', query(next)).then(function (page) {
        add(page.conversations);
        next = page.next;
        older.hidden = !next;
      }, function (err) { clear(message).appendChild(errorBox(err)); });
    }
    // Newest first by startedAt, then by id (the server's order).
    function before(a, b) {
      return a.startedAt !== b.startedAt ? (a.startedAt || 0) > (b.startedAt || 0) : a.id < b.id;
    }
    // A changed or new conversation from the stream: update its row in place, or insert it
    // where the server's order puts it (unless it belongs to a page not loaded yet).
    function onConversation(c) {
      var have = rows[c.id];
      var matches = !state || c.state === state;
      if (have) {
        if (!matches) { tbody.removeChild(have.tr); delete rows[c.id]; return; }
        var tr = row(c);
        tbody.replaceChild(tr, have.tr);
        rows[c.id] = { tr: tr, c: c };
        return;
      }
      if (!matches) return;
      var after = null;
      for (var i = 0; i < tbody.children.length; i++) {
        var other = rows[tbody.children[i].getAttribute('data-id')];
        if (other && before(c, other.c)) { after = tbody.children[i]; break; }
      }
      if (!after && next) return; // older than everything loaded: it is on a later page
      rows[c.id] = { tr: row(c), c: c };
      tbody.insertBefore(rows[c.id].tr, after);
      var n = Number(total.getAttribute('data-total') || 0) + 1;
      showTotal(n);
    }
    return { root: root, reload: reload, onConversation: onConversation, stream: 'records=none' };
  }

  // -- #/c/ID one conversation ----------------------------------------------------------------

  function conversationView(id) {
    var head = el('div.conv-head');
    var turnsBox = el('div.turns');
    var eventsBox = el('div.events');
    var message = el('div.message');
    var expanded = {}; // event ids whose JSON is open, kept across refreshes
    var root = el('section.view', { 'data-testid': 'conversation-view', 'data-id': id },
      el('p.crumbs', null, el('a', { href: '#/' }, 'Conversations'), ' / ',
        el('span.mono', null, id)),
      message, head, turnsBox,
      el('h2', null, 'Events'), eventsBox);

    function reload() {
      var base = '/api/conversations/' + encodeURIComponent(id);
      return Promise.all([api('GET', base), api('GET', base + '/events')]).then(function (r) {
        clear(message);
        render(r[0], r[1].events || []);
      }, function (err) { clear(message).appendChild(errorBox(err)); });
    }
    function render(c, events) {
      clear(head).appendChild(el('div', null,
        el('h1', null, 'Conversation ', stateBadge(c.state)),
        el('p.muted', null, c.events + ' events, started ' + fmtTime(c.startedAt) +
          ', updated ' + fmtTime(c.updatedAt))));
      root.setAttribute('data-state', c.state);
      clear(turnsBox);
      (c.turns || []).forEach(function (t) { turnsBox.appendChild(turnView(c, t, reload)); });
      clear(eventsBox).appendChild(eventsTable(events, expanded, c.id));
    }
    var refresh = throttle(reload, 200);
    return {
      root: root, reload: reload, stream: 'conversation=' + encodeURIComponent(id),
      onRecord: function (rec) { if (rec.conversationId === id) refresh(); }
    };
  }

  function turnView(c, t, reload) {
    var plan = t.plan;
    var status = t.cancelled ? 'cancelled' : t.failed ? 'failed' : t.answeredAt ? 'answered' : 'running';
    var steps = t.steps || [];
    return el('article.turn', { 'data-testid': 'turn', 'data-turn': t.turn },
      el('h2', null, 'Turn ' + t.turn + ' ', el('span.badge.state-' + status, null, status)),
      el('dl.facts', null,
        el('dt', null, 'question'), el('dd', { 'data-testid': 'question' }, t.question),
        t.resolvedQuery ? [el('dt', null, 'resolved as'), el('dd', null, t.resolvedQuery)] : null,
        el('dt', null, 'answer'),
        el('dd', null, t.answer ? el('pre.answer', { 'data-testid': 'answer' }, t.answer) : el('span.muted', null, 'no answer yet')),
        el('dt', null, 'latency'), el('dd', { 'data-testid': 'turn-latency' }, t.latencyMs === null ? 'running' : fmtMs(t.latencyMs)),
        plan ? [el('dt', null, 'plan'), el('dd', null, 'v' + plan.version + ' by ' + plan.provider + '/' + plan.model +
          ' in ' + fmtMs(plan.planningMs),
          (plan.revisions || []).length ? el('ul.revisions', null, plan.revisions.map(function (r) { return el('li', null, r); })) : null)]
          : null),
      approvalsBox(c.id, t, reload),
      steps.length ? el('div.charts', null,
        el('figure.chart', null, el('figcaption', null, 'Timeline (ms after the question)'), gantt(t), legend()),
        el('figure.chart', null, el('figcaption', null, 'Plan'), dag(t))) : el('p.muted', null, 'no plan steps'));
  }

  function legend() {
    return el('div.legend', null, ['done', 'running', 'planned', 'failed', 'critical'].map(function (k) {
      return el('span', null, el('i.swatch.' + k), k === 'planned' ? 'planned (queued)' : k === 'critical' ? 'critical path' : k);
    }));
  }

  function approvalsBox(convId, t, reload) {
    var list = t.approvals || [];
    if (!list.length) return null;
    return el('div.approvals', null, el('h3', null, 'Approvals'), el('ul', null, list.map(function (a) {
      return el('li', { 'data-testid': 'approval', 'data-step': a.step, 'data-decision': a.decision },
        el('span.mono', null, a.step + ' ' + a.tool), ' ', el('span.muted', null, a.reason), ' ',
        a.decision === 'pending' ? decisionButtons(convId, a.step, reload)
          : el('span.badge.decision-' + cssName(a.decision), null, a.decision));
    })));
  }

  // Approve / Reject with a status span for the answer (202 or the API's error).
  function decisionButtons(convId, step, done) {
    var status = el('span.decision-result', { 'data-testid': 'decision-result', role: 'status' });
    function decide(approve) {
      return function (e) {
        var buttons = e.target.parentNode.querySelectorAll('button');
        for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
        api('POST', '/api/conversations/' + encodeURIComponent(convId) + '/approvals/' + encodeURIComponent(step),
          { approve: approve }).then(function (r) {
          status.textContent = (approve ? 'approved' : 'rejected') + ' (' + r.position + ')';
          setTimeout(done, 300);
        }, function (err) {
          status.textContent = err.message;
          status.className = 'decision-result error';
          for (var i = 0; i < buttons.length; i++) buttons[i].disabled = false;
        });
      };
    }
    return el('span.decide', null,
      el('button.approve', { type: 'button', 'data-testid': 'approve', onclick: decide(true) }, 'Approve'),
      el('button.reject', { type: 'button', 'data-testid': 'reject', onclick: decide(false) }, 'Reject'),
      status);
  }

  // -- Gantt chart of a turn's steps ----------------------------------------------------------

  // One bar per step, from its request to its result, in ms after the turn's question. A step
  // with no request yet (planned) is drawn hollow from where its dependencies end; a running one
  // reaches up to now.
  function gantt(t) {
    var steps = t.steps || [];
    var critical = {};
    (t.criticalPath || []).forEach(function (s) { critical[s] = true; });
    var t0 = t.askedAt;
    var now = Date.now();
    var spans = {}, end = 1;
    steps.forEach(function (s) {
      var from = s.requestedAt !== null && s.requestedAt !== undefined ? s.requestedAt - t0 : null;
      var to = s.resultedAt !== null && s.resultedAt !== undefined ? s.resultedAt - t0 : null;
      if (from !== null && to === null) to = (t.answeredAt || now) - t0;
      spans[s.id] = { from: from, to: to };
      if (to !== null) end = Math.max(end, to);
    });
    if (t.answeredAt) end = Math.max(end, t.answeredAt - t0);
    steps.forEach(function (s) { // planned: after its dependencies, to the end
      var sp = spans[s.id];
      if (sp.from !== null) return;
      sp.from = 0;
      (s.dependsOn || []).forEach(function (d) { if (spans[d] && spans[d].to !== null) sp.from = Math.max(sp.from, spans[d].to); });
      sp.to = end;
    });
    var label = 150, width = 520, rowH = 24, top = 8, axis = 22;
    var h = top + steps.length * rowH + axis;
    var x = function (ms) { return label + (Math.max(0, ms) / end) * width; };
    var g = svg('svg.gantt', { 'data-testid': 'gantt', width: label + width + 20, height: h,
      viewBox: '0 0 ' + (label + width + 20) + ' ' + h, role: 'img', 'aria-label': 'timeline of the steps' });
    steps.forEach(function (s, i) {
      var sp = spans[s.id], y = top + i * rowH;
      var status = cssName(s.status);
      var cls = 'bar ' + status + (status === 'planned' ? ' queued' : '') + (critical[s.id] ? ' critical' : '');
      var w = Math.max(3, x(sp.to) - x(sp.from));
      var bx = x(sp.from);
      if (status === 'planned' && w < 24) { w = 24; bx = Math.min(bx, label + width - w); } // visible, inside the axis
      g.appendChild(svg('text.label', { x: 4, y: y + 16 }, s.id + ' ' + s.tool));
      g.appendChild(svg('rect', { 'class': cls, 'data-testid': 'gantt-bar', 'data-step': s.id,
        'data-status': s.status, 'data-critical': critical[s.id] ? 'true' : 'false',
        x: bx, y: y + 4, width: w, height: rowH - 8, rx: 3 },
        svg('title', null, s.id + ' ' + s.tool + ': ' + s.status +
          (s.durationMs !== null && s.durationMs !== undefined ? ', ' + s.durationMs + ' ms' : '') +
          ', attempts ' + s.attempts + (s.error ? ', ' + s.error : ''))));
      if (s.durationMs !== null && s.durationMs !== undefined)
        g.appendChild(svg('text.dur', { x: bx + w + 4, y: y + 16 }, s.durationMs + ' ms'));
    });
    var ay = top + steps.length * rowH + 4;
    g.appendChild(svg('line.axis', { x1: label, y1: ay, x2: label + width, y2: ay }));
    [0, 0.5, 1].forEach(function (f) {
      g.appendChild(svg('text.tick', { x: label + f * width, y: ay + 14,
        'text-anchor': f === 0 ? 'start' : f === 1 ? 'end' : 'middle' }, Math.round(f * end) + ' ms'));
    });
    return g;
  }

  // -- plan DAG -------------------------------------------------------------------------------

  // Steps in columns by dependency depth (a step sits one column right of its deepest
  // dependency); an edge runs from each dependency to the step that needs it.
  function dag(t) {
    var steps = t.steps || [];
    var byId = {}, depth = {};
    steps.forEach(function (s) { byId[s.id] = s; });
    var critical = {};
    (t.criticalPath || []).forEach(function (s) { critical[s] = true; });
    function depthOf(id, seen) {
      if (depth[id] !== undefined) return depth[id];
      if (seen[id]) return 0; // a cycle (the router refuses those): do not loop
      seen[id] = true;
      var d = 0;
      (byId[id].dependsOn || []).forEach(function (p) { if (byId[p]) d = Math.max(d, depthOf(p, seen) + 1); });
      depth[id] = d;
      return d;
    }
    var layers = [];
    steps.forEach(function (s) {
      var d = depthOf(s.id, {});
      (layers[d] = layers[d] || []).push(s);
    });
    // Fewer crossings: a step sits near the mean row of its dependencies (plan order breaks ties).
    var rowOf = {};
    layers.forEach(function (layer) {
      var key = function (s, i) {
        var deps = (s.dependsOn || []).filter(function (p) { return rowOf[p] !== undefined; });
        var mean = deps.length ? deps.reduce(function (a, p) { return a + rowOf[p]; }, 0) / deps.length : i;
        return { s: s, k: mean, i: i };
      };
      var sorted = layer.map(key).sort(function (a, b) { return a.k - b.k || a.i - b.i; });
      sorted.forEach(function (e, r) { layer[r] = e.s; rowOf[e.s.id] = r; });
    });
    var nodeW = 150, nodeH = 40, gapX = 60, gapY = 16, pad = 10;
    var skips = steps.some(function (s) {
      return (s.dependsOn || []).some(function (p) { return byId[p] && depth[s.id] - depth[p] > 1; });
    });
    var arc = skips ? 16 : 0; // room above the nodes for edges that skip a layer
    var tall = Math.max.apply(null, layers.map(function (l) { return l.length; }).concat([1]));
    var W = pad * 2 + layers.length * nodeW + (layers.length - 1) * gapX;
    var H = pad * 2 + arc + tall * nodeH + (tall - 1) * gapY;
    var pos = {};
    layers.forEach(function (layer, col) {
      var offset = arc + (H - arc - (layer.length * nodeH + (layer.length - 1) * gapY)) / 2;
      layer.forEach(function (s, row) {
        pos[s.id] = { x: pad + col * (nodeW + gapX), y: offset + row * (nodeH + gapY) };
      });
    });
    var marker = 'arrow-' + t.turn;
    var g = svg('svg.dag', { 'data-testid': 'dag', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H,
      role: 'img', 'aria-label': 'plan steps and their dependencies' },
      svg('defs', null, svg('marker', { id: marker, viewBox: '0 0 10 10', refX: 10, refY: 5,
        markerWidth: 7, markerHeight: 7, orient: 'auto' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', 'class': 'arrowhead' }))));
    steps.forEach(function (s) {
      (s.dependsOn || []).forEach(function (p) {
        if (!byId[p]) return;
        var a = pos[p], b = pos[s.id];
        var x1 = a.x + nodeW, y1 = a.y + nodeH / 2, x2 = b.x, y2 = b.y + nodeH / 2, mx = (x1 + x2) / 2;
        var d = 'M' + x1 + ',' + y1 + ' C' + mx + ',' + y1 + ' ' + mx + ',' + y2 + ' ' + x2 + ',' + y2;
        if (depth[s.id] - depth[p] > 1) { // skips a layer: arc over the nodes in between
          var over = Math.min(y1, y2) - nodeH / 2 - arc;
          d = 'M' + x1 + ',' + y1 + ' C' + (x1 + gapX) + ',' + over + ' ' + (x2 - gapX) + ',' + over + ' ' + x2 + ',' + y2;
        }
        g.appendChild(svg('path', { 'class': 'edge' + (critical[p] && critical[s.id] ? ' critical' : ''),
          'data-testid': 'dag-edge', 'data-from': p, 'data-to': s.id, d: d,
          'marker-end': 'url(#' + marker + ')' }));
      });
    });
    steps.forEach(function (s) {
      var p = pos[s.id];
      g.appendChild(svg('g', { 'class': 'node ' + cssName(s.status) + (critical[s.id] ? ' critical' : ''),
        'data-testid': 'dag-node', 'data-step': s.id, 'data-depth': depth[s.id],
        transform: 'translate(' + p.x + ',' + p.y + ')' },
        svg('rect', { width: nodeW, height: nodeH, rx: 6 }),
        svg('text.id', { x: 8, y: 16 }, s.id),
        svg('text.tool', { x: 8, y: 32 }, clip(s.tool, 20)),
        svg('title', null, s.id + ' ' + s.tool + ' (' + s.status + ')')));
    });
    return g;
  }
  function clip(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + '\u2026' : s; }

  // -- raw events -----------------------------------------------------------------------------

  // Position, type, id, its cause (a link to the cause's row when the cause is here), time, and
  // the record's JSON behind a <details>.
  // An id as shown: without the conversation id it starts with (the full id is its title).
  function shortId(id, conv) {
    return conv && id.indexOf(conv + '/') === 0 ? '\u2026/' + id.slice(conv.length + 1) : id;
  }

  function eventsTable(events, expanded, conv) {
    var rowOf = {};
    var t0 = events.length ? events[0].time : 0;
    var tbody = el('tbody', { 'data-testid': 'events' });
    events.forEach(function (ev, i) {
      var details = el('details', { ontoggle: function () { expanded[ev.id] = details.open; } },
        el('summary', null, 'JSON'), el('pre.json', null, JSON.stringify(ev.event, null, 2)));
      if (expanded[ev.id]) details.open = true;
      var tr = el('tr', { id: 'ev-' + i, 'data-testid': 'event-row', 'data-event-id': ev.id, 'data-type': ev.type },
        el('td.mono.nowrap', null, ev.position),
        el('td', null, el('span.type', null, ev.type)),
        el('td.mono.wrap', { title: ev.id }, shortId(ev.id, conv)),
        el('td.mono.wrap', { 'data-testid': 'cause' }),
        el('td.time', { title: ev.time ? new Date(ev.time).toISOString() : '' },
          ev.time ? fmtClock(ev.time) + ' (+' + (ev.time - t0) + ' ms)' : ''),
        el('td', null, details));
      if (!rowOf[ev.id]) rowOf[ev.id] = tr;
      tbody.appendChild(tr);
    });
    events.forEach(function (ev, i) {
      var cell = tbody.children[i].querySelector('[data-testid="cause"]');
      if (!ev.causationId) return;
      var target = rowOf[ev.causationId];
      if (!target) { cell.appendChild(el('span.muted', { title: 'not in this conversation' }, shortId(ev.causationId, conv))); return; }
      cell.appendChild(el('a', { href: '#' + target.id, 'data-testid': 'cause-link', 'data-target': ev.causationId,
        onclick: function (e) {
          e.preventDefault(); // a real #ev-N would leave the conversation's route
          target.scrollIntoView({ block: 'center' });
          target.classList.remove('flash'); void target.offsetWidth; target.classList.add('flash');
        }, title: ev.causationId }, shortId(ev.causationId, conv)));
    });
    return el('table.events', null, el('thead', null, el('tr', null, el('th', null, 'position'),
      el('th', null, 'type'), el('th', null, 'id'), el('th', null, 'caused by'), el('th', null, 'time'),
      el('th', null, 'record'))), tbody);
  }

  // -- #/dead-letters -------------------------------------------------------------------------

  function deadLettersView() {
    var tbody = el('tbody', { 'data-testid': 'dead-letters' });
    var result = el('div.result', { 'data-testid': 'redrive-result', role: 'status' });
    var message = el('div.message');
    var root = el('section.view', { 'data-testid': 'dead-letters-view' },
      el('h1', null, 'Dead letters'),
      el('p.muted', null, 'Records a consumer group could not handle. Redrive puts the original value back on its topic, same key.'),
      result, message,
      el('table.list', null, el('thead', null, el('tr', null, el('th', null, 'address'), el('th', null, 'source'),
        el('th', null, 'group'), el('th', null, 'key'), el('th', null, 'reason'), el('th', null, 'redriven to'),
        el('th', null, ''))), tbody));
    function reload() {
      return api('GET', '/api/dead-letters').then(function (r) {
        clear(message); clear(tbody);
        var list = r.deadLetters || [];
        if (!list.length) tbody.appendChild(el('tr', null, el('td.muted', { colspan: 7 }, 'no dead letters')));
        list.forEach(function (d) { tbody.appendChild(row(d)); });
      }, function (err) { clear(message).appendChild(errorBox(err)); });
    }
    function row(d) {
      return el('tr', { 'data-testid': 'dead-letter', 'data-address': d.address, 'data-key': d.key,
        'data-redriven': d.redrivenTo ? 'true' : 'false' },
        el('td.mono', null, d.address),
        el('td.mono', null, d.sourceTopic + '/' + d.partition + '@' + d.offset),
        el('td', null, d.group),
        el('td.mono.wrap', null, d.key),
        el('td.reason', null, d.reason),
        el('td.mono', { 'data-testid': 'redriven-to' }, d.redrivenTo || ''),
        el('td', null, d.redrivenTo ? null : el('button', { type: 'button', 'data-testid': 'redrive',
          onclick: function (e) { redrive(d, e.target); } }, 'Redrive')));
    }
    function redrive(d, button) {
      button.disabled = true;
      result.className = 'result';
      result.textContent = 'redriving ' + d.address + '...';
      // The address is P:OFFSET; the ':' stays as it is (it is legal in a path).
      api('POST', '/api/dead-letters/' + encodeURIComponent(d.address).replace(/%3A/gi, ':') + '/redrive').then(function (r) {
        clear(result).appendChild(el('span', { 'data-outcome': 'ok' }, 'redrove ' + d.address + ' to ' + r.redrivenTo +
          (d.key ? '; conversation ' : ''), d.key ? el('a', { href: convHref(d.key) }, d.key) : null));
        result.setAttribute('data-outcome', 'ok');
        reload();
      }, function (err) {
        result.className = 'result error';
        result.setAttribute('data-outcome', 'error');
        result.textContent = 'redrive of ' + d.address + ' failed: ' + err.message;
        button.disabled = false;
      });
    }
    var refresh = throttle(reload, 500);
    return { root: root, reload: reload, stream: 'topic=dead-letter-queue',
      onRecord: function (rec) { if (/dead-letter/.test(rec.topic || '')) refresh(); } };
  }

  // -- #/metrics ------------------------------------------------------------------------------

  // Horizontal bars: one row per name, one bar per series (e.g. p50 and p95), scaled to the max.
  function barChart(title, rows, series, unit, testid) {
    var label = 190, width = 360, barH = 12, gap = 10;
    var rowH = series.length * barH + gap;
    var max = 0;
    rows.forEach(function (r) { series.forEach(function (s) { max = Math.max(max, r.values[s.key] || 0); }); });
    if (max <= 0) max = 1;
    var legend = 18;
    var H = legend + Math.max(1, rows.length) * rowH + 4;
    var g = svg('svg.bars', { 'data-testid': testid, width: label + width + 90, height: H,
      viewBox: '0 0 ' + (label + width + 90) + ' ' + H, role: 'img', 'aria-label': title });
    series.forEach(function (s, i) {
      g.appendChild(svg('rect', { 'class': 'bar ' + s.cls, x: label + i * 80, y: 3, width: 10, height: 10 }));
      g.appendChild(svg('text.tick', { x: label + i * 80 + 14, y: 12 }, s.name));
    });
    if (!rows.length) g.appendChild(svg('text.muted', { x: 4, y: legend + 12 }, 'nothing yet'));
    rows.forEach(function (r, i) {
      var y = legend + i * rowH;
      g.appendChild(svg('text.label', { x: 4, y: y + (series.length * barH) / 2 + 4 }, clip(r.name, 28),
        svg('title', null, r.name)));
      series.forEach(function (s, j) {
        var v = r.values[s.key] || 0;
        var w = Math.max(1, (v / max) * width);
        g.appendChild(svg('rect', { 'class': 'bar ' + s.cls, 'data-testid': testid + '-bar', 'data-name': r.name,
          'data-series': s.key, 'data-value': v, x: label, y: y + j * barH, width: w, height: barH - 2 },
          svg('title', null, r.name + ' ' + s.name + ': ' + v + (unit ? ' ' + unit : ''))));
        g.appendChild(svg('text.val', { x: label + w + 4, y: y + j * barH + barH - 3 },
          (Math.round(v * 10) / 10) + (unit ? ' ' + unit : '')));
      });
    });
    return el('figure.chart', null, el('figcaption', null, title), g);
  }

  function metricsView() {
    var box = el('div');
    var root = el('section.view', { 'data-testid': 'metrics-view' }, el('h1', null, 'Metrics'), box);
    function reload() {
      return api('GET', '/api/metrics').then(function (m) { clear(box).appendChild(render(m)); },
        function (err) { clear(box).appendChild(errorBox(err)); });
    }
    function sum(o) { var n = 0; for (var k in o || {}) n += o[k]; return n; }
    function entries(o, f) { return Object.keys(o || {}).sort().map(function (k) { return { name: k, values: f(o[k]) }; }); }
    function render(m) {
      var e2e = m.endToEnd || {};
      var stat = function (name, v, testid) {
        return el('div.stat', { 'data-testid': testid }, el('div.num', null, v), el('div.muted', null, name));
      };
      var pct = [{ key: 'p50Ms', name: 'p50', cls: 'p50' }, { key: 'p95Ms', name: 'p95', cls: 'p95' }];
      return el('div', null,
        el('div.stats', null,
          stat('conversations', m.conversations, 'metric-conversations'),
          stat('answered', m.answered, 'metric-answered'),
          stat('failed', m.failed, 'metric-failed'),
          stat('open', m.open, 'metric-open'),
          stat('dead letters', sum(m.deadLetters), 'metric-dead-letters'),
          stat('end to end p50 / p95', fmtMs(e2e.p50Ms) + ' / ' + fmtMs(e2e.p95Ms), 'metric-e2e')),
        el('div.charts', null,
          barChart('Tool latency (ms)', entries(m.tools, function (l) { return l; }), pct, 'ms', 'tool-latency'),
          barChart('Consumer lag (records not committed)', entries(m.consumerLag, function (v) { return { lag: v }; }),
            [{ key: 'lag', name: 'lag', cls: 'lag' }], '', 'consumer-lag'),
          Object.keys(m.deadLetters || {}).length ? barChart('Dead letters per group',
            entries(m.deadLetters, function (v) { return { n: v }; }), [{ key: 'n', name: 'dead letters', cls: 'dlq' }], '', 'dead-letter-counts') : null),
        el('p.muted', null, 'events ' + sum(m.eventsByType) + ', tool errors ' + m.toolErrors + ', retries ' + m.retries +
          ', ' + (Math.round((m.eventsPerSecond || 0) * 10) / 10) + ' events/s over their time span'));
    }
    var refresh = throttle(reload, 2000);
    return { root: root, reload: reload, onConversation: refresh, stream: 'records=none' };
  }

  // -- #/approvals ----------------------------------------------------------------------------

  function approvalsView() {
    var tbody = el('tbody', { 'data-testid': 'approvals' });
    var message = el('div.message');
    var root = el('section.view', { 'data-testid': 'approvals-view' }, el('h1', null, 'Pending approvals'), message,
      el('table.list', null, el('thead', null, el('tr', null, el('th', null, 'conversation'), el('th', null, 'turn'),
        el('th', null, 'step'), el('th', null, 'tool'), el('th', null, 'args'), el('th', null, 'reason'),
        el('th', null, 'expires'), el('th', null, ''))), tbody));
    function reload() {
      return api('GET', '/api/approvals').then(function (r) {
        clear(message); clear(tbody);
        var list = r.approvals || [];
        if (!list.length) tbody.appendChild(el('tr', null, el('td.muted', { colspan: 8 }, 'nothing waits for a person')));
        list.forEach(function (a) {
          tbody.appendChild(el('tr', { 'data-testid': 'approval', 'data-conversation': a.conversationId, 'data-step': a.step },
            el('td.mono.wrap', null, el('a', { href: convHref(a.conversationId) }, a.conversationId)),
            el('td.num', null, a.turn), el('td.mono', null, a.step), el('td', null, a.tool),
            el('td', null, el('pre.json.small', null, JSON.stringify(a.args))),
            el('td.reason', null, a.reason), el('td.time', null, fmtTime(a.expiresAt)),
            el('td', null, decisionButtons(a.conversationId, a.step, reload))));
        });
      }, function (err) { clear(message).appendChild(errorBox(err)); });
    }
    var refresh = throttle(reload, 500);
    // Approvals come and go with the conversations' state (waiting while one is pending).
    return { root: root, reload: reload, onConversation: refresh, stream: 'records=none' };
  }

  window.addEventListener('hashchange', route);
  route();
})();
