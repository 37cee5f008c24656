/* The explorer page's script (frontends/render/explorer.c inlines it).
 * It only shows what Graphviz drew when the page was written: six views
 * (layer, cell, op; each forward and with gradients), switched by clicks,
 * panned and zoomed through the SVG viewBox. No network, no libraries.
 *
 * DOT ids (the <title> of every node and cluster) tie the levels together:
 *   layer box  "layer:P#sK"  -> cell view, cluster "cluster_f:P#sK"
 *   step box   "step:P#sK"   -> op view, cluster "cluster_f:P#sK"
 *   ellipsis   "ellipsis:P#sK" -> op view, the same ellipsis
 * (gradient boxes are "grad-layer:", "grad-step:", ... and clusters
 * "cluster_g:"); a node's metadata is META[its DOT id].
 *
 * PAGE.html#selftest clicks through the levels and writes PASS/FAIL lines
 * into the page's selftest element; #selftest=STAGE stops after STAGE (layer,
 * cell, op, grad, hover, search) and leaves the page there (screenshots). */
(function () {
  'use strict';
  var errors = [];
  window.addEventListener('error', function (e) { errors.push('error: ' + (e.message || e)); });
  var consoleError = console.error;
  console.error = function () {
    errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    return consoleError.apply(console, arguments);
  };

  var META = JSON.parse(document.getElementById('meta').textContent);
  var stage = document.getElementById('stage');
  var info = document.getElementById('info');
  var search = document.getElementById('search');
  var searchCount = document.getElementById('search-count');
  var crumbs = document.getElementById('crumbs');
  var gradToggle = document.getElementById('grad-toggle');
  var LEVELS = ['layer', 'cell', 'op'];

  /* views[level + grad] = {el, svg, vb, home, byId: {DOT id: <g>}, nodes: [<g>]} */
  var views = {};
  var cur = null, state = {level: 'layer', grad: false, focus: null};
  Array.prototype.forEach.call(document.querySelectorAll('.view'), function (el) {
    var svg = el.querySelector('svg');
    if (!svg) return;
    var vb = svg.getAttribute('viewBox').split(/[\s,]+/).map(Number);
    svg.removeAttribute('width');
    svg.removeAttribute('height');
    var v = {el: el, svg: svg, home: vb.slice(), vb: vb.slice(), byId: {}, nodes: []};
    Array.prototype.forEach.call(svg.querySelectorAll('g.node, g.cluster'), function (g) {
      var t = g.querySelector('title');
      if (!t) return;
      var id = t.textContent;
      g.dataset.id = id;
      v.byId[id] = g;
      if (g.classList.contains('node')) v.nodes.push(g);
    });
    views[el.dataset.level + (el.dataset.grad === '1' ? '-g' : '')] = v;
  });

  function key(level, grad) { return level + (grad ? '-g' : ''); }
  function setViewBox(v) { v.svg.setAttribute('viewBox', v.vb.map(function (x) { return x.toFixed(2); }).join(' ')); }

  /* The bounding box of element g in its svg's viewBox coordinates
   * (Graphviz puts everything under a translated group). */
  function boxOf(v, g) {
    var b = g.getBBox();
    var m = v.svg.getScreenCTM().inverse().multiply(g.getScreenCTM());
    var xs = [], ys = [];
    [[b.x, b.y], [b.x + b.width, b.y], [b.x, b.y + b.height], [b.x + b.width, b.y + b.height]].forEach(function (p) {
      var q = v.svg.createSVGPoint();
      q.x = p[0]; q.y = p[1];
      q = q.matrixTransform(m);
      xs.push(q.x); ys.push(q.y);
    });
    var x0 = Math.min.apply(null, xs), y0 = Math.min.apply(null, ys);
    return [x0, y0, Math.max.apply(null, xs) - x0, Math.max.apply(null, ys) - y0];
  }

  function zoomTo(v, g) {
    var b = boxOf(v, g), pad = 0.08 * Math.max(b[2], b[3]) + 10;
    v.vb = [b[0] - pad, b[1] - pad, b[2] + 2 * pad, b[3] + 2 * pad];
    setViewBox(v);
  }

  function fit(v) { v.vb = v.home.slice(); setViewBox(v); }

  function clearMarks(v, cls) {
    Array.prototype.forEach.call(v.svg.querySelectorAll('g.' + cls), function (g) { g.classList.remove(cls); });
  }

  function updateNav() {
    LEVELS.forEach(function (l) {
      document.getElementById('btn-' + l).classList.toggle('active', l === state.level);
    });
    gradToggle.checked = state.grad;
    var parts = [state.level + ' level' + (state.grad ? ' with gradients' : '')];
    if (state.focus) parts.push(state.focus.replace(/^[a-z_-]+:/, '').replace(/#s\d+$/, ''));
    crumbs.textContent = parts.join(' \u203a ');
  }

  /* Show a view; focus (a DOT id) is highlighted and zoomed to if drawn. */
  function show(level, grad, focus) {
    var v = views[key(level, grad)] || views[key(level, false)];
    if (!v) return false;
    if (cur && cur !== v) cur.el.hidden = true;
    v.el.hidden = false;
    cur = v;
    state.level = level;
    state.grad = !!views[key(level, grad)] && grad;
    clearMarks(v, 'focus');
    var g = focus ? v.byId[focus] : null;
    state.focus = g ? focus : null;
    if (g) {
      g.classList.add('focus');
      zoomTo(v, g);
    } else fit(v);
    info.hidden = true;
    runSearch();
    updateNav();
    return true;
  }

  /* Where a click on a box leads: [level, DOT id to focus] or null. */
  function target(id) {
    var m = /^(grad-)?(layer|step|ellipsis):(.*)$/.exec(id);
    if (!m) return null;
    var cluster = (m[1] ? 'cluster_g:' : 'cluster_f:') + m[3];
    if (m[2] === 'layer') return ['cell', cluster];
    if (m[2] === 'step') return ['op', cluster];
    return ['op', id];
  }

  function open(id) {
    var t = target(id);
    return t ? show(t[0], state.grad, t[1]) : false;
  }

  /* --- hover: the info panel --------------------------------------------------------- */

  function el(tag, text) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fmt(x) { return typeof x === 'number' ? String(Number(x.toPrecision(4))) : String(x); }

  function histogram(h) {
    var ns = cur.svg.namespaceURI; /* the SVG namespace, without writing an address into the page */
    var w = 160, ht = 36, max = Math.max.apply(null, h) || 1;
    var s = document.createElementNS(ns, 'svg');
    s.setAttribute('class', 'hist');
    s.setAttribute('width', w);
    s.setAttribute('height', ht);
    h.forEach(function (c, i) {
      var r = document.createElementNS(ns, 'rect'), bh = c ? Math.max(1, ht * c / max) : 0;
      r.setAttribute('x', i * w / h.length);
      r.setAttribute('width', w / h.length - 1);
      r.setAttribute('y', ht - bh);
      r.setAttribute('height', bh);
      s.appendChild(r);
    });
    return s;
  }

  function statsRows(tb, st) {
    if (!st) return;
    function row(k, v) { var tr = el('tr'); tr.appendChild(el('td', k)); tr.appendChild(el('td', v)); tb.appendChild(tr); }
    if (st.min !== undefined) {
      row('min / max', fmt(st.min) + ' / ' + fmt(st.max));
      row('mean \u00b1 std', fmt(st.mean) + ' \u00b1 ' + fmt(st.std));
    }
    row('values', String(st.n) + (st.nonfinite ? ' (' + st.nonfinite + ' not finite)' : ''));
    if (st.hist) {
      var tr = el('tr'), td = el('td');
      td.colSpan = 2;
      td.appendChild(histogram(st.hist));
      tr.appendChild(td);
      tb.appendChild(tr);
    }
  }

  /* The metadata entries under a box's scope path (P of "layer:P#sK"). */
  function under(id) {
    var m = /^(grad-)?[a-z]+:(.*)#s\d+$/.exec(id);
    if (!m) return [];
    var prefix = m[2] + '/', grad = !!m[1], out = [];
    Object.keys(META).forEach(function (k) {
      var bare = k.replace(/^grad:/, '');
      if (bare.lastIndexOf(prefix, 0) === 0 && !!META[k].grad === grad) out.push(META[k]);
    });
    return out;
  }

  function describe(g) {
    var id = g.dataset.id, m = META[id];
    info.textContent = '';
    info.appendChild(el('b', m ? m.name : id.replace(/^[a-z_-]+:/, '').replace(/#s\d+$/, '')));
    info.appendChild(el('div', id)).className = 'id';
    var tb = el('table');
    function row(k, v) { var tr = el('tr'); tr.appendChild(el('td', k)); tr.appendChild(el('td', v)); tb.appendChild(tr); }
    if (m) {
      row('op', m.op + (m.grad ? ' (gradient)' : ''));
      row('kind', m.kind);
      row('shape', m.shape);
      row('dtype', m.dtype);
      statsRows(tb, m.stats);
    } else {
      var inside = under(id), params = inside.filter(function (e) { return e.kind === 'param'; });
      if (inside.length) row('nodes', String(inside.length));
      params.slice(0, 8).forEach(function (p) {
        row(p.name.split('/').slice(-2).join('/'), p.shape + (p.stats && p.stats.min !== undefined ?
            '  [' + fmt(p.stats.min) + ', ' + fmt(p.stats.max) + '] mean ' + fmt(p.stats.mean) : ''));
      });
      var t = target(id);
      if (t) row('click', 'opens the ' + t[0] + ' level here');
    }
    info.appendChild(tb);
    info.hidden = false;
  }

  /* --- search ------------------------------------------------------------------------ */

  var hits = [], hitAt = -1;
  function runSearch() {
    if (!cur) return;
    clearMarks(cur, 'hit');
    hits = [];
    hitAt = -1;
    var q = search.value.trim().toLowerCase();
    if (q) {
      cur.nodes.forEach(function (g) {
        var m = META[g.dataset.id];
        var hay = (g.dataset.id + ' ' + (m ? m.name + ' ' + m.op : '') + ' ' + g.textContent).toLowerCase();
        if (hay.indexOf(q) >= 0) { g.classList.add('hit'); hits.push(g); }
      });
    }
    searchCount.textContent = q ? hits.length + (hits.length === 1 ? ' match' : ' matches') : '';
  }
  function nextHit() {
    if (!hits.length) return;
    hitAt = (hitAt + 1) % hits.length;
    zoomTo(cur, hits[hitAt]);
  }

  /* --- events -------------------------------------------------------------------------- */

  var drag = null;
  stage.addEventListener('mousedown', function (e) {
    if (e.button !== 0 || !cur) return;
    drag = {x: e.clientX, y: e.clientY, vb: cur.vb.slice(), moved: false};
    stage.classList.add('dragging');
  });
  window.addEventListener('mousemove', function (e) {
    if (!drag) return;
    var r = cur.svg.getBoundingClientRect();
    var s = Math.max(drag.vb[2] / r.width, drag.vb[3] / r.height);
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    cur.vb = [drag.vb[0] - dx * s, drag.vb[1] - dy * s, drag.vb[2], drag.vb[3]];
    setViewBox(cur);
  });
  window.addEventListener('mouseup', function () {
    stage.classList.remove('dragging');
    if (drag && drag.moved) stage.dataset.dragged = '1';
    drag = null;
  });
  stage.addEventListener('wheel', function (e) {
    if (!cur) return;
    e.preventDefault();
    var p = cur.svg.createSVGPoint();
    p.x = e.clientX; p.y = e.clientY;
    p = p.matrixTransform(cur.svg.getScreenCTM().inverse());
    var f = Math.exp(e.deltaY * 0.0015);
    cur.vb = [p.x - (p.x - cur.vb[0]) * f, p.y - (p.y - cur.vb[1]) * f, cur.vb[2] * f, cur.vb[3] * f];
    setViewBox(cur);
  }, {passive: false});
  stage.addEventListener('click', function (e) {
    if (stage.dataset.dragged) { delete stage.dataset.dragged; return; }
    var g = e.target.closest ? e.target.closest('g.node') : null;
    if (g) open(g.dataset.id);
  });
  stage.addEventListener('mouseover', function (e) {
    var g = e.target.closest ? e.target.closest('g.node') : null;
    if (!g) return;
    if (cur) clearMarks(cur, 'hover');
    g.classList.add('hover');
    describe(g);
  });
  LEVELS.forEach(function (l) {
    document.getElementById('btn-' + l).addEventListener('click', function () { show(l, state.grad, null); });
  });
  gradToggle.addEventListener('change', function () {
    /* the same place in the other drawing when it is drawn there */
    var f = state.focus;
    if (f && gradToggle.checked === false) f = f.replace(/^cluster_g:/, 'cluster_f:');
    show(state.level, gradToggle.checked, f);
  });
  document.getElementById('btn-fit').addEventListener('click', function () { if (cur) fit(cur); });
  search.addEventListener('input', runSearch);
  search.addEventListener('keydown', function (e) { if (e.key === 'Enter') nextHit(); });
  window.addEventListener('keydown', function (e) {
    if (e.target === search) return;
    if (e.key === '/') { e.preventDefault(); search.focus(); }
    else if (e.key === '0' && cur) fit(cur);
    else if (e.key === 'g' && !gradToggle.disabled) { gradToggle.checked = !gradToggle.checked; gradToggle.dispatchEvent(new Event('change')); }
  });

  show('layer', false, null);

  /* --- #selftest ----------------------------------------------------------------------- */

  function selftest(stop) {
    var out = [], failed = 0;
    function check(name, ok, detail) {
      out.push((ok ? 'PASS ' : 'FAIL ') + name + ': ' + detail);
      if (!ok) failed++;
      return ok;
    }
    function visible(k) { return views[k] && !views[k].el.hidden && cur === views[k]; }
    function ids(v, re) { return v ? Object.keys(v.byId).filter(function (i) { return re.test(i); }) : []; }
    function click(g) { g.dispatchEvent(new MouseEvent('click', {bubbles: true})); }
    function done() {
      out.push('errors: ' + (errors.length ? errors.join(' | ') : 'none'));
      if (errors.length) failed++;
      out.push('SELFTEST DONE ' + (failed ? 'FAILED ' + failed : 'OK'));
      var pre = document.getElementById('selftest');
      pre.textContent = out.join('\n') + '\n';
      document.title = failed ? 'SELFTEST FAILED' : 'SELFTEST OK';
    }
    check('page', Object.keys(views).length >= 3 && visible('layer'),
          Object.keys(views).length + ' views, ' + Object.keys(META).length + ' nodes described, layer view shown');
    /* a layer whose cell-level drawing has steps: the first RNN layer */
    var layers = ids(views.layer, /^layer:/), cellV = views.cell, pick = null, steps = [];
    layers.forEach(function (l) {
      if (pick) return;
      var p = l.replace(/^layer:/, '').replace(/#s\d+$/, '');
      var s = ids(cellV, /^step:/).filter(function (i) { return i.lastIndexOf('step:' + p + '/', 0) === 0; });
      if (s.length) { pick = l; steps = s; }
    });
    if (!check('layer', layers.length > 0 && pick, layers.length + ' layer boxes; a recurrent one: ' + pick)) return done();
    if (stop === 'layer') return done();
    click(views.layer.byId[pick]);
    var want = 'cluster_f:' + pick.replace(/^layer:/, '');
    if (!check('cell', visible('cell') && state.focus === want && cellV.byId[want].classList.contains('focus'),
               'clicked ' + pick + ': cell level at ' + state.focus + ', ' + steps.length + ' step boxes')) return done();
    if (stop === 'cell') return done();
    var step = steps[0], opV = views.op;
    click(cellV.byId[step]);
    var stepPath = step.replace(/^step:/, '').replace(/#s\d+$/, '');
    var ops = ids(opV, /./).filter(function (i) { return i.lastIndexOf(stepPath + '/', 0) === 0; });
    if (!check('op', visible('op') && state.focus === 'cluster_f:' + step.replace(/^step:/, '') && ops.length > 0,
               'clicked ' + step + ': op level at ' + state.focus + ', ' + ops.length + ' ops in the step')) return done();
    if (stop === 'op') return done();
    if (views['op-g']) {
      gradToggle.checked = true;
      gradToggle.dispatchEvent(new Event('change'));
      var gops = ids(views['op-g'], /^grad:/);
      var gstep = 'cluster_g:' + step.replace(/^step:/, '');
      check('grad', visible('op-g') && gops.length > 0 && !!views['op-g'].byId[gstep],
            'gradient toggle: op level with ' + gops.length + ' gradient nodes, ' + gstep +
            (views['op-g'].byId[gstep] ? ' drawn' : ' missing'));
    } else check('grad', true, 'no gradient views (the graph has no gradients)');
    if (stop === 'grad') return done();
    var param = cur.nodes.filter(function (g) { var m = META[g.dataset.id]; return m && m.kind === 'param'; })[0];
    if (check('hover-target', !!param, 'a parameter node in the ' + (cur.el.id) + ' view')) {
      param.querySelector('g, path, polygon, text').dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
      var m = META[param.dataset.id], text = info.textContent;
      check('hover', !info.hidden && text.indexOf(m.op) >= 0 && text.indexOf(m.shape) >= 0 &&
            text.indexOf(m.dtype) >= 0 && (!m.stats || (text.indexOf('mean') >= 0 && !!info.querySelector('svg.hist rect'))),
            'info panel for ' + param.dataset.id + ': ' + text.replace(/\s+/g, ' ').slice(0, 160));
    }
    if (stop === 'hover') return done();
    search.value = 'kernel';
    search.dispatchEvent(new Event('input'));
    check('search', hits.length > 0 && /\d+ match/.test(searchCount.textContent),
          '"kernel": ' + searchCount.textContent + ' in the ' + cur.el.id + ' view');
    if (stop === 'search') return done();
    search.value = '';
    search.dispatchEvent(new Event('input'));
    document.getElementById('btn-layer').click();
    check('back', visible(state.grad ? 'layer-g' : 'layer'), 'the Layer button shows the ' + cur.el.id + ' view');
    done();
  }

  var hash = decodeURIComponent(location.hash.slice(1));
  if (/^selftest(=|$)/.test(hash)) selftest(hash.split('=')[1] || '');
})();
