// Polled panels (the status panel, the lists' rows, the dashboards), issue 20:
// - the live marks tell the truth about the connection: a poll that fails shows it on the mark; the
//   next good answer replaces the panel, mark included, and so clears it;
// - what changed is announced in a few words in the page's one polite live region (#announcer),
//   never by making the whole panel a live region that is read again every 2 s;
// - polls pause while the tab is hidden (data-pause-hidden), here rather than in an hx-trigger
//   filter, which htmx would have to eval (the Content-Security-Policy allows no eval).
(function () {
  "use strict";

  // ----- The words, in the page's language --------------------------------------------------------
  // The template renders them as data-text-* attributes of #announcer (templates/console/includes/
  // _live_texts.html): no inline script, no JavaScript catalogue. English when an attribute is missing.
  var ENGLISH = {
    more: "and %(count)s more changed", back: "Connection back", lost: "connection lost, retrying…",
    answered: "the console answered %(status)s, retrying…", error: "an error",
    updatedNow: "live · updated just now", updated: "live · updated %(seconds)s s ago",
    change: "%(name)s: %(text)s", separator: "; "
  };
  function text(key, values) {
    var region = document.getElementById("announcer");
    var attr = "text" + key.charAt(0).toUpperCase() + key.slice(1);
    var words = (region && region.dataset[attr]) || ENGLISH[key];
    return words.replace(/%\((\w+)\)s/g, function (all, name) {
      return values && name in values ? String(values[name]) : all;
    });
  }

  // ----- Saying things to screen readers, politely ---------------------------------------------
  var pending = null;
  function announce(message) {
    var region = document.getElementById("announcer");
    if (!region || !message) return;
    // Emptied first and filled a moment later, so that the same words said twice are read twice.
    region.textContent = "";
    if (pending) clearTimeout(pending);
    pending = setTimeout(function () { region.textContent = message; pending = null; }, 100);
  }

  // Elements marked data-announce="<what it is>" in a polled panel: their text before a swap, by
  // that name, to compare with the text the new answer brings.
  function announced(root) {
    var texts = new Map();
    if (!root || !root.querySelectorAll) return texts;
    root.querySelectorAll("[data-announce]").forEach(function (elt) {
      texts.set(elt.getAttribute("data-announce"), elt.textContent.replace(/\s+/g, " ").trim());
    });
    return texts;
  }
  var before = new WeakMap();
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target) before.set(target, announced(target));
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    var old = target && before.get(target);
    if (!old) return;
    before.delete(target);
    var changes = [];
    announced(target).forEach(function (now, name) {
      if (old.get(name) !== now) changes.push(text("change", {name: name, text: now})); // changed, or new in the panel
    });
    if (changes.length > 3) changes = changes.slice(0, 3).concat([text("more", {count: changes.length - 3})]);
    var recovered = target.getAttribute("data-connection") === "lost";
    if (recovered) {
      target.removeAttribute("data-connection");
      changes.unshift(text("back"));
    }
    if (changes.length) announce(changes.join(text("separator")));
  });

  // ----- The live marks ----------------------------------------------------------------------------
  function marks(elt) {
    var own = elt && elt.querySelectorAll ? elt.querySelectorAll(".live-mark") : [];
    return own.length ? own : document.querySelectorAll(".live-mark");
  }
  function lost(event, message) {
    var elt = event.detail && event.detail.elt;
    var found = marks(elt);
    var first = elt && elt.getAttribute && elt.getAttribute("data-connection") !== "lost";
    found.forEach(function (mark) {
      mark.textContent = message;
      mark.classList.add("lost");
    });
    if (elt && elt.setAttribute) elt.setAttribute("data-connection", "lost");
    if (first) announce(message.charAt(0).toUpperCase() + message.slice(1));
  }
  document.addEventListener("htmx:sendError", function (event) {
    lost(event, text("lost"));
  });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail && event.detail.xhr ? event.detail.xhr.status : text("error");
    lost(event, text("answered", {status: status}));
  });

  // A live mark says when its data was last confirmed: the time since the panel was last filled
  // by a good answer (the browser's own clock, so no skew with the server's).
  var received = new WeakMap();
  function tick() {
    document.querySelectorAll(".live-mark[data-live]").forEach(function (mark) {
      if (mark.classList.contains("lost")) return;
      if (!received.has(mark)) received.set(mark, Date.now());
      var seconds = Math.floor((Date.now() - received.get(mark)) / 1000);
      mark.textContent = seconds < 1 ? text("updatedNow") : text("updated", {seconds: seconds});
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 1000);

  // ----- Polls pause while the tab is hidden -------------------------------------------------------
  // A poll of an element marked data-pause-hidden is not sent while the page is not visible; the
  // element says so (data-paused="hidden") until its next poll goes out.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-pause-hidden")) return;
    if (document.visibilityState === "visible") {
      elt.removeAttribute("data-paused");
      return;
    }
    event.preventDefault();
    elt.setAttribute("data-paused", "hidden");
  });
})();
