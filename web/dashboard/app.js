// semrouter dashboard: polls /api/v1/stats once a second and draws it with hand-written SVG.
// No library, no network beyond this router. Every number shown from the stats carries its
// raw value in data-value, so tests (and curious operators) can compare it with the JSON.
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#4fb3ff", "#f0883e", "#a371f7", "#3fb950", "#db61a2", "#d29922", "#56d4dd", "#f85149"];
  const POLL_MS = 1000;
  const $ = (sel) => document.querySelector(sel);
  let key = sessionStorage.getItem("semrouter.key") || "";
  let updates = 0;
  let timer = null;

  // ---------------------------------------------------------------- formatting
  const int = (v) => (v == null ? "–" : Math.round(v).toLocaleString("en-US"));
  function ms(v) {
    if (v == null) return "–";
    if (v < 10) return v.toFixed(2);
    if (v < 100) return v.toFixed(1);
    return Math.round(v).toLocaleString("en-US");
  }
  const pct = (v) => (v == null ? "–" : (v * 100).toFixed(1) + "%");
  function bytes(v) {
    if (v == null) return "–";
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : String(v)) + " " + u[i];
  }
  function duration(s) {
    s = Math.floor(s);
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
  }
  function clock(t) {
    const d = new Date(t);
    const p = (n, w) => String(n).padStart(w || 2, "0");
    return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds()) + "." + p(d.getMilliseconds(), 3);
  }

  function setStat(name, raw, text) {
    document.querySelectorAll('[data-stat="' + name + '"]').forEach((e) => {
      e.dataset.value = raw == null ? "" : String(raw);
      e.textContent = text;
    });
  }

  // ---------------------------------------------------------------- SVG helpers
  function node(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function textNode(parent, x, y, s, anchor, cls) {
    const t = node("text", { x: x, y: y, "text-anchor": anchor || "start" }, parent);
    if (cls) t.setAttribute("class", cls);
    t.textContent = s;
    return t;
  }
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const e = Math.pow(10, Math.floor(Math.log10(v)));
    const m = v / e;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * e;
  }
  function frame(svg, height) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const w = svg.clientWidth || 600;
    const h = height || svg.clientHeight || 190;
    if (height) svg.style.height = height + "px";
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    return { w: w, h: h };
  }

  // A time chart: series of values (null = gap) over n points; stacked areas or lines.
  function timeChart(svg, n, series, opt) {
    const f = frame(svg);
    const L = 46, R = 10, T = 10, B = 22;
    const pw = f.w - L - R, ph = f.h - T - B;
    let top = 0;
    if (opt.stacked) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        series.forEach((se) => (s += se.values[i] || 0));
        top = Math.max(top, s);
      }
    } else {
      series.forEach((se) => se.values.forEach((v) => { if (v != null) top = Math.max(top, v); }));
    }
    const ymax = opt.ymax || niceMax(top * 1.1);
    const X = (i) => L + (n <= 1 ? 0 : (i / (n - 1)) * pw);
    const Y = (v) => T + ph - (Math.min(v, ymax) / ymax) * ph;
    for (let k = 0; k <= 4; k++) {
      const v = (ymax * k) / 4;
      node("line", { x1: L, x2: f.w - R, y1: Y(v), y2: Y(v), class: "grid" }, svg);
      textNode(svg, L - 6, Y(v) + 4, opt.fmtY(v), "end");
    }
    const secs = n;
    [[0, "-" + secs + "s"], [Math.floor((n - 1) / 2), "-" + Math.round(secs / 2) + "s"], [n - 1, "now"]].forEach((p) =>
      textNode(svg, X(p[0]), f.h - 6, p[1], p[0] === 0 ? "start" : p[0] === n - 1 ? "end" : "middle"));
    let drawn = 0;
    if (opt.stacked) {
      const base = new Array(n).fill(0);
      series.forEach((se) => {
        const lo = base.slice();
        for (let i = 0; i < n; i++) base[i] += se.values[i] || 0;
        let d = "M" + X(0) + "," + Y(base[0]);
        for (let i = 1; i < n; i++) d += "L" + X(i) + "," + Y(base[i]);
        for (let i = n - 1; i >= 0; i--) d += "L" + X(i) + "," + Y(lo[i]);
        node("path", { d: d + "Z", fill: se.color, "fill-opacity": "0.35", stroke: "none" }, svg);
        let line = "";
        for (let i = 0; i < n; i++) line += (i ? "L" : "M") + X(i) + "," + Y(base[i]);
        node("path", { d: line, fill: "none", stroke: se.color, "stroke-width": "1.5" }, svg);
        drawn++;
      });
    } else {
      series.forEach((se) => {
        let d = "", pen = false, lastX = 0, lastY = 0, segs = 0, pts = 0;
        for (let i = 0; i < n; i++) {
          const v = se.values[i];
          if (v == null) { pen = false; continue; }
          if (!pen) segs++;
          d += (pen ? "L" : "M") + X(i) + "," + Y(v);
          pen = true; lastX = X(i); lastY = Y(v); pts++;
        }
        if (!d) return;
        // a lone point is still visible
        if (pts === 1 || segs === pts) node("circle", { cx: lastX, cy: lastY, r: 2.5, fill: se.color }, svg);
        node("path", { d: d, fill: "none", stroke: se.color, "stroke-width": se.width || "1.8",
          "stroke-dasharray": se.dash || "none", "stroke-linejoin": "round" }, svg);
        drawn++;
      });
    }
    if (!top) textNode(svg, L + pw / 2, T + ph / 2, "no traffic in this window", "middle", "empty");
    return drawn;
  }

  function legend(el, items) {
    el.textContent = "";
    items.forEach((it) => {
      const s = document.createElement("span");
      const sw = document.createElement("span");
      sw.className = "sw";
      sw.style.background = it.color;
      s.appendChild(sw);
      s.appendChild(document.createTextNode(it.name));
      if (it.value != null) {
        const b = document.createElement("b");
        b.textContent = it.value;
        s.appendChild(b);
      }
      el.appendChild(s);
    });
  }

  // Horizontal bars: [{label, value, color}].
  function barChart(svg, items, empty) {
    const row = 24;
    const f = frame(svg, Math.max(60, items.length * row + 12));
    if (!items.length) {
      textNode(svg, f.w / 2, f.h / 2 + 4, empty, "middle", "empty");
      return 0;
    }
    const total = items.reduce((a, b) => a + b.value, 0);
    const max = Math.max.apply(null, items.map((i) => i.value));
    const labelW = Math.min(220, Math.max(90, Math.max.apply(null, items.map((i) => i.label.length)) * 7 + 10));
    const valueW = 92;
    const bw = Math.max(10, f.w - labelW - valueW);
    items.forEach((it, k) => {
      const y = 6 + k * row;
      textNode(svg, labelW - 8, y + 15, it.label, "end");
      node("rect", { x: labelW, y: y + 3, width: bw, height: row - 8, rx: 3, fill: "#1f2730" }, svg);
      node("rect", { x: labelW, y: y + 3, width: Math.max(2, (it.value / max) * bw), height: row - 8, rx: 3,
        fill: it.color }, svg);
      textNode(svg, labelW + bw + 8, y + 15, int(it.value) + "  " + ((it.value / total) * 100).toFixed(0) + "%", "start");
    });
    return items.length;
  }

  function table(id, rows) {
    const tb = document.querySelector(id + " tbody");
    tb.textContent = "";
    rows.forEach((cells) => {
      const tr = document.createElement("tr");
      cells.forEach((c) => {
        const td = document.createElement("td");
        if (c && typeof c === "object" && !(c instanceof Node)) {
          if (c.pill) {
            const s = document.createElement("span");
            s.className = "pill " + c.pill;
            s.textContent = c.text;
            td.appendChild(s);
          } else td.textContent = c.text;
          if (c.num) td.className = "num";
          if (c.raw != null) td.dataset.value = String(c.raw);
          if (c.key) td.dataset.key = c.key;
          if (c.title) td.title = c.title;
        } else td.textContent = c == null ? "–" : String(c);
        tr.appendChild(td);
      });
      tb.appendChild(tr);
    });
  }

  // ---------------------------------------------------------------- rendering
  const modelColor = {};
  function colorOf(name) {
    if (!(name in modelColor)) modelColor[name] = COLORS[Object.keys(modelColor).length % COLORS.length];
    return modelColor[name];
  }

  function render(s) {
    $("#version").textContent = "v" + s.version;
    $("#uptime").textContent = duration(s.uptime_seconds);
    // a young router: the charts span its uptime (at least 30 s), not two empty minutes
    const span = Math.max(30, Math.min(s.series.points.length, Math.ceil(s.uptime_seconds) + 1));
    const pts = s.series.points.slice(-span);
    const n = pts.length;

    // KPIs
    setStat("decisions.total", s.decisions.total, int(s.decisions.total));
    const last10 = pts.slice(-11, -1).reduce((a, p) => a + p.requests, 0) / 10;
    setStat("rate.now", last10, last10.toFixed(1));
    const lookups = s.cache.hits + s.cache.misses;
    const hr = lookups ? s.cache.hits / lookups : null;
    setStat("cache.hit_rate", hr, pct(hr));
    setStat("cache.hits", s.cache.hits, int(s.cache.hits));
    setStat("cache.misses", s.cache.misses, int(s.cache.misses));
    const lt = s.latency.total_ms, tt = s.latency.ttft_ms;
    setStat("latency.total_ms.p50", lt.p50, ms(lt.p50));
    setStat("latency.total_ms.p99", lt.p99, ms(lt.p99));
    setStat("latency.ttft_ms.p50", tt.p50, ms(tt.p50));
    setStat("latency.ttft_ms.p99", tt.p99, ms(tt.p99));
    const g = s.guards;
    setStat("guards.total", g.jailbreak_blocks + g.pii_blocks, int(g.jailbreak_blocks + g.pii_blocks));
    setStat("guards.jailbreak_blocks", g.jailbreak_blocks, int(g.jailbreak_blocks));
    setStat("guards.pii_blocks", g.pii_blocks, int(g.pii_blocks));
    const entries = s.cache.backends.reduce((a, b) => a + b.entries, 0);
    const mem = s.cache.backends.reduce((a, b) => a + b.bytes, 0);
    setStat("cache.entries", s.cache.enabled ? entries : null, s.cache.enabled ? int(entries) : "off");
    setStat("cache.bytes", mem, bytes(mem));
    setStat("cache.similarity_threshold", s.cache.similarity_threshold, s.cache.similarity_threshold.toFixed(2));

    // requests/s by model (stacked)
    const models = s.series.models;
    const rps = models.map((m, k) => ({ name: m, color: colorOf(m), values: pts.map((p) => p.by_model[k]) }));
    timeChart($("#chart-rps"), n, rps, { stacked: true, fmtY: (v) => (v >= 10 ? v.toFixed(0) : v.toFixed(1)) });
    legend($("#legend-rps"), rps.map((r) => ({ name: r.name, color: r.color,
      value: (r.values.slice(-11, -1).reduce((a, b) => a + b, 0) / 10).toFixed(1) + "/s" })));

    // cache hit rate, 10-second windows
    const win = (i, f) => { let a = 0; for (let j = Math.max(0, i - 9); j <= i; j++) a += f(pts[j]); return a; };
    const lk = (p) => p.exact + p.semantic + p.coalesced + p.miss;
    const rate = (f) => pts.map((p, i) => { const d = win(i, lk); return d ? win(i, f) / d : null; });
    const hits = [
      { name: "exact", color: "#3fb950", values: rate((p) => p.exact) },
      { name: "semantic", color: "#a371f7", values: rate((p) => p.semantic) },
      { name: "coalesced", color: "#56d4dd", values: rate((p) => p.coalesced), dash: "4 3" },
    ];
    timeChart($("#chart-hits"), n, hits, { ymax: 1, fmtY: (v) => Math.round(v * 100) + "%" });
    const co = s.decisions.cache_outcomes;
    legend($("#legend-hits"), hits.map((h) => ({ name: h.name, color: h.color, value: int(co[h.name]) }))
      .concat([{ name: "miss", color: "#8b98a5", value: int(co.miss) }]));

    // latency
    const lat = [
      { name: "total p50", color: "#4fb3ff", values: pts.map((p) => p.p50_ms) },
      { name: "total p99", color: "#f0883e", values: pts.map((p) => p.p99_ms) },
      { name: "TTFT p50", color: "#3fb950", values: pts.map((p) => p.ttft_p50_ms), dash: "4 3" },
      { name: "TTFT p99", color: "#db61a2", values: pts.map((p) => p.ttft_p99_ms), dash: "4 3" },
    ];
    timeChart($("#chart-latency"), n, lat, { fmtY: (v) => (v >= 1000 ? (v / 1000).toFixed(1) + "s" : Math.round(v) + "") });
    legend($("#legend-latency"), lat.map((l) => ({ name: l.name, color: l.color })));

    // routing distribution
    const routing = s.routing.slice().sort((a, b) => b.count - a.count).slice(0, 10)
      .map((r) => ({ label: (r.category || "no category") + " → " + r.model, value: r.count, color: colorOf(r.model) }));
    barChart($("#chart-routing"), routing, "no routed requests yet");

    // guard blocks by type
    const guards = s.guard_blocks.slice().sort((a, b) => b.count - a.count)
      .map((b) => ({ label: b.guard + ": " + b.type, value: b.count, color: b.guard === "pii" ? "#d29922" : "#f85149" }));
    barChart($("#chart-guards"), guards, "no blocked requests");

    table("#cache-table", s.cache.backends.map((b) => [
      b.name, { text: int(b.entries), num: 1, raw: b.entries, key: "entries" },
      { text: bytes(b.bytes), num: 1, raw: b.bytes, key: "bytes" },
      { text: int(b.exact_hits), num: 1, raw: b.exact_hits, key: "exact_hits" },
      { text: int(b.semantic_hits), num: 1, raw: b.semantic_hits, key: "semantic_hits" },
      { text: int(b.evictions + b.expirations), num: 1, raw: b.evictions + b.expirations, key: "evicted" }]));
    if (!s.cache.backends.length) table("#cache-table", [["cache off", "", "", "", "", ""]]);

    table("#endpoint-table", s.endpoints.map((e) => [
      { text: e.name, title: e.url },
      { text: e.healthy ? "healthy" : "ejected " + Math.ceil(e.ejected_for_seconds) + "s", pill: e.healthy ? "healthy" : "ejected",
        raw: e.healthy ? 1 : 0, key: "healthy" },
      { text: int(e.outstanding), num: 1, raw: e.outstanding, key: "outstanding" },
      { text: int(e.requests.ok), num: 1, raw: e.requests.ok, key: "ok" },
      { text: int(e.requests.error + e.requests.timeout), num: 1, raw: e.requests.error + e.requests.timeout, key: "errors" },
      { text: int(e.ejections), num: 1, raw: e.ejections, key: "ejections" }]));

    const answered = {};
    s.decisions.by_model.forEach((m) => (answered[m.model] = m.count));
    table("#model-table", s.models.map((m) => [
      { text: m.name, key: "name" },
      { text: int(m.requests), num: 1, raw: m.requests, key: "requests" },
      { text: int(answered[m.name] || 0), num: 1, raw: answered[m.name] || 0, key: "answered" },
      { text: int(m.tokens), num: 1, raw: m.tokens, key: "tokens" },
      { text: m.mean_ttft_ms == null ? "–" : ms(m.mean_ttft_ms) + " ms", num: 1 },
      { text: m.mean_latency_ms == null ? "–" : ms(m.mean_latency_ms) + " ms", num: 1 }]));

    $("#recent-note").textContent = "newest first, " + s.recent.length + " shown";
    table("#recent-table", s.recent.map((r) => [
      { text: clock(r.time_ms), title: r.request_id || "" },
      r.tenant || "–",
      r.category || "–",
      r.model || "–",
      { text: r.path + (r.guard ? " (" + r.guard + ": " + r.guard_type + ")" : ""), pill: r.path },
      r.cache,
      { text: r.similarity == null ? "–" : r.similarity.toFixed(4), num: 1 },
      { text: r.verifier_probability == null ? "–" : r.verifier_probability.toFixed(3), num: 1 },
      { text: ms(r.latency_ms) + " ms", num: 1, raw: r.latency_ms },
      { text: String(r.status), num: 1 }]));

    updates++;
    document.body.dataset.updates = String(updates);
    document.body.dataset.statsTime = String(s.time_ms);
    $("#live-dot").className = "dot live";
    $("#live-text").textContent = "live · updated " + clock(Date.now()).slice(0, 8);
  }

  // ---------------------------------------------------------------- polling and the key
  function showKeyForm(message) {
    $("#key-form").hidden = false;
    $("#main").hidden = true;
    $("#key-error").textContent = message || "";
    $("#live-dot").className = "dot down";
    $("#live-text").textContent = "admin key needed";
  }

  async function poll() {
    timer = null;
    try {
      const headers = key ? { Authorization: "Bearer " + key } : {};
      const r = await fetch("/api/v1/stats?recent=30&series=120", { headers: headers, cache: "no-store" });
      if (r.status === 401 || r.status === 403) {
        const body = await r.json().catch(() => ({}));
        showKeyForm(key ? (body.error && body.error.message) || "That key was refused." : "");
        return; // wait for the form
      }
      if (!r.ok) throw new Error("HTTP " + r.status);
      const s = await r.json();
      $("#key-form").hidden = true;
      $("#main").hidden = false;
      render(s);
    } catch (e) {
      $("#live-dot").className = "dot down";
      $("#live-text").textContent = "router unreachable (" + e.message + "), retrying";
    }
    timer = setTimeout(poll, POLL_MS);
  }

  $("#key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    key = $("#key-input").value.trim();
    sessionStorage.setItem("semrouter.key", key);
    if (!timer) poll();
  });
  window.addEventListener("resize", () => { if (!timer) return; clearTimeout(timer); poll(); });
  poll();
})();
