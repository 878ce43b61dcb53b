// The live marks of polled panels tell the truth about the connection (issue 20): a poll that fails
// shows it on the mark; the next good answer replaces the panel, mark included, and so clears it.
(function () {
  "use strict";
  function marks(elt) {
    var own = elt && elt.querySelectorAll ? elt.querySelectorAll(".live-mark") : [];
    return own.length ? own : document.querySelectorAll(".live-mark");
  }
  function lost(event, text) {
    marks(event.detail && event.detail.elt).forEach(function (mark) {
      mark.textContent = text;
      mark.classList.add("lost");
    });
  }
  document.addEventListener("htmx:sendError", function (event) {
    lost(event, "connection lost, retrying…");
  });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail && event.detail.xhr ? event.detail.xhr.status : "an error";
    lost(event, "the console answered " + status + ", retrying…");
  });
})();
