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

  // A live mark says when its data was last confirmed: the time since the panel was last filled
  // by a good answer (the browser's own clock, so no skew with the server's).
  var received = new WeakMap();
  function tick() {
    document.querySelectorAll(".live-mark[data-live]").forEach(function (mark) {
      if (mark.classList.contains("lost")) return;
      if (!received.has(mark)) received.set(mark, Date.now());
      var seconds = Math.floor((Date.now() - received.get(mark)) / 1000);
      mark.textContent = "live · updated " + (seconds < 1 ? "just now" : seconds + " s ago");
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 1000);
})();
