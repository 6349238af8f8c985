// campaign-bot share kit: remembers the supporter's Mastodon server in this browser, and copies texts and letters.
// Every button works without this file (the Mastodon form goes through the server instead).
(function () {
  var KEY = "campaign-bot.mastodon-instance";
  function stored() { try { return localStorage.getItem(KEY) || ""; } catch (e) { return ""; } }
  function remember(v) { try { localStorage.setItem(KEY, v); } catch (e) { /* private mode: not kept */ } }
  function host(v) {
    v = v.trim().toLowerCase().replace(/^https?:\/\//, "").split("/")[0];
    v = v.split("@").pop();
    return /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(:\d{1,5})?$/.test(v) ? v : "";
  }
  document.querySelectorAll("form.mastodon-share").forEach(function (form) {
    var input = form.querySelector("[name=instance]");
    if (!input.value) { input.value = stored(); }
    form.addEventListener("submit", function (ev) {
      var h = host(input.value);
      if (!h) { return; }  // the server explains what to type
      ev.preventDefault();
      remember(h);
      document.querySelectorAll("form.mastodon-share [name=instance]").forEach(function (i) { i.value = h; });
      window.open("https://" + h + form.getAttribute("data-path"), "_blank", "noopener");
    });
  });
  // The connect form starts from the same server.
  document.querySelectorAll("form.connect-mastodon [name=instance]").forEach(function (input) {
    if (!input.value) { input.value = stored(); }
  });
  document.querySelectorAll("button.copy").forEach(function (button) {
    var label = button.textContent;
    button.addEventListener("click", function () {
      var area = document.getElementById(button.getAttribute("data-copy"));
      var done = function () { button.textContent = button.getAttribute("data-copied") || "Copied"; setTimeout(function () { button.textContent = label; }, 2000); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(area.value).then(done, function () { area.select(); });
      } else {
        area.select();
        if (document.execCommand("copy")) { done(); }
      }
    });
  });
})();
