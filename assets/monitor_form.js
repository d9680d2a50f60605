// The monitor form: only the chosen kind's fieldset is shown and submitted (the others are
// hidden and disabled); the target's hint follows the kind. Without this script every
// fieldset shows and the server reads only the chosen kind's fields.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("monitor-form");
  if (!form) { return; }
  document.documentElement.classList.add("js");
  var kind = document.getElementById("kind");
  var target = document.getElementById("target");
  var targetLabel = document.getElementById("target-label");
  var hint = document.getElementById("target-hint");
  if (hint) { hint.hidden = true; }
  function show() {
    var k = kind.value;
    var sets = form.querySelectorAll("fieldset.kindset");
    for (var i = 0; i < sets.length; i++) {
      var on = sets[i].getAttribute("data-kind") === k;
      sets[i].hidden = !on;
      sets[i].disabled = !on;
      if (on && target) { target.placeholder = sets[i].getAttribute("data-target-hint") || ""; }
    }
    if (targetLabel) { targetLabel.hidden = (k === "heartbeat"); }
    if (target) { target.disabled = (k === "heartbeat"); }
  }
  // SNMP: the community for v2c, the USM user for v3 (hidden and not sent otherwise).
  var version = document.getElementById("snmp-version");
  function credentials() {
    var v = version && version.value === "3" ? "3" : "2c";
    var only = form.querySelectorAll("[data-snmp-version]");
    for (var i = 0; i < only.length; i++) {
      var on = only[i].getAttribute("data-snmp-version") === v;
      only[i].hidden = !on;
      var inputs = only[i].querySelectorAll("input, select");
      for (var j = 0; j < inputs.length; j++) { inputs[j].disabled = !on; }
    }
  }
  kind.addEventListener("change", show);
  if (version) { version.addEventListener("change", credentials); }
  show();
  credentials();
});
