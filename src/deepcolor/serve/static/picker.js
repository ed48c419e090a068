// The colour picker of a hint: the model's suggested colours first (from /api/suggest, with the guidance
// given so far), any colour after; it adds a hint, or changes or removes one.
import { api, describe } from "./api.js";
import { drawHints, hintsJson, removeHint } from "./hints.js";
import { el, pixelAt, scheduleRender, state, updateSplit } from "./viewer.js";

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

// A CSS colour -> #rrggbb (what <input type=color> takes).
function normalHex(color) {
  const c = String(color).trim();
  if (/^#[0-9a-f]{6}$/i.test(c)) return c.toLowerCase();
  if (/^#[0-9a-f]{3}$/i.test(c)) return "#" + [...c.slice(1)].map((d) => d + d).join("").toLowerCase();
  const probe = document.createElement("canvas").getContext("2d");
  probe.fillStyle = "#000000";
  probe.fillStyle = c; // CSS colour names
  return /^#[0-9a-f]{6}$/i.test(probe.fillStyle) ? probe.fillStyle : "#808080";
}

export async function openPicker({ mode, index, x, y, anchor, clientX, clientY }) {
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

export function closePicker(restoreFocus) {
  const picker = state.picker;
  state.picker = null;
  el.picker.hidden = true;
  if (restoreFocus && picker && picker.returnFocus && document.contains(picker.returnFocus)) {
    picker.returnFocus.focus();
  }
}

export function setupPicker() {
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
}
