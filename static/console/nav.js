// Page behaviour that used to be inline (the Content-Security-Policy allows no inline script) and
// the small-screen navigation (issue 20). Loaded with `defer` by templates/console/base.html.
(function () {
  "use strict";

  // The menu button: on narrow screens (console.css) the header's menu and the kinds' navigation
  // collapse behind it. Without this script the button stays hidden and everything shows.
  function setUpMenu() {
    var toggle = document.getElementById("nav-toggle");
    if (!toggle) return;
    function expand(open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      document.body.classList.toggle("menu-collapsed", !open);
    }
    toggle.hidden = false;
    expand(false);
    toggle.addEventListener("click", function () {
      expand(toggle.getAttribute("aria-expanded") !== "true");
    });
    // Escape closes an open menu and gives the focus back to its button.
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || toggle.getAttribute("aria-expanded") !== "true") return;
      if (getComputedStyle(toggle).display === "none") return; // a wide screen: no menu to close
      expand(false);
      toggle.focus();
    });
  }

  // <select data-autosubmit>: choosing an option submits its form (the list's namespace filter).
  function setUpAutosubmit() {
    document.addEventListener("change", function (event) {
      var target = event.target;
      if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
        target.form.requestSubmit();
      }
    });
  }

  // A wide table scrolls inside its .table-scroll box; while it does, the box is a named, focusable
  // region so that keyboard users can scroll it too (WCAG 2.1.1). Boxes that fit stay out of the tab
  // order. Boxes come and go with htmx swaps, so each is looked at whenever it or the page changes size.
  // A box with a role of its own in the markup (a form's group of rows) keeps it and its name.
  var watched = new WeakSet();
  var ownRole = new WeakMap();
  var observer = window.ResizeObserver ? new ResizeObserver(function (entries) {
    entries.forEach(function (entry) {
      var box = entry.target.closest(".table-scroll");
      if (box) fitScrollBox(box);
    });
  }) : null;
  function fitScrollBox(box) {
    var table = box.querySelector("table");
    if (table && observer && !watched.has(table)) { observer.observe(table); watched.add(table); }
    if (!ownRole.has(box)) ownRole.set(box, box.hasAttribute("role"));
    var named = !ownRole.get(box);
    if (box.scrollWidth > box.clientWidth + 1) {
      box.setAttribute("tabindex", "0");
      if (named) {
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", box.getAttribute("data-label") || "Table");
      }
    } else {
      box.removeAttribute("tabindex");
      if (named) {
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    }
  }
  function fitScrollBoxes(root) {
    (root || document).querySelectorAll(".table-scroll").forEach(function (box) {
      if (observer && !watched.has(box)) { observer.observe(box); watched.add(box); }
      fitScrollBox(box);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpMenu();
    setUpAutosubmit();
    fitScrollBoxes(document);
  });
  // Right after a swap, in the same task, so no moment passes with a new box that scrolls and cannot
  // be focused (settling comes a task later); again after settling, and for out-of-band swaps.
  ["htmx:afterSwap", "htmx:oobAfterSwap", "htmx:afterSettle"].forEach(function (name) {
    document.addEventListener(name, function () { fitScrollBoxes(document); });
  });
})();
