// The photo and its result: the page's elements and state, messages, the preview request, the before/after
// slider. A new photo becomes the page's only once the server has accepted it: a file it refuses leaves the
// previous photo, its result and the Download button as they were, and only the error shows.
import { api, ApiError, describe } from "./api.js";
import { drawHints, hintsJson } from "./hints.js";
import { closePicker } from "./picker.js";

const $ = (id) => document.getElementById(id);

export const el = {
  stage: document.querySelector(".stage"),
  drop: $("drop"), file: $("file"), viewer: $("viewer"), compare: $("compare"),
  before: $("before"), after: $("after"), afterClip: $("after-clip"), overlay: $("overlay"),
  divider: $("divider"), hintsLayer: $("hints-layer"), cursor: $("cursor"), busy: $("busy"),
  busyText: $("busy-text"), notice: $("notice"), split: $("split"), fileName: $("file-name"),
  status: $("status"), error: $("error"), model: $("model"), renderSize: $("render-size"),
  saturation: $("saturation"), saturationValue: $("saturation-value"), hintCount: $("hint-count"),
  hintsNote: $("hints-note"), hintList: $("hint-list"), clearHints: $("clear-hints"),
  saveHints: $("save-hints"), loadHints: $("load-hints"), referenceDrop: $("reference-drop"),
  reference: $("reference"), referenceText: $("reference-text"), referenceThumb: $("reference-thumb"),
  referenceRemove: $("reference-remove"), uncertainty: $("uncertainty"),
  uncertaintyNote: $("uncertainty-note"), strength: $("strength"), strengthValue: $("strength-value"),
  clahe: $("clahe"), claheLimit: $("clahe-limit"), claheLimitValue: $("clahe-limit-value"),
  method: $("method"), downloadFormat: $("download-format"), download: $("download"),
  tokenGroup: $("token-group"), token: $("token"), tokenSave: $("token-save"),
  picker: $("picker"), pickerNote: $("picker-note"), suggestions: $("suggestions"),
  pickerColor: $("picker-color"), pickerOk: $("picker-ok"), pickerRemove: $("picker-remove"),
  pickerCancel: $("picker-cancel"), version: $("version"),
};

export const state = {
  file: null,
  stem: "photo",
  reference: null,
  features: { hints: false, reference: false, suggest: false, uncertainty: false },
  limits: { max_upload_mb: 50, max_pixels: 1e8 },
  mode: "colorize",
  hints: [], // {x, y, color[, radius]} in pixels of the photo as displayed (origin top-left)
  source: { w: 0, h: 0 },
  previewSide: 1024,
  urls: { before: null, after: null, overlay: null, reference: null },
  render: { controller: null, seq: 0, timer: 0, retry: 0 },
  overlay: { controller: null },
  cursor: { fx: 0.5, fy: 0.5, shown: false },
  picker: null, // {mode: "add" | "edit", index, x, y, returnFocus}
  selected: -1,
};

// ------------------------------------------------------------------------------------------------ messages

export function showError(message) {
  el.error.textContent = message;
}

export function clearError() {
  el.error.textContent = "";
}

export function setStatus(message) {
  el.status.textContent = message;
}

// A message above the photo (the server is busy): seen without scrolling, gone when the preview arrives.
export function showNotice(message) {
  el.notice.textContent = message;
  el.notice.hidden = !message;
}

export function setBusy(text) {
  el.busy.hidden = !text;
  el.busyText.textContent = text || "";
  el.compare.classList.toggle("pending", Boolean(text));
  el.compare.setAttribute("aria-busy", text ? "true" : "false");
}

// ------------------------------------------------------------------------------------------------ the form

// The form for the current mode; `preview` adds max_side (a screen-sized result, fast). `file` and `hints`
// default to the page's photo and hints.
export function buildForm({ preview, format, endpoint, file = state.file, hints = state.hints }) {
  const form = new FormData();
  form.append("file", file, file.name);
  const mode = endpoint || state.mode;
  if (mode !== "decolorize") {
    if (el.model.value) form.append("model", el.model.value);
    if (el.renderSize.value) form.append("render_size", el.renderSize.value);
  }
  if (mode === "colorize") form.append("saturation", el.saturation.value);
  if (mode === "colorize" || mode === "uncertainty") {
    if (hints.length && state.features.hints) form.append("hints", JSON.stringify(hintsJson(hints)));
    if (state.reference && state.features.reference) {
      form.append("reference", state.reference, state.reference.name);
    }
  }
  if (mode === "enhance") {
    form.append("strength", el.strength.value);
    form.append("clahe", el.clahe.checked ? "true" : "false");
    form.append("clahe_limit", el.claheLimit.value);
  }
  if (mode === "decolorize") form.append("method", el.method.value);
  if (preview) form.append("max_side", String(state.previewSide));
  if (format) form.append("format", format);
  return form;
}

// ----------------------------------------------------------------------------------------------- rendering

export function swapUrl(key, blob) {
  const old = state.urls[key];
  state.urls[key] = blob ? URL.createObjectURL(blob) : null;
  if (old) setTimeout(() => URL.revokeObjectURL(old), 1000);
  return state.urls[key];
}

export function setSource(w, h) {
  if (!(w > 0 && h > 0)) return;
  state.source = { w, h };
  el.compare.style.setProperty("--aspect", String(w / h));
  drawHints();
}

export function scheduleRender(delay = 120) {
  clearTimeout(state.render.timer);
  state.render.timer = setTimeout(render, delay);
}

function loadImage(img, url) {
  return new Promise((resolve, reject) => {
    img.onload = () => resolve();
    img.onerror = () => reject(new ApiError(0, "the browser could not show the result"));
    img.src = url;
  });
}

// The preview of the current mode. With `file` (a photo being opened) the request is for that file, which
// becomes the page's photo only when the server answers with a result. True when a result is shown.
// A 503 shows a notice above the photo and tries again after the server's Retry-After.
export async function render({ file = null } = {}) {
  const photo = file || state.file;
  if (!photo) return false;
  if (state.render.controller) state.render.controller.abort();
  clearTimeout(state.render.retry);
  const controller = new AbortController();
  state.render.controller = controller;
  const seq = ++state.render.seq;
  setBusy(state.mode === "decolorize" ? "Turning grey…" : "Colouring…");
  const started = performance.now();
  let shown = false;
  try {
    const form = buildForm({ preview: true, file: photo, hints: file ? [] : state.hints });
    const response = await api(`/api/${state.mode}`, form, { signal: controller.signal });
    const blob = await response.blob();
    if (seq !== state.render.seq) return false;
    if (file) adoptPhoto(file);
    setSource(Number(response.headers.get("X-Source-Width")), Number(response.headers.get("X-Source-Height")));
    await loadImage(el.after, swapUrl("after", blob));
    if (seq !== state.render.seq) return false;
    el.after.dataset.seq = String(seq);
    el.compare.dataset.ready = "1";
    clearError();
    showNotice("");
    const warning = response.headers.get("X-Deepcolor-Warning");
    const ms = Math.round(performance.now() - started);
    setStatus(`${state.file.name}: ${state.source.w} x ${state.source.h}, preview in ${ms} ms` +
      (warning ? ` (${warning})` : ""));
    el.download.disabled = false;
    shown = true;
  } catch (error) {
    if (seq === state.render.seq) failed(error, file);
  } finally {
    if (seq === state.render.seq) {
      setBusy("");
      state.render.controller = null;
    }
  }
  if (shown && el.uncertainty.checked && state.mode === "colorize" && seq === state.render.seq) renderOverlay();
  return shown;
}

function failed(error, file) {
  if (error instanceof ApiError && error.status === 503) {
    const seconds = error.retryAfter || 1;
    showNotice(`The server is busy (${error.message}). Trying again in ${seconds} s…`);
    state.render.retry = setTimeout(() => render({ file }), seconds * 1000);
    return;
  }
  const message = describe(error);
  if (!message) return;
  showNotice("");
  showError(message);
  if (file) {
    setStatus(`${file.name} was not opened` + (state.file ? `; still showing ${state.file.name}` : ""));
  }
}

export async function renderOverlay() {
  if (!el.uncertainty.checked || state.mode !== "colorize" || !state.file) {
    el.overlay.hidden = true;
    return;
  }
  if (state.overlay.controller) state.overlay.controller.abort();
  const controller = new AbortController();
  state.overlay.controller = controller;
  try {
    const response = await api("/api/uncertainty", buildForm({ preview: true, endpoint: "uncertainty" }),
      { signal: controller.signal });
    await loadImage(el.overlay, swapUrl("overlay", await response.blob()));
    el.overlay.hidden = !el.uncertainty.checked;
  } catch (error) {
    const message = describe(error);
    if (message) showError(message);
    el.overlay.hidden = true;
  }
}

// --------------------------------------------------------------------------------------------------- photo

function stemOf(name) {
  const base = name.replace(/^.*[\\/]/, "");
  const dot = base.lastIndexOf(".");
  return (dot > 0 ? base.slice(0, dot) : base) || "photo";
}

export function tooLarge(file) {
  const limit = state.limits.max_upload_mb;
  if (file.size > limit * 1048576) {
    return `${file.name}: ${(file.size / 1048576).toFixed(1)} MB is over this server's upload limit of ${limit} MB`;
  }
  return "";
}

// Open a photo: the server colours it first; only then does it replace the one shown.
export async function openPhoto(file) {
  if (!file) return;
  const problem = tooLarge(file);
  if (problem) {
    showError(problem);
    return;
  }
  closePicker(false);
  const width = el.stage.getBoundingClientRect().width || window.innerWidth;
  state.previewSide = Math.round(Math.min(1600, Math.max(320, width * (window.devicePixelRatio || 1))));
  await render({ file });
}

// The server accepted `file`: it becomes the page's photo (hints start afresh).
function adoptPhoto(file) {
  state.file = file;
  state.stem = stemOf(file.name);
  state.hints = [];
  state.selected = -1;
  state.source = { w: 0, h: 0 };
  el.fileName.textContent = file.name;
  el.drop.hidden = true;
  el.viewer.hidden = false;
  el.overlay.hidden = true;
  el.before.onload = () => {
    if (!state.source.w) setSource(el.before.naturalWidth, el.before.naturalHeight);
  };
  el.before.onerror = () => beforeFromServer(file); // TIFF and other kinds the browser cannot show
  el.before.src = swapUrl("before", file);
  drawHints();
}

async function beforeFromServer(file) {
  try {
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("strength", "0");
    form.append("format", "png");
    form.append("max_side", String(state.previewSide));
    const response = await api("/api/enhance", form);
    if (state.file !== file) return;
    el.before.onerror = null;
    el.before.src = swapUrl("before", await response.blob());
  } catch (error) {
    showError(describe(error));
  }
}

export function setupDrop(zone, onFile) {
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    event.stopPropagation();
    zone.classList.remove("dragging");
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) onFile(file);
  });
}

// ---------------------------------------------------------------------------------------- slider, pixels

export function updateSplit(value) {
  const v = Math.min(100, Math.max(0, Number(value)));
  el.split.value = String(v);
  el.afterClip.style.clipPath = `inset(0 0 0 ${v}%)`;
  el.divider.style.left = `${v}%`;
}

// The result's colour at a point of the preview, #rrggbb (what the picker starts from).
export function pixelAt(fx, fy) {
  const img = el.after;
  if (!img.naturalWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(img, 0, 0);
  const x = Math.min(canvas.width - 1, Math.floor(fx * canvas.width));
  const y = Math.min(canvas.height - 1, Math.floor(fy * canvas.height));
  const [r, g, b] = context.getImageData(x, y, 1, 1).data;
  return { r, g, b, hex: "#" + [r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("") };
}

export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
