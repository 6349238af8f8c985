// campaign-bot: small progressive enhancements; every action works without this file.
(function () {
  // "Go back" on the error page (a link, not javascript: in an href, which the Content-Security-Policy forbids).
  document.querySelectorAll("a[data-back]").forEach(function (el) {
    el.addEventListener("click", function (event) {
      if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
    });
  });
  // Every time on a page is in the campaign's zone; hovering it shows the viewer's own.
  var yours = document.body.getAttribute("data-your-time") || "Your time";
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (isNaN(d)) { return; }
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    el.title = yours + ": " + d.toLocaleString([], {weekday: "short", day: "numeric", month: "short",
      hour: "2-digit", minute: "2-digit", timeZoneName: "short"}) + (zone ? " (" + zone + ")" : "");
  });
  // The result of what was just done sits beside the row it is about: bring it into view.
  var here = document.querySelector(".banner.here");
  if (here && here.scrollIntoView) { here.scrollIntoView({block: "center"}); }
  // The live length counter: asks the server, which counts exactly as it will when the post is queued.
  document.querySelectorAll("form.measured").forEach(function (form) {
    var text = form.querySelector("[name=text]"), lang = form.querySelector("[name=language]");
    var out = form.querySelector(".counter"), timer = null;
    if (!text || !out) { return; }
    function update() {
      var language = lang ? lang.value : (form.getAttribute("data-language") || "");
      var url = form.getAttribute("data-measure") + "?text=" + encodeURIComponent(text.value) +
        "&language=" + encodeURIComponent(language) +
        "&account=" + encodeURIComponent(form.getAttribute("data-account") || "");
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
  });
})();
