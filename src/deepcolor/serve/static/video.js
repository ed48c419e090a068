// A video dropped or chosen on the page: uploaded to POST /api/videos as a job, its progress and a preview of
// the current frame polled from GET /api/videos/{id}[/preview], cancelled with DELETE, its result downloaded
// once (the server removes it after that). The photo tools are left as they are; the reference photo chosen
// there, if any, steers the clip too.
import { api, describe } from "./api.js";
import { saveBlob, showError, clearError, tooLarge, state } from "./viewer.js";

const $ = (id) => document.getElementById(id);
const ui = {
  box: $("video"), name: $("video-name"), progress: $("video-progress"), text: $("video-status"),
  preview: $("video-preview"), cancel: $("video-cancel"), download: $("video-download"),
};
const job = { id: null, timer: 0, done: -1, url: null, resultName: "" };
const POLL_MS = 400;
const VIDEO_SUFFIXES = [".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts",
  ".m2ts", ".wmv", ".flv", ".ogv", ".3gp", ".mxf", ".vob"];

// Whether a dropped or chosen file is a clip (by its type, else its name).
export function isVideo(file) {
  if (file.type && file.type.startsWith("video/")) return true;
  const name = file.name.toLowerCase();
  return VIDEO_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

function say(text) {
  ui.text.textContent = text;
}

function stopPolling() {
  clearTimeout(job.timer);
  job.timer = 0;
}

async function showPreview() {
  try {
    const response = await api(`/api/videos/${job.id}/preview`);
    const old = job.url;
    job.url = URL.createObjectURL(await response.blob());
    ui.preview.src = job.url;
    ui.preview.hidden = false;
    if (old) setTimeout(() => URL.revokeObjectURL(old), 1000);
  } catch (_) { /* no frame yet, or the job went: the next poll says */ }
}

async function poll() {
  const id = job.id;
  if (!id) return;
  try {
    const body = await (await api(`/api/videos/${id}`)).json();
    if (job.id !== id) return;
    const total = body.frames_total;
    if (total) {
      ui.progress.max = total;
      ui.progress.value = body.frames_done;
    }
    const counted = total ? `${body.frames_done} of ${total} frames` : `${body.frames_done} frames`;
    if (body.frames_done !== job.done) {
      job.done = body.frames_done;
      if (job.done > 0) await showPreview();
    }
    ui.box.dataset.state = body.state;
    if (body.state === "queued") say("Waiting for the server…");
    else if (body.state === "running") say(`Colorizing: ${counted}`);
    else if (body.state === "done") {
      say(`Done: ${counted}. Ready to download.`);
      ui.progress.value = ui.progress.max;
      ui.cancel.disabled = true;
      ui.download.disabled = false;
      return;
    } else {
      say(body.state === "failed" ? `Failed: ${body.error}` : "Cancelled.");
      ui.cancel.disabled = true;
      return;
    }
  } catch (error) {
    if (job.id !== id) return;
    showError(describe(error));
    ui.cancel.disabled = true;
    return;
  }
  job.timer = setTimeout(poll, POLL_MS);
}

// Start a job for `file` (a new one replaces the one shown, which is cancelled if still running).
export async function openVideo(file) {
  if (!file) return;
  const problem = tooLarge(file);
  if (problem) {
    showError(problem);
    return;
  }
  if (job.id && ui.box.dataset.state !== "done") cancelVideo();
  stopPolling();
  clearError();
  job.id = null;
  job.done = -1;
  ui.box.hidden = false;
  ui.box.dataset.state = "uploading";
  ui.name.textContent = file.name;
  ui.preview.hidden = true;
  ui.progress.removeAttribute("value");
  ui.download.disabled = true;
  ui.cancel.disabled = true;
  const form = new FormData();
  form.append("file", file, file.name);
  const reference = state.reference && state.features.reference ? state.reference : null;
  if (reference) form.append("reference", reference, reference.name);
  say(reference ? `Uploading… (following the colours of ${reference.name})` : "Uploading…");
  try {
    const body = await (await api("/api/videos", form)).json();
    job.id = body.id;
    job.resultName = body.result_name;
    ui.box.dataset.job = body.id;
    ui.cancel.disabled = false;
    poll();
  } catch (error) {
    ui.box.dataset.state = "refused";
    say("");
    showError(describe(error));
  }
}

async function cancelVideo() {
  const id = job.id;
  if (!id) return;
  stopPolling();
  ui.cancel.disabled = true;
  try {
    await api(`/api/videos/${id}`, null, { method: "DELETE" });
    if (job.id === id) {
      ui.box.dataset.state = "cancelled";
      say("Cancelled.");
    }
  } catch (error) {
    showError(describe(error));
  }
}

async function downloadVideo() {
  if (!job.id) return;
  ui.download.disabled = true;
  say("Downloading…");
  try {
    const blob = await (await api(`/api/videos/${job.id}/result`)).blob();
    saveBlob(blob, job.resultName);
    say(`Downloaded ${job.resultName} (${(blob.size / 1048576).toFixed(1)} MB)`);
    ui.box.dataset.state = "downloaded";
    job.id = null;
  } catch (error) {
    showError(describe(error));
    ui.download.disabled = false;
  }
}

export function setupVideo() {
  ui.cancel.addEventListener("click", cancelVideo);
  ui.download.addEventListener("click", downloadVideo);
}
