// PinnerSage profile debugger: a plain script over the JSON API (/v1/...). No framework, no build step, no network
// beyond this server. Every piece of data reaches the page through textContent or attributes, never an HTML parser.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  const SUGGEST_LIMIT = 10;
  const LIST_LIMIT = 50;
  const RANDOM_POOL = 1000;

  const state = {
    user: null,
    interests: null,
    recs: null,
    loadSeq: 0,
    listNext: null,
    randomPool: null,
    suggestions: [],
    suggestActive: -1,
    suggestSeq: 0,
    similarItem: null,
    similarOpener: null,
    similarItems: [],
    knownItems: new Map(), // item id → title, for the action form's completion
  };

  // ---------- DOM helpers ----------

  /** Creates an element; string/number children become text nodes, so data is never parsed as markup. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [key, value] of Object.entries(props)) {
        if (value === undefined || value === null || value === false) continue;
        if (key === "className") node.className = value;
        else if (key === "text") node.textContent = String(value);
        else if (key === "dataset") Object.assign(node.dataset, value);
        else if (key === "style") {
          for (const [prop, v] of Object.entries(value)) {
            if (prop.startsWith("--")) node.style.setProperty(prop, String(v));
            else node.style[prop] = v;
          }
        }
        else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? "" : String(value));
      }
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function show(node, visible) { node.hidden = !visible; }

  // ---------- formatting ----------

  function fmtNumber(x, digits) {
    if (typeof x !== "number" || !Number.isFinite(x)) return String(x ?? "—");
    return x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  }

  function fmtImportance(x) {
    if (typeof x !== "number" || !Number.isFinite(x)) return String(x ?? "—");
    return x >= 100 ? fmtNumber(x, 1) : x >= 1 ? fmtNumber(x, 3) : x.toPrecision(3);
  }

  function fmtTime(value) {
    if (value === null || value === undefined || value === "") return "—";
    const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    if (Number.isNaN(date.getTime())) return String(value);
    return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
  }

  function plural(n, one, many) { return `${n} ${n === 1 ? one : many ?? one + "s"}`; }

  // Cluster colours: evenly spaced hues so each reason in the recommendations matches its cluster card.
  function clusterHue(index) { return (index * 137.508 + 200) % 360; }

  function swatch(index) {
    return el("span", { className: "swatch", "aria-hidden": "true", style: { background: `hsl(${clusterHue(index)} 65% 50%)` } });
  }

  // ---------- API ----------

  class ApiError extends Error {
    constructor(status, title, detail) {
      super(detail ? `${title}: ${detail}` : title);
      this.status = status;
      this.title = title;
      this.detail = detail;
    }
  }

  /** Fetches JSON; a non-2xx answer becomes an ApiError carrying the RFC 7807 problem's title and detail. */
  async function api(path, init) {
    let response;
    try {
      response = await fetch(path, { ...init, headers: { Accept: "application/json", ...(init && init.headers) } });
    } catch (e) {
      throw new ApiError(0, "The server did not answer", e && e.message ? e.message : String(e));
    }
    const type = response.headers.get("content-type") || "";
    let body = null;
    let text = "";
    if (type.includes("json")) {
      try { body = await response.json(); } catch { body = null; }
    } else {
      text = await response.text().catch(() => "");
    }
    if (!response.ok) {
      const title = (body && body.title) || response.statusText || "Request failed";
      let detail = body && typeof body.detail === "string" ? body.detail : "";
      if (body && body.errors && typeof body.errors === "object") {
        const parts = Object.entries(body.errors).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : v}`);
        detail = [detail, ...parts].filter(Boolean).join(" — ");
      }
      if (!detail && text) detail = text.slice(0, 300);
      throw new ApiError(response.status, title, detail);
    }
    return body;
  }

  function showError(container, error) {
    const status = error instanceof ApiError && error.status ? `${error.status} ` : "";
    const title = error instanceof ApiError ? error.title : "Unexpected error";
    const detail = error instanceof ApiError ? error.detail : String(error && error.message ? error.message : error);
    container.replaceChildren(
      el("strong", { className: "error-title", text: `${status}${title}` }),
      detail ? el("span", { className: "error-detail", text: detail }) : null,
    );
    show(container, true);
  }

  function clearError(container) { container.replaceChildren(); show(container, false); }

  const enc = encodeURIComponent;

  // ---------- items ----------

  function itemLabel(item) { return item && item.title ? item.title : null; }

  /** A button naming an item (title and id); activating it opens the item's similar items. */
  function itemButton(item, extraClass) {
    if (!item) return el("span", { text: "—" });
    const title = itemLabel(item);
    rememberItem(item);
    return el("button", {
      type: "button",
      className: "item" + (extraClass ? " " + extraClass : ""),
      dataset: { item: item.item_id },
      title: `Show items similar to ${item.item_id}`,
      onclick: () => openSimilar(item),
    },
      itemImage(item),
      title ? el("span", { className: "item-title", text: title }) : null,
      el("code", { className: "item-id", text: item.item_id }));
  }

  /** The catalogue's picture of an item (the server only passes http(s) and data:image URLs), or nothing. */
  function itemImage(item) {
    return item && item.image_url ? el("img", { className: "item-image", src: item.image_url, alt: "", loading: "lazy" }) : null;
  }

  function rememberItem(item) {
    if (item && item.item_id && !state.knownItems.has(item.item_id)) state.knownItems.set(item.item_id, item.title || "");
  }

  function refreshItemOptions() {
    const options = [];
    const seen = new Set();
    const add = (item) => {
      if (!item || seen.has(item.item_id)) return;
      seen.add(item.item_id);
      options.push(el("option", { value: item.item_id, label: item.title ? `${item.title} (${item.item_id})` : item.item_id }));
    };
    for (const r of state.recs?.items ?? []) add(r);
    for (const s of state.similarItems ?? []) add(s);
    if (state.similarItem) add(state.similarItem);
    $("action-item-options").replaceChildren(...options);
  }

  // ---------- health ----------

  async function loadHealth() {
    const node = $("health");
    try {
      const health = await api("/health");
      const facts = Object.entries(health || {})
        .filter(([k, v]) => k !== "status" && (typeof v === "number" || typeof v === "string" || typeof v === "boolean"))
        .map(([k, v]) => `${k.replace(/_/g, " ")} ${k.endsWith("_now") ? fmtTime(v) : typeof v === "number" ? v.toLocaleString("en-US") : v}`);
      node.textContent = `Server ${health && health.status ? health.status : "up"}` + (facts.length ? ` · ${facts.join(" · ")}` : "");
      node.className = "health ok";
    } catch (e) {
      node.textContent = `Server unavailable: ${e.message}`;
      node.className = "health bad";
    }
  }

  /** Links the workspace's evaluation report when it has one. */
  async function loadWorkspace() {
    try {
      const workspace = await api("/v1/workspace");
      const link = $("report-link");
      if (workspace && workspace.report_url) link.setAttribute("href", workspace.report_url);
      show(link, Boolean(workspace && workspace.report_url));
    } catch {
      show($("report-link"), false);
    }
  }

  // ---------- user list and random user ----------

  function userLink(id) {
    return el("li", null, el("a", { href: `#user=${enc(id)}`, className: "user-link", text: id }));
  }

  async function loadUserList(after) {
    const finderError = $("finder-error");
    try {
      const page = await api(`/v1/users?limit=${LIST_LIMIT}` + (after ? `&after=${enc(after)}` : ""));
      const list = $("user-list");
      if (!after) list.replaceChildren();
      for (const id of page.users ?? []) list.append(userLink(id));
      if (!after && (page.users ?? []).length === 0) list.append(el("li", { className: "hint", text: "No users in the store." }));
      state.listNext = page.next ?? null;
      show($("user-more"), !!state.listNext);
      clearError(finderError);
    } catch (e) {
      showError(finderError, e);
    }
  }

  async function randomUser() {
    const finderError = $("finder-error");
    try {
      if (!state.randomPool) {
        const page = await api(`/v1/users?limit=${RANDOM_POOL}`);
        state.randomPool = page.users ?? [];
      }
      if (state.randomPool.length === 0) throw new ApiError(0, "No users", "The store has no users yet.");
      const id = state.randomPool[Math.floor(Math.random() * state.randomPool.length)];
      clearError(finderError);
      navigateToUser(id);
    } catch (e) {
      showError(finderError, e);
    }
  }

  // ---------- search combobox (prefix completion) ----------

  const userInput = () => $("user-input");
  const suggestionList = () => $("user-suggestions");

  function closeSuggestions() {
    state.suggestions = [];
    state.suggestActive = -1;
    suggestionList().replaceChildren();
    show(suggestionList(), false);
    userInput().setAttribute("aria-expanded", "false");
    userInput().removeAttribute("aria-activedescendant");
  }

  function renderSuggestions() {
    const list = suggestionList();
    list.replaceChildren(...state.suggestions.map((id, i) => el("li", {
      id: `user-option-${i}`,
      role: "option",
      className: "suggestion" + (i === state.suggestActive ? " active" : ""),
      "aria-selected": i === state.suggestActive ? "true" : "false",
      // mousedown, not click: the input's blur would otherwise close the list first.
      onmousedown: (ev) => { ev.preventDefault(); chooseSuggestion(i); },
    }, id)));
    const open = state.suggestions.length > 0;
    show(list, open);
    userInput().setAttribute("aria-expanded", open ? "true" : "false");
    if (state.suggestActive >= 0) userInput().setAttribute("aria-activedescendant", `user-option-${state.suggestActive}`);
    else userInput().removeAttribute("aria-activedescendant");
  }

  function chooseSuggestion(i) {
    const id = state.suggestions[i];
    if (id === undefined) return;
    userInput().value = id;
    closeSuggestions();
    navigateToUser(id);
  }

  let suggestTimer = 0;
  function onUserInput() {
    clearTimeout(suggestTimer);
    const prefix = userInput().value.trim();
    if (!prefix) { closeSuggestions(); return; }
    suggestTimer = setTimeout(() => fetchSuggestions(prefix), 120);
  }

  async function fetchSuggestions(prefix) {
    const seq = ++state.suggestSeq;
    try {
      const page = await api(`/v1/users?limit=${SUGGEST_LIMIT}&prefix=${enc(prefix)}`);
      if (seq !== state.suggestSeq || userInput().value.trim() !== prefix) return; // a newer keystroke won
      state.suggestions = page.users ?? [];
      state.suggestActive = -1;
      renderSuggestions();
      clearError($("finder-error"));
    } catch (e) {
      if (seq === state.suggestSeq) { closeSuggestions(); showError($("finder-error"), e); }
    }
  }

  function onUserKeydown(ev) {
    const n = state.suggestions.length;
    if (ev.key === "ArrowDown" && n) {
      ev.preventDefault();
      state.suggestActive = (state.suggestActive + 1) % n;
      renderSuggestions();
    } else if (ev.key === "ArrowUp" && n) {
      ev.preventDefault();
      state.suggestActive = state.suggestActive <= 0 ? n - 1 : state.suggestActive - 1;
      renderSuggestions();
    } else if (ev.key === "Enter" && state.suggestActive >= 0) {
      ev.preventDefault();
      chooseSuggestion(state.suggestActive);
    } else if (ev.key === "Escape" && n) {
      ev.preventDefault();
      closeSuggestions();
    }
  }

  // ---------- navigation (the open user lives in the URL hash, so reload and back work) ----------

  function hashUser() {
    const params = new URLSearchParams(location.hash.slice(1));
    return params.get("user");
  }

  function navigateToUser(id) {
    const target = `#user=${enc(id)}`;
    if (location.hash === target) openUser(id);
    else location.hash = target; // hashchange opens it
  }

  // ---------- profile ----------

  function recsQuery() {
    const k = $("recs-k").value.trim() || "20";
    const medoids = $("recs-medoids").value.trim() || "3";
    return `k=${enc(k)}&medoids=${enc(medoids)}`;
  }

  async function openUser(id) {
    const seq = ++state.loadSeq;
    state.user = id;
    state.interests = null;
    state.recs = null;
    show($("welcome"), false);
    show($("profile"), true);
    $("profile-user").textContent = id;
    document.title = `${id} — PinnerSage`;
    userInput().value = id;
    for (const c of ["profile-error", "recs-error", "action-error"]) clearError($(c));
    show($("action-result"), false);
    show($("change-summary"), false);
    $("main").setAttribute("aria-busy", "true");

    const [interests, recs] = await Promise.allSettled([
      api(`/v1/users/${enc(id)}/interests`),
      api(`/v1/users/${enc(id)}/recommendations?${recsQuery()}`),
    ]);
    if (seq !== state.loadSeq) return;
    $("main").setAttribute("aria-busy", "false");
    applyInterests(interests, null);
    applyRecs(recs, null, interests);
    refreshItemOptions();
    loadMap(id, seq);
  }

  function applyInterests(result, previous, postedItem) {
    const unknownUser = result.status === "rejected" && result.reason instanceof ApiError && result.reason.status === 404;
    // An unknown user has nothing to show but may be new: keep only the action form, which starts their profile.
    show($("interests-panel"), !unknownUser);
    show($("recs-panel"), !unknownUser);
    show($("map-panel"), !unknownUser);
    show($("profile-new-hint"), unknownUser);
    if (result.status === "fulfilled") {
      state.interests = result.value;
      clearError($("profile-error"));
      renderInterests(result.value, previous, postedItem);
    } else {
      state.interests = null;
      renderInterests(null);
      showError($("profile-error"), result.reason);
    }
  }

  function applyRecs(result, previous, interestsResult) {
    if (result.status === "fulfilled") {
      state.recs = result.value;
      clearError($("recs-error"));
      renderRecs(result.value, previous);
    } else {
      state.recs = null;
      renderRecs(null);
      // The same 404 for interests and recommendations is one problem: say it once, at the top.
      const same = interestsResult && interestsResult.status === "rejected"
        && interestsResult.reason instanceof ApiError && result.reason instanceof ApiError
        && interestsResult.reason.status === result.reason.status;
      if (!same) showError($("recs-error"), result.reason);
    }
  }

  /** True when two importances differ by more than the decay of a few minutes: with a live clock every request sees
   *  slightly decayed importances, which is not a change the user made. */
  function importanceChanged(a, b) {
    if (typeof a !== "number" || typeof b !== "number") return a !== b;
    return Math.abs(a - b) > 1e-4 * Math.max(Math.abs(a), Math.abs(b), 1e-12);
  }

  /** Index of each cluster by medoid id, to match recommendation reasons and diff consecutive snapshots. */
  function clusterIndexByMedoid(interests) {
    const map = new Map();
    (interests?.clusters ?? []).forEach((c, i) => { if (c.medoid) map.set(c.medoid.item_id, i); });
    return map;
  }

  function renderInterests(interests, previous, postedItem) {
    const list = $("clusters");
    if (!interests) {
      list.replaceChildren();
      $("fact-batch-now").textContent = "—";
      $("fact-as-of").textContent = "—";
      $("fact-pending").textContent = "—";
      $("fact-clusters").textContent = "—";
      return;
    }
    const clusters = interests.clusters ?? [];
    $("fact-batch-now").textContent = fmtTime(interests.batch_now);
    $("fact-as-of").textContent = fmtTime(interests.importance_as_of);
    $("fact-pending").textContent = String(interests.pending_events ?? 0);
    $("fact-clusters").textContent = String(clusters.length);
    const prevByMedoid = new Map((previous?.clusters ?? []).filter((c) => c.medoid).map((c) => [c.medoid.item_id, c]));
    const maxImportance = clusters.reduce((m, c) => Math.max(m, c.importance || 0), 0) || 1;

    if (clusters.length === 0) {
      list.replaceChildren(el("li", { className: "empty", text: "No interest clusters: the user has no usable actions in the window." }));
      return;
    }
    list.replaceChildren(...clusters.map((c, i) => {
      const before = previous ? prevByMedoid.get(c.medoid?.item_id) : undefined;
      const badges = [];
      if (previous && !before) badges.push(el("span", { className: "badge new", text: "new" }));
      else if (before && (before.size !== c.size || importanceChanged(before.importance, c.importance))) {
        badges.push(el("span", { className: "badge changed", text: before.size !== c.size ? `size ${before.size} → ${c.size}` : "importance changed" }));
      }
      const members = c.members ?? [];
      const holdsPosted = postedItem && (members.some((m) => m.item_id === postedItem) || c.medoid?.item_id === postedItem);
      if (holdsPosted) badges.push(el("span", { className: "badge posted", text: "holds the posted item" }));
      const share = Math.max(0, Math.min(1, (c.importance || 0) / maxImportance));
      const headingId = `cluster-${i}-title`;
      return el("li", {
        className: "cluster" + (badges.length && previous ? " highlight" : ""),
        style: { "--hue": clusterHue(i) },
        "aria-labelledby": headingId,
        dataset: { medoid: c.medoid?.item_id ?? "", source: c.source ?? "" },
      },
        el("div", { className: "cluster-head" },
          swatch(i),
          el("h4", { id: headingId, className: "cluster-title" },
            el("span", { className: "cluster-rank", text: `#${i + 1}` }), " ",
            el("span", { className: "visually-hidden", text: "medoid " }),
            itemButton(c.medoid, "medoid")),
          el("span", { className: `source source-${(c.source || "batch").replace(/[^a-z]/g, "-")}`, text: c.source || "batch",
                       title: "batch: from the last batch run; online: from actions since; batch+online: both" }),
          ...badges),
        el("div", { className: "cluster-stats" },
          el("span", { className: "stat" }, "importance ",
            el("strong", { className: "importance-value", text: fmtImportance(c.importance) }),
            before && importanceChanged(before.importance, c.importance)
              ? el("span", { className: "delta", text: ` (was ${fmtImportance(before.importance)})` }) : null),
          el("div", {
            className: "bar", role: "img",
            "aria-label": `importance ${fmtImportance(c.importance)}, ${Math.round(share * 100)}% of the top cluster`,
          }, el("div", { className: "bar-fill", style: { width: `${(share * 100).toFixed(1)}%` } })),
          el("span", { className: "stat" }, "size ", el("strong", { className: "size-value", text: String(c.size ?? "—") }),
            ` ${c.size === 1 ? "action" : "actions"}`)),
        members.length
          ? el("div", { className: "members" },
              el("span", { className: "members-label", text: `Recent members, newest first (${members.length}):` }),
              el("ul", { className: "member-list" },
                members.map((m) => el("li", null, itemButton(m, m.item_id === postedItem ? "posted" : null)))))
          : null);
    }));
  }

  // ---------- interest map ----------

  /** An SVG element with attributes (and an optional tooltip title as text), in the map's own namespace. */
  function svgEl(tag, attrs, tooltip) {
    const ns = $("interest-map").namespaceURI;
    const node = document.createElementNS(ns, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    if (tooltip) {
      const t = document.createElementNS(ns, "title");
      t.textContent = tooltip;
      node.append(t);
    }
    return node;
  }

  async function loadMap(user, seq) {
    const svg = $("interest-map");
    try {
      const map = await api(`/v1/users/${enc(user)}/map`);
      if (seq !== state.loadSeq || user !== state.user) return;
      clearError($("map-error"));
      renderMap(map);
    } catch (e) {
      if (seq !== state.loadSeq || user !== state.user) return;
      svg.replaceChildren();
      $("map-caption").textContent = "";
      if (!(e instanceof ApiError && e.status === 404)) showError($("map-error"), e);
    }
  }

  /** Points scaled into the view box with a margin; one scale for both axes, so distances are not distorted. */
  function renderMap(map) {
    const svg = $("interest-map");
    const points = map.points ?? [];
    const [width, height, margin] = [640, 360, 24];
    svg.replaceChildren();
    $("map-caption").textContent = points.length
      ? `${plural(points.length, "item")} in ${plural(map.clusters, "cluster")}.`
      : "No engaged items to place.";
    if (!points.length) return;
    const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
    const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const scale = Math.min((width - 2 * margin) / Math.max(maxX - minX, 1e-9), (height - 2 * margin) / Math.max(maxY - minY, 1e-9));
    const cx = (x) => width / 2 + (x - (minX + maxX) / 2) * scale;
    const cy = (y) => height / 2 - (y - (minY + maxY) / 2) * scale;
    svg.append(svgEl("rect", { x: 0, y: 0, width, height, class: "map-frame" }));
    // Medoids last, so they are drawn on top of their members.
    const ordered = [...points.filter((p) => !p.medoid), ...points.filter((p) => p.medoid)];
    for (const p of ordered) {
      const colour = `hsl(${clusterHue(p.cluster)} 65% 50%)`;
      const label = `${p.title || p.item_id} (${p.item_id}) — cluster #${p.cluster + 1}${p.medoid ? ", medoid" : ""}`;
      svg.append(svgEl("circle", {
        cx: cx(p.x).toFixed(1), cy: cy(p.y).toFixed(1), r: p.medoid ? 9 : 5, fill: colour,
        class: p.medoid ? "map-point map-medoid" : "map-point",
        "data-item": p.item_id, "data-cluster": p.cluster,
      }, label));
    }
  }

  function renderRecs(recs, previous) {
    const body = $("recs-body");
    const used = $("recs-medoids-used");
    if (!recs) { body.replaceChildren(); used.textContent = ""; return; }
    const byMedoid = clusterIndexByMedoid(state.interests);
    const medoids = recs.medoids ?? [];
    used.replaceChildren(
      medoids.length ? `Medoids queried (${medoids.length}): ` : "No medoid could be queried.",
      ...medoids.flatMap((m, i) => [
        i ? ", " : "",
        el("span", { className: "medoid-used" },
          swatch(byMedoid.get(m.item_id) ?? i),
          `${m.title || m.item_id} (importance ${fmtImportance(m.importance)})`),
      ]));
    const items = recs.items ?? [];
    const prevIds = new Set((previous?.items ?? []).map((r) => r.item_id));
    if (items.length === 0) {
      body.replaceChildren(el("tr", null, el("td", { colspan: "4", className: "empty", text: "No recommendations." })));
      return;
    }
    body.replaceChildren(...items.map((r, i) => {
      const reason = r.reason ?? {};
      const clusterIndex = reason.medoid && byMedoid.has(reason.medoid.item_id) ? byMedoid.get(reason.medoid.item_id) : reason.cluster;
      const isNew = previous && !prevIds.has(r.item_id);
      return el("tr", { className: isNew ? "highlight" : null, dataset: { item: r.item_id } },
        el("td", { className: "rank", text: String(i + 1) }),
        el("td", null, itemButton(r), isNew ? el("span", { className: "badge new", text: "new" }) : null),
        el("td", { className: "score", text: fmtNumber(r.score, 3) }),
        el("td", { className: "reason" },
          swatch(clusterIndex ?? 0),
          el("span", { className: "visually-hidden", text: "from medoid " }),
          itemButton(reason.medoid, "medoid"),
          el("span", { className: "reason-cluster",
            text: ` cluster #${(clusterIndex ?? 0) + 1} · importance ${fmtImportance(reason.importance)} · size ${reason.size ?? "—"}` })));
    }));
  }

  async function refreshRecs(ev) {
    if (ev) ev.preventDefault();
    if (!state.user) return;
    const user = state.user;
    try {
      const recs = await api(`/v1/users/${enc(user)}/recommendations?${recsQuery()}`);
      if (user !== state.user) return;
      applyRecs({ status: "fulfilled", value: recs }, null, null);
    } catch (e) {
      if (user !== state.user) return;
      showError($("recs-error"), e);
    }
    refreshItemOptions();
  }

  // ---------- posting an action ----------

  async function postAction(ev) {
    ev.preventDefault();
    if (!state.user) return;
    const user = state.user;
    const itemId = $("action-item").value.trim();
    const action = $("action-type").value.trim();
    const errorBox = $("action-error");
    const result = $("action-result");
    show(result, false);
    if (!itemId) { showError(errorBox, new ApiError(0, "Missing item", "Type or choose an item id.")); $("action-item").focus(); return; }
    if (!action) { showError(errorBox, new ApiError(0, "Missing action", "Type an action type, e.g. click.")); $("action-type").focus(); return; }
    // An empty time field means "now": the server stamps the event; a typed local time is sent as Unix seconds.
    const body = { item_id: itemId, action };
    const timeValue = $("action-time").value;
    if (timeValue) {
      const ms = new Date(timeValue).getTime();
      if (Number.isNaN(ms)) { showError(errorBox, new ApiError(0, "Bad time", "The time is not a valid date.")); return; }
      body.timestamp = Math.floor(ms / 1000);
    }
    const submit = $("action-submit");
    submit.disabled = true;
    try {
      const ack = await sendAction(user, body);
      clearError(errorBox);
      const sequences = ack?.sequences ?? [];
      result.textContent = `Accepted ${plural(ack?.accepted ?? 1, "event")}: ${action} on ${itemId}`
        + (sequences.length ? ` (log sequence ${sequences.join(", ")})` : "") + ". Profile re-fetched below.";
      show(result, true);
      loadHealth(); // the log's last sequence moved
      await reloadAfterAction(user, itemId);
    } catch (e) {
      showError(errorBox, e);
    } finally {
      submit.disabled = false;
    }
  }

  /** POSTs one action; a server started with an API key answers 401, and the key the user then types is kept
   * for this tab only (sessionStorage) and sent as X-Api-Key. */
  async function sendAction(user, body) {
    const send = () => api(`/v1/users/${enc(user)}/actions`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...apiKeyHeader() },
      body: JSON.stringify(body),
    });
    try {
      return await send();
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
      const key = window.prompt("This server needs its API key for writes:");
      if (!key) throw e;
      sessionStorage.setItem("pinnersage-api-key", key.trim());
      return await send();
    }
  }

  function apiKeyHeader() {
    const key = sessionStorage.getItem("pinnersage-api-key");
    return key ? { "X-Api-Key": key } : {};
  }

  /** Re-fetches interests and recommendations and highlights what the action changed. */
  async function reloadAfterAction(user, postedItem) {
    const previousInterests = state.interests;
    const previousRecs = state.recs;
    const seq = ++state.loadSeq;
    const [interests, recs] = await Promise.allSettled([
      api(`/v1/users/${enc(user)}/interests`),
      api(`/v1/users/${enc(user)}/recommendations?${recsQuery()}`),
    ]);
    if (seq !== state.loadSeq || user !== state.user) return;
    applyInterests(interests, previousInterests ?? { clusters: [] }, postedItem);
    applyRecs(recs, previousRecs ?? { items: [] }, interests);
    refreshItemOptions();
    loadMap(user, seq);
    $("change-summary").textContent = describeChange(previousInterests, state.interests, previousRecs, state.recs, postedItem);
    show($("change-summary"), true);
  }

  function describeChange(beforeI, afterI, beforeR, afterR, postedItem) {
    const parts = [];
    if (afterI) {
      const pb = beforeI?.pending_events ?? 0;
      const pa = afterI.pending_events ?? 0;
      parts.push(`Pending events ${pb} → ${pa}.`);
      const before = new Map((beforeI?.clusters ?? []).filter((c) => c.medoid).map((c) => [c.medoid.item_id, c]));
      const after = (afterI.clusters ?? []).filter((c) => c.medoid);
      const afterIds = new Set(after.map((c) => c.medoid.item_id));
      const added = after.filter((c) => !before.has(c.medoid.item_id)).length;
      const changed = after.filter((c) => {
        const b = before.get(c.medoid.item_id);
        return b && (b.size !== c.size || importanceChanged(b.importance, c.importance));
      }).length;
      const gone = [...before.keys()].filter((id) => !afterIds.has(id)).length;
      parts.push(`Clusters: ${added} new, ${changed} changed, ${gone} gone (${before.size} → ${after.length}).`);
      const home = after.find((c) => c.medoid.item_id === postedItem || (c.members ?? []).some((m) => m.item_id === postedItem));
      if (home) parts.push(`The posted item is in the cluster of “${home.medoid.title || home.medoid.item_id}”.`);
      else if (pa <= pb) {
        parts.push("The event was logged, but the online rule did not use it: it is outside the profile's time window, "
          + "its action type is not included, or it is older than the user's most recent pending actions.");
      } else parts.push("The posted item is in no cluster.");
    }
    if (afterR) {
      const beforeIds = new Set((beforeR?.items ?? []).map((r) => r.item_id));
      const fresh = (afterR.items ?? []).filter((r) => !beforeIds.has(r.item_id)).length;
      parts.push(`Recommendations: ${fresh} new of ${(afterR.items ?? []).length}.`);
    }
    return parts.join(" ");
  }

  // ---------- similar items ----------

  async function openSimilar(item, keepFocus) {
    state.similarItem = item;
    if (!keepFocus && document.activeElement instanceof HTMLElement && !$("similar").contains(document.activeElement)) {
      state.similarOpener = document.activeElement;
    }
    const panel = $("similar");
    show(panel, true);
    $("similar-of").replaceChildren("Neighbours of ", el("strong", { text: item.title || item.item_id }), " ",
      el("code", { text: item.item_id }));
    await loadSimilar();
    if (!keepFocus) $("similar-title").focus();
  }

  async function loadSimilar(ev) {
    if (ev) ev.preventDefault();
    const item = state.similarItem;
    if (!item) return;
    const list = $("similar-list");
    const k = $("similar-k").value.trim() || "20";
    try {
      const answer = await api(`/v1/items/${enc(item.item_id)}/similar?k=${enc(k)}`);
      if (state.similarItem !== item) return;
      if (answer.title && !item.title) {
        item.title = answer.title;
        $("similar-of").replaceChildren("Neighbours of ", el("strong", { text: answer.title }), " ", el("code", { text: item.item_id }));
      }
      state.similarItems = answer.items ?? [];
      clearError($("similar-error"));
      list.replaceChildren(...state.similarItems.map((s) => el("li", null,
        el("button", { type: "button", className: "item", dataset: { item: s.item_id }, onclick: () => openSimilar(s, true) },
          itemImage(s),
          s.title ? el("span", { className: "item-title", text: s.title }) : null,
          el("code", { className: "item-id", text: s.item_id })),
        el("span", { className: "score", text: fmtNumber(s.score, 3) }))));
      if (state.similarItems.length === 0) list.append(el("li", { className: "empty", text: "No neighbours." }));
    } catch (e) {
      if (state.similarItem !== item) return;
      state.similarItems = [];
      list.replaceChildren();
      showError($("similar-error"), e);
    }
    refreshItemOptions();
  }

  function closeSimilar() {
    show($("similar"), false);
    state.similarItem = null;
    state.similarItems = [];
    refreshItemOptions();
    if (state.similarOpener && document.contains(state.similarOpener)) state.similarOpener.focus();
    state.similarOpener = null;
  }

  function useSimilarInForm() {
    if (!state.similarItem) return;
    $("action-item").value = state.similarItem.item_id;
    $("action-item").focus();
  }

  // ---------- wiring ----------

  function init() {
    $("user-input").addEventListener("input", onUserInput);
    $("user-input").addEventListener("keydown", onUserKeydown);
    $("user-input").addEventListener("blur", () => setTimeout(closeSuggestions, 100));
    $("user-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const id = $("user-input").value.trim();
      closeSuggestions();
      if (!id) {
        showError($("finder-error"), new ApiError(0, "No user id", "Type a user id or a prefix."));
        return;
      }
      clearError($("finder-error"));
      navigateToUser(id);
    });
    $("user-random").addEventListener("click", randomUser);
    $("user-more").addEventListener("click", () => loadUserList(state.listNext));
    $("recs-form").addEventListener("submit", refreshRecs);
    $("action-form").addEventListener("submit", postAction);
    $("similar-form").addEventListener("submit", loadSimilar);
    $("similar-close").addEventListener("click", closeSimilar);
    $("similar-use").addEventListener("click", useSimilarInForm);
    $("similar-title").setAttribute("tabindex", "-1");
    document.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && !$("similar").hidden && ev.target !== $("user-input")) closeSimilar();
    });
    window.addEventListener("hashchange", () => {
      const id = hashUser();
      if (id) openUser(id);
    });

    loadHealth();
    loadWorkspace();
    loadUserList(null);
    const initial = hashUser();
    if (initial) openUser(initial);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
