// Dengar dashboard: reads the public REST API with the user's API key. No framework, no CDN.
// User-supplied text is only ever set through textContent, never parsed as HTML.
"use strict";

(function () {
  // sessionStorage: the key dies with the tab, so a shared machine does not keep it.
  const STORAGE_KEY = "dengar.apiKey";
  const LANG_KEY = "dengar.lang";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const SENTIMENTS = ["negative", "neutral", "positive"];
  const STATES = ["open", "in_progress", "resolved", "ignored"];
  // Pages of GET /v1/queries read for the selector (200 each): beyond any tenant's query limit.
  const MAX_QUERY_PAGES = 5;
  const EVIDENCE_PER_CARD = 3;
  const PINNED_EVIDENCE = 10;
  const LIVE_MAX = 50;
  const $ = (id) => document.getElementById(id);

  // Every interface string, in English and Indonesian. API content (narratives) comes in the
  // chosen language from the API itself (`lang`).
  const STRINGS = {
    en: {
      apiKey: "API key", useKey: "Use key", forgetKey: "Forget", range: "Range", range1: "24 hours",
      range7: "7 days", range30: "30 days", range90: "90 days", queryLabel: "Listening query",
      allMentions: "All mentions", tabOverview: "Insights", tabInbox: "Inbox", tabAlerts: "Alerts",
      brief: "The brief", volumeOverTime: "Volume and sentiment over time", negative: "negative",
      neutral: "neutral", positive: "positive", spikeLegend: "spike (select it for its explanation)",
      emergingTopics: "Emerging topics", topVoices: "Top voices", shareOfVoice: "Share of voice",
      sovLegend: "Bar length: share of voice; colours: its sentiment split; net = (positive − negative) / volume. Select a row to filter by that query.",
      sentimentSplit: "Sentiment split", topNegativeAspects: "Top negative aspects", inbox: "Inbox",
      searchText: "Search text…", allSentiments: "All sentiments", negativeCap: "Negative",
      neutralCap: "Neutral", positiveCap: "Positive", assigneeFilter: "Assignee", tagFilter: "Tag",
      search: "Search", liveToggle: "Live stream of new mentions", selectAll: "Select all",
      assignTo: "Assign to…", addTag: "Add tag…", applyToSelected: "Apply to selected",
      loadMore: "Load more", newRule: "New alert rule", ruleName: "Name", ruleCondition: "Condition",
      condMention: "A mention matches a query", condSpike: "A spike",
      condNegShare: "Negative share over a threshold", condTopic: "A new emerging topic",
      condCampaign: "A coordinated campaign", ruleExpression: "Expression", ruleMetric: "Metric",
      metricVolume: "volume", metricNegative: "negative volume", ruleThreshold: "Threshold (share 0–1)",
      ruleWindow: "Window (minutes)", ruleMinVolume: "Minimum volume", ruleQuery: "Listening query",
      ruleSeverity: "Severity", ruleCooldown: "Cooldown (minutes)", createRule: "Create rule",
      alertRules: "Alert rules", alertHistory: "Alert history", apiDocs: "API documentation",
      pasteKey: "Paste an API key with the 'read' scope to see your data.", loading: "Loading…",
      loadFailed: "Could not load data: {0}", mentionsTotal: "({0} mentions)",
      noMentionsRange: "No mentions in this range.", noNegativeAspects: "No negative aspects.",
      noSov: "No brand or competitor queries yet: create them under /v1/queries.",
      sovUnavailable: "Share of voice unavailable: {0}", taggedMentions: "({0} tagged mentions)",
      noCards: "Nothing stands out in this period.", showMentions: "Show these mentions ({0})",
      evidence: "Evidence", drivers: "What drove it", panelUnavailable: "Unavailable: {0}",
      spikeTitle: "Spike {0} – {1}", spikeNumbers: "{0} observed against {1} expected · severity {2} · confidence {3}",
      spikeMarker: "Spike at {0}: select for its explanation", closeX: "Close",
      lift: "lift {0}", baseline: "baseline {0}", noTopics: "No topics in this period.",
      noVoices: "No authors in this period.", topicStatus_new: "new", topicStatus_growing: "growing",
      topicStatus_stable: "stable", topicStatus_fading: "fading", mentionsN: "{0} mentions",
      followersN: "{0} followers", noMentionsMatch: "No mentions match.",
      state_open: "Open", state_in_progress: "In progress", state_resolved: "Resolved",
      state_ignored: "Ignored", allStates: "All", resolve: "Resolve", assign: "Assign", tag: "Tag",
      assignee: "assignee: {0}", unassigned: "unassigned", conflict: "Someone else changed this mention meanwhile; it was reloaded.",
      updated: "Updated.", updateFailed: "Could not update: {0}", selectedN: "{0} selected",
      bulkDone: "{0} mentions updated.", nothingSelected: "Select mentions first.",
      nothingToApply: "Choose a state, an assignee or a tag first.", keepState: "State: unchanged",
      filtersApplied: "Filtered by:", clearFilters: "Clear", liveOn: "connected", liveOff: "",
      liveError: "stream interrupted, reconnecting: {0}", open: "open",
      searchFailed: "Search failed: {0}", moreFailed: "Could not load more: {0}",
      noRules: "No alert rules yet.", noAlerts: "No alerts yet.", deleteRule: "Delete",
      confirmDelete: "Really delete?", ruleCreated: "Rule created.", ruleDeleted: "Rule deleted.",
      enabled: "enabled", disabled: "disabled", firing: "firing", resolved: "resolved",
      firedAt: "fired {0}", resolvedAt: "resolved {0}", cooldownMin: "cooldown {0} min",
      disabledSuffix: " (disabled)", role_brand: "Brands", role_competitor: "Competitors",
      role_topic: "Topics", netShort: "net {0}", showAllMentions: "Show these mentions",
      card_spike: "Spike", card_sentiment_shift: "Sentiment shift", card_rising_aspect: "Rising aspect",
      card_share_of_voice_change: "Share of voice change", card_coordinated_duplicates: "Coordinated posting",
      roleOne_brand: "brand", roleOne_competitor: "competitor", roleOne_topic: "topic",
    },
    id: {
      apiKey: "Kunci API", useKey: "Pakai kunci", forgetKey: "Lupakan", range: "Rentang", range1: "24 jam",
      range7: "7 hari", range30: "30 hari", range90: "90 hari", queryLabel: "Kueri pemantauan",
      allMentions: "Semua sebutan", tabOverview: "Wawasan", tabInbox: "Kotak masuk", tabAlerts: "Peringatan",
      brief: "Ringkasan", volumeOverTime: "Volume dan sentimen dari waktu ke waktu", negative: "negatif",
      neutral: "netral", positive: "positif", spikeLegend: "lonjakan (pilih untuk penjelasannya)",
      emergingTopics: "Topik yang muncul", topVoices: "Suara teratas", shareOfVoice: "Pangsa suara",
      sovLegend: "Panjang batang: pangsa suara; warna: sebaran sentimennya; net = (positif − negatif) / volume. Pilih baris untuk menyaring kueri itu.",
      sentimentSplit: "Sebaran sentimen", topNegativeAspects: "Aspek negatif teratas", inbox: "Kotak masuk",
      searchText: "Cari teks…", allSentiments: "Semua sentimen", negativeCap: "Negatif",
      neutralCap: "Netral", positiveCap: "Positif", assigneeFilter: "Penanggung jawab", tagFilter: "Label",
      search: "Cari", liveToggle: "Siaran langsung sebutan baru", selectAll: "Pilih semua",
      assignTo: "Tugaskan ke…", addTag: "Tambah label…", applyToSelected: "Terapkan ke yang dipilih",
      loadMore: "Muat lagi", newRule: "Aturan peringatan baru", ruleName: "Nama", ruleCondition: "Kondisi",
      condMention: "Sebutan cocok dengan kueri", condSpike: "Lonjakan",
      condNegShare: "Pangsa negatif di atas ambang", condTopic: "Topik baru yang muncul",
      condCampaign: "Kampanye terkoordinasi", ruleExpression: "Ekspresi", ruleMetric: "Metrik",
      metricVolume: "volume", metricNegative: "volume negatif", ruleThreshold: "Ambang (pangsa 0–1)",
      ruleWindow: "Jendela (menit)", ruleMinVolume: "Volume minimum", ruleQuery: "Kueri pemantauan",
      ruleSeverity: "Tingkat", ruleCooldown: "Jeda (menit)", createRule: "Buat aturan",
      alertRules: "Aturan peringatan", alertHistory: "Riwayat peringatan", apiDocs: "Dokumentasi API",
      pasteKey: "Tempelkan kunci API dengan cakupan 'read' untuk melihat data Anda.", loading: "Memuat…",
      loadFailed: "Gagal memuat data: {0}", mentionsTotal: "({0} sebutan)",
      noMentionsRange: "Tidak ada sebutan dalam rentang ini.", noNegativeAspects: "Tidak ada aspek negatif.",
      noSov: "Belum ada kueri merek atau pesaing: buat di /v1/queries.",
      sovUnavailable: "Pangsa suara tidak tersedia: {0}", taggedMentions: "({0} sebutan berlabel)",
      noCards: "Tidak ada yang menonjol pada periode ini.", showMentions: "Tampilkan sebutan ini ({0})",
      evidence: "Bukti", drivers: "Pendorongnya", panelUnavailable: "Tidak tersedia: {0}",
      spikeTitle: "Lonjakan {0} – {1}", spikeNumbers: "{0} teramati dibanding {1} diperkirakan · tingkat {2} · keyakinan {3}",
      spikeMarker: "Lonjakan pada {0}: pilih untuk penjelasannya", closeX: "Tutup",
      lift: "kenaikan {0}", baseline: "dasar {0}", noTopics: "Tidak ada topik pada periode ini.",
      noVoices: "Tidak ada penulis pada periode ini.", topicStatus_new: "baru", topicStatus_growing: "tumbuh",
      topicStatus_stable: "stabil", topicStatus_fading: "memudar", mentionsN: "{0} sebutan",
      followersN: "{0} pengikut", noMentionsMatch: "Tidak ada sebutan yang cocok.",
      state_open: "Terbuka", state_in_progress: "Diproses", state_resolved: "Selesai",
      state_ignored: "Diabaikan", allStates: "Semua", resolve: "Selesaikan", assign: "Tugaskan", tag: "Label",
      assignee: "penanggung jawab: {0}", unassigned: "belum ditugaskan", conflict: "Orang lain mengubah sebutan ini; sudah dimuat ulang.",
      updated: "Diperbarui.", updateFailed: "Gagal memperbarui: {0}", selectedN: "{0} dipilih",
      bulkDone: "{0} sebutan diperbarui.", nothingSelected: "Pilih sebutan dulu.",
      nothingToApply: "Pilih status, penanggung jawab, atau label dulu.", keepState: "Status: tetap",
      filtersApplied: "Disaring menurut:", clearFilters: "Hapus", liveOn: "tersambung", liveOff: "",
      liveError: "siaran terputus, menyambung ulang: {0}", open: "buka",
      searchFailed: "Pencarian gagal: {0}", moreFailed: "Gagal memuat lagi: {0}",
      noRules: "Belum ada aturan peringatan.", noAlerts: "Belum ada peringatan.", deleteRule: "Hapus",
      confirmDelete: "Yakin hapus?", ruleCreated: "Aturan dibuat.", ruleDeleted: "Aturan dihapus.",
      enabled: "aktif", disabled: "nonaktif", firing: "menyala", resolved: "selesai",
      firedAt: "menyala {0}", resolvedAt: "selesai {0}", cooldownMin: "jeda {0} menit",
      disabledSuffix: " (nonaktif)", role_brand: "Merek", role_competitor: "Pesaing",
      role_topic: "Topik", netShort: "net {0}", showAllMentions: "Tampilkan sebutan ini",
      card_spike: "Lonjakan", card_sentiment_shift: "Pergeseran sentimen", card_rising_aspect: "Aspek yang naik",
      card_share_of_voice_change: "Perubahan pangsa suara", card_coordinated_duplicates: "Unggahan terkoordinasi",
      roleOne_brand: "merek", roleOne_competitor: "pesaing", roleOne_topic: "topik",
    },
  };

  let lang = sessionStorage.getItem(LANG_KEY) === "id" ? "id" : "en";
  let view = "overview";
  let nextCursor = null;
  let lastQuery = {};
  let applied = null;          // filters applied from a brief card, a spike or an alert
  let appliedEvidence = [];    // that card's evidence posts: listed first, as its link promises
  let pinnedIds = new Set();   // the evidence posts on show, kept out of the pages below them
  let stateFilter = "";
  let live = null;             // AbortController of the live stream
  let lastSpikes = [];
  let pending = 0;             // requests in flight: body[data-busy] while any is
  let overviewGen = 0;         // a newer load supersedes an older one still in flight
  let mentionsGen = 0;

  function t(key, ...args) {
    const s = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
    return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)]));
  }

  function apiKey() { return sessionStorage.getItem(STORAGE_KEY) || ""; }

  let statusTimer = null;

  function showStatus(message, isError) {
    const node = $("status");
    node.textContent = message;
    node.classList.toggle("error", Boolean(isError));
    node.classList.remove("done");
    node.hidden = !message;
    clearTimeout(statusTimer);
  }

  // A confirmation: shown in green, gone after a few seconds.
  function showDone(message) {
    showStatus(message, false);
    $("status").classList.add("done");
    statusTimer = setTimeout(() => showStatus("", false), 5000);
  }

  function url(path, params) {
    const u = new URL(path, window.location.origin);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, v);
    }
    return u;
  }

  async function api(path, params, init) {
    pending += 1;
    document.body.dataset.busy = "1";
    try {
      return await request(path, params, init);
    } finally {
      pending -= 1;
      if (!pending) delete document.body.dataset.busy;
    }
  }

  async function request(path, params, init) {
    const opts = init || {};
    const headers = { Authorization: "Bearer " + apiKey(), ...(opts.headers || {}) };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(url(path, params), {
      method: opts.method || "GET", headers,
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
    });
    if (!resp.ok) {
      let detail = resp.statusText;
      try {
        const problem = await resp.json();
        detail = problem.detail || problem.title || detail;
        // Name the fields at fault, unless the detail already says it all.
        const extra = (problem.errors || []).filter((e) => e.message && !detail.includes(e.message));
        if (extra.length) detail += " (" + extra.map((e) => (e.field || "") + ": " + e.message).join("; ") + ")";
      } catch (e) { /* not a problem document */ }
      const err = new Error(resp.status + ": " + detail);
      err.status = resp.status;
      throw err;
    }
    return resp.status === 204 ? null : resp.json();
  }

  function range() {
    const days = Number($("range").value);
    const to = new Date();
    const from = new Date(to.getTime() - days * 86400 * 1000);
    // Hourly up to a week: spikes are judged per bucket, and a week of days is too few to judge.
    return { from: from.toISOString(), to: to.toISOString(), interval: days <= 7 ? "hour" : "day" };
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

  function fmtTime(iso) { return iso ? new Date(iso).toLocaleString(lang === "id" ? "id-ID" : "en-GB") : ""; }
  function fmtNum(n) { return Number(n).toLocaleString(lang === "id" ? "id-ID" : "en-US"); }

  function onActivate(node, handler) {
    node.addEventListener("click", handler);
    node.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); handler(); }
    });
  }

  function applyI18n() {
    document.documentElement.lang = lang;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
      node.placeholder = t(node.dataset.i18nPlaceholder);
    }
    $("lang-en").setAttribute("aria-pressed", String(lang === "en"));
    $("lang-id").setAttribute("aria-pressed", String(lang === "id"));
    const bulk = $("bulk-state");
    bulk.replaceChildren(new Option(t("keepState"), ""), ...STATES.map((s) => new Option(t("state_" + s), s)));
  }

  // ------------------------------------------------------------------ overview: chart and spikes

  function renderChart(series, spikes) {
    const box = $("chart");
    box.replaceChildren();
    $("total").textContent = t("mentionsTotal", fmtNum(series.total));
    const points = series.points;
    if (!points.length) { box.append(el("p", "empty", t("noMentionsRange"))); return; }
    // Drawn at the container's pixel width, so labels are not stretched.
    const W = Math.max(320, box.clientWidth || 800), H = 240, pad = { l: 40, r: 8, t: 18, b: 22 };
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
    const starts = points.map((p) => Date.parse(p.bucket_start));
    const step = series.interval === "hour" ? 3600e3 : 86400e3;
    // Spike bands go under the bars; their markers above, where they can be clicked.
    const markers = [];
    spikes.forEach((s, idx) => {
      const a = Date.parse(s.start), b = Date.parse(s.end);
      const inside = starts.map((st, i) => (st + step > a && st < b ? i : -1)).filter((i) => i >= 0);
      if (!inside.length) return;
      const x0 = pad.l + inside[0] * bw, x1 = pad.l + (inside[inside.length - 1] + 1) * bw;
      root.append(svg("rect", { x: x0, y: pad.t - 4, width: x1 - x0, height: H - pad.b - pad.t + 4,
                                class: "spike-band " + s.severity }));
      const cx = (x0 + x1) / 2;
      const marker = svg("g", { class: "spike-marker " + s.severity, tabindex: 0, role: "button",
                                "data-spike": idx, "aria-label": t("spikeMarker", fmtTime(s.peak)) });
      marker.append(svg("polygon", { points: `${cx - 7},${pad.t - 14} ${cx + 7},${pad.t - 14} ${cx},${pad.t - 3}` }));
      const title = svg("title", {});
      title.textContent = t("spikeMarker", fmtTime(s.peak));
      marker.append(title);
      onActivate(marker, () => showSpike(idx));
      markers.push(marker);
    });
    // Hourly weeks are labelled once a day (at local midnight), anything else about 8 times.
    const daily = series.interval === "hour" && points.length > 48;
    const labelEvery = daily ? 24 : Math.ceil(points.length / 8);
    const offset = daily ? Math.max(0, points.findIndex((p) => new Date(p.bucket_start).getHours() === 0)) : 0;
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
        title.textContent = `${fmtTime(p.bucket_start)}: ${parts[s]} ${t(s)}`;
        rect.append(title);
        root.append(rect);
        base += parts[s];
      }
      if (i >= offset && (i - offset) % labelEvery === 0) {
        const d = new Date(p.bucket_start);
        const label = svg("text", { x: x + bw / 2, y: H - 6, "text-anchor": "middle" });
        const locale = lang === "id" ? "id-ID" : "en-GB";
        // Hours within a day; beyond that, the day (and the hour when it is not midnight).
        const multiDay = points.length * step > 2 * 86400e3;
        label.textContent = series.interval === "hour" && !multiDay
          ? d.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" })
          : d.toLocaleDateString(locale, { month: "short", day: "numeric" })
            + (series.interval === "hour" && d.getHours() !== 0
              ? " " + d.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" }) : "");
        root.append(label);
      }
    });
    root.append(...markers);
    box.append(root);
  }

  function showSpike(idx) {
    const s = lastSpikes[idx];
    const box = $("spike-detail");
    box.replaceChildren();
    if (!s) { box.hidden = true; return; }
    const head = el("div", "detail-head");
    head.append(el("h3", "", t("spikeTitle", fmtTime(s.start), fmtTime(s.end))));
    const close = el("button", "link", t("closeX"));
    close.type = "button";
    close.addEventListener("click", () => { box.hidden = true; });
    head.append(close);
    box.append(head);
    box.append(el("p", "numbers", t("spikeNumbers", fmtNum(Math.round(s.observed)), fmtNum(Math.round(s.expected)),
                                    s.severity, s.confidence)));
    if (s.drivers.length) {
      box.append(el("h4", "", t("drivers")));
      const list = el("ul", "drivers");
      for (const d of s.drivers.slice(0, 8)) list.append(renderDriver(d));
      box.append(list);
    }
    const seen = new Set();
    const evidence = [];
    for (const d of s.drivers) {
      for (const m of d.evidence || []) {
        if (!seen.has(m.id)) { seen.add(m.id); evidence.push(m); }
      }
    }
    if (evidence.length) {
      box.append(el("h4", "", t("evidence")));
      const list = el("ul", "mentions compact");
      for (const m of evidence.slice(0, 5)) list.append(renderMention(m, false));
      box.append(list);
    }
    const filters = { from: s.start, to: s.end };
    if ($("query").value) filters.query_id = $("query").value;
    box.append(filterLink(filters, s.volume, evidence.map((m) => m.id)));
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  function renderDriver(d) {
    const li = el("li");
    li.append(el("span", "kind", d.kind), el("strong", "", d.value));
    const bits = [fmtNum(d.count), t("baseline", fmtNum(d.baseline_count))];
    if (d.lift !== null && d.lift !== undefined) bits.push(t("lift", "×" + d.lift.toFixed(1)));
    li.append(el("span", "muted", bits.join(" · ")));
    if (d.terms && d.terms.length) li.append(el("span", "terms", d.terms.slice(0, 5).join(", ")));
    return li;
  }

  function filterLink(filters, count, evidenceIds) {
    const a = el("a", "filter-link", count === undefined ? t("showAllMentions") : t("showMentions", fmtNum(count)));
    a.href = "#inbox";
    a.addEventListener("click", (ev) => { ev.preventDefault(); applyFilters(filters, evidenceIds); });
    return a;
  }

  // ------------------------------------------------------------------ overview: brief and panels

  async function renderBrief(brief) {
    const list = $("brief");
    list.replaceChildren();
    $("brief-range").textContent = "(" + fmtTime(brief.from) + " – " + fmtTime(brief.to) + ")";
    if (!brief.cards.length) { list.append(el("li", "empty", t("noCards"))); return; }
    const pending = [];
    for (const c of brief.cards) {
      const li = el("li", "insight " + c.type);
      const head = el("div", "insight-head");
      head.append(el("span", "type", t("card_" + c.type)), el("h3", "", c.title));
      li.append(head, el("p", "narrative", c.narrative));
      if (c.drivers.length) {
        const drivers = el("ul", "drivers");
        for (const d of c.drivers.slice(0, 3)) drivers.append(renderDriver(d));
        li.append(drivers);
      }
      const evidence = el("ul", "mentions compact evidence");
      li.append(evidence);
      const ids = c.evidence_mention_ids.slice(0, EVIDENCE_PER_CARD);
      pending.push(Promise.all(ids.map((id) => api("/v1/mentions/" + encodeURIComponent(id)).catch(() => null)))
        .then((ms) => { for (const m of ms) if (m) evidence.append(renderMention(m, false)); }));
      if (c.filters && Object.keys(c.filters).length) {
        li.append(filterLink(c.filters, c.evidence_mention_ids.length || undefined, c.evidence_mention_ids));
      }
      list.append(li);
    }
    await Promise.all(pending);
  }

  function renderTopics(topics) {
    const list = $("topics");
    list.replaceChildren();
    const items = topics.topics.filter((x) => x.volume > 0).slice(0, 8);
    if (!items.length) { list.append(el("li", "empty", t("noTopics"))); return; }
    for (const x of items) {
      const li = el("li");
      const head = el("div", "topic-head");
      head.append(el("strong", "", x.keywords.slice(0, 4).join(", ")),
                  el("span", "status " + x.status, t("topicStatus_" + x.status)));
      li.append(head);
      const share = Math.round(100 * x.share);
      li.append(el("span", "muted", t("mentionsN", fmtNum(x.volume)) + " · " + share + "%"));
      if (x.representatives.length) li.append(el("p", "snippet", x.representatives[0].snippet));
      list.append(li);
    }
  }

  function renderVoices(voices) {
    const list = $("voices");
    list.replaceChildren();
    if (!voices.authors.length) { list.append(el("li", "empty", t("noVoices"))); return; }
    for (const a of voices.authors.slice(0, 8)) {
      const li = el("li");
      const name = a.handle ? "@" + a.handle.replace(/^@+/, "") : (a.display_name || a.id || "?");
      const who = el("div", "who");
      who.append(el("strong", "", name), el("span", "muted", a.platform + (a.verified ? " ✓" : "")));
      li.append(who);
      li.append(el("span", "muted", t("mentionsN", fmtNum(a.mentions)) + " · " + t("followersN", fmtNum(a.followers))));
      const bar = el("div", "split-bar small");
      for (const s of SENTIMENTS) {
        const part = el("span", s);
        part.style.width = a.mentions ? (100 * a.sentiment[s] / a.mentions) + "%" : "0";
        part.title = `${t(s)}: ${a.sentiment[s]}`;
        bar.append(part);
      }
      li.append(bar);
      list.append(li);
    }
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
      part.title = `${t(s)}: ${split[s]}`;
      bar.append(part);
      const pct = total ? Math.round(100 * split[s] / total) : 0;
      list.append(el("li", "", `${t(s)}: ${split[s]} (${pct}%)`));
    }
    const aspects = $("aspects");
    aspects.replaceChildren();
    const top = summary.top_negative_aspects;
    if (!top.length) { aspects.append(el("li", "empty", t("noNegativeAspects"))); return; }
    const max = Math.max(...top.map((a) => a.negative));
    for (const a of top) {
      const li = el("li");
      const inner = el("div", "bar");
      inner.style.width = (100 * a.negative / max) + "%";
      const track = el("div");
      track.append(inner);
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
    const queries = [];
    let cursor = "";
    for (let page = 0; page < MAX_QUERY_PAGES; page++) {
      const resp = await api("/v1/queries", { limit: 200, cursor: cursor });
      queries.push(...resp.data);
      cursor = resp.next_cursor;
      if (!cursor) break;
    }
    for (const select of [$("query"), $("rule-query")]) {
      const current = select.value;
      select.replaceChildren(new Option(t("allMentions"), ""));
      for (const role of ["brand", "competitor", "topic"]) {
        const group = queries.filter((q) => q.role === role);
        if (!group.length) continue;
        const optgroup = el("optgroup");
        optgroup.label = t("role_" + role);
        for (const q of group) optgroup.append(new Option(q.enabled ? q.name : q.name + t("disabledSuffix"), q.id));
        select.append(optgroup);
      }
      select.value = current;
      if (select.value !== current) select.value = "";
    }
  }

  function renderShareOfVoice(sov) {
    const list = $("sov");
    list.replaceChildren();
    $("sov-total").textContent = sov.items.length ? t("taggedMentions", fmtNum(sov.total)) : "";
    if (!sov.items.length) { list.append(el("li", "empty", t("noSov"))); return; }
    // Bars are scaled to the largest share, so small differences stay visible.
    const max = Math.max(...sov.items.map((i) => i.share)) || 1;
    for (const item of sov.items) {
      const li = el("li");
      li.tabIndex = 0;
      li.classList.toggle("selected", item.query_id === selectedQuery());
      const name = el("span", "name", item.name || item.query_id);
      if (item.role) name.append(el("span", "role", t("roleOne_" + item.role)));
      const track = el("div", "track");
      const bar = el("div", "bar");
      bar.style.width = (100 * item.share / max) + "%";
      for (const s of SENTIMENTS) {
        const part = el("span", s);
        part.style.width = item.volume ? (100 * item.sentiment[s] / item.volume) + "%" : "0";
        part.title = `${t(s)}: ${item.sentiment[s]}`;
        bar.append(part);
      }
      track.append(bar);
      const net = (item.net_sentiment > 0 ? "+" : "") + item.net_sentiment.toFixed(2);
      const numbers = el("span", "n", `${Math.round(100 * item.share)}% · ${t("netShort", net)}`);
      numbers.title = t("mentionsN", item.volume);
      li.append(name, track, numbers);
      onActivate(li, () => selectQuery(item.query_id === selectedQuery() ? "" : item.query_id));
      list.append(li);
    }
  }

  function panelError(id, err) {
    $(id).replaceChildren(el("li", "empty", t("panelUnavailable", err.message)));
  }

  async function loadOverview() {
    const gen = ++overviewGen;
    const r = range();
    const query = selectedQuery();
    const period = { from: r.from, to: r.to, query_id: query };
    // The series is the one read that must work; every panel beside it may fail on its own.
    const soft = (p) => p.catch((err) => err);
    const [series, summary, sov, spikes, brief, topics, voices] = await Promise.all([
      api("/v1/analytics/timeseries", { metric: "sentiment", interval: r.interval, ...period }),
      soft(api("/v1/analytics/summary", period)),
      soft(api("/v1/analytics/share-of-voice", { from: r.from, to: r.to })),
      soft(api("/v1/insights/spikes", { interval: r.interval, metric: "volume", ...period })),
      soft(api("/v1/insights/brief", { ...period, lang: lang, limit: 8 })),
      soft(api("/v1/insights/topics", period)),
      soft(api("/v1/insights/authors", { ...period, rank_by: "volume", limit: 8 })),
    ]);
    if (gen !== overviewGen) return;
    showView("overview");
    lastSpikes = spikes instanceof Error ? [] : spikes.spikes;
    $("spike-detail").hidden = true;
    renderChart(series, lastSpikes);
    if (summary instanceof Error) { panelError("aspects", summary); } else { renderSummary(summary); }
    if (sov instanceof Error) {
      $("sov").replaceChildren(el("li", "empty", t("sovUnavailable", sov.message)));
      $("sov-total").textContent = "";
    } else {
      renderShareOfVoice(sov);
    }
    if (topics instanceof Error) panelError("topics", topics); else renderTopics(topics);
    if (voices instanceof Error) panelError("voices", voices); else renderVoices(voices);
    if (brief instanceof Error) panelError("brief", brief); else await renderBrief(brief);
  }

  // ------------------------------------------------------------------ inbox

  function workflowOf(m) {
    return m.workflow || { state: "open", assignee: "", tags: [], notes: [], version: 0 };
  }

  function renderMention(m, actions) {
    const li = el("li");
    li.dataset.id = m.id;
    const meta = el("div", "meta");
    if (actions) {
      const box = el("input", "pick");
      box.type = "checkbox";
      box.setAttribute("aria-label", "select");
      box.addEventListener("change", updateSelected);
      meta.append(box);
      const wf = workflowOf(m);
      meta.append(el("span", "state " + wf.state, t("state_" + wf.state)));
      meta.append(el("span", "", wf.assignee ? t("assignee", wf.assignee) : t("unassigned")));
      for (const tag of wf.tags) meta.append(el("span", "tag", "#" + tag));
    }
    if (m.sentiment) meta.append(el("span", "badge " + m.sentiment.label, t(m.sentiment.label)));
    meta.append(el("span", "", m.platform));
    if (m.author && (m.author.handle || m.author.display_name)) {
      meta.append(el("span", "", m.author.handle ? "@" + m.author.handle.replace(/^@+/, "") : m.author.display_name));
    }
    if (m.created_at) meta.append(el("span", "", fmtTime(m.created_at)));
    if (m.aspects && m.aspects.length) {
      meta.append(el("span", "", m.aspects.map((a) => `${a.name} (${a.polarity})`).join(", ")));
    }
    li.append(meta);
    li.append(el("p", "text", m.title ? m.title + "\n" + m.text : m.text));
    const row = el("div", "row");
    if (actions) row.append(...mentionActions(m, li));
    if (m.url && /^https?:\/\//i.test(m.url)) {
      const link = el("a", "", t("open"));
      link.href = m.url;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      row.append(link);
    }
    if (row.children.length) li.append(row);
    return li;
  }

  function mentionActions(m, li) {
    const wf = workflowOf(m);
    const state = el("select", "wf-state");
    state.setAttribute("aria-label", "state");
    for (const s of STATES) state.append(new Option(t("state_" + s), s));
    state.value = wf.state;
    state.addEventListener("change", () => patchWorkflow(m, li, { state: state.value }));
    const resolve = el("button", "resolve", t("resolve"));
    resolve.type = "button";
    resolve.disabled = wf.state === "resolved";
    resolve.addEventListener("click", () => patchWorkflow(m, li, { state: "resolved" }));
    const who = el("input", "wf-assignee");
    who.placeholder = t("assignTo");
    who.maxLength = 128;
    who.value = wf.assignee;
    const assign = el("button", "assign", t("assign"));
    assign.type = "button";
    assign.addEventListener("click", () => patchWorkflow(m, li, { assignee: who.value.trim() }));
    const tag = el("input", "wf-tag");
    tag.placeholder = t("addTag");
    tag.maxLength = 40;
    const addTag = el("button", "add-tag", t("tag"));
    addTag.type = "button";
    addTag.addEventListener("click", () => {
      if (tag.value.trim()) patchWorkflow(m, li, { add_tags: [tag.value.trim()] });
    });
    return [state, resolve, who, assign, tag, addTag];
  }

  async function patchWorkflow(m, li, change) {
    // If-Match: the change applies only to the version shown; a 409 reloads the mention.
    const headers = m.workflow ? { "If-Match": '"' + m.workflow.version + '"' } : {};
    try {
      const wf = await api("/v1/mentions/" + encodeURIComponent(m.id) + "/workflow", {},
                           { method: "PATCH", body: change, headers });
      m.workflow = wf;
      shown(m.id, li).replaceWith(renderMention(m, true));
      showDone(t("updated"));
    } catch (err) {
      if (err.status === 409) {
        const fresh = await api("/v1/mentions/" + encodeURIComponent(m.id)).catch(() => null);
        if (fresh) shown(m.id, li).replaceWith(renderMention(fresh, true));
        showStatus(t("conflict"), true);
      } else {
        showStatus(t("updateFailed", err.message), true);
      }
    }
    loadCounts().catch(() => null);
    updateSelected();
  }

  function shown(id, li) {
    // The list may have been reloaded while a change was in flight: replace what shows now.
    return li.isConnected ? li : ($("mentions").querySelector(`li[data-id="${CSS.escape(id)}"]`) || li);
  }

  function selectedIds() {
    return [...document.querySelectorAll("#mentions li input.pick:checked")].map((b) => b.closest("li").dataset.id);
  }

  function updateSelected() {
    const n = selectedIds().length;
    $("selected-count").textContent = n ? t("selectedN", n) : "";
  }

  async function bulkApply() {
    const ids = selectedIds();
    if (!ids.length) { showStatus(t("nothingSelected"), true); return; }
    const change = {};
    if ($("bulk-state").value) change.state = $("bulk-state").value;
    if ($("bulk-assignee").value.trim()) change.assignee = $("bulk-assignee").value.trim();
    if ($("bulk-tag").value.trim()) change.add_tags = [$("bulk-tag").value.trim()];
    if (!Object.keys(change).length) { showStatus(t("nothingToApply"), true); return; }
    try {
      const res = await api("/v1/mentions/workflow:bulk", {}, { method: "POST", body: { ids, change } });
      $("select-all").checked = false;
      $("bulk-state").value = "";
      $("bulk-assignee").value = "";
      $("bulk-tag").value = "";
      await Promise.all([loadMentions(false), loadCounts()]);
      showDone(t("bulkDone", res.updated.length));
    } catch (err) {
      showStatus(t("updateFailed", err.message), true);
    }
  }

  async function loadCounts() {
    const counts = await api("/v1/inbox/counts");
    const box = $("counts");
    box.replaceChildren();
    const make = (state, label, n) => {
      const b = el("button", "toggle", n === undefined ? label : `${label} (${fmtNum(n)})`);
      b.type = "button";
      b.dataset.state = state;
      b.setAttribute("aria-pressed", String(stateFilter === state));
      b.addEventListener("click", () => {
        stateFilter = state;
        loadCounts().catch(() => null);
        loadMentions(false).catch((err) => showStatus(t("searchFailed", err.message), true));
      });
      box.append(b);
    };
    make("", t("allStates"), counts.total);
    for (const s of STATES) make(s, t("state_" + s), counts[s]);
  }

  function applyFilters(filters, evidenceIds) {
    applied = { ...filters };
    appliedEvidence = [...new Set(evidenceIds || [])].slice(0, PINNED_EVIDENCE);
    location.hash = "#inbox";
    if (view === "inbox") loadInbox();
  }

  function renderApplied() {
    const box = $("applied");
    box.replaceChildren();
    box.hidden = !applied;
    if (!applied) return;
    box.append(el("span", "muted", t("filtersApplied")));
    for (const [k, v] of Object.entries(applied)) {
      // Query ids read as the queries' names where the selector knows them.
      const names = (ids) => String(ids).split(",").map((id) => {
        const opt = [...$("query").options].find((o) => o.value === id);
        return opt ? opt.textContent : id;
      }).join(", ");
      const text = (k === "from" || k === "to") ? fmtTime(v) : k === "query_id" ? names(v) : v;
      box.append(el("span", "chip", k + ": " + text));
    }
    const clear = el("button", "link", t("clearFilters"));
    clear.type = "button";
    clear.addEventListener("click", () => { applied = null; appliedEvidence = []; loadInbox(); });
    box.append(clear);
  }

  function mentionFilters() {
    const r = range();
    const base = applied ? { ...applied } : { from: r.from, to: r.to, query_id: selectedQuery() };
    return { ...base, q: $("q").value.trim() || base.q, sentiment: $("sentiment").value || base.sentiment,
             assignee: $("f-assignee").value.trim(), tag: $("f-tag").value.trim(), state: stateFilter };
  }

  async function loadMentions(append) {
    // A cursor belongs to the query that produced it: "Load more" repeats that query as it was.
    const gen = ++mentionsGen;
    let pins = [];
    if (!append) {
      lastQuery = { ...mentionFilters(), sort: "-time", limit: 20 };
      // The evidence comes first only while the list is the card's own: narrowed further by the
      // form, it would show posts that the narrower list does not hold.
      const own = applied && ["q", "sentiment", "assignee", "tag"].every((k) => !lastQuery[k] || lastQuery[k] === applied[k]);
      pins = own ? appliedEvidence : [];
    }
    const [page, pinned] = await Promise.all([
      api("/v1/mentions", { ...lastQuery, cursor: append ? nextCursor : "" }),
      Promise.all(pins.map((id) => api("/v1/mentions/" + encodeURIComponent(id)).catch(() => null))),
    ]);
    if (gen !== mentionsGen) return;
    const list = $("mentions");
    if (!append) {
      list.replaceChildren();
      pinnedIds = new Set();
      for (const m of pinned) {
        if (!m) continue;
        const li = renderMention(m, true);
        li.classList.add("pinned");
        li.querySelector(".meta").prepend(el("span", "pin", t("evidence")));
        list.append(li);
        pinnedIds.add(m.id);
      }
    }
    for (const m of page.data) if (!pinnedIds.has(m.id)) list.append(renderMention(m, true));
    if (!list.children.length) list.append(el("li", "empty", t("noMentionsMatch")));
    nextCursor = page.next_cursor;
    $("more").hidden = !nextCursor;
    updateSelected();
  }

  async function loadInbox() {
    showView("inbox");
    renderApplied();
    await Promise.all([loadCounts().catch((err) => {
      $("counts").replaceChildren(el("span", "empty", t("panelUnavailable", err.message)));
    }), loadMentions(false)]);
  }

  // ------------------------------------------------------------------ live stream

  // EventSource cannot send the Authorization header, so the stream is read with fetch() and
  // parsed here (text/event-stream: blank-line separated events of `field: value` lines).
  async function runLive(controller) {
    let lastId = "";
    while (!controller.signal.aborted) {
      try {
        const headers = { Authorization: "Bearer " + apiKey(), Accept: "text/event-stream" };
        if (lastId) headers["Last-Event-ID"] = lastId;
        const params = applied ? { query_id: applied.query_id } : { query_id: selectedQuery() };
        const resp = await fetch(url("/v1/stream/mentions", params), { headers, signal: controller.signal });
        if (!resp.ok) throw new Error(String(resp.status));
        $("live-state").textContent = t("liveOn");
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value.replace(/\r\n?/g, "\n");
          let cut;
          while ((cut = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            const ev = { event: "message", data: [], id: null };
            for (const line of block.split("\n")) {
              if (!line || line.startsWith(":")) continue;
              const colon = line.indexOf(":");
              const field = colon < 0 ? line : line.slice(0, colon);
              const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
              if (field === "event") ev.event = val;
              else if (field === "data") ev.data.push(val);
              else if (field === "id") ev.id = val;
            }
            if (ev.id) lastId = ev.id;
            if (ev.event === "mention" && ev.data.length) onLiveMention(JSON.parse(ev.data.join("\n")));
          }
        }
      } catch (err) {
        if (controller.signal.aborted) return;
        $("live-state").textContent = t("liveError", err.message);
      }
      await new Promise((done) => setTimeout(done, 3000));
    }
  }

  function onLiveMention(m) {
    const list = $("live-list");
    list.hidden = false;
    const old = list.querySelector(`li[data-id="${CSS.escape(m.id)}"]`);
    const li = renderMention(m, false);
    li.classList.add("fresh");
    if (old) old.replaceWith(li); else list.prepend(li);
    while (list.children.length > LIVE_MAX) list.lastChild.remove();
  }

  function setLive(on) {
    if (live) { live.abort(); live = null; }
    $("live-state").textContent = "";
    if (!on) { $("live-list").hidden = true; $("live-list").replaceChildren(); return; }
    live = new AbortController();
    runLive(live);
  }

  // ------------------------------------------------------------------ alerts

  function showRuleFields() {
    const cond = $("rule-condition").value;
    for (const node of document.querySelectorAll("#rule-form [data-for]")) node.hidden = node.dataset.for !== cond;
  }

  async function createRule(ev) {
    ev.preventDefault();
    const cond = $("rule-condition").value;
    const body = { name: $("rule-name").value.trim(), condition: cond, severity: $("rule-severity").value,
                   query_id: $("rule-query").value, cooldown_s: 60 * Number($("rule-cooldown").value || 0) };
    if (cond === "mention_match") body.expression = $("rule-expression").value.trim();
    if (cond === "spike") body.metric = $("rule-metric").value;
    if (cond === "negative_share") {
      body.threshold = Number($("rule-threshold").value);
      body.window_minutes = Number($("rule-window").value);
      body.min_volume = Number($("rule-min-volume").value);
    }
    try {
      await api("/v1/alerts/rules", {}, { method: "POST", body });
      $("rule-name").value = "";
      $("rule-expression").value = "";
      await loadRules();
      showDone(t("ruleCreated"));
    } catch (err) {
      showStatus(t("updateFailed", err.message), true);
    }
  }

  async function loadRules() {
    const rules = await api("/v1/alerts/rules");
    const list = $("rules");
    list.replaceChildren();
    if (!rules.data.length) { list.append(el("li", "empty", t("noRules"))); return; }
    for (const r of rules.data) {
      const li = el("li");
      li.dataset.id = r.id;
      const head = el("div", "rule-head");
      head.append(el("strong", "", r.name), el("span", "sev " + r.severity, r.severity));
      const del = el("button", "delete", t("deleteRule"));
      del.type = "button";
      // Two steps instead of a blocking confirm(): the first click arms the button.
      del.addEventListener("click", async () => {
        if (!del.classList.contains("armed")) { del.classList.add("armed"); del.textContent = t("confirmDelete"); return; }
        try {
          await api("/v1/alerts/rules/" + encodeURIComponent(r.id), {}, { method: "DELETE" });
          showDone(t("ruleDeleted"));
          await loadRules();
        } catch (err) { showStatus(t("updateFailed", err.message), true); }
      });
      head.append(del);
      li.append(head);
      const what = [r.condition.replace(/_/g, " ")];
      if (r.expression) what.push(r.expression);
      if (r.condition === "spike") what.push(r.metric);
      if (r.condition === "negative_share") what.push(`> ${r.threshold} / ${r.window_minutes} min, ≥ ${r.min_volume}`);
      what.push(t("cooldownMin", Math.round(r.cooldown_s / 60)), r.enabled ? t("enabled") : t("disabled"));
      li.append(el("span", "muted", what.join(" · ")));
      list.append(li);
    }
  }

  async function loadAlerts() {
    const page = await api("/v1/alerts", { limit: 50 });
    const list = $("alerts");
    list.replaceChildren();
    if (!page.data.length) { list.append(el("li", "empty", t("noAlerts"))); return; }
    for (const a of page.data) {
      const li = el("li", "alert " + a.state);
      const head = el("div", "rule-head");
      head.append(el("span", "state-pill " + a.state, t(a.state)), el("span", "sev " + a.severity, a.severity),
                  el("strong", "", a.rule_name || a.rule_id));
      li.append(head, el("p", "", a.summary));
      const when = [t("firedAt", fmtTime(a.fired_at))];
      if (a.resolved_at) when.push(t("resolvedAt", fmtTime(a.resolved_at)));
      li.append(el("span", "muted", when.join(" · ")));
      if (a.evidence && Object.keys(a.evidence.filters || {}).length) {
        li.append(filterLink(a.evidence.filters, a.evidence.mention_ids.length || undefined, a.evidence.mention_ids));
      }
      list.append(li);
    }
  }

  async function loadAlertsView() {
    showView("alerts");
    showRuleFields();
    await Promise.all([
      loadRules().catch((err) => panelError("rules", err)),
      loadAlerts().catch((err) => panelError("alerts", err)),
      loadQueries().catch(() => null),
    ]);
  }

  // ------------------------------------------------------------------ views

  function showView(name) {
    for (const node of document.querySelectorAll("main.view")) node.hidden = node.id !== "view-" + name;
    for (const tab of document.querySelectorAll("#tabs .tab")) {
      tab.setAttribute("aria-current", tab.dataset.view === name ? "page" : "false");
    }
  }

  function currentView() {
    const h = location.hash.replace(/^#/, "");
    return ["overview", "inbox", "alerts"].includes(h) ? h : "overview";
  }

  async function refresh() {
    if (!apiKey()) {
      for (const node of document.querySelectorAll("main.view")) node.hidden = true;
      $("tabs").hidden = true;
      setLive(false);
      $("live").checked = false;
      showStatus(t("pasteKey"), false);
      return;
    }
    showStatus(t("loading"), false);
    view = currentView();
    try {
      if (view === "overview") await Promise.all([loadOverview(), loadQueries().catch(() => null)]);
      else if (view === "inbox") await loadInbox();
      else await loadAlertsView();
      $("tabs").hidden = false;
      showStatus("", false);
    } catch (err) {
      if (err.status === 401) {
        for (const node of document.querySelectorAll("main.view")) node.hidden = true;
        $("tabs").hidden = true;
      }
      showStatus(t("loadFailed", err.message), true);
    }
  }

  function setLang(next) {
    lang = next;
    sessionStorage.setItem(LANG_KEY, lang);
    applyI18n();
    refresh();
  }

  function init() {
    applyI18n();
    $("api-key").value = apiKey();
    $("key-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(STORAGE_KEY, $("api-key").value.trim());
      refresh();
    });
    $("forget-key").addEventListener("click", () => {
      sessionStorage.removeItem(STORAGE_KEY);
      $("api-key").value = "";
      refresh();
    });
    $("lang-en").addEventListener("click", () => setLang("en"));
    $("lang-id").addEventListener("click", () => setLang("id"));
    for (const tab of document.querySelectorAll("#tabs .tab")) {
      tab.addEventListener("click", () => { location.hash = "#" + tab.dataset.view; });
    }
    window.addEventListener("hashchange", refresh);
    $("range").addEventListener("change", refresh);
    $("query").addEventListener("change", () => { applied = null; appliedEvidence = []; refresh(); });
    $("search-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      loadMentions(false).catch((err) => showStatus(t("searchFailed", err.message), true));
    });
    $("more").addEventListener("click", () => {
      loadMentions(true).catch((err) => showStatus(t("moreFailed", err.message), true));
    });
    $("select-all").addEventListener("change", () => {
      for (const b of document.querySelectorAll("#mentions li input.pick")) b.checked = $("select-all").checked;
      updateSelected();
    });
    $("bulk-apply").addEventListener("click", bulkApply);
    $("live").addEventListener("change", () => setLive($("live").checked));
    $("rule-condition").addEventListener("change", showRuleFields);
    $("rule-form").addEventListener("submit", createRule);
    refresh();
  }

  // A deferred script normally runs before DOMContentLoaded, but do not depend on it.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
