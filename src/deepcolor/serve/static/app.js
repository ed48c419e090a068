// deepcolor's page: pick a photo, see it coloured at screen size, steer the colours with hints, download the
// full-resolution result. Everything goes to this page's own server (the /api routes); nothing else is fetched.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const el = {
    drop: $("drop"), file: $("file"), viewer: $("viewer"), compare: $("compare"),
    before: $("before"), after: $("after"), afterClip: $("after-clip"), overlay: $("overlay"),
    divider: $("divider"), hintsLayer: $("hints-layer"), cursor: $("cursor"), busy: $("busy"),
    busyText: $("busy-text"), split: $("split"), fileName: $("file-name"), status: $("status"),
    error: $("error"), model: $("model"), renderSize: $("render-size"), saturation: $("saturation"),
    saturationValue: $("saturation-value"), hintCount: $("hint-count"), hintsNote: $("hints-note"),
    hintList: $("hint-list"), clearHints: $("clear-hints"), saveHints: $("save-hints"),
    loadHints: $("load-hints"), referenceDrop: $("reference-drop"), reference: $("reference"),
    referenceText: $("reference-text"), referenceThumb: $("reference-thumb"),
    referenceRemove: $("reference-remove"), uncertainty: $("uncertainty"),
    uncertaintyNote: $("uncertainty-note"), strength: $("strength"), strengthValue: $("strength-value"),
    clahe: $("clahe"), claheLimit: $("clahe-limit"), claheLimitValue: $("clahe-limit-value"),
    method: $("method"), downloadFormat: $("download-format"), download: $("download"),
    tokenGroup: $("token-group"), token: $("token"), tokenSave: $("token-save"),
    picker: $("picker"), pickerNote: $("picker-note"), suggestions: $("suggestions"),
    pickerColor: $("picker-color"), pickerOk: $("picker-ok"), pickerRemove: $("picker-remove"),
    pickerCancel: $("picker-cancel"), version: $("version"),
  };

  const state = {
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
    render: { controller: null, seq: 0, timer: 0 },
    overlay: { controller: null },
    cursor: { fx: 0.5, fy: 0.5, shown: false },
    picker: null, // {mode: "add" | "edit", index, x, y, returnFocus}
    token: sessionStorage.getItem("deepcolor-token") || "",
    selected: -1,
  };

  // ------------------------------------------------------------------------------------------ messages

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function showError(message) {
    el.error.textContent = message;
  }

  function clearError() {
    el.error.textContent = "";
  }

  function setStatus(message) {
    el.status.textContent = message;
  }

  function setBusy(text) {
    el.busy.hidden = !text;
    el.busyText.textContent = text || "";
    el.compare.classList.toggle("pending", Boolean(text));
    el.compare.setAttribute("aria-busy", text ? "true" : "false");
  }

  function describe(error) {
    if (error instanceof ApiError) return error.message;
    if (error && error.name === "AbortError") return "";
    return "The server did not answer (is deepcolor serve still running?)";
  }

  // ------------------------------------------------------------------------------------------------ API

  async function api(path, form, options = {}) {
    const headers = {};
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    const response = await fetch(path, {
      method: form ? "POST" : "GET",
      body: form || undefined,
      headers,
      signal: options.signal,
    });
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try {
        const body = await response.json();
        if (body && body.error) message = body.error;
      } catch (_) { /* not JSON: keep the status line */ }
      if (response.status === 401) el.tokenGroup.hidden = false;
      throw new ApiError(response.status, message);
    }
    return response;
  }

  function hintsJson() {
    const points = state.hints.map((h) => {
      const point = { x: Math.round(h.x), y: Math.round(h.y), color: h.color };
      if (h.radius !== undefined) point.radius = h.radius;
      return point;
    });
    return { points };
  }

  // The form for the current mode; `preview` adds max_side (a screen-sized result, fast).
  function buildForm({ preview, format, endpoint }) {
    const form = new FormData();
    form.append("file", state.file, state.file.name);
    const mode = endpoint || state.mode;
    if (mode !== "decolorize") {
      if (el.model.value) form.append("model", el.model.value);
      if (el.renderSize.value) form.append("render_size", el.renderSize.value);
    }
    if (mode === "colorize") {
      form.append("saturation", el.saturation.value);
    }
    if (mode === "colorize" || mode === "uncertainty") {
      if (state.hints.length && state.features.hints) form.append("hints", JSON.stringify(hintsJson()));
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

  // ------------------------------------------------------------------------------------------ rendering

  function swapUrl(key, blob) {
    const old = state.urls[key];
    state.urls[key] = blob ? URL.createObjectURL(blob) : null;
    if (old) setTimeout(() => URL.revokeObjectURL(old), 1000);
    return state.urls[key];
  }

  function setSource(w, h) {
    if (!(w > 0 && h > 0)) return;
    state.source = { w, h };
    el.compare.style.setProperty("--aspect", String(w / h));
    drawHints();
  }

  function scheduleRender(delay = 120) {
    clearTimeout(state.render.timer);
    state.render.timer = setTimeout(render, delay);
  }

  async function render() {
    if (!state.file) return;
    if (state.render.controller) state.render.controller.abort();
    const controller = new AbortController();
    state.render.controller = controller;
    const seq = ++state.render.seq;
    setBusy(state.mode === "decolorize" ? "Turning grey…" : "Colouring…");
    const started = performance.now();
    try {
      const response = await api(`/api/${state.mode}`, buildForm({ preview: true }), { signal: controller.signal });
      const blob = await response.blob();
      if (seq !== state.render.seq) return;
      setSource(Number(response.headers.get("X-Source-Width")), Number(response.headers.get("X-Source-Height")));
      await loadImage(el.after, swapUrl("after", blob));
      if (seq !== state.render.seq) return;
      el.after.dataset.seq = String(seq);
      el.compare.dataset.ready = "1";
      clearError();
      const warning = response.headers.get("X-Deepcolor-Warning");
      const ms = Math.round(performance.now() - started);
      setStatus(`${state.file.name}: ${state.source.w} x ${state.source.h}, preview in ${ms} ms` +
        (warning ? ` (${warning})` : ""));
      el.download.disabled = false;
    } catch (error) {
      if (seq === state.render.seq) {
        const message = describe(error);
        if (message) showError(message);
      }
    } finally {
      if (seq === state.render.seq) {
        setBusy("");
        state.render.controller = null;
      }
    }
    if (el.uncertainty.checked && state.mode === "colorize" && seq === state.render.seq) renderOverlay();
  }

  function loadImage(img, url) {
    return new Promise((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new ApiError(0, "the browser could not show the result"));
      img.src = url;
    });
  }

  async function renderOverlay() {
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

  // ---------------------------------------------------------------------------------------------- photo

  function stemOf(name) {
    const base = name.replace(/^.*[\\/]/, "");
    const dot = base.lastIndexOf(".");
    return (dot > 0 ? base.slice(0, dot) : base) || "photo";
  }

  function tooLarge(file) {
    const limit = state.limits.max_upload_mb;
    if (file.size > limit * 1048576) {
      return `${file.name}: ${(file.size / 1048576).toFixed(1)} MB is over this server's upload limit of ${limit} MB`;
    }
    return "";
  }

  async function openPhoto(file) {
    if (!file) return;
    const problem = tooLarge(file);
    if (problem) {
      showError(problem);
      return;
    }
    clearError();
    closePicker(false);
    state.file = file;
    state.stem = stemOf(file.name);
    state.hints = [];
    state.selected = -1;
    state.source = { w: 0, h: 0 };
    el.fileName.textContent = file.name;
    el.drop.hidden = true;
    el.viewer.hidden = false;
    el.overlay.hidden = true;
    delete el.compare.dataset.ready;
    el.after.removeAttribute("src");
    const width = el.viewer.getBoundingClientRect().width || window.innerWidth;
    state.previewSide = Math.round(Math.min(1600, Math.max(320, width * (window.devicePixelRatio || 1))));
    drawHints();
    el.before.onload = () => {
      if (!state.source.w) setSource(el.before.naturalWidth, el.before.naturalHeight);
    };
    el.before.onerror = () => beforeFromServer(file); // TIFF and other kinds the browser cannot show
    el.before.src = swapUrl("before", file);
    await render();
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

  function setupDrop(zone, onFile) {
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

  // ---------------------------------------------------------------------------------------------- hints

  function hintsEnabled() {
    return state.mode === "colorize" && state.features.hints;
  }

  function drawHints() {
    el.hintsLayer.replaceChildren();
    el.hintList.replaceChildren();
    const { w, h } = state.source;
    const show = state.mode === "colorize";
    state.hints.forEach((hint, i) => {
      const label = `Hint ${i + 1} at ${Math.round(hint.x)}, ${Math.round(hint.y)}: ${hint.color}`;
      if (show && w && h) {
        const dot = document.createElement("button");
        dot.type = "button";
        dot.className = "hint-dot" + (i === state.selected ? " selected" : "");
        dot.style.left = `${((hint.x + 0.5) / w) * 100}%`;
        dot.style.top = `${((hint.y + 0.5) / h) * 100}%`;
        dot.style.borderColor = hint.color;
        dot.dataset.index = String(i);
        dot.setAttribute("aria-label", `${label}. Arrow keys move it, Delete removes it, Enter changes the colour.`);
        dot.title = label;
        el.hintsLayer.append(dot);
      }
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = hint.color;
      const where = document.createElement("span");
      where.className = "where";
      where.textContent = `${i + 1}: ${Math.round(hint.x)}, ${Math.round(hint.y)} ${hint.color}`;
      const edit = document.createElement("button");
      edit.type = "button";
      edit.textContent = "Colour…";
      edit.setAttribute("aria-label", `Change the colour of hint ${i + 1}`);
      edit.addEventListener("click", () => openPicker({ mode: "edit", index: i, anchor: edit }));
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove hint ${i + 1}`);
      remove.addEventListener("click", () => removeHint(i));
      item.append(swatch, where, edit, remove);
      el.hintList.append(item);
    });
    const n = state.hints.length;
    el.hintCount.textContent = n ? `${n} hint${n === 1 ? "" : "s"}` : "none";
    el.clearHints.disabled = n === 0;
    el.saveHints.disabled = n === 0;
  }

  function removeHint(i) {
    state.hints.splice(i, 1);
    state.selected = -1;
    drawHints();
    scheduleRender(0);
    el.compare.focus();
  }

  function pointFromEvent(event) {
    const rect = el.compare.getBoundingClientRect();
    const fx = Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 0.999999);
    const fy = Math.min(Math.max((event.clientY - rect.top) / rect.height, 0), 0.999999);
    return { fx, fy };
  }

  function toSource({ fx, fy }) {
    return { x: Math.floor(fx * state.source.w), y: Math.floor(fy * state.source.h) };
  }

  // The result's colour at a point of the preview, #rrggbb (what the picker starts from).
  function pixelAt(fx, fy) {
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

  // ---------------------------------------------------------------------------------------------- picker

  function placePicker(clientX, clientY) {
    const box = el.picker.getBoundingClientRect();
    const margin = 8;
    let left = clientX + 14;
    let top = clientY + 14;
    if (left + box.width > window.innerWidth - margin) left = Math.max(margin, clientX - box.width - 14);
    if (top + box.height > window.innerHeight - margin) top = Math.max(margin, window.innerHeight - box.height - margin);
    el.picker.style.left = `${left}px`;
    el.picker.style.top = `${top}px`;
  }

  async function openPicker({ mode, index, x, y, anchor, clientX, clientY }) {
    if (!state.features.hints) return;
    const hint = mode === "edit" ? state.hints[index] : null;
    const px = hint ? hint.x : x;
    const py = hint ? hint.y : y;
    state.picker = { mode, index, x: px, y: py, returnFocus: anchor || el.compare };
    const current = pixelAt((px + 0.5) / state.source.w, (py + 0.5) / state.source.h);
    el.pickerColor.value = hint ? normalHex(hint.color) : (current ? current.hex : el.pickerColor.value);
    el.pickerRemove.hidden = mode !== "edit";
    el.pickerOk.textContent = mode === "edit" ? "Use this colour" : "Add hint";
    el.suggestions.replaceChildren();
    el.pickerNote.textContent = `At ${px}, ${py}.` + (state.features.suggest ? " The model suggests:" : "");
    el.picker.hidden = false;
    if (clientX === undefined) {
      const rect = (anchor || el.compare).getBoundingClientRect();
      clientX = rect.left + rect.width / 2;
      clientY = rect.top + rect.height / 2;
    }
    placePicker(clientX, clientY);
    el.pickerColor.focus();
    if (!state.features.suggest) return;
    const picker = state.picker;
    try {
      const form = new FormData();
      form.append("file", state.file, state.file.name);
      form.append("x", String(px));
      form.append("y", String(py));
      form.append("k", "6");
      if (el.model.value) form.append("model", el.model.value);
      if (el.renderSize.value) form.append("render_size", el.renderSize.value);
      form.append("max_side", String(state.previewSide));
      // the guidance given so far: the model suggests with it in mind
      if (state.hints.length) form.append("hints", JSON.stringify(hintsJson()));
      if (state.reference && state.features.reference) form.append("reference", state.reference, state.reference.name);
      const response = await api("/api/suggest", form);
      const body = await response.json();
      if (state.picker !== picker) return;
      for (const { color, probability } of body.colors) {
        const swatch = document.createElement("button");
        swatch.type = "button";
        swatch.style.background = color;
        swatch.dataset.color = color;
        const percent = Math.round(probability * 100);
        swatch.setAttribute("aria-label", `Suggested colour ${color}, ${percent}% likely`);
        swatch.title = `${color} (${percent}%)`;
        const p = document.createElement("span");
        p.className = "p";
        p.textContent = `${percent}%`;
        swatch.append(p);
        swatch.addEventListener("click", () => applyPicker(color));
        el.suggestions.append(swatch);
      }
      if (body.colors.length) el.suggestions.firstElementChild.focus();
    } catch (error) {
      if (state.picker === picker) el.pickerNote.textContent = `At ${px}, ${py}. (No suggestions: ${describe(error)})`;
    }
  }

  function normalHex(color) {
    const c = String(color).trim();
    if (/^#[0-9a-f]{6}$/i.test(c)) return c.toLowerCase();
    if (/^#[0-9a-f]{3}$/i.test(c)) return "#" + [...c.slice(1)].map((d) => d + d).join("").toLowerCase();
    const probe = document.createElement("canvas").getContext("2d");
    probe.fillStyle = "#000000";
    probe.fillStyle = c; // CSS colour names
    return /^#[0-9a-f]{6}$/i.test(probe.fillStyle) ? probe.fillStyle : "#808080";
  }

  function applyPicker(color) {
    const picker = state.picker;
    if (!picker) return;
    if (picker.mode === "add") {
      state.hints.push({ x: picker.x, y: picker.y, color });
      state.selected = state.hints.length - 1;
    } else {
      state.hints[picker.index].color = color;
      state.selected = picker.index;
    }
    closePicker(true);
    drawHints();
    // A hint on the "before" side of the divider: move the divider so that its effect shows.
    const percent = ((picker.x + 0.5) / state.source.w) * 100;
    if (percent < Number(el.split.value)) updateSplit(Math.max(0, percent - 8));
    scheduleRender(0);
  }

  function closePicker(restoreFocus) {
    const picker = state.picker;
    state.picker = null;
    el.picker.hidden = true;
    if (restoreFocus && picker && picker.returnFocus && document.contains(picker.returnFocus)) {
      picker.returnFocus.focus();
    }
  }

  // ------------------------------------------------------------------------------------- pointer, keys

  function updateSplit(value) {
    const v = Math.min(100, Math.max(0, Number(value)));
    el.split.value = String(v);
    el.afterClip.style.clipPath = `inset(0 0 0 ${v}%)`;
    el.divider.style.left = `${v}%`;
  }

  let drag = null; // {kind: "grip" | "dot" | "click", index, startX, startY, moved}

  el.compare.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    const target = event.target;
    if (target.classList.contains("grip")) {
      drag = { kind: "grip" };
    } else if (target.classList.contains("hint-dot")) {
      const index = Number(target.dataset.index);
      state.selected = index;
      drag = { kind: "dot", index, startX: event.clientX, startY: event.clientY, moved: false, dot: target };
    } else {
      drag = { kind: "click", startX: event.clientX, startY: event.clientY };
    }
    el.compare.setPointerCapture(event.pointerId);
  });

  el.compare.addEventListener("pointermove", (event) => {
    if (!drag) return;
    if (drag.kind === "grip") {
      const rect = el.compare.getBoundingClientRect();
      updateSplit(((event.clientX - rect.left) / rect.width) * 100);
    } else if (drag.kind === "dot") {
      if (Math.hypot(event.clientX - drag.startX, event.clientY - drag.startY) > 3) drag.moved = true;
      if (drag.moved) {
        const point = toSource(pointFromEvent(event));
        const hint = state.hints[drag.index];
        hint.x = point.x;
        hint.y = point.y;
        drag.dot.style.left = `${((hint.x + 0.5) / state.source.w) * 100}%`;
        drag.dot.style.top = `${((hint.y + 0.5) / state.source.h) * 100}%`;
      }
    }
  });

  el.compare.addEventListener("pointerup", (event) => {
    const current = drag;
    drag = null;
    if (!current) return;
    if (current.kind === "dot") {
      drawHints();
      if (current.moved) scheduleRender(0);
      else openPicker({ mode: "edit", index: current.index, clientX: event.clientX, clientY: event.clientY });
    } else if (current.kind === "click") {
      if (Math.hypot(event.clientX - current.startX, event.clientY - current.startY) > 5) return;
      if (!hintsEnabled() || !state.source.w || !el.compare.dataset.ready) return;
      const point = toSource(pointFromEvent(event));
      openPicker({ mode: "add", x: point.x, y: point.y, clientX: event.clientX, clientY: event.clientY });
    }
  });

  el.compare.addEventListener("pointercancel", () => { drag = null; });

  el.compare.addEventListener("keydown", (event) => {
    const target = event.target;
    const step = event.shiftKey ? 0.002 : 0.01;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (target.classList.contains("hint-dot")) {
      const index = Number(target.dataset.index);
      const hint = state.hints[index];
      if (moves[event.key]) {
        event.preventDefault();
        const [dx, dy] = moves[event.key];
        hint.x = Math.min(state.source.w - 1, Math.max(0, Math.round(hint.x + dx * state.source.w) +
          Math.sign(dx) * (Math.abs(dx * state.source.w) < 1 ? 1 : 0)));
        hint.y = Math.min(state.source.h - 1, Math.max(0, Math.round(hint.y + dy * state.source.h) +
          Math.sign(dy) * (Math.abs(dy * state.source.h) < 1 ? 1 : 0)));
        state.selected = index;
        drawHints();
        el.hintsLayer.querySelector(`[data-index="${index}"]`).focus();
        scheduleRender(250);
      } else if (event.key === "Delete" || event.key === "Backspace") {
        event.preventDefault();
        removeHint(index);
      } else if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        openPicker({ mode: "edit", index, anchor: target });
      }
      return;
    }
    if (target !== el.compare || !hintsEnabled() || !state.source.w) return;
    if (moves[event.key]) {
      event.preventDefault();
      const [dx, dy] = moves[event.key];
      state.cursor.fx = Math.min(0.999, Math.max(0, state.cursor.fx + dx));
      state.cursor.fy = Math.min(0.999, Math.max(0, state.cursor.fy + dy));
      showCursor();
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      showCursor();
      const point = toSource(state.cursor);
      const rect = el.compare.getBoundingClientRect();
      openPicker({ mode: "add", x: point.x, y: point.y, anchor: el.compare,
        clientX: rect.left + state.cursor.fx * rect.width, clientY: rect.top + state.cursor.fy * rect.height });
    } else if (event.key === "Escape") {
      el.cursor.hidden = true;
    }
  });

  el.compare.addEventListener("focus", () => { if (hintsEnabled() && state.cursor.shown) showCursor(); });
  el.compare.addEventListener("blur", () => { el.cursor.hidden = true; });

  function showCursor() {
    state.cursor.shown = true;
    el.cursor.hidden = false;
    el.cursor.style.left = `${state.cursor.fx * 100}%`;
    el.cursor.style.top = `${state.cursor.fy * 100}%`;
  }

  el.picker.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      closePicker(true);
    }
  });
  el.pickerOk.addEventListener("click", () => applyPicker(el.pickerColor.value));
  el.pickerCancel.addEventListener("click", () => closePicker(true));
  el.pickerRemove.addEventListener("click", () => {
    const picker = state.picker;
    closePicker(false);
    if (picker && picker.mode === "edit") removeHint(picker.index);
  });
  document.addEventListener("pointerdown", (event) => {
    if (state.picker && !el.picker.contains(event.target) && !el.compare.contains(event.target)) closePicker(false);
  });

  // ------------------------------------------------------------------------------------------- controls

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

  for (const radio of document.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener("change", () => { if (radio.checked) setMode(radio.value); });
  }

  function bindRange(input, output, digits) {
    const show = () => { output.textContent = Number(input.value).toFixed(digits); };
    input.addEventListener("input", () => { show(); scheduleRender(200); });
    show();
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
    openPhoto(file);
  });
  setupDrop(el.drop, openPhoto);
  setupDrop(el.compare, openPhoto);
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());

  el.clearHints.addEventListener("click", () => {
    state.hints = [];
    state.selected = -1;
    drawHints();
    scheduleRender(0);
  });

  // Hints are saved as the hint file of the command line: `deepcolor colorize PHOTO --hints PHOTO.json`.
  el.saveHints.addEventListener("click", () => {
    const blob = new Blob([JSON.stringify(hintsJson(), null, 2) + "\n"], { type: "application/json" });
    saveBlob(blob, `${state.stem}.json`);
    setStatus(`Saved ${state.hints.length} hints as ${state.stem}.json (deepcolor colorize ${state.file.name} --hints ${state.stem}.json)`);
  });

  el.loadHints.addEventListener("change", async () => {
    const file = el.loadHints.files[0];
    el.loadHints.value = "";
    if (!file || !state.file) {
      if (!state.file) showError("Choose a photo first, then load its hints.");
      return;
    }
    try {
      state.hints = parseHintFile(file.name, await file.text());
      state.selected = -1;
      clearError();
      drawHints();
      scheduleRender(0);
      setStatus(`Loaded ${state.hints.length} hints from ${file.name}`);
    } catch (error) {
      showError(error.message);
    }
  });

  function parseHintFile(name, text) {
    let data;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new Error(`${name}: not valid JSON (${error.message})`);
    }
    const points = Array.isArray(data) ? data : data && data.points;
    if (!Array.isArray(points)) throw new Error(`${name}: expected {"points": [{"x": ..., "y": ..., "color": ...}]}`);
    const { w, h } = state.source;
    return points.map((p, i) => {
      if (!p || typeof p.x !== "number" || typeof p.y !== "number" || typeof p.color !== "string") {
        throw new Error(`${name}: point ${i + 1} needs numbers x, y and a color string`);
      }
      if (!(p.x >= 0 && p.x < w && p.y >= 0 && p.y < h)) {
        throw new Error(`${name}: point ${i + 1} (${p.x}, ${p.y}) is outside the ${w} x ${h} photo`);
      }
      const hint = { x: p.x, y: p.y, color: p.color };
      if (typeof p.radius === "number") hint.radius = p.radius;
      return hint;
    });
  }

  async function openReference(file) {
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

  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  el.download.addEventListener("click", async () => {
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
  });

  el.tokenSave.addEventListener("click", () => {
    state.token = el.token.value.trim();
    sessionStorage.setItem("deepcolor-token", state.token);
    el.tokenGroup.hidden = true;
    start();
  });

  // ----------------------------------------------------------------------------------------------- start

  function applyFeatures() {
    const f = state.features;
    if (!f.hints) {
      el.hintsNote.textContent = "Colour hints need the hint-aware model, which this installation does not have yet.";
      el.loadHints.disabled = true;
      el.loadHints.labels[0].setAttribute("aria-disabled", "true");
    }
    if (!f.reference) {
      el.reference.disabled = true;
      el.referenceText.textContent = "Reference photos need the hint-aware model (not in this installation yet).";
      el.reference.labels[0].hidden = true;
    }
    if (!f.uncertainty) {
      el.uncertainty.disabled = true;
      el.uncertaintyNote.textContent = "The uncertainty map needs the hint-aware model (not in this installation yet).";
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

  updateSplit(el.split.value);
  window.deepcolorPage = { pixelAt, state }; // for the browser tests
  start();
})();
