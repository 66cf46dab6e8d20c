// Dengar dashboard: reads the public REST API with the user's API key. No framework, no CDN.
// User-supplied text is only ever set through textContent, never parsed as HTML.
"use strict";

(function () {
  const STORAGE_KEY = "dengar.apiKey";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const SENTIMENTS = ["negative", "neutral", "positive"];
  const ROLES = { brand: "Brands", competitor: "Competitors", topic: "Topics" };
  // Pages of GET /v1/queries read for the selector (200 each): beyond any tenant's query limit.
  const MAX_QUERY_PAGES = 5;
  const $ = (id) => document.getElementById(id);

  let nextCursor = null;
  let lastQuery = {};

  function apiKey() { return localStorage.getItem(STORAGE_KEY) || ""; }

  function showStatus(message, isError) {
    const el = $("status");
    el.textContent = message;
    el.classList.toggle("error", Boolean(isError));
    el.hidden = !message;
  }

  async function api(path, params) {
    const url = new URL(path, window.location.origin);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
    }
    const resp = await fetch(url, { headers: { Authorization: "Bearer " + apiKey() } });
    if (!resp.ok) {
      let detail = resp.statusText;
      try {
        const problem = await resp.json();
        detail = problem.detail || problem.title || detail;
      } catch (e) { /* not a problem document */ }
      const err = new Error(resp.status + ": " + detail);
      err.status = resp.status;
      throw err;
    }
    return resp.json();
  }

  function range() {
    const days = Number($("range").value);
    const to = new Date();
    const from = new Date(to.getTime() - days * 86400 * 1000);
    return { from: from.toISOString(), to: to.toISOString(), interval: days <= 2 ? "hour" : "day" };
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  }

  function renderChart(series) {
    const box = $("chart");
    box.replaceChildren();
    $("total").textContent = "(" + series.total + " mentions)";
    const points = series.points;
    if (!points.length) { box.append(el("p", "empty", "No mentions in this range.")); return; }
    // Drawn at the container's pixel width, so labels are not stretched.
    const W = Math.max(320, box.clientWidth || 800), H = 220, pad = { l: 36, r: 8, t: 8, b: 22 };
    const max = Math.max(1, ...points.map((p) => p.volume));
    const bw = (W - pad.l - pad.r) / points.length;
    const y = (v) => (H - pad.b) - (v / max) * (H - pad.t - pad.b);
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" });
    root.append(svg("line", { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: "axis" }));
    for (const v of [0, max]) {
      const label = svg("text", { x: pad.l - 4, y: y(v) + 3, "text-anchor": "end" });
      label.textContent = String(v);
      root.append(label);
    }
    const labelEvery = Math.ceil(points.length / 8);
    points.forEach((p, i) => {
      const x = pad.l + i * bw;
      let base = 0;
      // Volume not split by sentiment (not yet enriched) is drawn as neutral.
      const known = (p.negative || 0) + (p.neutral || 0) + (p.positive || 0);
      const parts = { negative: p.negative || 0, neutral: (p.neutral || 0) + Math.max(0, p.volume - known),
                      positive: p.positive || 0 };
      for (const s of SENTIMENTS) {
        if (!parts[s]) continue;
        const rect = svg("rect", { x: x + 1, y: y(base + parts[s]), width: Math.max(1, bw - 2),
                                   height: y(base) - y(base + parts[s]), class: s });
        const title = svg("title", {});
        title.textContent = `${p.bucket_start}: ${parts[s]} ${s}`;
        rect.append(title);
        root.append(rect);
        base += parts[s];
      }
      if (i % labelEvery === 0) {
        const d = new Date(p.bucket_start);
        const label = svg("text", { x: x + bw / 2, y: H - 6, "text-anchor": "middle" });
        label.textContent = series.interval === "hour"
          ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
          : d.toLocaleDateString([], { month: "short", day: "numeric" });
        root.append(label);
      }
    });
    box.append(root);
  }

  function renderSummary(summary) {
    const split = summary.sentiment;
    const total = split.negative + split.neutral + split.positive;
    const bar = $("split-bar");
    bar.replaceChildren();
    const list = $("split");
    list.replaceChildren();
    for (const s of SENTIMENTS) {
      const part = el("span", s);
      part.style.width = total ? (100 * split[s] / total) + "%" : "0";
      part.title = `${s}: ${split[s]}`;
      bar.append(part);
      const pct = total ? Math.round(100 * split[s] / total) : 0;
      list.append(el("li", "", `${s}: ${split[s]} (${pct}%)`));
    }
    const aspects = $("aspects");
    aspects.replaceChildren();
    const top = summary.top_negative_aspects;
    if (!top.length) { aspects.append(el("li", "empty", "No negative aspects.")); return; }
    const max = Math.max(...top.map((a) => a.negative));
    for (const a of top) {
      const li = el("li");
      const bar = el("div", "bar");
      bar.style.width = (100 * a.negative / max) + "%";
      const track = el("div");
      track.append(bar);
      li.append(el("span", "", a.name), track, el("span", "n", String(a.negative)));
      aspects.append(li);
    }
  }

  function selectedQuery() { return $("query").value; }

  function selectQuery(id) {
    const select = $("query");
    if (![...select.options].some((o) => o.value === id)) select.append(new Option(id, id));
    select.value = id;
    refresh();
  }

  async function loadQueries() {
    // The selector lists every listening query of the tenant, grouped by role; the current
    // choice survives a reload of the list.
    const select = $("query");
    const current = select.value;
    const queries = [];
    let cursor = "";
    for (let page = 0; page < MAX_QUERY_PAGES; page++) {
      const resp = await api("/v1/queries", { limit: 200, cursor: cursor });
      queries.push(...resp.data);
      cursor = resp.next_cursor;
      if (!cursor) break;
    }
    select.replaceChildren(new Option("All mentions", ""));
    for (const [role, label] of Object.entries(ROLES)) {
      const group = queries.filter((q) => q.role === role);
      if (!group.length) continue;
      const optgroup = el("optgroup");
      optgroup.label = label;
      for (const q of group) optgroup.append(new Option(q.enabled ? q.name : q.name + " (disabled)", q.id));
      select.append(optgroup);
    }
    select.value = current;
    if (select.value !== current) select.value = "";
  }

  function renderShareOfVoice(sov) {
    const list = $("sov");
    list.replaceChildren();
    $("sov-total").textContent = sov.items.length ? "(" + sov.total + " tagged mentions)" : "";
    if (!sov.items.length) {
      list.append(el("li", "empty", "No brand or competitor queries yet: create them under /v1/queries."));
      return;
    }
    // Bars are scaled to the largest share, so small differences stay visible.
    const max = Math.max(...sov.items.map((i) => i.share)) || 1;
    for (const item of sov.items) {
      const li = el("li");
      li.tabIndex = 0;
      li.classList.toggle("selected", item.query_id === selectedQuery());
      const name = el("span", "name", item.name || item.query_id);
      if (item.role) name.append(el("span", "role", item.role));
      const track = el("div", "track");
      const bar = el("div", "bar");
      bar.style.width = (100 * item.share / max) + "%";
      for (const s of SENTIMENTS) {
        const part = el("span", s);
        part.style.width = item.volume ? (100 * item.sentiment[s] / item.volume) + "%" : "0";
        part.title = `${s}: ${item.sentiment[s]}`;
        bar.append(part);
      }
      track.append(bar);
      const net = (item.net_sentiment > 0 ? "+" : "") + item.net_sentiment.toFixed(2);
      const numbers = el("span", "n", `${Math.round(100 * item.share)}% · net ${net}`);
      numbers.title = `${item.volume} mentions`;
      li.append(name, track, numbers);
      li.title = `${item.name || item.query_id}: ${item.volume} mentions, share ${(100 * item.share).toFixed(1)}%`;
      const pick = () => selectQuery(item.query_id === selectedQuery() ? "" : item.query_id);
      li.addEventListener("click", pick);
      li.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); pick(); }
      });
      list.append(li);
    }
  }

  function renderMention(m) {
    const li = el("li");
    const meta = el("div", "meta");
    if (m.sentiment) {
      const badge = el("span", "badge " + m.sentiment.label, m.sentiment.label);
      meta.append(badge);
    }
    meta.append(el("span", "", m.platform));
    if (m.author && (m.author.handle || m.author.display_name)) {
      meta.append(el("span", "", m.author.handle ? "@" + m.author.handle.replace(/^@+/, "") : m.author.display_name));
    }
    if (m.created_at) meta.append(el("span", "", new Date(m.created_at).toLocaleString()));
    if (m.aspects && m.aspects.length) {
      meta.append(el("span", "", m.aspects.map((a) => `${a.name} (${a.polarity})`).join(", ")));
    }
    li.append(meta);
    li.append(el("p", "text", m.title ? m.title + "\n" + m.text : m.text));
    if (m.url && /^https?:\/\//i.test(m.url)) {
      const link = el("a", "", "open");
      link.href = m.url;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      li.append(link);
    }
    return li;
  }

  async function loadMentions(append) {
    // A cursor belongs to the query that produced it: "Load more" repeats that query as it was.
    if (!append) {
      const r = range();
      lastQuery = { from: r.from, to: r.to, q: $("q").value.trim(), sentiment: $("sentiment").value,
                    query_id: selectedQuery(), sort: "-time", limit: 20 };
    }
    const page = await api("/v1/mentions", { ...lastQuery, cursor: append ? nextCursor : "" });
    const list = $("mentions");
    if (!append) list.replaceChildren();
    for (const m of page.data) list.append(renderMention(m));
    if (!list.children.length) list.append(el("li", "empty", "No mentions match."));
    nextCursor = page.next_cursor;
    $("more").hidden = !nextCursor;
  }

  async function refresh() {
    if (!apiKey()) {
      $("content").hidden = true;
      showStatus("Paste an API key with the 'read' scope to see your data.", false);
      return;
    }
    showStatus("Loading…", false);
    const r = range();
    const query = selectedQuery();
    try {
      // Share of voice and the query list are extras: without them the rest still shows.
      const [series, summary, sov] = await Promise.all([
        api("/v1/analytics/timeseries", { metric: "sentiment", interval: r.interval, from: r.from, to: r.to,
                                          query_id: query }),
        api("/v1/analytics/summary", { from: r.from, to: r.to, query_id: query }),
        api("/v1/analytics/share-of-voice", { from: r.from, to: r.to }).catch((err) => err),
        loadQueries().catch(() => null),
      ]);
      $("content").hidden = false;
      renderChart(series);
      renderSummary(summary);
      if (sov instanceof Error) {
        $("sov").replaceChildren(el("li", "empty", "Share of voice unavailable: " + sov.message));
        $("sov-total").textContent = "";
      } else {
        renderShareOfVoice(sov);
      }
      await loadMentions(false);
      showStatus("", false);
    } catch (err) {
      if (err.status === 401) $("content").hidden = true;
      showStatus("Could not load data: " + err.message, true);
    }
  }

  function init() {
    $("api-key").value = apiKey();
    $("key-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      localStorage.setItem(STORAGE_KEY, $("api-key").value.trim());
      refresh();
    });
    $("forget-key").addEventListener("click", () => {
      localStorage.removeItem(STORAGE_KEY);
      $("api-key").value = "";
      refresh();
    });
    $("range").addEventListener("change", refresh);
    $("query").addEventListener("change", refresh);
    $("search-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      loadMentions(false).catch((err) => showStatus("Search failed: " + err.message, true));
    });
    $("more").addEventListener("click", () => {
      loadMentions(true).catch((err) => showStatus("Could not load more: " + err.message, true));
    });
    refresh();
  }

  // A deferred script normally runs before DOMContentLoaded, but do not depend on it.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
