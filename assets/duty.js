// The duty roster: a "＋排班" link in the grid fills the add form without a reload (the
// link itself works without this script); a click on a shift puts it into the swap form
// (first the first select, then the second).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("new-shift");
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function nextDay(d) {
    var t = new Date(d + "T00:00:00Z");
    t.setUTCDate(t.getUTCDate() + 1);
    return t.getUTCFullYear() + "-" + pad(t.getUTCMonth() + 1) + "-" + pad(t.getUTCDate());
  }
  var links = document.querySelectorAll("a.add-cell");
  for (var i = 0; i < links.length; i++) {
    links[i].addEventListener("click", function (ev) {
      if (!form) { return; }
      ev.preventDefault();
      var day = this.getAttribute("data-day");
      var user = this.getAttribute("data-user");
      if (user) { document.getElementById("shift-user").value = user; }
      document.getElementById("shift-start").value = day + "T08:00";
      document.getElementById("shift-end").value = nextDay(day) + "T08:00";
      form.scrollIntoView();
      document.getElementById("shift-user").focus();
    });
  }
  var first = document.getElementById("swap-first");
  var second = document.getElementById("swap-second");
  var chips = document.querySelectorAll(".duty-grid .shift[data-shift]");
  for (var j = 0; j < chips.length; j++) {
    chips[j].addEventListener("click", function () {
      if (!first || !second) { return; }
      var id = this.getAttribute("data-shift");
      if (!first.value || (first.value && second.value)) { first.value = id; second.value = ""; }
      else { second.value = id; }
    });
  }
});
