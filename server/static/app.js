// flowaudit dashboard: small progressive enhancement. Captured text is only ever set with textContent.
(function () {
  "use strict";
  function csrf() {
    var m = document.cookie.match(/(?:^|; )flowaudit_csrf=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function flash(text, bad) {
    var el = document.getElementById("flash");
    if (!el) return;
    el.textContent = text;
    el.className = bad ? "bad" : "ok";
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()},
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) throw new Error((data && data.detail) || ("HTTP " + r.status));
        return data;
      });
    });
  }
  var session = document.body.getAttribute("data-session");
  var enc = encodeURIComponent;

  // language switch remembered in a cookie
  document.querySelectorAll("a.lang").forEach(function (a) {
    a.addEventListener("click", function () {
      document.cookie = "flowaudit_lang=" + a.getAttribute("data-lang") + "; path=/; SameSite=Strict";
    });
  });

  // markers
  document.querySelectorAll("button.mark").forEach(function (b) {
    b.addEventListener("click", function () {
      var kind = b.getAttribute("data-kind");
      post("/api/sessions/" + enc(session) + "/markers", {kind: kind}).then(function (m) {
        flash("✓ " + b.textContent + " @ " + new Date(m.ts * 1000).toLocaleTimeString());
        b.classList.add("done");
      }).catch(function (e) { flash(e.message, true); });
    });
  });

  // new session
  var form = document.getElementById("new-session");
  if (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var data = {};
      new FormData(form).forEach(function (v, k) { if (v) data[k] = v; });
      post("/api/sessions", data).then(function (s) {
        window.location.href = "/s/" + enc(s.name) + "/traffic";
      }).catch(function (e) { flash(e.message, true); });
    });
  }

  // findings refresh
  var refresh = document.getElementById("refresh-findings");
  if (refresh) {
    refresh.addEventListener("click", function () {
      post("/api/sessions/" + enc(session) + "/findings/refresh").then(function () {
        window.location.reload();
      }).catch(function (e) { flash(e.message, true); });
    });
  }

  // filters apply on change
  var filters = document.getElementById("filters");
  if (filters) {
    filters.querySelectorAll("select, input[type=checkbox]").forEach(function (el) {
      el.addEventListener("change", function () { filters.submit(); });
    });
  }

  // copy as curl
  var copy = document.getElementById("copy-curl");
  if (copy) {
    copy.addEventListener("click", function () {
      var text = copy.getAttribute("data-curl");
      var pre = document.getElementById("curl-text");
      if (pre) pre.hidden = false;
      if (navigator.clipboard) navigator.clipboard.writeText(text).then(function () { flash("✓ curl"); }, function () {});
    });
  }

  // live traffic over server-sent events
  var table = document.getElementById("traffic");
  var state = document.getElementById("live-state");
  if (table && state && window.EventSource && !/[?&]before=/.test(window.location.search)) {
    var params = new URLSearchParams(window.location.search);
    params.set("after", state.getAttribute("data-after") || "0");
    params.delete("lang");
    var source = new EventSource("/api/sessions/" + enc(session) + "/live?" + params.toString());
    var lang = document.documentElement.lang.indexOf("zh") === 0 ? "zh" : "en";
    function cell(tr, text, cls) {
      var td = document.createElement("td");
      if (cls) td.className = cls;
      if (text instanceof Node) td.appendChild(text); else td.textContent = text == null ? "" : String(text);
      tr.appendChild(td);
      return td;
    }
    function tag(text, cls) {
      var s = document.createElement("span");
      s.className = cls || "tag";
      s.textContent = text;
      return s;
    }
    source.addEventListener("open", function () { state.classList.add("on"); });
    source.addEventListener("error", function () { state.classList.remove("on"); });
    source.addEventListener("observation", function (ev) {
      var o = JSON.parse(ev.data);
      var tbody = table.tBodies[0];
      var empty = tbody.querySelector(".empty-row");
      if (empty) empty.remove();
      var tr = document.createElement("tr");
      tr.setAttribute("data-id", String(o.id));
      tr.className = "new";
      cell(tr, new Date(o.ts * 1000).toLocaleTimeString(), "ts");
      cell(tr, o.method || o.kind);
      var a = document.createElement("a");
      a.href = "/o/" + enc(o.id);
      a.textContent = o.url.length > 120 ? o.url.slice(0, 119) + "…" : o.url;
      cell(tr, a, "url");
      cell(tr, o.status || "");
      var sdk = o.sdk ? tag(lang === "zh" && o.sdk.name_zh ? o.sdk.name_zh : o.sdk.name, "sdk")
                      : tag(o.first_party ? "1st" : "?", o.first_party ? "fp" : "unknown");
      cell(tr, sdk);
      var types = document.createElement("span");
      (o.data || []).forEach(function (d) { types.appendChild(tag(d.type)); });
      cell(tr, types);
      tbody.insertBefore(tr, tbody.firstChild);
      while (tbody.rows.length > 500) tbody.deleteRow(tbody.rows.length - 1);
    });
  }
})();
