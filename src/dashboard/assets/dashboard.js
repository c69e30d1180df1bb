// hrp-cron dashboard: the page's only script (loaded with the CSP nonce; no inline handlers, no eval).
// It adds comfort, never function: every page and action works without it.
// - live refresh: regions marked data-live are re-read from the server at the chosen interval, paused while
//   the tab is hidden and while the user has a box ticked or a field focused inside the region;
// - "select all" boxes and a count of the selection;
// - a confirmation for forms marked data-confirm.
(function () {
  "use strict";
  var KEY = "hrp-cron.refresh-s";
  var timer = null;

  function regions() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-live][id]"));
  }

  function busy(region) {
    return region.querySelector("input[type=checkbox]:checked") !== null || region.contains(document.activeElement);
  }

  function refresh() {
    if (document.hidden || regions().length === 0) return;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "hrp-cron-refresh" } })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (text) {
        if (text === null) return;
        var next = new DOMParser().parseFromString(text, "text/html");
        regions().forEach(function (region) {
          var fresh = next.getElementById(region.id);
          if (fresh && !busy(region)) region.innerHTML = fresh.innerHTML;
        });
        wire(document);
      })
      .catch(function () {
        // The server is unreachable for now; the next tick tries again.
      });
  }

  function schedule(seconds) {
    if (timer !== null) window.clearInterval(timer);
    timer = seconds > 0 ? window.setInterval(refresh, seconds * 1000) : null;
  }

  function updateCount(form) {
    var out = form.querySelector("[data-selection-count]");
    if (!out) return;
    var n = form.querySelectorAll("input[name=ids]:checked").length;
    out.textContent = n > 0 ? String(n) + " ✓" : "";
  }

  function wire(root) {
    root.querySelectorAll("[data-select-all]").forEach(function (box) {
      if (box.dataset.wired) return;
      box.dataset.wired = "1";
      box.addEventListener("change", function () {
        var form = box.closest("form");
        form.querySelectorAll("input[name=ids]").forEach(function (b) {
          b.checked = box.checked;
        });
        updateCount(form);
      });
    });
    root.querySelectorAll("input[name=ids]").forEach(function (b) {
      if (b.dataset.wired) return;
      b.dataset.wired = "1";
      b.addEventListener("change", function () {
        updateCount(b.closest("form"));
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var select = document.querySelector("[data-refresh-select]");
    var saved = Number(window.localStorage.getItem(KEY) || "0");
    if (select) {
      if (select.querySelector('option[value="' + saved + '"]')) select.value = String(saved);
      select.addEventListener("change", function () {
        window.localStorage.setItem(KEY, select.value);
        schedule(Number(select.value));
      });
    }
    schedule(saved);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && timer !== null) refresh();
    });
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var message = form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) event.preventDefault();
    });
    wire(document);
  });
})();
