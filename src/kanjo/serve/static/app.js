// kanjo's web page: classify typed or uploaded Japanese texts through the server's own API
// (/v1/classify, /explain when available) and download the results as CSV. No libraries, no
// CDN; every text is inserted as text (textContent), never as HTML.
"use strict";

const JA_LABELS = {
  positive: "ポジティブ", negative: "ネガティブ", neutral: "ニュートラル",
  pos: "ポジティブ", neg: "ネガティブ", neu: "ニュートラル",
};
const state = { info: null, rows: [] };
const $ = (id) => document.getElementById(id);

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = sessionStorage.getItem("kanjo-api-key");
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

async function call(method, path, body) {
  const response = await fetch(path, {
    method, headers: headers(), body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.error || response.statusText);
    error.status = response.status;
    error.type = data.error_type;
    throw error;
  }
  return data;
}

function labelName(label) {
  const ja = JA_LABELS[label.toLowerCase()];
  return ja ? `${ja}（${label}）` : label;
}

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

async function loadInfo() {
  try {
    state.info = await call("GET", "info");
    $("auth").hidden = true;
    const i = state.info;
    $("model-info").textContent =
      `モデル: ${i.model}（${i.backend}）・ラベル: ${i.labels.map(labelName).join("、")}`;
  } catch (error) {
    if (error.status === 401) {
      $("auth").hidden = false;
      $("model-info").textContent = "この サーバーには API キーが必要です。";
    } else {
      status(`サーバーに接続できません: ${error.message}`, true);
    }
  }
}

async function classify(texts) {
  const size = state.info ? state.info.limits.max_texts : 32;
  const rows = [];
  for (let start = 0; start < texts.length; start += size) {
    const part = texts.slice(start, start + size);
    const data = await call("POST", "v1/classify", { texts: part });
    rows.push(...data.predictions);
    if (texts.length > size) status(`判定中… ${rows.length} / ${texts.length} 件`);
  }
  return rows;
}

async function explainRows(rows) {
  if (!state.info || !state.info.explain) return;
  const size = state.info.limits.max_explain_texts;
  for (let start = 0; start < rows.length; start += size) {
    const part = rows.slice(start, start + size);
    const data = await call("POST", "explain", { texts: part.map((r) => r.text) });
    data.explanations.forEach((e, k) => { part[k].explanation = e; });
  }
}

function highlighted(row) {
  const cell = document.createElement("td");
  cell.className = "text";
  const words = row.explanation ? row.explanation.words : null;
  if (!words || !words.length) {
    cell.textContent = row.text;
    return cell;
  }
  const top = Math.max(...words.map((w) => Math.abs(w.score || 0))) || 1;
  let at = 0;
  for (const w of [...words].sort((a, b) => a.start - b.start)) {
    if (w.start < at) continue;
    if (w.start > at) cell.append(row.text.slice(at, w.start));
    const span = document.createElement("span");
    span.className = "word " + ((w.score || 0) >= 0 ? "pos" : "neg");
    span.style.setProperty("--w", (0.12 + 0.6 * Math.abs(w.score || 0) / top).toFixed(2));
    span.title = `${w.word}: ${(w.score || 0).toFixed(3)}`;
    span.textContent = row.text.slice(w.start, w.end);
    cell.append(span);
    at = w.end;
  }
  if (at < row.text.length) cell.append(row.text.slice(at));
  return cell;
}

function bars(row) {
  const cell = document.createElement("td");
  const entries = Object.entries(row.probabilities).sort((a, b) => b[1] - a[1]);
  for (const [label, p] of entries) {
    const line = document.createElement("div");
    line.className = "bar-row" + (label === row.label ? " top" : "");
    const name = document.createElement("span");
    name.textContent = JA_LABELS[label.toLowerCase()] || label;
    name.title = label;
    const bar = document.createElement("div");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    bar.append(fill);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = `${(100 * p).toFixed(1)}%`;
    line.append(name, bar, value);
    cell.append(line);
  }
  return cell;
}

function render(rows, shown = 500) {
  const body = $("results").querySelector("tbody");
  body.replaceChildren();
  rows.slice(0, shown).forEach((row, i) => {
    const tr = document.createElement("tr");
    const n = document.createElement("td");
    n.textContent = String(i + 1);
    const label = document.createElement("td");
    label.className = "label";
    label.textContent = labelName(row.label) + (row.truncated ? " ※切り詰め" : "");
    tr.append(n, highlighted(row), label, bars(row));
    body.append(tr);
  });
  $("count").textContent = rows.length > shown ? `（${rows.length} 件中 ${shown} 件を表示）`
    : `（${rows.length} 件）`;
  $("legend").hidden = !rows.some((r) => r.explanation);
  $("results-section").hidden = false;
}

async function run(texts, withExplanations) {
  if (!texts.length) { status("テキストを入力してください。", true); return; }
  status("判定中…");
  try {
    const rows = await classify(texts);
    if (withExplanations) {
      try { await explainRows(rows); } catch (error) { console.warn(error.message); }
    }
    state.rows = rows;
    render(rows);
    $("download").disabled = false;
    status(`${rows.length} 件を判定しました。`);
  } catch (error) {
    status(`エラー: ${error.message}`, true);
  }
}

// CSV as RFC 4180 writes it: quoted fields, doubled quotes, CRLF or LF rows.
function parseCsv(text, delimiter) {
  const rows = [];
  let row = [], field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) { row.push(field); field = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field); rows.push(row); row = []; field = "";
    } else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

function textsOf(name, content) {
  content = content.replace(/^\uFEFF/, "");
  const lower = name.toLowerCase();
  if (!lower.endsWith(".csv") && !lower.endsWith(".tsv")) {
    return content.split(/\r?\n/).filter((line) => line.trim());
  }
  const rows = parseCsv(content, lower.endsWith(".tsv") ? "\t" : ",");
  if (!rows.length) return [];
  const column = rows[0].map((h) => h.trim().toLowerCase()).indexOf("text");
  const body = column >= 0 ? rows.slice(1) : rows;
  return body.map((r) => r[Math.max(column, 0)] || "").filter((t) => t.trim());
}

function csvField(value) {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function download() {
  const labels = state.info ? state.info.labels : Object.keys(state.rows[0].probabilities);
  const lines = [["text", "label", "score", ...labels.map((l) => `p_${l}`), "truncated"]];
  for (const r of state.rows) {
    lines.push([r.text, r.label, r.score.toFixed(6),
      ...labels.map((l) => r.probabilities[l].toFixed(6)), r.truncated ? "1" : "0"]);
  }
  // a BOM, so that Excel opens the UTF-8 file as UTF-8 and not as Shift_JIS
  const csv = "\uFEFF" + lines.map((l) => l.map(csvField).join(",")).join("\r\n") + "\r\n";
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv;charset=utf-8" }));
  link.download = "kanjo-results.csv";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  $("classify").addEventListener("click", () => {
    const texts = $("texts").value.split(/\r?\n/).map((t) => t.trim()).filter(Boolean);
    run(texts, true);
  });
  $("clear").addEventListener("click", () => { $("texts").value = ""; status(""); });
  $("file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const texts = textsOf(file.name, await file.text());
    run(texts, false);
  });
  $("download").addEventListener("click", download);
  $("save-key").addEventListener("click", () => {
    sessionStorage.setItem("kanjo-api-key", $("api-key").value);
    loadInfo();
  });
  loadInfo();
});
