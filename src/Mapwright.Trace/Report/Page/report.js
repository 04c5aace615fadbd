'use strict';
// The Mapwright report page. The data block (#report-data) is base64 of gzip of tagged records, written by
// Mapwright.Trace's ReportWriter; docs/report.md describes both. Everything here runs from the file itself.
(function () {
  const T_STRING = 1, T_PROCESS = 2, T_STEP = 3, T_SMAPS = 4, T_CHART = 5, T_END = 6, T_EXIT = 7, T_FINAL = 8;
  const F_DIVERGED = 1, F_HOOKS = 2, F_CHANGES = 4, F_SKIPPED = 8, F_VIEW = 16, F_MATCHED = 32, F_NORETURN = 64;
  const KINDS = ['anon', 'file', 'shmem', 'heap', 'stack', 'special', 'device'];
  const FULL_LIST = 20000, WINDOW = 150, MAX_DIVERGED_ROWS = 2000;
  const t0 = performance.now();
  const timings = {};
  const $ = (id) => document.getElementById(id);

  // ---- decoding ----
  let buf = new Uint8Array(0), pos = 0, regA = 0, regP = 0;
  const u = () => {
    let b = buf[pos++];
    if (b < 128) return b;
    let v = b & 127, m = 128;
    do { b = buf[pos++]; v += (b & 127) * m; m *= 128; } while (b >= 128);
    return v;
  };
  const z = () => { const v = u(); return v % 2 === 1 ? -(v + 1) / 2 : v / 2; };
  const u32 = () => { const v = buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24); pos += 4; return v >>> 0; };
  const hexWhole = (hi, lo) => hi === 0 ? lo.toString(16) : hi.toString(16) + lo.toString(16).padStart(8, '0');
  // An address: a difference from the register, or whole; returns its hex digits (or null when only skipping).
  const addr = (want) => {
    if (buf[pos++] === 0) {
      regA += z(); regP = Math.floor(regA / 4096);
      return want ? regA.toString(16) : null;
    }
    const hi = u32(), lo = u32();
    return want ? hexWhole(hi, lo) : null;
  };
  const page = () => (regP += z());

  const D = {
    strings: [''], steps: 0, procs: [], smaps: [], hookSteps: [], divergedSteps: [], charts: null, end: null,
  };
  // Every record is its tag, the length of its body, then the body. Every 64th call's record is a checkpoint: it
  // carries the line and the registers whole, so any call is read by starting at the checkpoint before it.
  const CHECKPOINT = 64;
  const F_CHECKPOINT = 128;
  let checkpoints = new Uint32Array(1024);
  let lineNo = 0;

  function readString(n) {
    const s = new TextDecoder().decode(buf.subarray(pos, pos + n));
    pos += n;
    return s;
  }

  // An added VMA.
  function readVma() {
    const s = page(), n = u(), pk = buf[pos++], name = u();
    const e = { s, n, pk, name, off: 0, maj: 0, min: 0, ino: 0 };
    if (pk & 0x80) { e.off = u(); e.maj = u(); e.min = u(); e.ino = u(); }
    return e;
  }

  function readAdded(map, out) {
    const n = u();
    for (let i = 0; i < n; i++) { const e = readVma(); if (map) map.set(e.s, e); if (out) out.push(e); }
    return n;
  }

  // The arguments: a template (its numbers marked \u0001 hexadecimal, \u0002 decimal), then the numbers.
  const marks = [];
  function marksOf(id) {
    let m = marks[id];
    if (m === undefined) {
      m = [];
      const t = D.strings[id];
      for (let i = 0; i < t.length; i++) { const c = t.charCodeAt(i); if (c === 1 || c === 2) m.push(c); }
      marks[id] = m;
    }
    return m;
  }
  function skipArgs() {
    const m = marksOf(u());
    for (let i = 0; i < m.length; i++) { if (m[i] === 1) addr(false); else u(); }
  }
  function readArgs() {
    const t = D.strings[u()];
    let out = '';
    for (let i = 0; i < t.length; i++) {
      const c = t.charCodeAt(i);
      out += c === 1 ? '0x' + addr(true) : c === 2 ? String(z()) : t[i];
    }
    return out;
  }

  function skipResult() {
    const t = buf[pos];
    if (t <= 1) { addr(false); return; }
    pos++;
    if (t === 4) pos += 8; else u();
  }

  function readCharts() {
    const width = u(), n = u(), series = [];
    for (let i = 0; i < n; i++) {
      const p = u(), first = u(), count = u(), min = [], max = [];
      for (let m = 0; m < 3; m++) {
        const lo = new Float64Array(count), hi = new Float64Array(count);
        let prev = 0;
        for (let k = 0; k < count; k++) { prev += z(); lo[k] = prev; hi[k] = prev + u(); }
        min.push(lo); max.push(hi);
      }
      series.push({ proc: p, first, count, min, max });
    }
    D.charts = { width, series };
  }

  function readEnd() {
    const steps = u(), executed = u(), matched = u(), diverged = u(), skipped = u(), check = buf[pos++] === 1;
    const leaks = [];
    for (let n = u(), i = 0; i < n; i++) leaks.push(D.strings[u()]);
    D.end = { steps, executed, matched, diverged, skipped, check, leaks };
  }

  // The data block: base64 of the records, plain (a short log: read at once, as the page loads) or gzip'd.
  function fromBase64() {
    const text = $('report-data').textContent.trim();
    if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(text);
    const bin = atob(text), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }

  // A long log's records, through the browser's own DecompressionStream.
  async function unpack() {
    const bytes = fromBase64();
    const ds = new DecompressionStream('gzip');
    const w = ds.writable.getWriter();
    w.write(bytes); w.close();
    const reader = ds.readable.getReader(), chunks = [];
    let n = 0;
    for (;;) { const { done, value } = await reader.read(); if (done) break; chunks.push(value); n += value.length; }
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of chunks) { out.set(c, at); at += c.length; }
    return out;
  }

  // The first pass hops from record to record: it keeps the strings, the processes, the checkpoints and which calls
  // diverged or have hooks, and reads the final maps the writer put at the end. The calls themselves are read when
  // shown; the maps of other calls come from keyframes built in the background.
  function decode(bytes) {
    buf = bytes;
    timings.unpack = Math.round(performance.now() - t0);
    const state = { step: -1, maps: [] };
    let step = 0;
    pos = 0;
    while (pos < buf.length) {
      const start = pos, tag = buf[pos++], len = u(), end = pos + len;
      switch (tag) {
        case T_STEP: {
          const f = buf[pos];
          if (step % CHECKPOINT === 0) {
            const c = step / CHECKPOINT;
            if (c >= checkpoints.length) { const b = new Uint32Array(checkpoints.length * 2); b.set(checkpoints); checkpoints = b; }
            checkpoints[c] = start;
          }
          if (f & F_DIVERGED) D.divergedSteps.push(step);
          if (f & F_HOOKS) D.hookSteps.push(step);
          step++;
          break;
        }
        case T_STRING: D.strings.push(readString(len)); break;
        case T_PROCESS: {
          const i = u(), parent = u() - 1, birth = u(), label = u();
          D.procs[i] = { index: i, parent, birth: birth - 1, label: D.strings[label], exit: -1 };
          break;
        }
        case T_EXIT: { const i = u(), s = u(); D.procs[i].exit = s; break; }
        case T_SMAPS: { const s = u(), p = u(), n = u(); D.smaps.push({ step: s, proc: p, text: readString(n) }); break; }
        case T_FINAL: {
          regA = 0; regP = 0;
          for (let n = u(), k = 0; k < n; k++) { const i = u(), map = new Map(); readAdded(map, null); state.maps[i] = map; }
          break;
        }
        case T_CHART: readCharts(); break;
        case T_END: readEnd(); break;
        default: throw new Error('report data: unknown record ' + tag + ' at ' + (end - len));
      }
      pos = end;
    }
    D.steps = step;
    state.step = step - 1;
    timings.read = Math.round(performance.now() - t0);
    return state;
  }

  // A reader positioned after `step`: where it is, and the registers and line there.
  const at = (step) => ({ step, pos, regA, regP, lineNo });
  const seek = (r) => { pos = r.pos; regA = r.regA; regP = r.regP; lineNo = r.lineNo; };

  // One call's record at `pos` (its tag included), applying its VMA changes to `state` when given; returns the
  // changes applied. Leaves `pos` after the record.
  function stepRecord(state) {
    pos++;
    const len = u(), end = pos + len;
    const f = buf[pos++];
    if (f & F_CHECKPOINT) { lineNo = u(); regA = u(); regP = u(); } else lineNo += z();
    skipCall(f);
    let ops = 0;
    if (f & F_CHANGES) {
      const groups = u();
      for (let g = 0; g < groups; g++) {
        const map = state ? state.maps[u()] : (u(), null);
        const nr = u();
        if (map) for (let i = 0; i < nr; i++) map.delete(page());
        else for (let i = 0; i < nr; i++) page();
        ops += nr + readAdded(map, null);
      }
    }
    pos = end;
    return ops;
  }
  // The process, PID, name, arguments, result, expected result and hook calls of a call: read for the registers.
  function skipCall(f) {
    u(); u(); u();
    skipArgs();
    skipResult();
    if (f & F_DIVERGED) u();
    if (f & F_HOOKS) {
      for (let n = u(), i = 0; i < n; i++) { u(); u(); addr(false); addr(false); u(); u(); }
    }
  }

  // A record other than a call's in a later pass: a process record sets its maps, the rest is hopped over.
  function otherRecord(state) {
    const tag = buf[pos++], len = u(), end = pos + len;
    if (tag === T_PROCESS && state) { const i = u(); u(); u(); u(); const map = new Map(); readAdded(map, null); state.maps[i] = map; }
    else if (tag === T_PROCESS) { u(); u(); u(); u(); readAdded(null, null); }
    pos = end;
    return tag;
  }

  // Keyframes of the maps, built after the first view in slices of a few milliseconds: one whenever the changes
  // since the last outweigh it. Seeking uses the nearest one before the step and replays the calls after it.
  const keyframes = [{ step: -1, maps: [], reader: { step: -1, pos: 0, regA: 0, regP: 0, lineNo: 0 } }];
  const bg = { state: { step: -1, maps: [] }, reader: keyframes[0].reader, pending: 0, live: 0 };
  function buildKeyframes() {
    const end = performance.now() + 12;
    const saved = at(-1);
    seek(bg.reader);
    const st = bg.state;
    while (st.step < D.steps - 1 && performance.now() < end) {
      for (let k = 0; k < 2000 && st.step < D.steps - 1; k++) {
        if (buf[pos] === T_STEP) {
          bg.pending += stepRecord(st);
          st.step++;
          if (bg.pending > Math.max(2000, bg.live * 2)) {
            keyframes.push({ step: st.step, maps: st.maps.map((m) => (m ? Array.from(m.values()) : null)), reader: at(st.step) });
            bg.live = st.maps.reduce((a, m) => a + (m ? m.size : 0), 0);
            bg.pending = 0;
          }
        } else otherRecord(st);
      }
    }
    bg.reader = at(st.step);
    seek(saved);
    if (st.step < D.steps - 1) setTimeout(buildKeyframes, 0);
    else document.documentElement.dataset.indexed = '1';
  }

  // From the state at hand forward to `to` (the state knows where its reader stands).
  function replayTo(state, to) {
    seek(state.reader);
    while (state.step < to && pos < buf.length) {
      const tag = buf[pos];
      if (tag === T_STEP) { stepRecord(state); state.step++; }
      else if (tag === T_PROCESS || tag === T_STRING || tag === T_EXIT || tag === T_SMAPS) otherRecord(state);
      else break;
    }
    state.reader = at(state.step);
  }

  let cache = null;
  function stateAt(s) {
    if (cache && cache.step === s) return cache;
    let k = 0, lo = 0, hi = keyframes.length - 1;
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (keyframes[mid].step <= s) { k = mid; lo = mid + 1; } else hi = mid - 1; }
    const kf = keyframes[k];
    const forward = cache && cache.reader && cache.step < s && cache.step >= kf.step;
    if (!forward) {
      cache = { step: kf.step, reader: kf.reader, maps: kf.maps.map((a) => { const m = new Map(); if (a) for (const e of a) m.set(e.s, e); return m; }) };
    }
    replayTo(cache, s);
    return cache;
  }

  // Calls `from` to `to` - 1 in full (for the call list and the step panel), read from the checkpoint before `from`.
  function describeRange(from, to) {
    const out = [];
    const c = Math.floor(from / CHECKPOINT);
    pos = checkpoints[c];
    let s = c * CHECKPOINT;
    while (s < to && pos < buf.length) {
      if (buf[pos] !== T_STEP) { otherRecord(null); continue; }
      if (s < from) { stepRecord(null); s++; continue; }
      out.push(readCall(s));
      s++;
    }
    return out;
  }
  const describe = (s) => describeRange(s, s + 1)[0];

  function readCall(s) {
    pos++;
    const len = u(), end = pos + len;
    const f = buf[pos++];
    if (f & F_CHECKPOINT) { lineNo = u(); regA = u(); regP = u(); } else lineNo += z();
    const p = u() - 1, pid = u() - 1, name = D.strings[u()];
    const args = readArgs();
    let result;
    const t = buf[pos];
    if (t <= 1) result = '0x' + addr(true);
    else {
      pos++;
      if (t === 2) result = String(z());
      else if (t === 4) result = '0x' + hexWhole(u32(), u32()).padStart(16, '0');
      else result = D.strings[u()];
    }
    const expected = f & F_DIVERGED ? D.strings[u()] : null;
    const hooks = [];
    if (f & F_HOOKS) {
      for (let n = u(), i = 0; i < n; i++) {
        hooks.push({ name: D.strings[u()], file: D.strings[u()], start: addr(true), end: addr(true), locks: D.strings[u()], result: D.strings[u()] });
      }
    }
    const groups = [];
    if (f & F_CHANGES) {
      for (let n = u(), g = 0; g < n; g++) {
        const gp = u(), removed = [], added = [];
        for (let nr = u(), i = 0; i < nr; i++) removed.push(page());
        readAdded(null, added);
        groups.push({ proc: gp, removed, added });
      }
    }
    pos = end;
    return { step: s, flags: f, line: lineNo, proc: p, pid, name, args, result, expected, hooks, groups };
  }

  // ---- formatting ----
  const hex8 = (n) => n.toString(16).padStart(8, '0');
  const pageHex = (p) => (p.toString(16) + '000').padStart(8, '0');
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const perms = (pk) => ((pk & 8) ? 'r' : '-') + ((pk & 4) ? 'w' : '-') + ((pk & 2) ? 'x' : '-') + ((pk & 1) ? 's' : 'p');
  const kind = (pk) => (pk >> 4) & 7;
  // 1234567 as 1,234,567 (without Intl, whose first use costs a tenth of a second).
  const group = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  function size(bytes) {
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
    let i = 0;
    while (bytes >= 1024 && i < u.length - 1) { bytes /= 1024; i++; }
    return (i === 0 || bytes >= 100 ? Math.round(bytes) : bytes.toFixed(1).replace(/\.0$/, '')) + ' ' + u[i];
  }
  function mapsLine(e) {
    let s = pageHex(e.s) + '-' + pageHex(e.s + e.n) + ' ' + perms(e.pk) + ' ' + pageHex(e.off) + ' ' +
      e.maj.toString(16).padStart(2, '0') + ':' + e.min.toString(16).padStart(2, '0') + ' ' + e.ino + ' ';
    const name = D.strings[e.name];
    if (name) s = s.padEnd(72, ' ') + ' ' + name;
    return s;
  }
  const callText = (d) => d.name + '(' + d.args + ')';

  // ---- view state ----
  let cur = 0, shownProc = 0, selectedVma = null, raf = 0, drawn = [];
  const slider = $('step');

  function setStep(s, follow) {
    if (D.steps === 0) return;
    cur = Math.max(0, Math.min(D.steps - 1, s));
    slider.value = String(cur + 1);
    const dp = follow ? describe(cur).proc : -1;
    if (dp >= 0 && dp !== shownProc) { shownProc = dp; $('process').value = String(shownProc); }
    schedule();
  }
  function schedule() { if (!raf) raf = requestAnimationFrame(() => { raf = 0; render(); }); }

  function render() {
    const d = D.steps ? describe(cur) : null;
    renderStepInfo(d);
    const tm = performance.now();
    renderMap(d);
    timings.map = Math.round(performance.now() - tm);
    renderCursors();
    renderHooks(d);
    // Last: it reads the layout (to scroll the list), which the map, drawn before, makes costly to do twice.
    renderCallsCurrent();
  }

  function renderStepInfo(d) {
    const el = $('step-info');
    if (!d) { $('step-label').textContent = 'no calls'; el.innerHTML = '<span class="muted">The trace has no calls.</span>'; return; }
    $('step-label').textContent = 'call ' + (cur + 1) + ' of ' + D.steps + ' · line ' + d.line;
    let h = '<div><span class="muted">after line ' + d.line + (d.pid >= 0 ? ' · pid ' + d.pid : '') + ':</span> <span class="call">' + esc(callText(d)) + '</span>';
    if (!(d.flags & (F_SKIPPED | F_VIEW))) h += ' = ' + esc(d.result);
    else if (d.flags & F_SKIPPED) h += ' <span class="muted">(skipped)</span>';
    h += '</div>';
    if (d.expected !== null) h += '<div class="diverged">diverged: the trace expected ' + esc(d.expected) + ', the model produced ' + esc(d.result) + '</div>';
    for (const g of d.groups) {
      const label = D.procs[g.proc] ? D.procs[g.proc].label : g.proc;
      const rm = g.removed.map((p) => '<span class="del">−' + pageHex(p) + '</span>').join(' ');
      const ad = g.added.map((e) => '<span class="add">+' + pageHex(e.s) + '-' + pageHex(e.s + e.n) + ' ' + perms(e.pk) + (D.strings[e.name] ? ' ' + esc(D.strings[e.name]) : '') + '</span>').join(' ');
      if (g.removed.length + g.added.length > 40) h += '<div class="chg">' + esc(label) + ': ' + g.removed.length + ' lines removed, ' + g.added.length + ' added</div>';
      else h += '<div class="chg">' + esc(label) + ': ' + rm + ' ' + ad + '</div>';
    }
    el.innerHTML = h;
  }

  // The map: VMAs top to bottom in address order, heights from the log of the size, long gaps cut short.
  function renderMap(d) {
    const svg = $('address-space');
    const p = D.procs[shownProc];
    const st = D.steps ? stateAt(cur) : { maps: [] };
    const map = st.maps[shownProc];
    const vmas = map ? Array.from(map.values()).sort((a, b) => a.s - b.s) : [];
    const changed = new Set();
    if (d) for (const g of d.groups) if (g.proc === shownProc) for (const e of g.added) changed.add(e.s);
    const W = Math.max(520, $('map-wrap').clientWidth - 2);
    const n = vmas.length;
    const heights = vmas.map((e) => 12 + 2.4 * Math.log2(e.n));
    const gaps = [];
    let total = 0;
    for (let i = 0; i < n; i++) {
      const g = i === 0 ? 0 : vmas[i].s - (vmas[i - 1].s + vmas[i - 1].n);
      gaps.push(g);
      total += heights[i] + (g > 0 ? 14 : 1);
    }
    const budget = Math.min(Math.max(700, n * 18), 24000);
    const scale = total > budget ? budget / total : 1;
    // X0 and BW are also the VMA rectangles' x and width in report.css.
    const X0 = 132, BW = 120, LX = X0 + BW + 8;
    const out = [];
    let y = 6;
    // An address space torn down keeps only the gate line ([vsyscall]), as the model's maps do.
    const exited = p && p.exit >= 0 && cur >= p.exit;
    if (n === 0 || exited) {
      const why = exited ? 'The address space was torn down at call ' + (p.exit + 1) + ' (line ' + describe(p.exit).line + '): ◀ shows it before.'
        : p && cur < p.birth ? 'This process does not exist yet at this call.' : 'No VMAs.';
      out.push('<text class="empty" x="16" y="24">' + esc(why) + '</text>');
      y = 40;
    }
    for (let i = 0; i < n; i++) {
      const e = vmas[i];
      if (gaps[i] > 0) {
        const gh = 14 * scale;
        if (gh >= 8) {
          out.push('<line class="gap" x1="' + (X0 - 6) + '" x2="' + (X0 + BW + 6) + '" y1="' + (y + gh / 2) + '" y2="' + (y + gh / 2) + '"/>');
          out.push('<text class="gaptext" x="' + LX + '" y="' + (y + gh / 2 + 3.5) + '">' + size(gaps[i] * 4096) + ' unmapped</text>');
        }
        y += gh;
      } else if (i > 0) y += scale;
      const h = Math.max(heights[i] * scale, 0.5);
      const start = pageHex(e.s), end = pageHex(e.s + e.n), pm = perms(e.pk), name = D.strings[e.name];
      out.push('<rect class="vma k' + kind(e.pk) + ((e.pk & 8) || (e.pk & 4) || (e.pk & 2) ? '' : ' noaccess') + (changed.has(e.s) ? ' changed' : '') +
        (selectedVma === e.s ? ' selected' : '') + '" y="' + y.toFixed(1) + '" height="' + h.toFixed(2) +
        '" data-start="0x' + start + '" data-end="0x' + end + '" data-perms="' + pm + '" data-name="' + esc(name) + '"/>');
      if (h >= 9) {
        out.push('<text class="addr" x="' + (X0 - 6) + '" y="' + (y + Math.min(h, 14) - 3) + '">' + start + '</text>');
        out.push('<text class="lbl" x="' + LX + '" y="' + (y + Math.min(h, 14) - 3) + '"><tspan class="perm">' + pm + '</tspan> ' + esc(name || KINDS[kind(e.pk)]) +
          ' <tspan class="perm">' + size(e.n * 4096) + '</tspan></text>');
      }
      y += h;
    }
    const H = Math.ceil(y + 8);
    svg.setAttribute('width', W);
    svg.setAttribute('height', H);
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.innerHTML = out.join('');
    drawn = vmas;
    if (selectedVma !== null) {
      const e = map && map.get(selectedVma);
      if (e) showVma(e); else { selectedVma = null; $('vma-detail').textContent = 'Hover or click a VMA to see its maps line.'; }
    }
  }

  function showVma(e) {
    const ml = mapsLine(e);
    let text = ml + '\n' + KINDS[kind(e.pk)] + ', ' + size(e.n * 4096);
    // smaps figures: the latest smaps() of this process at or before this call that shows this range.
    for (let i = D.smaps.length - 1; i >= 0; i--) {
      const sm = D.smaps[i];
      if (sm.step > cur || sm.proc !== shownProc) continue;
      const head = pageHex(e.s) + '-' + pageHex(e.s + e.n) + ' ';
      const at = sm.text.indexOf(head);
      if (at < 0) break;
      const rest = sm.text.slice(at).split('\n').slice(1);
      const fig = [];
      for (const l of rest) { if (/^[0-9a-f]+-[0-9a-f]+ /.test(l) || l === '') break; fig.push(l); }
      text += '\n\nsmaps at line ' + describe(sm.step).line + ':\n' + fig.join('\n');
      break;
    }
    $('vma-detail').textContent = text;
  }

  // ---- calls ----
  let rowsBuilt = false;
  function rowHtml(d) {
    const s = d.step, f = d.flags;
    let cls = 'row';
    if (f & F_DIVERGED) cls += ' diverged';
    if (f & F_SKIPPED) cls += ' skipped';
    let h = '<div class="' + cls + '" role="listitem" data-line="' + d.line + '" data-step="' + s + '"><span class="n">' + d.line + '</span>' +
      (d.pid >= 0 ? d.pid + ' ' : '') + esc(callText(d));
    if (!(f & (F_SKIPPED | F_VIEW))) h += ' = ' + esc(d.result);
    if (d.expected !== null) h += ' <span class="exp">≠ ' + esc(d.expected) + '</span>';
    if (f & F_HOOKS) h += ' <span class="muted">[hooks]</span>';
    return h + '</div>';
  }
  let windowFrom = -1;
  function buildCalls() {
    const el = $('calls');
    const parts = [];
    const dv = D.divergedSteps;
    if (dv.length) {
      parts.push('<div class="group">Diverged: ' + dv.length + ' (listed first)</div>');
      for (const s of dv.slice(0, MAX_DIVERGED_ROWS)) parts.push(rowHtml(describe(s)));
      if (dv.length > MAX_DIVERGED_ROWS) parts.push('<div class="more">… ' + group(dv.length - MAX_DIVERGED_ROWS) + ' more divergent calls (the d key goes from one to the next)</div>');
      parts.push('<div class="group">The other calls, in trace order</div>');
    }
    if (D.steps <= FULL_LIST) {
      for (const d of describeRange(0, D.steps)) if (!(d.flags & F_DIVERGED)) parts.push(rowHtml(d));
      rowsBuilt = true;
      el.innerHTML = parts.join('');
    } else {
      el.innerHTML = parts.join('') + '<div id="calls-window"></div>';
    }
    $('calls-count').textContent = '(' + group(D.steps) + ')';
    el.addEventListener('click', (ev) => {
      const r = ev.target.closest('.row');
      if (r) setStep(Number(r.dataset.step), true);
    });
  }
  function renderCallsCurrent() {
    const el = $('calls');
    if (!rowsBuilt) {
      const from = Math.max(0, cur - WINDOW), to = Math.min(D.steps, cur + WINDOW);
      if (from !== windowFrom) {
        windowFrom = from;
        const parts = [];
        if (from > 0) parts.push('<div class="more">… ' + group(from) + ' earlier calls (move the step control)</div>');
        for (const d of describeRange(from, to)) if (!(d.flags & F_DIVERGED)) parts.push(rowHtml(d));
        if (to < D.steps) parts.push('<div class="more">… ' + group(D.steps - to) + ' later calls</div>');
        $('calls-window').innerHTML = parts.join('');
      }
    }
    const old = el.querySelector('.row.current');
    if (old) old.classList.remove('current');
    const rows = el.querySelectorAll('.row[data-step="' + cur + '"]');
    for (const r of rows) r.classList.add('current');
    const r = rows[rows.length - 1];
    if (r) {
      const top = r.offsetTop - el.offsetTop, bottom = top + r.offsetHeight;
      if (top < el.scrollTop + 20 || bottom > el.scrollTop + el.clientHeight) el.scrollTop = top - el.clientHeight / 2;
    }
  }

  // ---- charts ----
  const COLORS = ['#2563eb', '#e11d48', '#059669', '#d97706', '#7c3aed', '#0891b2', '#be185d', '#4d7c0f'];
  const CHARTS = [['chart-vmas', 0, (v) => String(v)], ['chart-mapped', 1, (v) => size(v * 4096)], ['chart-resident', 2, (v) => size(v * 4096)]];
  function buildCharts() {
    const c = D.charts;
    if (!c) return;
    for (const [id, m, fmt] of CHARTS) {
      const svg = $(id);
      const W = 300, H = 90, L = 4, R = 4, TOP = 4, B = 4;
      let max = 0;
      for (const s of c.series) for (let i = 0; i < s.count; i++) max = Math.max(max, s.max[m][i]);
      const buckets = Math.max(1, Math.ceil(D.steps / c.width));
      const x = (b) => L + (W - L - R) * (b / buckets);
      const y = (v) => TOP + (H - TOP - B) * (1 - (max ? v / max : 0));
      const out = [];
      const cap = svg.parentElement.querySelector('figcaption');
      cap.insertAdjacentHTML('beforeend', '<span>max ' + esc(fmt(max)) + '</span>');
      c.series.forEach((s, k) => {
        const col = COLORS[k % COLORS.length];
        let band = '', top = '';
        for (let i = 0; i < s.count; i++) {
          const b = s.first + i;
          top += (i ? 'L' : 'M') + x(b).toFixed(1) + ' ' + y(s.max[m][i]).toFixed(1) + 'H' + x(b + 1).toFixed(1);
        }
        for (let i = s.count - 1; i >= 0; i--) {
          const b = s.first + i;
          band += 'L' + x(b + 1).toFixed(1) + ' ' + y(s.min[m][i]).toFixed(1) + 'H' + x(b).toFixed(1);
        }
        out.push('<path d="' + top + band + 'Z" fill="' + col + '" fill-opacity=".18" stroke="none"/>');
        out.push('<path d="' + top + '" fill="none" stroke="' + col + '" stroke-width="1.3"/>');
      });
      out.push('<line class="cursor" x1="0" x2="0" y1="' + TOP + '" y2="' + (H - B) + '"/>');
      svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
      svg.setAttribute('preserveAspectRatio', 'none');
      svg.innerHTML = out.join('');
      svg.dataset.buckets = buckets;
      svg.addEventListener('click', (ev) => {
        const r = svg.getBoundingClientRect();
        const f = (ev.clientX - r.left) / r.width;
        setStep(Math.round(f * D.steps), false);
      });
    }
    if (c.series.length > 1) {
      $('chart-legend').innerHTML = c.series.map((s, k) => '<span style="color:' + COLORS[k % COLORS.length] + '">■ ' + esc(D.procs[s.proc].label) + '</span>').join('');
    }
    $('chart-legend').insertAdjacentHTML('beforeend', '<span class="muted">' + (c.width > 1 ? 'one point per ' + c.width + ' calls: the band is the least and greatest value' : 'one point per call') + '</span>');
  }
  function renderCursors() {
    if (!D.charts) return;
    for (const [id] of CHARTS) {
      const svg = $(id), cl = svg.querySelector('.cursor');
      if (!cl) continue;
      const W = 300;
      const xx = 4 + (W - 8) * ((cur + 0.5) / Math.max(1, D.steps));
      cl.setAttribute('x1', xx.toFixed(1)); cl.setAttribute('x2', xx.toFixed(1));
    }
  }

  // ---- hooks ----
  function buildHooks() {
    const el = $('hooks');
    if (!D.hookSteps.length) return;
    el.classList.remove('muted');
    el.innerHTML = D.hookSteps.slice(0, 5000).map((s) => {
      const d = describe(s);
      return '<div class="row" data-step="' + s + '">line ' + d.line + ': ' + esc(callText(d)) + ' = ' + esc(d.result) + ' <span class="muted">(' + d.hooks.map((h) => h.name).join(' → ') + ')</span></div>';
    }).join('');
    el.addEventListener('click', (ev) => { const r = ev.target.closest('.row'); if (r) setStep(Number(r.dataset.step), true); });
  }
  function renderHooks(d) {
    const svg = $('hook-diagram');
    if (!D.hookSteps.length) { svg.style.display = 'none'; return; }
    // The call at this step, else the latest driver mmap before it, else the first.
    let s = -1;
    for (const h of D.hookSteps) { if (h <= cur) s = h; else break; }
    if (s < 0) s = D.hookSteps[0];
    const dd = s === cur && d ? d : describe(s);
    for (const r of $('hooks').querySelectorAll('.row.current')) r.classList.remove('current');
    const row = $('hooks').querySelector('.row[data-step="' + s + '"]');
    if (row) row.classList.add('current');
    const files = [];
    for (const h of dd.hooks) if (!files.includes(h.file)) files.push(h.file);
    const W = 600, lane0 = 190, laneW = Math.min(260, (W - lane0 - 90) / Math.max(1, files.length));
    const lx = (i) => lane0 + 80 + laneW * (i + 0.5);
    const rowH = 46, top = 54;
    const H = top + dd.hooks.length * rowH + 40;
    const out = ['<defs>',
      '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#1d2433"/></marker>',
      '<marker id="arrow-ok" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#15803d"/></marker>',
      '<marker id="arrow-bad" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#dc2626"/></marker></defs>'];
    out.push('<text x="10" y="16" font-weight="600">line ' + dd.line + ': ' + esc(callText(dd)) + '</text>');
    out.push('<rect class="box" x="' + (lane0 - 60) + '" y="24" width="120" height="20" rx="3"/><text x="' + lane0 + '" y="38" text-anchor="middle">kernel: mmap()</text>');
    out.push('<text x="' + (lane0 - 70) + '" y="38" text-anchor="end" class="muted" fill="#6b7280">locks held</text>');
    out.push('<line class="life" x1="' + lane0 + '" x2="' + lane0 + '" y1="44" y2="' + (H - 24) + '"/>');
    files.forEach((f, i) => {
      const short = f.length > 30 ? '…' + f.slice(-29) : f;
      out.push('<rect class="box" x="' + (lx(i) - laneW / 2 + 6) + '" y="24" width="' + (laneW - 12) + '" height="20" rx="3"/><text x="' + lx(i) + '" y="38" text-anchor="middle">' + esc(short) + '</text>');
      out.push('<line class="life" x1="' + lx(i) + '" x2="' + lx(i) + '" y1="44" y2="' + (H - 24) + '"/>');
    });
    dd.hooks.forEach((h, k) => {
      const y = top + k * rowH + 10, xf = lx(files.indexOf(h.file));
      out.push('<line class="call" x1="' + lane0 + '" x2="' + (xf - 2) + '" y1="' + y + '" y2="' + y + '"/>');
      out.push('<text x="' + (lane0 + 8) + '" y="' + (y - 4) + '">' + esc(h.name) + (h.start ? ' 0x' + h.start + '-0x' + h.end : '') + '</text>');
      // The locks held during the call, right-aligned against the kernel's lifeline.
      let lxp = lane0 - 8;
      for (const lk of (h.locks || '').split(',').filter((x) => x).reverse()) {
        const w = lk.length * 6.2 + 8;
        lxp -= w;
        out.push('<rect class="lock" x="' + lxp + '" y="' + (y - 9) + '" width="' + w + '" height="14" rx="7"/><text class="locktext" x="' + (lxp + 4) + '" y="' + (y + 1) + '">' + esc(lk) + '</text>');
        lxp -= 3;
      }
      const bad = h.result !== '0';
      out.push('<line class="ret' + (bad ? ' err' : '') + '" x1="' + (xf - 2) + '" x2="' + (lane0 + 2) + '" y1="' + (y + 18) + '" y2="' + (y + 18) + '"/>');
      out.push('<text class="' + (bad ? 'errtext' : 'oktext') + '" x="' + (xf - 8) + '" y="' + (y + 14) + '" text-anchor="end">' + esc(h.result) + '</text>');
    });
    const fy = H - 10;
    const failed = dd.result.startsWith('-1');
    out.push('<text x="10" y="' + fy + '" class="' + (failed ? 'errtext' : 'oktext') + '">mmap() = ' + esc(dd.result) + '</text>');
    svg.setAttribute('width', W); svg.setAttribute('height', H); svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.style.display = '';
    svg.innerHTML = out.join('');
  }

  // ---- wiring ----
  function buildSummary() {
    const e = D.end || { steps: D.steps, executed: 0, matched: 0, diverged: 0, skipped: 0, check: false, leaks: [] };
    let h = '<b>' + group(e.steps) + '</b> calls: ' + group(e.executed) + ' executed, ';
    if (e.check) h += group(e.matched) + ' matched, <span class="' + (e.diverged ? 'bad' : '') + '">' + e.diverged + ' diverged</span>, ';
    h += group(e.skipped) + ' skipped · ' + D.procs.length + ' address space' + (D.procs.length === 1 ? '' : 's');
    if (e.leaks.length) h += ' · <span class="bad">' + e.leaks.length + ' hook lock leak(s)</span>';
    $('summary').innerHTML = h;
    $('legend').innerHTML = KINDS.map((k) => '<span style="--c: var(--' + k + ')">' + k + '</span>').join('');
    const sel = $('process');
    sel.innerHTML = D.procs.map((p) => '<option value="' + p.index + '">' + esc(p.label) + (p.parent >= 0 ? ' (child of ' + esc(D.procs[p.parent].label) + ')' : '') + '</option>').join('');
    sel.addEventListener('change', () => { shownProc = Number(sel.value); selectedVma = null; schedule(); });
    if (D.procs.length < 2) sel.parentElement.style.display = 'none';
  }

  function wire() {
    slider.min = D.steps ? '1' : '0';
    slider.max = String(D.steps);
    slider.value = String(D.steps);
    slider.disabled = D.steps === 0;
    slider.addEventListener('input', () => { cur = Number(slider.value) - 1; schedule(); });
    $('prev').addEventListener('click', () => setStep(cur - 1, false));
    $('next').addEventListener('click', () => setStep(cur + 1, false));
    document.addEventListener('keydown', (ev) => {
      const t = ev.target;
      if (t && (t.tagName === 'SELECT' || (t.tagName === 'INPUT' && t !== slider))) return;
      const big = ev.shiftKey ? 100 : 1;
      let s = null;
      if (ev.key === 'ArrowRight' || ev.key === 'ArrowDown') s = cur + big;
      else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowUp') s = cur - big;
      else if (ev.key === 'PageDown') s = cur + 1000;
      else if (ev.key === 'PageUp') s = cur - 1000;
      else if (ev.key === 'Home') s = 0;
      else if (ev.key === 'End') s = D.steps - 1;
      else if (ev.key === 'd' || ev.key === 'D') {
        const dv = D.divergedSteps;
        if (dv.length) {
          if (ev.key === 'd') s = dv.find((x) => x > cur) ?? dv[0];
          else s = [...dv].reverse().find((x) => x < cur) ?? dv[dv.length - 1];
        }
      }
      if (s !== null) { ev.preventDefault(); setStep(s, ev.key === 'd' || ev.key === 'D'); }
    });
    const svg = $('address-space');
    // The VMA of a drawn element: the elements are drawn in the order of `drawn`.
    const vmaOf = (r) => drawn[Array.prototype.indexOf.call(svg.querySelectorAll('.vma'), r)];
    svg.addEventListener('mouseover', (ev) => {
      const r = ev.target.closest('.vma');
      if (!r || selectedVma !== null) return;
      const e = vmaOf(r);
      if (e) showVma(e);
    });
    svg.addEventListener('click', (ev) => {
      const r = ev.target.closest('.vma');
      const e = r ? vmaOf(r) : null;
      selectedVma = e ? e.s : null;
      for (const x of svg.querySelectorAll('.vma.selected')) x.classList.remove('selected');
      if (r && e) { r.classList.add('selected'); showVma(e); }
    });
    window.addEventListener('resize', schedule);
  }

  function start(state) {
    cache = state;
    cur = Math.max(0, D.steps - 1);
    shownProc = 0;
    buildSummary();
    timings.summary = Math.round(performance.now() - t0);
    buildCharts();
    timings.charts = Math.round(performance.now() - t0);
    buildCalls();
    buildHooks();
    timings.lists = Math.round(performance.now() - t0);
    wire();
    render();
    timings.drawn = Math.round(performance.now() - t0);
    setTimeout(buildKeyframes, 0);
    document.documentElement.dataset.timings = JSON.stringify(timings);
    document.documentElement.dataset.loadMs = String(Math.round(performance.now() - t0));
    // Whether the first view was there before the load event (a short log's is).
    document.documentElement.dataset.beforeLoad = document.readyState === 'complete' ? '0' : '1';
    document.documentElement.dataset.ready = '1';
  }
  function fail(err) {
    $('summary').textContent = 'This report could not be read: ' + err.message;
    document.documentElement.dataset.ready = 'error';
    throw err;
  }

  // A short log is drawn before the page's load event; a long one as soon as it is unpacked.
  if ($('report-data').dataset.encoding === 'plain') {
    try { start(decode(fromBase64())); } catch (err) { fail(err); }
  } else {
    unpack().then((bytes) => start(decode(bytes))).catch(fail);
  }
})();
