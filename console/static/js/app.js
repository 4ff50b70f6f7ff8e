// Switchboard: keyboard shortcuts, the detail panel, and visible request errors.
// No inline handlers anywhere: everything is bound here (CSP friendly).
(function () {
  "use strict";

  function panel() { return document.getElementById("panel"); }

  // Set when closing the panel goes back in history: htmx restores the list from
  // its snapshot (new elements), then the row that opened the panel gets focus again.
  var focusAfterRestore = "";

  function closePanel() {
    var p = panel();
    if (!p || !p.firstElementChild) return false;
    var opener = p.dataset.openerRow;
    p.innerHTML = "";
    if (history.state && history.state.htmx) {
      focusAfterRestore = opener || "";
      history.back(); // the list URL the panel was opened from
    } else {
      history.replaceState(null, "", p.dataset.listUrl || location.pathname.replace(/[^/]+\/$/, ""));
    }
    focusRow(opener && document.getElementById(opener));
    return true;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("table[data-rows] tbody tr[tabindex]"));
  }

  function focusRow(row) {
    if (!row) return false;
    row.focus();
    row.scrollIntoView({ block: "nearest" });
    return true;
  }

  // j/k and the arrow keys: the next or previous row; from outside the table, the first.
  function moveRow(target, step) {
    var all = rows();
    if (!all.length) return false;
    var current = target.closest && target.closest("table[data-rows] tbody tr[tabindex]");
    var at = current ? all.indexOf(current) : -1;
    var next = at < 0 ? all[0] : all[Math.min(Math.max(at + step, 0), all.length - 1)];
    return focusRow(next);
  }

  function shortcuts() { return document.getElementById("shortcuts"); }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var typing = target.closest && target.closest("input, select, textarea, button, [contenteditable]");
    var onRow = target.matches && target.matches("table[data-rows] tbody tr[tabindex]");
    var dialog = shortcuts();
    if (dialog && dialog.open) return; // the dialog handles its own keys (Esc closes it)
    if (event.key === "/" && !typing) {
      var search = document.querySelector("[data-search]");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
    } else if (event.key === "?" && !typing) {
      if (dialog && dialog.showModal) { event.preventDefault(); dialog.showModal(); }
    } else if ((event.key === "j" || event.key === "k") && !typing) {
      if (moveRow(target, event.key === "j" ? 1 : -1)) event.preventDefault();
    } else if ((event.key === "ArrowDown" || event.key === "ArrowUp") && onRow) {
      if (moveRow(target, event.key === "ArrowDown" ? 1 : -1)) event.preventDefault();
    } else if (event.key === "Escape") {
      var editing = target.closest && target.closest("[data-edit-form]");
      if (editing) {  // Esc cancels an inline edit before it closes anything else
        var cancel = editing.querySelector("[data-cancel]");
        if (cancel) { event.preventDefault(); cancel.click(); }
        return;
      }
      if (closePanel()) event.preventDefault();
    } else if (event.key === "e" && onRow) {
      var edit = target.querySelector("[data-edit-label]");
      if (edit) { event.preventDefault(); edit.click(); }
    } else if (event.key === "Enter" && onRow) {
      var link = target.querySelector("[data-open]");
      if (link) { event.preventDefault(); link.click(); }
    }
  });

  document.addEventListener("htmx:historyRestore", function () {
    if (focusAfterRestore) focusRow(document.getElementById(focusAfterRestore));
    focusAfterRestore = "";
    localTimes(document);
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-close-dialog]")) {
      var dialog = event.target.closest("dialog");
      if (dialog) dialog.close();
      return;
    }
    // The skip link to the results lands on the first row, where j/k start.
    var skip = event.target.closest("[data-skip-to-rows]");
    if (skip && focusRow(rows()[0])) { event.preventDefault(); return; }
    var close = event.target.closest("[data-close-panel]");
    if (close && panel() && panel().contains(close)) {
      event.preventDefault();
      closePanel();
      return;
    }
    var open = event.target.closest("[data-open]");
    if (open && panel()) {
      var row = open.closest("tr");
      panel().dataset.openerRow = row ? row.id : "";
      panel().dataset.listUrl = location.pathname + location.search;
    }
    // Removing a filter chip resets its control, so the next change does not restore it.
    var chip = event.target.closest("[data-clear-field]");
    if (chip) {
      var form = document.getElementById("filters");
      var field = form && form.elements[chip.dataset.clearField];
      if (field) field.value = "";
    }
  });

  // The filter form requests on "change"; the search box has its own debounced
  // request that replaces the URL, so its change (on blur) must not also push one.
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-search]")) event.stopPropagation();
  }, true);

  // Empty filters stay out of the URL: short, shareable, and equal to what a
  // plain form submit of the same state would give after the server's defaults.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") return;
    var params = event.detail.parameters;
    var keys = params instanceof FormData ? Array.from(params.keys()) : Object.keys(params);
    keys.forEach(function (key) {
      var value = params instanceof FormData ? params.get(key) : params[key];
      if (value === "" || value === null) {
        if (params instanceof FormData) params.delete(key); else delete params[key];
      }
    });
  });

  // Mark content htmx has finished processing (its triggers are bound), so that
  // scripted users - the browser tests - can wait for it without evaluating JS.
  document.addEventListener("htmx:load", function (event) {
    if (event.detail.elt && event.detail.elt.setAttribute) {
      event.detail.elt.setAttribute("data-htmx-ready", "");
    }
  });

  // After a swap: the panel's heading gets focus when it opens; a row's edit form
  // its first field; a row saved or cancelled in place gets focus back (the
  // element that had it is gone, so it would fall to <body>); the list's status
  // region says what the new results are.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "panel") {
      var heading = target.querySelector("h2");
      if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
    } else if (target && target.tagName === "TR" && target.id) {
      var row = document.getElementById(target.id);
      var field = row && row.querySelector("[data-edit-form] input:not([type=hidden]), [data-edit-form] select");
      if (field) field.focus();
      else if (row && (document.activeElement === document.body || !document.activeElement)) focusRow(row);
    }
    if (target) {
      var text = target.querySelector && target.querySelector("[data-status-text]");
      var live = document.querySelector("[data-live-status]");
      if (text && live) live.textContent = text.textContent;
      localTimes(target);
    }
    hideError();
  });

  // A table fragment says which saved view its list is (#view-state, swapped out of
  // band: numbers/_views_state.html); its link is marked as the whole page marks it.
  function markOpenView() {
    var state = document.getElementById("view-state");
    if (!state) return;
    document.querySelectorAll("a[data-view-key]").forEach(function (link) {
      var open = link.dataset.viewKey === state.dataset.viewKey;
      if (open) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
      var item = link.closest("li");
      if (item) item.classList.toggle("current", open);
    });
  }
  document.addEventListener("htmx:afterSettle", markOpenView);

  // Times: the server writes UTC ("2025-03-01 14:02 UTC", the exact ISO time in
  // datetime and title, console/times.py); here they become the reader's zone.
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function zoneName(date) {
    try {
      var parts = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(date);
      for (var i = 0; i < parts.length; i++) if (parts[i].type === "timeZoneName") return parts[i].value;
    } catch (e) { /* an old browser: the offset below */ }
    var offset = -date.getTimezoneOffset();
    return "UTC" + (offset < 0 ? "-" : "+") + pad(Math.floor(Math.abs(offset) / 60)) + ":" + pad(Math.abs(offset) % 60);
  }
  function localTimes(root) {
    if (!root || !root.querySelectorAll) return;
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date)) return;
      var text = date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
        " " + pad(date.getHours()) + ":" + pad(date.getMinutes()) +
        (el.hasAttribute("data-seconds") ? ":" + pad(date.getSeconds()) : "") + " " + zoneName(date);
      el.textContent = text;
      el.removeAttribute("data-local"); // done; a second pass leaves it alone
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { localTimes(document); });
  } else {
    localTimes(document);
  }

  function showError(text) {
    var banner = document.getElementById("error-banner");
    if (!banner) return;
    banner.textContent = text;
    banner.hidden = false;
  }
  function hideError() {
    var banner = document.getElementById("error-banner");
    if (banner) banner.hidden = true;
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : "";
    showError("The request failed (" + status + "). Nothing was changed; try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    showError("The server could not be reached. Check your connection and try again.");
  });
})();
