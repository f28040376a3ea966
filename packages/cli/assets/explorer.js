/*
 * The event-channel explorer's page script (inlined into the page by `evtchn explore`; plain
 * browser JavaScript, no dependencies, works offline).
 *
 * The page's data holds each step's changed state cells (see src/explore/capture.ts for their
 * layout); the state of step i is rebuilt by applying the changes of steps 0..i, from a cached
 * keyframe every KEYFRAME steps, so any jump costs at most KEYFRAME applications.
 *
 * For tests and readers the page exposes: body[data-step] (the step shown), #actual and
 * #expected (the step's lines; #actual[data-delivered] lists an upcall's delivered ports),
 * #steps .step[data-differs="1"] in the step list, and [data-changed="1"] on everything the step changed.
 */
(function explorer(data, doc, win) {
  'use strict';
  var KEYFRAME = 64;
  /** Rows (ports, steps) per block the browser can skip while off screen. */
  var CHUNK = 100;
  var ECS = ['free', 'reserved', 'unbound', 'interdomain', 'pirq', 'virq', 'ipi'];
  var MASK_REASONS = [
    [1, 'explicit'],
    [2, 'temporary'],
    [4, 'eoi-pending'],
  ];
  var FIFO_P = 0x80000000, FIFO_M = 0x40000000, FIFO_L = 0x20000000, FIFO_B = 0x10000000, LINK_MASK = 0x1ffff;
  var steps = data.steps;
  var n = steps.length;
  /** The domain shown (a run has several; a replay one, whose cells have no prefix). */
  var dom = data.domains[0];
  function K(name) {
    return dom.prefix + name;
  }
  var keyframes = [];
  var current = 0;
  var timer = null;

  function $(id) {
    return doc.getElementById(id);
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function apply(state, changes) {
    for (var k in changes) {
      if (!Object.prototype.hasOwnProperty.call(changes, k)) continue;
      if (changes[k] === null) delete state[k];
      else state[k] = changes[k];
    }
  }
  function copy(state) {
    var c = {};
    for (var k in state) c[k] = state[k];
    return c;
  }
  /** The state after step i (i = -1: before the first step). */
  function stateAt(i) {
    if (i < 0) return {};
    var kf = Math.floor(i / KEYFRAME);
    while (keyframes.length <= kf) {
      var j = keyframes.length;
      var s = j === 0 ? {} : copy(keyframes[j - 1]);
      var start = j === 0 ? 0 : (j - 1) * KEYFRAME + 1;
      for (var t = start; t <= j * KEYFRAME && t < n; t++) apply(s, steps[t].changes);
      keyframes.push(s);
    }
    var st = copy(keyframes[kf]);
    for (var u = kf * KEYFRAME + 1; u <= i; u++) apply(st, steps[u].changes);
    return st;
  }
  function hex(v, digits) {
    return (v >>> 0).toString(16).padStart(digits || 8, '0');
  }
  function ports(state) {
    var out = [];
    var head = K('port:');
    for (var k in state) if (k.indexOf(head) === 0) out.push(+k.slice(head.length));
    return out.sort(function (a, b) {
      return a - b;
    });
  }
  function reasons(r) {
    var names = [];
    MASK_REASONS.forEach(function (m) {
      if (r & m[0]) names.push(m[1]);
    });
    return names.join(' ');
  }
  function bit(on, changed, title) {
    return '<span class="bit' + (on ? ' on' : '') + (changed ? ' chg' : '') + '"' + (changed ? ' data-changed="1"' : '') + ' title="' + esc(title) + '"></span>';
  }
  function stepText(s) {
    var parts = [];
    for (var k in s) if (k !== 'op') parts.push(k + '=' + JSON.stringify(s[k]));
    return s.op + (parts.length ? ' ' + parts.join(' ') : '');
  }

  // ---- panels --------------------------------------------------------------------------------

  /**
   * Marks the part of two differing lines between their common prefix and common suffix
   * (<mark class="diff">), so the eye goes to what differs; the text stays the same.
   */
  function markDifference(a, b, x, y) {
    var pre = 0;
    while (pre < x.length && pre < y.length && x[pre] === y[pre]) pre++;
    var suf = 0;
    while (suf < x.length - pre && suf < y.length - pre && x[x.length - 1 - suf] === y[y.length - 1 - suf]) suf++;
    [[a, x], [b, y]].forEach(function (pair) {
      var el = pair[0], t = pair[1];
      el.textContent = '';
      el.appendChild(doc.createTextNode(t.slice(0, pre)));
      var m = doc.createElement('mark');
      m.className = 'diff';
      m.textContent = t.slice(pre, t.length - suf);
      el.appendChild(m);
      el.appendChild(doc.createTextNode(t.slice(t.length - suf)));
    });
  }

  function renderStep(i) {
    var s = steps[i];
    var line = s.line;
    var parsed = {};
    try {
      parsed = JSON.parse(line);
    } catch (e) {
      parsed = {};
    }
    var actual = $('actual');
    actual.textContent = line;
    if (Array.isArray(parsed.delivered)) actual.setAttribute('data-delivered', JSON.stringify(parsed.delivered));
    else actual.removeAttribute('data-delivered');
    var exp = $('expected-row');
    if (s.expected !== undefined) {
      exp.hidden = false;
      $('expected').textContent = s.expected;
      if (s.differs) markDifference(actual, $('expected'), line, s.expected);
      $('expected').className = s.differs ? 'line differs' : 'line';
      actual.className = s.differs ? 'line differs' : 'line';
      $('verdict').textContent = s.differs ? 'differs from the expected line' : 'matches the expected line';
      $('verdict').className = s.differs ? 'verdict bad' : 'verdict good';
    } else {
      exp.hidden = true;
      actual.className = 'line';
      $('verdict').textContent = '';
    }
    $('op').textContent = '#' + i + '  ' + stepText(s.step);
    if (data.kind === 'run') {
      // A run's step lines are its trace events of the instant; name this domain's handler runs.
      var handled = [];
      line.split('\n').forEach(function (l) {
        try {
          var ev = JSON.parse(l);
          if (ev.ev === 'handle' && ev.dom === dom.id) handled.push('port ' + ev.port + ' (IRQ ' + ev.irq + ') on vCPU ' + ev.cpu);
        } catch (e) {
          /* not a trace line */
        }
      });
      $('handlers').textContent = handled.length ? dom.name + ': handlers ran for ' + handled.join(', ') : '';
      return;
    }
    var ran = Array.isArray(parsed.delivered)
      ? parsed.delivered.length
        ? 'handlers ran for ports ' + parsed.delivered.join(', ') + ' (in this order), each returning IRQ_HANDLED'
        : 'the upcall found nothing to handle'
      : '';
    $('handlers').textContent = ran;
  }

  /** One row of the port table; bits that changed from `o` (the previous step) are outlined when `changed`. */
  function portRow(p, c, o, changed) {
    var fifo = dom.abi === 'fifo';
    function cellBit(idx, name) {
      return '<td class="b">' + bit(c[idx], changed && (!o || o[idx] !== c[idx]), name) + '</td>';
    }
    var word = c[6];
    var wordCell = fifo
      ? word < 0
        ? '<td class="mono muted">none</td>'
        : '<td class="mono">' +
          ['P', 'M', 'L', 'B']
            .map(function (f, j) {
              return (word & [FIFO_P, FIFO_M, FIFO_L, FIFO_B][j]) !== 0 ? f : '-';
            })
            .join('') +
          ' link ' +
          (word & LINK_MASK) +
          '</td>'
      : '';
    return (
      '<tr data-port="' + p + '"' + (changed ? ' class="changed" data-changed="1"' : '') + '>' +
      '<td class="num">' + p + '</td><td>' + (ECS[c[0]] || c[0]) + '</td><td class="num">' + c[1] + '</td>' +
      cellBit(2, 'pending') + cellBit(3, 'masked') + cellBit(4, 'linked (busy)') +
      (fifo ? '<td class="num">' + c[5] + '</td>' + wordCell : '') +
      '<td class="num">' + (c[7] < 0 ? '-' : c[7]) + '</td><td class="num">' + (c[7] < 0 ? '-' : c[8]) + '</td><td>' + (c[7] < 0 ? '' : reasons(c[9])) + '</td></tr>'
    );
  }

  /** What the port table shows now: its ports, each row's cell and element, the rows outlined. */
  var table = { keys: null, cells: {}, rows: {}, outlined: {} };

  function sameCell(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    for (var k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
    return true;
  }

  function renderPorts(state, prev, changes) {
    var list = ports(state);
    var keys = list.join(',');
    var isChanged = function (p) {
      return Object.prototype.hasOwnProperty.call(changes, K('port:' + p));
    };
    if (keys === table.keys) {
      // The same ports: redraw only the rows whose state or outline differs from what is shown,
      // so stepping through 1500 ports touches a handful of rows.
      var tpl = doc.createElement('tbody');
      var outlined = {};
      list.forEach(function (p) {
        var c = state[K('port:' + p)];
        var changed = isChanged(p);
        if (changed) outlined[p] = true;
        if (!changed && !table.outlined[p] && sameCell(table.cells[p], c)) return;
        tpl.innerHTML = portRow(p, c, prev[K('port:' + p)], changed);
        var row = tpl.firstChild;
        table.rows[p].replaceWith(row);
        table.rows[p] = row;
        table.cells[p] = c;
      });
      table.outlined = outlined;
      return;
    }
    var fifo = dom.abi === 'fifo';
    var rows = list.map(function (p) {
      return portRow(p, state[K('port:' + p)], prev[K('port:' + p)], isChanged(p));
    });
    var head =
      '<tr><th>port</th><th>state</th><th>vCPU</th><th title="pending">P</th><th title="masked">M</th><th title="linked on a queue (busy)">L</th>' +
      (fifo ? '<th>prio</th><th>event word</th>' : '') +
      '<th>IRQ</th><th>IRQ CPU</th><th>mask reasons</th></tr>';
    // Rows in chunks of CHUNK, each its own fixed-layout table the browser may skip laying out
    // while it is off screen (content-visibility).
    var widths = [60, 100, 50, 30, 30, 30].concat(fifo ? [45, 130] : [], [55, 65, 200]);
    var cols = '<colgroup>' + widths.map(function (w) {
      return '<col style="width:' + w + 'px">';
    }).join('') + '</colgroup>';
    var html = '';
    for (var k = 0; k < rows.length; k += CHUNK) {
      html += '<div class="chunk"><table class="ports">' + cols + (k === 0 ? '<thead>' + head + '</thead>' : '') + '<tbody>' + rows.slice(k, k + CHUNK).join('') + '</tbody></table></div>';
    }
    $('ports').innerHTML = list.length ? html : '<p class="muted">no port in use</p>';
    table = { keys: keys, cells: {}, rows: {}, outlined: {} };
    var els = $('ports').querySelectorAll('tr[data-port]');
    for (var e = 0; e < els.length; e++) {
      var p = +els[e].getAttribute('data-port');
      table.rows[p] = els[e];
      table.cells[p] = state[K('port:' + p)];
      if (isChanged(p)) table.outlined[p] = true;
    }
  }

  function grid(label, value, prevValue, bits, titleOf) {
    var cells = '';
    for (var b = 0; b < bits; b++) {
      var on = ((value[b >> 5] >>> (b & 31)) & 1) === 1;
      var was = prevValue ? ((prevValue[b >> 5] >>> (b & 31)) & 1) === 1 : false;
      cells += bit(on, on !== was, titleOf(b));
    }
    return '<div class="grid"><span class="glabel">' + esc(label) + '</span>' + cells + '</div>';
  }

  function renderTwoLevel(state, prev) {
    var html = '';
    var perSel = data.wordBits;
    for (var v = 0; v < dom.vcpus; v++) {
      var sel = state[K('sel:' + v)] || [0, 0];
      var psel = prev[K('sel:' + v)] || [0, 0];
      html += grid('vCPU ' + v + ' evtchn_pending_sel', sel, psel, perSel, function (b) {
        return 'selector bit ' + b + ': ports ' + b * perSel + '..' + (b * perSel + perSel - 1);
      });
    }
    var halves = 0;
    while (state[K('pend:' + halves)] !== undefined) halves++;
    var words = Math.ceil((halves * 32) / perSel);
    html += '<p class="muted">evtchn_pending and evtchn_mask, one row per ' + perSel + '-bit word (word w holds ports w×' + perSel + ' … w×' + perSel + '+' + (perSel - 1) + ')</p>';
    for (var w = 0; w < words; w++) {
      var halfPer = perSel / 32;
      var pv = [], pp = [], mv = [], mp = [];
      for (var h = 0; h < halfPer; h++) {
        var idx = w * halfPer + h;
        pv.push(state[K('pend:' + idx)] || 0);
        pp.push(prev[K('pend:' + idx)] || 0);
        mv.push(state[K('mask:' + idx)] || 0);
        mp.push(prev[K('mask:' + idx)] || 0);
      }
      var base = w * perSel;
      var title = function (b) {
        return 'port ' + (base + b);
      };
      html += '<div class="pair">' + grid('pending w' + w, pv, pp, perSel, title) + grid('mask w' + w, mv, mp, perSel, title) + '</div>';
    }
    $('abi-state').innerHTML = html;
  }

  function renderFifo(state, prev) {
    var html = '';
    for (var v = 0; v < dom.vcpus; v++) {
      var cb = state[K('cb:' + v)];
      var pcb = prev[K('cb:' + v)];
      var tails = state[K('tail:' + v)] || [];
      html += '<h4>vCPU ' + v + '</h4>';
      if (!cb) {
        html += '<p class="muted">no control block registered</p>';
        continue;
      }
      html += grid('READY', [cb[0]], pcb ? [pcb[0]] : null, 16, function (q) {
        return 'queue ' + q + ' ready';
      });
      var queues = '';
      for (var q = 0; q < 16; q++) {
        var head = cb[1 + q];
        var chain = [];
        var seen = {};
        var p = head;
        // HEAD is written by Xen when it links into an empty queue and only read by the guest,
        // so once the guest has consumed the queue it is stale: follow it only through LINKED
        // events (the queue proper).
        while (p !== 0 && !seen[p] && chain.length < 4096) {
          var c = state[K('port:' + p)];
          if (!c || c[6] < 0 || (c[6] & FIFO_L) === 0) break;
          seen[p] = true;
          chain.push(p);
          p = c[6] & LINK_MASK;
        }
        var headChanged = !pcb || pcb[1 + q] !== head;
        if (chain.length === 0 && !tails[q] && !head) continue;
        queues +=
          '<div class="queue' + (headChanged ? ' changed' : '') + '"' + (headChanged ? ' data-changed="1"' : '') + ' data-queue="' + q + '"><span class="qlabel">prio ' + q + '</span> HEAD → ' +
          (chain.length
            ? chain
                .map(function (x) {
                  return '<span class="chip">' + x + '</span>';
                })
                .join(' → ')
            : '<span class="muted">empty' + (head ? ' (stale HEAD ' + head + ')' : '') + '</span>') +
          ' <span class="muted">(hypervisor tail ' + (tails[q] || 0) + ')</span></div>';
      }
      html += queues || '<p class="muted">all 16 queues empty</p>';
    }
    $('abi-state').innerHTML = html;
  }

  function renderUpcalls(state, prev) {
    var html = '';
    for (var v = 0; v < dom.vcpus; v++) {
      var u = state[K('upcall:' + v)] || [0, 0];
      var pu = prev[K('upcall:' + v)] || [0, 0];
      html += '<span class="vcpu">vCPU ' + v + ': upcall pending ' + bit(u[0], u[0] !== pu[0], 'evtchn_upcall_pending') + ' masked ' + bit(u[1], u[1] !== pu[1], 'evtchn_upcall_mask') + '</span>';
    }
    $('upcalls').innerHTML = html;
  }

  /** A 256-bit vLAPIC register (8 words) as a grid, vector v at bit v. */
  function vectorGrid(label, words, prevWords) {
    var set = [];
    for (var b = 0; b < 256; b++) if ((words[b >> 5] >>> (b & 31)) & 1) set.push('0x' + b.toString(16));
    var g = grid(label, words, prevWords, 256, function (x) {
      return 'vector ' + x + ' (0x' + x.toString(16) + ')';
    });
    return '<div class="vectors">' + g + '<span class="muted"> ' + (set.length ? set.join(' ') : 'none') + '</span></div>';
  }

  function renderArch(state, prev) {
    var html = '';
    for (var v = 0; v < dom.vcpus; v++) {
      var parts = [];
      var pc = state[K('pcpu:' + v)];
      if (pc !== undefined) {
        var ppc = prev[K('pcpu:' + v)];
        parts.push('<span' + (pc !== ppc ? ' class="changed" data-changed="1"' : '') + '>' + (pc >= 0 ? 'running on pCPU ' + pc : 'not running') + '</span>');
      }
      var lapic = state[K('lapic:' + v)];
      var lrs = state[K('lr:' + v)];
      if (lapic) {
        var pl = prev[K('lapic:' + v)] || [];
        parts.push(vectorGrid('IRR', lapic.slice(0, 8), pl.slice(0, 8)) + vectorGrid('ISR', lapic.slice(8, 16), pl.slice(8, 16)));
      } else if (lrs) {
        var plr = prev[K('lr:' + v)] || [];
        var items = [];
        for (var j = 0; j + 3 < lrs.length; j += 4) {
          var changed = plr[j] !== lrs[j] || plr[j + 1] !== lrs[j + 1] || plr[j + 2] !== lrs[j + 2];
          var text = lrs[j] < 0 ? 'empty' : 'virq ' + lrs[j] + (lrs[j + 1] ? ' pending' : '') + (lrs[j + 2] ? ' active' : '') + ' prio ' + lrs[j + 3];
          items.push('<span class="chip' + (changed ? ' changed" data-changed="1"' : '"') + '>LR' + j / 4 + ': ' + text + '</span>');
        }
        parts.push('<div>' + items.join(' ') + '</div>');
      }
      if (parts.length) html += '<div class="archv"><h4>vCPU ' + v + '</h4>' + parts.join('') + '</div>';
    }
    $('arch').innerHTML = html || '<p class="muted">' + (data.arch === 'null' ? "core's null architecture: no interrupt hardware to show (each upcall runs on its vCPU)" : 'nothing to show') + '</p>';
  }

  function renderList() {
    var html = '';
    for (var i = 0; i < n; i++) {
      if (i % CHUNK === 0) html += (i ? '</div>' : '') + '<div class="chunk">';
      var s = steps[i];
      html += '<div class="step' + (s.differs ? ' differs' : '') + '" role="listitem" data-i="' + i + '"' + (s.differs ? ' data-differs="1"' : '') + '><span class="idx">' + i + '</span> ' + esc(stepText(s.step)) + '</div>';
    }
    $('steps').innerHTML = html + (n ? '</div>' : '');
    $('steps').addEventListener('click', function (e) {
      var item = e.target.closest('.step');
      if (item) go(+item.getAttribute('data-i'));
    });
  }

  /** Scrolls the step list so step i is visible, from the known row height (no layout of the list). */
  function revealStep(i) {
    var list = $('steps');
    var row = list.querySelector('.step');
    var h = row ? row.getBoundingClientRect().height || 18 : 18;
    var top = i * h;
    if (top < list.scrollTop || top + h > list.scrollTop + list.clientHeight) list.scrollTop = Math.max(0, top - list.clientHeight / 2);
  }

  function go(i) {
    if (n === 0) return;
    i = Math.max(0, Math.min(n - 1, i | 0));
    current = i;
    var state = stateAt(i);
    var prev = stateAt(i - 1);
    var changes = steps[i].changes;
    renderStep(i);
    renderPorts(state, prev, changes);
    if (dom.abi === 'fifo') renderFifo(state, prev);
    else renderTwoLevel(state, prev);
    renderUpcalls(state, prev);
    renderArch(state, prev);
    $('abi-title').textContent = dom.abi === 'fifo' ? 'FIFO: control blocks and queues' : '2-level: selector, pending and mask words';
    $('pos').textContent = 'step ' + i + ' of ' + (n - 1);
    $('jump').value = String(i);
    var old = doc.querySelector('#steps .step.current');
    if (old) old.classList.remove('current');
    var item = doc.querySelector('#steps .step[data-i="' + i + '"]');
    if (item) item.classList.add('current');
    revealStep(i);
    doc.body.setAttribute('data-step', String(i));
    if (win.history && win.history.replaceState) win.history.replaceState(null, '', '#step=' + i);
  }

  function play() {
    if (timer) {
      win.clearInterval(timer);
      timer = null;
      $('play').textContent = '▶ play';
      return;
    }
    $('play').textContent = '⏸ pause';
    timer = win.setInterval(function () {
      if (current >= n - 1) return play();
      go(current + 1);
    }, 600);
  }

  function fromHash() {
    var m = /step=(\d+)/.exec(win.location.hash || '');
    return m ? +m[1] : 0;
  }

  renderList();
  var picker = $('domain');
  if (data.domains.length > 1) {
    picker.innerHTML = data.domains
      .map(function (d, j) {
        return '<option value="' + j + '">' + esc(d.name) + ' (domain ' + d.id + ', ' + esc(d.abi) + ', ' + d.vcpus + ' vCPU' + (d.vcpus === 1 ? '' : 's') + ')</option>';
      })
      .join('');
    picker.hidden = false;
    picker.onchange = function () {
      dom = data.domains[+picker.value];
      table.keys = null;
      go(current);
    };
  }
  $('first').onclick = function () {
    go(0);
  };
  $('prev').onclick = function () {
    go(current - 1);
  };
  $('next').onclick = function () {
    go(current + 1);
  };
  $('last').onclick = function () {
    go(n - 1);
  };
  $('play').onclick = play;
  $('jump').onchange = function () {
    go(+$('jump').value);
  };
  var mis = $('first-diff');
  if (data.firstMismatch >= 0) {
    mis.hidden = false;
    mis.onclick = function () {
      go(data.firstMismatch);
    };
  }
  doc.addEventListener('keydown', function (e) {
    if (e.target && e.target.tagName === 'INPUT') return;
    if (e.key === 'ArrowRight' || e.key === 'j') go(current + 1);
    else if (e.key === 'ArrowLeft' || e.key === 'k') go(current - 1);
    else if (e.key === 'Home') go(0);
    else if (e.key === 'End') go(n - 1);
    else if (e.key === ' ') {
      e.preventDefault();
      play();
    } else return;
  });
  win.addEventListener('hashchange', function () {
    if (fromHash() !== current) go(fromHash());
  });
  go(fromHash());
})(JSON.parse(document.getElementById('explore-data').textContent), document, window);
