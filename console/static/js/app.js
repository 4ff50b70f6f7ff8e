// Switchboard: keyboard shortcuts, the detail panel, and visible request errors.
// No inline handlers anywhere: everything is bound here (CSP friendly).
(function () {
  "use strict";

  function panel() { return document.getElementById("panel"); }

  function closePanel() {
    var p = panel();
    if (!p || !p.firstElementChild) return false;
    var opener = p.dataset.openerRow;
    p.innerHTML = "";
    if (history.state && history.state.htmx) {
      history.back(); // the list URL the panel was opened from
    } else {
      history.replaceState(null, "", p.dataset.listUrl || location.pathname.replace(/[^/]+\/$/, ""));
    }
    var row = opener && document.getElementById(opener);
    if (row) row.focus();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target.closest && target.closest("input, select, textarea, [contenteditable]");
    if (event.key === "/" && !typing) {
      var search = document.querySelector("[data-search]");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
    } else if (event.key === "Escape") {
      var editing = target.closest && target.closest("[data-edit-form]");
      if (editing) {  // Esc cancels an inline edit before it closes anything else
        var cancel = editing.querySelector("[data-cancel]");
        if (cancel) { event.preventDefault(); cancel.click(); }
        return;
      }
      if (closePanel()) event.preventDefault();
    } else if (event.key === "e" && !typing && target.matches && target.matches("tr[tabindex]")) {
      var edit = target.querySelector("[data-edit-label]");
      if (edit) { event.preventDefault(); edit.click(); }
    } else if (event.key === "Enter" && target.matches && target.matches("tr[tabindex]")) {
      var link = target.querySelector("[data-open]");
      if (link) { event.preventDefault(); link.click(); }
    }
  });

  document.addEventListener("click", function (event) {
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

  // Focus the panel's heading after it opens, for keyboard and screen-reader users.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "panel") {
      var heading = event.detail.target.querySelector("h2");
      if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
    }
    hideError();
  });

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
