// The change list's action bar (templates/console/object/_action_bar.html), as Django admin's
// actions.js: a checkbox in the table's head ticks every row of the page, and the bar says how many
// rows are ticked. Without this script the rows are ticked one by one (the head's box stays hidden);
// "all matching these filters" needs no script. Rows keep their ticks through the list's poll
// (hx-preserve), so the head's box and the count are worked out again after every swap.
(function () {
  "use strict";

  function rows(formId) {
    return Array.prototype.slice.call(
      document.querySelectorAll('input[type="checkbox"][name="selected"][form="' + formId + '"]')
    );
  }

  function refresh() {
    document.querySelectorAll("input[data-select-page]").forEach(function (head) {
      var formId = head.getAttribute("data-select-page");
      var boxes = rows(formId);
      var ticked = boxes.filter(function (b) { return b.checked; }).length;
      head.hidden = boxes.length === 0;
      head.checked = boxes.length > 0 && ticked === boxes.length;
      head.indeterminate = ticked > 0 && ticked < boxes.length;
      var counter = document.querySelector('[data-counter-for="' + formId + '"]');
      // The words come from the template (data-text, in the page's language), English without it.
      var words = (counter && counter.getAttribute("data-text")) || "%(ticked)s of %(total)s selected";
      if (counter) counter.textContent = boxes.length ? words.replace("%(ticked)s", ticked).replace("%(total)s", boxes.length) : "";
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement) || target.type !== "checkbox") return;
    if (target.hasAttribute("data-select-page")) {
      rows(target.getAttribute("data-select-page")).forEach(function (b) { b.checked = target.checked; });
    }
    if (target.hasAttribute("data-select-page") || target.name === "selected") refresh();
  });
  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
})();
