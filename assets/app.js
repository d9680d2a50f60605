// Small progressive enhancements; every page works without them.
document.addEventListener("click", function (e) {
  var t = e.target.closest("[data-toggle-nav]");
  if (t) { document.getElementById("sidenav").classList.toggle("open"); }
});
document.addEventListener("submit", function (e) {
  var f = e.target.closest("[data-confirm]");
  if (f && !window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
});
