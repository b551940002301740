// The spot check's form: "tick all", a running count, and a confirmation
// before a sign-off that flags images (an unticked image counts as wrong, so
// submitting an untouched sheet would otherwise flag every image). The server
// asks again when the form arrives without the confirmed count.
(function () {
  "use strict";
  var form = document.getElementById("spot-check-form");
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=approved]"));
  var confirmed = form.querySelector("input[name=confirm_flagged]");
  var dialog = document.getElementById("confirm-flag");
  var count = document.getElementById("ticked-count");

  function unticked() {
    return boxes.filter(function (b) { return !b.checked; }).length;
  }
  function update() {
    count.textContent = (boxes.length - unticked()) + " of " + boxes.length + " ticked";
  }
  function tickAll(value) {
    boxes.forEach(function (b) { b.checked = value; });
    update();
  }
  ["tick-all", "untick-all"].forEach(function (id) {
    var button = document.getElementById(id);
    button.hidden = false;
    button.addEventListener("click", function () { tickAll(id === "tick-all"); });
  });
  boxes.forEach(function (b) { b.addEventListener("change", update); });
  // A page restored from the back/forward cache must ask again.
  window.addEventListener("pageshow", function () { confirmed.value = ""; update(); });

  form.addEventListener("submit", function (event) {
    var flagged = unticked();
    if (flagged === 0 || confirmed.value === String(flagged)) return;
    event.preventDefault();
    dialog.querySelector("h2").textContent = flagged === boxes.length
      ? "Nothing is ticked: flag all " + flagged + " images?"
      : flagged + " of " + boxes.length + " images are not ticked: flag them?";
    dialog.querySelector("#confirm-flag-yes").textContent =
      "Flag " + flagged + " and sign off";
    dialog.showModal();
  });
  document.getElementById("confirm-flag-yes").addEventListener("click", function () {
    confirmed.value = String(unticked());
    dialog.close();
    form.requestSubmit();
  });
  document.getElementById("confirm-flag-no").addEventListener("click", function () {
    dialog.close();
  });
  update();
})();
