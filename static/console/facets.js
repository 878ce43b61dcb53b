// The change list's filter sidebar (templates/console/object/_facets.html) is a <details>: open beside
// the table on a wide screen, folded above it on a phone (as the stylesheet's 760 px breakpoint lays it
// out), following the window as it is resized. Without this script it simply stays open.
(function () {
  "use strict";
  var narrow = window.matchMedia("(max-width: 760px)");

  function fit() {
    document.querySelectorAll("details[data-fold-narrow]").forEach(function (box) {
      box.open = !narrow.matches;
    });
  }

  document.addEventListener("DOMContentLoaded", fit);
  narrow.addEventListener("change", fit);
})();
