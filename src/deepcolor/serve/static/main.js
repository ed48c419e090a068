// deepcolor's page: pick a photo, see it coloured at screen size, steer the colours with hints, download the
// full-resolution result. Everything goes to this page's own server (the /api routes); nothing else is fetched.
// Modules: api (requests), viewer (the photo, its preview, messages), hints (dots, hint files), picker (a
// hint's colour), video (a clip's job: progress, preview, cancel, download), main (the controls and the start).
import { api, describe, onUnauthorized, setToken } from "./api.js";
import { drawHints, hintsEnabled, setupHints } from "./hints.js";
import { closePicker, setupPicker } from "./picker.js";
import { isVideo, openVideo, setupVideo } from "./video.js";
import {
  buildForm, clearError, el, openPhoto, pixelAt, renderOverlay, saveBlob, scheduleRender, setBusy, setStatus,
  setupDrop, showError, state, swapUrl, tooLarge, updateSplit,
} from "./viewer.js";

// A dropped or chosen file: a clip starts a video job, anything else is opened as a photo.
function openFile(file) {
  if (file && isVideo(file)) openVideo(file);
  else openPhoto(file);
}

function setMode(mode) {
  state.mode = mode;
  for (const group of document.querySelectorAll("[data-modes]")) {
    group.hidden = !group.dataset.modes.split(" ").includes(mode);
  }
  el.compare.classList.toggle("no-hints", !hintsEnabled());
  el.hintsLayer.hidden = mode !== "colorize";
  if (mode !== "colorize") el.overlay.hidden = true;
  closePicker(false);
  drawHints();
  scheduleRender(0);
}

function bindRange(input, output, digits) {
  const show = () => { output.textContent = Number(input.value).toFixed(digits); };
  input.addEventListener("input", () => { show(); scheduleRender(200); });
  show();
}

function openReference(file) {
  if (!file || !state.features.reference) return;
  const problem = tooLarge(file);
  if (problem) {
    showError(problem);
    return;
  }
  state.reference = file;
  el.referenceThumb.src = swapUrl("reference", file);
  el.referenceThumb.hidden = false;
  el.referenceRemove.hidden = false;
  el.referenceText.textContent = `Following the colours of ${file.name}.`;
  scheduleRender(0);
}

async function download() {
  if (!state.file) return;
  const format = el.downloadFormat.value;
  el.download.disabled = true;
  setBusy("Computing the full-resolution image…");
  try {
    const response = await api(`/api/${state.mode}`, buildForm({ preview: false, format }));
    const blob = await response.blob();
    const suffix = { colorize: "colorized", enhance: "enhanced", decolorize: "grey" }[state.mode];
    const name = `${state.stem}_${suffix}.${format === "jpeg" ? "jpg" : "png"}`;
    saveBlob(blob, name);
    clearError();
    setStatus(`Downloaded ${name} (${state.source.w} x ${state.source.h}, ${(blob.size / 1048576).toFixed(1)} MB)`);
  } catch (error) {
    showError(describe(error));
  } finally {
    el.download.disabled = false;
    setBusy("");
  }
}

function wireControls() {
  for (const radio of document.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener("change", () => { if (radio.checked) setMode(radio.value); });
  }
  bindRange(el.saturation, el.saturationValue, 2);
  bindRange(el.strength, el.strengthValue, 2);
  bindRange(el.claheLimit, el.claheLimitValue, 3);
  el.clahe.addEventListener("change", () => { el.claheLimit.disabled = !el.clahe.checked; scheduleRender(0); });
  el.model.addEventListener("change", () => scheduleRender(0));
  el.renderSize.addEventListener("change", () => scheduleRender(0));
  el.method.addEventListener("change", () => scheduleRender(0));
  el.split.addEventListener("input", () => updateSplit(el.split.value));

  el.file.addEventListener("change", () => {
    const file = el.file.files[0];
    el.file.value = "";
    openFile(file);
  });
  setupDrop(el.drop, openFile);
  setupDrop(el.compare, openFile);
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());

  el.reference.addEventListener("change", () => {
    const file = el.reference.files[0];
    el.reference.value = "";
    openReference(file);
  });
  setupDrop(el.referenceDrop, openReference);
  el.referenceRemove.addEventListener("click", () => {
    state.reference = null;
    el.referenceThumb.hidden = true;
    el.referenceRemove.hidden = true;
    el.referenceText.textContent = "Drop a colour photo whose colours the result should follow, or";
    swapUrl("reference", null);
    scheduleRender(0);
  });

  el.uncertainty.addEventListener("change", () => {
    if (el.uncertainty.checked) renderOverlay();
    else el.overlay.hidden = true;
  });
  el.download.addEventListener("click", download);

  onUnauthorized(() => { el.tokenGroup.hidden = false; });
  el.tokenSave.addEventListener("click", () => {
    setToken(el.token.value.trim());
    el.tokenGroup.hidden = true;
    start();
  });
}

// The page's tools follow what the server's default model takes.
function applyFeatures() {
  const f = state.features;
  if (!f.hints) {
    el.hintsNote.textContent = "Colour hints need a hint-aware model (the default is one); this server's takes none.";
    el.loadHints.disabled = true;
    el.loadHints.labels[0].setAttribute("aria-disabled", "true");
  }
  if (!f.reference) {
    el.reference.disabled = true;
    el.referenceText.textContent = "Reference photos need a hint-aware model; this server's takes none.";
    el.reference.labels[0].hidden = true;
  }
  if (!f.uncertainty) {
    el.uncertainty.disabled = true;
    el.uncertaintyNote.textContent = "The uncertainty map needs a hint-aware model; this server's has none.";
  }
  el.compare.classList.toggle("no-hints", !hintsEnabled());
}

async function start() {
  try {
    const [models, health] = await Promise.all([api("/api/models"), api("/healthz")]);
    const info = await models.json();
    state.features = info.features;
    state.limits = info.limits;
    el.model.replaceChildren();
    for (const m of info.models) {
      const option = document.createElement("option");
      option.value = m.name;
      option.textContent = `${m.name}${m.family !== m.name ? ` (${m.family})` : ""}${m.default ? ", default" : ""}`;
      option.selected = m.default;
      el.model.append(option);
    }
    el.version.textContent = (await health.json()).version || "";
    applyFeatures();
    document.body.dataset.ready = "1";
  } catch (error) {
    showError(describe(error));
  }
}

wireControls();
setupHints();
setupPicker();
setupVideo();
updateSplit(el.split.value);
window.deepcolorPage = { pixelAt, state }; // for the browser tests
start();
