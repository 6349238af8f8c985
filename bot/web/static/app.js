// campaign-bot: small progressive enhancements; every action works without this file.
(function () {
  // "Go back" on the error page (a link, not javascript: in an href, which the Content-Security-Policy forbids).
  document.querySelectorAll("a[data-back]").forEach(function (el) {
    el.addEventListener("click", function (event) {
      if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
    });
  });
  // Times in the viewer's own zone, beside the campaign's.
  document.querySelectorAll("time.viewer-time").forEach(function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d)) { el.textContent = "yours: " + d.toLocaleString([], {weekday: "short", hour: "2-digit", minute: "2-digit"}); }
  });
  // The live length counter: asks the server, which counts exactly as it will when the post is queued.
  var form = document.getElementById("queue-form");
  if (!form) { return; }
  var text = form.querySelector("[name=text]"), lang = form.querySelector("[name=language]");
  var out = document.getElementById("counter"), timer = null;
  function update() {
    var url = form.getAttribute("data-measure") + "?text=" + encodeURIComponent(text.value) +
      "&language=" + encodeURIComponent(lang ? lang.value : "");
    fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
      out.textContent = "";
      if (!data.accounts) { out.textContent = data.detail || ""; return; }
      data.accounts.forEach(function (a) {
        var span = document.createElement("span");
        span.textContent = a.account + " (" + a.network + "): " + a.length + "/" + a.limit + "  ";
        if (!a.ok) { span.className = "over"; span.title = a.problem || ""; }
        out.appendChild(span);
      });
    });
  }
  function later() { clearTimeout(timer); timer = setTimeout(update, 250); }
  text.addEventListener("input", later);
  if (lang) { lang.addEventListener("change", update); }
  if (text.value) { update(); }
})();
