// brushwork studio: plain JS over the HTTP API (no build step).
"use strict";

const $ = (id) => document.getElementById(id);
// a token given in the page address (?token=...) goes with every request
const TOKEN = new URLSearchParams(location.search).get("token");
const withToken = (url) => (TOKEN ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN) : url);
const headers = () => (TOKEN ? { Authorization: "Bearer " + TOKEN } : {});

async function api(url, options = {}) {
  const res = await fetch(url, { ...options, headers: { ...headers(), ...(options.headers || {}) } });
  if (!res.ok) {
    let msg = res.status + " " + res.statusText;
    try { const body = await res.json(); msg = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail); } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return res;
}

const fmtTime = (s) => (s == null ? "" : s < 90 ? Math.round(s) + " s" : Math.round(s / 60) + " min");
const isImage = (f) => /\.(png|jpe?g|webp|tiff?|bmp|gif|avif|heic|heif)$/i.test(f.name);

// ---- 1. learn ------------------------------------------------------------------------
let styleFiles = [];

function setStyleFiles(list) {
  styleFiles = Array.from(list).filter(isImage);
  $("style-count").textContent = styleFiles.length ? styleFiles.length + " image(s) ready" : "";
  if (styleFiles.length) showPreview();
}

// where training will start (the set-level colour transport with its vignette, screen and
// grain) on two photos, in seconds; the sample grids refine it while training runs
let previewRequest = 0;
async function showPreview() {
  const mine = ++previewRequest;
  const form = new FormData();
  for (const f of styleFiles.slice(0, 8)) form.append("files", f, f.name);
  for (const f of Array.from($("content-files").files).filter(isImage).slice(0, 8)) form.append("content", f, f.name);
  $("preview-status").textContent = "Measuring the look…";
  try {
    const blob = await (await api("/api/preview", { method: "POST", body: form })).blob();
    if (mine !== previewRequest) return;
    $("preview").src = URL.createObjectURL(blob);
    $("preview").hidden = false;
    $("preview-status").textContent = "Where training starts (photo left, the look's classical start right):";
  } catch (err) {
    if (mine === previewRequest) $("preview-status").textContent = "No preview: " + err.message;
  }
}

$("style-files").addEventListener("change", (e) => setStyleFiles(e.target.files));

async function filesFromEntry(entry, out) {
  if (entry.isFile) {
    out.push(await new Promise((ok, bad) => entry.file(ok, bad)));
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    let batch;
    do {
      batch = await new Promise((ok, bad) => reader.readEntries(ok, bad));
      for (const e of batch) await filesFromEntry(e, out);
    } while (batch.length);
  }
}

const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", async (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const out = [];
  const items = Array.from(e.dataTransfer.items || []);
  if (items.length && items[0].webkitGetAsEntry) {
    for (const it of items) { const entry = it.webkitGetAsEntry(); if (entry) await filesFromEntry(entry, out); }
    setStyleFiles(out);
  } else {
    setStyleFiles(e.dataTransfer.files);
  }
});

let currentJob = null;
let events = null;

$("start").addEventListener("click", async () => {
  const status = $("job-status");
  if (!styleFiles.length) { status.textContent = "Choose or drop some style images first."; $("job").hidden = false; return; }
  const form = new FormData();
  for (const f of styleFiles) form.append("files", f, f.name);
  for (const f of Array.from($("content-files").files).filter(isImage)) form.append("content", f, f.name);
  form.append("name", $("style-name").value.trim());
  form.append("minutes", $("minutes").value);
  form.append("generator", $("generator").value);
  const recipe = {};
  if ($("outlines").checked) recipe.lines = "always";
  if ($("whole-colour").checked) recipe.colour_shrink = false;
  if (Object.keys(recipe).length) form.append("recipe", JSON.stringify(recipe));
  form.append("overwrite", $("overwrite").checked ? "true" : "false");
  $("job").hidden = false;
  $("bar").style.width = "0";
  $("sample").hidden = true;
  status.className = "";
  status.textContent = "Uploading…";
  try {
    const res = await api("/api/styles", { method: "POST", body: form });
    const { job } = await res.json();
    watch(job);
  } catch (err) {
    status.className = "error";
    status.textContent = err.message;
  }
});

function watch(jobId) {
  currentJob = jobId;
  if (events) events.close();
  $("start").disabled = true;
  $("cancel").hidden = false;
  events = new EventSource(withToken("/api/jobs/" + jobId + "/events"));
  events.addEventListener("progress", (e) => showJob(JSON.parse(e.data)));
  events.addEventListener("sample", (e) => {
    const s = JSON.parse(e.data);
    $("sample").src = withToken(s.url);
    $("sample").hidden = false;
  });
  events.addEventListener("end", (e) => {
    events.close();
    const job = JSON.parse(e.data);
    showJob(job);
    $("start").disabled = false;
    $("cancel").hidden = true;
    if (job.state === "done") { loadStyles(job.style); showNotes(job.style); }
  });
  events.onerror = () => { /* the browser reconnects by itself */ };
}

function showJob(job) {
  $("bar").style.width = Math.round(job.progress * 100) + "%";
  const status = $("job-status");
  status.className = job.state === "failed" ? "error" : "";
  if (job.state === "queued") status.textContent = "Queued: waiting for the job before it.";
  else if (job.state === "running") status.textContent = "Learning “" + job.name + "”: " + Math.round(job.progress * 100) + "%" + (job.eta_s != null ? ", about " + fmtTime(job.eta_s) + " left" : "");
  else if (job.state === "done") status.textContent = "Done: “" + job.style + "” is in your styles.";
  else status.textContent = "Failed: " + job.error;
}

// what the finished training says about itself (the style's notes: lines, colour start)
async function showNotes(name) {
  try {
    const { notes } = await (await api("/api/styles/" + encodeURIComponent(name))).json();
    if (notes && notes.length) $("job-status").textContent += " " + notes.join(" · ");
  } catch (err) { /* the style is listed anyway */ }
}

$("cancel").addEventListener("click", async () => {
  if (!currentJob) return;
  try { await api("/api/jobs/" + currentJob + "/cancel", { method: "POST" }); } catch (err) { $("job-status").textContent = err.message; }
});

// ---- 2. library ----------------------------------------------------------------------
async function loadStyles(select) {
  const styles = await (await api("/api/styles")).json();
  const cards = $("cards");
  cards.replaceChildren();
  const sel = $("try-style");
  const keep = select || sel.value;
  sel.replaceChildren();
  for (const s of styles) {
    const card = document.createElement("div");
    card.className = "card";
    card.dataset.style = s.name;
    const img = document.createElement("img");
    img.alt = "preview of " + s.name;
    if (s.preview) img.src = withToken(s.preview);
    const meta = document.createElement("div");
    meta.className = "meta";
    const b = document.createElement("b");
    b.textContent = s.name;
    meta.append(b, (s.builtin ? "built-in · " : "") + (s.generator || "") + (s.steps ? " · " + s.steps + " steps" : ""));
    const use = document.createElement("button");
    use.textContent = "Try";
    use.addEventListener("click", () => { sel.value = s.name; $("try").scrollIntoView({ behavior: "smooth" }); });
    const del = document.createElement("button");
    del.textContent = "Delete";
    del.className = "secondary";
    del.addEventListener("click", async () => {
      if (!confirm("Delete the style “" + s.name + "”?")) return;
      await api("/api/styles/" + encodeURIComponent(s.name), { method: "DELETE" });
      loadStyles();
    });
    const share = document.createElement("a");
    share.className = "button secondary";
    share.textContent = "Download";
    share.title = "the style as one .bwstyle file, to import into another library";
    share.href = withToken("/api/styles/" + encodeURIComponent(s.name) + "/export?format=bwstyle");
    share.download = s.name + ".bwstyle";
    card.append(img, meta, use, share);
    if (s.report) {
      const rep = document.createElement("a");
      rep.className = "button secondary";
      rep.textContent = "Report";
      rep.href = withToken(s.report);
      rep.target = "_blank";
      card.append(rep);
    }
    if (!s.builtin) card.append(del);
    cards.append(card);
    const opt = document.createElement("option");
    opt.value = opt.textContent = s.name;
    sel.append(opt);
  }
  if (keep && styles.some((s) => s.name === keep)) sel.value = keep;
  $("no-styles").hidden = styles.length > 0;
}

$("import-file").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  const status = $("import-status");
  if (!file) return;
  const form = new FormData();
  form.append("file", file, file.name);
  status.className = "";
  status.textContent = "Importing " + file.name + "…";
  try {
    const card = await (await api("/api/styles/import", { method: "POST", body: form })).json();
    status.textContent = "Imported “" + card.name + "”.";
    loadStyles(card.name);
  } catch (err) {
    status.className = "error";
    status.textContent = err.message;
  } finally {
    e.target.value = "";
  }
});

// ---- 3. try --------------------------------------------------------------------------
$("strength").addEventListener("input", (e) => { $("strength-out").textContent = Number(e.target.value).toFixed(2); });
$("split").addEventListener("input", (e) => { $("after-wrap").style.clipPath = "inset(0 0 0 " + e.target.value + "%)"; });

let resultUrl = null;
$("apply").addEventListener("click", async () => {
  const status = $("apply-status");
  const photo = $("photo").files[0];
  const style = $("try-style").value;
  status.className = "";
  if (!style) { status.textContent = "Learn a style first."; return; }
  if (!photo) { status.textContent = "Choose a photo."; return; }
  const form = new FormData();
  form.append("file", photo, photo.name);
  form.append("strength", $("strength").value);
  form.append("preserve_color", $("preserve").checked ? "true" : "false");
  form.append("format", $("format").value);
  status.textContent = "Applying “" + style + "”…";
  $("apply").disabled = true;
  try {
    const t0 = performance.now();
    const res = await api("/api/styles/" + encodeURIComponent(style) + "/apply", { method: "POST", body: form });
    const blob = await res.blob();
    if (resultUrl) URL.revokeObjectURL(resultUrl);
    resultUrl = URL.createObjectURL(blob);
    $("before").src = URL.createObjectURL(photo);
    $("after").src = resultUrl;
    $("compare").hidden = false;
    const dl = $("download");
    dl.href = resultUrl;
    dl.download = photo.name.replace(/\.[^.]+$/, "") + "_" + style + "." + $("format").value;
    dl.hidden = false;
    status.textContent = "Done in " + ((performance.now() - t0) / 1000).toFixed(1) + " s. Drag the slider to compare.";
  } catch (err) {
    status.className = "error";
    status.textContent = err.message;
  } finally {
    $("apply").disabled = false;
  }
});

// the photo in every style, as `brushwork styles sheet` makes it
$("apply-all").addEventListener("click", async () => {
  const status = $("apply-status");
  const photo = $("photo").files[0];
  status.className = "";
  if (!photo) { status.textContent = "Choose a photo."; return; }
  const names = Array.from($("try-style").options).map((o) => o.value);
  const gallery = $("gallery");
  gallery.replaceChildren();
  gallery.hidden = false;
  $("apply-all").disabled = true;
  const t0 = performance.now();
  for (const [i, name] of names.entries()) {
    status.textContent = "Applying " + (i + 1) + " of " + names.length + ": “" + name + "”…";
    const form = new FormData();
    form.append("file", photo, photo.name);
    form.append("format", "jpg");
    const card = document.createElement("div");
    card.className = "card";
    card.dataset.style = name;
    const label = document.createElement("div");
    label.className = "meta";
    label.textContent = name;
    try {
      const blob = await (await api("/api/styles/" + encodeURIComponent(name) + "/apply", { method: "POST", body: form })).blob();
      const img = document.createElement("img");
      img.alt = photo.name + " in " + name;
      img.src = URL.createObjectURL(blob);
      card.append(img, label);
    } catch (err) {
      label.textContent = name + ": " + err.message;
      card.append(label);
    }
    gallery.append(card);
  }
  status.textContent = names.length + " styles in " + ((performance.now() - t0) / 1000).toFixed(1) + " s.";
  $("apply-all").disabled = false;
});

loadStyles().catch((err) => { $("no-styles").hidden = false; $("no-styles").textContent = err.message; });
