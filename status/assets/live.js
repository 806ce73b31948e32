// Keeps the page live without reloading: the server pushes the re-rendered
// main part over server-sent events; if the stream cannot be had, the page
// polls itself. Without JavaScript a <noscript> refresh reloads it.
(function () {
  "use strict";
  var main = document.getElementById("main");
  var live = document.getElementById("live");
  var text = document.getElementById("live-text");
  var announce = document.getElementById("announce");
  var every = (+main.getAttribute("data-refresh") || 30) * 1000;
  function state(mode, words) {
    live.setAttribute("data-live", mode);
    text.textContent = words;
  }
  function swap(html) {
    var t = document.createElement("template");
    t.innerHTML = html;
    var before = document.getElementById("headline-text");
    var old = before ? before.textContent : "";
    main.replaceChildren(t.content);
    var after = document.getElementById("headline-text");
    if (after && after.textContent !== old) announce.textContent = after.textContent;
  }
  function poll() {
    state("poll", "Updating every " + every / 1000 + " s");
    setInterval(function () {
      fetch(location.href, { cache: "no-store", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (body) {
          var doc = new DOMParser().parseFromString(body, "text/html");
          var m = doc.getElementById("main");
          if (m) swap(m.innerHTML);
        })
        .catch(function () { state("off", "Updates paused; retrying"); });
    }, every);
  }
  if (!window.EventSource) { poll(); return; }
  var es = new EventSource("status/events");
  es.addEventListener("open", function () { state("sse", "Live"); });
  es.addEventListener("update", function (e) { swap(e.data); });
  es.addEventListener("error", function () {
    if (es.readyState === EventSource.CLOSED) { es.close(); poll(); }
    else state("off", "Reconnecting…");
  });
})();
