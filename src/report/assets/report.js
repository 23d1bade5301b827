// The report page's script: draws every section from the run's data (the JSON in
// #report-data, gathered by src/report/report.cpp) with Chart.js. Nothing is fetched.
// window.reportPlots lists every chart drawn, and window.reportVerdict() says whether each
// one has data points and painted pixels (tests/report/ asks it in headless Chromium).
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("report-data").textContent);
  const S = D.summary || {};
  const plots = [];
  window.reportPlots = plots;

  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, "DejaVu Sans", sans-serif';

  // ---- small helpers -------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c instanceof Node ? c : String(c));
    return e;
  }
  const isNum = (v) => typeof v === "number" && isFinite(v);
  function fmt(v, digits) {
    if (v === null || v === undefined || v === "") return "";
    if (typeof v === "number") {
      if (!isFinite(v)) return String(v);
      if (Number.isInteger(v)) return String(v);
      const a = Math.abs(v);
      return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : v.toFixed(digits === undefined ? 4 : digits);
    }
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }
  function note(text) { return el("p", { class: "note", text: text }); }
  // A table from a header and rows of cells (numbers right-aligned).
  function table(header, rows, cls) {
    const t = el("table", cls ? { class: cls } : {});
    const hr = el("tr");
    for (const h of header) hr.append(el("th", { text: h }));
    t.append(el("thead", {}, hr));
    const body = el("tbody");
    for (const r of rows) {
      const tr = el("tr");
      for (const c of r) {
        if (c instanceof Node) tr.append(el("td", {}, c));
        else tr.append(el("td", isNum(c) ? { class: "num", text: fmt(c) } : { text: fmt(c) }));
      }
      body.append(tr);
    }
    t.append(body);
    return t;
  }
  function collapsible(summary, content, open) {
    const d = el("details", open ? { open: "" } : {}, el("summary", { text: summary }), content);
    return d;
  }
  // Stable colours: one per family (or class), in order of first appearance.
  const palette = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#1b7c83", "#bf3989", "#6e7781",
    "#953800", "#116329", "#0550ae", "#a40e26"];
  const colourOf = {};
  function colour(key) {
    if (!(key in colourOf)) colourOf[key] = palette[Object.keys(colourOf).length % palette.length];
    return colourOf[key];
  }
  function plotBox(id, tall) {
    const box = el("div", { class: tall ? "plot tall" : "plot" });
    box.append(el("canvas", { id: id, role: "img", "aria-label": id }));
    return box;
  }
  // Draws a chart into the canvas `id` (already in the page) and records it.
  function plot(id, config) {
    const chart = new Chart($(id), config);
    plots.push({ id: id, chart: chart });
    return chart;
  }
  const metric = S.metric || (D.card && D.card.metric) || "score";
  const higher = S.higher_is_better !== false;

  // ---- header and overview -------------------------------------------------------
  function overview() {
    const card = D.card || {};
    $("subtitle").textContent = [S.run_id && "run " + S.run_id, card.task && card.task + " task",
      card.modality && card.modality + " data", S.planner && "planner " + S.planner].filter(Boolean).join(" · ");
    const tiles = [
      ["validation " + metric, fmt(S.validation_score)],
      ["test " + metric, S.test_score !== undefined ? fmt(S.test_score) : "no test file"],
      ["model kept", (S.model && S.model.family) || ""],
      ["trials", fmt(S.n_trials)],
      ["seconds used / budget", fmt(S.seconds, 1) + " / " + fmt(S.budget_s, 0)],
      ["rank correlation, predicted vs real", isNum(D.scatter.spearman) ? fmt(D.scatter.spearman, 3) : "n/a"],
    ];
    for (const [k, v] of tiles) $("tiles").append(el("div", { class: "tile" }, el("b", { text: v }), el("span", { text: k })));
    if (S.validation_score_note) $("overview-notes").append(note("Validation score: " + S.validation_score_note + "."));
    if (S.model && S.model.trained_as) $("overview-notes").append(note("The saved model: " + S.model.trained_as + "."));
  }

  // ---- Data Card -------------------------------------------------------------------
  function dataCard() {
    const c = D.card, box = $("card-body");
    if (!c) { box.append(note("The run folder has no data_card.json.")); return; }
    const facts = [["dataset", c.name], ["target", c.target], ["task", c.task], ["metric", c.metric],
      ["modality", c.modality], ["positive class", c.positive_class],
      ["rows", c.meta_features && c.meta_features.n_rows], ["features", c.meta_features && c.meta_features.n_features]]
      .filter((r) => r[1] !== undefined && r[1] !== null && r[1] !== "");
    box.append(table(["field", "value"], facts));
    if (c.description) box.append(note(c.description));
    for (const n of c.notes || []) box.append(note("Note: " + n));
    const grid = el("div", { class: "grid" });
    box.append(grid);
    if (Array.isArray(c.label_space) && c.label_space.length) {
      grid.append(el("div", {}, el("h3", { text: "Classes in the training rows" }), plotBox("plot-classes")));
      plot("plot-classes", {
        type: "bar",
        data: { labels: c.label_space.map((l) => l.class), datasets: [{ label: "rows", data: c.label_space.map((l) => l.count), backgroundColor: "#0969da" }] },
        options: { plugins: { legend: { display: false } }, scales: { y: { title: { display: true, text: "rows" } } } },
      });
    }
    if (c.meta_features) {
      grid.append(el("div", {}, el("h3", { text: "Meta-features" }),
        table(["meta-feature", "value"], Object.entries(c.meta_features))));
    }
    const cols = c.columns || [];
    if (cols.length) {
      const keys = ["name", "type", "missing_share", "cardinality", "mean", "std", "min", "max", "open_choice"];
      const t = table(keys, cols.map((col) => keys.map((k) => col[k])), "sortable");
      makeSortable(t);
      box.append(collapsible("Columns (" + cols.length + ")", el("div", { class: "scroll" }, t), cols.length <= 30));
    }
  }

  // ---- Plan --------------------------------------------------------------------------
  function planSection() {
    const p = D.plan, box = $("plan-body");
    if (!p) { box.append(note("The run folder has no plan.json.")); return; }
    box.append(note("Planner: " + (p.planner || S.planner || "") + ". " +
      (p.search ? "Search: " + (p.search.after_proposals || "") + "; validation " + (p.search.validation || "") + "." : "")));
    if (p.llm) {
      box.append(note("The LLM " + (p.llm.model || "") + " at " + (p.llm.base_url || "") +
        " answered the stages below; an answer that failed the checks was repaired once, else the built-in planner's answer stood in."));
      const stages = (p.llm.stages || []).map((s) => [s.stage, el("span", { class: "pill " + s.outcome, text: s.outcome }),
        (s.errors || []).join("; ")]);
      if (stages.length) box.append(table(["stage", "outcome", "what was wrong"], stages));
    }
    if (p.requirements && p.requirements.text) box.append(note("Requirements: " + p.requirements.text));
    if (p.model_assignment) {
      box.append(el("h3", { text: "Model assignment: the families chosen, and why" }));
      box.append(table(["family", "reason"], p.model_assignment.map((a) => [a.family, a.reason])));
    }
    if (p.hyperparameter_proposals) {
      box.append(el("h3", { text: "First proposals" }));
      box.append(el("div", { class: "scroll" }, table(["#", "family", "settings", "why"],
        p.hyperparameter_proposals.map((h, i) => [i, h.family, el("code", { text: JSON.stringify(h.hyperparameters || {}) }), h.why]))));
    }
    if (p.preprocessing) {
      const rows = [];
      for (const [fam, steps] of Object.entries(p.preprocessing))
        for (const s of steps) rows.push([fam, s.op, (s.columns || []).join(", ")]);
      box.append(collapsible("Data processing design (" + rows.length + " steps)",
        el("div", { class: "scroll" }, table(["family", "step", "columns"], rows)), false));
    }
    if (p.open_choices && p.open_choices.length)
      box.append(collapsible("Open choices the trials try both ways (" + p.open_choices.length + ")",
        table(["column", "kind", "why"], p.open_choices.map((o) => [o.column, o.kind, o.why])), false));
    if (p.knowledge && p.knowledge.nearest && p.knowledge.nearest.length) {
      box.append(el("h3", { text: "Nearest known datasets (knowledge base of " + fmt(p.knowledge.datasets) + " datasets)" }));
      box.append(table(["dataset", "distance", "why"], p.knowledge.nearest.map((n) => [n.dataset, n.distance, (n.why || []).join("; ")])));
    }
    if (p.refinements && p.refinements.length) {
      box.append(collapsible("Refinements from the real logs (" + p.refinements.length + ")",
        table(["after trials", "proposals"], p.refinements.map((r) => [r.after_trials,
          el("code", { text: (r.proposals || []).map((x) => x.family + " " + JSON.stringify(x.hyperparameters || {}) + (x.why ? " (" + x.why + ")" : "")).join("\n") || "none" })])), false));
    }
  }

  // ---- Leaderboard ------------------------------------------------------------------------
  function makeSortable(t) {
    const ths = t.querySelectorAll("th");
    ths.forEach((th, col) => th.addEventListener("click", () => {
      const asc = !th.classList.contains("asc");
      ths.forEach((h) => h.classList.remove("asc", "desc"));
      th.classList.add(asc ? "asc" : "desc");
      const body = t.tBodies[0];
      const rows = Array.from(body.rows);
      const key = (r) => r.cells[col] ? r.cells[col].textContent : "";
      const numeric = rows.every((r) => key(r) === "" || isFinite(Number(key(r))));
      rows.sort((a, b) => {
        let x = key(a), y = key(b);
        if (numeric) {
          if (x === "" || y === "") return (x === "") - (y === "");  // blanks last
          x = Number(x); y = Number(y);
        }
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      for (const r of rows) body.append(r);
    }));
  }
  function leaderboardSection() {
    const lb = D.leaderboard, box = $("leaderboard-body");
    if (!lb || !lb.rows.length) { box.append(note("No trials were recorded.")); return; }
    const t = table(lb.columns, lb.rows.map((r) => r.map((c) => c !== "" && isFinite(Number(c)) ? Number(c) : c)), "sortable");
    t.id = "leaderboard-table";
    lb.columns.forEach((c, i) => {
      if (c !== "hyperparameters" && c !== "reason") return;
      for (const r of t.tBodies[0].rows) r.cells[i].classList.add("wrap");
    });
    makeSortable(t);
    box.append(t);
  }
  // The leaderboard's rows as objects by column name.
  function trials() {
    const lb = D.leaderboard || { columns: [], rows: [] };
    return lb.rows.map((r) => {
      const o = {};
      lb.columns.forEach((c, i) => { o[c] = r[i]; });
      return o;
    });
  }

  // ---- Predicted against real logs ----------------------------------------------------------
  function logsSection() {
    const box = $("logs-body");
    const sc = D.scatter;
    box.append(note("Before each trial trained, the planner predicted its final " + metric + " and, for models that train in rounds or epochs, " +
      "its curve. Here are the predictions next to what training produced."));
    const grid = el("div", { class: "grid" });
    box.append(grid);
    if (sc.points.length) {
      const title = "Predicted against real final " + metric + " (" + sc.n + " trials" +
        (isNum(sc.spearman) ? ", Spearman rank correlation " + fmt(sc.spearman, 3) : "") + ")";
      grid.append(el("div", {}, el("h3", { id: "scatter-title", text: title }), plotBox("plot-pred-scatter")));
      const fams = [...new Set(sc.points.map((p) => p.family))];
      const all = sc.points.flatMap((p) => [p.predicted, p.real]);
      const lo = Math.min(...all), hi = Math.max(...all);
      const datasets = fams.map((f) => ({
        label: f, backgroundColor: colour(f), borderColor: colour(f), pointRadius: 4,
        data: sc.points.filter((p) => p.family === f).map((p) => ({ x: p.predicted, y: p.real, trial: p.trial })),
      }));
      datasets.push({ label: "predicted = real", type: "line", data: [{ x: lo, y: lo }, { x: hi, y: hi }],
        borderColor: "#8c959f", borderDash: [4, 4], pointRadius: 0, borderWidth: 1 });
      plot("plot-pred-scatter", {
        type: "scatter", data: { datasets: datasets },
        options: {
          scales: { x: { title: { display: true, text: "predicted " + metric } }, y: { title: { display: true, text: "real " + metric } } },
          plugins: { tooltip: { callbacks: { label: (c) => "trial " + c.raw.trial + ": predicted " + fmt(c.raw.x) + ", real " + fmt(c.raw.y) } } },
        },
      });
    } else {
      grid.append(note("No trial has both a predicted and a real final score."));
    }
    // One trial's curves at a time, chosen from those that train in rounds or epochs.
    const curved = D.curves.filter((c) => (c.real && c.real.x.length > 1) || (c.predicted && c.predicted.x.length > 1));
    const flat = D.curves.length - curved.length;
    if (!curved.length) {
      grid.append(note("No trial trained in rounds or epochs, so there are no curves: the final scores are compared in the scatter."));
      return;
    }
    const pick = el("select", { id: "curve-trial" });
    const best = S.best_single_model && S.best_single_model.trial_id !== undefined ? S.best_single_model.trial_id : (S.model || {}).trial_id;
    let chosen = curved[0].trial;
    for (const c of curved) {
      pick.append(el("option", { value: c.trial, text: "trial " + c.trial + " " + c.family + (isNum(c.real_final) ? " (" + metric + " " + fmt(c.real_final) + ")" : "") }));
      if (c.trial === best) chosen = c.trial;
    }
    pick.value = chosen;
    grid.append(el("div", {}, el("h3", { text: "One trial's curves: predicted and real, per round or epoch" }),
      el("div", {}, "Trial ", pick), plotBox("plot-curves")));
    const curveData = (c) => {
      const real = c.real ? c.real.x.map((x, i) => ({ x: x, y: c.real.y[i] })).filter((p) => p.y !== null) : [];
      const pred = c.predicted ? c.predicted.x.map((x, i) => ({ x: x, y: c.predicted.y[i] })).filter((p) => p.y !== null) : [];
      return [
        { label: "real (validation " + (c.real && c.real.metric ? c.real.metric + ", " : "") + "mean of " + ((c.real && c.real.folds) || 0) + " folds; a fold that stopped holds its last value)",
          data: real, borderColor: "#0969da", backgroundColor: "#0969da", pointRadius: real.length > 40 ? 0 : 2, borderWidth: 2 },
        { label: "predicted by the planner", data: pred, borderColor: "#cf222e", backgroundColor: "#cf222e", borderDash: [6, 4], pointRadius: 4, borderWidth: 2 },
      ];
    };
    const find = (id) => curved.find((c) => String(c.trial) === String(id));
    const chart = plot("plot-curves", {
      type: "line", data: { datasets: curveData(find(chosen)) },
      options: { parsing: true, scales: { x: { type: "linear", title: { display: true, text: "round / epoch" } }, y: { title: { display: true, text: metric } } } },
    });
    pick.addEventListener("change", () => { chart.data.datasets = curveData(find(pick.value)); chart.update(); });
    if (flat) box.append(note(flat + " trials of models without rounds or epochs have no curve; their final scores are in the scatter."));
    const predictedBasis = D.curves.map((c) => c.basis).filter(Boolean);
    if (predictedBasis.length) box.append(note("Prediction basis of the last trial: " + predictedBasis[predictedBasis.length - 1] + "."));
  }

  // ---- The search over time ---------------------------------------------------------------------
  function searchSection() {
    const box = $("search-body");
    const rows = trials().filter((t) => t.trial_id !== "");
    const grid = el("div", { class: "grid" });
    box.append(grid);
    if (rows.length) {
      // Trials in the order they ended: at ended_s when the leaderboard has it, else one
      // after another by their own seconds.
      const hasEnd = rows.some((t) => t.ended_s !== undefined && t.ended_s !== "");
      let clock = 0;
      const pts = rows.map((t) => {
        clock += Number(t.seconds) || 0;
        return { t: t, x: hasEnd ? Number(t.ended_s) : clock, y: t.validation_score === "" ? null : Number(t.validation_score) };
      }).filter((p) => isFinite(p.x));
      pts.sort((a, b) => a.x - b.x);
      let best = null;
      const bestLine = [];
      for (const p of pts) {
        if (p.y === null || !isFinite(p.y)) continue;
        if (best === null || (higher ? p.y > best : p.y < best)) best = p.y;
        bestLine.push({ x: p.x, y: best });
      }
      const statuses = [...new Set(pts.map((p) => p.t.status))];
      if (!bestLine.length) grid.append(note("No trial scored on the validation folds (the budget ran out before a fold finished), so there is no best score to follow."));
      const datasets = [{ label: "best so far", data: bestLine, type: "line", stepped: "before", borderColor: "#1f2328", pointRadius: 0, borderWidth: 2 }];
      for (const s of statuses)
        datasets.push({ label: s, data: pts.filter((p) => p.t.status === s && p.y !== null && isFinite(p.y)).map((p) => ({ x: p.x, y: p.y, id: p.t.trial_id, family: p.t.family })),
          backgroundColor: colour("status:" + s), pointRadius: 3 });
      if (bestLine.length) grid.append(el("div", {}, el("h3", { text: "Best " + metric + " against seconds" }), plotBox("plot-best")));
      if (bestLine.length) plot("plot-best", {
        type: "scatter", data: { datasets: datasets },
        options: {
          scales: { x: { title: { display: true, text: hasEnd ? "seconds since the run started" : "seconds (trials one after another)" } }, y: { title: { display: true, text: "validation " + metric } } },
          plugins: { tooltip: { callbacks: { label: (c) => c.raw.id !== undefined ? "trial " + c.raw.id + " " + c.raw.family + ": " + fmt(c.raw.y) : "best " + fmt(c.raw.y) } } },
        },
      });
      // Trials by family and status.
      const fams = [...new Set(rows.map((t) => t.family))];
      grid.append(el("div", {}, el("h3", { text: "Trials by family and status" }), plotBox("plot-families")));
      plot("plot-families", {
        type: "bar",
        data: { labels: fams, datasets: statuses.map((s) => ({ label: s, backgroundColor: colour("status:" + s),
          data: fams.map((f) => rows.filter((t) => t.family === f && t.status === s).length) })) },
        options: { scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "trials" } } } },
      });
    } else {
      grid.append(note("No trials were recorded."));
    }
    // Where the budget went.
    const time = S.time || {};
    const parts = Object.entries(time).filter(([k, v]) => isNum(v) && k !== "ensemble_at_first_deadline");
    if (parts.length) {
      grid.append(el("div", {}, el("h3", { text: "Where the budget went (" + fmt(S.seconds, 1) + " s of " + fmt(S.budget_s, 0) + " s)" }), plotBox("plot-time")));
      plot("plot-time", {
        type: "bar",
        data: { labels: parts.map((p) => p[0].replace(/_/g, " ")), datasets: [{ label: "seconds", data: parts.map((p) => p[1]), backgroundColor: "#8250df" }] },
        options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { title: { display: true, text: "seconds" } } } },
      });
    }
  }

  // ---- The test set -------------------------------------------------------------------------------
  function testSection() {
    const box = $("test-body"), T = D.test;
    if (S.test_scores) box.append(table(["metric", "test score"], Object.entries(S.test_scores)));
    if (!T) {
      box.append(note(S.test_predictions ? "The run folder has test predictions but no test labels (test_labels.csv), so there are no test plots."
        : "No test file was given (run with --test FILE to score the model on held-out rows)."));
      return;
    }
    const grid = el("div", { class: "grid" });
    box.append(grid);
    if (T.kind === "regression") {
      box.insertBefore(note(T.rows + " test rows" + (T.actual.length < T.rows ? " (" + T.actual.length + " drawn)" : "") + "."), grid);
      const pts = T.actual.map((a, i) => ({ x: a, y: T.predicted[i] }));
      const lo = Math.min(...T.actual, ...T.predicted), hi = Math.max(...T.actual, ...T.predicted);
      grid.append(el("div", {}, el("h3", { text: "Predicted against actual" }), plotBox("plot-pred-actual")));
      plot("plot-pred-actual", {
        type: "scatter",
        data: { datasets: [{ label: "test rows", data: pts, backgroundColor: "rgba(9,105,218,0.6)", pointRadius: 3 },
          { label: "predicted = actual", type: "line", data: [{ x: lo, y: lo }, { x: hi, y: hi }], borderColor: "#8c959f", borderDash: [4, 4], pointRadius: 0, borderWidth: 1 }] },
        options: { scales: { x: { title: { display: true, text: "actual" } }, y: { title: { display: true, text: "predicted" } } } },
      });
      grid.append(el("div", {}, el("h3", { text: "Residuals (actual minus predicted) against predicted" }), plotBox("plot-residuals")));
      plot("plot-residuals", {
        type: "scatter",
        data: { datasets: [{ label: "residual", data: T.actual.map((a, i) => ({ x: T.predicted[i], y: a - T.predicted[i] })), backgroundColor: "rgba(207,34,46,0.6)", pointRadius: 3 }] },
        options: { scales: { x: { title: { display: true, text: "predicted" } }, y: { title: { display: true, text: "residual" } } } },
      });
      return;
    }
    box.insertBefore(note(T.rows + " test rows with a known class" + (T.unscored_rows ? "; " + T.unscored_rows + " rows of a class the training rows never showed are left out" : "") + "."), grid);
    // Confusion matrix: counts, shaded by the share of the true class's rows.
    const k = T.classes.length;
    const cm = el("table", { class: "confusion", id: "confusion-matrix" });
    const head = el("tr", {}, el("th", { text: "true \\ predicted" }));
    for (const c of T.classes) head.append(el("th", { text: c }));
    cm.append(head);
    T.confusion.forEach((row, i) => {
      const total = row.reduce((a, b) => a + b, 0) || 1;
      const tr = el("tr", {}, el("th", { text: T.classes[i] }));
      row.forEach((n, j) => {
        const share = n / total;
        const td = el("td", { class: "cell", text: String(n), title: (100 * share).toFixed(1) + "% of true " + T.classes[i] });
        td.style.background = (i === j ? "rgba(26,127,55," : "rgba(207,34,46,") + (0.08 + 0.7 * share).toFixed(3) + ")";
        tr.append(td);
      });
      cm.append(tr);
    });
    grid.append(el("div", {}, el("h3", { text: "Confusion matrix (" + k + " classes)" }), el("div", { class: "scroll" }, cm)));
    const one = T.curves.length === 1;
    const rocSets = T.curves.map((c) => ({
      label: (one ? "" : c.class + " vs rest ") + "AUC " + fmt(c.auc, 3), data: c.roc.fpr.map((x, i) => ({ x: x, y: c.roc.tpr[i] })),
      borderColor: colour("class:" + c.class), backgroundColor: colour("class:" + c.class), pointRadius: 0, borderWidth: 2, showLine: true,
    }));
    rocSets.push({ label: "chance", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], borderColor: "#8c959f", borderDash: [4, 4], pointRadius: 0, borderWidth: 1, showLine: true });
    grid.append(el("div", {}, el("h3", { text: "ROC curve" + (one ? " (positive class " + T.curves[0].class + ")" : "s, one class against the rest") }), plotBox("plot-roc")));
    plot("plot-roc", { type: "scatter", data: { datasets: rocSets },
      options: { scales: { x: { min: 0, max: 1, title: { display: true, text: "false positive rate" } }, y: { min: 0, max: 1, title: { display: true, text: "true positive rate" } } } } });
    const prSets = T.curves.map((c) => ({
      label: (one ? "" : c.class + " ") + "AP " + fmt(c.average_precision, 3), data: c.pr.recall.map((x, i) => ({ x: x, y: c.pr.precision[i] })),
      borderColor: colour("class:" + c.class), backgroundColor: colour("class:" + c.class), pointRadius: 0, borderWidth: 2, showLine: true,
    }));
    grid.append(el("div", {}, el("h3", { text: "Precision against recall" }), plotBox("plot-pr")));
    plot("plot-pr", { type: "scatter", data: { datasets: prSets },
      options: { scales: { x: { min: 0, max: 1, title: { display: true, text: "recall" } }, y: { min: 0, max: 1, title: { display: true, text: "precision" } } } } });
  }

  // ---- Feature importance ------------------------------------------------------------------------
  function importanceSection() {
    const box = $("importance-body"), I = D.importance;
    if (!I || !I.length) {
      box.append(note("Feature importance: not computed (the run folder has no feature_importance.csv)."));
      return;
    }
    box.append(note("Permutation importance on the validation folds: how much the " + metric +
      " drops when a feature's values are shuffled (mean and spread over repeats)" +
      (I.some((r) => isNum(r.gain)) ? "; gain" : "") + (I.some((r) => isNum(r.shap_abs_mean)) ? "; mean absolute SHAP value" : "") + "."));
    const top = I.slice(0, 25);
    const grid = el("div", { class: "grid" });
    box.append(grid);
    const measures = [["importance_mean", "permutation importance", "#0969da"], ["gain", "gain", "#1a7f37"], ["shap_abs_mean", "mean |SHAP|", "#8250df"]];
    for (const [key, label, col] of measures) {
      if (!top.some((r) => isNum(r[key]))) continue;
      const id = "plot-importance-" + key;
      grid.append(el("div", {}, el("h3", { text: label + (I.length > top.length ? " (top " + top.length + " of " + I.length + ")" : "") }), plotBox(id, true)));
      plot(id, {
        type: "bar",
        data: { labels: top.map((r) => r.feature), datasets: [{ label: label, data: top.map((r) => isNum(r[key]) ? r[key] : 0), backgroundColor: col }] },
        options: { indexAxis: "y", plugins: { legend: { display: false },
          tooltip: { callbacks: { afterLabel: (c) => key === "importance_mean" && isNum(top[c.dataIndex].importance_std) ? "spread " + fmt(top[c.dataIndex].importance_std) : "" } } } },
      });
    }
    box.append(collapsible("All " + I.length + " features", el("div", { class: "scroll" },
      table(["feature", "permutation mean", "spread", "gain", "mean |SHAP|"], I.map((r) => [r.feature, r.importance_mean, r.importance_std, r.gain, r.shap_abs_mean]))), false));
  }

  // ---- Ensemble -------------------------------------------------------------------------------------
  function ensembleSection() {
    const box = $("ensemble-body"), E = S.ensemble;
    if (!E) { box.append(note("No ensembles were built (--no-ensemble).")); return; }
    box.append(note(E.rule ? "Rule: " + E.rule + "." : ""));
    const candidates = [["selection", "greedy ensemble selection"], ["stacking", "stacking"]].filter(([k]) => E[k]);
    box.append(table(["kind", "honest " + metric, "fit " + metric, "members", "note"],
      candidates.map(([k, name]) => [name, E[k].honest_score, E[k].fit_score, (E[k].members || []).length, E[k].note || ""])));
    box.append(note("Best single trial " + fmt(E.best_single_trial) + ": honest " + metric + " " + fmt(E.best_single_honest_score) + "." +
      (E.used ? " The saved model is the " + E.kept + (E.refit ? " (" + E.refit + ")" : "") + "." : " The saved model is the best single model.")));
    const kept = E.used ? E[E.kept === "stacking" ? "stacking" : "selection"] : null;
    if (kept && kept.members && kept.members.length) {
      const labels = kept.members.map((m) => "trial " + m.trial + " " + m.family);
      box.append(el("h3", { text: "Members of the saved " + E.kept + " and their weights" }));
      box.append(plotBox("plot-ensemble"));
      plot("plot-ensemble", {
        type: "bar",
        data: { labels: labels, datasets: [{ label: "weight", data: kept.members.map((m) => m.weight), backgroundColor: kept.members.map((m) => colour(m.family)) }] },
        options: { plugins: { legend: { display: false } }, scales: { y: { title: { display: true, text: "weight" } } } },
      });
    }
  }

  // ---- LLM ------------------------------------------------------------------------------------------
  function llmSection() {
    const box = $("llm-body"), calls = D.llm_calls || [];
    const stages = (D.plan && D.plan.llm && D.plan.llm.stages) || [];
    if (!calls.length && !stages.length) {
      box.append(note("No LLM was used: the built-in planner answered every stage offline (run with --llm to let an LLM plan)."));
      return;
    }
    const use = S.llm || {};
    box.append(note(fmt(use.calls || 0) + " calls, " + fmt(use.cached || 0) + " answered from the cache, " + fmt(use.failed || 0) +
      " failed; " + fmt(use.prompt_tokens || 0) + " prompt and " + fmt(use.completion_tokens || 0) + " completion tokens."));
    if (stages.length) {
      const counts = {};
      for (const s of stages) counts[s.outcome] = (counts[s.outcome] || 0) + 1;
      box.append(note("Stages: " + Object.entries(counts).map(([k, v]) => v + " " + k).join(", ") + "."));
    }
    if (calls.length) {
      box.append(table(["#", "stage", "model", "cached", "prompt tokens", "completion tokens", "seconds", "error"],
        calls.map((c, i) => [i + 1, c.stage, c.model, c.cached ? "yes" : "no", c.prompt_tokens, c.completion_tokens, c.seconds, c.error || ""])));
      box.append(plotBox("plot-llm-tokens"));
      plot("plot-llm-tokens", {
        type: "bar",
        data: { labels: calls.map((c, i) => (i + 1) + " " + c.stage),
          datasets: [{ label: "prompt tokens", data: calls.map((c) => c.prompt_tokens || 0), backgroundColor: "#0969da" },
            { label: "completion tokens", data: calls.map((c) => c.completion_tokens || 0), backgroundColor: "#bc4c00" }] },
        options: { scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "tokens" } } } },
      });
    }
  }

  // Whether every chart has data points and painted pixels: what a test in a browser asks.
  window.reportVerdict = function () {
    const out = { plots: [], sections: [] };
    for (const p of plots) {
      const points = p.chart.data.datasets.reduce((n, d) => n + (d.data || []).filter((v) => v !== null && v !== undefined).length, 0);
      const c = p.chart.canvas;
      let painted = 0;
      if (c.width && c.height) {
        const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < px.length; i += 4 * 7) if (px[i] !== 0) painted++;
      }
      out.plots.push({ id: p.id, points: points, painted: painted, width: c.width, height: c.height });
    }
    for (const s of document.querySelectorAll("main section")) out.sections.push({ id: s.id, text: s.textContent.length });
    return out;
  };

  const steps = [overview, dataCard, planSection, leaderboardSection, logsSection, searchSection, testSection, importanceSection, ensembleSection, llmSection];
  for (const step of steps) {
    try {
      step();
    } catch (e) {  // one broken section leaves the others drawn, and says so
      console.error("report section " + step.name + ": " + e);
    }
  }
  document.body.setAttribute("data-report-ready", "1");
})();
