// Global search box in the header (results as you type, keyboard navigation, Enter opens
// /search) and the similar resolved tickets suggested while a ticket is written.
// Loaded by base.html; the CSP forbids inline script, so everything is wired here.
(function () {
  "use strict";

  var TYPE_LABELS = { ticket: "工单", knowledge: "知识", asset: "设备", system: "系统", staff: "人员" };

  function debounce(fn, ms) {
    var t = null;
    return function () {
      var args = arguments;
      clearTimeout(t);
      t = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  // Fetches search results; an older answer never replaces a newer one.
  function searcher() {
    var seq = 0;
    return function (params, done) {
      var mine = ++seq;
      var qs = Object.keys(params).map(function (k) {
        return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
      }).join("&");
      fetch("/api/v1/search?" + qs, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { items: [], total: 0 }; })
        .catch(function () { return { items: [], total: 0 }; })
        .then(function (v) { if (mine === seq) { done(v); } });
    };
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text) { e.textContent = text; }
    return e;
  }

  function resultLink(item) {
    var a = el("a", "gsearch-item");
    a.href = item.url;
    a.setAttribute("role", "option");
    a.appendChild(el("span", "badge search-type-" + item.type, TYPE_LABELS[item.type] || item.type));
    a.appendChild(el("span", "gsearch-title", item.title));
    if (item.snippet) { a.appendChild(el("span", "gsearch-snippet muted", item.snippet)); }
    return a;
  }

  function initHeader() {
    var form = document.getElementById("gsearch");
    var input = document.getElementById("gsearch-q");
    var list = document.getElementById("gsearch-list");
    if (!form || !input || !list) { return; }
    var run = searcher();
    var active = -1;

    function items() { return list.querySelectorAll(".gsearch-item"); }
    function close() { list.hidden = true; active = -1; input.setAttribute("aria-expanded", "false"); }
    function mark(i) {
      var all = items();
      if (!all.length) { return; }
      active = (i + all.length) % all.length;
      for (var k = 0; k < all.length; k++) {
        all[k].classList.toggle("active", k === active);
        all[k].setAttribute("aria-selected", k === active ? "true" : "false");
      }
    }
    function show(v, q) {
      list.textContent = "";
      active = -1;
      if (!v.items.length) {
        list.appendChild(el("div", "gsearch-empty muted", "没有找到“" + q + "”"));
      } else {
        v.items.forEach(function (it) { list.appendChild(resultLink(it)); });
        var more = el("a", "gsearch-more", "查看全部 " + v.total + (v.total >= 1000 ? "+" : "") + " 条结果");
        more.href = "/search?q=" + encodeURIComponent(q);
        list.appendChild(more);
      }
      list.setAttribute("data-q", q);
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    var typed = debounce(function () {
      var q = input.value;
      if (!q.trim()) { close(); return; }
      if (q.trim().length > 100) { return; }
      run({ q: q, limit: 8 }, function (v) { show(v, q.trim()); });
    }, 200);
    input.addEventListener("input", typed);
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") { e.preventDefault(); if (list.hidden) { typed(); } else { mark(active + 1); } }
      else if (e.key === "ArrowUp") { e.preventDefault(); mark(active - 1); }
      else if (e.key === "Escape") { close(); }
      else if (e.key === "Enter" && active >= 0 && !list.hidden) {
        e.preventDefault();
        window.location.href = items()[active].getAttribute("href");
      }
    });
    form.addEventListener("submit", function (e) {
      if (!input.value.trim()) { e.preventDefault(); }
    });
    document.addEventListener("click", function (e) {
      if (!form.contains(e.target)) { close(); }
    });
  }

  function initSimilar() {
    var box = document.getElementById("similar");
    var title = document.getElementById("title");
    var desc = document.getElementById("description");
    if (!box || !title) { return; }
    var run = searcher();
    var changed = debounce(function () {
      var text = (title.value + " " + (desc ? desc.value : "")).trim().slice(0, 60);
      if (text.replace(/[\s\p{P}\p{S}]/gu, "").length < 2) { box.hidden = true; return; }
      run({ q: text, type: "knowledge", match: "any", limit: 5 }, function (v) {
        box.textContent = "";
        if (!v.items.length) { box.hidden = true; return; }
        box.appendChild(el("div", "similar-head", "类似的已解决工单，也许能直接帮到您："));
        var ul = el("ul", "similar-list");
        v.items.forEach(function (it) {
          var li = el("li");
          var a = el("a", null, it.title);
          a.href = it.url;
          a.target = "_blank";
          a.rel = "noopener";
          li.appendChild(a);
          if (it.snippet) { li.appendChild(el("div", "muted", "解决方法：" + it.snippet)); }
          ul.appendChild(li);
        });
        box.appendChild(ul);
        box.hidden = false;
      });
    }, 400);
    title.addEventListener("input", changed);
    if (desc) { desc.addEventListener("input", changed); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    initHeader();
    initSimilar();
  });
})();
