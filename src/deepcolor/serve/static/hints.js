// Colour hints on the photo: the dots and the list, adding and moving them with the pointer or the keyboard,
// saving them as the command line's hint file and loading one back. The page checks only a hint file's
// shape (points with x and y); what a colour or a position may be is the server's to judge
// (deepcolor.hints.points), and a file it refuses leaves the hints as they were.
import { openPicker } from "./picker.js";
import {
  clearError, el, render, saveBlob, scheduleRender, setStatus, showError, state, updateSplit,
} from "./viewer.js";

// The hint file's dict: {"points": [{x, y, color[, radius]}]}, in pixels of the photo.
export function hintsJson(hints = state.hints) {
  const points = hints.map((h) => {
    const point = { x: Math.round(h.x), y: Math.round(h.y), color: h.color };
    if (h.radius !== undefined) point.radius = h.radius;
    return point;
  });
  return { points };
}

export function hintsEnabled() {
  return state.mode === "colorize" && state.features.hints;
}

export function drawHints() {
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

export function removeHint(i) {
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

function showCursor() {
  state.cursor.shown = true;
  el.cursor.hidden = false;
  el.cursor.style.left = `${state.cursor.fx * 100}%`;
  el.cursor.style.top = `${state.cursor.fy * 100}%`;
}

// --------------------------------------------------------------------------------------- files of hints

// The shape of a hint file: {"points": [...]} or a bare list, each point an object with numbers x and y
// (where its dot goes). Everything else (the colour, the position, the radius) the server judges.
export function hintsFromText(name, text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`${name}: not valid JSON (${error.message})`);
  }
  const points = Array.isArray(data) ? data : data && data.points;
  if (!Array.isArray(points)) throw new Error(`${name}: expected {"points": [{"x": ..., "y": ..., "color": ...}]}`);
  return points.map((p, i) => {
    if (!p || typeof p !== "object" || typeof p.x !== "number" || typeof p.y !== "number") {
      throw new Error(`${name}: point ${i + 1} is not an object with numbers x and y`);
    }
    return { ...p };
  });
}

async function loadHintFile(file) {
  if (!state.file) {
    showError("Choose a photo first, then load its hints.");
    return;
  }
  let hints;
  try {
    hints = hintsFromText(file.name, await file.text());
  } catch (error) {
    showError(error.message);
    return;
  }
  const previous = state.hints;
  state.hints = hints;
  state.selected = -1;
  clearError();
  drawHints();
  if (await render()) {
    setStatus(`Loaded ${hints.length} hints from ${file.name}`);
  } else if (state.hints === hints && el.error.textContent) {
    // the server refused them: its line stays, and so do the hints the photo had
    state.hints = previous;
    drawHints();
    showError(`${file.name}: ${el.error.textContent}`);
  }
}

// ---------------------------------------------------------------------------------------------- wiring

export function setupHints() {
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

  el.loadHints.addEventListener("change", () => {
    const file = el.loadHints.files[0];
    el.loadHints.value = "";
    if (file) loadHintFile(file);
  });
}
