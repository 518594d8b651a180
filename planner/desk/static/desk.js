// The desk's only script: a workbook dropped on the form, and a run's progress followed.
// Pages work without it (the file input and a <noscript> refresh). Text is only ever set
// with textContent, never as markup.
(function () {
  "use strict";

  function describeSize(bytes) {
    if (bytes >= 1048576) { return (bytes / 1048576).toFixed(1) + " MB"; }
    if (bytes >= 1024) { return Math.round(bytes / 1024) + " KB"; }
    return bytes + " bytes";
  }

  // --- the submit form: drag and drop, and the size limit checked before sending ---
  var zone = document.getElementById("dropzone");
  var input = document.getElementById("workbook");
  var chosen = document.getElementById("chosen-file");
  var warning = document.getElementById("size-warning");
  var button = document.getElementById("submit-button");
  function showChosen() {
    if (!input || !input.files || !input.files.length) { return; }
    var file = input.files[0];
    var limit = Number(zone.getAttribute("data-max-bytes")) || 0;
    chosen.textContent = file.name + " (" + describeSize(file.size) + ")";
    var tooLarge = limit > 0 && file.size > limit;
    warning.hidden = !tooLarge;
    warning.textContent = tooLarge ? file.name + " is larger than the limit of " + describeSize(limit) + "." : "";
    if (button) { button.disabled = tooLarge; }
  }
  if (zone && input) {
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "dragend", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        showChosen();
      }
    });
    input.addEventListener("change", showChosen);
  }

  // --- a run's progress: poll its JSON once a second, reload when it has ended ---
  var progress = document.getElementById("progress");
  if (progress) {
    var url = progress.getAttribute("data-poll");
    var bar = document.getElementById("progress-bar");
    var stage = document.getElementById("progress-stage");
    var detail = document.getElementById("progress-detail");
    var status = document.getElementById("run-status");
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (run) {
          if (!run) { setTimeout(poll, 3000); return; }
          if (run.status !== "queued" && run.status !== "running") { window.location.reload(); return; }
          var p = run.progress || {};
          var share = 0;
          if (p.time_limit_s > 0 && p.elapsed_s >= 0) { share = Math.min(1, p.elapsed_s / p.time_limit_s); }
          if (run.kind !== "solve" && p.total > 0 && p.done >= 0) { share = Math.min(1, p.done / p.total); }
          bar.style.width = (share * 100).toFixed(1) + "%";
          stage.textContent = p.stage || run.status;
          var parts = [];
          if (p.elapsed_s) { parts.push(p.elapsed_s.toFixed(1) + " s" + (p.time_limit_s ? " of " + Math.round(p.time_limit_s) + " s" : "")); }
          if (p.total) { parts.push((p.done || 0) + " of " + p.total + " solves"); }
          if (p.weighted_reach !== null && p.weighted_reach !== undefined) { parts.push("best weighted reach so far " + p.weighted_reach.toFixed(1)); }
          detail.textContent = parts.join(" · ");
          status.textContent = run.status;
          status.setAttribute("data-status", run.status);
          progress.setAttribute("data-status", run.status);
          setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 1000);
  }

  // --- a comparison being computed: look again every two seconds ---
  var comparing = document.getElementById("compare-status");
  if (comparing && comparing.getAttribute("data-state") === "computing") {
    setTimeout(function () { window.location.reload(); }, 2000);
  }
})();
