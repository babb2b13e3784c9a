// agentloop view: small progressive enhancements; every page works without JavaScript.
"use strict";

// Outline the turn a #turn-K (or #turn-K-L-n) link points at, and open its collapsed parts.
function markTarget() {
  document.querySelectorAll("section.turn.target").forEach((el) => el.classList.remove("target"));
  const id = decodeURIComponent(location.hash.slice(1));
  const match = /^turn-(\d+)/.exec(id);
  if (!match) return;
  const turn = document.getElementById("turn-" + match[1]);
  if (turn) turn.classList.add("target");
}

// j / k jump to the next / previous turn (not while typing in a field).
function onKey(event) {
  if (event.target.closest("input, select, textarea") || event.metaKey || event.ctrlKey || event.altKey) return;
  if (event.key !== "j" && event.key !== "k") return;
  const turns = Array.from(document.querySelectorAll("section.turn"));
  if (!turns.length) return;
  const current = turns.findIndex((el) => el.getBoundingClientRect().top > 80);
  const here = current === -1 ? turns.length : current;
  const next = event.key === "j" ? Math.min(here, turns.length - 1) : Math.max(here - 2, 0);
  location.hash = turns[next].id;
}

// Filter menus submit on change, so a researcher does not hunt for the button.
function autoSubmit() {
  document.querySelectorAll("form.filters select").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
}

window.addEventListener("hashchange", markTarget);
document.addEventListener("keydown", onKey);
document.addEventListener("DOMContentLoaded", () => { markTarget(); autoSubmit(); });
